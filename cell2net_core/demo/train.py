"""Train one gene's ``PeaksTF2GeneExpressionPoisson`` the way ``cell2net`` does.

Poisson negative log-likelihood on the log-rate output, Adam with weight decay,
gradients clipped to norm 1, learning rate reduced on a validation plateau, and the
state of the epoch with the best validation Spearman correlation kept. The gene's
sequences are encoded once per batch (:meth:`forward_shared`), not once per metacell.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import mudata as md
import numpy as np
import pandas as pd
import torch
from scipy.stats import spearmanr

from ..data import DEFAULT_COVARIATES, GeneInputs, gene_inputs
from ..errors import Cell2NetInputError
from ..model import PeaksTF2GeneExpressionPoisson, build_model, resolve_device, to_tensors

__all__ = ["TrainResult", "train", "train_inputs", "DEFAULT_EPOCHS"]

DEFAULT_EPOCHS = 20
Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class TrainResult:
    """A trained gene model and its record.

    Attributes
    ----------
    gene
        Target gene.
    module
        The module in eval mode, holding the best epoch's weights.
    history
        One row per epoch: ``epochs, train_loss, valid_loss, train_corr, valid_corr``.
    results
        ``true, pred, data`` at the best epoch (``pred`` in counts, ``data`` train or valid).
    best_epoch, best_valid_corr
        Epoch (from 0) with the best validation Spearman correlation, and that correlation.
    seconds
        Wall time of the training.
    """

    gene: str
    module: PeaksTF2GeneExpressionPoisson
    history: pd.DataFrame
    results: pd.DataFrame
    best_epoch: int
    best_valid_corr: float
    seconds: float


def _spearman(true: np.ndarray, pred: np.ndarray) -> float:
    if np.ptp(true) == 0 or np.ptp(pred) == 0:
        return float("nan")
    return float(spearmanr(true, pred).statistic)


def _check_options(n: int, *, max_epochs: int, batch_size: int, lr: float, train_size: float) -> None:
    if max_epochs < 1:
        msg = f"max_epochs={max_epochs}; give at least 1."
        raise Cell2NetInputError(msg)
    if batch_size < 2:
        msg = f"batch_size={batch_size}; give at least 2 (batch norm needs two metacells)."
        raise Cell2NetInputError(msg)
    if not lr > 0:
        msg = f"lr={lr}; give a positive learning rate."
        raise Cell2NetInputError(msg)
    if not 0 < train_size < 1:
        msg = f"train_size={train_size}; give a share between 0 and 1, e.g. 0.8."
        raise Cell2NetInputError(msg)
    n_train = int(round(train_size * n))
    if n_train < 2 or n - n_train < 2:
        msg = f"{n} metacells with train_size={train_size} leave fewer than 2 for training or validation."
        raise Cell2NetInputError(msg)


def _split(n: int, train_size: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted training and validation metacell indices of a seeded random split."""
    order = np.random.default_rng(seed).permutation(n)
    n_train = int(round(train_size * n))
    return np.sort(order[:n_train]), np.sort(order[n_train:])


def _init_training(
    inputs: GeneInputs, train_idx: np.ndarray, device: torch.device, *, lr: float, weight_decay: float
) -> tuple[
    PeaksTF2GeneExpressionPoisson,
    torch.nn.PoissonNLLLoss,
    torch.optim.Adam,
    torch.optim.lr_scheduler.ReduceLROnPlateau,
]:
    """A new module (output bias at the mean training log rate), its loss, optimiser and LR scheduler."""
    module = build_model(inputs).to(device)
    with torch.no_grad():  # start at the mean log rate instead of exp(0) = 1 count
        module.fc[-1].bias.fill_(float(np.log(max(inputs.target[train_idx].mean(), 1e-3))))
    loss_fn = torch.nn.PoissonNLLLoss(log_input=True)
    optimizer = torch.optim.Adam(module.parameters(), lr=lr, weight_decay=weight_decay)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, "max", min_lr=1e-6, patience=5)
    return module, loss_fn, optimizer, scheduler


