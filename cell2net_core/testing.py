"""Random data for tests, benchmarks and doctests (no biology: see ``cell2net_core.demo``).

``random_dataset`` (a MuData in the cell2net contract), ``random_model`` (a gene's model with
non-trivial BatchNorm statistics), ``random_attribution`` (its exact attributions),
``random_table`` and ``tutorial_table`` (TF -> gene tables shaped like the tutorial's).
"""

from __future__ import annotations

import anndata as ad
import mudata as md
import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch

from .attribution import Attribution, tf_attr
from .data import GeneInputs, gene_inputs
from .demo.program import CELL_TYPES
from .model import PeaksTF2GeneExpressionPoisson, build_model

__all__ = [
    "CELL_TYPES",
    "random_attribution",
    "random_dataset",
    "random_model",
    "random_table",
    "scramble_batchnorm",
    "tutorial_table",
]


def random_dataset(
    *,
    n_metacells: int = 64,
    n_genes: int = 3,
    n_peaks: int = 4,
    n_tfs: int = 8,
    tf_density: float = 0.6,
    seed: int = 0,
    legacy_is_tf: bool = False,
) -> md.MuData:
    """A random MuData with every key of the contract.

    Each target gene gets ``n_peaks`` peaks and a random subset of the ``n_tfs`` TFs.

    Parameters
    ----------
    n_metacells, n_genes, n_peaks, n_tfs
        Sizes.
    tf_density
        Share of TFs linked to each gene (at least one).
    seed
        Random seed; the same seed gives the same data.
    legacy_is_tf
        Mark TFs with ``rna.var["is_tf"]`` instead of ``rna.uns["gene_tf"]``.

    Examples
    --------
    >>> random_dataset(n_metacells=8).n_obs
    8
    """
    rng = np.random.default_rng(seed)
    genes = [f"GENE{i}" for i in range(n_genes)]
    tfs = [f"TF{i}" for i in range(n_tfs)]
    obs_names = [f"metacell_{i}" for i in range(n_metacells)]
    cell_type = np.array(CELL_TYPES)[np.arange(n_metacells) % len(CELL_TYPES)]

    rna_counts = rng.poisson(rng.gamma(2.0, 3.0, size=(n_metacells, n_genes + n_tfs))).astype(np.float32)
    rna = ad.AnnData(
        X=sp.csr_matrix(rna_counts),
        obs=pd.DataFrame(index=obs_names),
        var=pd.DataFrame(index=genes + tfs),
    )
    rna.layers["counts"] = sp.csr_matrix(rna_counts)

    peaks, rows, starts = [], [], []
    for g, gene in enumerate(genes):
        dist = np.sort(rng.integers(0, 200_000, size=n_peaks))
        for p in range(n_peaks):
            start = 1_000_000 * (g + 1) + 1_000 * p
            name = f"chr1-{start}-{start + 256}"
            peaks.append(name)
            starts.append(start)
            rows.append((gene, name, int(dist[p])))
    atac_counts = rng.poisson(rng.gamma(1.5, 2.0, size=(n_metacells, len(peaks)))).astype(np.float32)
    atac = ad.AnnData(
        X=sp.csr_matrix(atac_counts),
        obs=pd.DataFrame(index=obs_names),
        var=pd.DataFrame(index=peaks),
    )
    atac.layers["counts"] = sp.csr_matrix(atac_counts)
    seqs = ["".join(rng.choice(list("ACGT"), size=256)) for _ in peaks]
    atac.uns["peaks"] = pd.DataFrame(
        {
            "chr": "chr1",
            "start": starts,
            "end": [s + 256 for s in starts],
            "summit": [s + 128 for s in starts],
            "sequence": seqs,
        },
        index=pd.Index(peaks),
    )

    if legacy_is_tf:
        rna.var["is_tf"] = [False] * n_genes + [True] * n_tfs
    else:
        links = rng.random((n_genes, n_tfs)) < tf_density
        links[np.arange(n_genes), rng.integers(0, n_tfs, size=n_genes)] = True
        rna.uns["gene_tf"] = pd.DataFrame(links.astype(np.uint8), index=genes, columns=tfs)

    mdata = md.MuData({"rna": rna, "atac": atac})
    mdata.uns["peak_to_gene"] = pd.DataFrame(rows, columns=["gene", "peak", "distance"])
    mdata.uns["motifs"] = pd.DataFrame(
        {"motif_name": tfs, "motif_id": [f"MA{i:04d}.1" for i in range(n_tfs)], "gene_name": tfs}
    )
    mdata.obs["cell_type_v2"] = pd.Categorical(cell_type)
    mdata.obs["total_counts_rna_log"] = np.log10(rna_counts.sum(axis=1) + 1).astype(np.float64)
    mdata.obs["total_counts_atac_log"] = np.log10(atac_counts.sum(axis=1) + 1).astype(np.float64)
    return mdata


