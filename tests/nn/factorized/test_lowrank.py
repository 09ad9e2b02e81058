"""LowRankLinear and LowRankConv2d: forward == dense, gradients, conversion, init, counts."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tensornet.nn.factorized.lowrank import LowRankConv2d, LowRankLinear

from .layer_checks import (
    assert_auto_path_takes_the_cheaper,
    assert_factors_match_dense,
    assert_gradients_match_fd,
    assert_trains_in_float32,
    he_target,
    mean_square_over_seeds,
)

F64 = np.float64
CONV_GEOMETRIES = [(1, 0), (2, 1), ((2, 1), (0, 2))]


def _x(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


# ---------------------------------------------------------------------------- forward == dense
@pytest.mark.parametrize("diag", [False, True])
def test_lowrank_linear_factors_equal_x_times_weight(diag):
    layer = LowRankLinear(20, 30, 5, diag=diag, dtype=F64, random_state=0)
    if diag:
        layer._params["s"][:] = np.arange(1.0, 6.0)
    assert_factors_match_dense(layer, _x((7, 20)))


@pytest.mark.parametrize("scheme", ["channel", "spatial"])
@pytest.mark.parametrize(("stride", "padding"), CONV_GEOMETRIES)
def test_lowrank_conv_factors_equal_dense_conv_with_weight(scheme, stride, padding):
    layer = LowRankConv2d(
        3, 5, (3, 2), 2, stride=stride, padding=padding, scheme=scheme, dtype=F64, random_state=1
    )
    assert_factors_match_dense(layer, _x((2, 3, 9, 8)))


@settings(max_examples=15, deadline=None)
@given(
    st.integers(1, 6),
    st.integers(1, 6),
    st.integers(1, 3),
    st.integers(1, 3),
    st.sampled_from(["channel", "spatial"]),
    st.integers(0, 2**16),
)
def test_lowrank_conv_factors_equal_dense_for_any_shape(c, o, kh, kw, scheme, seed):
    bound = min(o, c * kh * kw) if scheme == "channel" else min(c * kh, o * kw)
    rank = 1 + seed % bound
    layer = LowRankConv2d(
        c, o, (kh, kw), rank, stride=1, padding=1, scheme=scheme, dtype=F64, random_state=seed
    )
    assert_factors_match_dense(layer, _x((2, c, 5, 4), seed))


# ---------------------------------------------------------------------------- gradients
@pytest.mark.parametrize("diag", [False, True])
def test_lowrank_linear_gradient_matches_finite_differences(diag):
    assert_gradients_match_fd(
        LowRankLinear(6, 5, 3, diag=diag, dtype=F64, random_state=0), _x((4, 6))
    )


@pytest.mark.parametrize("scheme", ["channel", "spatial"])
@pytest.mark.parametrize(("stride", "padding"), CONV_GEOMETRIES)
def test_lowrank_conv_gradient_matches_finite_differences(scheme, stride, padding):
    layer = LowRankConv2d(
        3, 4, (3, 2), 2, stride=stride, padding=padding, scheme=scheme, dtype=F64, random_state=2
    )
    assert_gradients_match_fd(layer, _x((2, 3, 7, 6)))


@pytest.mark.parametrize("scheme", ["channel", "spatial"])
def test_lowrank_trains_in_float32(scheme):
    assert_trains_in_float32(LowRankLinear(30, 20, 4, diag=True, random_state=0), (16, 30))
    layer = LowRankConv2d(3, 6, 3, 2, padding=1, scheme=scheme, random_state=0)
    assert_trains_in_float32(layer, (4, 3, 8, 8))


# ---------------------------------------------------------------------------- conversion
@pytest.mark.parametrize("diag", [False, True])
def test_lowrank_linear_full_rank_conversion_is_exact(diag):
    w, b = _x((12, 9)), _x(9, 1)
    layer = LowRankLinear.from_weight(w, b, diag=diag)
    assert layer.rank == 9
    np.testing.assert_allclose(layer.weight(), w, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(layer.params["bias"], b)


def test_lowrank_linear_truncation_error_is_the_singular_value_tail():
    w = _x((30, 20))
    s = np.linalg.svd(w, compute_uv=False)
    layer = LowRankLinear.from_weight(w, rank=7)
    tail = np.sqrt(np.sum(s[7:] ** 2))
    assert math.isclose(np.linalg.norm(layer.weight() - w), tail, rel_tol=1e-10)
    assert math.isclose(
        layer.decomposition_info["weight_rel_error"], tail / np.linalg.norm(w), rel_tol=1e-10
    )


def test_lowrank_linear_eps_meets_the_error_bound():
    w = _x((30, 20), 2)
    layer = LowRankLinear.from_weight(w, eps=0.3)
    assert layer.decomposition_info["weight_rel_error"] <= 0.3
    smaller = LowRankLinear.from_weight(w, rank=layer.rank - 1)
    assert smaller.decomposition_info["weight_rel_error"] > 0.3


def test_lowrank_linear_conversion_splits_singular_values_equally():
    layer = LowRankLinear.from_weight(_x((15, 10)), rank=4)
    u, v = layer.params["U"], layer.params["V"]
    np.testing.assert_allclose(np.linalg.norm(u, axis=0), np.linalg.norm(v, axis=1), rtol=1e-12)


def test_lowrank_linear_diag_conversion_has_orthonormal_factors():
    layer = LowRankLinear.from_weight(_x((15, 10)), rank=4, diag=True)
    np.testing.assert_allclose(layer.params["U"].T @ layer.params["U"], np.eye(4), atol=1e-12)
    np.testing.assert_allclose(layer.params["V"] @ layer.params["V"].T, np.eye(4), atol=1e-12)


def test_lowrank_linear_conversion_keeps_float32():
    layer = LowRankLinear.from_weight(_x((8, 6)).astype(np.float32), rank=3)
    assert all(p.dtype == np.float32 for p in layer.params.values())


@pytest.mark.parametrize("scheme", ["channel", "spatial"])
def test_lowrank_conv_full_rank_conversion_is_exact(scheme):
    w = _x((5, 3, 3, 2))
    layer = LowRankConv2d.from_weight(w, _x(5, 1), scheme=scheme, stride=2, padding=1)
    np.testing.assert_allclose(layer.weight(), w, rtol=0, atol=1e-12)
    assert layer.rank == (5 if scheme == "channel" else 9)
    assert (layer.stride, layer.padding) == ((2, 2), (1, 1))


def test_lowrank_conv_spatial_conversion_recovers_a_separable_kernel():
    # K[o, c, p, q] = a[c, p] b[o, q] has spatial rank 1
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((4, 3)), rng.standard_normal((6, 5))
    k = np.einsum("cp,oq->ocpq", a, b)
    layer = LowRankConv2d.from_weight(k, scheme="spatial", rank=1)
    np.testing.assert_allclose(layer.weight(), k, atol=1e-12)
    assert layer.n_params == 4 * 3 + 6 * 5


# ---------------------------------------------------------------------------- initialization
def test_lowrank_linear_variance_over_seeds_is_he():
    def make(seed):
        return LowRankLinear(256, 256, 8, rescale=False, random_state=seed)

    assert abs(mean_square_over_seeds(make, range(100)) / he_target(make(0)) - 1) <= 0.1


@pytest.mark.parametrize("scheme", ["channel", "spatial"])
def test_lowrank_conv_variance_over_seeds_is_he(scheme):
    def make(seed):
        return LowRankConv2d(64, 64, 3, 8, scheme=scheme, rescale=False, random_state=seed)

    assert abs(mean_square_over_seeds(make, range(100)) / he_target(make(0)) - 1) <= 0.1


def test_lowrank_glorot_variance_formula():
    def make(seed):
        return LowRankLinear(300, 100, 10, init="glorot", rescale=False, random_state=seed)

    assert abs(mean_square_over_seeds(make, range(100)) / (2 / 400) - 1) <= 0.1


@pytest.mark.parametrize("scheme", ["channel", "spatial"])
def test_lowrank_rescale_makes_the_variance_exact(scheme):
    lin = LowRankLinear(40, 30, 2, rescale=True, dtype=F64, random_state=5)
    conv = LowRankConv2d(8, 6, 3, 2, scheme=scheme, rescale=True, dtype=F64, random_state=5)
    for layer in (lin, conv):
        assert math.isclose(np.mean(layer.weight() ** 2), he_target(layer), rel_tol=1e-12)


def test_lowrank_same_seed_same_layer_and_float32_default():
    a, b = LowRankLinear(10, 8, 3, random_state=4), LowRankLinear(10, 8, 3, random_state=4)
    assert all(np.array_equal(a.params[k], b.params[k]) for k in a.params)
    assert all(p.dtype == np.float32 for p in a.params.values())
    assert np.all(a.params["bias"] == 0)


# ---------------------------------------------------------------------------- counts (Table III/IV)
def test_lowrank_linear_param_and_flop_formulas():
    n, m, r, b = 784, 300, 20, 128
    layer = LowRankLinear(n, m, r, bias=False)
    assert layer.n_params == r * (n + m)  # R (N + M)
    assert layer.factor_flops((b, n)) == b * r * (n + m)  # B R (N + M)
    assert layer.reconstruction_flops() == n * r * m
    assert LowRankLinear(n, m, r, diag=True, bias=False).n_params == r * (n + m) + r
    assert LowRankLinear(n, m, r).n_params == r * (n + m) + m
    assert_auto_path_takes_the_cheaper(layer, (b, n))
    assert_auto_path_takes_the_cheaper(LowRankLinear(20, 20, 15), (4, 20))


def test_lowrank_conv_param_and_flop_formulas():
    c, o, kh, kw, r, b, h, w = 16, 32, 3, 5, 6, 8, 12, 10
    ch = LowRankConv2d(c, o, (kh, kw), r, stride=1, padding=(1, 2), bias=False)
    sp = LowRankConv2d(c, o, (kh, kw), r, stride=1, padding=(1, 2), scheme="spatial", bias=False)
    oh, ow = h + 2 - kh + 1, w + 4 - kw + 1
    assert ch.n_params == r * (c * kh * kw + o)  # R (C KH KW + O)
    assert sp.n_params == r * (c * kh + o * kw)  # R (C KH + O KW)
    assert ch.factor_flops((b, c, h, w)) == b * oh * ow * r * (c * kh * kw + o)
    # spatial: (KH x 1) on the unpadded width W, then (1 x KW) on the padded one
    assert sp.factor_flops((b, c, h, w)) == b * oh * w * r * c * kh + b * oh * ow * o * r * kw
    for layer in (ch, sp):
        assert layer.reconstruction_flops() == o * c * kh * kw * r
        assert layer.dense_product_flops((b, c, h, w)) == b * oh * ow * o * c * kh * kw
        assert_auto_path_takes_the_cheaper(layer, (b, c, h, w))


# ---------------------------------------------------------------------------- bad configurations
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"rank": 0}, "rank"),
        ({"rank": 9}, "rank=9 exceeds the largest possible rank 8"),
        ({"rank": 2, "mode": "fast"}, "mode"),
        ({"rank": 2, "init": "kaiming"}, "init"),
    ],
)
def test_lowrank_linear_bad_configurations(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LowRankLinear(8, 12, **kwargs)


def test_lowrank_conv_bad_configurations():
    with pytest.raises(ValueError, match="rank=7 exceeds the largest possible rank 6"):
        LowRankConv2d(2, 6, 3, 7)
    with pytest.raises(ValueError, match=r"rank=7 exceeds the largest possible rank 6 \(min\(C"):
        LowRankConv2d(2, 6, 3, 7, scheme="spatial")
    with pytest.raises(ValueError, match="scheme"):
        LowRankConv2d(2, 6, 3, 2, scheme="depth")
    with pytest.raises(ValueError, match="rank"):
        LowRankConv2d(2, 6, 3, 0)


def test_lowrank_from_weight_bad_input():
    with pytest.raises(ValueError, match="weight"):
        LowRankLinear.from_weight(np.ones((2, 3, 4)))
    with pytest.raises(ValueError, match="weight"):
        LowRankConv2d.from_weight(np.ones((2, 3)))
    with pytest.raises(ValueError, match="rank=5 exceeds"):
        LowRankLinear.from_weight(_x((4, 6)), rank=5)
    with pytest.raises(ValueError, match="bias"):
        LowRankLinear.from_weight(_x((4, 6)), _x(4))
    with pytest.raises(ValueError, match="weight"):
        LowRankLinear.from_weight(np.full((3, 3), np.nan))
