"""Command line: ``python -m cell2net_core <command> ...``.

Bad input ends in one line ``error: ...`` on stderr and exit code 2; Ctrl-C leaves
no partial file (every write is a rename) and a rerun resumes.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .data import DEFAULT_COVARIATES
from .errors import Cell2NetInputError

__all__ = ["build_parser", "main"]


def _csv_list(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _add_covariates(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--covariates",
        type=_csv_list,
        default=list(DEFAULT_COVARIATES),
        help="obs columns fed to the model, in the order used in training",
    )


def _add_attribute(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "attribute",
        help="attribute every gene's prediction to its TFs (the tutorial's loop, resumable)",
        description="Integrated Gradients on each gene's TF expression; writes <out>/<GENE>.npy, "
        "<GENE>.csv, <GENE>.json and tf_to_gene.csv. Genes already done are loaded, not recomputed.",
    )
    p.add_argument("--mdata", required=True, help="prepared dataset (.h5mu)")
    p.add_argument("--models", required=True, help="folder of <GENE>.pt checkpoints")
    p.add_argument("--out", required=True, help="results folder")
    p.add_argument("--genes", type=_csv_list, default=None, help="G1,G2,... (default: every gene with a checkpoint)")
    p.add_argument("--groupby", default="cell_type_v2", help="obs column to aggregate by")
    p.add_argument("--n-tfs", type=int, default=10, help="TFs kept per group (0: all)")
    p.add_argument("--rank-by", choices=("mean", "abs"), default="mean", help="rank by mean or by |mean|")
    _add_covariates(p)
    p.add_argument("--n-steps", type=int, default=100, help="integration steps (captum)")
    p.add_argument("--method", choices=("captum", "exact"), default="captum")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--force", action="store_true", help="recompute genes already done")
    p.set_defaults(func=_run_attribute)


def _run_attribute(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .data import genes_with_models, genes_with_peaks, group_labels, read_dataset
    from .model import device_label, resolve_device
    from .pipeline import attribute_genes

    resolve_device(args.device)
    mdata = read_dataset(args.mdata)
    group_labels(mdata, args.groupby)
    with_models = genes_with_models(mdata, args.models)
    if args.genes is None:
        genes = with_models
        if not genes:
            msg = f"No <GENE>.pt in {args.models!r} matches a gene with peaks in {args.mdata!r}."
            raise Cell2NetInputError(msg)
    else:
        known = set(genes_with_peaks(mdata))
        unknown = [g for g in args.genes if g not in known]
        if unknown:
            msg = f"gene(s) {unknown} have no peaks in {args.mdata!r} (uns['peak_to_gene'])."
            raise Cell2NetInputError(msg)
        genes = args.genes
    print(f"{len(genes)} genes, method {args.method}, {device_label(args.device)}", file=sys.stderr)
    bar = tqdm(total=len(genes), unit="gene", file=sys.stderr)

    def progress(i: int, n: int, gene: str, fraction: float) -> None:
        bar.n = i
        bar.set_postfix_str(gene, refresh=False)
        bar.refresh()

    try:
        results = attribute_genes(
            mdata, genes, model_dir=args.models, out_dir=args.out, groupby=args.groupby,
            n_tfs=args.n_tfs or None, rank_by=args.rank_by, covariates=args.covariates,
            method=args.method, n_steps=args.n_steps, device=args.device, force=args.force, progress=progress,
        )  # fmt: skip
    finally:
        bar.close()
    failed = [r for r in results if r.status == "failed"]
    for r in failed:
        print(f"error: {r.error}", file=sys.stderr)
    done = {s: sum(r.status == s for r in results) for s in ("computed", "cached")}
    print(
        f"{done['computed']} computed, {done['cached']} loaded from {args.out}, {len(failed)} failed",
        file=sys.stderr,
    )
    return 1 if failed else 0


def _add_demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="build the PBMC-like demo: dataset, trained models, results and planted truth",
        description="Simulate a PBMC-like multiome dataset with planted regulators (JASPAR 2024 motifs), "
        "train one model per gene and attribute them; writes DIR/mdata.h5mu, DIR/model, DIR/results, DIR/truth.csv.",
    )
    p.add_argument("--out", required=True, help="folder to create (must not exist or be empty)")
    p.add_argument("--seed", type=int, default=0, help="random seed (same seed, same files)")
    p.add_argument("--metacells", type=int, default=1000, help="number of metacells")
    p.add_argument("--genes", type=int, default=40, help="number of target genes (PBMC markers, up to 42)")
    p.add_argument("--tfs", type=int, default=150, help="number of TFs (planted + other JASPAR TFs)")
    p.add_argument("--epochs", type=int, default=20, help="training epochs per gene")
    p.set_defaults(func=_run_demo)


def _run_demo(args: argparse.Namespace) -> int:
    from .demo.build import main as demo_main

    return demo_main(args)


def _add_train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train one cell2net model per gene (cell2net's checkpoint format)",
        description="Poisson NLL, Adam, gradient clipping, best epoch by validation Spearman; "
        "writes <out>/<GENE>.pt and prints gene, best epoch, valid Spearman, seconds.",
    )
    p.add_argument("--mdata", required=True, help="prepared dataset (.h5mu)")
    p.add_argument("--out", required=True, help="model folder for <GENE>.pt")
    p.add_argument("--genes", type=_csv_list, default=None, help="G1,G2,... (default: every gene with peaks)")
    _add_covariates(p)
    p.add_argument("--epochs", type=int, default=20, help="maximum epochs")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=3e-4, help="Adam learning rate")
    p.add_argument("--seed", type=int, default=0, help="seed of the first gene (next genes: seed + i)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.set_defaults(func=_run_train)


def _run_train(args: argparse.Namespace) -> int:
    from .demo.train import main as train_main

    return train_main(args)


def _add_evaluate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate",
        help="score stored attributions against planted edges (the demo's truth.csv)",
        description="Per sign, the share of planted edges whose TF ranks in its gene's top N where it acts, "
        "and AUPRC over all candidate TF-gene pairs; the last line is the headline.",
    )
    p.add_argument("--truth", required=True, help="truth.csv: gene, tf, sign, cell_types")
    p.add_argument("--results", required=True, help="results folder with <GENE>.npy and <GENE>.json")
    p.add_argument("--mdata", default=None, help="dataset for the cell types (default: mdata.h5mu beside truth.csv)")
    p.add_argument("--groupby", default="cell_type_v2", help="obs column the truth's cell types come from")
    p.add_argument("--top", type=int, default=3, help="a hit ranks within this many TFs")
    p.set_defaults(func=_run_evaluate)


def _run_evaluate(args: argparse.Namespace) -> int:
    from .demo.evaluate import main as evaluate_main

    return evaluate_main(args)


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m cell2net_core`` parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="python -m cell2net_core", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    _add_attribute(sub)
    # other subcommands: add below
    _add_demo(sub)
    _add_train(sub)
    _add_evaluate(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except Cell2NetInputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished genes are stored; run the same command again to resume", file=sys.stderr)
        return 130
