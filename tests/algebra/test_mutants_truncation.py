"""Mutation-found gaps of ``tensornet.algebra.truncation``: the Gram step's round-off margin,
eigenpair order, the SVD fallback, the rank rules' edges and scale invariance (the path
predicate's boundaries are in the mirror file test_truncation.py, where the tool runs a module's
constants)."""

import numpy as np
import pytest

from tensornet.algebra import truncation
from tensornet.algebra.truncation import (
    EIGENVALUE_ERROR,
    EIGENVALUE_MARGIN,
    error_budget,
    leading_eigenvectors,
    leading_subspace,
    rank_for_error,
    thin_svd,
    truncate,
    uses_gram_path,
)


def _matrix(s, n, seed):
    """``U diag(s) V^T`` with random orthonormal ``U`` (m x m) and ``V`` (n x m)."""
    rng = np.random.default_rng(seed)
    u = np.linalg.qr(rng.standard_normal((s.size, s.size)))[0]
    v = np.linalg.qr(rng.standard_normal((n, s.size)))[0]
    return (u * s) @ v.T


@pytest.mark.parametrize("seed", [0, 1])
def test_gram_step_error_stays_within_delta_when_the_last_value_is_just_above_it(seed):
    # delta sits just below the smallest singular value, closer than the eigenvalues' error
    # margin m * lam_err: the budget must shrink by the margin (keep the value), never grow
    m, n = 8, 8200
    s = np.array([1.0, 0.7, 0.5, 0.3, 0.2, 0.1, 0.05, 1e-4])
    c = _matrix(s, n, seed)
    assert uses_gram_path(c.shape)
    lam_err = EIGENVALUE_ERROR * m * np.finfo(float).eps * np.sum(s**2)
    delta = s[-1] * (1 - 1e-6)
    assert s[-1] ** 2 - delta**2 < m * lam_err  # inside the margin
    assert delta**2 >= EIGENVALUE_MARGIN * m * lam_err  # the eigenvalues choose the rank
    sub = leading_subspace(c, delta=delta)
    assert np.linalg.norm(c - sub.u @ sub.b) <= delta


@pytest.mark.parametrize("r", [1, 3, 5])
def test_leading_eigenvectors_pairs_each_eigenvalue_with_its_own_eigenvector(r):
    # G u_i = lam_i u_i for every returned pair, lam non-increasing and the r largest
    rng = np.random.default_rng(r)
    q = np.linalg.qr(rng.standard_normal((6, 6)))[0]
    lam_all = np.array([9.0, 7.0, 4.0, 2.0, 1.0, 0.5])
    g = (q * lam_all) @ q.T
    lam, u = leading_eigenvectors(g, r)
    np.testing.assert_allclose(lam, lam_all[:r], rtol=1e-12)
    np.testing.assert_allclose(g @ u, u * lam, atol=1e-12)
    np.testing.assert_allclose(u.T @ u, np.eye(r), atol=1e-12)


def test_thin_svd_falls_back_to_gesvd_and_still_returns_the_thin_factors(monkeypatch):
    # a LAPACK convergence failure of the default driver is retried with gesvd
    svd = truncation.scipy.linalg.svd
    drivers = []

    def flaky_svd(m, *args, **kwargs):
        drivers.append(kwargs.get("lapack_driver", "gesdd"))
        if drivers[-1] != "gesvd":
            raise np.linalg.LinAlgError("SVD did not converge")
        return svd(m, *args, **kwargs)

    monkeypatch.setattr(truncation.scipy.linalg, "svd", flaky_svd)
    c = np.random.default_rng(0).standard_normal((5, 3))
    u, s, vt = thin_svd(c)
    assert drivers == ["gesdd", "gesvd"]
    assert u.shape == (5, 3) and s.shape == (3,) and vt.shape == (3, 3)
    np.testing.assert_allclose((u * s) @ vt, c, atol=1e-12)


def test_truncate_keeps_at_least_one_value_even_when_delta_covers_everything():
    assert truncate([3.0, 2.0, 1.0], delta=100.0) == 1
    assert rank_for_error([3.0, 2.0, 1.0], delta=100.0, min_rank=0) == 0  # min_rank 0 allowed
    assert rank_for_error([3.0, 2.0, 1.0], delta=100.0) == 1  # the default min_rank is 1


