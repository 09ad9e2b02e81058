"""Layers of tensornet/nn/layers.py: finite-difference gradients, definitions, modes, dtypes."""

import numpy as np
import pytest

from tensornet.nn import (
    BatchNorm1d,
    BatchNorm2d,
    Dropout,
    Flatten,
    Linear,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
)

from .gradcheck import assert_grad_matches_fd, random_weights


def _perturbed(layer, seed=1):
    return {k: v + 0.1 * random_weights(v.shape, seed) for k, v in layer.params.items()}


def _check_layer(layer, x_shape, seed=0):
    x = random_weights(x_shape, seed + 10)
    params = _perturbed(layer)
    probe = random_weights(np.shape(layer.apply(params, x)), seed + 20)
    if params:
        assert_grad_matches_fd(lambda p, x: (layer.apply(p, x) * probe).sum(), params, x)
    assert_grad_matches_fd(lambda q: (layer.apply(params, q["x"]) * probe).sum(), {"x": x})


def test_linear_gradient_matches_finite_differences():
    _check_layer(Linear(5, 3, random_state=0, dtype=np.float64), (4, 5))


def test_linear_without_bias_gradient_matches_finite_differences():
    layer = Linear(5, 3, bias=False, random_state=0, dtype=np.float64)
    assert set(layer.params) == {"weight"}
    _check_layer(layer, (4, 5))


def test_linear_computes_x_w_plus_b():
    layer = Linear(3, 2, random_state=0, dtype=np.float64)
    p = _perturbed(layer)
    x = random_weights((4, 3), 2)
    np.testing.assert_allclose(layer.apply(p, x), x @ p["weight"] + p["bias"], rtol=1e-14)


@pytest.mark.parametrize("act", [ReLU(), Tanh(), Sigmoid()])
def test_activation_gradient_matches_finite_differences(act):
    _check_layer(act, (3, 7))


def test_activations_match_their_definitions():
    x = np.linspace(-30, 30, 13)
    np.testing.assert_allclose(ReLU()(x), np.maximum(x, 0))
    np.testing.assert_allclose(Tanh()(x), np.tanh(x))
    np.testing.assert_allclose(Sigmoid()(x), 1 / (1 + np.exp(-x)), rtol=1e-12, atol=1e-300)


def test_flatten_gradient_and_shape():
    _check_layer(Flatten(), (2, 3, 2, 2))
    assert Flatten()(np.zeros((2, 3, 4))).shape == (2, 12)


@pytest.mark.parametrize(
    "cls,shape", [(BatchNorm1d, (6, 3)), (BatchNorm1d, (5, 3, 4)), (BatchNorm2d, (4, 3, 2, 3))]
)
def test_batchnorm_train_gradient_matches_finite_differences(cls, shape):
    _check_layer(cls(3, dtype=np.float64), shape)


@pytest.mark.parametrize("cls,shape", [(BatchNorm1d, (6, 3)), (BatchNorm2d, (4, 3, 2, 3))])
def test_batchnorm_eval_gradient_matches_finite_differences(cls, shape):
    layer = cls(3, dtype=np.float64)
    layer._buffers["running_mean"][:] = [0.5, -1.0, 2.0]
    layer._buffers["running_var"][:] = [0.5, 2.0, 3.0]
    layer.eval()
    _check_layer(layer, shape)


def test_batchnorm_normalizes_batch_and_updates_running_stats():
    bn = BatchNorm2d(2, momentum=0.5, dtype=np.float64)
    x = random_weights((8, 2, 3, 3), 3) * 4 + 7
    y = bn(x)
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=(0, 2, 3)), 1, rtol=1e-3)
    m = x.shape[0] * 9
    np.testing.assert_allclose(bn.buffers["running_mean"], 0.5 * x.mean(axis=(0, 2, 3)))
    expected_var = 0.5 + 0.5 * x.var(axis=(0, 2, 3)) * m / (m - 1)
    np.testing.assert_allclose(bn.buffers["running_var"], expected_var)
    assert "running_mean" not in bn.params


def test_batchnorm_eval_uses_running_statistics():
    bn = BatchNorm1d(2, dtype=np.float64).eval()
    bn._buffers["running_mean"][:] = [1.0, 2.0]
    bn._buffers["running_var"][:] = [4.0, 9.0]
    x = np.array([[3.0, 5.0]])
    np.testing.assert_allclose(bn(x), [[2 / np.sqrt(4 + 1e-5), 3 / np.sqrt(9 + 1e-5)]])


