"""TF motifs for the demo: one JASPAR 2024 CORE vertebrate matrix per TF name, read offline.

The reading and scoring live in :mod:`cell2net_core.motifs`; here one motif is kept per
upper-cased name, the last by matrix id, as ``cell2net`` does.
"""

from __future__ import annotations

from functools import lru_cache

from ..motifs import Motif, best_scores, jaspar_matrices, log_odds, min_max_score

__all__ = ["Motif", "jaspar_motifs", "log_odds", "best_scores", "min_max_score"]


@lru_cache(maxsize=1)
def jaspar_motifs() -> dict[str, Motif]:
    """JASPAR 2024 CORE vertebrate motifs keyed by upper-case TF name (one per name).

    Examples
    --------
    >>> jaspar_motifs()["SPI1"].counts.shape[1]
    4
    """
    return {m.name.upper(): m for m in jaspar_matrices()}
