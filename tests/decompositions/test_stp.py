"""Tests of tensornet.decompositions.stp: fitting STP formats by exact reductions."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tensornet.decompositions.stp import st_tucker, stp_split, str_als, stt_svd
from tensornet.decompositions.tr import tr_als
from tensornet.decompositions.tt import tt_svd
from tensornet.decompositions.tucker import hosvd, tucker_hooi
from tensornet.testing import seeds


@st.composite
def divisible_tensors(draw, min_dims=2, max_dims=3):
    t = draw(st.integers(1, 3))
    d = draw(st.integers(min_dims, max_dims))
    shape = tuple(t * draw(st.integers(1, 3)) for _ in range(d))
    x = np.random.default_rng(draw(seeds())).standard_normal(shape)
    return x, t


def _split(x, t):
    return x.reshape([s for n in x.shape for s in (n // t, t)])


@given(divisible_tensors(), st.data())
def test_st_tucker_error_equals_hosvd_of_split_tensor(data, draw):
    x, t = data
    ranks = [t * draw.draw(st.integers(1, n // t)) for n in x.shape]
    s = st_tucker(x, ranks, t=t)
    ref = hosvd(_split(x, t), [q for r in ranks for q in (r // t, t)])
    err = np.linalg.norm(x - s.full())
    assert err == pytest.approx(np.linalg.norm(_split(x, t) - ref.full()), rel=1e-8, abs=1e-10)
    # rel_error comes from sqrt(||X||^2 - ||G||^2): accurate to about 1e-8 absolute
    assert s.info["rel_error"] == pytest.approx(err / np.linalg.norm(x), rel=1e-6, abs=1e-7)
    assert all(r <= c for r, c in zip(s.ranks, ranks))


def test_st_tucker_hooi_error_equals_hooi_of_split_tensor():
    x = np.random.default_rng(5).standard_normal((6, 4, 6))
    s = st_tucker(x, (4, 2, 2), t=2, method="hooi", n_iter_max=5, random_state=0)
    ref = tucker_hooi(_split(x, 2), (2, 2, 1, 2, 1, 2), n_iter_max=5, random_state=0)
    assert s.relative_error(x) == pytest.approx(ref.relative_error(_split(x, 2)), rel=1e-8)


@given(divisible_tensors())
def test_st_tucker_at_full_ranks_is_exact(data):
    x, t = data
    s = st_tucker(x, x.shape, t=t)
    np.testing.assert_allclose(s.full(), x, atol=1e-10)


@given(divisible_tensors(), st.integers(1, 2))
def test_st_tucker_with_t_one_is_hosvd(data, rank):
    x, _ = data
    ranks = [min(rank, n) for n in x.shape]
    s = st_tucker(x, ranks, t=1)
    np.testing.assert_allclose(s.full(), hosvd(x, ranks).full(), atol=1e-10)


@given(divisible_tensors(max_dims=4), st.integers(1, 3))
def test_stt_svd_error_equals_tt_svd_with_ranks_divided_by_t(data, q):
    x, t = data
    s = stt_svd(x, ranks=q * t, t=t)
    ref = tt_svd(x, ranks=q)
    assert np.linalg.norm(x - s.full()) == pytest.approx(
        np.linalg.norm(x - ref.full()), rel=1e-8, abs=1e-10
    )
    assert all(r % t == 0 for r in s.ranks[1:])


@given(divisible_tensors(max_dims=4), st.floats(0.05, 0.8))
def test_stt_svd_meets_eps_bound(data, eps):
    x, t = data
    s = stt_svd(x, eps=eps, t=t)
    assert s.relative_error(x) <= eps + 1e-10


@given(divisible_tensors(max_dims=4))
def test_stt_svd_with_t_one_is_tt_svd_and_exact_without_truncation(data):
    x, _ = data
    s = stt_svd(x, t=1)
    ref = tt_svd(x)
    np.testing.assert_allclose(s.full(), ref.full(), atol=1e-10)
    np.testing.assert_allclose(s.full(), x, atol=1e-10)


def test_str_als_error_equals_tr_als_with_ranks_divided_by_t():
    x = np.random.default_rng(2).standard_normal((4, 3, 5))
    s = str_als(x, 4, t=2, n_iter_max=3, random_state=0)
    ref = tr_als(x, 2, n_iter_max=3, random_state=0)
    assert s.relative_error(x) == pytest.approx(ref.relative_error(x), rel=1e-8)
    assert s.ranks == (4, 4, 4, 4)


def test_str_als_with_t_one_is_tr_als():
    x = np.random.default_rng(3).standard_normal((3, 4, 3))
    s = str_als(x, 2, t=1, n_iter_max=3, random_state=1)
    ref = tr_als(x, 2, n_iter_max=3, random_state=1)
    np.testing.assert_allclose(s.full(), ref.full(), atol=1e-10)


def test_t_not_dividing_the_sizes_raises():
    x = np.ones((5, 4))
    with pytest.raises(ValueError, match=r"t=2 does not divide x.shape\[0\]=5"):
        st_tucker(x, (2, 2), t=2)
    with pytest.raises(ValueError, match=r"t=2 does not divide the first mode size I_1=5"):
        stt_svd(x, t=2)
    with pytest.raises(ValueError, match=r"t=2 does not divide x.shape\[0\]=5"):
        stp_split(x, 2)


def test_t_not_dividing_the_ranks_raises():
    x = np.ones((4, 4, 4))
    with pytest.raises(ValueError, match=r"t=2 does not divide ranks\[1\]=3"):
        st_tucker(x, (2, 3, 2), t=2)
    with pytest.raises(ValueError, match=r"t=2 does not divide ranks\[0\]=3"):
        stt_svd(x, ranks=3, t=2)
    with pytest.raises(ValueError, match=r"t=2 does not divide ranks\[0\]=1"):
        str_als(x, 1, t=2)
    with pytest.raises(ValueError, match=r"ranks\[0\]=6 exceeds the mode size I_0=4"):
        st_tucker(x, (6, 2, 2), t=2)


def test_stp_split_puts_the_identity_index_fastest():
    x = np.arange(12.0).reshape(6, 2)
    y = stp_split(x, 2)
    assert y.shape == (3, 2, 1, 2)
    assert y[1, 1, 0, 1] == x[1 * 2 + 1, 0 * 2 + 1]


def test_str_als_error_history_never_increases_when_ranks_exceed_a_mode_size():
    # STR ranks 6 with t=2 are TR ranks 3, above the mode size 2.
    x = np.random.default_rng(4).standard_normal((2, 5, 6))
    s = str_als(x, 6, t=2, n_iter_max=15, tol=0, init="random", random_state=4)
    squared = np.asarray(s.info["history"]) ** 2
    assert len(squared) == 15
    assert np.all(np.diff(squared) <= 1e-13)
    assert s.info["rel_error"] == pytest.approx(s.relative_error(x), abs=1e-9)


def test_str_als_refuses_ranks_whose_tr_ranks_are_too_large():
    x = np.random.default_rng(0).standard_normal((4, 5, 6))
    with pytest.raises(ValueError, match=r"ranks=\(20000, 20000, 20000\) with t=2 give the TR"):
        str_als(x, 20000, t=2)
