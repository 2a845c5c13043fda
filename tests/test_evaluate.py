"""Evaluation against planted edges, on hand-built attributions with hand-derived answers."""

from __future__ import annotations

import json

import anndata as ad
import mudata as md
import numpy as np
import pandas as pd
import pytest

from cell2net_core.cli import main as cli_main
from cell2net_core.demo.evaluate import average_precision, evaluate, read_truth
from cell2net_core.errors import Cell2NetInputError

OBS = ["m0", "m1", "m2", "m3"]
GROUPS = pd.Series(["B", "B", "T", "T"], index=OBS)
# mean attributions per group:
# G1      A     R     X     Y
#   B   3.0  -2.0   1.0   0.5
#   T   0.0   0.0   4.0  -1.0
G1 = np.array([[2.0, -1.0, 1.0, 0.5], [4.0, -3.0, 1.0, 0.5], [0.0, 0.0, 3.0, -1.0], [0.0, 0.0, 5.0, -1.0]])
# G2      P     Q
#   B   0.1   0.2
#   T   1.0  -0.5
G2 = np.array([[0.1, 0.2], [0.1, 0.2], [1.0, -0.5], [1.0, -0.5]])
TRUTH = pd.DataFrame(
    {
        "gene": ["G1", "G1", "G1", "G2"],
        "tf": ["A", "R", "Y", "P"],
        "sign": ["+", "-", "-", "+"],
        "cell_types": ["B", "B", "B;T", "B;T"],
    }
)


@pytest.fixture
def results(tmp_path):
    for gene, attr, tfs in (("G1", G1, ["A", "R", "X", "Y"]), ("G2", G2, ["P", "Q"])):
        np.save(tmp_path / f"{gene}.npy", attr.astype(np.float32))
        (tmp_path / f"{gene}.json").write_text(json.dumps({"gene": gene, "tfs": tfs, "obs_names": OBS}))
    return tmp_path


def test_ranks_hits_and_signs_by_hand(results):
    ev = evaluate(TRUTH, results, groups=GROUPS, top=1)
    got = ev.edges.set_index(["gene", "tf", "cell_type"])
    # G1/B: A=3 is the largest (rank 0); R=-2 the most negative (rank 0)
    assert got.loc[("G1", "A", "B"), "rank"] == 0 and got.loc[("G1", "R", "B"), "rank"] == 0
    # Y: B mean 0.5 (R=-2 is below it: rank 1, wrong sign); T mean -1 (most negative: rank 0)
    assert got.loc[("G1", "Y", "B"), "rank"] == 1 and not got.loc[("G1", "Y", "B"), "sign_ok"]
    assert got.loc[("G1", "Y", "T"), "rank"] == 0 and got.loc[("G1", "Y", "T"), "sign_ok"]
    # P: B 0.1 < Q 0.2 (rank 1), T 1.0 first (rank 0)
    assert got.loc[("G2", "P", "B"), "rank"] == 1 and got.loc[("G2", "P", "T"), "rank"] == 0
    assert ev.share("+") == pytest.approx(2 / 3)  # A@B, P@T hit; P@B misses
    assert ev.share("-") == pytest.approx(2 / 3)  # R@B, Y@T hit; Y@B misses
    assert ev.share("-", "sign_ok") == pytest.approx(2 / 3)
    assert evaluate(TRUTH, results, groups=GROUPS, top=2).share("+") == 1.0


def test_auprc_by_hand(results):
    ev = evaluate(TRUTH, results, groups=GROUPS, top=3)
    scores = ev.pairs.set_index(["gene", "tf"])["score"]
    # score = max over groups of |mean|: A 3, R 2, X 4, Y 1, P 1, Q 0.5
    assert scores.to_dict() == {("G1", "A"): 3, ("G1", "R"): 2, ("G1", "X"): 4, ("G1", "Y"): 1, ("G2", "P"): 1,
                                ("G2", "Q"): 0.5}  # fmt: skip
    # ranked X(0) A(1) R(1) Y(1) P(1) Q(0): precisions at positives 1/2, 2/3, 3/4, 4/5
    assert ev.auprc == pytest.approx((1 / 2 + 2 / 3 + 3 / 4 + 4 / 5) / 4)
    assert ev.report()[-1].startswith("headline: 100.0% of planted activators in their gene's top 3")


def test_average_precision_perfect_and_worst():
    assert average_precision(np.array([3, 2, 1]), np.array([1, 1, 0])) == 1.0
    assert average_precision(np.array([3, 2, 1]), np.array([0, 0, 1])) == pytest.approx(1 / 3)
    assert np.isnan(average_precision(np.array([1.0]), np.array([0])))


def test_missing_tf_counts_as_a_miss(results):
    truth = pd.DataFrame({"gene": ["G2"], "tf": ["NOTACANDIDATE"], "sign": ["+"], "cell_types": ["B"]})
    ev = evaluate(truth, results, groups=GROUPS)
    assert ev.share("+") == 0.0 and np.isnan(ev.edges["rank"].iloc[0])


def test_bad_inputs(results, tmp_path):
    truth = TRUTH.assign(gene=["G1", "G1", "G1", "G9"])
    with pytest.raises(Cell2NetInputError, match="G9"):
        evaluate(truth, results, groups=GROUPS)
    bad = tmp_path / "truth_bad.csv"
    TRUTH.assign(sign="x").to_csv(bad, index=False)
    with pytest.raises(Cell2NetInputError, match="'sign'"):
        read_truth(bad)


def test_cli_evaluate_prints_headline_last(results, tmp_path, capsys):
    TRUTH.to_csv(tmp_path / "truth.csv", index=False)
    obs = pd.DataFrame({"cell_type_v2": GROUPS.to_numpy()}, index=OBS)
    mdata = md.MuData({"rna": ad.AnnData(obs=obs.copy())})
    mdata.obs["cell_type_v2"] = GROUPS.to_numpy()
    mdata.write(tmp_path / "mdata.h5mu")
    code = cli_main(["evaluate", "--truth", str(tmp_path / "truth.csv"), "--results", str(results), "--top", "1"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert code == 0 and len(lines) == 4
    assert lines[0].startswith("planted activators (+): 2/3 (66.7%)")
    assert lines[-1].startswith("headline: 66.7% of planted activators in their gene's top 1")
    code = cli_main(["evaluate", "--truth", str(tmp_path / "nope.csv"), "--results", str(results)])
    assert code == 2 and capsys.readouterr().err.startswith("error: Truth file")
