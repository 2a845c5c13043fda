"""Filter a ``tf_to_gene`` table and turn it into a TF -> gene network.

The table has one row per TF, target gene and group (cell type): columns ``tf``,
``gene``, the grouping column, ``mean_attr``, ``std_attr`` and, optionally,
``n_metacells``. A drawn network has one edge per TF and gene: the group with the
largest ``|mean_attr|`` gives its sign and weight.
"""

from __future__ import annotations

from collections.abc import Sequence

import networkx as nx
import numpy as np
import pandas as pd

from ..aggregate import group_column
from ..errors import Cell2NetInputError

__all__ = [
    "MAX_DRAWN_EDGES",
    "SIGNS",
    "check_table",
    "filter_edges",
    "pair_edges",
    "cap_edges",
    "build_graph",
    "layout",
    "hub_tfs",
    "neighbourhood",
]

SIGNS = ("all", "positive", "negative")
MAX_DRAWN_EDGES = 2000
REQUIRED = ("tf", "gene", "mean_attr", "std_attr")


def check_table(table: pd.DataFrame) -> str:
    """Check a ``tf_to_gene`` table's columns; return the grouping column's name.

    Examples
    --------
    >>> t = pd.DataFrame({"tf": ["A"], "gene": ["G"], "cell_type": ["B"], "mean_attr": [1.0], "std_attr": [0.0]})
    >>> check_table(t)
    'cell_type'
    """
    if not isinstance(table, pd.DataFrame):
        msg = f"Expected a tf_to_gene table (DataFrame), got {type(table).__name__}."
        raise Cell2NetInputError(msg)
    missing = [c for c in REQUIRED if c not in table.columns]
    if missing:
        msg = (
            f"The tf_to_gene table lacks column(s) {missing} (columns: {list(table.columns)}); "
            "expected tf, gene, <grouping column>, mean_attr, std_attr."
        )
        raise Cell2NetInputError(msg)
    group = group_column(table)
    if group is None:
        msg = (
            f"The tf_to_gene table has no grouping column (columns: {list(table.columns)}); "
            "expected one such as cell_type_v2."
        )
        raise Cell2NetInputError(msg)
    return group


def _isin(values: pd.Series, keep: Sequence[str] | None) -> np.ndarray:
    if keep is None:
        return np.ones(len(values), dtype=bool)
    return values.isin(list(keep)).to_numpy()


def filter_edges(
    table: pd.DataFrame,
    *,
    cell_types: Sequence[str] | None = None,
    genes: Sequence[str] | None = None,
    tfs: Sequence[str] | None = None,
    top_k: int | None = None,
    min_abs: float = 0.0,
    sign: str = "all",
    mean_range: tuple[float, float] | None = None,
    std_range: tuple[float, float] | None = None,
) -> pd.DataFrame:
    """Rows of a ``tf_to_gene`` table that pass every filter.

    Parameters
    ----------
    table
        A ``tf_to_gene`` table (see :func:`check_table`).
    cell_types, genes, tfs
        Keep only these groups, target genes, TFs; ``None`` keeps all.
    top_k
        Keep the ``top_k`` TFs with the largest ``|mean_attr|`` per gene and group.
    min_abs
        Keep rows with ``|mean_attr| >= min_abs``.
    sign
        ``"all"``, ``"positive"`` (activation, mean > 0) or ``"negative"`` (repression, mean < 0).
    mean_range, std_range
        Inclusive ``(low, high)`` bounds on ``mean_attr`` and ``std_attr``.

    Returns
    -------
    The kept rows, in the table's order, index reset.

    Examples
    --------
    >>> from cell2net_core.testing import random_table
    >>> table = random_table(n_genes=3, n_tfs=6, top=4, groups=("NK", "B cell"))
    >>> edges = filter_edges(table, cell_types=["NK"], top_k=3, sign="positive")
    >>> bool((edges["mean_attr"] > 0).all()), set(edges["cell_type_v2"])
    (True, {'NK'})
    """
    group = check_table(table)
    if sign not in SIGNS:
        msg = f"sign {sign!r} is not one of {SIGNS}."
        raise Cell2NetInputError(msg)
    if top_k is not None and top_k < 1:
        msg = f"top_k must be at least 1 (got {top_k}); use None to keep every TF."
        raise Cell2NetInputError(msg)
    mean = table["mean_attr"].to_numpy(dtype=float)
    keep = _isin(table[group].astype(str), cell_types) & _isin(table["gene"], genes) & _isin(table["tf"], tfs)
    keep &= np.abs(mean) >= min_abs
    if sign == "positive":
        keep &= mean > 0
    elif sign == "negative":
        keep &= mean < 0
    if mean_range is not None:
        keep &= (mean >= mean_range[0]) & (mean <= mean_range[1])
    if std_range is not None:
        std = table["std_attr"].to_numpy(dtype=float)
        keep &= (std >= std_range[0]) & (std <= std_range[1])
    out = table.loc[keep]
    if top_k is not None and len(out):
        order = out.assign(_abs=np.abs(out["mean_attr"].to_numpy(dtype=float))).sort_values(
            "_abs", ascending=False, kind="stable"
        )
        rank = order.groupby(["gene", group], sort=False, observed=True).cumcount()
        out = out.loc[np.sort(order.index[rank.to_numpy() < top_k])]
    return out.reset_index(drop=True)