def test_batchnorm_rejects_wrong_channels():
    with pytest.raises(ValueError, match="3 channels on axis 1"):
        BatchNorm1d(3)(np.zeros((4, 2), dtype=np.float32))


def test_dropout_is_seeded_scaled_and_identity_in_eval():
    x = np.ones((200, 50), dtype=np.float32)
    a, b = Dropout(0.3, random_state=5), Dropout(0.3, random_state=5)
    ya, yb = a(x), b(x)
    np.testing.assert_array_equal(ya, yb)
    assert set(np.unique(ya)) <= {0.0, np.float32(1 / 0.7)}
    assert abs((ya == 0).mean() - 0.3) < 0.02
    assert ya.dtype == np.float32
    np.testing.assert_array_equal(a.eval()(x), x)


def test_dropout_gradient_uses_the_same_mask():
    from tensornet.nn import value_and_grad

    layer = Dropout(0.5, random_state=0)
    x = np.ones((4, 6))
    _, g = value_and_grad(lambda q: layer.apply({}, q["x"]).sum())({"x": x})
    assert set(np.unique(g["x"])) <= {0.0, 2.0}


def test_dropout_rejects_bad_probability():
    with pytest.raises(ValueError, match=r"p=1\.0"):
        Dropout(1.0)


def test_float32_network_stays_float32_through_gradients():
    from tensornet.nn import cross_entropy, value_and_grad

    net = Sequential(Linear(6, 4, random_state=0), ReLU(), Linear(4, 3, random_state=1))
    x = np.ones((5, 6), dtype=np.float32)
    y = np.array([0, 1, 2, 0, 1])
    v, g = value_and_grad(lambda p: cross_entropy(net.apply(p, x), y))(net.params)
    assert np.asarray(v).dtype == np.float32
    assert all(a.dtype == np.float32 for a in g.values())


def test_linear_rejects_bad_sizes_and_init():
    with pytest.raises(ValueError, match="in_features"):
        Linear(0, 3)
    with pytest.raises(ValueError, match="init"):
        Linear(2, 3, init="orthogonal")


def test_batchnorm_running_stats_decay_from_a_nonzero_start():
    # from a zero start any scaling of the old average is invisible; start elsewhere
    bn = BatchNorm2d(2, momentum=0.25, dtype=np.float64)
    bn._buffers["running_mean"][:] = [4.0, -8.0]
    bn._buffers["running_var"][:] = [2.0, 6.0]
    x = random_weights((8, 2, 3, 3), 5) * 3 - 1
    bn(x)
    m = x.shape[0] * 9
    expected_mean = 0.75 * np.array([4.0, -8.0]) + 0.25 * x.mean(axis=(0, 2, 3))
    expected_var = 0.75 * np.array([2.0, 6.0]) + 0.25 * x.var(axis=(0, 2, 3)) * m / (m - 1)
    np.testing.assert_allclose(bn.buffers["running_mean"], expected_mean)
    np.testing.assert_allclose(bn.buffers["running_var"], expected_var)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", ["c", "channel_major", "g_transposed", "g_other_dtype"])
def test_relu_vjp_equals_mask_definition_in_every_layout(dtype, layout):
    # g * [relu(x) > 0] (the definition, zeros included) whatever the memory order of g and
    # of the output: the Numba pass, the channel-major pass and the np.where fallback agree
    from tensornet.nn import value_and_grad
    from tensornet.nn.layers import _relu_vjp, relu

    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 4, 2, 5)).astype(dtype)
    x[0, 0, 0, :2] = 0.0  # the kink: no gradient, as np.where(ans > 0, ...)
    g = rng.standard_normal(x.shape).astype(dtype)
    if layout == "channel_major":
        x = np.ascontiguousarray(x.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)
        g = np.ascontiguousarray(g.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)
    elif layout == "g_transposed":
        g = np.asfortranarray(g)
    elif layout == "g_other_dtype":
        g = g.astype(np.float64 if dtype == np.float32 else np.float32)
    expected = np.where(x > 0, g, 0).astype(dtype)
    direct = _relu_vjp(relu(x), x)(g)
    np.testing.assert_array_equal(direct, expected)
    assert direct.dtype == dtype and direct.shape == x.shape
    _, grads = value_and_grad(lambda p: (relu(p["x"]) * g).sum())({"x": x})
    np.testing.assert_allclose(grads["x"], expected, rtol=1e-6)


