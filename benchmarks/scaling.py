"""Genes per second of the attribute command: the previous loop vs the local backend vs Ray, and per-gene cost.

Run from the repository root::

    python -m benchmarks.scaling [--device cpu|cuda] [--quick] [--genes 200 --metacells 1000] [--method exact]

Everything is measured side by side in one run on the same machine, on a generated dataset
(10 peaks, ~36 TFs per gene, as ``benchmarks/attribution.py``'s command part):

1. the previous implementation's loop (copied below: a new module per gene, per-group
   DataFrames, one gene after the other) vs the local backend (module reuse, numpy
   aggregation, genes in threads) vs Ray with 1 and 2 workers; the files are checked
   byte-identical to the previous loop's;
2. the cost of one gene as metacells, peaks and TFs grow, with its memory (inputs,
   attributions, and on CUDA the peak of allocated GPU memory).

``--quick`` (about 2 minutes on a GPU machine) uses 40 genes x 1,000 metacells and a shorter sweep.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from cell2net_core import data, model
from cell2net_core.attribution import tf_attr
from cell2net_core.model import ModulePool
from cell2net_core.pipeline import attribute_genes, compute_gene
from cell2net_core.settings import Settings
from cell2net_core.store import ResultStore
from cell2net_core.testing import random_dataset, random_model


def old_tf_to_gene(attr, labels, *, gene, tfs, groupby, n_tfs, rank_by):
    """The previous ``aggregate.tf_to_gene`` body: one DataFrame per group, then concat."""
    keys, inverse = np.unique(np.asarray(labels).astype(str), return_inverse=True)
    parts = []
    for k, key in enumerate(keys):
        rows = attr[inverse == k].astype(np.float64)
        part = pd.DataFrame({"tf": tfs, "gene": gene, "mean_attr": rows.mean(axis=0), "std_attr": rows.std(axis=0),
                             "n_metacells": len(rows)})  # fmt: skip
        part.insert(2, groupby, key)
        if n_tfs is not None:
            score = part["mean_attr"] if rank_by == "mean" else part["mean_attr"].abs()
            part = part.iloc[np.argsort(-score.to_numpy(), kind="stable")[:n_tfs]]
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def old_loop(mdata, genes, *, model_dir: Path, out_dir: Path, settings: Settings) -> None:
    """The previous ``attribute_genes`` for fresh genes: build a module per gene, serial, pandas per group."""
    store = ResultStore(out_dir)
    labels = data.group_labels(mdata, settings.groupby)
    for gene in genes:
        with store.lock(gene):
            start = time.perf_counter()
            checkpoint = model_dir / f"{gene}.pt"
            inputs = data.gene_inputs(mdata, gene, covariates=settings.covariates)
            module = model.load_checkpoint(checkpoint, inputs, device=settings.device)
            attribution = tf_attr(module, inputs, method=settings.method, n_steps=settings.n_steps,
                                  multiply_by_inputs=settings.multiply_by_inputs, device=settings.device)  # fmt: skip
            table = old_tf_to_gene(attribution.attr, labels, gene=gene, tfs=attribution.tfs, groupby=settings.groupby,
                                   n_tfs=settings.n_tfs, rank_by=settings.rank_by)  # fmt: skip
            meta = {"covariates": list(settings.covariates), "checkpoint_mtime": checkpoint.stat().st_mtime,
                    "seconds": time.perf_counter() - start, "settings": settings.to_json()}  # fmt: skip
            store.save(attribution, table, meta=meta)
    store.write_consolidated()


def make_dataset(root: Path, *, n_genes: int, n_metacells: int, n_peaks: int = 10, n_tfs: int = 60) -> Path:
    mdata = random_dataset(n_metacells=n_metacells, n_genes=n_genes, n_peaks=n_peaks, n_tfs=n_tfs, seed=1)
    mdata.write(root / "mdata.h5mu")
    for i, gene in enumerate(data.genes_with_peaks(mdata)):
        model.save_checkpoint(random_model(data.gene_inputs(mdata, gene), seed=i), root / "model" / f"{gene}.pt")
    return root / "mdata.h5mu"


def same_files(a: Path, b: Path) -> bool:
    """Same ``.npy`` bytes, and the same tutorial columns in every CSV, byte for byte.

    The local backend's tables also carry the edge evidence (``ci_low ... q_value``), which the
    previous loop did not compute: only the columns both write are compared.
    """
    names = sorted(p.name for p in a.iterdir() if p.is_file() and p.suffix in (".npy", ".csv"))
    if names != sorted(p.name for p in b.iterdir() if p.is_file() and p.suffix in (".npy", ".csv")):
        return False
    for n in names:
        if n.endswith(".npy"):
            if (a / n).read_bytes() != (b / n).read_bytes():
                return False
            continue
        old = pd.read_csv(b / n, dtype=str, keep_default_na=False)
        new = pd.read_csv(a / n, dtype=str, keep_default_na=False)
        if not new[old.columns].equals(old):
            return False
    return True


def bench_backends(args: argparse.Namespace, root: Path) -> None:
    import importlib.util

    from cell2net_core.distributed import attribute_genes_ray

    path = make_dataset(root, n_genes=args.genes, n_metacells=args.metacells)
    mdata, models = data.read_dataset(path), root / "model"
    genes = data.genes_with_models(mdata, models)
    settings = Settings(method=args.method, device=args.device)
    runs = {
        "previous loop (copied)": lambda out: old_loop(mdata, genes, model_dir=models, out_dir=out, settings=settings),
        "local, --threads 1": lambda out: attribute_genes(mdata, genes, model_dir=models, out_dir=out,
                                                          settings=settings, threads=1),
        "local, --threads 2": lambda out: attribute_genes(mdata, genes, model_dir=models, out_dir=out,
                                                          settings=settings, threads=2),
    }  # fmt: skip
    for workers in (1, 2) if importlib.util.find_spec("ray") else ():  # rows left out where Ray is not installed
        runs[f"ray, --workers {workers} (+ start)"] = lambda out, w=workers: attribute_genes_ray(
            path, genes, model_dir=models, out_dir=out, settings=settings, workers=w, mdata=mdata,
            gpus_per_task=(1.0 / w if args.device == "cuda" else 0.0))  # fmt: skip
    print(f"attribute, {len(genes)} genes x {args.metacells} metacells, --method {args.method}, device "
          f"{model.device_label(args.device)}, {torch.get_num_threads()} torch threads:")  # fmt: skip
    base = None
    for name, run in runs.items():
        out = root / name.split(",")[0].replace(" ", "_") / name.replace(" ", "")
        start = time.perf_counter()
        run(out)
        secs = time.perf_counter() - start
        base = base or secs
        same = "same files" if name.startswith("previous") or same_files(out, root / "previous_loop_(copied)" /
                                                                           "previousloop(copied)") else "DIFFERENT"
        print(f"  {name:28s} {secs:7.1f} s  {len(genes) / secs:6.1f} genes/s  x{base / secs:4.2f}  {same}")


def gene_cost(n_metacells: int, n_peaks: int, n_tfs: int, *, method: str, device: str) -> tuple[float, float, float]:
    """Seconds per gene (best of 3, model reused), MB of inputs + attributions, MB of peak GPU memory."""
    mdata = random_dataset(n_metacells=n_metacells, n_genes=1, n_peaks=n_peaks, n_tfs=n_tfs, tf_density=1.0, seed=0)
    with tempfile.TemporaryDirectory() as tmp:
        inputs = data.gene_inputs(mdata, "GENE0")
        model.save_checkpoint(random_model(inputs), Path(tmp) / "GENE0.pt")
        pool, settings = ModulePool(device=device), Settings(method=method, device=device)
        if torch.cuda.is_available() and device != "cpu":
            torch.cuda.reset_peak_memory_stats()
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            compute_gene(mdata, "GENE0", model_dir=tmp, settings=settings, modules=pool)
            best = min(best, time.perf_counter() - start)
    arrays = sum(getattr(inputs, k).nbytes for k in ("peak_seq", "peak_acc", "peak_dist", "tf_exp", "covariates"))
    arrays += n_metacells * n_tfs * 4
    gpu = torch.cuda.max_memory_allocated() / 2**20 if torch.cuda.is_available() and device != "cpu" else float("nan")
    return best, arrays / 2**20, gpu


def bench_gene_cost(args: argparse.Namespace) -> None:
    sweeps = {
        "metacells": [(m, 10, 40) for m in ([500, 2000, 4000] if args.quick else [500, 2000, 8000, 32000])],
        "peaks": [(1000, p, 40) for p in ([5, 20, 40] if args.quick else [5, 20, 80, 160])],
        "TFs": [(1000, 10, t) for t in ([20, 80, 160] if args.quick else [20, 80, 320, 640])],
    }
    print(f"one gene, --method {args.method}, {model.device_label(args.device)} (model reused, best of 3):")
    print("  metacells  peaks   TFs   s/gene  inputs+attr MB  peak GPU MB")
    for sweep in sweeps.values():
        for m, p, t in sweep:
            secs, mb, gpu = gene_cost(m, p, t, method=args.method, device=args.device)
            print(f"  {m:9d} {p:6d} {t:5d} {secs:8.3f} {mb:15.1f} {gpu:12.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--method", default="exact", choices=("captum", "exact"))
    parser.add_argument("--genes", type=int, default=None, help="genes of the command part (default 200, quick 40)")
    parser.add_argument("--metacells", type=int, default=1000)
    parser.add_argument("--quick", action="store_true", help="about 2 minutes")
    args = parser.parse_args()
    args.genes = args.genes or (40 if args.quick else 200)
    with tempfile.TemporaryDirectory() as tmp:
        bench_backends(args, Path(tmp))
    bench_gene_cost(args)


if __name__ == "__main__":
    main()
