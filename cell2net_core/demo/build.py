"""The embedded demo: a PBMC-like multiome dataset with planted regulators, models and results.

One shared location serves the app and the command line (:func:`default_demo_dir`).
:func:`ensure_demo` returns at once when a complete demo is there (its marker file is
written last, atomically) and builds it otherwise, under a lock so that two starts do
not build twice, into a temporary folder renamed into place at the end.

Layout of a demo folder::

    mdata.h5mu        the dataset, in the cell2net contract
    model/<GENE>.pt   one checkpoint per gene, cell2net's format, trained by train.py
    results/          <GENE>.npy, <GENE>.json, <GENE>.csv, tf_to_gene.csv (tutorial layout),
                      <GENE>.peaks.npy / .peaks.json and peak_to_gene.csv (peak attributions,
                      DEMO_PEAK_STEPS integration steps)
    truth.csv         gene, tf, sign (+/-), cell_types (';'-separated): every planted edge
    truth_peaks.csv   gene, peak, cell_types (';'-separated): every planted driver peak
    reference.csv     source, target, sign: a curated-like reference, 80% of the planted edges plus
                      wrong edges (a quarter as many, random candidate pairs), for ``--reference``
    .complete         marker: written last
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ..errors import Cell2NetInputError
from ..overlap import USABLE_CORES
from ..settings import Settings

__all__ = ["DemoPaths", "default_demo_dir", "demo_paths", "demo_reference", "build_demo", "ensure_demo", "is_complete"]

DEMO_VERSION = "demo-v5"
ENV_VAR = "CELL2NET_DEMO_DIR"
DEMO_EPOCHS = 20
DEMO_LR = 3e-3
#: exact: Integrated Gradients in closed form (the integral captum approximates, 40x faster);
#: abs: keep the planted repressors (negative mean) in the demo's tables and network.
DEMO_SETTINGS = Settings(method="exact", rank_by="abs", device="cpu")
REFERENCE_KEPT, REFERENCE_WRONG = 0.8, 0.25
#: Integrated-Gradients steps of the demo's peak attributions: 20 rather than cell2net's 100 keeps
#: the build short (about 1 s per gene instead of 5-7 s on one CPU thread).
DEMO_PEAK_STEPS = 20
Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class DemoPaths:
    """Where the parts of a demo live."""

    root: Path
    mdata: Path
    model_dir: Path
    results: Path
    truth: Path
    marker: Path
    reference: Path
    truth_peaks: Path


def default_demo_dir() -> Path:
    """The shared demo folder: ``$CELL2NET_DEMO_DIR``, else ``~/.cache/cell2net-explorer/demo-v5``.

    Examples
    --------
    >>> default_demo_dir().name  # doctest: +SKIP
    'demo-v5'
    """
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "cell2net-explorer" / DEMO_VERSION


def demo_paths(directory: str | os.PathLike) -> DemoPaths:
    """The paths of a demo folder (they need not exist yet)."""
    root = Path(directory)
    return DemoPaths(
        root=root,
        mdata=root / "mdata.h5mu",
        model_dir=root / "model",
        results=root / "results",
        truth=root / "truth.csv",
        marker=root / ".complete",
        reference=root / "reference.csv",
        truth_peaks=root / "truth_peaks.csv",
    )


def demo_reference(truth: pd.DataFrame, gene_tf: pd.DataFrame, *, seed: int = 0) -> pd.DataFrame:
    """A curated-like reference: most planted edges (:data:`REFERENCE_KEPT`), plus wrong candidate pairs.

    Examples
    --------
    >>> truth = pd.DataFrame({"gene": ["G1", "G2"], "tf": ["A", "B"], "sign": ["+", "-"], "cell_types": "x"})
    >>> gene_tf = pd.DataFrame([[1, 1], [1, 1]], index=["G1", "G2"], columns=["A", "B"])
    >>> demo_reference(truth, gene_tf).columns.tolist()
    ['source', 'target', 'sign']
    """
    rng = np.random.default_rng(seed)
    planted = truth[["tf", "gene", "sign"]].drop_duplicates(["tf", "gene"])
    kept = planted.iloc[np.sort(rng.permutation(len(planted))[: round(REFERENCE_KEPT * len(planted))])]
    edges = {(t, g) for t, g in zip(planted["tf"], planted["gene"], strict=True)}
    genes, tfs = np.nonzero(gene_tf.to_numpy() > 0)
    candidates = [(gene_tf.columns[t], gene_tf.index[g]) for g, t in zip(genes, tfs, strict=True)]
    candidates = [c for c in candidates if c not in edges]
    n_wrong = min(len(candidates), round(REFERENCE_WRONG * len(planted)))
    wrong = [candidates[i] for i in np.sort(rng.choice(len(candidates), size=n_wrong, replace=False))]
    ref = pd.concat(
        [kept.rename(columns={"tf": "source", "gene": "target"}),
         pd.DataFrame(wrong, columns=["source", "target"]).assign(sign="+")], ignore_index=True,
    )  # fmt: skip
    return ref[["source", "target", "sign"]]


def is_complete(directory: str | os.PathLike) -> bool:
    """Whether the folder holds a finished demo (its marker names this demo version)."""
    marker = demo_paths(directory).marker
    try:
        return json.loads(marker.read_text()).get("version") == DEMO_VERSION
    except (OSError, ValueError):
        return False


def _report(progress: Progress | None, fraction: float, message: str) -> None:
    if progress is not None:
        progress(min(max(fraction, 0.0), 1.0), message)


def _monotonic(progress: Progress | None) -> Progress | None:
    """Wrap ``progress`` so that the fraction it sees never goes down."""
    if progress is None:
        return None
    seen = [0.0]

    def wrapped(fraction: float, message: str) -> None:
        seen[0] = max(seen[0], fraction)
        progress(seen[0], message)

    return wrapped


def _n_workers(n_genes: int, n_metacells: int) -> int:
    if n_genes * n_metacells < 8_000:  # starting a worker costs more than it saves
        return 1
    return max(1, min(USABLE_CORES, 4, n_genes))


def _train_in_process(mdata, paths: DemoPaths, jobs: list[tuple[str, int]], epochs: int, progress) -> None:
    from ..model import save_checkpoint
    from .train import train

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the same arithmetic as a worker process: the same weights
    try:
        for k, (gene, seed) in enumerate(jobs, 1):
            r = train(mdata, gene, max_epochs=epochs, lr=DEMO_LR, seed=seed, device="cpu")
            save_checkpoint(r.module, paths.model_dir / f"{gene}.pt", history=r.history, results=r.results)
            _report(progress, 0.15 + 0.7 * k / len(jobs), f"trained {gene} ({k}/{len(jobs)})")
    finally:
        torch.set_num_threads(threads)


def _pump(stream, lines: queue.Queue) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


def _train_in_workers(paths: DemoPaths, jobs: list[tuple[str, int]], epochs: int, workers: int, progress) -> None:
    """Train in ``workers`` plain subprocesses (one thread each); progress from their ``done GENE`` lines."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    lines: queue.Queue = queue.Queue()
    procs = []
    try:
        for w in range(workers):
            part = [f"{gene}:{seed}" for gene, seed in jobs[w::workers]]
            cmd = [sys.executable, "-m", "cell2net_core.demo.worker", str(paths.mdata), str(paths.model_dir),
                   str(epochs), str(DEMO_LR), *part]  # fmt: skip
            err = tempfile.TemporaryFile()
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True, env=env)
            procs.append((proc, err))
            threading.Thread(target=_pump, args=(proc.stdout, lines), daemon=True).start()
        done, finished = 0, 0
        while finished < len(procs):
            line = lines.get()
            if line is None:
                finished += 1
            elif line.startswith("done "):
                done += 1
                _report(progress, 0.15 + 0.7 * done / len(jobs), f"trained {line.split()[1]} ({done}/{len(jobs)})")
    finally:
        for proc, _ in procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
    for proc, err in procs:
        err.seek(0)
        tail = err.read().decode(errors="replace").strip().splitlines()[-5:]
        err.close()
        if proc.returncode != 0:
            msg = f"demo training worker exited with code {proc.returncode}: " + " | ".join(tail)
            raise RuntimeError(msg)


