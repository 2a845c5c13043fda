"""Score stored attributions against planted edges (the demo's ``truth.csv``).

Two views, both from the FULL per-gene attributions (``<GENE>.npy`` with its TF order),
not the top-10 tables, which drop every negative mean:

- recovery: for each planted edge and each cell type where it acts, the TF's rank
  among the gene's candidate TFs by mean attribution over that type's metacells
  (largest first for activators, most negative first for repressors); a hit is a rank
  within ``top``. The sign check asks whether that mean has the planted sign.
- AUPRC over every candidate TF-gene pair of the truth's genes, scored by the largest
  absolute mean attribution over the groups, a planted edge (either sign) counting as positive.

Driver peaks (``truth_peaks.csv``, :func:`evaluate_peaks`): for each planted driver peak and
cell type where it drives its gene, the peak's rank among the gene's peaks by mean peak
attribution (``<GENE>.peaks.npy``) over that type's metacells, largest first; a hit is rank 0
(the gene's top peak there).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import Cell2NetInputError
from ..store import ResultStore

__all__ = ["Evaluation", "evaluate", "read_truth", "average_precision", "read_truth_peaks", "evaluate_peaks",
           "peak_report"]

_TRUTH_COLUMNS = ("gene", "tf", "sign", "cell_types")


@dataclass(frozen=True)
class Evaluation:
    """Result of :func:`evaluate`.

    Attributes
    ----------
    edges
        One row per planted edge and cell type where it acts: ``gene, tf, sign, cell_type,
        mean_attr, rank`` (0 = first; NaN when the TF is not a candidate of the gene), ``hit``, ``sign_ok``.
    pairs
        Every candidate pair: ``gene, tf, score, planted``.
    top
        The rank cut-off of a hit.
    auprc
        Average precision of ``pairs`` (score against planted).
    """

    edges: pd.DataFrame
    pairs: pd.DataFrame
    top: int
    auprc: float

    def share(self, sign: str, column: str = "hit") -> float:
        """Share of (edge, cell type) rows of one sign where ``column`` is true (NaN if none)."""
        rows = self.edges[self.edges["sign"] == sign]
        return float(rows[column].mean()) if len(rows) else float("nan")

    def report(self, *, groupby: str = "cell_type_v2") -> list[str]:
        """Human-readable lines; the last is the headline."""
        lines = []
        for sign, name, order in (("+", "activators", "largest"), ("-", "repressors", "most negative")):
            rows = self.edges[self.edges["sign"] == sign]
            if rows.empty:
                lines.append(f"planted {name} ({sign}): none")
                continue
            lines.append(
                f"planted {name} ({sign}): {int(rows['hit'].sum())}/{len(rows)} "
                f"({100 * self.share(sign):.1f}%) edge x cell-type pairs with the TF in its gene's top {self.top} "
                f"by {order} mean attribution there; sign {sign} in {100 * self.share(sign, 'sign_ok'):.1f}%"
            )
        n_pos = int(self.pairs["planted"].sum())
        lines.append(
            f"AUPRC {self.auprc:.3f} over {len(self.pairs)} candidate TF-gene pairs ({n_pos} planted, chance "
            f"{n_pos / max(len(self.pairs), 1):.3f}); score: max over {groupby} groups of |mean attribution|"
        )
        lines.append(
            f"headline: {100 * self.share('+'):.1f}% of planted activators in their gene's top {self.top} where they "
            f"act; repressors with negative sign in {100 * self.share('-', 'sign_ok'):.1f}% "
            f"(top {self.top}: {100 * self.share('-'):.1f}%); AUPRC {self.auprc:.3f}"
        )
        return lines


def read_truth(path: str | os.PathLike) -> pd.DataFrame:
    """Read a truth table ``gene, tf, sign, cell_types`` and check it."""
    path = Path(path)
    if not path.is_file():
        msg = f"Truth file {str(path)!r} does not exist; give the demo's truth.csv."
        raise Cell2NetInputError(msg)
    truth = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in _TRUTH_COLUMNS if c not in truth.columns]
    if missing:
        msg = f"{str(path)!r} lacks column(s) {missing}; expected {', '.join(_TRUTH_COLUMNS)}."
        raise Cell2NetInputError(msg)
    bad = sorted(set(truth["sign"]) - {"+", "-"})
    if bad:
        msg = f"{str(path)!r}: column 'sign' holds {bad}; expected '+' or '-'."
        raise Cell2NetInputError(msg)
    return truth


def average_precision(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the precision-recall curve as average precision (ties broken by order).

    Examples
    --------
    >>> round(average_precision(np.array([0.9, 0.8, 0.1]), np.array([1, 0, 1])), 4)
    0.8333
    """
    labels = np.asarray(labels, dtype=bool)
    if not labels.any():
        return float("nan")
    order = np.argsort(-np.asarray(scores, dtype=float), kind="stable")
    hits = labels[order]
    precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float(precision[hits].sum() / hits.sum())


