"""Cached loaders: the open dataset (``st.cache_resource``) and tables (``st.cache_data``).

Every key holds the file's path and modification time, so a file rewritten on disk
(e.g. a gene attributed in another session) is read again.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from cell2net_core.errors import Cell2NetInputError
from cell2net_core.explore import network, quality
from cell2net_core.store import CONSOLIDATED, PEAKS, ResultStore

if TYPE_CHECKING:
    import mudata as md

    from cell2net_core.motifs import Motif
    from cell2net_core.perturb import Perturbation

# The dataset, torch, captum, scipy.stats and matplotlib are imported inside the loaders that need
# them: a results folder alone (a tutorial's tf_to_gene.csv) is browsed without loading them (seconds).

_DEMO_LOCK = threading.Lock()


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError as e:
        msg = f"Cannot read {str(path)!r}: {e.strerror or e}."
        raise Cell2NetInputError(msg) from e


@st.cache_resource(max_entries=2, show_spinner="Opening the dataset...")
def _open_dataset(path: str, mtime: float) -> md.MuData:
    from cell2net_core import data

    return data.read_dataset(path)


def open_dataset(path: str | os.PathLike) -> md.MuData:
    """The validated dataset, opened once per process and file version."""
    path = Path(path).expanduser()
    if not path.is_file():
        msg = f"Dataset file {str(path)!r} does not exist; give the path of a prepared .h5mu file."
        raise Cell2NetInputError(msg)
    return _open_dataset(str(path.resolve()), _mtime(path))


def folder_signature(folder: Path) -> tuple[tuple[str, int], ...]:
    """Names and modification times of a results folder's CSV and NPY files (the cache key)."""
    try:
        with os.scandir(folder) as it:
            return tuple(sorted((e.name, e.stat().st_mtime_ns) for e in it if e.name.endswith((".csv", ".npy"))))
    except OSError:
        return ()


@st.cache_data(max_entries=8, show_spinner=False)
def _genes(path: str, signature: tuple) -> list[str]:
    store = ResultStore(path)
    if (store.path / CONSOLIDATED).is_file():
        try:  # the table the other pages read anyway, read once: a tutorial's has 154,160 rows
            return store.genes(table=_table(path, signature))
        except Cell2NetInputError:
            pass  # a table the pages cannot use still names its genes here; the pages say what is wrong
    return store.genes()


def result_genes(results: str | os.PathLike) -> list[str]:
    """Genes with stored results (reads a tutorial's ``tf_to_gene.csv`` once per version, shared with
    :func:`network_table`)."""
    folder = Path(results).expanduser()
    return _genes(str(folder.resolve()), folder_signature(folder))


def attributed_genes(results: str | os.PathLike) -> list[str]:
    """Genes with stored per-metacell attributions (``<GENE>.npy``) in a results folder."""
    folder = Path(results).expanduser()
    return [name[:-4] for name, _ in folder_signature(folder) if name.endswith(".npy")
            and not name.endswith(f"{PEAKS}.npy")]  # <GENE>.peaks.npy: peak attributions of GENE


@st.cache_data(max_entries=4, show_spinner="Reading the TF -> gene table...")
def _table(path: str, signature: tuple) -> pd.DataFrame:
    table = ResultStore(path).table()
    network.check_table(table)
    return table


def network_table(results: str | os.PathLike) -> pd.DataFrame:
    """The results folder's whole TF -> gene table."""
    folder = Path(results).expanduser()
    return _table(str(folder.resolve()), folder_signature(folder))


@st.cache_data(max_entries=4, show_spinner=False)
def _ranked(path: str, signature: tuple) -> pd.DataFrame:
    return network.with_rank(_table(path, signature))


def ranked_table(results: str | os.PathLike) -> pd.DataFrame:
    """The whole table with each TF's ``rank`` (:func:`cell2net_core.explore.network.with_rank`), once per version."""
    folder = Path(results).expanduser()
    return _ranked(str(folder.resolve()), folder_signature(folder))


