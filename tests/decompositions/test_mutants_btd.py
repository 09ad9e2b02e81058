"""Mutation-found gaps of ``tensornet.decompositions.btd``."""

import numpy as np
import pytest

from tensornet.decompositions import btd_als
from tensornet.decompositions.als import relative_error
from tensornet.decompositions.btd import _update_cores
from tensornet.formats import TuckerTensor


@pytest.mark.parametrize("seed", [0, 4])
def test_joint_core_solve_hands_a_cancelling_fit_to_the_dense_residual(seed):
    # Two nearly parallel rank-(1, 1, 1) terms: the least-squares cores are about +-5e3 while
    # ||X|| = 1, so ||X||^2 - 2 g^T b + g^T G g cancels terms ~1e8 down to a residual ~1e-9.
    # The scale returned with the error must be that of the cancelling terms, so that
    # relative_error trusts the cheap formula only where it still has its digits.
    rng = np.random.default_rng(seed)
    base, step = rng.standard_normal((2, 3, 4))
    near = base + 1e-4 * step
    factors = [
        [(b / np.linalg.norm(b))[:, None] for b in base],
        [(b / np.linalg.norm(b))[:, None] for b in near],
    ]
    one = np.ones((1, 1, 1))
    x = TuckerTensor(one, factors[0]).full() - TuckerTensor(one, factors[1]).full()
    x = x / np.linalg.norm(x) + 1e-5 * rng.standard_normal(x.shape)
    norm_x_sq = float(np.vdot(x, x))
    cores = [np.zeros((1, 1, 1)), np.zeros((1, 1, 1))]
    err_sq, scale_sq = _update_cores(x, cores, factors, norm_x_sq)
    assert min(abs(float(g[0, 0, 0])) for g in cores) > 1e3
    model = sum(TuckerTensor(g, f).full() for g, f in zip(cores, factors, strict=True))
    dense = float(np.linalg.norm(x - model)) / np.sqrt(norm_x_sq)
    got = relative_error(err_sq, norm_x_sq, lambda: dense, scale_sq)
    np.testing.assert_allclose(got, dense, rtol=1e-3)


def test_btd_als_refuses_zero_sweeps_by_name():
    x = np.random.default_rng(0).standard_normal((3, 3, 3))
    with pytest.raises(ValueError, match="n_iter_max=0 must be >= 1"):
        btd_als(x, 1, 1, n_iter_max=0)


def test_btd_als_accepts_terms_with_exactly_as_many_core_entries_as_x():
    # one (2, 2, 2) term has 8 core entries = x.size: allowed (only more is refused), exact
    x = np.random.default_rng(1).standard_normal((2, 2, 2))
    btd = btd_als(x, 1, (2, 2, 2), random_state=0)
    assert np.linalg.norm(btd.full() - x) < 1e-10 * np.linalg.norm(x)


@pytest.mark.parametrize("n_terms", [1, 2])
def test_rel_error_of_a_poor_fit_equals_the_dense_residual(n_terms):
    # a random tensor with rank-(1, 1, 1) terms: most of ||X||^2 stays in the residual, where
    # the cheap formula ||X||^2 - 2 g^T b + g^T G g is accurate and is what info reports
    x = np.random.default_rng(2).standard_normal((4, 5, 6))
    btd = btd_als(x, n_terms, 1, n_iter_max=5, tol=0, random_state=0)
    dense = np.linalg.norm(x - btd.full()) / np.linalg.norm(x)
    assert dense > 0.5
    np.testing.assert_allclose(btd.info["rel_error"], dense, rtol=1e-9)


def test_rel_error_of_a_near_exact_fit_is_the_dense_relative_residual():
    # below 1e-6 the error comes from the dense residual, relative to ||X|| (here about 10)
    rng = np.random.default_rng(3)
    term = TuckerTensor(
        rng.standard_normal((2, 2, 2)), [rng.standard_normal((5, 2)) for _ in range(3)]
    )
    x = term.full()
    x = x + 1e-8 * np.linalg.norm(x) / np.sqrt(x.size) * rng.standard_normal(x.shape)
    btd = btd_als(x, 1, (2, 2, 2), n_iter_max=20, tol=0, random_state=0)
    dense = np.linalg.norm(x - btd.full()) / np.linalg.norm(x)
    assert dense < 1e-6 and np.linalg.norm(x) > 4
    np.testing.assert_allclose(btd.info["rel_error"], dense, rtol=1e-4)


