"""AppTest for every page: widgets, attribution on a tiny dataset, filters, downloads, bad input."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from cell2net_core import ResultStore, attribution, data, pipeline, regroup
from cell2net_core.aggregate import RANK_BY
from cell2net_core.explore import network, quality
from cell2net_core.settings import Settings
from cell2net_core.testing import random_table
from ui import state

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
WIDGETS = ("number_input", "slider", "radio", "selectbox", "toggle", "multiselect")
PAGE = {name: f"app_pages/{name}.py" for name in ("home", "attribution", "network", "table", "compare", "dotplot")}


@pytest.fixture(scope="module")
def results(tiny, tmp_path_factory) -> Path:
    """Stored results of the tiny dataset's two genes with models."""
    out = tmp_path_factory.mktemp("results")
    mdata = data.read_dataset(tiny["mdata"])
    exact = Settings(method="exact")
    done = pipeline.attribute_genes(mdata, ["GENE0", "GENE1"], model_dir=tiny["models"], out_dir=out, settings=exact)
    assert [r.status for r in done] == ["computed", "computed"]
    return out


def app(monkeypatch, *, mdata="", models="", results="", page: str | None = None) -> AppTest:
    for var, value in (("C2N_MDATA", mdata), ("C2N_MODELS", models), ("C2N_RESULTS", results)):
        monkeypatch.setenv(var, str(value))
    at = AppTest.from_file(APP, default_timeout=60).run()
    if page is not None:
        at.switch_page(PAGE[page]).run()
    return at


def no_exception(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]


def texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def test_overview_summarises_source(monkeypatch, tiny, results):
    at = app(monkeypatch, mdata=tiny["mdata"], models=tiny["models"], results=results)
    no_exception(at)
    summary = texts(at.sidebar.markdown)
    for fact in ("Metacells:** 48", "Genes with peaks:** 3", "Genes with checkpoints:** 2",
                 "Genes with results (files and tf_to_gene.csv):** 2", "TFs:** 9", "cell_type_v2", "Device:** CPU"):
        assert fact in summary
    assert at.sidebar.radio(key=state.SOURCE_KIND).value == "paths"
    assert "Cell2Net Explorer" in at.title[0].value


def test_plotly_preload_names_streamlits_chart_script(monkeypatch, results):
    from ui import widgets

    chunk = widgets._plotly_chunk()
    assert chunk is not None and chunk.startswith("PlotlyChart.")  # this Streamlit's file: found, not guessed
    at = app(monkeypatch, results=results)
    no_exception(at)
    assert any(chunk in str(h.proto.body) for h in at.sidebar.get("html"))  # sent on every page, in the sidebar


def test_attribute_gene_in_background_and_show_charts(monkeypatch, tiny, tmp_path):
    at = app(monkeypatch, mdata=tiny["mdata"], models=tiny["models"], results=tmp_path, page="attribution")
    no_exception(at)
    picker = at.multiselect(key=state.GENES)
    assert picker.options == ["GENE0 (model available)", "GENE1 (model available)", "GENE2 (no model)"]
    at.selectbox(key=state.METHOD).set_value("exact")
    picker.set_value(["GENE0", "GENE2"]).run()
    assert "Cannot attribute GENE2" in texts(at.warning)
    [button] = [b for b in at.button if b.label.startswith("Attribute 1 gene")]
    button.click().run()
    job = at.session_state[state.JOB]
    job.thread.join(timeout=60)
    assert job.done and job.error is None
    at.run()
    no_exception(at)
    assert "Attributed GENE0" in texts(at.success)
    assert at.session_state[state.GENE_LABELS] == {"GENE0": "GENE0 (cached)", "GENE2": "GENE2 (no model)"}
    assert (tmp_path / "GENE0.npy").is_file() and (tmp_path / "tf_to_gene.csv").is_file()
    charts = at.get("plotly_chart")
    assert len(charts) == 1  # GENE0's bars; its heatmap waits in a closed expander
    at.session_state[state.tf_heatmap_open_key("GENE0")] = True  # open it (AppTest cannot click an expander)
    at.run()
    charts = at.get("plotly_chart")
    assert len(charts) == 2 and "heatmap" in json.loads(charts[1].proto.spec)["data"][0]["type"]
    bars = json.loads(charts[0].proto.spec)
    assert "Top TFs of GENE0" in bars["layout"]["title"]["text"]
    assert "every TF's mean over all metacells" in texts(at.caption)  # from GENE0.npy: nothing missing
    axes = [v for k, v in bars["layout"].items() if k.startswith("xaxis")]
    assert len({tuple(a["range"]) for a in axes}) == 1  # one shared value axis
    at.toggle(key=state.BAR_OWN_AXIS).set_value(True).run()
    bars = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert all("range" not in v for k, v in bars["layout"].items() if k.startswith("xaxis"))
    at.radio(key=state.BAR_LAYOUT).set_value("grouped").run()
    no_exception(at)
    dots = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert dots["data"][0]["mode"] == "markers" and "customdata" in dots["data"][0]
    at.number_input(key=state.N_TFS).set_value(3).run()
    heat = json.loads(at.get("plotly_chart")[1].proto.spec)
    assert len(heat["data"][0]["y"]) <= 3 * 8
    assert not any(v is None for row in heat["data"][0]["z"] for v in row)  # every group's value known


