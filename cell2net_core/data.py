"""Read a prepared Cell2Net dataset (``.h5mu``) and build one gene's model inputs.

The layout is the one the ``cell2net`` package writes (see the data contract):
``rna``/``atac`` modalities with raw counts in ``layers["counts"]``, peaks with
256-bp sequences in ``atac.uns["peaks"]``, ``mdata.uns["peak_to_gene"]`` and
``rna.uns["gene_tf"]`` (or ``rna.var["is_tf"]`` in older files).
"""

from __future__ import annotations

import copyreg
import hashlib
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import anndata as ad
import mudata as md
import numpy as np
import pandas as pd
import scipy.sparse as sp

from .errors import Cell2NetInputError
from .settings import DEFAULT_COVARIATES

T = TypeVar("T")

__all__ = [
    "DEFAULT_COVARIATES",
    "PEAK_LEN",
    "GeneInputs",
    "read_dataset",
    "validate_dataset",
    "genes_with_peaks",
    "genes_with_models",
    "gene_tfs",
    "obs_ids",
    "all_tfs",
    "gene_inputs",
    "group_labels",
    "grouping_columns",
    "grouping_sha256",
    "one_hot",
    "peak_coordinates",
    "shareable",
]

PEAK_LEN = 256
DISTANCE_SCALE = 500_000
#: The only ``atac.uns["peaks"]`` column cell2net 0.13's model, data loader and ``tf_attr`` read.
_PEAK_COLUMNS = ("sequence",)
_P2G_COLUMNS = ("gene", "peak", "distance")

md.set_options(pull_on_update=False)


@dataclass(frozen=True, kw_only=True)
class GeneInputs:
    """Everything one gene's model takes, for every metacell.

    Attributes
    ----------
    gene
        Target gene symbol.
    peaks, tfs, covariate_names, obs_names
        Peak names (``peak_to_gene`` order), TF names (``gene_tf`` column order),
        covariate columns and metacell ids.
    peak_seq
        ``(P, 256, 4)`` one-hot sequences, channels A, C, G, T.
    peak_acc
        ``(N, P)`` raw ATAC counts.
    peak_dist
        ``(P,)`` ``exp(-distance / 500000)``.
    tf_exp
        ``(N, T)`` raw TF counts.
    covariates
        ``(N, C)`` covariate values.
    target
        ``(N,)`` raw counts of the gene.

    Examples
    --------
    >>> from cell2net_core.testing import random_dataset
    >>> x = gene_inputs(random_dataset(n_metacells=8, n_peaks=3), "GENE0")
    >>> x.n_metacells, x.n_peaks
    (8, 3)
    """

    gene: str
    peaks: list[str]
    tfs: list[str]
    covariate_names: list[str]
    obs_names: list[str]
    peak_seq: np.ndarray
    peak_acc: np.ndarray
    peak_dist: np.ndarray
    tf_exp: np.ndarray
    covariates: np.ndarray
    target: np.ndarray

    @property
    def n_metacells(self) -> int:
        """Number of metacells (rows)."""
        return len(self.obs_names)

    @property
    def n_peaks(self) -> int:
        """Number of linked peaks."""
        return len(self.peaks)

    @property
    def n_tfs(self) -> int:
        """Number of candidate TFs."""
        return len(self.tfs)


def _source(mdata: md.MuData) -> str:
    return getattr(mdata, "_c2n_source", "the dataset")


def read_dataset(path: str | os.PathLike) -> md.MuData:
    """Read and validate a prepared ``.h5mu`` dataset.

    Parameters
    ----------
    path
        File written by ``cell2net``'s preparation step.

    Returns
    -------
    The MuData, validated with :func:`validate_dataset`.

    Examples
    --------
    >>> import tempfile
    >>> from cell2net_core.testing import random_dataset
    >>> path = f"{tempfile.mkdtemp()}/mdata.h5mu"
    >>> random_dataset(n_metacells=8).write(path)
    >>> read_dataset(path).n_obs
    8
    """
    path = Path(path)
    if not path.is_file():
        msg = f"Dataset file {str(path)!r} does not exist; give the path of a prepared .h5mu file."
        raise Cell2NetInputError(msg)
    try:
        mdata = md.read_h5mu(path)
    except Exception as e:  # h5py and anndata raise many types for a bad file
        msg = f"Cannot read {str(path)!r} as a MuData .h5mu file: {type(e).__name__}: {e}"
        raise Cell2NetInputError(msg) from e
    mdata._c2n_source = str(path)
    validate_dataset(mdata)
    return mdata


