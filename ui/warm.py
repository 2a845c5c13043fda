"""Work done once when the server starts, before the first visitor: imports and the start paths' data.

``streamlit run app.py`` serves ``app.py`` as an ``st.App`` whose lifespan starts :func:`warm_up` in a
background thread. It imports what the first page needs (pandas, plotly and its validators, the explore
modules), fills the same caches the first page reads (the dataset, the models' fit, the results folder's
table) and draws a bar chart and a network once (:func:`draw_once`), so the first visitor's first page finds
them ready instead of waiting for them. It only reads: it creates no folder and builds no demo, and a path
outside the server's data roots is not looked at. What fails here is left for the page, which says it to the
visitor.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from streamlit.logger import get_logger

from ui.context import Paths, allowed, start_paths, start_roots

WARM_THREAD = "cell2net-warm-up"
_LOG = get_logger(__name__)  # the server log, in Streamlit's format


def start_data() -> Paths:
    """The paths the first page opens: the command line's or environment's, else the embedded demo's
    when it is already built; paths outside the data roots are dropped (:func:`ui.context.allowed`)."""
    paths = start_paths(sys.argv[1:], os.environ)
    if not paths.any():
        try:
            from cell2net_core import demo
        except ImportError:
            return Paths()
        if not demo.is_complete(demo.default_demo_dir()):
            return Paths()  # the page builds it, with its progress bar
        built = demo.ensure_demo()
        return Paths(mdata=str(built.mdata), models=str(built.model_dir), results=str(built.results))
    roots, problems = start_roots(sys.argv[1:], os.environ), []  # the page reports the problems
    return Paths(mdata=allowed(paths.mdata, "dataset", roots, problems),
                 models=allowed(paths.models, "model folder", roots, problems),
                 results=allowed(paths.results, "results folder", roots, problems))


def draw_once(table) -> None:
    """Build (and throw away) a bar chart and a wheel network of the table's first gene: plotly's first figure of
    each kind in a process costs ~0.2 s more than later ones (validators, subplot and text machinery)."""
    from cell2net_core.explore import figures, network

    gene = table["gene"].iloc[0]
    rows = table[table["gene"] == gene]
    figures.tf_bars(rows, gene).to_json()
    drawn = network.network_view(network.filter_edges(rows)).drawn
    figures.network_figure(drawn, network.arranged_layout(drawn, kind="wheel"), labels="radial").to_json()


class _NoContextNote(logging.Filter):
    """Drops Streamlit's "missing ScriptRunContext" note for this thread: a cached loader's spinner has no page
    to show on here, as expected."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.threadName == WARM_THREAD and "missing ScriptRunContext" in record.getMessage())


_NO_CONTEXT_NOTE = _NoContextNote()


def warm_up() -> None:
    """Import what pages draw with and read the start data into the app's caches; never raises."""
    start = time.perf_counter()
    get_logger("streamlit.runtime.scriptrunner_utils.script_run_context").addFilter(_NO_CONTEXT_NOTE)  # once
    try:
        import plotly.graph_objects as go
        import scipy.spatial  # noqa: F401 (the Network page's default wheel layout spaces nodes with its k-d tree)

        from cell2net_core.explore import compare  # noqa: F401 (imported for later)
        from ui import cache

        go.Figure(go.Bar(x=[0], y=[0])).to_json()  # plotly builds its validators once per process
        paths = start_data()
        dataset = Path(paths.mdata).expanduser() if paths.mdata else None
        if dataset is not None and dataset.is_file():
            cache.open_dataset(dataset)
        else:
            dataset = None
        if paths.models and Path(paths.models).expanduser().is_dir():  # the Overview's "Models that fit worst"
            cache.model_quality(paths.models, mdata_path=dataset)
        results = Path(paths.results).expanduser() if paths.results else None
        if results is not None and results.is_dir():
            cache.result_genes(results)
            if (results / "tf_to_gene.csv").is_file():
                draw_once(cache.network_table(results))
                cache.table_note(results)
    except Exception:  # the page meets the same problem and says it to the visitor
        _LOG.exception("Cell2Net warm-up stopped early; the first page does this work itself.")
        return
    _LOG.info("Cell2Net warm-up done in %.2f s.", time.perf_counter() - start)


@asynccontextmanager
async def lifespan(_app) -> AsyncIterator[None]:
    """``st.App`` lifespan: start :func:`warm_up` in a daemon thread; the server takes visitors meanwhile.
    ``CELL2NET_WARM_UP=0`` in the environment turns it off (the first page then does the work)."""
    if os.environ.get("CELL2NET_WARM_UP", "1").strip() == "0":
        _LOG.info("Cell2Net warm-up off (CELL2NET_WARM_UP=0).")
    else:
        threading.Thread(target=warm_up, name=WARM_THREAD, daemon=True).start()
    yield
