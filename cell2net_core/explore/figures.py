"""Plotly figures of TF attributions and networks (built here, shown by the app).

Colours: activation (mean > 0) red, repression (mean < 0) blue, as in the heatmaps'
diverging scale centred on 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..errors import Cell2NetInputError
from .labels import LABEL_FONT, fit_radial, label_box, marker_boxes, outward_order, place_labels, set_aside, text_width
from .network import check_table, node_kinds

__all__ = [
    "POSITIVE",
    "NEGATIVE",
    "image_config",
    "tf_bars",
    "tf_heatmap",
    "network_figure",
    "radial_text_positions",
    "label_note",
    "CENTRE_REACH",
    "MARKER_REACH",
    "MAX_LABELS",
    "RADIAL_MAX_PX",
    "LABEL_PX",
    "HUB_LABEL_PX",
    "HUB_WIDTHS",
    "compare_bars",
    "activity_heatmap",
    "VALUE_TITLE",
    "missing_note",
    "dot_plot",
    "tf_violin",
    "WHISKERS",
    "has_ci",
]

POSITIVE = "#c0392b"
NEGATIVE = "#2166ac"
_TF_COLOUR = "#e67e22"
_GENE_COLOUR = "#16a085"
_BOTH_COLOUR = "#8e44ad"
_DIVERGING = "RdBu_r"


def image_config(filename: str, *, fmt: str = "png") -> dict:
    """``st.plotly_chart`` config whose modebar camera button saves ``filename.<fmt>`` (png or svg).

    Examples
    --------
    >>> image_config("MS4A1_bars", fmt="svg")["toImageButtonOptions"]["format"]
    'svg'
    """
    if fmt not in ("png", "svg"):
        msg = f"image format {fmt!r} is not 'png' or 'svg'."
        raise Cell2NetInputError(msg)
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in filename) or "figure"
    return {"displaylogo": False, "toImageButtonOptions": {"format": fmt, "filename": safe, "scale": 2}}


#: What each evidence number is, as the hovers and docs/evidence.md say it.
CI_NOTE = "95% CI: bootstrap of the mean over the group's metacells (1,000 resamples, seed 0)"
P_NOTE = "p: two-sided one-sample t-test of mean != 0 over the metacells"
Q_NOTE = "q: Benjamini-Hochberg over the table's rows"
WHISKERS = ("ci", "std")


def _num(value: object) -> str:
    return "n/a" if value is None or pd.isna(value) else f"{float(value):.3g}"


def _evidence_lines(df: pd.DataFrame) -> list[str]:
    """Per row: its CI, p and q (named with their method), motif and known status, when the table has them."""
    lines = ["" for _ in range(len(df))]
    col = {c: (df[c] if c in df.columns else pd.Series(pd.NA, index=df.index)) for c in
           ("ci_low", "ci_high", "p_value", "q_value", "motif_id", "motif_sites", "known")}
    for i, (lo, hi, p, q, mid, sites, known) in enumerate(zip(*col.values(), strict=True)):
        text = ""
        if "ci_low" in df.columns:
            text += f"<br>{CI_NOTE}: [{_num(lo)}, {_num(hi)}]"
        if "p_value" in df.columns:
            text += f"<br>{P_NOTE}: {_num(p)}"
        if "q_value" in df.columns:
            text += f"<br>{Q_NOTE}: {_num(q)}"
        if "motif_id" in df.columns:
            text += f"<br>JASPAR motif: {mid} ({_num(sites)} sites)" if isinstance(mid, str) and mid else \
                "<br>JASPAR motif: none for this TF"
        if "known" in df.columns and not pd.isna(known):
            text += f"<br>in the reference: {'yes' if known else 'no'}"
        lines[i] = text
    return lines


def _hover(df: pd.DataFrame, group: str) -> list[str]:
    n = df["n_metacells"] if "n_metacells" in df.columns else pd.Series(pd.NA, index=df.index)
    return [
        f"<b>{t}</b> -> {g}<br>{group}: {c}<br>mean: {m:.4g}<br>std: {s:.4g}"
        f"<br>metacells: {'n/a' if pd.isna(k) else int(k)}{ev}"
        for t, g, c, m, s, k, ev in zip(df["tf"], df["gene"], df[group], df["mean_attr"], df["std_attr"], n,
                                        _evidence_lines(df), strict=True)
    ]


def has_ci(table: pd.DataFrame) -> bool:
    """Whether the table holds bootstrap intervals (``ci_low``, ``ci_high`` with a value somewhere).

    Examples
    --------
    >>> has_ci(pd.DataFrame({"ci_low": [None], "ci_high": [None]})), has_ci(pd.DataFrame({"mean_attr": [1.0]}))
    (False, False)
    """
    return {"ci_low", "ci_high"} <= set(table.columns) and bool(table["ci_low"].notna().any())


def _whiskers(part: pd.DataFrame, kind: str) -> dict:
    """``error_x`` of one panel: CI bounds (asymmetric) or +/- std; a missing bound draws no whisker."""
    mean = part["mean_attr"].to_numpy(dtype=float)
    if kind == "ci":
        up = part["ci_high"].to_numpy(dtype=float) - mean
        down = mean - part["ci_low"].to_numpy(dtype=float)
        return {"type": "data", "symmetric": False, "array": [None if np.isnan(v) else v for v in up],
                "arrayminus": [None if np.isnan(v) else v for v in down], "thickness": 1}
    return {"type": "data", "array": part["std_attr"].tolist(), "thickness": 1}


def _gene_rows(table: pd.DataFrame, gene: str) -> tuple[pd.DataFrame, str]:
    group = check_table(table)
    rows = table[table["gene"] == gene]
    if rows.empty:
        msg = f"Gene {gene!r} has no rows in the table."
        raise Cell2NetInputError(msg)
    return rows.assign(**{group: rows[group].astype(str)}), group


VALUE_TITLE = "mean Integrated-Gradients attribution to the predicted log expression"
MISSING = "#d0d0d0"  # grey: a value the table does not hold (TF outside that group's top TFs)


def missing_note(table: pd.DataFrame) -> str:
    """Hover text of a missing cell, e.g. ``"not in this group's top 10"`` (from the rows per gene and group).

    Examples
    --------
    >>> missing_note(pd.DataFrame({"tf": ["A", "B"], "gene": "G", "ct": "NK", "mean_attr": 1.0, "std_attr": 0.0}))
    "not in this group's top 2"
    """
    group = check_table(table)
    n = int(table.groupby(["gene", group], observed=True).size().max()) if len(table) else 0
    return f"not in this group's top {n}"


def _shared_range(rows: pd.DataFrame, kind: str = "std") -> list[float]:
    if kind == "ci":
        low, high = rows["ci_low"].fillna(rows["mean_attr"]), rows["ci_high"].fillna(rows["mean_attr"])
    else:
        low, high = rows["mean_attr"] - rows["std_attr"], rows["mean_attr"] + rows["std_attr"]
    lo = float(np.nanmin(np.r_[low.to_numpy(dtype=float), 0.0]))
    hi = float(np.nanmax(np.r_[high.to_numpy(dtype=float), 0.0]))
    pad = 0.05 * (hi - lo or 1.0)
    return [lo - pad, hi + pad]


def tf_bars(table: pd.DataFrame, gene: str, *, grouped: bool = False, shared_axis: bool = True,
            same_order: bool = False, whiskers: str = "ci") -> go.Figure:
    """Top TFs of a gene per group as horizontal bars with whiskers, coloured by sign.

    Parameters
    ----------
    table
        A ``tf_to_gene`` table holding the gene's rows.
    gene
        The target gene.
    grouped
        ``False``: one panel per group; ``True``: one compact TF x group dot plot (:func:`dot_plot`).
    shared_axis
        One value axis (same range, zoomed together) across the panels, so weak and strong
        groups compare at a glance; ``False`` gives each panel its own range.
    same_order
        Order TFs the same way in every panel (by their largest ``|mean|`` over groups)
        rather than by the panel's own values.
    whiskers
        ``"ci"``: the 95% bootstrap interval ``ci_low..ci_high`` when the table holds it (else std,
        and the title says so); ``"std"``: mean +/- std. The hover names the interval, p and q and their tests.

    Examples
    --------
    >>> from cell2net_core.testing import random_table
    >>> t = random_table(n_genes=1, n_tfs=4, top=3).assign(ci_low=-1.0, ci_high=2.0)
    >>> fig = tf_bars(t, "GENE0")
    >>> fig.data[0].error_x.symmetric, "whiskers: 95% bootstrap CI" in fig.layout.title.text
    (False, True)
    >>> "whiskers: std" in tf_bars(t.drop(columns=["ci_low", "ci_high"]), "GENE0").layout.title.text
    True
    """
    if whiskers not in WHISKERS:
        msg = f"whiskers {whiskers!r} is not one of {WHISKERS}."
        raise Cell2NetInputError(msg)
    rows, group = _gene_rows(table, gene)
    kind = "ci" if whiskers == "ci" and has_ci(rows) else "std"
    if grouped:
        colour = rows.pivot_table(index="tf", columns=group, values="mean_attr", aggfunc="first")
        return dot_plot(colour, title=f"TFs of {gene} per {group} (colour: mean attribution; grey x: "
                        f"{missing_note(table)})", missing=missing_note(table))
    groups = sorted(rows[group].unique())
    strength = rows.groupby("tf")["mean_attr"].apply(lambda m: m.abs().max())
    rows = rows.assign(_colour=np.where(rows["mean_attr"] >= 0, POSITIVE, NEGATIVE), _hover=_hover(rows, group),
                       _global=rows["tf"].map(strength))
    ncols = min(4, len(groups))
    nrows = math.ceil(len(groups) / ncols)
    fig = make_subplots(rows=nrows, cols=ncols, subplot_titles=groups, horizontal_spacing=0.12, vertical_spacing=0.12)
    for i, g in enumerate(groups):
        part = rows[rows[group] == g].sort_values("_global" if same_order else "mean_attr", kind="stable")
        fig.add_trace(
            go.Bar(
                x=part["mean_attr"], y=part["tf"], orientation="h",
                error_x=_whiskers(part, kind),
                marker_color=part["_colour"].tolist(), hovertext=part["_hover"].tolist(), hoverinfo="text",
                showlegend=False,
            ),
            row=i // ncols + 1, col=i % ncols + 1,
        )
    if shared_axis:
        fig.update_xaxes(range=_shared_range(rows, kind), matches="x")
    if ncols == 1:
        fig.update_xaxes(title_text=VALUE_TITLE, title_font={"size": 10}, row=nrows)
    else:  # once, centred under the panels: one title per bottom panel would run into its neighbours
        fig.add_annotation(text=VALUE_TITLE, xref="paper", yref="paper", x=0.5, y=0, yshift=-34, showarrow=False,
                           xanchor="center", yanchor="top", font={"size": 11})  # fmt: skip
    fig.update_layout(height=max(350, 300 * nrows))
    for name, colour in (("activation (mean > 0)", POSITIVE), ("repression (mean < 0)", NEGATIVE)):
        fig.add_trace(go.Bar(x=[None], y=[None], marker_color=colour, name=name, showlegend=True))
    axis = "one shared value axis" if shared_axis else "each panel its own value axis"
    what = {"ci": "95% bootstrap CI of the mean",
            "std": "std" + (" (the table holds no CI)" if whiskers == "ci" else "")}[kind]
    fig.update_layout(
        title=f"Top TFs of {gene} per {group} (bars: mean attribution, whiskers: {what}; {axis})",
        legend={"orientation": "h", "yref": "container", "y": 0, "yanchor": "bottom"},
        margin={"l": 10, "r": 10, "t": 70, "b": 90},
    )
    return fig


def tf_heatmap(table: pd.DataFrame, gene: str) -> go.Figure:
    """TF x group heatmap of one gene's mean attribution; grey: TF not in that group's top TFs (never 0).

    Examples
    --------
    >>> fig = tf_heatmap(table, "MS4A1")  # doctest: +SKIP
    """
    rows, group = _gene_rows(table, gene)
    note = missing_note(table)
    rows = rows.assign(_hover=_hover(rows, group))
    mean = rows.pivot_table(index="tf", columns=group, values="mean_attr", aggfunc="first")
    hover = rows.pivot_table(index="tf", columns=group, values="_hover", aggfunc="first").reindex_like(mean)
    order = mean.abs().max(axis=1).sort_values(kind="stable").index
    mean, hover = mean.loc[order], hover.loc[order]
    zmax = float(np.nanmax(np.abs(mean.to_numpy()))) or 1.0
    n_missing = int(mean.isna().to_numpy().sum())
    fig = go.Figure(
        go.Heatmap(
            z=mean.to_numpy(), x=[str(c) for c in mean.columns], y=mean.index.tolist(),
            text=hover.fillna(note).to_numpy(), hoverinfo="text", hoverongaps=True,
            colorscale=_DIVERGING, zmid=0, zmin=-zmax, zmax=zmax, colorbar={"title": "mean attr"},
        )
    )
    missing = f"; grey: {note} ({n_missing} cells)" if n_missing else "; every TF known in every group"
    fig.update_layout(
        title=f"Mean attribution of TFs to {gene} per {group}{missing}", height=max(350, 18 * len(mean) + 150),
        xaxis_title=group, yaxis_title="TF", margin={"l": 10, "r": 10, "t": 60, "b": 10}, plot_bgcolor=MISSING,
    )
    return fig


def _dot_sizes(values: np.ndarray) -> np.ndarray:
    top = np.nanmax(np.abs(values)) if np.isfinite(values).any() else 1.0
    return 6 + 18 * np.sqrt(np.nan_to_num(np.abs(values) / (top or 1.0)))


def dot_plot(colour: pd.DataFrame, *, size: pd.DataFrame | None = None, title: str = "",
             colour_title: str = "mean attr", size_title: str = "|mean attr|", missing: str = "missing",
             scaled: bool = False) -> go.Figure:
    """TF x group dot plot: colour = value (diverging around 0), size = ``size`` (else ``|colour|``).

    Rows and columns are drawn in the frames' order (cluster them first with
    :func:`~cell2net_core.explore.compare.cluster_order`). A missing colour value is a grey
    ``x`` whose hover says ``missing``; points carry their TF in ``customdata`` (click to open).

    Examples
    --------
    >>> m = pd.DataFrame({"NK": [1.0, None], "B": [-0.5, 2.0]}, index=["T1", "T2"])
    >>> fig = dot_plot(m, missing="not in this group's top 10")
    >>> fig.data[1].hovertext[0]
    "T2 in NK: not in this group's top 10"
    """
    long = colour.stack(future_stack=True).rename("value").reset_index()
    long.columns = ["tf", "group", "value"]
    sizes = long["value"] if size is None else size.reindex_like(colour).stack(future_stack=True).to_numpy()
    long["size"] = np.asarray(sizes, dtype=float)
    known, absent = long[long["value"].notna()], long[long["value"].isna()]
    zmax = float(np.nanmax(np.abs(known["value"]))) if len(known) else 1.0
    hover = [f"<b>{t}</b> in {g}<br>{colour_title}: {v:.4g}<br>{size_title}: {z:.3g}"
             for t, g, v, z in zip(known["tf"], known["group"], known["value"], known["size"], strict=True)]
    fig = go.Figure(go.Scatter(
        x=known["group"].astype(str), y=known["tf"].astype(str), mode="markers", customdata=known["tf"].astype(str),
        marker={"size": _dot_sizes(known["size"].to_numpy()).tolist(), "color": known["value"].tolist(),
                "colorscale": _DIVERGING, "cmid": 0, "cmin": -zmax or -1, "cmax": zmax or 1,
                "colorbar": {"title": colour_title + (" (row-scaled)" if scaled else "")},
                "line": {"width": 0.5, "color": "#555"}},
        hovertext=hover, hoverinfo="text", name=f"colour: {colour_title}; size: {size_title}", showlegend=True,
    ))
    fig.add_trace(go.Scatter(
        x=absent["group"].astype(str), y=absent["tf"].astype(str), mode="markers", name=f"grey x: {missing}",
        customdata=absent["tf"].astype(str), marker={"symbol": "x-thin", "size": 7, "color": MISSING,
                                                     "line": {"width": 1.5, "color": "#999"}},
        hovertext=[f"{t} in {g}: {missing}" for t, g in zip(absent["tf"], absent["group"], strict=True)],
        hoverinfo="text", showlegend=bool(len(absent)),
    ))
    fig.update_layout(
        title=title, height=max(350, 20 * len(colour) + 170), margin={"l": 10, "r": 10, "t": 60, "b": 10},
        xaxis={"categoryorder": "array", "categoryarray": [str(c) for c in colour.columns],
               "title": colour.columns.name},
        yaxis={"categoryorder": "array", "categoryarray": [str(i) for i in colour.index][::-1], "title": "TF"},
        legend={"orientation": "h", "y": -0.05, "yanchor": "top"}, plot_bgcolor="white",
    )
    return fig


def _width_bins(values: np.ndarray, n: int = 4) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """Bin ``|mean|`` into ``n`` quantile bins; returns bin index per value and bin ranges."""
    edges = np.unique(np.quantile(values, np.linspace(0, 1, n + 1)))
    if len(edges) < 2:
        edges = np.array([values.min(), values.max() + 1e-12])
    idx = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, len(edges) - 2)
    return idx, [(float(edges[i]), float(edges[i + 1])) for i in range(len(edges) - 1)]


def _segments(
    tf: np.ndarray, gene: np.ndarray, pos: dict[str, tuple[float, float]]
) -> tuple[list[float | None], list[float | None]]:
    """x and y of TF -> gene line segments, separated by ``None`` gaps, for one line trace."""
    xs, ys = [], []
    for t, g in zip(tf, gene, strict=True):
        xs += [pos[t][0], pos[g][0], None]
        ys += [pos[t][1], pos[g][1], None]
    return xs, ys


def _edge_traces(
    tf: np.ndarray, gene: np.ndarray, mean: np.ndarray, near: np.ndarray, pos: dict[str, tuple[float, float]],
    trace: type = go.Scattergl,
) -> list[go.Scattergl]:
    """Edge line traces per sign, ``|mean|`` width bin and fading; each sign and bin is named once in the legend."""
    bins, ranges = _width_bins(np.abs(mean))
    widths = np.linspace(0.6, 4.5, len(ranges))
    traces: list[go.Scattergl] = []
    shown: set[str] = set()
    for positive, colour, label in ((True, POSITIVE, "activation"), (False, NEGATIVE, "repression")):
        for b, (lo, hi) in enumerate(ranges):
            for faded in (False, True):
                sel = ((mean >= 0) == positive) & (bins == b) & (near != faded)
                if not sel.any():
                    continue
                xs, ys = _segments(tf[sel], gene[sel], pos)
                traces.append(
                    trace(
                        x=xs, y=ys, mode="lines", hoverinfo="skip", opacity=0.12 if faded else 0.75,
                        line={"color": colour, "width": float(widths[b])},
                        name=f"{label}, |mean| {lo:.2g}-{hi:.2g}", legendgroup=f"{label}{b}",
                        showlegend=f"{label}{b}" not in shown,
                    )
                )
                shown.add(f"{label}{b}")
    return traces


def _edge_info_trace(
    pairs: pd.DataFrame, tf: np.ndarray, gene: np.ndarray, mean: np.ndarray, pos: dict[str, tuple[float, float]],
    trace: type = go.Scattergl,
) -> go.Scattergl:
    """Hover points at edge midpoints naming the edge, its mean and its group; ``mode="none"``: hoverable
    but nothing drawn, so 2,000 edges add no element to move on every pan and zoom."""
    mid_x = [(pos[t][0] + pos[g][0]) / 2 for t, g in zip(tf, gene, strict=True)]
    mid_y = [(pos[t][1] + pos[g][1]) / 2 for t, g in zip(tf, gene, strict=True)]
    groups = pairs["group"].astype(str).to_numpy() if "group" in pairs.columns else np.full(len(tf), "")
    return trace(
        x=mid_x, y=mid_y, mode="none", name="edge info",
        hovertext=[f"<b>{t} -> {g}</b><br>strongest in {c}: mean attribution {m:.4g}"
                   for t, g, m, c in zip(tf, gene, mean, groups, strict=True)],
        hoverinfo="text", showlegend=False,
    )


#: Edge lines and markers are SVG (``scatter``) up to this many drawn edges (the page's default cap), WebGL
#: (``scattergl``) above: a WebGL context costs more to start than 2,000 edges take to draw in SVG, and pan
#: and zoom were no faster with it (``python -m benchmarks.network_interact``, docs/app.md).
SVG_MAX_EDGES = 2000
KNOWN_COLOUR = "#f1c40f"
MOTIF_COLOUR = "#2c3e50"


def _known_traces(tf: np.ndarray, gene: np.ndarray, pairs: pd.DataFrame,
                  pos: dict[str, tuple[float, float]], trace: type = go.Scattergl) -> list[go.Scattergl]:
    """Known edges (``known`` true): a gold halo, drawn under the edge lines and named in the legend."""
    if "known" not in pairs.columns:
        return []
    known = pairs["known"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    xs, ys = _segments(tf[known], gene[known], pos)
    return [trace(x=xs, y=ys, mode="lines", hoverinfo="skip", opacity=0.45,
                   line={"color": KNOWN_COLOUR, "width": 9},
                   name=f"known: in the reference (gold halo; {int(known.sum())} edges)")]


def _motif_traces(tf: np.ndarray, gene: np.ndarray, pairs: pd.DataFrame,
                  pos: dict[str, tuple[float, float]], trace: type = go.Scattergl) -> list[go.Scattergl]:
    """Motif-supported edges (``motif_sites > 0``): a triangle at the edge's middle, named in the legend."""
    if "motif_sites" not in pairs.columns:
        return []
    sel = np.flatnonzero((pd.to_numeric(pairs["motif_sites"], errors="coerce") > 0).fillna(False).to_numpy(bool))
    ids = pairs["motif_id"].astype(str).to_numpy() if "motif_id" in pairs.columns else np.full(len(tf), "")
    mid = [((pos[tf[i]][0] + pos[gene[i]][0]) / 2, (pos[tf[i]][1] + pos[gene[i]][1]) / 2) for i in sel]
    return [trace(
        x=[m[0] for m in mid], y=[m[1] for m in mid], mode="markers",
        marker={"symbol": "triangle-up", "size": 8, "color": MOTIF_COLOUR}, hoverinfo="text",
        hovertext=[f"{tf[i]} -> {gene[i]}: JASPAR {ids[i]} site(s) in the gene's linked peaks" for i in sel],
        name=f"motif support: the TF's JASPAR site in the gene's peaks (triangle; {len(sel)} edges)",
    )]


