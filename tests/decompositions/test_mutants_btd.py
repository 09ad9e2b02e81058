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
