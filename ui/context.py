"""What the pages work on: the user's paths checked and opened, with no Streamlit inside.

:func:`build_context` turns :class:`Paths` into a :class:`Context`; every failure becomes a
message in :attr:`Context.problems`. The sidebar (:mod:`ui.source`) draws the widgets and
passes its cached dataset opener.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from cell2net_core.errors import Cell2NetInputError
from cell2net_core.roots import data_roots, inside_roots

if TYPE_CHECKING:
    import mudata as md

ENV = {"mdata": "C2N_MDATA", "models": "C2N_MODELS", "results": "C2N_RESULTS"}
DEMO_LABEL, FILES_LABEL = "the embedded demo", "your files"
NO_DATA = "No data given: type a dataset, model folder and/or results folder."


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

    Parameters
    ----------
    argv
        Command-line arguments (unknown ones are ignored).
    environ
        Environment; ``C2N_MDATA``, ``C2N_MODELS`` and ``C2N_RESULTS`` fill what ``argv`` lacks.

    Returns
    -------
    The paths, ``""`` where neither gives one.

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


def start_roots(argv: Sequence[str], environ: Mapping[str, str]) -> tuple[Path, ...]:
    """Data roots from ``streamlit run app.py -- --data-root DIR ...`` (repeatable), else ``CELL2NET_DATA_ROOTS``.

    Examples
    --------
    >>> start_roots(["--data-root", "/srv/a", "--data-root", "/srv/b"], {})
    (PosixPath('/srv/a'), PosixPath('/srv/b'))
    >>> start_roots([], {"CELL2NET_DATA_ROOTS": "/srv/lab"})
    (PosixPath('/srv/lab'),)
    """
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--data-root", action="append", default=None)
    args, _ = parser.parse_known_args(list(argv))
    return data_roots(args.data_root, environ=environ)


def allowed(path: str, what: str, roots: Sequence[Path], problems: list[str]) -> str:
    """``path`` resolved when it lies inside the roots (or no root is set); else ``""`` and a message."""
    if not path or not roots:
        return path
    try:
        return str(inside_roots(path, roots, what=what))
    except Cell2NetInputError as e:
        problems.append(str(e))
        return ""


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
    def can_attribute(self) -> bool:
        """Dataset, models and results folder are all there."""
        return self.mdata is not None and self.models is not None and self.results is not None


def check_dir(path: str, what: str, problems: list[str], *, create: bool = False) -> Path | None:
    """The folder ``path`` names, or ``None`` (with a message in ``problems`` unless ``path`` is empty).

    Parameters
    ----------
    path
        Folder path; ``~`` is expanded. Empty means "not given".
    what
        What the folder is, for the message (e.g. ``"model folder"``).
    problems
        List the message is appended to.
    create
        Create the folder (and its parents) when it does not exist.

    Returns
    -------
    The folder, or ``None`` when not given, not a folder or not creatable.

    Examples
    --------
    >>> problems = []
    >>> check_dir("/no/such/dir", "model folder", problems), problems
    (None, ["The model folder '/no/such/dir' does not exist or is not a folder."])
    """
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


def build_context(
    paths: Paths, *, label: str, open_dataset: Callable[[str], md.MuData], roots: Sequence[Path] = ()
) -> Context:
    """Check and open what ``paths`` name; every failure becomes a message in ``problems``.

    Parameters
    ----------
    paths
        The user's paths; empty ones are left out without a message.
    label
        What the context shows, for the sidebar (e.g. :data:`DEMO_LABEL`, :data:`FILES_LABEL`).
    open_dataset
        Opens and validates the dataset file (the app passes its cached opener); raises
        :class:`~cell2net_core.errors.Cell2NetInputError` for a missing or bad file.
    roots
        Data roots (:func:`start_roots`): when set, a path outside them is refused before it is
        looked at, with a message that reads the same whether it exists or not.

    Returns
    -------
    The context; a missing or broken part is ``None`` and named in ``problems``. The results
    folder is created when a dataset is given (attributions are written there).
    """
    ctx = Context(label=label)
    given = paths.any()
    paths = Paths(
        mdata=allowed(paths.mdata, "dataset", roots, ctx.problems),
        models=allowed(paths.models, "model folder", roots, ctx.problems),
        results=allowed(paths.results, "results folder", roots, ctx.problems),
    )  # outside the roots: nothing is looked at, opened or created
    ctx.models = check_dir(paths.models, "model folder", ctx.problems)
    ctx.results = check_dir(paths.results, "results folder", ctx.problems, create=bool(paths.mdata))
    if paths.mdata:
        try:
            ctx.mdata = open_dataset(paths.mdata)
            ctx.mdata_path = Path(paths.mdata).expanduser().resolve()
        except Cell2NetInputError as e:
            ctx.problems.append(str(e))
    if not given:
        ctx.problems.append(NO_DATA)
    return ctx


def failed(label: str, problem: str) -> Context:
    """A context with nothing in it, only ``problem`` (e.g. the demo could not be built).

    Examples
    --------
    >>> failed(DEMO_LABEL, "no demo").problems
    ['no demo']
    """
    return Context(label=label, problems=[problem])
