"""The tutorial's loop, resumable: for each gene, load or compute its attributions, aggregate, store."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import mudata as md
import pandas as pd

from .aggregate import tf_to_gene
from .attribution import Attribution, tf_attr
from .data import DEFAULT_COVARIATES, gene_inputs, gene_tfs, group_labels
from .errors import Cell2NetInputError
from .model import load_checkpoint
from .store import ResultStore

__all__ = ["GeneResult", "attribute_gene", "attribute_genes", "regroup"]

#: ``progress(gene_index, n_genes, gene, fraction_within_gene)``
GenesProgress = Callable[[int, int, str, float], None]


@dataclass(frozen=True)
class GeneResult:
    """What happened to one gene: ``status`` is ``"computed"``, ``"cached"`` or ``"failed"``."""

    gene: str
    status: str
    table: pd.DataFrame | None = None
    attribution: Attribution | None = None
    seconds: float = 0.0
    error: str | None = None


def regroup(
    attribution: Attribution,
    mdata: md.MuData,
    *,
    groupby: str = "cell_type_v2",
    n_tfs: int | None = 10,
    rank_by: Literal["mean", "abs"] = "mean",
) -> pd.DataFrame:
    """The TF -> gene table of stored attributions for any grouping, with no recomputation.

    Metacells are matched by id, so the dataset's row order does not matter.

    Examples
    --------
    >>> regroup(store.load("MS4A1"), mdata, groupby="cell_type", n_tfs=5)  # doctest: +SKIP
    """
    labels = pd.Series(group_labels(mdata, groupby), index=mdata.obs_names.astype(str))
    missing = [o for o in attribution.obs_names if o not in labels.index]
    if missing:
        msg = (
            f"Stored attributions of gene {attribution.gene!r} name {len(missing)} metacell(s) absent "
            f"from the dataset, e.g. {missing[0]!r}: were they computed on another .h5mu?"
        )
        raise Cell2NetInputError(msg)
    return tf_to_gene(
        attribution.attr,
        labels.loc[attribution.obs_names].to_numpy(),
        gene=attribution.gene,
        tfs=attribution.tfs,
        groupby=groupby,
        n_tfs=n_tfs,
        rank_by=rank_by,
    )


def _is_fresh(meta: dict, checkpoint: Path, *, method: str, n_steps: int) -> bool:
    """Stored attributions (their ``meta``) came from this method, steps and checkpoint as it is now.

    A tutorial's ``.npy`` (empty ``meta``, no ``.json``) counts as fresh: nothing says otherwise.
    """
    if meta.get("method", method) != method or (method == "captum" and meta.get("n_steps", n_steps) != n_steps):
        return False
    made_from = meta.get("checkpoint_mtime")
    return made_from is None or not checkpoint.is_file() or made_from == checkpoint.stat().st_mtime


def attribute_gene(
    mdata: md.MuData,
    gene: str,
    *,
    model_dir: str | os.PathLike,
    store: ResultStore,
    groupby: str = "cell_type_v2",
    n_tfs: int | None = 10,
    rank_by: Literal["mean", "abs"] = "mean",
    covariates: Sequence[str] = DEFAULT_COVARIATES,
    method: Literal["captum", "exact"] = "captum",
    n_steps: int = 100,
    device: str = "auto",
    force: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> GeneResult:
    """Load or compute one gene's attributions, aggregate them and store both.

    Holds the gene's lock while it works, so a second session asking for the same
    gene waits and then loads the stored result instead of computing it again.
    A stored result is reused unless ``force``, its checkpoint changed since, or it was
    made by another method (or another number of captum steps).
    """
    start = time.perf_counter()
    checkpoint = Path(model_dir) / f"{gene}.pt"
    with store.lock(gene):
        meta = store.meta(gene) if store.has(gene) else None
        if not force and meta is not None and _is_fresh(meta, checkpoint, method=method, n_steps=n_steps):
            if meta:  # our .json holds the TF order and metacell ids
                attribution = store.load(gene)
            else:
                obs_names = mdata.obs_names.astype(str).tolist()
                attribution = store.load(gene, tfs=gene_tfs(mdata, gene), obs_names=obs_names)
            table = regroup(attribution, mdata, groupby=groupby, n_tfs=n_tfs, rank_by=rank_by)
            store.save_table(gene, table)
            return GeneResult(gene, "cached", table, attribution, time.perf_counter() - start)
        inputs = gene_inputs(mdata, gene, covariates=covariates)
        module = load_checkpoint(checkpoint, inputs, device=device)
        attribution = tf_attr(module, inputs, method=method, n_steps=n_steps, device=device, progress=progress)
        table = regroup(attribution, mdata, groupby=groupby, n_tfs=n_tfs, rank_by=rank_by)
        meta = {
            "covariates": list(covariates),
            "checkpoint_mtime": checkpoint.stat().st_mtime,
            "seconds": time.perf_counter() - start,
        }
        store.save(attribution, table, meta=meta)
    return GeneResult(gene, "computed", table, attribution, time.perf_counter() - start)


def attribute_genes(
    mdata: md.MuData,
    genes: Sequence[str],
    *,
    model_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    groupby: str = "cell_type_v2",
    n_tfs: int | None = 10,
    rank_by: Literal["mean", "abs"] = "mean",
    covariates: Sequence[str] = DEFAULT_COVARIATES,
    method: Literal["captum", "exact"] = "captum",
    n_steps: int = 100,
    device: str = "auto",
    force: bool = False,
    progress: GenesProgress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> list[GeneResult]:
    """Run :func:`attribute_gene` over genes, then rewrite ``tf_to_gene.csv``.

    A gene whose input is bad is reported as ``"failed"`` (with the message) and the
    loop goes on; ``should_stop()`` is checked between genes.

    Examples
    --------
    >>> attribute_genes(mdata, ["MS4A1"], model_dir="demo/model", out_dir="results")  # doctest: +SKIP
    """
    group_labels(mdata, groupby)  # a bad grouping column fails before any work
    store = ResultStore(out_dir)
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
            results.append(
                attribute_gene(
                    mdata,
                    gene,
                    model_dir=model_dir,
                    store=store,
                    groupby=groupby,
                    n_tfs=n_tfs,
                    rank_by=rank_by,
                    covariates=covariates,
                    method=method,
                    n_steps=n_steps,
                    device=device,
                    force=force,
                    progress=step,
                )
            )
        except Cell2NetInputError as e:
            results.append(GeneResult(gene, "failed", error=str(e)))
        if progress is not None:
            progress(i + 1, n, gene, 1.0)
    if any(r.status != "failed" for r in results):
        store.write_consolidated()
    return results
