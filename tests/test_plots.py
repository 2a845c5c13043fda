"""Figures: what each trace shows (values, colours, hover, focus), not how it looks."""

from __future__ import annotations

import pandas as pd
import pytest

from cell2net_core.errors import Cell2NetInputError
from cell2net_core.explore import compare, figures, network
from cell2net_core.testing import random_table


def gene_table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "tf": ["A", "B", "A", "C"],
            "gene": "G1",
            "cell_type_v2": ["NK", "NK", "B cell", "B cell"],
            "mean_attr": [2.0, -1.0, 0.5, 3.0],
            "std_attr": [0.2, 0.1, 0.05, 0.3],
            "n_metacells": [40, 40, 25, 25],
        }
    )


def test_tf_bars_panels_sign_colours_errors_and_hover():
    fig = figures.tf_bars(gene_table(), "G1")
    bars = [t for t in fig.data if t.x is not None and t.x[0] is not None]
    assert len(bars) == 2  # one panel per cell type
    nk = next(t for t in bars if "NK" in t.hovertext[0])
    assert list(nk.y) == ["B", "A"] and list(nk.x) == [-1.0, 2.0]
    assert list(nk.marker.color) == [figures.NEGATIVE, figures.POSITIVE]
    assert list(nk.error_x.array) == [0.1, 0.2]
    assert "std: 0.2" in nk.hovertext[1] and "metacells: 40" in nk.hovertext[1]
    assert {t.name for t in fig.data if t.showlegend} == {"activation (mean > 0)", "repression (mean < 0)"}


def test_tf_bars_share_one_value_axis_with_a_title_unless_asked():
    fig = figures.tf_bars(gene_table(), "G1")
    axes = [fig.layout[k] for k in fig.layout if k.startswith("xaxis")]
    assert len({tuple(a.range) for a in axes}) == 1 and axes[0].range[1] >= 3.3  # C in B cell: 3 + 0.3
    assert all(a.matches == "x" for a in axes)
    titles = [a.title.text for a in axes if a.title.text] + [n.text for n in fig.layout.annotations]
    assert titles.count(figures.VALUE_TITLE) == 1  # said once, under the panels, not once per bottom panel
    one = figures.tf_bars(gene_table()[lambda t: t["cell_type_v2"] == "NK"], "G1")  # one panel: its axis's title
    assert one.layout.xaxis.title.text == figures.VALUE_TITLE
    own = figures.tf_bars(gene_table(), "G1", shared_axis=False)
    assert all(own.layout[k].range is None for k in own.layout if k.startswith("xaxis"))
    same = figures.tf_bars(gene_table().assign(mean_attr=[2.0, 1.0, 0.5, 3.0]), "G1", same_order=True)
    nk = next(t for t in same.data if t.y is not None and "B" in list(t.y))
    assert list(nk.y) == ["B", "A"]  # by the TFs' largest |mean| over groups: A (2.0) above B (1.0)


def test_tf_bars_grouped_is_a_dot_plot_with_missing_as_grey_x():
    fig = figures.tf_bars(gene_table(), "G1", grouped=True)
    dots, absent = fig.data[0], fig.data[1]
    assert sorted(zip(dots.y, dots.x, strict=True)) == [("A", "B cell"), ("A", "NK"), ("B", "NK"), ("C", "B cell")]
    assert sorted(zip(absent.y, absent.x, strict=True)) == [("B", "B cell"), ("C", "NK")]
    assert absent.marker.color == figures.MISSING and "not in this group's top 2" in absent.hovertext[0]


def test_tf_bars_unknown_gene_is_input_error():
    with pytest.raises(Cell2NetInputError, match="G9"):
        figures.tf_bars(gene_table(), "G9")


def test_tf_heatmap_matrix_and_missing_cells():
    fig = figures.tf_heatmap(gene_table(), "G1")
    hm = fig.data[0]
    z = pd.DataFrame(hm.z, index=list(hm.y), columns=list(hm.x))
    assert z.loc["C", "B cell"] == 3.0 and pd.isna(z.loc["C", "NK"])
    assert hm.zmid == 0
    text = pd.DataFrame(hm.text, index=list(hm.y), columns=list(hm.x))
    assert text.loc["C", "NK"] == "not in this group's top 2" and "metacells: 25" in text.loc["C", "B cell"]
    assert fig.layout.plot_bgcolor == figures.MISSING and "grey" in fig.layout.title.text