def _forward(module: PeaksTF2GeneExpressionPoisson, t: dict[str, torch.Tensor], idx: torch.Tensor) -> torch.Tensor:
    """Log-rate output for the metacells ``idx``, the gene's sequences encoded once."""
    return module.forward_shared(t["peak_seq"], t["peak_acc"][idx], t["peak_dist"], t["tf_exp"][idx],
                                 t["covariates"][idx]).view(-1)  # fmt: skip


def _train_epoch(
    module: PeaksTF2GeneExpressionPoisson,
    t: dict[str, torch.Tensor],
    target: torch.Tensor,
    train_idx: np.ndarray,
    *,
    batch: int,
    gen: torch.Generator,
    loss_fn: torch.nn.PoissonNLLLoss,
    optimizer: torch.optim.Optimizer,
    device: torch.device,
) -> tuple[float, np.ndarray, np.ndarray]:
    """One pass over shuffled full batches; returns the mean loss, the true counts and the log-rate outputs."""
    module.train()
    n_train = len(train_idx)
    perm = torch.as_tensor(train_idx)[torch.randperm(n_train, generator=gen)]
    perm = perm[: n_train - n_train % batch]  # drop the last partial batch, as cell2net does
    train_loss, true_parts, pred_parts = 0.0, [], []
    for idx in perm.split(batch):
        idx = idx.to(device)
        out = _forward(module, t, idx)
        loss = loss_fn(out, target[idx])
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(module.parameters(), max_norm=1.0)
        optimizer.step()
        train_loss += loss.item()
        true_parts.append(target[idx].cpu().numpy())
        pred_parts.append(out.detach().cpu().numpy())
    train_loss /= max(len(true_parts), 1)
    return train_loss, np.concatenate(true_parts), np.concatenate(pred_parts)


def _validate(
    module: PeaksTF2GeneExpressionPoisson,
    t: dict[str, torch.Tensor],
    target: torch.Tensor,
    valid_idx: np.ndarray,
    *,
    loss_fn: torch.nn.PoissonNLLLoss,
    device: torch.device,
) -> tuple[float, np.ndarray]:
    """Validation loss and log-rate outputs, in eval mode without gradients."""
    module.eval()
    with torch.no_grad():
        vidx = torch.as_tensor(valid_idx, device=device)
        out = _forward(module, t, vidx)
        valid_loss = loss_fn(out, target[vidx]).item()
    return valid_loss, out.cpu().numpy()


def _results_frame(
    train_true: np.ndarray, train_pred: np.ndarray, valid_true: np.ndarray, valid_pred: np.ndarray
) -> pd.DataFrame:
    """``true, pred, data`` rows of one epoch, ``pred`` converted from log rate to counts."""
    return pd.DataFrame({
        "true": np.concatenate([train_true, valid_true]).astype(np.float64),
        "pred": np.exp(np.concatenate([train_pred, valid_pred])).astype(np.float64),
        "data": ["train"] * len(train_true) + ["valid"] * len(valid_true),
    })  # fmt: skip