def test_stop_between_genes(tiny, tmp_path):
    from ui import jobs

    mdata = data.read_dataset(tiny["mdata"])
    exact = Settings(method="exact")
    started = jobs.start(mdata, ["GENE0", "GENE1"], model_dir=tiny["models"], out_dir=tmp_path, settings=exact)
    started.stop.set()  # checked before each gene: at most the gene already running finishes
    started.thread.join(timeout=60)
    assert started.done and len(started.results) <= 1
    assert started.stopped_early()
    assert not (tmp_path / "GENE1.npy").exists()


def test_network_filters_focus_and_export(monkeypatch, tiny, results, downloads):
    at = app(monkeypatch, results=results, page="network")
    no_exception(at)
    table = pd.read_csv(results / "tf_to_gene.csv", index_col=0)
    assert at.number_input(key=state.NET_TOP_K).value == 3  # the default keeps the drawing readable
    assert at.radio(key=state.net_layout_key("overview")).value == "wheel"  # hubs on a circle, drawn to scale
    wheel = json.loads(at.get("plotly_chart")[0].proto.spec)["layout"]
    assert wheel["yaxis"]["scaleanchor"] == "x" and wheel["meta"]["left_out"] == 0  # every node labelled
    at.number_input(key=state.NET_TOP_K).set_value(0).run()
    at.radio(key=state.NET_SIGN).set_value("negative").run()
    at.multiselect(key=state.NET_GENES).set_value(["GENE1"]).run()
    no_exception(at)
    expected = network.filter_edges(table, genes=["GENE1"], sign="negative")
    n_pairs = len(expected[["tf", "gene"]].drop_duplicates())
    [button] = [b for b in at.get("download_button") if "edges" in b.proto.label]
    assert button.proto.label == f"Download {n_pairs} edges ({len(expected)} rows)"
    assert f"Drawing all {n_pairs} TF -> gene edges; downloads hold all {n_pairs} edges" in texts(at.caption)
    name, payload = downloads[-1]
    assert name == "network_GENE1_repression.csv"
    exported = pd.read_csv(io.BytesIO(payload))
    assert len(exported) == len(expected) and (exported["mean_attr"] < 0).all()
    assert set(exported["target"]) == {"GENE1"}
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert any(t.get("customdata") for t in fig["data"])  # clickable nodes
    hub = at.dataframe[0].value
    assert list(hub.columns) == ["tf", "out_degree", "sum_abs_attr", "n_edges"]
    assert hub["n_edges"].sum() == len(expected)  # hubs of the same filtered edges
    tf = expected["tf"].iloc[0]
    at.multiselect(key=state.NET_FOCUS).set_value([tf]).run()
    assert f"Edges of {tf}" in texts(at.subheader)
    focus_rows = at.dataframe[-1].value
    assert set(focus_rows["tf"]) == {tf} and {"mean_attr", "std_attr", "rank"} <= set(focus_rows.columns)
    at.selectbox(key=state.export_key("network")).set_value("graphml").run()
    assert downloads[-1][0] == "network_GENE1_repression.graphml"
    assert b'key="x"' in downloads[-1][1] or b"attr.name=\"x\"" in downloads[-1][1]  # layout coordinates
    at.multiselect(key=state.NET_GENES).set_value([]).run()
    at.number_input(key=state.NET_MIN_ABS).set_value(1e6).run()
    at.radio(key=state.NET_SIGN).set_value("all").run()
    no_exception(at)
    assert "No edge passes" in texts(at.warning)


