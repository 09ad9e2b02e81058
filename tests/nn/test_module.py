"""Module, Sequential and value_and_grad of tensornet/nn/module.py."""

import autograd
import numpy as np
import pytest

from tensornet.nn import (
    BatchNorm1d,
    Linear,
    Module,
    ReLU,
    Sequential,
    cross_entropy,
    lenet5,
    lenet300_100,
    value_and_grad,
)


def _net():
    return Sequential(
        ("fc1", Linear(4, 5, random_state=0, dtype=np.float64)),
        ("bn", BatchNorm1d(5, dtype=np.float64)),
        ("act", ReLU()),
        ("fc2", Linear(5, 3, random_state=1, dtype=np.float64)),
    )


def test_params_are_flat_dotted_names_of_live_arrays():
    net = _net()
    assert list(net.params) == [
        "fc1.weight",
        "fc1.bias",
        "bn.weight",
        "bn.bias",
        "fc2.weight",
        "fc2.bias",
    ]
    assert net.params["fc1.weight"] is net["fc1"].params["weight"]
    assert list(net.buffers) == ["bn.running_mean", "bn.running_var"]


def test_apply_is_a_pure_function_of_the_params_dict():
    net = _net().eval()
    x = np.random.default_rng(0).standard_normal((3, 4))
    p = {k: v * 2 for k, v in net.params.items()}
    before = net.state_dict()
    y1, y2 = net.apply(p, x), net.apply(p, x)
    np.testing.assert_array_equal(y1, y2)
    assert not np.allclose(y1, net(x))
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


def test_fast_value_and_grad_equals_autograd_on_the_dict():
    net = _net()
    x = np.random.default_rng(1).standard_normal((6, 4))
    y = np.array([0, 1, 2, 0, 1, 2])

    def f(p):
        return cross_entropy(net.apply(p, x), y)

    v1, g1 = autograd.value_and_grad(f)(net.params)
    v2, g2 = value_and_grad(f)(net.params)
    assert v1 == v2
    assert set(g1) == set(g2)
    for k in g1:
        np.testing.assert_allclose(g1[k], g2[k], rtol=1e-12, atol=1e-15)


def test_value_and_grad_gives_zero_for_unused_params():
    v, g = value_and_grad(lambda p: (p["a"] ** 2).sum())({"a": np.ones(3), "b": np.ones(2)})
    assert float(v) == 3.0
    np.testing.assert_array_equal(g["a"], 2 * np.ones(3))
    np.testing.assert_array_equal(g["b"], np.zeros(2))


def test_value_and_grad_accumulates_repeated_use():
    _, g = value_and_grad(lambda p: (p["a"] * p["a"] * p["a"]).sum())({"a": np.full(2, 2.0)})
    np.testing.assert_allclose(g["a"], 3 * 4.0)


def test_state_dict_round_trip_is_exact_and_copies():
    a, b = (
        _net(),
        Sequential(
            ("fc1", Linear(4, 5, random_state=7, dtype=np.float64)),
            ("bn", BatchNorm1d(5, dtype=np.float64)),
            ("act", ReLU()),
            ("fc2", Linear(5, 3, random_state=8, dtype=np.float64)),
        ),
    )
    a.buffers["bn.running_mean"][:] = 3.0
    state = a.state_dict()
    state["fc1.weight"][0, 0] = 123.0
    assert a.params["fc1.weight"][0, 0] != 123.0
    b.load_state_dict(a.state_dict())
    for k, v in a.state_dict().items():
        np.testing.assert_array_equal(b.state_dict()[k], v)


def test_load_state_dict_reports_missing_keys_and_bad_shapes():
    net = _net()
    state = net.state_dict()
    del state["fc2.bias"]
    with pytest.raises(KeyError, match="fc2.bias"):
        net.load_state_dict(state)
    net.load_state_dict(state, strict=False)
    state = net.state_dict()
    state["fc1.weight"] = np.zeros((2, 2))
    with pytest.raises(ValueError, match=r"state\['fc1.weight'\] has shape \(2, 2\)"):
        net.load_state_dict(state)


def test_train_and_eval_switch_every_submodule():
    net = _net()
    net.eval()
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())


def test_duplicate_and_dotted_names_are_refused():
    with pytest.raises(ValueError, match="already registered"):
        Sequential(("a", ReLU()), ("a", ReLU()))
    with pytest.raises(ValueError, match="without dots"):
        Sequential(("a.b", ReLU()))
    with pytest.raises(TypeError, match="Module"):
        Sequential(("a", 3))


def test_zoo_parameter_counts_and_output_shapes():
    assert lenet300_100(0).n_params == 784 * 300 + 300 + 300 * 100 + 100 + 100 * 10 + 10
    assert lenet5(0).n_params == 61706
    x = np.zeros((2, 1, 28, 28), dtype=np.float32)
    assert lenet300_100(0)(x).shape == (2, 10)
    assert lenet5(0)(x).shape == (2, 10)
    assert lenet5(0)(x).dtype == np.float32


def test_zoo_initialization_is_seeded():
    a, b, c = lenet5(3), lenet5(3), lenet5(4)
    for k in a.params:
        np.testing.assert_array_equal(a.params[k], b.params[k])
    assert not np.array_equal(a.params["conv1.weight"], c.params["conv1.weight"])


def test_custom_module_subclass_routes_local_params():
    class Scale(Module):
        def __init__(self):
            super().__init__()
            self.add_param("s", np.array([2.0]))

        def forward(self, params, x):
            return x * params["s"]

    net = Sequential(("one", Scale()), ("two", Scale()))
    assert set(net.params) == {"one.s", "two.s"}
    _, g = value_and_grad(lambda p: net.apply(p, np.array([1.0])).sum())(net.params)
    np.testing.assert_allclose(g["one.s"], [2.0])


def test_lenet5_gradients_stay_float32():
    model = lenet5(0)
    x = np.random.default_rng(0).random((3, 1, 28, 28), dtype=np.float32)
    v, g = value_and_grad(lambda p: cross_entropy(model.apply(p, x), np.array([1, 2, 3])))(
        model.params
    )
    assert np.asarray(v).dtype == np.float32
    assert {a.dtype for a in g.values()} == {np.dtype(np.float32)}
