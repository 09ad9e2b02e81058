"""Mutation-found gaps of ``tensornet.decompositions.svd``: no oversampling is allowed."""

import numpy as np

from tensornet.algebra.truncation import thin_svd
from tensornet.decompositions.svd import randomized_svd


def test_randomized_svd_without_oversampling_is_exact_on_an_exact_rank_r_matrix():
    rng = np.random.default_rng(0)
    m = rng.standard_normal((30, 3)) @ rng.standard_normal((3, 20))
    u, s, vt = randomized_svd(m, 3, n_oversamples=0, n_iter=0, random_state=1)
    assert u.shape == (30, 3) and s.shape == (3,) and vt.shape == (3, 20)
    assert np.linalg.norm((u * s) @ vt - m) <= 1e-10 * np.linalg.norm(m)


def test_randomized_svd_runs_two_power_iterations_by_default():
    # a slowly decaying spectrum, so that every power iteration changes the result
    rng = np.random.default_rng(2)
    m = rng.standard_normal((40, 30)) * (1.0 / np.arange(1, 31))
    default = randomized_svd(m, 4, random_state=3)
    for got, want in zip(default, randomized_svd(m, 4, n_iter=2, random_state=3), strict=True):
        np.testing.assert_array_equal(got, want)
    assert not np.array_equal(default[1], randomized_svd(m, 4, n_iter=3, random_state=3)[1])


def test_randomized_svd_at_full_sketch_width_is_the_exact_svd_and_draws_nothing():
    # rank + n_oversamples == min(I, J): the documented switch to the exact SVD
    m = np.random.default_rng(4).standard_normal((12, 7))
    rng = np.random.default_rng(5)
    u, s, vt = randomized_svd(m, 3, n_oversamples=4, random_state=rng)
    eu, es, evt = thin_svd(m)
    np.testing.assert_array_equal(s, es[:3])
    np.testing.assert_array_equal(u, eu[:, :3])
    np.testing.assert_array_equal(vt, evt[:3])
    assert rng.random() == np.random.default_rng(5).random()  # the generator was not used