MAX_LABELS = 200  # drawings to scale: every node is labelled up to this many nodes; above it, those with room
#: other layouts: up to this many nodes every label is placed (beside its node, else set aside, else left out
#: and counted); above, the best-connected ones (a wheel overview of 10 hubs x 15 targets has up to 160 nodes)
FLAT_LABELS = 200
_HUB_LABELS = 30
#: concentric layouts of up to this many nodes label every node that finds room; above, the best-connected
RADIAL_ALL = 400
#: a concentric drawing of more than :data:`MAX_LABELS` nodes is at most this many px across (labels without
#: room are left out and the figure says how many); up to :data:`MAX_LABELS` it grows until every label fits
RADIAL_MAX_PX = 900
_RADIAL_MIN_PX = 560
LABEL_PX = 10  # labels of concentric layouts and of graphs up to 60 nodes
HUB_LABEL_PX = 11  # the few labels of a graph above MAX_LABELS nodes (its hubs and searched nodes)
#: chart widths (px) at which a large graph's hub labels are placed clear of each other (the figure is 700 px tall)
HUB_WIDTHS = (700, 1000, 1400)
_HEIGHT = 700
_SIDE = 10  # left and right margins (px)
#: radial layouts: the centre's marker reaches at most this share of the way to the innermost ring
CENTRE_REACH = 0.25
#: how far a plotly marker of size ``s`` reaches from its centre, in units of ``s / 2``
MARKER_REACH = {"circle": 1.0, "diamond": 1.3, "square": 1.42}
_NODE_STYLES = (
    ("TF", "diamond", _TF_COLOUR, "TF"),
    ("gene", "circle", _GENE_COLOUR, "target gene"),
    ("TF+gene", "square", _BOTH_COLOUR, "TF that is also a target"),
)
_SYMBOL = {kind: symbol for kind, symbol, _, _ in _NODE_STYLES}
_TF_KINDS = ("TF", "TF+gene")  # their labels are bold
_NO_ROOM = "label left out: no free spot beside the node or near it (search the node to outline it)"