def _require(condition: bool, msg: str) -> None:
    if not condition:
        raise Cell2NetInputError(msg)


def validate_dataset(mdata: md.MuData) -> None:
    """Check the structure every gene's model needs; raise :class:`Cell2NetInputError` if not.

    Per-gene checks (sequences, counts, TFs) happen in :func:`gene_inputs`.

    Parameters
    ----------
    mdata
        The dataset, as :func:`read_dataset` returns it.

    Examples
    --------
    >>> from cell2net_core.testing import random_dataset
    >>> mdata = random_dataset(n_metacells=8)
    >>> validate_dataset(mdata)  # passes silently
    >>> del mdata.uns["peak_to_gene"]
    >>> validate_dataset(mdata)
    Traceback (most recent call last):
    ...
    cell2net_core.errors.Cell2NetInputError: ...peak_to_gene...
    """
    src = _source(mdata)
    for mod in ("rna", "atac"):
        _require(mod in mdata.mod, f"{src}: modality {mod!r} is missing (found {list(mdata.mod)}).")
        _require(
            "counts" in mdata[mod].layers,
            f"{src}: {mod}.layers['counts'] (raw counts) is missing (layers found: {list(mdata[mod].layers)}).",
        )
    peaks = mdata["atac"].uns.get("peaks")
    _require(
        isinstance(peaks, pd.DataFrame),
        f"{src}: atac.uns['peaks'] is missing or not a table; expected a DataFrame "
        f"indexed by peak with columns {', '.join(_PEAK_COLUMNS)}.",
    )
    missing = [c for c in _PEAK_COLUMNS if c not in peaks.columns]
    _require(not missing, f"{src}: atac.uns['peaks'] lacks column(s) {missing} (the peaks' 256-bp sequences).")
    p2g = mdata.uns.get("peak_to_gene")
    _require(
        isinstance(p2g, pd.DataFrame),
        f"{src}: uns['peak_to_gene'] is missing or not a table; expected columns gene, peak, distance.",
    )
    missing = [c for c in _P2G_COLUMNS if c not in p2g.columns]
    _require(not missing, f"{src}: uns['peak_to_gene'] lacks column(s) {missing}.")
    _require(mdata.n_obs > 0, f"{src}: the dataset has 0 metacells (rows); expected at least one.")
    dup = mdata.obs_names[mdata.obs_names.duplicated()]
    _require(
        not len(dup),
        f"{src}: {len(dup)} metacell id(s) in obs_names are duplicated, e.g. {str(dup[0]) if len(dup) else ''!r}; "
        "attributions are matched to metacells by id: make them unique (mdata.obs_names_make_unique()).",
    )
    gene_tf = mdata["rna"].uns.get("gene_tf")
    has_is_tf = "is_tf" in mdata["rna"].var.columns
    _require(
        isinstance(gene_tf, pd.DataFrame) or has_is_tf,
        f"{src}: no TF list; expected rna.uns['gene_tf'] (genes x TFs, 0/1) or a boolean column rna.var['is_tf'].",
    )


def genes_with_peaks(mdata: md.MuData) -> list[str]:
    """Genes that have at least one linked peak, in ``peak_to_gene`` order."""
    return pd.unique(mdata.uns["peak_to_gene"]["gene"].astype(str)).tolist()


def genes_with_models(mdata: md.MuData, model_dir: str | os.PathLike) -> list[str]:
    """Genes with peaks that also have a checkpoint ``<model_dir>/<GENE>.pt``.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from cell2net_core.testing import random_dataset
    >>> models = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (models / "GENE1.pt").write_bytes(b"")
    >>> genes_with_models(random_dataset(n_metacells=8), models)
    ['GENE1']
    """
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        msg = f"Model folder {str(model_dir)!r} does not exist; give the folder holding <GENE>.pt files."
        raise Cell2NetInputError(msg)
    have = {p.stem for p in model_dir.glob("*.pt")}
    return [g for g in genes_with_peaks(mdata) if g in have]


