"""Integrated Gradients of one gene's prediction with respect to its peaks' accessibility.

The numbers of cell2net's ``cn.ip.peak_attr``: captum's Integrated Gradients (Gauss-Legendre,
``n_steps``), baseline ``peak_acc = 0``, sequences, distances, TF expression and covariates
fixed, attributions multiplied by the inputs. What does not move along the path is computed
once: the sequence encoder's output (one per gene, not per metacell and step), its share of
the first merge convolution, and the head's first layer on everything but the peak embedding.
Only the accessibility channel, the second merge convolution, the attention block and the rest
of the head run at each step.

``peak_to_gene`` aggregates per group like cell2net's ``cn.ip.peak_to_gene``, with the edge
evidence of :mod:`~cell2net_core.stats` (bootstrap interval of the mean, t-test, BH q).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from captum.attr import IntegratedGradients
from torch import nn

from .attribution import run_batched
from .data import GeneInputs
from .errors import Cell2NetInputError
from .model import PeaksTF2GeneExpressionPoisson, full_precision, resolve_device, to_tensors
from .stats import N_BOOT, SEED, add_q_values, groups_evidence

__all__ = ["PEAK_COLUMNS", "PeakAttribution", "peak_attr", "peak_to_gene"]

PEAK_COLUMNS = ("peak", "gene", "mean_attr", "std_attr", "ci_low", "ci_high", "p_value", "q_value")
_PATH_VALUES = 2**24  # path points x peaks x 126 hidden values held at once (~64 MB in float32)
Progress = Callable[[int, int], None]


@dataclass(frozen=True, kw_only=True)
class PeakAttribution:
    """Peak-accessibility attributions of one gene.

    Attributes
    ----------
    gene
        Target gene.
    attr
        ``(n_metacells, n_peaks)`` float32, peaks in ``peak_to_gene`` order.
    gap
        ``(n_metacells,)`` completeness gap ``sum(attr) - (f(x) - f(x with no accessibility))``.
    peaks, obs_names
        Column and row labels.
    n_steps
        Integration steps.

    Examples
    --------
    >>> from cell2net_core.data import gene_inputs
    >>> from cell2net_core.testing import random_dataset, random_model
    >>> x = gene_inputs(random_dataset(n_metacells=6, n_peaks=3), "GENE0")
    >>> peak_attr(random_model(x), x, n_steps=20, device="cpu").attr.shape
    (6, 3)
    """

    gene: str
    attr: np.ndarray
    gap: np.ndarray
    peaks: list[str]
    obs_names: list[str]
    n_steps: int


class _PeakHead(nn.Module):
    """The module as a function of ``peak_acc`` ``(B, P)``; the rest enters as ``offset`` ``(B, 32)``.

    The output is the sum over rows (rows are independent in eval mode), so one backward
    pass gives every row's gradient.
    """

    def __init__(self, module: PeaksTF2GeneExpressionPoisson, seq_embd: torch.Tensor) -> None:
        super().__init__()
        self.module = module
        self.split = module.split_merge(seq_embd)  # constant along the path
        self.w_embd = module.fc[0].weight[:, : module.n_peaks * module.n_dims]
        self.rest = module.fc[1:]

    def forward(self, peak_acc: torch.Tensor, offset: torch.Tensor) -> torch.Tensor:
        return self.values(peak_acc, offset).sum().reshape(1)

    def values(self, peak_acc: torch.Tensor, offset: torch.Tensor) -> torch.Tensor:
        """Output per row, ``(B,)``."""
        embd = self.module.embed_split(self.split, peak_acc)
        return self.rest(offset + embd @ self.w_embd.T).reshape(-1)


def _offset(module: PeaksTF2GeneExpressionPoisson, t: dict[str, torch.Tensor]) -> torch.Tensor:
    """First head layer on peak distances, TF expression and covariates (all but the embedding), ``(N, 32)``."""
    n = len(t["tf_exp"])
    lin, cut = module.fc[0], module.n_peaks * module.n_dims
    rest = torch.cat([t["peak_dist"].reshape(1, -1).expand(n, -1), t["tf_exp"], t["covariates"].reshape(n, -1)], 1)
    return rest @ lin.weight[:, cut:].T + lin.bias


@torch.no_grad()
def peak_attr(
    module: PeaksTF2GeneExpressionPoisson,
    inputs: GeneInputs,
    *,
    n_steps: int = 100,
    batch_size: int | None = None,
    device: str | torch.device = "auto",
    progress: Progress | None = None,
) -> PeakAttribution:
    """Attribute the gene's predicted log rate to its peaks' accessibility, per metacell.

    Parameters
    ----------
    module
        The gene's model, in eval mode.
    inputs
        The gene's inputs (:func:`~cell2net_core.data.gene_inputs`).
    n_steps
        Integration steps (cell2net's default 100).
    batch_size
        Metacells per batch; by default as many as keep about 2**24 path values at once.
    device
        ``"auto"`` (CUDA when present), ``"cpu"`` or ``"cuda"``.
    progress
        Called as ``progress(done, total)`` after each batch of metacells.

    Examples
    --------
    >>> from cell2net_core.data import gene_inputs
    >>> from cell2net_core.testing import random_dataset, random_model
    >>> x = gene_inputs(random_dataset(n_metacells=8), "GENE0")
    >>> res = peak_attr(random_model(x), x, n_steps=50, device="cpu")
    >>> res.attr.shape == (8, x.n_peaks), bool(np.abs(res.gap).max() < 1e-2)
    (True, True)
    """
    _check(module, inputs, n_steps=n_steps)
    dev = resolve_device(device)
    module = module.to(dev)
    t = to_tensors(inputs, dev)
    with full_precision():  # cuDNN's default TF32 convolutions would move the numbers on a GPU
        head = _PeakHead(module, module.seq_encoder(t["peak_seq"].unsqueeze(0)))
        offset = _offset(module, t)
    if batch_size is None:
        batch_size = max(1, _PATH_VALUES // (n_steps * module.n_peaks * len(head.split[1])))
    ig = IntegratedGradients(head)

    def batch(sl: slice) -> torch.Tensor:
        x = t["peak_acc"][sl].clone().requires_grad_()
        attr = ig.attribute(x, baselines=torch.zeros_like(x), additional_forward_args=(offset[sl],), n_steps=n_steps)
        return attr.detach()

    with torch.enable_grad(), full_precision():
        attr = run_batched(batch, len(offset), batch_size=batch_size, progress=progress)
    delta = head.values(t["peak_acc"], offset) - head.values(torch.zeros_like(t["peak_acc"]), offset)
    gap = attr.double().sum(1) - delta.double()
    return PeakAttribution(
        gene=inputs.gene,
        attr=attr.float().cpu().numpy(),
        gap=gap.cpu().numpy(),
        peaks=list(inputs.peaks),
        obs_names=list(inputs.obs_names),
        n_steps=n_steps,
    )


def _check(module: PeaksTF2GeneExpressionPoisson, inputs: GeneInputs, *, n_steps: int) -> None:
    if module.training:
        msg = "The module is in train mode (BatchNorm, Dropout); call module.eval() before peak attribution."
        raise Cell2NetInputError(msg)
    if n_steps < 1:
        msg = f"n_steps must be at least 1; got {n_steps}."
        raise Cell2NetInputError(msg)
    if module.n_peaks != inputs.n_peaks or module.n_tfs != inputs.n_tfs:
        msg = (
            f"Gene {inputs.gene!r}: the module has {module.n_peaks} peaks and {module.n_tfs} TFs, "
            f"the inputs {inputs.n_peaks} peaks and {inputs.n_tfs} TFs."
        )
        raise Cell2NetInputError(msg)


def peak_to_gene(
    attr: np.ndarray,
    labels: Sequence[str] | np.ndarray,
    *,
    gene: str,
    peaks: Sequence[str],
    groupby: str = "cell_type_v2",
    n_boot: int = N_BOOT,
    seed: int = SEED,
) -> pd.DataFrame:
    """Peak -> gene table of one gene: per group, every peak's mean attribution and its evidence.

    Parameters
    ----------
    attr
        ``(n_metacells, n_peaks)`` peak attributions.
    labels
        Group of each metacell.
    gene
        Target gene.
    peaks
        Peak names of the columns (``peak_to_gene`` order, kept in the output).
    groupby
        Name of the group column.
    n_boot, seed
        Bootstrap resamples and seed (:func:`~cell2net_core.stats.groups_evidence`).

    Returns
    -------
    Columns ``peak, gene, <groupby>, mean_attr, std_attr, ci_low, ci_high, p_value, q_value``; q is
    Benjamini-Hochberg over the rows of this table.

    Examples
    --------
    >>> t = peak_to_gene(np.array([[1.0, 0.0], [3.0, 0.5]]), ["B", "B"], gene="G", peaks=["p1", "p2"])
    >>> t.columns.tolist()[:5], t["mean_attr"].tolist()
    (['peak', 'gene', 'cell_type_v2', 'mean_attr', 'std_attr'], [2.0, 0.25])
    """
    attr = np.asarray(attr, dtype=np.float64)
    labels = np.asarray(labels).astype(str)
    if attr.ndim != 2 or attr.shape != (len(labels), len(peaks)):
        msg = f"gene {gene!r}: peak attributions of shape {attr.shape} do not match {len(labels)} x {len(peaks)}."
        raise Cell2NetInputError(msg)
    keys, inverse = np.unique(labels, return_inverse=True)
    groups = [attr[inverse == k] for k in range(len(keys))]
    table = pd.DataFrame({
        "peak": list(peaks) * len(keys), "gene": gene, groupby: np.repeat(keys, len(peaks)),
        "mean_attr": np.concatenate([g.mean(0) for g in groups]),
        "std_attr": np.concatenate([g.std(0) for g in groups]),
    })  # fmt: skip
    return add_q_values(table.assign(**groups_evidence(groups, n_boot=n_boot, rng=np.random.default_rng(seed))))
