"""Tests of tensornet.decompositions.kron: KPD / GKPD are optimal by Eckart-Young."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tensornet.algebra import mkron
from tensornet.decompositions import gkpd, kpd, kron_rearrange
from tensornet.formats import KronTensor
from tensornet.testing import assert_eckart_young, seeds


@st.composite
def factor_shapes(draw, max_n=3):
    n = draw(st.integers(1, max_n))
    a = tuple(draw(st.lists(st.integers(1, 3), min_size=n, max_size=n)))
    b = tuple(draw(st.lists(st.integers(1, 3), min_size=n, max_size=n)))
    return a, b


def _rearrange_by_definition(x, a_shape, b_shape):
    """R(X)[(j), (k)] = X[j K + k], built entry by entry."""
    m = np.empty((int(np.prod(a_shape)), int(np.prod(b_shape))))
    for row, j in enumerate(np.ndindex(*a_shape)):
        for col, k in enumerate(np.ndindex(*b_shape)):
            m[row, col] = x[tuple(jj * kk_size + kk for jj, kk, kk_size in zip(j, k, b_shape))]
    return m


@given(factor_shapes(), seeds())
def test_rank_one_recovers_exact_kronecker_product_up_to_scale(shapes, seed):
    a_shape, b_shape = shapes
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal(a_shape), rng.standard_normal(b_shape)
    k = gkpd(mkron(a, b), a_shape, b_shape, rank=1)
    a_hat, b_hat = k.a_factors[0], k.b_factors[0]
    c = np.vdot(a_hat, a) / np.vdot(a, a)
    np.testing.assert_allclose(a_hat, c * a, atol=1e-10)
    np.testing.assert_allclose(b_hat, b / c, atol=1e-10)
    assert k.info["error"] <= 1e-10 * np.linalg.norm(a) * np.linalg.norm(b)


@given(factor_shapes(), seeds(), st.integers(1, 4))
def test_reported_error_equals_actual_error(shapes, seed, rank):
    a_shape, b_shape = shapes
    rng = np.random.default_rng(seed)
    x = rng.standard_normal([j * k for j, k in zip(a_shape, b_shape)])
    rank = min(rank, int(np.prod(a_shape)), int(np.prod(b_shape)))
    k = gkpd(x, a_shape, b_shape, rank=rank)
    assert k.info["error"] == pytest.approx(np.linalg.norm(x - k.full()), rel=1e-8, abs=1e-10)
    assert k.info["rel_error"] == pytest.approx(k.relative_error(x), rel=1e-8, abs=1e-10)


@given(factor_shapes(), seeds())
def test_error_squared_is_sum_of_discarded_squared_singular_values(shapes, seed):
    a_shape, b_shape = shapes
    rng = np.random.default_rng(seed)
    x = rng.standard_normal([j * k for j, k in zip(a_shape, b_shape)])
    s = np.linalg.svd(_rearrange_by_definition(x, a_shape, b_shape), compute_uv=False)
    for rank in range(1, len(s) + 1):
        k = gkpd(x, a_shape, b_shape, rank=rank)
        assert k.info["error"] ** 2 == pytest.approx(np.sum(s[rank:] ** 2), rel=1e-8, abs=1e-10)


@given(factor_shapes(), seeds())
def test_rearrangement_matches_definition_and_preserves_norm(shapes, seed):
    a_shape, b_shape = shapes
    x = np.random.default_rng(seed).standard_normal([j * k for j, k in zip(a_shape, b_shape)])
    m = kron_rearrange(x, a_shape, b_shape)
    np.testing.assert_array_equal(m, _rearrange_by_definition(x, a_shape, b_shape))
    assert np.linalg.norm(m) == pytest.approx(np.linalg.norm(x))


@given(factor_shapes(), seeds())
def test_error_is_non_increasing_in_rank_and_full_rank_is_exact(shapes, seed):
    a_shape, b_shape = shapes
    rng = np.random.default_rng(seed)
    x = rng.standard_normal([j * k for j, k in zip(a_shape, b_shape)])
    max_rank = min(int(np.prod(a_shape)), int(np.prod(b_shape)))
    errors = [gkpd(x, a_shape, b_shape, rank=r).info["error"] for r in range(1, max_rank + 1)]
    assert all(e2 <= e1 + 1e-12 for e1, e2 in zip(errors, errors[1:]))
    full = gkpd(x, a_shape, b_shape, rank=None)
    assert full.ranks == (max_rank,)
    np.testing.assert_allclose(full.full(), x, atol=1e-10)


@given(factor_shapes(), seeds(), st.integers(1, 3))
def test_no_random_kronecker_sum_beats_gkpd(shapes, seed, rank):
    a_shape, b_shape = shapes
    rng = np.random.default_rng(seed)
    x = rng.standard_normal([j * k for j, k in zip(a_shape, b_shape)])
    rank = min(rank, int(np.prod(a_shape)), int(np.prod(b_shape)))
    best = gkpd(x, a_shape, b_shape, rank=rank)
    assert_eckart_young(best, x, rank)
    for _ in range(5):
        # random competitor and a small perturbation of the optimum
        rand = KronTensor(
            rng.standard_normal((rank, *a_shape)), rng.standard_normal((rank, *b_shape))
        )
        near = KronTensor(
            best.a_factors + 1e-3 * rng.standard_normal(best.a_factors.shape),
            best.b_factors + 1e-3 * rng.standard_normal(best.b_factors.shape),
        )
        for other in (rand, near):
            assert np.linalg.norm(x - other.full()) >= best.info["error"] - 1e-10


@given(factor_shapes(), seeds(), st.sampled_from([0.0, 0.1, 0.5, 0.9]))
def test_gkpd_meets_eps_bound_with_smallest_rank(shapes, seed, eps):
    a_shape, b_shape = shapes
    x = np.random.default_rng(seed).standard_normal([j * k for j, k in zip(a_shape, b_shape)])
    k = gkpd(x, a_shape, b_shape, rank=None, eps=eps)
    assert k.relative_error(x) <= eps + 1e-10
    r = k.ranks[0]
    if r > 1:
        assert gkpd(x, a_shape, b_shape, rank=r - 1).relative_error(x) > eps


def test_kpd_of_matrix_kronecker_product_matches_numpy_kron():
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((3, 2)), rng.standard_normal((4, 5))
    m = np.kron(a, b) + np.kron(rng.standard_normal((3, 2)), rng.standard_normal((4, 5)))
    k = kpd(m, (3, 2), (4, 5), rank=2)
    assert k.shape == (12, 10)
    np.testing.assert_allclose(k.full(), m, atol=1e-10)
    np.testing.assert_allclose(
        k.full(), sum(np.kron(ak, bk) for ak, bk in zip(k.a_factors, k.b_factors)), atol=1e-12
    )


@pytest.mark.parametrize(
    "call, match",
    [
        (
            lambda: gkpd(np.ones((6, 4)), (2, 2), (2, 2)),
            r"a_shape\[0\] \* b_shape\[0\] = 2 \* 2 = 4",
        ),
        (lambda: gkpd(np.ones((6, 4)), (2, 3)), r"a_shape\[1\]=3 does not divide"),
        (lambda: gkpd(np.ones((6, 4)), (2,)), "has 1 entries"),
        (lambda: kpd(np.ones((2, 2, 2)), (1, 1)), "ndim=2"),
    ],
)
def test_shape_mismatch_raises(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_rank_above_full_kronecker_rank_raises():
    with pytest.raises(ValueError, match="exceeds the full Kronecker rank 4"):
        gkpd(np.ones((4, 4)), (2, 2), rank=5)
