"""Filter a ``tf_to_gene`` table and turn it into a TF -> gene network.

The table has one row per TF, target gene and group (cell type): columns ``tf``,
``gene``, the grouping column, ``mean_attr``, ``std_attr`` and, optionally,
``n_metacells``. A drawn network has one edge per TF and gene: the group with the
largest ``|mean_attr|`` gives its sign and weight.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..aggregate import group_column
from ..errors import Cell2NetInputError

if TYPE_CHECKING:  # networkx loads when a graph is built, not with the table filters the first page needs
    import networkx as nx

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
    "NetworkView",
    "network_view",
    "describe_rows",
    "with_rank",
    "holds_every_tf",
    "with_every_tf",
    "describe_weights",
    "limit_hubs",
    "LAYOUTS",
    "DRAWN_TO_SCALE",
    "arranged_layout",
    "min_spacing",
    "ONE_RING",
    "tf_tf_pairs",
    "Q_CUTOFF",
    "evidence_filters",
]

LAYOUTS = ("wheel", "spring", "concentric", "bipartite", "hierarchy")
#: layouts of circles, drawn to scale with their labels placed around them (``figures.network_figure(labels="radial")``)
DRAWN_TO_SCALE = ("wheel", "concentric")

SIGNS = ("all", "positive", "negative")
MAX_DRAWN_EDGES = 2000
REQUIRED = ("tf", "gene", "mean_attr", "std_attr")
Q_CUTOFF = 0.05
#: evidence filter -> (column it reads, what the page says when the table lacks it)
_EVIDENCE = {
    "max_q": ("q_value", "no q-values in this table (a tutorial table, or results stored without evidence)"),
    "with_motif": ("motif_sites", "no motif columns in this table (attribute with --motifs)"),
    "known_only": ("known", "no known column in this table (give a reference: --reference FILE)"),
}


def evidence_filters(table: pd.DataFrame) -> dict[str, str | None]:
    """For each evidence filter (``max_q``, ``with_motif``, ``known_only``): ``None`` when the table
    can be filtered on it, else why not (to show beside the disabled control).

    Examples
    --------
    >>> t = pd.DataFrame({"tf": ["A"], "gene": ["G"], "ct": ["NK"], "mean_attr": [1.0], "std_attr": [0.0],
    ...                   "q_value": [0.01]})
    >>> evidence_filters(t)["max_q"], evidence_filters(t)["known_only"][:11]
    (None, 'no known co')
    """
    return {k: None if col in table.columns and table[col].notna().any() else why
            for k, (col, why) in _EVIDENCE.items()}


def _evidence_keep(table: pd.DataFrame, *, max_q: float | None, with_motif: bool, known_only: bool) -> np.ndarray:
    """Rows passing the evidence filters; a filter the table cannot serve raises (never drops rows silently)."""
    reasons = evidence_filters(table)
    keep = np.ones(len(table), dtype=bool)
    for name, on in (("max_q", max_q is not None), ("with_motif", with_motif), ("known_only", known_only)):
        if on and reasons[name] is not None:
            msg = f"Cannot filter on {_EVIDENCE[name][0]}: {reasons[name]}."
            raise Cell2NetInputError(msg)
    if max_q is not None:  # a row without a q-value (p not computable) does not pass
        keep &= (pd.to_numeric(table["q_value"], errors="coerce") < max_q).fillna(False).to_numpy(dtype=bool)
    if with_motif:
        keep &= (pd.to_numeric(table["motif_sites"], errors="coerce") > 0).fillna(False).to_numpy(dtype=bool)
    if known_only:
        keep &= table["known"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    return keep


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
    max_q: float | None = None,
    with_motif: bool = False,
    known_only: bool = False,
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
    max_q
        Keep rows with ``q_value < max_q`` (e.g. :data:`Q_CUTOFF`); rows without a q-value are
        dropped. A table without q-values raises (see :func:`evidence_filters`).
    with_motif, known_only
        Keep rows with ``motif_sites > 0`` (a JASPAR site of the TF in the gene's peaks), or with
        ``known`` true (in the reference); a table without the column raises.

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
    >>> len(filter_edges(table.assign(q_value=[0.01, 0.2] * (len(table) // 2)), max_q=0.05)) == len(table) // 2
    True
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
    keep &= _evidence_keep(table, max_q=max_q, with_motif=with_motif, known_only=known_only)
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
    DataFrame ``tf, gene, mean_attr, abs_attr, group, n_groups``, strongest first; plus ``known``,
    ``motif_id``, ``motif_sites`` when the rows hold them (one value per TF and gene).

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
    extra = [c for c in ("known", "motif_id", "motif_sites") if c in edges.columns]
    df = edges[["tf", "gene", group, "mean_attr", *extra]].copy()
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
    import networkx as nx

    g = nx.DiGraph()
    for node, kind in sorted(node_kinds(pairs).items()):  # sorted: layouts do not depend on PYTHONHASHSEED
        g.add_node(node, kind=kind)
    means = pairs["mean_attr"].to_numpy(dtype=float)
    g.add_edges_from(
        sorted(
            (str(t), str(s), {"mean_attr": float(m), "weight": abs(float(m))})
            for t, s, m in zip(pairs["tf"], pairs["gene"], means, strict=True)
        ),
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
    import networkx as nx

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


@dataclass(frozen=True)
class NetworkView:
    """One filtered edge set and everything the network page shows of it.

    ``rows`` (one per TF, gene and group) is what every download holds; ``pairs`` the
    same edges once per TF and gene; ``drawn`` the strongest ``pairs`` that are drawn;
    ``hubs`` the hub TFs of ``rows``.
    """

    rows: pd.DataFrame
    pairs: pd.DataFrame
    drawn: pd.DataFrame
    hubs: pd.DataFrame

    @property
    def capped(self) -> bool:
        """Whether fewer edges are drawn than the filter keeps."""
        return len(self.drawn) < len(self.pairs)

    def message(self) -> str:
        """What is drawn and what the downloads hold, with the same counts everywhere."""
        n, rows = len(self.pairs), len(self.rows)
        held = f"downloads hold all {n:,} edges ({rows:,} rows: one per edge and {check_table(self.rows)})"
        if self.capped:
            return f"Drawing the {len(self.drawn):,} strongest of {n:,} edges (by |mean attribution|); {held}."
        return f"Drawing all {n:,} TF -> gene edges; {held}."


def network_view(edges: pd.DataFrame, *, max_edges: int = MAX_DRAWN_EDGES) -> NetworkView:
    """The drawn, counted and downloaded views of one filtered edge set (from :func:`filter_edges`).

    Examples
    --------
    >>> from cell2net_core.testing import random_table
    >>> view = network_view(random_table(n_genes=30, n_tfs=6, top=4), max_edges=10)
    >>> view.capped, len(view.drawn), view.message().startswith("Drawing the 10 strongest of")
    (True, 10, True)
    """
    pairs = pair_edges(edges)
    drawn, _ = cap_edges(pairs, max_edges=max_edges)
    return NetworkView(rows=edges, pairs=pairs, drawn=drawn, hubs=hub_tfs(edges))


def describe_rows(table: pd.DataFrame, *, every_genes: Sequence[str] = ()) -> str:
    """What a table's rows are, e.g. ``"160 rows: top 10 TFs per gene and cell_type_v2"``.

    Parameters
    ----------
    table
        A ``tf_to_gene`` table.
    every_genes
        Genes whose rows hold every TF (from ``<GENE>.npy``, :func:`with_every_tf`), said apart.

    Examples
    --------
    >>> from cell2net_core.testing import random_table
    >>> t = random_table(n_genes=2, n_tfs=6, top=4, groups=("NK", "B cell"))
    >>> describe_rows(t)
    '16 rows: top 4 TFs per gene and cell_type_v2 (of 5 TFs seen)'
    >>> describe_rows(t, every_genes=["GENE0"])
    '16 rows: every TF of 1 gene (from <GENE>.npy); top 4 TFs per gene and cell_type_v2 of 1 other gene (of 5 TFs seen)'
    """
    group = check_table(table)
    if table.empty:
        return f"0 rows (TF, gene, {group})"
    every = table["gene"].astype(str).isin({str(g) for g in every_genes})
    n_every, seen = table.loc[every, "gene"].nunique(), f"(of {table['tf'].nunique():,} TFs seen)"
    head = f"{len(table):,} rows: "
    if n_every:
        head += f"every TF of {n_every:,} gene{'s' if n_every != 1 else ''} (from <GENE>.npy)"
        if every.all():
            return f"{head} per {group} {seen}"
        head += "; "
    per = table[~every].groupby(["gene", group], observed=True).size()
    lo, hi = int(per.min()), int(per.max())
    kept = f"top {hi}" if lo == hi else f"top {lo}-{hi}"
    n_other = table.loc[~every, "gene"].nunique()
    others = f" of {n_other:,} other gene{'s' if n_other != 1 else ''}" if n_every else ""
    return f"{head}{kept} TFs per gene and {group}{others} {seen}"


def with_rank(table: pd.DataFrame, *, rank_by: str = "mean") -> pd.DataFrame:
    """The table with a ``rank`` column: 1 for the TF with the largest mean (``"abs"``: |mean|)
    within its gene and group, as in the tutorial's network description.

    Examples
    --------
    >>> t = pd.DataFrame({"tf": ["A", "B", "C"], "gene": "G", "g": "NK",
    ...                   "mean_attr": [0.1, 0.5, -0.9], "std_attr": 0.0})
    >>> with_rank(t)["rank"].tolist(), with_rank(t, rank_by="abs")["rank"].tolist()
    ([2, 1, 3], [3, 2, 1])
    """
    group = check_table(table)
    score = table["mean_attr"].astype(float)
    score = score.abs() if rank_by == "abs" else score
    rank = score.groupby([table["gene"], table[group]], observed=True).rank(method="first", ascending=False)
    return table.assign(rank=rank.astype(int))


def limit_hubs(edges: pd.DataFrame, *, n_hubs: int | None = None, n_targets: int | None = None) -> pd.DataFrame:
    """Rows of the ``n_hubs`` TFs with the largest summed ``|mean_attr|``, each with its
    ``n_targets`` strongest target genes (all groups of those TF -> gene pairs kept).

    ``None`` keeps every TF / target. The overview of a large table starts here, so that it
    draws a readable hub network rather than thousands of edges.

    Examples
    --------
    >>> from cell2net_core.testing import random_table
    >>> rows = limit_hubs(random_table(n_genes=30, n_tfs=8, top=4), n_hubs=2, n_targets=5)
    >>> rows["tf"].nunique(), int(rows.groupby("tf")["gene"].nunique().max())
    (2, 5)
    """
    check_table(edges)
    if edges.empty or (n_hubs is None and n_targets is None):
        return edges.reset_index(drop=True)
    df = edges.assign(_abs=edges["mean_attr"].abs().astype(float))
    if n_hubs is not None:
        strength = df.groupby("tf")["_abs"].sum().reset_index().sort_values(["_abs", "tf"], ascending=[False, True])
        df = df[df["tf"].isin(strength["tf"].head(n_hubs))]
    if n_targets is not None:
        best = df.groupby(["tf", "gene"], sort=False)["_abs"].max().reset_index()
        best = best.sort_values(["tf", "_abs", "gene"], ascending=[True, False, True])
        best = best[best.groupby("tf").cumcount() < n_targets]
        keep = pd.MultiIndex.from_frame(best[["tf", "gene"]])
        df = df[pd.MultiIndex.from_frame(df[["tf", "gene"]]).isin(keep)]
    return df.drop(columns="_abs").reset_index(drop=True)


def tf_tf_pairs(pairs: pd.DataFrame, *, tfs: Sequence[str] | None = None) -> pd.DataFrame:
    """The TF -> TF subnetwork: rows or pairs whose target is itself a TF (a modelled target).

    ``tfs``: the TFs to look for among the targets; ``None``: the TFs of ``pairs``.

    Examples
    --------
    >>> p = pd.DataFrame({"tf": ["A", "A", "B"], "gene": ["B", "G", "G"], "mean_attr": [1.0, 1.0, 1.0]})
    >>> tf_tf_pairs(p)[["tf", "gene"]].values.tolist()
    [['A', 'B']]
    """
    return pairs[pairs["gene"].isin(set(pairs["tf"] if tfs is None else tfs))].reset_index(drop=True)


#: Up to this many partners sit on one ring; more go on rings of growing radius (see :func:`_rings`).
ONE_RING = 24
_RING_STEP = 1.5  # neighbours on a ring are this many ring gaps apart


def _rings(nodes: list[str]) -> dict[str, tuple[float, float]]:
    """Nodes on concentric rings around the origin, in order (strongest innermost), outer radius 1.

    Up to :data:`ONE_RING` nodes share one ring. Above, ring ``k`` (radius ``k + 1/2``) holds
    ``floor(2 pi (k + 1/2) / 1.5)`` nodes spread evenly: neighbours on a ring 1.5 ring gaps apart, room
    for a label running along the ring where the ring is horizontal (a name is wider than tall), and
    across rings about one gap: after scaling, the closest two label anchors are about
    ``1.45 / sqrt(n)`` apart. The centre keeps 1.5 gaps to the first ring, room for its marker and its
    label above it: odd rings leave a gap straight above the centre, even rings are turned half a step
    against them.
    """
    if len(nodes) <= ONE_RING:
        angles = 2 * np.pi * np.arange(len(nodes)) / max(1, len(nodes))
        return {n: (float(np.cos(a)), float(np.sin(a))) for n, a in zip(nodes, angles, strict=True)}
    pos, i, k = {}, 0, 1
    while i < len(nodes):
        radius = k + 0.5
        chunk = nodes[i:i + int(2 * np.pi * radius / _RING_STEP)]
        turn = np.pi / 2 + np.pi / len(chunk) * (k % 2)
        for j, n in enumerate(chunk):
            a = 2 * np.pi * j / len(chunk) + turn
            pos[n] = (radius * np.cos(a), radius * np.sin(a))
        i, k = i + len(chunk), k + 1
    outer = k - 0.5
    return {n: (float(x / outer), float(y / outer)) for n, (x, y) in pos.items()}


def min_spacing(pos: dict[str, tuple[float, float]]) -> float:
    """The smallest distance between two node positions (``inf`` for fewer than two nodes).

    Examples
    --------
    >>> min_spacing({"a": (0.0, 0.0), "b": (0.0, 0.5), "c": (1.0, 0.0)})
    0.5
    """
    xy = np.array(list(pos.values()), dtype=float).reshape(-1, 2)
    if len(xy) < 2:
        return float("inf")
    d = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1))
    return float(d[np.triu_indices(len(xy), 1)].min())


def _column(nodes: list[str], x: float) -> dict[str, tuple[float, float]]:
    ys = np.linspace(1, -1, len(nodes)) if len(nodes) > 1 else np.zeros(1)
    return {n: (x, float(y)) for n, y in zip(nodes, ys, strict=False)}


def _hierarchy(pairs: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """Regulators above the nodes they drive: layers of the condensation's topological generations."""
    import networkx as nx

    g = build_graph(pairs)
    cond = nx.condensation(g)  # cycles (mutual regulation) share a layer
    layers = list(nx.topological_generations(cond))
    pos = {}
    for depth, layer in enumerate(layers):
        members = sorted(n for c in layer for n in cond.nodes[c]["members"])
        xs = np.linspace(-1, 1, len(members)) if len(members) > 1 else np.zeros(1)
        y = 1 - 2 * depth / max(1, len(layers) - 1)
        pos.update({n: (float(x), float(y)) for n, x in zip(members, xs, strict=True)})
    return pos


