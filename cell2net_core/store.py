"""A results folder in the tutorial's layout, written atomically and safe for concurrent sessions.

Per gene: ``<GENE>.npy`` (attributions, metacells x TFs), ``<GENE>.csv`` (TF -> gene
table) and ``<GENE>.json`` (TF order, metacell ids, how it was computed: what
re-aggregation needs). ``tf_to_gene.csv`` concatenates the tables the tutorial's way
(pandas' default index). A folder made by the tutorial itself (CSV files, perhaps only
``tf_to_gene.csv``) reads too.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .aggregate import group_column
from .attribution import Attribution
from .errors import Cell2NetInputError
from .files import atomic_write

__all__ = ["ResultStore", "atomic_write", "read_network_table", "CONSOLIDATED"]

CONSOLIDATED = "tf_to_gene.csv"


def read_network_table(path: str | os.PathLike) -> pd.DataFrame:
    """Read a TF -> gene CSV (ours or the tutorial's, whose first column is an unnamed index).

    Parameters
    ----------
    path
        ``tf_to_gene.csv`` or a ``<GENE>.csv``; columns ``tf, gene, <group>, mean_attr, std_attr``
        (``n_metacells`` is added, empty, when absent).

    Examples
    --------
    >>> import tempfile
    >>> from cell2net_core.testing import random_table
    >>> path = f"{tempfile.mkdtemp()}/tf_to_gene.csv"
    >>> random_table(n_genes=2, top=3).to_csv(path)  # with pandas' index, as the tutorial writes it
    >>> read_network_table(path).columns.tolist()
    ['tf', 'gene', 'cell_type_v2', 'mean_attr', 'std_attr', 'n_metacells']
    """
    path = Path(path)
    try:
        table = pd.read_csv(path)
    except Exception as e:  # pandas raises many types for a bad file
        msg = f"Cannot read {str(path)!r} as a CSV table: {type(e).__name__}: {e}"
        raise Cell2NetInputError(msg) from e
    table = table.drop(columns=[c for c in table.columns if str(c).startswith("Unnamed:")])
    missing = [c for c in ("tf", "gene", "mean_attr", "std_attr") if c not in table.columns]
    if missing:
        msg = f"{str(path)!r} lacks column(s) {missing}; expected tf, gene, <group>, mean_attr, std_attr."
        raise Cell2NetInputError(msg)
    try:
        group_column(table)
    except Cell2NetInputError as e:
        msg = f"{str(path)!r}: {e}"
        raise Cell2NetInputError(msg) from e
    if "n_metacells" not in table.columns:
        table["n_metacells"] = pd.NA
    for col in ("mean_attr", "std_attr"):
        if not pd.api.types.is_numeric_dtype(table[col]):
            msg = f"{str(path)!r}: column {col!r} is not numeric."
            raise Cell2NetInputError(msg)
    table["tf"] = table["tf"].astype(str)
    table["gene"] = table["gene"].astype(str)
    return table


class ResultStore:
    """A results folder: one gene's attributions and table per file set, plus the consolidated table.

    Parameters
    ----------
    path
        The folder; created on the first write.

    Examples
    --------
    >>> import tempfile
    >>> from cell2net_core.aggregate import regroup
    >>> from cell2net_core.testing import random_attribution, random_dataset
    >>> mdata = random_dataset(n_metacells=16)
    >>> attribution = random_attribution(mdata, "GENE1")
    >>> store = ResultStore(tempfile.mkdtemp())
    >>> store.save(attribution, regroup(attribution, mdata))
    >>> store.genes(), store.load("GENE1").attr.shape == attribution.attr.shape
    (['GENE1'], True)
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"ResultStore({str(self.path)!r})"

    def _file(self, gene: str, suffix: str) -> Path:
        if not gene or "/" in gene or "\\" in gene or gene.startswith("."):
            msg = f"gene name {gene!r} cannot be used as a file name in {str(self.path)!r}."
            raise Cell2NetInputError(msg)
        return self.path / f"{gene}{suffix}"

    def genes(self) -> list[str]:
        """Genes with results: per-gene CSV or NPY files and every gene of ``tf_to_gene.csv``."""
        if not self.path.is_dir():
            return []
        found = {p.stem for p in self._gene_csvs()} | {p.stem for p in self.path.glob("*.npy")}
        if (self.path / CONSOLIDATED).is_file():
            found |= set(read_network_table(self.path / CONSOLIDATED)["gene"].unique())
        return sorted(found)

    def attributed_genes(self) -> list[str]:
        """Genes whose per-metacell attributions are stored (``<GENE>.npy``), sorted.

        Examples
        --------
        >>> import tempfile
        >>> ResultStore(tempfile.mkdtemp()).attributed_genes()
        []
        """
        return sorted(p.stem for p in self.path.glob("*.npy")) if self.path.is_dir() else []

    def has(self, gene: str) -> bool:
        """Whether the gene's per-metacell attributions are stored (``<GENE>.npy``)."""
        return self._file(gene, ".npy").is_file()

    def meta(self, gene: str) -> dict[str, Any]:
        """How the gene was computed (``<GENE>.json``); empty for a tutorial's results."""
        path = self._file(gene, ".json")
        if not path.is_file():
            return {}
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError) as e:
            msg = f"Cannot read {str(path)!r} as JSON: {e}; delete it to recompute gene {gene!r}."
            raise Cell2NetInputError(msg) from e

    def save(self, attribution: Attribution, table: pd.DataFrame, *, meta: dict[str, Any] | None = None) -> None:
        """Store one gene: ``.npy``, ``.json`` then ``.csv``, each atomically."""
        info = {
            "gene": attribution.gene,
            "tfs": attribution.tfs,
            "obs_names": attribution.obs_names,
            "method": attribution.method,
            "n_steps": attribution.n_steps,
            "max_relative_gap": attribution.max_relative_gap(),
            **(meta or {}),
        }
        buf = io.BytesIO()
        np.save(buf, attribution.attr.astype(np.float32))
        atomic_write(self._file(info["gene"], ".npy"), buf.getvalue())
        atomic_write(self._file(info["gene"], ".json"), json.dumps(info))
        self.save_table(info["gene"], table)

    def save_table(self, gene: str, table: pd.DataFrame) -> None:
        """Write ``<GENE>.csv`` (tutorial layout, no index), atomically."""
        atomic_write(self._file(gene, ".csv"), table.to_csv(index=False))

    def load(self, gene: str, *, tfs: list[str] | None = None, obs_names: list[str] | None = None) -> Attribution:
        """The gene's stored attributions.

        For a tutorial's ``<GENE>.npy`` (no ``.json``) give ``tfs`` and ``obs_names``
        (from :func:`~cell2net_core.data.gene_tfs` and the dataset).
        """
        path = self._file(gene, ".npy")
        if not path.is_file():
            msg = f"No stored attributions for gene {gene!r}: {str(path)!r} does not exist."
            raise Cell2NetInputError(msg)
        try:
            attr = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as e:
            msg = f"Cannot read {str(path)!r} as a numpy array: {e}"
            raise Cell2NetInputError(msg) from e
        info = self.meta(gene)
        tfs = info.get("tfs", tfs)
        obs_names = info.get("obs_names", obs_names)
        if tfs is None or obs_names is None:
            msg = f"{str(path)!r} has no {gene}.json with its TF order; open it with its dataset."
            raise Cell2NetInputError(msg)
        if attr.shape != (len(obs_names), len(tfs)):
            msg = (
                f"{str(path)!r} holds an array of shape {attr.shape}; expected "
                f"({len(obs_names)} metacells, {len(tfs)} TFs) for gene {gene!r}."
            )
            raise Cell2NetInputError(msg)
        nan = np.full(len(attr), np.nan)
        return Attribution(
            gene=gene,
            attr=attr,
            gap=nan,
            delta=nan,
            tfs=list(tfs),
            obs_names=list(obs_names),
            method=info.get("method", "unknown"),
            n_steps=info.get("n_steps"),
        )

    def gene_table(self, gene: str) -> pd.DataFrame:
        """The gene's TF -> gene table (``<GENE>.csv``, else its rows of ``tf_to_gene.csv``)."""
        path = self._file(gene, ".csv")
        if path.is_file():
            return read_network_table(path)
        consolidated = self.path / CONSOLIDATED
        table = read_network_table(consolidated) if consolidated.is_file() else self.table()
        rows = table[table["gene"] == gene].reset_index(drop=True)
        if rows.empty:
            msg = f"No results for gene {gene!r} in {str(self.path)!r}."
            raise Cell2NetInputError(msg)
        return rows

    def _gene_csvs(self) -> list[Path]:
        """Per-gene tables: CSV files other than ``tf_to_gene.csv`` whose header starts ``tf,gene,``."""
        out = []
        for p in sorted(self.path.glob("*.csv")):
            if p.name != CONSOLIDATED:
                with open(p, encoding="utf-8", errors="replace") as fh:
                    if fh.readline().startswith("tf,gene,"):
                        out.append(p)
        return out

    def table(self) -> pd.DataFrame:
        """The whole TF -> gene table.

        ``tf_to_gene.csv`` when it is at least as new as every per-gene CSV, else the
        per-gene CSVs concatenated.
        """
        if not self.path.is_dir():
            msg = f"Results folder {str(self.path)!r} does not exist."
            raise Cell2NetInputError(msg)
        consolidated = self.path / CONSOLIDATED
        csvs = self._gene_csvs()
        newest = max((p.stat().st_mtime for p in csvs), default=-1.0)
        if consolidated.is_file() and consolidated.stat().st_mtime >= newest:
            return read_network_table(consolidated)
        if not csvs:
            msg = f"Results folder {str(self.path)!r} holds no {CONSOLIDATED} and no <GENE>.csv file."
            raise Cell2NetInputError(msg)
        return self._concat(csvs)

    def _concat(self, csvs: list[Path]) -> pd.DataFrame:
        tables = [read_network_table(p) for p in csvs]
        groups = {group_column(t) for t in tables}
        if len(groups) > 1:
            msg = f"Per-gene tables in {str(self.path)!r} use different grouping columns {sorted(map(str, groups))}."
            raise Cell2NetInputError(msg)
        return pd.concat(tables, ignore_index=True)

    def write_consolidated(self) -> Path:
        """Rewrite ``tf_to_gene.csv`` from the per-gene CSVs (index as the tutorial writes it)."""
        with self.lock(CONSOLIDATED):
            csvs = self._gene_csvs()
            if not csvs:
                msg = f"Results folder {str(self.path)!r} holds no <GENE>.csv to consolidate."
                raise Cell2NetInputError(msg)
            return atomic_write(self.path / CONSOLIDATED, pd.concat(read_network_table(p) for p in csvs).to_csv())

    @contextlib.contextmanager
    def lock(self, name: str) -> Iterator[None]:
        """Hold an exclusive lock on ``name`` (a gene) across processes and threads."""
        locks = self.path / ".locks"
        locks.mkdir(parents=True, exist_ok=True)
        with open(locks / f"{name}.lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
