"""Aggregate per-metacell TF attributions into the TF -> gene table, per group of metacells.

``tf_to_gene`` works on an array and labels; ``regroup`` on stored attributions and a dataset
(metacells matched by id), for any grouping, with no recomputation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from .errors import Cell2NetInputError
from .stats import EVIDENCE_COLUMNS, N_BOOT, SEED, bh_q, groups_evidence

if TYPE_CHECKING:  # mudata and torch load when a dataset is regrouped, not with group_column
    import mudata as md

    from .attribution import Attribution

__all__ = ["TABLE_COLUMNS", "EXTRA_COLUMNS", "RANK_BY", "TABLE_FORMAT", "tf_to_gene", "regroup", "group_column"]

#: Version of what :func:`tf_to_gene` writes: bump it when a table's rows, columns or numbers change, so
#: stored tables are made again from their attributions (``ResultStore.current_table``).
TABLE_FORMAT = 1

TABLE_COLUMNS = ("tf", "gene", "mean_attr", "std_attr", "n_metacells")
#: Columns after the tutorial's: edge evidence (:mod:`~cell2net_core.stats`), motifs, known regulation,
#: and the rank of a TF in its gene and group (``explore.network.with_rank``).
EXTRA_COLUMNS = (*EVIDENCE_COLUMNS, "motif_id", "motif_sites", "motif_peaks", "known", "rank")
RANK_BY = ("mean", "abs")


def tf_to_gene(
    attr: np.ndarray,
    labels: Sequence[str] | np.ndarray | None,
    *,
    gene: str,
    tfs: Sequence[str],
    groupby: str = "cell_type_v2",
    n_tfs: int | None = 10,
    rank_by: Literal["mean", "abs"] = "mean",
    evidence: bool = False,
    n_boot: int = N_BOOT,
    seed: int = SEED,
) -> pd.DataFrame:
    """The tutorial's TF -> gene table of one gene: mean and std attribution per group.

    Groups are sorted; in each, the ``n_tfs`` TFs with the largest mean attribution
    (``rank_by="mean"``, the tutorial's rule, which drops repressors) or the largest
    ``|mean|`` (``rank_by="abs"``) are kept, best first, ties in TF order. The std is
    the population std (numpy's default). ``n_tfs=None`` keeps every TF, in TF order.

    Parameters
    ----------
    attr
        ``(n_metacells, n_tfs)`` attributions, columns in ``tfs`` order.
    labels
        Group of each metacell (e.g. ``obs["cell_type_v2"]``); ``None`` for one group of all.
    gene
        Target gene.
    tfs
        TF names of the columns.
    groupby
        Name of the group column in the output.
    n_tfs
        TFs kept per group, or ``None`` for all.
    rank_by
        ``"mean"`` or ``"abs"``.
    evidence
        Add ``ci_low, ci_high, p_value, q_value`` (:func:`~cell2net_core.stats.mean_evidence`;
        q by Benjamini-Hochberg over the rows of this table, i.e. of this gene).
    n_boot, seed
        Bootstrap resamples and seed of the interval (one generator for the whole table).

    Returns
    -------
    Columns ``tf, gene, <groupby>, mean_attr, std_attr, n_metacells`` (then the evidence columns).

    Examples
    --------
    >>> attr = np.array([[1.0, -4.0], [3.0, -2.0]])
    >>> t = tf_to_gene(attr, ["B", "B"], gene="G", tfs=["A", "R"], n_tfs=1, rank_by="abs")
    >>> t[["tf", "mean_attr"]].values.tolist()
    [['R', -3.0]]
    """
    attr, tfs = _checked(attr, tfs, gene=gene, n_tfs=n_tfs, rank_by=rank_by)
    keys, inverse = _groups(labels, len(attr), gene=gene)
    rng = np.random.default_rng(seed) if evidence else None
    return _group_table(attr, keys, inverse, gene=gene, tfs=tfs, groupby=groupby if labels is not None else None,
                        n_tfs=n_tfs, rank_by=rank_by, rng=rng, n_boot=n_boot)  # fmt: skip


def _checked(
    attr: np.ndarray, tfs: Sequence[str], *, gene: str, n_tfs: int | None, rank_by: str
) -> tuple[np.ndarray, list[str]]:
    """The attributions as an array and the TF names as a list, once their shapes and the options agree."""
    attr = np.asarray(attr)
    tfs = list(tfs)
    if attr.ndim != 2 or attr.shape[1] != len(tfs):
        msg = f"gene {gene!r}: attributions of shape {attr.shape} do not match its {len(tfs)} TFs."
        raise Cell2NetInputError(msg)
    if rank_by not in RANK_BY:
        msg = f"rank_by {rank_by!r} is not one of {RANK_BY}."
        raise Cell2NetInputError(msg)
    if n_tfs is not None and n_tfs < 1:
        msg = f"n_tfs must be at least 1 or None (all TFs); got {n_tfs}."
        raise Cell2NetInputError(msg)
    return attr, tfs


def _groups(labels: Sequence[str] | np.ndarray | None, n: int, *, gene: str) -> tuple[np.ndarray, np.ndarray]:
    """Sorted group keys and each metacell's group index (one group ``None`` without labels)."""
    if labels is None:
        return np.array([None]), np.zeros(n, dtype=int)
    labels = np.asarray(labels).astype(str)
    if len(labels) != n:
        msg = f"gene {gene!r}: {len(labels)} group labels for {n} metacells of attributions."
        raise Cell2NetInputError(msg)
    return np.unique(labels, return_inverse=True)


def _group_table(
    attr: np.ndarray,
    keys: np.ndarray,
    inverse: np.ndarray,
    *,
    gene: str,
    tfs: list[str],
    groupby: str | None,
    n_tfs: int | None,
    rank_by: str,
    rng: np.random.Generator | None,
    n_boot: int,
) -> pd.DataFrame:
    """Mean and std (and, with ``rng``, the evidence columns and q over the table) per group in numpy, one
    DataFrame at the end."""
    order = np.argsort(inverse, kind="stable")  # each group's rows in their original order
    bounds = np.searchsorted(inverse[order], np.arange(len(keys) + 1))
    cols: dict[str, list] = {"tf": [], "key": [], "mean_attr": [], "std_attr": [], "n_metacells": []}
    tf_names = np.asarray(tfs, dtype=object)
    kept = []  # each group's rows of the kept TFs, for the evidence
    for k, key in enumerate(keys):
        rows = attr[order[bounds[k] : bounds[k + 1]]].astype(np.float64)
        mean = rows.mean(axis=0)
        pick = np.arange(len(mean))
        if n_tfs is not None:
            pick = np.argsort(-(mean if rank_by == "mean" else np.abs(mean)), kind="stable")[:n_tfs]
        cols["mean_attr"].append(mean[pick])
        cols["std_attr"].append(rows.std(axis=0)[pick])
        kept.append(rows[:, pick])  # only the kept TFs: each column's numbers do not depend on the others
        cols["tf"].append(tf_names[pick])
        cols["n_metacells"].append(np.full(len(pick), len(rows), dtype=np.int64))
        cols["key"].append(np.full(len(pick), key, dtype=object))
    table = {"tf": np.concatenate(cols.pop("tf")), "gene": gene}
    keys_col = np.concatenate(cols.pop("key"))
    if groupby is not None:
        table[groupby] = keys_col
    table |= {c: np.concatenate(v) for c, v in cols.items()}
    if rng is not None:
        table |= groups_evidence(kept, n_boot=n_boot, rng=rng)
        table["q_value"] = bh_q(table["p_value"])
    return pd.DataFrame(table)


def group_column(table: pd.DataFrame) -> str | None:
    """Name of the grouping column of a TF -> gene table (the one column not in :data:`TABLE_COLUMNS`
    or :data:`EXTRA_COLUMNS`).

    Examples
    --------
    >>> group_column(pd.DataFrame(columns=["tf", "gene", "cell_type_v2", "mean_attr", "std_attr"]))
    'cell_type_v2'
    """
    extra = [c for c in table.columns if c not in TABLE_COLUMNS and c not in EXTRA_COLUMNS]
    if len(extra) > 1:
        msg = f"TF -> gene table has several extra columns {extra}; expected one grouping column."
        raise Cell2NetInputError(msg)
    return str(extra[0]) if extra else None


def regroup(
    attribution: Attribution,
    mdata: md.MuData,
    *,
    groupby: str = "cell_type_v2",
    n_tfs: int | None = 10,
    rank_by: Literal["mean", "abs"] = "mean",
    evidence: bool = False,
) -> pd.DataFrame:
    """The TF -> gene table of stored attributions for any grouping, with no recomputation.

    Metacells are matched by id, so the dataset's row order does not matter.

    Parameters
    ----------
    attribution
        One gene's attributions (from :func:`~cell2net_core.attribution.tf_attr` or
        :meth:`~cell2net_core.store.ResultStore.load`).
    mdata
        The dataset they were computed on.
    groupby, n_tfs, rank_by, evidence
        As in :func:`tf_to_gene` (``evidence``: q over this gene's rows; the results folder's
        ``tf_to_gene.csv`` recomputes q over all its rows).

    Returns
    -------
    Columns ``tf, gene, <groupby>, mean_attr, std_attr, n_metacells`` (then ``ci_low, ci_high, p_value,
    q_value`` with ``evidence``).

    Examples
    --------
    >>> from cell2net_core.testing import random_attribution, random_dataset
    >>> mdata = random_dataset(n_metacells=20, seed=0)
    >>> table = regroup(random_attribution(mdata, "GENE0"), mdata, groupby="cell_type_v2", n_tfs=2)
    >>> int(table.groupby("cell_type_v2").size().max())
    2
    """
    from .data import _kept, group_labels, obs_ids

    attr, tfs = _checked(attribution.attr, attribution.tfs, gene=attribution.gene, n_tfs=n_tfs, rank_by=rank_by)
    ids = obs_ids(mdata)
    if attribution.obs_names == ids and len(attr) == len(ids):  # as computed: the dataset's groups, found once
        def find() -> tuple[np.ndarray, np.ndarray]:
            return _groups(group_labels(mdata, groupby), len(ids), gene=attribution.gene)

        keys, inverse = _kept(mdata, f"groups_{groupby}", find)
    else:
        at = pd.Index(ids).get_indexer(attribution.obs_names)
        missing = [attribution.obs_names[i] for i in np.flatnonzero(at < 0)]
        if missing:
            msg = (
                f"Stored attributions of gene {attribution.gene!r} name {len(missing)} metacell(s) absent "
                f"from the dataset, e.g. {missing[0]!r}: were they computed on another .h5mu?"
            )
            raise Cell2NetInputError(msg)
        keys, inverse = _groups(group_labels(mdata, groupby)[at], len(attr), gene=attribution.gene)
    rng = np.random.default_rng(SEED) if evidence else None
    return _group_table(attr, keys, inverse, gene=attribution.gene, tfs=tfs, groupby=groupby, n_tfs=n_tfs,
                        rank_by=rank_by, rng=rng, n_boot=N_BOOT)  # fmt: skip
