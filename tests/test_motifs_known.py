"""Motif evidence (JASPAR 2024 via pyjaspar, offline) and known regulation against a curated reference."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from cell2net_core import cli, motifs
from cell2net_core.data import one_hot
from cell2net_core.errors import Cell2NetInputError
from cell2net_core.known import known_agreement, mark_known, read_reference
from cell2net_core.testing import random_dataset

FIXTURE = Path(__file__).parent / "fixtures" / "cell2net013"


def _consensus(counts: np.ndarray) -> str:
    return "".join("ACGT"[i] for i in counts.argmax(axis=1))


def _spi1() -> motifs.Motif:
    return next(m for m in motifs.tf_matrices("SPI1") if m.name.upper() == "SPI1")


def test_dimers_count_for_both_halves_and_names_match_case_insensitively():
    assert "FOS::JUN" in {m.name for m in motifs.tf_matrices("fos")}
    assert "FOS::JUN" in {m.name for m in motifs.tf_matrices("JUN")}
    assert motifs.tf_matrices("NOT_A_TF") == ()


def test_a_planted_site_is_found_on_either_strand_in_its_peak():
    spi1 = _spi1()
    site = _consensus(spi1.counts)
    rc = site[::-1].translate(str.maketrans("ACGT", "TGCA"))
    background = "".join(np.random.default_rng(0).choice(list("ACGT"), size=256))
    seqs = [background[:100] + site + background[100 + len(site) :], background[:50] + rc + background[50 + len(rc) :]]
    rel = motifs.relative_scores(one_hot(seqs), motifs.log_odds(spi1.counts))
    assert rel.shape[:2] == (2, 2)
    assert rel[0, 0].argmax() == 100 and rel[0, 0].max() == pytest.approx(1.0)
    assert rel[1, 1].max() == pytest.approx(1.0)  # the reverse complement, on the minus strand


def test_motif_columns_name_the_best_matrix_its_sites_and_peaks():
    mdata = random_dataset(n_metacells=4, n_peaks=3, seed=1)
    p2g = mdata.uns["peak_to_gene"]
    gene = str(p2g["gene"].iloc[0])
    first = str(p2g.loc[p2g["gene"] == gene, "peak"].iloc[0])
    site, seq = _consensus(_spi1().counts), "A" * 256
    mdata["atac"].uns["peaks"].loc[:, "sequence"] = seq
    mdata["atac"].uns["peaks"].loc[first, "sequence"] = seq[:20] + site + seq[20 + len(site) :]
    table = pd.DataFrame({"tf": ["spi1", "NOT_A_TF"], "gene": [gene, gene], "mean_attr": [1.0, 0.5]})
    out = motifs.add_motif_evidence(table, mdata, threshold=0.95)
    assert out.loc[0, "motif_peaks"] == first and out.loc[0, "motif_sites"] >= 1
    assert out.loc[0, "motif_id"] in {m.matrix_id for m in motifs.tf_matrices("SPI1")}
    assert pd.isna(out.loc[1, "motif_id"]) and pd.isna(out.loc[1, "motif_sites"])  # missing, not 0


def test_known_agreement_counts_precision_baseline_and_hypergeometric_p(tmp_path):
    table = pd.DataFrame({
        "tf": ["A", "B", "C", "D", "A", "B"], "gene": ["G1", "G1", "G2", "G2", "G2", "G3"],
        "cell_type": ["T"] * 6, "mean_attr": [0.9, -0.8, 0.7, 0.1, 0.05, 0.01], "std_attr": 0.1,
    })  # fmt: skip
    path = tmp_path / "ref.tsv"
    path.write_text("source\ttarget\tsign\na\tg1\t+\nB\tG1\t-\nD\tG2\t+\nZ\tG9\t+\n")
    ref = read_reference(path)
    assert mark_known(table, ref)["known"].tolist() == [True, True, False, True, False, False]
    got = known_agreement(table, ref, k=3, n_shuffles=2000).iloc[0]
    assert (got["k"], got["known_in_top_k"], got["n_known"], got["n_rows"]) == (3, 2, 3, 6)
    assert got["p_value"] == pytest.approx(sps.hypergeom.sf(1, 6, 3, 3))
    # baseline: TFs A, B, C each with a random target among G1..G3; known pairs A-G1, B-G1 -> 2/9
    assert got["baseline"] == pytest.approx(2 / 9, abs=0.03)
    assert got["enrichment"] == pytest.approx(got["precision_at_k"] / got["baseline"])
    (tmp_path / "bad.csv").write_text("tf,gene\nA,G1\n")
    with pytest.raises(Cell2NetInputError, match="source"):
        read_reference(tmp_path / "bad.csv")


def test_attribute_with_motifs_and_a_reference(tmp_path):
    ref = tmp_path / "ref.csv"
    ref.write_text("source,target\nPAX5,TGA\nspi1,tga\n")
    out = tmp_path / "out"
    argv = ["attribute", "--mdata", str(FIXTURE / "mdata.h5mu"), "--models", str(FIXTURE / "model"), "--out", str(out)]
    assert cli.main([*argv, "--method", "exact", "--device", "cpu", "--motifs", "--reference", str(ref)]) == 0
    table = pd.read_csv(out / "tf_to_gene.csv", index_col=0)
    assert table.columns.tolist()[-4:] == ["motif_id", "motif_sites", "motif_peaks", "known"]
    assert set(table.loc[table["known"], "tf"]) <= {"PAX5", "SPI1"} and table["known"].any()
    assert table["motif_id"].dropna().str.startswith("MA").all()
    assert (out / "known_agreement.csv").is_file()
