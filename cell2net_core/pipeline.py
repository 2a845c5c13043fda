"""The tutorial's loop, resumable: for each gene, load or compute its attributions, aggregate, store."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import KW_ONLY, dataclass, replace
from pathlib import Path

import mudata as md
import numpy as np
import pandas as pd

from .aggregate import TABLE_FORMAT, regroup
from .attribution import Attribution, tf_attr
from .data import GeneInputs, gene_inputs, gene_tfs, group_labels, grouping_sha256, obs_ids
from .errors import Cell2NetInputError
from .files import Staged, remove_stale_tmp
from .known import mark_known
from .model import ModulePool, load_checkpoint, one_torch_thread, resolve_device
from .motifs import add_motif_evidence
from .overlap import DEFAULT_THREADS, map_in_processes, map_in_threads, thread_local
from .peaks import peak_attr, peak_to_gene
from .settings import Settings
from .stats import CONFIDENCE, N_BOOT, SEED, add_q_values
from .store import CONSOLIDATED, ResultStore, check_gene_name

__all__ = [
    "Evidence",
    "GeneResult",
    "Writer",
    "attribute_gene",
    "attribute_genes",
    "compute_gene",
    "fingerprint",
    "load_fresh",
    "peak_table",
    "attribute_gene_peaks",
]

#: ``progress(gene_index, n_genes, gene, fraction_within_gene)``
GenesProgress = Callable[[int, int, str, float], None]


@dataclass(frozen=True)
class GeneResult:
    """What happened to one gene.

    Attributes
    ----------
    gene
        Target gene.
    status
        ``"computed"``, ``"cached"`` (loaded from the results folder) or ``"failed"``.
    table, attribution
        Its TF -> gene table and attributions (``None`` when failed, or computed in a worker
        process: then they are in the results folder).
    seconds
        Time spent on it.
    error
        Why it failed: a message naming the file, key or gene.

    Examples
    --------
    >>> GeneResult("MS4A1", "failed", error="no checkpoint").error
    'no checkpoint'
    """

    gene: str
    status: str
    _: KW_ONLY
    table: pd.DataFrame | None = None
    attribution: Attribution | None = None
    seconds: float = 0.0
    error: str | None = None


@dataclass(frozen=True, kw_only=True, eq=False)
class Evidence:
    """What the loop adds to each gene beyond its TF attributions.

    Attributes
    ----------
    peaks
        Also attribute to peak accessibility (:func:`~cell2net_core.peaks.peak_attr`, ``settings.n_steps``):
        ``<GENE>.peaks.npy`` and ``peak_to_gene.csv``.
    motifs
        Add ``motif_id, motif_sites, motif_peaks`` (:func:`~cell2net_core.motifs.add_motif_evidence`).
    reference
        Curated edges (:func:`~cell2net_core.known.read_reference`): add a ``known`` column.

    Examples
    --------
    >>> Evidence(motifs=True).peaks
    False
    """

    peaks: bool = False
    motifs: bool = False
    reference: pd.DataFrame | None = None


NO_EVIDENCE = Evidence()


def fingerprint(inputs: GeneInputs, checkpoint: str | os.PathLike) -> dict[str, str]:
    """SHA-256 of what a gene's attributions depend on: its inputs (arrays and names) and its checkpoint file.

    The inputs' hash covers the dataset's part that the gene reads (sequences, counts,
    distances, covariate values in order, metacell ids, TF order), so a replaced ``.h5mu``
    that changes any of it, or swapped ``--covariates``, gives another hash.

    Examples
    --------
    >>> import tempfile
    >>> from cell2net_core.model import save_checkpoint
    >>> from cell2net_core.testing import random_dataset, random_model
    >>> x = gene_inputs(random_dataset(n_metacells=8), "GENE0")
    >>> path = save_checkpoint(random_model(x), f"{tempfile.mkdtemp()}/GENE0.pt")
    >>> from cell2net_core.data import DEFAULT_COVARIATES
    >>> swapped = gene_inputs(random_dataset(n_metacells=8), "GENE0", covariates=DEFAULT_COVARIATES[::-1])
    >>> fingerprint(x, path) == fingerprint(swapped, path), sorted(fingerprint(x, path))
    (False, ['checkpoint_sha256', 'inputs_sha256'])
    """
    h = hashlib.sha256()
    names = [inputs.gene, inputs.peaks, inputs.tfs, inputs.covariate_names, inputs.obs_names]
    h.update(json.dumps(names).encode())
    for array in (inputs.peak_seq, inputs.peak_acc, inputs.peak_dist, inputs.tf_exp, inputs.covariates):
        h.update(str(array.shape).encode())
        h.update(np.ascontiguousarray(array, dtype=np.float32).tobytes())
    with open(checkpoint, "rb") as fh:
        ckpt = hashlib.file_digest(fh, "sha256").hexdigest()
    return {"inputs_sha256": h.hexdigest(), "checkpoint_sha256": ckpt}


def _is_fresh(meta: dict, made: dict[str, str], settings: Settings) -> bool:
    """Stored attributions (their ``meta``) came from these inputs, this checkpoint's content and these settings.

    A tutorial's ``.npy`` (empty ``meta``, no ``.json``) counts as fresh: nothing says how it
    was made. A ``.json`` without the hashes (an older version of this program) does not.
    """
    if not meta:
        return True
    made_with = meta.get("settings") if isinstance(meta.get("settings"), dict) else {}
    return (
        all(meta.get(k) == v for k, v in made.items())
        and meta.get("covariates") == list(settings.covariates)
        and meta.get("method") == settings.method
        and (settings.method != "captum" or meta.get("n_steps") == settings.n_steps)
        and made_with.get("multiply_by_inputs", True) == settings.multiply_by_inputs
    )


def _table(attribution: Attribution, mdata: md.MuData, settings: Settings, evidence: Evidence) -> pd.DataFrame:
    table = regroup(
        attribution, mdata, groupby=settings.groupby, n_tfs=settings.n_tfs, rank_by=settings.rank_by, evidence=True
    )
    table = add_motif_evidence(table, mdata) if evidence.motifs else table
    return mark_known(table, evidence.reference) if evidence.reference is not None else table


def _table_made_with(mdata: md.MuData, settings: Settings, evidence: Evidence) -> dict | None:
    """What a gene's table depends on besides its attributions: the grouping (its labels' hash), the
    settings and the statistics' constants, and the table's format; ``None`` when it also depends on
    what is not recorded (motif scans, a reference table): such a table is always made again."""
    if evidence.motifs or evidence.reference is not None:
        return None
    return {
        "groupby": settings.groupby,
        "grouping_sha256": grouping_sha256(mdata, settings.groupby),
        "n_tfs": settings.n_tfs,
        "rank_by": settings.rank_by,
        "bootstrap": [N_BOOT, SEED, CONFIDENCE],
        "format": TABLE_FORMAT,
    }


def _load(store: ResultStore, mdata: md.MuData, gene: str, meta: dict) -> Attribution:
    if meta:  # our .json holds the TF order and metacell ids
        return store.load(gene)
    return store.load(gene, tfs=gene_tfs(mdata, gene), obs_names=obs_ids(mdata))


def attribute_gene(
    mdata: md.MuData,
    gene: str,
    *,
    model_dir: str | os.PathLike,
    store: ResultStore,
    settings: Settings = Settings(),  # noqa: B008 (frozen, so one shared default is safe)
    force: bool = False,
    evidence: Evidence = NO_EVIDENCE,
    progress: Callable[[int, int], None] | None = None,
    modules: ModulePool | None = None,
    commit: Callable[[Staged, Callable[[], None]], None] | None = None,
) -> GeneResult:
    """Load or compute one gene's attributions, aggregate them and store both.

    Holds the gene's lock while it works, so a second session asking for the same
    gene waits and then loads the stored result instead of computing it again.
    A stored result is reused only when its ``<GENE>.json`` records the same inputs (dataset
    part and covariates, in order; :func:`fingerprint`), the same checkpoint content, method,
    captum steps and ``multiply_by_inputs``; else (or with ``force``) it is recomputed. The gene
    name is checked before any file, lock files included, is touched.

    Parameters
    ----------
    mdata
        The dataset (:func:`~cell2net_core.data.read_dataset`).
    gene
        Target gene; its checkpoint is ``<model_dir>/<gene>.pt``.
    model_dir
        Folder of ``<GENE>.pt`` checkpoints.
    store
        Where results are read and written.
    settings
        How to compute and aggregate; recorded in ``<GENE>.json``.
    force
        Recompute even when fresh results are stored.
    evidence
        Peak attributions, motifs and known edges to add (:class:`Evidence`).
    progress
        Called as ``progress(done, total)`` over the gene's metacells.
    modules
        Modules reused per shape (:class:`~cell2net_core.model.ModulePool`); the numbers are the same.
    commit
        How the computed gene's files, written to temporary names, are put in place:
        ``commit(staged, release)`` must call ``staged.commit()`` and then ``release()`` (the gene's
        lock), e.g. in a writer thread (:class:`Writer`). ``None``: at once, before returning.

    Examples
    --------
    >>> import tempfile
    >>> from cell2net_core.model import save_checkpoint
    >>> from cell2net_core.testing import random_dataset, random_model
    >>> mdata, work = random_dataset(n_metacells=16), tempfile.mkdtemp()
    >>> _ = save_checkpoint(random_model(gene_inputs(mdata, "GENE0")), f"{work}/model/GENE0.pt")
    >>> store, exact = ResultStore(f"{work}/results"), Settings(method="exact", device="cpu")
    >>> attribute_gene(mdata, "GENE0", model_dir=f"{work}/model", store=store, settings=exact).status
    'computed'
    >>> attribute_gene(mdata, "GENE0", model_dir=f"{work}/model", store=store, settings=exact).status
    'cached'
    """
    start = time.perf_counter()
    check_gene_name(gene, folder=store.path)  # before any file is touched, lock files included
    with contextlib.ExitStack() as held:
        held.enter_context(store.lock(gene))
        inputs = gene_inputs(mdata, gene, covariates=settings.covariates)
        if evidence.peaks:
            attribute_gene_peaks(
                mdata, gene, model_dir=model_dir, store=store, settings=settings, force=force, inputs=inputs
            )
        if not force:
            cached = load_fresh(
                mdata, gene, model_dir=model_dir, store=store, settings=settings, evidence=evidence, inputs=inputs
            )
            if cached is not None:
                return cached
        attribution, table, meta = compute_gene(
            mdata, gene, model_dir=model_dir, settings=settings, evidence=evidence, inputs=inputs, modules=modules,
            progress=progress,
        )  # fmt: skip
        staged = store.stage(attribution, table, meta=meta)
        if commit is None:
            staged.commit()
        else:
            release = held.pop_all().close  # the lock is now commit's to release
            try:
                commit(staged, release)
            except BaseException:
                staged.discard()
                release()
                raise
    return GeneResult(gene, "computed", table=table, attribution=attribution, seconds=time.perf_counter() - start)


def load_fresh(
    mdata: md.MuData,
    gene: str,
    *,
    model_dir: str | os.PathLike,
    store: ResultStore,
    settings: Settings = Settings(),  # noqa: B008 (frozen, so one shared default is safe)
    evidence: Evidence = NO_EVIDENCE,
    inputs: GeneInputs | None = None,
) -> GeneResult | None:
    """The gene's stored result when fresh (its table re-aggregated with ``settings`` and saved), else ``None``.

    Fresh: made from the same inputs and checkpoint content (:func:`fingerprint`) and settings.
    Call it holding ``store.lock(gene)``; ``inputs`` saves building the gene's inputs again.

    Examples
    --------
    >>> import tempfile
    >>> from cell2net_core.testing import random_dataset
    >>> work = tempfile.mkdtemp()
    >>> load_fresh(random_dataset(n_metacells=8), "GENE0", model_dir=work, store=ResultStore(work)) is None
    True
    """
    start = time.perf_counter()
    meta = store.meta(gene) if store.has(gene) else None
    if meta is None:
        return None
    checkpoint = Path(model_dir) / f"{gene}.pt"
    inputs = inputs if inputs is not None else gene_inputs(mdata, gene, covariates=settings.covariates)
    made = fingerprint(inputs, checkpoint) if checkpoint.is_file() else {}
    if not _is_fresh(meta, made, settings):
        return None
    attribution, made_with = _load(store, mdata, gene, meta), _table_made_with(mdata, settings, evidence)
    table = store.current_table(gene, made_with, meta=meta)
    if table is None:  # made with other settings or evidence (or no record): made again from the attributions
        table = _table(attribution, mdata, settings, evidence)
        store.save_table(gene, table, made_with=made_with, meta=meta)
    return GeneResult(gene, "cached", table=table, attribution=attribution, seconds=time.perf_counter() - start)


def compute_gene(
    mdata: md.MuData,
    gene: str,
    *,
    model_dir: str | os.PathLike,
    settings: Settings = Settings(),  # noqa: B008 (frozen, so one shared default is safe)
    evidence: Evidence = NO_EVIDENCE,
    inputs: GeneInputs | None = None,
    modules: ModulePool | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[Attribution, pd.DataFrame, dict]:
    """Compute one gene's attributions, its table and the ``meta`` recorded in ``<GENE>.json``; writes nothing.

    ``modules`` reuses a module per shape (:class:`~cell2net_core.model.ModulePool`); the numbers are the same.
    ``inputs`` saves building the gene's inputs again.

    Examples
    --------
    >>> import tempfile
    >>> from cell2net_core.model import save_checkpoint
    >>> from cell2net_core.testing import random_dataset, random_model
    >>> mdata, work = random_dataset(n_metacells=16), tempfile.mkdtemp()
    >>> _ = save_checkpoint(random_model(gene_inputs(mdata, "GENE0")), f"{work}/GENE0.pt")
    >>> attribution, table, meta = compute_gene(mdata, "GENE0", model_dir=work, settings=Settings(device="cpu"))
    >>> attribution.attr.shape[0], sorted(meta)
    (16, ['checkpoint_sha256', 'covariates', 'dataset', 'inputs_sha256', 'seconds', 'settings', 'table_made_with'])
    """
    start = time.perf_counter()
    checkpoint = Path(model_dir) / f"{gene}.pt"
    inputs = inputs if inputs is not None else gene_inputs(mdata, gene, covariates=settings.covariates)
    # one torch thread for the whole gene: stored numbers independent of cores and --threads, and the checkpoint's
    # checks do not wait for torch threads another gene's work holds
    with one_torch_thread(settings.device):
        module = load_checkpoint(checkpoint, inputs, device=settings.device) if modules is None else modules.load(
            checkpoint, inputs)  # fmt: skip
        attribution = tf_attr(
            module,
            inputs,
            method=settings.method,
            n_steps=settings.n_steps,
            multiply_by_inputs=settings.multiply_by_inputs,
            device=settings.device,
            progress=progress,
        )
        table = _table(attribution, mdata, settings, evidence)
    meta = {
        "covariates": list(settings.covariates),
        **fingerprint(inputs, checkpoint),
        "dataset": getattr(mdata, "_c2n_source", None),
        "seconds": time.perf_counter() - start,
        "settings": settings.to_json(),
        "table_made_with": _table_made_with(mdata, settings, evidence),
    }
    return attribution, table, meta


def attribute_gene_peaks(
    mdata: md.MuData,
    gene: str,
    *,
    model_dir: str | os.PathLike,
    store: ResultStore,
    settings: Settings = Settings(),  # noqa: B008 (frozen, so one shared default is safe)
    force: bool = False,
    progress: Callable[[int, int], None] | None = None,
    inputs: GeneInputs | None = None,
) -> bool:
    """Compute and store the gene's peak attributions (``<GENE>.peaks.npy``) unless fresh ones are stored.

    Fresh, as for TF attributions: made from the same inputs and checkpoint content
    (:func:`fingerprint`), covariates (in order) and ``settings.n_steps``. Returns whether they
    were computed; ``inputs`` saves building the gene's inputs again. ``peak_to_gene.csv`` is
    written by :func:`attribute_genes` (or from :func:`peak_table`).

    Examples
    --------
    >>> import tempfile
    >>> from cell2net_core.model import save_checkpoint
    >>> from cell2net_core.testing import random_dataset, random_model
    >>> mdata, work = random_dataset(n_metacells=8), tempfile.mkdtemp()
    >>> _ = save_checkpoint(random_model(gene_inputs(mdata, "GENE0")), f"{work}/model/GENE0.pt")
    >>> store, fast = ResultStore(f"{work}/results"), Settings(n_steps=10, device="cpu")
    >>> [attribute_gene_peaks(mdata, "GENE0", model_dir=f"{work}/model", store=store, settings=fast)
    ...  for _ in range(2)], store.peak_genes()
    ([True, False], ['GENE0'])
    """
    checkpoint = Path(model_dir) / f"{gene}.pt"
    inputs = inputs if inputs is not None else gene_inputs(mdata, gene, covariates=settings.covariates)
    made = fingerprint(inputs, checkpoint) if checkpoint.is_file() else {}  # else load_checkpoint says so
    now = {"n_steps": settings.n_steps, "covariates": list(settings.covariates), **made}
    meta = store.peaks_meta(gene)
    if not force and all(meta.get(k) == v for k, v in now.items()):
        return False
    module = load_checkpoint(checkpoint, inputs, device=settings.device)
    with one_torch_thread(settings.device):
        result = peak_attr(module, inputs, n_steps=settings.n_steps, device=settings.device, progress=progress)
    store.save_peaks(result, meta={k: v for k, v in now.items() if k != "n_steps"})
    return True


def peak_table(
    store: ResultStore, mdata: md.MuData, *, groupby: str = "cell_type_v2", genes: Sequence[str] | None = None
) -> pd.DataFrame | None:
    """``peak_to_gene``-style table of every gene with stored peak attributions (or of ``genes``
    among them); q over all its rows.

    Parameters
    ----------
    store
        The results folder.
    mdata
        The dataset the attributions were computed on (for the groups, matched by metacell id).
    groupby
        ``obs`` column to aggregate by.
    genes
        Only these genes (those without stored peak attributions are left out); ``None``: all.

    Examples
    --------
    >>> import tempfile
    >>> from cell2net_core.testing import random_dataset
    >>> peak_table(ResultStore(tempfile.mkdtemp()), random_dataset(n_metacells=8)) is None
    True
    """
    labels = pd.Series(group_labels(mdata, groupby), index=mdata.obs_names.astype(str))
    parts = []
    for gene in store.peak_genes():
        if genes is not None and gene not in genes:
            continue
        res = store.load_peaks(gene)
        missing = [o for o in res.obs_names if o not in labels.index]
        if missing:
            msg = f"Stored peak attributions of gene {gene!r} name metacell {missing[0]!r}, absent from the dataset."
            raise Cell2NetInputError(msg)
        groups = labels.loc[res.obs_names].to_numpy()
        parts.append(peak_to_gene(res.attr, groups, gene=gene, peaks=res.peaks, groupby=groupby))
    return add_q_values(pd.concat(parts, ignore_index=True)) if parts else None


class Writer:
    """Puts computed genes' files in place in a thread of its own, one gene after another, each then releasing
    its gene's lock (:func:`attribute_gene`'s ``commit``).

    Flushing a gene's files to disk takes ~2 ms with two worker processes, nearly all of it waiting for
    the disk: here it overlaps the next gene's computing. :meth:`settle` waits for every commit
    handed in and says which failed, so a gene is reported only once its files are in place.

    Examples
    --------
    >>> import tempfile
    >>> from cell2net_core.files import stage
    >>> folder, writer = Path(tempfile.mkdtemp()), Writer()
    >>> writer.commit("a", stage([(folder / "a.txt", "A")]), release=lambda: None)
    >>> writer.settle(), (folder / "a.txt").read_text()
    ({}, 'A')
    """

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="cell2net-writer")
        self._pending: dict[object, Future] = {}

    def commit(self, key: object, staged: Staged, release: Callable[[], None]) -> None:
        """``staged.commit()`` then ``release()``, in the writer's thread; ``key`` names it in :meth:`settle`."""

        def run() -> None:
            try:
                staged.commit()
            finally:
                release()

        self._pending[key] = self._pool.submit(run)

    def settle(self) -> dict[object, Exception]:
        """Wait for every commit handed in; those that failed, by key, with the exception."""
        failed = {}
        for key, future in self._pending.items():
            try:
                future.result()
            except Exception as e:
                failed[key] = e
        self._pending.clear()
        return failed


