"""decompose with the real factorized layer classes of every format.

Checks per format: the report's ranks, parameter counts and errors describe the layers that
were built, the model outputs move at most what the weight errors allow, and the budget
searches keep to their budget.
"""

import numpy as np
import pytest

from tensornet.compress.decompose import decompose
from tensornet.nn import Conv2d, Flatten, Linear, ReLU, Sequential
from tensornet.rank.budget import Budget

LINEAR_CASES = [
    ("svd", {"ranks": 4}),
    ("svd", {"eps": 0.5}),
    ("tt", {"ranks": 3}),
    ("tt", {"eps": 0.5}),
    ("tr", {"ranks": 2}),
    ("ht", {"eps": 0.5}),
    ("btd", {"ranks": 2}),
    ("kpd", {"ranks": 2}),
    ("kpd", {"eps": 0.5}),
    ("stt", {"eps": 0.5}),
]
CONV_CASES = [
    ("svd", {"ranks": 3}),
    ("cp", {"ranks": 3}),
    ("tucker2", {"ranks": (2, 3)}),
    ("tt", {"ranks": 2}),
    ("tr", {"ranks": 2}),
    ("btd", {"ranks": 2}),
    ("gkpd", {"ranks": 2, "a_shape": (2, 2, 3, 1)}),
]


def _mlp():
    net = Sequential(
        ("fc1", Linear(64, 48, random_state=0, dtype=np.float64)),
        ("relu", ReLU()),
        ("fc2", Linear(48, 12, random_state=1, dtype=np.float64)),
    )
    rng = np.random.default_rng(0)
    for key, value in net.params.items():
        value[...] = rng.standard_normal(value.shape) * (0.2 if value.ndim == 2 else 0.1)
    return net


def _cnn():
    net = Sequential(
        ("conv1", Conv2d(4, 8, 3, padding=1, random_state=0, dtype=np.float64)),
        ("relu", ReLU()),
        ("conv2", Conv2d(8, 6, 3, stride=2, random_state=1, dtype=np.float64)),
        ("flat", Flatten()),
    )
    rng = np.random.default_rng(1)
    for value in net.params.values():
        value[...] = rng.standard_normal(value.shape) * 0.2
    return net


def _lipschitz_bound(model, new, report, x, norm_2):
    """``d_k <= ||W~_k|| d_{k-1} + ||E_k|| ||h_{k-1}||`` per sample, ReLU 1-Lipschitz."""
    h, bound = x, np.zeros(len(x))
    for r in report.layers:
        dense, layer = model[r.name], new[r.name]
        e_fro = r.relative_error * np.linalg.norm(dense.params["weight"])
        bound = norm_2(layer) * bound + e_fro * np.linalg.norm(h.reshape(len(h), -1), axis=1)
        h = np.maximum(dense(h), 0)
    return bound


@pytest.mark.parametrize(("method", "kwargs"), LINEAR_CASES)
def test_linear_formats_report_and_output_bound(method, kwargs):
    model = _mlp()
    new, report = decompose(model, method, random_state=0, **kwargs)
    assert [r.name for r in report.layers] == ["fc1", "fc2"]
    for r in report.layers:
        w = model[r.name].params["weight"]
        err = np.linalg.norm(new[r.name].weight() - w) / np.linalg.norm(w)
        assert np.isclose(r.relative_error, err, rtol=1e-9)
        assert r.params_after == new[r.name].n_params
        if "eps" in kwargs:
            assert r.relative_error <= kwargs["eps"] + 1e-9
    x = np.random.default_rng(2).standard_normal((8, 64))
    bound = _lipschitz_bound(model, new, report, x, lambda layer: np.linalg.norm(layer.weight(), 2))
    gap = np.linalg.norm(new(x) - model(x), axis=1)
    assert np.all(gap <= bound * (1 + 1e-9) + 1e-12)


