"""Mutation-found gaps of ``tensornet.formats.ht``: node depths."""

import pytest

from tensornet.formats.ht import DimensionTree


@pytest.mark.parametrize("d", [2, 4, 5])
def test_depth_is_the_number_of_edges_to_the_root_and_grows_by_one_per_child(d):
    for tree in (DimensionTree.balanced(d), DimensionTree.linear(d)):
        assert tree.depth(0) == 0 and tree.parent[0] is None
        for t in range(1, len(tree.nodes)):
            assert tree.depth(t) == tree.depth(tree.parent[t]) + 1
    assert [DimensionTree(4).depth(t) for t in range(7)] == [0, 1, 1, 2, 2, 2, 2]
