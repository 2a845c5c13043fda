"""Compare TF attributions between groups (cell types).

From a top-n table a TF outside a group's top TFs is missing, never 0: activities average over the
genes where the TF is present, and a difference is taken only where both sides hold the TF. From
per-metacell attributions (``<GENE>.npy``) every TF has a value, and :func:`metacell_tests` gives a
Mann-Whitney U test per TF with Benjamini-Hochberg q over TFs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import Cell2NetInputError
from .network import check_table

__all__ = ["compare_groups", "tf_activity", "row_scaled", "missing_counts", "metacell_tests",
           "cluster_order", "tf_expression"]


def _as_list(groups: str | Sequence[str]) -> list[str]:
    return [groups] if isinstance(groups, str) else [str(g) for g in groups]


def tf_activity(table: pd.DataFrame, *, genes: Sequence[str] | None = None) -> pd.DataFrame:
    """TF x group matrix of ``mean_attr`` averaged over the genes where the TF is in the table.

    A TF absent from every gene's rows for a group is missing (NaN), not 0.

    Parameters
    ----------
    table
        A ``tf_to_gene`` table.
    genes
        Average over these genes only; ``None`` over all.

    Returns
    -------
    DataFrame indexed by TF, one column per group, sorted by TF.

    Examples
    --------
    >>> t = pd.DataFrame({"tf": ["A", "A", "B"], "gene": ["G1", "G2", "G1"], "ct": ["NK", "NK", "B"],
    ...                   "mean_attr": [1.0, 3.0, -1.0], "std_attr": 0.0})
    >>> tf_activity(t).to_dict()
    {'B': {'A': nan, 'B': -1.0}, 'NK': {'A': 2.0, 'B': nan}}
    """
    group = check_table(table)
    if genes is not None:
        table = table[table["gene"].isin(list(genes))]
    table = table.assign(**{group: table[group].astype(str)})
    act = table.pivot_table(index="tf", columns=group, values="mean_attr", aggfunc="mean", observed=True)
    act.columns.name = group
    return act.sort_index()


def row_scaled(matrix: pd.DataFrame) -> pd.DataFrame:
    """Each row divided by its largest ``|value|`` (so every TF spans -1..1); missing stays missing.

    Examples
    --------
    >>> row_scaled(pd.DataFrame({"a": [2.0, -1.0], "b": [-4.0, float("nan")]})).to_dict("list")
    {'a': [0.5, -1.0], 'b': [-1.0, nan]}
    """
    scale = matrix.abs().max(axis=1).replace(0.0, np.nan)
    return matrix.div(scale, axis=0).fillna(matrix.where(matrix.isna(), 0.0))


def _side(table: pd.DataFrame, group: str, groups: list[str]) -> pd.Series:
    """Per gene and TF: ``mean_attr`` averaged over the side's groups where present."""
    rows = table[table[group].astype(str).isin(groups)]
    return rows.groupby(["gene", "tf"])["mean_attr"].mean()


def compare_groups(
    table: pd.DataFrame,
    a: str | Sequence[str],
    b: str | Sequence[str],
    *,
    gene: str | None = None,
) -> pd.DataFrame:
    """TFs whose attribution differs most between groups ``a`` and ``b``, missing never counted as 0.

    Per gene and TF, each side's value is its ``mean_attr`` averaged over that side's groups
    holding the TF. A difference is taken only for genes where both sides hold the TF; per TF,
    ``attr_a``, ``attr_b`` and ``diff`` average over those ``n_genes``. A TF held by one side
    only (outside the other's top TFs) keeps its value there, NaN on the other side and in
    ``diff`` (see :func:`missing_counts`).

    Parameters
    ----------
    table
        A ``tf_to_gene`` table.
    a, b
        A group name or several, e.g. ``"NK"`` or ``["Naive T", "Memory T"]``.
    gene
        Compare for this target gene only; ``None`` over all genes.

    Returns
    -------
    DataFrame ``tf, attr_a, attr_b, diff, n_genes``, largest ``|diff|`` first, missing last.

    Examples
    --------
    >>> t = pd.DataFrame({"tf": ["A", "A", "B"], "gene": "G", "ct": ["NK", "B", "NK"],
    ...                   "mean_attr": [3.0, 1.0, 2.0], "std_attr": 0.0})
    >>> compare_groups(t, "NK", "B")[["tf", "diff"]].values.tolist()
    [['A', 2.0], ['B', nan]]
    """
    group = check_table(table)
    a, b = _as_list(a), _as_list(b)
    known = set(table[group].astype(str))
    unknown = [g for g in a + b if g not in known]
    if not a or not b or unknown:
        msg = f"Groups {unknown or 'none'} not in column {group!r}; choose among {sorted(known)}."
        raise Cell2NetInputError(msg)
    if gene is not None:
        if gene not in set(table["gene"]):
            msg = f"Gene {gene!r} has no rows in the tf_to_gene table."
            raise Cell2NetInputError(msg)
        table = table[table["gene"] == gene]
    both = pd.concat({"a": _side(table, group, a), "b": _side(table, group, b)}, axis=1)
    paired = both.dropna()
    per_tf = paired.assign(diff=paired["a"] - paired["b"]).groupby("tf").agg(
        attr_a=("a", "mean"), attr_b=("b", "mean"), diff=("diff", "mean"), n_genes=("diff", "size"))
    lone = both.groupby("tf")[["a", "b"]].mean().rename(columns={"a": "attr_a", "b": "attr_b"})
    lone = lone.drop(index=per_tf.index)
    out = pd.concat([per_tf, lone.assign(diff=np.nan, n_genes=0)]).reset_index()
    out["n_genes"] = out["n_genes"].astype(int)
    out = out.assign(_abs=out["diff"].abs()).sort_values(["_abs", "tf"], ascending=[False, True], na_position="last")
    return out.drop(columns="_abs").reset_index(drop=True)[["tf", "attr_a", "attr_b", "diff", "n_genes"]]


