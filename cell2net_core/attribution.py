"""Integrated Gradients of one gene's prediction with respect to its TFs' expression.

Only ``tf_exp`` moves along the path (from zeros to the metacell's values), so the
sequence encoder, the peak embedding and everything else the head reads are
computed once. Two ways to integrate:

- ``method="captum"``: the tutorial's numbers, captum's Integrated Gradients sum (its
  Gauss-Legendre points and weights, ``n_steps``) with the head's gradient at each point
  in closed form (one matrix product instead of a backward pass per point);
- ``method="exact"``: in eval mode the head after ``tf_exp`` is Linear, ReLU, affine
  BatchNorm, identity Dropout, Linear, so along the straight path the output is
  piecewise linear with at most 32 kinks and the integral has a closed form.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from captum.attr._utils.approximation_methods import approximation_parameters

from .data import GeneInputs
from .errors import Cell2NetInputError
from .model import PeaksTF2GeneExpressionPoisson, full_precision, peak_embedding, resolve_device, to_tensors
from .settings import MAX_N_STEPS, METHODS

__all__ = ["Attribution", "METHODS", "MAX_N_STEPS", "default_batch_size", "run_batched", "tf_attr"]

_BATCH = 4096
Progress = Callable[[int, int], None]
#: ``share(a, s, root)``: each hidden unit's weight of the path where it is live (see :func:`_integrate`)
Share = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass(frozen=True, kw_only=True)
class Attribution:
    """TF attributions of one gene.

    Attributes
    ----------
    gene
        Target gene.
    attr
        ``(n_metacells, n_tfs)`` float32, the gene's TF order.
    gap
        ``(n_metacells,)`` completeness gap: ``sum(attr * (x - x') / ...) - (f(x) - f(x'))``,
        computed on the multiplied-by-inputs attributions.
    delta
        ``(n_metacells,)`` ``f(x) - f(baseline)``.
    tfs, obs_names
        Column and row labels.
    method, n_steps
        How it was computed.

    Examples
    --------
    >>> from cell2net_core.testing import random_attribution, random_dataset
    >>> res = random_attribution(random_dataset(n_metacells=8), "GENE0")
    >>> res.method, res.attr.shape[0], res.max_relative_gap() < 1e-9
    ('exact', 8, True)
    """

    gene: str
    attr: np.ndarray
    gap: np.ndarray
    delta: np.ndarray
    tfs: list[str]
    obs_names: list[str]
    method: str
    n_steps: int | None

    def max_relative_gap(self) -> float:
        """Largest ``|gap| / |f(x) - f(0)|`` over metacells; NaN when not known (loaded from files)."""
        if not len(self.gap) or np.isnan(self.gap).all():
            return float("nan")
        return float(np.nanmax(np.abs(self.gap) / np.maximum(np.abs(self.delta), 1e-12)))


@functools.lru_cache(maxsize=16)
def _gauss_legendre(n_steps: int) -> tuple[list[float], list[float]]:
    """captum's Gauss-Legendre step sizes and points for ``n_steps`` (an eigenvalue problem: kept)."""
    step_sizes, alphas = approximation_parameters("gausslegendre")
    return step_sizes(n_steps), alphas(n_steps)


def _offset(module: PeaksTF2GeneExpressionPoisson, before: torch.Tensor, after: torch.Tensor) -> torch.Tensor:
    """First-layer pre-activation from everything but ``tf_exp``, ``(N, 32)``, in float64."""
    lin, cut = module.fc[0], module.tf_slice
    w = lin.weight.double()
    return before.double() @ w[:, : cut.start].T + after.double() @ w[:, cut.stop :].T + lin.bias.double()