def all_tfs(mdata: md.MuData) -> list[str]:
    """Every candidate TF of the dataset (``gene_tf`` columns, else ``var['is_tf']``)."""
    gene_tf = mdata["rna"].uns.get("gene_tf")
    if isinstance(gene_tf, pd.DataFrame):
        return [str(c) for c in gene_tf.columns]
    is_tf = mdata["rna"].var["is_tf"].astype(bool).to_numpy()
    return mdata["rna"].var_names[is_tf].astype(str).tolist()


def gene_tfs(mdata: md.MuData, gene: str) -> list[str]:
    """The candidate TFs of one gene, in the order the model sees them.

    ``rna.uns["gene_tf"].loc[gene]`` columns that are not 0; in older files every
    ``rna.var["is_tf"]`` gene except the gene itself.

    Parameters
    ----------
    mdata
        The dataset.
    gene
        Target gene (a row of ``rna.uns["gene_tf"]``).

    Examples
    --------
    >>> from cell2net_core.testing import random_dataset
    >>> mdata = random_dataset(n_metacells=8, n_tfs=4, legacy_is_tf=True)
    >>> gene_tfs(mdata, "GENE0")
    ['TF0', 'TF1', 'TF2', 'TF3']
    """
    src = _source(mdata)
    gene_tf = mdata["rna"].uns.get("gene_tf")
    if isinstance(gene_tf, pd.DataFrame):
        if gene not in gene_tf.index:
            msg = f"{src}: gene {gene!r} has no row in rna.uns['gene_tf']."
            raise Cell2NetInputError(msg)
        row = gene_tf.loc[gene]
        if isinstance(row, pd.DataFrame):
            msg = f"{src}: gene {gene!r} has several rows in rna.uns['gene_tf']; expected one."
            raise Cell2NetInputError(msg)
        tfs = [str(t) for t in row.index[row.to_numpy() != 0]]
    else:
        tfs = [t for t in all_tfs(mdata) if t != gene]
    if not tfs:
        msg = f"{src}: gene {gene!r} has no candidate TF (its rna.uns['gene_tf'] row is all 0)."
        raise Cell2NetInputError(msg)
    return tfs


_LOOKUP = np.full(256, -2, dtype=np.int8)
for _i, _base in enumerate("ACGT"):
    _LOOKUP[ord(_base)] = _i
    _LOOKUP[ord(_base.lower())] = _i
_LOOKUP[ord("N")] = -1
_LOOKUP[ord("n")] = -1


def one_hot(sequences: Sequence[str], *, length: int = PEAK_LEN, names: Sequence[str] | None = None) -> np.ndarray:
    """One-hot encode DNA sequences to ``(n, length, 4)`` float32, channels A, C, G, T; N is all 0.

    Examples
    --------
    >>> one_hot(["ACGN"], length=4)[0].tolist()
    [[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 0.0]]
    """
    names = list(names) if names is not None else [str(i) for i in range(len(sequences))]
    out = np.zeros((len(sequences), length, 4), dtype=np.float32)
    for i, seq in enumerate(sequences):
        if not isinstance(seq, str) or len(seq) != length:
            got = f"{len(seq)} bp" if isinstance(seq, str) else type(seq).__name__
            msg = f"sequence of peak {names[i]!r} is {got}; expected {length} bp of A, C, G, T, N."
            raise Cell2NetInputError(msg)
        codes = _LOOKUP[np.frombuffer(seq.encode("latin-1", "replace"), dtype=np.uint8)]
        if (codes == -2).any():
            bad = sorted({c for c in seq if c.upper() not in "ACGTN"})
            msg = f"sequence of peak {names[i]!r} holds {bad}; expected only A, C, G, T, N."
            raise Cell2NetInputError(msg)
        pos = np.nonzero(codes >= 0)[0]
        out[i, pos, codes[pos]] = 1.0
    return out


def _columns(mdata: md.MuData, mod: str, names: Sequence[str]) -> np.ndarray:
    """Dense float32 ``(N, len(names))`` of ``mod.layers['counts']``, columns by name."""
    adata = mdata[mod]
    idx = adata.var_names.get_indexer(list(names))
    if (idx < 0).any():
        missing = [n for n, i in zip(names, idx, strict=True) if i < 0]
        msg = f"{_source(mdata)}: {mod}.var_names lacks {missing[:5]}{' ...' if len(missing) > 5 else ''}."
        raise Cell2NetInputError(msg)
    cols = _counts_by_column(mdata, mod)[:, idx]
    cols = cols.toarray() if sp.issparse(cols) else np.asarray(cols)
    return cols.astype(np.float32, copy=False)


