"""Tests of tensornet.decompositions.ht: the hierarchical SVD (Grasedyck 2010)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tensornet.decompositions import ht_max_ranks, ht_svd
from tensornet.formats import DimensionTree
from tensornet.testing import (
    assert_eps_bound,
    assert_orthonormal_columns,
    assert_quasi_optimal,
    assert_ranks_at_most,
    dimension_trees,
    seeds,
)


@st.composite
def tensors_and_trees(draw, max_d=4, max_side=4):
    d = draw(st.integers(2, max_d))
    shape = tuple(draw(st.lists(st.integers(1, max_side), min_size=d, max_size=d)))
    tree = draw(st.one_of(st.none(), dimension_trees(d)))
    x = np.random.default_rng(draw(seeds())).standard_normal(shape)
    return x, tree


def _matricization(x, modes):
    rest = [k for k in range(x.ndim) if k not in modes]
    rows = int(np.prod([x.shape[k] for k in modes]))
    return np.transpose(x, list(modes) + rest).reshape(rows, -1)


@given(tensors_and_trees(), st.sampled_from([None, 0.0]))
def test_ht_svd_is_exact_at_eps_zero(data, eps):
    x, tree = data
    h = ht_svd(x, eps=eps, tree=tree)
    np.testing.assert_allclose(h.full(), x, atol=1e-10 * max(1.0, np.linalg.norm(x)))


@given(tensors_and_trees(max_d=5), st.floats(0.01, 0.9))
def test_ht_svd_meets_eps_bound_and_reports_exact_error(data, eps):
    x, tree = data
    h = ht_svd(x, eps=eps, tree=tree)
    assert_eps_bound(h, x, eps)
    assert h.info["error"] == pytest.approx(np.linalg.norm(x - h.full()), rel=1e-6, abs=1e-10)


@given(tensors_and_trees(), st.integers(1, 3))
def test_ht_svd_nodes_are_orthonormal_and_norm_is_root_norm(data, rank):
    x, tree = data
    h = ht_svd(x, ranks=rank, tree=tree)
    for k, u in enumerate(h.leaves):
        assert_orthonormal_columns(u, f"leaves[{k}]")
    for t, b in h.transfers.items():
        if t != 0:
            assert_orthonormal_columns(b.reshape(-1, b.shape[2]), f"transfers[{t}]")
    assert h.norm() == pytest.approx(np.linalg.norm(h.full()), rel=1e-9, abs=1e-12)
    assert_ranks_at_most(h, rank)


@settings(max_examples=min(settings().max_examples, 100))  # SVDs of every unfolding
@given(tensors_and_trees(), st.integers(1, 3))
def test_ht_svd_error_is_within_sqrt_2d_minus_3_of_the_best(data, rank):
    x, tree = data
    assert_quasi_optimal(ht_svd(x, ranks=rank, tree=tree), x, np.sqrt(2 * x.ndim - 3))


@given(st.integers(1, 6), st.integers(1, 6), seeds(), st.integers(1, 6))
def test_ht_svd_of_matrix_equals_truncated_svd(m, n, seed, rank):
    x = np.random.default_rng(seed).standard_normal((m, n))
    u, s, vt = np.linalg.svd(x, full_matrices=False)
    r = min(rank, m, n)
    best = (u[:, :r] * s[:r]) @ vt[:r]
    np.testing.assert_allclose(ht_svd(x, ranks=rank).full(), best, atol=1e-10)


@given(tensors_and_trees(max_d=4), st.integers(1, 3))
def test_each_node_error_is_at_most_best_error_of_its_matricization(data, rank):
    x, tree = data
    h = ht_svd(x, ranks=rank, tree=tree)
    for t, err in h.info["node_errors"].items():
        s = np.linalg.svd(_matricization(x, h.tree.nodes[t]), compute_uv=False)
        assert err <= np.sqrt(np.sum(s[h.ranks[t] :] ** 2)) + 1e-10


def test_linear_tree_ranks_are_tt_ranks():
    rng = np.random.default_rng(0)
    tt_ranks = (1, 2, 3, 2, 1)
    cores = [rng.standard_normal((tt_ranks[k], 4, tt_ranks[k + 1])) for k in range(4)]
    x = cores[0]
    for g in cores[1:]:
        x = np.tensordot(x, g, axes=([-1], [0]))
    x = x.reshape(4, 4, 4, 4)
    h = ht_svd(x, eps=1e-12, tree=DimensionTree.linear(4))
    # node (k, ..., 3) of the linear tree has the TT rank r_{k-1}
    for t, modes in enumerate(h.tree.nodes):
        if modes[-1] == 3 and modes[0] > 0:
            assert h.ranks[t] == tt_ranks[modes[0]]
    assert h.relative_error(x) < 1e-10


def test_ht_max_ranks_are_the_matricization_sizes():
    assert ht_max_ranks((2, 3, 4, 5)) == (1, 6, 6, 2, 3, 4, 5)


def test_tree_not_covering_the_modes_raises():
    with pytest.raises(ValueError, match="cover every mode"):
        ht_svd(np.ones((2, 2, 2)), tree=((0, 1), 3))
    with pytest.raises(ValueError, match="covers 4 modes but the tensor has 3"):
        ht_svd(np.ones((2, 2, 2)), tree=((0, 1), (2, 3)))


def test_bad_ranks_raise():
    x = np.ones((2, 3, 4))
    with pytest.raises(ValueError, match="sequence of 4 ints"):
        ht_svd(x, ranks=[1, 2])
    msg = r"ranks\[0\]=7 exceeds the largest possible rank 4 of node \(0, 1\)"
    with pytest.raises(ValueError, match=msg):
        ht_svd(x, ranks=[7, 1, 1, 1])
    with pytest.raises(ValueError, match="ndim >= 2"):
        ht_svd(np.ones(3))
