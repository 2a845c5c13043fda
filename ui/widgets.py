"""Widgets shared by pages: error guard, table loading, charts with image download, exports."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from cell2net_core.errors import Cell2NetInputError
from cell2net_core.explore import export, figures, network
from ui import cache, state
from ui.context import Context

PAGES = {
    "attribution": "app_pages/attribution.py",
    "network": "app_pages/network.py",
    "table": "app_pages/table.py",
    "compare": "app_pages/compare.py",
    "dotplot": "app_pages/dotplot.py",
}
_FORMAT_LABELS = {
    "csv": "Edge list (CSV)",
    "tsv": "Edge list (TSV)",
    "sif": "Cytoscape SIF",
    "graphml": "GraphML",
    "cyjs": "Cytoscape JSON (.cyjs)",
}


@contextlib.contextmanager
def guard(*, stop: bool = True) -> Iterator[None]:
    """Show bad input as an error message (no traceback); then stop the page, or go on with ``stop=False``."""
    try:
        yield
    except Cell2NetInputError as e:
        st.error(str(e))
        if stop:
            st.stop()


def network_table(ctx: Context) -> pd.DataFrame:
    """The whole TF -> gene table, or a message saying what is missing (then the page stops)."""
    if ctx.results is None:
        st.warning("This page needs a results folder (or the demo): choose one in the sidebar.")
        st.stop()
    with guard():
        if not cache.result_genes(ctx.results):
            st.info(f"No results in {str(ctx.results)!r} yet: attribute genes first.")
            st.page_link(PAGES["attribution"], label="Go to Gene attribution", icon=":material/arrow_forward:")
            st.stop()
        return cache.network_table(ctx.results)


def evidence_toggles(table: pd.DataFrame, keys: tuple[str, str, str]) -> dict:
    """Three toggles (q < 0.05 only, with motif support, known only) as :func:`network.filter_edges`
    options; a toggle the table cannot serve is disabled and says why (its rows are never dropped)."""
    reasons = network.evidence_filters(table)
    labels = (f"q < {network.Q_CUTOFF} only", "with motif support", "known only")
    helps = ("Benjamini-Hochberg q of a two-sided one-sample t-test of mean != 0; rows without a q are dropped.",
             "Rows whose TF has a JASPAR 2024 site (relative score >= 0.8) in the gene's linked peaks.",
             "Rows whose TF -> gene pair is in the curated reference.")
    values = []
    for col, key, label, why, help_ in zip(st.columns(3), keys, labels, reasons.values(), helps, strict=True):
        if why is not None:
            st.session_state[key] = False
        values.append(col.toggle(label, key=key, disabled=why is not None, help=why or help_))
        if why is not None:
            col.caption(why)
    return {"max_q": network.Q_CUTOFF if values[0] else None, "with_motif": values[1], "known_only": values[2]}


def clamp_state(key: str, low: float, high: float) -> None:
    """Keep a slider's stored value inside ``[low, high]`` after the data changed under it."""
    value = st.session_state.get(key)
    if isinstance(value, tuple | list):
        clamped = tuple(min(max(float(v), low), high) for v in value)
    elif value is not None:
        clamped = min(max(float(value), low), high)
    if value is not None and clamped != (tuple(value) if isinstance(value, list) else value):
        st.session_state[key] = clamped


def chart(fig: go.Figure, *, name: str, **kwargs) -> object:
    """``st.plotly_chart`` whose camera button saves ``name`` as PNG or SVG (sidebar choice)."""
    fmt = st.session_state[state.IMAGE_FMT]
    return st.plotly_chart(fig, config=figures.image_config(name, fmt=fmt), **kwargs)


def export_buttons(edges: pd.DataFrame, *, page: str, name: str,
                   positions: dict[str, tuple[float, float]] | None = None) -> None:
    """A format choice and a download button with exactly ``edges`` in that format.

    The label counts TF -> gene edges and rows (one per edge and group), as the page's text does;
    GraphML and .cyjs carry ``positions`` (the layout shown)."""
    if edges.empty:
        st.caption("Nothing to export: the filter leaves no edges.")
        return
    left, right = st.columns([2, 1], vertical_alignment="bottom")
    fmt = left.selectbox(
        "Export format", list(export.FORMATS), key=state.export_key(page), format_func=_FORMAT_LABELS.get
    )
    with guard():
        payload = export.export_network(edges, fmt, positions=positions)
    n_edges = len(edges[["tf", "gene"]].drop_duplicates())
    right.download_button(
        f"Download {n_edges:,} edges ({len(edges):,} rows)", payload, file_name=f"{name}.{fmt}",
        mime=export.FORMATS[fmt],
        key=state.export_download_key(page), icon=":material/download:",
    )
