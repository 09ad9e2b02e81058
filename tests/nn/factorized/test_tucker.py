"""TuckerConv2d: 1x1, KHxKW, 1x1 == the dense convolution, gradients, conversion, init, counts."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tensornet.nn.factorized.tucker import TuckerConv2d

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


@pytest.mark.parametrize(("stride", "padding"), GEOMETRIES)
def test_tucker2_three_convolutions_equal_dense_conv_with_weight(stride, padding):
    layer = TuckerConv2d(
        3, 5, (3, 2), (2, 4), stride=stride, padding=padding, dtype=F64, random_state=1
    )
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
def test_tucker2_equals_dense_for_any_shape(c, o, kh, kw, stride, pad, seed):
    ranks = (1 + seed % c, 1 + (seed // 7) % o)
    layer = TuckerConv2d(
        c, o, (kh, kw), ranks, stride=stride, padding=pad, dtype=F64, random_state=seed
    )
    assert_factors_match_dense(layer, _x((2, c, 6, 5), seed))


def test_tucker2_weight_is_core_times_factors():
    layer = TuckerConv2d(4, 6, (2, 3), (3, 2), dtype=F64, random_state=0)
    p = layer.params
    ref = np.einsum("eapq,oe,ca->ocpq", p["core"], p["U_out"], p["U_in"])
    np.testing.assert_allclose(layer.weight(), ref, rtol=1e-12)


@pytest.mark.parametrize(("stride", "padding"), GEOMETRIES)
def test_tucker2_gradient_matches_finite_differences(stride, padding):
    layer = TuckerConv2d(
        3, 4, (3, 2), (2, 3), stride=stride, padding=padding, dtype=F64, random_state=2
    )
    assert_gradients_match_fd(layer, _x((2, 3, 7, 6)))


def test_tucker2_trains_in_float32():
    assert_trains_in_float32(
        TuckerConv2d(3, 6, 3, (2, 4), stride=2, padding=1, random_state=0), (4, 3, 9, 9)
    )


# ---------------------------------------------------------------------------- conversion
def test_tucker2_full_rank_conversion_of_a_random_kernel_is_exact():
    w = _x((5, 3, 3, 2))
    layer = TuckerConv2d.from_weight(w, _x(5, 1), ranks=(3, 5), stride=2)
    np.testing.assert_allclose(layer.weight(), w, rtol=0, atol=1e-12)
    assert layer.decomposition_info["weight_rel_error"] <= 1e-12


def test_tucker2_conversion_recovers_a_low_multilinear_rank_kernel():
    rng = np.random.default_rng(3)
    core = rng.standard_normal((3, 2, 3, 3))
    u_out, u_in = rng.standard_normal((7, 3)), rng.standard_normal((5, 2))
    k = np.einsum("eapq,oe,ca->ocpq", core, u_out, u_in)
    layer = TuckerConv2d.from_weight(k, ranks=(2, 3), tol=1e-14)
    np.testing.assert_allclose(layer.weight(), k, atol=1e-10)
    p = layer.params  # orthonormal factors (HOOI)
    np.testing.assert_allclose(p["U_in"].T @ p["U_in"], np.eye(2), atol=1e-12)
    np.testing.assert_allclose(p["U_out"].T @ p["U_out"], np.eye(3), atol=1e-12)


# ---------------------------------------------------------------------------- initialization
def test_tucker2_variance_over_seeds_is_he():
    def make(seed):
        return TuckerConv2d(64, 64, 3, (8, 8), rescale=False, random_state=seed)

    assert abs(mean_square_over_seeds(make, range(100)) / he_target(make(0)) - 1) <= 0.1


def test_tucker2_node_std_is_the_sixth_root():
    layer = TuckerConv2d(256, 128, 3, (16, 8), rescale=False, random_state=0, dtype=F64)
    target = (2 / (256 * 9) / (16 * 8)) ** (1 / 6)  # sigma = (Var / (R_in R_out))^(1/6)
    assert math.isclose(np.std(layer.params["U_in"]), target, rel_tol=0.05)


def test_tucker2_rescale_makes_the_variance_exact():
    layer = TuckerConv2d(8, 6, 3, 2, rescale=True, dtype=F64, random_state=5)
    assert math.isclose(np.mean(layer.weight() ** 2), he_target(layer), rel_tol=1e-12)


# ---------------------------------------------------------------------------- counts (Table III)
def test_tucker2_param_and_flop_formulas():
    c, o, kh, kw, r1, r2, b, h, w = 16, 32, 3, 5, 4, 6, 8, 12, 10
    layer = TuckerConv2d(c, o, (kh, kw), (r1, r2), stride=1, padding=(1, 2), bias=False)
    oh, ow = h + 2 - kh + 1, w + 4 - kw + 1
    assert layer.n_params == c * r1 + r1 * r2 * kh * kw + r2 * o  # C R1 + R1 R2 KH KW + R2 O
    assert layer.factor_flops((b, c, h, w)) == b * (
        h * w * c * r1 + oh * ow * r1 * r2 * kh * kw + oh * ow * r2 * o
    )
    assert layer.reconstruction_flops() == c * r1 * r2 * kh * kw + o * r2 * c * kh * kw
    assert_auto_path_takes_the_cheaper(layer, (b, c, h, w))


# ---------------------------------------------------------------------------- bad configurations
def test_tucker2_bad_configurations():
    with pytest.raises(ValueError, match=r"ranks\[0\]"):
        TuckerConv2d(3, 4, 3, (0, 2))
    with pytest.raises(ValueError, match=r"ranks\[0\]=4 exceeds the largest possible rank 3"):
        TuckerConv2d(3, 4, 3, (4, 2))
    with pytest.raises(ValueError, match=r"ranks\[1\]=5 exceeds the largest possible rank 4"):
        TuckerConv2d(3, 4, 3, (2, 5))
    with pytest.raises(ValueError, match="ranks must have length 2"):
        TuckerConv2d(3, 4, 3, (2, 2, 2))
    with pytest.raises(ValueError, match="weight"):
        TuckerConv2d.from_weight(np.ones((4, 3)), ranks=2)
    with pytest.raises(ValueError, match=r"ranks\[1\]=6 exceeds"):
        TuckerConv2d.from_weight(_x((5, 3, 3, 2)), ranks=(2, 6))
