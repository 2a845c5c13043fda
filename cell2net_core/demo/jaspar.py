"""TF motifs from JASPAR 2024 CORE vertebrates, read offline from the ``pyjaspar`` package.

``pyjaspar`` ships the JASPAR releases as SQLite files; this module queries the 2024
file directly (latest version of each matrix, as ``pyjaspar.fetch_motifs`` returns
them) so nothing touches the network. Names are matched case-insensitively and one
motif is kept per upper-cased name, the last one, as ``cell2net`` does.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path

import numpy as np

from ..errors import Cell2NetInputError

__all__ = ["Motif", "jaspar_motifs", "log_odds", "best_scores", "min_max_score"]

RELEASE = "JASPAR2024"
_QUERY = """
SELECT m.ID, m.BASE_ID, m.VERSION, m.NAME FROM MATRIX m
JOIN MATRIX_ANNOTATION a ON a.ID = m.ID
WHERE m.COLLECTION = 'CORE' AND a.TAG = 'tax_group' AND a.VAL = 'vertebrates'
ORDER BY m.BASE_ID, m.VERSION
"""


@dataclass(frozen=True)
class Motif:
    """One JASPAR matrix.

    Attributes
    ----------
    name
        TF name as JASPAR spells it (e.g. ``"SPI1"``).
    matrix_id
        ``BASE_ID.VERSION`` (e.g. ``"MA0080.7"``).
    counts
        ``(width, 4)`` position frequency matrix, columns A, C, G, T.
    """

    name: str
    matrix_id: str
    counts: np.ndarray


def _database() -> Path:
    spec = find_spec("pyjaspar")
    if spec is None or not spec.submodule_search_locations:
        msg = "The pyjaspar package is not installed; run `pip install pyjaspar==4.0.0` (it ships JASPAR offline)."
        raise Cell2NetInputError(msg)
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / f"{RELEASE}.sqlite"
    if not path.is_file():
        msg = f"pyjaspar has no {RELEASE} database at {str(path)!r}; install pyjaspar>=3."
        raise Cell2NetInputError(msg)
    return path


@lru_cache(maxsize=1)
def jaspar_motifs() -> dict[str, Motif]:
    """JASPAR 2024 CORE vertebrate motifs keyed by upper-case TF name (one per name).

    Examples
    --------
    >>> jaspar_motifs()["SPI1"].counts.shape[1]  # doctest: +SKIP
    4
    """
    con = sqlite3.connect(f"file:{_database()}?mode=ro", uri=True)
    try:
        latest: dict[str, tuple[int, str, int, str]] = {}
        for row in con.execute(_QUERY):
            latest[row[1]] = row  # ordered by version: the last one wins
        out: dict[str, Motif] = {}
        for mid, base, version, name in sorted(latest.values(), key=lambda r: (r[1], r[2])):
            data = con.execute('SELECT "row", "col", "val" FROM MATRIX_DATA WHERE ID = ?', (mid,)).fetchall()
            width = max(c for _, c, _ in data)
            counts = np.zeros((width, 4))
            for base_letter, col, val in data:
                counts[col - 1, "ACGT".index(base_letter.upper())] = val
            out[name.upper()] = Motif(name=name, matrix_id=f"{base}.{version}", counts=counts)
    finally:
        con.close()
    return out


def log_odds(counts: np.ndarray, *, pseudocount: float = 0.8) -> np.ndarray:
    """``(width, 4)`` log2-odds against a uniform background, with a pseudocount split over bases."""
    freq = (counts + pseudocount / 4) / (counts.sum(axis=1, keepdims=True) + pseudocount)
    return np.log2(freq / 0.25)


def min_max_score(pwm: np.ndarray) -> tuple[float, float]:
    """Lowest and highest score a site can reach."""
    return float(pwm.min(axis=1).sum()), float(pwm.max(axis=1).sum())


def best_scores(onehot: np.ndarray, pwm: np.ndarray) -> np.ndarray:
    """Best score of ``pwm`` on either strand of each sequence.

    Parameters
    ----------
    onehot
        ``(n, L, 4)`` one-hot sequences (A, C, G, T).
    pwm
        ``(w, 4)`` log-odds matrix.

    Returns
    -------
    ``(n,)`` best site score over positions and both strands.
    """
    width = pwm.shape[0]
    both = np.stack([pwm, pwm[::-1, ::-1]])  # reverse complement: reverse positions, swap A<->T, C<->G
    per_base = np.einsum("nla,swa->nslw", onehot, both)  # score of base l at motif position w
    windows = np.lib.stride_tricks.sliding_window_view(per_base, width, axis=2)  # n s p w w'
    diag = np.einsum("nspww->nsp", windows)
    return diag.max(axis=(1, 2))