@pytest.fixture(scope="module")
def top2(tiny, tmp_path_factory) -> Path:
    """Results of the tiny dataset's two genes with only each group's top 2 TFs in the tables."""
    out = tmp_path_factory.mktemp("top2")
    mdata = data.read_dataset(tiny["mdata"])
    settings = Settings(method="exact", n_tfs=2)
    done = pipeline.attribute_genes(mdata, ["GENE0", "GENE1"], model_dir=tiny["models"], out_dir=out, settings=settings)
    assert [r.status for r in done] == ["computed", "computed"]
    return out


def test_network_weights_from_every_tf_of_npy(monkeypatch, tiny, top2, downloads):
    at = app(monkeypatch, mdata=tiny["mdata"], results=top2, page="network")
    at.number_input(key=state.NET_TOP_K).set_value(0).run()
    no_exception(at)
    assert at.toggle(key=state.NET_EVERY_TF).value  # on by default where .npy and the dataset are there
    assert "Edge weights of 2 of 2 genes from their <GENE>.npy: every TF's mean over all metacells" in texts(at.caption)
    assert "rows: every TF of 2 genes (from <GENE>.npy) per cell_type_v2" in texts(at.caption)
    mdata = data.read_dataset(tiny["mdata"])
    store = ResultStore(top2)
    want = pd.concat([regroup(store.load(g), mdata, n_tfs=None) for g in ("GENE0", "GENE1")])
    exported = pd.read_csv(io.BytesIO(downloads[-1][1]))
    assert len(exported) == len(want)  # every TF x gene x group, not the 2 stored per group
    merged = exported.merge(want, left_on=["source", "target", "interaction"],
                            right_on=["tf", "gene", "cell_type_v2"], suffixes=("", "_want"))
    assert len(merged) == len(want) and np.allclose(merged["mean_attr"], merged["mean_attr_want"])
    at.toggle(key=state.NET_EVERY_TF).set_value(False).run()
    no_exception(at)
    assert "Edge weights from the stored table" in texts(at.caption)
    stored = pd.read_csv(top2 / "tf_to_gene.csv", index_col=0)
    assert len(pd.read_csv(io.BytesIO(downloads[-1][1]))) == len(stored) < len(want)
    at = app(monkeypatch, results=top2, page="network")  # no dataset: no toggle, the table says so
    assert not at.get("toggle") or all(t.key != state.NET_EVERY_TF for t in at.toggle)
    assert "Edge weights from the stored table" in texts(at.caption)


def test_network_regulon_and_hierarchy_views(monkeypatch, results):
    at = app(monkeypatch, results=results, page="network")
    at.radio(key=state.NET_VIEW).set_value("targets").run()
    at.selectbox(key=state.NET_CENTRE_TF).set_value("TF0").run()
    no_exception(at)
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    nodes = [n for t in fig["data"] if t.get("customdata") for n in t["customdata"]]
    labels = [x for t in fig["data"] if t.get("customdata") for x in t["text"] if x]
    centre = [a["text"] for a in fig["layout"]["annotations"] if a.get("name") == "centre label"]
    assert "TF0" in nodes and centre == ["<b>TF0</b>"]  # the centre's label: bold, on a box above its marker
    assert sorted([*labels, "TF0"]) == sorted(nodes)  # every node labelled
    assert at.radio(key=state.net_layout_key("targets")).value == "concentric"
    at.radio(key=state.NET_VIEW).set_value("regulators").run()
    at.selectbox(key=state.NET_CENTRE_GENE).set_value("GENE0").run()
    no_exception(at)
    assert "Regulators of a gene: GENE0" in json.loads(at.get("plotly_chart")[0].proto.spec)["layout"]["title"]["text"]
    at.radio(key=state.NET_VIEW).set_value("hierarchy").run()
    no_exception(at)
    assert at.warning or at.get("plotly_chart")


