"""Tests of tensornet.formats.kron: KronTensor is a sum of multidimensional Kronecker products."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tensornet.formats import KronTensor, StructuredTensor
from tensornet.testing import seeds


def _kron_nd(a, b):
    """Multidimensional Kronecker product straight from the index rule of survey eq. 11."""
    out = np.empty([j * k for j, k in zip(a.shape, b.shape)])
    for idx in np.ndindex(*out.shape):
        ia = tuple(i // k for i, k in zip(idx, b.shape))
        ib = tuple(i % k for i, k in zip(idx, b.shape))
        out[idx] = a[ia] * b[ib]
    return out


@st.composite
def kron_tensors(draw):
    n = draw(st.integers(1, 3))
    a_shape = tuple(draw(st.lists(st.integers(1, 3), min_size=n, max_size=n)))
    b_shape = tuple(draw(st.lists(st.integers(1, 3), min_size=n, max_size=n)))
    r = draw(st.integers(1, 3))
    rng = np.random.default_rng(draw(seeds()))
    return KronTensor(rng.standard_normal((r, *a_shape)), rng.standard_normal((r, *b_shape)))


@given(kron_tensors())
def test_full_equals_sum_of_elementwise_kronecker_products(k):
    expected = sum(_kron_nd(a, b) for a, b in zip(k.a_factors, k.b_factors))
    np.testing.assert_allclose(k.full(), expected, atol=1e-12)


@given(kron_tensors())
def test_norm_from_gram_matrices_equals_dense_norm(k):
    assert k.norm() == pytest.approx(np.linalg.norm(k.full()), rel=1e-10, abs=1e-12)


@given(kron_tensors(), seeds())
def test_structured_inner_equals_dense_inner(k, seed):
    rng = np.random.default_rng(seed)
    other = KronTensor(rng.standard_normal((2, *k.a_shape)), rng.standard_normal((2, *k.b_shape)))
    assert k.inner(other) == pytest.approx(
        float(np.vdot(k.full(), other.full())), rel=1e-10, abs=1e-10
    )


@given(kron_tensors(), seeds())
def test_element_access_equals_full(k, seed):
    rng = np.random.default_rng(seed)
    idx = tuple(int(rng.integers(0, n)) for n in k.shape)
    assert k[idx] == pytest.approx(k.full()[idx], abs=1e-12)


def test_n_params_is_r_times_sum_of_factor_sizes():
    k = KronTensor(np.ones((3, 2, 4, 5)), np.ones((3, 3, 1, 2)))
    assert k.shape == (6, 4, 10)
    assert k.ranks == (3,)
    assert k.n_params == 3 * (2 * 4 * 5 + 3 * 1 * 2)


def test_save_load_roundtrip(tmp_path):
    rng = np.random.default_rng(0)
    k = KronTensor(rng.standard_normal((2, 2, 3)), rng.standard_normal((2, 3, 2)))
    path = k.save(tmp_path / "k")
    back = StructuredTensor.load(path)
    assert isinstance(back, KronTensor)
    np.testing.assert_array_equal(back.full(), k.full())


def test_mismatched_term_counts_raise():
    with pytest.raises(ValueError, match="terms"):
        KronTensor(np.ones((2, 2, 2)), np.ones((3, 2, 2)))


def test_mismatched_ndim_raises():
    with pytest.raises(ValueError, match="same ndim"):
        KronTensor(np.ones((2, 2, 2)), np.ones((2, 2)))


def test_bad_index_raises():
    k = KronTensor(np.ones((1, 2, 2)), np.ones((1, 2, 2)))
    with pytest.raises(TypeError, match="tuple of 2 integers"):
        k[0]
    with pytest.raises(IndexError, match="out of range"):
        k[0, 4]
