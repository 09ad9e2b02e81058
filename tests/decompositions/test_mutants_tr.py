"""Mutation-found gaps of ``tensornet.decompositions.tr``."""

import numpy as np
import pytest

from tensornet.decompositions import tr_als, tr_svd
from tensornet.decompositions.tr import _first_split, balanced_split
from tensornet.formats import TRTensor


@pytest.mark.parametrize("init", ["svd", "random"])
def test_tr_als_recovers_an_exact_ring_whose_sizes_are_all_odd(init):
    # an odd number of entries (3 * 5 * 3 = 45) in every cyclic reshaping of X
    rng = np.random.default_rng(0)
    shape, ranks = (3, 5, 3), (1, 2, 2)
    ring = TRTensor(
        [rng.standard_normal((ranks[k], shape[k], ranks[(k + 1) % 3])) for k in range(3)]
    )
    x = ring.full()
    tr = tr_als(x, ranks, init=init, random_state=1, n_iter_max=10, tol=0)
    assert tr.info["rel_error"] < 1e-8
    assert np.linalg.norm(tr.full() - x) < 1e-8 * np.linalg.norm(x)


def test_tr_als_recovers_an_exact_ring_with_unequal_ranks():
    # r_1 = 2 != r_2 = 3: the exact error (dense residual, below 1e-6) contracts the ring in
    # the right order of ranks
    rng = np.random.default_rng(2)
    shape, ranks = (3, 5, 3), (1, 2, 3)
    cores = [rng.standard_normal((ranks[k], shape[k], ranks[(k + 1) % 3])) for k in range(3)]
    x = TRTensor(cores).full()
    tr = tr_als(x, ranks, random_state=1, n_iter_max=10, tol=0)
    assert tr.info["rel_error"] < 1e-8
    assert abs(tr.info["rel_error"] - np.linalg.norm(tr.full() - x) / np.linalg.norm(x)) < 1e-12


def test_tr_als_accepts_ranks_with_exactly_as_many_unknowns_as_equations():
    # r_k r_{k+1} = 2 * 2 = 4 = the size of the other modes for every core: allowed (only
    # more unknowns than equations is refused), and the full-rank ring is exact
    x = np.random.default_rng(3).standard_normal((2, 2, 2))
    tr = tr_als(x, 2, random_state=0, n_iter_max=50, tol=0)
    assert tr.ranks == (2, 2, 2, 2)
    assert np.linalg.norm(tr.full() - x) < 1e-8 * np.linalg.norm(x)


def test_balanced_split_refuses_rank_zero_by_name():
    with pytest.raises(ValueError, match="rank=0 must be >= 1"):
        balanced_split(0)


def _best_split(rank, c0, c1):
    """Reference: the largest R' <= R with a divisor pair r_0 r_1 = R' within the caps, the
    most balanced such pair, ties to the larger r_0."""
    for total in range(rank, 0, -1):
        pairs = [(a, total // a) for a in range(1, c0 + 1) if total % a == 0 and total // a <= c1]
        if pairs:
            return max(pairs, key=lambda p: (-abs(p[1] - p[0]), p[0]))
    raise AssertionError("unreachable")


def test_first_split_takes_the_largest_fitting_rank_split_most_evenly():
    for rank in range(1, 26):
        for c0 in range(1, 6):
            for c1 in range(1, 6):
                if rank <= c0 * c1:
                    assert _first_split(rank, (c0, c1, 1)) == _best_split(rank, c0, c1)


@pytest.mark.parametrize("ranks", [(1, 1, 3), (1, 3, 1)])
def test_tr_als_with_a_rank_above_a_mode_size_solves_a_wide_chain(ranks):
    """r_k above the next mode size leaves the structured QR's R wide (no QR, Q = I)."""
    y = np.random.default_rng(2).standard_normal((2, 2, 3))
    tr = tr_als(y, ranks, init="random", random_state=0, n_iter_max=3, tol=0)
    dense = np.linalg.norm(y - tr.full()) / np.linalg.norm(y)
    np.testing.assert_allclose(tr.info["rel_error"], dense, rtol=1e-10)


def test_tr_als_error_of_a_near_exact_fit_of_a_small_tensor_is_the_dense_one():
    """||X|| < 1: the dense-residual error (below 1e-6) is still divided by ||X||, not zeroed."""
    rng = np.random.default_rng(0)
    shape, ranks = (3, 5, 3), (1, 2, 2)
    ring = TRTensor(
        [rng.standard_normal((ranks[k], shape[k], ranks[(k + 1) % 3])) for k in range(3)]
    )
    x = ring.full()
    x = 0.5 * x / np.linalg.norm(x) + 1e-9 * rng.standard_normal(shape)
    tr = tr_als(x, ranks, random_state=1, n_iter_max=10, tol=0)
    dense = np.linalg.norm(x - tr.full()) / np.linalg.norm(x)
    assert 0 < dense < 1e-6
    np.testing.assert_allclose(tr.info["rel_error"], dense, rtol=1e-6)


def test_tr_als_refuses_zero_sweeps_by_name():
    """n_iter_max=0 is refused (the minimum is 1)."""
    with pytest.raises(ValueError, match="n_iter_max=0 must be >= 1"):
        tr_als(np.ones((2, 2, 2)), 1, n_iter_max=0)


def test_core_update_against_a_zero_core_reports_the_whole_norm_as_residual():
    """With another core zero the design is 0: the update is 0 and the residual is ||X||^2
    (the least-squares misfit ||R W - Q^T X^T||^2 is added, not subtracted)."""
    from tensornet.decompositions.tr import _als_update

    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 4, 5))
    cores = [rng.standard_normal((2, n, 2)) for n in x.shape]
    cores[1] = np.zeros_like(cores[1])
    new, resid_sq = _als_update(cores, 0, np.ascontiguousarray(x.transpose(1, 2, 0)))
    np.testing.assert_array_equal(new, np.zeros_like(new))
    np.testing.assert_allclose(resid_sq, np.vdot(x, x), rtol=1e-12)


def test_tr_als_refuses_neighbouring_ranks_whose_product_exceeds_the_other_modes():
    """The bound is r_k r_{k+1} <= prod_{j != k} n_j (each rank alone squared would pass)."""
    with pytest.raises(ValueError, match=r"ranks\[0\]\*ranks\[1\]=2\*4=8 exceeds 4"):
        tr_als(np.ones((8, 2, 2)), (2, 4, 1))


def test_tr_svd_caps_the_first_ranks_by_the_first_unfolding():
    """Caps r_0 = 5 above min(I_1, prod I / I_1) = 4 come down to 4 (integer caps)."""
    y = np.random.default_rng(4).standard_normal((6, 2, 2))
    assert tr_svd(y, ranks=(5, 1, 1)).ranks == (4, 1, 1, 4)