def test_btd_als_refuses_zero_restarts_by_name():
    x = np.random.default_rng(0).standard_normal((3, 3, 3))
    with pytest.raises(ValueError, match="n_restarts=0 must be >= 1"):
        btd_als(x, 1, 1, n_restarts=0)


def test_solve_psd_takes_cholesky_only_above_the_rcond_threshold():
    """Cholesky solves a well-conditioned Gram matrix; rcond == MIN_RCOND_BTD goes to direct()."""
    from tensornet.decompositions.btd import MIN_RCOND_BTD, _solve_psd

    rhs = np.array([1.0, 2.0])
    # diag(1, 1e-8): pocon's estimate (1 / ||G^-1||_1) / ||G||_1 is exactly 1e-8
    assert MIN_RCOND_BTD == 1e-8
    out = _solve_psd(np.diag([1.0, 1e-8]), rhs, 2, lambda: "direct")
    assert isinstance(out, str) and out == "direct"
    # without direct() the fallback is the pseudo-inverse of the normal equations
    np.testing.assert_allclose(_solve_psd(np.diag([1.0, 1e-8]), rhs, 2), [1.0, 2e8], rtol=1e-12)
    np.testing.assert_array_equal(_solve_psd(np.eye(2), rhs, 2, lambda: "direct"), rhs)


def test_one_term_solve_hands_rcond_at_the_threshold_to_the_joint_solve():
    """The Kronecker one-term solve gives up (None) when its rcond is exactly MIN_RCOND_BTD."""
    from tensornet.decompositions.btd import _solve_one_term

    factors = [np.diag([1.0, 1e-4]), np.eye(2), np.eye(2)]  # Gram diag(1, 1e-8), rcond 1e-8
    assert _solve_one_term(np.ones((2, 2, 2)), factors, 8.0) is None


def test_one_term_solve_returns_the_scale_of_its_cancelling_terms():
    """scale_sq = ||X||^2 + |g|^T |G| |g| with G the Kronecker product of the factor Grams."""
    from tensornet.algebra import kron
    from tensornet.decompositions.btd import _solve_one_term

    rng = np.random.default_rng(5)
    factors = [rng.standard_normal((n, 2)) for n in (4, 3, 5)]  # not orthonormal
    x = rng.standard_normal((4, 3, 5))
    rhs = TuckerTensor(x, [f.T for f in factors]).full()  # X x_k A_k^T
    norm_x_sq = float(np.vdot(x, x))
    g, err_sq, scale_sq = _solve_one_term(rhs, factors, norm_x_sq)
    gram = kron(*[f.T @ f for f in factors])
    want = norm_x_sq + float(np.abs(g).ravel() @ np.abs(gram) @ np.abs(g).ravel())
    np.testing.assert_allclose(scale_sq, want, rtol=1e-12)
    assert scale_sq > norm_x_sq


def test_start_filling_every_mode_does_not_depend_on_x():
    """With sum_r L_r^(k) == I_k the blocks are random bases of the whole space, not of X's."""
    from tensornet.decompositions.btd import _initial_factors

    rng = np.random.default_rng(6)
    x, y = rng.standard_normal((2, 3, 2, 3))
    ranks = [(2, 1, 2), (1, 1, 1)]  # widths (3, 2, 3) == x.shape
    fx = _initial_factors(x, ranks, np.random.default_rng(0))
    fy = _initial_factors(y, ranks, np.random.default_rng(0))
    for bx, by in zip(fx, fy, strict=True):
        for a, b in zip(bx, by, strict=True):
            np.testing.assert_array_equal(a, b)


def test_btd_als_accepts_as_many_terms_as_x_has_entries():
    """n_terms == x.size (rank-1 terms, one core entry each) is allowed; only more is refused."""
    x = np.random.default_rng(7).standard_normal((2, 2))
    btd = btd_als(x, 4, 1, n_iter_max=2, random_state=0)
    assert len(btd.term_ranks) == 4


def test_core_update_of_an_ill_conditioned_single_term_falls_back_to_the_joint_solve():
    """One term whose Kronecker solve gives up (rcond <= 1e-8) still gets its least-squares core."""
    x = np.random.default_rng(8).standard_normal((2, 2, 2))
    factors = [[np.diag([1.0, 1e-4]), np.eye(2), np.eye(2)]]
    cores = [np.zeros((2, 2, 2))]
    _update_cores(x, cores, factors, float(np.vdot(x, x)))
    np.testing.assert_allclose(TuckerTensor(cores[0], factors[0]).full(), x, atol=1e-10)
