"""TT-SVD and TT-matrix SVD: exactness, the eps bound, rank bounds, orthonormal cores, errors."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tensornet.decompositions import tt_matrix_svd, tt_svd
from tensornet.formats import TTTensor
from tensornet.formats.tt import tt_max_ranks
from tensornet.testing import (
    assert_eps_bound,
    assert_exact_at_full_rank,
    assert_left_orthonormal,
    assert_quasi_optimal,
    assert_ranks_at_most,
    random_array,
    seeds,
    shapes,
    tt_tensors,
)


def rel_err(tt, x):
    return np.linalg.norm(tt.full() - x) / np.linalg.norm(x)


def random_tt_tensor(shape, rank, seed, noise=0.0):
    rng = np.random.default_rng(seed)
    ranks = [1] + [min(rank, b) for b in tt_max_ranks(shape)] + [1]
    tt = TTTensor([rng.standard_normal((ranks[k], n, ranks[k + 1])) for k, n in enumerate(shape)])
    x = tt.full()
    if noise:
        e = rng.standard_normal(x.shape)
        x = x + noise * np.linalg.norm(x) / np.linalg.norm(e) * e
    return x


@given(shapes(min_dims=1, max_dims=4, max_side=5), seeds())
def test_tt_svd_with_eps_zero_is_exact(shape, seed):
    x = random_array(shape, seed)
    tt = tt_svd(x, eps=0.0)
    assert_exact_at_full_rank(tt, x, tol=1e-12)
    assert tt.info["rel_error"] < 1e-12


@given(shapes(min_dims=2, max_dims=4, min_side=2, max_side=5), seeds(), st.floats(0.0, 0.95))
def test_tt_svd_meets_eps_bound(shape, seed, eps):
    x = random_array(shape, seed)
    tt = tt_svd(x, eps=eps)
    assert_eps_bound(tt, x, eps)
    assert tt.info["rel_error"] == pytest.approx(rel_err(tt, x), rel=1e-6, abs=1e-12)


@given(shapes(min_dims=1, max_dims=5, max_side=4), seeds())
def test_tt_ranks_never_exceed_unfolding_bounds(shape, seed):
    tt = tt_svd(random_array(shape, seed))
    assert_ranks_at_most(tt.ranks[1:-1], tt_max_ranks(shape))


@given(tt_tensors(shapes(min_dims=2, max_dims=4, min_side=2, max_side=5), max_rank=3))
def test_tensor_from_random_cores_recovered_with_its_ranks(target):
    x = target.full()
    for tt in (tt_svd(x, eps=1e-10), tt_svd(x)):
        assert_ranks_at_most(tt, target.ranks)  # the TT ranks are the unfolding ranks
        assert_exact_at_full_rank(tt, x, tol=1e-12)
    capped = tt_svd(x, ranks=max(target.ranks))
    assert_ranks_at_most(capped, max(target.ranks))
    assert_exact_at_full_rank(capped, x, tol=1e-12)


@settings(max_examples=min(settings().max_examples, 100))  # SVDs of every unfolding
@given(shapes(min_dims=2, max_dims=4, min_side=2, max_side=5), st.integers(1, 3), seeds())
def test_tt_svd_error_is_within_sqrt_d_minus_one_of_the_best(shape, rank, seed):
    x = random_array(shape, seed)
    assert_quasi_optimal(tt_svd(x, ranks=rank), x, np.sqrt(len(shape) - 1))


@given(shapes(min_dims=2, max_dims=4, min_side=2, max_side=5), seeds())
def test_tt_svd_cores_are_left_orthonormal(shape, seed):
    assert_left_orthonormal(tt_svd(random_array(shape, seed), eps=0.3), atol=1e-12)


@pytest.mark.parametrize("eps", [1e-12, 1e-9, 1e-6, 1e-3, 0.1])
def test_gram_projection_path_meets_eps_bound_to_full_precision(eps):
    # shape large enough for the Gram/eigh + exact projection steps (not LAPACK)
    x = random_tt_tensor((4, 8, 8, 8, 8, 8), 5, seed=1, noise=1e-7)
    tt = tt_svd(x, eps=eps)
    err = rel_err(tt, x)
    assert err <= eps
    if eps > 1e-7:
        assert max(tt.ranks) <= 5  # the noise is discarded
    # exact tails when measured from the projection, else Gram eigenvalues (~1e-6 absolute)
    tol = 1e-6 * err + 1e-13 if tt.info["error_exact"] else 1e-6
    assert abs(tt.info["rel_error"] - err) <= tol


def test_gram_projection_path_is_exact_on_noise_free_tensor():
    x = random_tt_tensor((4, 8, 8, 8, 8, 8), 5, seed=2)
    for tt in (tt_svd(x, ranks=5), tt_svd(x, eps=1e-12), tt_svd(x, ranks=[4, 5, 5, 5, 5])):
        assert rel_err(tt, x) < 1e-13
        assert max(tt.ranks) <= 5
    capped = tt_svd(x, ranks=2)
    assert capped.info["rel_error"] == pytest.approx(rel_err(capped, x), rel=1e-6)


@pytest.mark.parametrize("noise", [0.0, 1e-6])
def test_mid_size_gram_step_is_exact_and_optimal_per_step(noise):
    # the cap r_1 = 8 = n_1 cannot truncate, so the first two modes merge into one step on the
    # 128 x 256 unfolding (size below the large-matrix threshold): the Gram path for >= 64
    # rows, checked against LAPACK's SVD of the same unfolding
    x = random_tt_tensor((8, 16, 4, 4, 4, 4), 8, seed=5, noise=noise)
    tt = tt_svd(x, ranks=8)
    assert rel_err(tt, x) <= (1e-13 if noise == 0 else 2e-6)
    assert_left_orthonormal(tt, atol=1e-12)
    # the rank-8 truncation of that step (the second; the skipped first one discards nothing)
    # discards exactly the LAPACK singular-value tail
    s = np.linalg.svd(x.reshape(128, -1), compute_uv=False)
    tail = np.sqrt(np.sum(s[8:] ** 2))
    assert tt.info["step_errors"][0] == 0.0
    assert tt.info["step_errors"][1] == pytest.approx(tail, rel=1e-6, abs=1e-7 * s[0])


def test_randomized_svd_option_recovers_low_rank_tensor():
    x = random_tt_tensor((4, 8, 8, 8, 8, 8), 4, seed=3)
    tt = tt_svd(x, ranks=4, method="randomized", random_state=0)
    assert rel_err(tt, x) < 1e-10
    again = tt_svd(x, ranks=4, method="randomized", random_state=0)
    np.testing.assert_array_equal(again.cores[0], tt.cores[0])


def test_ranks_above_shape_bound_are_capped():
    x = random_array((4, 5, 6, 3), 0)
    tt = tt_svd(x, ranks=1000)
    assert tt.ranks == (1, 4, 18, 3, 1)
    assert tt_svd(x, ranks=[1, 2, 2, 2, 1]).ranks == (1, 2, 2, 2, 1)


@given(shapes(min_dims=1, max_dims=3, min_side=1, max_side=4), shapes(1, 3, 1, 4), seeds())
def test_tt_matrix_svd_is_exact_at_full_rank(ins, outs, seed):
    d = min(len(ins), len(outs))
    ins, outs = ins[:d], outs[:d]
    w = random_array((int(np.prod(ins)), int(np.prod(outs))), seed)
    ttm = tt_matrix_svd(w, ins, outs)
    np.testing.assert_allclose(ttm.full(), w, atol=1e-11)
    assert ttm.in_modes == tuple(ins) and ttm.out_modes == tuple(outs)


@given(seeds(), st.floats(0.01, 0.9))
def test_tt_matrix_svd_meets_eps_bound(seed, eps):
    w = random_array((24, 30), seed)
    assert_eps_bound(tt_matrix_svd(w, (2, 3, 4), (3, 5, 2), eps=eps), w, eps)


def _with_non_finite(shape, index, value):
    x = random_array(shape, 0)
    x[index] = value
    return x


_X = random_array((3, 4, 5), 0)


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: tt_svd(_X, ranks=[2, 0]), ValueError, "ranks\\[1\\]=0 must be >= 1"),
        (lambda: tt_svd(_X, ranks=[2, 2, 2]), ValueError, "must have 2 inner ranks or 4 ranks"),
        (lambda: tt_svd(_X, ranks=[2, 2, 2, 1]), ValueError, "boundary ranks"),
        (lambda: tt_svd(_X, ranks=2.5), TypeError, "integer"),
        (lambda: tt_svd(_X, eps=1.5), ValueError, "eps=1.5 must lie in"),
        (lambda: tt_svd(_X, method="qr"), ValueError, "method='qr'"),
        (lambda: tt_svd(_X, method="randomized"), ValueError, "needs ranks"),
        (lambda: tt_svd(_with_non_finite((3, 4, 5), (0, 0, 0), np.nan)), ValueError, "finite"),
        (
            lambda: tt_svd(_with_non_finite((4, 64, 64, 8), (1, 2, 3, 4), np.inf), ranks=2),
            ValueError,
            "finite",
        ),
        (lambda: tt_svd("abc"), TypeError, "numeric"),
        (lambda: tt_matrix_svd(np.ones((6, 4)), (2, 2), (2, 2)), ValueError, "multiply to"),
        (lambda: tt_matrix_svd(np.ones((6, 4)), (2, 3), (4,)), ValueError, "same length"),
    ],
)
def test_bad_input_raises_documented_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def _dense_tt_svd(x, caps):
    """Reference TT-SVD: a LAPACK SVD at every step, truncated to the caps (Oseledets Alg. 1)."""
    cores, c, r = [], x, 1
    for k, cap in enumerate(caps):
        c = c.reshape(r * x.shape[k], -1)
        u, s, vt = np.linalg.svd(c, full_matrices=False)
        new_r = min(cap, len(s))
        cores.append(u[:, :new_r].reshape(r, x.shape[k], new_r))
        c, r = s[:new_r, None] * vt[:new_r], new_r
    cores.append(c.reshape(r, x.shape[-1], 1))
    return TTTensor(cores)


def test_exact_option_with_rank_cap_equals_the_optimal_per_step_tt_svd():
    # tall capped steps (192 x 1600 at cap 5) must keep the exact leading subspace, not a
    # randomized sketch of it
    x = np.random.default_rng(0).random((8, 64, 40, 40))
    tt = tt_svd(x, ranks=(3, 5, 3))
    ref = _dense_tt_svd(x, (3, 5, 3))
    assert tt.ranks == ref.ranks
    assert rel_err(tt, x) == pytest.approx(rel_err(ref, x), rel=1e-10)
    assert tt.info["rel_error"] == pytest.approx(rel_err(ref, x), rel=1e-6)
