"""Peak attribution against the real cell2net 0.13 (``cn.ip.peak_attr``) and captum on the whole module."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from captum.attr import IntegratedGradients

from cell2net_core import cli, data, model, peaks
from cell2net_core.store import ResultStore
from cell2net_core.testing import random_dataset, random_model

FIXTURE = Path(__file__).parent / "fixtures" / "cell2net013"
EXPECTED = FIXTURE / "expected"


@pytest.fixture(scope="module")
def mdata():
    return data.read_dataset(FIXTURE / "mdata.h5mu")


@pytest.mark.parametrize("gene", ["TGA", "TGB"])
def test_peak_attributions_match_cell2net(mdata, gene):
    inputs = data.gene_inputs(mdata, gene)
    module = model.load_checkpoint(FIXTURE / "model" / f"{gene}.pt", inputs, device="cpu")
    theirs = np.load(EXPECTED / f"{gene}_peak_attr.npy")
    order = json.loads((EXPECTED / f"{gene}_peaks.json").read_text())
    theirs = theirs[:, [order.index(p) for p in inputs.peaks]]
    ours = peaks.peak_attr(module, inputs, n_steps=100, device="cpu")
    assert ours.peaks == inputs.peaks and ours.obs_names == list(mdata.obs_names)
    assert np.abs(ours.attr - theirs).max() <= 0.01 * np.abs(theirs).max()


def test_peak_attributions_equal_captum_on_the_whole_module():
    inputs = data.gene_inputs(random_dataset(n_metacells=5, n_peaks=3, seed=7), "GENE1")
    module = random_model(inputs, seed=3)
    t = model.to_tensors(inputs, torch.device("cpu"))
    n = inputs.n_metacells
    seq, dist = t["peak_seq"].unsqueeze(0).expand(n, -1, -1, -1), t["peak_dist"].expand(n, -1)
    acc = t["peak_acc"].clone().requires_grad_()
    ref = IntegratedGradients(module).attribute(
        (seq, acc, dist, t["tf_exp"]),
        baselines=(seq, torch.zeros_like(acc), dist, t["tf_exp"]),
        additional_forward_args=(t["covariates"],),
        n_steps=16,
    )[1]
    ours = peaks.peak_attr(module, inputs, n_steps=16, batch_size=2, device="cpu")
    np.testing.assert_allclose(ours.attr, ref.detach().numpy(), atol=1e-5 * float(ref.detach().abs().max()))
    module.train()
    with pytest.raises(data.Cell2NetInputError, match="eval"):
        peaks.peak_attr(module, inputs, device="cpu")


def test_attribute_peaks_writes_arrays_and_the_peak_table(tmp_path, mdata):
    out = tmp_path / "res"
    argv = ["attribute", "--mdata", str(FIXTURE / "mdata.h5mu"), "--models", str(FIXTURE / "model"), "--out", str(out)]
    argv += ["--method", "exact", "--device", "cpu", "--peaks", "--n-steps", "10"]
    assert cli.main(argv) == 0
    store = ResultStore(out)
    assert store.genes() == ["TGA", "TGB"] and store.peak_genes() == ["TGA", "TGB"]
    table = pd.read_csv(out / "peak_to_gene.csv")
    columns = ["peak", "gene", "cell_type_v2", "mean_attr", "std_attr", "ci_low", "ci_high", "p_value", "q_value"]
    assert table.columns.tolist() == columns
    tga = table[table["gene"] == "TGA"]
    assert tga["peak"].iloc[:5].tolist() == data.gene_inputs(mdata, "TGA").peaks  # peak_to_gene order per group
    assert len(table) == (5 + 3) * mdata.obs["cell_type_v2"].nunique()
    arr = np.load(out / "TGA.peaks.npy")
    assert arr.shape == (mdata.n_obs, 5)
    labels = data.group_labels(mdata, "cell_type_v2")
    first = tga.iloc[0]
    assert np.isclose(first["mean_attr"], arr[labels == first["cell_type_v2"], 0].mean())
    assert ((table["ci_low"] <= table["mean_attr"]) & (table["mean_attr"] <= table["ci_high"])).all()
    before = (out / "TGA.peaks.npy").stat().st_mtime_ns
    assert cli.main(argv) == 0
    assert (out / "TGA.peaks.npy").stat().st_mtime_ns == before  # fresh peaks are not recomputed


def test_stored_peaks_are_reused_only_for_the_same_checkpoint_content(tmp_path):
    import os

    from cell2net_core.pipeline import attribute_gene_peaks
    from cell2net_core.settings import Settings

    mdata = random_dataset(n_metacells=16, seed=2)
    path = tmp_path / "model" / "GENE0.pt"
    model.save_checkpoint(random_model(data.gene_inputs(mdata, "GENE0"), seed=0), path)
    store, fast = ResultStore(tmp_path / "out"), Settings(n_steps=8, device="cpu")
    kw = {"model_dir": tmp_path / "model", "store": store, "settings": fast}
    assert attribute_gene_peaks(mdata, "GENE0", **kw) and not attribute_gene_peaks(mdata, "GENE0", **kw)
    first = store.load_peaks("GENE0").attr.copy()
    stat = path.stat()
    model.save_checkpoint(random_model(data.gene_inputs(mdata, "GENE0"), seed=1), path)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # another model, the old file time
    assert attribute_gene_peaks(mdata, "GENE0", **kw)
    assert not np.array_equal(store.load_peaks("GENE0").attr, first)
    assert attribute_gene_peaks(mdata, "GENE0", **kw, force=True)
    assert attribute_gene_peaks(mdata, "GENE0", model_dir=kw["model_dir"], store=store,
                                settings=fast.replace(n_steps=9))  # fmt: skip
