"""Properties of unfold/fold and mode products (tensornet/algebra/modes.py)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tensornet.algebra import fold, mode_dot, multi_mode_dot, unfold
from tensornet.testing import random_array, seeds, shapes


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


@given(shapes(min_dims=2, max_dims=4), st.data(), seeds())
def test_mode_dot_transpose_multiplies_by_transposed_matrix(shape, data, seed):
    x = random_array(shape, seed)
    mode = data.draw(st.integers(0, len(shape) - 1))
    a = random_array((shape[mode], 3), seed + 1)
    np.testing.assert_allclose(mode_dot(x, a, mode, transpose=True), mode_dot(x, a.T, mode))


@given(shapes(min_dims=2, max_dims=4), st.data(), seeds())
def test_mode_dot_with_vector_contracts_the_mode(shape, data, seed):
    x = random_array(shape, seed)
    mode = data.draw(st.integers(0, len(shape) - 1))
    v = random_array(shape[mode], seed + 1)
    expected = np.squeeze(mode_dot(x, v[None, :], mode), axis=mode)
    np.testing.assert_allclose(mode_dot(x, v, mode), expected, atol=1e-12)


@given(shapes(min_dims=2, max_dims=4), st.data(), seeds())
def test_multi_mode_dot_with_skip_leaves_that_mode_unchanged(shape, data, seed):
    x = random_array(shape, seed)
    skip = data.draw(st.integers(0, len(shape) - 1))
    mats = [random_array((2, n), seed + k) for k, n in enumerate(shape)]
    out = multi_mode_dot(x, mats, skip=skip)
    expected = x
    for k, a in enumerate(mats):
        if k != skip:
            expected = mode_dot(expected, a, k)
    assert out.shape[skip] == shape[skip]
    np.testing.assert_allclose(out, expected, atol=1e-12)


@given(shapes(min_dims=1, max_dims=4), seeds())
def test_multi_mode_dot_with_identities_is_identity(shape, seed):
    x = random_array(shape, seed)
    np.testing.assert_array_equal(multi_mode_dot(x, [np.eye(n) for n in shape]), x)


def test_fold_rejects_wrong_unfolding():
    with pytest.raises(ValueError, match=r"not a mode-1 unfolding of a tensor of shape \(2, 3\)"):
        fold(np.ones((2, 3)), 1, (2, 3))


def test_multi_mode_dot_rejects_mismatched_lengths_and_vectors():
    with pytest.raises(ValueError, match="modes has length 1 but matrices has length 2"):
        multi_mode_dot(np.ones((2, 3)), [np.ones((2, 2)), np.ones((3, 3))], modes=[0])
    with pytest.raises(ValueError, match="matrices must be 2-D; the one for mode 1 has ndim=1"):
        multi_mode_dot(np.ones((2, 3)), [np.ones((2, 2)), np.ones(3)])
    with pytest.raises(ValueError, match="matrix has length 4 but x has size 3 in mode 1"):
        mode_dot(np.ones((2, 3)), np.ones(4), 1)