def _attribute(mdata, genes: list[str], paths: DemoPaths, reference: pd.DataFrame, progress) -> None:
    """TF attributions with motif and known-edge evidence, then peak attributions and ``peak_to_gene.csv``."""
    from ..pipeline import Evidence, attribute_gene_peaks, attribute_genes, peak_table
    from ..store import ResultStore

    def step(i: int, n: int, gene: str, fraction: float) -> None:
        done = min(i + fraction, n)
        _report(progress, 0.85 + 0.09 * done / max(n, 1), f"attributing {gene} ({min(i + 1, n)}/{n})")

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # reproducible sums; the head is small
    try:
        results = attribute_genes(mdata, genes, model_dir=paths.model_dir, out_dir=paths.results,
                                  settings=DEMO_SETTINGS, evidence=Evidence(motifs=True, reference=reference),
                                  progress=step)  # fmt: skip
        failed = [r for r in results if r.status == "failed"]
        if failed:
            msg = f"demo attribution failed for {failed[0].gene!r}: {failed[0].error}"
            raise Cell2NetInputError(msg)
        store, settings = ResultStore(paths.results), replace(DEMO_SETTINGS, n_steps=DEMO_PEAK_STEPS)
        for k, gene in enumerate(genes, 1):
            attribute_gene_peaks(mdata, gene, model_dir=paths.model_dir, store=store, settings=settings)
            _report(progress, 0.94 + 0.05 * k / len(genes), f"peak attributions of {gene} ({k}/{len(genes)})")
        store.write_peak_table(peak_table(store, mdata, groupby=settings.groupby))
    finally:
        torch.set_num_threads(threads)