#: the hubs of :func:`_wheel` sit on a circle of radius 1; each one's own targets on a fan at most this far out,
#: and at most 0.8 of half the distance to the next hub (measured at the default overview, 10 hubs x 15
#: targets: the drawing is ~1,000 px across with every label placed; 0.7 or 0.9, or fans alternating
#: between two radii, need 1,090-1,490 px)
_FAN = 0.42
_SHARED_GAP = 0.11  # targets of several hubs keep this far apart (layout units) inside the circle


def _fan(targets: list[str], hub: np.ndarray, outward: float, radius: float) -> dict[str, tuple[float, float]]:
    """``targets`` (strongest first) around ``hub`` on arcs facing ``outward`` (an angle), strongest in the
    middle of each: arc ``k`` (from 0) at ``radius * (1 + k / 2)``, its nodes 25 degrees apart while they
    span at most 200 degrees, closer on a full arc: 9 on the first, 13 on the next (at the first arc's spacing)."""
    pos, i, k = {}, 0, 0
    while i < len(targets):
        grow = 1 + k / 2
        chunk = targets[i:i + int(200 / (25 / grow) + 1e-9) + 1]
        spread = np.radians(min(25 * (len(chunk) - 1), 200))
        # strongest in the middle, then alternately either side of it
        slots = sorted(range(len(chunk)), key=lambda j: abs(j - (len(chunk) - 1) / 2))
        for n, j in zip(chunk, slots, strict=True):
            a = outward + (spread * (j / (len(chunk) - 1) - 0.5) if len(chunk) > 1 else 0.0)
            pos[n] = (float(hub[0] + radius * grow * np.cos(a)), float(hub[1] + radius * grow * np.sin(a)))
        i, k = i + len(chunk), k + 1
    return pos