@st.cache_data(max_entries=4, show_spinner=False)
def _rows_note(path: str, signature: tuple) -> tuple[str, tuple[float, ...]]:
    table = _table(path, signature)
    quantiles = table["mean_attr"].abs().quantile([0.5, 0.9, 0.99])
    return network.describe_rows(table), tuple(float(q) for q in quantiles)


def table_note(results: str | os.PathLike) -> tuple[str, tuple[float, ...]]:
    """What the whole table's rows are (:func:`cell2net_core.explore.network.describe_rows`) and its
    ``|mean_attr|`` 50/90/99% quantiles, computed once per table version rather than on every rerun."""
    folder = Path(results).expanduser()
    return _rows_note(str(folder.resolve()), folder_signature(folder))


@st.cache_data(max_entries=256, show_spinner=False)
def _regrouped(results: str, gene: str, npy_mtime: float, mdata_path: str, mdata_mtime: float,
               groupby: str, n_tfs: int | None, rank_by: str) -> pd.DataFrame:
    from cell2net_core import data
    from cell2net_core.aggregate import regroup

    mdata = open_dataset(mdata_path)
    attribution = ResultStore(results).load(
        gene, tfs=data.gene_tfs(mdata, gene), obs_names=mdata.obs_names.astype(str).tolist()
    )
    return regroup(attribution, mdata, groupby=groupby, n_tfs=n_tfs, rank_by=rank_by, evidence=True)


@st.cache_data(max_entries=16, show_spinner=False)
def _attributions(results: str, gene: str, npy_mtime: float, mdata_path: str, mdata_mtime: float):
    from cell2net_core import data

    mdata = open_dataset(mdata_path)
    return ResultStore(results).load(
        gene, tfs=data.gene_tfs(mdata, gene), obs_names=mdata.obs_names.astype(str).tolist()
    )


def has_attributions(results: str | os.PathLike, gene: str) -> bool:
    """Whether the gene's per-metacell attributions (``<GENE>.npy``) are stored."""
    return ResultStore(Path(results).expanduser()).has(gene)


def attributions(results: str | os.PathLike, gene: str, *, mdata_path: str | os.PathLike):
    """The gene's stored per-metacell attributions (cached on the files' modification times)."""
    folder = Path(results).expanduser().resolve()
    mdata_path = Path(mdata_path).expanduser().resolve()
    return _attributions(str(folder), gene, _mtime(folder / f"{gene}.npy"), str(mdata_path), _mtime(mdata_path))


@st.cache_data(max_entries=256, show_spinner=False)
def _stored_gene_table(results: str, gene: str, signature: tuple) -> pd.DataFrame:
    return ResultStore(results).gene_table(gene)


def gene_table(
    results: str | os.PathLike, gene: str, *, mdata_path: str | os.PathLike | None,
    groupby: str, n_tfs: int | None, rank_by: str,
) -> pd.DataFrame:
    """One gene's TF -> gene table: re-aggregated from its attributions with these settings
    when the dataset and ``<GENE>.npy`` are there, else the stored table as it is."""
    folder = Path(results).expanduser().resolve()
    store = ResultStore(folder)
    if mdata_path is not None and store.has(gene):
        mdata_path = Path(mdata_path).expanduser().resolve()
        return _regrouped(
            str(folder), gene, _mtime(folder / f"{gene}.npy"), str(mdata_path), _mtime(mdata_path),
            groupby, n_tfs, rank_by,
        )
    return _stored_gene_table(str(folder), gene, folder_signature(folder))


@st.cache_data(max_entries=4, show_spinner="Reading every TF's group means from the stored <GENE>.npy files...")
def _every_tf(path: str, signature: tuple, mdata_path: str, mdata_mtime: float,
              groupby: str) -> tuple[pd.DataFrame, list[str], list[str]]:
    from cell2net_core import data
    from cell2net_core.aggregate import regroup

    mdata, store = open_dataset(mdata_path), ResultStore(path)
    obs_names = mdata.obs_names.astype(str).tolist()
    tables, problems = [], []
    for gene in attributed_genes(path):
        try:
            attribution = store.load(gene, tfs=data.gene_tfs(mdata, gene), obs_names=obs_names)
            tables.append(regroup(attribution, mdata, groupby=groupby, n_tfs=None))
        except Cell2NetInputError as e:
            problems.append(f"{gene}: {e}")
    table = network.with_every_tf(_table(path, signature), tables)
    return table, sorted(str(t["gene"].iloc[0]) for t in tables if len(t)), problems


