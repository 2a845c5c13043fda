"""The sidebar: where the data comes from (demo, command line, typed paths) and what it holds.

Checking and opening the paths is :func:`ui.context.build_context`; this module adds the widgets,
the demo's first-start progress and the cached dataset opener.
"""

from __future__ import annotations

import os
import sys

import streamlit as st

from cell2net_core.errors import Cell2NetInputError
from ui import cache, state
from ui.context import DEMO_LABEL, FILES_LABEL, Context, Paths, build_context, failed, start_paths, start_roots

DEMO, PATHS = "demo", "paths"


def current() -> Context:
    """The context :func:`sidebar` built in this run.

    Returns
    -------
    The context ``app.py`` stored before running the page.
    """
    return st.session_state[state.CONTEXT]


def _demo_paths() -> Paths:
    try:
        from cell2net_core import demo
    except ImportError as e:
        msg = "The embedded demo is not part of this installation; choose 'My files' and give your paths."
        raise Cell2NetInputError(msg) from e
    with cache.demo_lock():
        if demo.is_complete(demo.default_demo_dir()):
            paths = demo.ensure_demo()
        else:
            note = st.info(
                "First start: building the embedded demo (a PBMC-like dataset with planted regulators, "
                "40 trained models and their attributions). This takes about a minute, once; "
                f"it is kept in {str(demo.default_demo_dir())!r}.",
                icon=":material/hourglass_top:",
            )
            bar = st.progress(0.0, text="Preparing the demo...")
            paths = demo.ensure_demo(progress=lambda f, m: bar.progress(min(max(float(f), 0.0), 1.0), text=str(m)))
            bar.empty()
            note.empty()
    return Paths(mdata=str(paths.mdata), models=str(paths.model_dir), results=str(paths.results))


def _summary(ctx: Context) -> None:
    rows = []
    if ctx.mdata is not None:
        from cell2net_core import data  # mudata and scipy: only with a dataset (a results folder alone skips them)

        rows += [
            ("Metacells", f"{ctx.mdata.n_obs:,}"),
            ("Genes with peaks", f"{len(data.genes_with_peaks(ctx.mdata)):,}"),
            ("TFs", f"{len(data.all_tfs(ctx.mdata)):,}"),
            ("Grouping columns", ", ".join(data.grouping_columns(ctx.mdata)) or "none"),
        ]
        if ctx.models is not None:
            rows.append(("Genes with checkpoints", f"{len(data.genes_with_models(ctx.mdata, ctx.models)):,}"))
    if ctx.results is not None:
        try:
            rows.append(("Genes with results (files and tf_to_gene.csv)", f"{len(cache.result_genes(ctx.results)):,}"))
        except Cell2NetInputError as e:
            st.sidebar.error(str(e))
    if ctx.can_attribute:  # the device matters to attribution only; asking it loads torch (seconds)
        from cell2net_core import model

        try:
            rows.append(("Device", model.device_label("auto")))
        except Cell2NetInputError as e:
            rows.append(("Device", str(e)))
    st.sidebar.markdown("\n".join(f"- **{k}:** {v}" for k, v in rows))
    if ctx.mdata is None or ctx.models is None:
        st.sidebar.info("No dataset and models: browsing stored results only; attribution needs both.")


def _typed_context() -> Context:
    st.sidebar.text_input("Dataset (.h5mu)", key=state.MDATA_PATH, placeholder="e.g. /data/pbmc/mdata.h5mu")
    st.sidebar.text_input("Model folder (<GENE>.pt)", key=state.MODELS_PATH, placeholder="e.g. /data/pbmc/model")
    st.sidebar.text_input("Results folder", key=state.RESULTS_PATH, placeholder="e.g. /data/pbmc/results")
    keys = (state.MDATA_PATH, state.MODELS_PATH, state.RESULTS_PATH)
    paths = Paths(*(st.session_state[k].strip() for k in keys))
    roots = start_roots(sys.argv[1:], os.environ)
    if roots:
        st.sidebar.caption(f"This server reads and writes only inside: {', '.join(map(str, roots))}.")
    return build_context(paths, label=FILES_LABEL, open_dataset=cache.open_dataset, roots=roots)


def _demo_context() -> Context:
    try:
        paths = _demo_paths()
    except Cell2NetInputError as e:
        return failed(DEMO_LABEL, str(e))
    return build_context(paths, label=DEMO_LABEL, open_dataset=cache.open_dataset)


def sidebar(start: Paths) -> Context:
    """Draw the data-source controls and summary; store and return this run's :class:`Context`.

    Parameters
    ----------
    start
        Paths the app was started with; when any is given, "My files" is the first choice and
        the text boxes start with them, else the embedded demo is.

    Returns
    -------
    The context of the chosen source, also stored for :func:`current`.
    """
    st.session_state.setdefault(state.SOURCE_KIND, PATHS if start.any() else DEMO)
    for key, value in ((state.MDATA_PATH, start.mdata), (state.MODELS_PATH, start.models),
                       (state.RESULTS_PATH, start.results)):
        st.session_state.setdefault(key, value)
    st.sidebar.header("Data source")
    kind = st.sidebar.radio(
        "Source", [DEMO, PATHS], key=state.SOURCE_KIND, horizontal=True,
        format_func={DEMO: "Embedded demo", PATHS: "My files"}.get,
    )
    ctx = _typed_context() if kind == PATHS else _demo_context()
    st.sidebar.caption(f"Showing {ctx.label}.")
    for problem in ctx.problems:
        st.sidebar.error(problem)
    _summary(ctx)
    st.session_state[state.CONTEXT] = ctx
    return ctx


def pick_paths_from_env() -> Paths:
    """:func:`~ui.context.start_paths` for this process.

    Returns
    -------
    Paths from ``sys.argv`` (what follows ``--`` on ``streamlit run``), else the environment.
    """
    return start_paths(sys.argv[1:], os.environ)