def pair_edges(edges: pd.DataFrame) -> pd.DataFrame:
    """One row per TF and gene: the group with the largest ``|mean_attr|`` gives sign and weight.

    Returns
    -------
    DataFrame ``tf, gene, mean_attr, abs_attr, group, n_groups``, strongest first.

    Examples
    --------
    >>> from cell2net_core.testing import random_table
    >>> table = random_table(n_genes=3, n_tfs=6, top=4, groups=("NK", "B cell"))
    >>> pairs = pair_edges(filter_edges(table, cell_types=["NK", "B cell"]))
    >>> bool(pairs[["tf", "gene"]].duplicated().any())
    False
    """
    group = check_table(edges)
    if edges.empty:
        return pd.DataFrame(columns=["tf", "gene", "mean_attr", "abs_attr", "group", "n_groups"])
    df = edges[["tf", "gene", group, "mean_attr"]].copy()
    df["abs_attr"] = df["mean_attr"].abs()
    df = df.sort_values("abs_attr", ascending=False, kind="stable")
    counts = df.groupby(["tf", "gene"], sort=False).size()
    best = df.drop_duplicates(["tf", "gene"]).rename(columns={group: "group"})
    best["n_groups"] = counts.reindex(pd.MultiIndex.from_frame(best[["tf", "gene"]])).to_numpy()
    best["group"] = best["group"].astype(str)
    return best.reset_index(drop=True)


def cap_edges(pairs: pd.DataFrame, *, max_edges: int = MAX_DRAWN_EDGES) -> tuple[pd.DataFrame, bool]:
    """The ``max_edges`` strongest edges (by ``|mean_attr|``) and whether any were dropped.

    Examples
    --------
    >>> from cell2net_core.testing import random_table
    >>> table = random_table(n_genes=3, n_tfs=6, top=4, groups=("NK", "B cell"))
    >>> drawn, capped = cap_edges(pair_edges(table), max_edges=5)
    >>> len(drawn), capped
    (5, True)
    """
    if max_edges < 1:
        msg = f"max_edges must be at least 1 (got {max_edges})."
        raise Cell2NetInputError(msg)
    if len(pairs) <= max_edges:
        return pairs, False
    strongest = pairs["mean_attr"].abs().to_numpy().argsort(kind="stable")[::-1][:max_edges]
    return pairs.iloc[np.sort(strongest)].reset_index(drop=True), True


def node_kinds(pairs: pd.DataFrame) -> dict[str, str]:
    """``"TF"``, ``"gene"`` or ``"TF+gene"`` (a TF that is also a target) for each node."""
    tfs, genes = set(pairs["tf"].astype(str)), set(pairs["gene"].astype(str))
    kinds = {n: "gene" for n in genes}
    for t in tfs:
        kinds[t] = "TF+gene" if t in genes else "TF"
    return kinds


def build_graph(pairs: pd.DataFrame) -> nx.DiGraph:
    """A directed TF -> gene graph; nodes carry ``kind``, edges ``mean_attr`` and ``weight`` (``|mean_attr|``).

    Examples
    --------
    >>> from cell2net_core.testing import random_table
    >>> g = build_graph(pair_edges(random_table(n_genes=2, n_tfs=3, top=3)))
    >>> g.nodes["TF0"]["kind"]
    'TF'
    """
    g = nx.DiGraph()
    for node, kind in node_kinds(pairs).items():
        g.add_node(node, kind=kind)
    means = pairs["mean_attr"].to_numpy(dtype=float)
    g.add_edges_from(
        (str(t), str(s), {"mean_attr": float(m), "weight": abs(float(m))})
        for t, s, m in zip(pairs["tf"], pairs["gene"], means, strict=True)
    )
    return g


