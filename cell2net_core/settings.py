"""What defines one attribution computation, as one frozen object passed from the CLI and the app to the loop."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .aggregate import RANK_BY
from .errors import Cell2NetInputError

__all__ = ["Settings", "METHODS", "MAX_N_STEPS", "DEFAULT_COVARIATES"]

# Defined here, not beside the code that uses them (attribution, data), so that the settings and the
# app's forms import without torch, captum or mudata.
METHODS = ("captum", "exact")
#: Most captum integration steps accepted (Gauss-Legendre converges long before; checked before allocating).
MAX_N_STEPS = 10_000
DEFAULT_COVARIATES: tuple[str, ...] = ("total_counts_rna_log", "total_counts_atac_log")


@dataclass(frozen=True, kw_only=True)
class Settings:
    """How a gene's attributions are computed and aggregated; recorded in ``<GENE>.json``.

    Parameters
    ----------
    method
        ``"captum"`` (the tutorial's Integrated Gradients) or ``"exact"`` (closed-form path integral).
    n_steps
        Integration steps of the captum method.
    multiply_by_inputs
        Multiply the path-averaged gradient by the TF expression (the tutorial's choice).
    groupby
        ``obs`` column the TF -> gene table is aggregated by.
    n_tfs
        TFs kept per group, or ``None`` for all.
    rank_by
        ``"mean"`` (the tutorial's rule) or ``"abs"`` (largest ``|mean|``, keeps repressors).
    covariates
        ``obs`` columns fed to the model, in the order used in training.
    device
        ``"auto"`` (CUDA when present), ``"cpu"`` or ``"cuda"``.

    Examples
    --------
    >>> s = Settings(method="exact", n_tfs=5)
    >>> s.replace(groupby="cell_type").groupby
    'cell_type'
    >>> Settings(n_steps=0)
    Traceback (most recent call last):
    ...
    cell2net_core.errors.Cell2NetInputError: n_steps must be 1 to 10,000 (Gauss-Legendre steps); got 0.
    """

    method: Literal["captum", "exact"] = "captum"
    n_steps: int = 100
    multiply_by_inputs: bool = True
    groupby: str = "cell_type_v2"
    n_tfs: int | None = 10
    rank_by: Literal["mean", "abs"] = "mean"
    covariates: Sequence[str] = DEFAULT_COVARIATES
    device: str = "auto"

    def __post_init__(self) -> None:
        object.__setattr__(self, "covariates", tuple(self.covariates))
        if self.method not in METHODS:
            msg = f"method {self.method!r} is not one of {METHODS}."
            raise Cell2NetInputError(msg)
        if self.rank_by not in RANK_BY:
            msg = f"rank_by {self.rank_by!r} is not one of {RANK_BY}."
            raise Cell2NetInputError(msg)
        if not isinstance(self.n_steps, int) or not 1 <= self.n_steps <= MAX_N_STEPS:
            msg = f"n_steps must be 1 to {MAX_N_STEPS:,} (Gauss-Legendre steps); got {self.n_steps}."
            raise Cell2NetInputError(msg)
        if self.n_tfs is not None and self.n_tfs < 1:
            msg = f"n_tfs must be at least 1 or None (all TFs); got {self.n_tfs}."
            raise Cell2NetInputError(msg)

    def replace(self, **changes: Any) -> Settings:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        """The fields as JSON-ready values (covariates as a list).

        Examples
        --------
        >>> Settings().to_json()["covariates"]
        ['total_counts_rna_log', 'total_counts_atac_log']
        """
        out = dataclasses.asdict(self)
        out["covariates"] = list(self.covariates)
        return out
