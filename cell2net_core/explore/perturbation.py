"""Figures of an in-silico perturbation (:func:`cell2net_core.perturb.perturb`): bars and a network.

Colours follow the rest of the app: up (log2 fold change > 0) red, down blue.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from ..errors import Cell2NetInputError

__all__ = ["change_bars", "change_edges", "change_network", "pick"]

_DIVERGING = "RdBu_r"
_PERTURBED = "#222222"


def pick(table: pd.DataFrame, *, tf: str, rnd: int | None = None) -> pd.DataFrame:
    """Rows of one perturbed TF at one round (default: the last).

    Examples
    --------
    >>> t = pd.DataFrame({"tf": ["A", "A"], "gene": ["G", "G"], "round": [1, 2], "log2fc": [0.5, 0.7]})
    >>> pick(t, tf="A")["log2fc"].tolist()
    [0.7]
    """
    rows = table[table["tf"] == tf]
    if rows.empty:
        msg = f"TF {tf!r} has no rows in the perturbation table (perturbed: {sorted(table['tf'].unique())})."
        raise Cell2NetInputError(msg)
    rnd = int(rows["round"].max()) if rnd is None else rnd
    return rows[rows["round"] == rnd]


def _hover(rows: pd.DataFrame, groupby: str) -> list[str]:
    return [
        f"<b>{g}</b> ({c})<br>log2FC: {f:.3g}<br>mean predicted before: {b:.4g}<br>after: {a:.4g}"
        f"<br>metacells: {n}{'<br>beyond the data range' if x else ''}"
        for g, c, f, b, a, n, x in zip(rows["gene"], rows[groupby], rows["log2fc"], rows["mean_before"],
                                       rows["mean_after"], rows["n_metacells"], rows["beyond_training_max"],
                                       strict=True)
    ]  # fmt: skip


def change_bars(table: pd.DataFrame, *, tf: str, groupby: str, rnd: int | None = None, top: int = 30) -> go.Figure:
    """Horizontal bars of each target's log2 fold change, one colour per group.

    The ``top`` genes with the largest ``|log2fc|`` in any group; genes whose prediction did not
    move at all (no input changed) are left out and counted in the title.

    Parameters
    ----------
    table
        ``Perturbation.table``.
    tf
        The perturbed TF to draw.
    groupby
        The table's group column.
    rnd
        Round to draw (default: the last).
    top
        Genes shown at most.

    Examples
    --------
    >>> t = pd.DataFrame({"tf": "A", "gene": ["G1", "G2"], "g": "NK", "mean_before": 2.0, "mean_after": [1.0, 2.0],
    ...                   "log2fc": [-1.0, 0.0], "round": 1, "n_metacells": 5, "beyond_training_max": False})
    >>> change_bars(t, tf="A", groupby="g").data[0].y.tolist()
    ['G1']
    """
    rows = pick(table, tf=tf, rnd=rnd)
    strength = rows.groupby("gene")["log2fc"].agg(lambda v: float(np.abs(v).max()))
    moved = strength[strength > 0].sort_values(ascending=True, kind="stable")
    shown = moved.index[-top:]
    fig = go.Figure()
    palette = px.colors.qualitative.Safe + px.colors.qualitative.Pastel
    for i, (group, part) in enumerate(rows[rows["gene"].isin(shown)].groupby(groupby, sort=True)):
        part = part.set_index("gene").reindex([g for g in shown if g in set(part["gene"])]).reset_index()
        fig.add_trace(go.Bar(x=part["log2fc"], y=part["gene"], orientation="h", name=str(group),
                             marker_color=palette[i % len(palette)], hovertext=_hover(part, groupby),
                             hoverinfo="text"))  # fmt: skip
    unchanged = rows["gene"].nunique() - len(moved)
    round_ = int(rows["round"].iloc[0]) if len(rows) else 1
    fig.update_layout(
        barmode="group", height=max(350, 14 * len(shown) * max(1, rows[groupby].nunique()) // 2 + 150),
        title=f"Predicted log2 fold change of targets after perturbing {tf} (round {round_}; "
        f"{len(shown)} of {len(moved)} moved genes shown, {unchanged} unchanged)",
        xaxis_title="log2(mean predicted after / before)", yaxis_title="target gene",
        legend={"title": groupby}, margin={"l": 10, "r": 10, "t": 60, "b": 10},
    )
    fig.add_vline(x=0, line_width=1, line_color="grey")
    return fig


def change_edges(table: pd.DataFrame, *, tf: str, group: str, groupby: str, rnd: int | None = None) -> pd.DataFrame:
    """Edges input TF -> gene along which the perturbation moved each gene, with the gene's log2FC in ``group``.

    An edge joins every TF input that moved (``changed_inputs``) to the gene; columns ``tf, gene,
    mean_attr`` (the gene's log2 fold change, named so the network layout reads it).

    Examples
    --------
    >>> t = pd.DataFrame({"tf": "A", "gene": ["G1", "G2"], "g": "NK", "log2fc": [-1.0, 0.0], "round": 1,
    ...                   "changed_inputs": ["A", ""]})
    >>> change_edges(t, tf="A", group="NK", groupby="g").values.tolist()
    [['A', 'G1', -1.0]]
    """
    rows = pick(table, tf=tf, rnd=rnd)
    rows = rows[(rows[groupby].astype(str) == str(group)) & (rows["changed_inputs"].fillna("") != "")]
    edges = [(src, g, f) for g, f, ins in zip(rows["gene"], rows["log2fc"], rows["changed_inputs"], strict=True)
             for src in str(ins).split(",")]  # fmt: skip
    return pd.DataFrame(edges, columns=["tf", "gene", "mean_attr"])


def change_network(
    edges: pd.DataFrame, pos: dict[str, tuple[float, float]], *, tf: str, changes: dict[str, float], title: str
) -> go.Figure:
    """The perturbed TF and the genes it moved, each gene coloured by its predicted log2 fold change.

    Parameters
    ----------
    edges
        :func:`change_edges` rows.
    pos
        Node positions (:func:`~cell2net_core.explore.network.layout` of ``edges``).
    tf
        The perturbed TF (drawn black).
    changes
        log2 fold change of every gene node.
    title
        Figure title.

    Examples
    --------
    >>> e = pd.DataFrame({"tf": ["A"], "gene": ["G1"], "mean_attr": [-1.0]})
    >>> fig = change_network(e, {"A": (0, 0), "G1": (1, 1)}, tf="A", changes={"G1": -1.0}, title="t")
    >>> fig.data[-1].marker.cmid
    0.0
    """
    xs, ys = [], []
    for s, g in zip(edges["tf"], edges["gene"], strict=True):
        xs += [pos[s][0], pos[g][0], None]
        ys += [pos[s][1], pos[g][1], None]
    fig = go.Figure(go.Scatter(x=xs, y=ys, mode="lines", line={"color": "#bbbbbb", "width": 1}, hoverinfo="skip",
                               showlegend=False))  # fmt: skip
    fig.add_trace(go.Scatter(x=[pos[tf][0]], y=[pos[tf][1]], mode="markers+text", text=[tf], name=f"{tf} (perturbed)",
                             textposition="top center", marker={"symbol": "diamond", "size": 18,
                             "color": _PERTURBED}))  # fmt: skip
    nodes = sorted(n for n in pos if n != tf)
    values = [float(changes.get(n, np.nan)) for n in nodes]
    zmax = float(np.nanmax(np.abs(values))) if nodes and not np.isnan(values).all() else 1.0
    fig.add_trace(
        go.Scatter(
            x=[pos[n][0] for n in nodes], y=[pos[n][1] for n in nodes], mode="markers+text", text=nodes,
            textposition="top center", name="target (colour: log2FC)", customdata=nodes,
            hovertext=[f"<b>{n}</b><br>log2FC: {v:.3g}" for n, v in zip(nodes, values, strict=True)],
            hoverinfo="text",
            marker={"size": 14, "color": values, "colorscale": _DIVERGING, "cmid": 0.0, "cmin": -(zmax or 1.0),
                    "cmax": zmax or 1.0, "line": {"width": 0.5, "color": "black"},
                    "colorbar": {"title": "log2FC"}},
        )
    )  # fmt: skip
    fig.update_layout(title=title, height=600, xaxis={"visible": False}, yaxis={"visible": False},
                      legend={"orientation": "h", "y": -0.02, "yanchor": "top"},
                      margin={"l": 10, "r": 10, "t": 50, "b": 10})  # fmt: skip
    return fig
