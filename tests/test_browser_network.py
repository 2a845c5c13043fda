"""The regulon view's centre as chromium draws it: its label and marker clear of each other and of the rings.

Draws :func:`~cell2net_core.explore.figures.network_figure` of TF stars in a standalone page (the
plotly.js of the plotly package, nothing downloaded) and reads the boxes of the drawn markers and
labels. Fails, never skips, when chromium is missing.
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


@pytest.mark.parametrize(("n_targets", "width"), [(12, 1000), (89, 1000), (89, 700), (150, 1000), (300, 700)])
def test_regulon_centre_label_and_marker_stay_clear_of_the_rings(page, n_targets, width, tmp_path):
    """The old figure failed this from 89 targets on: a centre diamond of 52-88 px touched its own label,
    ring-1 labels ran into the centre's label and, at 300 targets, ring 1 sat under the centre's marker."""
    drawn, pos = star(n_targets)
    page.goto(figure_page(figures.network_figure(drawn, pos, labels="radial"), tmp_path / "star.html", width=width))
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
