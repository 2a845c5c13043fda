"""In-silico TF perturbation: knock out or over-express TFs and predict every target again.

Each gene's model reads the expression of its candidate TFs beside its peaks' sequence and
accessibility and the covariates. A perturbation changes only the TF input, so what the head's
first layer gets from everything else is computed once per gene (one pass of the sequence
encoder and the peak embedding, as in :mod:`~cell2net_core.attribution`) and only the small
head runs again, for every perturbed TF and round, batched over metacells (on the GPU when present).

What this is: the direct effect of a TF's expression on each target through the trained
models, per metacell, averaged per group; with ``rounds > 1`` the change passes on through
genes that are themselves TFs and have a model (their TF-expression input is scaled by their
predicted fold change), round by round. What this is not: a simulation of cell-state
transitions (chromatin, the peaks' accessibility and the covariates stay as measured), nor
a causal claim beyond what the models learned; a gene that does not list the TF as a
candidate cannot respond to it at round 1.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import mudata as md
import numpy as np
import pandas as pd
import torch
from torch import nn

from .attribution import run_batched
from .data import DEFAULT_COVARIATES, all_tfs, gene_inputs, gene_tfs, genes_with_models, group_labels
from .errors import Cell2NetInputError
from .model import full_precision, load_checkpoint, peak_embedding, resolve_device, to_tensors

__all__ = ["MODES", "Perturbation", "check_tfs", "perturb", "perturbable_tfs", "reachable_genes"]

MODES = ("ko", "oe")
_BATCH = 8192


@dataclass(frozen=True, kw_only=True)
class Perturbation:
    """Result of :func:`perturb`.

    Attributes
    ----------
    table
        One row per perturbed TF, gene with a model, group and round: ``tf, gene, <groupby>,
        mean_before, mean_after, log2fc, round, direct, changed_inputs, n_metacells,
        beyond_training_max``. ``mean_before`` / ``mean_after``: mean predicted expression (the
        model's Poisson rate, counts) over the group's metacells; ``log2fc``:
        ``log2(mean_after / mean_before)``; ``direct``: the gene lists the TF as a candidate;
        ``changed_inputs``: the gene's TF inputs that moved in that round (comma-separated);
        ``beyond_training_max``: in some metacell of the group a moved TF input exceeds the
        highest value of that TF in the dataset, so the model extrapolates.
    groupby, mode, factor, rounds
        What was asked.
    warnings
        Sentences for the user (over-expression beyond the data's range).
    failed
        Genes left out, with the reason (a bad checkpoint never stops the others).

    Examples
    --------
    >>> Perturbation(table=pd.DataFrame(), groupby="cell_type_v2", mode="ko", factor=0.0, rounds=1,
    ...              warnings=[], failed={}).mode
    'ko'
    """

    table: pd.DataFrame
    groupby: str
    mode: str
    factor: float
    rounds: int
    warnings: list[str]
    failed: dict[str, str]


@dataclass(frozen=True)
class _Head:
    """One gene ready for its head: the first layer's input from all but the TFs, precomputed."""

    gene: str
    tfs: list[str]
    offset: torch.Tensor  # (N, hidden): first layer's pre-activation from peaks, distances, covariates, bias
    w_tf: torch.Tensor  # (hidden, T)
    rest: nn.Module  # the layers after the first

    def rates(self, tf_exp: torch.Tensor, *, batch_size: int) -> torch.Tensor:
        """Predicted rate ``exp(head)`` per metacell for this TF input ``(N, T)``."""

        def batch(sl: slice) -> torch.Tensor:
            return self.rest(self.offset[sl] + tf_exp[sl] @ self.w_tf.T).reshape(-1)

        with torch.no_grad():
            return run_batched(batch, len(tf_exp), batch_size=batch_size).double().exp()


def perturbable_tfs(mdata: md.MuData, model_dir: str | os.PathLike) -> list[str]:
    """TFs that at least one gene with a model lists as a candidate, sorted.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from cell2net_core.testing import random_dataset
    >>> models = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (models / "GENE0.pt").write_bytes(b"")
    >>> mdata = random_dataset(n_metacells=8, n_tfs=4)
    >>> perturbable_tfs(mdata, models) == sorted(gene_tfs(mdata, "GENE0"))
    True
    """
    listed: set[str] = set()
    for gene in genes_with_models(mdata, model_dir):
        try:
            listed.update(gene_tfs(mdata, gene))
        except Cell2NetInputError:
            continue
    return sorted(listed)


def reachable_genes(
    mdata: md.MuData, model_dir: str | os.PathLike, tfs: str | Sequence[str], *, rounds: int = 1
) -> list[str]:
    """Genes with a model that a perturbation of ``tfs`` can move within ``rounds`` rounds.

    Round 1 reaches the genes that list a TF as a candidate; each further round adds the genes
    that list a reached gene which is itself a TF. Every other gene is unchanged by construction,
    so predicting only these gives the same rows for them, faster.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from cell2net_core.testing import random_dataset
    >>> models = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (models / "GENE0.pt").write_bytes(b"")
    >>> mdata = random_dataset(n_metacells=8, n_tfs=4)
    >>> reachable_genes(mdata, models, gene_tfs(mdata, "GENE0")[0])
    ['GENE0']
    """
    tfs = {tfs} if isinstance(tfs, str) else set(tfs)
    lists: dict[str, set[str]] = {}
    for gene in genes_with_models(mdata, model_dir):
        try:
            lists[gene] = set(gene_tfs(mdata, gene))
        except Cell2NetInputError:
            continue
    reached: set[str] = set()
    for _ in range(rounds):
        movers = tfs | reached
        reached |= {g for g, cands in lists.items() if cands & movers}
    return [g for g in lists if g in reached]


def check_tfs(tfs: str | Sequence[str], known: Sequence[str], listed: Sequence[str]) -> list[str]:
    """The TFs as a list; an unknown TF (with close names) or one no gene lists is an input error.

    Parameters
    ----------
    tfs
        One TF or several.
    known
        The dataset's TFs.
    listed
        TFs that some gene with a model lists as a candidate.

    Examples
    --------
    >>> check_tfs("PAX5", ["PAX5", "PAX6"], ["PAX5"])
    ['PAX5']
    >>> check_tfs("PAX4", ["PAX5", "PAX6"], ["PAX5"])
    Traceback (most recent call last):
    ...
    cell2net_core.errors.Cell2NetInputError: TF 'PAX4' is not a TF of the dataset; close names: PAX6, PAX5.
    """
    tfs = [tfs] if isinstance(tfs, str) else [str(t) for t in tfs]
    if not tfs:
        msg = "No TF given: name at least one TF to perturb."
        raise Cell2NetInputError(msg)
    by_upper = {k.upper(): k for k in known}
    listed_set = set(listed)
    for tf in tfs:
        if tf not in by_upper.values():
            close = difflib.get_close_matches(tf.upper(), list(by_upper), n=5, cutoff=0.6)
            hint = f"close names: {', '.join(by_upper[c] for c in close)}" if close else "no close name"
            msg = f"TF {tf!r} is not a TF of the dataset; {hint}."
            raise Cell2NetInputError(msg)
        if tf not in listed_set:
            msg = (
                f"TF {tf!r} is a TF of the dataset, but no gene with a model lists it as a candidate "
                "(rna.uns['gene_tf']): perturbing it changes no prediction."
            )
            raise Cell2NetInputError(msg)
    return list(dict.fromkeys(tfs))


def _prepare(
    mdata: md.MuData, gene: str, model_dir: Path, *, covariates: Sequence[str], keep: np.ndarray, device: torch.device
) -> tuple[_Head, dict[str, np.ndarray]]:
    """The gene's head over the kept metacells, and its TF inputs' raw columns (all metacells)."""
    inputs = gene_inputs(mdata, gene, covariates=covariates)
    module = load_checkpoint(model_dir / f"{gene}.pt", inputs, device=device)
    t = to_tensors(inputs, device)
    rows = torch.as_tensor(np.flatnonzero(keep), device=device)
    with torch.no_grad():
        embd = peak_embedding(module, t["peak_seq"], t["peak_acc"][rows])
        x = module.head_input(embd, t["peak_dist"], t["tf_exp"][rows], t["covariates"][rows])
        first, cut = module.fc[0], module.tf_slice
        w = first.weight
        offset = x[:, : cut.start] @ w[:, : cut.start].T + x[:, cut.stop :] @ w[:, cut.stop :].T + first.bias
    head = _Head(gene, list(inputs.tfs), offset, w[:, cut].detach(), module.fc[1:])
    return head, {tf: inputs.tf_exp[:, j] for j, tf in enumerate(inputs.tfs)}


def _group_means(values: np.ndarray, codes: np.ndarray, n_groups: int) -> np.ndarray:
    return np.bincount(codes, weights=values, minlength=n_groups) / np.bincount(codes, minlength=n_groups)


def _group_any(flags: np.ndarray, codes: np.ndarray, n_groups: int) -> np.ndarray:
    return np.bincount(codes, weights=flags.astype(float), minlength=n_groups) > 0


@dataclass(frozen=True)
class _Run:
    """What every round of every TF shares."""

    heads: list[_Head]
    tf_exp: dict[str, torch.Tensor]  # raw TF expression over the kept metacells
    tf_max: dict[str, float]  # highest value of each TF in the whole dataset
    before: dict[str, torch.Tensor]  # unperturbed rate of each gene over the kept metacells
    codes: np.ndarray
    names: list[str]
    batch_size: int


def _one_round(run: _Run, tf: str, scale: dict[str, torch.Tensor], rnd: int) -> tuple[list[dict], dict]:
    """Rows of one round and the fold changes of genes that are TFs (for the next round)."""
    rows, folds, n = [], {}, len(run.names)
    for head in run.heads:
        moved = [t for t in head.tfs if t in scale]
        before = run.before[head.gene]
        beyond = np.zeros(len(before), dtype=bool)
        if moved:
            x = torch.stack([run.tf_exp[t] * scale[t] if t in scale else run.tf_exp[t] for t in head.tfs], dim=1)
            after = head.rates(x, batch_size=run.batch_size)
            for t in moved:
                beyond |= (run.tf_exp[t] * scale[t] > run.tf_max[t]).cpu().numpy()
            if head.gene in run.tf_exp and head.gene != tf:
                folds[head.gene] = (after / before).float()
        else:
            after = before  # the gene's inputs did not move: its prediction is the same, exactly
        mean_b = _group_means(before.cpu().numpy(), run.codes, n)
        mean_a = _group_means(after.cpu().numpy(), run.codes, n)
        over = _group_any(beyond, run.codes, n)
        counts = np.bincount(run.codes, minlength=n)
        for g, name in enumerate(run.names):
            rows.append({
                "tf": tf, "gene": head.gene, "group": name, "mean_before": mean_b[g], "mean_after": mean_a[g],
                "log2fc": float(np.log2(mean_a[g] / mean_b[g])), "round": rnd, "direct": tf in head.tfs,
                "changed_inputs": ",".join(moved), "n_metacells": int(counts[g]),
                "beyond_training_max": bool(over[g]),
            })  # fmt: skip
    return rows, folds


def _simulate(run: _Run, tf: str, *, mode: str, factor: float, rounds: int) -> list[dict]:
    """All rounds of one TF's perturbation."""
    own = torch.full_like(run.tf_exp[tf], 0.0 if mode == "ko" else factor)
    scale, rows = {tf: own}, []
    for rnd in range(1, rounds + 1):
        got, folds = _one_round(run, tf, scale, rnd)
        rows += got
        scale = {tf: own, **{g: f for g, f in folds.items() if bool((f != 1).any())}}
    return rows


def _warnings(table: pd.DataFrame, *, mode: str, factor: float, group: str) -> list[str]:
    out = []
    if mode != "oe" or table.empty:
        return out
    for tf, rows in table[table["beyond_training_max"]].groupby("tf", sort=True):
        groups = sorted(rows[group].astype(str).unique())
        out.append(
            f"Over-expressing {tf} x{factor:g} pushes TF inputs beyond the highest value in the dataset in "
            f"{', '.join(groups)} ({rows['gene'].nunique()} target(s)): the models never saw such values, "
            "so these predictions extrapolate (column beyond_training_max)."
        )
    return out


def _check_options(mode: str, factor: float, rounds: int, batch_size: int) -> None:
    if mode not in MODES:
        msg = f"mode {mode!r} is not one of {MODES} (ko: knock-out, oe: over-expression)."
        raise Cell2NetInputError(msg)
    if mode == "oe" and not (np.isfinite(factor) and factor >= 0):
        msg = f"factor {factor!r} must be a finite number >= 0 (oe multiplies the TF's expression by it)."
        raise Cell2NetInputError(msg)
    if rounds < 1 or batch_size < 1:
        msg = f"rounds ({rounds}) and batch_size ({batch_size}) must be at least 1."
        raise Cell2NetInputError(msg)


def _kept(labels: np.ndarray, groups: Sequence[str] | None, groupby: str) -> np.ndarray:
    present = sorted(set(labels))
    if groups is None:
        return np.ones(len(labels), dtype=bool)
    unknown = [g for g in groups if g not in present]
    if unknown or not groups:
        msg = f"group(s) {unknown or '[]'} are not values of obs[{groupby!r}]; choose among {present}."
        raise Cell2NetInputError(msg)
    return np.isin(labels, list(groups))


def _build(
    mdata: md.MuData, genes: list[str], model_dir: Path, keep: np.ndarray, labels: np.ndarray, *,
    covariates: Sequence[str], device: torch.device, batch_size: int,
) -> tuple[_Run, dict[str, str]]:
    """Prepare every gene once (bad ones are left out with the reason) and the shared TF inputs."""
    heads, columns, failed = [], {}, {}
    for gene in genes:
        try:
            head, cols = _prepare(mdata, gene, model_dir, covariates=covariates, keep=keep, device=device)
        except Cell2NetInputError as e:
            failed[gene] = str(e)
            continue
        heads.append(head)
        columns.update(cols)
    tf_exp = {t: torch.as_tensor(c[keep], dtype=torch.float32, device=device) for t, c in columns.items()}
    before = {h.gene: h.rates(torch.stack([tf_exp[t] for t in h.tfs], dim=1), batch_size=batch_size) for h in heads}
    names, codes = np.unique(labels[keep].astype(str), return_inverse=True)
    run = _Run(heads, tf_exp, {t: float(c.max()) for t, c in columns.items()}, before, codes.astype(np.intp),
               [str(n) for n in names], batch_size)  # fmt: skip
    return run, failed


def perturb(
    mdata: md.MuData,
    model_dir: str | os.PathLike,
    *,
    tfs: str | Sequence[str],
    mode: Literal["ko", "oe"] = "ko",
    factor: float = 2.0,
    groupby: str = "cell_type_v2",
    groups: Sequence[str] | None = None,
    rounds: int = 1,
    covariates: Sequence[str] = DEFAULT_COVARIATES,
    genes: Sequence[str] | None = None,
    device: str | torch.device = "auto",
    batch_size: int = _BATCH,
) -> Perturbation:
    """Knock out or over-express TFs in chosen metacells and predict every gene with a model again.

    Each TF is perturbed on its own. ``ko`` sets its expression input to 0, ``oe`` multiplies it
    by ``factor``, in the metacells of ``groups`` (all metacells by default); predictions are the
    models' rates (:func:`~cell2net_core.model.predict`). A gene that does not list the TF as a
    candidate is unchanged at round 1 (``log2fc`` exactly 0). With ``rounds > 1``, a gene that is
    itself a TF and has a model passes on its predicted fold change per metacell: its
    TF-expression input to other genes is scaled by it in the next round.

    Parameters
    ----------
    mdata
        The dataset (:func:`~cell2net_core.data.read_dataset`).
    model_dir
        Folder of ``<GENE>.pt`` checkpoints.
    tfs
        TF or TFs to perturb; an unknown TF is an input error naming close names.
    mode
        ``"ko"`` (knock-out) or ``"oe"`` (over-expression).
    factor
        Over-expression factor (``oe`` only).
    groupby
        ``obs`` column whose groups are reported (and chosen by ``groups``).
    groups
        Groups whose metacells are perturbed and reported; ``None``: all.
    rounds
        Rounds of propagation through genes that are TFs (1: direct effects only).
    covariates
        ``obs`` columns the models were trained with.
    genes
        Genes to predict (each needs a checkpoint); ``None``: every gene with a model.
    device
        ``"auto"`` (CUDA when present), ``"cpu"`` or ``"cuda"``.
    batch_size
        Metacells per batch of the head.

    Returns
    -------
    A :class:`Perturbation`; its ``table`` has one row per TF, gene, group and round.

    Examples
    --------
    >>> import tempfile
    >>> from cell2net_core import gene_inputs, save_checkpoint
    >>> from cell2net_core.testing import random_dataset, random_model
    >>> mdata, models = random_dataset(n_metacells=16), tempfile.mkdtemp()
    >>> _ = save_checkpoint(random_model(gene_inputs(mdata, "GENE0")), f"{models}/GENE0.pt")
    >>> tf = gene_tfs(mdata, "GENE0")[0]
    >>> res = perturb(mdata, models, tfs=tf, mode="ko", device="cpu")
    >>> res.table.columns[:6].tolist()
    ['tf', 'gene', 'cell_type_v2', 'mean_before', 'mean_after', 'log2fc']
    >>> len(res.table) == mdata.obs["cell_type_v2"].nunique()
    True
    """
    _check_options(mode, factor, rounds, batch_size)
    model_dir = Path(model_dir)
    with_models = genes_with_models(mdata, model_dir)
    if genes is not None:
        missing = [g for g in genes if g not in with_models]
        if missing:
            msg = f"gene(s) {missing[:5]} have no checkpoint <GENE>.pt with peaks in {str(model_dir)!r}."
            raise Cell2NetInputError(msg)
    chosen = list(with_models if genes is None else dict.fromkeys(genes))
    tfs = check_tfs(tfs, all_tfs(mdata), perturbable_tfs(mdata, model_dir))
    labels = group_labels(mdata, groupby)
    keep = _kept(labels, groups, groupby)
    rows = []
    with full_precision():  # TF32 convolutions and products would move the numbers on a GPU
        run, failed = _build(mdata, chosen, model_dir, keep, labels, covariates=covariates,
                             device=resolve_device(device), batch_size=batch_size)  # fmt: skip
        for tf in tfs:
            if tf in run.tf_exp:  # else every gene listing it failed or was left out: nothing moves
                rows += _simulate(run, tf, mode=mode, factor=float(factor), rounds=rounds)
    columns = ["tf", "gene", "group", "mean_before", "mean_after", "log2fc", "round", "direct", "changed_inputs",
               "n_metacells", "beyond_training_max"]  # fmt: skip
    table = pd.DataFrame(rows, columns=columns).rename(columns={"group": groupby})
    notes = _warnings(table, mode=mode, factor=float(factor), group=groupby)
    notes += [f"{tf}: no gene among those predicted lists it; nothing moves." for tf in tfs if tf not in run.tf_exp]
    return Perturbation(table=table, groupby=groupby, mode=mode, factor=float(factor) if mode == "oe" else 0.0,
                        rounds=rounds, warnings=notes, failed=failed)  # fmt: skip
