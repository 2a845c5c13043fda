"""Network filters, edge pairing, capping, layout, hubs, neighbourhoods and group comparisons."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cell2net_core.errors import Cell2NetInputError
from cell2net_core.explore import compare, network
from cell2net_core.testing import random_table


def hand_table() -> pd.DataFrame:
    rows = [
        ("A", "G1", "NK", 3.0, 0.1),
        ("B", "G1", "NK", -2.0, 0.2),
        ("C", "G1", "NK", 1.0, 0.3),
        ("A", "G1", "B cell", -4.0, 0.4),
        ("A", "G2", "NK", 0.5, 0.5),
        ("B", "G2", "B cell", 1.5, 0.6),
    ]
    t = pd.DataFrame(rows, columns=["tf", "gene", "cell_type", "mean_attr", "std_attr"])
    t["n_metacells"] = 10
    return t


def test_check_table_names_missing_column_and_group():
    t = hand_table()
    assert network.check_table(t) == "cell_type"
    with pytest.raises(Cell2NetInputError, match="std_attr"):
        network.check_table(t.drop(columns="std_attr"))
    with pytest.raises(Cell2NetInputError, match="no grouping column"):
        network.check_table(t.drop(columns="cell_type"))


def test_filters_by_group_gene_tf_sign_and_threshold():
    t = hand_table()
    assert network.filter_edges(t, cell_types=["NK"])["cell_type"].eq("NK").all()
    assert len(network.filter_edges(t, genes=["G2"])) == 2
    assert set(network.filter_edges(t, tfs=["B"])["tf"]) == {"B"}
    assert network.filter_edges(t, sign="negative")["mean_attr"].tolist() == [-2.0, -4.0]
    assert network.filter_edges(t, sign="positive")["mean_attr"].gt(0).all()
    assert network.filter_edges(t, min_abs=2.0)["mean_attr"].abs().tolist() == [3.0, 2.0, 4.0]
    assert network.filter_edges(t, mean_range=(0.0, 1.5))["mean_attr"].tolist() == [1.0, 0.5, 1.5]
    assert network.filter_edges(t, std_range=(0.25, 0.45))["std_attr"].tolist() == [0.3, 0.4]
    assert network.filter_edges(t, cell_types=["pDC"]).empty
    with pytest.raises(Cell2NetInputError, match="sign"):
        network.filter_edges(t, sign="up")


def test_top_k_keeps_largest_abs_per_gene_and_group():
    kept = network.filter_edges(hand_table(), top_k=2, cell_types=["NK"], genes=["G1"])
    assert kept["tf"].tolist() == ["A", "B"]  # |3| and |-2| beat |1|
    big = random_table(n_genes=5, n_tfs=12, top=10)
    k3 = network.filter_edges(big, top_k=3)
    assert k3.groupby(["gene", "cell_type_v2"]).size().eq(3).all()
    worst_kept = k3.groupby(["gene", "cell_type_v2"])["mean_attr"].apply(lambda s: s.abs().min())
    best_dropped = (
        big.merge(k3, how="left", indicator=True).query("_merge == 'left_only'")
        .groupby(["gene", "cell_type_v2"])["mean_attr"].apply(lambda s: s.abs().max())
    )
    assert (worst_kept >= best_dropped.reindex(worst_kept.index)).all()


def test_pair_edges_takes_strongest_group_and_counts_groups():
    pairs = network.pair_edges(hand_table()).set_index(["tf", "gene"])
    assert pairs.loc[("A", "G1"), "mean_attr"] == -4.0
    assert pairs.loc[("A", "G1"), "group"] == "B cell"
    assert pairs.loc[("A", "G1"), "n_groups"] == 2
    assert len(pairs) == 5


def test_cap_keeps_strongest_and_says_so():
    pairs = network.pair_edges(hand_table())
    drawn, capped = network.cap_edges(pairs, max_edges=2)
    assert capped and sorted(drawn["abs_attr"]) == [2.0, 4.0]  # A-G1 is -4 (B cell), B-G1 -2
    same, capped = network.cap_edges(pairs, max_edges=10)
    assert not capped and len(same) == len(pairs)


def test_build_graph_kinds_and_weights():
    t = hand_table()
    t.loc[len(t)] = ["A", "B", "NK", 0.7, 0.1, 10]  # TF B is also a target
    g = network.build_graph(network.pair_edges(t))
    assert g.nodes["A"]["kind"] == "TF" and g.nodes["B"]["kind"] == "TF+gene" and g.nodes["G1"]["kind"] == "gene"
    assert g.edges["A", "G1"]["weight"] == 4.0 and g.edges["A", "G1"]["mean_attr"] == -4.0


@pytest.mark.parametrize("n_genes", [3, 200])
def test_layout_is_deterministic_and_places_every_node(n_genes):
    pairs = network.pair_edges(random_table(n_genes=n_genes, n_tfs=40, top=3))
    pos = network.layout(pairs, seed=1)
    assert set(pos) == set(pairs["tf"]) | set(pairs["gene"])
    assert pos == network.layout(pairs, seed=1)
    xy = np.array(list(pos.values()))
    assert np.isfinite(xy).all() and np.abs(xy).max() <= 1.0 + 1e-9
    assert network.layout(pairs.iloc[:0]) == {}


def test_hub_tfs_by_degree_and_weight():
    hubs = network.hub_tfs(hand_table()).set_index("tf")
    assert hubs.loc["A", "out_degree"] == 2 and hubs.loc["A", "n_edges"] == 3
    assert hubs.loc["A", "sum_abs_attr"] == pytest.approx(7.5)
    assert hubs.index[0] == "A"  # most targets first


def test_neighbourhood_lists_edges_touching_nodes():
    nb = network.neighbourhood(hand_table(), ["G2"])
    assert set(nb["gene"]) == {"G2"} and len(nb) == 2
    assert len(network.neighbourhood(hand_table(), ["C"])) == 1


def test_tf_activity_averages_where_present_and_leaves_missing_missing():
    act = compare.tf_activity(hand_table())
    assert act.loc["A", "NK"] == pytest.approx((3.0 + 0.5) / 2)
    assert pd.isna(act.loc["C", "B cell"])  # C is in no B cell top list: missing, not 0
    assert compare.tf_activity(hand_table(), genes=["G2"]).loc["A", "NK"] == 0.5
    scaled = compare.row_scaled(act)
    assert scaled.loc["A"].abs().max() == 1.0 and pd.isna(scaled.loc["C", "B cell"])


def test_compare_groups_pairs_genes_and_counts_missing():
    diff = compare.compare_groups(hand_table(), "NK", "B cell").set_index("tf")
    assert diff.loc["A", "diff"] == pytest.approx(3.0 - (-4.0)) and diff.loc["A", "n_genes"] == 1  # G1 only
    assert pd.isna(diff.loc["C", "diff"]) and diff.loc["C", "attr_a"] == 1.0  # C only in NK: no difference
    assert pd.isna(diff.loc["B", "diff"])  # B in NK for G1, in B cell for G2: never both for one gene
    assert compare.missing_counts(diff) == (0, 1)
    assert diff.index[0] == "A"
    one = compare.compare_groups(hand_table(), ["NK"], ["B cell"], gene="G2").set_index("tf")
    assert pd.isna(one.loc["B", "diff"]) and one.loc["B", "attr_b"] == 1.5


def test_metacell_tests_find_the_shifted_tf():
    rng = np.random.default_rng(1)
    attr = rng.normal(0, 1, (60, 4))
    attr[:30, 2] += 3.0
    res = compare.metacell_tests(attr, ["NK"] * 30 + ["B"] * 30, "NK", "B", tfs=["T0", "T1", "T2", "T3"])
    assert res.iloc[0]["tf"] == "T2" and res.iloc[0]["q"] < 1e-6 and res.iloc[0]["diff"] > 2
    assert (res["q"] >= res["p"]).all() and res.set_index("tf").loc["T0", "q"] > 0.05
    with pytest.raises(Cell2NetInputError, match="at least 2 metacells"):
        compare.metacell_tests(attr, ["NK"] * 59 + ["B"], "NK", "B", tfs=["T0", "T1", "T2", "T3"])


def test_compare_groups_rejects_unknown_groups_and_genes():
    with pytest.raises(Cell2NetInputError, match="pDC"):
        compare.compare_groups(hand_table(), "NK", "pDC")
    with pytest.raises(Cell2NetInputError, match="G9"):
        compare.compare_groups(hand_table(), "NK", "B cell", gene="G9")


def test_every_tf_replaces_a_genes_top_rows_and_carries_evidence_where_stored():
    stored = hand_table().assign(q_value=np.linspace(0.01, 0.06, 6), known=True)
    npy = pd.DataFrame({"tf": ["A", "B", "C", "D", "A", "B", "C", "D"], "gene": "G1",
                        "cell_type": ["NK"] * 4 + ["B cell"] * 4,
                        "mean_attr": [3.0, -2.0, 1.0, 0.2, -4.0, 0.1, 0.3, -0.6], "std_attr": 0.1})
    out = network.with_every_tf(stored, [npy])
    assert out.columns.tolist() == stored.columns.tolist()
    g1 = out[out["gene"] == "G1"].set_index(["tf", "cell_type"])
    assert len(g1) == 8  # every TF in every group, not the 4 stored rows
    assert g1.loc[("D", "NK"), "mean_attr"] == 0.2 and np.isnan(g1.loc[("D", "NK"), "q_value"])
    assert g1.loc[("A", "NK"), "q_value"] == stored.iloc[0]["q_value"]  # carried from the stored row
    others = out[out["gene"] != "G1"].reset_index(drop=True)
    pd.testing.assert_frame_equal(others, stored[stored["gene"] != "G1"].reset_index(drop=True), check_dtype=False)
    assert network.with_every_tf(stored, []) is stored
    with pytest.raises(Cell2NetInputError, match="grouped by .cell_type_v2."):
        network.with_every_tf(stored, [npy.rename(columns={"cell_type": "cell_type_v2"})])


def test_describe_weights_counts_genes_from_npy_and_from_the_table():
    table = hand_table()
    assert "from the stored table" in network.describe_weights(table, every_genes=[])
    text = network.describe_weights(table, every_genes=["G1", "NOT_IN_TABLE"])
    assert text.startswith("Edge weights of 1 of ") and "from the stored table's top TFs" in text


@pytest.mark.parametrize("n_targets", [10, 24, 25, 48, 50, 89, 150, 300])
def test_concentric_keeps_label_anchors_apart(n_targets):
    """A TF's star of 50+ targets is spread over rings so that the closest two anchors (centre included)
    stay ~1.7/sqrt(n) apart; one ring of 89 (the old layout) put them 0.05 apart."""
    pairs = pd.DataFrame({"tf": "HUB", "gene": [f"G{i:03d}" for i in range(n_targets)],
                          "mean_attr": np.linspace(2.0, 0.1, n_targets)})
    pos = network.arranged_layout(pairs, kind="concentric", centre="HUB")
    assert set(pos) == {"HUB", *pairs["gene"]} and pos["HUB"] == (0.0, 0.0)
    xy = np.array(list(pos.values()))
    assert np.abs(xy).max() <= 1.0 + 1e-9
    assert network.min_spacing(pos) >= 1.2 / np.sqrt(n_targets)
    radius = {g: np.hypot(*pos[g]) for g in pairs["gene"]}
    assert radius["G000"] <= radius[pairs["gene"].iloc[-1]]  # the strongest partner is innermost


def radial_star(n: int, names: str = "G{:03d}") -> tuple[pd.DataFrame, dict[str, tuple[float, float]]]:
    pairs = pd.DataFrame({"tf": "HUB", "gene": [names.format(i) for i in range(n)], "mean_attr": 1.0,
                          "std_attr": 0.1, "cell_type": "NK"})
    drawn = network.pair_edges(pairs)
    return drawn, network.arranged_layout(drawn, kind="concentric", centre="HUB")


def plot_scale(fig) -> tuple[float, float]:
    """Pixels per layout unit along x (at the chart width the figure states) and along y."""
    m = fig.layout.margin
    x0, x1 = fig.layout.xaxis.range
    y0, y1 = fig.layout.yaxis.range
    return (fig.layout.meta["chart_px"] - m.l - m.r) / (x1 - x0), (fig.layout.height - m.t - m.b) / (y1 - y0)


def label_boxes(fig) -> dict[str, np.ndarray]:
    """Each drawn node label's box (px, y up) as labels.label_box puts it at the figure's scale."""
    from cell2net_core.explore import labels

    scale = plot_scale(fig)[1]
    out = {}
    for t in fig.data:
        if t.customdata is None or t.text is None:
            continue
        for name, x, y, size, text, where in zip(t.customdata, t.x, t.y, t.marker.size, t.text, t.textposition,
                                                 strict=True):
            if text:
                width = labels.text_width(text, size=t.textfont.size)
                out[name] = labels.label_box((x * scale, y * scale), width=width, font=t.textfont.size, marker=size,
                                             where=where)
    return out


def test_radial_figure_draws_circles_to_scale_and_places_labels_clear_of_each_other():
    """One scale along x and y (plotly's scaleanchor), the figure as tall as that scale needs; every label of
    140 partners placed where it overlaps no other label, most pointing away from the centre. The old figure
    scaled y alone (ellipses in a narrow chart) and put each label outwards whether or not it overlapped."""
    from cell2net_core.explore import figures

    drawn, pos = radial_star(140)  # 141 nodes: all labelled (MAX_LABELS)
    fig = figures.network_figure(drawn, pos, labels="radial")
    assert fig.layout.yaxis.scaleanchor == "x" and fig.layout.yaxis.scaleratio == 1
    sx, sy = plot_scale(fig)
    assert sx == pytest.approx(sy, rel=0.01)  # at the width it states, the chart's x and y scales agree
    genes = next(t for t in fig.data if t.name == "target gene")
    assert all(genes.text) and fig.layout.meta["left_out"] == 0  # every node labelled
    boxes = np.array(list(label_boxes(fig).values()))
    for i, b in enumerate(boxes):
        apart = np.maximum.reduce([boxes[:, 0] - b[2], b[0] - boxes[:, 2], boxes[:, 1] - b[3], b[1] - boxes[:, 3]])
        assert np.delete(apart, i).min() >= 1.0
    outward = [w == figures.radial_text_positions(pos, [n])[0]
               for n, w in zip(genes.customdata, genes.textposition, strict=True)]
    assert np.mean(outward) > 0.5
    assert fig.layout.height > figures.network_figure(*radial_star(60), labels="radial").layout.height
    assert figures.network_figure(drawn, pos).layout.height == 700  # other layouts: unchanged
    assert "circles drawn to scale" in fig.layout.title.subtitle.text


def test_radial_figure_above_max_labels_leaves_out_what_has_no_room_and_says_so():
    """Above MAX_LABELS nodes the drawing is at most RADIAL_MAX_PX across: the labels without room are left out,
    counted in the subtitle, and the hover of each such node says why."""
    from cell2net_core.explore import figures

    drawn, pos = radial_star(300, "GENE{:04d}")
    fig = figures.network_figure(drawn, pos, labels="radial")
    meta = fig.layout.meta
    assert meta["chart_px"] <= figures.RADIAL_MAX_PX + 30  # + margins and padding
    genes = next(t for t in fig.data if t.name == "target gene")
    unlabelled = [n for n, t in zip(genes.customdata, genes.text, strict=True) if not t]
    assert meta["left_out"] == len(unlabelled) > 0 and meta["labelled"] + meta["left_out"] == 300
    assert f"{len(unlabelled)} of 300 labels left out" in fig.layout.title.subtitle.text
    hover = dict(zip(genes.customdata, genes.hovertext, strict=True))
    assert all("label left out: no free spot" in hover[n] for n in unlabelled)
    assert not any("label left out" in hover[n] for n in genes.customdata if n not in unlabelled)
    assert figures.label_note(fig) in fig.layout.title.subtitle.text


@pytest.mark.parametrize("n_targets", [30, 89, 150, 300])
def test_regulon_centre_marker_and_label_clear_the_first_ring_at_the_figures_size(n_targets):
    """In the figure's own pixels: the centre's marker reaches at most a quarter of the way to
    the first ring and clears it by 20 px or more; its label sits above the marker, in a gap of the
    first ring. The old figure drew the centre of 300 targets 88 px wide, 1 px from ring 1, with its
    label as plain text among the ring's labels."""
    from cell2net_core.explore import figures

    drawn, pos = radial_star(n_targets)
    fig = figures.network_figure(drawn, pos, labels="radial")
    px = plot_scale(fig)[1]
    tfs, genes = (next(t for t in fig.data if t.name == name) for name in ("TF", "target gene"))
    reach = figures.MARKER_REACH["diamond"] * tfs.marker.size[list(tfs.customdata).index("HUB")] / 2
    ring = min(np.hypot(*pos[g]) for g in genes.customdata)
    assert reach <= figures.CENTRE_REACH * ring * px + 1e-6
    assert ring * px - reach - max(genes.marker.size) / 2 >= 20
    label = next(a for a in fig.layout.annotations if a.name == "centre label")
    assert label.text == "<b>HUB</b>" and (label.x, label.y) == (0, 0) and label.yanchor == "bottom"
    assert label.yshift >= reach + 1 and label.bgcolor  # above the marker, on a box over the edges
    assert not any("HUB" in (t.text or ()) for t in fig.data)  # drawn once, by the label above
    first = [g for g in genes.customdata if np.hypot(*pos[g]) < ring + 1e-9]
    up = [abs(np.degrees(np.arctan2(pos[g][1], pos[g][0])) - 90) for g in first]
    assert min(up) >= 15  # no ring-1 node straight above the centre's label


def hubs_with_targets(n_hubs: int, n_own: int, shared: int) -> pd.DataFrame:
    """Pair edges of ``n_hubs`` TFs, each with ``n_own`` targets of its own (weaker further down its list) and
    ``shared`` targets of hubs 0 and 1 both; hub ``i`` is the ``i``-th strongest."""
    rows = [(f"TF{h}", f"G{h}_{k}", (n_hubs - h) * 10.0 - k * 0.1) for h in range(n_hubs) for k in range(n_own)]
    rows += [(f"TF{h}", f"S{k}", 0.5) for h in (0, 1) for k in range(shared)]
    return pd.DataFrame(rows, columns=["tf", "gene", "mean_attr"])


def test_wheel_puts_hubs_on_a_circle_own_targets_beside_them_shared_ones_inside():
    """The overview's default layout: the strongest hub at the top, every hub at one distance from the middle;
    each target of one hub nearer its hub than any other hub, fanned out on its outer side; targets of several hubs
    inside the circle, apart from each other; the same positions every time."""
    pairs = hubs_with_targets(8, 15, shared=6)
    pos = network.arranged_layout(pairs, kind="wheel")
    assert pos == network.arranged_layout(pairs, kind="wheel") and len(pos) == 8 + 8 * 15 + 6
    hubs = {f"TF{h}": np.array(pos[f"TF{h}"]) for h in range(8)}
    radius = {round(float(np.hypot(*p)), 9) for p in hubs.values()}
    assert len(radius) == 1 and hubs["TF0"][0] == pytest.approx(0.0, abs=1e-9) and hubs["TF0"][1] > 0
    ring = radius.pop()
    for h, at in hubs.items():
        own = [np.array(p) for n, p in pos.items() if n.startswith(f"G{h[2:]}_")]
        for p in own:
            assert min(hubs, key=lambda k: np.hypot(*(p - hubs[k]))) == h
            v = p - at  # the fan faces away from the middle, 200 degrees across at most
            assert np.dot(v, at) / (np.hypot(*v) * ring) >= np.cos(np.radians(100.5))
    inside = np.array([pos[f"S{k}"] for k in range(6)])
    assert (np.hypot(inside[:, 0], inside[:, 1]) < ring).all()
    shared = {f"S{k}": pos[f"S{k}"] for k in range(6)}
    assert network.min_spacing(shared) >= network._SHARED_GAP * ring * 0.99  # the hubs' radius 1, scaled to ring
    assert max(abs(v) for p in pos.values() for v in p) == pytest.approx(1.0)


def test_wheel_of_one_hub_is_concentric():
    pairs = hubs_with_targets(1, 5, shared=0)
    assert network.arranged_layout(pairs, kind="wheel") == network.arranged_layout(pairs, kind="concentric",
                                                                                 centre="TF0")


def test_default_overview_labels_every_node_of_the_tutorial_scale():
    """The Network page's default overview of a 154,160-row table (top 3 TFs per gene and group, 10 hubs x 15
    strongest targets, ~157 nodes) drawn as a wheel labels every node: the old spring drawing labelled 30."""
    from cell2net_core.explore import figures
    from cell2net_core.testing import tutorial_table

    edges = network.limit_hubs(network.filter_edges(tutorial_table(), top_k=3), n_hubs=10, n_targets=15)
    drawn = network.network_view(edges, max_edges=2000).drawn
    pos = network.arranged_layout(drawn, kind="wheel")
    fig = figures.network_figure(drawn, pos, labels="radial")
    meta = fig.layout.meta
    assert meta["nodes"] == len(pos) > 150 and meta["left_out"] == 0 and meta["labelled"] == len(pos)
    assert meta["chart_px"] < 1100  # placed for a laptop's page width


def test_wheel_puts_hubs_that_share_targets_side_by_side():
    """A (strongest) shares targets with C, B with D: round the circle A, C, then the stronger of the rest (B),
    then D, so shared targets sit between neighbouring hubs rather than across the circle."""
    rows = [(tf, f"{tf}_{k}", w) for tf, w in (("A", 4.0), ("B", 3.0), ("C", 2.0), ("D", 1.0)) for k in range(3)]
    rows += [("A", "AC", 0.5), ("C", "AC", 0.5), ("B", "BD", 0.5), ("D", "BD", 0.5)]
    pairs = pd.DataFrame(rows, columns=["tf", "gene", "mean_attr"])
    pos = network.arranged_layout(pairs, kind="wheel")
    angles = {h: np.arctan2(pos[h][1], pos[h][0]) for h in "ABCD"}
    clockwise = sorted("ABCD", key=lambda h: (np.pi / 2 - angles[h]) % (2 * np.pi))
    assert clockwise == ["A", "C", "B", "D"]