def _spread(points: dict[str, np.ndarray], fixed: np.ndarray, gap: float, rounds: int = 60) -> None:
    """Push ``points`` (in place) apart until no two, nor a point and a ``fixed`` one, are closer than ``gap``
    (or ``rounds`` passes are done): each close pair moves apart by half its overlap each, a fixed partner not
    at all; points at one spot part along golden-angle directions (deterministic). Close pairs come from a
    k-d tree (``scipy.spatial.cKDTree``), so a pass costs ``n log n``, not ``n^2``."""
    from scipy.spatial import cKDTree

    names = sorted(points)
    if not names:
        return
    xy = np.array([points[n] for n in names], dtype=float)
    still = np.asarray(fixed, dtype=float).reshape(-1, 2)
    golden = np.pi * (3 - np.sqrt(5)) * np.arange(len(xy))
    own = np.stack([np.cos(golden), np.sin(golden)], axis=1)  # each point's way out of a crowd at one spot
    for _ in range(rounds):
        every = np.vstack([xy, still])
        pairs = cKDTree(every).query_pairs(gap * (1 - 1e-12), output_type="ndarray")
        pairs = pairs[pairs[:, 0] < len(xy)]  # i < j: i is always a moving point
        if not len(pairs):
            break
        i, j = pairs[:, 0], pairs[:, 1]
        d = every[i] - every[j]
        dist = np.hypot(d[:, 0], d[:, 1])
        apart = dist > 1e-9
        unit = np.where(apart[:, None], d / np.maximum(dist, 1e-9)[:, None], own[i])
        step = ((gap - dist) / 2)[:, None]
        push = np.zeros_like(xy)
        np.add.at(push, i, step * unit)
        moving = j < len(xy)
        back = np.where(apart[moving, None], -unit[moving], own[np.minimum(j[moving], len(xy) - 1)])
        np.add.at(push, j[moving], step[moving] * back)
        xy += push
    points.update({n: p for n, p in zip(names, xy, strict=True)})


