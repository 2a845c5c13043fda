"""Time to first full paint of each page in headless chromium at the tutorial's full scale.

A results folder laid out the tutorial's way (per-gene CSVs for 50 genes, then
``tf_to_gene.csv`` of 1,927 genes x 8 cell types x top 10 TFs = 154,160 rows written with
pandas' index) is served alone by ``streamlit run app.py``. Each page is opened by its URL
(a new browser session, as a user following a link) and timed from navigation until the
script has finished, every chart has drawn its SVG, every table its canvas, and two
animation frames have passed. Round 1 starts right after the server does, so the first page
also pays for reading the CSV; round 2 is warm (Streamlit's caches hold the table).
Target: under 2 s per page. Beside each time, when the page showed its first script run as ended,
which splits the server's part from the browser's drawing where they do not overlap.
Run: ``python -m benchmarks.app_paint`` (needs /usr/bin/chromium).

Then, as the floor of what any Streamlit page costs on the machine, a bare two-page app (a title;
a title and a two-bar plotly chart) is served and timed the same way. Last, as a user clicks through: a
fresh server, and each page opened from the Overview's sidebar ``--pause`` seconds (3) after the
Overview painted (one document; the app loads plotly.js in the browser's idle time, ``ui.widgets.preload_plotly``).
Last, ``--starts`` fresh servers per source and setting: the Overview as the first page after a start, the server's
warm-up (``ui.warm``) off and on, on the tutorial-format folder and on the embedded demo.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
from playwright.sync_api import sync_playwright

from cell2net_core.testing import tutorial_table
from tests.browser_support import CHROMIUM, CHROMIUM_ARGS, launch_app

ROOT = Path(__file__).resolve().parents[1]
T = TypeVar("T")
PAGES = {"Overview": "", "Gene attribution": "attribution", "Network": "network", "Table": "table",
         "Compare groups": "compare", "TF dot plot": "dotplot"}
# painted: the script is idle, every visible plotly chart has its SVG, every visible dataframe its canvas, no spinner
PAINTED_JS = """() => {
  const app = document.querySelector("[data-testid='stApp']");
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (!document.querySelector("[data-testid='stMain'] h1")) return false;
  const shown = sel => [...document.querySelectorAll(sel)].filter(e => e.checkVisibility());  // not in hidden tabs
  const charts = shown("[data-testid='stPlotlyChart']");
  if (charts.some(c => !c.querySelector('.main-svg'))) return false;
  const frames = shown("[data-testid='stDataFrame']");
  if (frames.some(f => !f.querySelector('canvas'))) return false;
  return !document.querySelector("[data-testid='stSpinner'], [data-testid='stSkeleton']");
}"""
OVERVIEW_TITLE = "Cell2Net Explorer"
TWO_FRAMES_JS = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))"
# before each page's own scripts: note when the page shows its first script run as ended (ms since navigation)
SCRIPT_DONE_INIT = """(() => {
  let ran = false;
  const poll = () => {
    const app = document.querySelector("[data-testid='stApp']");
    const s = app && app.getAttribute('data-test-script-state');
    if (s === 'running') ran = true;
    if (ran && s === 'notRunning') { window.__c2nScriptDone = performance.now(); return; }
    setTimeout(poll, 10);
  };
  poll();
})()"""


def tutorial_folder(root: Path, *, n_genes: int) -> Path:
    """Per-gene CSVs for 50 genes, then the whole table as ``tf_to_gene.csv`` with pandas' index."""
    table = tutorial_table(n_genes=n_genes)
    for gene in table["gene"].unique()[:50]:
        table[table["gene"] == gene].to_csv(root / f"{gene}.csv", index=False)
    table.to_csv(root / "tf_to_gene.csv")
    return root


