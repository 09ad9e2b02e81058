"""Checks shared by the factorized-layer tests (forward vs dense, gradients, init variance)."""

import numpy as np

from tensornet.nn.conv import conv2d
from tensornet.nn.layers import linear

from ..gradcheck import assert_grad_matches_fd


def dense_reference(layer, x):
    """The dense layer with ``layer.weight()``: ``linear`` or ``conv2d``, bias included."""
    w, b = layer.weight(), layer.params.get("bias")
    if x.ndim == 2:
        return linear(x, w, b)
    return conv2d(x, w, b, layer.stride, layer.padding)


def randomize_bias(layer, seed=0):
    """Give the bias random values so that forward checks see it."""
    if "bias" in layer.params:
        b = layer.params["bias"]
        b[...] = np.random.default_rng(seed).standard_normal(b.shape)


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


def mean_square_over_seeds(make, n_seeds):
    """Average of ``mean(W**2)`` over ``make(seed).weight()`` for ``n_seeds`` seeds."""
    return float(
        np.mean([np.mean(np.square(make(s).weight(), dtype=np.float64)) for s in range(n_seeds)])
    )