@pytest.mark.parametrize("cls", [BatchNorm1d, BatchNorm2d])
def test_batchnorm_hyperparameter_bounds(cls):
    for eps in (0.0, -1e-5):
        with pytest.raises(ValueError, match=f"eps={eps!r} must be > 0"):
            cls(2, eps=eps)
    for momentum in (-0.1, 1.1):
        with pytest.raises(ValueError, match="must lie in \\[0, 1\\]"):
            cls(2, momentum=momentum)
    for momentum in (0.0, 1.0):  # both ends are allowed
        assert cls(2, eps=1e-9, momentum=momentum).momentum == momentum


@pytest.mark.parametrize("momentum", [0.0, 1.0])
def test_batchnorm_momentum_zero_keeps_and_one_replaces_the_running_statistics(momentum):
    bn = BatchNorm1d(3, momentum=momentum, dtype=np.float64)
    x = random_weights((6, 3, 4), 2) * 2 + 1
    bn(x)
    m = 6 * 4
    batch_var = x.var(axis=(0, 2)) * m / (m - 1)
    mean, var = (np.zeros(3), np.ones(3)) if momentum == 0 else (x.mean(axis=(0, 2)), batch_var)
    np.testing.assert_allclose(bn.buffers["running_mean"], mean, atol=1e-15)
    np.testing.assert_allclose(bn.buffers["running_var"], var, rtol=1e-12)


@pytest.mark.parametrize(
    ("cls", "shape"), [(BatchNorm1d, (5, 3)), (BatchNorm1d, (5, 3, 4)), (BatchNorm2d, (4, 3, 2, 3))]
)
def test_batchnorm_train_output_is_the_per_channel_standardization(cls, shape):
    bn = cls(3, eps=1e-3, dtype=np.float64)
    w, b = np.array([1.5, -2.0, 0.5]), np.array([0.1, 0.2, -0.3])
    x = random_weights(shape, 7) * 3 + 2
    axes = (0,) + tuple(range(2, len(shape)))
    bshape = (1, 3) + (1,) * (len(shape) - 2)
    mean, var = x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True)
    expected = (x - mean) / np.sqrt(var + 1e-3) * w.reshape(bshape) + b.reshape(bshape)
    np.testing.assert_allclose(bn.apply({"weight": w, "bias": b}, x), expected, rtol=1e-10)
    bn.eval()  # eval with the running statistics, eps included
    rm, rv = bn.buffers["running_mean"].reshape(bshape), bn.buffers["running_var"].reshape(bshape)
    expected = (x - rm) / np.sqrt(rv + 1e-3) * w.reshape(bshape) + b.reshape(bshape)
    np.testing.assert_allclose(bn.apply({"weight": w, "bias": b}, x), expected, rtol=1e-10)


def test_batchnorm_of_a_single_sample_decays_the_running_variance_only():
    # one value per channel: the batch variance is 0 (the unbiased factor has m - 1 = 0)
    bn = BatchNorm1d(2, momentum=0.5, dtype=np.float64)
    bn(np.array([[3.0, -1.0]]))
    np.testing.assert_allclose(bn.buffers["running_var"], [0.5, 0.5])
    np.testing.assert_allclose(bn.buffers["running_mean"], [1.5, -0.5])


def test_dropout_with_p_zero_is_the_identity_in_training_and_negative_p_is_refused():
    x = random_weights((4, 5), 3)
    assert Dropout(0.0, random_state=0)(x) is x
    assert Dropout(0, random_state=0).p == 0.0
    with pytest.raises(ValueError, match=r"p=-0\.1"):
        Dropout(-0.1)


def test_linear_needs_at_least_one_output_feature():
    with pytest.raises(ValueError, match="out_features"):
        Linear(2, 0)
    assert Linear(2, 1, random_state=0).apply(Linear(2, 1).params, np.ones((3, 2))).shape == (3, 1)


def test_batchnorm_of_two_samples_doubles_the_biased_variance_in_the_running_one():
    # m = 2 values per channel: the unbiased factor m / (m - 1) is 2
    bn = BatchNorm1d(1, momentum=1.0, dtype=np.float64)
    bn(np.array([[1.0], [3.0]]))
    np.testing.assert_allclose(bn.buffers["running_var"], [2.0])
