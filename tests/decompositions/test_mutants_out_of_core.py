"""Mutation-found gaps of ``tensornet.decompositions.out_of_core``."""

from __future__ import annotations

import numpy as np
import pytest

import tensornet as tn

da = pytest.importorskip("dask.array")

RNG = np.random.default_rng(0)
#: multilinear rank (2, 3, 2) plus noise 1e-9: a small eps keeps (2, 3, 2), a tiny one all
X = tn.TuckerTensor(
    RNG.standard_normal((2, 3, 2)),
    [RNG.standard_normal((n, r)) for n, r in zip((4, 5, 6), (2, 3, 2), strict=True)],
).full() + 1e-9 * RNG.standard_normal((4, 5, 6))


@pytest.mark.parametrize(("eps", "ranks"), [(1e-6, (2, 3, 2)), (1e-10, (4, 5, 6))])
def test_streamed_hosvd_at_a_small_eps_takes_the_exact_tails_of_the_in_memory_one(eps, ranks):
    # eps * ||X|| below the eigenvalues' round-off: the ranks come from exact row norms of
    # U_n^T X_(n) (one more pass), as the in-memory HOSVD takes them from the SVD
    streamed = tn.hosvd(da.from_array(X, chunks=(2, 5, 6)), eps=eps)
    direct = tn.hosvd(X, eps=eps)
    assert streamed.ranks == direct.ranks == ranks
    assert streamed.info["error_bound"] == pytest.approx(direct.info["error_bound"], abs=1e-12)
    assert np.linalg.norm(streamed.full() - X) <= eps * np.linalg.norm(X)
