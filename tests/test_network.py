"""The TF -> gene aggregation: the tutorial's rule, repressors, all TFs, metacell counts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cell2net_core.aggregate import group_column, tf_to_gene
from cell2net_core.errors import Cell2NetInputError


def tutorial_rule(attr, labels, tfs, n_tfs):
    """The tutorial's aggregation written with pandas, independently of ours."""
    df = pd.DataFrame(attr, columns=tfs)
    df["g"] = labels
    rows = []
    for g, part in df.groupby("g", sort=True):
        vals = part[tfs].to_numpy()
        tab = pd.DataFrame({"tf": tfs, "mean_attr": vals.mean(0), "std_attr": vals.std(0), "g": g})
        rows.append(tab.nlargest(n_tfs, "mean_attr", keep="first"))
    return pd.concat(rows, ignore_index=True)


def test_matches_the_tutorial_rule_on_random_data():
    rng = np.random.default_rng(0)
    attr = rng.normal(size=(60, 12))
    labels = rng.choice(["pDC", "B cell", "NK", "Naive T"], size=60)
    tfs = [f"TF{i}" for i in range(12)]
    ours = tf_to_gene(attr, labels, gene="G", tfs=tfs, n_tfs=4)
    theirs = tutorial_rule(attr, labels, tfs, 4)
    assert ours["tf"].tolist() == theirs["tf"].tolist()
    assert ours["cell_type_v2"].tolist() == theirs["g"].tolist()
    np.testing.assert_allclose(ours["mean_attr"], theirs["mean_attr"])
    np.testing.assert_allclose(ours["std_attr"], theirs["std_attr"])
    assert list(ours.columns) == ["tf", "gene", "cell_type_v2", "mean_attr", "std_attr", "n_metacells"]
    assert ours.groupby("cell_type_v2")["n_metacells"].first().to_dict() == pd.Series(labels).value_counts().to_dict()


def test_hand_derived_values_and_rank_by_abs():
    attr = np.array([[1.0, -4.0, 0.5], [3.0, -2.0, 0.5], [9.0, 9.0, 9.0]])
    labels = ["B cell", "B cell", "NK"]
    mean = tf_to_gene(attr, labels, gene="CD79A", tfs=["PAX5", "BCL6", "EBF1"], n_tfs=2)
    b = mean[mean["cell_type_v2"] == "B cell"]
    assert b["tf"].tolist() == ["PAX5", "EBF1"]  # the repressor BCL6 (mean -3) is dropped
    assert b["mean_attr"].tolist() == [2.0, 0.5] and b["std_attr"].tolist() == [1.0, 0.0]
    assert mean[mean["cell_type_v2"] == "NK"]["tf"].tolist() == ["PAX5", "BCL6"]  # ties keep TF order
    absolute = tf_to_gene(attr, labels, gene="CD79A", tfs=["PAX5", "BCL6", "EBF1"], n_tfs=2, rank_by="abs")
    assert absolute[absolute["cell_type_v2"] == "B cell"]["tf"].tolist() == ["BCL6", "PAX5"]
    every = tf_to_gene(attr, labels, gene="CD79A", tfs=["PAX5", "BCL6", "EBF1"], n_tfs=None)
    assert len(every) == 6 and every["tf"].tolist()[:3] == ["PAX5", "BCL6", "EBF1"]


def test_no_grouping_and_errors():
    attr = np.ones((4, 2))
    table = tf_to_gene(attr, None, gene="G", tfs=["A", "B"], n_tfs=1)
    assert len(table) == 1 and group_column(table) is None and table["n_metacells"].iloc[0] == 4
    with pytest.raises(Cell2NetInputError, match="2 TFs"):
        tf_to_gene(np.ones((4, 3)), None, gene="G", tfs=["A", "B"])
    with pytest.raises(Cell2NetInputError, match="3 group labels for 4"):
        tf_to_gene(attr, ["a", "b", "c"], gene="G", tfs=["A", "B"])
    with pytest.raises(Cell2NetInputError, match="rank_by"):
        tf_to_gene(attr, None, gene="G", tfs=["A", "B"], rank_by="max")
