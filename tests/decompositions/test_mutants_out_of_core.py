"""Mutation-found gaps of ``tensornet.decompositions.out_of_core``."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tensornet as tn

da = pytest.importorskip("dask.array")
ooc = pytest.importorskip("tensornet.decompositions.out_of_core")

RNG = np.random.default_rng(0)
#: multilinear rank (2, 3, 2) plus noise 1e-9: a small eps keeps (2, 3, 2), a tiny one all
X = tn.TuckerTensor(
    RNG.standard_normal((2, 3, 2)),
    [RNG.standard_normal((n, r)) for n, r in zip((4, 5, 6), (2, 3, 2), strict=True)],
).full() + 1e-9 * RNG.standard_normal((4, 5, 6))


@pytest.mark.parametrize(("eps", "ranks"), [(1e-6, (2, 3, 2)), (1e-10, (4, 5, 6))])
def test_streamed_hosvd_at_a_small_eps_takes_the_exact_tails_of_the_in_memory_one(eps, ranks):
    # eps * ||X|| below the eigenvalues' round-off: the ranks come from exact row norms of
    # U_n^T X_(n) (one more pass), as the in-memory HOSVD takes them from the SVD
    streamed = tn.hosvd(da.from_array(X, chunks=(2, 5, 6)), eps=eps)
    direct = tn.hosvd(X, eps=eps)
    assert streamed.ranks == direct.ranks == ranks
    assert streamed.info["error_bound"] == pytest.approx(direct.info["error_bound"], abs=1e-12)
    assert np.linalg.norm(streamed.full() - X) <= eps * np.linalg.norm(X)


def test_streamed_tt_svd_of_a_vector_is_the_in_memory_one():
    v = RNG.standard_normal(12)
    streamed = tn.tt_svd(da.from_array(v, chunks=5))
    direct = tn.tt_svd(v)
    np.testing.assert_array_equal(streamed.cores[0], direct.cores[0])
    for key in ("rel_error", "error_exact", "ranks", "norm", "step_errors"):
        assert streamed.info[key] == direct.info[key], key


def test_streamed_cp_als_from_a_given_cp_tensor_is_the_in_memory_one():
    # the given start (its factors 1, 2; factor 0 is updated first from them) gives the
    # in-memory iterates
    start = tn.CPTensor(
        np.array([3.0, 0.5]), [RNG.standard_normal((n, 2)) for n in X.shape]
    ).normalize()
    streamed = tn.cp_als(da.from_array(X, chunks=(2, 5, 3)), 2, init=start, n_iter_max=3, tol=0)
    direct = tn.cp_als(X, 2, init=start, n_iter_max=3, tol=0)
    np.testing.assert_allclose(streamed.full(), direct.full(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(streamed.info["history"], direct.info["history"], rtol=1e-10)


def test_streamed_randomized_svd_oversamples_ten_by_default():
    m = RNG.standard_normal((30, 25)) * (1.0 / np.arange(1, 26))
    dm = da.from_array(m, chunks=(10, 25))
    default = ooc.randomized_svd(dm, 3, n_iter=0, random_state=5)
    ten = ooc.randomized_svd(dm, 3, n_oversamples=10, n_iter=0, random_state=5)
    for got, want in zip(default, ten, strict=True):
        np.testing.assert_array_equal(got, want)
    nine = ooc.randomized_svd(dm, 3, n_oversamples=9, n_iter=0, random_state=5)
    assert not np.array_equal(default[1], nine[1])


def test_streamed_tucker_hooi_refuses_a_vector_by_its_ndim():
    with pytest.raises(ValueError, match=r"x must have at least 2 dimension"):
        tn.tucker_hooi(da.ones(4, chunks=2), 2)


def test_streamed_tr_svd_with_unequal_first_caps_keeps_the_in_memory_ranks():
    # caps r_0 = 3 > r_1 = 2 bind on a full-rank tensor: the first step keeps r_0 r_1 = 6
    # columns. (The rings themselves may differ by the first basis' signs, see
    # test_out_of_core.py; the ranks and the error report do not.)
    y = np.random.default_rng(3).standard_normal((6, 5, 4))
    streamed = tn.tr_svd(da.from_array(y, chunks=(3, 5, 4)), ranks=(3, 2, 2))
    direct = tn.tr_svd(y, ranks=(3, 2, 2))
    assert streamed.ranks == direct.ranks == (3, 2, 2, 3)
    rel = np.linalg.norm(streamed.full() - y) / np.linalg.norm(y)
    assert abs(rel - streamed.info["rel_error"]) < 1e-9


@pytest.mark.parametrize(
    "kwargs", [{"eps": 1e-7}, {"eps": 1e-12, "ranks": 2}], ids=["eps", "eps-and-cap"]
)
def test_streamed_tt_svd_at_a_small_eps_keeps_the_in_memory_ranks(kwargs):
    # eps * ||X|| below the Gram eigenvalues' round-off: each step's rank comes from the exact
    # row norms of U^T C (one more pass), and a cap still binds on top of it
    streamed = tn.tt_svd(da.from_array(X, chunks=(2, 5, 6)), **kwargs)
    direct = tn.tt_svd(X, **kwargs)
    assert streamed.ranks == direct.ranks
    assert streamed.info["rel_error"] == pytest.approx(direct.info["rel_error"], rel=1e-6)


def test_streamed_tr_svd_caps_the_first_ranks_by_the_first_unfolding():
    """r_0, r_1 <= min(I_1, prod I / I_1): caps above it give the in-memory ranks."""
    # (6, 2, 2): the first unfolding is 6 x 4, so caps 5 on r_0 come down to 4
    y = np.random.default_rng(4).standard_normal((6, 2, 2))
    streamed = tn.tr_svd(da.from_array(y, chunks=(3, 2, 2)), ranks=(5, 1, 1))
    direct = tn.tr_svd(y, ranks=(5, 1, 1))
    assert streamed.ranks == direct.ranks == (4, 1, 1, 4)


@pytest.mark.parametrize("decompose", [tn.tt_svd, tn.tr_svd, tn.hosvd], ids=["tt", "tr", "hosvd"])
def test_streamed_svd_at_an_underflowing_eps_keeps_every_nonzero_direction(decompose):
    """eps so small that delta^2 underflows to 0: the exact tail 0 still meets the budget."""
    y = np.random.default_rng(5).standard_normal((6, 2, 2))
    streamed = decompose(da.from_array(y, chunks=(3, 2, 2)), eps=1e-300)
    direct = decompose(y, eps=1e-300)
    assert streamed.ranks == direct.ranks
    assert np.linalg.norm(streamed.full() - y) < 1e-12 * np.linalg.norm(y)


def test_streamed_tr_svd_refuses_a_vector_by_its_ndim():
    """The streamed TR-SVD needs d >= 2 and says so."""
    with pytest.raises(ValueError, match=r"x must have at least 2 dimension"):
        tn.tr_svd(da.ones(4, chunks=2), 2)


@pytest.mark.parametrize(
    "name", ["tt_svd", "tr_svd", "hosvd", "tucker_hooi", "cp_als", "randomized_svd"]
)
def test_streamed_defaults_are_the_in_memory_ones(name):
    """Every option the streamed function shares with the in-memory one has the same default."""
    import inspect

    streamed = inspect.signature(getattr(ooc, name)).parameters
    direct = inspect.signature(getattr(tn, name)).parameters
    shared = [p for p in streamed if p in direct and p not in ("x", "method")]
    assert shared
    for p in shared:
        assert streamed[p].default == direct[p].default, p


def test_streamed_hooi_from_a_random_start_reads_x_once_before_the_sweeps():
    """init='random' needs only ||X|| (one pass), not the mode Gram matrices (a pass per split
    mode when the data do not fit in memory)."""
    y = np.random.default_rng(6).standard_normal((4, 4, 4))
    dy = da.from_array(y, chunks=(2, 2, 2))
    with ooc.in_memory_limit(64):
        out = tn.tucker_hooi(dy, (2, 2, 2), init="random", random_state=0, n_iter_max=2, tol=0)
        hosvd = tn.tucker_hooi(dy, (2, 2, 2), n_iter_max=2, tol=0)
    assert out.info["n_iter"] == hosvd.info["n_iter"] == 2
    assert out.info["passes"] == 1 + 3 * 2
    assert hosvd.info["passes"] == 3 + 3 * 2


def test_streamed_tr_svd_caps_r0_r1_by_the_rank_of_the_first_unfolding():
    """Caps with r_0 r_1 above min(I_1, prod I / I_1) keep the in-memory ranks (regression:
    the streamed first step kept I_1 = 6 columns of a rank-4 unfolding, two of them null)."""
    y = np.random.default_rng(5).standard_normal((6, 2, 2))
    streamed = tn.tr_svd(da.from_array(y, chunks=(3, 2, 2)), ranks=(3, 3, 3))
    direct = tn.tr_svd(y, ranks=(3, 3, 3))
    assert streamed.ranks == direct.ranks == (2, 2, 3, 2)


def test_streamed_cp_als_accepts_a_single_sweep():
    """n_iter_max=1 is allowed (the minimum is 1): one sweep, reported in info."""
    out = tn.cp_als(da.from_array(X, chunks=(2, 5, 6)), 2, n_iter_max=1, random_state=0)
    assert out.info["n_iter"] == 1


def test_streamed_cp_als_refuses_a_vector_by_its_ndim():
    """The streamed CP-ALS needs d >= 2 and says so."""
    with pytest.raises(ValueError, match=r"x must have at least 2 dimension"):
        tn.cp_als(da.ones(4, chunks=2), 1)


@pytest.mark.parametrize("init", ["random", "svd"])
def test_streamed_cp_als_draws_the_in_memory_start(init):
    """The same seed draws the same random columns as the in-memory CP-ALS (rank 5 > I_1 = 4
    makes the SVD start draw extra columns too)."""
    y = np.random.default_rng(7).standard_normal((6, 4, 5))
    kw = {"init": init, "random_state": 0, "n_iter_max": 3, "tol": 0}
    streamed = tn.cp_als(da.from_array(y, chunks=(3, 4, 5)), 5, **kw)
    direct = tn.cp_als(y, 5, **kw)
    np.testing.assert_allclose(streamed.info["history"], direct.info["history"], rtol=1e-10)


@pytest.mark.parametrize("method", ["power", "eigh"])
def test_streamed_hooi_sweep_is_the_in_memory_one(method):
    """One streamed HOOI sweep from the HOSVD start gives the in-memory sweep's result."""
    y = np.random.default_rng(9).standard_normal((4, 5, 6))
    kw = {"n_iter_max": 1, "tol": 0, "method": method}
    streamed = tn.tucker_hooi(da.from_array(y, chunks=(2, 5, 3)), (2, 2, 2), **kw)
    direct = tn.tucker_hooi(y, (2, 2, 2), **kw)
    np.testing.assert_allclose(streamed.full(), direct.full(), rtol=0, atol=1e-12)


