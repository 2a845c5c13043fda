"""Training: learns planted effects, keeps the best epoch, round-trips through cell2net's checkpoint format."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr

from cell2net_core.cli import main as cli_main
from cell2net_core.data import gene_inputs
from cell2net_core.demo.simulate import simulate
from cell2net_core.demo.train import train
from cell2net_core.errors import Cell2NetInputError
from cell2net_core.model import load_checkpoint, predict, save_checkpoint


@pytest.fixture(scope="module")
def planted():
    torch.set_num_threads(1)
    mdata, _, _ = simulate(n_metacells=300, n_genes=2, n_tfs=20, seed=2)
    return mdata


@pytest.fixture(scope="module")
def trained(planted):
    return train(planted, "CD14", max_epochs=12, lr=3e-3, seed=0, device="cpu")


def test_predictions_follow_planted_counts(planted, trained):
    x = gene_inputs(planted, "CD14")
    pred = predict(trained.module, x)
    assert spearmanr(pred, x.target).statistic > 0.6
    assert not trained.module.training


def test_history_results_and_best_epoch(trained):
    h = trained.history
    assert list(h.columns) == ["epochs", "train_loss", "valid_loss", "train_corr", "valid_corr"]
    assert len(h) == 12 and h["epochs"].tolist() == list(range(12))
    assert trained.best_epoch == int(h["valid_corr"].idxmax())
    assert trained.best_valid_corr == pytest.approx(h["valid_corr"].max())
    assert list(trained.results.columns) == ["true", "pred", "data"]
    assert set(trained.results["data"]) == {"train", "valid"}
    assert (trained.results["data"] == "valid").sum() == 60


def test_best_state_is_kept_not_the_last(planted):
    r = train(planted, "MS4A1", max_epochs=6, lr=3e-2, seed=1, device="cpu")
    x = gene_inputs(planted, "MS4A1")
    valid = r.results[r.results["data"] == "valid"]
    order = np.sort(np.random.default_rng(1).permutation(x.n_metacells)[240:])
    pred = predict(r.module, x)[order]
    np.testing.assert_allclose(pred, valid["pred"].to_numpy(), rtol=1e-4)


def test_checkpoint_round_trip(planted, trained, tmp_path):
    x = gene_inputs(planted, "CD14")
    path = save_checkpoint(trained.module, tmp_path / "CD14.pt", history=trained.history, results=trained.results)
    raw = torch.load(path, weights_only=True)
    assert set(raw) == {"model_state_dict", "module_summary", "history", "results"}
    assert raw["module_summary"]["n_tfs"] == x.n_tfs
    loaded = load_checkpoint(path, x, device="cpu")
    np.testing.assert_allclose(predict(loaded, x), predict(trained.module, x), rtol=1e-5)


def test_same_seed_same_weights(planted):
    a = train(planted, "MS4A1", max_epochs=2, seed=5, device="cpu")
    b = train(planted, "MS4A1", max_epochs=2, seed=5, device="cpu")
    sa, sb = a.module.state_dict(), b.module.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.mark.parametrize(
    ("option", "match"),
    [({"max_epochs": 0}, "max_epochs=0"), ({"train_size": 1.5}, "train_size=1.5"), ({"batch_size": 1}, "batch_size=1")],
)
def test_bad_options_are_input_errors(planted, option, match):
    with pytest.raises(Cell2NetInputError, match=match):
        train(planted, "CD14", **option)


def test_cli_train_prints_a_line_per_gene(planted, tmp_path, capsys):
    path = tmp_path / "m.h5mu"
    planted.write(path)
    code = cli_main(
        ["train", "--mdata", str(path), "--out", str(tmp_path / "model"), "--genes", "CD14", "--epochs", "2"]
    )
    out = capsys.readouterr().out.strip().splitlines()
    assert code == 0
    gene, epoch, corr, seconds = out[-1].split("\t")
    assert gene == "CD14" and int(epoch) in (0, 1) and -1 <= float(corr) <= 1 and float(seconds) >= 0
    assert (tmp_path / "model" / "CD14.pt").is_file()
    code = cli_main(["train", "--mdata", str(path), "--out", str(tmp_path / "model"), "--genes", "NOPE"])
    assert code == 2 and capsys.readouterr().err.startswith("error: gene(s) ['NOPE']")
