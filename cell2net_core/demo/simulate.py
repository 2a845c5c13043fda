"""Simulate the demo's PBMC-like multiome metacells from the planted program.

Generative model, per metacell ``m`` of cell type ``c``:

- TF ``j`` count ``x_mj ~ Poisson(s_j * profile_j(c) * lib_m * noise_mj)``, ``noise`` log-normal
  and independent per TF, so co-expressed lineage TFs still vary apart within a type;
- target ``g`` count ``y_mg ~ Poisson(b_g * exp(5 tanh(d_mg / 5)) * lib_m)`` with the drive
  ``d_mg = sum_a beta_a x_ma / s_a - sum_r gamma_r x_mr / s_r``: the log rate is (nearly) linear
  in the RAW TF counts the model sees, saturating softly, and a TF acts where it is expressed;
- driver peaks: each target has one or two of its peaks that drive it in given cell types (the
  types where its activators act, split between two drivers): there the peak is open (3x) and
  its metacell-to-metacell accessibility ``a_mk = mean * lib * e_mk`` (``e`` log-normal) scales
  the expression, ``log rate += PEAK_EFFECT * log e_mk`` (mean zero within a type, so the TF
  drive is unchanged). Its activators' motif sites are planted in its driver peaks;
- other peaks ``~ Poisson`` with the same noise and no cell-type pattern;
- peak sequences are random DNA with motif sites sampled from the planted TFs' (and the
  decoys') JASPAR matrices; ``gene_tf`` comes from scanning every peak with every TF's
  log-odds matrix, so chance hits appear as well.
"""

from __future__ import annotations

import re

import anndata as ad
import mudata as md
import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..data import PEAK_LEN, one_hot
from ..errors import Cell2NetInputError
from .jaspar import best_scores, jaspar_motifs, log_odds, min_max_score
from .program import BLOOD_TFS, CELL_TYPES, COARSE, SHARES, TARGETS, TF_PROFILES, Target

__all__ = ["simulate", "REL_THRESHOLD", "PEAK_EFFECT"]

REL_THRESHOLD = 0.92  # motif hit: score >= min + 0.92 * (max - min)
PEAK_WIDTH = 500
_SYMBOL = re.compile(r"^[A-Z][A-Z0-9-]*$")
_OFF = 0.03  # expression of a TF outside its cell types, relative to full level
_MAX_FOLD = 5.0  # the log-fold change saturates softly here (tanh)
_REPRESSED_WHERE = 0.75  # a repressor acts where the gene's activation would reach this log-fold
PEAK_EFFECT = 1.0  # log-fold of expression per log-fold of a driver peak's accessibility, where it drives
_ACC_NOISE = 0.35  # sd of the log accessibility noise per metacell and peak
_DRIVER_OPEN = 2.0  # a driver peak is (1 + this) times more open where it drives


def _tf_universe(targets: list[Target], n_tfs: int, rng: np.random.Generator) -> list[str]:
    planted: list[str] = []
    for t in targets:
        planted += [tf for tf in (*t.activators, *t.repressors, *t.decoys) if tf not in planted]
    if n_tfs < len(planted):
        msg = f"n_tfs={n_tfs} is below the {len(planted)} TFs the chosen {len(targets)} genes need; raise n_tfs."
        raise Cell2NetInputError(msg)
    genes = {t.gene for t in TARGETS}
    known = {n for n in jaspar_motifs() if _SYMBOL.match(n) and n not in planted and n not in genes}
    blood = sorted(known & set(BLOOD_TFS))
    need = n_tfs - len(planted)
    if need <= len(blood):
        others = rng.choice(blood, size=need, replace=False).tolist()
    else:  # more TFs than blood ones: the rest from all of JASPAR
        rest = sorted(known - set(blood))
        others = blood + rng.choice(rest, size=need - len(blood), replace=False).tolist()
    return planted + sorted(others)


def _metacell_types(n: int, rng: np.random.Generator) -> np.ndarray:
    counts = np.floor(np.array([SHARES[c] for c in CELL_TYPES]) * n).astype(int)
    counts[np.argmax(counts)] += n - counts.sum()
    labels = np.repeat(np.arange(len(CELL_TYPES)), counts)
    return labels[rng.permutation(n)]