def test_table_grid_shows_the_first_rows_and_the_download_holds_all(monkeypatch, tmp_path, downloads):
    table = random_table(n_genes=150, n_tfs=30, top=10)
    table.to_csv(tmp_path / "tf_to_gene.csv")
    assert 2_000 < len(table) < 20_000  # more than the grid shows, few enough for an eager download
    at = app(monkeypatch, results=tmp_path, page="table")
    no_exception(at)
    assert len(at.dataframe[0].value) == 2_000
    assert at.metric[0].value == f"{len(table):,} of {len(table):,}"
    assert f"Showing the first 2,000 of these {len(table):,} rows" in texts(at.caption)
    csv = pd.read_csv(io.BytesIO(dict(downloads)["tf_to_gene_filtered.csv"]))
    assert len(csv) == len(table)
    pd.testing.assert_frame_equal(csv.head(2_000), at.dataframe[0].value, check_dtype=False)


def test_network_caps_large_filters(monkeypatch, tmp_path, downloads):
    random_table(n_genes=400, n_tfs=60, top=10).to_csv(tmp_path / "tf_to_gene.csv")
    at = app(monkeypatch, results=tmp_path, page="network")
    no_exception(at)
    assert at.get("plotly_chart")  # the overview: hubs and their strongest targets, not capped
    at.number_input(key=state.NET_HUBS).set_value(0).run()
    at.number_input(key=state.NET_TARGETS).set_value(0).run()
    message = texts(at.warning)
    found = re.search(r"Drawing the 2,000 strongest of ([\d,]+) edges .*downloads hold all ([\d,]+) edges", message)
    assert found and found.group(1) == found.group(2)
    [button] = [b for b in at.get("download_button") if "edges" in b.proto.label]
    assert button.proto.label.startswith(f"Download {found.group(1)} edges")
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert fig["layout"]["title"]["text"].startswith("2,000 edges")


def test_table_filters_sort_and_download(monkeypatch, tiny, results, downloads):
    at = app(monkeypatch, results=results, page="table")
    no_exception(at)
    at.multiselect(key=state.TAB_GENES).set_value(["GENE0"]).run()
    at.radio(key=state.TAB_SIGN).set_value("positive").run()
    at.selectbox(key=state.TAB_SORT).set_value("std_attr").run()
    at.toggle(key=state.TAB_ASCENDING).set_value(True).run()
    no_exception(at)
    shown = at.dataframe[0].value
    assert set(shown["gene"]) == {"GENE0"} and (shown["mean_attr"] > 0).all()
    assert shown["std_attr"].is_monotonic_increasing
    assert at.metric[0].value.startswith(f"{len(shown)} of")
    csv = dict(downloads)["tf_to_gene_filtered.csv"]
    pd.testing.assert_frame_equal(pd.read_csv(io.BytesIO(csv)), shown.reset_index(drop=True), check_dtype=False)
    at.multiselect(key=state.TAB_TFS).set_value(["TF0"]).run()
    at.radio(key=state.TAB_SIGN).set_value("negative").run()
    no_exception(at)


