"""Shared fixtures: a tiny contract-valid dataset on disk and models with non-trivial weights."""

from __future__ import annotations

from pathlib import Path

import pytest

from cell2net_core import data, model
from cell2net_core.testing import random_dataset, random_model


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
        model.save_checkpoint(random_model(inputs, seed=i), root / "model" / f"{gene}.pt")
    return {"mdata": path, "models": root / "model", "root": root}


@pytest.fixture
def downloads(monkeypatch) -> list[tuple[str, bytes]]:
    """Every file handed to a Streamlit download button, as (file name, bytes)."""
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage  # app tests only

    seen: list[tuple[str, bytes]] = []
    original = MemoryMediaFileStorage.load_and_get_id

    def record(self, path_or_data, mimetype, kind, filename=None):
        seen.append((filename, path_or_data if isinstance(path_or_data, bytes) else str(path_or_data).encode()))
        return original(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", record)
    return seen
