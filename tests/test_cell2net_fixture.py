"""Our reader, model and attribution against files and numbers made by the real cell2net 0.13.

The fixture in ``tests/fixtures/cell2net013`` comes from ``make_cell2net_fixture.py``
run with the published package (``Cell2Net.train/save/load/predict``, ``cn.ip.tf_attr``
with the tutorial's settings and ``cn.ip.tf_to_gene``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cell2net_core import aggregate, attribution, cli, data, model
from cell2net_core.store import read_network_table

FIXTURE = Path(__file__).parent / "fixtures" / "cell2net013"
EXPECTED = FIXTURE / "expected"
GENES = ["TGA", "TGB"]


@pytest.fixture(scope="module")
def mdata():
    return data.read_dataset(FIXTURE / "mdata.h5mu")


def _loaded(mdata, gene):
    inputs = data.gene_inputs(mdata, gene)
    return inputs, model.load_checkpoint(FIXTURE / "model" / f"{gene}.pt", inputs, device="cpu")


@pytest.mark.parametrize("gene", GENES)
def test_tf_order_and_predictions_match_cell2net(mdata, gene):
    inputs, module = _loaded(mdata, gene)
    assert inputs.tfs == json.loads((EXPECTED / f"{gene}_tfs.json").read_text())
    expected = np.load(EXPECTED / f"{gene}_pred.npy")
    np.testing.assert_allclose(model.predict(module, inputs), expected, rtol=1e-5)


@pytest.mark.parametrize("gene", GENES)
@pytest.mark.parametrize("method", ["captum", "exact"])
def test_attributions_match_cell2net(mdata, gene, method):
    inputs, module = _loaded(mdata, gene)
    expected = np.load(EXPECTED / f"{gene}_tf_attr.npy")
    got = attribution.tf_attr(module, inputs, method=method, device="cpu").attr
    scale = np.abs(expected).max()
    # captum: same quadrature, so float error only; exact: within the quadrature error of 100 steps
    tolerance = 1e-5 if method == "captum" else 1e-2
    assert np.abs(got - expected).max() <= tolerance * scale


@pytest.mark.parametrize("gene", GENES)
def test_tables_match_cell2net(mdata, gene):
    inputs, module = _loaded(mdata, gene)
    attr = attribution.tf_attr(module, inputs, device="cpu").attr
    labels = data.group_labels(mdata, "cell_type_v2")
    for n_tfs, name in [(3, f"{gene}.csv"), (None, f"{gene}_all.csv")]:
        ours = aggregate.tf_to_gene(attr, labels, gene=gene, tfs=inputs.tfs, n_tfs=n_tfs)
        theirs = pd.read_csv(EXPECTED / name)
        pd.testing.assert_frame_equal(ours[theirs.columns[:3]], theirs[theirs.columns[:3]], check_dtype=False)
        np.testing.assert_allclose(ours["mean_attr"], theirs["mean_attr"], atol=1e-6 * np.abs(attr).max())
        np.testing.assert_allclose(ours["std_attr"], theirs["std_attr"], atol=1e-6 * np.abs(attr).max())


def test_attribute_command_reproduces_the_tutorial_files(tmp_path):
    out = tmp_path / "out"
    argv = ["attribute", "--mdata", str(FIXTURE / "mdata.h5mu"), "--models", str(FIXTURE / "model")]
    assert cli.main([*argv, "--out", str(out), "--n-tfs", "3", "--device", "cpu"]) == 0
    theirs = read_network_table(EXPECTED / "tf_to_gene.csv")
    ours = read_network_table(out / "tf_to_gene.csv")
    assert ours[["tf", "gene", "cell_type_v2"]].equals(theirs[["tf", "gene", "cell_type_v2"]])
    scale = max(np.abs(np.load(EXPECTED / f"{g}_tf_attr.npy")).max() for g in GENES)
    assert np.abs(ours["mean_attr"] - theirs["mean_attr"]).max() <= 0.01 * scale
    for gene in GENES:
        np.testing.assert_allclose(
            np.load(out / f"{gene}.npy"), np.load(EXPECTED / f"{gene}_tf_attr.npy"), atol=1e-5 * scale
        )
    # the tutorial writes the consolidated file with pandas' default index
    assert (out / "tf_to_gene.csv").read_text().splitlines()[0].startswith(",tf,gene,")
