"""Motif evidence for TF -> gene edges: JASPAR 2024 CORE matrices scanned over the gene's linked peaks.

Matrices come from the ``pyjaspar`` package's SQLite file, read offline (latest version of
each vertebrate CORE matrix). A TF's matrices are those whose name equals it, case-insensitively,
or names it as one half of a dimer (``"FOS::JUN"`` counts for both). Each matrix becomes
log2-odds against a uniform background (pseudocount 0.8 split over the bases); a site is a
position, on either strand, whose relative score ``(score - min) / (max - min)`` is at least
:data:`THRESHOLD` (0.8, the default ``min.score="80%"`` of Bioconductor's TFBSTools). Per edge:

- ``motif_id``: the TF's matrix with the highest relative score in the gene's peaks;
- ``motif_sites``: that matrix's sites in the gene's peaks;
- ``motif_peaks``: the peaks holding them, ``;``-separated.

A TF without a JASPAR matrix gets empty ``motif_id`` and missing ``motif_sites`` (not 0).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path

import mudata as md
import numpy as np
import pandas as pd

from .data import one_hot
from .errors import Cell2NetInputError

__all__ = [
    "THRESHOLD",
    "Motif",
    "jaspar_matrices",
    "tf_matrices",
    "log_odds",
    "min_max_score",
    "best_scores",
    "relative_scores",
    "add_motif_evidence",
    "best_motif",
    "site_table",
]

RELEASE = "JASPAR2024"
THRESHOLD = 0.8
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
        TF name as JASPAR spells it (e.g. ``"SPI1"``, ``"FOS::JUN"``).
    matrix_id
        ``BASE_ID.VERSION`` (e.g. ``"MA0080.7"``).
    counts
        ``(width, 4)`` position frequency matrix, columns A, C, G, T.

    Examples
    --------
    >>> Motif("X", "MA0000.1", np.ones((3, 4))).counts.shape
    (3, 4)
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
def jaspar_matrices() -> tuple[Motif, ...]:
    """Every JASPAR 2024 CORE vertebrate matrix (latest version of each), by matrix id.

    Examples
    --------
    >>> any(m.name.upper() == "SPI1" for m in jaspar_matrices())
    True
    """
    con = sqlite3.connect(f"file:{_database()}?mode=ro", uri=True)
    try:
        latest: dict[str, tuple[int, str, int, str]] = {}
        for row in con.execute(_QUERY):
            latest[row[1]] = row  # ordered by version: the last one wins
        out = []
        for mid, base, version, name in sorted(latest.values(), key=lambda r: (r[1], r[2])):
            data = con.execute('SELECT "row", "col", "val" FROM MATRIX_DATA WHERE ID = ?', (mid,)).fetchall()
            counts = np.zeros((max(c for _, c, _ in data), 4))
            for base_letter, col, val in data:
                counts[col - 1, "ACGT".index(base_letter.upper())] = val
            out.append(Motif(name=name, matrix_id=f"{base}.{version}", counts=counts))
    finally:
        con.close()
    return tuple(out)


@lru_cache(maxsize=1)
def _by_name() -> dict[str, tuple[Motif, ...]]:
    index: dict[str, list[Motif]] = {}
    for m in jaspar_matrices():
        for part in {m.name.upper(), *m.name.upper().split("::")}:
            index.setdefault(part, []).append(m)
    return {k: tuple(v) for k, v in index.items()}


def tf_matrices(tf: str) -> tuple[Motif, ...]:
    """The TF's matrices: its own name or one half of a dimer, case-insensitively.

    Examples
    --------
    >>> sorted({m.name for m in tf_matrices("cebpa")})
    ['CEBPA', 'Ddit3::Cebpa']
    """
    return _by_name().get(str(tf).upper(), ())


def log_odds(counts: np.ndarray, *, pseudocount: float = 0.8) -> np.ndarray:
    """``(width, 4)`` log2-odds against a uniform background, with a pseudocount split over bases.

    Examples
    --------
    >>> log_odds(np.array([[10.0, 0, 0, 0]])).round(2).tolist()
    [[1.92, -3.75, -3.75, -3.75]]
    """
    freq = (counts + pseudocount / 4) / (counts.sum(axis=1, keepdims=True) + pseudocount)
    return np.log2(freq / 0.25)


def min_max_score(pwm: np.ndarray) -> tuple[float, float]:
    """Lowest and highest score a site can reach.

    Examples
    --------
    >>> min_max_score(np.array([[1.0, -1.0, 0.0, 0.0]]))
    (-1.0, 1.0)
    """
    return float(pwm.min(axis=1).sum()), float(pwm.max(axis=1).sum())


def _site_scores(onehot: np.ndarray, pwm: np.ndarray) -> np.ndarray:
    """``(n, 2, L - w + 1)`` score of every site on both strands."""
    width = pwm.shape[0]
    both = np.stack([pwm, pwm[::-1, ::-1]])  # reverse complement: reverse positions, swap A<->T, C<->G
    per_base = np.einsum("nla,swa->nslw", onehot, both)  # score of base l at motif position w
    windows = np.lib.stride_tricks.sliding_window_view(per_base, width, axis=2)  # n s p w w'
    return np.einsum("nspww->nsp", windows)


def best_scores(onehot: np.ndarray, pwm: np.ndarray) -> np.ndarray:
    """Best score of ``pwm`` on either strand of each of ``(n, L, 4)`` one-hot sequences, ``(n,)``.

    Examples
    --------
    >>> best_scores(one_hot(["ACGT"], length=4), log_odds(np.eye(4)[[0, 1]] * 10)).round(2).tolist()
    [3.84]
    """
    return _site_scores(onehot, pwm).max(axis=(1, 2))


def relative_scores(onehot: np.ndarray, pwm: np.ndarray) -> np.ndarray:
    """``(n, 2, positions)`` relative site scores ``(score - min) / (max - min)`` on both strands.

    Examples
    --------
    >>> float(relative_scores(one_hot(["ACGT"], length=4), log_odds(np.eye(4)[[0, 1]] * 10)).max())
    1.0
    """
    lo, hi = min_max_score(pwm)
    return (_site_scores(onehot, pwm) - lo) / (hi - lo)


def _gene_peaks(mdata: md.MuData, gene: str) -> tuple[list[str], np.ndarray]:
    p2g = mdata.uns["peak_to_gene"]
    peaks = p2g.loc[p2g["gene"].astype(str) == gene, "peak"].astype(str).tolist()
    if not peaks:
        msg = f"gene {gene!r} has no peaks in uns['peak_to_gene']; motif evidence needs its linked peaks."
        raise Cell2NetInputError(msg)
    seqs = mdata["atac"].uns["peaks"].loc[peaks, "sequence"].tolist()
    return peaks, one_hot(seqs, names=peaks)


def _edge(tf: str, peaks: list[str], onehot: np.ndarray, threshold: float) -> tuple[str | None, float, str]:
    """Best matrix, its number of sites and the peaks holding them."""
    best = None
    for m in tf_matrices(tf):
        rel = relative_scores(onehot, log_odds(m.counts))
        if best is None or rel.max() > best[1].max():
            best = (m, rel)
    if best is None:
        return None, np.nan, ""
    hits = (best[1] >= threshold).sum(axis=(1, 2))
    return best[0].matrix_id, float(hits.sum()), ";".join(p for p, h in zip(peaks, hits, strict=True) if h)


def add_motif_evidence(table: pd.DataFrame, mdata: md.MuData, *, threshold: float = THRESHOLD) -> pd.DataFrame:
    """The table with ``motif_id, motif_sites, motif_peaks`` (after its other columns).

    Parameters
    ----------
    table
        A TF -> gene table (``tf``, ``gene`` columns).
    mdata
        The dataset: ``uns["peak_to_gene"]`` and ``atac.uns["peaks"]["sequence"]``.
    threshold
        Relative score a site must reach.

    Examples
    --------
    >>> from cell2net_core.testing import random_dataset
    >>> t = pd.DataFrame({"tf": ["SPI1", "NOT_A_TF"], "gene": ["GENE0", "GENE0"]})
    >>> out = add_motif_evidence(t, random_dataset(n_metacells=4))
    >>> out["motif_id"].tolist()[0], bool(pd.isna(out["motif_sites"].iloc[1]))
    ('MA0080.7', True)
    """
    out = table.copy()
    cols = {"motif_id": [], "motif_sites": [], "motif_peaks": []}
    cache: dict[tuple[str, str], tuple] = {}
    seqs: dict[str, tuple[list[str], np.ndarray]] = {}
    for tf, gene in zip(out["tf"].astype(str), out["gene"].astype(str), strict=True):
        if (tf, gene) not in cache:
            if gene not in seqs:
                seqs[gene] = _gene_peaks(mdata, gene)
            cache[tf, gene] = _edge(tf, *seqs[gene], threshold)
        for key, value in zip(cols, cache[tf, gene], strict=True):
            cols[key].append(value)
    out["motif_id"] = pd.array(cols["motif_id"], dtype="string")
    out["motif_sites"] = pd.array(cols["motif_sites"], dtype="Float64").astype("Int64")
    out["motif_peaks"] = cols["motif_peaks"]
    return out


def best_motif(mdata: md.MuData, gene: str, tf: str) -> Motif | None:
    """The TF's matrix with the highest relative score in the gene's linked peaks (its edge's ``motif_id``);
    ``None`` when JASPAR has no matrix for the TF.

    Examples
    --------
    >>> from cell2net_core.testing import random_dataset
    >>> best_motif(random_dataset(n_metacells=4), "GENE0", "SPI1").matrix_id, best_motif(random_dataset(), "GENE0", "X")
    ('MA0080.7', None)
    """
    peaks, onehot = _gene_peaks(mdata, gene)
    scored = [(float(relative_scores(onehot, log_odds(m.counts)).max()), m) for m in tf_matrices(tf)]
    return max(scored, key=lambda sm: sm[0])[1] if scored else None


def site_table(mdata: md.MuData, gene: str, motif: Motif, *, threshold: float = THRESHOLD) -> pd.DataFrame:
    """Every site of ``motif`` in the gene's linked peaks: ``peak, position`` (0-based start in the peak's
    sequence), ``strand`` (``+``/``-``), ``rel_score`` (relative score, at least ``threshold``).

    Examples
    --------
    >>> from cell2net_core.testing import random_dataset
    >>> mdata = random_dataset(n_metacells=4)
    >>> sites = site_table(mdata, "GENE0", best_motif(mdata, "GENE0", "SPI1"))
    >>> sites.columns.tolist(), bool((sites["rel_score"] >= THRESHOLD).all())
    (['peak', 'position', 'strand', 'rel_score'], True)
    """
    peaks, onehot = _gene_peaks(mdata, gene)
    rel = relative_scores(onehot, log_odds(motif.counts))
    n, strand, pos = np.nonzero(rel >= threshold)
    return pd.DataFrame({"peak": [peaks[i] for i in n], "position": pos, "strand": np.array(["+", "-"])[strand],
                         "rel_score": rel[n, strand, pos]})