def test_table_shows_every_tf_of_a_gene_from_its_npy(monkeypatch, tiny, results, downloads):
    at = app(monkeypatch, results=results, page="table")
    assert "load the dataset" in texts(at.caption)  # a table alone: only the top TFs
    at = app(monkeypatch, mdata=tiny["mdata"], results=results, page="table")
    at.selectbox(key=state.TAB_EVERY_TF_GENE).set_value("GENE1").run()
    no_exception(at)
    mdata = data.read_dataset(tiny["mdata"])
    store = ResultStore(results)
    want = regroup(store.load("GENE1"), mdata, groupby="cell_type_v2", n_tfs=None)
    every = at.dataframe[-1].value
    assert every["tf"].nunique() == len(data.gene_tfs(mdata, "GENE1")) and len(every) == len(want)
    merged = every.merge(want, on=["tf", "cell_type_v2"], suffixes=("", "_want"))
    assert len(merged) == len(want) and np.allclose(merged["mean_attr"], merged["mean_attr_want"])
    assert "every one of the gene's" in texts(at.caption)
    assert pd.read_csv(io.BytesIO(dict(downloads)["GENE1_every_tf_by_cell_type_v2.csv"])).shape[0] == len(want)


def test_compare_page(monkeypatch, tiny, results):
    at = app(monkeypatch, results=results, page="compare")
    no_exception(at)
    at.multiselect(key=state.CMP_A).set_value(["NK"])
    at.multiselect(key=state.CMP_B).set_value(["B cell", "pDC"]).run()
    at.selectbox(key=state.CMP_GENE).set_value("GENE1").run()
    no_exception(at)
    bars, heat = (json.loads(c.proto.spec) for c in at.get("plotly_chart"))
    assert "NK minus B cell + pDC" in bars["layout"]["title"]["text"]
    assert "TF activity" in heat["layout"]["title"]["text"]
    assert "row-scaled" in heat["data"][0]["colorbar"]["title"]["text"]
    assert re.search(r"\d+ missing in NK and \d+ missing in B cell \+ pDC", texts(at.caption))
    assert "No statistics are possible" in texts(at.info)  # a table alone holds no metacells
    at.multiselect(key=state.CMP_B).set_value([]).run()
    assert "at least one group" in texts(at.warning)
    # with the dataset and GENE1.npy: Mann-Whitney U per TF, BH q, a violin of one TF
    at = app(monkeypatch, mdata=tiny["mdata"], models=tiny["models"], results=results, page="compare")
    at.selectbox(key=state.CMP_GENE).set_value("GENE1").run()
    no_exception(at)
    tests = at.dataframe[-1].value
    assert list(tests.columns) == ["tf", "mean_a", "mean_b", "diff", "u", "p", "q", "n_a", "n_b"]
    assert "Mann-Whitney U" in texts(at.caption)
    violin = json.loads(at.get("plotly_chart")[-1].proto.spec)
    assert violin["data"][0]["type"] == "violin"


def test_dot_plot_sizes_by_expression_and_clusters(monkeypatch, tiny, results):
    at = app(monkeypatch, mdata=tiny["mdata"], results=results, page="dotplot")
    no_exception(at)
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert "fraction of metacells expressing the TF" in fig["data"][0]["name"]
    assert "clustered" in texts(at.caption)
    at.toggle(key=state.DOT_SCALED).set_value(True).run()
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert max(abs(v) for v in fig["data"][0]["marker"]["color"]) == pytest.approx(1.0)


def test_model_fit_beside_genes_filter_and_worst(monkeypatch, tiny, results):
    fits = quality.model_quality(tiny["models"], mdata=data.read_dataset(tiny["mdata"]))
    r = dict(zip(fits["gene"], fits["pearson_r"], strict=True))
    assert all(np.isfinite(list(r.values())))  # the tiny models' fits are computed on the dataset
    at = app(monkeypatch, mdata=tiny["mdata"], models=tiny["models"], results=results)
    no_exception(at)
    assert "Models that fit worst" in texts(at.subheader)
    worst = at.dataframe[0].value
    assert worst["gene"].tolist() == sorted(r, key=r.get) and "Known for 2 of 2 checkpoints" in texts(at.caption)
    at.switch_page(PAGE["attribution"]).run()
    at.multiselect(key=state.GENES).set_value(["GENE0"]).run()
    assert quality.describe_quality(fits, "GENE0") in texts(at.caption) + texts(at.warning)
    at.switch_page(PAGE["table"]).run()
    at.toggle(key=state.TAB_FIT_ONLY).set_value(True).run()
    at.number_input(key=state.TAB_MIN_R).set_value(round((r["GENE0"] + r["GENE1"]) / 2, 4)).run()
    no_exception(at)
    better = max(r, key=r.get)
    assert set(at.dataframe[0].value["gene"]) == {better}
    assert "1 of 2 genes kept" in texts(at.caption)
    at.switch_page(PAGE["network"]).run()
    assert at.toggle(key=state.NET_FIT_ONLY).value is False
    # without a model folder no fit is known: no filter is offered, the overview lists none
    at = app(monkeypatch, results=results, page="table")
    assert not [t for t in at.toggle if t.key == state.TAB_FIT_ONLY]


