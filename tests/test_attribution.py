"""TF attribution: our captum path vs the tutorial's full-module captum run, the exact integral."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from captum.attr import IntegratedGradients

from cell2net_core import data, model
from cell2net_core.attribution import run_batched, tf_attr
from cell2net_core.errors import Cell2NetInputError
from cell2net_core.testing import random_model


@pytest.fixture(scope="module")
def case(tiny):
    inputs = data.gene_inputs(data.read_dataset(tiny["mdata"]), "GENE1")
    return inputs, random_model(inputs, seed=2)


def tutorial_attr(module, inputs, *, n=12, n_steps=100, batch=2):
    """The tutorial's way on the first ``n`` metacells: captum over the full module, 2 metacells per call."""
    t = model.to_tensors(inputs, torch.device("cpu"))
    seq, dist = t["peak_seq"].expand(n, -1, -1, -1), t["peak_dist"].expand(n, -1)
    ig = IntegratedGradients(module, multiply_by_inputs=True)
    out = []
    for i in range(0, n, batch):
        s = slice(i, i + batch)
        tf = t["tf_exp"][s].clone().requires_grad_()
        a = ig.attribute(
            inputs=(seq[s], t["peak_acc"][s], dist[s], tf),
            baselines=(seq[s], t["peak_acc"][s], dist[s], torch.zeros_like(tf)),
            additional_forward_args=t["covariates"][s],
            n_steps=n_steps,
        )
        out.append(a[3].detach())
    return torch.cat(out).numpy()


def test_captum_path_equals_tutorial_run(case):
    inputs, module = case
    expected = tutorial_attr(module, inputs)
    got = tf_attr(module, inputs, method="captum", device="cpu")
    assert got.attr.shape == (inputs.n_metacells, inputs.n_tfs) and got.tfs == inputs.tfs
    np.testing.assert_allclose(got.attr[: len(expected)], expected, atol=1e-5 * np.abs(expected).max())


@pytest.mark.parametrize("method", ["captum", "exact"])
def test_batching_does_not_change_results(case, method):
    inputs, module = case
    seen = []
    one = tf_attr(module, inputs, method=method, batch_size=7, device="cpu", progress=lambda d, t: seen.append(d)).attr
    many = tf_attr(module, inputs, method=method, batch_size=1000, device="cpu").attr
    assert seen == [7, 14, 21, 28, 35, 42, 48]  # the exact method honours batch_size too
    np.testing.assert_allclose(one, many, rtol=1e-5, atol=1e-7)


def test_run_batched_covers_every_row_once():
    rows = torch.arange(10.0)
    calls = []

    def double(sl):
        calls.append((sl.start, sl.stop))
        return rows[sl] * 2

    out = run_batched(double, 10, batch_size=4)
    torch.testing.assert_close(out, rows * 2)
    assert calls == [(0, 4), (4, 8), (8, 12)]
    with pytest.raises(Cell2NetInputError, match="batch_size"):
        run_batched(double, 10, batch_size=0)


def test_exact_is_the_limit_of_many_steps_and_complete(case):
    inputs, module = case
    exact = tf_attr(module, inputs, method="exact", device="cpu")
    scale = np.abs(exact.attr).max()
    runs = {n: tf_attr(module, inputs, method="captum", n_steps=n, device="cpu") for n in (10, 100, 400)}
    errors = [np.abs(exact.attr - runs[n].attr).max() / scale for n in (10, 100, 400)]
    assert errors[0] > errors[1] > errors[2] and errors[2] < 3e-3
    rel = np.abs(exact.gap) / np.abs(exact.delta)
    assert rel.max() < 1e-5
    assert exact.max_relative_gap() == pytest.approx(rel.max())
    assert np.median(np.abs(runs[10].gap) / np.abs(runs[10].delta)) > 100 * rel.max()