def paint_time(page, url: str) -> tuple[float, float]:
    """Seconds from navigation to the page's first full paint, and to the end of its first script run."""
    start = time.perf_counter()
    page.goto(url)
    page.wait_for_function(PAINTED_JS, polling=50, timeout=120_000)
    page.evaluate(TWO_FRAMES_JS)
    painted = time.perf_counter() - start
    done = page.evaluate("() => window.__c2nScriptDone")
    return painted, (done / 1000 if done is not None else float("nan"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--genes", type=int, default=1927, help="genes in the table (1,927 = 154,160 rows)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--pause", type=float, default=3.0, help="seconds on the Overview before a sidebar click")
    parser.add_argument("--starts", type=int, default=2,
                        help="fresh servers per source and warm-up setting for the first-page comparison (0: skip)")
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).is_file():
        sys.exit(f"{CHROMIUM} is missing: apt-get install -y chromium")
    with tempfile.TemporaryDirectory() as tmp:
        folder = tutorial_folder(Path(tmp), n_genes=args.genes)
        rows = sum(1 for _ in open(folder / "tf_to_gene.csv")) - 1
        env = {k: v for k, v in os.environ.items() if k not in ("C2N_MDATA", "C2N_MODELS")}
        env.update(C2N_RESULTS=str(folder), PYTHONPATH=str(ROOT))
        times = on_server(ROOT, env, Path(tmp) / "streamlit.log", lambda url: measure(url, rounds=args.rounds))
        clicked = on_server(ROOT, env, Path(tmp) / "streamlit2.log", lambda url: measure_clicks(url, pause=args.pause))
        times |= bare_floor(Path(tmp), rounds=args.rounds)
        first = first_pages(env, Path(tmp), starts=args.starts) if args.starts else {}
    print(f"Time to first full paint, headless chromium, tf_to_gene.csv of {rows:,} rows (results folder alone);")
    print("in brackets: when the page showed its script run as ended (server work and messages, and any drawing the")
    print("browser did meanwhile; a cold page's first plotly chart is drawn after it)")
    print(f"{'page':<18}" + "".join(f"{'round ' + str(r + 1):>17}" for r in range(args.rounds)))
    for name, secs in times.items():
        print(f"{name:<18}" + "".join(f"{p:>9.2f}s ({d:.2f}s)" for p, d in secs))
    print(f"\nA fresh server; each page opened from the Overview's sidebar {args.pause:g} s after the Overview painted")
    print("(one document, as a user clicks through; the page's own data not yet cached):")
    for name, secs in clicked.items():
        print(f"{name:<18}{secs:>9.2f}s")
    if first:
        print("\nThe first page after a server start (the Overview, opened as soon as the server answers), with the")
        print(f"server's warm-up off (CELL2NET_WARM_UP=0) and on, {args.starts} fresh servers each, alternated;")
        print("median, then every start:")
        for source, by in first.items():
            off, on = (sorted(by[k]) for k in ("0", "1"))
            print(f"{source:<34} off {np.median(off):5.2f}s {off}  on {np.median(on):5.2f}s {on}  "
                  f"x{np.median(off) / np.median(on):.2f}")


BARE_APP = """import plotly.graph_objects as go
import streamlit as st

def chart():
    st.title("Chart")
    st.plotly_chart(go.Figure(go.Bar(x=[1, 2], y=[3, 4])))

st.navigation([st.Page(lambda: st.title("Home"), title="Home", default=True),
               st.Page(chart, title="Chart", url_path="chart")]).run()
"""
BARE_PAGES = {"bare: title": "", "bare: plotly chart": "chart"}


def bare_floor(tmp: Path, *, rounds: int) -> dict[str, list[tuple[float, float]]]:
    """Paint times of :data:`BARE_APP`, served and measured as the app is."""
    (tmp / "bare").mkdir()
    (tmp / "bare" / "app.py").write_text(BARE_APP)
    return on_server(tmp / "bare", dict(os.environ), tmp / "bare.log",
                     lambda url: measure(url, rounds=rounds, pages=BARE_PAGES))  # fmt: skip


def first_pages(env: dict[str, str], tmp: Path, *, starts: int) -> dict[str, dict[str, list[float]]]:
    """Seconds to the Overview's first full paint on a fresh server, per source (``env``'s results folder; the
    embedded demo) and warm-up setting (``CELL2NET_WARM_UP`` 0 / 1), each in a new browser as soon as the
    server answers; the settings alternate so that the machine's slow phases fall on both."""
    from cell2net_core.demo import ensure_demo

    ensure_demo()  # built before timing (the first start builds it, with its own progress)
    demo = {k: v for k, v in env.items() if not k.startswith("C2N_")}
    sources = {"tutorial folder (results alone)": env, "embedded demo (README's command)": demo}
    out: dict[str, dict[str, list[float]]] = {name: {"0": [], "1": []} for name in sources}
    for i in range(starts):
        for name, source in sources.items():
            for warm in ("0", "1"):
                log = tmp / f"first_{i}_{warm}.log"
                secs = on_server(ROOT, {**source, "CELL2NET_WARM_UP": warm}, log,
                                 lambda url: measure(url, rounds=1, pages={"Overview": ""})["Overview"][0][0])
                out[name][warm].append(round(secs, 2))
    return out


def on_server(root: Path, env: dict[str, str], log: Path, run: Callable[[str], T]) -> T:
    """``run(url)`` against ``streamlit run`` of the app in ``root``, stopped afterwards."""
    with open(log, "w") as fh:
        proc, url = launch_app(root, env, fh)
        try:
            return run(url)
        finally:
            proc.terminate()
            proc.wait(timeout=20)


def measure(url: str, *, rounds: int, pages: dict[str, str] = PAGES) -> dict[str, list[tuple[float, float]]]:
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in pages}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.add_init_script(SCRIPT_DONE_INIT)
        for _ in range(rounds):
            for name, path in pages.items():
                times[name].append(paint_time(page, f"{url}/{path}"))
        browser.close()
    return times


def measure_clicks(url: str, *, pause: float) -> dict[str, float]:
    """Per page: the Overview by URL, ``pause`` seconds, then the page's sidebar link; seconds to its full paint."""
    times = {}
    title = "document.querySelector(\"[data-testid='stMain'] h1\")"
    left = f"() => {{ const h = {title}; return h && !h.textContent.startsWith({OVERVIEW_TITLE!r}); }}"  # page runs
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        for name in list(PAGES)[1:]:
            paint_time(page, f"{url}/")
            time.sleep(pause)
            start = time.perf_counter()
            page.get_by_role("link", name=name).first.click()
            page.wait_for_function(left, polling=20, timeout=120_000)
            page.wait_for_function(PAINTED_JS, polling=50, timeout=120_000)
            page.evaluate(TWO_FRAMES_JS)
            times[name] = time.perf_counter() - start
        browser.close()
    return times


if __name__ == "__main__":
    main()