def _counts_by_column(mdata: md.MuData, mod: str) -> np.ndarray | sp.csc_matrix:
    """``mod.layers['counts']`` as genes read it, kept: sparse counts as one column-major copy."""
    return _kept(mdata, f"counts_{mod}", lambda: _column_major(mdata[mod].layers["counts"]))


def _column_major(layer: np.ndarray | sp.spmatrix) -> np.ndarray | sp.csc_matrix:
    return layer.tocsc() if sp.issparse(layer) else np.asarray(layer)


def _kept(mdata: md.MuData, name: str, make: Callable[[], T]) -> T:
    """``make()`` once per dataset object: what every gene reads again (column-major counts, indexes).

    Kept in the object's ``__dict__`` (a dataset is not changed after :func:`read_dataset`). Genes in
    threads wait for the one that builds it rather than each building its own (the column-major
    counts are a copy of the dataset's largest matrix).
    """
    cache = mdata.__dict__.setdefault("_c2n_kept", {})
    if name not in cache:
        with _KEPT_LOCK:
            if name not in cache:
                cache[name] = make()
    return cache[name]


_KEPT_LOCK = threading.RLock()  # re-entrant: one kept value may be made of others


def shareable(mdata: md.MuData) -> md.MuData:
    """A new dataset of what genes read from ``mdata``, built, to be pickled once for other processes.

    ``rna`` and ``atac`` with only ``layers["counts"]``, column-major (the form every gene
    reads: no ``X`` nor other matrices), the global ``obs`` and ``uns``, and the
    ``peak_to_gene`` index and metacell ids built: a process that unpickles it (a Ray worker,
    from the object store, where arrays are shared by the node's workers) builds and holds no
    copy of its own. Tables and dense counts are ``mdata``'s own; ``mdata`` is not changed.
    mudata's in-memory file manager holds a dead weak reference that cannot be unpickled; it
    is pickled as a new one (the dataset is in memory, no file is open).

    Examples
    --------
    >>> import pickle
    >>> from cell2net_core.testing import random_dataset
    >>> mdata = random_dataset(n_metacells=8)
    >>> other = pickle.loads(pickle.dumps(shareable(mdata)))
    >>> other["atac"].X is None, gene_inputs(other, "GENE0").peak_acc.shape, "_c2n_kept" in vars(mdata)
    (True, (8, 4), False)
    """
    counts = {f"counts_{mod}": _column_major(mdata[mod].layers["counts"]) for mod in ("rna", "atac")}
    mods = {mod: ad.AnnData(obs=mdata[mod].obs, var=mdata[mod].var, uns=mdata[mod].uns,
                            layers={"counts": counts[f"counts_{mod}"]}) for mod in ("rna", "atac")}  # fmt: skip
    shared = md.MuData(mods, obs=mdata.obs, var=mdata.var, uns=mdata.uns)
    shared.__dict__.update(_c2n_source=_source(mdata), _c2n_kept=counts)
    obs_ids(shared)
    _peak_index(shared)
    manager = type(shared.file)
    copyreg.pickle(manager, lambda _: (manager, ()))
    return shared


def obs_ids(mdata: md.MuData) -> list[str]:
    """The dataset's metacell ids as strings, in its order: one list kept per dataset (do not change it).

    Examples
    --------
    >>> from cell2net_core.testing import random_dataset
    >>> mdata = random_dataset(n_metacells=8)
    >>> obs_ids(mdata) is obs_ids(mdata), len(obs_ids(mdata))
    (True, 8)
    """
    return _kept(mdata, "obs_names", lambda: mdata.obs_names.astype(str).tolist())


def _peak_index(mdata: md.MuData) -> dict[str, np.ndarray]:
    """Each gene's row numbers in ``uns['peak_to_gene']``, in file order; built once per dataset."""
    p2g = mdata.uns["peak_to_gene"]
    return _kept(mdata, "peak_to_gene_rows", lambda: p2g.groupby(p2g["gene"].astype(str), sort=False).indices)


def _peak_rows(mdata: md.MuData, gene: str) -> pd.DataFrame:
    """The gene's rows of ``uns['peak_to_gene']``, in file order."""
    return mdata.uns["peak_to_gene"].iloc[_peak_index(mdata).get(gene, [])]