def test_only_the_open_gene_tab_is_drawn(monkeypatch, results):
    at = app(monkeypatch, results=results, page="attribution")
    at.multiselect(key=state.GENES).set_value(["GENE0", "GENE1"]).run()
    no_exception(at)
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]
    assert len(titles) == 1 and "Top TFs of GENE0" in titles[0]
    at.session_state[state.GENE_TAB] = "GENE1"  # the second tab clicked
    at.run()
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]
    assert len(titles) == 1 and "Top TFs of GENE1" in titles[0]


def test_results_folder_alone_is_enough_to_browse(monkeypatch, results, tmp_path):
    tutorial = tmp_path / "tutorial"
    tutorial.mkdir()
    table = pd.read_csv(results / "tf_to_gene.csv", index_col=0).drop(columns="n_metacells")
    table.to_csv(tutorial / "tf_to_gene.csv")  # the tutorial's layout: unnamed index, no n_metacells
    at = app(monkeypatch, results=tutorial, page="attribution")
    no_exception(at)
    assert "browsing stored results only" in texts(at.sidebar.info)
    assert len(at.get("plotly_chart")) == 1  # a cached gene's bars from the table alone
    at.session_state[state.tf_heatmap_open_key(at.session_state[state.GENES][0])] = True
    assert len(at.run().get("plotly_chart")) == 2  # and its heatmap, once opened
    for page in ("network", "table", "compare", "dotplot"):
        at.switch_page(PAGE[page]).run()
        no_exception(at)
        assert not at.error


@pytest.mark.parametrize(
    "setup,expected",
    [
        (lambda d: {"mdata": d / "missing.h5mu"}, "missing.h5mu' does not exist"),
        (lambda d: {"mdata": d / "bad.h5mu"}, "Cannot read"),
        (lambda d: {"models": d / "nowhere"}, "model folder"),
    ],
)
def test_bad_paths_show_messages(monkeypatch, tmp_path, setup, expected):
    (tmp_path / "bad.h5mu").write_text("not hdf5")
    at = app(monkeypatch, **setup(tmp_path))
    no_exception(at)
    assert expected in texts(at.sidebar.error)
    for page in ("attribution", "network", "table", "compare"):
        at.switch_page(PAGE[page]).run()
        no_exception(at)
        assert at.warning or at.info or at.error


def test_missing_column_names_it(monkeypatch, results, tmp_path):
    pd.read_csv(results / "tf_to_gene.csv", index_col=0).drop(columns="std_attr").to_csv(tmp_path / "tf_to_gene.csv")
    at = app(monkeypatch, results=tmp_path, page="network")
    no_exception(at)
    assert "std_attr" in texts(at.error)


def test_demo_is_the_default_source(monkeypatch, tmp_path):
    from cell2net_core import demo

    calls = []

    def fake_demo(*, progress=None):
        calls.append(progress)
        progress(1.0, "demo ready")
        return demo.demo_paths(tmp_path)

    monkeypatch.setenv("CELL2NET_DEMO_DIR", str(tmp_path / "not-built-yet"))
    monkeypatch.setattr(demo, "ensure_demo", fake_demo)
    at = app(monkeypatch)
    no_exception(at)
    assert calls and at.sidebar.radio(key=state.SOURCE_KIND).value == "demo"
    assert "the embedded demo" in texts(at.sidebar.caption)
    assert calls[0] is not None  # a first start reports progress on the page


