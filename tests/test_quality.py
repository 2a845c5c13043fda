"""Per-gene model quality: hand-derived fits, stored results preferred (validation metacells), bad files noted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from cell2net_core import data, model
from cell2net_core.explore import quality
from cell2net_core.testing import random_dataset, random_model

FIXTURE = Path(__file__).parent / "fixtures" / "cell2net013"


def test_fit_stats_on_log1p_by_hand():
    obs, pred = np.array([0.0, 1, 3, 7, 15]), np.array([1.0, 1, 2, 9, 12])
    y, yhat = np.log1p(obs), np.log1p(pred)
    r, r2 = quality.fit_stats(obs, pred)
    assert r == pytest.approx(np.corrcoef(y, yhat)[0, 1])
    assert r2 == pytest.approx(1 - ((y - yhat) ** 2).sum() / ((y - y.mean()) ** 2).sum())
    # a prediction anti-correlated with the truth has negative r and R^2 below 0, never clipped
    r, r2 = quality.fit_stats(obs, obs[::-1])
    assert r < 0 and r2 < 0
    assert all(np.isnan(quality.fit_stats(obs, np.full(5, 2.0))))  # constant prediction: unknown, not 0


def _save(tmp_path, gene: str, *, results=None, history=None) -> Path:
    mdata = random_dataset(n_metacells=8)
    module = random_model(data.gene_inputs(mdata, "GENE0"))
    return model.save_checkpoint(module, tmp_path / f"{gene}.pt", results=results, history=history)


def test_stored_quality_uses_the_validation_metacells(tmp_path):
    true = [0, 1, 2, 3, 10, 0, 5, 1]
    pred = [0, 1, 2, 3, 1, 6, 1, 4]  # train rows perfect, valid rows poor
    split = ["train"] * 4 + ["valid"] * 4
    history = pd.DataFrame({"epochs": [0, 1], "valid_corr": [0.2, 0.4]})
    q = quality.stored_quality(_save(tmp_path, "G", results=pd.DataFrame({"true": true, "pred": pred, "data": split}),
                                     history=history))
    r, r2 = quality.fit_stats(np.array(true[4:]), np.array(pred[4:]))
    assert (q.source, q.metacells, q.n_metacells) == ("checkpoint results", "validation", 4)
    assert q.pearson_r == pytest.approx(r) and q.r2 == pytest.approx(r2)
    assert q.valid_spearman == pytest.approx(0.4)


def test_stored_quality_falls_back_to_all_and_to_unknown(tmp_path):
    results = pd.DataFrame({"true": [0, 1, 4, 9], "pred": [0, 2, 3, 8], "data": ["train"] * 3 + ["valid"]})
    q = quality.stored_quality(_save(tmp_path, "G", results=results))
    assert (q.metacells, q.n_metacells) == ("all", 4)
    empty = quality.stored_quality(_save(tmp_path, "H"))
    assert empty.source == "unknown" and np.isnan(empty.pearson_r) and "no results" in empty.note


def test_stored_quality_reads_a_real_cell2net_checkpoint():
    ckpt = torch.load(FIXTURE / "model" / "TGA.pt", weights_only=True)
    res = pd.DataFrame(ckpt["results"])
    valid = res[res["data"] == "valid"]
    q = quality.stored_quality(FIXTURE / "model" / "TGA.pt")
    assert q.n_metacells == len(valid) and q.metacells == "validation"
    assert q.pearson_r == pytest.approx(quality.fit_stats(valid["true"].to_numpy(), valid["pred"].to_numpy())[0])
    assert q.valid_spearman == pytest.approx(max(ckpt["history"]["valid_corr"].values()))


def test_model_quality_computes_and_notes_a_bad_file(tmp_path):
    mdata = random_dataset(n_metacells=16, n_genes=2)
    inputs = data.gene_inputs(mdata, "GENE0")
    module = random_model(inputs)
    model.save_checkpoint(module, tmp_path / "GENE0.pt")
    (tmp_path / "GENE1.pt").write_bytes(b"not a checkpoint")
    table = quality.model_quality(tmp_path, mdata=mdata)
    assert table["gene"].tolist() == ["GENE0", "GENE1"]
    good, bad = table.iloc[0], table.iloc[1]
    want = quality.fit_stats(inputs.target, model.predict(module.eval(), inputs))
    assert good["source"] == "computed" and good["pearson_r"] == pytest.approx(want[0])
    assert bad["source"] == "unknown" and np.isnan(bad["pearson_r"]) and "GENE1.pt" in bad["note"]
    assert quality.describe_quality(table, "GENE1") == "model fit: - (unknown)"


def test_filter_and_worst_genes_leave_unknown_out():
    table = pd.DataFrame({"tf": list("ABCD"), "gene": ["G1", "G1", "G2", "G3"]})
    q = pd.DataFrame({"gene": ["G1", "G2", "G4"], "pearson_r": [0.3, 0.29, np.nan]})
    kept, line = quality.filter_by_quality(table, q, min_r=0.3)
    assert kept["gene"].tolist() == ["G1", "G1"]
    assert line.startswith("1 of 3 genes kept") and "1 below, 1 of unknown fit" in line
    assert quality.worst_genes(q, n=5)["gene"].tolist() == ["G2", "G1"]