def radial_text_positions(pos: dict[str, tuple[float, float]], nodes: list[str]) -> list[str]:
    """Plotly ``textposition`` of each node's label pointing away from the origin (a concentric
    layout's centre): right or left of nodes at the sides, above or below nodes at the top or bottom.
    The first choice of :func:`network_figure`'s placement, which takes the next free position
    (:func:`~cell2net_core.explore.labels.outward_order`) where a label would overlap another.

    Examples
    --------
    >>> radial_text_positions({"c": (0.0, 0.0), "r": (1.0, 0.1), "l": (-1.0, 0.0), "b": (0.1, -1.0)}, list("crlb"))
    ['top center', 'middle right', 'middle left', 'bottom center']
    """
    return [outward_order(pos[n])[0] for n in nodes]


@dataclass
class _Labels:
    """Where a network figure's labels go and the layout that keeps them where they were placed."""

    where: dict[str, str]  # node -> plotly text position; nodes without a label are left out
    font: int
    on_nodes: bool  # labels carried by the node traces (else one more trace of the labelled few)
    size: dict[str, float]  # marker size per node
    left_out: list[str] = field(default_factory=list)  # labelled nodes without room
    aside: dict[str, tuple[float, float]] = field(default_factory=dict)  # node -> its label's centre, set aside
    leaders: dict[str, tuple[tuple[float, float], tuple[float, float]]] = field(default_factory=dict)  # their lines
    layout: dict = field(default_factory=dict)
    centre: str | None = None
    bold: set[str] = field(default_factory=set)  # nodes whose label is bold (TFs)


