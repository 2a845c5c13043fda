"""Seconds per gene of peak attribution: ``cn.ip.peak_attr``'s computation vs ours, side by side.

Run from the repository root::

    python -m benchmarks.peaks [--metacells 1000 --peaks 40 --tfs 100 --sample 20 --n-steps 100]

``cn.ip.peak_attr`` runs captum's Integrated Gradients over the full module (the sequence
encoder on every metacell's copy of the gene's sequences, at every step), 4 metacells per
call by default. That loop is timed on ``--sample`` metacells and extrapolated; ours
(:func:`cell2net_core.peaks.peak_attr`) runs on all metacells. Both on this machine's CPU
(or the GPU with ``--device cuda``), in one run, and their attributions are compared on
the sample. With ``cell2net`` importable, the published function is what is timed.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from captum.attr import IntegratedGradients

from cell2net_core import data, model
from cell2net_core.peaks import peak_attr
from cell2net_core.testing import random_dataset, random_model


def cell2net_loop(module, inputs: data.GeneInputs, rows: np.ndarray, *, n_steps: int, dev) -> np.ndarray:
    """``cn.ip.peak_attr``'s computation: full module, 4 metacells per call, only peak_acc moves."""
    t = model.to_tensors(inputs, dev)
    ig = IntegratedGradients(module, multiply_by_inputs=True)
    out = []
    for i in range(0, len(rows), 4):
        r = torch.as_tensor(rows[i : i + 4], device=dev)
        seq = t["peak_seq"].expand(len(r), -1, -1, -1)
        dist = t["peak_dist"].expand(len(r), -1)
        acc = t["peak_acc"][r].clone().requires_grad_()
        a = ig.attribute(
            inputs=(seq, acc, dist, t["tf_exp"][r]),
            baselines=(seq, torch.zeros_like(acc), dist, t["tf_exp"][r]),
            additional_forward_args=t["covariates"][r],
            n_steps=n_steps,
        )
        out.append(a[1].detach().cpu().numpy())
    return np.concatenate(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--metacells", type=int, default=1000)
    p.add_argument("--peaks", type=int, default=40)
    p.add_argument("--tfs", type=int, default=100)
    p.add_argument("--sample", type=int, default=20, help="metacells the cell2net loop is timed on")
    p.add_argument("--n-steps", type=int, default=100)
    p.add_argument("--device", default="cpu")
    args = p.parse_args()
    dev = model.resolve_device(args.device)
    mdata = random_dataset(n_metacells=args.metacells, n_genes=1, n_peaks=args.peaks, n_tfs=args.tfs, tf_density=1.0)
    inputs = data.gene_inputs(mdata, "GENE0")
    module = random_model(inputs).to(dev)
    rows = np.arange(min(args.sample, args.metacells))
    peak_attr(module, inputs, n_steps=2, device=dev)  # warm-up
    start = time.perf_counter()
    ref = cell2net_loop(module, inputs, rows, n_steps=args.n_steps, dev=dev)
    theirs = (time.perf_counter() - start) * args.metacells / len(rows)
    start = time.perf_counter()
    ours = peak_attr(module, inputs, n_steps=args.n_steps, device=dev)
    if dev.type == "cuda":
        torch.cuda.synchronize()
    mine = time.perf_counter() - start
    err = np.abs(ours.attr[rows] - ref).max() / max(np.abs(ref).max(), 1e-30)
    sizes = f"{args.metacells} metacells, {args.peaks} peaks, {args.tfs} TFs, {args.n_steps} steps"
    print(f"{sizes}, {model.device_label(dev)}")
    print(f"cn.ip.peak_attr's computation (extrapolated from {len(rows)} metacells): {theirs:9.2f} s/gene")
    print(f"cell2net_core.peaks.peak_attr (all metacells):                 {mine:9.2f} s/gene")
    print(f"speed ratio: {theirs / mine:.0f}x; max |difference| / max |attribution| on the sample: {err:.2e}")


if __name__ == "__main__":
    main()
