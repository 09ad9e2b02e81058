"""Full-run mutation survivors of ``tensornet.decompositions.tr`` (issue 19)."""

import numpy as np
import pytest

from tensornet.decompositions import tr_als
from tensornet.decompositions.tr import _als_update, _merged_others, _random_cores
from tensornet.formats import TRTensor


def test_tr_als_update_with_a_wide_structured_r_matches_dense_least_squares():
    """A chain whose last QR step is skipped leaves R with fewer rows than r_{k-1} r_k."""
    # shape (3, 4, 2), ranks (4, 2, 1): for core 0 the last chain core is (1, 2, 4), so the
    # structured R is 4 x 8 (rank-deficient D_0); one sweep must still be exact least squares
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4, 2))
    tr = tr_als(x, (4, 2, 1), init="random", random_state=0, n_iter_max=1, tol=0)
    dense = np.linalg.norm(tr.full() - x) / np.linalg.norm(x)
    assert abs(tr.info["rel_error"] - dense) < 1e-10
    # the last core is the dense least-squares fit given the others
    cores = tr.cores
    design = _merged_others(cores, 2)
    y = np.transpose(x, (0, 1, 2)).reshape(design.shape[0], -1)
    w = np.linalg.lstsq(design, y, rcond=None)[0]
    best = np.linalg.norm(design @ w - y) / np.linalg.norm(x)
    assert abs(dense - best) < 1e-10


def test_random_tr_start_has_exactly_the_norm_of_the_data():
    """The random start's cores are scaled so that the ring's norm equals the data norm."""
    rng = np.random.default_rng(1)
    for norm in (0.5, 1.0, 7.0):
        cores = _random_cores((3, 4, 5), (2, 3, 2), rng, norm)
        assert abs(TRTensor(cores).norm() - norm) < 1e-12 * norm
    # tiny rings whose Gaussian start has a norm below 1 are scaled up as well
    for _ in range(20):
        cores = _random_cores((2, 2), (1, 1), rng, 3.0)
        assert abs(TRTensor(cores).norm() - 3.0) < 1e-12


def test_tr_als_exact_error_of_data_with_a_norm_below_one():
    """The exact (dense) relative error is also reported for data of norm below 1."""
    rng = np.random.default_rng(2)
    shape, ranks = (3, 4, 5), (2, 2, 2)
    ring = TRTensor(
        [rng.standard_normal((ranks[k], shape[k], ranks[(k + 1) % 3])) for k in range(3)]
    )
    x = ring.full()
    x = x + 1e-5 * np.linalg.norm(x) / np.sqrt(x.size) * rng.standard_normal(shape)
    x *= 0.5 / np.linalg.norm(x)
    tr = tr_als(x, ranks, random_state=0, n_iter_max=20, tol=0)
    dense = np.linalg.norm(tr.full() - x) / np.linalg.norm(x)
    assert 1e-7 < dense < 1e-3
    assert abs(tr.info["rel_error"] - dense) < 1e-6 * dense


def test_tr_als_refuses_zero_sweeps():
    """n_iter_max must be at least 1."""
    with pytest.raises(ValueError, match="n_iter_max"):
        tr_als(np.ones((2, 3)), 1, n_iter_max=0)


def test_tr_als_refuses_a_core_with_more_unknowns_than_equations_by_both_ranks():
    """The check multiplies a core's left and right ranks (not the left rank squared)."""
    # shape (2, 2, 6), ranks (3, 1, 2): core 2 has 2 * 3 = 6 unknowns per slice but only
    # 2 * 2 = 4 equations, although every single rank squared fits its core's rows
    with pytest.raises(ValueError, match=r"ranks\[2\]\*ranks\[0\]=2\*3=6 exceeds 4"):
        tr_als(np.ones((2, 2, 6)), (3, 1, 2))


def test_tr_als_update_residual_identity_holds_for_a_rank_deficient_design():
    """The update's squared residual counts the misfit of a rank-deficient least-squares problem."""
    rng = np.random.default_rng(3)
    shape = (3, 4, 5)
    cores = [rng.standard_normal((2, n, 2)) for n in shape]
    # a rank-one core 1 makes the design matrix D_0 (20 x 4) of rank 2: no exact fit of X
    cores[1] = np.einsum("a,j,b->ajb", *(rng.standard_normal(s) for s in (2, 4, 2)))
    x = rng.standard_normal(shape)
    y = np.ascontiguousarray(np.transpose(x, (1, 2, 0)))  # modes 1, 2, then 0
    new, resid_sq = _als_update(list(cores), 0, y)
    design = _merged_others(cores, 0)  # rows (modes 1, 2), columns (a, b)
    w = new.transpose(0, 2, 1).reshape(4, 3)
    dense_sq = np.linalg.norm(design @ w - y.reshape(20, 3)) ** 2
    assert dense_sq > 0.1 * np.vdot(x, x)
    assert abs(resid_sq - dense_sq) < 1e-10 * dense_sq
    projected = design @ np.linalg.pinv(design) @ y.reshape(20, 3)  # the best fit
    assert abs(dense_sq - np.linalg.norm(y.reshape(20, 3) - projected) ** 2) < 1e-10 * dense_sq
