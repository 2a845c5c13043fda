"""Server-side cost of the app at the tutorial's full PBMC scale.

A generated ``tf_to_gene.csv`` of 1,927 genes x 8 cell types x top 10 TFs = 154,160 rows
(the tutorial's size) is read once, then for several typical filters the network page's
work is timed: filter, pair and cap to the drawn edges, layout, plotly figure, hub TFs.
Budget: load + filter + redraw under 1 s. Then each page's default work at that scale (network
overview and regulon, table, compare, dot plot). Run: ``python -m benchmarks.app_scale``.
"""

from __future__ import annotations

import argparse
import pickle
import tempfile
import time
from pathlib import Path

import pandas as pd

from cell2net_core.explore import compare, figures, network
from cell2net_core.store import read_network_table
from cell2net_core.testing import tutorial_table


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def redraw(table: pd.DataFrame, filters: dict) -> dict:
    """The network page's work for one filter, timed step by step (seconds)."""
    edges, t_filter = timed(network.filter_edges, table, **filters)
    start = time.perf_counter()
    pairs = network.pair_edges(edges)
    drawn, capped = network.cap_edges(pairs)
    t_pairs = time.perf_counter() - start
    pos, t_layout = timed(network.layout, drawn)
    _, t_figure = timed(figures.network_figure, drawn, pos)
    _, t_hubs = timed(network.hub_tfs, edges)
    return {
        "rows": len(edges), "pairs": len(pairs), "drawn": len(drawn), "capped": capped,
        "filter": t_filter, "pair+cap": t_pairs, "layout": t_layout, "figure": t_figure, "hubs": t_hubs,
    }


def overview(table: pd.DataFrame, **filters) -> None:
    edges = network.limit_hubs(network.filter_edges(table, top_k=3, **filters), n_hubs=10, n_targets=15)
    view = network.network_view(edges)
    figures.network_figure(view.drawn, network.arranged_layout(view.drawn, kind="wheel"), labels="radial")


def regulon(table: pd.DataFrame, tf: str) -> None:
    view = network.network_view(network.filter_edges(table, tfs=[tf], top_k=3))
    figures.network_figure(view.drawn, network.arranged_layout(view.drawn, kind="concentric", centre=tf))


def table_page(table: pd.DataFrame) -> None:
    network.describe_rows(network.with_rank(table))


def compare_page(table: pd.DataFrame) -> None:
    diff = compare.compare_groups(table, "NK", "B cell")
    figures.compare_bars(diff, "NK", "B cell")
    figures.activity_heatmap(compare.row_scaled(compare.tf_activity(table)), scaled=True)


def dot_plot_page(table: pd.DataFrame) -> None:
    act = compare.tf_activity(table)
    top = act.loc[act.abs().mean(axis=1).sort_values(ascending=False).index[:40]]
    figures.dot_plot(compare.cluster_order(top))


def pages(table: pd.DataFrame, repeats: int) -> None:
    """Each page's default work (best of ``repeats``), on the already loaded table."""
    hub = network.hub_tfs(table)["tf"].iloc[0]
    work = {
        "network: overview (10 hubs x 15 targets, wheel)": lambda: overview(table),
        f"network: targets of {hub} (concentric)": lambda: regulon(table, hub),
        "network: TF -> TF hierarchy": lambda: network.arranged_layout(
            network.pair_edges(network.tf_tf_pairs(network.filter_edges(table, top_k=1))).head(2000), kind="hierarchy"),
        "table: rank + row description": lambda: table_page(table),
        "compare: NK vs B cell, all genes": lambda: compare_page(table),
        "dot plot: 40 TFs, clustered": lambda: dot_plot_page(table),
    }
    print(f"\n{'page work at ' + format(len(table), ',') + ' rows':44} {'best':>9}")
    for name, fn in work.items():
        best = min(timed(fn)[1] for _ in range(repeats))
        print(f"{name:44} {best * 1e3:7.1f}ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="best of N per scenario")
    args = parser.parse_args()
    table = tutorial_table()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "tf_to_gene.csv"
        table.to_csv(path)  # the tutorial's layout (unnamed index column)
        loaded, t_load = timed(read_network_table, path)
    _, t_cached = timed(lambda: pickle.loads(pickle.dumps(loaded)))  # what an st.cache_data hit costs
    hub = network.hub_tfs(loaded)["tf"].iloc[0]
    q90 = float(loaded["mean_attr"].abs().quantile(0.9))
    genes = sorted(loaded["gene"].unique())[:50]
    scenarios = {
        "no filter (all 154k rows)": {},
        "one cell type (NK)": {"cell_types": ["NK"]},
        "NK, |mean| >= q90": {"cell_types": ["NK"], "min_abs": q90},
        "activation, top-3 per gene": {"sign": "positive", "top_k": 3},
        "repression only": {"sign": "negative"},
        "50 genes": {"genes": genes},
        f"one hub TF ({hub})": {"tfs": [hub]},
    }
    print(f"table: {len(loaded):,} rows, {loaded['gene'].nunique():,} genes, {loaded['tf'].nunique()} TFs")
    print(f"load tf_to_gene.csv (cold read): {t_load * 1e3:7.1f} ms; cached-table hit (pickle copy): "
          f"{t_cached * 1e3:6.1f} ms\n")
    cols = ["filter", "pair+cap", "layout", "figure", "hubs"]
    head = f"{'scenario':32} {'rows':>7} {'drawn':>6} " + " ".join(f"{c:>9}" for c in cols)
    print(head + f" {'redraw':>9} {'+cold load':>11} {'of 1 s':>7}")
    worst = 0.0
    for name, filters in scenarios.items():
        runs = [redraw(loaded, filters) for _ in range(args.repeats)]
        best = {c: min(r[c] for r in runs) for c in cols}
        total = sum(best.values())
        worst = max(worst, total + t_load)
        r = runs[0]
        drawn = f"{r['drawn']}{'*' if r['capped'] else ''}"
        print(f"{name:32} {r['rows']:>7,} {drawn:>6} " + " ".join(f"{best[c] * 1e3:7.1f}ms" for c in cols)
              + f" {total * 1e3:7.1f}ms {(total + t_load) * 1e3:9.1f}ms {(total + t_load):6.0%}")
    print("\n* capped to the strongest 2,000 edges (the app says so)")
    print(f"worst case, cold load + redraw: {worst * 1e3:.0f} ms ({'within' if worst < 1 else 'OVER'} the 1 s budget)")
    pages(loaded, args.repeats)


if __name__ == "__main__":
    main()
