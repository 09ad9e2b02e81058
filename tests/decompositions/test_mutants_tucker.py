"""Mutation-found gaps of ``tensornet.decompositions.tucker``."""

import numpy as np
import pytest

from tensornet.decompositions import tucker_hooi
from tensornet.formats import TuckerTensor


@pytest.mark.parametrize("method", ["power", "eigh"])
@pytest.mark.parametrize("full_mode", [0, 1])
def test_hooi_leaves_a_full_rank_mode_uncompressed_with_the_identity_factor(method, full_mode):
    # A mode kept at full rank needs no subspace: its factor is I, so the core along it is X
    # itself (no rotation by orth(Y_(n) Y_(n)^T) from a power step).
    x = np.random.default_rng(1).standard_normal((4, 5, 6))
    ranks = [2, 3, 3]
    ranks[full_mode] = x.shape[full_mode]
    t = tucker_hooi(x, ranks, n_iter_max=3, tol=0, method=method)
    np.testing.assert_array_equal(t.factors[full_mode], np.eye(x.shape[full_mode]))


@pytest.mark.parametrize("method", ["power", "eigh"])
def test_hooi_returns_the_best_sweep_when_round_off_makes_the_history_wobble(method):
    # an exact multilinear-rank (2, 2, 2) tensor: every sweep's error is round-off (~1e-16,
    # from the dense residual), so the history is not monotone and the best sweep is kept
    rng = np.random.default_rng(2)
    x = TuckerTensor(
        rng.standard_normal((2, 2, 2)), [rng.standard_normal((n, 2)) for n in (5, 6, 7)]
    )
    x = x.full()
    t = tucker_hooi(x, (2, 2, 2), n_iter_max=12, tol=0, method=method)
    assert t.info["rel_error"] == min(t.info["history"])
    dense = np.linalg.norm(x - t.full()) / np.linalg.norm(x)
    assert dense < 1e-14