def missing_counts(comparison: pd.DataFrame) -> tuple[int, int]:
    """How many TFs of :func:`compare_groups` are missing on side a and on side b.

    Examples
    --------
    >>> missing_counts(pd.DataFrame({"attr_a": [1.0, float("nan")], "attr_b": [float("nan"), float("nan")]}))
    (1, 2)
    """
    return int(comparison["attr_a"].isna().sum()), int(comparison["attr_b"].isna().sum())


def metacell_tests(attr: np.ndarray, labels: Sequence[str], a: str | Sequence[str], b: str | Sequence[str], *,
                   tfs: Sequence[str]) -> pd.DataFrame:
    """Per TF, group a vs group b over per-metacell attributions: two-sided Mann-Whitney U
    (``scipy.stats.mannwhitneyu``) and Benjamini-Hochberg q over TFs (``scipy.stats.false_discovery_control``).

    Parameters
    ----------
    attr
        ``(n_metacells, n_tfs)`` attributions of one gene (``ResultStore.load(gene).attr``).
    labels
        Group of each metacell.
    a, b
        A group name or several (pooled).
    tfs
        TF names of the columns.

    Returns
    -------
    DataFrame ``tf, mean_a, mean_b, diff, u, p, q, n_a, n_b``, smallest p first.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> attr = np.c_[np.r_[rng.normal(2, 1, 20), rng.normal(0, 1, 20)], rng.normal(0, 1, 40)]
    >>> res = metacell_tests(attr, ["NK"] * 20 + ["B"] * 20, "NK", "B", tfs=["T1", "T2"])
    >>> res["tf"].tolist()[0], bool(res["q"].iloc[0] < 0.01)
    ('T1', True)
    """
    attr, labels = np.asarray(attr, dtype=float), np.asarray(labels).astype(str)
    in_a, in_b = np.isin(labels, _as_list(a)), np.isin(labels, _as_list(b))
    if in_a.sum() < 2 or in_b.sum() < 2:
        msg = (f"Groups {_as_list(a)} and {_as_list(b)} need at least 2 metacells each for a test; "
               f"they have {in_a.sum()} and {in_b.sum()}.")
        raise Cell2NetInputError(msg)
    from scipy import stats  # ~1 s to import: only when a test runs

    u, p = stats.mannwhitneyu(attr[in_a], attr[in_b], axis=0, alternative="two-sided")
    p = np.nan_to_num(np.asarray(p, dtype=float), nan=1.0)
    out = pd.DataFrame({"tf": list(tfs), "mean_a": attr[in_a].mean(axis=0), "mean_b": attr[in_b].mean(axis=0)})
    out["diff"] = out["mean_a"] - out["mean_b"]
    out = out.assign(u=u, p=p, q=stats.false_discovery_control(p), n_a=int(in_a.sum()), n_b=int(in_b.sum()))
    return out.sort_values(["p", "tf"], kind="stable").reset_index(drop=True)


def cluster_order(matrix: pd.DataFrame) -> pd.DataFrame:
    """Rows and columns reordered by average-linkage hierarchical clustering
    (``scipy.cluster.hierarchy``, Euclidean, missing as 0 for the distances only).

    Examples
    --------
    >>> m = pd.DataFrame({"x": [1.0, 0.0, 0.9], "y": [0.0, 1.0, 0.1]}, index=["a", "b", "c"])
    >>> cluster_order(m).index.tolist()
    ['b', 'a', 'c']
    """
    from scipy.cluster import hierarchy

    filled = matrix.fillna(0.0).to_numpy(dtype=float)

    def leaves(x: np.ndarray) -> np.ndarray:
        return hierarchy.leaves_list(hierarchy.linkage(x, method="average")) if len(x) > 2 else np.arange(len(x))

    return matrix.iloc[leaves(filled), leaves(filled.T)]


def tf_expression(mdata, tfs: Sequence[str], *, groupby: str) -> pd.DataFrame:
    """TF x group fraction of metacells expressing each TF (RNA count > 0), from the dataset's ``rna``.

    TFs absent from ``rna.var_names`` are left out (the dot plot then sizes them by ``|value|``).

    Examples
    --------
    >>> from cell2net_core.testing import random_dataset
    >>> frac = tf_expression(random_dataset(n_metacells=16), ["TF0", "TF1"], groupby="cell_type_v2")
    >>> frac.shape[0], bool(((frac >= 0) & (frac <= 1)).all().all())
    (2, True)
    """
    from ..data import group_labels

    rna = mdata["rna"]
    present = [t for t in tfs if t in set(rna.var_names.astype(str))]
    x = rna[:, present].X
    x = x.toarray() if hasattr(x, "toarray") else np.asarray(x)
    expressed = pd.DataFrame(x > 0, columns=present).astype(float)
    frac = expressed.groupby(group_labels(mdata, groupby)).mean().T
    frac.columns = [str(c) for c in frac.columns]
    return frac