def _neighbours_in_turn(sets: dict[str, set[str]], hubs: list[str]) -> list[str]:
    """``hubs`` (strongest first) in an order round the circle that puts hubs sharing targets side by side: from
    the strongest, each next one the hub sharing the most targets (``sets``: each hub's) with the one before
    (ties: the stronger)."""
    chain, left = [hubs[0]], hubs[1:]
    while left:
        last = sets[chain[-1]]
        nearest = max(left, key=lambda h: len(sets[h] & last))  # max keeps the first (stronger) of ties
        chain.append(nearest)
        left.remove(nearest)
    return chain


def _wheel(pairs: pd.DataFrame, order: list[str]) -> dict[str, tuple[float, float]]:
    """Hub TFs on a circle (the strongest at the top, then clockwise each next the one sharing the most targets
    with the one before, :func:`_neighbours_in_turn`); each hub's own targets fanned out on its
    outer side, strongest in the middle; a target of several hubs inside the circle, near the mean of its hubs,
    pushed apart from the others. One hub: the hub in the middle, its targets on rings (concentric)."""
    sources = set(pairs["tf"].astype(str))
    hubs = [n for n in order if n in sources]
    if len(hubs) == 1:
        return {hubs[0]: (0.0, 0.0), **_rings([n for n in order if n != hubs[0]])}
    named = pairs.assign(tf=pairs["tf"].astype(str), gene=pairs["gene"].astype(str))
    hubs = _neighbours_in_turn({h: set(g) for h, g in named.groupby("tf")["gene"]}, hubs)
    angle = {h: np.pi / 2 - 2 * np.pi * i / len(hubs) for i, h in enumerate(hubs)}
    at = {h: np.array([np.cos(angle[h]), np.sin(angle[h])]) for h in hubs}
    regulators = named.groupby("gene")["tf"].unique()  # every source is a hub
    rank = {n: i for i, n in enumerate(order)}
    own: dict[str, list[str]] = {h: [] for h in hubs}
    shared: dict[str, np.ndarray] = {}
    for gene in sorted((g for g in regulators.index if g not in at), key=rank.get):
        mine = regulators[gene]
        if len(mine) == 1:
            own[mine[0]].append(gene)
        else:
            inside = 0.55 * np.mean([at[h] for h in mine], axis=0)
            shared[gene] = inside if np.hypot(*inside) > 0.05 else inside + np.array([0.08, 0.0])  # not the centre
    radius = min(_FAN, 0.8 * np.sin(np.pi / len(hubs)))  # neighbouring fans keep apart
    pos = {h: (float(at[h][0]), float(at[h][1])) for h in hubs}
    for h in hubs:
        pos.update(_fan(own[h], at[h], angle[h], radius))
    _spread(shared, np.array(list(pos.values())), _SHARED_GAP)
    pos.update({n: (float(p[0]), float(p[1])) for n, p in shared.items()})
    scale = max(np.abs(np.array(list(pos.values()))).max(), 1e-9)
    return {n: (x / scale, y / scale) for n, (x, y) in pos.items()}


