"""Mutation-found gaps of ``tensornet.decompositions.svd``: no oversampling is allowed."""

import numpy as np

from tensornet.decompositions.svd import randomized_svd


def test_randomized_svd_without_oversampling_is_exact_on_an_exact_rank_r_matrix():
    rng = np.random.default_rng(0)
    m = rng.standard_normal((30, 3)) @ rng.standard_normal((3, 20))
    u, s, vt = randomized_svd(m, 3, n_oversamples=0, n_iter=0, random_state=1)
    assert u.shape == (30, 3) and s.shape == (3,) and vt.shape == (3, 20)
    assert np.linalg.norm((u * s) @ vt - m) <= 1e-10 * np.linalg.norm(m)