def every_tf_table(results: str | os.PathLike, *, mdata_path: str | os.PathLike,
                   groupby: str) -> tuple[pd.DataFrame, list[str], list[str]]:
    """The whole table with every TF of each gene whose ``<GENE>.npy`` is stored
    (:func:`cell2net_core.explore.network.with_every_tf`), the genes taken from ``.npy`` and, per gene
    that could not be read, a message; once per results folder, dataset and grouping version."""
    folder = Path(results).expanduser()
    mdata = Path(mdata_path).expanduser().resolve()
    return _every_tf(str(folder.resolve()), folder_signature(folder), str(mdata), _mtime(mdata), groupby)


def checkpoint_signature(folder: Path) -> tuple[tuple[str, int], ...]:
    """Names and modification times of a model folder's ``<GENE>.pt`` files (the cache key)."""
    try:
        with os.scandir(folder) as it:
            return tuple(sorted((e.name, e.stat().st_mtime_ns) for e in it if e.name.endswith(".pt")))
    except OSError:
        return ()


@st.cache_data(max_entries=4, show_spinner="Reading the models' fit (predicted vs observed)...")
def _quality(models: str, signature: tuple, mdata_path: str | None, mdata_mtime: float | None) -> pd.DataFrame:
    mdata = open_dataset(mdata_path) if mdata_path is not None else None
    return quality.model_quality(models, mdata=mdata)


def model_quality(models: str | os.PathLike | None, *, mdata_path: str | os.PathLike | None) -> pd.DataFrame:
    """Every checkpoint's fit (:func:`cell2net_core.explore.quality.model_quality`), cached on the
    checkpoints' and the dataset's modification times; empty without a model folder."""
    if models is None:
        return pd.DataFrame(columns=quality.QUALITY_COLUMNS)
    folder = Path(models).expanduser().resolve()
    mdata = Path(mdata_path).expanduser().resolve() if mdata_path is not None else None
    return _quality(str(folder), checkpoint_signature(folder), None if mdata is None else str(mdata),
                    None if mdata is None else _mtime(mdata))


@st.cache_data(max_entries=32, show_spinner="Computing the layout...")
def layout(pairs: pd.DataFrame, kind: str = "spring", centre: str | None = None) -> dict[str, tuple[float, float]]:
    """Cached :func:`cell2net_core.explore.network.arranged_layout` (keyed on the drawn edges' content)."""
    return network.arranged_layout(pairs, kind=kind, centre=centre)


def demo_lock() -> threading.Lock:
    """Lock held while the embedded demo is being built, so sessions build it once."""
    return _DEMO_LOCK


def models_signature(folder: Path) -> tuple[tuple[str, int], ...]:
    """Names and modification times of a model folder's ``<GENE>.pt`` files (the cache key)."""
    try:
        with os.scandir(folder) as it:
            return tuple(sorted((e.name, e.stat().st_mtime_ns) for e in it if e.name.endswith(".pt")))
    except OSError:
        return ()


@st.cache_data(max_entries=4, show_spinner=False)
def _perturbable(mdata_path: str, mdata_mtime: float, models: str, signature: tuple) -> list[str]:
    from cell2net_core.perturb import perturbable_tfs

    return perturbable_tfs(open_dataset(mdata_path), models)


def perturb_options(mdata_path: Path, models: Path) -> list[str]:
    """TFs some gene with a model lists, once per dataset and model folder version."""
    return _perturbable(str(mdata_path), _mtime(mdata_path), str(models), models_signature(models))