def _tf_levels(tfs: list[str], rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Full level ``s`` (T,) and profile (T, types): planted TFs from the table, others random."""
    scale = rng.uniform(15, 45, size=len(tfs))
    profile = np.full((len(tfs), len(CELL_TYPES)), _OFF)
    for j, tf in enumerate(tfs):
        if tf in TF_PROFILES:
            for c, v in TF_PROFILES[tf].items():
                profile[j, CELL_TYPES.index(c)] = v
        else:
            profile[j] = rng.uniform(0.02, 0.15)
            if rng.random() < 0.5:
                profile[j, rng.choice(len(CELL_TYPES), size=rng.integers(1, 3), replace=False)] = 1.0
    return scale, profile


def _sample_site(pwm: np.ndarray, freq: np.ndarray, rng: np.random.Generator) -> str:
    """A site drawn from the matrix that scores above the hit threshold (else the consensus)."""
    lo, hi = min_max_score(pwm)
    cut = lo + REL_THRESHOLD * (hi - lo)
    for _ in range(50):
        idx = np.array([rng.choice(4, p=p) for p in freq])
        if pwm[np.arange(len(idx)), idx].sum() >= cut:
            break
    else:
        idx = pwm.argmax(axis=1)
    site = "".join("ACGT"[i] for i in idx)
    if rng.random() < 0.5:
        site = site[::-1].translate(str.maketrans("ACGT", "TGCA"))
    return site


def _peaks(
    targets: list[Target], rng: np.random.Generator
) -> tuple[pd.DataFrame, pd.DataFrame, list[tuple[str, ...]]]:
    """Peak table, peak-to-gene links and, per peak, the cell types where it drives its gene (empty: none)."""
    motifs = jaspar_motifs()
    rows, links, planted = [], [], []
    used: set[tuple[str, int]] = set()
    for t in targets:
        chrom = f"chr{rng.integers(1, 23)}"
        tss = int(rng.integers(1_000_000, 200_000_000)) // 1000 * 1000
        while (chrom, tss) in used:
            tss += 1_000_000
        used.add((chrom, tss))
        n_peaks = int(rng.integers(3, 7))
        offsets = np.concatenate([[int(rng.integers(-400, 400))], rng.integers(2_000, 120_000, size=n_peaks - 1)])
        offsets[1:] *= rng.choice([-1, 1], size=n_peaks - 1)
        seqs = [list(rng.choice(list("ACGT"), size=PEAK_LEN, p=[0.29, 0.21, 0.21, 0.29])) for _ in range(n_peaks)]
        driven = _drivers(t, n_peaks, rng)
        sites = [tf for tf in (*t.activators, *t.repressors) for _ in range(int(rng.integers(1, 3)))]
        sites += list(t.decoys)
        taken = [[] for _ in range(n_peaks)]
        where = [set() for _ in range(n_peaks)]
        for tf in sites:
            counts = motifs[tf].counts
            freq = (counts + 0.01) / (counts + 0.01).sum(axis=1, keepdims=True)
            site = _sample_site(log_odds(counts), freq, rng)
            pool = sorted(driven) if tf in t.activators else list(range(n_peaks))
            for _ in range(100):
                p = int(rng.choice(pool))
                pos = int(rng.integers(8, PEAK_LEN - len(site) - 8))
                if all(pos + len(site) <= a or pos >= b for a, b in taken[p]):
                    break
            seqs[p][pos : pos + len(site)] = site
            taken[p].append((pos, pos + len(site)))
            where[p].add(tf)
        for k in range(n_peaks):
            summit = tss + int(offsets[k])
            start = summit - PEAK_WIDTH // 2
            name = f"{chrom}-{start}-{start + PEAK_WIDTH}"
            rows.append((name, chrom, start, start + PEAK_WIDTH, summit, "".join(seqs[k])))
            links.append((t.gene, name, abs(summit - tss)))
            planted.append(driven.get(k, ()))
    peaks = pd.DataFrame(rows, columns=["peak", "chr", "start", "end", "summit", "sequence"]).set_index("peak")
    peaks.index.name = None
    p2g = pd.DataFrame(links, columns=["gene", "peak", "distance"])
    return peaks, p2g, planted


def _drivers(t: Target, n_peaks: int, rng: np.random.Generator) -> dict[int, tuple[str, ...]]:
    """The gene's driver peaks (index within its peaks) and the cell types where each drives it.

    One driver for all the types where the gene's activators act, or (half the time, with two
    types or more) two drivers splitting those types."""
    on = [c for c in CELL_TYPES if max(TF_PROFILES[tf].get(c, 0.0) for tf in t.activators) >= 0.5]
    picks = rng.permutation(n_peaks)
    if len(on) < 2 or rng.random() < 0.5:
        return {int(picks[0]): tuple(on)}
    cut = int(rng.integers(1, len(on)))
    return {int(picks[0]): tuple(on[:cut]), int(picks[1]): tuple(on[cut:])}


def _gene_tf(peaks: pd.DataFrame, p2g: pd.DataFrame, genes: list[str], tfs: list[str]) -> pd.DataFrame:
    motifs = jaspar_motifs()
    onehot = one_hot(peaks["sequence"].tolist(), names=peaks.index.tolist())
    hits = np.zeros((len(peaks), len(tfs)), dtype=bool)
    for j, tf in enumerate(tfs):
        pwm = log_odds(motifs[tf].counts)
        lo, hi = min_max_score(pwm)
        hits[:, j] = best_scores(onehot, pwm) >= lo + REL_THRESHOLD * (hi - lo)
    row_of = {p: i for i, p in enumerate(peaks.index)}
    table = np.zeros((len(genes), len(tfs)), dtype=np.int64)
    for g, gene in enumerate(genes):
        rows = [row_of[p] for p in p2g.loc[p2g["gene"] == gene, "peak"]]
        table[g] = hits[rows].any(axis=0)
        if gene in tfs:
            table[g, tfs.index(gene)] = 0
    return pd.DataFrame(table, index=genes, columns=tfs)


def _truth(targets: list[Target], effects: dict[tuple[str, str], float]) -> pd.DataFrame:
    rows = []
    for t in targets:
        drive = np.zeros(len(CELL_TYPES))
        for tf in t.activators:
            drive += effects[(t.gene, tf)] * np.array([TF_PROFILES[tf].get(c, 0.0) for c in CELL_TYPES])
        for tf, sign in [(a, "+") for a in t.activators] + [(r, "-") for r in t.repressors]:
            on = [c for c in CELL_TYPES if TF_PROFILES[tf].get(c, 0.0) >= 0.5]
            if sign == "-":
                on = [c for c in on if drive[CELL_TYPES.index(c)] >= _REPRESSED_WHERE]
            rows.append((t.gene, tf, sign, ";".join(on)))
    return pd.DataFrame(rows, columns=["gene", "tf", "sign", "cell_types"])


def _target_counts(
    targets: list[Target], tfs: list[str], rel: np.ndarray, lib: np.ndarray, peak_drive: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, dict[tuple[str, str], float]]:
    """Target genes' counts from their planted activators and repressors and their driver peaks
    (``peak_drive``, ``(metacells, targets)`` log-folds), and each planted TF effect size."""
    effects: dict[tuple[str, str], float] = {}
    counts = np.zeros((len(lib), len(targets)), dtype=np.float32)
    for g, t in enumerate(targets):
        base, drive = np.log(rng.uniform(4.0, 10.0)), np.zeros(len(lib))
        for tf in t.activators:
            effects[(t.gene, tf)] = beta = float(rng.uniform(1.2, 1.8))
            drive += beta * rel[:, tfs.index(tf)]
        for tf in t.repressors:
            effects[(t.gene, tf)] = gamma = float(rng.uniform(1.5, 2.2))
            drive -= gamma * rel[:, tfs.index(tf)]
        rate = np.exp(base + _MAX_FOLD * np.tanh(drive / _MAX_FOLD) + peak_drive[:, g]) * lib
        counts[:, g] = rng.poisson(rate)
    return counts, effects


def _accessibility(
    targets: list[Target], p2g: pd.DataFrame, driven: list[tuple[str, ...]], types: np.ndarray,
    lib_atac: np.ndarray, rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Peak counts, and each target's expression log-fold from its driver peaks' accessibility noise."""
    genes = [t.gene for t in targets]
    n = len(types)
    acc_mean = np.empty((len(CELL_TYPES), len(driven)))
    noise = rng.normal(0, _ACC_NOISE, size=(n, len(driven)))
    peak_drive = np.zeros((n, len(targets)))
    for k, (gene, cell_types) in enumerate(zip(p2g["gene"], driven, strict=True)):
        on = np.isin(np.array(CELL_TYPES), cell_types)
        acc_mean[:, k] = rng.uniform(1.0, 3.0) * (1 + _DRIVER_OPEN * on)
        peak_drive[:, genes.index(gene)] += PEAK_EFFECT * noise[:, k] * on[types]
    counts = rng.poisson(acc_mean[types] * lib_atac[:, None] * np.exp(noise))
    return counts.astype(np.float32), peak_drive


