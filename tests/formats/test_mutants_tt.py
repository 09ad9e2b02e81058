"""Mutation-found gaps of ``tensornet.formats.tt``: both boundary ranks of a full rank list."""

import pytest

from tensornet.formats.tt import tt_rank_caps


@pytest.mark.parametrize("ranks", [[1, 1, 3], [3, 1, 1], [1, 2, 2, 2], [2, 2, 2, 1]])
def test_a_full_rank_list_needs_both_boundary_ranks_to_be_one(ranks):
    shape = (2,) * (len(ranks) - 1)
    with pytest.raises(ValueError, match="must have boundary ranks"):
        tt_rank_caps(ranks, shape)
    assert tt_rank_caps([1, *ranks[1:-1], 1], shape) == tuple(min(r, 2) for r in ranks[1:-1])