def test_streamed_hooi_returns_the_best_sweep_when_round_off_makes_the_history_wobble():
    """An exact multilinear-rank tensor: every error is round-off, the best sweep is kept."""
    rng = np.random.default_rng(2)
    x = tn.TuckerTensor(
        rng.standard_normal((2, 2, 2)), [rng.standard_normal((n, 2)) for n in (5, 6, 7)]
    ).full()
    t = tn.tucker_hooi(da.from_array(x, chunks=(3, 6, 7)), (2, 2, 2), n_iter_max=4, tol=0)
    assert t.info["rel_error"] == min(t.info["history"])


def test_streamed_svds_of_a_rank_one_tensor_at_a_small_eps_keep_rank_one():
    """In the exact row-norm branch (small eps) a rank-1 tensor keeps TT and Tucker ranks 1."""
    rng = np.random.default_rng(8)
    x = np.einsum("i,j,k->ijk", *[rng.standard_normal(n) for n in (4, 5, 6)])
    streamed = tn.tt_svd(da.from_array(x, chunks=(2, 5, 6)), eps=1e-10)
    assert streamed.ranks == tn.tt_svd(x, eps=1e-10).ranks == (1, 1, 1, 1)
    assert tn.hosvd(da.from_array(x, chunks=(2, 5, 6)), eps=1e-10).ranks == (1, 1, 1)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_streamed_hooi_refuses_an_x_whose_squared_norm_overflows():
    """||X||^2 = inf shows on the first mode's Gram diagonal (not on every mode's): refused."""
    z = np.zeros((2, 2))
    z[0] = 1e154  # mode-0 diagonal 2e308 = inf; mode-1 diagonal 1e308, 1e308
    with pytest.raises(ValueError, match="x must be finite"):
        tn.tucker_hooi(da.from_array(z, chunks=1), (1, 1))


