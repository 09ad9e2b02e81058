"""Mutation-found gaps of ``tensornet.nn.layers``."""

import numpy as np

from tensornet.nn.layers import BatchNorm1d


def test_batchnorm_of_two_samples_decays_towards_the_unbiased_variance():
    # m = 2 values per channel: the unbiased variance is (a - b)^2 / 2, twice the biased one
    # (the smallest batch where the Bessel factor m / (m - 1) is not 1 or undefined).
    bn = BatchNorm1d(2, momentum=0.25, dtype=np.float64)
    x = np.array([[3.0, -1.0], [1.0, 5.0]])
    bn(x)
    unbiased = (x[0] - x[1]) ** 2 / 2
    np.testing.assert_allclose(bn.buffers["running_var"], 0.75 * 1.0 + 0.25 * unbiased)
    np.testing.assert_allclose(bn.buffers["running_mean"], 0.25 * x.mean(axis=0))