def scramble_batchnorm(module: torch.nn.Module, *, seed: int = 0) -> torch.nn.Module:
    """Give every BatchNorm non-default running statistics and affine terms, then eval mode.

    Examples
    --------
    >>> bn = scramble_batchnorm(torch.nn.BatchNorm1d(3))
    >>> bool((bn.running_var != 1).all()), bn.training
    (True, False)
    """
    gen = torch.Generator().manual_seed(seed)
    for m in module.modules():
        if isinstance(m, torch.nn.BatchNorm1d | torch.nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=gen) * 0.3)
            m.running_var.copy_(torch.rand(n, generator=gen) * 1.5 + 0.5)
            m.weight.data.copy_(1 + 0.3 * torch.randn(n, generator=gen))
            m.bias.data.copy_(0.3 * torch.randn(n, generator=gen))
    return module.eval()


def random_model(inputs: GeneInputs, *, seed: int = 0) -> PeaksTF2GeneExpressionPoisson:
    """A gene's model with seeded random weights and BatchNorm statistics, in eval mode.

    Examples
    --------
    >>> from cell2net_core.data import gene_inputs
    >>> inputs = gene_inputs(random_dataset(n_metacells=8), "GENE0")
    >>> random_model(inputs).n_tfs == inputs.n_tfs
    True
    """
    torch.manual_seed(seed)
    return scramble_batchnorm(build_model(inputs), seed=seed)


def random_attribution(mdata: md.MuData, gene: str, *, seed: int = 0) -> Attribution:
    """Exact attributions of a :func:`random_model` of ``gene`` on ``mdata``.

    Examples
    --------
    >>> random_attribution(random_dataset(n_metacells=8), "GENE0").attr.shape[0]
    8
    """
    inputs = gene_inputs(mdata, gene)
    return tf_attr(random_model(inputs, seed=seed), inputs, method="exact", device="cpu")


def random_table(
    *, n_genes: int = 20, n_tfs: int = 30, top: int = 10, groups: tuple[str, ...] = CELL_TYPES, seed: int = 0
) -> pd.DataFrame:
    """``top`` distinct TFs per gene and group, means of both signs, as ``tf_to_gene`` rows.

    Examples
    --------
    >>> len(random_table(n_genes=2, top=3, groups=("B", "T")))
    12
    """
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


def tutorial_table(*, n_genes: int = 1927, n_tfs: int = 600, top: int = 10, seed: int = 0) -> pd.DataFrame:
    """A table shaped like the tutorial's: ``top`` TFs per gene and cell type, skewed TF usage.

    The defaults give the tutorial's full PBMC size, 154,160 rows.

    Examples
    --------
    >>> len(tutorial_table(n_genes=3, n_tfs=40))
    240
    """
    rng = np.random.default_rng(seed)
    tfs = np.array([f"TF{i}" for i in range(n_tfs)])
    n_blocks = n_genes * len(CELL_TYPES)
    usage = rng.gamma(0.5, 1.0, n_tfs)  # a few hub TFs regulate many genes
    keys = rng.random((n_blocks, n_tfs)) ** (1.0 / usage)
    pick = np.argpartition(-keys, top, axis=1)[:, :top]
    mean = rng.gamma(1.5, 0.02, (n_blocks, top)) * np.where(rng.random((n_blocks, top)) < 0.85, 1, -1)
    return pd.DataFrame(
        {
            "tf": tfs[pick].ravel(),
            "gene": np.repeat([f"GENE{i}" for i in range(n_genes)], len(CELL_TYPES) * top),
            "cell_type_v2": np.tile(np.repeat(CELL_TYPES, top), n_genes),
            "mean_attr": mean.ravel(),
            "std_attr": np.abs(mean.ravel()) * rng.uniform(0.2, 1.5, n_blocks * top),
        }
    )