def _check_finite(values: np.ndarray, what: str, gene: str, mdata: md.MuData) -> None:
    if not np.isfinite(values).all():
        msg = f"{_source(mdata)}: {what} for gene {gene!r} holds NaN or infinite values; expected finite numbers."
        raise Cell2NetInputError(msg)


def gene_inputs(
    mdata: md.MuData,
    gene: str,
    *,
    covariates: Sequence[str] = DEFAULT_COVARIATES,
) -> GeneInputs:
    """Build one gene's model inputs for every metacell, validated.

    Parameters
    ----------
    mdata
        A dataset from :func:`read_dataset`.
    gene
        Target gene symbol.
    covariates
        ``obs`` columns fed to the model, in the order used in training.

    Examples
    --------
    >>> from cell2net_core.testing import random_dataset
    >>> x = gene_inputs(random_dataset(n_metacells=8, n_peaks=4), "GENE0")
    >>> x.peak_seq.shape, x.tf_exp.shape[0]
    ((4, 256, 4), 8)
    """
    src = _source(mdata)
    rows = _peak_rows(mdata, gene)
    if rows.empty:
        msg = f"{src}: gene {gene!r} has no peaks in uns['peak_to_gene']; pick a gene with linked peaks."
        raise Cell2NetInputError(msg)
    peaks = rows["peak"].astype(str).tolist()
    tfs = gene_tfs(mdata, gene)
    table = mdata["atac"].uns["peaks"]
    absent = [q for q in peaks if q not in table.index]
    if absent:
        msg = f"{src}: gene {gene!r}: peak(s) {absent[:3]} of uns['peak_to_gene'] have no row in atac.uns['peaks']."
        raise Cell2NetInputError(msg)
    seqs = table.loc[peaks, "sequence"].tolist()
    try:
        peak_seq = one_hot(seqs, names=peaks)
    except Cell2NetInputError as e:
        msg = f"{src}: atac.uns['peaks'], gene {gene!r}: {e}"
        raise Cell2NetInputError(msg) from e
    distance = pd.to_numeric(rows["distance"], errors="coerce").to_numpy(dtype=np.float32)
    _check_finite(distance, "uns['peak_to_gene']['distance']", gene, mdata)
    covariates = list(covariates)
    cov = _kept(mdata, f"covariates_{covariates}", lambda: _covariates(mdata, covariates, gene))
    tf_and_target = _columns(mdata, "rna", [*tfs, gene])  # one slice of the counts for both
    inputs = GeneInputs(
        gene=gene,
        peaks=peaks,
        tfs=tfs,
        covariate_names=covariates,
        obs_names=obs_ids(mdata),
        peak_seq=peak_seq,
        peak_acc=_columns(mdata, "atac", peaks),
        peak_dist=np.exp(-distance / DISTANCE_SCALE).astype(np.float32),
        tf_exp=np.ascontiguousarray(tf_and_target[:, :-1]),
        covariates=cov,
        target=np.ascontiguousarray(tf_and_target[:, -1]),
    )
    _check_finite(inputs.peak_acc, "atac.layers['counts']", gene, mdata)
    _check_finite(inputs.tf_exp, "rna.layers['counts'] of its TFs", gene, mdata)
    _check_finite(inputs.target, "rna.layers['counts']", gene, mdata)
    for values, what in ((inputs.peak_acc, "atac"), (inputs.tf_exp, "rna (its TFs)"), (inputs.target, "rna")):
        if (values < 0).any():
            msg = (
                f"{src}: {what}.layers['counts'] holds negative values for gene {gene!r} "
                f"(smallest {values.min():g}); expected raw counts (0 or more), not normalised or scaled data."
            )
            raise Cell2NetInputError(msg)
    return inputs


def _covariates(mdata: md.MuData, covariates: list[str], gene: str) -> np.ndarray:
    """``obs[covariates]`` as float32 ``(N, C)``, checked (the same for every gene: kept once per dataset)."""
    obs, src = mdata.obs, _source(mdata)
    missing = [c for c in covariates if c not in obs.columns]
    if missing:
        msg = (
            f"{src}: covariate column(s) {missing} are not in mdata.obs "
            f"(columns: {list(obs.columns)}); pass the covariates the model was trained with."
        )
        raise Cell2NetInputError(msg)
    try:
        cov = obs[covariates].to_numpy(dtype=np.float32).reshape(len(obs), len(covariates))
    except (TypeError, ValueError) as e:
        msg = f"{src}: covariate column(s) {covariates} in mdata.obs are not numeric."
        raise Cell2NetInputError(msg) from e
    _check_finite(cov, f"mdata.obs{covariates}", gene, mdata)
    return cov


