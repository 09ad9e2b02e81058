"""KPLinear and GKPConv2d (tensornet/nn/factorized/kron.py)."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tensornet.algebra import mkron
from tensornet.nn.factorized.base import target_variance
from tensornet.nn.factorized.kron import GKPConv2d, KPLinear

from .layer_checks import (
    assert_layer_gradients,
    assert_paths_match_dense,
    mean_square_over_seeds,
    randomize_bias,
)

# ------------------------------------------------------------------------------ KPLinear


def test_kp_weight_is_the_sum_of_kronecker_products():
    layer = KPLinear(12, 10, a_shape=(3, 5), rank=2, random_state=0, dtype=np.float64)
    a, b = layer.params["a"], layer.params["b"]
    np.testing.assert_allclose(layer.weight(), mkron(a[0], b[0]) + mkron(a[1], b[1]), rtol=1e-12)


@pytest.mark.parametrize(("a_shape", "rank"), [((3, 5), 2), ((4, 1), 1), ((1, 10), 3), (None, 4)])
def test_kp_paths_equal_linear_with_weight(a_shape, rank):
    layer = KPLinear(12, 10, a_shape=a_shape, rank=rank, random_state=1, dtype=np.float64)
    randomize_bias(layer)
    x = np.random.default_rng(2).standard_normal((7, 12))
    assert_paths_match_dense(layer, x)


@settings(max_examples=25, deadline=None)
@given(
    st.integers(1, 5),
    st.integers(1, 5),
    st.integers(1, 5),
    st.integers(1, 5),
    st.integers(1, 4),
    st.integers(1, 6),
    st.integers(0, 2**31),
)
def test_kp_factor_path_equals_dense_product_for_random_shapes(m1, m2, n1, n2, rank, batch, seed):
    rank = min(rank, m1 * n1, m2 * n2)
    layer = KPLinear(
        m1 * m2,
        n1 * n2,
        rank,
        a_shape=(m1, n1),
        random_state=seed,
        dtype=np.float64,
        mode="factors",
    )
    x = np.random.default_rng(seed + 1).standard_normal((batch, m1 * m2))
    ref = x @ layer.weight()
    np.testing.assert_allclose(layer(x), ref, rtol=1e-5, atol=1e-5 * np.max(np.abs(ref)))


def test_kp_gradients_match_finite_differences():
    layer = KPLinear(6, 8, a_shape=(2, 4), rank=2, random_state=3, dtype=np.float64)
    randomize_bias(layer, 4)
    assert_layer_gradients(layer, np.random.default_rng(5).standard_normal((3, 6)))


def test_kp_full_rank_conversion_is_exact():
    rng = np.random.default_rng(6)
    w, b = rng.standard_normal((20, 12)), rng.standard_normal(12)
    layer = KPLinear.from_weight(w, b, a_shape=(4, 3))
    assert layer.rank == min(4 * 3, 5 * 4)
    np.testing.assert_allclose(layer.weight(), w, atol=1e-10 * np.abs(w).max())
    x = rng.standard_normal((3, 20))
    np.testing.assert_allclose(layer(x), x @ w + b, rtol=1e-9, atol=1e-9)


def test_kp_truncated_conversion_reports_the_weight_error_of_the_layer():
    w = np.random.default_rng(7).standard_normal((20, 12)).astype(np.float32)
    layer = KPLinear.from_weight(w, a_shape=(4, 3), rank=3)
    assert layer.params["a"].dtype == np.float32 and layer.rank == 3
    err = np.linalg.norm(layer.weight().astype(np.float64) - w) / np.linalg.norm(w)
    assert math.isclose(err, layer.decomposition_info["rel_error"], rel_tol=1e-5)


@pytest.mark.parametrize("init", ["he", "glorot"])
def test_kp_init_variance_over_seeds_within_ten_percent(init):
    # Var(W) = R sigma_A^2 sigma_B^2 (P = R, two nodes)
    target = target_variance(init, 784, 300)

    def make(seed):
        return KPLinear(784, 300, a_shape=(28, 20), rank=4, init=init, random_state=seed)

    assert abs(mean_square_over_seeds(make, 30) / target - 1) < 0.10


def test_kp_rescale_makes_the_realized_variance_exact():
    layer = KPLinear(784, 300, a_shape=(28, 20), rank=1, rescale=True, random_state=0)
    assert math.isclose(
        float(np.mean(np.square(layer.weight(), dtype=np.float64))), 2 / 784, rel_tol=1e-4
    )


def test_kp_parameter_and_flop_counts():
    # KPD (Thakker et al.): parameters R (m1 n1 + m2 n2); multiply-adds of x W without the
    # Kronecker product: B R (m1 m2 n2 + m1 n1 n2) (B first) or B R (m1 m2 n1 + m2 n1 n2) (A
    # first), whichever is smaller; reconstruction R N M.
    m1, n1, m2, n2, r, b = 28, 20, 28, 15, 4, 128
    layer = KPLinear(m1 * m2, n1 * n2, r, a_shape=(m1, n1), bias=False)
    assert layer.n_params == r * (m1 * n1 + m2 * n2) == 3920
    b_first = b * r * (m1 * m2 * n2 + m1 * n1 * n2)
    a_first = b * r * (m1 * m2 * n1 + m2 * n1 * n2)
    assert layer.flops((b, m1 * m2), path="factors") == min(a_first, b_first) == 10_321_920
    assert layer.reconstruction_flops() == r * (m1 * m2) * (n1 * n2)
    assert layer.flops((b, 784), path="dense") == r * 784 * 300 + b * 784 * 300


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        ((12, 10), {"a_shape": (5, 5)}, "a_shape\\[0\\]=5"),
        ((12, 10), {"a_shape": (3, 3)}, "a_shape\\[1\\]=3"),
        ((12, 10), {"a_shape": (3, 5, 1)}, "a_shape"),
        ((12, 10), {"a_shape": (3, 5), "rank": 0}, "rank"),
        ((12, 10), {"a_shape": (3, 5), "rank": 9}, "rank=9"),
        ((0, 10), {}, "in_features"),
    ],
)
def test_kp_bad_configurations_name_the_argument(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        KPLinear(*args, **kwargs)


# ------------------------------------------------------------------------------ GKPConv2d
CONV_CASES = [
    # (a_shape, stride, padding): per axis the stride/padding go to the factor with extent > 1
    ((4, 2, 3, 1), 1, 1),
    ((4, 2, 1, 3), 2, 1),
    ((2, 3, 1, 1), 2, 0),
    ((4, 2, 3, 3), (2, 1), (1, 0)),
    ((1, 1, 3, 1), 1, 0),
    ((8, 6, 1, 1), 1, 1),
]


@pytest.mark.parametrize(("a_shape", "stride", "padding"), CONV_CASES)
def test_gkp_paths_equal_conv2d_with_weight(a_shape, stride, padding):
    layer = GKPConv2d(
        6,
        8,
        3,
        rank=2,
        a_shape=a_shape,
        stride=stride,
        padding=padding,
        random_state=0,
        dtype=np.float64,
    )
    randomize_bias(layer)
    x = np.random.default_rng(1).standard_normal((3, 6, 7, 8))
    assert_paths_match_dense(layer, x)


def test_gkp_kernel_is_the_multidimensional_kronecker_sum():
    layer = GKPConv2d(6, 8, (3, 1), a_shape=(4, 2, 3, 1), rank=2, random_state=2, dtype=np.float64)
    a, b = layer.params["a"], layer.params["b"]
    np.testing.assert_allclose(layer.weight(), mkron(a[0], b[0]) + mkron(a[1], b[1]), rtol=1e-12)


@pytest.mark.parametrize(("a_shape", "stride", "padding"), [CONV_CASES[0], CONV_CASES[1]])
def test_gkp_gradients_match_finite_differences(a_shape, stride, padding):
    layer = GKPConv2d(
        4,
        4,
        3,
        a_shape=(2, 2) + a_shape[2:],
        rank=2,
        stride=stride,
        padding=padding,
        random_state=3,
        dtype=np.float64,
    )
    randomize_bias(layer, 4)
    assert_layer_gradients(layer, np.random.default_rng(5).standard_normal((2, 4, 5, 6)))


def test_gkp_full_rank_conversion_is_exact():
    rng = np.random.default_rng(6)
    w, b = rng.standard_normal((8, 6, 3, 3)), rng.standard_normal(8)
    layer = GKPConv2d.from_weight(w, b, a_shape=(4, 2, 3, 1), padding=1)
    assert layer.rank == min(4 * 2 * 3, 2 * 3 * 3)
    np.testing.assert_allclose(layer.weight(), w, atol=1e-10 * np.abs(w).max())
    x = rng.standard_normal((2, 6, 5, 5))
    from tensornet.nn.conv import conv2d

    np.testing.assert_allclose(layer(x), conv2d(x, w, b, 1, 1), rtol=1e-9, atol=1e-9)


def test_gkp_truncated_conversion_reports_the_kernel_error_of_the_layer():
    w = np.random.default_rng(7).standard_normal((16, 8, 3, 3))
    layer = GKPConv2d.from_weight(w, a_shape=(4, 4, 1, 3), rank=5)
    err = np.linalg.norm(layer.weight() - w) / np.linalg.norm(w)
    assert math.isclose(err, layer.decomposition_info["rel_error"], rel_tol=1e-8)


@pytest.mark.parametrize("init", ["he", "glorot"])
def test_gkp_init_variance_over_seeds_within_ten_percent(init):
    # Var(K) = R sigma_A^2 sigma_B^2 with fans of the dense (64, 64, 3, 3) kernel
    target = target_variance(init, 64 * 9, 64 * 9)

    def make(seed):
        return GKPConv2d(64, 64, 3, a_shape=(8, 8, 3, 1), rank=4, init=init, random_state=seed)

    assert abs(mean_square_over_seeds(make, 40) / target - 1) < 0.10


def test_gkp_parameter_and_flop_counts():
    # GKPD (Hameed et al.; survey eq. 13): parameters R (F1 C1 kh1 kw1 + F2 C2 kh2 kw2);
    # multiply-adds R [B C1 H' W' F2 C2 kh2 kw2 + B F2 OH OW F1 C1 kh1 kw1], H' W' the size
    # after the B convolution; reconstruction R F C KH KW.
    f1, c1, kh1, kw1, f2, c2, kh2, kw2, r = 16, 16, 3, 1, 4, 4, 1, 3, 2
    layer = GKPConv2d(64, 64, 3, a_shape=(f1, c1, kh1, kw1), rank=r, padding=1, bias=False)
    assert layer.n_params == r * (f1 * c1 * kh1 * kw1 + f2 * c2 * kh2 * kw2) == 1632
    b, h, w = 8, 16, 16
    # B (1 x 3) convolves the width with its padding and leaves the height alone; A (3 x 1)
    # then convolves the height with the height padding
    h1, w1 = h, w + 2 * 1 - kw2 + 1
    oh, ow = h, w
    expected = r * (b * c1 * h1 * w1 * f2 * c2 * kh2 * kw2 + b * f2 * oh * ow * f1 * c1 * kh1 * kw1)
    assert layer.flops((b, 64, h, w), path="factors") == expected
    assert layer.reconstruction_flops() == r * 64 * 64 * 9
    assert layer.flops((b, 64, h, w), path="dense") == r * 64 * 64 * 9 + b * oh * ow * 64 * 64 * 9


@pytest.mark.parametrize(
    ("kernel", "kwargs", "match"),
    [
        ((9, 3), {"a_shape": (4, 2, 3, 3)}, "a_shape\\[2\\]=3"),
        (3, {"a_shape": (3, 2, 3, 1)}, "a_shape\\[0\\]=3"),
        (3, {"a_shape": (4, 4, 3, 1)}, "a_shape\\[1\\]=4"),
        (3, {"a_shape": (4, 2, 3)}, "a_shape"),
        (3, {"a_shape": (4, 2, 3, 1), "rank": 0}, "rank"),
        (3, {"a_shape": (4, 2, 3, 1), "rank": 50}, "rank=50"),
    ],
)
def test_gkp_bad_configurations_name_the_argument(kernel, kwargs, match):
    with pytest.raises(ValueError, match=match):
        GKPConv2d(6, 8, kernel, **kwargs)


def test_gkp_default_a_shape_splits_channels_and_kernel_axes():
    layer = GKPConv2d(6, 8, 3, rank=2, padding=1, random_state=0, dtype=np.float64)
    assert layer.a_shape == (4, 3, 3, 1) and layer.b_shape == (2, 2, 1, 3)
    randomize_bias(layer)
    assert_paths_match_dense(layer, np.random.default_rng(1).standard_normal((2, 6, 5, 5)))
    w = np.random.default_rng(2).standard_normal((8, 6, 3, 3))
    exact = GKPConv2d.from_weight(w, padding=1)
    assert exact.a_shape == (4, 3, 3, 1)
    np.testing.assert_allclose(exact.weight(), w, atol=1e-10 * np.abs(w).max())


@settings(max_examples=20, deadline=None)
@given(
    st.sampled_from([(1, 1), (2, 1), (1, 3), (3, 1), (2, 2)]),
    st.sampled_from([(1, 1), (2, 1), (1, 3), (3, 3)]),
    st.integers(1, 3),
    st.integers(0, 1),
    st.integers(1, 3),
    st.integers(0, 2**31),
)
def test_gkp_factor_path_equals_conv2d_for_random_splits(fc1, kernel, stride, padding, rank, seed):
    # F = 2 F_1, C = 3 C_1 (F_2 = 2, C_2 = 3); the kernel axis goes to A or B at random
    rng = np.random.default_rng(seed)
    f1, c1 = fc1
    kh, kw = kernel
    a_spatial = tuple(int(rng.integers(2)) * (k - 1) + 1 for k in (kh, kw))
    a_shape = (f1, c1, *a_spatial)
    rank = min(
        rank, f1 * c1 * a_spatial[0] * a_spatial[1], 6 * (kh // a_spatial[0]) * (kw // a_spatial[1])
    )
    layer = GKPConv2d(
        3 * c1,
        2 * f1,
        (kh, kw),
        rank,
        a_shape=a_shape,
        stride=stride,
        padding=padding,
        random_state=seed,
        dtype=np.float64,
        mode="factors",
    )
    x = rng.standard_normal((2, 3 * c1, 6, 7))
    from tensornet.nn.conv import conv2d

    ref = conv2d(x, layer.weight(), layer.params["bias"], stride, padding)
    np.testing.assert_allclose(layer(x), ref, rtol=1e-5, atol=1e-5 * np.max(np.abs(ref)))
