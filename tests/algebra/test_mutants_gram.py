"""Mutation-found gaps of ``tensornet.algebra.gram``: the default lets NaN through to ``G``."""

import numpy as np

from tensornet.algebra.gram import gram


def test_gram_by_default_passes_nan_and_inf_to_the_diagonal_instead_of_raising():
    # check_finite=False is the default: callers read the diagonal of G themselves
    x = np.array([[1.0, np.nan, 2.0], [3.0, 4.0, 5.0], [np.inf, 0.0, 1.0]])
    g = gram(x)
    assert np.isnan(g[0, 0]) and g[1, 1] == 50.0 and np.isinf(g[2, 2])
