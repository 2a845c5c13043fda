"""Our implementation of cell2net's ``PeaksTF2GeneExpressionPoisson`` and its checkpoint format.

The parameter names match the published package, so a ``<GENE>.pt`` written by
``cell2net`` 0.13 loads unchanged, and a file we write loads in ``cell2net``.
"""

from __future__ import annotations

import contextlib
import io
import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from .data import PEAK_LEN, GeneInputs
from .errors import Cell2NetInputError
from .files import atomic_write

__all__ = [
    "PeaksTF2GeneExpressionPoisson",
    "resolve_device",
    "device_label",
    "build_model",
    "load_checkpoint",
    "ModulePool",
    "save_checkpoint",
    "predict",
    "full_precision",
    "one_torch_thread",
]

N_FILTERS: tuple[int, ...] = (64, 32, 32, 16)
_PRECISION_LOCK = threading.Lock()
_PRECISION_USERS: list[tuple[bool, bool] | None] = []  # saved flags, then one entry per open block


class SeqEncoder(nn.Module):
    """Convolutions over each peak's one-hot sequence, shared by all peaks."""

    def __init__(self, n_channels: int = 4, kernel_size: int = 5, n_filters: Sequence[int] = N_FILTERS) -> None:
        super().__init__()
        dims = [*n_filters, n_filters[-1]]
        self.stem_conv = nn.Sequential(
            nn.Conv2d(n_channels, dims[0], kernel_size=(1, kernel_size), padding="same"), nn.ELU()
        )
        tower: list[nn.Module] = []
        for c_in, c_out in zip(dims[:-1], dims[1:], strict=True):
            tower.append(
                nn.Sequential(
                    nn.Conv2d(c_in, c_out, kernel_size=(1, 3), padding=(0, 1)),
                    nn.BatchNorm2d(c_out),
                    nn.ELU(),
                    nn.MaxPool2d(kernel_size=(1, 2), stride=(1, 2)),
                )
            )
            tower.append(nn.Sequential(nn.Conv2d(c_out, c_out, kernel_size=(1, 1)), nn.ELU()))
        self.conv_tower = nn.ModuleList(tower)

    def forward(self, peak_seq: torch.Tensor) -> torch.Tensor:
        """``(B, P, L, 4)`` one-hot -> ``(B, P, C * L / 16)`` embedding."""
        x = self.stem_conv(peak_seq.permute(0, 3, 1, 2).contiguous())
        pairs = _inference(self)
        for i in range(0, len(self.conv_tower), 2):
            conv, norm, act, pool = self.conv_tower[i]
            x = act(norm(conv(x)))
            x = _max_of_pairs(x) if pairs else pool(x)
            x = self.conv_tower[i + 1](x) + x
        return torch.flatten(x.permute(0, 2, 1, 3), start_dim=2)


def _inference(module: nn.Module) -> bool:
    """Eval mode without gradients: where the faster forms that keep nothing for a backward pass apply."""
    return not (module.training or torch.is_grad_enabled())


