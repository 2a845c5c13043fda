"""In-silico perturbation: hand-built models with a known answer, propagation, the CLI's errors."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch

from cell2net_core import cli, data, model
from cell2net_core.errors import Cell2NetInputError
from cell2net_core.perturb import perturb, reachable_genes
from cell2net_core.testing import random_dataset

# Candidate TFs of each gene. TF0 is also a gene with a model: knocking out TF1 moves TF0 at
# round 1 and GENE0 (which lists TF0, not TF1) only at round 2. TF3 is listed by no gene.
LISTS = {"GENE0": ["TF0", "TF2"], "GENE1": ["TF1"], "TF0": ["TF1"]}
# log rate = bias + sum(weight * TF expression), per gene
WEIGHTS = {"GENE0": ({"TF0": 0.08, "TF2": 0.05}, 1.0), "GENE1": ({"TF1": -0.07}, 3.0), "TF0": ({"TF1": 0.06}, 0.5)}


def linear_model(inputs: data.GeneInputs, weights: dict[str, float], bias: float) -> torch.nn.Module:
    """A cell2net module whose log rate is exactly ``bias + sum_j w_j * tf_j`` (TF expression >= 0).

    One hidden unit per TF reads ``|w_j| * tf_j`` (ReLU keeps it), BatchNorm is the identity and the
    output layer adds them with the sign of ``w_j``; peaks and covariates get weight 0.
    """
    module = model.build_model(inputs).eval()
    fc = module.fc
    with torch.no_grad():
        for p in fc.parameters():
            p.zero_()
        bn = fc[2]
        bn.weight.fill_(1.0)
        bn.running_mean.zero_()
        bn.running_var.fill_(1.0 - bn.eps)
        for h, (tf, w) in enumerate(weights.items()):
            fc[0].weight[h, module.tf_slice.start + inputs.tfs.index(tf)] = abs(w)
            fc[4].weight[0, h] = float(np.sign(w))
        fc[4].bias.fill_(bias)
    return module


@pytest.fixture(scope="module")
def hand(tmp_path_factory):
    """A dataset with the links of ``LISTS`` and linear models on disk."""
    root = tmp_path_factory.mktemp("hand")
    mdata = random_dataset(n_metacells=40, n_genes=2, n_tfs=4, seed=5)
    p2g = mdata.uns["peak_to_gene"]
    extra = p2g[p2g["gene"] == "GENE0"].assign(gene="TF0")
    mdata.uns["peak_to_gene"] = pd.concat([p2g, extra], ignore_index=True)
    tfs = [f"TF{i}" for i in range(4)]
    mdata["rna"].uns["gene_tf"] = pd.DataFrame(
        [[int(t in LISTS[g]) for t in tfs] for g in LISTS], index=list(LISTS), columns=tfs, dtype=np.uint8
    )
    path = root / "mdata.h5mu"
    mdata.write(path)
    mdata = data.read_dataset(path)
    for gene, (weights, bias) in WEIGHTS.items():
        model.save_checkpoint(linear_model(data.gene_inputs(mdata, gene), weights, bias), root / "model" / f"{gene}.pt")
    return {"mdata": mdata, "path": path, "models": root / "model"}


def expression(mdata, tf: str) -> np.ndarray:
    return mdata["rna"][:, tf].layers["counts"].toarray()[:, 0].astype(float)


def group_mean(mdata, values: np.ndarray) -> pd.Series:
    return pd.Series(values).groupby(mdata.obs["cell_type_v2"].astype(str).to_numpy()).mean()


def rows(table: pd.DataFrame, gene: str, rnd: int = 1) -> pd.DataFrame:
    return table[(table["gene"] == gene) & (table["round"] == rnd)].set_index("cell_type_v2")


def test_knock_out_has_the_known_answer(hand):
    mdata = hand["mdata"]
    groups = ["B cell", "NK"]
    res = perturb(mdata, hand["models"], tfs="TF1", mode="ko", groups=groups, device="cpu")
    table = res.table
    assert list(table.columns[:6]) == ["tf", "gene", "cell_type_v2", "mean_before", "mean_after", "log2fc"]
    assert set(table["cell_type_v2"]) == set(groups) and set(table["gene"]) == set(LISTS)
    x1 = expression(mdata, "TF1")
    gene1 = rows(table, "GENE1")
    before = group_mean(mdata, np.exp(3.0 - 0.07 * x1))[groups]
    np.testing.assert_allclose(gene1.loc[groups, "mean_before"], before, rtol=1e-5)
    np.testing.assert_allclose(gene1.loc[groups, "mean_after"], np.exp(3.0), rtol=1e-5)  # repressor gone
    assert (gene1["log2fc"] > 0).all() and gene1["direct"].all()
    counts = mdata.obs["cell_type_v2"].astype(str).value_counts()
    assert (gene1["n_metacells"] == counts[gene1.index]).all()
    gene0 = rows(table, "GENE0")  # does not list TF1: unchanged, exactly
    assert (gene0["log2fc"] == 0.0).all() and (gene0["mean_after"] == gene0["mean_before"]).all()
    assert not gene0["direct"].any() and (gene0["changed_inputs"] == "").all()


def test_before_is_the_models_prediction(tiny):
    mdata = data.read_dataset(tiny["mdata"])
    inputs = data.gene_inputs(mdata, "GENE1")
    module = model.load_checkpoint(tiny["models"] / "GENE1.pt", inputs, device="cpu")
    tf = inputs.tfs[0]
    res = perturb(mdata, tiny["models"], tfs=tf, genes=["GENE1"], device="cpu")
    got = rows(res.table, "GENE1")
    np.testing.assert_allclose(got["mean_before"], group_mean(mdata, model.predict(module, inputs))[got.index],
                               rtol=1e-4)  # fmt: skip
    knocked = inputs.tf_exp.copy()
    knocked[:, 0] = 0
    after = model.predict(module, dataclasses.replace(inputs, tf_exp=knocked))
    np.testing.assert_allclose(got["mean_after"], group_mean(mdata, after)[got.index], rtol=1e-4)
    assert (got["log2fc"] != 0).any()


def test_gene_not_listing_the_tf_is_exactly_unchanged(tiny):
    mdata = data.read_dataset(tiny["mdata"])
    only1 = sorted(set(data.gene_tfs(mdata, "GENE1")) - set(data.gene_tfs(mdata, "GENE0")))
    assert only1, "the tiny fixture should have a TF that GENE1 lists and GENE0 does not"
    table = perturb(mdata, tiny["models"], tfs=only1[0], device="cpu").table
    assert (table.loc[table["gene"] == "GENE0", "log2fc"] == 0.0).all()
    assert (table.loc[table["gene"] == "GENE1", "log2fc"] != 0.0).any()


def test_rounds_pass_the_change_on_through_genes_that_are_tfs(hand):
    mdata = hand["mdata"]
    assert reachable_genes(mdata, hand["models"], "TF1") == ["GENE1", "TF0"]
    assert reachable_genes(mdata, hand["models"], "TF1", rounds=2) == ["GENE0", "GENE1", "TF0"]
    table = perturb(mdata, hand["models"], tfs="TF1", mode="ko", rounds=2, device="cpu").table
    assert sorted(table["round"].unique()) == [1, 2]
    assert (rows(table, "GENE0", 1)["log2fc"] == 0).all()
    x0, x1, x2 = (expression(mdata, t) for t in ("TF0", "TF1", "TF2"))
    fold0 = np.exp(-0.06 * x1)  # TF0's predicted fold change per metacell: its activator TF1 is gone
    expected = group_mean(mdata, np.exp(1.0 + 0.08 * x0 * fold0 + 0.05 * x2))
    gene0 = rows(table, "GENE0", 2)
    np.testing.assert_allclose(gene0["mean_after"], expected[gene0.index], rtol=1e-5)
    assert (gene0["log2fc"] < 0).all() and (gene0["changed_inputs"] == "TF0").all()
    assert not gene0["direct"].any()
    tf0 = rows(table, "TF0", 2)  # its own input stays knocked out: same as round 1
    np.testing.assert_allclose(tf0["mean_after"], rows(table, "TF0", 1)["mean_after"], rtol=1e-12)


def test_over_expression_moves_the_other_way_and_warns_beyond_the_data(hand):
    mdata = hand["mdata"]
    ko = perturb(mdata, hand["models"], tfs=["TF1", "TF2"], mode="ko", device="cpu").table
    oe = perturb(mdata, hand["models"], tfs=["TF1", "TF2"], mode="oe", factor=3.0, device="cpu")
    assert set(oe.table["tf"]) == {"TF1", "TF2"}
    key = ["tf", "gene", "cell_type_v2"]
    both = ko.merge(oe.table, on=key, suffixes=("_ko", "_oe"))
    moved = both[both["log2fc_ko"] != 0]
    assert len(moved) and (np.sign(moved["log2fc_ko"]) == -np.sign(moved["log2fc_oe"])).all()
    x1 = expression(mdata, "TF1")
    gene1 = rows(oe.table[oe.table["tf"] == "TF1"], "GENE1")
    np.testing.assert_allclose(gene1["mean_after"], group_mean(mdata, np.exp(3.0 - 0.21 * x1))[gene1.index], rtol=1e-5)
    beyond = group_mean(mdata, (3 * x1 > x1.max()).astype(float)) > 0
    assert (gene1["beyond_training_max"] == beyond[gene1.index]).all() and gene1["beyond_training_max"].any()
    assert any("TF1" in w and "highest value in the dataset" in w for w in oe.warnings)
    assert not ko["beyond_training_max"].any()


def test_bad_input_is_named(hand):
    mdata, models = hand["mdata"], hand["models"]
    with pytest.raises(Cell2NetInputError, match="close names: TF1"):
        perturb(mdata, models, tfs="TF11", device="cpu")
    with pytest.raises(Cell2NetInputError, match="'TF3'.*no gene with a model lists it"):
        perturb(mdata, models, tfs="TF3", device="cpu")
    with pytest.raises(Cell2NetInputError, match="mode 'kd'"):
        perturb(mdata, models, tfs="TF1", mode="kd", device="cpu")
    with pytest.raises(Cell2NetInputError, match="'Neutrophil'"):
        perturb(mdata, models, tfs="TF1", groups=["Neutrophil"], device="cpu")


def test_a_bad_checkpoint_never_stops_the_others(hand, tmp_path):
    for gene in LISTS:
        (tmp_path / f"{gene}.pt").write_bytes((hand["models"] / f"{gene}.pt").read_bytes())
    (tmp_path / "GENE1.pt").write_bytes(b"not a checkpoint")
    res = perturb(hand["mdata"], tmp_path, tfs="TF1", device="cpu")
    assert set(res.failed) == {"GENE1"} and "GENE1.pt" in res.failed["GENE1"]
    assert set(res.table["gene"]) == {"GENE0", "TF0"}


def test_cli_writes_the_table_and_names_bad_tfs(hand, tmp_path, capsys):
    out = tmp_path / "ko.csv"
    base = ["perturb", "--mdata", str(hand["path"]), "--models", str(hand["models"])]
    assert cli.main([*base, "--tf", "TF1", "--groups", "NK,B cell", "--rounds", "2", "--out", str(out)]) == 0
    table = pd.read_csv(out)
    assert set(table["cell_type_v2"]) == {"NK", "B cell"} and set(table["round"]) == {1, 2}
    assert "3 genes predicted" in capsys.readouterr().err
    assert cli.main([*base, "--tf", "TF1,tf2x", "--out", str(tmp_path / "x.csv")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: TF 'tf2x' is not a TF of the dataset; close names: TF2."]
    assert cli.main([*base, "--tf", "TF3", "--out", str(tmp_path / "x.csv")]) == 2
    assert "no gene with a model lists it as a candidate" in capsys.readouterr().err
    assert not (tmp_path / "x.csv").exists()
    assert cli.main([*base, "--tf", "TF1", "--mode", "oe", "--factor", "5", "--out", str(out)]) == 0
    assert "warning: Over-expressing TF1 x5" in capsys.readouterr().err
