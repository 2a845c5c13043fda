"""Compare TF attributions between groups (cell types), for one gene or summed over genes."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from ..errors import Cell2NetInputError
from .network import check_table

__all__ = ["compare_groups", "tf_activity"]


def _as_list(groups: str | Sequence[str]) -> list[str]:
    return [groups] if isinstance(groups, str) else [str(g) for g in groups]


def tf_activity(table: pd.DataFrame, *, genes: Sequence[str] | None = None) -> pd.DataFrame:
    """TF x group matrix of ``mean_attr`` summed over genes (the tutorial's "TF activity").

    A TF absent from a gene's table for a group (not in its top TFs) counts as 0.

    Parameters
    ----------
    table
        A ``tf_to_gene`` table.
    genes
        Sum over these genes only; ``None`` sums over all.

    Returns
    -------
    DataFrame indexed by TF, one column per group, sorted by TF.

    Examples
    --------
    >>> from cell2net_core.testing import random_table
    >>> table = random_table(n_genes=3, n_tfs=6, top=4, groups=("NK", "B cell"))
    >>> tf_activity(table).columns.tolist()
    ['B cell', 'NK']
    """
    group = check_table(table)
    if genes is not None:
        table = table[table["gene"].isin(list(genes))]
    act = table.pivot_table(index="tf", columns=group, values="mean_attr", aggfunc="sum", fill_value=0.0, observed=True)
    act.columns = [str(c) for c in act.columns]
    act.columns.name = group
    return act.sort_index()


def compare_groups(
    table: pd.DataFrame,
    a: str | Sequence[str],
    b: str | Sequence[str],
    *,
    gene: str | None = None,
) -> pd.DataFrame:
    """TFs whose attribution differs most between groups ``a`` and ``b``.

    For each TF: ``attr_a``, the summed ``mean_attr`` over genes (or the one ``gene``)
    averaged over the groups of ``a``; ``attr_b`` likewise; ``diff = attr_a - attr_b``.

    Parameters
    ----------
    table
        A ``tf_to_gene`` table.
    a, b
        A group name or several (averaged), e.g. ``"NK"`` or ``["Naive T", "Memory T"]``.
    gene
        Compare for this target gene only; ``None`` sums over all genes.

    Returns
    -------
    DataFrame ``tf, attr_a, attr_b, diff``, largest ``|diff|`` first.

    Examples
    --------
    >>> from cell2net_core.testing import random_table
    >>> table = random_table(n_genes=3, n_tfs=6, top=4, groups=("NK", "B cell"))
    >>> diff = compare_groups(table, "NK", "B cell")
    >>> diff.columns.tolist()
    ['tf', 'attr_a', 'attr_b', 'diff']
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
    act = tf_activity(table)
    out = pd.DataFrame(
        {
            "tf": act.index.astype(str),
            "attr_a": act.reindex(columns=a, fill_value=0.0).mean(axis=1).to_numpy(),
            "attr_b": act.reindex(columns=b, fill_value=0.0).mean(axis=1).to_numpy(),
        }
    )
    out["diff"] = out["attr_a"] - out["attr_b"]
    order = out["diff"].abs().sort_values(ascending=False, kind="stable").index
    return out.loc[order].reset_index(drop=True)
