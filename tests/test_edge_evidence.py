"""Edge evidence in the app: CI whiskers, evidence filters, network style, the Peaks view, motif logos,
and the Edge evidence page (AppTest)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from cell2net_core import data, model, pipeline
from cell2net_core.errors import Cell2NetInputError
from cell2net_core.explore import evidence, figures, network
from cell2net_core.known import read_reference
from cell2net_core.motifs import best_motif, log_odds, relative_scores, site_table
from cell2net_core.settings import Settings
from cell2net_core.testing import random_dataset, random_model, random_table
from ui import state

ROOT = Path(__file__).resolve().parents[1]
NAMES = ["SPI1", "PAX5", "CEBPB", "NOTATF"]  # three with JASPAR matrices, one without


def named_dataset(root: Path) -> dict[str, Path]:
    """A tiny dataset whose TFs carry real names, two genes with models, results with motifs and a reference."""
    mdata = random_dataset(n_metacells=32, n_genes=2, n_peaks=3, n_tfs=4, tf_density=1.0, seed=5)
    rename = {f"TF{i}": n for i, n in enumerate(NAMES)}
    mdata["rna"].var_names = [rename.get(v, v) for v in mdata["rna"].var_names]
    mdata["rna"].uns["gene_tf"] = mdata["rna"].uns["gene_tf"].rename(columns=rename)
    mdata.uns["motifs"] = mdata.uns["motifs"].assign(gene_name=NAMES, motif_name=NAMES)
    mdata.update()
    mdata.write(root / "mdata.h5mu")
    mdata = data.read_dataset(root / "mdata.h5mu")
    for i, gene in enumerate(["GENE0", "GENE1"]):
        inputs = data.gene_inputs(mdata, gene)
        model.save_checkpoint(random_model(inputs, seed=i), root / "model" / f"{gene}.pt")
    (root / "reference.csv").write_text("source,target\nSPI1,GENE0\nPAX5,GENE1\n")
    ev = pipeline.Evidence(motifs=True, reference=read_reference(root / "reference.csv"))
    done = pipeline.attribute_genes(mdata, ["GENE0", "GENE1"], model_dir=root / "model", out_dir=root / "results",
                                    settings=Settings(method="exact", n_tfs=4), evidence=ev)
    assert [r.status for r in done] == ["computed", "computed"]
    return {"mdata": root / "mdata.h5mu", "models": root / "model", "results": root / "results"}


@pytest.fixture(scope="module")
def named(tmp_path_factory) -> dict[str, Path]:
    return named_dataset(tmp_path_factory.mktemp("named"))


def test_bars_draw_the_ci_and_std_only_on_request():
    table = random_table(n_genes=1, n_tfs=5, top=4, groups=("NK",))
    table = table.assign(ci_low=table["mean_attr"] - 0.1, ci_high=table["mean_attr"] + 0.3, p_value=0.01,
                         q_value=0.02)
    table.loc[0, ["ci_low", "ci_high"]] = np.nan  # a row without an interval draws no whisker, not a zero one
    bars = figures.tf_bars(table, "GENE0").data[0]
    order = table.set_index("tf").loc[list(bars.y)]
    assert bars.error_x.symmetric is False
    for tf, up, down in zip(bars.y, bars.error_x.array, bars.error_x.arrayminus, strict=True):
        if np.isnan(order.loc[tf, "ci_low"]):
            assert up is None and down is None
        else:
            assert up == pytest.approx(0.3) and down == pytest.approx(0.1)
    assert "one-sample t-test" in bars.hovertext[0] and "Benjamini-Hochberg" in bars.hovertext[0]
    std = figures.tf_bars(table, "GENE0", whiskers="std")
    assert list(std.data[0].error_x.array) == order["std_attr"].tolist()
    assert "whiskers: std" in std.layout.title.text
    with pytest.raises(Cell2NetInputError, match="whiskers"):
        figures.tf_bars(table, "GENE0", whiskers="sem")


def test_evidence_filters_keep_what_they_say_and_refuse_tables_without_the_column():
    table = random_table(n_genes=2, n_tfs=6, top=3, groups=("NK", "B"))
    n = len(table)
    table = table.assign(q_value=np.r_[[0.01, 0.5, np.nan], np.full(n - 3, 0.001)],
                         motif_sites=pd.array([2, 0, pd.NA] + [1] * (n - 3), dtype="Int64"),
                         known=[True, False, False] + [False] * (n - 3))
    assert len(network.filter_edges(table, max_q=0.05)) == n - 2  # 0.5 and missing q are dropped
    assert len(network.filter_edges(table, with_motif=True)) == n - 2
    assert network.filter_edges(table, known_only=True)["tf"].tolist() == [table["tf"][0]]
    tutorial = table.drop(columns=["q_value", "motif_sites", "known"])
    reasons = network.evidence_filters(tutorial)
    assert reasons["max_q"].startswith("no q-values in this table")
    assert network.evidence_filters(table) == {"max_q": None, "with_motif": None, "known_only": None}
    with pytest.raises(Cell2NetInputError, match="no q-values in this table"):
        network.filter_edges(tutorial, max_q=0.05)
    assert len(network.filter_edges(tutorial)) == n  # without the filter nothing is dropped


def test_network_marks_known_and_motif_supported_edges_in_the_legend():
    table = random_table(n_genes=2, n_tfs=4, top=2, groups=("NK",))
    table = table.assign(known=[True] + [False] * (len(table) - 1), motif_sites=[3] * 2 + [0] * (len(table) - 2),
                         motif_id="MA0080.7")
    pairs = network.pair_edges(table)
    assert {"known", "motif_sites"} <= set(pairs.columns)
    fig = figures.network_figure(pairs, network.layout(pairs))
    names = [t.name for t in fig.data]
    assert "known: in the reference (gold halo; 1 edges)" in names
    assert any(n.startswith("motif support") and "2 edges" in n for n in names)
    plain = figures.network_figure(network.pair_edges(table.drop(columns=["known", "motif_sites"])),
                                   network.layout(pairs))
    assert not any(str(t.name).startswith(("known", "motif")) for t in plain.data)


def test_sites_are_real_matches_and_the_peaks_view_orders_peaks_by_distance():
    mdata = random_dataset(n_metacells=16, n_peaks=4, seed=2)
    motif = best_motif(mdata, "GENE1", "SPI1")
    sites = site_table(mdata, "GENE1", motif, threshold=0.7)
    assert len(sites) > 0
    seqs = mdata["atac"].uns["peaks"]["sequence"]
    rel = relative_scores(data.one_hot(seqs.loc[sites["peak"]].tolist()), log_odds(motif.counts))
    strand = (sites["strand"] == "-").to_numpy().astype(int)
    assert np.allclose(rel[np.arange(len(sites)), strand, sites["position"]], sites["rel_score"])
    positions = evidence.peak_positions(mdata, "GENE1")
    acc = evidence.peak_accessibility(mdata, "GENE1")
    inputs = data.gene_inputs(mdata, "GENE1")
    b_cell = acc[acc["cell_type_v2"] == "B cell"].set_index("peak")["mean_counts"]
    labels = mdata.obs["cell_type_v2"].astype(str).to_numpy()
    assert np.allclose(b_cell.loc[inputs.peaks], inputs.peak_acc[labels == "B cell"].mean(0))
    attr = np.random.default_rng(0).normal(size=(16, 4))
    summary = pipeline.peak_to_gene(attr, labels, gene="GENE1", peaks=inputs.peaks)
    fig = evidence.peaks_figure(positions, acc, gene="GENE1", summary=summary, sites=sites, tf="SPI1")
    order = positions.sort_values("distance")["peak"].tolist()
    assert [x.split("<br>")[1] for x in fig.layout.xaxis.categoryarray] == order
    assert fig.data[0].error_y.symmetric is False and "t-test" in fig.data[0].hovertext[0]
    assert evidence.logo_matrix(motif).shape == (len(motif.counts), 4)


def evidence_app(monkeypatch, paths: dict[str, Path]) -> AppTest:
    for var, key in (("C2N_MDATA", "mdata"), ("C2N_MODELS", "models"), ("C2N_RESULTS", "results")):
        monkeypatch.setenv(var, str(paths[key]))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    return at.switch_page("app_pages/evidence.py").run()


def test_evidence_page_states(monkeypatch, named):
    at = evidence_app(monkeypatch, named)
    assert not at.exception, [e.message for e in at.exception]
    # the reference beside the dataset is loaded by default; known agreement shows
    assert at.sidebar.text_input(key=state.EV_REFERENCE).value == str(named["mdata"].parent / "reference.csv")
    at.selectbox(key=state.EV_GENE).set_value("GENE0").run()
    at.selectbox(key=state.EV_TF).set_value("SPI1").run()
    body = "\n".join(str(m.value) for m in at.markdown)
    assert "**SPI1 -> GENE0** is **in** the reference" in body
    assert "Logo of SPI1: JASPAR MA0080" in "\n".join(c.value for c in at.caption)
    assert any("precision_at_k" in c.value for c in at.caption)
    # no peak attributions yet: say so, offer to compute them, then show them
    assert any("No peak attributions of GENE0" in i.value for i in at.info)
    button = next(b for b in at.button if b.label.startswith("Compute peak attributions of GENE0"))
    button.click().run()
    job = at.session_state[state.EV_JOB]
    job.thread.join(timeout=60)
    assert job.error is None and (named["results"] / "GENE0.peaks.npy").is_file()
    assert (named["results"] / "peak_to_gene.csv").is_file()
    at.run()
    assert not at.exception and not any("No peak attributions" in i.value for i in at.info)
    assert any(c.value.startswith("Peak attribution: Integrated Gradients") for c in at.caption)
    # a TF without a JASPAR matrix says so
    at.selectbox(key=state.EV_TF).set_value("NOTATF").run()
    assert any("has no matrix named NOTATF" in i.value for i in at.info)


def test_network_page_disables_the_q_filter_without_q_values(monkeypatch, named, tmp_path):
    at = evidence_app(monkeypatch, named).switch_page("app_pages/network.py").run()
    q_toggle = at.toggle(key=state.NET_Q_ONLY)
    assert not q_toggle.disabled and not at.toggle(key=state.NET_KNOWN_ONLY).disabled
    at.toggle(key=state.NET_KNOWN_ONLY).set_value(True).run()
    assert not at.exception and any("Drawing all 2 TF -> gene edges" in c.value for c in at.caption)
    # a tutorial-only folder: no q, no motifs, no known column
    tutorial = tmp_path / "tutorial"
    tutorial.mkdir()
    cols = ["tf", "gene", "cell_type_v2", "mean_attr", "std_attr"]
    pd.read_csv(named["results"] / "tf_to_gene.csv")[cols].to_csv(tutorial / "tf_to_gene.csv", index=False)
    monkeypatch.setenv("C2N_RESULTS", str(tutorial))
    monkeypatch.setenv("C2N_MDATA", "")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    at.switch_page("app_pages/network.py").run()
    assert not at.exception and at.toggle(key=state.NET_Q_ONLY).disabled
    assert any(c.value.startswith("no q-values in this table") for c in at.caption)