def _legend_px(names: list[str]) -> int:
    """Bottom margin holding the horizontal legend below the plot (its title on a row of its own) in a chart
    700 px wide: entries (symbol and 12 px text) packed into rows of 680 px, 27 px a row."""
    rows, used = 1, 0.0
    for name in names:
        width = 46 + text_width(name, size=12)
        if used and used + width > 680:
            rows, used = rows + 1, 0.0
        used += width
    return 8 + 27 * (rows + 1)


def _centre_boxes(centre: str, symbol: str, full: float, ring: float) -> Callable[[float], tuple[float, np.ndarray]]:
    """For a scale (px per layout unit): the centre's marker size (its degree's ``full`` size, capped to reach
    :data:`CENTRE_REACH` of the way to the innermost ring at ``ring`` units) and the boxes (px) of its marker
    and of its label above it (:func:`_centre_label`)."""
    width = text_width(centre, size=12, bold=True) + 4  # + border and padding

    def at(scale: float) -> tuple[float, np.ndarray]:
        size = min(full, max(10.0, 2 * CENTRE_REACH * ring * scale / MARKER_REACH[symbol]))
        reach = MARKER_REACH[symbol] * size / 2 + 1.5
        return size, np.array([[-reach, -reach, reach, reach], [-width / 2, reach + 2, width / 2, reach + 22]])
    return at