def layout(pairs: pd.DataFrame, *, seed: int = 0, n_anchors: int = 250) -> dict[str, tuple[float, float]]:
    """Node positions in ``[-1, 1]^2``, deterministic for a seed.

    Up to ``n_anchors`` nodes: a networkx spring layout. Larger graphs: the
    ``n_anchors`` best-connected nodes get a spring layout; every other node sits at
    the mean position of its placed neighbours plus a small seeded jitter, so a gene
    lies near its regulators. Linear in the number of edges beyond the anchors.

    Examples
    --------
    >>> from cell2net_core.testing import random_table
    >>> table = random_table(n_genes=3, n_tfs=6, top=4, groups=("NK", "B cell"))
    >>> pos = layout(pair_edges(table), seed=0)
    >>> sorted(pos)[:2]
    ['GENE0', 'GENE1']
    """
    g = build_graph(pairs).to_undirected()
    if g.number_of_nodes() == 0:
        return {}
    rng = np.random.default_rng(seed)
    if g.number_of_nodes() <= n_anchors:
        pos = nx.spring_layout(g, seed=seed, weight=None, k=2.0 / np.sqrt(g.number_of_nodes()), iterations=80)
        return {n: (float(p[0]), float(p[1])) for n, p in pos.items()}
    degree = sorted(g.degree, key=lambda nd: (-nd[1], nd[0]))
    anchors = [n for n, _ in degree[:n_anchors]]
    sub = g.subgraph(anchors)
    init = {n: rng.uniform(-1, 1, 2) for n in sorted(sub.nodes)}
    spring = nx.spring_layout(sub, pos=init, seed=seed, weight=None, k=2.0 / np.sqrt(len(anchors)), iterations=40)
    placed = {n: np.asarray(p) for n, p in spring.items()}
    todo = [n for n, _ in degree[n_anchors:]]
    while todo:
        left = []
        for n in todo:
            near = [placed[m] for m in g.neighbors(n) if m in placed]
            if near:
                placed[n] = np.mean(near, axis=0) * 1.15 + rng.normal(0, 0.06, 2)
            else:
                left.append(n)
        if len(left) == len(todo):  # not connected to anything placed: outer ring
            angles = np.linspace(0, 2 * np.pi, len(left), endpoint=False)
            for n, a in zip(left, angles, strict=True):
                placed[n] = np.array([1.3 * np.cos(a), 1.3 * np.sin(a)])
            break
        todo = left
    xy = np.array(list(placed.values()))
    scale = np.abs(xy).max() or 1.0
    return {n: (float(p[0] / scale), float(p[1] / scale)) for n, p in placed.items()}


def hub_tfs(edges: pd.DataFrame) -> pd.DataFrame:
    """TFs ranked by out-degree (distinct target genes) and by summed ``|mean_attr|``.

    Returns
    -------
    DataFrame ``tf, out_degree, sum_abs_attr, n_edges``, sorted by out-degree then summed
    ``|mean_attr|``, both descending.

    Examples
    --------
    >>> from cell2net_core.testing import random_table
    >>> table = random_table(n_genes=3, n_tfs=6, top=4, groups=("NK", "B cell"))
    >>> hubs = hub_tfs(filter_edges(table, cell_types=["NK"]))
    >>> int(hubs.iloc[0]["out_degree"]) >= int(hubs.iloc[-1]["out_degree"])
    True
    """
    check_table(edges)
    if edges.empty:
        return pd.DataFrame(columns=["tf", "out_degree", "sum_abs_attr", "n_edges"])
    df = edges.assign(_abs=edges["mean_attr"].abs())
    hubs = df.groupby("tf", sort=False).agg(
        out_degree=("gene", "nunique"), sum_abs_attr=("_abs", "sum"), n_edges=("gene", "size")
    )
    hubs = hubs.reset_index().sort_values(["out_degree", "sum_abs_attr", "tf"], ascending=[False, False, True])
    return hubs.reset_index(drop=True)


def neighbourhood(edges: pd.DataFrame, nodes: Sequence[str]) -> pd.DataFrame:
    """Rows whose TF or gene is one of ``nodes``, sorted by TF, gene and group.

    Examples
    --------
    >>> from cell2net_core.testing import random_table
    >>> table = random_table(n_genes=3, n_tfs=6, top=4, groups=("NK", "B cell"))
    >>> near = neighbourhood(table, ["TF0"])
    >>> bool(((near["tf"] == "TF0") | near["gene"].isin(near.loc[near["tf"] == "TF0", "gene"])).all())
    True
    """
    group = check_table(edges)
    nodes = [str(n) for n in nodes]
    keep = edges["tf"].astype(str).isin(nodes) | edges["gene"].astype(str).isin(nodes)
    return edges.loc[keep].sort_values(["tf", "gene", group], kind="stable").reset_index(drop=True)
