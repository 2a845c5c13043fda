"""Genes per second of the attribute command: the code of when issue 12 was filed vs now vs Ray,
and per-gene cost.

Run from the repository root::

    python -m benchmarks.scaling [--device cpu|cuda] [--quick] [--genes 200 --metacells 1000]
    [--method exact]
                                 [--rounds 2] [--before eac9855]

Everything is measured side by side in one run on the same machine, on a generated dataset
(10 peaks, ~36 TFs per gene, as ``benchmarks/attribution.py``'s command part):

1. the ``attribute`` command of commit ``--before`` (default ``eac9855``, the code when issue 12
   was filed, checked out from this repository's history into a temporary folder) vs today's
   with ``--workers 1`` (threads of one process) and ``--threads 1`` and ``2``, and ``--workers 2``
   (forked worker processes, the default on 2 cores), each in a fresh
   Python process timed from inside it (imports
   excluded), rounds interleaved and the best of each kept (the machine is shared and noisy);
   then Ray with 1 and 2 workers, starting its local cluster, and on one whose workers a first
   run started (with the CPU time of the driver per gene). Each folder is compared with the first's: ``same bytes``, or
   the largest deviation of any number relative to the largest value of its array or column;
2. the cost of one gene as metacells, peaks and TFs grow, with its memory (inputs,
   attributions, and on CUDA the peak of allocated GPU memory).

``--quick`` (about 2 minutes on a GPU machine) uses 40 genes x 1,000 metacells and a shorter sweep.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from cell2net_core import data, model
from cell2net_core.model import ModulePool
from cell2net_core.pipeline import compute_gene
from cell2net_core.settings import Settings
from cell2net_core.testing import random_dataset, random_model

ROOT = Path(__file__).resolve().parents[1]
#: Runs ``attribute`` in-process and prints its seconds; ``sys.argv[1:]`` is the command line. The modules
#: the command runs on are imported first, outside the timing: both versions' own (``pipeline`` and what it
#: imports), and the libraries that today's package imports only when first used.
TIMED_CLI = (
    "import sys, time; import torch, captum.attr, mudata, scipy.stats, scipy.special; "
    "import cell2net_core.pipeline; from cell2net_core import cli; "
    "t = time.perf_counter(); code = cli.main(sys.argv[1:]); "
    "print(f'SECONDS {time.perf_counter() - t:.4f}'); sys.exit(code)"
)


def checkout(commit: str, where: Path) -> Path | None:
    """The repository at ``commit`` in ``where`` (``git archive``), or ``None`` when git or the commit is absent."""
    try:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit, "cell2net_core"], capture_output=True,
                                 check=True).stdout  # fmt: skip
        where.mkdir(parents=True)
        subprocess.run(["tar", "-x", "-C", str(where)], input=archive, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return where


def time_cli(src: Path, argv: list[str]) -> float:
    """Seconds of ``attribute`` from the package in ``src``, in a fresh process, imports excluded."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    done = subprocess.run([sys.executable, "-c", TIMED_CLI, *argv], cwd=src, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"attribute in {src} failed:\n{done.stderr[-2000:]}")
    return float(done.stdout.rsplit("SECONDS ", 1)[1])


def make_dataset(root: Path, *, n_genes: int, n_metacells: int, n_peaks: int = 10, n_tfs: int = 60) -> Path:
    mdata = random_dataset(n_metacells=n_metacells, n_genes=n_genes, n_peaks=n_peaks, n_tfs=n_tfs, seed=1)
    mdata.write(root / "mdata.h5mu")
    for i, gene in enumerate(data.genes_with_peaks(mdata)):
        model.save_checkpoint(random_model(data.gene_inputs(mdata, gene), seed=i), root / "model" / f"{gene}.pt")
    return root / "mdata.h5mu"


def compare_files(a: Path, b: Path, *, tol: float = 1e-5) -> str:
    """How the results folder ``a`` compares with ``b``: ``"same bytes"``, ``"same to X"`` or what differs.

    ``.npy`` files, and every column both folders' CSVs hold (the local backend's tables also
    carry the edge evidence ``ci_low ... q_value``, which the old code did not compute):
    names, groups and counts must be equal; numbers are compared relative to the largest
    ``|value|`` of their array or column. Beyond ``tol``, says how many numbers and where the
    largest is: captum's quadrature jumps where a Gauss-Legendre point lies within rounding of
    a ReLU kink, so any float32 rounding change moves a few metacells by up to its error.
    """
    names = sorted(p.name for p in a.iterdir() if p.is_file() and p.suffix in (".npy", ".csv"))
    if names != sorted(p.name for p in b.iterdir() if p.is_file() and p.suffix in (".npy", ".csv")):
        return "DIFFERENT file names"
    if all((a / n).read_bytes() == (b / n).read_bytes() for n in names):
        return "same bytes"
    worst, where, beyond, total = 0.0, "", 0, 0
    for n in names:
        pairs = [(np.load(a / n), np.load(b / n), n)] if n.endswith(".npy") else []
        if n.endswith(".csv"):
            new, old = pd.read_csv(a / n), pd.read_csv(b / n)
            for col in old.columns:
                if old[col].dtype.kind == "f":
                    pairs.append((new[col].to_numpy(), old[col].to_numpy(), f"{n}: {col}"))
                elif not new[col].equals(old[col]):
                    return f"DIFFERENT {n}: {col}"
        for x, y, label in pairs:
            dev = np.nan_to_num(np.abs(x - y)) / max(np.nanmax(np.abs(y)), 1e-30)
            beyond, total = beyond + int((dev > tol).sum()), total + dev.size
            worst, where = max((worst, where), (float(dev.max()), label))
    if not beyond:
        return f"same to {worst:.1e} of the largest"
    return f"{beyond:,} of {total:,} numbers differ by > {tol:.0e} of the largest (at most {worst:.1e}, {where})"


