"""Mutation-found gaps of ``tensornet.formats.cp``: default weights, zero columns, the inner
product with a format that has its own."""

import numpy as np
import pytest

from tensornet.formats.cp import CPTensor
from tensornet.formats.tucker import TuckerTensor


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


def test_inner_with_a_tucker_tensor_too_large_to_densify_is_structured_both_ways():
    # 1024 * 1024 * 130 elements exceed DEFAULT_MAX_ELEMENTS: only the structured products work
    rng = np.random.default_rng(2)
    shape = (1024, 1024, 130)
    cp = CPTensor(rng.standard_normal(3), [rng.standard_normal((n, 3)) for n in shape])
    core = rng.standard_normal((2, 2, 2))
    us = [rng.standard_normal((n, 2)) for n in shape]
    tucker = TuckerTensor(core, us)
    m = [u.T @ a for u, a in zip(us, cp.factors, strict=True)]  # (2, R) each
    expected = np.einsum("abc,ar,br,cr,r->", core, *m, cp.weights)
    assert cp.inner(tucker) == pytest.approx(expected, rel=1e-10)
    assert tucker.inner(cp) == pytest.approx(expected, rel=1e-10)
