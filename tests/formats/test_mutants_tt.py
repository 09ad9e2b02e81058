"""Mutation-found gaps of ``tensornet.formats.tt``: both boundary ranks of a full rank list."""

import pytest

from tensornet.formats.tt import tt_rank_caps


@pytest.mark.parametrize("ranks", [[1, 1, 3], [3, 1, 1], [1, 2, 2, 2], [2, 2, 2, 1]])
def test_a_full_rank_list_needs_both_boundary_ranks_to_be_one(ranks):
    shape = (2,) * (len(ranks) - 1)
    with pytest.raises(ValueError, match="must have boundary ranks"):
        tt_rank_caps(ranks, shape)
    assert tt_rank_caps([1, *ranks[1:-1], 1], shape) == tuple(min(r, 2) for r in ranks[1:-1])


def test_gather_chain_of_a_ring_sums_the_trace_over_every_boundary_index():
    """gather_chain of a TR chain whose inner rank is below r_0 = r_d is the trace of the
    product of the core slices (the ring loop runs over r_0 and clears the whole vector)."""
    import numpy as np

    from tensornet.formats.tt import gather_chain

    rng = np.random.default_rng(0)
    ranks, shape = (3, 1, 2, 3), (2, 3, 2)
    cores = [rng.standard_normal((ranks[k], n, ranks[k + 1])) for k, n in enumerate(shape)]
    index = np.array([[0, 0, 0], [1, 2, 1], [0, 1, 1], [1, 0, 0]], dtype=np.int64)
    want = [np.trace(cores[0][:, i] @ cores[1][:, j] @ cores[2][:, k]) for i, j, k in index]
    np.testing.assert_allclose(gather_chain(cores, index), want, rtol=1e-12, atol=1e-12)