def evaluate(truth: pd.DataFrame, results: str | os.PathLike, *, groups: pd.Series, top: int = 3) -> Evaluation:
    """Rank planted edges in stored attributions.

    Parameters
    ----------
    truth
        Planted edges (:func:`read_truth`).
    results
        Results folder holding ``<GENE>.npy`` and ``<GENE>.json`` for every gene of the truth.
    groups
        Cell type of each metacell, indexed by metacell id (e.g. ``mdata.obs["cell_type_v2"]``).
    top
        A planted TF is a hit when its rank (from 0) is below ``top``.

    Examples
    --------
    >>> ev = evaluate(read_truth("demo/truth.csv"), "demo/results", groups=mdata.obs["cell_type_v2"])  # doctest: +SKIP
    >>> print(ev.report()[-1])  # doctest: +SKIP
    """
    store = ResultStore(results)
    groups = groups.astype(str)
    groups.index = groups.index.astype(str)
    missing = [g for g in pd.unique(truth["gene"]) if not store.has(g)]
    if missing:
        msg = f"No stored attributions (<GENE>.npy) in {str(results)!r} for gene(s) {missing[:5]}; run attribute first."
        raise Cell2NetInputError(msg)
    edge_rows, pair_rows = [], []
    for gene, edges in truth.groupby("gene", sort=False):
        att = store.load(gene)
        labels = groups.reindex(att.obs_names)
        if labels.isna().any():
            msg = f"Gene {gene!r}: stored metacell ids are not in the grouping given (e.g. {att.obs_names[0]!r})."
            raise Cell2NetInputError(msg)
        means = pd.DataFrame(att.attr, columns=att.tfs).groupby(labels.to_numpy()).mean()
        planted = set(edges["tf"])
        score = means.abs().max(axis=0)
        pair_rows += [(gene, tf, float(score[tf]), tf in planted) for tf in att.tfs]
        for e in edges.itertuples(index=False):
            for cell_type in [c for c in e.cell_types.split(";") if c]:
                if e.tf not in means.columns or cell_type not in means.index:
                    edge_rows.append((gene, e.tf, e.sign, cell_type, np.nan, np.nan, False, False))
                    continue
                row = means.loc[cell_type]
                value = float(row[e.tf])
                rank = int((row > value).sum() if e.sign == "+" else (row < value).sum())
                ok = value > 0 if e.sign == "+" else value < 0
                edge_rows.append((gene, e.tf, e.sign, cell_type, value, rank, rank < top, ok))
    edges = pd.DataFrame(edge_rows, columns=["gene", "tf", "sign", "cell_type", "mean_attr", "rank", "hit", "sign_ok"])
    pairs = pd.DataFrame(pair_rows, columns=["gene", "tf", "score", "planted"])
    auprc = average_precision(pairs["score"].to_numpy(), pairs["planted"].to_numpy())
    return Evaluation(edges=edges, pairs=pairs, top=top, auprc=auprc)



def read_truth_peaks(path: str | os.PathLike) -> pd.DataFrame:
    """Read planted driver peaks ``gene, peak, cell_types`` (``;``-separated) and check the columns."""
    path = Path(path)
    if not path.is_file():
        msg = f"Driver-peak truth {str(path)!r} does not exist; give the demo's truth_peaks.csv."
        raise Cell2NetInputError(msg)
    truth = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in ("gene", "peak", "cell_types") if c not in truth.columns]
    if missing:
        msg = f"{str(path)!r} lacks column(s) {missing}; expected gene, peak, cell_types."
        raise Cell2NetInputError(msg)
    return truth


def evaluate_peaks(truth_peaks: pd.DataFrame, results: str | os.PathLike, *, groups: pd.Series) -> pd.DataFrame:
    """Rank planted driver peaks among their gene's peaks by mean peak attribution where they drive.

    Parameters
    ----------
    truth_peaks
        Planted driver peaks (:func:`read_truth_peaks`).
    results
        Results folder holding ``<GENE>.peaks.npy`` / ``.peaks.json`` for every gene of the truth.
    groups
        Cell type of each metacell, indexed by metacell id.

    Returns
    -------
    One row per driver peak and cell type: ``gene, peak, cell_type, mean_attr, rank`` (0 = the
    gene's largest mean there), ``top`` (rank 0).

    Examples
    --------
    >>> rows = evaluate_peaks(read_truth_peaks("demo/truth_peaks.csv"), "demo/results",
    ...                       groups=mdata.obs["cell_type_v2"])  # doctest: +SKIP
    """
    store = ResultStore(results)
    groups = groups.astype(str)
    groups.index = groups.index.astype(str)
    missing = [g for g in pd.unique(truth_peaks["gene"]) if g not in store.peak_genes()]
    if missing:
        msg = f"No stored peak attributions (<GENE>.peaks.npy) in {str(results)!r} for gene(s) {missing[:5]}; " \
              "run attribute --peaks first."
        raise Cell2NetInputError(msg)
    rows = []
    for gene, drivers in truth_peaks.groupby("gene", sort=False):
        res = store.load_peaks(gene)
        means = pd.DataFrame(res.attr, columns=res.peaks).groupby(groups.reindex(res.obs_names).to_numpy()).mean()
        for d in drivers.itertuples(index=False):
            for cell_type in [c for c in d.cell_types.split(";") if c]:
                if d.peak not in means.columns or cell_type not in means.index:
                    rows.append((gene, d.peak, cell_type, np.nan, np.nan, False))
                    continue
                row = means.loc[cell_type]
                rank = int((row > row[d.peak]).sum())
                rows.append((gene, d.peak, cell_type, float(row[d.peak]), rank, rank == 0))
    return pd.DataFrame(rows, columns=["gene", "peak", "cell_type", "mean_attr", "rank", "top"])


def peak_report(rows: pd.DataFrame) -> str:
    """One line: how many planted driver peak x cell-type pairs are their gene's top peak.

    Examples
    --------
    >>> peak_report(pd.DataFrame({"top": [True, False, True, True]}))
    "driver peaks: 3/4 (75.0%) planted driver peak x cell-type pairs are their gene's top peak by mean peak \
attribution there"
    """
    n, hits = len(rows), int(rows["top"].sum())
    return (f"driver peaks: {hits}/{n} ({100 * hits / max(n, 1):.1f}%) planted driver peak x cell-type pairs are "
            "their gene's top peak by mean peak attribution there")