@st.cache_data(max_entries=16, show_spinner="Predicting the targets again...")
def _perturbation(mdata_path: str, mdata_mtime: float, models: str, signature: tuple, tfs: tuple[str, ...],
                  options: tuple) -> Perturbation:
    from cell2net_core.perturb import perturb, reachable_genes

    mode, factor, groupby, groups, rounds = options
    mdata = open_dataset(mdata_path)
    genes = reachable_genes(mdata, models, list(tfs), rounds=rounds)
    return perturb(mdata, models, tfs=list(tfs), mode=mode, factor=factor, groupby=groupby,
                   groups=list(groups) or None, rounds=rounds, genes=genes)


def perturbation(mdata_path: Path, models: Path, tfs: list[str], *, mode: str, factor: float, groupby: str,
                 groups: list[str], rounds: int) -> Perturbation:
    """:func:`cell2net_core.perturb.perturb` over the genes the TFs can reach, cached per input version."""
    options = (mode, float(factor), groupby, tuple(groups), int(rounds))
    return _perturbation(str(mdata_path), _mtime(mdata_path), str(models), models_signature(models), tuple(tfs),
                         options)


@st.cache_data(max_entries=32, show_spinner=False)
def _peak_summary(results: str, gene: str, npy_mtime: float, mdata_path: str, mdata_mtime: float,
                  groupby: str) -> pd.DataFrame | None:
    from cell2net_core.pipeline import peak_table

    return peak_table(ResultStore(results), open_dataset(mdata_path), groupby=groupby, genes=[gene])


def peak_summary(results: Path, gene: str, *, mdata_path: Path, groupby: str) -> pd.DataFrame | None:
    """The gene's peak -> gene rows from its ``<GENE>.peaks.npy`` (q over this gene's rows), or ``None``."""
    npy = Path(results).expanduser().resolve() / f"{gene}.peaks.npy"
    if gene not in ResultStore(npy.parent).peak_genes():
        return None
    mdata_path = Path(mdata_path).expanduser().resolve()
    return _peak_summary(str(npy.parent), gene, _mtime(npy), str(mdata_path), _mtime(mdata_path), groupby)


@st.cache_data(max_entries=32, show_spinner=False)
def _locus(mdata_path: str, mdata_mtime: float, gene: str, groupby: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    from cell2net_core.explore import evidence

    mdata = open_dataset(mdata_path)
    return evidence.peak_positions(mdata, gene), evidence.peak_accessibility(mdata, gene, groupby=groupby)


def locus(mdata_path: Path, gene: str, *, groupby: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The gene's peak positions and accessibility per group (:mod:`cell2net_core.explore.evidence`)."""
    return _locus(str(mdata_path), _mtime(mdata_path), gene, groupby)


@st.cache_data(max_entries=64, show_spinner=False)
def _motif(mdata_path: str, mdata_mtime: float, gene: str, tf: str) -> tuple[Motif | None, pd.DataFrame | None]:
    from cell2net_core.motifs import best_motif, site_table

    mdata = open_dataset(mdata_path)
    motif = best_motif(mdata, gene, tf)
    return motif, None if motif is None else site_table(mdata, gene, motif)


def motif(mdata_path: Path, gene: str, tf: str) -> tuple[Motif | None, pd.DataFrame | None]:
    """The TF's best JASPAR matrix in the gene's peaks and its sites there (``None`` without a matrix)."""
    return _motif(str(mdata_path), _mtime(mdata_path), gene, tf)


@st.cache_data(max_entries=4, show_spinner=False)
def _reference(path: str, mtime: float) -> pd.DataFrame:
    from cell2net_core.known import read_reference

    return read_reference(path)


def reference(path: str | os.PathLike) -> pd.DataFrame:
    """A curated TF -> target table (:func:`cell2net_core.known.read_reference`), read once per file version."""
    path = Path(path).expanduser()
    if not path.is_file():
        msg = f"Reference file {str(path)!r} does not exist; give a CSV/TSV with columns source, target."
        raise Cell2NetInputError(msg)
    return _reference(str(path.resolve()), _mtime(path))
