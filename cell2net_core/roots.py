"""Data roots: on a shared server, the folders inside which every typed path must lie.

Set with ``--data-root DIR`` (repeatable; the app takes it after ``--``) or the environment
variable ``CELL2NET_DATA_ROOTS`` (folders separated by ``:``). With no root set, any path is
accepted (a single user's machine). A path is resolved first (``~``, ``..`` and symlinks),
then checked; the refusal reads the same whether the path exists or not.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from .errors import Cell2NetInputError

__all__ = ["ENV", "data_roots", "inside_roots"]

ENV = "CELL2NET_DATA_ROOTS"


def _resolve(path: str | os.PathLike) -> Path:
    expanded = os.path.expanduser(os.fspath(path))
    try:
        return Path(expanded).resolve()
    except (OSError, RuntimeError):  # a symlink loop: fall back to the lexical path
        return Path(os.path.abspath(expanded))


def data_roots(given: Sequence[str] | None = None, *, environ: Mapping[str, str] = os.environ) -> tuple[Path, ...]:
    """The data roots: ``given`` (``--data-root`` values) when any, else ``CELL2NET_DATA_ROOTS``; resolved.

    Examples
    --------
    >>> data_roots(None, environ={ENV: "/srv/a:/srv/b"})
    (PosixPath('/srv/a'), PosixPath('/srv/b'))
    >>> data_roots(["/srv/c"], environ={ENV: "/srv/a"})
    (PosixPath('/srv/c'),)
    """
    values = list(given or []) or environ.get(ENV, "").split(os.pathsep)
    return tuple(_resolve(v) for v in values if v.strip())


def inside_roots(path: str | os.PathLike, roots: Sequence[Path], *, what: str = "path") -> Path:
    """``path`` resolved; with roots set, it must lie inside one, else :class:`Cell2NetInputError`.

    Parameters
    ----------
    path
        A typed dataset, model or results path.
    roots
        From :func:`data_roots`; empty means no restriction.
    what
        What the path is, for the message (e.g. ``"results folder"``).

    Examples
    --------
    >>> roots = data_roots(["/srv/lab"])
    >>> inside_roots("/srv/lab/pbmc/../pbmc/mdata.h5mu", roots)
    PosixPath('/srv/lab/pbmc/mdata.h5mu')
    >>> inside_roots("/etc/shadow", roots, what="dataset")
    Traceback (most recent call last):
    ...
    cell2net_core.errors.Cell2NetInputError: The dataset '/etc/shadow' is not inside the data folders ...
    """
    resolved = _resolve(path)
    if roots and not any(resolved == r or resolved.is_relative_to(r) for r in roots):
        msg = (
            f"The {what} {os.fspath(path)!r} is not inside the data folders this server allows "
            f"({', '.join(map(str, roots))}); put your files under one of them."
        )
        raise Cell2NetInputError(msg)
    return resolved
