"""Shared fixtures: a tiny contract-valid dataset on disk and models with non-trivial weights."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from cell2net_core import data, model
from cell2net_core.testing import random_dataset


def scramble_batchnorm(module: torch.nn.Module, *, seed: int = 0) -> torch.nn.Module:
    """Give every BatchNorm non-default running statistics and affine terms, then eval mode."""
    gen = torch.Generator().manual_seed(seed)
    for m in module.modules():
        if isinstance(m, torch.nn.BatchNorm1d | torch.nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=gen) * 0.3)
            m.running_var.copy_(torch.rand(n, generator=gen) * 1.5 + 0.5)
            m.weight.data.copy_(1 + 0.3 * torch.randn(n, generator=gen))
            m.bias.data.copy_(0.3 * torch.randn(n, generator=gen))
    return module.eval()


def make_model(inputs: data.GeneInputs, *, seed: int = 0) -> model.PeaksTF2GeneExpressionPoisson:
    torch.manual_seed(seed)
    return scramble_batchnorm(model.build_model(inputs), seed=seed)


@pytest.fixture(scope="session")
def tiny(tmp_path_factory) -> dict[str, Path]:
    """A tiny dataset (3 genes, 2 with checkpoints) written like a user's files."""
    root = tmp_path_factory.mktemp("tiny")
    mdata = random_dataset(n_metacells=48, n_genes=3, n_peaks=4, n_tfs=9, seed=3)
    mdata.obs["cell_type"] = mdata.obs["cell_type_v2"].astype(str).str.split(" ").str[-1]
    path = root / "mdata.h5mu"
    mdata.write(path)
    mdata = data.read_dataset(path)
    for i, gene in enumerate(["GENE0", "GENE1"]):
        inputs = data.gene_inputs(mdata, gene)
        model.save_checkpoint(make_model(inputs, seed=i), root / "model" / f"{gene}.pt")
    return {"mdata": path, "models": root / "model", "root": root}
