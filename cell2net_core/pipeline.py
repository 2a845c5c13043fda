"""The tutorial's loop, resumable: for each gene, load or compute its attributions, aggregate, store."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import KW_ONLY, dataclass
from pathlib import Path

import mudata as md
import numpy as np
import pandas as pd

from .aggregate import regroup
from .attribution import Attribution, tf_attr
from .data import GeneInputs, gene_inputs, gene_tfs, group_labels
from .errors import Cell2NetInputError
from .files import remove_stale_tmp
from .model import load_checkpoint
from .settings import Settings
from .store import CONSOLIDATED, ResultStore, check_gene_name

__all__ = ["GeneResult", "attribute_gene", "attribute_genes", "fingerprint"]

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
        Its TF -> gene table and attributions (``None`` when failed).
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


def _table(attribution: Attribution, mdata: md.MuData, settings: Settings) -> pd.DataFrame:
    return regroup(attribution, mdata, groupby=settings.groupby, n_tfs=settings.n_tfs, rank_by=settings.rank_by)


def _load(store: ResultStore, mdata: md.MuData, gene: str, meta: dict) -> Attribution:
    if meta:  # our .json holds the TF order and metacell ids
        return store.load(gene)
    return store.load(gene, tfs=gene_tfs(mdata, gene), obs_names=mdata.obs_names.astype(str).tolist())


def attribute_gene(
    mdata: md.MuData,
    gene: str,
    *,
    model_dir: str | os.PathLike,
    store: ResultStore,
    settings: Settings = Settings(),  # noqa: B008 (frozen, so one shared default is safe)
    force: bool = False,
    progress: Callable[[int, int], None] | None = None,
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
    progress
        Called as ``progress(done, total)`` over the gene's metacells.

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
    checkpoint = Path(model_dir) / f"{gene}.pt"
    with store.lock(gene):
        meta = store.meta(gene) if store.has(gene) else None
        inputs = gene_inputs(mdata, gene, covariates=settings.covariates)
        made = fingerprint(inputs, checkpoint) if checkpoint.is_file() else {}
        if not force and meta is not None and _is_fresh(meta, made, settings):
            attribution = _load(store, mdata, gene, meta)
            table = _table(attribution, mdata, settings)
            store.save_table(gene, table)
            return GeneResult(gene, "cached", table=table, attribution=attribution, seconds=time.perf_counter() - start)
        module = load_checkpoint(checkpoint, inputs, device=settings.device)
        attribution = tf_attr(
            module,
            inputs,
            method=settings.method,
            n_steps=settings.n_steps,
            multiply_by_inputs=settings.multiply_by_inputs,
            device=settings.device,
            progress=progress,
        )
        table = _table(attribution, mdata, settings)
        meta = {
            "covariates": list(settings.covariates),
            **made,
            "dataset": getattr(mdata, "_c2n_source", None),
            "seconds": time.perf_counter() - start,
            "settings": settings.to_json(),
        }
        store.save(attribution, table, meta=meta)
    return GeneResult(gene, "computed", table=table, attribution=attribution, seconds=time.perf_counter() - start)


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
    progress: GenesProgress | None = None,
    should_stop: Callable[[], bool] | None = None,
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
    progress
        Called as ``progress(gene_index, n_genes, gene, fraction_within_gene)``.
    should_stop
        Checked between genes; ``True`` ends the loop early.

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
    results: list[GeneResult] = []
    n = len(genes)
    for i, gene in enumerate(genes):
        if should_stop is not None and should_stop():
            break
        if progress is not None:
            progress(i, n, gene, 0.0)

        def step(done: int, total: int, i: int = i, gene: str = gene) -> None:
            if progress is not None:
                progress(i, n, gene, done / max(total, 1))

        try:
            result = attribute_gene(
                mdata, gene, model_dir=model_dir, store=store, settings=settings, force=force, progress=step
            )
        except Exception as e:  # one bad gene never stops the others
            result = _failure(gene, e)
        results.append(result)
        if progress is not None:
            progress(i + 1, n, gene, 1.0)
    if any(r.status != "failed" for r in results):
        try:
            store.write_consolidated()
        except OSError as e:
            msg = f"Cannot write {str(store.path / CONSOLIDATED)!r}: {e.strerror or e}; the per-gene files are stored."
            raise Cell2NetInputError(msg) from e
    return results
