"""Each strategy of tensornet.testing.strategies generates what it promises.

Exact low rank is checked by unfolding ranks: the TT rank ``r_k`` is the rank of ``X^{<k>}``,
the Tucker rank ``R_n`` that of ``X_(n)``, the HT rank ``k_t`` that of the node's
matricization, the Kronecker rank that of the rearranged matrix.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tensornet.algebra import unfold
from tensornet.decompositions import kron_rearrange
from tensornet.formats import (
    BTDTensor,
    CPTensor,
    DimensionTree,
    HTTensor,
    KronTensor,
    TRTensor,
    TTMatrix,
    TTTensor,
    TuckerTensor,
)
from tensornet.testing import (
    Noisy,
    btd_tensors,
    cp_tensors,
    dense_tensors,
    dimension_trees,
    ht_tensors,
    kron_tensors,
    layer_shapes,
    matrices_with_decay,
    rank_tuples,
    shapes,
    tr_tensors,
    tt_matrices,
    tt_tensors,
    tucker_tensors,
)

#: The thorough profile's 400 examples add nothing to a check of what a generator builds.
capped = settings(max_examples=min(settings().max_examples, 25))


def numerical_rank(m):
    s = np.linalg.svd(m, compute_uv=False)
    return int(np.sum(s > 1e-9 * s[0])) if s.size and s[0] > 0 else 0


def matricization(x, modes):
    rest = [k for k in range(x.ndim) if k not in modes]
    rows = math.prod(x.shape[k] for k in modes)
    return np.transpose(x, list(modes) + rest).reshape(rows, -1)


@capped
@given(st.data(), st.integers(0, 3), st.integers(1, 3), st.integers(1, 4), st.integers(1, 3))
def test_shapes_respect_order_side_and_size_bounds(data, min_dims, extra, min_side, more):
    max_dims, max_side = min_dims + extra, min_side + more
    max_size = data.draw(st.integers(min_side**min_dims, 200))
    for bound in (None, max_size):
        shape = data.draw(shapes(min_dims, max_dims, min_side, max_side, max_size=bound))
        assert min_dims <= len(shape) <= max_dims
        assert all(min_side <= n <= max_side for n in shape)
        if bound is not None:
            assert math.prod(shape) <= bound


@capped
@given(dense_tensors(shapes(1, 3, 1, 4)))
def test_dense_tensors_are_finite_float64_of_the_drawn_shape(x):
    assert x.dtype == np.float64 and np.all(np.isfinite(x)) and 1 <= x.ndim <= 3


@capped
@given(st.integers(2, 6).flatmap(lambda d: st.tuples(st.just(d), dimension_trees(d))))
def test_dimension_trees_cover_every_mode_once(data):
    d, tree = data
    assert isinstance(tree, DimensionTree) and sorted(tree.nodes[0]) == list(range(d))


@capped
@given(st.data(), shapes(1, 4, 1, 4), st.integers(1, 4))
def test_tt_rank_tuples_are_minimal_and_bounded(data, shape, max_rank):
    r = data.draw(rank_tuples(shape, "tt", max_rank=max_rank))
    assert len(r) == len(shape) + 1 and r[0] == r[-1] == 1
    for k, n in enumerate(shape):
        assert r[k + 1] <= r[k] * n and r[k] <= n * r[k + 1]
    assert max(r) <= max_rank


@capped
@given(st.data(), shapes(1, 4, 1, 4))
def test_tucker_rank_tuples_fit_modes_and_each_other(data, shape):
    r = data.draw(rank_tuples(shape, "tucker"))
    assert len(r) == len(shape)
    for n, rn in enumerate(r):
        assert rn <= shape[n] and rn <= math.prod(r[:n] + r[n + 1 :])


@capped
@given(st.data(), shapes(2, 4, 1, 4))
def test_tr_and_cp_rank_tuples_have_the_format_length(data, shape):
    tr = data.draw(rank_tuples(shape, "tr", max_rank=2))
    assert len(tr) == len(shape) + 1 and tr[0] == tr[-1] and max(tr) <= 2
    (rank,) = data.draw(rank_tuples(shape, "cp", max_rank=2))
    assert 1 <= rank <= 2


@capped
@given(tt_tensors())
def test_tt_tensors_have_unfolding_ranks_equal_to_their_tt_ranks(tt):
    assert isinstance(tt, TTTensor)
    x = tt.full()
    for k in range(1, x.ndim):
        unfolding = x.reshape(math.prod(x.shape[:k]), -1)
        assert numerical_rank(unfolding) == tt.ranks[k]


@capped
@given(tt_tensors((3, 4, 2), ranks=(1, 2, 2, 1)))
def test_tt_tensors_take_the_given_shape_and_ranks(tt):
    assert tt.shape == (3, 4, 2) and tt.ranks == (1, 2, 2, 1)


@capped
@given(tucker_tensors())
def test_tucker_tensors_have_mode_unfolding_ranks_equal_to_their_ranks(t):
    assert isinstance(t, TuckerTensor)
    x = t.full()
    assert tuple(numerical_rank(unfold(x, n)) for n in range(x.ndim)) == t.ranks


@capped
@given(st.integers(2, 4).flatmap(lambda d: ht_tensors(shapes(d, d, 1, 3), tree=dimension_trees(d))))
def test_ht_tensors_have_node_matricization_ranks_equal_to_their_ranks(h):
    assert isinstance(h, HTTensor)
    x = h.full()
    for t in range(1, h.tree.n_nodes):
        assert numerical_rank(matricization(x, h.tree.nodes[t])) == h.ranks[t]


@capped
@given(tr_tensors())
def test_tr_tensors_have_unfolding_ranks_at_most_r0_rk(tr):
    assert isinstance(tr, TRTensor)
    x = tr.full()
    for k in range(1, x.ndim):
        assert numerical_rank(x.reshape(math.prod(x.shape[:k]), -1)) <= tr.ranks[0] * tr.ranks[k]


@capped
@given(cp_tensors())
def test_cp_tensors_have_mode_unfolding_ranks_min_of_rank_and_sides(cp):
    assert isinstance(cp, CPTensor)
    x = cp.full()
    for n in range(x.ndim):
        expected = min(cp.rank, x.shape[n], x.size // x.shape[n])
        assert numerical_rank(unfold(x, n)) == expected


@capped
@given(btd_tensors())
def test_btd_tensors_have_mode_unfolding_ranks_at_most_the_summed_term_ranks(b):
    assert isinstance(b, BTDTensor) and 1 <= b.n_terms <= 3
    x = b.full()
    for n in range(x.ndim):
        assert numerical_rank(unfold(x, n)) <= sum(t.ranks[n] for t in b.terms)


@capped
@given(btd_tensors((3, 4, 2), term_ranks=[(1, 1, 1), (2, 2, 2)]))
def test_btd_tensors_take_the_given_term_ranks(b):
    assert b.shape == (3, 4, 2) and b.term_ranks == ((1, 1, 1), (2, 2, 2))


@capped
@given(kron_tensors())
def test_kron_tensors_have_rearranged_rank_equal_to_their_kronecker_rank(k):
    assert isinstance(k, KronTensor)
    m = kron_rearrange(k.full(), k.a_shape, k.b_shape)
    assert numerical_rank(m) == k.ranks[0]


@capped
@given(
    st.sampled_from(
        [tt_tensors, tr_tensors, tucker_tensors, cp_tensors, ht_tensors, kron_tensors, btd_tensors]
    ),
    st.sampled_from([1e-6, 1e-2, 0.5]),
    st.data(),
)
def test_noise_has_the_requested_relative_size(strategy, noise, data):
    sample = data.draw(strategy(noise=noise))
    assert isinstance(sample, Noisy) and sample.noise == noise
    clean = sample.clean.full()
    rel = np.linalg.norm(sample.x - clean) / np.linalg.norm(clean)
    assert rel == pytest.approx(noise, rel=1e-9)


@capped
@given(layer_shapes(2, 3, 1, 4))
def test_layer_shapes_pair_modes_of_equal_length(pair):
    ins, outs = pair
    assert len(ins) == len(outs) and 2 <= len(ins) <= 3
    assert all(1 <= n <= 4 for n in ins + outs)


@capped
@given(tt_matrices())
def test_tt_matrices_have_the_layer_shape_and_tt_ranks_of_their_merged_tensor(w):
    assert isinstance(w, TTMatrix)
    assert w.shape == (math.prod(w.in_modes), math.prod(w.out_modes))
    d = len(w.in_modes)
    merged = w.full().reshape(w.in_modes + w.out_modes)
    merged = merged.transpose([a for k in range(d) for a in (k, d + k)])
    for k in range(1, d):
        rows = math.prod(m * n for m, n in zip(w.in_modes[:k], w.out_modes[:k]))
        assert numerical_rank(merged.reshape(rows, -1)) == w.ranks[k]


@capped
@given(tt_matrices((2, 3), (4, 1), ranks=(1, 2, 1)))
def test_tt_matrices_take_given_modes_and_ranks(w):
    assert w.in_modes == (2, 3) and w.out_modes == (4, 1) and w.ranks == (1, 2, 1)


@capped
@given(
    st.sampled_from([("geometric", 0.3), ("geometric", 0.9), ("polynomial", 1.0)]),
    st.data(),
)
def test_matrices_with_decay_have_exactly_the_prescribed_singular_values(law, data):
    decay, rate = law
    m = data.draw(matrices_with_decay(shapes(2, 2, 1, 8), decay, rate))
    i = np.arange(min(m.shape))
    expected = rate**i if decay == "geometric" else (i + 1.0) ** (-rate)
    np.testing.assert_allclose(np.linalg.svd(m, compute_uv=False), expected, atol=1e-12)
