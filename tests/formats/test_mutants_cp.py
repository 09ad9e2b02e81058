"""Mutation-found gaps of ``tensornet.formats.cp``: default weights and zero columns."""

import numpy as np

from tensornet.formats.cp import CPTensor


def test_default_weights_are_ones_of_the_first_factors_dtype_even_for_one_mode():
    one = CPTensor(None, [np.arange(1.0, 4.0).reshape(3, 1)])
    np.testing.assert_array_equal(one.weights, [1.0])
    np.testing.assert_array_equal(one.full(), [1.0, 2.0, 3.0])
    mixed = CPTensor(None, [np.ones((2, 3), np.float32), np.ones((4, 3))])
    assert mixed.weights.dtype == np.float32 and mixed.weights.shape == (3,)


def test_normalize_keeps_a_zero_column_zero_with_weight_zero_and_the_tensor_unchanged():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 2)), rng.standard_normal((4, 2))
    a[:, 1] = 0.0
    x = CPTensor(np.array([2.0, 3.0]), [a, b])
    y = x.normalize()
    assert y.weights[1] == 0.0
    np.testing.assert_array_equal(y.factors[0][:, 1], 0.0)
    np.testing.assert_allclose(np.linalg.norm(y.factors[1], axis=0), 1.0)
    np.testing.assert_allclose(y.full(), x.full(), atol=1e-12)
