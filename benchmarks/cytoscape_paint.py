"""Plotly network vs a Cytoscape.js component (``st-cytoscape``): time to first full paint of 2,000 edges.

Both draw the same 2,000 strongest TF -> gene pairs of a tutorial-size table (154,160 rows) in one
Streamlit page served alone: plotly as the Network page does (``figures.network_figure`` at the
core's spring layout, WebGL above 1,000 edges), Cytoscape.js with the same positions (``preset``)
and, as the component is usually chosen for, with its own force-directed ``fcose`` layout. Each
variant is opened by URL ``--rounds`` times in headless chromium, timed from navigation until the
script is idle, the chart has drawn (plotly's SVG; Cytoscape's canvas inside the component's
iframe) and two animation frames have passed. A first visit computes the edges and the layout
(Streamlit's cache) untimed, so round 1 of each variant differs from the others by loading its
JavaScript only. ``--screenshots DIR`` saves each variant's last paint.

Needs ``st-cytoscape`` importable by the server, which the app does not depend on:
``pip install --target /tmp/cyto st-cytoscape==0.0.5`` then
``PYTHONPATH=/tmp/cyto python -m benchmarks.cytoscape_paint``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from benchmarks.app_paint import PAINTED_JS, TWO_FRAMES_JS
from tests.browser_support import CHROMIUM, CHROMIUM_ARGS, launch_app

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = {"plotly": "plotly (spring layout, as the Network page)", "preset": "Cytoscape.js, same positions",
            "fcose": "Cytoscape.js, fcose layout in the browser"}
APP = '''
import pandas as pd
import streamlit as st

from cell2net_core.explore import figures, network

st.set_page_config(layout="wide")
kind = st.query_params.get("kind", "plotly")


@st.cache_data
def data(path):
    pairs = network.pair_edges(pd.read_csv(path))
    pairs, _ = network.cap_edges(pairs, max_edges=2000)
    return pairs, network.layout(pairs)


pairs, pos = data(PATH)
st.title(f"{len(pairs):,} edges, {len(pos):,} nodes: {kind}")
if kind == "warmup":
    pass
elif kind == "plotly":
    st.plotly_chart(figures.network_figure(pairs, pos, title="network"))
else:
    from st_cytoscape import cytoscape

    kinds = network.node_kinds(pairs)
    nodes = [{"data": {"id": n, "label": n, "kind": kinds[n]},
              "position": {"x": 500 * x, "y": -500 * y}} for n, (x, y) in pos.items()]
    edges = [{"data": {"id": f"e{i}", "source": t, "target": g, "sign": "pos" if m > 0 else "neg"}}
             for i, (t, g, m) in enumerate(zip(pairs["tf"], pairs["gene"], pairs["mean_attr"]))]
    style = [{"selector": "node", "style": {"label": "data(label)", "font-size": 8, "width": 8, "height": 8}},
             {"selector": "node[kind = 'TF']", "style": {"shape": "diamond", "background-color": "#e67e22"}},
             {"selector": "edge", "style": {"width": 1, "curve-style": "haystack"}},
             {"selector": "edge[sign = 'pos']", "style": {"line-color": "#c0392b"}},
             {"selector": "edge[sign = 'neg']", "style": {"line-color": "#2166ac"}}]
    layout = {"name": "preset"} if kind == "preset" else {"name": "fcose", "animationDuration": 0}
    cytoscape(nodes + edges, style, height="700px", layout=layout, key="cy")
'''
# the component's iframe holds a canvas of non-zero size with something drawn on it
CYTO_DRAWN_JS = """() => {
  const canvases = [...document.querySelectorAll('canvas')].filter(c => c.width > 0 && c.height > 0);
  return canvases.length > 0;
}"""


def paint_time(page, url: str, kind: str) -> float:
    """Seconds from navigation to the chart's first full paint."""
    start = time.perf_counter()
    page.goto(f"{url}/?kind={kind}")
    page.wait_for_function(PAINTED_JS, polling=50, timeout=120_000)
    if kind in ("preset", "fcose"):
        page.wait_for_selector("iframe", timeout=120_000)
        frame = page.frame_locator("iframe").first
        frame.locator("canvas").first.wait_for(timeout=120_000)
        child = next(f for f in page.frames if f != page.main_frame)
        child.wait_for_function(CYTO_DRAWN_JS, polling=50, timeout=120_000)
        child.evaluate(TWO_FRAMES_JS)
    page.evaluate(TWO_FRAMES_JS)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--screenshots", type=Path, default=None, help="save each variant's last paint here")
    args = parser.parse_args(argv)
    try:
        import st_cytoscape  # noqa: F401
    except ImportError:
        sys.exit("st-cytoscape is not importable: pip install --target DIR st-cytoscape==0.0.5; PYTHONPATH=DIR")
    from cell2net_core.testing import tutorial_table

    with tempfile.TemporaryDirectory() as tmp:
        table = Path(tmp) / "tf_to_gene.csv"
        tutorial_table(n_genes=1927).to_csv(table, index=False)
        app = Path(tmp) / "app.py"
        app.write_text(APP.replace("PATH", repr(str(table))))
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        with open(Path(tmp) / "streamlit.log", "w") as log:
            proc, url = launch_app(Path(tmp), env, log)
            try:
                times = measure(url, rounds=args.rounds, screenshots=args.screenshots)
            finally:
                proc.terminate()
                proc.wait(timeout=20)
    print("Time to first full paint of 2,000 TF -> gene edges, headless chromium")
    print(f"{'variant':<45}" + "".join(f"{'round ' + str(r + 1):>10}" for r in range(args.rounds)))
    for kind, secs in times.items():
        print(f"{VARIANTS[kind]:<45}" + "".join(f"{s:>9.2f}s" for s in secs))
    base = sorted(times["plotly"][1:] or times["plotly"])
    for kind in ("preset", "fcose"):
        other = sorted(times[kind][1:] or times[kind])
        print(f"warm median, {kind} / plotly: {other[len(other) // 2] / base[len(base) // 2]:.2f}")


def measure(url: str, *, rounds: int, screenshots: Path | None = None) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {kind: [] for kind in VARIANTS}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        paint_time(page, url, "warmup")  # computes the edges and layout once, untimed
        for r in range(rounds):
            for kind in VARIANTS:
                times[kind].append(paint_time(page, url, kind))
                if screenshots is not None and r == rounds - 1:
                    screenshots.mkdir(parents=True, exist_ok=True)
                    page.screenshot(path=screenshots / f"{kind}.png")
        browser.close()
    return times


if __name__ == "__main__":
    main()
