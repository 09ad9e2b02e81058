"""Mutation-found gaps of ``tensornet.algebra.gram``: the default lets NaN through to ``G``."""

import importlib

import numpy as np

from tensornet.algebra.gram import gram, gram_numba

gram_module = importlib.import_module("tensornet.algebra.gram")  # the package re-exports gram()


def test_gram_by_default_passes_nan_and_inf_to_the_diagonal_instead_of_raising():
    # check_finite=False is the default: callers read the diagonal of G themselves
    x = np.array([[1.0, np.nan, 2.0], [3.0, 4.0, 5.0], [np.inf, 0.0, 1.0]])
    g = gram(x)
    assert np.isnan(g[0, 0]) and g[1, 1] == 50.0 and np.isinf(g[2, 2])


def test_gram_numba_of_a_matrix_without_columns_is_zero_on_any_thread_count():
    """No columns: G is the m x m zero matrix, whatever n_threads asks for."""
    x = np.zeros((3, 0))
    for n_threads in (None, 1, 2, 3):
        np.testing.assert_array_equal(gram_numba(x, n_threads), np.zeros((3, 3)))


def test_gram_numba_reuses_its_process_wide_pool():
    """Calls asking no more threads than the pool has share it (it is never shut down under a
    concurrent call): the same pool before and after, and the same Gram matrix."""
    x = np.random.default_rng(0).standard_normal((4, 3000))
    g = gram_numba(x, 3)
    pool = gram_module._POOL
    for n_threads in (3, 2, 3):
        np.testing.assert_allclose(gram_numba(x, n_threads), g, rtol=1e-12)
        assert gram_module._POOL is pool
