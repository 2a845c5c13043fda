"""Widgets shared by pages: error guard, table loading, charts with image download, exports."""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from cell2net_core.errors import Cell2NetInputError
from cell2net_core.explore import export, figures, network, quality
from ui import cache, state
from ui.context import Context

PAGES = {
    "attribution": "app_pages/attribution.py",
    "network": "app_pages/network.py",
    "table": "app_pages/table.py",
    "compare": "app_pages/compare.py",
    "dotplot": "app_pages/dotplot.py",
}
LAZY_ROWS = 20_000  # downloads of more rows are generated on click, not on every rerun
_FORMAT_LABELS = {
    "csv": "Edge list (CSV)",
    "tsv": "Edge list (TSV)",
    "sif": "Cytoscape SIF",
    "graphml": "GraphML",
    "cyjs": "Cytoscape JSON (.cyjs)",
}


#: Columns holding p- or q-values: shown in scientific notation (0.000...01 is unreadable).
_P_COLUMNS = ("p_value", "q_value", "p", "q")


def table_columns(table: pd.DataFrame) -> dict:
    """``st.dataframe`` column settings: p- and q-values in scientific notation, missing left blank."""
    return {c: st.column_config.NumberColumn(c, format="%.2e") for c in _P_COLUMNS if c in table.columns}


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


def fit_filter(ctx: Context, table: pd.DataFrame, *, only_key: str, min_r_key: str) -> pd.DataFrame:
    """A "genes whose model fits" filter, offered only when some gene's fit is known; returns the kept rows."""
    with guard(stop=False):
        fits = cache.model_quality(ctx.models, mdata_path=ctx.mdata_path)
        if not fits["pearson_r"].notna().any():
            return table
        c1, c2 = st.columns([2, 1], vertical_alignment="bottom")
        only = c1.toggle("Only genes whose model fits: Pearson r (predicted vs observed, log1p) at least", key=only_key,
                         help="Attributions of a model that predicts nothing are noise. Genes of unknown fit "
                              "are left out too while this is on.")
        min_r = c2.number_input("Pearson r at least", -1.0, 1.0, step=0.05, key=min_r_key, disabled=not only,
                                label_visibility="collapsed")
        if only:
            table, line = quality.filter_by_quality(table, fits, min_r=float(min_r))
            st.caption(line)
    return table


def csv_payload(table: pd.DataFrame) -> str | functools.partial:
    """``table`` as CSV text for a download button; a callable run on click above :data:`LAZY_ROWS` rows."""
    if len(table) > LAZY_ROWS:
        return functools.partial(table.to_csv, index=False)
    return table.to_csv(index=False)


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


@functools.cache
def _plotly_chunk() -> str | None:
    """File name of Streamlit's plotly chart script (``PlotlyChart.<hash>.js``), or ``None`` when not exactly one."""
    found = list((Path(st.__file__).parent / "static" / "static" / "js").glob("PlotlyChart.*.js"))
    return found[0].name if len(found) == 1 else None


# 1 s after the page, when the browser is idle: import the chart script beside Streamlit's own main script
_PRELOAD_JS = """<script>
setTimeout(() => (window.requestIdleCallback || setTimeout)(() => {
  const main = document.querySelector('script[type="module"][src*="static/js/"]');
  if (main) import(new URL(%s, main.src).href).catch(() => {});
}), 1000);
</script>"""


def preload_plotly() -> None:
    """Load plotly.js in the browser's idle time, so the first chart of the visit does not wait for it.

    Streamlit loads its plotly chart script (4.7 MB, ~0.4 s to evaluate here) only when a page first
    shows a plotly chart; on a page without one (the Overview, the Table) this loads it a second after
    the page, when the browser is idle. Gene attribution opened from the Overview's sidebar 3 s later
    then paints in 1.2 s instead of 2.3 s. Nothing happens when the script is not found (another
    Streamlit version) or is loaded already.
    """
    chunk = _plotly_chunk()
    if chunk is not None:
        st.html(_PRELOAD_JS % json.dumps(chunk), unsafe_allow_javascript=True)


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
    if len(edges) > LAZY_ROWS:  # built when clicked, so a large table does not slow every rerun
        payload = functools.partial(export.export_network, edges, fmt, positions=positions)
    else:
        with guard():
            payload = export.export_network(edges, fmt, positions=positions)
    n_edges = len(edges[["tf", "gene"]].drop_duplicates())
    right.download_button(
        f"Download {n_edges:,} edges ({len(edges):,} rows)", payload, file_name=f"{name}.{fmt}",
        mime=export.FORMATS[fmt],
        key=state.export_download_key(page), icon=":material/download:",
    )
