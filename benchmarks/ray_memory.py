"""Memory of the Ray backend's processes: the dataset shared through Ray's object store vs read by each worker.

Run from the repository root (Linux: reads ``/proc/<pid>/smaps_rollup``)::

    python -m benchmarks.ray_memory [--metacells 10000 --genes 1000] [--attribute 40] [--workers 2]
                                    [--before c02b4a5]

Generates a dataset (``--genes`` genes with 10 peaks each and 60 TFs over ``--metacells``
metacells, sparse counts as ``random_dataset`` makes them), writes checkpoints for the first
``--attribute`` genes, then runs ``attribute --backend ray --workers N`` on them twice, side by
side: with the package of commit ``--before`` (default ``c02b4a5``, where each Ray worker read
the ``.h5mu`` itself) and with today's (the driver puts the dataset into the object store once).
While each runs, the driver's and every Ray worker's memory is sampled every 0.2 s; printed is
each process's largest RSS, PSS (shared pages divided among the processes that map them) and
private memory, and the sum of the PSS maxima: about what the node needed. The two results
folders are compared (``benchmarks.scaling.compare_files``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.scaling import ROOT, checkout, compare_files
from cell2net_core import data, model
from cell2net_core.testing import random_dataset, random_model

FIELDS = ("Rss", "Pss", "Private_Clean", "Private_Dirty")


def make_dataset(root: Path, *, n_metacells: int, n_genes: int, n_models: int) -> tuple[Path, list[str]]:
    mdata = random_dataset(n_metacells=n_metacells, n_genes=n_genes, n_peaks=10, n_tfs=60, seed=1)
    genes = data.genes_with_peaks(mdata)[:n_models]
    for i, gene in enumerate(genes):
        model.save_checkpoint(random_model(data.gene_inputs(mdata, gene), seed=i), root / "model" / f"{gene}.pt")
    mdata.write(root / "mdata.h5mu")
    counts = "; ".join(
        f"{mod} {mdata[mod].n_vars:,} features, {mdata[mod].layers['counts'].data.nbytes / 2**20:.0f} MB of counts"
        for mod in mdata.mod
    )
    size = (root / "mdata.h5mu").stat().st_size / 2**20
    print(f"dataset: {n_metacells:,} metacells; {counts}; .h5mu {size:.0f} MB; {len(genes)} genes attributed")
    return root / "mdata.h5mu", genes


def memory(pid: str) -> dict[str, float] | None:
    """MB of RSS, PSS and private memory of one process, or ``None`` when it is gone."""
    try:
        lines = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
    except OSError:
        return None
    return {k: int(v.split()[0]) / 1024 for k, v in (line.split(":", 1) for line in lines[1:]) if k in FIELDS}


def watched(driver: int) -> dict[str, str]:
    """The driver and every Ray worker now running: pid -> name."""
    found = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            name = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()
        except OSError:
            continue
        if pid == str(driver) or name.startswith("ray::"):
            found[pid] = "driver" if pid == str(driver) else name
    return found


def run(src: Path, argv: list[str]) -> tuple[float, dict[str, dict]]:
    """Seconds of the command from the package in ``src`` and each watched process's largest figures."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    start, peak = time.perf_counter(), {}
    proc = subprocess.Popen([sys.executable, "-m", "cell2net_core", *argv], cwd=src, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
    while proc.poll() is None:
        for pid, name in watched(proc.pid).items():
            now = memory(pid)
            if now:
                most = peak.setdefault(pid, {"name": name})
                most.update({k: max(most.get(k, 0.0), v) for k, v in now.items()})
        time.sleep(0.2)
    err = proc.stderr.read()
    if proc.returncode != 0:
        raise RuntimeError(f"attribute in {src} failed:\n{err[-2000:]}")
    return time.perf_counter() - start, peak


def report(label: str, seconds: float, peak: dict[str, dict]) -> None:
    big = sorted((m for m in peak.values() if m.get("Rss", 0) > 100), key=lambda m: m["name"] != "driver")
    print(f"{label}: {seconds:.1f} s; node (sum of PSS maxima) {sum(m['Pss'] for m in big) / 1024:.2f} GB")
    for m in big:
        private = m["Private_Clean"] + m["Private_Dirty"]
        print(f"  {m['name']:22s} RSS {m['Rss']:6.0f} MB  PSS {m['Pss']:6.0f} MB  private {private:6.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--metacells", type=int, default=10_000)
    parser.add_argument("--genes", type=int, default=1000, help="genes of the dataset")
    parser.add_argument("--attribute", type=int, default=40, help="genes attributed (with checkpoints)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--before", default="c02b4a5", help="commit whose Ray workers read the .h5mu themselves")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        path, genes = make_dataset(root, n_metacells=args.metacells, n_genes=args.genes, n_models=args.attribute)
        folders = []
        for label, src in ((args.before, checkout(args.before, root / "before")), ("now", ROOT)):
            if src is None:
                print(f"{label}: commit not found, skipped")
                continue
            out = root / f"out_{label}"
            argv = ["attribute", "--mdata", str(path), "--models", str(root / "model"), "--out", str(out),
                    "--genes", ",".join(genes), "--method", "exact", "--device", "cpu",
                    "--backend", "ray", "--workers", str(args.workers)]  # fmt: skip
            report(label, *run(src, argv))
            folders.append(out)
        if len(folders) == 2:
            print(f"files: {compare_files(folders[1], folders[0])}")


if __name__ == "__main__":
    main()