def arranged_layout(pairs: pd.DataFrame, *, kind: str = "spring", centre: str | None = None,
                    seed: int = 0) -> dict[str, tuple[float, float]]:
    """Node positions in ``[-1, 1]^2`` for one of :data:`LAYOUTS`, deterministic.

    ``"wheel"``: hub TFs on a circle, each one's own targets fanned out beside it, targets of several
    hubs inside (:func:`_wheel`); ``"spring"``: :func:`layout`; ``"concentric"``: ``centre`` (a TF or
    gene) in the middle, its partners on rings, strongest first; ``"bipartite"``: TFs in a left column, target
    genes in a right one, each sorted by summed ``|mean_attr|``; ``"hierarchy"``: top-down,
    regulators above the nodes they drive (cycles share a layer).

    Examples
    --------
    >>> p = pd.DataFrame({"tf": ["A", "A", "B"], "gene": ["B", "G", "G"], "mean_attr": [1.0, -2.0, 0.5]})
    >>> arranged_layout(p, kind="hierarchy")["A"][1] > arranged_layout(p, kind="hierarchy")["G"][1]
    True
    >>> arranged_layout(p, kind="concentric", centre="G")["G"]
    (0.0, 0.0)
    """
    if kind not in LAYOUTS:
        msg = f"layout {kind!r} is not one of {LAYOUTS}."
        raise Cell2NetInputError(msg)
    if pairs.empty:
        return {}
    if kind == "spring":
        return layout(pairs, seed=seed)
    if kind == "hierarchy":
        return _hierarchy(pairs)
    strength = pd.concat([pairs[["tf", "mean_attr"]].rename(columns={"tf": "node"}),
                          pairs[["gene", "mean_attr"]].rename(columns={"gene": "node"})])
    strength = strength.assign(w=strength["mean_attr"].abs()).groupby("node")["w"].sum()
    order = sorted(strength.index.astype(str), key=lambda n: (-strength[n], n))
    if kind == "wheel":
        return _wheel(pairs, order)
    if kind == "concentric":
        centre = centre if centre in strength.index else order[0]
        return {centre: (0.0, 0.0), **_rings([n for n in order if n != centre])}
    tfs = set(pairs["tf"].astype(str))
    return {**_column([n for n in order if n not in tfs], 1.0), **_column([n for n in order if n in tfs], -1.0)}


