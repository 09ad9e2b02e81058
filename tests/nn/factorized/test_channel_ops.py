"""Pointwise and depthwise convolution primitives: equal to dense convolutions, exact VJPs."""

import numpy as np
import pytest

from tensornet.nn import value_and_grad
from tensornet.nn.conv import conv2d
from tensornet.nn.factorized._channel_ops import depthwise_conv2d, pointwise_conv2d

from ..gradcheck import assert_grad_matches_fd

GEOMETRIES = [((1, 1), (0, 0)), ((2, 1), (1, 0)), ((1, 3), (2, 1)), ((2, 2), (1, 1))]


def _rng(seed=0):
    return np.random.default_rng(seed)


def _block_diagonal(w):
    """A depthwise filter bank ``(R, KH, KW)`` as the dense kernel ``(R, R, KH, KW)``."""
    r = w.shape[0]
    k = np.zeros((r, r) + w.shape[1:])
    k[np.arange(r), np.arange(r)] = w
    return k


def test_pointwise_equals_a_1x1_dense_convolution():
    rng = _rng()
    x, w, b = rng.standard_normal((3, 4, 5, 6)), rng.standard_normal((7, 4)), rng.standard_normal(7)
    np.testing.assert_allclose(
        pointwise_conv2d(x, w, b), conv2d(x, w[:, :, None, None], b), rtol=1e-12, atol=1e-12
    )


def test_pointwise_accepts_a_channel_major_view_without_copy():
    rng = _rng(1)
    buf = rng.standard_normal((4, 3, 5, 6))  # (C, B, H, W)
    x = buf.transpose(1, 0, 2, 3)
    w = rng.standard_normal((2, 4))
    np.testing.assert_allclose(
        pointwise_conv2d(x, w), conv2d(np.ascontiguousarray(x), w[:, :, None, None]), atol=1e-12
    )


@pytest.mark.parametrize(("stride", "padding"), GEOMETRIES)
@pytest.mark.parametrize("kernel", [(3, 1), (1, 3), (2, 3)])
def test_depthwise_equals_a_block_diagonal_dense_convolution(stride, padding, kernel):
    rng = _rng(2)
    x, w = rng.standard_normal((2, 3, 7, 8)), rng.standard_normal((3,) + kernel)
    np.testing.assert_allclose(
        depthwise_conv2d(x, w, stride, padding),
        conv2d(x, _block_diagonal(w), None, stride, padding),
        rtol=1e-12,
        atol=1e-12,
    )


def test_pointwise_gradient_matches_finite_differences():
    rng = _rng(3)
    probe = rng.standard_normal((2, 5, 4, 3))
    params = {
        "x": rng.standard_normal((2, 3, 4, 3)),
        "w": rng.standard_normal((5, 3)),
        "b": rng.standard_normal(5),
    }
    assert_grad_matches_fd(
        lambda p: (pointwise_conv2d(p["x"], p["w"], p["b"]) * probe).sum(), params
    )


@pytest.mark.parametrize(("stride", "padding"), GEOMETRIES)
def test_depthwise_gradient_matches_finite_differences(stride, padding):
    rng = _rng(4)
    params = {"x": rng.standard_normal((2, 3, 6, 7)), "w": rng.standard_normal((3, 3, 2))}
    out_shape = depthwise_conv2d(params["x"], params["w"], stride, padding).shape
    probe = rng.standard_normal(out_shape)
    assert_grad_matches_fd(
        lambda p: (depthwise_conv2d(p["x"], p["w"], stride, padding) * probe).sum(), params
    )


def test_depthwise_keeps_float32():
    rng = _rng(5)
    x = rng.standard_normal((2, 3, 6, 6)).astype(np.float32)
    w = rng.standard_normal((3, 3, 1)).astype(np.float32)
    assert depthwise_conv2d(x, w, (1, 1), (1, 0)).dtype == np.float32
    _, g = value_and_grad(lambda p: depthwise_conv2d(p["x"], p["w"], (1, 1), (1, 0)).sum())(
        {"x": x, "w": w}
    )
    assert g["x"].dtype == np.float32 and g["w"].dtype == np.float32
