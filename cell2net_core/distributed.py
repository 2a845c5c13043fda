"""Attribution on a Ray cluster: tasks of runs of genes, their files returned to the driver, which writes them.

The driver reads the ``.h5mu`` and puts it into Ray's object store once, with what every gene
reads again already built (:func:`~cell2net_core.data.shareable`): its arrays are shared by
the workers of a node (one copy per node, not one per worker) and each worker unpickles the
rest once. Workers read the checkpoints from ``model_dir``, so that path must be readable on
every node (a shared filesystem, or the same files at the same paths). Results travel back
through the object store and only the driver writes the results folder, through the same atomic
:class:`~cell2net_core.store.ResultStore` and its locks as the local backend: no lock has to
hold across nodes, a worker that dies leaves no file, and a rerun after the driver was
killed resumes from the per-gene files (see ``docs/scaling.md``).

Genes whose stored results are fresh are loaded by the driver, as locally; a task that fails
because its worker died is retried by Ray (``max_retries``), then its genes one per task; a gene
with bad input comes back as ``"failed"`` and the others go on. A gene is computed on one torch thread on a CPU
(:func:`~cell2net_core.model.one_torch_thread`), in a worker as locally, so the files equal a
local run's byte for byte whatever the nodes' core counts.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import mudata as md

from .data import group_labels, read_dataset, shareable
from .errors import Cell2NetInputError
from .files import remove_stale_tmp
from .model import ModulePool
from .overlap import _runs
from .pipeline import GeneResult, compute_gene, load_fresh
from .settings import Settings
from .store import ResultStore, gene_files

__all__ = ["attribute_genes_ray", "RETRIES"]

#: Times Ray reruns a gene whose worker died.
RETRIES = 3
_WORKER: dict[str, Any] = {}


def _work_on_genes(dataset: list, genes: list[str], model_dir: str, settings: dict) -> list[tuple]:
    """Run in a Ray worker, a run of genes: for each, ``("computed", files)`` (its result files rendered here,
    :func:`~cell2net_core.store.gene_files`, so the driver only writes them) or ``("failed", message)``.

    ``dataset`` is ``[reference]`` to the dataset in the object store (in a list, so Ray does not
    unpickle it for every task): it is fetched once per worker process and kept until another comes.
    """
    import ray

    (ref,) = dataset
    if _WORKER.get("key") != ref.hex():
        _WORKER.update(key=ref.hex(), mdata=ray.get(ref), modules={})
    chosen = Settings(**settings)
    modules = _WORKER["modules"].setdefault(chosen.device, ModulePool(device=chosen.device))
    return [_work_on_gene(gene, model_dir, chosen, modules) for gene in genes]


def _work_on_gene(gene: str, model_dir: str, settings: Settings, modules: ModulePool) -> tuple:
    try:
        attribution, table, meta = compute_gene(
            _WORKER["mdata"], gene, model_dir=model_dir, settings=settings, modules=modules
        )
    except Cell2NetInputError as e:
        return ("failed", str(e))
    return ("computed", gene_files(attribution, table, meta=meta))


def _start_ray(address: str | None, workers: int) -> bool:
    """Join the cluster at ``address`` or start a local one of ``workers`` CPUs; ``True`` if we started Ray.

    Our package travels to every worker (``py_modules``); when the caller started Ray, that is theirs to do.
    """
    import ray

    if ray.is_initialized():
        return False
    quiet = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False,
             "runtime_env": {"py_modules": [str(Path(__file__).parent)]}}  # fmt: skip
    if address:
        ray.init(address=address, **quiet)
    else:
        ray.init(num_cpus=workers, **quiet)
    return True


def _plan(
    mdata: md.MuData, genes: Sequence[str], *, store: ResultStore, model_dir: str, settings: Settings, force: bool
) -> tuple[dict[str, GeneResult], list[str]]:
    """Genes loaded from the store (fresh) and genes to compute."""
    loaded: dict[str, GeneResult] = {}
    todo = []
    for gene in genes:
        try:
            with store.lock(gene):
                fresh = None if force else load_fresh(mdata, gene, model_dir=model_dir, store=store, settings=settings)
        except Cell2NetInputError as e:
            fresh = GeneResult(gene, "failed", error=str(e))
        if fresh is None:
            todo.append(gene)
        else:
            loaded[gene] = replace(fresh, table=None, attribution=None)  # stored; all genes' would not fit in memory
    return loaded, todo


def _store_result(store: ResultStore, gene: str, answer: tuple, start: float) -> GeneResult:
    """Write a worker's answer for ``gene`` (under its lock) and describe it (the files hold the numbers)."""
    if answer[0] == "failed":
        return GeneResult(gene, "failed", error=answer[1])
    with store.lock(gene):
        store.stage_files(answer[1]).commit()
    return GeneResult(gene, "computed", seconds=time.perf_counter() - start)


