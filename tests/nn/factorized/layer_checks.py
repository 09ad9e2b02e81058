"""Checks shared by the factorized-layer tests (forward vs dense, gradients, init variance)."""

import numpy as np

from tensornet.nn.conv import conv2d
from tensornet.nn.factorized import FactorizedConv2d, target_variance
from tensornet.nn.layers import linear

from ..gradcheck import assert_grad_matches_fd


def dense_reference(layer, x):
    """The dense layer's output with the layer's ``weight()`` and bias (independent code path)."""
    w = layer.weight()
    b = layer.params.get("bias")
    if isinstance(layer, FactorizedConv2d):
        return conv2d(x, w, b, layer.stride, layer.padding)
    return linear(x, w, b)


def randomize_bias(layer, seed=0):
    if "bias" in layer._params:
        layer._params["bias"][:] = np.random.default_rng(seed).standard_normal(
            layer._params["bias"].shape
        )


def relative_error(a, b):
    return float(np.linalg.norm(np.asarray(a) - b) / np.linalg.norm(b))


def assert_factors_match_dense(layer, x, rtol=1e-10):
    """The factor path equals the dense layer with ``weight()``; both modes of ``forward`` agree."""
    randomize_bias(layer)
    ref = dense_reference(layer, x)
    assert relative_error(layer.forward_factors(layer.params, x), ref) <= rtol
    mode = layer.mode
    try:
        layer.mode = "factors"
        y_factors = np.asarray(layer(x))
        layer.mode = "dense"
        y_dense = np.asarray(layer(x))
    finally:
        layer.mode = mode
    assert relative_error(y_factors, y_dense) <= rtol
    assert relative_error(y_dense, ref) <= rtol


def assert_gradients_match_fd(layer, x, seed=0):
    """Finite-difference check of the factor path's gradient in every parameter and the input."""
    randomize_bias(layer, seed)
    probe = np.random.default_rng(seed + 1).standard_normal(np.shape(dense_reference(layer, x)))

    def fun(p):
        params = {k: v for k, v in p.items() if k != "x"}
        return (layer.forward_factors(params, p["x"]) * probe).sum()

    params = {k: v.copy() for k, v in layer.params.items()}
    params["x"] = x
    assert_grad_matches_fd(lambda p: fun(p), params)


def mean_square_over_seeds(make, seeds):
    """Average of ``mean(W**2)`` over layers built with the given seeds (or ``range(seeds)``)."""
    if isinstance(seeds, int):
        seeds = range(seeds)
    return float(np.mean([np.mean(make(s).weight().astype(np.float64) ** 2) for s in seeds]))


def he_target(layer):
    return target_variance("he", *layer.fans)


def assert_auto_path_takes_the_cheaper(layer, input_shape):
    """``auto`` takes the path of smaller cost ``flops + BYTE_COST * bytes`` (flops written out
    here from the layer's parts) and ``flops()`` reports that path's multiply-adds."""
    flops = {
        "dense": layer.reconstruction_flops() + layer.dense_product_flops(input_shape),
        "factors": layer.factor_flops(input_shape),
    }
    cost = {p: f + layer.BYTE_COST * layer.bytes_moved(input_shape, p) for p, f in flops.items()}
    chosen = "factors" if cost["factors"] <= cost["dense"] else "dense"
    assert layer.path(input_shape) == chosen
    assert layer.flops(input_shape) == flops[chosen]


def assert_paths_match_dense(layer, x, rtol=1e-5):
    """Factor path, dense path and ``layer(x)`` all equal the dense layer to ``rtol``."""
    ref = dense_reference(layer, x)
    scale = np.max(np.abs(ref))
    for path in ("factors", "dense"):
        layer.mode = path
        got = layer(x)
        assert got.shape == ref.shape
        assert np.max(np.abs(got - ref)) <= rtol * scale, path
    layer.mode = "auto"
    assert np.max(np.abs(layer(x) - ref)) <= rtol * scale


def assert_layer_gradients(layer, x, seed=0):
    """Finite differences on every parameter and on ``x``, both paths (float64 layer)."""
    probe = None
    for path in ("factors", "dense"):
        layer.mode = path
        params = {k: np.array(v) for k, v in layer.params.items()}
        if probe is None:
            probe = np.random.default_rng(seed).standard_normal(layer.apply(params, x).shape)

        def f(p, x):
            return (layer.apply(p, x) * probe).sum()

        assert_grad_matches_fd(f, params, x, seed=seed)

        def f_input(q):
            return (layer.apply(params, q["x"]) * probe).sum()

        assert_grad_matches_fd(f_input, {"x": x}, seed=seed + 1)
    layer.mode = "auto"


def assert_trains_in_float32(layer, x_shape, steps=20):
    """float32 gradients for every parameter, and Adam reduces an MSE fit on a fixed batch."""
    from tensornet.nn import Adam, mse, value_and_grad

    rng = np.random.default_rng(0)
    x = rng.standard_normal(x_shape).astype(np.float32)
    target = rng.standard_normal(np.shape(layer(x))).astype(np.float32)

    def loss(p):
        return mse(layer.forward(p, x), target)

    first, grads = value_and_grad(loss)(layer.params)
    assert all(g.dtype == np.float32 and g.shape == layer.params[k].shape for k, g in grads.items())
    opt = Adam(layer.params, lr=1e-2)
    for _ in range(steps):
        value, grads = value_and_grad(loss)(layer.params)
        opt.step(grads)
    assert float(value) < 0.9 * float(first)