def test_streamed_cp_als_accepts_a_matrix_and_refuses_zero_restarts():
    """The streamed CP-ALS takes a matrix (d = 2) and refuses n_restarts=0 by name."""
    m = np.random.default_rng(10).standard_normal((5, 4))
    out = tn.cp_als(da.from_array(m, chunks=(2, 4)), 2, n_iter_max=2, random_state=0)
    assert out.shape == (5, 4)
    with pytest.raises(ValueError, match="n_restarts=0 must be >= 1"):
        tn.cp_als(da.from_array(m, chunks=(2, 4)), 2, n_restarts=0)


def test_streamed_cp_als_with_a_first_chunk_of_one_row_is_the_in_memory_one():
    """Blocks are grouped by their row range of the mode (chunks (1, 3) along mode 0)."""
    kw = {"random_state": 0, "n_iter_max": 2, "tol": 0}
    streamed = tn.cp_als(da.from_array(X, chunks=((1, 3), 5, 6)), 2, **kw)
    direct = tn.cp_als(X, 2, **kw)
    np.testing.assert_allclose(streamed.info["history"], direct.info["history"], rtol=1e-10)


def test_streamed_tt_svd_at_a_small_eps_reports_an_exact_error():
    """The row-norm branch's tail is exact, as the in-memory SVD's."""
    streamed = tn.tt_svd(da.from_array(X, chunks=(2, 5, 6)), eps=1e-10)
    assert streamed.info["out_of_core_steps"] == 1
    assert streamed.info["error_exact"] is tn.tt_svd(X, eps=1e-10).info["error_exact"] is True


