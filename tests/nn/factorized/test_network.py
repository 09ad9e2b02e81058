"""The tensor-network engine of the factorized layers (tensornet/nn/factorized/_network.py)."""

import itertools
import math

import autograd.numpy as anp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tensornet.nn.factorized._network import Network, Tape, contract, interleave

from ..gradcheck import assert_grad_matches_fd


def chain_network(batch_sizes, rng):
    """x(b, i0, i1, i2) with a 3-core TT-matrix chain; returns the network and the arrays."""
    m, n, r = batch_sizes
    sizes = {"i0": m[0], "i1": m[1], "i2": m[2], "j0": n[0], "j1": n[1], "j2": n[2]}
    sizes.update({"a1": r[0], "a2": r[1]})
    ops = [
        ("b", "i0", "i1", "i2"),
        ("i0", "j0", "a1"),
        ("a1", "i1", "j1", "a2"),
        ("a2", "i2", "j2"),
    ]
    net = Network(ops, ("b", "j0", "j1", "j2"), sizes, batch_label="b", data=0)
    arrays = [rng.standard_normal([4 if lab == "b" else sizes[lab] for lab in o]) for o in ops]
    return net, arrays


def brute_force_flops(net, batch):
    """Fewest multiply-adds over every sequence of pairwise merges that share a label."""
    size = lambda labs: int(np.prod([batch if l == "b" else net.sizes[l] for l in labs]))  # noqa: E731

    def merged(a, b):
        shared = set(a) & set(b)
        return tuple(l for l in a if l not in shared) + tuple(l for l in b if l not in shared)

    def best(ops):
        if len(ops) == 1:
            return 0
        out = None
        for i, j in itertools.combinations(range(len(ops)), 2):
            if not set(ops[i]) & set(ops[j]):
                continue
            cost = size(set(ops[i]) | set(ops[j]))
            rest = [o for k, o in enumerate(ops) if k not in (i, j)] + [merged(ops[i], ops[j])]
            total = cost + best(rest)
            out = total if out is None else min(out, total)
        return out

    return best(list(net.operands))


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.integers(1, 4), min_size=3, max_size=3),
    st.lists(st.integers(1, 4), min_size=3, max_size=3),
    st.lists(st.integers(1, 5), min_size=2, max_size=2),
    st.integers(1, 300),
)
def test_planned_order_has_the_brute_force_minimum_flops(m, n, r, batch):
    net, _ = chain_network((m, n, r), np.random.default_rng(0))
    assert net.flops(batch) == brute_force_flops(net, batch)


def test_contract_equals_einsum_definition():
    rng = np.random.default_rng(1)
    net, arrays = chain_network(((2, 3, 4), (3, 2, 2), (3, 2)), rng)
    ref = np.einsum("bijk,iua,ajvc,ckw->buvw", *arrays)
    np.testing.assert_allclose(contract(net, Tape(), *arrays), ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("keep_tape", [True, False])
def test_contract_gradient_matches_finite_differences(keep_tape):
    rng = np.random.default_rng(2)
    net, arrays = chain_network(((2, 3, 2), (2, 3, 2), (2, 3)), rng)
    probe = rng.standard_normal((4, 2, 3, 2))
    names = ["x", "g0", "g1", "g2"]

    def f(p):
        tape = Tape() if keep_tape else None
        return anp.sum(contract(net, tape, *[p[k] for k in names]) * probe)

    assert_grad_matches_fd(f, dict(zip(names, arrays, strict=True)))


def test_weight_cap_forbids_large_weight_only_intermediates():
    # x(b, i1, i2) A(r, i1, j1) B(r, i2, j2): forming A ⊗ B is the cheapest for a huge batch
    # unless the cap forbids the weight-only intermediate (r, i1, j1, i2, j2).
    sizes = {"i1": 8, "i2": 8, "j1": 8, "j2": 8, "r": 2}
    ops = [("b", "i1", "i2"), ("r", "i1", "j1"), ("r", "i2", "j2")]
    free = Network(ops, ("b", "j1", "j2"), sizes, batch_label="b", data=0)
    capped = Network(ops, ("b", "j1", "j2"), sizes, batch_label="b", data=0, weight_cap=128)
    steps, _ = capped.plan(10**6)
    assert all(0 in (a, b) or a >= 3 or b >= 3 for a, b, _ in steps)
    assert capped.flops(10**6) == 10**6 * 2 * (8 * 8 * 8 + 8 * 8 * 8)
    assert free.flops(10**6) <= capped.flops(10**6)


def test_interleave_pairs_input_and_output_modes():
    w = np.arange(6 * 20).reshape(6, 20).astype(float)  # N = 2*3, M = 4*5
    t = interleave(w, (2, 3), (4, 5))
    assert t.shape == (8, 15)
    for i1, i2, j1, j2 in itertools.product(range(2), range(3), range(4), range(5)):
        assert t[i1 * 4 + j1, i2 * 5 + j2] == w[i1 * 3 + i2, j1 * 5 + j2]


def test_contract_accepts_transposed_and_strided_operands():
    rng = np.random.default_rng(3)
    net, arrays = chain_network(((2, 3, 4), (3, 2, 2), (3, 2)), rng)
    ref = contract(net, Tape(), *arrays)
    # a transposed copy viewed back (non-C-contiguous, a permutation of a contiguous array) and
    # a sliced view (no contiguous permutation) must give the same result
    x_t = np.ascontiguousarray(arrays[0].transpose(3, 1, 0, 2)).transpose(2, 1, 3, 0)
    g1 = np.repeat(arrays[1], 2, axis=2)[:, :, ::2]
    assert not x_t.flags.c_contiguous and not g1.flags.c_contiguous
    assert np.array_equal(x_t, arrays[0]) and np.array_equal(g1, arrays[1])
    np.testing.assert_allclose(
        contract(net, Tape(), x_t, g1, arrays[2], arrays[3]), ref, rtol=1e-12, atol=1e-12
    )


def test_greedy_plan_is_valid_and_never_beats_the_exact_one():
    rng = np.random.default_rng(4)
    net, arrays = chain_network(((2, 3, 4), (3, 2, 2), (3, 2)), rng)
    steps, flops = net._greedy(4)
    assert flops >= net.flops(4)
    net._plans[4] = (steps, flops)  # run the greedy order
    ref = np.einsum("bijk,iua,ajvc,ckw->buvw", *arrays)
    np.testing.assert_allclose(contract(net, Tape(), *arrays), ref, rtol=1e-12, atol=1e-12)


def test_large_ht_layer_is_planned_greedily_and_stays_exact():
    from tensornet.nn.factorized.ht import HTLinear

    layer = HTLinear(
        math.prod((2,) * 7),
        math.prod((2,) * 7),
        in_modes=(2,) * 7,
        out_modes=(2,) * 7,
        ranks=2,
        random_state=0,
        dtype=np.float64,
    )
    assert len(layer._net.operands) > 10
    x = np.random.default_rng(5).standard_normal((3, 128))
    layer.mode = "factors"
    np.testing.assert_allclose(layer(x), x @ layer.weight() + layer.params["bias"], atol=1e-12)