def _head_parts(
    module: PeaksTF2GeneExpressionPoisson, inputs: GeneInputs, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """What the head reads before ``tf_exp`` ``(N, 17P)``, ``tf_exp`` ``(N, T)``, after it ``(N, C)``."""
    t = to_tensors(inputs, device)
    embd = peak_embedding(module, t["peak_seq"], t["peak_acc"])
    x = module.head_input(embd, t["peak_dist"], t["tf_exp"], t["covariates"])
    cut = module.tf_slice
    return x[:, : cut.start], x[:, cut], x[:, cut.stop :]


def run_batched(
    fn: Callable[[slice], torch.Tensor], n: int, *, batch_size: int, progress: Progress | None = None
) -> torch.Tensor:
    """``fn`` over consecutive row slices of ``batch_size`` (the last may be shorter), concatenated.

    ``progress(done, n)`` is called after each batch.

    Examples
    --------
    >>> x = torch.arange(5.0)
    >>> run_batched(lambda sl: x[sl] * 2, 5, batch_size=2)
    tensor([0., 2., 4., 6., 8.])
    """
    if batch_size < 1:
        msg = f"batch_size must be at least 1; got {batch_size}."
        raise Cell2NetInputError(msg)
    parts = []
    for start in range(0, n, batch_size):
        parts.append(fn(slice(start, start + batch_size)))
        if progress is not None:
            progress(min(start + batch_size, n), n)
    return torch.cat(parts) if parts else torch.empty(0)


def _integrate(
    offset: torch.Tensor,
    tf_exp: torch.Tensor,
    slope: torch.Tensor,
    w_tf: torch.Tensor,
    v: torch.Tensor,
    live: Share,
    *,
    multiply_by_inputs: bool,
    batch_size: int,
    progress: Progress | None,
) -> torch.Tensor:
    """The path-averaged gradient of the head, float64, times ``tf_exp`` when ``multiply_by_inputs``.

    Along ``alpha * tf_exp`` hidden unit ``j`` has pre-activation ``a_j + alpha s_j`` (``a`` the offset,
    ``s = tf_exp @ w_tf.T`` its slope) and the head's gradient is ``(1[a + alpha s > 0] * v) @ w_tf``; so the
    average is ``(share * v) @ w_tf`` with ``share = live(a, s, root)`` each unit's weight of the path where
    it is live, ``root = -a / s`` (where ``s != 0``) the point where it turns on or off. All float64
    (:func:`_head`: ``w_tf`` ``(32, T)``, ``v``).
    """

    def batch(sl: slice) -> torch.Tensor:
        t, a, s = tf_exp[sl], offset[sl], slope[sl]
        root = (-a / torch.where(s != 0, s, torch.ones_like(s))).contiguous()
        grad = (live(a, s, root) * v) @ w_tf  # (B, T)
        return grad * t if multiply_by_inputs else grad

    return run_batched(batch, len(tf_exp), batch_size=batch_size, progress=progress)


def _captum_share(n_steps: int, device: torch.device) -> Share:
    """captum's Integrated Gradients sum: the summed Gauss-Legendre weight of its points where a unit is live.

    A unit is live above its root (``s > 0``) or below it (``s < 0``), so that weight is a sorted search
    over the points: captum's own points and weights, without a forward and backward pass per point.
    tests/test_attribution.py checks the numbers against captum's ``IntegratedGradients`` on the whole module.
    """
    step_sizes, alphas = _gauss_legendre(n_steps)
    points, order = torch.sort(torch.tensor(alphas, dtype=torch.float64))  # leggauss gives them increasing already
    weights = torch.tensor(step_sizes, dtype=torch.float64)[order]
    upto = torch.cat([points.new_zeros(1), torch.cumsum(weights, 0)]).to(device)  # weight of the first i points
    points = points.to(device)

    def live(a: torch.Tensor, s: torch.Tensor, root: torch.Tensor) -> torch.Tensor:
        above = upto[-1] - upto[torch.searchsorted(points, root, right=True)]
        below = upto[torch.searchsorted(points, root, right=False)]
        return torch.where(s > 0, above, torch.where(s < 0, below, (a > 0).double() * upto[-1]))

    return live


def _exact_share(a: torch.Tensor, s: torch.Tensor, root: torch.Tensor) -> torch.Tensor:
    """The exact share of ``alpha`` in [0, 1] where ``a + alpha * s > 0``."""
    root = root.clamp(0.0, 1.0)
    return torch.where(s > 0, 1.0 - root, torch.where(s < 0, root, (a > 0).double()))


def _head(module: PeaksTF2GeneExpressionPoisson) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The head in float64 (eval mode): the first layer's TF weights ``w_tf`` ``(32, T)``, and the BatchNorm,
    Dropout and Linear after its ReLU as ``v . relu(z) + c``."""
    fc = module.fc
    bn, out = fc[2], fc[4]
    scale = bn.weight.double() / torch.sqrt(bn.running_var.double() + bn.eps)
    shift = bn.bias.double() - bn.running_mean.double() * scale
    w2 = out.weight.double()[0]
    return fc[0].weight.double()[:, module.tf_slice], w2 * scale, (w2 * shift).sum() + out.bias.double()[0]


def _head_value(offset: torch.Tensor, slope: torch.Tensor, v: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """Head output in float64, ``(N,)``, from the offset and slope (0 at the baseline) and :func:`_head`'s ``v, c``."""
    return torch.relu(offset + slope) @ v + c


@torch.no_grad()
def tf_attr(
    module: PeaksTF2GeneExpressionPoisson,
    inputs: GeneInputs,
    *,
    method: Literal["captum", "exact"] = "captum",
    n_steps: int = 100,
    multiply_by_inputs: bool = True,
    batch_size: int | None = None,
    device: str | torch.device = "auto",
    progress: Progress | None = None,
) -> Attribution:
    """Attribute the gene's predicted log rate to its TFs' expression, per metacell.

    Parameters
    ----------
    module
        The gene's model, in eval mode (a module in train mode is refused).
    inputs
        The gene's inputs from :func:`~cell2net_core.data.gene_inputs`.
    method
        ``"captum"`` (Integrated Gradients, ``n_steps`` Gauss-Legendre points) or
        ``"exact"`` (closed-form integral, no quadrature error).
    n_steps
        Integration steps of the captum method.
    multiply_by_inputs
        Multiply the path-averaged gradient by ``tf_exp - 0`` (the tutorial's choice).
    batch_size
        Metacells per batch (a captum batch runs ``n_steps`` points through the head); by
        default :func:`default_batch_size`. Batched and unbatched results agree.
    device
        ``"auto"`` (CUDA when present), ``"cpu"`` or ``"cuda"``.
    progress
        Called as ``progress(done, total)`` after each batch of metacells.

    Examples
    --------
    >>> from cell2net_core.data import gene_inputs
    >>> from cell2net_core.testing import random_dataset, random_model
    >>> inputs = gene_inputs(random_dataset(n_metacells=12), "GENE0")
    >>> res = tf_attr(random_model(inputs), inputs, method="exact", device="cpu")
    >>> res.attr.shape == (12, inputs.n_tfs)
    True
    """
    batch_size = _check(module, inputs, method=method, n_steps=n_steps, batch_size=batch_size)
    dev = resolve_device(device)
    if next(module.parameters()).device != dev:  # .to() walks every submodule even when there is nothing to move
        module = module.to(dev)
    with full_precision():
        before, tf_exp, after = _head_parts(module, inputs, dev)
        offset = _offset(module, before, after)
        options = {"multiply_by_inputs": multiply_by_inputs, "batch_size": batch_size, "progress": progress}
        share = _captum_share(n_steps, offset.device) if method == "captum" else _exact_share
        tf_exp = tf_exp.double()
        w_tf, v, c = _head(module)
        slope = tf_exp @ w_tf.T  # computed once: for the integral and for f(x)
        attr = _integrate(offset, tf_exp, slope, w_tf, v, share, **options)
        delta = _head_value(offset, slope, v, c) - _head_value(offset, torch.zeros_like(slope), v, c)
    stored = attr.float()  # as stored: float32
    bad = int((~torch.isfinite(stored)).sum())
    if bad:
        msg = (
            f"Gene {inputs.gene!r}: {bad} of {attr.numel()} attributions are NaN or infinite (the model's output "
            "overflows on these inputs); nothing is stored for this gene: check its checkpoint and counts."
        )
        raise Cell2NetInputError(msg)
    total = attr if multiply_by_inputs else attr * tf_exp
    gap = total.sum(dim=1) - delta
    return Attribution(
        gene=inputs.gene,
        attr=stored.cpu().numpy(),
        gap=gap.cpu().numpy(),
        delta=delta.cpu().numpy(),
        tfs=list(inputs.tfs),
        obs_names=list(inputs.obs_names),
        method=method,
        n_steps=n_steps if method == "captum" else None,
    )


def default_batch_size(module: PeaksTF2GeneExpressionPoisson, *, method: str, n_steps: int) -> int:
    """Metacells per batch: 4096 for either method (a metacell holds one value per hidden unit, whatever ``n_steps``).

    Examples
    --------
    >>> from cell2net_core.testing import random_dataset, random_model
    >>> from cell2net_core.data import gene_inputs
    >>> module = random_model(gene_inputs(random_dataset(n_metacells=8), "GENE0"))
    >>> default_batch_size(module, method="exact", n_steps=100)
    4096
    """
    return _BATCH


def _check(
    module: PeaksTF2GeneExpressionPoisson, inputs: GeneInputs, *, method: str, n_steps: int, batch_size: int | None
) -> int:
    """Refuse what cannot give meaningful attributions; returns the batch size to use."""
    if module.training:
        msg = (
            "The module is in train mode: BatchNorm would use batch statistics (meaningless attributions) "
            "and overwrite its running statistics. Call module.eval() first."
        )
        raise Cell2NetInputError(msg)
    if method not in METHODS:
        msg = f"method {method!r} is not one of {METHODS}."
        raise Cell2NetInputError(msg)
    if batch_size is None:
        batch_size = default_batch_size(module, method=method, n_steps=n_steps)
    if not 1 <= n_steps <= MAX_N_STEPS or batch_size < 1:
        msg = f"n_steps ({n_steps}) must be 1 to {MAX_N_STEPS:,} and batch_size ({batch_size}) at least 1."
        raise Cell2NetInputError(msg)
    if module.n_tfs != inputs.n_tfs or module.n_peaks != inputs.n_peaks:
        msg = (
            f"Gene {inputs.gene!r}: the module has {module.n_peaks} peaks and {module.n_tfs} TFs, "
            f"the inputs {inputs.n_peaks} peaks and {inputs.n_tfs} TFs."
        )
        raise Cell2NetInputError(msg)
    return batch_size