def test_two_sessions_same_gene_compute_once(tiny, tmp_path):
    from ui import jobs

    mdata = data.read_dataset(tiny["mdata"])
    exact = Settings(method="exact")
    runs = [jobs.start(mdata, ["GENE1"], model_dir=tiny["models"], out_dir=tmp_path, settings=exact) for _ in range(2)]
    for job in runs:
        job.thread.join(timeout=60)
    statuses = sorted(job.results[0].status for job in runs)
    assert statuses == ["cached", "computed"]
    assert all(job.results[0].table is not None for job in runs)


def test_no_pages_folder_beside_app():
    # a pages/ folder would let Streamlit run a page opened by URL without app.py (see app.py)
    assert not (ROOT / "pages").exists()


def test_state_keys_are_constants():
    bare = re.compile(r"""key=f?["']|session_state(\.get\(|\.setdefault\(|\[)f?["']""")
    sources = [ROOT / "app.py", ROOT / "ui" / "widgets.py", *sorted((ROOT / "app_pages").glob("*.py"))]
    found = [f"{path.name}:{i}" for path in sources
             for i, line in enumerate(path.read_text().splitlines(), 1) if bare.search(line)]
    assert not found


def test_defaults_are_valid_and_match_settings():
    assert state.DEFAULTS[state.METHOD] in attribution.METHODS
    assert state.DEFAULTS[state.RANK_BY] in RANK_BY
    assert {state.DEFAULTS[state.NET_SIGN], state.DEFAULTS[state.TAB_SIGN]} <= set(network.SIGNS)
    assert state.DEFAULTS[state.TAB_SORT] in network.REQUIRED
    settings = Settings()
    page = (state.DEFAULTS[k] for k in (state.METHOD, state.N_STEPS, state.N_TFS, state.RANK_BY))
    assert tuple(page) == (settings.method, settings.n_steps, settings.n_tfs, settings.rank_by)


def test_widgets_take_defaults_from_state_without_warning(monkeypatch, tiny, results):
    from streamlit.elements.lib import policies

    warned = []
    monkeypatch.setattr(policies._LOGGER, "warning", lambda msg, *args, **kwargs: warned.append(msg % args))
    for var, value in (("C2N_MDATA", tiny["mdata"]), ("C2N_MODELS", tiny["models"]), ("C2N_RESULTS", results)):
        monkeypatch.setenv(var, str(value))
    values = {
        "attribution": {state.N_STEPS: 100, state.N_TFS: 10, state.METHOD: "captum", state.RANK_BY: "mean",
                        state.BAR_LAYOUT: "panels", state.BAR_OWN_AXIS: False, state.BAR_SAME_ORDER: False},
        "network": {state.NET_TOP_K: 3, state.NET_MIN_ABS: 0.0, state.NET_SIGN: "all", state.NET_FOCUS: [],
                    state.NET_VIEW: "overview", state.NET_HUBS: 10, state.NET_TARGETS: 15},
        "table": {state.TAB_SORT: "mean_attr", state.TAB_ASCENDING: False, state.TAB_SIGN: "all"},
        "compare": {state.CMP_TOP: 20},
    }
    for page, expected in values.items():
        # opened directly: the defaults are set in the same run as the widgets, where a second
        # default on the widget would make Streamlit warn (once per process, hence the reset)
        monkeypatch.setattr(policies, "_shown_default_value_warning", False)
        at = AppTest.from_file(APP, default_timeout=60)
        at.switch_page(PAGE[page]).run()
        no_exception(at)
        for key, value in {state.IMAGE_FMT: "png", **expected}.items():
            [widget] = [w for kind in WIDGETS for w in at.get(kind) if getattr(w, "key", None) == key]
            assert widget.value == value, (page, key)
    assert not warned


def test_attributed_genes_are_not_peak_files(tmp_path):
    from ui import cache

    for name in ("GENE0.npy", "GENE0.peaks.npy", "GENE1.peaks.npy"):
        np.save(tmp_path / name, np.zeros((2, 2)))
    assert cache.attributed_genes(tmp_path) == ["GENE0"]
