"""The shared truncation rule: truncate, rank_for_error, error_budget and the Gram step."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tensornet.algebra.truncation import (
    NUMERICAL_ZERO,
    error_budget,
    leading_subspace,
    thin_svd,
    truncate,
    uses_gram_path,
)
from tensornet.testing import random_array, seeds

singular_values = st.lists(st.floats(0, 10), min_size=1, max_size=10).map(
    lambda v: np.sort(np.asarray(v, dtype=float))[::-1]
)


def _tail(s, r):
    """``sqrt(sum_{i>=r} s_i^2)`` computed without underflow."""
    t = s[r:]
    top = float(t.max()) if t.size else 0.0
    return 0.0 if top == 0.0 else top * float(np.sqrt(np.sum((t / top) ** 2)))


@given(singular_values, st.floats(0, 20), st.integers(1, 12))
def test_truncate_keeps_smallest_rank_within_delta_then_caps(s, delta, cap):
    r = truncate(s, delta, cap)
    free = truncate(s, delta)
    assert r == min(free, cap)
    slack = 1e-150 * float(s.max())
    # the uncapped rank is the smallest rank >= 1 whose tail is within delta (1e-12 at a tie)
    assert _tail(s, free) <= delta * (1 + 1e-12) + slack
    if free > 1:
        assert _tail(s, free - 1) > delta * (1 - 1e-12)


@given(singular_values, st.integers(1, 12))
def test_truncate_without_delta_keeps_everything_up_to_the_cap(s, cap):
    assert truncate(s) == len(s)
    assert truncate(s, cap=cap) == min(cap, len(s))


def test_truncate_of_nothing_is_rank_zero_and_bad_cap_is_refused():
    assert truncate(np.zeros(0), 1.0) == 0
    with pytest.raises(ValueError, match="cap"):
        truncate([1.0], 0.1, cap=0)


@given(st.floats(1e-6, 0.99), st.floats(1e-3, 1e3), st.integers(1, 20))
def test_error_budget_over_n_truncations_adds_up_to_eps_norm(eps, norm, n):
    delta = error_budget(eps, norm, n)
    assert np.sqrt(n * delta**2) == pytest.approx(eps * norm, rel=1e-12)


def test_error_budget_zero_eps_is_numerically_zero_and_none_is_none():
    assert error_budget(0.0, 3.0, 5) == NUMERICAL_ZERO * 3.0
    assert error_budget(None, 3.0, 5) is None


@given(st.integers(1, 12), st.integers(1, 12), seeds())
def test_thin_svd_reconstructs(m, n, seed):
    a = random_array((m, n), seed)
    u, s, vt = thin_svd(a)
    np.testing.assert_allclose((u * s) @ vt, a, atol=1e-12 * max(1.0, np.abs(a).max()))


# shapes that take each regime of the step: LAPACK (small / tall), the Gram path of a large wide
# matrix and of a mid-size one with >= 64 rows
SHAPES = [(6, 9), (40, 12), (16, 8192), (96, 256)]


def _noisy_low_rank(shape, rank, seed, noise):
    rng = np.random.default_rng(seed)
    m, n = shape
    a = rng.standard_normal((m, rank)) @ rng.standard_normal((rank, n))
    return a + noise * np.linalg.norm(a) / np.sqrt(a.size) * rng.standard_normal(shape)


@pytest.mark.parametrize("shape", SHAPES)
def test_uses_gram_path_regimes(shape):
    m, n = shape
    assert uses_gram_path(shape) == (shape in [(16, 8192), (96, 256)])


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    "cap, rel_delta", [(3, None), (None, 1e-2), (None, 1e-9), (None, 1e-13), (2, 1e-9)]
)
def test_leading_subspace_is_the_optimal_truncation(shape, cap, rel_delta):
    # U orthonormal, B = U^T C exactly, the rank is truncate() of the exact singular values and
    # the discarded energy is the Eckart-Young tail
    c = _noisy_low_rank(shape, 4, seed=sum(shape), noise=1e-6)
    s = np.linalg.svd(c, compute_uv=False)
    norm = float(np.linalg.norm(c))
    delta = None if rel_delta is None else rel_delta * norm
    sub = leading_subspace(c, cap, delta)
    r = sub.u.shape[1]
    assert r == truncate(s, delta, cap)
    np.testing.assert_allclose(sub.u.T @ sub.u, np.eye(r), atol=1e-12)
    np.testing.assert_allclose(sub.b, sub.u.T @ c, atol=1e-12 * norm)
    err_sq = float(np.linalg.norm(c - sub.u @ sub.b) ** 2)
    best_sq = float(np.sum(s[r:] ** 2))
    assert err_sq == pytest.approx(best_sq, rel=1e-8, abs=1e-24 * norm**2)
    tol = 1e-10 if sub.exact else 1e-6
    assert sub.tail_sq == pytest.approx(err_sq, rel=tol, abs=1e-14 * norm**2)


def test_leading_subspace_forms_the_next_gram_matrix_on_request():
    c = _noisy_low_rank((16, 8192), 4, seed=3, noise=1e-3)
    sub = leading_subspace(c, 4, next_rows=16)
    following = sub.b.reshape(4 * 16, -1)
    np.testing.assert_allclose(sub.next_gram, following @ following.T, rtol=1e-12, atol=1e-12)


def test_leading_subspace_recovers_exact_rank_below_gram_eigenvalue_accuracy():
    # an exactly rank-1 wide matrix: the Gram eigenvalues of the null directions are ~1e-16
    # ||C||^2, i.e. singular values ~1e-8 ||C||, but exact row norms see them as ~1e-16 ||C||
    rng = np.random.default_rng(0)
    c = np.outer(rng.standard_normal(40), rng.standard_normal(8192))
    sub = leading_subspace(c, None, 1e-10 * float(np.linalg.norm(c)))
    assert sub.u.shape[1] == 1
    assert sub.exact


@pytest.mark.parametrize(
    ("shape", "expected"),
    [
        ((64, 128), True),  # GRAM_MIN_ROWS rows, exactly twice as wide
        ((64, 127), False),
        ((63, 126), False),  # too few rows, too small for the wide rule
        ((129, 516), True),  # large and exactly WIDE_RATIO times as wide
        ((32, 2049), True),  # large, fewer than GRAM_MIN_ROWS rows, wider than WIDE_RATIO
        ((32, 2048), False),  # 65536 elements: not above SMALL_SIZE
    ],
)
def test_uses_gram_path_holds_exactly_on_the_documented_boundaries(shape, expected):
    assert uses_gram_path(shape) is expected