@pytest.mark.parametrize("method", ["exact", "captum"])
def test_both_methods_on_a_hand_built_head(method):
    """One TF, one live hidden unit z = -1 + 2 * alpha * t / t: active on half the path.

    captum's 100 Gauss-Legendre points lie symmetric about 1/2, none on it: the half above weighs 1/2 exactly."""
    module = model.PeaksTF2GeneExpressionPoisson(n_peaks=1, n_tfs=1, n_covariates=0)
    with torch.no_grad():
        for p in module.fc.parameters():
            p.zero_()
        lin, bn, out = module.fc[0], module.fc[2], module.fc[4]
        lin.weight[0, 17] = 2.0 / 4.0  # tf_exp column, t = 4 -> slope 2
        lin.bias[0] = -1.0
        bn.running_mean.zero_()
        bn.running_var.fill_(1.0 - bn.eps)
        bn.weight.fill_(1.0)
        out.weight[0, 0] = 3.0
    module.eval()
    rng = np.random.default_rng(0)
    inputs = data.GeneInputs(
        gene="G", peaks=["p"], tfs=["T"], covariate_names=[], obs_names=["m"],
        peak_seq=data.one_hot(["".join(rng.choice(list("ACGT"), 256))]), peak_acc=np.ones((1, 1), np.float32),
        peak_dist=np.ones(1, np.float32), tf_exp=np.full((1, 1), 4.0, np.float32),
        covariates=np.zeros((1, 0), np.float32), target=np.zeros(1, np.float32),
    )  # fmt: skip
    res = tf_attr(module, inputs, method=method, device="cpu")
    # f(alpha) = 3 * relu(2 alpha - 1): f(1) - f(0) = 3, all of it from the one TF
    assert res.attr[0, 0] == pytest.approx(3.0)
    assert res.delta[0] == pytest.approx(3.0)
    raw = tf_attr(module, inputs, method=method, multiply_by_inputs=False, device="cpu")
    assert raw.attr[0, 0] == pytest.approx(3.0 * 0.5 * 0.5)  # mean gradient: w * v * share of path


def test_train_mode_and_bad_options_are_refused(case):
    inputs, module = case
    module.train()
    try:
        before = module.fc[2].running_mean.clone()
        with pytest.raises(Cell2NetInputError, match="train mode"):
            tf_attr(module, inputs)
        torch.testing.assert_close(module.fc[2].running_mean, before)
    finally:
        module.eval()
    with pytest.raises(Cell2NetInputError, match="'ig'"):
        tf_attr(module, inputs, method="ig")
    with pytest.raises(Cell2NetInputError, match="n_steps"):
        tf_attr(module, inputs, n_steps=0)


def test_progress_reports_every_metacell(case):
    inputs, module = case
    seen = []
    tf_attr(module, inputs, batch_size=10, progress=lambda done, total: seen.append((done, total)), device="cpu")
    assert seen[-1] == (inputs.n_metacells, inputs.n_metacells) and len(seen) == 5


@pytest.mark.parametrize(("n_steps", "multiply_by_inputs"), [(20, True), (7, False)])
def test_captum_path_equals_captum_autograd_on_the_whole_module(case, n_steps, multiply_by_inputs):
    """The closed-form gradient at each Gauss-Legendre point equals captum's own backward pass there."""
    inputs, module = case
    t = model.to_tensors(inputs, torch.device("cpu"))
    n = 16
    seq, dist = t["peak_seq"].expand(n, -1, -1, -1), t["peak_dist"].expand(n, -1)
    tf = t["tf_exp"][:n].clone().requires_grad_()
    ig = IntegratedGradients(module, multiply_by_inputs=multiply_by_inputs)
    expected = ig.attribute(
        inputs=(seq, t["peak_acc"][:n], dist, tf),
        baselines=(seq, t["peak_acc"][:n], dist, torch.zeros_like(tf)),
        additional_forward_args=t["covariates"][:n], n_steps=n_steps,
    )[3].detach().numpy()  # fmt: skip
    got = tf_attr(module, inputs, n_steps=n_steps, multiply_by_inputs=multiply_by_inputs, device="cpu").attr[:n]
    np.testing.assert_allclose(got, expected, atol=1e-5 * np.abs(expected).max())
    assert np.abs(expected).max() > 0
