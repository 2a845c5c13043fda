"""Random ``tf_to_gene`` tables shaped like the tutorial's, for tests of the network code."""

from __future__ import annotations

import numpy as np
import pandas as pd

CELL_TYPES = ("B cell", "Effector T", "Memory T", "Monocyte", "NK", "Naive T", "cDC", "pDC")


def random_table(
    *, n_genes: int = 20, n_tfs: int = 30, top: int = 10, groups: tuple[str, ...] = CELL_TYPES, seed: int = 0
) -> pd.DataFrame:
    """``top`` distinct TFs per gene and group, means of both signs, as ``tf_to_gene`` rows."""
    rng = np.random.default_rng(seed)
    tfs = np.array([f"TF{i}" for i in range(n_tfs)])
    n_blocks = n_genes * len(groups)
    pick = np.argsort(rng.random((n_blocks, n_tfs)), axis=1)[:, :top]
    mean = rng.normal(0, 1, (n_blocks, top))
    return pd.DataFrame(
        {
            "tf": tfs[pick].ravel(),
            "gene": np.repeat([f"GENE{i}" for i in range(n_genes)], len(groups) * top),
            "cell_type_v2": np.tile(np.repeat(groups, top), n_genes),
            "mean_attr": mean.ravel(),
            "std_attr": np.abs(rng.normal(0, 0.5, n_blocks * top)),
            "n_metacells": rng.integers(5, 200, n_blocks * top),
        }
    )
