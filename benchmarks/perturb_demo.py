"""In-silico perturbation on the embedded demo: does it recover the planted program, and how fast is it?

Run from the repository root on a demo folder (``python -m cell2net_core demo --out /tmp/demo``)::

    python -m benchmarks.perturb_demo --demo /tmp/demo [--device cpu]

Prints, from ``truth.csv`` (planted activators and repressors and the cell types where they act):

- knock-out (ko) of each planted TF in all metacells: share of activator x cell-type pairs whose
  target goes down there, and repressor pairs whose target goes up;
- over-expression (oe, x2): the same pairs moving the other way;
- whether the effect is larger where the TF is expressed: per planted edge, mean |log2FC| in the
  cell types where it was planted vs the others, and Spearman's rank correlation (scipy.stats.spearmanr)
  between |log2FC| and the TF's mean expression over every edge x cell type;
- genes that do not list the TF: rows with log2FC != 0 at round 1 (should be none);
- agreement between the knock-out's direction and the attribution's sign over every edge of
  ``results/tf_to_gene.csv`` (an activating edge, mean attribution > 0, should go down on ko);
- seconds for one TF with its targets, ours (peaks embedded once, only the head again) and the
  plain way (``model.predict`` before and after on the changed inputs), side by side, on one device.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from cell2net_core import data, model
from cell2net_core.demo.evaluate import read_truth
from cell2net_core.perturb import perturb, reachable_genes

GROUPBY = "cell_type_v2"


def planted_pairs(truth: pd.DataFrame) -> pd.DataFrame:
    """One row per planted edge and cell type where it acts."""
    rows = truth.assign(cell_type=truth["cell_types"].str.split(";")).explode("cell_type")
    return rows[["gene", "tf", "sign", "cell_type"]].reset_index(drop=True)


def recovery(table: pd.DataFrame, pairs: pd.DataFrame, *, mode: str) -> list[str]:
    """Share of planted pairs moving the expected way under ``mode``."""
    got = pairs.merge(table.rename(columns={GROUPBY: "cell_type"}), on=["tf", "gene", "cell_type"], how="left")
    lines = []
    for sign, name in (("+", "activator"), ("-", "repressor")):
        part = got[got["sign"] == sign]
        down = (sign == "+") == (mode == "ko")
        ok = part["log2fc"] < 0 if down else part["log2fc"] > 0
        lines.append(
            f"{mode}: {int(ok.sum())}/{len(part)} ({100 * ok.mean():.1f}%) {name} x cell-type pairs move their target "
            f"{'down' if down else 'up'} where planted (median log2FC {part['log2fc'].median():+.3f}; "
            f"{int((~part['direct'].astype(bool)).sum())} pairs where the gene does not list the TF)"
        )
    return lines


def expressed_effect(table: pd.DataFrame, truth: pd.DataFrame, mdata) -> list[str]:
    """Is |log2FC| larger where the planted TF is expressed?"""
    labels = data.group_labels(mdata, GROUPBY)
    larger, abs_fc, expr = [], [], []
    for row in truth.itertuples():
        rows = table[(table["tf"] == row.tf) & (table["gene"] == row.gene)].set_index(GROUPBY)["log2fc"].abs()
        planted = row.cell_types.split(";")
        others = rows.drop(index=planted, errors="ignore")
        larger.append(rows.reindex(planted).mean() > others.mean())
        level = pd.Series(mdata["rna"][:, row.tf].layers["counts"].toarray()[:, 0]).groupby(labels).mean()
        abs_fc += rows.tolist()
        expr += level.reindex(rows.index).tolist()
    rho, p = stats.spearmanr(abs_fc, expr)
    return [
        f"ko: |log2FC| larger in the planted cell types than in the others for {int(np.sum(larger))}/{len(larger)} "
        f"({100 * np.mean(larger):.1f}%) planted edges",
        f"ko: Spearman rho {rho:.3f} (scipy.stats.spearmanr, p = {p:.2g}, n = {len(abs_fc)} edge x cell type) "
        "between |log2FC| and the TF's mean expression in that cell type",
    ]


def sign_agreement(ko: pd.DataFrame, edges: pd.DataFrame) -> list[str]:
    """Knock-out direction vs attribution sign over the stored edges."""
    both = edges.merge(ko, on=["tf", "gene", GROUPBY], how="left")
    lines = [f"edges in tf_to_gene.csv: {len(edges)}; with a ko prediction: {int(both['log2fc'].notna().sum())}"]
    both = both[(both["mean_attr"] != 0) & (both["log2fc"].fillna(0) != 0)]
    agree = np.sign(both["mean_attr"]) == -np.sign(both["log2fc"])
    strong = both["mean_attr"].abs() >= both["mean_attr"].abs().median()
    lines.append(
        f"ko direction agrees with the attribution sign (mean_attr > 0: target down) on {int(agree.sum())}/{len(both)} "
        f"({100 * agree.mean():.1f}%) edges; on the stronger half by |mean_attr|: {100 * agree[strong].mean():.1f}%"
    )
    return lines


def plain_way(mdata, models: Path, tf: str, genes: list[str]) -> None:
    """Before and after with ``model.predict`` on the whole inputs, gene by gene."""
    for gene in genes:
        inputs = data.gene_inputs(mdata, gene)
        module = model.load_checkpoint(models / f"{gene}.pt", inputs, device="cpu")
        model.predict(module, inputs)  # before (shared by all TFs in a real loop, counted per TF here)
        knocked = inputs.tf_exp.copy()
        knocked[:, inputs.tfs.index(tf)] = 0
        model.predict(module, dataclasses.replace(inputs, tf_exp=knocked))


def timing(mdata, models: Path, tfs: list[str], *, device: str, repeats: int = 3) -> str:
    """Median seconds of ours and of the plain way for ``tfs`` over the genes they reach."""
    genes = reachable_genes(mdata, models, tfs)
    ours, plain = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        perturb(mdata, models, tfs=tfs, genes=genes, device=device)
        ours.append(time.perf_counter() - start)
        start = time.perf_counter()
        for tf in tfs:
            plain_way(mdata, models, tf, [g for g in genes if tf in data.gene_tfs(mdata, g)])
        plain.append(time.perf_counter() - start)
    o, p = float(np.median(ours)), float(np.median(plain))
    return (
        f"time, ko of {len(tfs)} TF(s) ({', '.join(tfs[:3])}{' ...' if len(tfs) > 3 else ''}) with their {len(genes)} "
        f"targets ({mdata.n_obs} metacells, {device}), median of {repeats}: ours {o:.2f} s, plain predict "
        f"before/after on the CPU {p:.2f} s, ratio {p / o:.2f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", required=True, type=Path, help="demo folder (python -m cell2net_core demo --out)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--time-tf", default="PAX5", help="TF of the timing")
    args = parser.parse_args()
    mdata = data.read_dataset(args.demo / "mdata.h5mu")
    models = args.demo / "model"
    truth = read_truth(args.demo / "truth.csv")
    edges = pd.read_csv(args.demo / "results" / "tf_to_gene.csv", index_col=0)
    tfs = sorted(set(truth["tf"]) | set(edges["tf"]))
    start = time.perf_counter()
    ko = perturb(mdata, models, tfs=tfs, mode="ko", device=args.device).table
    oe = perturb(mdata, models, tfs=sorted(set(truth["tf"])), mode="oe", factor=2.0, device=args.device).table
    print(f"perturbed {len(tfs)} TFs (ko) and {truth['tf'].nunique()} (oe) over {ko['gene'].nunique()} genes "
          f"in {time.perf_counter() - start:.1f} s")  # fmt: skip
    pairs = planted_pairs(truth)
    lines = recovery(ko, pairs, mode="ko") + recovery(oe, pairs, mode="oe") + expressed_effect(ko, truth, mdata)
    off = ko[~ko["direct"]]
    n_moved = int((off["log2fc"] != 0).sum())
    lines.append(f"ko rows where the gene does not list the TF: {len(off)}, with log2FC != 0: {n_moved}")
    lines += sign_agreement(ko, edges)
    lines.append(timing(mdata, models, [args.time_tf], device=args.device) + " (target: < 2 s on CPU)")
    lines.append(timing(mdata, models, sorted(set(truth["tf"]))[:10], device=args.device))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
