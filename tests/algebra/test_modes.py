"""Properties of unfold/fold and mode products (tensornet/algebra/modes.py)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tensornet.algebra import fold, mode_dot, multi_mode_dot, unfold
from tests.strategies import random_array, seeds, shapes


@given(shapes(), st.data(), seeds())
def test_fold_inverts_unfold(shape, data, seed):
    x = random_array(shape, seed)
    mode = data.draw(st.integers(0, len(shape) - 1))
    assert np.array_equal(fold(unfold(x, mode), mode, shape), x)


@given(shapes(), st.data(), seeds())
def test_unfold_of_mode_dot_is_matrix_product(shape, data, seed):
    x = random_array(shape, seed)
    mode = data.draw(st.integers(0, len(shape) - 1))
    j = data.draw(st.integers(1, 4))
    a = random_array((j, shape[mode]), seed + 1)
    np.testing.assert_allclose(unfold(mode_dot(x, a, mode), mode), a @ unfold(x, mode), atol=1e-12)


@given(shapes(min_dims=2), seeds())
def test_mode_products_along_different_modes_commute(shape, seed):
    x = random_array(shape, seed)
    a = random_array((2, shape[0]), seed + 1)
    b = random_array((3, shape[1]), seed + 2)
    ab = mode_dot(mode_dot(x, a, 0), b, 1)
    ba = mode_dot(mode_dot(x, b, 1), a, 0)
    np.testing.assert_allclose(ab, ba, atol=1e-12)
    np.testing.assert_allclose(multi_mode_dot(x, [a, b]), ab, atol=1e-12)


def test_unfold_matches_c_order_definition():
    x = np.arange(24.0).reshape(2, 3, 4)
    # column index of X_(1)[i1, :] runs over (i0, i2) with i2 fastest
    assert unfold(x, 1)[2, 5] == x[1, 2, 1]


def test_mode_dot_rejects_mismatched_matrix():
    with pytest.raises(ValueError, match="columns"):
        mode_dot(np.ones((2, 3)), np.ones((4, 5)), 1)


def test_unfold_rejects_bad_mode():
    with pytest.raises(ValueError, match="mode=3"):
        unfold(np.ones((2, 3)), 3)