def holds_every_tf(table: pd.DataFrame) -> bool:
    """Whether every gene and group holds a row for each of the gene's TFs (no value is missing),
    as in a table re-aggregated from ``<GENE>.npy`` with ``n_tfs=None``.

    Examples
    --------
    >>> t = pd.DataFrame({"tf": ["A", "B", "A"], "gene": "G", "ct": ["NK", "NK", "B"], "mean_attr": 1.0,
    ...                   "std_attr": 0.0})
    >>> holds_every_tf(t), holds_every_tf(t.iloc[:2])
    (False, True)
    """
    group = check_table(table)
    per = table.groupby(["gene", group], observed=True)["tf"].nunique()
    n_tfs = table.groupby("gene")["tf"].nunique()
    return bool((per.to_numpy() == n_tfs.reindex(per.index.get_level_values("gene")).to_numpy()).all())


def with_every_tf(table: pd.DataFrame, every: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """The table with the genes of ``every`` holding all their TFs, not only each group's top TFs.

    Parameters
    ----------
    table
        The stored ``tf_to_gene`` table (top-n TFs per gene and group).
    every
        Per-gene tables re-aggregated from ``<GENE>.npy`` with ``n_tfs=None`` (every TF's mean and std
        over all metacells of each group), grouped by the table's grouping column.

    Returns
    -------
    The table's columns; rows of the genes in ``every`` replaced by theirs. Columns the stored table
    has and they lack (q-values, motifs, known, ...) are carried over from the stored row of the same
    TF, gene and group, and are missing (NaN) for TFs outside that group's stored top list.

    Examples
    --------
    >>> stored = pd.DataFrame({"tf": ["A", "B"], "gene": ["G", "H"], "ct": "NK", "mean_attr": [2.0, 1.0],
    ...                        "std_attr": 0.1, "q_value": [0.01, 0.02]})
    >>> npy = pd.DataFrame({"tf": ["A", "C"], "gene": "G", "ct": "NK", "mean_attr": [2.0, -0.5], "std_attr": 0.1})
    >>> with_every_tf(stored, [npy])[["tf", "gene", "mean_attr", "q_value"]].to_dict("list")
    {'tf': ['B', 'A', 'C'], 'gene': ['H', 'G', 'G'], 'mean_attr': [1.0, 2.0, -0.5], 'q_value': [0.02, 0.01, nan]}
    """
    group = check_table(table)
    every = [t for t in every if len(t)]
    if not every:
        return table
    full = pd.concat(every, ignore_index=True)
    if check_table(full) != group:
        msg = f"Every-TF tables are grouped by {check_table(full)!r}, the stored table by {group!r}."
        raise Cell2NetInputError(msg)
    full = full.astype({"tf": str, "gene": str, group: str})
    genes = set(full["gene"])
    stored = table[table["gene"].astype(str).isin(genes)]
    keys = ["tf", "gene", group]
    extra = [c for c in table.columns if c not in full.columns]
    if extra:
        carried = stored[keys + extra].astype({"tf": str, "gene": str, group: str})
        full = full.merge(carried.drop_duplicates(keys), on=keys, how="left")
    kept = table[~table["gene"].astype(str).isin(genes)]
    full = full.reindex(columns=table.columns)
    return pd.concat([kept, full], ignore_index=True) if len(kept) else full.reset_index(drop=True)


def describe_weights(table: pd.DataFrame, *, every_genes: Sequence[str]) -> str:
    """Where a network's edge weights come from: ``<GENE>.npy`` (every TF) or the stored top-n table.

    Examples
    --------
    >>> t = pd.DataFrame({"tf": ["A", "B"], "gene": ["G", "H"], "ct": "NK", "mean_attr": 1.0, "std_attr": 0.0})
    >>> describe_weights(t, every_genes=["G"])
    "Edge weights of 1 of 2 genes from their <GENE>.npy: every TF's mean over all metacells of each ct; \
of 1 gene from the stored table's top TFs per group (a TF outside a group's top list has no edge there)."
    """
    group = check_table(table)
    every = {str(g) for g in every_genes}
    genes = set(table["gene"].astype(str)) if every else set()  # 154,160 rows: only when needed
    n_npy = len(genes & every)
    n_stored = len(genes) - n_npy
    if n_npy == 0:
        return (f"Edge weights from the stored table: each gene's top TFs per {group} (a TF outside a group's "
                "top list has no edge there; no <GENE>.npy with its dataset gives every TF).")
    text = (f"Edge weights of {n_npy:,} of {len(genes):,} genes from their <GENE>.npy: every TF's mean over "
            f"all metacells of each {group}")
    if n_stored:
        text += (f"; of {n_stored:,} gene{'s' if n_stored != 1 else ''} from the stored table's top TFs per group "
                 "(a TF outside a group's top list has no edge there)")
    return text + "."
