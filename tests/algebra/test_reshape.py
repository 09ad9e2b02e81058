"""Properties of tensorize/vectorize (tensornet/algebra/reshape.py)."""

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tensornet.algebra import tensorize, vectorize
from tensornet.testing import random_array, seeds, shapes


@given(shapes(), seeds())
def test_vectorize_inverts_tensorize(shape, seed):
    v = random_array(int(np.prod(shape)), seed)
    t = tensorize(v, shape)
    assert t.shape == shape
    np.testing.assert_array_equal(vectorize(t), v)


@given(shapes(max_dims=3), seeds())
def test_tensorize_follows_c_order_index_rule(shape, seed):
    v = random_array(int(np.prod(shape)), seed)
    t = tensorize(v, shape)
    for idx in itertools.product(*(range(n) for n in shape)):
        flat = 0
        for i, n in zip(idx, shape):
            flat = flat * n + i
        assert t[idx] == v[flat]


@given(shapes(max_dims=3), st.integers(1, 3), seeds())
def test_batched_tensorize_applies_to_each_row(shape, batch, seed):
    v = random_array((batch, int(np.prod(shape))), seed)
    t = tensorize(v, shape, batch=True)
    assert t.shape == (batch, *shape)
    for b in range(batch):
        np.testing.assert_array_equal(t[b], tensorize(v[b], shape))
    np.testing.assert_array_equal(vectorize(t, batch=True), v)


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (
            lambda: tensorize(np.ones(7), (2, 4)),
            ValueError,
            r"x must have shape \(prod\(shape\),\)",
        ),
        (lambda: tensorize(np.ones(8), (2, 4), batch=True), ValueError, "B, prod"),
        (lambda: tensorize(np.ones(8), (2, 0)), ValueError, r"shape\[1\]=0 must be >= 1"),
        (lambda: tensorize(np.ones(8), (2.5, 4)), TypeError, r"shape\[0\] must be an integer"),
        (lambda: vectorize(np.float64(1.0), batch=True), ValueError, "batch axis"),
    ],
)
def test_tensorize_rejects_wrong_length_and_shapes(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
