"""HOSVD, HOOI and Tucker-2 (survey Sec. II-A.2): exactness, orthonormality, error bounds."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tensornet.algebra import unfold
from tensornet.decompositions import hosvd, tucker2, tucker_hooi
from tensornet.formats import TuckerTensor
from tensornet.testing import (
    assert_eps_bound,
    assert_exact_at_full_rank,
    assert_orthonormal_columns,
    assert_quasi_optimal,
    random_array,
    seeds,
    shapes,
    tucker_tensors,
)


@st.composite
def tensor_and_ranks(draw, min_dims=2, max_dims=4):
    shape = draw(shapes(min_dims, max_dims, 1, 5))
    ranks = tuple(draw(st.integers(1, n)) for n in shape)
    return random_array(shape, draw(seeds())), ranks


def _mode_singular_values(x, n):
    return np.linalg.svd(unfold(x, n), compute_uv=False)


def _assert_orthonormal(t):
    for n, f in enumerate(t.factors):
        if f is not None:
            assert_orthonormal_columns(f, f"factors[{n}]")


@given(shapes(1, 4), seeds())
def test_hosvd_full_rank_reconstructs_exactly(shape, seed):
    x = random_array(shape, seed)
    t = hosvd(x)
    assert_exact_at_full_rank(t, x)
    assert t.info["rel_error"] < 1e-10


@given(tensor_and_ranks())
def test_hosvd_factors_are_orthonormal(data):
    x, ranks = data
    t = hosvd(x, ranks)
    # ranks are upper bounds: an unfolding with fewer columns than ranks[n] caps the rank
    assert t.ranks == tuple(min(r, x.size // n) for r, n in zip(ranks, x.shape))
    _assert_orthonormal(t)


@given(tensor_and_ranks())
def test_hosvd_error_bounded_by_discarded_mode_singular_values(data):
    x, ranks = data
    t = hosvd(x, ranks)
    err_sq = np.linalg.norm(x - t.full()) ** 2
    bound = sum(np.sum(_mode_singular_values(x, n)[r:] ** 2) for n, r in enumerate(ranks))
    assert err_sq <= bound + 1e-10 * np.linalg.norm(x) ** 2


@given(shapes(1, 4), st.floats(0.0, 0.95), seeds())
def test_hosvd_meets_eps_bound(shape, eps, seed):
    x = random_array(shape, seed)
    t = hosvd(x, eps=eps)
    assert_eps_bound(t, x, eps, rtol=1e-9)
    assert t.info["rel_error"] == pytest.approx(t.relative_error(x), abs=1e-9)


@settings(max_examples=min(settings().max_examples, 100))  # SVDs of every unfolding
@given(tensor_and_ranks(1, 4))
def test_hosvd_error_is_within_sqrt_d_of_the_best(data):
    x, ranks = data
    assert_quasi_optimal(hosvd(x, ranks), x, np.sqrt(x.ndim))


@given(shapes(2, 4), seeds())
def test_full_hosvd_core_is_all_orthogonal_with_mode_singular_values(shape, seed):
    x = random_array(shape, seed)
    core = hosvd(x).core
    for n in range(x.ndim):
        gram = unfold(core, n) @ unfold(core, n).T
        s = _mode_singular_values(x, n)
        np.testing.assert_allclose(gram, np.diag(s**2), atol=1e-9 * (1 + s[0] ** 2))


@given(tensor_and_ranks(), st.sampled_from(["power", "eigh"]))
def test_hooi_from_hosvd_is_never_worse_than_hosvd(data, method):
    x, ranks = data
    err_hosvd = np.linalg.norm(x - hosvd(x, ranks).full())
    t = tucker_hooi(x, ranks, n_iter_max=10, method=method)
    assert np.linalg.norm(x - t.full()) <= err_hosvd * (1 + 1e-10) + 1e-12
    _assert_orthonormal(t)


@given(tensor_and_ranks(), st.sampled_from(["power", "eigh"]))
def test_hooi_error_history_never_increases_and_is_reported_exactly(data, method):
    x, ranks = data
    t = tucker_hooi(x, ranks, n_iter_max=15, tol=0, method=method)
    assert np.all(np.diff(t.info["history"]) <= 1e-10)
    assert t.info["rel_error"] == pytest.approx(t.relative_error(x), abs=1e-9)


@given(shapes(2, 4), seeds())
def test_hooi_full_rank_reconstructs_exactly(shape, seed):
    x = random_array(shape, seed)
    t = tucker_hooi(x, shape, n_iter_max=2)
    np.testing.assert_allclose(t.full(), x, atol=1e-10)


@given(tucker_tensors(shapes(2, 4, 2, 6), max_rank=2), seeds())
def test_hooi_recovers_exact_low_multilinear_rank_tensor(target, seed):
    x = target.full()
    for init in ("hosvd", "random"):
        t = tucker_hooi(x, target.ranks, n_iter_max=50, init=init, method="eigh", random_state=seed)
        assert_exact_at_full_rank(t, x, tol=1e-8)


@given(st.integers(2, 6), st.integers(2, 6), st.integers(1, 3), st.integers(1, 3), seeds())
def test_tucker2_equals_tucker_with_identity_spatial_factors(s, c, h, w, seed):
    k = random_array((s, c, h, w), seed)
    ranks = (max(1, s // 2), max(1, c // 2))
    t2 = tucker2(k, ranks, n_iter_max=200, tol=1e-13, method="eigh")
    assert t2.factors[2] is None and t2.factors[3] is None
    assert t2.ranks == (*ranks, h, w)
    assert t2.n_params == s * ranks[0] + c * ranks[1] + ranks[0] * ranks[1] * h * w
    # Uncompressed spatial modes = Tucker with full (orthogonal, i.e. identity-like) factors there.
    full = tucker_hooi(k, (*ranks, h, w), n_iter_max=200, tol=1e-13, method="eigh")
    assert t2.relative_error(k) <= full.relative_error(k) + 1e-6
    dense = TuckerTensor(t2.core, [t2.factors[0], t2.factors[1], np.eye(h), np.eye(w)]).full()
    np.testing.assert_allclose(t2.full(), dense)


def test_tucker_hooi_same_seed_same_result():
    x = random_array((5, 6, 7), 0)
    a = tucker_hooi(x, 2, init="random", random_state=3)
    b = tucker_hooi(x, 2, init="random", random_state=3)
    np.testing.assert_array_equal(a.full(), b.full())


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda x: hosvd(x, (2, 9, 2)), ValueError, r"ranks\[1\]=9 exceeds the size 4"),
        (lambda x: hosvd(x, 0), ValueError, "ranks=0"),
        (lambda x: hosvd(x, (1, 2)), ValueError, "length 3"),
        (lambda x: hosvd(x, eps=2.0), ValueError, "eps"),
        (lambda x: tucker_hooi(x, -1), ValueError, "ranks=-1"),
        (lambda x: tucker_hooi(x, 2, method="svd"), ValueError, "method='svd'"),
        (lambda x: tucker_hooi(x, 2, init="x"), ValueError, "init='x'"),
        (lambda x: tucker_hooi(x, 2, n_iter_max=0), ValueError, "n_iter_max=0"),
        (lambda x: tucker_hooi(np.ones(4), 1), ValueError, "ndim >= 2"),
        (lambda x: hosvd(np.array([[np.inf]])), ValueError, "finite"),
        (lambda x: tucker2(x, 2), ValueError, "ndim=4"),
        (lambda x: tucker2(np.ones((3, 2, 3, 3)), (2, 3)), ValueError, r"ranks\[1\]=3"),
    ],
)
def test_tucker_bad_input_raises(call, exc, match):
    with pytest.raises(exc, match=match):
        call(random_array((3, 4, 5), 0))


@pytest.mark.parametrize("shape", [(4, 5, 6), (20, 30, 200)])
def test_hosvd_of_exactly_rank_one_tensor_keeps_rank_one_at_tiny_eps(shape):
    # (20, 30, 200) takes the Gram path on every mode, whose eigenvalues alone cannot see
    # below ~1e-8 relative: the rank comes from the exact projection
    rng = np.random.default_rng(0)
    vectors = [rng.standard_normal(n) for n in shape]
    x = np.einsum("i,j,k->ijk", *vectors)
    t = hosvd(x, eps=1e-10)
    assert t.ranks == (1, 1, 1)
    assert np.linalg.norm(t.full() - x) <= 1e-12 * np.linalg.norm(x)


@pytest.mark.parametrize("n_iter_max", [1, 3, 7])
def test_hooi_runs_exactly_n_iter_max_sweeps_when_it_does_not_converge(n_iter_max):
    x = np.random.default_rng(2).standard_normal((6, 7, 8))
    t = tucker_hooi(x, ranks=(2, 3, 2), n_iter_max=n_iter_max, tol=0.0)
    assert t.info["n_iter"] == n_iter_max
    assert len(t.info["history"]) == n_iter_max
