"""Edge evidence: bootstrap interval, t-test p-value and BH q, against scipy's own routines."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from cell2net_core import aggregate, stats
from cell2net_core.store import ResultStore, read_network_table
from cell2net_core.testing import random_attribution, random_dataset, random_table


def test_interval_agrees_with_scipy_bootstrap_and_holds_the_mean():
    rng = np.random.default_rng(1)
    rows = rng.gamma(2.0, 1.0, size=(60, 3)) - np.array([0.0, 2.0, 3.0])
    ev = stats.mean_evidence(rows, n_boot=4000, rng=0)
    mean = rows.mean(axis=0)
    assert np.all(ev["ci_low"] <= mean) and np.all(mean <= ev["ci_high"])
    for j in range(3):
        ref = sps.bootstrap((rows[:, j],), np.mean, n_resamples=4000, method="percentile", rng=1).confidence_interval
        width = ref.high - ref.low
        assert abs(ev["ci_low"][j] - ref.low) < 0.1 * width
        assert abs(ev["ci_high"][j] - ref.high) < 0.1 * width
    np.testing.assert_allclose(ev["p_value"], sps.ttest_1samp(rows, 0.0, axis=0).pvalue)


def test_interval_is_seeded_and_degenerate_cases_are_missing_not_zero():
    rows = np.random.default_rng(2).normal(size=(10, 2))
    a, b = stats.mean_evidence(rows, rng=5), stats.mean_evidence(rows, rng=5)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    one = stats.mean_evidence(np.array([[1.5, 0.0]]))
    assert np.isnan(one["p_value"]).all() and one["ci_low"].tolist() == [1.5, 0.0]
    constant = stats.mean_evidence(np.zeros((5, 1)))
    assert np.isnan(constant["p_value"]).all() and constant["ci_low"][0] == constant["ci_high"][0] == 0.0


def test_p_values_are_scipy_one_sample_t_test_over_many_shapes():
    rng = np.random.default_rng(7)
    for n in (2, 3, 17, 400):
        rows = rng.normal(0.3, 2.0, size=(n, 25)) * (rng.random(25) < 0.8)  # some all-zero columns
        rows[:, 0] = rng.normal(1e-3, 1e-6, size=n)  # tiny p
        p = stats.mean_evidence(rows, n_boot=10, rng=0)["p_value"]
        ref = sps.ttest_1samp(rows, 0.0, axis=0).pvalue
        varied = np.ptp(rows, axis=0) > 0
        np.testing.assert_allclose(p[varied], ref[varied], rtol=1e-12, atol=0)
        assert np.isnan(p[~varied]).all()


def test_kept_resamples_give_the_numbers_and_generator_state_of_drawing_again():
    rows = np.random.default_rng(4).normal(size=(37, 3))
    first_rng, second_rng = np.random.default_rng(11), np.random.default_rng(11)
    first = stats.mean_evidence(rows, n_boot=300, rng=first_rng)
    second = stats.mean_evidence(rows, n_boot=300, rng=second_rng)  # same state, n and n_boot: kept counts
    assert all(np.array_equal(first[k], second[k], equal_nan=True) for k in first)
    drawn = np.random.default_rng(11)
    drawn.integers(0, 37, size=(300, 37))  # what mean_evidence draws
    assert drawn.random() == first_rng.random() == second_rng.random()  # the next group draws the same


def test_large_groups_keep_compact_counts_and_give_the_numbers_of_one_float64_product(monkeypatch):
    groups = [np.random.default_rng(5).normal(size=(n, 7)) for n in (300, 1, 70, 0, 129)]
    whole = stats.groups_evidence(groups, n_boot=700, rng=3)  # every count matrix float64, one product each
    as_float = stats._resample_counts(np.random.default_rng(3), 300, 700)
    monkeypatch.setattr(stats, "_COUNTS", type(stats._COUNTS)())
    monkeypatch.setattr(stats, "_BLOCK_BYTES", 8 * 256 * 100)  # over 36 metacells: uint8; 300: blocks of 128 resamples
    compact = stats.groups_evidence(groups, n_boot=700, rng=3)
    for key in whole:  # the same up to BLAS's rounding order in the blocks
        np.testing.assert_allclose(compact[key], whole[key], rtol=0, atol=1e-12 * np.nanmax(np.abs(whole[key])))
        assert np.array_equal(np.isnan(compact[key]), np.isnan(whole[key]))
    assert [c.dtype for c, _ in stats._COUNTS.values()] == [np.uint8, np.float64, np.uint8, np.uint8]
    kept = stats._resample_counts(np.random.default_rng(3), 300, 700)
    assert as_float.dtype == np.float64 and kept.dtype == np.uint8 and np.array_equal(kept, as_float)
    again = stats.groups_evidence(groups, n_boot=700, rng=3)  # from the kept compact counts: the same bytes
    assert all(np.array_equal(compact[k], again[k], equal_nan=True) for k in whole)


def test_blocks_of_the_bootstrap_product_sum_each_column_as_one_product_up_to_rounding(monkeypatch):
    rng = np.random.default_rng(9)
    for n, k, n_boot in [(1, 1, 5), (40, 3, 1000), (517, 36, 1000), (2000, 100, 333)]:
        rows = rng.normal(size=(n, k))
        counts = rng.integers(0, 5, size=(n, n_boot)).astype(np.uint8)
        for block_bytes in (8 * n * 64, 8 * n * 200, 8 * n * n_boot):
            monkeypatch.setattr(stats, "_BLOCK_BYTES", block_bytes)
            whole = rows.T @ counts.astype(np.float64)
            blocked = stats._weighted_sums(rows, counts)
            scale = np.abs(whole).max()
            np.testing.assert_allclose(blocked, whole, rtol=0, atol=1e-12 * scale, err_msg=f"{n, k, block_bytes}")


def test_q_values_are_benjamini_hochberg_over_all_rows_with_a_p_value():
    p = np.array([0.001, 0.2, np.nan, 0.03, 0.04])
    q = stats.bh_q(p)
    assert np.isnan(q[2])
    np.testing.assert_allclose(q[[0, 1, 3, 4]], sps.false_discovery_control(p[[0, 1, 3, 4]], method="bh"))
    table = pd.DataFrame({"tf": list("ABCDE"), "p_value": p, "q_value": 0.0})
    assert np.allclose(stats.add_q_values(table)["q_value"], q, equal_nan=True)


def test_table_gains_evidence_after_the_tutorial_columns():
    mdata = random_dataset(n_metacells=40, seed=3)
    attribution = random_attribution(mdata, "GENE0")
    plain = aggregate.regroup(attribution, mdata, n_tfs=3)
    table = aggregate.regroup(attribution, mdata, n_tfs=3, evidence=True)
    assert table.columns.tolist() == [*plain.columns, "ci_low", "ci_high", "p_value", "q_value"]
    pd.testing.assert_frame_equal(table[plain.columns], plain)
    assert (table["ci_low"] <= table["mean_attr"]).all() and (table["mean_attr"] <= table["ci_high"]).all()
    np.testing.assert_allclose(table["q_value"], sps.false_discovery_control(table["p_value"], method="bh"))
    assert aggregate.group_column(table) == "cell_type_v2"


def test_consolidated_q_is_over_every_gene_and_tutorial_tables_still_read(tmp_path):
    mdata = random_dataset(n_metacells=40, seed=4)
    store = ResultStore(tmp_path / "res")
    for gene in ("GENE0", "GENE1"):
        attribution = random_attribution(mdata, gene)
        store.save(attribution, aggregate.regroup(attribution, mdata, evidence=True))
    store.write_consolidated()
    whole = store.table()
    np.testing.assert_allclose(whole["q_value"], stats.bh_q(whole["p_value"].to_numpy()))
    per_gene = pd.concat([store.gene_table(g) for g in ("GENE0", "GENE1")], ignore_index=True)
    assert not np.allclose(per_gene["q_value"], whole["q_value"])  # per-gene q is over fewer rows
    random_table(n_genes=2, top=3).to_csv(tmp_path / "tutorial.csv")
    tutorial = read_network_table(tmp_path / "tutorial.csv")
    assert "ci_low" not in tutorial.columns and stats.add_q_values(tutorial) is tutorial


@pytest.mark.parametrize("n", [2, 7, 300])
def test_interval_is_vectorised_over_columns(n):
    rows = np.random.default_rng(n).normal(loc=1.0, size=(n, 50))
    ev = stats.mean_evidence(rows, n_boot=1000, rng=0)
    assert ev["ci_low"].shape == (50,) and np.all(ev["ci_low"] <= ev["ci_high"])
