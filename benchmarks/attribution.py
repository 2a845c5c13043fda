"""Seconds per gene of TF attribution: the tutorial's captum loop vs our captum and exact paths.

Run from the repository root::

    python -m benchmarks.attribution [--metacells 1000 --peaks 40 --tfs 100 --sample 20 --cli-
    genes 200 --rounds 2]

Everything is measured side by side in one run on the same machine. The tutorial's
loop (captum over the full module, 2 metacells per call, 100 steps) is timed on a
sample of metacells and extrapolated to all; ours run on all metacells. Then the
whole ``attribute`` command runs on a generated dataset of ``--cli-genes`` genes, today's code
(with its default flags, a forked worker process per core, and with ``--workers 1``, genes in threads
of one process) and the code of ``--before`` (default ``eac9855``, when issue 12 was filed) in
fresh processes, side by side, with the files compared (``benchmarks/scaling.py``'s helpers).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from captum.attr import IntegratedGradients

from cell2net_core import data, model
from cell2net_core.attribution import tf_attr
from cell2net_core.testing import random_dataset


def random_model(inputs: data.GeneInputs, *, seed: int) -> model.PeaksTF2GeneExpressionPoisson:
    """A module with random weights and non-trivial BatchNorm statistics, in eval mode."""
    torch.manual_seed(seed)
    module = model.build_model(inputs)
    for m in module.modules():
        if isinstance(m, torch.nn.BatchNorm1d | torch.nn.BatchNorm2d):
            m.running_mean.normal_(0, 0.3)
            m.running_var.uniform_(0.5, 2.0)
    return module.eval()


def tutorial_loop(module, inputs: data.GeneInputs, rows: np.ndarray, *, n_steps: int) -> np.ndarray:
    """``cn.ip.tf_attr``'s computation: the full module per call, 2 metacells at a time."""
    t = model.to_tensors(inputs, torch.device("cpu"))
    ig = IntegratedGradients(module, multiply_by_inputs=True)
    out = []
    for i in range(0, len(rows), 2):
        r = torch.as_tensor(rows[i : i + 2])
        seq = t["peak_seq"].expand(len(r), -1, -1, -1)
        dist = t["peak_dist"].expand(len(r), -1)
        tf = t["tf_exp"][r].clone().requires_grad_()
        a = ig.attribute(
            inputs=(seq, t["peak_acc"][r], dist, tf),
            baselines=(seq, t["peak_acc"][r], dist, torch.zeros_like(tf)),
            additional_forward_args=t["covariates"][r],
            n_steps=n_steps,
        )
        out.append(a[3].detach().numpy())
    return np.concatenate(out)


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def bench_one_gene(args: argparse.Namespace) -> None:
    mdata = random_dataset(
        n_metacells=args.metacells, n_genes=1, n_peaks=args.peaks, n_tfs=args.tfs, tf_density=1.0, seed=0
    )
    inputs = data.gene_inputs(mdata, "GENE0")
    module = random_model(inputs, seed=0)
    rows = np.arange(min(args.sample, args.metacells))
    tutorial, t_tut = timed(lambda: tutorial_loop(module, inputs, rows, n_steps=100))
    t_tut *= args.metacells / len(rows)
    ours, t_cap = timed(lambda: tf_attr(module, inputs, method="captum", device="cpu"))
    exact, t_exa = timed(lambda: tf_attr(module, inputs, method="exact", device="cpu"))
    scale = np.abs(exact.attr).max()
    rel_gap = np.abs(exact.gap) / np.abs(exact.delta)
    threads = torch.get_num_threads()
    print(f"gene of {args.peaks} peaks, {inputs.n_tfs} TFs, {args.metacells} metacells, {threads} CPU threads")
    print(f"  tutorial loop (captum, full module, 2/call): {t_tut:9.3f} s/gene (from {len(rows)} metacells)")
    print(f"  ours, method=captum (100 steps)            : {t_cap:9.3f} s/gene   x{t_tut / t_cap:,.0f} faster")
    print(f"  ours, method=exact                         : {t_exa:9.3f} s/gene   x{t_tut / t_exa:,.0f} faster")
    print(f"  max |ours captum - tutorial| / max|attr|    : {np.abs(ours.attr[rows] - tutorial).max() / scale:.2e}")
    print(f"  max |exact - captum| / max|attr|            : {np.abs(exact.attr - ours.attr).max() / scale:.2e}")
    print(f"  completeness gap / |f(x)-f(0)|: exact max {rel_gap.max():.1e}, "
          f"captum median {np.median(np.abs(ours.gap) / np.abs(ours.delta)):.1e}")  # fmt: skip


def bench_cli(args: argparse.Namespace) -> None:
    """The whole ``attribute`` command, today's code and the code of ``--before``, side by side (fresh processes)."""
    from benchmarks.scaling import ROOT, checkout, compare_files, time_cli

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        mdata = random_dataset(n_metacells=args.metacells, n_genes=args.cli_genes, n_peaks=10, n_tfs=60, seed=1)
        mdata.write(root / "mdata.h5mu")
        for i, gene in enumerate(data.genes_with_peaks(mdata)):
            model.save_checkpoint(random_model(data.gene_inputs(mdata, gene), seed=i), root / "model" / f"{gene}.pt")
        before = checkout(args.before, root / "before")
        print(f"attribute command, {args.cli_genes} genes x {args.metacells} metacells (10 peaks, ~36 TFs each), "
              f"imports excluded, best of {args.rounds}:")  # fmt: skip
        for method in ("captum", "exact"):
            argv = ["attribute", "--mdata", str(root / "mdata.h5mu"), "--models", str(root / "model")]
            argv += ["--method", method, "--device", "cpu"]
            runs = {f"{args.before} (--before)": (before, []), "now, default flags": (ROOT, []),
                    "now, --workers 1 (threads)": (ROOT, ["--workers", "1"])}  # fmt: skip
            runs = {k: v for k, v in runs.items() if v[0] is not None}
            best = dict.fromkeys(runs, float("inf"))
            for r in range(args.rounds):
                for i, (name, (src, flags)) in enumerate(runs.items()):
                    out = root / f"{method}_{i}_{r}"
                    best[name] = min(best[name], time_cli(src, [*argv, "--out", str(out), *flags]))
            for i, (name, secs) in enumerate(best.items()):
                ratio = f"x{best[next(iter(best))] / secs:.2f}" if before else ""
                print(f"  --method {method:6s} {name:28s} {secs:6.1f} s, {args.cli_genes / secs:5.1f} genes/s {ratio}")
                if before and i:
                    print(f"    files: {compare_files(root / f'{method}_{i}_0', root / f'{method}_0_0')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--metacells", type=int, default=1000)
    parser.add_argument("--peaks", type=int, default=40)
    parser.add_argument("--tfs", type=int, default=100)
    parser.add_argument("--sample", type=int, default=20, help="metacells timed for the tutorial loop")
    parser.add_argument("--cli-genes", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds of the command (best kept)")
    parser.add_argument("--before", default="eac9855", help="commit to compare with (default: when issue 12 was filed)")
    args = parser.parse_args()
    bench_one_gene(args)
    if args.cli_genes:
        bench_cli(args)


if __name__ == "__main__":
    main()
