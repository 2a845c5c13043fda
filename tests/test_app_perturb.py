"""AppTest of the Perturb page on the tiny dataset: choose TFs, charts, warnings, CSV download."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

from cell2net_core import data
from cell2net_core.perturb import perturb
from ui import state

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def page(monkeypatch, **paths) -> AppTest:
    for var, key in (("C2N_MDATA", "mdata"), ("C2N_MODELS", "models"), ("C2N_RESULTS", "results")):
        monkeypatch.setenv(var, str(paths.get(key, "")))
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page("app_pages/perturb.py").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_perturb_page_knock_out_then_over_express(monkeypatch, tiny, downloads):
    at = page(monkeypatch, mdata=tiny["mdata"], models=tiny["models"])
    assert "cell-state transitions" in at.info[0].value  # what this is and is not
    mdata = data.read_dataset(tiny["mdata"])
    only1 = sorted(set(data.gene_tfs(mdata, "GENE1")) - set(data.gene_tfs(mdata, "GENE0")))
    picker = at.multiselect(key=state.PRT_TFS)
    assert only1[0] in picker.options
    picker.set_value([only1[0]]).run()
    assert not at.exception, [e.message for e in at.exception]
    bars, net = (json.loads(c.proto.spec) for c in at.get("plotly_chart"))
    assert f"perturbing {only1[0]}" in bars["layout"]["title"]["text"]
    assert {t["y"][0] for t in bars["data"] if t.get("y")} == {"GENE1"}  # GENE0 does not list it
    assert any(t.get("marker", {}).get("colorbar") for t in net["data"])  # nodes coloured by log2FC
    name, payload = downloads[-1]
    table = pd.read_csv(io.BytesIO(payload))
    assert name == "perturb_ko.csv" and set(table["gene"]) == {"GENE1"}
    assert list(table.columns[:6]) == ["tf", "gene", "cell_type_v2", "mean_before", "mean_after", "log2fc"]
    at.radio(key=state.PRT_MODE).set_value("oe").run()
    at.number_input(key=state.PRT_FACTOR).set_value(50.0).run()
    assert not at.exception, [e.message for e in at.exception]
    assert any("highest value in the dataset" in w.value for w in at.warning)
    oe = pd.read_csv(io.BytesIO(downloads[-1][1]))
    expected = perturb(mdata, tiny["models"], tfs=only1[0], mode="oe", factor=50.0, genes=["GENE1"], device="cpu")
    pd.testing.assert_frame_equal(oe, expected.table, check_dtype=False)  # the page shows the core's numbers
    at.multiselect(key=state.PRT_GROUPS).set_value(["NK"]).run()
    assert set(pd.read_csv(io.BytesIO(downloads[-1][1]))["cell_type_v2"]) == {"NK"}


def test_perturb_page_says_what_it_needs(monkeypatch, tiny):
    at = page(monkeypatch, mdata=tiny["mdata"])
    assert any("needs a dataset and a model folder" in w.value for w in at.warning)