def test_streamed_tt_svd_of_a_vector_streams_no_step():
    """A vector is one core: no SVD step, so out_of_core_steps is 0."""
    assert tn.tt_svd(da.from_array(np.arange(1.0, 6.0), chunks=2)).info["out_of_core_steps"] == 0


def test_streamed_randomized_svd_takes_the_dense_svd_when_the_sketch_is_full_width():
    """rank + n_oversamples == min(m, n): the exact SVD, bitwise the in-memory one."""
    m = np.random.default_rng(11).standard_normal((12, 8))
    streamed = ooc.randomized_svd(da.from_array(m, chunks=(6, 8)), 3, n_oversamples=5)
    for got, want in zip(streamed, tn.randomized_svd(m, 3, n_oversamples=5), strict=True):
        np.testing.assert_array_equal(got, want)


def test_streamed_randomized_svd_refuses_a_vector_by_its_ndim():
    """A 1-D m is refused by the ndim check."""
    with pytest.raises(ValueError, match=r"m must have at least 2 dimension"):
        ooc.randomized_svd(da.ones(4, chunks=2), 1)


@pytest.mark.parametrize("kwargs", [{"ranks": (6, 2, 2)}, {"eps": 1e-17}], ids=["ranks", "eps"])
def test_streamed_hosvd_caps_each_rank_by_the_rank_of_its_unfolding(kwargs):
    """Regression: X_(0) of a (6, 2, 2) tensor is 6 x 4, so r_0 <= 4 as in memory (the streamed
    HOSVD kept all 6 Gram eigenvectors, two of them null, and counted their round-off)."""
    y = np.random.default_rng(5).standard_normal((6, 2, 2))
    streamed = tn.hosvd(da.from_array(y, chunks=(3, 2, 2)), **kwargs)
    direct = tn.hosvd(y, **kwargs)
    assert streamed.ranks == direct.ranks == (4, 2, 2)
    assert streamed.info["error_bound"] < 1e-14


def test_streamed_hooi_from_a_tucker_start_is_the_in_memory_one():
    """A TuckerTensor start (its orthonormalized factors) gives the in-memory sweep."""
    start = tn.hosvd(X, ranks=(2, 2, 2))
    kw = {"init": start, "n_iter_max": 1, "tol": 0}
    streamed = tn.tucker_hooi(da.from_array(X, chunks=(2, 5, 3)), (2, 2, 2), **kw)
    np.testing.assert_allclose(
        streamed.full(), tn.tucker_hooi(X, (2, 2, 2), **kw).full(), rtol=0, atol=1e-12
    )


