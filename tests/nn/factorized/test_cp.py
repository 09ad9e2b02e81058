"""CPConv2d: the four convolutions == the dense convolution, gradients, conversion, init, counts."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tensornet.nn.factorized.cp import CPConv2d, balance_cp, exact_cp_factors, max_cp_rank

from .layer_checks import (
    assert_auto_path_takes_the_cheaper,
    assert_factors_match_dense,
    assert_gradients_match_fd,
    assert_trains_in_float32,
    he_target,
    mean_square_over_seeds,
)

F64 = np.float64
GEOMETRIES = [(1, 0), (2, 1), ((2, 1), (0, 2))]


def _x(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def _cp_kernel(shape, rank, seed=0):
    rng = np.random.default_rng(seed)
    factors = [rng.standard_normal((n, rank)) for n in shape]
    return np.einsum("or,cr,pr,qr->ocpq", *factors)


@pytest.mark.parametrize(("stride", "padding"), GEOMETRIES)
def test_cp_four_convolutions_equal_dense_conv_with_weight(stride, padding):
    layer = CPConv2d(3, 5, (3, 2), 4, stride=stride, padding=padding, dtype=F64, random_state=1)
    assert_factors_match_dense(layer, _x((2, 3, 9, 8)))


@settings(max_examples=15, deadline=None)
@given(
    st.integers(1, 5),
    st.integers(1, 5),
    st.integers(1, 3),
    st.integers(1, 3),
    st.integers(1, 2),
    st.integers(0, 2),
    st.integers(0, 2**16),
)
def test_cp_four_convolutions_equal_dense_for_any_shape(c, o, kh, kw, stride, pad, seed):
    rank = 1 + seed % min(3, max_cp_rank((o, c, kh, kw)))
    layer = CPConv2d(c, o, (kh, kw), rank, stride=stride, padding=pad, dtype=F64, random_state=seed)
    assert_factors_match_dense(layer, _x((2, c, 6, 5), seed))


def test_cp_weight_is_the_sum_of_rank_one_terms():
    layer = CPConv2d(3, 4, (2, 3), 5, dtype=F64, random_state=0)
    p = layer.params
    ref = np.einsum("or,cr,pr,qr->ocpq", p["U_out"], p["U_in"], p["U_h"], p["U_w"])
    np.testing.assert_allclose(layer.weight(), ref, rtol=1e-12)


@pytest.mark.parametrize(("stride", "padding"), GEOMETRIES)
def test_cp_gradient_matches_finite_differences(stride, padding):
    layer = CPConv2d(3, 4, (3, 2), 3, stride=stride, padding=padding, dtype=F64, random_state=2)
    assert_gradients_match_fd(layer, _x((2, 3, 7, 6)))


def test_cp_trains_in_float32():
    assert_trains_in_float32(
        CPConv2d(3, 6, 3, 4, stride=2, padding=1, random_state=0), (4, 3, 9, 9)
    )


# ---------------------------------------------------------------------------- conversion
def test_cp_full_rank_conversion_of_a_random_kernel_is_exact():
    w = _x((5, 3, 3, 2))
    assert max_cp_rank(w.shape) == 18  # 3 * 3 * 2: the unfolding along the largest mode
    layer = CPConv2d.from_weight(w, _x(5, 1), rank=18, padding=1)
    np.testing.assert_allclose(layer.weight(), w, rtol=0, atol=1e-12)


def test_exact_cp_factors_rebuild_the_tensor():
    w = _x((2, 6, 3, 2), 3)
    factors = exact_cp_factors(w)
    np.testing.assert_allclose(np.einsum("or,cr,pr,qr->ocpq", *factors), w, atol=1e-12)


def test_cp_conversion_recovers_a_low_rank_kernel():
    k = _cp_kernel((6, 4, 3, 3), 3, seed=4)
    layer = CPConv2d.from_weight(k, rank=3, tol=1e-14, n_iter_max=2000, random_state=0)
    assert np.linalg.norm(layer.weight() - k) <= 1e-6 * np.linalg.norm(k)
    assert layer.decomposition_info["rel_error"] <= 1e-6
    assert layer.decomposition_info["weight_rel_error"] <= 1e-6


def test_balance_cp_keeps_the_tensor_and_equalizes_column_norms():
    rng = np.random.default_rng(6)
    weights = np.array([2.0, -0.5, 3.0])
    factors = [rng.standard_normal((n, 3)) for n in (4, 3, 2, 2)]
    balanced = balance_cp(weights, factors)
    ref = np.einsum("r,or,cr,pr,qr->ocpq", weights, *factors)
    np.testing.assert_allclose(np.einsum("or,cr,pr,qr->ocpq", *balanced), ref, atol=1e-12)
    norms = np.array([np.linalg.norm(f, axis=0) for f in balanced])
    np.testing.assert_allclose(norms, norms[:1].repeat(4, axis=0), rtol=1e-12)


# ---------------------------------------------------------------------------- initialization
def test_cp_variance_over_seeds_is_he():
    def make(seed):
        return CPConv2d(64, 64, 3, 32, rescale=False, random_state=seed)

    assert abs(mean_square_over_seeds(make, range(200)) / he_target(make(0)) - 1) <= 0.1


def test_cp_factor_std_is_the_eighth_root():
    layer = CPConv2d(256, 256, 3, 64, rescale=False, random_state=0, dtype=F64)
    target = (2 / (256 * 9) / 64) ** (1 / 8)  # sigma = (Var / R)^(1/8)
    assert math.isclose(np.std(layer.params["U_in"]), target, rel_tol=0.05)


def test_cp_rescale_makes_the_variance_exact():
    layer = CPConv2d(8, 6, 3, 2, rescale=True, dtype=F64, random_state=5)
    assert math.isclose(np.mean(layer.weight() ** 2), he_target(layer), rel_tol=1e-12)


# ---------------------------------------------------------------------------- counts (Table III)
def test_cp_param_and_flop_formulas():
    c, o, kh, kw, r, b, h, w = 16, 32, 3, 5, 6, 8, 12, 10
    layer = CPConv2d(c, o, (kh, kw), r, stride=(2, 1), padding=(1, 2), bias=False)
    oh, ow = (h + 2 - kh) // 2 + 1, w + 4 - kw + 1
    assert layer.n_params == r * (c + kh + kw + o)  # R (C + KH + KW + O)
    # B R (H W C + OH W KH + OH OW KW + OH OW O): 1x1, KHx1 (vertical stride), 1xKW, 1x1
    assert layer.factor_flops((b, c, h, w)) == b * r * (
        h * w * c + oh * w * kh + oh * ow * kw + oh * ow * o
    )
    assert layer.reconstruction_flops() == r * (kh * kw + c * kh * kw + o * c * kh * kw)
    assert_auto_path_takes_the_cheaper(layer, (b, c, h, w))
    assert CPConv2d(c, o, 3, r).n_params == r * (c + 3 + 3 + o) + o


# ---------------------------------------------------------------------------- bad configurations
def test_cp_bad_configurations():
    with pytest.raises(ValueError, match="rank"):
        CPConv2d(3, 4, 3, 0)
    with pytest.raises(ValueError, match="rank=28 exceeds the largest possible rank 27"):
        CPConv2d(3, 4, 3, 28)
    with pytest.raises(ValueError, match="weight"):
        CPConv2d.from_weight(np.ones((3, 3, 3)), rank=2)
    with pytest.raises(ValueError, match="rank=19 exceeds"):
        CPConv2d.from_weight(_x((5, 3, 3, 2)), rank=19)
    with pytest.raises(ValueError, match="bias"):
        CPConv2d.from_weight(_x((5, 3, 3, 2)), _x(3), rank=2)
