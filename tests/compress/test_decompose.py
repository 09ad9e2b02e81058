"""Tests of tensornet/compress/decompose.py, against a real two-factor low-rank layer.

``TwoFactorLinear`` (tests/compress/fakes.py) is a genuine SVD layer; the ``"svd"`` method is
pointed at it so these tests run whether or not the layer classes of the ``factorized`` package
are installed.
"""

import importlib

import numpy as np
import pytest

from tensornet.compress.decompose import decompose
from tensornet.nn import SGD, Linear, Sequential, cross_entropy, fit, lenet5, lenet300_100
from tensornet.rank.budget import Budget
from tests.compress.fakes import TwoFactorLinear

# the package exports the function ``decompose`` under the submodule's name
decompose_module = importlib.import_module("tensornet.compress.decompose")


@pytest.fixture
def svd_is_two_factor(monkeypatch):
    real = decompose_module._layer_class

    def lookup(method, kind):
        if method == "svd" and kind == "Linear":
            return TwoFactorLinear
        return real(method, kind)

    monkeypatch.setattr(decompose_module, "_layer_class", lookup)


def _trained_like(seed=0):
    """LeNet-300-100 with weights of decaying spectra (like a trained net), float32."""
    model = lenet300_100(random_state=seed)
    rng = np.random.default_rng(seed)
    for key, w in model.params.items():
        if w.ndim == 2:
            u, _, vt = np.linalg.svd(rng.standard_normal(w.shape), full_matrices=False)
            s = 1.0 / (1.0 + np.arange(len(vt))) ** 1.5
            w[...] = ((u * s) @ vt).astype(np.float32)
        else:
            w[...] = 0.1 * rng.standard_normal(w.shape).astype(np.float32)
    return model


def test_original_untouched_and_linear_layers_replaced(svd_is_two_factor):
    model = _trained_like()
    before = model.state_dict()
    new, report = decompose(model, "svd", ranks=5)
    for key, value in before.items():
        np.testing.assert_array_equal(model.state_dict()[key], value)
    assert [r.name for r in report.layers] == ["fc1", "fc2", "fc3"]
    assert all(isinstance(new[n], TwoFactorLinear) for n in ("fc1", "fc2", "fc3"))
    assert all(r.ranks == (5,) for r in report.layers)
    assert report.layers[0].params_before == 784 * 300 + 300
    assert report.layers[0].params_after == 5 * (784 + 300) + 300
    assert new.params["fc1.left"].dtype == np.float32
    assert report.model_params_after == new.n_params < model.n_params == report.model_params_before
    assert "fc2" in report.table() and "x" in report.table()


def test_outputs_move_at_most_what_the_weight_errors_allow(svd_is_two_factor):
    """Per sample: ``d_k <= ||W~_k||_2 d_{k-1} + ||E_k||_2 ||h_{k-1}||`` (ReLU is 1-Lipschitz).

    ``h_k`` are the dense network's hidden states, ``d_k = ||h~_k - h_k||`` with ``d_0 = 0``, and
    ``||E_k||_2 <= ||E_k||_F = relative_error_k ||W_k||_F`` from the report.
    """
    model = _trained_like(seed=1)
    new, report = decompose(model, "svd", ranks=(8,))
    x = np.random.default_rng(2).standard_normal((16, 1, 28, 28)).astype(np.float32)
    h = x.reshape(16, -1).astype(np.float64)
    bound = np.zeros(16)
    for layer_report in report.layers:
        w = model[layer_report.name].params["weight"].astype(np.float64)
        w_new = new[layer_report.name].weight().astype(np.float64)
        e_norm = layer_report.relative_error * np.linalg.norm(w)
        bound = np.linalg.norm(w_new, 2) * bound + e_norm * np.linalg.norm(h, axis=1)
        h = np.maximum(h @ w + model[layer_report.name].params["bias"], 0)
    gap = np.linalg.norm(new(x).astype(np.float64) - model(x).astype(np.float64), axis=1)
    assert np.all(gap <= bound * (1 + 1e-4) + 1e-5)
    assert np.all(gap > 0)


def test_single_linear_layer_output_error_is_input_norm_times_weight_error(svd_is_two_factor):
    rng = np.random.default_rng(3)
    net = Sequential(("fc", Linear(40, 30, random_state=0, dtype=np.float64)))
    net.params["fc.weight"][...] = rng.standard_normal((40, 30))
    new, report = decompose(net, "svd", eps=0.5)
    x = rng.standard_normal((10, 40))
    w = net.params["fc.weight"]
    e_fro = report.layers[0].relative_error * np.linalg.norm(w)
    e_2 = np.linalg.norm(w - new["fc"].weight(), 2)
    gap = np.linalg.norm(new(x) - net(x), axis=1)
    assert e_2 <= e_fro * (1 + 1e-12)
    assert np.all(gap <= np.linalg.norm(x, axis=1) * e_2 * (1 + 1e-10))
    assert report.layers[0].relative_error <= 0.5


def test_budget_minimax_fits_and_bounds_every_layer_error(svd_is_two_factor):
    model = _trained_like(seed=4)
    dense = sum(model[n].n_params for n in ("fc1", "fc2", "fc3"))
    new, report = decompose(model, "svd", budget=0.1)
    assert report.budget == int(0.1 * dense)
    after = sum(r.params_after for r in report.layers)
    assert after <= report.budget == report.budget
    assert report.extra["cost"] == after
    for r in report.layers:  # SVD truncation error equals the bound (float32 cast aside)
        assert r.relative_error <= report.eps + 1e-5
    assert max(r.relative_error for r in report.layers) >= report.eps - 1e-5
    # a larger budget gives a smaller minimax error
    _, bigger = decompose(model, "svd", budget=0.3)
    assert bigger.eps < report.eps


