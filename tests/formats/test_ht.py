"""Tests of tensornet.formats.ht: dimension trees and the HTTensor format."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tensornet.formats import DimensionTree, HTTensor, StructuredTensor
from tensornet.testing import dimension_trees, seeds

#: Random binary trees over a random order of the modes (kept under its old name).
tree_specs = dimension_trees


@st.composite
def ht_tensors(draw, max_d=4):
    d = draw(st.integers(2, max_d))
    tree = DimensionTree(draw(tree_specs(d)))
    shape = draw(st.lists(st.integers(1, 3), min_size=d, max_size=d))
    rng = np.random.default_rng(draw(seeds()))
    ranks = [int(rng.integers(1, 4)) for _ in range(tree.n_nodes)]
    ranks[0] = 1
    leaves = [None] * d
    for t in tree.leaves:
        k = tree.nodes[t][0]
        leaves[k] = rng.standard_normal((shape[k], ranks[t]))
    transfers = {}
    for t in tree.interior:
        left, right = tree.children[t]
        transfers[t] = rng.standard_normal((ranks[left], ranks[right], ranks[t]))
    return HTTensor(tree, leaves, transfers)


def _element_by_definition(h, index):
    """Recursive evaluation of U_t[i_t, :] = B_t x_1 U_l[i_l, :] x_2 U_r[i_r, :]."""

    def row(t):
        if h.tree.is_leaf(t):
            k = h.tree.nodes[t][0]
            return h.leaves[k][index[k]]
        left, right = h.tree.children[t]
        vl, vr = row(left), row(right)
        b = h.transfers[t]
        return np.array(
            [
                sum(vl[i] * vr[j] * b[i, j, a] for i in range(len(vl)) for j in range(len(vr)))
                for a in range(b.shape[2])
            ]
        )

    return row(0)[0]


def test_balanced_tree_of_four_modes_matches_survey_figure():
    tree = DimensionTree(4)
    assert tree.spec == ((0, 1), (2, 3))
    assert tree.nodes == [(0, 1, 2, 3), (0, 1), (2, 3), (0,), (1,), (2,), (3,)]
    assert tree.children[0] == (1, 2) and tree.parent[3] == 1


@given(st.integers(2, 9))
def test_balanced_and_linear_trees_cover_every_mode_once(d):
    for tree in (DimensionTree.balanced(d), DimensionTree.linear(d)):
        assert sorted(tree.nodes[0]) == list(range(d))
        assert tree.n_nodes == 2 * d - 1
        assert sorted(m for t in tree.leaves for m in tree.nodes[t]) == list(range(d))
        for t in tree.interior:
            left, right = tree.children[t]
            assert tree.nodes[t] == tree.nodes[left] + tree.nodes[right]


def test_tree_missing_a_mode_raises():
    with pytest.raises(ValueError, match=r"cover every mode 0..2 exactly once \(missing \[1\]"):
        DimensionTree(((0, 3), 2))


def test_tree_repeating_a_mode_raises():
    with pytest.raises(ValueError, match=r"repeated \[1\]"):
        DimensionTree(((0, 1), 1))


def test_non_binary_tree_raises():
    with pytest.raises(ValueError, match="must be binary"):
        DimensionTree(((0, 1, 2), 3))


def test_tree_with_non_integer_leaf_raises():
    with pytest.raises(TypeError, match="mode numbers"):
        DimensionTree(((0, 1.5), 2))


def test_tree_with_one_mode_raises():
    with pytest.raises(ValueError, match="d=1 must be >= 2"):
        DimensionTree(1)


@given(ht_tensors(max_d=3), seeds())
def test_full_agrees_with_elementwise_definition(h, seed):
    rng = np.random.default_rng(seed)
    dense = h.full()
    for _ in range(3):
        idx = tuple(int(rng.integers(0, n)) for n in h.shape)
        assert dense[idx] == pytest.approx(_element_by_definition(h, idx), abs=1e-10)


@given(ht_tensors())
def test_gather_and_getitem_equal_full(h):
    dense = h.full()
    idx = np.array(list(np.ndindex(*h.shape)))
    np.testing.assert_allclose(h.gather(idx), dense.ravel(), atol=1e-10)
    last = tuple(n - 1 for n in h.shape)
    assert h[last] == pytest.approx(dense[last], abs=1e-10)


@given(ht_tensors())
def test_gram_norm_equals_dense_norm(h):
    assert h.norm() == pytest.approx(np.linalg.norm(h.full()), rel=1e-9, abs=1e-12)


@given(ht_tensors(), seeds(), st.integers(1, 4))
def test_batch_contraction_equals_dense_product(h, seed, batch):
    rng = np.random.default_rng(seed)
    in_modes = tuple(int(rng.choice([i for i in range(1, n + 1) if n % i == 0])) for n in h.shape)
    out_modes = tuple(n // i for n, i in zip(h.shape, in_modes))
    x = rng.standard_normal((batch, *in_modes))
    # W[(i_0..i_{d-1}), (j_0..j_{d-1})] = X[i_0 J_0 + j_0, ...]
    d = h.ndim
    split = [s for pair in zip(in_modes, out_modes) for s in pair]
    w = h.full().reshape(split).transpose(list(range(0, 2 * d, 2)) + list(range(1, 2 * d, 2)))
    w = w.reshape(int(np.prod(in_modes)), int(np.prod(out_modes)))
    y = h.contract(x, in_modes, out_modes)
    expected = x.reshape(batch, -1) @ w
    if all(j == 1 for j in out_modes):
        assert y.shape == (batch,)
    else:
        assert y.shape == (batch, *out_modes)
    np.testing.assert_allclose(y.reshape(batch, -1), expected, atol=1e-9)


def test_contract_with_full_input_is_batch_of_inner_products():
    rng = np.random.default_rng(3)
    tree = DimensionTree(3)
    h = HTTensor(
        tree,
        [rng.standard_normal((n, 2)) for n in (2, 3, 4)],
        {0: rng.standard_normal((2, 2)), 1: rng.standard_normal((2, 2, 2))},
    )
    x = rng.standard_normal((5, 2, 3, 4))
    np.testing.assert_allclose(h.contract(x), np.tensordot(x, h.full(), axes=3), atol=1e-12)


def test_n_params_counts_leaves_and_transfer_tensors():
    tree = DimensionTree(((0, 1), (2, 3)))
    ranks = {1: 2, 2: 3, 3: 2, 4: 4, 5: 3, 6: 5}
    leaves = [np.ones((n, ranks[t])) for n, t in zip((5, 6, 7, 8), (3, 4, 5, 6))]
    transfers = {0: np.ones((2, 3, 1)), 1: np.ones((2, 4, 2)), 2: np.ones((3, 5, 3))}
    h = HTTensor(tree, leaves, transfers)
    assert h.ranks == (1, 2, 3, 2, 4, 3, 5)
    assert h.n_params == 5 * 2 + 6 * 4 + 7 * 3 + 8 * 5 + 2 * 3 + 2 * 4 * 2 + 3 * 5 * 3


def test_save_load_roundtrip_keeps_tree(tmp_path):
    rng = np.random.default_rng(0)
    tree = DimensionTree(((0, 2), 1))
    h = HTTensor(
        tree,
        [rng.standard_normal((n, 2)) for n in (2, 3, 4)],
        {0: rng.standard_normal((2, 2, 1)), 1: rng.standard_normal((2, 2, 2))},
    )
    back = StructuredTensor.load(h.save(tmp_path / "h"))
    assert isinstance(back, HTTensor) and back.tree == tree
    np.testing.assert_array_equal(back.full(), h.full())


def test_transfer_shape_mismatch_raises():
    tree = DimensionTree(2)
    with pytest.raises(ValueError, match=r"expected \(2, 3, k_t\)"):
        HTTensor(tree, [np.ones((2, 2)), np.ones((2, 3))], {0: np.ones((3, 3, 1))})


def test_contract_shape_mismatch_raises():
    tree = DimensionTree(2)
    h = HTTensor(tree, [np.ones((4, 1)), np.ones((6, 1))], {0: np.ones((1, 1, 1))})
    with pytest.raises(ValueError, match=r"in_modes\[1\] \* out_modes\[1\] = 4 \* 2"):
        h.contract(np.ones((1, 2, 4)), (2, 4), (2, 2))
    with pytest.raises(ValueError, match=r"in_modes\[1\]=4 does not divide"):
        h.contract(np.ones((1, 2, 4)))


def test_gather_counts_negative_indices_from_the_end_like_tt_gather():
    from tensornet.decompositions import ht_svd

    x = np.random.default_rng(0).standard_normal((3, 4, 5))
    h = ht_svd(x)
    idx = np.array([[-1, 0, -2], [2, -4, 4]])
    np.testing.assert_allclose(h.gather(idx), x[idx[:, 0], idx[:, 1], idx[:, 2]], atol=1e-12)
    with pytest.raises(IndexError, match=r"index\[0, 1\]=4 is out of range for mode 1 of size 4"):
        h.gather([[0, 4, 0]])
    with pytest.raises(TypeError, match="index must hold integers"):
        h.gather([[0.0, 1.0, 2.0]])
