"""Per-gene model quality: how well each gene's model predicts its observed expression.

Attributions of a model that predicts nothing are noise, so every gene's attributions are
shown beside its model's fit. The numbers compare predicted and observed counts over
metacells **on the log1p scale** (``log(1 + count)`` of both), because raw counts are
heavy-tailed and a few large metacells would otherwise decide Pearson's r:

- ``pearson_r``: Pearson correlation (``scipy.stats.pearsonr``) of log1p(observed) and
  log1p(predicted);
- ``r2``: coefficient of determination ``1 - SS_res / SS_tot`` of log1p(observed) by
  log1p(predicted) (negative when the model is worse than predicting the mean).

Where the numbers come from (column ``source``), in order of preference:

1. the checkpoint's stored ``results`` (``true, pred, data``; cell2net stores the best
   epoch's counts there): the **validation** metacells when at least 3 are stored, else all;
2. computed with :func:`cell2net_core.model.predict` on the dataset: **all** metacells,
   training ones included (so optimistic).

``valid_spearman`` is the checkpoint ``history``'s best ``valid_corr`` (cell2net's own
Spearman correlation on the validation metacells) when stored. Unknown values are NaN.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..errors import Cell2NetInputError

if TYPE_CHECKING:  # torch, scipy.stats and mudata load when a checkpoint is read, not with the module
    import mudata as md

__all__ = [
    "GeneQuality",
    "QUALITY_COLUMNS",
    "fit_stats",
    "stored_quality",
    "computed_quality",
    "model_quality",
    "describe_quality",
    "filter_by_quality",
    "worst_genes",
]

QUALITY_COLUMNS = ["gene", "pearson_r", "r2", "n_metacells", "metacells", "valid_spearman", "source", "note"]
MIN_METACELLS = 3


@dataclass(frozen=True)
class GeneQuality:
    """One gene's fit, predicted vs observed counts on the log1p scale.

    Attributes
    ----------
    gene
        Target gene.
    pearson_r, r2
        Pearson r and R^2 over ``n_metacells`` metacells; NaN when unknown.
    n_metacells
        Metacells the numbers are over.
    metacells
        ``"validation"`` (stored held-out metacells) or ``"all"`` (training ones included).
    valid_spearman
        cell2net's best validation Spearman correlation from ``history``; NaN when not stored.
    source
        ``"checkpoint results"``, ``"computed"`` or ``"unknown"``.
    note
        Why a value is unknown, else empty.

    Examples
    --------
    >>> GeneQuality("G", 0.5, 0.2, 10, "all", float("nan"), "computed", "").pearson_r
    0.5
    """

    gene: str
    pearson_r: float
    r2: float
    n_metacells: int
    metacells: str
    valid_spearman: float
    source: str
    note: str = ""


def fit_stats(observed: np.ndarray, predicted: np.ndarray) -> tuple[float, float]:
    """Pearson r and R^2 of ``log1p(observed)`` by ``log1p(predicted)``; NaN when either is constant.

    Parameters
    ----------
    observed, predicted
        Counts per metacell (non-negative).

    Examples
    --------
    >>> r, r2 = fit_stats(np.array([0, 1, 3, 7.0]), np.array([0, 1, 3, 7.0]))
    >>> round(r, 6), round(r2, 6)
    (1.0, 1.0)
    >>> fit_stats(np.array([1, 2, 3.0]), np.array([5, 5, 5.0]))
    (nan, nan)
    """
    y = np.log1p(np.asarray(observed, dtype=float))
    yhat = np.log1p(np.asarray(predicted, dtype=float))
    ok = np.isfinite(y) & np.isfinite(yhat)
    y, yhat = y[ok], yhat[ok]
    if len(y) < MIN_METACELLS or np.ptp(y) == 0 or np.ptp(yhat) == 0:
        return float("nan"), float("nan")
    from scipy.stats import pearsonr

    r = float(pearsonr(y, yhat).statistic)
    r2 = 1.0 - float(np.sum((y - yhat) ** 2)) / float(np.sum((y - y.mean()) ** 2))
    return r, r2


def _read(path: Path) -> dict:
    import torch

    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # pickle, zip and torch raise many types
        msg = f"Cannot read checkpoint {str(path)!r} with torch.load(weights_only=True): {type(e).__name__}: {e}"
        raise Cell2NetInputError(msg) from e
    if not isinstance(ckpt, dict):
        msg = f"Checkpoint {str(path)!r} holds a {type(ckpt).__name__}, not cell2net's dict."
        raise Cell2NetInputError(msg)
    return ckpt


def _column(table: dict, name: str) -> list:
    values = table.get(name) or {}
    return [values[k] for k in sorted(values)] if isinstance(values, dict) else list(values)


def _best_valid_spearman(history: dict) -> float:
    corr = np.asarray([v for v in _column(history or {}, "valid_corr") if v is not None], dtype=float)
    corr = corr[np.isfinite(corr)]
    return float(corr.max()) if len(corr) else float("nan")


def stored_quality(path: str | os.PathLike) -> GeneQuality:
    """A gene's fit from its checkpoint's stored ``results`` (and ``history``), without the dataset.

    Parameters
    ----------
    path
        ``<GENE>.pt``, read with ``torch.load(weights_only=True)``.

    Returns
    -------
    :class:`GeneQuality`; ``source`` is ``"unknown"`` (NaN values) when no results are stored.

    Examples
    --------
    >>> import tempfile
    >>> from cell2net_core.data import gene_inputs
    >>> from cell2net_core.model import save_checkpoint
    >>> from cell2net_core.testing import random_dataset, random_model
    >>> module = random_model(gene_inputs(random_dataset(n_metacells=8), "GENE0"))
    >>> results = pd.DataFrame({"true": [0, 2, 5, 9], "pred": [1, 2, 4, 8], "data": ["valid"] * 4})
    >>> q = stored_quality(save_checkpoint(module, f"{tempfile.mkdtemp()}/GENE0.pt", results=results))
    >>> q.source, q.metacells, q.n_metacells, round(q.pearson_r, 2)
    ('checkpoint results', 'validation', 4, 0.97)
    """
    path = Path(path)
    ckpt = _read(path)
    spearman = _best_valid_spearman(ckpt.get("history") or {})
    results = ckpt.get("results") or {}
    true = np.asarray(_column(results, "true"), dtype=float)
    pred = np.asarray(_column(results, "pred"), dtype=float)
    if len(true) == 0 or len(true) != len(pred):
        return GeneQuality(path.stem, np.nan, np.nan, 0, "-", spearman, "unknown", "no results in the checkpoint")
    split = np.asarray(_column(results, "data"), dtype=object)
    valid = split == "valid" if len(split) == len(true) else np.zeros(len(true), dtype=bool)
    if valid.sum() >= MIN_METACELLS:
        true, pred, which = true[valid], pred[valid], "validation"
    else:
        which = "all"
    r, r2 = fit_stats(true, pred)
    return GeneQuality(path.stem, r, r2, len(true), which, spearman, "checkpoint results")


def computed_quality(mdata: md.MuData, gene: str, *, model_dir: str | os.PathLike) -> GeneQuality:
    """A gene's fit computed with :func:`~cell2net_core.model.predict` over all metacells of the dataset.

    Parameters
    ----------
    mdata
        The dataset the model was trained on.
    gene
        Target gene; its checkpoint is ``model_dir/<gene>.pt``.
    model_dir
        The model folder.

    Examples
    --------
    >>> import tempfile
    >>> from cell2net_core.data import gene_inputs
    >>> from cell2net_core.model import save_checkpoint
    >>> from cell2net_core.testing import random_dataset, random_model
    >>> mdata = random_dataset(n_metacells=16)
    >>> folder = tempfile.mkdtemp()
    >>> _ = save_checkpoint(random_model(gene_inputs(mdata, "GENE0")), f"{folder}/GENE0.pt")
    >>> q = computed_quality(mdata, "GENE0", model_dir=folder)
    >>> q.source, q.metacells, q.n_metacells
    ('computed', 'all', 16)
    """
    from ..data import gene_inputs
    from ..model import load_checkpoint, predict

    inputs = gene_inputs(mdata, gene)
    module = load_checkpoint(Path(model_dir) / f"{gene}.pt", inputs, device="cpu")
    r, r2 = fit_stats(inputs.target, predict(module, inputs))
    spearman = _best_valid_spearman(_read(Path(model_dir) / f"{gene}.pt").get("history") or {})
    return GeneQuality(gene, r, r2, inputs.n_metacells, "all", spearman, "computed")


def model_quality(
    model_dir: str | os.PathLike, *, genes: list[str] | None = None, mdata: md.MuData | None = None
) -> pd.DataFrame:
    """Every gene's fit in a model folder: stored results first, else computed when the dataset is given.

    One unreadable checkpoint gives that gene a ``note`` and NaN values; the others go on.

    Parameters
    ----------
    model_dir
        Folder of ``<GENE>.pt`` checkpoints.
    genes
        Only these genes (default: every checkpoint in the folder).
    mdata
        The dataset, to compute the fit of checkpoints without stored results.

    Returns
    -------
    DataFrame with :data:`QUALITY_COLUMNS`, one row per gene, sorted by gene.

    Examples
    --------
    >>> import tempfile
    >>> from cell2net_core.data import gene_inputs
    >>> from cell2net_core.model import save_checkpoint
    >>> from cell2net_core.testing import random_dataset, random_model
    >>> mdata = random_dataset(n_metacells=16)
    >>> folder = tempfile.mkdtemp()
    >>> _ = save_checkpoint(random_model(gene_inputs(mdata, "GENE0")), f"{folder}/GENE0.pt")
    >>> model_quality(folder)["source"].tolist(), model_quality(folder, mdata=mdata)["source"].tolist()
    (['unknown'], ['computed'])
    """
    folder = Path(model_dir)
    names = sorted(p.stem for p in folder.glob("*.pt")) if genes is None else sorted(genes)
    rows = []
    for gene in names:
        try:
            q = stored_quality(folder / f"{gene}.pt")
            if q.source == "unknown" and mdata is not None:
                q = computed_quality(mdata, gene, model_dir=folder)
        except Cell2NetInputError as e:
            q = GeneQuality(gene, np.nan, np.nan, 0, "-", np.nan, "unknown", str(e))
        rows.append(asdict(q))
    return pd.DataFrame(rows, columns=QUALITY_COLUMNS)


def describe_quality(quality: pd.DataFrame, gene: str) -> str:
    """One line for a gene's fit, or ``"model fit: -"`` (unknown is never 0).

    Parameters
    ----------
    quality
        :func:`model_quality` output.
    gene
        The gene.

    Examples
    --------
    >>> q = pd.DataFrame([{"gene": "G", "pearson_r": 0.61, "r2": 0.3, "n_metacells": 200,
    ...                    "metacells": "validation", "source": "checkpoint results"}])
    >>> describe_quality(q, "G")
    'model fit: Pearson r 0.61, R^2 0.30 (log1p counts, 200 validation metacells; checkpoint results)'
    >>> describe_quality(q, "H")
    'model fit: - (unknown)'
    """
    row = quality[quality["gene"] == gene]
    if row.empty or not np.isfinite(row["pearson_r"].iloc[0]):
        return "model fit: - (unknown)"
    r = row.iloc[0]
    return (f"model fit: Pearson r {r['pearson_r']:.2f}, R^2 {r['r2']:.2f} (log1p counts, {int(r['n_metacells'])} "
            f"{r['metacells']} metacells; {r['source']})")


def filter_by_quality(table: pd.DataFrame, quality: pd.DataFrame, *, min_r: float = 0.3) -> tuple[pd.DataFrame, str]:
    """Rows of genes whose model has a known Pearson r >= ``min_r``, and a line counting what was kept.

    Genes of unknown fit are left out too (their attributions cannot be vouched for); the
    line says how many.

    Parameters
    ----------
    table
        TF -> gene table (column ``gene``).
    quality
        :func:`model_quality` output.
    min_r
        Smallest Pearson r kept.

    Examples
    --------
    >>> t = pd.DataFrame({"tf": ["A", "B", "C"], "gene": ["G1", "G2", "G3"]})
    >>> q = pd.DataFrame({"gene": ["G1", "G2"], "pearson_r": [0.5, 0.1]})
    >>> kept, line = filter_by_quality(t, q, min_r=0.3)
    >>> kept["gene"].tolist(), line
    (['G1'], '1 of 3 genes kept: model Pearson r >= 0.3; 1 below, 1 of unknown fit left out')
    """
    known = quality.dropna(subset=["pearson_r"])
    good = set(known.loc[known["pearson_r"] >= min_r, "gene"])
    genes = set(table["gene"].unique())
    below = len(genes & (set(known["gene"]) - good))
    unknown = len(genes - set(known["gene"]))
    kept = table[table["gene"].isin(good)]
    line = (f"{kept['gene'].nunique():,} of {len(genes):,} genes kept: model Pearson r >= {min_r:g}; "
            f"{below:,} below, {unknown:,} of unknown fit left out")
    return kept, line


def worst_genes(quality: pd.DataFrame, *, n: int = 10) -> pd.DataFrame:
    """The ``n`` genes with the lowest known Pearson r (unknown ones are not listed).

    Parameters
    ----------
    quality
        :func:`model_quality` output.
    n
        How many.

    Examples
    --------
    >>> q = pd.DataFrame({"gene": ["A", "B", "C"], "pearson_r": [0.9, float("nan"), 0.1], "r2": [0.8, None, 0.0]})
    >>> worst_genes(q, n=2)["gene"].tolist()
    ['C', 'A']
    """
    known = quality.dropna(subset=["pearson_r"])
    return known.sort_values(["pearson_r", "gene"], kind="stable").head(n).reset_index(drop=True)