def test_network_figure_shapes_legend_width_and_focus():
    pairs = network.pair_edges(gene_table().assign(gene=["G1", "G1", "G2", "G2"]))
    pos = network.layout(pairs)
    fig = figures.network_figure(pairs, pos)
    nodes = {t.name: t for t in fig.data if t.customdata is not None}
    assert nodes["TF"].marker.symbol == "diamond"
    assert set(nodes["target gene"].customdata) == {"G1", "G2"}
    lines = [t for t in fig.data if t.mode == "lines"]
    assert {t.line.color for t in lines} == {figures.POSITIVE, figures.NEGATIVE}
    assert all("|mean|" in t.name for t in lines)
    widest = max(lines, key=lambda t: t.line.width)
    assert widest.line.color == figures.POSITIVE  # 3.0 (C -> G2) is the strongest edge
    focused = figures.network_figure(pairs, pos, focus=["B"])
    tfs = next(t for t in focused.data if t.name == "TF")
    opacity = dict(zip(tfs.customdata, tfs.marker.opacity, strict=True))
    assert opacity["B"] == 1.0 and opacity["C"] < 1.0
    assert "no edges" in figures.network_figure(pairs.iloc[:0], {}).layout.title.text


def test_network_figure_svg_for_a_few_edges_webgl_above(monkeypatch):
    pairs = network.pair_edges(random_table(n_genes=12, n_tfs=6, top=4))
    pos = network.layout(pairs)
    small = figures.network_figure(pairs, pos)
    assert {t.type for t in small.data} == {"scatter"}  # SVG: no WebGL context to start
    monkeypatch.setattr(figures, "SVG_MAX_EDGES", len(pairs) - 1)
    big = figures.network_figure(pairs, pos)
    assert {t.type for t in big.data if t.mode == "lines"} == {"scattergl"}
    assert [t.name for t in big.data] == [t.name for t in small.data]  # the same traces, drawn by WebGL
    assert [len(t.x) for t in big.data] == [len(t.x) for t in small.data]


def test_compare_and_activity_figures():
    t = random_table(n_genes=6, n_tfs=15, top=5)
    diff = compare.compare_groups(t, "NK", "B cell")
    fig = figures.compare_bars(diff, "NK", "B cell", top=5)
    assert list(fig.data[0].y)[::-1] == diff.dropna(subset=["diff"])["tf"].head(5).tolist()
    act = figures.activity_heatmap(compare.tf_activity(t), top=7)
    assert len(act.data[0].y) == 7 and list(act.data[0].x) == sorted(t["cell_type_v2"].unique())
    z = pd.DataFrame(act.data[0].z)
    assert z.isna().to_numpy().any() and not (z == 0).to_numpy().any()  # missing is grey, never 0
    assert "row-scaled" in figures.activity_heatmap(compare.row_scaled(compare.tf_activity(t)), scaled=True
                                                    ).data[0].colorbar.title.text


def test_image_config():
    cfg = figures.image_config("G1 bars/x", fmt="svg")
    assert cfg["toImageButtonOptions"] == {"format": "svg", "filename": "G1_bars_x", "scale": 2}
    with pytest.raises(Cell2NetInputError):
        figures.image_config("x", fmt="jpg")


def test_network_figure_labels_a_large_graphs_few_in_one_trace(monkeypatch):
    """Above FLAT_LABELS nodes only the best-connected are labelled: their labels are one more trace (not
    hoverable, no names to click), and the node traces carry no text, so a 1,600-node graph does not
    move 1,600 empty labels on every pan and zoom; every node stays clickable and hoverable."""
    pairs = network.pair_edges(random_table(n_genes=12, n_tfs=6, top=4))
    pos = network.layout(pairs)
    kinds = network.node_kinds(pairs)
    every = figures.network_figure(pairs, pos)  # up to FLAT_LABELS nodes: every node's label, placed beside it
    assert all(t.mode == "markers+text" for t in every.data if t.customdata is not None)
    assert sorted(x for t in every.data if t.customdata is not None for x in t.text) == sorted(kinds)
    assert "node labels" not in {t.name for t in every.data} and every.layout.meta["left_out"] == 0
    monkeypatch.setattr(figures, "_HUB_LABELS", 3)
    few = figures.network_figure(pairs, pos, focus=["GENE5"], max_labels=len(kinds) - 1)
    nodes = [t for t in few.data if t.customdata is not None]
    assert all(t.mode == "markers" and t.text is None for t in nodes)
    assert sorted(n for t in nodes for n in t.customdata) == sorted(kinds)
    labels = next(t for t in few.data if t.name == "node labels")
    degree = pd.concat([pairs["tf"], pairs["gene"]]).value_counts()
    hubs = sorted(degree.index, key=lambda n: (-degree[n], n))[:3]
    assert sorted(labels.text) == sorted({*hubs, "GENE5"})
    assert labels.hoverinfo == "skip" and labels.customdata is None and labels.marker.opacity == 0
    size = {n: s for t in nodes for n, s in zip(t.customdata, t.marker.size, strict=True)}
    assert list(labels.marker.size) == [size[n] for n in labels.text]  # labels clear their node's marker
    outline = {n: w for t in nodes for n, w in zip(t.customdata, t.marker.line.width, strict=True)}
    assert outline["GENE5"] == 2.5 and sum(w > 0 for w in outline.values()) == 1  # only the focused outlined