@pytest.mark.parametrize(("method", "kwargs"), CONV_CASES)
def test_conv_formats_report_and_output_bound(method, kwargs):
    model = _cnn()
    new, report = decompose(model, method, random_state=0, **kwargs)
    assert [r.name for r in report.layers] == ["conv1", "conv2"]
    x = np.random.default_rng(3).standard_normal((3, 4, 9, 9))

    def conv_norm(layer):
        # ||conv_K||_2 <= sqrt(KH KW) ||K unfolded (O x C KH KW)||_2 for stride >= 1
        k = layer.weight()
        return np.sqrt(k.shape[2] * k.shape[3]) * np.linalg.norm(k.reshape(k.shape[0], -1), 2)

    h, bound = x, np.zeros(len(x))
    for r in report.layers:
        dense, layer = model[r.name], new[r.name]
        e_fro = r.relative_error * np.linalg.norm(dense.params["weight"])
        k = dense.params["weight"]
        bound = conv_norm(layer) * bound + np.sqrt(
            k.shape[2] * k.shape[3]
        ) * e_fro * np.linalg.norm(h.reshape(len(h), -1), axis=1)
        h = np.maximum(dense(h), 0)
        assert r.params_after == layer.n_params
    gap = np.linalg.norm(new(x) - model(x), axis=1)
    assert np.all(gap <= bound * (1 + 1e-9))


@pytest.mark.parametrize("method", ["svd", "tt", "kpd", "tr"])
def test_linear_budget_search_keeps_to_the_budget(method):
    model = _mlp()
    new, report = decompose(model, method, budget=0.25)
    dense = 64 * 48 + 48 + 48 * 12 + 12
    assert report.budget == int(0.25 * dense)
    assert sum(new[r.name].n_params for r in report.layers) <= report.budget
    if report.eps is not None:
        assert all(r.relative_error <= report.eps + 1e-6 for r in report.layers)


@pytest.mark.parametrize("method", ["svd", "tucker2", "cp"])
def test_conv_budget_search_keeps_to_the_budget(method):
    model = _cnn()
    dense = 8 * 4 * 9 + 8 + 6 * 8 * 9 + 6
    new, report = decompose(model, method, budget=0.6, random_state=0)
    assert report.budget == int(0.6 * dense)
    assert sum(new[r.name].n_params for r in report.layers) <= report.budget


def test_svd_flop_budget_with_conv_geometry():
    model = _cnn()
    budget = Budget(0.5, kind="flops", input_shape=(1, 4, 9, 9))
    new, report = decompose(model, "svd", budget=budget)
    dense = 81 * 8 * 4 * 9 + 16 * 6 * 8 * 9  # 9x9 out (padding 1), then 4x4 (stride 2)
    assert report.extra["dense_cost"] == dense
    flops = new["conv1"].flops((1, 4, 9, 9), path="factors") + new["conv2"].flops(
        (1, 8, 9, 9), path="factors"
    )
    assert flops == report.extra["cost"] <= report.budget


def test_tucker2_evbmf_ranks_are_at_least_one_and_in_class_order():
    model = _cnn()
    new, report = decompose(model, "tucker2", rank_selection="evbmf")
    for r in report.layers:
        r_in, r_out = r.ranks
        assert 1 <= r_in <= model[r.name].in_channels and 1 <= r_out <= model[r.name].out_channels


def test_methods_without_error_bound_refuse_energy():
    with pytest.raises(ValueError, match=r"layer 'conv1'.*takes no error bound eps"):
        decompose(_cnn(), "cp", rank_selection="energy")


def test_spatial_svd_budget_uses_the_layer_class_not_the_channel_profile():
    model = _cnn()
    new, report = decompose(model, "svd", budget=0.6, scheme="spatial")
    assert all(new[r.name].scheme == "spatial" for r in report.layers)
    assert sum(new[r.name].n_params for r in report.layers) <= report.budget
    assert all(r.relative_error <= report.eps + 1e-9 for r in report.layers)


def test_tucker2_budget_at_the_rank_one_floor_is_met():
    """With two unfoldings the eps-truncated ranks reach (1, 1) only at eps = sqrt(2)."""
    model = _cnn()
    floor = sum(
        model[n].in_channels + 9 + model[n].out_channels + model[n].out_channels
        for n in ("conv1", "conv2")
    )  # C r_in + r_in r_out KH KW + r_out O + bias at ranks (1, 1)
    new, report = decompose(model, "tucker2", budget=floor)
    assert [r.ranks for r in report.layers] == [(1, 1), (1, 1)]
    with pytest.raises(ValueError, match=f"budget of {floor - 1} params cannot be met"):
        decompose(model, "tucker2", budget=floor - 1)