def group_labels(mdata: md.MuData, groupby: str) -> np.ndarray:
    """Labels of an ``obs`` grouping column as strings, one per metacell.

    Parameters
    ----------
    mdata
        The dataset.
    groupby
        An ``obs`` column (missing values or a column of only missing values are refused).

    Examples
    --------
    >>> from cell2net_core.testing import random_dataset
    >>> group_labels(random_dataset(n_metacells=8), "cell_type_v2")[:2].tolist()
    ['B cell', 'Effector T']
    """
    if groupby not in mdata.obs.columns:
        msg = (
            f"{_source(mdata)}: grouping column {groupby!r} is not in mdata.obs; "
            f"choose one of {grouping_columns(mdata)}."
        )
        raise Cell2NetInputError(msg)
    column = mdata.obs[groupby]
    missing = int(column.isna().sum())
    if missing:
        msg = (
            f"{_source(mdata)}: grouping column {groupby!r} has no label for {missing} of {len(column)} metacells "
            f"(missing values); fill them or choose another of {grouping_columns(mdata)}."
        )
        raise Cell2NetInputError(msg)
    return column.astype(str).to_numpy(dtype=object)


def grouping_sha256(mdata: md.MuData, groupby: str) -> str:
    """SHA-256 of the metacell ids and their labels in ``obs[groupby]``, in order; kept per dataset.

    What a table aggregated by ``groupby`` depends on in the dataset besides a gene's inputs.

    Examples
    --------
    >>> from cell2net_core.testing import random_dataset
    >>> mdata = random_dataset(n_metacells=8)
    >>> len(grouping_sha256(mdata, "cell_type_v2")), grouping_sha256(mdata, "cell_type_v2") == grouping_sha256(
    ...     random_dataset(n_metacells=8, seed=1), "cell_type_v2")
    (64, True)
    """

    def digest() -> str:
        text = "\n".join(obs_ids(mdata)) + "\0" + "\n".join(group_labels(mdata, groupby))
        return hashlib.sha256(text.encode()).hexdigest()

    return _kept(mdata, f"grouping_sha256_{groupby}", digest)


def grouping_columns(mdata: md.MuData, *, max_groups: int = 100) -> list[str]:
    """``obs`` columns that look like groupings: text or categorical, 2 to ``max_groups`` values."""
    out = []
    for name, col in mdata.obs.items():
        if isinstance(col.dtype, pd.CategoricalDtype) or col.dtype == object or pd.api.types.is_string_dtype(col):
            if 1 < col.nunique() <= max_groups:
                out.append(str(name))
    return out


def peak_coordinates(mdata: md.MuData) -> pd.DataFrame:
    """Chromosome, start and end of every peak, for display: ``atac.uns["peaks"]``'s columns, else parsed.

    cell2net reads only the ``sequence`` column; when ``chr``, ``start`` or ``end`` is absent
    they are parsed from names such as ``chr1-817094-817594`` (also ``chr1:817094-817594``);
    a name that does not parse gives missing values, never zeros.

    Examples
    --------
    >>> from cell2net_core.testing import random_dataset
    >>> mdata = random_dataset(n_metacells=8)
    >>> mdata["atac"].uns["peaks"] = mdata["atac"].uns["peaks"][["sequence"]]
    >>> peak_coordinates(mdata).astype(object).iloc[0].tolist()
    ['chr1', 1000000, 1000256]
    """
    table = mdata["atac"].uns["peaks"]
    cols = ("chr", "start", "end")
    if all(c in table.columns for c in cols):
        out = table.loc[:, list(cols)].copy()
    else:
        parts = pd.Series(table.index.astype(str), index=table.index).str.extract(r"^(.+)[-:](\d+)-(\d+)$")
        out = pd.DataFrame({"chr": parts[0], "start": parts[1], "end": parts[2]}, index=table.index)
    for c in ("start", "end"):
        out[c] = pd.to_numeric(out[c], errors="coerce").astype("Int64")
    return out
