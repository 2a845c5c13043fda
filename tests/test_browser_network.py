"""Network figures as chromium draws them: a regulon's centre clear of its rings, its rings drawn as circles in
narrow and wide charts, its labels clear of each other; the dense overview's hub labels readable and apart.

Draws :func:`~cell2net_core.explore.figures.network_figure` in a standalone page (the plotly.js of the
plotly package, nothing downloaded) and reads the boxes of the drawn markers and labels. Fails, never
skips, when chromium is missing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from playwright.sync_api import sync_playwright

from cell2net_core.explore import figures, network
from tests.browser_support import CHROMIUM, CHROMIUM_ARGS, figure_page

pytestmark = pytest.mark.browser

#: every node's marker and label box (page px), keyed by the node's name
BOXES_JS = """async () => {
  await window.drawn;
  const gd = document.getElementById('g');
  const box = (el) => { const r = el.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  const out = {markers: {}, labels: {}};
  gd.querySelectorAll('.scatterlayer .trace').forEach((g) => {
    const trace = g.__data__[0].trace;  // nodes (names in customdata) or the labels of a large graph's few
    const names = trace.customdata || (trace.name === 'node labels' ? trace.text : null);
    if (!names) return;
    if (trace.customdata) {
      g.querySelectorAll('path.point').forEach((p) => { out.markers[names[p.__data__.i]] = box(p); });
    }
    g.querySelectorAll('g.textpoint text').forEach((t) => {
      if (t.textContent.trim()) out.labels[names[t.parentNode.__data__.i]] = box(t);
    });
  });
  gd.querySelectorAll('g.annotation').forEach((a) => {
    const text = a.querySelector('text').textContent.trim();
    if (text in out.markers) out.labels[text] = box(a.querySelector('rect.bg'));
  });
  return out;
}"""


def gap(a: list[float], b: list[float]) -> float:
    """Pixels between two boxes (left, top, right, bottom); negative when they overlap."""
    return max(b[0] - a[2], a[0] - b[2], b[1] - a[3], a[1] - b[3])


def star(n: int) -> tuple[pd.DataFrame, dict[str, tuple[float, float]]]:
    pairs = pd.DataFrame({"tf": "NFE2L2", "gene": [f"GENE{1000 + i}" for i in range(n)],
                          "mean_attr": np.linspace(2.0, 0.1, n), "std_attr": 0.1, "cell_type": "NK"})
    drawn = network.pair_edges(pairs)
    return drawn, network.arranged_layout(drawn, kind="concentric", centre="NFE2L2")


@pytest.fixture(scope="module")
def page():
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"{CHROMIUM} is missing: install it with `apt-get install -y chromium` (needed for this test).")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser.new_page(viewport={"width": 1100, "height": 900})
        browser.close()


@pytest.mark.parametrize(("n_targets", "width"), [(12, 1000), (89, 1000), (89, 700), (150, None), (300, None)])
def test_regulon_centre_label_and_marker_stay_clear_of_the_rings(page, n_targets, width, tmp_path):
    """The old figure failed this from 89 targets on: a centre diamond of 52-88 px touched its own label,
    ring-1 labels ran into the centre's label and, at 300 targets, ring 1 sat under the centre's marker.
    ``None``: the chart width the figure says its labels were placed for."""
    drawn, pos = star(n_targets)
    fig = figures.network_figure(drawn, pos, labels="radial")
    page.goto(figure_page(fig, tmp_path / "star.html", width=width or fig.layout.meta["chart_px"]))
    boxes = page.evaluate(BOXES_JS)
    markers, labels = boxes["markers"], boxes["labels"]
    assert set(markers) == set(pos) and "NFE2L2" in labels
    centre, label = markers.pop("NFE2L2"), labels.pop("NFE2L2")
    assert gap(label, centre) >= 1  # the centre's marker does not cover its own label
    ring = min(pos[n][0] ** 2 + pos[n][1] ** 2 for n in markers)
    first = [n for n in markers if pos[n][0] ** 2 + pos[n][1] ** 2 < ring + 1e-9]
    assert min(gap(centre, markers[n]) for n in first) >= 10  # the innermost ring clears the centre's marker
    assert min(gap(label, m) for m in markers.values()) >= 1  # no ring marker over the centre's label
    assert min(gap(label, t) for t in labels.values()) >= 1  # nor a ring node's label
    assert min(gap(centre, t) for t in labels.values()) >= 1  # no ring label under the centre's marker


def centre_distances(markers: dict[str, list[float]], pos: dict[str, tuple[float, float]]) -> dict[float, list]:
    """Per ring (layout radius): the drawn distances (px) of its nodes' marker centres from the centre's."""
    mid = {n: ((b[0] + b[2]) / 2, (b[1] + b[3]) / 2) for n, b in markers.items()}
    cx, cy = mid["NFE2L2"]
    rings: dict[float, list] = {}
    for n, (x, y) in mid.items():
        if n != "NFE2L2":
            rings.setdefault(round(float(np.hypot(*pos[n])), 6), []).append(float(np.hypot(x - cx, y - cy)))
    return rings


def test_regulon_rings_stay_circles_in_narrow_and_wide_charts(page, tmp_path):
    """The nodes of a ring are drawn at one distance from the centre, in a chart narrower (700 px) and wider
    (1,000 px) than the figure is tall, and the drawing keeps its shape (one scale for every ring). The old
    figure stretched y alone to the figure's height: in 700 px, ring nodes at the top sat ~1.9 times as far
    from the centre as those at the sides."""
    drawn, pos = star(150)
    fig = figures.network_figure(drawn, pos, labels="radial")
    scales = []
    for width in (1000, 700):
        page.goto(figure_page(fig, tmp_path / f"circles{width}.html", width=width))
        rings = centre_distances(page.evaluate(BOXES_JS)["markers"], pos)
        assert len(rings) >= 4
        for radius, drawn_px in rings.items():
            assert max(drawn_px) - min(drawn_px) <= 2.0, (width, radius)  # a circle, within rounding
        scales.append([np.mean(d) / r for r, d in sorted(rings.items())])
    for per_ring in scales:
        assert max(per_ring) / min(per_ring) < 1.01  # every ring at the same px per layout unit
    assert scales[1][0] <= scales[0][0]  # a narrower chart draws the same circles, no larger


def pairwise_gaps(boxes: np.ndarray) -> np.ndarray:
    """Gap (px) between each two boxes (left, top, right, bottom); negative where they overlap; inf on the diagonal."""
    b = np.asarray(boxes, dtype=float)
    g = np.maximum.reduce([b[None, :, 0] - b[:, None, 2], b[:, None, 0] - b[None, :, 2],
                           b[None, :, 1] - b[:, None, 3], b[:, None, 1] - b[None, :, 3]])
    np.fill_diagonal(g, np.inf)
    return g


@pytest.mark.parametrize("n_targets", [150, 300])
def test_regulon_labels_overlap_no_other_label_nor_marker(page, n_targets, tmp_path):
    """At the chart width the figure states (and wider), no drawn label touches another label or another
    node's marker; up to 150 targets every node keeps its label, at 300 the labels left out for want of
    room are counted in the subtitle. The old figure's 300-target ring 2 drew its labels over each other."""
    drawn, pos = star(n_targets)
    fig = figures.network_figure(drawn, pos, labels="radial")
    meta = fig.layout.meta
    for width in (meta["chart_px"], 1400):
        page.goto(figure_page(fig, tmp_path / f"labels{width}.html", width=width))
        boxes = page.evaluate(BOXES_JS)
        labels, markers = boxes["labels"], boxes["markers"]
        names = list(labels)
        assert pairwise_gaps([labels[n] for n in names]).min() >= 1
        for n in names:
            assert min(gap(labels[n], m) for k, m in markers.items() if k != n) >= 0, n
        assert len(labels) == n_targets + 1 - meta["left_out"]  # the centre's label included
    if n_targets <= figures.MAX_LABELS:
        assert meta["left_out"] == 0
    else:
        assert 0 < meta["left_out"] < n_targets / 4
        subtitle = page.evaluate("() => document.querySelector('.gtitle-subtitle, .g-gtitle-subtitle').textContent")
        assert f"{meta['left_out']} of {n_targets} labels left out" in subtitle


@pytest.fixture(scope="module")
def hubs_overview() -> pd.DataFrame:
    """The drawn edges of the Network page's default overview at the tutorial's scale: top 3 TFs per gene and
    group, the 10 hub TFs with their 15 strongest targets each (150 edges, ~157 nodes)."""
    from cell2net_core.testing import tutorial_table

    edges = network.limit_hubs(network.filter_edges(tutorial_table(), top_k=3), n_hubs=10, n_targets=15)
    return network.network_view(edges, max_edges=2000).drawn


@pytest.mark.parametrize("kind", ["wheel", "spring"])
def test_default_overview_labels_stay_clear_of_labels_and_markers(page, hubs_overview, kind, tmp_path):
    """The default overview drawn as a wheel (the page's default) names every node, no label touching another
    label or another node's marker, at the width the figure states and wider. Drawn as a spring layout in the
    page's narrower column, labels without room beside their node are set aside (a leader line to the node)
    or left out and counted; none touches another. Before, the page drew the spring layout with 30 labels."""
    pos = network.arranged_layout(hubs_overview, kind=kind)
    fig = figures.network_figure(hubs_overview, pos, labels="radial" if kind == "wheel" else "above")
    meta = fig.layout.meta
    for width in (meta["chart_px"], 1400) if kind == "wheel" else figures.HUB_WIDTHS[:2]:
        page.goto(figure_page(fig, tmp_path / f"{kind}{width}.html", width=width))
        boxes = page.evaluate(BOXES_JS)
        labels, markers = boxes["labels"], boxes["markers"]
        assert set(markers) == set(pos) and len(labels) == len(pos) - meta["left_out"]
        assert pairwise_gaps([labels[n] for n in labels]).min() >= 1
        for n in labels:
            assert min(gap(labels[n], m) for k, m in markers.items() if k != n) >= 0, (width, n)
    assert meta["left_out"] == 0 if kind == "wheel" else meta["left_out"] < len(pos) / 10


#: the drawn labels of a large graph's few nodes: box, computed font size and text shadow (the white halo)
HUB_LABELS_JS = """async () => {
  await window.drawn;
  const out = {};
  document.querySelectorAll('#g .scatterlayer .trace').forEach((g) => {
    if (g.__data__[0].trace.name !== 'node labels') return;
    g.querySelectorAll('g.textpoint text').forEach((t) => {
      const r = t.getBoundingClientRect(), style = getComputedStyle(t);
      out[t.textContent] = {box: [r.left, r.top, r.right, r.bottom], size: parseFloat(style.fontSize),
                            shadow: style.textShadow};
    });
  });
  return out;
}"""


@pytest.fixture(scope="module")
def overview():
    """The Network page's default overview at the tutorial's scale: 2,000 drawn edges, 1,622 nodes."""
    from benchmarks.network_interact import page_figure
    from cell2net_core.testing import tutorial_table

    return page_figure(tutorial_table(), max_edges=2000)[0]


@pytest.mark.parametrize("width", [700, 1000])
def test_overview_hub_labels_are_readable_and_apart(page, overview, width, tmp_path):
    """The 30 hubs of the 2,000-edge overview are labelled in 11 px type on a white halo, no label touching
    another (beside the node where there is room, else set aside with a leader line). The old figure drew
    them in 8 px type, each above its node whether or not another label was there."""
    page.goto(figure_page(overview, tmp_path / "overview.html", width=width))
    hubs = page.evaluate(HUB_LABELS_JS)
    assert len(hubs) == 30 and overview.layout.meta["left_out"] == 0
    assert min(h["size"] for h in hubs.values()) >= figures.HUB_LABEL_PX >= 11
    assert all("rgb(255, 255, 255)" in h["shadow"] for h in hubs.values())
    assert pairwise_gaps([h["box"] for h in hubs.values()]).min() >= 1


#: page coordinates of the hover point at ``[x, y]`` (data units) of the chart
POINT_JS = """([x, y]) => {
  const gd = document.getElementById('g'), fl = gd._fullLayout, box = gd.getBoundingClientRect();
  return [box.left + fl._size.l + fl.xaxis.l2p(x), box.top + fl._size.t + fl.yaxis.l2p(y)];
}"""
HOVER_JS = "() => Array.from(document.querySelectorAll('.hoverlayer .hovertext')).map(e => e.textContent).join(' ')"


@pytest.mark.parametrize("webgl", [False, True])
def test_edge_hover_names_the_edge_though_its_hover_points_draw_nothing(page, webgl, tmp_path, monkeypatch):
    """The edge-info trace draws no element (``mode="none"``), yet the mouse over an edge's middle shows its
    group and mean, in SVG and in WebGL, and over a node the node's own hover."""
    pairs = pd.DataFrame({"tf": ["A", "B"], "gene": ["G1", "G2"], "mean_attr": [0.5, -0.25], "std_attr": 0.1,
                          "cell_type": ["NK", "B cell"]})
    pos = {"A": (-1.0, -1.0), "G1": (1.0, -1.0), "B": (-1.0, 1.0), "G2": (1.0, 1.0)}
    if webgl:
        monkeypatch.setattr(figures, "SVG_MAX_EDGES", 1)
    fig = figures.network_figure(network.pair_edges(pairs), pos)
    page.goto(figure_page(fig, tmp_path / "edges.html", width=800))
    page.evaluate("() => window.drawn")
    assert page.evaluate("() => document.querySelectorAll('.scatterlayer path.point').length") == 4  # nodes only
    for where, text in (((0.0, -1.0), "A -> G1strongest in NK: mean attribution 0.5"),
                        ((0.0, 1.0), "B -> G2strongest in B cell: mean attribution -0.25"),
                        ((1.0, 1.0), "G2 (gene)degree: 1")):
        page.mouse.move(5, 5)
        page.wait_for_timeout(100)  # past plotly's 50 ms hover throttle
        page.mouse.move(*page.evaluate(POINT_JS, list(where)), steps=4)
        page.wait_for_function(f"() => ({HOVER_JS})().includes({text!r})", timeout=5_000)