def _truth_peaks(p2g: pd.DataFrame, driven: list[tuple[str, ...]]) -> pd.DataFrame:
    rows = [(g, p, ";".join(c)) for g, p, c in zip(p2g["gene"], p2g["peak"], driven, strict=True) if c]
    return pd.DataFrame(rows, columns=["gene", "peak", "cell_types"])


def simulate(
    *, seed: int = 0, n_metacells: int = 1000, n_genes: int = 40, n_tfs: int = 150
) -> tuple[md.MuData, pd.DataFrame, pd.DataFrame]:
    """Simulate the demo dataset and its planted edges.

    Returns
    -------
    ``(mdata, truth, truth_peaks)``: a MuData in the cell2net contract, the planted edges
    ``gene, tf, sign, cell_types`` and the driver peaks ``gene, peak, cell_types`` (``;``-separated).

    Examples
    --------
    >>> mdata, truth, truth_peaks = simulate(n_metacells=160, n_genes=6, n_tfs=30)  # doctest: +SKIP
    """
    if not 1 <= n_genes <= len(TARGETS):
        msg = f"n_genes={n_genes}: the demo program has 1 to {len(TARGETS)} target genes."
        raise Cell2NetInputError(msg)
    if n_metacells < 4 * len(CELL_TYPES):
        msg = f"n_metacells={n_metacells} is too few; give at least {4 * len(CELL_TYPES)}."
        raise Cell2NetInputError(msg)
    rng = np.random.default_rng(seed)
    targets = list(TARGETS[:n_genes])
    genes = [t.gene for t in targets]
    tfs = _tf_universe(targets, n_tfs, rng)
    types = _metacell_types(n_metacells, rng)

    lib = np.exp(rng.normal(0, 0.25, size=n_metacells))
    lib_atac = lib * np.exp(rng.normal(0, 0.15, size=n_metacells))
    scale, profile = _tf_levels(tfs, rng)
    noise = np.exp(rng.normal(0, 0.3, size=(n_metacells, len(tfs))))
    tf_counts = rng.poisson(scale * profile[:, types].T * lib[:, None] * noise).astype(np.float32)
    rel = tf_counts / scale  # x / s: 1 at a TF's full level

    peaks, p2g, driven = _peaks(targets, rng)
    atac_counts, peak_drive = _accessibility(targets, p2g, driven, types, lib_atac, rng)
    target_counts, effects = _target_counts(targets, tfs, rel, lib, peak_drive, rng)

    obs_names = pd.Index([f"metacell_{i:04d}" for i in range(n_metacells)])
    rna_counts = np.concatenate([target_counts, tf_counts], axis=1)
    other_rna = np.round(1.5e5 * lib * np.exp(rng.normal(0, 0.03, n_metacells)))
    other_atac = np.round(4e4 * lib_atac * np.exp(rng.normal(0, 0.03, n_metacells)))

    rna = ad.AnnData(
        X=sp.csr_matrix(rna_counts), obs=pd.DataFrame(index=obs_names), var=pd.DataFrame(index=genes + tfs)
    )
    rna.layers["counts"] = sp.csr_matrix(rna_counts)
    rna.var["is_tf"] = [False] * len(genes) + [True] * len(tfs)
    rna.uns["gene_tf"] = _gene_tf(peaks, p2g, genes, tfs)
    atac = ad.AnnData(
        X=sp.csr_matrix(atac_counts), obs=pd.DataFrame(index=obs_names), var=pd.DataFrame(index=peaks.index)
    )
    atac.layers["counts"] = sp.csr_matrix(atac_counts)
    atac.uns["peaks"] = peaks

    mdata = md.MuData({"rna": rna, "atac": atac})
    mdata.uns["peak_to_gene"] = p2g.sort_values(["gene", "distance"], kind="stable").reset_index(drop=True)
    motifs = jaspar_motifs()
    mdata.uns["motifs"] = pd.DataFrame(
        {"motif_name": [motifs[t].name for t in tfs], "motif_id": [motifs[t].matrix_id for t in tfs], "gene_name": tfs}
    )
    labels = np.array(CELL_TYPES)[types]
    mdata.obs["cell_type"] = pd.Categorical([COARSE[c] for c in labels], categories=sorted(set(COARSE.values())))
    mdata.obs["cell_type_v2"] = pd.Categorical(labels, categories=list(CELL_TYPES))
    mdata.obs["total_counts_rna_log"] = np.log10(rna_counts.sum(axis=1) + other_rna)
    mdata.obs["total_counts_atac_log"] = np.log10(atac_counts.sum(axis=1) + other_atac)
    return mdata, _truth(targets, effects), _truth_peaks(p2g, driven)
