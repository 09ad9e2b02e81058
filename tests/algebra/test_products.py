"""Properties of kron, khatri_rao, outer and mkron (tensornet/algebra/products.py)."""

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tensornet.algebra import khatri_rao, kron, mkron, outer
from tensornet.testing import random_array, seeds, shapes

small = st.integers(1, 4)


@given(small, small, small, small, seeds())
def test_kron_matches_index_rule(m, n, p, q, seed):
    a = random_array((m, n), seed)
    b = random_array((p, q), seed + 1)
    k = kron(a, b)
    assert k.shape == (m * p, n * q)
    for i, j in itertools.product(range(m * p), range(n * q)):
        assert k[i, j] == a[i // p, j // q] * b[i % p, j % q]
    np.testing.assert_array_equal(k, np.kron(a, b))


@given(small, small, small, small, small, small, seeds())
def test_kron_mixed_product_rule(m, n, p, q, r, s, seed):
    # (A ⊗ B)(C ⊗ D) = AC ⊗ BD
    a = random_array((m, n), seed)
    b = random_array((p, q), seed + 1)
    c = random_array((n, r), seed + 2)
    d = random_array((q, s), seed + 3)
    np.testing.assert_allclose(kron(a, b) @ kron(c, d), kron(a @ c, b @ d), atol=1e-12)


@given(small, small, small, small, seeds())
def test_vec_of_axbt_is_kron_times_vec_in_c_order(m, n, p, q, seed):
    # vec(A X B^T) = (A ⊗ B) vec(X), vec = C-order reshape(-1)
    a = random_array((m, n), seed)
    b = random_array((p, q), seed + 1)
    x = random_array((n, q), seed + 2)
    np.testing.assert_allclose((a @ x @ b.T).reshape(-1), kron(a, b) @ x.reshape(-1), atol=1e-12)


@given(st.lists(st.tuples(small, small), min_size=1, max_size=4), seeds())
def test_kron_of_many_is_associative_fold(dims, seed):
    mats = [random_array(d, seed + i) for i, d in enumerate(dims)]
    expected = mats[0]
    for m in mats[1:]:
        expected = np.kron(expected, m)
    np.testing.assert_allclose(kron(*mats), expected, atol=1e-12)
    np.testing.assert_allclose(kron(mats), expected, atol=1e-12)  # one sequence


@given(st.lists(small, min_size=1, max_size=4), small, seeds())
def test_khatri_rao_columns_are_kronecker_products_of_columns(rows, rank, seed):
    mats = [random_array((r, rank), seed + i) for i, r in enumerate(rows)]
    kr = khatri_rao(mats)
    assert kr.shape == (int(np.prod(rows)), rank)
    for r in range(rank):
        col = mats[0][:, r]
        for m in mats[1:]:
            col = np.kron(col, m[:, r])
        np.testing.assert_allclose(kr[:, r], col, atol=1e-12)


@given(st.lists(small, min_size=2, max_size=4), small, st.data(), seeds())
def test_khatri_rao_skip_leaves_one_matrix_out(rows, rank, data, seed):
    mats = [random_array((r, rank), seed + i) for i, r in enumerate(rows)]
    skip = data.draw(st.integers(0, len(rows) - 1))
    rest = [m for k, m in enumerate(mats) if k != skip]
    np.testing.assert_array_equal(khatri_rao(mats, skip=skip), khatri_rao(rest))


@given(st.lists(small, min_size=1, max_size=4), seeds())
def test_outer_product_elementwise(sizes, seed):
    vecs = [random_array(n, seed + i) for i, n in enumerate(sizes)]
    o = outer(vecs)
    assert o.shape == tuple(sizes)
    for idx in itertools.product(*(range(n) for n in sizes)):
        np.testing.assert_allclose(o[idx], np.prod([v[i] for v, i in zip(vecs, idx)]))


@given(shapes(max_dims=3, max_side=3), st.data(), seeds())
def test_mkron_obeys_eq11_index_rule(shape_a, data, seed):
    # (A ⊗ B)[i_1..i_N] = A[i_1 // J'_1, ...] · B[i_1 % J'_1, ...]
    shape_b = tuple(data.draw(st.integers(1, 3)) for _ in shape_a)
    a = random_array(shape_a, seed)
    b = random_array(shape_b, seed + 1)
    k = mkron(a, b)
    assert k.shape == tuple(p * q for p, q in zip(shape_a, shape_b))
    for idx in itertools.product(*(range(n) for n in k.shape)):
        ia = tuple(i // q for i, q in zip(idx, shape_b))
        ib = tuple(i % q for i, q in zip(idx, shape_b))
        assert k[idx] == a[ia] * b[ib]


@given(small, small, small, small, seeds())
def test_mkron_of_matrices_is_kron(m, n, p, q, seed):
    a = random_array((m, n), seed)
    b = random_array((p, q), seed + 1)
    np.testing.assert_array_equal(mkron(a, b), kron(a, b))


def test_khatri_rao_rejects_mismatched_columns():
    with pytest.raises(ValueError, match=r"matrices\[1\] has 3 columns, expected 2"):
        khatri_rao([np.ones((2, 2)), np.ones((2, 3))])


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: kron(np.ones((2, 2)), np.ones(3)), r"matrices\[1\] must be 2-D"),
        (lambda: khatri_rao([]), "at least one matrix"),
        (lambda: khatri_rao([np.ones((2, 2))], skip=0), "besides the skipped one"),
        (lambda: khatri_rao([np.ones((2, 2)), np.ones((2, 2))], skip=5), "skip=5"),
        (lambda: outer([np.ones(2), np.ones((2, 2))]), r"vectors\[1\] must be 1-D"),
        (lambda: outer([]), "at least one vector"),
        (lambda: mkron(np.ones((2, 2)), np.ones((2, 2, 2))), "same ndim"),
    ],
)
def test_products_reject_bad_shapes(call, match):
    with pytest.raises(ValueError, match=match):
        call()