def _max_of_pairs(x: torch.Tensor) -> torch.Tensor:
    """``MaxPool2d((1, 2), stride=(1, 2))`` of ``(B, C, P, L)`` as the larger of each pair of positions.

    The same numbers (a maximum rounds nothing), about 6x faster on a CPU without the argmax indices
    that pooling keeps for a backward pass; used without gradients in eval mode. An odd last
    position is dropped, as there.
    """
    n, c, p, length = x.shape
    return x[..., : length // 2 * 2].reshape(n, c, p, length // 2, 2).amax(-1)


class AttentionBlock(nn.Module):
    """Pre-norm transformer block over the peaks of one gene."""

    def __init__(self, n_dims: int = 16, n_heads: int = 4, dropout_rate: float = 0.1) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(n_dims)
        self.attn = nn.MultiheadAttention(n_dims, n_heads, batch_first=True)
        self.ln_2 = nn.LayerNorm(n_dims)
        self.mlpf = nn.Sequential(
            nn.Linear(n_dims, 4 * n_dims), nn.Linear(4 * n_dims, n_dims), nn.ReLU(), nn.Dropout(dropout_rate)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, P, D)`` -> ``(B, P, D)``."""
        x = x + self.self_attention(self.ln_1(x))
        return x + self.feed_forward(self.ln_2(x))

    def feed_forward(self, h: torch.Tensor) -> torch.Tensor:
        """``self.mlpf(h)``: cell2net's two linear layers have no activation between them, so without
        gradients in eval mode they run as one (``W2 W1``, ``W2 b1 + b2``): a quarter of the multiply-adds
        for 16 -> 64 -> 16; float32 rounding differs (within 1e-6 of the largest value, tested)."""
        if not _inference(self):
            return self.mlpf(h)
        first, second = self.mlpf[0], self.mlpf[1]
        weight, bias = second.weight @ first.weight, second.weight @ first.bias + second.bias
        return torch.relu(F.linear(h, weight, bias))  # then Dropout: nothing in eval mode

    def self_attention(self, h: torch.Tensor) -> torch.Tensor:
        """``self.attn(h, h, h)`` through ``scaled_dot_product_attention``, or :func:`_attend_batch_last`.

        The same function, two to five times as fast on a CPU for many short sequences (one per
        metacell, one token per peak); float32 rounding differs (within 1e-6 of the largest value, tested).
        Without gradients, in eval mode and for up to :data:`BATCH_LAST_TOKENS` peaks, the batch-last
        form; else PyTorch's fused kernel (memory-efficient for long sequences, with dropout and autograd).
        """
        attn = self.attn
        n, length, dims = h.shape
        heads = attn.num_heads
        qkv = F.linear(h, attn.in_proj_weight, attn.in_proj_bias).view(n, length, 3, heads, dims // heads)
        if _inference(self) and length <= BATCH_LAST_TOKENS:
            out = _attend_batch_last(qkv)
        else:
            q, k, v = qkv.permute(2, 0, 3, 1, 4)
            drop = attn.dropout if self.training else 0.0
            out = F.scaled_dot_product_attention(q, k, v, dropout_p=drop).transpose(1, 2).reshape(n, length, dims)
        return F.linear(out, attn.out_proj.weight, attn.out_proj.bias)


#: Longest sequence (peaks of a gene) that :meth:`AttentionBlock.self_attention` runs batch-last.
BATCH_LAST_TOKENS = 32


def _attend_batch_last(qkv: torch.Tensor) -> torch.Tensor:
    """Softmax attention of ``qkv`` ``(B, L, 3, H, d)`` -> ``(B, L, H * d)``, the batch as the innermost axis.

    With one short sequence per metacell (``L`` peaks, ``d`` = 4 dimensions per head), a matrix
    product per metacell and head is tiny; laid out ``(H, L, d, B)``, the scores and the weighted sum
    are ``d`` and ``L`` multiply-adds of whole contiguous rows over the batch instead.
    """
    n, length, _, heads, d = qkv.shape
    q, k, v = qkv.permute(2, 3, 1, 4, 0).contiguous()  # each (H, L, d, B)
    q = q * d**-0.5
    scores = q[:, :, None, 0] * k[:, None, :, 0]  # (H, L queries, L keys, B)
    for j in range(1, d):
        scores.addcmul_(q[:, :, None, j], k[:, None, :, j])
    weights = torch.softmax(scores, dim=2)
    out = weights[:, :, 0, None] * v[:, None, 0]  # (H, L, d, B)
    for j in range(1, length):
        out.addcmul_(weights[:, :, j, None], v[:, None, j])
    return out.permute(3, 1, 0, 2).reshape(n, length, heads * d)


class PeaksTF2GeneExpressionPoisson(nn.Module):
    """Predict a gene's log Poisson rate from its peaks, its TFs' expression and covariates.

    Parameters
    ----------
    n_peaks, n_tfs, n_covariates
        Input sizes of the gene.
    peak_len
        Sequence length of each peak (256).
    n_filters, n_channels, kernel_size, n_dims, dropout_rate
        Architecture, cell2net's defaults.

    Examples
    --------
    >>> m = PeaksTF2GeneExpressionPoisson(n_peaks=3, n_tfs=5, n_covariates=2)
    >>> m.fc[0].in_features
    58
    """

    def __init__(
        self,
        n_peaks: int,
        n_tfs: int,
        n_covariates: int,
        *,
        peak_len: int = PEAK_LEN,
        n_filters: Sequence[int] = N_FILTERS,
        n_channels: int = 4,
        kernel_size: int = 5,
        n_dims: int = 16,
        dropout_rate: float = 0.25,
    ) -> None:
        super().__init__()
        self.n_peaks, self.n_tfs, self.n_covariates = n_peaks, n_tfs, n_covariates
        self.peak_len, self.n_dims = peak_len, n_dims
        self.n_filters, self.n_channels = list(n_filters), n_channels
        self.seq_encoder = SeqEncoder(n_channels, kernel_size, n_filters)
        embd_len = peak_len // 2 ** len(n_filters)
        self.merge_seq_atac = nn.Sequential(
            nn.Conv1d(embd_len * n_filters[-1] + 1, 126, kernel_size=1),
            nn.ReLU(),
            nn.Conv1d(126, n_dims, kernel_size=1),
            nn.ReLU(),
        )
        self.attn_blocks = nn.ModuleList([AttentionBlock(n_dims)])
        self.fc = nn.Sequential(
            nn.Linear(n_peaks * (n_dims + 1) + n_tfs + n_covariates, 32),
            nn.ReLU(),
            nn.BatchNorm1d(32),
            nn.Dropout(dropout_rate),
            nn.Linear(32, 1),
        )

    @property
    def tf_slice(self) -> slice:
        """Columns of the head's input that hold ``tf_exp``."""
        start = self.n_peaks * (self.n_dims + 1)
        return slice(start, start + self.n_tfs)

    def embed_peaks(self, seq_embd: torch.Tensor, peak_acc: torch.Tensor) -> torch.Tensor:
        """Merge sequence embeddings ``(1 or B, P, E)`` with accessibility ``(B, P)`` -> ``(B, P * D)``."""
        seq_embd = seq_embd.expand(peak_acc.shape[0], -1, -1)
        x = torch.cat([seq_embd, peak_acc.unsqueeze(-1)], dim=-1)
        x = self.merge_seq_atac(x.permute(0, 2, 1)).permute(0, 2, 1)
        for block in self.attn_blocks:
            x = block(x)
        return torch.flatten(x, start_dim=1)

    def split_merge(self, seq_embd: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The first merge convolution (kernel 1, so linear) split for sequences shared by every metacell.

        Returns its sequence part with the bias, ``(P, 126)``, computed once, and the weights of
        the accessibility channel ``(126,)``: a metacell's pre-activation is ``seq_part + acc * w_acc``,
        ``P * 126`` multiply-adds instead of ``P * (E + 1) * 126`` (``E`` = 256 sequence features).
        """
        conv = self.merge_seq_atac[0]
        w = conv.weight[:, :, 0]  # (126, E + 1); the last input channel is accessibility
        return seq_embd[0] @ w[:, :-1].T + conv.bias, w[:, -1]

    def embed_split(self, split: tuple[torch.Tensor, torch.Tensor], peak_acc: torch.Tensor) -> torch.Tensor:
        """:meth:`embed_peaks` from :meth:`split_merge`'s parts: accessibility ``(B, P)`` -> ``(B, P * D)``.

        The same function as :meth:`embed_peaks` of the shared sequences; float32 sums in another
        order, so values agree to rounding (within 1e-6 relative), not to the bit.
        """
        seq_part, w_acc = split
        h = (peak_acc.reshape(-1, 1) @ w_acc.reshape(1, -1)).view(*peak_acc.shape, -1).add_(seq_part).relu_()
        conv = self.merge_seq_atac[2]  # kernel 1: a linear map of each peak's features
        h = torch.relu(F.linear(h, conv.weight[:, :, 0], conv.bias))
        for block in self.attn_blocks:
            h = block(h)
        return h.flatten(1)

    def head_input(
        self, peak_embd: torch.Tensor, peak_dist: torch.Tensor, tf_exp: torch.Tensor, covariates: torch.Tensor
    ) -> torch.Tensor:
        """Concatenate what the head reads: ``(B, 17P + T + C)``; ``peak_dist`` may be ``(P,)``."""
        n = tf_exp.shape[0]
        peak_dist = peak_dist.reshape(-1, self.n_peaks).expand(n, -1)
        return torch.cat([peak_embd.expand(n, -1), peak_dist, tf_exp, covariates.reshape(n, -1)], dim=1)

    def forward_shared(
        self,
        peak_seq: torch.Tensor,
        peak_acc: torch.Tensor,
        peak_dist: torch.Tensor,
        tf_exp: torch.Tensor,
        covariates: torch.Tensor,
    ) -> torch.Tensor:
        """Forward with the gene's sequences ``(P, L, 4)`` encoded, and merged, once for the whole batch
        (:meth:`split_merge`); :meth:`forward` is cell2net's computation, per metacell."""
        split = self.split_merge(self.seq_encoder(peak_seq.unsqueeze(0)))
        return self.fc(self.head_input(self.embed_split(split, peak_acc), peak_dist, tf_exp, covariates))

    def forward(
        self,
        peak_seq: torch.Tensor,
        peak_acc: torch.Tensor,
        peak_dist: torch.Tensor,
        tf_exp: torch.Tensor,
        covariates: torch.Tensor,
    ) -> torch.Tensor:
        """cell2net's forward: per-metacell ``peak_seq`` ``(B, P, L, 4)``; returns log rate ``(B, 1)``."""
        embd = self.embed_peaks(self.seq_encoder(peak_seq), peak_acc)
        return self.fc(self.head_input(embd, peak_dist, tf_exp, covariates))

    def summary(self) -> dict[str, Any]:
        """cell2net's ``module_summary`` dict."""
        return {
            "n_peaks": self.n_peaks,
            "peak_len": self.peak_len,
            "n_tfs": self.n_tfs,
            "n_covariates": self.n_covariates,
            "n_filters": list(self.n_filters),
            "n_channels": self.n_channels,
            "n_dims": self.n_dims,
        }


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU; ``"cuda"`` without a GPU is an input error."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        msg = f"device {device!r} asked for, but no CUDA GPU is available here; use 'auto' or 'cpu'."
        raise Cell2NetInputError(msg)
    if device != "cpu" and not device.startswith("cuda"):
        msg = f"device {device!r} is not one of 'auto', 'cpu', 'cuda'."
        raise Cell2NetInputError(msg)
    return torch.device(device)


def device_label(device: str | torch.device = "auto") -> str:
    """Human-readable name of the device, e.g. ``"CPU"`` or ``"GPU: NVIDIA H100"``."""
    dev = resolve_device(device)
    if dev.type == "cuda":
        return f"GPU: {torch.cuda.get_device_name(dev)}"
    return "CPU"


def build_model(inputs: GeneInputs) -> PeaksTF2GeneExpressionPoisson:
    """A new (untrained) module sized for one gene's inputs."""
    return PeaksTF2GeneExpressionPoisson(inputs.n_peaks, inputs.n_tfs, len(inputs.covariate_names))


def _read_checkpoint(path: Path) -> dict[str, Any]:
    if not path.is_file():
        msg = f"No checkpoint {str(path)!r}: gene {path.stem!r} has no trained model in {str(path.parent)!r}."
        raise Cell2NetInputError(msg)
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # pickle, zip and torch raise many types
        msg = f"Cannot read checkpoint {str(path)!r} with torch.load(weights_only=True): {type(e).__name__}: {e}"
        raise Cell2NetInputError(msg) from e
    if not isinstance(ckpt, dict) or "model_state_dict" not in ckpt:
        keys = list(ckpt) if isinstance(ckpt, dict) else type(ckpt).__name__
        msg = f"Checkpoint {str(path)!r} lacks key 'model_state_dict' (found {keys}); expected a cell2net <GENE>.pt."
        raise Cell2NetInputError(msg)
    return ckpt


def load_checkpoint(
    path: str | os.PathLike, inputs: GeneInputs, *, device: str | torch.device = "auto"
) -> PeaksTF2GeneExpressionPoisson:
    """Load a cell2net ``<GENE>.pt`` for one gene's inputs, in eval mode.

    Raises :class:`Cell2NetInputError` naming both numbers when the file and the
    dataset disagree on peaks, TFs or covariates.

    Parameters
    ----------
    path
        The checkpoint, read with ``torch.load(weights_only=True)`` only.
    inputs
        The gene's inputs (:func:`~cell2net_core.data.gene_inputs`), to check the sizes.
    device
        ``"auto"`` (CUDA when present), ``"cpu"`` or ``"cuda"``.

    Examples
    --------
    >>> import tempfile
    >>> from cell2net_core.data import gene_inputs
    >>> from cell2net_core.testing import random_dataset, random_model
    >>> x = gene_inputs(random_dataset(n_metacells=8), "GENE0")
    >>> path = save_checkpoint(random_model(x), f"{tempfile.mkdtemp()}/GENE0.pt")
    >>> load_checkpoint(path, x, device="cpu").training
    False
    """
    path = Path(path)
    ckpt = _read_checkpoint(path)
    state = _check_sizes(path, ckpt, inputs)
    return _fill(build_model(inputs), state, path, inputs).to(resolve_device(device)).eval()


def _check_sizes(path: Path, ckpt: dict[str, Any], inputs: GeneInputs) -> dict[str, torch.Tensor]:
    """The checkpoint's state dict, once checked and its recorded sizes agree with the gene's inputs."""
    state, summary = _checked_parts(ckpt, path)
    expected = {"n_peaks": inputs.n_peaks, "n_tfs": inputs.n_tfs, "n_covariates": len(inputs.covariate_names)}
    for key, want in expected.items():
        got = summary.get(key)
        if got is not None and got != want:
            msg = (
                f"Checkpoint {str(path)!r} was trained with {key}={got}, but the dataset gives gene "
                f"{inputs.gene!r} {key}={want}: use the .h5mu and covariates the model was trained on."
            )
            raise Cell2NetInputError(msg)
    return state


def _fill(
    module: PeaksTF2GeneExpressionPoisson, state: dict[str, torch.Tensor], path: Path, inputs: GeneInputs
) -> PeaksTF2GeneExpressionPoisson:
    """Copy the checked weights into ``module`` (sized for ``inputs``)."""
    weight = state.get("fc.0.weight")
    if weight is not None and tuple(weight.shape) != tuple(module.fc[0].weight.shape):
        msg = (
            f"Checkpoint {str(path)!r}: head input size {weight.shape[-1]} does not match gene "
            f"{inputs.gene!r} in the dataset ({module.fc[0].in_features} = 17 x {inputs.n_peaks} peaks "
            f"+ {inputs.n_tfs} TFs + {len(inputs.covariate_names)} covariates)."
        )
        raise Cell2NetInputError(msg)
    own = module.__dict__.get("_c2n_own")  # the module's parameters and buffers by name, found once per module
    if own is None:
        own = module.__dict__["_c2n_own"] = module.state_dict(keep_vars=True)
    if own.keys() == state.keys() and all(own[k].shape == v.shape for k, v in state.items()):
        with torch.no_grad():  # what load_state_dict does once its checks pass, without its per-key hooks
            torch._foreach_copy_(list(own.values()), [state[k] for k in own])
        return module
    try:
        module.load_state_dict(state)  # raises, naming the missing, unexpected or mis-sized keys
    except RuntimeError as e:
        msg = f"Checkpoint {str(path)!r} does not fit the cell2net architecture: {e}"
        raise Cell2NetInputError(msg) from e
    return module


class ModulePool:
    """Load checkpoints into modules kept per shape, instead of building a new module per gene.

    Genes with the same numbers of peaks, TFs and covariates share one module: loading a
    checkpoint copies its weights in (``load_state_dict``), so the numbers are those of
    :func:`load_checkpoint`. Not thread-safe: give each thread or worker its own pool, and
    use a module only until the next :meth:`load` of the same shape.

    Parameters
    ----------
    device
        ``"auto"`` (CUDA when present), ``"cpu"`` or ``"cuda"``.

    Examples
    --------
    >>> import tempfile
    >>> from cell2net_core.data import gene_inputs
    >>> from cell2net_core.testing import random_dataset, random_model
    >>> x, work = gene_inputs(random_dataset(n_metacells=8), "GENE0"), tempfile.mkdtemp()
    >>> a = save_checkpoint(random_model(x, seed=0), f"{work}/A.pt")
    >>> b = save_checkpoint(random_model(x, seed=1), f"{work}/B.pt")
    >>> pool = ModulePool(device="cpu")
    >>> pool.load(a, x) is pool.load(b, x), len(pool)
    (True, 1)
    """

    def __init__(self, *, device: str | torch.device = "auto") -> None:
        self.device = resolve_device(device)
        self._modules: dict[tuple[int, int, int], PeaksTF2GeneExpressionPoisson] = {}

    def __len__(self) -> int:
        return len(self._modules)

    def load(self, path: str | os.PathLike, inputs: GeneInputs) -> PeaksTF2GeneExpressionPoisson:
        """The checkpoint at ``path`` in the pool's module of its shape, in eval mode (as :func:`load_checkpoint`)."""
        path = Path(path)
        ckpt = _read_checkpoint(path)
        state = _check_sizes(path, ckpt, inputs)
        key = (inputs.n_peaks, inputs.n_tfs, len(inputs.covariate_names))
        module = self._modules.get(key)
        if module is None:
            module = build_model(inputs).to(self.device).eval()
            self._modules[key] = module
        module = _fill(module, state, path, inputs)
        return module.eval() if module.training else module  # eval() walks every submodule: only when needed


def _checked_parts(ckpt: dict[str, Any], path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The checkpoint's state dict (tensors, all finite) and ``module_summary`` (integers where sizes are)."""
    state = ckpt["model_state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        got = type(state).__name__ if not isinstance(state, dict) else "a dict holding non-tensors"
        msg = f"Checkpoint {str(path)!r}: 'model_state_dict' is {got}; expected a dict of tensors (Cell2Net.save)."
        raise Cell2NetInputError(msg)
    summary = ckpt.get("module_summary") or {}
    sizes = ("n_peaks", "n_tfs", "n_covariates")
    if not isinstance(summary, dict) or not all(
        isinstance(summary.get(k, 0), int) and not isinstance(summary.get(k, 0), bool) for k in sizes
    ):
        msg = (
            f"Checkpoint {str(path)!r}: 'module_summary' is {str(summary)[:80]!r}; expected a dict whose "
            f"{', '.join(sizes)} are integers (Cell2Net.save)."
        )
        raise Cell2NetInputError(msg)
    floats = [v for v in state.values() if v.is_floating_point() and v.numel()]
    # the largest |value| of each tensor, in one call (any float dtypes): NaN or inf when the tensor holds one
    all_finite = not floats or bool(torch.isfinite(torch.stack(torch._foreach_norm(floats, float("inf")))).all())
    bad = [] if all_finite else [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        msg = f"Checkpoint {str(path)!r} holds NaN or infinite weights in {bad[:3]}: the training diverged; retrain."
        raise Cell2NetInputError(msg)
    return state, summary


@contextlib.contextmanager
def one_torch_thread(device: str | torch.device = "auto") -> Iterator[None]:
    """On the CPU, torch's intra-op parallelism off for the calling thread inside the block, then restored.

    A gene's tensors are small (thousands of metacells x tens of features), so threads split each
    kernel into pieces too small to pay for waking them; on a machine where other work holds
    cores (a shared server), a kernel then waits for threads that are not scheduled (measured on
    this 2-core machine with another job running: one gene's attribution took 16 ms on one
    thread, 270 ms median on two). Genes run in parallel instead (:mod:`~cell2net_core.overlap`,
    Ray workers). The exact method's float32 sums also depend on the thread count: on one
    thread, stored numbers do not depend on the machine's core count or on ``--threads``.
    In torch's OpenMP build the count is each thread's own, so every block sets it for its
    thread and gives that thread its count back. A CUDA device leaves it alone.

    Examples
    --------
    >>> with one_torch_thread("cpu"):
    ...     torch.get_num_threads()
    1
    """
    if resolve_device(device).type != "cpu":
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@contextlib.contextmanager
def full_precision() -> Iterator[None]:
    """Turn TF32 off for CUDA convolutions (cuDNN) and matrix products inside the block, then restore.

    cuDNN convolutions default to TF32 on Ampere and newer GPUs (10-bit mantissa), which moved
    attributions by up to 2e-3 of the largest one; in float32 CUDA and CPU agree within 1e-5.
    Without a GPU this changes nothing.

    Examples
    --------
    >>> with full_precision():
    ...     torch.backends.cudnn.allow_tf32
    False
    """
    with _PRECISION_LOCK:  # the flags are global: the first block in saves them, the last one out restores
        if not _PRECISION_USERS:
            _PRECISION_USERS.append((torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32))
        _PRECISION_USERS.append(None)
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        with _PRECISION_LOCK:
            _PRECISION_USERS.pop()
            if len(_PRECISION_USERS) == 1:
                torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = _PRECISION_USERS.pop()


def _plain(table: pd.DataFrame | dict | None) -> dict:
    """DataFrame ``to_dict()`` output with only Python numbers, strings, lists and dicts."""
    if table is None:
        return {}
    if isinstance(table, pd.DataFrame):
        table = table.to_dict()

    def plain(x: Any) -> Any:
        return x.item() if hasattr(x, "item") else x

    return {str(col): {plain(k): plain(v) for k, v in vals.items()} for col, vals in table.items()}


def save_checkpoint(
    module: PeaksTF2GeneExpressionPoisson,
    path: str | os.PathLike,
    *,
    history: pd.DataFrame | dict | None = None,
    results: pd.DataFrame | dict | None = None,
) -> Path:
    """Write a checkpoint in cell2net's format, atomically (temporary file, then rename).

    Parameters
    ----------
    module
        The gene's model.
    path
        Where to write ``<GENE>.pt`` (folders are created).
    history, results
        Training history and the best epoch's predictions, stored as cell2net stores them.

    Examples
    --------
    >>> import tempfile
    >>> from cell2net_core.data import gene_inputs
    >>> from cell2net_core.testing import random_dataset, random_model
    >>> module = random_model(gene_inputs(random_dataset(n_metacells=8), "GENE0"))
    >>> save_checkpoint(module, f"{tempfile.mkdtemp()}/GENE0.pt").name
    'GENE0.pt'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "history": _plain(history),
        "model_state_dict": {k: v.detach().cpu() for k, v in module.state_dict().items()},
        "module_summary": module.summary(),
        "results": _plain(results),
    }
    buf = io.BytesIO()
    torch.save(payload, buf)
    return atomic_write(path, buf.getvalue())


def to_tensors(inputs: GeneInputs, device: torch.device) -> dict[str, torch.Tensor]:
    """The gene's input arrays as float32 tensors on ``device``."""
    names = ("peak_seq", "peak_acc", "peak_dist", "tf_exp", "covariates")
    return {n: torch.as_tensor(getattr(inputs, n), dtype=torch.float32, device=device) for n in names}


@torch.no_grad()
def peak_embedding(
    module: PeaksTF2GeneExpressionPoisson, peak_seq: torch.Tensor, peak_acc: torch.Tensor, *, batch_size: int = 1024
) -> torch.Tensor:
    """``(N, 16P)`` peak embeddings; the sequences are encoded, and merged, once for all metacells."""
    split = module.split_merge(module.seq_encoder(peak_seq.unsqueeze(0)))
    parts = [module.embed_split(split, peak_acc[i : i + batch_size]) for i in range(0, len(peak_acc), batch_size)]
    return torch.cat(parts)


@torch.no_grad()
def predict(module: PeaksTF2GeneExpressionPoisson, inputs: GeneInputs, *, batch_size: int = 1024) -> np.ndarray:
    """Predicted counts (``exp`` of the log rate), one per metacell, in eval mode.

    Parameters
    ----------
    module
        The gene's model, in eval mode.
    inputs
        The gene's inputs.
    batch_size
        Metacells per batch of the peak embedding.

    Examples
    --------
    >>> from cell2net_core.data import gene_inputs
    >>> from cell2net_core.testing import random_dataset, random_model
    >>> x = gene_inputs(random_dataset(n_metacells=8), "GENE0")
    >>> bool((predict(random_model(x), x) > 0).all())
    True
    """
    if module.training:
        msg = "predict needs the module in eval mode; call module.eval() first."
        raise Cell2NetInputError(msg)
    device = next(module.parameters()).device
    t = to_tensors(inputs, device)
    with full_precision():
        embd = peak_embedding(module, t["peak_seq"], t["peak_acc"], batch_size=batch_size)
        out = module.fc(module.head_input(embd, t["peak_dist"], t["tf_exp"], t["covariates"]))
    return out.exp().reshape(-1).cpu().numpy()