@pytest.mark.parametrize("method", ["power", "eigh"])
def test_streamed_hooi_leaves_a_full_rank_mode_with_the_identity_factor(method):
    """A mode kept at full rank needs no subspace: its factor is I (as in memory)."""
    y = np.random.default_rng(12).standard_normal((4, 5, 6))
    t = tn.tucker_hooi(
        da.from_array(y, chunks=(2, 5, 3)), (2, 5, 3), n_iter_max=2, tol=0, method=method
    )
    np.testing.assert_array_equal(t.factors[1], np.eye(5))


def test_streamed_hooi_error_of_an_exact_fit_is_relative_to_the_norm():
    """The dense-residual error of a near-exact fit is divided by ||X||^2 (x scaled by 1e3)."""
    rng = np.random.default_rng(2)
    x = (
        1e3
        * tn.TuckerTensor(
            rng.standard_normal((2, 2, 2)), [rng.standard_normal((n, 2)) for n in (5, 6, 7)]
        ).full()
    )
    t = tn.tucker_hooi(da.from_array(x, chunks=(3, 6, 7)), (2, 2, 2), n_iter_max=1, tol=0)
    assert t.info["rel_error"] < 1e-13


@pytest.mark.parametrize(
    "y", [np.random.default_rng(13).standard_normal((5, 6)), X], ids=["d2", "d3"]
)
def test_streamed_tr_svd_at_a_large_eps_truncates_as_in_memory(y):
    """eps = 0.3 is honoured (not replaced by an exact run), for matrices too."""
    streamed = tn.tr_svd(da.from_array(y, chunks=(2,) + y.shape[1:]), eps=0.3)
    direct = tn.tr_svd(y, eps=0.3)
    assert streamed.ranks == direct.ranks
    assert max(streamed.ranks) < max(y.shape)


@pytest.mark.parametrize(("ranks", "exact"), [(2, False), ((1, 4, 6, 1), True)])
def test_streamed_tt_svd_with_ranks_reports_gram_tails_as_inexact(ranks, exact):
    """A rank cap cutting the Gram spectrum gives an eigenvalue tail (not exact); keeping every
    direction leaves no tail (exact)."""
    streamed = tn.tt_svd(da.from_array(X, chunks=(2, 5, 6)), ranks=ranks)
    assert streamed.info["out_of_core_steps"] == 1
    assert streamed.info["error_exact"] is exact


def test_streamed_randomized_svd_accepts_no_oversampling():
    """n_oversamples=0 is allowed and draws the in-memory sketch."""
    m = np.random.default_rng(14).standard_normal((30, 20))
    streamed = ooc.randomized_svd(
        da.from_array(m, chunks=(10, 20)), 3, n_oversamples=0, random_state=1
    )
    direct = tn.randomized_svd(m, 3, n_oversamples=0, random_state=1)
    np.testing.assert_allclose(streamed[1], direct[1], rtol=1e-10)


def test_streamed_cp_als_checks_its_options_by_name():
    """n_iter_max=0, a start of the wrong rank, and an x whose ||X||^2 overflows are refused."""
    dx = da.from_array(X, chunks=(2, 5, 6))
    with pytest.raises(ValueError, match="n_iter_max=0 must be >= 1"):
        tn.cp_als(dx, 2, n_iter_max=0)
    wrong = tn.CPTensor(np.ones(3), [np.ones((n, 3)) for n in X.shape])
    with pytest.raises(ValueError, match="init has shape"):
        tn.cp_als(dx, 2, init=wrong)
    z = np.zeros((2, 2))
    z[0] = 1e154  # mode-0 Gram diagonal overflows, mode 1's does not
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(ValueError, match="x must be finite"):
            tn.cp_als(da.from_array(z, chunks=1), 1)


def test_streamed_tr_svd_with_ranks_only_keeps_the_caps_on_a_low_rank_tensor():
    """Ranks without eps are caps only (no eps = 0 truncation): a rank-1 tensor keeps them."""
    rng = np.random.default_rng(15)
    y = np.einsum("i,j,k->ijk", *[rng.standard_normal(n) for n in (6, 2, 2)])
    streamed = tn.tr_svd(da.from_array(y, chunks=(3, 2, 2)), ranks=(2, 2, 2))
    assert streamed.ranks == tn.tr_svd(y, ranks=(2, 2, 2)).ranks == (2, 2, 2, 2)
