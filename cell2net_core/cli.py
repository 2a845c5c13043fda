"""Command line: ``python -m cell2net_core <command> ...``.

Every subcommand's arguments and entry live here, one row of :data:`COMMANDS` each;
domain modules hold no argparse. Bad input ends in one line ``error: ...`` on stderr
and exit code 2; Ctrl-C leaves no partial file (every write is a rename) and a rerun
resumes.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .data import DEFAULT_COVARIATES
from .errors import Cell2NetInputError
from .overlap import DEFAULT_THREADS, USABLE_CORES, long_lived
from .roots import ENV, data_roots, inside_roots

__all__ = ["COMMANDS", "build_parser", "main"]


def _csv_list(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _add_covariates(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--covariates",
        type=_csv_list,
        default=list(DEFAULT_COVARIATES),
        help="obs columns fed to the model, in the order used in training",
    )


# ----------------------------------------------------------------------------- attribute


def _attribute_args(p: argparse.ArgumentParser) -> None:
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
    p.add_argument("--peaks", action="store_true",
                   help="also attribute to peak accessibility: <GENE>.peaks.npy and peak_to_gene.csv")  # fmt: skip
    p.add_argument("--motifs", action="store_true",
                   help="add JASPAR 2024 motif evidence per edge: motif_id, motif_sites, motif_peaks")  # fmt: skip
    p.add_argument("--reference", default=None,
                   help="curated TF -> target CSV/TSV (source, target[, sign, weight]): a 'known' column, and per "
                   "group precision at 20, shuffled baseline, hypergeometric p: known_agreement.csv")  # fmt: skip
    _scale_args(p)


def _scale_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backend", choices=("local", "ray"), default="local", help="this process, or Ray tasks")
    p.add_argument("--threads", type=int, default=DEFAULT_THREADS,
                   help=f"local: genes in flight at once (default: usable cores, at most 4; here {DEFAULT_THREADS})")
    p.add_argument("--ray-address", default=None, help="ray: 'auto' or HOST:PORT (default: start a local cluster)")
    p.add_argument("--workers", type=int, default=None,
                   help="ray: CPUs of the local cluster (tasks at once; default 2); local, on a CPU: worker processes "
                   f"(forked, each taking a run of genes; default on Linux: usable cores, here {USABLE_CORES}, at most "
                   "one per gene; 1: genes in --threads threads of this process, as always on CUDA and when "
                   "called in a process that runs other threads)")
    p.add_argument("--gpus-per-task", type=float, default=0.0, help="ray: GPUs per gene task (fractional allowed)")


def _attribute_with(args: argparse.Namespace, mdata, genes: list[str], settings, evidence, progress) -> list:
    """Run the chosen backend; ``progress(done, n, gene)``."""
    if min(args.threads, args.workers) < 1 or args.gpus_per_task < 0:
        msg = f"--threads ({args.threads}) and --workers ({args.workers}) must be at least 1, --gpus-per-task >= 0."
        raise Cell2NetInputError(msg)
    if args.backend == "ray" and (evidence.peaks or evidence.motifs or evidence.reference is not None):
        msg = "--peaks, --motifs and --reference run with --backend local only (for now); drop them or the backend."
        raise Cell2NetInputError(msg)
    if args.backend == "ray":
        from .distributed import attribute_genes_ray

        return attribute_genes_ray(args.mdata, genes, model_dir=args.models, out_dir=args.out, settings=settings,
                                   force=args.force, address=args.ray_address, workers=args.workers,
                                   gpus_per_task=args.gpus_per_task, progress=progress, mdata=mdata)  # fmt: skip
    from .pipeline import attribute_genes

    return attribute_genes(mdata, genes, model_dir=args.models, out_dir=args.out, settings=settings, force=args.force,
                           evidence=evidence, progress=lambda i, n, gene, _: progress(i, n, gene),
                           threads=args.threads, processes=args.workers, keep=False)  # fmt: skip


def _default_workers(backend: str, n_genes: int) -> int:
    """Ray: 2 CPUs. Local: a forked worker process per usable core, at most one per gene (x1.3-x1.4
    the genes/s of threads on 2 cores, docs/scaling.md), when forking is safe: on Linux, from a
    process running no other Python thread, as the command is when run as a program. A process
    with other threads (an in-process call from a server, a notebook or a test session) can hand
    its workers a lock one of them held, and they wait on it for ever (seen in the test suite):
    there, genes run in threads unless ``--workers`` asks for processes."""
    if backend == "ray":
        return 2
    alone = threading.active_count() == 1
    return max(1, min(USABLE_CORES, n_genes)) if alone and sys.platform.startswith("linux") else 1


def _genes_to_attribute(mdata, args: argparse.Namespace) -> list[str]:
    from .data import genes_with_models, genes_with_peaks

    if args.genes is None:
        genes = genes_with_models(mdata, args.models)
        if not genes:
            msg = f"No <GENE>.pt in {args.models!r} matches a gene with peaks in {args.mdata!r}."
            raise Cell2NetInputError(msg)
        return genes
    known = set(genes_with_peaks(mdata))
    unknown = [g for g in args.genes if g not in known]
    if unknown:
        msg = f"gene(s) {unknown} have no peaks in {args.mdata!r} (uns['peak_to_gene'])."
        raise Cell2NetInputError(msg)
    return args.genes


def _run_attribute(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .data import group_labels, read_dataset
    from .known import read_reference
    from .model import device_label, resolve_device
    from .pipeline import Evidence
    from .settings import Settings

    settings = Settings(
        method=args.method, n_steps=args.n_steps, groupby=args.groupby, n_tfs=args.n_tfs or None,
        rank_by=args.rank_by, covariates=args.covariates, device=args.device,
    )  # fmt: skip
    resolve_device(settings.device)
    mdata = read_dataset(args.mdata)
    group_labels(mdata, settings.groupby)
    genes = _genes_to_attribute(mdata, args)
    reference = read_reference(args.reference) if args.reference else None
    if args.workers is None:
        args.workers = _default_workers(args.backend, len(genes))
    where = f"Ray ({args.ray_address or f'local, {args.workers} workers'})" if args.backend == "ray" else "local"
    if args.backend == "local" and args.workers > 1 and resolve_device(settings.device).type == "cpu":
        where += f", {args.workers} worker processes"
    print(f"{len(genes)} genes, method {settings.method}, {device_label(settings.device)}, {where}", file=sys.stderr)
    bar = tqdm(total=len(genes), unit="gene", file=sys.stderr)

    def progress(i: int, n: int, gene: str) -> None:
        bar.set_postfix_str(gene, refresh=False)
        bar.update(i - bar.n)  # redrawn at most every 0.1 s (tqdm's mininterval), not once per gene

    try:
        evidence = Evidence(peaks=args.peaks, motifs=args.motifs, reference=reference)
        with long_lived():  # the dataset and libraries out of the garbage collector's walks
            results = _attribute_with(args, mdata, genes, settings, evidence, progress)
    finally:
        bar.close()
    failed = [r for r in results if r.status == "failed"]
    for r in failed:
        print(f"error: {r.gene}: {r.error}", file=sys.stderr)
    done = {s: sum(r.status == s for r in results) for s in ("computed", "cached")}
    print(
        f"{done['computed']} computed, {done['cached']} loaded from {args.out}, {len(failed)} failed",
        file=sys.stderr,
    )
    if reference is not None and len(failed) < len(results):
        _report_known(args.out, reference)
    return 1 if failed else 0


def _report_known(out: str, reference) -> None:
    from .files import atomic_write
    from .known import known_agreement
    from .store import ResultStore

    agreement = known_agreement(ResultStore(out).table(), reference)
    atomic_write(Path(out) / "known_agreement.csv", agreement.to_csv(index=False))
    print(agreement.to_string(index=False))


# ----------------------------------------------------------------------------- demo


def _demo_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", required=True, help="folder to create (must not exist or be empty)")
    p.add_argument("--seed", type=int, default=0, help="random seed (same seed, same files)")
    p.add_argument("--metacells", type=int, default=1000, help="number of metacells")
    p.add_argument("--genes", type=int, default=40, help="number of target genes (PBMC markers, up to 42)")
    p.add_argument("--tfs", type=int, default=150, help="number of TFs (planted + other JASPAR TFs)")
    p.add_argument("--epochs", type=int, default=20, help="training epochs per gene")


def _run_demo(args: argparse.Namespace) -> int:
    from .demo import build_demo

    last = [-1]

    def progress(fraction: float, message: str) -> None:
        pct = int(fraction * 100)
        if pct // 5 != last[0] // 5 or fraction >= 1.0:
            last[0] = pct
            print(f"[{pct:3d}%] {message}", file=sys.stderr, flush=True)

    paths = build_demo(args.out, seed=args.seed, n_metacells=args.metacells, n_genes=args.genes, n_tfs=args.tfs,
                       epochs=args.epochs, progress=progress)  # fmt: skip
    print(f"dataset  {paths.mdata}\nmodels   {paths.model_dir}\nresults  {paths.results}\ntruth    {paths.truth}")
    return 0


# ----------------------------------------------------------------------------- train


def _train_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--mdata", required=True, help="prepared dataset (.h5mu)")
    p.add_argument("--out", required=True, help="model folder for <GENE>.pt")
    p.add_argument("--genes", type=_csv_list, default=None, help="G1,G2,... (default: every gene with peaks)")
    _add_covariates(p)
    p.add_argument("--epochs", type=int, default=20, help="maximum epochs")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=3e-4, help="Adam learning rate")
    p.add_argument("--seed", type=int, default=0, help="seed of the first gene (next genes: seed + i)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")


def _run_train(args: argparse.Namespace) -> int:
    from .data import genes_with_peaks, read_dataset
    from .demo.train import train
    from .model import save_checkpoint

    mdata = read_dataset(args.mdata)
    known = genes_with_peaks(mdata)
    genes = args.genes or known
    unknown = [g for g in genes if g not in known]
    if unknown:
        msg = f"gene(s) {unknown[:5]} have no peaks in {args.mdata!r} (uns['peak_to_gene'])."
        raise Cell2NetInputError(msg)
    print("gene\tbest_epoch\tvalid_spearman\tseconds", flush=True)
    for i, gene in enumerate(genes):
        r = train(mdata, gene, covariates=args.covariates, max_epochs=args.epochs, batch_size=args.batch_size,
                  lr=args.lr, seed=args.seed + i, device=args.device)  # fmt: skip
        save_checkpoint(r.module, Path(args.out) / f"{gene}.pt", history=r.history, results=r.results)
        print(f"{gene}\t{r.best_epoch}\t{r.best_valid_corr:.3f}\t{r.seconds:.2f}", flush=True)
    return 0


# ----------------------------------------------------------------------------- evaluate


def _evaluate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--truth", required=True, help="truth.csv: gene, tf, sign, cell_types")
    p.add_argument("--results", required=True, help="results folder with <GENE>.npy and <GENE>.json")
    p.add_argument("--mdata", default=None, help="dataset for the cell types (default: mdata.h5mu beside truth.csv)")
    p.add_argument("--groupby", default="cell_type_v2", help="obs column the truth's cell types come from")
    p.add_argument("--top", type=int, default=3, help="a hit ranks within this many TFs")
    p.add_argument("--truth-peaks", default=None,
                   help="truth_peaks.csv: gene, peak, cell_types (default: beside --truth when there)")


def _run_evaluate(args: argparse.Namespace) -> int:
    import mudata as md

    from .demo.evaluate import evaluate, evaluate_peaks, peak_report, read_truth, read_truth_peaks

    truth = read_truth(args.truth)
    mdata_path = Path(args.mdata) if args.mdata else Path(args.truth).with_name("mdata.h5mu")
    if not mdata_path.is_file():
        msg = f"Dataset {str(mdata_path)!r} does not exist; pass --mdata (the .h5mu the results came from)."
        raise Cell2NetInputError(msg)
    obs = md.read_h5mu(mdata_path).obs
    if args.groupby not in obs.columns:
        msg = f"{str(mdata_path)!r}: obs has no column {args.groupby!r}; choose one of {list(obs.columns)}."
        raise Cell2NetInputError(msg)
    ev = evaluate(truth, args.results, groups=obs[args.groupby], top=args.top)
    print("\n".join(ev.report(groupby=args.groupby)))
    truth_peaks = Path(args.truth_peaks) if args.truth_peaks else Path(args.truth).with_name("truth_peaks.csv")
    if args.truth_peaks or truth_peaks.is_file():
        rows = evaluate_peaks(read_truth_peaks(truth_peaks), args.results, groups=obs[args.groupby])
        print(peak_report(rows))
    return 0


# ----------------------------------------------------------------------------- perturb


def _perturb_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--mdata", required=True, help="prepared dataset (.h5mu)")
    p.add_argument("--models", required=True, help="folder of <GENE>.pt checkpoints")
    p.add_argument("--tf", required=True, type=_csv_list, help="TF[,TF...] to perturb, each on its own")
    p.add_argument("--mode", choices=("ko", "oe"), default="ko", help="ko: expression set to 0; oe: multiplied")
    p.add_argument("--factor", type=float, default=2.0, help="over-expression factor (oe)")
    p.add_argument("--groupby", default="cell_type_v2", help="obs column whose groups are reported")
    p.add_argument("--groups", type=_csv_list, default=None, help="A,B: perturb and report only these groups")
    p.add_argument("--rounds", type=int, default=1, help="rounds of propagation through genes that are TFs")
    _add_covariates(p)
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--out", required=True, help="CSV to write: tf, gene, <groupby>, mean_before, mean_after, log2fc")


def _run_perturb(args: argparse.Namespace) -> int:
    from .data import read_dataset
    from .files import atomic_write
    from .model import device_label
    from .perturb import perturb

    mdata = read_dataset(args.mdata)
    res = perturb(mdata, args.models, tfs=args.tf, mode=args.mode, factor=args.factor, groupby=args.groupby,
                  groups=args.groups, rounds=args.rounds, covariates=args.covariates, device=args.device)  # fmt: skip
    atomic_write(args.out, res.table.to_csv(index=False))
    for gene, why in res.failed.items():
        print(f"error: {gene}: {why}", file=sys.stderr)
    for note in res.warnings:
        print(f"warning: {note}", file=sys.stderr)
    moved = res.table.loc[res.table["log2fc"] != 0, "gene"].nunique()
    print(f"{res.table['gene'].nunique()} genes predicted, {moved} moved ({args.mode}, {device_label(args.device)}); "
          f"wrote {args.out}", file=sys.stderr)
    return 1 if res.failed else 0


# ----------------------------------------------------------------------------- export


def _export_args(p: argparse.ArgumentParser) -> None:
    from .explore.export import FORMATS
    from .explore.network import SIGNS

    p.add_argument("--results", required=True, help="results folder (ours, or a tutorial's tf_to_gene.csv)")
    p.add_argument("--format", required=True, choices=list(FORMATS), help="file format, as the app's download")
    p.add_argument("--out", required=True, help="file to write (atomically)")
    p.add_argument("--groupby", default=None, help="the table's grouping column (checked)")
    p.add_argument("--groups", type=_csv_list, default=None, help="keep these groups (e.g. NK,B cell)")
    p.add_argument("--genes", type=_csv_list, default=None, help="keep these target genes")
    p.add_argument("--tfs", type=_csv_list, default=None, help="keep these TFs")
    p.add_argument("--top-k", type=int, default=0, help="top TFs by |mean| per gene and group (0: all)")
    p.add_argument("--min-abs", type=float, default=0.0, help="keep |mean_attr| at least this")
    p.add_argument("--sign", choices=SIGNS, default="all", help="all, positive (activation), negative (repression)")


def _run_export(args: argparse.Namespace) -> int:
    from .explore.export import export_results
    from .files import atomic_write

    payload = export_results(
        args.results, args.format, groupby=args.groupby, groups=args.groups, genes=args.genes, tfs=args.tfs,
        top_k=args.top_k or None, min_abs=args.min_abs, sign=args.sign,
    )  # fmt: skip
    path = atomic_write(args.out, payload)
    print(f"wrote {path} ({len(payload):,} bytes, {args.format})", file=sys.stderr)
    return 0


# ----------------------------------------------------------------------------- the table


@dataclass(frozen=True)
class Command:
    """One subcommand: its help line, description, arguments and entry (returns the exit code)."""

    help: str
    description: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


COMMANDS: dict[str, Command] = {
    "attribute": Command(
        "attribute every gene's prediction to its TFs (the tutorial's loop, resumable)",
        "Integrated Gradients on each gene's TF expression; writes <out>/<GENE>.npy, "
        "<GENE>.csv, <GENE>.json and tf_to_gene.csv (with bootstrap CI, t-test p and BH q per edge); with --peaks "
        "also <GENE>.peaks.npy and peak_to_gene.csv. Genes already done are loaded, not recomputed.",
        _attribute_args,
        _run_attribute,
    ),
    "demo": Command(
        "build the PBMC-like demo: dataset, trained models, results and planted truth",
        "Simulate a PBMC-like multiome dataset with planted regulators (JASPAR 2024 motifs), train one model "
        "per gene and attribute them; writes DIR/mdata.h5mu, DIR/model, DIR/results, DIR/truth.csv.",
        _demo_args,
        _run_demo,
    ),
    "train": Command(
        "train one cell2net model per gene (cell2net's checkpoint format)",
        "Poisson NLL, Adam, gradient clipping, best epoch by validation Spearman; "
        "writes <out>/<GENE>.pt and prints gene, best epoch, valid Spearman, seconds.",
        _train_args,
        _run_train,
    ),
    "evaluate": Command(
        "score stored attributions against planted edges (the demo's truth.csv)",
        "Per sign, the share of planted edges whose TF ranks in its gene's top N where it acts, "
        "and AUPRC over all candidate TF-gene pairs; the last line is the headline.",
        _evaluate_args,
        _run_evaluate,
    ),
    "perturb": Command(
        "knock out or over-express TFs and predict every target again (direct effects through the models)",
        "Sets each TF's expression input to 0 (ko) or multiplies it (oe) in the chosen groups' metacells and "
        "predicts every gene with a model again; writes one CSV row per TF, gene, group and round. "
        "No cell-state transitions: peaks and covariates stay as measured.",
        _perturb_args,
        _run_perturb,
    ),
    "export": Command(
        "export a results folder's network (CSV, TSV, SIF, GraphML, Cytoscape JSON), filtered as in the app",
        "The Network page's download without a browser: the same filters (--groups, --genes, --tfs, "
        "--top-k, --min-abs, --sign) give the same bytes.",
        _export_args,
        _run_export,
    ),
}


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m cell2net_core`` parser with every subcommand of :data:`COMMANDS`."""
    parser = argparse.ArgumentParser(prog="python -m cell2net_core", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, command in COMMANDS.items():
        p = sub.add_parser(name, help=command.help, description=command.description)
        command.add_arguments(p)
        p.add_argument("--data-root", action="append", default=None, metavar="DIR",
                       help=f"every path must lie inside one of these folders (repeatable; default ${ENV})")
        p.set_defaults(func=command.run)
    return parser


#: Arguments that name files or folders, checked against the data roots.
PATH_ARGS = {"mdata": "dataset", "models": "model folder", "out": "output", "results": "results folder",
             "truth": "truth file"}  # fmt: skip


def _check_paths(args: argparse.Namespace) -> None:
    """With data roots set, every path argument must resolve inside one (and is replaced by its resolved path)."""
    roots = data_roots(args.data_root)
    if not roots:
        return
    for name, what in PATH_ARGS.items():
        value = getattr(args, name, None)
        if value:
            setattr(args, name, str(inside_roots(value, roots, what=what)))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (2 for bad input, 1 when some genes failed)."""
    args = build_parser().parse_args(argv)
    try:
        _check_paths(args)
        return args.func(args)
    except Cell2NetInputError as e:
        print(f"error: {e}", file=sys.stderr)
    except OSError as e:
        where = f" {e.filename!r}" if e.filename else ""
        print(f"error: cannot read or write{where}: {e.strerror or e}", file=sys.stderr)
    except KeyboardInterrupt:
        print("interrupted: finished genes are stored; run the same command again to resume", file=sys.stderr)
        return 130
    except Exception as e:  # never a traceback: one line, and how to get the details
        print(f"error: unexpected {type(e).__name__}: {e} (set CELL2NET_DEBUG=1 for the traceback)", file=sys.stderr)
        if os.environ.get("CELL2NET_DEBUG"):
            raise
    return 2