def _build_into(
    paths: DemoPaths, *, seed: int, n_metacells: int, n_genes: int, n_tfs: int, epochs: int, progress: Progress | None
) -> None:
    from .simulate import simulate

    start = time.perf_counter()
    progress = _monotonic(progress)
    _report(progress, 0.0, "simulating PBMC-like metacells with planted regulators")
    mdata, truth, truth_peaks = simulate(seed=seed, n_metacells=n_metacells, n_genes=n_genes, n_tfs=n_tfs)
    paths.root.mkdir(parents=True, exist_ok=True)
    mdata.write(paths.mdata)
    truth.to_csv(paths.truth, index=False)
    truth_peaks.to_csv(paths.truth_peaks, index=False)
    reference = demo_reference(truth, mdata["rna"].uns["gene_tf"], seed=seed)
    reference.to_csv(paths.reference, index=False)
    genes = mdata["rna"].uns["gene_tf"].index.astype(str).tolist()
    _report(progress, 0.15, f"training {len(genes)} gene models")
    workers = _n_workers(len(genes), n_metacells)
    jobs = [(gene, seed + i) for i, gene in enumerate(genes)]
    paths.model_dir.mkdir(parents=True, exist_ok=True)
    if workers == 1:
        _train_in_process(mdata, paths, jobs, epochs, progress)
    else:
        _train_in_workers(paths, jobs, epochs, workers, progress)

    _attribute(mdata, genes, paths, reference, progress)
    info = {
        "version": DEMO_VERSION, "seed": seed, "n_metacells": n_metacells, "n_genes": n_genes, "n_tfs": n_tfs,
        "epochs": epochs, "workers": workers, "seconds": round(time.perf_counter() - start, 1),
    }  # fmt: skip
    tmp = paths.marker.with_name(paths.marker.name + ".tmp")
    tmp.write_text(json.dumps(info))
    os.replace(tmp, paths.marker)
    _report(progress, 1.0, f"demo ready in {info['seconds']} s")


def build_demo(
    out: str | os.PathLike,
    *,
    seed: int = 0,
    n_metacells: int = 1000,
    n_genes: int = 40,
    n_tfs: int = 150,
    epochs: int = DEMO_EPOCHS,
    progress: Progress | None = None,
) -> DemoPaths:
    """Simulate the demo dataset, train its models, attribute them, and write it all to ``out``.

    Built in a temporary folder beside ``out`` and renamed into place when complete.

    Parameters
    ----------
    out
        Folder to create; it must not exist or be empty.
    seed
        Random seed: the same seed gives the same tables, arrays and weights.
    n_metacells, n_genes, n_tfs
        Sizes: metacells, target genes (up to 42 PBMC markers), TF universe (planted + other JASPAR TFs).
    epochs
        Training epochs per gene.
    progress
        Called as ``progress(fraction, message)``.

    Examples
    --------
    >>> paths = build_demo("/tmp/demo", n_metacells=160, n_genes=6, n_tfs=30)  # doctest: +SKIP
    >>> paths.truth.is_file()  # doctest: +SKIP
    True
    """
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        msg = f"{str(out)!r} already exists and is not an empty folder; remove it or choose another --out."
        raise Cell2NetInputError(msg)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.building-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()  # not mkdtemp: its 0700 mode would stay on the finished folder
    try:
        _build_into(demo_paths(tmp), seed=seed, n_metacells=n_metacells, n_genes=n_genes, n_tfs=n_tfs,
                    epochs=epochs, progress=progress)  # fmt: skip
        if out.exists():
            out.rmdir()
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return demo_paths(out)


@contextlib.contextmanager
def _locked(path: Path, *, progress: Progress | None = None) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            _report(progress, 0.0, "another process is building the demo; waiting for it")
            fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


_DEMO_NAMES = {"mdata.h5mu", "model", "results", "truth.csv", "truth_peaks.csv", "reference.csv", ".complete",
               ".complete.tmp"}


def _remove_old_demo(root: Path) -> None:
    """Delete an unfinished or older demo folder, but never a folder holding anything else."""
    if not root.is_dir() or not {p.name for p in root.iterdir()} <= _DEMO_NAMES:
        msg = (
            f"{str(root)!r} is not a Cell2Net demo folder (it holds other files); "
            f"point ${ENV_VAR} at an empty or new folder."
        )
        raise Cell2NetInputError(msg)
    shutil.rmtree(root)


def ensure_demo(*, progress: Progress | None = None) -> DemoPaths:
    """The default demo's paths, building it first if it is not complete.

    A second caller waits on the lock and then finds the finished demo.

    Examples
    --------
    >>> paths = ensure_demo()  # doctest: +SKIP
    >>> paths.mdata.is_file()  # doctest: +SKIP
    True
    """
    root = default_demo_dir()
    if is_complete(root):
        _report(progress, 1.0, "demo ready")
        return demo_paths(root)
    with _locked(root.with_name(root.name + ".lock"), progress=progress):
        if not is_complete(root):
            if root.exists():  # an interrupted or older build
                _remove_old_demo(root)
            build_demo(root, progress=progress)
    _report(progress, 1.0, "demo ready")
    return demo_paths(root)