_WRITERS: dict[int, Writer] = {}  # one per worker process (by pid: a forked child must not use its parent's)


def _writer() -> Writer:
    """This process's :class:`Writer`, made on first use."""
    if os.getpid() not in _WRITERS:
        _WRITERS[os.getpid()] = Writer()
    return _WRITERS[os.getpid()]


def _failure(gene: str, e: BaseException) -> GeneResult:
    """A failed gene, its message naming what went wrong (never a traceback)."""
    if isinstance(e, Cell2NetInputError):
        return GeneResult(gene, "failed", error=str(e))
    if isinstance(e, OSError):
        where = f" {e.filename!r}" if e.filename else ""
        why = e.strerror or str(e)
        msg = f"cannot write or read{where}: {why}; check that the folder exists, is writable and has free space."
        return GeneResult(gene, "failed", error=msg)
    return GeneResult(gene, "failed", error=f"unexpected {type(e).__name__}: {e} (please report this)")


def attribute_genes(
    mdata: md.MuData,
    genes: Sequence[str],
    *,
    model_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    settings: Settings = Settings(),  # noqa: B008 (frozen, so one shared default is safe)
    force: bool = False,
    evidence: Evidence = NO_EVIDENCE,
    progress: GenesProgress | None = None,
    should_stop: Callable[[], bool] | None = None,
    threads: int = DEFAULT_THREADS,
    processes: int = 1,
    keep: bool = True,
) -> list[GeneResult]:
    """Run :func:`attribute_gene` over genes, then rewrite ``tf_to_gene.csv``.

    A gene whose input is bad is reported as ``"failed"`` (with the message) and the
    loop goes on; ``should_stop()`` is checked between genes.

    Parameters
    ----------
    mdata
        The dataset (:func:`~cell2net_core.data.read_dataset`).
    genes
        Target genes, each with ``<model_dir>/<GENE>.pt``.
    model_dir
        Folder of checkpoints.
    out_dir
        Results folder (created when needed).
    settings
        How to compute and aggregate (:class:`~cell2net_core.settings.Settings`).
    force
        Recompute genes whose fresh results are stored.
    evidence
        Peak attributions, motifs and known edges to add (:class:`Evidence`).
    progress
        Called as ``progress(gene_index, n_genes, gene, fraction_within_gene)``.
    should_stop
        Checked between genes; ``True`` ends the loop early.
    threads
        Genes in flight at once in threads of this process (:mod:`~cell2net_core.overlap`), so
        reading and writing overlap computing; each gene's numbers are those of a serial run.
    processes
        On a CPU, more than 1: genes in that many forked worker processes instead, each taking a run
        of genes at once (:func:`~cell2net_core.overlap.map_in_processes`; for the command line, not
        a server); the same files. In a worker, each gene's files are flushed and put in place by a
        writer thread (:class:`Writer`) while the next gene computes, and a gene is reported once its
        files are in place (at the end of its run). Progress is then reported per finished run, and
        the results carry no ``table`` or ``attribution`` (they are in ``out_dir``:
        :class:`~cell2net_core.store.ResultStore`), so workers do not send them back through a pipe.
    keep
        Whether the results carry each gene's ``table`` and ``attribution`` (never with ``processes``).
        ``False`` for a run over many genes: they are in ``out_dir``, and all of them would not fit in
        memory at atlas sizes (20,000 genes x 100,000 metacells x 100 TFs: 800 GB of attributions).

    Returns
    -------
    One :class:`GeneResult` per gene attempted, in order.

    Examples
    --------
    >>> import tempfile
    >>> from cell2net_core.model import save_checkpoint
    >>> from cell2net_core.testing import random_dataset, random_model
    >>> mdata, work = random_dataset(n_metacells=16), tempfile.mkdtemp()
    >>> _ = save_checkpoint(random_model(gene_inputs(mdata, "GENE0")), f"{work}/model/GENE0.pt")
    >>> results = attribute_genes(mdata, ["GENE0"], model_dir=f"{work}/model", out_dir=f"{work}/results",
    ...                           settings=Settings(method="exact", device="cpu"))
    >>> [(r.gene, r.status) for r in results]
    [('GENE0', 'computed')]
    """
    group_labels(mdata, settings.groupby)  # a bad grouping column fails before any work
    store = ResultStore(out_dir)
    if store.path.is_dir():
        remove_stale_tmp(store.path)  # what a killed run left
    n = len(genes)

    forked = processes > 1 and resolve_device(settings.device).type == "cpu"

    def one(i: int, gene: str) -> GeneResult:
        def step(done: int, total: int) -> None:
            if progress is not None and not forked:  # a worker has no way to the caller's progress bar
                progress(i, n, gene, done / max(total, 1))

        step(0, 1)
        modules = thread_local(f"modules_{settings.device}", lambda: ModulePool(device=settings.device))
        commit = None
        if forked:  # the gene's files flushed and put in place while the next gene computes; settled per run
            writer = _writer()
            commit = lambda staged, release: writer.commit(i, staged, release)  # noqa: E731
        try:
            result = attribute_gene(mdata, gene, model_dir=model_dir, store=store, settings=settings, force=force,
                                    evidence=evidence, progress=step, modules=modules, commit=commit)  # fmt: skip
        except Exception as e:  # one bad gene never stops the others
            return _failure(gene, e)
        return result if keep and not forked else replace(result, table=None, attribution=None)  # stored

    finished = [0]

    def done(i: int, result: GeneResult) -> None:
        finished[0] += 1
        if progress is not None:
            progress(finished[0], n, result.gene, 1.0)

    if forked:
        lost = ("its worker process died twice, the second time computing it alone (killed, or out of memory?); "
                "rerun the command to try it again.")

        def settle(run: list[tuple[int, GeneResult]]) -> list[tuple[int, GeneResult]]:
            failed = _writer().settle()
            return [(i, _failure(r.gene, failed[i]) if i in failed else r) for i, r in run]

        results = map_in_processes(one, list(genes), processes=processes, done=done, should_stop=should_stop,
                                   crashed=lambda i, gene: GeneResult(gene, "failed", error=lost),
                                   settle=settle)  # fmt: skip
    else:
        results = map_in_threads(one, list(genes), threads=threads, done=done, should_stop=should_stop)
    if any(r.status != "failed" for r in results):
        try:
            store.write_consolidated()
        except OSError as e:
            msg = f"Cannot write {str(store.path / CONSOLIDATED)!r}: {e.strerror or e}; the per-gene files are stored."
            raise Cell2NetInputError(msg) from e
        table = peak_table(store, mdata, groupby=settings.groupby) if evidence.peaks else None
        if table is not None:
            store.write_peak_table(table)
    return results
