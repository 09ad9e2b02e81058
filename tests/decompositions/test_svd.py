"""Properties of the SVD back ends (Eckart-Young-Mirsky; HMT 2011)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tensornet.decompositions.svd import randomized_svd, rank_for_error, truncated_svd
from tensornet.testing import (
    assert_eckart_young,
    assert_eps_bound,
    assert_orthonormal_columns,
    random_array,
    seeds,
)

dims = st.integers(1, 12)


def _low_rank(n_rows, n_cols, rank, seed):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n_rows, rank)) @ rng.standard_normal((rank, n_cols))


@given(dims, dims, seeds())
def test_truncated_svd_full_rank_reconstructs_exactly(n_rows, n_cols, seed):
    m = random_array((n_rows, n_cols), seed)
    u, s, vt = truncated_svd(m)
    assert len(s) == min(n_rows, n_cols)
    np.testing.assert_allclose((u * s) @ vt, m, atol=1e-10 * max(1.0, np.abs(m).max()))


@given(dims, dims, st.integers(1, 12), seeds())
def test_truncated_svd_factors_are_orthonormal_and_sorted(n_rows, n_cols, rank, seed):
    m = random_array((n_rows, n_cols), seed)
    u, s, vt = truncated_svd(m, rank=rank)
    r = min(rank, n_rows, n_cols)
    assert u.shape == (n_rows, r) and s.shape == (r,) and vt.shape == (r, n_cols)
    assert_orthonormal_columns(u, "U")
    assert_orthonormal_columns(vt.T, "Vt.T")
    assert np.all(np.diff(s) <= 1e-12) and np.all(s >= 0)


@given(dims, dims, st.integers(1, 12), seeds())
def test_truncated_svd_error_equals_discarded_singular_values(n_rows, n_cols, rank, seed):
    m = random_array((n_rows, n_cols), seed)
    u, s, vt = truncated_svd(m, rank=rank)
    all_s = np.linalg.svd(m, compute_uv=False)
    err = np.linalg.norm(m - (u * s) @ vt)
    assert err == pytest.approx(np.sqrt(np.sum(all_s[len(s) :] ** 2)), abs=1e-9)
    assert_eckart_young((u, s, vt), m, rank)


@given(dims, dims, st.floats(0.0, 0.99), seeds())
def test_truncated_svd_meets_eps_bound_with_smallest_rank(n_rows, n_cols, eps, seed):
    m = random_array((n_rows, n_cols), seed)
    u, s, vt = truncated_svd(m, eps=eps)
    norm = np.linalg.norm(m)
    assert_eps_bound((u, s, vt), m, eps, atol=1e-10)
    if len(s) > 1:  # one rank less would violate the bound
        u2, s2, vt2 = u[:, :-1], s[:-1], vt[:-1]
        assert np.linalg.norm(m - (u2 * s2) @ vt2) > eps * norm - 1e-10 * norm


@given(dims, dims, st.integers(1, 4), seeds())
def test_truncated_svd_eps_zero_recovers_exact_low_rank(n_rows, n_cols, rank, seed):
    m = _low_rank(n_rows, n_cols, rank, seed)
    u, s, vt = truncated_svd(m, eps=1e-8)
    assert len(s) <= min(rank, n_rows, n_cols)
    np.testing.assert_allclose((u * s) @ vt, m, atol=1e-7 * np.linalg.norm(m))


@given(dims, dims, st.integers(1, 12), st.floats(0.0, 0.99), seeds())
def test_truncated_svd_rank_caps_eps(n_rows, n_cols, rank, eps, seed):
    m = random_array((n_rows, n_cols), seed)
    _, s_eps, _ = truncated_svd(m, eps=eps)
    _, s_both, _ = truncated_svd(m, rank=rank, eps=eps)
    assert len(s_both) == min(rank, len(s_eps))


def _tail(s, r):
    """``sqrt(sum_{i>=r} s_i^2)`` computed without underflow (scaled by the largest term)."""
    t = s[r:]
    top = float(t.max()) if t.size else 0.0
    return 0.0 if top == 0.0 else top * float(np.sqrt(np.sum((t / top) ** 2)))


@given(st.lists(st.floats(0, 10), min_size=0, max_size=8), st.floats(0, 20))
def test_rank_for_error_is_smallest_rank_within_delta(values, delta):
    # the documented contract: exact up to a relative 1e-12 at a tie, and terms below
    # 1e-150 max(s) vanish when squared
    s = np.sort(np.asarray(values, dtype=float))[::-1]
    r = rank_for_error(s, delta, min_rank=0)
    slack = 1e-150 * (float(s.max()) if s.size else 0.0)
    assert _tail(s, r) <= delta * (1 + 1e-12) + slack
    if r > 0:
        assert _tail(s, r - 1) > delta * (1 - 1e-12)


def test_rank_for_error_at_a_rounding_tie_keeps_the_value_whose_tail_exceeds_delta():
    # sqrt(4.0**2 + 5.96e-08**2) rounds to 4.0, but the squared tail 16.000000000000004 > 16
    assert rank_for_error([4.0, 5.96e-08], 4.0, min_rank=0) == 1


@pytest.mark.parametrize("scale", [2.0**-600, 1e-170, 1e200, 2.0**900])
def test_rank_for_error_is_scale_invariant(scale):
    s = np.array([3.0, 2.0, 1.0, 0.5])
    for delta in (0.0, 0.5, 1.0, 1.2, 4.0):
        assert rank_for_error(s * scale, delta * scale) == rank_for_error(s, delta)


@given(st.integers(5, 30), st.integers(5, 30), st.integers(1, 4), seeds())
def test_randomized_svd_recovers_exact_low_rank(n_rows, n_cols, rank, seed):
    m = _low_rank(n_rows, n_cols, rank, seed)
    u, s, vt = randomized_svd(m, rank, n_oversamples=2, n_iter=1, random_state=seed)
    np.testing.assert_allclose(u.T @ u, np.eye(len(s)), atol=1e-10)
    np.testing.assert_allclose(vt @ vt.T, np.eye(len(s)), atol=1e-10)
    np.testing.assert_allclose((u * s) @ vt, m, atol=1e-8 * np.linalg.norm(m))


@given(st.integers(20, 40), st.integers(20, 40), st.integers(1, 5), seeds())
def test_randomized_svd_close_to_optimal_error(n_rows, n_cols, rank, seed):
    m = random_array((n_rows, n_cols), seed)
    u, s, vt = randomized_svd(m, rank, n_iter=4, random_state=seed)
    best = np.sqrt(np.sum(np.linalg.svd(m, compute_uv=False)[rank:] ** 2))
    err = np.linalg.norm(m - (u * s) @ vt)
    assert best - 1e-9 <= err <= 1.1 * best


def test_randomized_svd_same_seed_same_result():
    m = random_array((40, 30), 1)
    a = randomized_svd(m, 3, random_state=7)
    b = randomized_svd(m, 3, random_state=7)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: truncated_svd(np.ones(3)), ValueError, "ndim=2"),
        (lambda: truncated_svd(np.ones((2, 2)), rank=0), ValueError, "rank=0"),
        (lambda: truncated_svd(np.ones((2, 2)), rank=-1), ValueError, "rank=-1"),
        (lambda: truncated_svd(np.ones((2, 2)), eps=1.5), ValueError, "eps"),
        (lambda: truncated_svd(np.array([[1.0, np.nan]])), ValueError, "finite"),
        (lambda: randomized_svd(np.ones((3, 3)), 0), ValueError, "rank=0"),
        (lambda: randomized_svd(np.ones((3, 3)), 1, n_iter=-1), ValueError, "n_iter"),
        (lambda: randomized_svd(np.ones((3, 3)), 1.5), TypeError, "rank"),
        (lambda: rank_for_error([1.0, -1.0], 0.1), ValueError, "non-negative"),
    ],
)
def test_svd_bad_input_raises(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_rank_for_error_with_delta_far_above_tiny_values_keeps_min_rank():
    assert rank_for_error([2.2250738585e-313], 1.0, min_rank=0) == 0
    assert rank_for_error([2.2250738585e-313, 1e-320], 1e300) == 1