def test_error_budget_of_a_single_mode_tensor_is_the_whole_budget():
    # n_truncations = d - 1 = 0: no division by zero, the budget is eps ||X||
    assert error_budget(0.1, 2.0, 0) == pytest.approx(0.2)
    assert error_budget(0.1, 2.0, 4) == pytest.approx(0.1)


@pytest.mark.parametrize("delta", [-1.0, np.nan, np.inf])
def test_rank_for_error_refuses_a_negative_or_non_finite_delta(delta):
    with pytest.raises(ValueError, match="must be a finite number >= 0"):
        rank_for_error([3.0, 2.0, 1.0], delta)


@pytest.mark.parametrize("c", [1e-200, 1e200])
def test_rank_for_error_is_scale_invariant_where_squares_would_underflow_or_overflow(c):
    s = np.array([1.0, 0.5, 0.1, 0.01])
    for delta in (0.005, 0.05, 0.2, 0.6):
        assert rank_for_error(c * s, c * delta) == rank_for_error(s, delta)


def test_capped_gram_step_without_cap_keeps_every_row_of_a_wide_matrix_exactly():
    rng = np.random.default_rng(0)
    c = rng.standard_normal((8, 8200))
    assert uses_gram_path(c.shape)
    for cap in (None, 8, 20):
        sub = leading_subspace(c, cap=cap)
        assert sub.u.shape == (8, 8) and sub.exact
        np.testing.assert_allclose(sub.u @ sub.b, c, atol=1e-10)


def test_a_tail_reported_as_exact_is_the_measured_residual_and_any_tail_is_within_its_bound():
    # delta far above the eigenvalues' error: the Gram step may read the tail off eigenvalues,
    # which are accurate to about m u ||C||^2 only; it must not then call the tail exact
    m, n = 8, 8200
    s = np.array([1.0, 0.5, 1e-6, 8e-7, 5e-7, 3e-7, 2e-7, 1e-7])
    c = _matrix(s, n, 0)
    sub = leading_subspace(c, delta=1e-4)
    assert sub.u.shape[1] == 2
    residual_sq = float(np.linalg.norm(c - sub.u @ sub.b) ** 2)
    bound = EIGENVALUE_ERROR * m * np.finfo(float).eps * float(np.sum(s**2))
    assert abs(sub.tail_sq - residual_sq) <= m * bound
    if sub.exact:  # (here the eigenvalue tail is off by about 3e-5 relative)
        assert sub.tail_sq == pytest.approx(residual_sq, rel=1e-7, abs=0.0)


def test_uses_gram_path_refuses_large_square_and_tall_matrices():
    """A large matrix takes the Gram path only when it is at least twice as wide as tall."""
    for shape in [(1000, 1000), (2000, 300), (300, 599), (300, 600), (100, 1000)]:
        assert uses_gram_path(shape) is (2 * shape[0] <= shape[1]), shape


def test_the_svd_path_reports_its_tail_as_exact():
    """A small matrix goes to LAPACK's SVD, whose discarded energy is exact (exact=True)."""
    c = _matrix(np.array([3.0, 1.0, 1e-3]), 7, 0)
    assert not uses_gram_path(c.shape)
    for cap, delta in [(None, 0.01), (1, None), (None, None)]:
        sub = leading_subspace(c, cap=cap, delta=delta)
        assert sub.exact is True
        residual_sq = float(np.linalg.norm(c - sub.u @ sub.b) ** 2)
        assert sub.tail_sq == pytest.approx(residual_sq, rel=1e-9, abs=1e-28)


def test_a_budget_inside_the_eigenvalue_margin_measures_the_tail_exactly():
    """delta^2 below EIGENVALUE_MARGIN * m * lam_err (lam_err ~ m u ||C||^2) takes exact row
    norms: the tail is the measured residual and called exact (here ||C||^2 = 90, m = 8)."""
    m, n = 8, 8200
    s = np.array([6.0, 5.0, 4.0, 3.0, 2.0, 1e-6, 5e-7, 1e-7])
    c = _matrix(s, n, 1)
    assert uses_gram_path(c.shape)
    lam_err = EIGENVALUE_ERROR * m * np.finfo(float).eps * float(np.sum(s**2))
    delta = 5e-5
    assert delta**2 < EIGENVALUE_MARGIN * m * lam_err
    sub = leading_subspace(c, delta=delta)
    assert sub.u.shape[1] == 5 and sub.exact
    residual_sq = float(np.linalg.norm(c - sub.u @ sub.b) ** 2)
    assert sub.tail_sq == pytest.approx(residual_sq, rel=1e-7, abs=0.0)
