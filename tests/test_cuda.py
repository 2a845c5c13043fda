"""CUDA and CPU give the same attributions (TF32 off around the peak encoder and the head).

Runs only where a CUDA GPU is present; elsewhere it is skipped with the reason. With cuDNN's
default TF32 convolutions an H200 differed from the CPU by 2.1e-3 (captum) and 3.1e-4 (exact) of
the largest attribution; ``model.full_precision`` brings that under 1e-5.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cell2net_core.attribution import tf_attr
from cell2net_core.data import GeneInputs, gene_inputs, gene_tfs, one_hot
from cell2net_core.model import full_precision, predict, save_checkpoint
from cell2net_core.peaks import peak_attr
from cell2net_core.perturb import perturb
from cell2net_core.testing import random_dataset, random_model

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine")


def random_inputs(*, n: int = 256, n_peaks: int = 24, n_tfs: int = 60, seed: int = 11) -> GeneInputs:
    """One gene's inputs drawn directly (no dataset file), so that this test needs only torch and numpy."""
    rng = np.random.default_rng(seed)
    seqs = ["".join(rng.choice(list("ACGT"), 256)) for _ in range(n_peaks)]
    return GeneInputs(
        gene="GENE0", peaks=[f"chr1-{i}-{i + 256}" for i in range(n_peaks)], tfs=[f"TF{i}" for i in range(n_tfs)],
        covariate_names=["a", "b"], obs_names=[f"m{i}" for i in range(n)], peak_seq=one_hot(seqs),
        peak_acc=rng.poisson(3.0, (n, n_peaks)).astype(np.float32),
        peak_dist=np.exp(-rng.uniform(0, 5e5, n_peaks) / 5e5).astype(np.float32),
        tf_exp=rng.poisson(5.0, (n, n_tfs)).astype(np.float32),
        covariates=rng.normal(3.0, 0.3, (n, 2)).astype(np.float32), target=rng.poisson(4.0, n).astype(np.float32),
    )  # fmt: skip


@pytest.fixture(scope="module")
def gene():
    inputs = random_inputs()
    return inputs, random_model(inputs, seed=5)


@pytest.mark.parametrize("method", ["captum", "exact"])
def test_cuda_matches_cpu(gene, method):
    inputs, module = gene
    cpu = tf_attr(module.to("cpu"), inputs, method=method, device="cpu").attr
    cuda = tf_attr(module.to("cuda"), inputs, method=method, device="cuda").attr
    scale = float(np.abs(cpu).max())
    assert scale > 0
    assert float(np.abs(cuda - cpu).max()) / scale < 1e-5


def test_predictions_match_and_flags_are_restored(gene):
    inputs, module = gene
    before = (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32)
    cpu = predict(module.to("cpu"), inputs)
    cuda = predict(module.to("cuda"), inputs)
    np.testing.assert_allclose(cuda, cpu, rtol=1e-5)
    assert (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32) == before
    with full_precision():
        assert not torch.backends.cudnn.allow_tf32


def test_peak_attributions_match(gene):
    inputs, module = gene
    cpu = peak_attr(module.to("cpu"), inputs, n_steps=50, device="cpu").attr
    cuda = peak_attr(module.to("cuda"), inputs, n_steps=50, device="cuda").attr
    assert float(np.abs(cuda - cpu).max()) / float(np.abs(cpu).max()) < 1e-5


def test_perturbation_matches(tmp_path):
    mdata = random_dataset(n_metacells=200, n_genes=3, n_peaks=12, n_tfs=20, seed=4)
    for i, g in enumerate(["GENE0", "GENE1", "GENE2"]):
        save_checkpoint(random_model(gene_inputs(mdata, g), seed=i), tmp_path / f"{g}.pt")
    tf = gene_tfs(mdata, "GENE0")[0]
    cpu = perturb(mdata, tmp_path, tfs=tf, device="cpu").table
    cuda = perturb(mdata, tmp_path, tfs=tf, device="cuda").table
    np.testing.assert_allclose(cuda["mean_after"], cpu["mean_after"], rtol=1e-5)
    np.testing.assert_allclose(cuda["log2fc"], cpu["log2fc"], atol=1e-5)
