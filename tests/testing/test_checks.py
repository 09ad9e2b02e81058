"""Each checker of tensornet.testing.checks passes on a constructed success and fails, with a
diagnostic naming the values and the bound, on a constructed violation."""

import math

import numpy as np
import pytest

import tensornet as tn
from tensornet.formats import KronTensor, TTTensor
from tensornet.testing import (
    assert_deterministic,
    assert_eckart_young,
    assert_eps_bound,
    assert_exact_at_full_rank,
    assert_left_orthonormal,
    assert_orthonormal_columns,
    assert_quasi_optimal,
    assert_ranks_at_most,
    assert_scale_equivariant,
    best_error_lower_bound,
    dense,
    random_array,
)

X = random_array((3, 4, 5), 0)
M = random_array((6, 5), 1)


def _svd_rank(m, r):
    u, s, vt = np.linalg.svd(m, full_matrices=False)
    return u[:, :r], s[:r], vt[:r]


def test_eps_bound_passes_when_the_error_is_below_the_bound():
    assert_eps_bound(tn.tt_svd(X, eps=0.3), X, 0.3)
    assert_eps_bound(0.9 * X, X, 0.1 + 1e-12)


def test_eps_bound_fails_with_the_error_the_bound_and_the_margin():
    with pytest.raises(AssertionError, match=r"0\.2 > eps = 0\.1 \(by 0\.1, 100% of the bound\)"):
        assert_eps_bound(0.8 * X, X, 0.1)


def test_exact_at_full_rank_passes_on_exact_and_fails_on_perturbed_entry():
    assert_exact_at_full_rank(tn.hosvd(X), X)
    wrong = X.copy()
    wrong[1, 2, 3] += 1e-6
    with pytest.raises(AssertionError, match=r"index \(1, 2, 3\)"):
        assert_exact_at_full_rank(wrong, X)


def test_left_orthonormal_passes_on_tt_svd_cores_and_names_the_failing_core():
    assert_left_orthonormal(tn.tt_svd(X, eps=0.2))
    tt = tn.tt_svd(X)
    cores = list(tt.cores)
    cores[1] = 2 * cores[1]
    with pytest.raises(AssertionError, match=r"cores\[1\] unfolded"):
        assert_left_orthonormal(cores)
    # the last core carries the norm and is not checked
    assert_left_orthonormal(cores[:1] + [cores[1] / 2] + [5 * cores[2]])


def test_orthonormal_columns_reports_the_largest_deviation():
    q = np.linalg.qr(M)[0]
    assert_orthonormal_columns(q)
    q[:, 2] *= 2
    with pytest.raises(AssertionError, match=r"\|Q\^T Q - I\|\[2, 2\] = 3 > atol"):
        assert_orthonormal_columns(q)


def test_ranks_at_most_lists_every_rank_above_its_cap():
    tt = tn.tt_svd(X, ranks=2)
    assert_ranks_at_most(tt, 2)
    assert_ranks_at_most(tt.ranks, [1, 2, 2, 1])
    with pytest.raises(AssertionError, match=r"ranks\[1\]=3 > 2, ranks\[2\]=5 > 2"):
        assert_ranks_at_most(tn.tt_svd(X), 2)


def test_eckart_young_passes_on_truncated_svd_and_fails_on_a_suboptimal_rank_r_matrix():
    assert_eckart_young(_svd_rank(M, 2), M, 2)
    u, s, vt = np.linalg.svd(M, full_matrices=False)
    worse = (u[:, 1:3] * s[1:3]) @ vt[1:3]  # rank 2, but not the leading directions
    with pytest.raises(AssertionError, match="not optimal"):
        assert_eckart_young(worse, M, 2)


def test_eckart_young_fails_when_the_rank_is_exceeded():
    with pytest.raises(AssertionError, match="rank of the approximation is 3 > 2"):
        assert_eckart_young(_svd_rank(M, 3), M, 2)


def test_eckart_young_on_kronecker_approximation_uses_the_rearranged_matrix():
    assert_eckart_young(tn.kpd(M, (3, 5), rank=2), M, 2)
    k = tn.kpd(M, (3, 5), rank=2)
    bad = KronTensor(k.a_factors[::-1].copy(), k.b_factors)  # mismatched pairs
    with pytest.raises(AssertionError, match="Kronecker rank-2"):
        assert_eckart_young(bad, M, 2)


def test_quasi_optimal_passes_for_tt_svd_with_sqrt_d_minus_one():
    tt = tn.tt_svd(X, ranks=2)
    assert_quasi_optimal(tt, X, math.sqrt(X.ndim - 1))


def test_quasi_optimal_fails_for_a_poor_approximation_of_the_same_ranks():
    tt = tn.tt_svd(X, ranks=2)
    poor = TTTensor([g[..., :] * 0.5 for g in tt.cores])  # same ranks, error far above the bound
    with pytest.raises(AssertionError, match="not quasi-optimal"):
        assert_quasi_optimal(poor, X, math.sqrt(2))


def test_best_error_lower_bound_is_the_largest_unfolding_tail():
    t = tn.hosvd(X, ranks=(2, 2, 2))
    tails = [
        np.sqrt(np.sum(np.linalg.svd(tn.unfold(X, n), compute_uv=False)[2:] ** 2)) for n in range(3)
    ]
    assert best_error_lower_bound(X, t) == pytest.approx(max(tails), rel=1e-12)
    assert best_error_lower_bound(X, t) <= np.linalg.norm(X - t.full())
    with pytest.raises(TypeError, match="no lower bound"):
        best_error_lower_bound(X.reshape(12, 5), tn.tt_matrix_svd(X.reshape(12, 5), (3, 4), (5, 1)))


def test_scale_equivariant_passes_on_tensornet_and_fails_on_an_absolute_threshold():
    assert_scale_equivariant(lambda y: tn.hosvd(y, eps=0.3), X)

    def absolute(y):  # drops singular values below 1.0 in absolute terms: not equivariant
        u, s, vt = np.linalg.svd(y, full_matrices=False)
        r = max(1, int(np.sum(s > 1.0)))
        return u[:, :r], s[:r], vt[:r]

    with pytest.raises(AssertionError, match="not scale equivariant at c = 1e-150"):
        assert_scale_equivariant(absolute, M)


def test_deterministic_passes_with_a_seed_and_fails_on_hidden_global_randomness():
    assert_deterministic(lambda y, random_state: tn.cp_als(y, 2, random_state=random_state), X, 3)
    assert_deterministic(tn.tt_svd, X, None)
    rng = np.random.default_rng(0)
    with pytest.raises(AssertionError, match="not deterministic"):
        assert_deterministic(lambda y, random_state: y + rng.random(), X, 3)


def test_dense_accepts_formats_arrays_and_svd_triples():
    t = tn.hosvd(X)
    np.testing.assert_array_equal(dense(t), t.full())
    np.testing.assert_array_equal(dense(X), X)
    u, s, vt = _svd_rank(M, 5)
    np.testing.assert_allclose(dense((u, s, vt)), M, atol=1e-12)