def _run_tasks(
    todo: list[str], submit: Callable[[list[str]], Any], *, slots: int, on_answer: Callable[[str, tuple], None]
) -> None:
    """Keep twice ``slots`` tasks in flight, each a run of genes, and hand each gene's answer over as it arrives.

    Runs as :func:`~cell2net_core.overlap.map_in_processes` takes them (long while many genes are
    left, single ones at the end), so Ray's costs per task are paid once per run. A run whose task
    failed (its worker died ``RETRIES + 1`` times) is tried again one gene per task, so only a gene
    that kills its worker is reported failed. On any error (Ctrl-C) the tasks in flight are cancelled.
    """
    import ray

    runs, alone, running = _runs(list(enumerate(todo)), max(slots, 1)), [], {}

    def next_run() -> list[str]:
        return [alone.pop(0)] if alone else [gene for _, gene in next(runs, (0, []))[1]]

    try:
        while True:
            while len(running) < 2 * max(slots, 1) and (run := next_run()):
                running[submit(run)] = run
            if not running:
                return
            ready, _ = ray.wait(list(running), num_returns=1)
            for ref in ready:
                run = running.pop(ref)
                try:
                    answers = ray.get(ref)
                except ray.exceptions.RayError as e:  # its worker died RETRIES + 1 times, or the task could not run
                    if len(run) > 1:
                        alone.extend(run)
                        continue
                    answers = [("failed", f"gene {run[0]!r}: the Ray task failed after {RETRIES} retries: {e}")]
                for gene, answer in zip(run, answers, strict=True):
                    on_answer(gene, answer)
    except BaseException:
        for ref in running:
            ray.cancel(ref, force=True)
        raise


def attribute_genes_ray(
    mdata_path: str | os.PathLike,
    genes: Sequence[str],
    *,
    model_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    settings: Settings = Settings(),  # noqa: B008 (frozen, so one shared default is safe)
    force: bool = False,
    address: str | None = None,
    workers: int = 2,
    gpus_per_task: float = 0.0,
    progress: Callable[[int, int, str], None] | None = None,
    mdata: md.MuData | None = None,
) -> list[GeneResult]:
    """Attribute genes in Ray tasks, each a run of genes; the driver writes the results folder.

    Parameters
    ----------
    mdata_path
        The ``.h5mu``, read by the driver (unless ``mdata`` is given) and shared with the workers.
    genes
        Target genes, each with ``<model_dir>/<GENE>.pt``.
    model_dir, out_dir, settings, force
        As in :func:`~cell2net_core.pipeline.attribute_genes`.
    address
        ``"auto"`` or ``"HOST:PORT"`` of a running cluster; ``None`` starts a local one of ``workers`` CPUs
        (shut down at the end).
    workers
        CPUs of the local cluster (one task each at a time); on a cluster, its CPUs count instead.
        Twice as many tasks as slots are kept in flight.
    gpus_per_task
        GPUs each task asks Ray for (fractional allowed, e.g. 0.25 runs four genes per GPU).
    progress
        Called as ``progress(done, n_genes, gene)`` in the driver as genes finish.
    mdata
        The dataset already read by the driver (read from ``mdata_path`` when ``None``).

    Returns
    -------
    One :class:`~cell2net_core.pipeline.GeneResult` per gene, in order, without ``table`` or ``attribution``
    (they are in ``out_dir``; a driver keeping every gene's would run out of memory at atlas sizes).

    Examples
    --------
    >>> import tempfile
    >>> from cell2net_core.testing import random_dataset
    >>> path = f"{tempfile.mkdtemp()}/mdata.h5mu"
    >>> random_dataset(n_metacells=8).write(path)
    >>> attribute_genes_ray(path, [], model_dir=".", out_dir=tempfile.mkdtemp())  # nothing to do: Ray not started
    []
    """
    import ray

    mdata = read_dataset(mdata_path) if mdata is None else mdata
    group_labels(mdata, settings.groupby)  # a bad grouping column fails before any work
    store, start, n = ResultStore(out_dir), time.perf_counter(), len(genes)
    remove_stale_tmp(store.path)  # what a killed run left
    results, todo = _plan(mdata, genes, store=store, model_dir=str(model_dir), settings=settings, force=force)
    if progress is not None and results:
        progress(len(results), n, next(reversed(results)))
    if todo:
        started = _start_ray(address, workers)
        try:
            task = ray.remote(_work_on_genes).options(num_cpus=1, num_gpus=gpus_per_task, max_retries=RETRIES)
            args = ([ray.put(shareable(mdata))], str(Path(model_dir).resolve()), settings.to_json())

            def on_answer(gene: str, answer: tuple) -> None:
                results[gene] = _store_result(store, gene, answer, start)
                if progress is not None:
                    progress(len(results), n, gene)

            def submit(genes: list[str]) -> Any:
                return task.remote(args[0], genes, args[1], args[2])

            slots = workers if address is None else int(ray.cluster_resources().get("CPU", workers))
            _run_tasks(todo, submit, slots=slots, on_answer=on_answer)
        finally:
            if started:
                ray.shutdown()
    if any(r.status != "failed" for r in results.values()):
        store.write_consolidated()
    return [results[g] for g in genes if g in results]
