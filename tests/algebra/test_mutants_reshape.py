"""Mutation-found gaps of ``tensornet.algebra.reshape``: a batch of scalars."""

import numpy as np

from tensornet.algebra.reshape import tensorize, vectorize


def test_vectorize_of_a_batch_of_scalars_is_a_column_and_tensorize_inverts_it():
    # a 1-D x with batch=True is B tensors of shape (): each flattens to one entry
    x = np.arange(3.0)
    v = vectorize(x, batch=True)
    assert v.shape == (3, 1)
    np.testing.assert_array_equal(v[:, 0], x)
    np.testing.assert_array_equal(tensorize(v, (1,), batch=True), v)
