"""Draw, zoom, pan and hover of the Network page's plotly figure at 2,000 drawn edges, beside 200.

The figure is built as the Network page builds it at the tutorial's full scale (154,160 rows,
overview with every hub and target, top-3 TFs per gene and group, the strongest ``--edges``
drawn, spring layout) and drawn alone in headless chromium with the plotly.js of the plotly
package (a ``file://`` page, nothing downloaded). In the page, each step is timed with
``performance.now()`` until its promise resolves and two animation frames have passed:

- draw: ``Plotly.newPlot`` of the figure into an emptied div (``Plotly.purge`` before, untimed);
- zoom: ``Plotly.relayout`` of both axis ranges, alternately to half and back to the full view;
- pan: ``Plotly.relayout`` shifting both ranges by a tenth, alternately right/up and back;
- hover: ``Plotly.Fx.hover`` on a node until its hover label is in the page (``Fx.unhover`` and
  a pause past plotly's 50 ms hover throttle in between, untimed).

Prints the median and the range of ``--reps`` repetitions per step, in ms, one column per edge
count, measured in one run. Run: ``python -m benchmarks.network_interact`` (needs /usr/bin/chromium).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from cell2net_core.explore import figures, network
from cell2net_core.testing import tutorial_table
from tests.browser_support import CHROMIUM, CHROMIUM_ARGS, figure_page

STEPS = ("draw", "zoom", "pan", "hover")
TIME_JS = """async (reps) => {
  const frames = () => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  const pause = (ms) => new Promise(r => setTimeout(r, ms));
  await window.drawn;
  const gd = document.getElementById('g');
  const spec = JSON.stringify({data: gd.data, layout: gd.layout});
  const t = {draw: [], zoom: [], pan: [], hover: []};
  const timed = async (key, fn) => { const s = performance.now(); await fn(); await frames();
                                     t[key].push(performance.now() - s); };
  for (let i = 0; i < reps; i++) {
    Plotly.purge(gd); await frames();
    const fig = JSON.parse(spec);
    await timed('draw', () => Plotly.newPlot(gd, fig.data, fig.layout));
  }
  const x0 = gd._fullLayout.xaxis.range.slice(), y0 = gd._fullLayout.yaxis.range.slice();
  const scaled = (r, f, shift) => { const c = (r[0] + r[1]) / 2 + shift * (r[1] - r[0]), h = f * (r[1] - r[0]) / 2;
                                    return [c - h, c + h]; };
  const view = (f, shift) => ({'xaxis.range': scaled(x0, f, shift), 'yaxis.range': scaled(y0, f, shift)});
  for (let i = 0; i < reps; i++) await timed('zoom', () => Plotly.relayout(gd, view(i % 2 ? 1 : 0.5, 0)));
  await Plotly.relayout(gd, view(1, 0));
  for (let i = 0; i < reps; i++) await timed('pan', () => Plotly.relayout(gd, view(1, i % 2 ? 0 : 0.1)));
  await Plotly.relayout(gd, view(1, 0));
  const genes = gd._fullData.findIndex(tr => tr.name === 'target gene');
  const nodes = genes >= 0 ? genes : gd._fullData.length - 1;
  for (let i = 0; i < reps; i++) {
    Plotly.Fx.unhover(gd); await pause(80);
    await timed('hover', async () => {
      Plotly.Fx.hover(gd, [{curveNumber: nodes, pointNumber: (7 * i) % gd._fullData[nodes].x.length}]);
      const until = performance.now() + 5000;
      while (!gd.querySelector('.hoverlayer .hovertext')) {
        if (performance.now() > until) throw new Error('no hover label within 5 s');
        await frames();
      }
    });
  }
  const webgl = Array.from(document.querySelectorAll('canvas')).some(c => c.width > 0);
  return {times: t, traces: gd._fullData.length, svg_points: gd.querySelectorAll('path.point').length,
          webgl: webgl, types: Array.from(new Set(gd._fullData.map(tr => tr.type)))};
}"""


def page_figure(table, *, max_edges: int):
    """The Network page's overview figure (every hub and target, top-3 TFs per gene and group)."""
    view = network.network_view(network.filter_edges(table, top_k=3), max_edges=max_edges)
    pos = network.arranged_layout(view.drawn, kind="spring")
    title = f"{len(view.drawn):,} edges, {len(pos):,} nodes (Overview)"
    return figures.network_figure(view.drawn, pos, title=title), len(view.drawn), len(pos)


def measure(figs: dict[int, object], *, reps: int, width: int) -> dict[int, dict]:
    out = {}
    with sync_playwright() as p, tempfile.TemporaryDirectory() as tmp:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": width + 100, "height": 1000})
        for n, fig in figs.items():
            page.goto(figure_page(fig, Path(tmp) / f"net{n}.html", width=width))
            out[n] = page.evaluate(TIME_JS, reps)
        browser.close()
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edges", type=int, nargs="+", default=[2000, 200], help="drawn edges, one column each")
    parser.add_argument("--reps", type=int, default=10, help="repetitions of each step")
    parser.add_argument("--width", type=int, default=1000, help="the chart's width in px")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    table = tutorial_table()
    figs, sizes = {}, {}
    for n in args.edges:
        fig, n_edges, n_nodes = page_figure(table, max_edges=n)
        figs[n], sizes[n] = fig, (n_edges, n_nodes)
    print(f"{len(table):,}-row table, figures built in {time.perf_counter() - start:.1f} s; "
          f"headless chromium, {args.width} px wide, median [min-max] of {args.reps} in ms")
    res = measure(figs, reps=args.reps, width=args.width)
    heads = [f"{sizes[n][0]:,} edges / {sizes[n][1]:,} nodes" for n in args.edges]
    print(f"{'step':<8}" + "".join(f"{h:>30}" for h in heads) + (f"{'ratio':>8}" if len(args.edges) == 2 else ""))
    for step in STEPS:
        med = {n: sorted(res[n]["times"][step])[len(res[n]["times"][step]) // 2] for n in args.edges}
        cells = [f"{med[n]:.0f} [{min(res[n]['times'][step]):.0f}-{max(res[n]['times'][step]):.0f}]"
                 for n in args.edges]
        ratio = f"{med[args.edges[0]] / med[args.edges[1]]:>7.1f}x" if len(args.edges) == 2 else ""
        print(f"{step:<8}" + "".join(f"{c:>30}" for c in cells) + ratio)
    for n in args.edges:
        r = res[n]
        print(f"{sizes[n][0]:,} edges: {r['traces']} traces ({', '.join(r['types'])}), {r['svg_points']} SVG points, "
              f"WebGL canvas drawn: {'yes' if r['webgl'] else 'no'}")


if __name__ == "__main__":
    main()