def _radial_labels(pos: dict[str, tuple[float, float]], degree: pd.Series, kinds: dict[str, str],
                   focus_set: set[str], max_labels: int, legend: int, away: dict[str, tuple[float, float]]) -> _Labels:
    """A concentric layout drawn to scale (circles stay circles): the smallest scale at which every label
    finds room beside its node (:func:`~cell2net_core.explore.labels.fit_radial`); above ``max_labels``
    nodes at most :data:`RADIAL_MAX_PX` across, labels without room left out."""
    size = {n: 7 + 3.5 * float(np.sqrt(d)) for n, d in degree.items()}
    centre = next((n for n in degree.index if np.hypot(*pos[n]) < 1e-9), None)
    others = sorted((n for n in degree.index if n != centre),
                    key=lambda n: (n not in focus_set, round(float(np.hypot(*pos[n])), 9), n))
    if len(degree) > RADIAL_ALL:
        ranked = sorted(others, key=lambda n: (-degree[n], n))
        keep = set(ranked[:_HUB_LABELS]) | focus_set
        others = [n for n in others if n in keep]
    boxes = None
    if centre is not None and others:
        boxes = _centre_boxes(centre, _SYMBOL[kinds[centre]], size[centre], min(np.hypot(*pos[n]) for n in others))
    few = len(degree) <= max_labels
    fit = fit_radial(
        np.array([pos[n] for n in others]).reshape(-1, 2),
        [text_width(n, size=LABEL_PX, bold=kinds[n] in _TF_KINDS) for n in others],
        [size[n] for n in others], font=LABEL_PX, obstacles=(lambda s: boxes(s)[1]) if boxes else None,
        keep_all=few, min_size=RADIAL_MAX_PX if len(degree) > RADIAL_ALL else _RADIAL_MIN_PX, max_size=RADIAL_MAX_PX,
        outer=max(float(np.hypot(*pos[n])) for n in degree.index), avoid_markers=len(degree) <= RADIAL_ALL,
        prefer=[outward_order(away.get(n, pos[n])) for n in others])
    if boxes is not None:
        size[centre] = boxes(fit.scale)[0]
    every = max(float(np.hypot(*pos[n])) * fit.scale + 0.65 * size[n] for n in degree.index)  # unlabelled too
    half_x, half_y = (max(h, every) + 4 for h in fit.half)
    top = 80
    layout = {"height": math.ceil(2 * half_y + top + legend), "margin": {"l": _SIDE, "r": _SIDE, "t": top, "b": legend},
              "xaxis": {"visible": False, "range": [-half_x / fit.scale, half_x / fit.scale]},
              "yaxis": {"visible": False, "range": [-half_y / fit.scale, half_y / fit.scale], "scaleanchor": "x",
                        "scaleratio": 1},
              "meta": {"chart_px": math.ceil(2 * half_x + 2 * _SIDE)}}
    where = {n: w for n, w in zip(others, fit.where, strict=True) if w is not None}
    return _Labels(where=where, font=LABEL_PX, on_nodes=len(degree) <= RADIAL_ALL, size=size, layout=layout,
                   bold={n for n in others if kinds[n] in _TF_KINDS},
                   left_out=[n for n, w in zip(others, fit.where, strict=True) if w is None], centre=centre)


def _flat_labels(pos: dict[str, tuple[float, float]], degree: pd.Series, focus_set: set[str], max_labels: int,
                 legend: int, away: dict[str, tuple[float, float]], bold: set[str]) -> _Labels:
    """Labels placed clear of each other in charts of each width in :data:`HUB_WIDTHS` (the axis ranges fixed,
    so the pixels are known), focused nodes first, then by degree: beside the node where there is room, trying
    first the side facing ``away`` from its neighbours (:func:`~cell2net_core.explore.labels.outward_order`),
    else set aside and joined to it by a leader line (:func:`_hub_spots`), else left out (counted in the
    subtitle, named in the node's hover). Up to ``max_labels`` nodes every node is tried in :data:`LABEL_PX` px
    type, clear of the other markers; above, the 30 best-connected and the searched ones in
    :data:`HUB_LABEL_PX` px type."""
    size = {n: 7 + 3.5 * float(np.sqrt(d)) for n, d in degree.items()}
    margin = {"l": _SIDE, "r": _SIDE, "t": 70, "b": legend}  # the title and a subtitle on the labels
    ranked = sorted(degree.index, key=lambda n: (n not in focus_set, -degree[n], n))
    every = len(degree) <= max_labels
    shown = ranked if every else ranked[:_HUB_LABELS + len(focus_set & set(degree.index))]
    font = LABEL_PX if every else HUB_LABEL_PX
    xy = np.array([pos[n] for n in degree.index])
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    pad = 0.04 * np.maximum(hi - lo, 1e-9)
    lo, hi = lo - pad, hi + pad
    plot = np.array([[w - 2 * _SIDE, _HEIGHT - margin["t"] - legend] for w in HUB_WIDTHS], dtype=float)
    views = np.array([(np.array([pos[n] for n in shown]) - lo) / (hi - lo) * p for p in plot])
    prefer = [outward_order(np.asarray(away.get(n, (0.0, 0.0))) / (hi - lo) * plot[0]) for n in shown]
    where, aside = _hub_spots(shown, views, [size[n] for n in shown], plot, font=font, avoid_markers=every,
                              prefer=prefer, bold=bold)
    per_px = (hi - lo) / plot[0]  # data units per px of the narrowest chart
    anchors = {n: (pos[n][0] + off[0] * per_px[0], pos[n][1] + off[1] * per_px[1]) for n, off in aside.items()}
    leaders = {n: _leader(pos[n], off, per_px, size[n], text_width(n, size=font, bold=n in bold), font)
               for n, off in aside.items()}
    layout = {"height": _HEIGHT, "margin": margin, "xaxis": {"visible": False, "range": [lo[0], hi[0]]},
              "yaxis": {"visible": False, "range": [lo[1], hi[1]]}}
    return _Labels(where=where, font=font, on_nodes=every, size=size, layout=layout, aside=anchors,
                   leaders=leaders, left_out=[n for n in shown if n not in where and n not in aside],
                   bold=bold & set(shown))