def train(
    mdata: md.MuData,
    gene: str,
    *,
    covariates: Sequence[str] = DEFAULT_COVARIATES,
    max_epochs: int = DEFAULT_EPOCHS,
    batch_size: int = 128,
    lr: float = 3e-4,
    weight_decay: float = 1e-4,
    train_size: float = 0.8,
    seed: int = 0,
    device: str | torch.device = "auto",
    progress: Progress | None = None,
) -> TrainResult:
    """Train the model of one gene on a prepared dataset.

    Parameters
    ----------
    mdata
        A dataset from :func:`~cell2net_core.data.read_dataset`.
    gene
        Target gene (needs linked peaks and candidate TFs).
    covariates
        ``obs`` columns fed to the model, in order.
    max_epochs, batch_size, lr, weight_decay
        Optimisation (Adam); the learning rate falls tenfold after 5 epochs without progress.
    train_size
        Share of metacells used for training (random split); the rest validates.
    seed
        Seeds the split, the initial weights, the batch order and dropout.
    device
        ``"auto"``, ``"cpu"`` or ``"cuda"``.
    progress
        Called as ``progress(fraction, message)`` after each epoch.

    Returns
    -------
    :class:`TrainResult`; save it with ``save_checkpoint(r.module, path, history=r.history, results=r.results)``.

    Examples
    --------
    >>> r = train(mdata, "MS4A1", max_epochs=5)  # doctest: +SKIP
    >>> r.best_valid_corr > 0.5  # doctest: +SKIP
    True
    """
    inputs = gene_inputs(mdata, gene, covariates=covariates)
    return train_inputs(
        inputs, max_epochs=max_epochs, batch_size=batch_size, lr=lr, weight_decay=weight_decay,
        train_size=train_size, seed=seed, device=device, progress=progress,
    )  # fmt: skip


def train_inputs(
    inputs: GeneInputs,
    *,
    max_epochs: int = DEFAULT_EPOCHS,
    batch_size: int = 128,
    lr: float = 3e-4,
    weight_decay: float = 1e-4,
    train_size: float = 0.8,
    seed: int = 0,
    device: str | torch.device = "auto",
    progress: Progress | None = None,
) -> TrainResult:
    """:func:`train` on inputs already built with :func:`~cell2net_core.data.gene_inputs`."""
    n = inputs.n_metacells
    _check_options(n, max_epochs=max_epochs, batch_size=batch_size, lr=lr, train_size=train_size)
    start = time.perf_counter()
    dev = resolve_device(device)
    torch.manual_seed(seed)
    train_idx, valid_idx = _split(n, train_size, seed)
    t = to_tensors(inputs, dev)
    target = torch.as_tensor(inputs.target, dtype=torch.float32, device=dev)
    module, loss_fn, optimizer, scheduler = _init_training(inputs, train_idx, dev, lr=lr, weight_decay=weight_decay)
    gen = torch.Generator().manual_seed(seed)
    batch = min(batch_size, len(train_idx))

    rows, best = [], {"corr": -np.inf, "epoch": 0, "state": None, "results": None}
    for epoch in range(max_epochs):
        train_loss, train_true, train_pred = _train_epoch(
            module, t, target, train_idx, batch=batch, gen=gen, loss_fn=loss_fn, optimizer=optimizer, device=dev
        )
        valid_loss, valid_pred = _validate(module, t, target, valid_idx, loss_fn=loss_fn, device=dev)
        valid_true = inputs.target[valid_idx]
        train_corr, valid_corr = _spearman(train_true, train_pred), _spearman(valid_true, valid_pred)
        rows.append((epoch, train_loss, valid_loss, train_corr, valid_corr))
        if valid_corr > best["corr"]:
            best.update(corr=valid_corr, epoch=epoch, state=copy.deepcopy(module.state_dict()))
            best["results"] = _results_frame(train_true, train_pred, valid_true, valid_pred)
        scheduler.step(valid_corr if np.isfinite(valid_corr) else -1.0)
        if progress is not None:
            progress(
                (epoch + 1) / max_epochs, f"{inputs.gene}: epoch {epoch + 1}/{max_epochs}, valid r={valid_corr:.3f}"
            )

    if best["state"] is not None:
        module.load_state_dict(best["state"])
    history = pd.DataFrame(rows, columns=["epochs", "train_loss", "valid_loss", "train_corr", "valid_corr"])
    results = best["results"] if best["results"] is not None else pd.DataFrame(columns=["true", "pred", "data"])
    return TrainResult(
        gene=inputs.gene, module=module.eval(), history=history, results=results,
        best_epoch=int(best["epoch"]), best_valid_corr=float(best["corr"]), seconds=time.perf_counter() - start,
    )  # fmt: skip

