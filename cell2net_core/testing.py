"""Random datasets in the cell2net contract, for tests and benchmarks (no biology: see ``demo``)."""

from __future__ import annotations

import anndata as ad
import mudata as md
import numpy as np
import pandas as pd
import scipy.sparse as sp

__all__ = ["CELL_TYPES", "random_dataset"]

CELL_TYPES = ("B cell", "Effector T", "Memory T", "Monocyte", "NK", "Naive T", "cDC", "pDC")


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
