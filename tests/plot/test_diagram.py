"""draw(fmt): every format's diagram has one node per core, one bond per contracted index
labelled with its rank, and one open leg per mode labelled with its size."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tensornet.formats import (
    BTDTensor,
    CPTensor,
    HTTensor,
    KronTensor,
    STRTensor,
    StructuredTensor,
    STTTensor,
    STTuckerTensor,
    TRTensor,
    TTMatrix,
    TTTensor,
    TuckerTensor,
)
from tensornet.plot.diagram import draw
from tests.plot.artists import labels, roles

RNG = np.random.default_rng(0)


def r(*shape):
    return RNG.standard_normal(shape)


def _expect(fig, nodes, bonds, legs, bond_labels, leg_labels, texts=0):
    got = roles(fig)
    assert got["node"] == nodes
    assert got["bond"] == bonds == got["bond-label"]
    assert got["leg"] == legs == got["leg-label"]
    assert got["text"] == texts
    assert labels(fig, "bond-label") == [str(v) for v in bond_labels]
    assert labels(fig, "leg-label") == [str(v) for v in leg_labels]


def test_draw_returns_a_figure_with_one_axes():
    fig = draw(TTTensor([r(1, 2, 2), r(2, 3, 1)]))
    assert isinstance(fig, matplotlib.figure.Figure)
    assert len(fig.axes) == 1


def test_cp_is_a_star_of_d_factors_around_the_diagonal():
    fig = draw(CPTensor(None, [r(4, 3), r(5, 3), r(6, 3)]))
    _expect(fig, 4, 3, 3, [3, 3, 3], [4, 5, 6])


def test_tucker_bonds_are_the_multilinear_ranks():
    fig = draw(TuckerTensor(r(2, 3, 4), [r(5, 2), r(6, 3), r(7, 4)]))
    _expect(fig, 4, 3, 3, [2, 3, 4], [5, 6, 7])


def test_tucker_mode_without_factor_is_a_leg_of_the_core():
    fig = draw(TuckerTensor(r(2, 3, 4), [r(5, 2), None, r(7, 4)]))
    _expect(fig, 3, 2, 3, [2, 4], [5, 3, 7])


def test_btd_draws_every_term_joined_by_plus():
    term = (r(2, 3), [r(4, 2), r(5, 3)])
    fig = draw(BTDTensor([term, term, term]))
    _expect(fig, 9, 6, 6, [2, 3] * 3, [4, 5] * 3, texts=2)
    assert labels(fig, "text") == ["+", "+"]


def test_btd_with_many_terms_elides_the_middle_ones():
    term = (r(2, 3), [r(4, 2), r(5, 3)])
    fig = draw(BTDTensor([term] * 7))
    _expect(fig, 9, 6, 6, [2, 3] * 3, [4, 5] * 3, texts=4)
    assert labels(fig, "text") == ["+", "+", "⋯", "+"]
    assert "G₇" in labels(fig, "node-label")


def test_tt_is_a_chain_without_boundary_ranks():
    fig = draw(TTTensor([r(1, 4, 2), r(2, 5, 3), r(3, 6, 2), r(2, 3, 1)]))
    _expect(fig, 4, 3, 4, [2, 3, 2], [4, 5, 6, 3])


def test_tt_matrix_has_a_row_and_a_column_leg_per_core():
    fig = draw(TTMatrix([r(1, 2, 3, 2), r(2, 4, 5, 3), r(3, 2, 2, 1)]))
    _expect(fig, 3, 2, 6, [2, 3], [2, 3, 4, 5, 2, 2])


def test_tr_ring_closes_with_r0():
    fig = draw(TRTensor([r(2, 3, 3), r(3, 4, 5), r(5, 5, 2)]))
    _expect(fig, 3, 3, 3, [3, 5, 2], [3, 4, 5])


def test_tr_with_one_core_is_a_loop():
    fig = draw(TRTensor([r(2, 3, 2)]))
    _expect(fig, 1, 1, 1, [2], [3])


def test_ht_draws_the_dimension_tree():
    tree = (0, (1, (2, 3)))
    leaves = [r(4, 2), r(5, 2), r(6, 3), r(3, 3)]
    fig = draw(HTTensor(tree, leaves, [r(2, 4, 1), r(2, 3, 4), r(3, 3, 3)]))
    # 2d - 1 nodes, 2d - 2 edges labelled k_t (breadth-first node order), d legs (by mode)
    _expect(fig, 7, 6, 4, [2, 4, 2, 3, 3, 3], [4, 5, 6, 3])
    assert sorted(labels(fig, "node-label")) == sorted(["B₀", "B₂", "B₄", "U₀", "U₁", "U₂", "U₃"])


def test_kron_fuses_the_factor_modes():
    fig = draw(KronTensor(r(2, 2, 3, 2), r(2, 4, 2, 3)))
    # A, B and one fuse point per mode; the bond R, then (J_n, K_n) per mode
    _expect(fig, 2, 7, 3, [2, 2, 4, 3, 2, 2, 3], [8, 6, 6])
    assert roles(fig)["fuse"] == 3


def test_st_tucker_bonds_are_dashed_full_sizes():
    fig = draw(STTuckerTensor(r(4, 4, 2), [r(3, 2), r(2, 2), r(5, 1)], 2))
    _expect(fig, 4, 3, 3, [4, 4, 2], [6, 4, 10])
    styles = [line.get_linestyle() for line in fig.axes[0].lines if "bond" in line.get_gid()]
    assert styles == ["--"] * 3


def test_stt_first_bond_is_the_semi_tensor_product():
    fmt = STTTensor([r(1, 3, 4), r(2, 4, 3), r(3, 5, 1)], 2)
    fig = draw(fmt)
    _expect(fig, 3, 2, 3, [4, 6], [6, 4, 5])
    styles = [line.get_linestyle() for line in fig.axes[0].lines if "bond" in line.get_gid()]
    assert styles == ["--", "-"]


def test_str_ring_has_dashed_bonds_at_the_full_first_core():
    fmt = STRTensor([r(4, 3, 4), r(2, 4, 3), r(3, 5, 2)], 2)
    fig = draw(fmt)
    _expect(fig, 3, 3, 3, [4, 6, 4], [3, 4, 5])
    styles = [line.get_linestyle() for line in fig.axes[0].lines if "bond" in line.get_gid()]
    assert styles == ["--", "-", "--"]


def test_draw_on_given_axes_returns_its_figure():
    fig = matplotlib.figure.Figure()
    ax = fig.add_subplot()
    assert draw(CPTensor(None, [r(2, 1), r(3, 1)]), ax=ax) is fig


@settings(max_examples=8, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 5), st.integers(1, 4)), min_size=1, max_size=5))
def test_tt_leg_labels_are_the_shape_and_bond_labels_the_inner_ranks(spec):
    sizes = [n for n, _ in spec]
    ranks = [1] + [r_ for _, r_ in spec[:-1]] + [1]
    cores = [np.ones((ranks[k], n, ranks[k + 1])) for k, n in enumerate(sizes)]
    tt = TTTensor(cores)
    fig = draw(tt)
    _expect(fig, tt.ndim, tt.ndim - 1, tt.ndim, tt.ranks[1:-1], tt.shape)


@settings(max_examples=8, deadline=None)
@given(st.integers(2, 7), st.integers(1, 3))
def test_ht_balanced_tree_has_2d_minus_1_nodes_and_d_legs(d, k):
    from tensornet.formats import DimensionTree

    tree = DimensionTree(d)
    leaves = [np.ones((2, 1 if tree.n_nodes == 3 else k)) for _ in range(d)]
    fmt = _ones_ht(tree, leaves)
    fig = draw(fmt)
    _expect(fig, 2 * d - 1, 2 * d - 2, d, [fmt.ranks[t] for t in range(1, 2 * d - 1)], fmt.shape)


def _ones_ht(tree, leaves):
    """An HT tensor of ones with the leaves' ranks and rank 2 at interior non-root nodes."""
    rank = {}
    for t in range(tree.n_nodes):
        if tree.is_leaf(t):
            rank[t] = leaves[tree.nodes[t][0]].shape[1]
    for t in tree.postorder():
        if not tree.is_leaf(t):
            rank[t] = 1 if t == 0 else 2
    transfers = {}
    for t in tree.interior:
        left, right = tree.children[t]
        transfers[t] = np.ones((rank[left], rank[right], rank[t]))
    return HTTensor(tree, leaves, transfers)


class _Unknown(StructuredTensor):
    shape = (2,)
    ranks = ()

    def _full(self):
        return np.zeros(2)

    def _arrays(self):
        return {}

    @classmethod
    def _from_arrays(cls, arrays, meta):
        return cls()


def test_draw_refuses_non_formats_and_unknown_formats():
    with pytest.raises(TypeError, match="fmt must be a format object"):
        draw(np.ones((2, 2)))
    with pytest.raises(TypeError, match="no diagram for _Unknown"):
        draw(_Unknown())