def _away(tf: np.ndarray, gene: np.ndarray, pos: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
    """Each node's position less the mean position of its neighbours: the side its label is tried on first."""
    ends = pd.DataFrame({"a": np.concatenate([tf, gene]), "b": np.concatenate([gene, tf])}).drop_duplicates()
    xy = np.array([pos[n] for n in ends["b"]], dtype=float)
    mean = pd.DataFrame(xy, columns=["x", "y"]).groupby(ends["a"].to_numpy()).mean()
    return {n: (pos[n][0] - x, pos[n][1] - y) for n, x, y in mean.itertuples()}


def _leader(xy: tuple[float, float], off: tuple[float, float], per_px: np.ndarray, size: float,
            width: float, font: float = HUB_LABEL_PX) -> tuple[tuple[float, float], tuple[float, float]]:
    """A leader line's ends (data units): from the node's marker edge to the edge of its label set aside
    ``off`` px (narrowest chart) away, so that the line runs under neither."""
    off = np.asarray(off, dtype=float)
    length = float(np.hypot(*off))
    start = off * min(1.0, size / 2 / length)
    inside = min(width / 2 / abs(off[0]) if off[0] else np.inf, 0.6 * font / abs(off[1]) if off[1] else np.inf)
    end = off * max(0.0, 1 - inside)
    return ((xy[0] + start[0] * per_px[0], xy[1] + start[1] * per_px[1]),
            (xy[0] + end[0] * per_px[0], xy[1] + end[1] * per_px[1]))


def _hub_spots(shown: list[str], views: np.ndarray, sizes: list[float], plot: np.ndarray, *,
               font: float = HUB_LABEL_PX, avoid_markers: bool = False, prefer: list[list[str]] | None = None,
               bold: set[str] = frozenset()) -> tuple[dict[str, str], dict[str, tuple[float, float]]]:
    """Text positions of the labels with room beside their node, and offsets (px of the first view) of those
    set aside, all clear of each other in every view (``views``: the nodes' px in each chart, ``plot``: its size)."""
    widths = [text_width(n, size=font, bold=n in bold) for n in shown]
    bounds = np.hstack([np.zeros_like(plot), plot])
    spots = place_labels(views, widths, sizes, font=font, avoid_markers=avoid_markers, bounds=bounds, prefer=prefer)
    where = {n: w for n, w in zip(shown, spots, strict=True) if w is not None}
    rest = [i for i, w in enumerate(spots) if w is None]
    if not rest:
        return where, {}
    taken = np.array([[label_box(v[i], width=widths[i], font=font, marker=sizes[i], where=spots[i])
                       for i in range(len(shown)) if spots[i] is not None] for v in views]).reshape(len(views), -1, 4)
    if avoid_markers:  # labels set aside keep off every marker too
        taken = np.concatenate([taken, marker_boxes(views, sizes)], axis=1)
    offsets = set_aside(views[:, rest], [widths[i] for i in rest], taken, font=font,
                        stretch=plot / plot[0], bounds=bounds)
    return where, {shown[i]: off for i, off in zip(rest, offsets, strict=True) if off is not None}


def _label_traces(pos: dict[str, tuple[float, float]], placed: _Labels, font: dict) -> list[go.Scatter]:
    """Labels not carried by the node traces: a large graph's few beside their node on invisible markers of the
    node's size (so a label clears its node's marker as plotly offsets it), and any label centred where set aside,
    under which a grey leader line runs to the node. Not hoverable: a large graph's node traces stay markers only,
    so it does not carry an empty text element per node through every pan and zoom."""
    shown = sorted(placed.aside) if placed.on_nodes else sorted({*placed.where, *placed.aside})
    if not shown:
        return []
    xy = [placed.aside.get(n, pos[n]) for n in shown]
    traces = []
    if placed.aside:
        xs = [v for n in placed.aside for v in (placed.leaders[n][0][0], placed.leaders[n][1][0], None)]
        ys = [v for n in placed.aside for v in (placed.leaders[n][0][1], placed.leaders[n][1][1], None)]
        traces.append(go.Scatter(x=xs, y=ys, mode="lines", line={"color": "#555", "width": 0.8}, hoverinfo="skip",
                                 showlegend=False, name="label leaders"))
    traces.append(go.Scatter(
        x=[p[0] for p in xy], y=[p[1] for p in xy], mode="markers+text", text=shown,
        textfont={**font, "weight": ["bold" if n in placed.bold else "normal" for n in shown]},
        textposition=[placed.where.get(n, "middle center") for n in shown], hoverinfo="skip", showlegend=False,
        marker={"size": [placed.size[n] if n in placed.where else 0 for n in shown], "opacity": 0},
        name="node labels",
    ))
    return traces


def _node_hover(node: str, kind: str, degree: int, size: float, placed: _Labels) -> str:
    text = f"<b>{node}</b> ({kind})<br>degree: {degree}"
    if size < 7 + 3.5 * np.sqrt(degree):
        text += "<br>(marker drawn smaller than its degree gives, to keep the rings around it readable)"
    if node in placed.left_out:
        text += f"<br>({_NO_ROOM})"
    return text


def _node_traces(pairs: pd.DataFrame, pos: dict[str, tuple[float, float]], focus_set: set[str], lit_nodes: set[str],
                 placed: _Labels, degree: pd.Series, max_labels: int) -> list[go.Scatter]:
    """One clickable marker trace per node kind, sized by degree, faded outside ``lit_nodes`` when focused.

    ``placed.on_nodes``: each trace carries its labels (at their placed positions); otherwise the labelled
    few are more traces (:func:`_label_traces`). Up to ``max_labels`` nodes every marker has a thin outline,
    above only focused nodes. A radial layout's centre is labelled by
    :func:`_centre_label`, drawn over everything with a background."""
    kinds = node_kinds(pairs)
    font = {"size": placed.font, "shadow": "auto", "family": LABEL_FONT}
    outline = 0.5 if len(degree) <= max_labels else 0.0  # a large graph: focused nodes only (faster pan and zoom)
    traces = []
    for kind, symbol, colour, label in _NODE_STYLES:
        nodes = sorted(n for n, k in kinds.items() if k == kind)
        if not nodes:
            continue
        sizes = [placed.size[n] for n in nodes]
        lit = [not focus_set or n in lit_nodes for n in nodes]
        text = {"mode": "markers+text", "text": [n if n in placed.where else "" for n in nodes],
                "textfont": {**font, "weight": "bold" if kind in _TF_KINDS else "normal"},
                "textposition": [placed.where.get(n, "top center") for n in nodes]}
        traces.append(go.Scatter(
            x=[pos[n][0] for n in nodes], y=[pos[n][1] for n in nodes],
            **(text if placed.on_nodes else {"mode": "markers"}), customdata=nodes, name=label, hoverinfo="text",
            hovertext=[_node_hover(n, kind, int(degree[n]), placed.size[n], placed) for n in nodes],
            marker={"symbol": symbol, "color": colour, "size": sizes, "opacity": [1.0 if x else 0.2 for x in lit],
                    "line": {"width": [2.5 if n in focus_set else outline for n in nodes], "color": "black"}},
        ))
    return [*traces, *_label_traces(pos, placed, font)]


def _centre_label(traces: list[go.Scatter], centre: str) -> dict:
    """The centre node's name in bold on a white box just above its marker, over edges and ring nodes."""
    styles = {label: (symbol, colour) for _, symbol, colour, label in _NODE_STYLES}
    trace = next(t for t in traces if t.customdata is not None and centre in t.customdata)
    symbol, colour = styles[trace.name]
    size = trace.marker.size[list(trace.customdata).index(centre)]
    reach = MARKER_REACH[symbol] * size / 2 + 1.5  # + half the widest (focus) outline
    return {"x": 0, "y": 0, "xref": "x", "yref": "y", "text": f"<b>{centre}</b>", "showarrow": False,
            "yanchor": "bottom", "yshift": reach + 2, "font": {"size": 12, "color": "#222", "family": LABEL_FONT},
            "bgcolor": "rgba(255,255,255,0.9)", "bordercolor": colour, "borderwidth": 1, "borderpad": 1,
            "name": "centre label"}


def label_note(fig: go.Figure) -> str:
    """What a network figure's labels leave out and, for a concentric layout drawn to scale, the chart
    width its labels were placed for (the figure's subtitle); ``""`` when every node is labelled as placed.

    Examples
    --------
    >>> for part in label_note(go.Figure(layout={"meta": {"labelled": 28, "left_out": 2, "nodes": 1622}})).split("; "):
    ...     print(part)
    labels on the 30 best-connected or searched of 1,622 nodes
    2 of them left out for want of room (hover a node for its name)
    """
    meta = fig.layout.meta if isinstance(fig.layout.meta, dict) else {}
    parts, tried = [], meta.get("labelled", 0) + meta.get("left_out", 0)
    if meta.get("chart_px"):
        parts.append(f"circles drawn to scale; labels placed for a chart at least {meta['chart_px']:,} px wide "
                     "(narrower: the same drawing, smaller)")
    centre = 1 if meta.get("chart_px") else 0  # a concentric layout's centre is labelled apart
    if tried and tried + centre < meta.get("nodes", 0):
        parts.append(f"labels on the {tried:,} best-connected or searched of {meta['nodes']:,} nodes")
    if meta.get("left_out"):
        parts.append(f"{meta['left_out']:,} of {'them' if parts and 'best' in parts[-1] else f'{tried:,} labels'} "
                     "left out for want of room (hover a node for its name)")
    return "; ".join(parts)


def network_figure(
    pairs: pd.DataFrame,
    pos: dict[str, tuple[float, float]],
    *,
    focus: list[str] | None = None,
    title: str = "TF -> gene network",
    max_labels: int | None = None,
    labels: str = "above",
) -> go.Figure:
    """Draw a network of :func:`~cell2net_core.graph.pair_edges` rows at layout positions.

    TFs are diamonds, target genes circles (TFs that are also targets: purple squares);
    node size grows with degree; edges are red (activation) or blue (repression), wider
    for larger ``|mean attribution|`` (four quantile bins, named in the legend). Node
    points carry their name in ``customdata`` for click selection. With ``focus``,
    nodes and edges outside the focus nodes' neighbourhood are faded. Up to ``max_labels`` nodes
    (default :data:`FLAT_LABELS`) every label is placed where it overlaps no other label nor marker, beside
    its node (first on the side away from its neighbours), else set aside with a leader line, else left out;
    above, the 30 best-connected and the focused ones, in :data:`HUB_LABEL_PX` px type (:func:`_flat_labels`).
    ``labels="radial"`` (concentric and wheel layouts) draws circles as circles (one scale along x and y) and
    gives each label the first free position pointing away from its neighbours, the figure as large as that
    needs; above ``max_labels`` nodes (default :data:`MAX_LABELS`) at most :data:`RADIAL_MAX_PX` across, leaving
    out labels without room (the subtitle and :func:`label_note` say how many, their nodes' hovers why).
    Hovering an edge's midpoint names its strongest group and its mean attribution. When the pairs
    carry ``known`` (reference) or ``motif_sites``, known edges get a gold halo and motif-supported
    edges a triangle at their middle, both named in the legend.

    Examples
    --------
    >>> pairs = pd.DataFrame({"tf": "T", "gene": ["A", "B", "C"], "mean_attr": [1.0, -0.5, 0.2], "group": "NK"})
    >>> fig = network_figure(pairs, {"T": (0.0, 0.0), "A": (1.0, 0.0), "B": (-0.5, 0.87), "C": (-0.5, -0.87)},
    ...                      labels="radial")
    >>> fig.layout.yaxis.scaleanchor, sorted(t for tr in fig.data if tr.customdata for t in tr.text if t)
    ('x', ['A', 'B', 'C'])
    """
    fig = go.Figure()
    focus_set = set(focus or [])
    if pairs.empty:
        fig.update_layout(title=f"{title}: no edges", height=300)
        return fig
    tf = pairs["tf"].astype(str).to_numpy()
    gene = pairs["gene"].astype(str).to_numpy()
    mean = pairs["mean_attr"].to_numpy(dtype=float)
    near = np.isin(tf, list(focus_set)) | np.isin(gene, list(focus_set)) if focus_set else np.ones(len(tf), bool)
    kind = go.Scatter if len(pairs) <= SVG_MAX_EDGES else go.Scattergl  # WebGL only where SVG gets slow
    for trace in [*_known_traces(tf, gene, pairs, pos, kind), *_edge_traces(tf, gene, mean, near, pos, kind),
                  *_motif_traces(tf, gene, pairs, pos, kind)]:
        fig.add_trace(trace)
    fig.add_trace(_edge_info_trace(pairs, tf, gene, mean, pos, kind))
    lit_nodes = focus_set | set(tf[near]) | set(gene[near])
    degree = pd.concat([pairs["tf"], pairs["gene"]]).astype(str).value_counts()
    kinds = node_kinds(pairs)
    legend = _legend_px([t.name or "" for t in fig.data if t.showlegend is not False]
                        + [label for kind, _, _, label in _NODE_STYLES if kind in set(kinds.values())])
    max_labels = max_labels or (MAX_LABELS if labels == "radial" else FLAT_LABELS)
    away = _away(tf, gene, pos)
    placed = (_radial_labels(pos, degree, kinds, focus_set, max_labels, legend, away) if labels == "radial"
              else _flat_labels(pos, degree, focus_set, max_labels, legend, away,
                                {n for n, k in kinds.items() if k in _TF_KINDS}))
    nodes = _node_traces(pairs, pos, focus_set, lit_nodes, placed, degree, max_labels)
    for trace in nodes:
        fig.add_trace(trace)
    if placed.centre is not None:
        fig.add_annotation(_centre_label(nodes, placed.centre))
    fig.update_layout(
        showlegend=True, hovermode="closest",
        legend={"title": {"text": "colour: sign of the strongest group; width: |mean attribution|; shape: kind; "
                                  "size: degree", "side": "top"},
                "orientation": "h", "yref": "container", "y": 0, "yanchor": "bottom", "x": 0, "xanchor": "left"},
        **placed.layout,
    )
    fig.layout.meta = {**(fig.layout.meta or {}), "labelled": len(placed.where) + len(placed.aside),
                       "left_out": len(placed.left_out), "nodes": len(degree)}
    note = label_note(fig)
    fig.update_layout(title={"text": title, **({"subtitle": {"text": note}} if note else {})})
    return fig


def compare_bars(comparison: pd.DataFrame, label_a: str, label_b: str, *, top: int = 20) -> go.Figure:
    """Bars of ``attr_a - attr_b`` for the ``top`` TFs of :func:`~cell2net_core.compare.compare_groups`
    that both sides hold (a TF missing on a side has no difference and no bar).

    Examples
    --------
    >>> fig = compare_bars(compare_groups(table, "NK", "B cell"), "NK", "B cell")  # doctest: +SKIP
    """
    rows = comparison[comparison["diff"].notna()].head(top).iloc[::-1]
    n = rows["n_genes"] if "n_genes" in rows.columns else pd.Series(1, index=rows.index)
    hover = [
        f"<b>{t}</b><br>{label_a}: {a:.4g}<br>{label_b}: {b:.4g}<br>difference: {d:.4g}<br>over {k} gene(s)"
        for t, a, b, d, k in zip(rows["tf"], rows["attr_a"], rows["attr_b"], rows["diff"], n, strict=True)
    ]
    fig = go.Figure(
        go.Bar(
            x=rows["diff"], y=rows["tf"], orientation="h", hovertext=hover, hoverinfo="text",
            marker_color=np.where(rows["diff"] >= 0, POSITIVE, NEGATIVE).tolist(),
        )
    )
    fig.update_layout(
        title=f"TFs that differ most: {label_a} minus {label_b} (red: higher in {label_a})",
        xaxis_title="difference in mean attribution (genes where both sides hold the TF)",
        height=max(350, 22 * len(rows) + 120), margin={"l": 10, "r": 10, "t": 60, "b": 10},
    )
    return fig


def activity_heatmap(activity: pd.DataFrame, *, top: int = 40, scaled: bool = False) -> go.Figure:
    """TF x group heatmap of :func:`~cell2net_core.compare.tf_activity` (mean over genes where present).

    Shows the ``top`` TFs with the largest ``|activity|`` summed over groups; grey cells are
    missing (the TF is in no gene's top TFs of that group). ``scaled``: the matrix was row-scaled
    (:func:`~cell2net_core.compare.row_scaled`), which the colour bar says.

    Examples
    --------
    >>> fig = activity_heatmap(tf_activity(table))  # doctest: +SKIP
    """
    if activity.empty:
        msg = "No TF activity to draw: the table is empty."
        raise Cell2NetInputError(msg)
    keep = activity.abs().sum(axis=1).sort_values(ascending=False, kind="stable").index[:top]
    act = activity.loc[keep].sort_index(ascending=False)
    zmax = float(np.nanmax(np.abs(act.to_numpy()))) if act.notna().any().any() else 1.0
    label = "row-scaled mean attr" if scaled else "mean attr"
    fig = go.Figure(
        go.Heatmap(
            z=act.to_numpy(), x=[str(c) for c in act.columns], y=act.index.tolist(), colorscale=_DIVERGING,
            zmid=0, zmin=-zmax, zmax=zmax, colorbar={"title": label}, hoverongaps=True,
            hovertemplate="TF %{y}<br>%{x}<br>" + label + ": %{z:.4g}<extra></extra>",
        )
    )
    fig.update_layout(
        title=f"TF activity: mean attribution over genes where the TF is in the top list (top {len(act)} TFs; "
              "grey: in no gene's top list)",
        height=max(350, 18 * len(act) + 150), xaxis_title=activity.columns.name or "group",
        margin={"l": 10, "r": 10, "t": 60, "b": 10}, plot_bgcolor=MISSING,
    )
    return fig


def tf_violin(values: np.ndarray, labels: np.ndarray, *, tf: str, gene: str, groups: list[str]) -> go.Figure:
    """Violin (with box and points) of one TF's per-metacell attribution to a gene, one per group.

    Examples
    --------
    >>> fig = tf_violin(np.array([1.0, 2.0, 0.5]), np.array(["NK", "NK", "B"]), tf="T", gene="G", groups=["NK", "B"])
    >>> [t.name for t in fig.data]
    ['NK (2 metacells)', 'B (1 metacells)']
    """
    labels = np.asarray(labels).astype(str)
    fig = go.Figure()
    for g in groups:
        v = np.asarray(values, dtype=float)[labels == g]
        fig.add_trace(go.Violin(y=v, name=f"{g} ({len(v)} metacells)", box_visible=True, points="all",
                                meanline_visible=True))
    fig.update_layout(title=f"Attribution of {tf} to {gene} per metacell", yaxis_title=VALUE_TITLE,
                      showlegend=False, height=420, margin={"l": 10, "r": 10, "t": 60, "b": 10})
    return fig
