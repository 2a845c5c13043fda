"""Known regulation: mark TF -> gene edges found in a curated reference and score the agreement.

A reference is a CSV or TSV with columns ``source`` (TF) and ``target`` (gene), optionally
``sign`` and ``weight`` (CollecTRI, DoRothEA or TRRUST exports, read from a local file).
Names match case-insensitively. Per group (cell type), :func:`known_agreement` reports:

- ``precision_at_k``: share of the group's top ``k`` edges by ``|mean_attr|`` that are known;
- ``baseline``: the same share when the same ``k`` TFs get targets drawn at random from the
  table's genes (``n_shuffles`` seeded draws, their mean) — what the TFs' popularity alone gives;
- ``enrichment``: ``precision_at_k / baseline``;
- ``p_value``: hypergeometric (``scipy.stats.hypergeom``) probability of at least that many known
  edges among ``k`` drawn from the group's rows, ``n_known`` of ``n_rows`` known.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats as sps

from .aggregate import group_column
from .errors import Cell2NetInputError

__all__ = ["read_reference", "mark_known", "known_agreement"]


def read_reference(path: str | os.PathLike) -> pd.DataFrame:
    """Read a curated TF -> target table (CSV, or TSV by a ``.tsv``/``.txt`` name or a tab header).

    Parameters
    ----------
    path
        File with ``source, target`` and optional ``sign``, ``weight`` columns.

    Examples
    --------
    >>> import tempfile
    >>> path = f"{tempfile.mkdtemp()}/ref.tsv"
    >>> _ = open(path, "w").write("source\\ttarget\\tsign\\nPAX5\\tMS4A1\\t+\\n")
    >>> read_reference(path).values.tolist()
    [['PAX5', 'MS4A1', '+']]
    """
    path = Path(path)
    if not path.is_file():
        msg = f"Reference file {str(path)!r} does not exist; give a CSV/TSV with columns source, target."
        raise Cell2NetInputError(msg)
    with open(path, encoding="utf-8", errors="replace") as fh:
        header = fh.readline()
    sep = "\t" if path.suffix.lower() in (".tsv", ".txt") or "\t" in header else ","
    try:
        ref = pd.read_csv(path, sep=sep, dtype={"source": str, "target": str})
    except Exception as e:  # pandas raises many types for a bad file
        msg = f"Cannot read reference {str(path)!r}: {type(e).__name__}: {e}"
        raise Cell2NetInputError(msg) from e
    missing = [c for c in ("source", "target") if c not in ref.columns]
    if missing:
        msg = f"Reference {str(path)!r} lacks column(s) {missing} (has {list(ref.columns)}); expected source, target."
        raise Cell2NetInputError(msg)
    keep = [c for c in ("source", "target", "sign", "weight") if c in ref.columns]
    return ref[keep].dropna(subset=["source", "target"]).reset_index(drop=True)


def _pairs(reference: pd.DataFrame) -> set[tuple[str, str]]:
    return set(zip(reference["source"].str.upper(), reference["target"].str.upper(), strict=True))


def mark_known(table: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    """The table with a boolean ``known`` column: its ``(tf, gene)`` is in the reference.

    Parameters
    ----------
    table
        A TF -> gene table.
    reference
        From :func:`read_reference`.

    Examples
    --------
    >>> t = pd.DataFrame({"tf": ["PAX5", "SPI1"], "gene": ["ms4a1", "MS4A1"]})
    >>> mark_known(t, pd.DataFrame({"source": ["Pax5"], "target": ["MS4A1"]}))["known"].tolist()
    [True, False]
    """
    pairs = _pairs(reference)
    out = table.copy()
    keys = zip(out["tf"].astype(str).str.upper(), out["gene"].astype(str).str.upper(), strict=True)
    out["known"] = [k in pairs for k in keys]
    return out


def known_agreement(
    table: pd.DataFrame, reference: pd.DataFrame, *, k: int = 20, n_shuffles: int = 1000, seed: int = 0
) -> pd.DataFrame:
    """Per group: precision at ``k`` of known edges, a shuffled-target baseline, enrichment, hypergeometric p.

    Parameters
    ----------
    table
        A TF -> gene table (with a grouping column, or one group).
    reference
        From :func:`read_reference`.
    k
        Top edges by ``|mean_attr|`` per group (fewer when the group has fewer rows).
    n_shuffles, seed
        Random target draws of the baseline.

    Returns
    -------
    Columns ``<group>, k, n_rows, n_known, known_in_top_k, precision_at_k, baseline, enrichment, p_value``.

    Examples
    --------
    >>> t = pd.DataFrame({"tf": ["A", "A", "B", "B"], "gene": ["G1", "G2", "G1", "G2"], "cell_type": "T",
    ...                   "mean_attr": [0.9, 0.1, -0.8, 0.05], "std_attr": 0.1})
    >>> ref = pd.DataFrame({"source": ["A", "B"], "target": ["G1", "G1"]})
    >>> known_agreement(t, ref, k=2)[["precision_at_k", "p_value"]].round(3).values.tolist()
    [[1.0, 0.167]]
    """
    if k < 1:
        msg = f"k must be at least 1; got {k}."
        raise Cell2NetInputError(msg)
    table = mark_known(table, reference)
    group = group_column(table) or "group"
    if group not in table.columns:
        table = table.assign(group="all")
    pairs, genes = _pairs(reference), table["gene"].astype(str).str.upper().unique()
    rng = np.random.default_rng(seed)
    rows = []
    for key, part in table.groupby(group, sort=True, observed=True):
        top = part.reindex(part["mean_attr"].abs().sort_values(ascending=False, kind="stable").index)[:k]
        tfs = top["tf"].astype(str).str.upper().to_numpy()
        draws = rng.integers(0, len(genes), size=(n_shuffles, len(top)))
        hit = np.array([[(tf, g) in pairs for g in genes] for tf in tfs]).reshape(len(tfs), len(genes))
        baseline = float(hit[np.arange(len(tfs))[None, :], draws].mean()) if len(tfs) else np.nan
        x, n_known, n = int(top["known"].sum()), int(part["known"].sum()), len(part)
        precision = x / len(top) if len(top) else np.nan
        rows.append(
            {group: key, "k": len(top), "n_rows": n, "n_known": n_known, "known_in_top_k": x,
             "precision_at_k": precision, "baseline": baseline,
             "enrichment": precision / baseline if baseline > 0 else np.nan,
             "p_value": float(sps.hypergeom.sf(x - 1, n, n_known, len(top)))}
        )  # fmt: skip
    return pd.DataFrame(rows)
