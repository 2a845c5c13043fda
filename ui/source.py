"""Where the data comes from (demo, command line, typed paths) and the sidebar that shows it."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import mudata as md
import streamlit as st

from cell2net_core import data, model
from cell2net_core.errors import Cell2NetInputError
from cell2net_core.store import ResultStore
from ui import cache, state

ENV = {"mdata": "C2N_MDATA", "models": "C2N_MODELS", "results": "C2N_RESULTS"}
DEMO, PATHS = "demo", "paths"


@dataclass(frozen=True)
class Paths:
    """User-given paths; any may be empty."""

    mdata: str = ""
    models: str = ""
    results: str = ""

    def any(self) -> bool:
        """Whether any path is given."""
        return bool(self.mdata or self.models or self.results)


def start_paths(argv: Sequence[str], environ: Mapping[str, str]) -> Paths:
    """Paths from ``streamlit run app.py -- --mdata ... --models ... --results ...``, else env vars.

    Examples
    --------
    >>> start_paths(["--results", "out"], {}).results
    'out'
    """
    parser = argparse.ArgumentParser(add_help=False)
    for name in ENV:
        parser.add_argument(f"--{name}", default=None)
    args, _ = parser.parse_known_args(list(argv))
    return Paths(**{k: getattr(args, k) or environ.get(v, "") for k, v in ENV.items()})


@dataclass
class Context:
    """What the pages work on in this run; ``None`` where that part is missing or broken."""

    label: str
    mdata_path: Path | None = None
    models: Path | None = None
    results: Path | None = None
    mdata: md.MuData | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def store(self) -> ResultStore | None:
        """The results folder as a store, if one is given."""
        return ResultStore(self.results) if self.results is not None else None

    @property
    def can_attribute(self) -> bool:
        """Dataset, models and results folder are all there."""
        return self.mdata is not None and self.models is not None and self.results is not None


def current() -> Context:
    """The context :func:`sidebar` built in this run."""
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


def _check_dir(path: str, what: str, problems: list[str], *, create: bool = False) -> Path | None:
    if not path:
        return None
    p = Path(path).expanduser()
    if create and not p.exists():
        try:
            p.mkdir(parents=True)
        except OSError as e:
            problems.append(f"Cannot create the {what} {str(p)!r}: {e.strerror or e}.")
            return None
    if not p.is_dir():
        problems.append(f"The {what} {str(p)!r} does not exist or is not a folder.")
        return None
    return p


def build_context(paths: Paths, *, label: str) -> Context:
    """Open what ``paths`` name; every failure becomes a message in ``problems``."""
    ctx = Context(label=label)
    ctx.models = _check_dir(paths.models, "model folder", ctx.problems)
    ctx.results = _check_dir(paths.results, "results folder", ctx.problems, create=bool(paths.mdata))
    if paths.mdata:
        try:
            ctx.mdata = cache.open_dataset(paths.mdata)
            ctx.mdata_path = Path(paths.mdata).expanduser().resolve()
        except Cell2NetInputError as e:
            ctx.problems.append(str(e))
    if not paths.any():
        ctx.problems.append("No data given: type a dataset, model folder and/or results folder.")
    return ctx


def _summary(ctx: Context) -> None:
    rows = []
    if ctx.mdata is not None:
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
            rows.append(("Genes with cached results", f"{len(cache.result_genes(ctx.results)):,}"))
        except Cell2NetInputError as e:
            st.sidebar.error(str(e))
    try:
        rows.append(("Device", model.device_label("auto")))
    except Cell2NetInputError as e:
        rows.append(("Device", str(e)))
    st.sidebar.markdown("\n".join(f"- **{k}:** {v}" for k, v in rows))
    if ctx.mdata is None or ctx.models is None:
        st.sidebar.info("No dataset and models: browsing stored results only; attribution needs both.")


def sidebar(start: Paths) -> Context:
    """Draw the data-source controls and summary; store and return this run's :class:`Context`."""
    st.session_state.setdefault(state.SOURCE_KIND, PATHS if start.any() else DEMO)
    for key, value in ((state.MDATA_PATH, start.mdata), (state.MODELS_PATH, start.models),
                       (state.RESULTS_PATH, start.results)):
        st.session_state.setdefault(key, value)
    st.sidebar.header("Data source")
    kind = st.sidebar.radio(
        "Source", [DEMO, PATHS], key=state.SOURCE_KIND, horizontal=True,
        format_func={DEMO: "Embedded demo", PATHS: "My files"}.get,
    )
    if kind == PATHS:
        st.sidebar.text_input("Dataset (.h5mu)", key=state.MDATA_PATH, placeholder="/data/pbmc/mdata.h5mu")
        st.sidebar.text_input("Model folder (<GENE>.pt)", key=state.MODELS_PATH, placeholder="/data/pbmc/model")
        st.sidebar.text_input("Results folder", key=state.RESULTS_PATH, placeholder="/data/pbmc/results")
        paths = Paths(*(st.session_state[k].strip() for k in (state.MDATA_PATH, state.MODELS_PATH,
                                                                   state.RESULTS_PATH)))
        ctx = build_context(paths, label="your files")
    else:
        try:
            ctx = build_context(_demo_paths(), label="the embedded demo")
        except Cell2NetInputError as e:
            ctx = Context(label="the embedded demo", problems=[str(e)])
    st.sidebar.caption(f"Showing {ctx.label}.")
    for problem in ctx.problems:
        st.sidebar.error(problem)
    _summary(ctx)
    st.session_state[state.CONTEXT] = ctx
    return ctx


def pick_paths_from_env() -> Paths:
    """:func:`start_paths` for this process (``sys.argv`` after ``--`` and the environment)."""
    return start_paths(sys.argv[1:], os.environ)
