"""Properties of the left semi-tensor product (tensornet/algebra/stp.py), survey eq. 14-16."""

from math import lcm

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tensornet.algebra import fold, mode_dot, stp, stp_mode_dot, unfold
from tensornet.testing import random_array, seeds, shapes

dims = st.integers(1, 6)


def kron_definition(x, w):
    """(X ⊗ I_{t/n})(W ⊗ I_{t/p}) with np.kron and explicit identities (Cheng's definition)."""
    t = lcm(x.shape[1], w.shape[0])
    return np.kron(x, np.eye(t // x.shape[1])) @ np.kron(w, np.eye(t // w.shape[0]))


def test_stp_golden_example():
    x = np.array([[1, 0, 0, 0], [0, 1, 1, 1]])
    w = np.array([[1, 1, 0, 1], [0, 0, 1, 0]])
    expected = np.array([[1, 0, 1, 0, 0, 0, 1, 0], [0, 1, 0, 1, 1, 1, 0, 1]])
    assert np.array_equal(stp(x, w), expected)


@given(dims, dims, dims, dims, seeds())
def test_stp_matches_kron_identity_definition(m, n, p, q, seed):
    x = random_array((m, n), seed)
    w = random_array((p, q), seed + 1)
    y = stp(x, w)
    t = lcm(n, p)
    assert y.shape == (m * t // n, q * t // p)
    np.testing.assert_allclose(y, kron_definition(x, w), rtol=1e-12, atol=1e-12)


@given(dims, dims, dims, seeds())
def test_stp_equals_matrix_product_when_n_equals_p(m, n, q, seed):
    x = random_array((m, n), seed)
    w = random_array((n, q), seed + 1)
    np.testing.assert_allclose(stp(x, w), x @ w, rtol=1e-12, atol=1e-12)


@given(dims, dims, dims, dims, dims, dims, seeds())
def test_stp_is_associative(m, n, p, q, r, s, seed):
    x = random_array((m, n), seed)
    w = random_array((p, q), seed + 1)
    z = random_array((r, s), seed + 2)
    left = stp(stp(x, w), z)
    right = stp(x, stp(w, z))
    assert left.shape == right.shape
    np.testing.assert_allclose(left, right, rtol=1e-10, atol=1e-10)


@given(dims, dims, dims, dims, seeds())
def test_stp_transpose_rule(m, n, p, q, seed):
    x = random_array((m, n), seed)
    w = random_array((p, q), seed + 1)
    np.testing.assert_allclose(stp(x, w).T, stp(w.T, x.T), rtol=1e-12, atol=1e-12)


@given(dims, dims, dims, dims, dims, seeds())
def test_stp_is_distributive(m, n, p, q, r, seed):
    x = random_array((m, n), seed)
    w1 = random_array((p, q), seed + 1)
    w2 = random_array((p, q), seed + 2)
    np.testing.assert_allclose(stp(x, w1 + w2), stp(x, w1) + stp(x, w2), rtol=1e-10, atol=1e-10)


@given(dims, dims, st.integers(1, 4), dims, seeds())
def test_stp_when_n_is_tp_is_x_times_w_kron_identity(m, p, t, q, seed):
    x = random_array((m, t * p), seed)
    w = random_array((p, q), seed + 1)
    np.testing.assert_allclose(stp(x, w), x @ np.kron(w, np.eye(t)), rtol=1e-12, atol=1e-12)


@given(dims, dims, st.integers(1, 4), dims, seeds())
def test_stp_when_p_is_tn_is_x_kron_identity_times_w(m, n, t, q, seed):
    x = random_array((m, n), seed)
    w = random_array((t * n, q), seed + 1)
    np.testing.assert_allclose(stp(x, w), np.kron(x, np.eye(t)) @ w, rtol=1e-12, atol=1e-12)


@given(dims, dims, st.integers(1, 4), dims, seeds())
def test_stp_follows_eq15_elementwise(m, p, t, q, seed):
    # eq. 15 (n = t p): (X ⋉ W)[i, l t + b] = sum_k X[i, k t + b] W[k, l]
    x = random_array((m, t * p), seed)
    w = random_array((p, q), seed + 1)
    y = stp(x, w)
    assert y.shape == (m, q * t)
    for i in range(m):
        for ll in range(q):
            for b in range(t):
                expected = sum(x[i, k * t + b] * w[k, ll] for k in range(p))
                assert abs(y[i, ll * t + b] - expected) <= 1e-12 * (1 + abs(expected))


@given(dims, dims, seeds())
def test_stp_of_row_and_column_sums_weighted_blocks(n, p, seed):
    # survey's vector case: x (row, length n p) ⋉ y (column, length p) = sum_i x_(i) y_i
    x = random_array(n * p, seed)
    y = random_array(p, seed + 1)
    blocks = x.reshape(p, n)
    expected = sum(blocks[i] * y[i] for i in range(p))
    out = stp(x, y)
    assert out.shape == (1, n)
    np.testing.assert_allclose(out[0], expected, rtol=1e-12, atol=1e-12)


@given(dims, dims, dims, seeds())
def test_stp_with_identity_is_kron_with_identity(m, n, p, seed):
    x = random_array((m, n), seed)
    t = lcm(n, p)
    np.testing.assert_allclose(stp(x, np.eye(p)), np.kron(x, np.eye(t // n)), atol=1e-14)


def test_stp_reads_1d_left_as_row_and_1d_right_as_column():
    x = np.arange(1.0, 5.0)
    w = np.arange(1.0, 3.0)
    assert np.array_equal(stp(x, w), stp(x[None, :], w[:, None]))
    assert stp(x, np.ones((2, 3))).shape == (1, 6)  # x row (1, 4), t = 4
    assert stp(np.ones((3, 2)), w).shape == (3, 1)  # w column (2, 1)


def test_stp_keeps_float32():
    x = np.ones((2, 4), np.float32)
    w = np.ones((2, 3), np.float32)
    assert stp(x, w).dtype == np.float32


@pytest.mark.parametrize(
    ("x", "w", "error", "match"),
    [
        (np.ones((2, 2, 2)), np.ones((2, 2)), ValueError, "x must be 1-D or 2-D"),
        (np.ones((2, 2)), np.ones((1, 2, 2)), ValueError, "w must be 1-D or 2-D"),
        (np.array([[1.0, np.nan]]), np.ones((2, 2)), ValueError, "x must be finite"),
        (np.ones((2, 2)), np.array([[np.inf]]), ValueError, "w must be finite"),
        (np.ones((2, 0)), np.ones((2, 2)), ValueError, "x must not be empty"),
        ("ab", np.ones((2, 2)), TypeError, "x must be a real numeric array"),
        (np.ones((2, 2)), np.ones((2, 2)) * 1j, TypeError, "w must be real"),
    ],
)
def test_stp_rejects_bad_input(x, w, error, match):
    with pytest.raises(error, match=match):
        stp(x, w)


# --------------------------------------------------------------------------- semi-tensor mode-n
@given(shapes(max_dims=3, max_side=3), st.data(), seeds())
def test_stp_mode_dot_is_mode_dot_with_kron_identity(shape, data, seed):
    mode = data.draw(st.integers(0, len(shape) - 1))
    t = data.draw(st.integers(1, 3))
    k = shape[mode]
    shape = shape[:mode] + (k * t,) + shape[mode + 1 :]
    x = random_array(shape, seed)
    u = random_array((data.draw(st.integers(1, 4)), k), seed + 1)
    expected = mode_dot(x, np.kron(u, np.eye(t)), mode)
    np.testing.assert_allclose(stp_mode_dot(x, u, mode), expected, rtol=1e-12, atol=1e-12)


@given(shapes(max_dims=3, max_side=3), st.data(), seeds())
def test_stp_mode_dot_folds_stp_of_unfolding(shape, data, seed):
    mode = data.draw(st.integers(0, len(shape) - 1))
    t = data.draw(st.integers(1, 3))
    k = shape[mode]
    shape = shape[:mode] + (k * t,) + shape[mode + 1 :]
    x = random_array(shape, seed)
    u = random_array((data.draw(st.integers(1, 4)), k), seed + 1)
    y = stp_mode_dot(x, u, mode)
    np.testing.assert_allclose(
        y, fold(stp(u, unfold(x, mode)), mode, y.shape), rtol=1e-12, atol=1e-12
    )


def test_stp_mode_dot_with_full_width_factor_is_mode_dot():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4, 5))
    u = rng.standard_normal((2, 4))
    np.testing.assert_allclose(stp_mode_dot(x, u, 1), mode_dot(x, u, 1), atol=1e-14)
    np.testing.assert_allclose(stp_mode_dot(x, u, -2), mode_dot(x, u, 1), atol=1e-14)


def test_stp_mode_dot_reads_1d_factor_as_row():
    x = np.arange(24.0).reshape(2, 6, 2)
    u = np.array([1.0, -1.0, 2.0])
    np.testing.assert_allclose(stp_mode_dot(x, u, 1), stp_mode_dot(x, u[None, :], 1))
    assert stp_mode_dot(x, u, 1).shape == (2, 2, 2)


def test_stp_mode_dot_rejects_factor_width_not_dividing_mode():
    with pytest.raises(ValueError, match=r"u.shape\[1\]=4 to divide x.shape\[1\]=6"):
        stp_mode_dot(np.ones((2, 6, 3)), np.ones((2, 4)), 1)


def test_stp_mode_dot_rejects_bad_mode_and_nan():
    with pytest.raises(ValueError, match="mode=3"):
        stp_mode_dot(np.ones((2, 6, 3)), np.ones((2, 3)), 3)
    with pytest.raises(ValueError, match="u must be finite"):
        stp_mode_dot(np.ones((2, 6, 3)), np.full((2, 3), np.nan), 1)
    with pytest.raises(ValueError, match="u must be 1-D or 2-D"):
        stp_mode_dot(np.ones((2, 6, 3)), np.ones((2, 3, 1)), 1)


def test_stp_without_finiteness_check_still_converts_and_validates_shapes():
    x = np.array([[1, 0, 0, 0], [0, 1, 1, 1]])
    w = np.array([[1, 1, 0, 1], [0, 0, 1, 0]])
    out = stp(x, w, check_finite=False)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, stp(x, w))
    with pytest.raises(ValueError, match="x must be 1-D or 2-D"):
        stp(np.ones((1, 1, 1)), w, check_finite=False)


def test_stp_small_general_case_keeps_float32():
    # t/n = 2 and t/p = 3 with tiny sizes: the Numba path
    x = np.ones((2, 3), np.float32)
    w = np.ones((2, 2), np.float32)
    y = stp(x, w)
    assert y.dtype == np.float32 and y.shape == (4, 6)


@pytest.mark.parametrize(
    ("x_shape", "w_shape"),
    [((3, 4), (4, 5)), ((3, 8), (4, 5)), ((3, 4), (8, 5)), ((3, 6), (4, 5)), ((30, 60), (45, 40))],
    ids=["n=p", "p|n", "n|p", "tiny-general", "large-general"],
)
@pytest.mark.parametrize("where", ["x", "w"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_stp_refuses_non_finite_input_next_to_zeros_on_every_path(x_shape, w_shape, where, bad):
    x, w = np.zeros(x_shape), np.zeros(w_shape)
    (x if where == "x" else w)[-1, -1] = bad
    with pytest.raises(ValueError, match=f"{where} must be finite"):
        stp(x, w)
    assert not np.all(np.isfinite(stp(x, w, check_finite=False)))


@pytest.mark.parametrize(
    ("m", "n", "p", "q"),
    [(40, 6, 4, 40), (40, 4, 6, 40), (12, 10, 4, 80), (35, 9, 6, 30)],
    ids=["t/n=2,t/p=3", "t/n=3,t/p=2", "t/n=2,t/p=5", "t/n=2,t/p=3,c=3"],
)
@settings(max_examples=5)
@given(seed=seeds())
def test_large_general_stp_matches_kron_identity_definition(m, n, p, q, seed):
    # m q t above NUMBA_STP_MAX_WORK with t/n > 1 and t/p > 1: the batched gather path
    from tensornet.algebra.stp import NUMBA_STP_MAX_WORK

    assert m * q * lcm(n, p) > NUMBA_STP_MAX_WORK
    x = random_array((m, n), seed)
    w = random_array((p, q), seed + 1)
    np.testing.assert_allclose(stp(x, w), kron_definition(x, w), rtol=1e-12, atol=1e-12)