def test_flop_budget_counts_each_layer_at_its_input_shape(svd_is_two_factor):
    model = _trained_like(seed=5)
    budget = Budget(0.2, kind="flops", input_shape=(1, 1, 28, 28))
    new, report = decompose(model, "svd", budget=budget)
    dense = 784 * 300 + 300 * 100 + 100 * 10
    assert report.extra["dense_cost"] == dense and report.budget == int(0.2 * dense)
    flops = sum(
        new[r.name].flops((1, r_in), path="factors")
        for r, r_in in zip(report.layers, (784, 300, 100), strict=True)
    )
    assert flops == report.extra["cost"] <= report.budget


def test_energy_rule_bounds_each_layer_and_evbmf_finds_planted_ranks(svd_is_two_factor):
    model = _trained_like(seed=6)
    _, report = decompose(model, "svd", rank_selection="energy", energy=0.95)
    assert all(r.relative_error <= np.sqrt(0.05) + 1e-5 for r in report.layers)
    planted = _trained_like(seed=7)
    rng = np.random.default_rng(7)
    for key in ("fc1.weight", "fc2.weight"):  # rank 6 plus white noise: EVBMF's model
        n, m = planted.params[key].shape
        signal = rng.standard_normal((n, 6)) @ rng.standard_normal((6, m)) / np.sqrt(n)
        planted.params[key][...] = signal + 0.01 * rng.standard_normal((n, m))
    _, report = decompose(planted, "svd", rank_selection="evbmf", layers=["fc1", "fc2"])
    assert [r.ranks for r in report.layers] == [(6,), (6,)]


def test_proportional_rule_scales_every_rank_alike(svd_is_two_factor):
    model = _trained_like(seed=8)
    _, report = decompose(model, "svd", rank_selection="proportional", budget=0.2)
    rho = report.extra["fraction"]
    assert [r.ranks for r in report.layers] == [
        (int(np.ceil(rho * m - 1e-9)),) for m in (300, 100, 10)
    ]
    assert sum(r.params_after for r in report.layers) <= report.budget


def test_generic_budget_search_with_a_layer_class(svd_is_two_factor):
    model = _trained_like(seed=9)
    new, report = decompose(model, TwoFactorLinear, budget=20_000)
    assert sum(r.params_after for r in report.layers) <= 20_000
    assert report.layers[0].method == "TwoFactorLinear"
    # same minimax error as the exact singular-value search, to the bisection tolerance
    _, exact = decompose(model, "svd", budget=20_000)
    assert abs(report.eps - exact.eps) <= 2e-3


def test_errors_name_the_layer(svd_is_two_factor):
    model = _trained_like()
    with pytest.raises(ValueError, match="layer 'fc1' is a Linear, which method='cp' does not"):
        decompose(model, "cp", ranks=3, layers=["fc1"])
    with pytest.raises(ValueError, match="no Linear or Conv2d layer that method='gkpd' fits"):
        decompose(model, "gkpd", ranks=3)
    with pytest.raises(ValueError, match="layer 'relu1' is a ReLU"):
        decompose(model, "svd", ranks=3, layers=["relu1"])
    with pytest.raises(ValueError, match="no layer 'fc9'"):
        decompose(model, "svd", ranks=3, layers=["fc9"])
    with pytest.raises(ValueError, match=r"layer 'fc2': ranks=0 must be an integer >= 1"):
        decompose(model, "svd", ranks={"fc1": 3, "fc2": 0})
    with pytest.raises(ValueError, match=r"layer 'fc3' \(Linear\): ranks=50 must lie in \[1, 10\]"):
        decompose(model, "svd", ranks=50)
    with pytest.raises(
        ValueError, match=r"budget of 100 params cannot be met.*fc1: 1,384, fc2: 500, fc3: 120"
    ):
        decompose(model, "svd", budget=100)
    with pytest.raises(ValueError, match="only one of"):
        decompose(model, "svd", ranks=3, eps=0.1)
    with pytest.raises(ValueError, match="give ranks, eps"):
        decompose(model, "svd")
    with pytest.raises(ValueError, match="'proportional' needs a budget"):
        decompose(model, "svd", rank_selection="proportional")
    with pytest.raises(ValueError, match="method='qr'"):
        decompose(model, "qr", ranks=3)
    with pytest.raises(ValueError, match=r"eps for layer 'fc1'=1.5 must lie in \[0, 1\)"):
        decompose(model, "svd", eps=1.5)


def test_missing_layer_class_is_reported(monkeypatch):
    monkeypatch.setitem(decompose_module.METHODS, "tt", {"Linear": ("nosuch", "TTLinear")})
    with pytest.raises(ImportError, match=r"tensornet.nn.factorized.nosuch.TTLinear"):
        decompose(_trained_like(), "tt", ranks=2)


def test_conv_layers_are_chosen_by_method(svd_is_two_factor):
    model = lenet5(random_state=0)
    # "svd" covers Linear here (the fake), Conv2d stays with the real lookup: pick only fc layers
    new, report = decompose(model, "svd", ranks=4, layers=["fc1", "fc2"])
    assert [r.name for r in report.layers] == ["fc1", "fc2"]
    assert type(new["conv1"]).__name__ == "Conv2d"


def test_decomposed_model_fine_tunes(svd_is_two_factor):
    model = _trained_like(seed=10)
    new, _ = decompose(model, "svd", ranks=4)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, 64)
    before = new.params["fc1.left"].copy()
    fit(
        new,
        cross_entropy,
        SGD(new.params, lr=0.01),
        (x, y),
        epochs=1,
        batch_size=32,
        progress=False,
    )
    assert not np.array_equal(before, new.params["fc1.left"])
