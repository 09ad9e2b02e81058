"""Mutation-found gaps of ``tensornet.decompositions.tr``."""

import numpy as np
import pytest

from tensornet.decompositions import tr_als
from tensornet.formats import TRTensor


@pytest.mark.parametrize("init", ["svd", "random"])
def test_tr_als_recovers_an_exact_ring_whose_sizes_are_all_odd(init):
    # an odd number of entries (3 * 5 * 3 = 45) in every cyclic reshaping of X
    rng = np.random.default_rng(0)
    shape, ranks = (3, 5, 3), (1, 2, 2)
    ring = TRTensor(
        [rng.standard_normal((ranks[k], shape[k], ranks[(k + 1) % 3])) for k in range(3)]
    )
    x = ring.full()
    tr = tr_als(x, ranks, init=init, random_state=1, n_iter_max=10, tol=0)
    assert tr.info["rel_error"] < 1e-8
    assert np.linalg.norm(tr.full() - x) < 1e-8 * np.linalg.norm(x)
