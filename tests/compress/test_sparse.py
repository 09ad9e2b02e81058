"""Tests of tensornet/compress/sparse.py: relative-index CSR/CSC, byte counts, forward pass."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tensornet.compress.sparse import (
    SparseLinear,
    SparseMatrix,
    pointer_dtype,
    sparse_linear,
    to_sparse,
)
from tensornet.nn import Linear

from ..strategies import seeds, shapes

#: Examples per property: the profile's count, capped so the thorough profile stays cheap.
CAP = min(settings().max_examples, 30)
#: The central identities (round trips, the half-step bound) get more in the thorough profile.
KEY = min(settings().max_examples, 100)


def _sparse_array(shape, density, seed, dtype=np.float64):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(shape).astype(dtype)
    w[rng.random(shape) >= density] = 0
    return w


@settings(max_examples=KEY)
@given(shapes(1, 3, 1, 40), st.floats(0.0, 1.0), st.integers(1, 5),
       st.sampled_from(["csr", "csc"]), seeds())  # fmt: skip
def test_to_dense_inverts_to_sparse_including_overflowing_gaps(shape, density, bits, fmt, seed):
    w = _sparse_array(shape, density, seed)
    s = to_sparse(w, bits, format=fmt)
    np.testing.assert_array_equal(s.to_dense(), w)
    assert s.to_dense().dtype == w.dtype
    assert s.nnz == np.count_nonzero(w) and np.all(s.gaps < 2**bits)


@settings(max_examples=CAP)
@given(st.lists(st.integers(0, 60), min_size=0, max_size=12, unique=True), st.integers(1, 4))
def test_filler_count_is_the_sum_of_gap_over_period(columns, bits):
    columns = sorted(columns)
    w = np.zeros((1, 61))
    w[0, columns] = 1.0
    s = to_sparse(w, bits)
    gaps = np.diff([-1] + columns) - 1
    assert s.n_filler == int(np.sum(gaps // 2**bits))
    assert s.n_stored == len(columns) + s.n_filler
    np.testing.assert_array_equal(s.positions()[s.data != 0], columns)


def test_deep_compression_three_bit_example():
    # Han et al. 2016, Fig. 2: a gap of more than 8 zeros needs a filler zero at 3 bits.
    w = np.zeros(16)
    w[[1, 4, 15]] = [3.4, 0.9, 1.7]
    s = to_sparse(w, 3)
    assert s.gaps.tolist() == [1, 2, 7, 2] and s.data.tolist() == [3.4, 0.9, 0.0, 1.7]
    assert s.positions().tolist() == [1, 4, 12, 15]


@settings(max_examples=CAP)
@given(shapes(2, 3, 1, 20), st.floats(0.0, 1.0), st.integers(1, 9),
       st.sampled_from(["csr", "csc"]), seeds())  # fmt: skip
def test_nbytes_is_the_size_of_the_stored_streams(shape, density, bits, fmt, seed):
    w = _sparse_array(shape, density, seed, np.float32)
    s = to_sparse(w, bits, format=fmt)
    arrays = s.to_arrays()
    counted = s.nbytes()
    assert counted["data"] == arrays["data"].nbytes == 4 * s.n_stored
    assert counted["indices"] == arrays["gaps"].nbytes == math.ceil(s.n_stored * bits / 8)
    assert counted["indptr"] == arrays["indptr"].nbytes
    assert counted["total"] == sum(a.nbytes for a in arrays.values())
    back = SparseMatrix.from_arrays(arrays, s.to_meta())
    np.testing.assert_array_equal(back.to_dense(), w)


@settings(max_examples=CAP)
@given(st.integers(1, 8), seeds())
def test_integer_codes_round_trip_packed_at_value_bits(bits, seed):
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 2**bits, size=(5, 9)).astype(np.uint8)
    s = to_sparse(codes, 3)
    back = SparseMatrix.from_arrays(s.to_arrays(value_bits=bits), s.to_meta(value_bits=bits))
    np.testing.assert_array_equal(back.to_dense(), codes)
    assert s.to_arrays(value_bits=bits)["data"].nbytes == s.nbytes(value_bits=bits)["data"]


def test_pointer_dtype_is_the_smallest_that_holds_the_count():
    assert pointer_dtype(255) == np.uint8 and pointer_dtype(256) == np.uint16
    assert pointer_dtype(70000) == np.uint32


def test_conv_kernel_is_stored_as_its_matrix_view():
    w = _sparse_array((4, 3, 2, 2), 0.4, 0)
    s = to_sparse(w)
    assert s.shape == (4, 12) and s.to_dense().shape == (4, 3, 2, 2)


@settings(max_examples=CAP)
@given(shapes(2, 2, 1, 12), st.floats(0.0, 1.0), st.sampled_from(["csr", "csc"]), seeds())
def test_sparse_products_equal_dense_products(shape, density, fmt, seed):
    w = _sparse_array(shape, density, seed)
    s = to_sparse(w, 2, format=fmt)
    rng = np.random.default_rng(seed + 1)
    x = rng.standard_normal((3, shape[0]))
    b = rng.standard_normal(shape[1])
    np.testing.assert_allclose(sparse_linear(x, s, b), x @ w + b, atol=1e-12)
    v = rng.standard_normal(shape[1])
    np.testing.assert_allclose(s.dot(v), w @ v, atol=1e-12)


def test_sparse_linear_with_a_codebook_equals_the_shared_weights():
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 4, size=(6, 5)).astype(np.uint8)
    book = np.array([0.0, -0.5, 0.25, 1.0])
    x = rng.standard_normal((2, 6))
    s = to_sparse(codes, 2)
    np.testing.assert_allclose(sparse_linear(x, s, codebook=book), x @ book[codes], atol=1e-12)


def test_sparse_linear_layer_reproduces_the_pruned_linear():
    layer = Linear(7, 4, random_state=0, dtype=np.float64)
    layer.params["weight"][np.abs(layer.params["weight"]) < 0.4] = 0
    layer.params["bias"][:] = 0.3
    x = np.random.default_rng(1).standard_normal((5, 7))
    np.testing.assert_allclose(SparseLinear.from_linear(layer, 3)(x), layer(x), atol=1e-12)


def test_from_arrays_refuses_gaps_pointing_outside_the_row():
    s = to_sparse(np.ones((2, 4)), 2)
    arrays = s.to_arrays()
    arrays["gaps"] = np.full_like(arrays["gaps"], 255)
    with pytest.raises(ValueError, match="beyond the line length"):
        SparseMatrix.from_arrays(arrays, s.to_meta())


def test_from_arrays_refuses_a_bad_pointer_array():
    s = to_sparse(np.eye(4), 2)
    arrays = s.to_arrays()
    arrays["indptr"] = arrays["indptr"][::-1].copy()
    with pytest.raises(ValueError, match="indptr"):
        SparseMatrix.from_arrays(arrays, s.to_meta())
