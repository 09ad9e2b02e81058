"""Mutation-found gaps of ``tensornet.formats.ht``: node depths, transfers given as a list, the
stored orthonormal claim."""

import numpy as np
import pytest

from tensornet._io import load_npz, save_npz
from tensornet.formats.base import StructuredTensor
from tensornet.formats.ht import DimensionTree, HTTensor


@pytest.mark.parametrize("d", [2, 4, 5])
def test_depth_is_the_number_of_edges_to_the_root_and_grows_by_one_per_child(d):
    for tree in (DimensionTree.balanced(d), DimensionTree.linear(d)):
        assert tree.depth(0) == 0 and tree.parent[0] is None
        for t in range(1, len(tree.nodes)):
            assert tree.depth(t) == tree.depth(tree.parent[t]) + 1
    assert [DimensionTree(4).depth(t) for t in range(7)] == [0, 1, 1, 2, 2, 2, 2]


def _ht(seed=0):
    rng = np.random.default_rng(seed)
    leaves = [rng.standard_normal((3, 2)) for _ in range(3)]
    transfers = [rng.standard_normal((2, 2, 1)), rng.standard_normal((2, 2, 2))]
    return DimensionTree(3), leaves, transfers  # interior nodes 0 (root) and 1


def test_transfers_given_as_a_list_follow_the_interior_nodes_and_must_match_their_count():
    tree, leaves, transfers = _ht()
    as_list = HTTensor(tree, leaves, transfers)
    as_dict = HTTensor(tree, leaves, dict(zip(tree.interior, transfers)))
    np.testing.assert_array_equal(as_list.full(), as_dict.full())
    with pytest.raises(ValueError, match="transfers must hold 2 tensors .* got 1"):
        HTTensor(tree, leaves, transfers[:1])
    with pytest.raises(ValueError, match="transfers must hold 2 tensors .* got 3"):
        HTTensor(tree, leaves, [*transfers, transfers[1]])


def test_a_stored_orthonormal_claim_is_checked_on_load(tmp_path):
    tree, leaves, transfers = _ht()
    arrays, meta = load_npz(HTTensor(tree, leaves, transfers).save(tmp_path / "h.npz"))
    assert meta["orthonormal"] is False
    false_claim = save_npz(tmp_path / "claim.npz", arrays, {**meta, "orthonormal": True})
    with pytest.raises(ValueError, match="claims orthonormal=true but its bases are not"):
        StructuredTensor.load(false_claim)


def test_a_tree_naming_a_mode_past_the_last_lists_it_as_out_of_range():
    with pytest.raises(ValueError, match=r"missing \[2\], repeated \[\], out of range \[3\]"):
        DimensionTree(((0, 1), 3))


def test_contract_refuses_in_modes_that_do_not_match_the_batch_shape():
    tree, leaves, transfers = _ht()
    x = np.ones((2, 3, 3, 3))
    with pytest.raises(ValueError, match=r"x must have shape \(B, \*in_modes\)"):
        HTTensor(tree, leaves, transfers).contract(x, in_modes=(3, 3, 1))


def test_an_orthonormal_ht_svd_result_round_trips_with_its_claim(tmp_path):
    # the root transfer tensor carries the norm: only the other nodes must be orthonormal
    from tensornet.decompositions.ht import ht_svd

    x = ht_svd(3.0 + np.random.default_rng(0).standard_normal((3, 3, 3, 3)), ranks=2)
    assert x._metadata()["orthonormal"] is True
    back = StructuredTensor.load(x.save(tmp_path / "o.npz"))
    np.testing.assert_allclose(back.full(), x.full(), rtol=1e-12, atol=1e-12)


def test_a_linear_tree_needs_two_modes():
    """DimensionTree.linear refuses d < 2 with its own d in the message."""
    with pytest.raises(ValueError, match="d=1 must be >= 2"):
        DimensionTree.linear(1)
    assert DimensionTree.linear(2).d == 2


@pytest.mark.parametrize("out_modes", [(1, 1), (1, 1, 1, 1)])
def test_contract_refuses_out_modes_of_the_wrong_length(out_modes):
    """contract raises ValueError when out_modes does not hold one entry per mode."""
    tree, leaves, transfers = _ht()
    with pytest.raises(ValueError, match="out_modes=.* must have one entry per mode .*3"):
        HTTensor(tree, leaves, transfers).contract(np.ones((2, 3, 3, 3)), out_modes=out_modes)


def test_a_balanced_tree_needs_two_modes():
    """DimensionTree.balanced refuses d < 2 with its own d in the message."""
    with pytest.raises(ValueError, match="d=1 must be >= 2"):
        DimensionTree.balanced(1)
    assert DimensionTree.balanced(2).d == 2


def test_an_orthonormal_ht_svd_result_has_the_norm_of_its_root_and_rectangular_transfers_load():
    """norm() of an orthonormal HT tensor is that of the full tensor (read from the root), and
    the orthonormality check reshapes each non-root B_t to (k_l k_r, k_t) even when k_r != k_t."""
    from tensornet.decompositions.ht import ht_svd

    x = ht_svd(np.random.default_rng(0).standard_normal((2, 2, 3, 3)), ranks=3)
    assert x.orthonormal and x.transfers[1].shape == (2, 2, 3)
    assert x.norm() == pytest.approx(np.linalg.norm(x.full()), rel=1e-12)
    assert x._bases_orthonormal()


@pytest.mark.parametrize(("k", "expected"), [(200, True), (202, False)])
def test_the_float32_orthonormality_tolerance_is_100_eps_times_the_largest_size(k, expected):
    """A float32 leaf diag(a, 1) is orthonormal iff |a^2 - 1| <= 100 eps * 2 (eps of float32)."""
    eps = float(np.finfo(np.float32).eps)
    a = np.float32(1.0 - k * eps / 2)  # exact: the float32 spacing below 1 is eps / 2
    dev = 1.0 - float(a) ** 2
    assert (198 * eps < dev <= 200 * eps) if expected else (200 * eps < dev <= 202 * eps)
    leaves = [np.diag([a, 1]).astype(np.float32), np.eye(2, dtype=np.float32)]
    x = HTTensor(DimensionTree(2), leaves, [np.ones((2, 2, 1), dtype=np.float32)])
    assert x._bases_orthonormal() is expected