def bench_backends(args: argparse.Namespace, root: Path) -> None:
    import importlib.util

    path = make_dataset(root, n_genes=args.genes, n_metacells=args.metacells)
    mdata, models = data.read_dataset(path), root / "model"
    genes = data.genes_with_models(mdata, models)
    settings = Settings(method=args.method, device=args.device)
    argv = ["attribute", "--mdata", str(path), "--models", str(models), "--method", args.method]
    argv += ["--device", args.device]
    before = checkout(args.before, root / "before")
    runs = {f"{args.before} (issue filed)": (before, [])} if before else {}
    runs |= {"now, --workers 1 --threads 1": (ROOT, ["--workers", "1", "--threads", "1"]),
             "now, --workers 1 --threads 2": (ROOT, ["--workers", "1", "--threads", "2"]),
             "now, --workers 2": (ROOT, ["--workers", "2"])}  # fmt: skip
    print(
        f"attribute, {len(genes)} genes x {args.metacells} metacells, --method {args.method}, device "
        f"{model.device_label(args.device)}, {torch.get_num_threads()} torch threads, best of {args.rounds} rounds:"
    )
    if before is None:
        print(f"  (commit {args.before} not in this repository's history: its row is left out)")
    best: dict[str, float] = {}
    for r in range(args.rounds):
        for i, (name, (src, flags)) in enumerate(runs.items()):
            secs = time_cli(src, [*argv, "--out", str(root / f"out{i}_{r}"), *flags])
            best[name] = min(best.get(name, float("inf")), secs)
    folders = [root / f"out{i}_0" for i in range(len(runs))]
    driver = {}
    for workers in (1, 2) if importlib.util.find_spec("ray") else ():  # rows left out where Ray is not installed
        for running in (False, True):
            name = f"ray, --workers {workers}" + (" (workers up)" if running else " (+ start)")
            folders.append(root / f"ray{workers}{running}")
            gpus = 1.0 / workers if args.device == "cuda" else 0
            best[name], driver[name] = time_ray(path, genes, workers=workers, running=running, model_dir=models,
                                                out_dir=folders[-1], settings=settings, mdata=mdata,
                                                gpus_per_task=gpus)  # fmt: skip
    now = folders[len(runs) - 3]  # today's --workers 1 --threads 1: every other run of today's code must have its bytes
    base = next(iter(best.values()))
    for (name, secs), out in zip(best.items(), folders, strict=True):
        ref, vs = (folders[0], "vs first row") if out == now else (now, "vs now, --workers 1 --threads 1")
        same = "(reference)" if out == folders[0] else f"{compare_files(out, ref)} {vs}"
        cpu = f"  driver CPU {1000 * driver[name] / len(genes):.1f} ms/gene" if name in driver else ""
        print(f"  {name:28s} {secs:7.1f} s  {len(genes) / secs:6.1f} genes/s  x{base / secs:4.2f}  {same}{cpu}")


def time_ray(path: Path, genes: list[str], *, workers: int, running: bool, **kwargs) -> tuple[float, float]:
    """Seconds of ``attribute_genes_ray`` and the CPU seconds of its driver (this process, all its threads).

    ``running``: on a local cluster of ``workers`` CPUs started beforehand, whose worker processes a
    first run of a few genes started (neither timed: the steady state of a long run on a cluster that
    is up); else it starts its own cluster, timed.
    """
    import ray

    from cell2net_core.distributed import attribute_genes_ray

    if running:
        ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False,
                 runtime_env={"py_modules": [str(ROOT / "cell2net_core")]})  # fmt: skip
        warm = {**kwargs, "out_dir": Path(f"{kwargs['out_dir']}_warm_up")}
        attribute_genes_ray(path, genes[: 2 * workers], workers=workers, **warm)
    try:
        start, cpu = time.perf_counter(), time.process_time()
        attribute_genes_ray(path, genes, workers=workers, **kwargs)
        return time.perf_counter() - start, time.process_time() - cpu
    finally:
        if running:
            ray.shutdown()


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
        "metacells": [(m, 10, 40) for m in ([500, 2000, 4000] if args.quick else [500, 2000, 8000, 32000, 100000])],
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
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds of the command runs (best kept)")
    parser.add_argument("--before", default="eac9855", help="commit to compare with (default: when issue 12 was filed)")
    args = parser.parse_args()
    args.genes = args.genes or (40 if args.quick else 200)
    with tempfile.TemporaryDirectory() as tmp:
        bench_backends(args, Path(tmp))
    bench_gene_cost(args)


if __name__ == "__main__":
    main()
