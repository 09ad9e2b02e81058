"""Tests of tensornet.formats.stp: STTucker, STT and STR against their definitions."""

from math import lcm

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tensornet.formats import (
    STRTensor,
    StructuredTensor,
    STTTensor,
    STTuckerTensor,
    TRTensor,
    TTTensor,
    TuckerTensor,
)
from tensornet.testing import seeds


def stp_def(a, b):
    """Cheng's left STP straight from the definition, with numpy's kron."""
    n, p = a.shape[1], b.shape[0]
    m = lcm(n, p)
    return np.kron(a, np.eye(m // n)) @ np.kron(b, np.eye(m // p))


def unfold_c(x, n):
    return np.moveaxis(x, n, 0).reshape(x.shape[n], -1)


def fold_c(m, n, shape):
    moved = [shape[n]] + [s for k, s in enumerate(shape) if k != n]
    return np.moveaxis(m.reshape(moved), 0, n)


@st.composite
def st_tuckers(draw):
    t = draw(st.integers(1, 3))
    d = draw(st.integers(1, 3))
    rng = np.random.default_rng(draw(seeds()))
    ranks = [t * draw(st.integers(1, 2)) for _ in range(d)]
    rows = [draw(st.integers(1, 3)) for _ in range(d)]
    core = rng.standard_normal(ranks)
    factors = [rng.standard_normal((i, r // t)) for i, r in zip(rows, ranks)]
    return STTuckerTensor(core, factors, t)


@st.composite
def stp_chains(draw, ring):
    t = draw(st.integers(1, 3))
    d = draw(st.integers(2, 4))
    rng = np.random.default_rng(draw(seeds()))
    q = [draw(st.integers(1, 2)) for _ in range(d)]  # reduced bonds q_k = r_k / t
    sizes = [draw(st.integers(1, 3)) for _ in range(d)]
    if ring:
        first = (t * q[0], sizes[0], t * q[1])
        last_bond = q[0]
    else:
        first = (1, sizes[0], t * q[1])
        last_bond = 1
    cores = [rng.standard_normal(first)]
    for k in range(1, d):
        right = q[k + 1] if k + 1 < d else last_bond
        cores.append(rng.standard_normal((q[k], sizes[k], right)))
    return (STRTensor if ring else STTTensor)(cores, t)


@given(st_tuckers())
def test_st_tucker_full_equals_chain_of_semi_tensor_mode_products(s):
    x = s.core
    for n, a in enumerate(s.factors):
        shape = list(x.shape)
        m = stp_def(a, unfold_c(x, n))  # U ⋉ X_(n), survey eq. 16
        shape[n] = m.shape[0]
        x = fold_c(m, n, shape)
    np.testing.assert_allclose(s.full(), x, atol=1e-10)


@given(st_tuckers())
def test_st_tucker_equals_tucker_with_kron_identity_factors_and_split_tucker(s):
    eye = np.eye(s.t)
    dense = TuckerTensor(s.core, [np.kron(a, eye) for a in s.factors]).full()
    np.testing.assert_allclose(s.full(), dense, atol=1e-10)
    np.testing.assert_allclose(s.to_tucker().full(), dense, atol=1e-10)
    split = s.to_split_tucker().full()
    np.testing.assert_allclose(split.reshape(s.shape), dense, atol=1e-10)
    assert s.norm() == pytest.approx(np.linalg.norm(dense), rel=1e-10, abs=1e-12)


@given(stp_chains(ring=False), seeds())
def test_stt_full_agrees_with_elementwise_stp_chain(s, seed):
    rng = np.random.default_rng(seed)
    dense = s.full()
    for _ in range(3):
        idx = tuple(int(rng.integers(0, n)) for n in s.shape)
        i1, sub = divmod(idx[0], s.t)
        m = s.cores[0][:, i1, :]
        for k in range(1, len(s.cores)):
            m = stp_def(m, s.cores[k][:, idx[k], :])
        assert m.shape == (1, s.t)
        assert dense[idx] == pytest.approx(m[0, sub], abs=1e-10)


@given(stp_chains(ring=True), seeds())
def test_str_full_agrees_with_elementwise_trace_of_stp_chain(s, seed):
    rng = np.random.default_rng(seed)
    dense = s.full()
    for _ in range(3):
        idx = tuple(int(rng.integers(0, n)) for n in s.shape)
        m = s.cores[0][:, idx[0], :]
        for k in range(1, len(s.cores)):
            m = stp_def(m, s.cores[k][:, idx[k], :])
        assert dense[idx] == pytest.approx(np.trace(m), abs=1e-10)


@given(stp_chains(ring=False))
def test_stt_is_tt_with_reindexed_first_core(s):
    tt = s.to_tt()
    np.testing.assert_allclose(tt.full(), s.full(), atol=1e-10)
    assert tt.n_params == s.n_params
    assert all(r * s.t == rs for r, rs in zip(tt.ranks[1:-1], s.ranks[1:-1]))
    back = STTTensor.from_tt(tt, s.t)
    for a, b in zip(back.cores, s.cores):
        np.testing.assert_array_equal(a, b)
    assert s.norm() == pytest.approx(np.linalg.norm(s.full()), rel=1e-10, abs=1e-12)


@given(stp_chains(ring=True))
def test_str_is_tr_with_partial_trace_of_first_core(s):
    np.testing.assert_allclose(s.to_tr().full(), s.full(), atol=1e-10)
    lifted = STRTensor.from_reduced(s.reduced_cores(), s.t)
    np.testing.assert_allclose(lifted.full(), s.full(), atol=1e-10)
    assert s.norm() == pytest.approx(np.linalg.norm(s.full()), rel=1e-10, abs=1e-12)


@given(st_tuckers())
def test_t_equal_one_st_tucker_is_tucker(s):
    s1 = STTuckerTensor(s.core, [np.kron(a, np.eye(s.t)) for a in s.factors], 1)
    np.testing.assert_allclose(s1.full(), TuckerTensor(s1.core, s1.factors).full(), atol=1e-12)
    assert s1.n_params == TuckerTensor(s1.core, s1.factors).n_params


@given(stp_chains(ring=False))
def test_t_equal_one_stt_is_tt(s):
    s1 = STTTensor(s.to_tt().cores, 1)
    np.testing.assert_allclose(s1.full(), TTTensor(s1.cores).full(), atol=1e-12)
    assert s1.ranks == TTTensor(s1.cores).ranks


@given(stp_chains(ring=True))
def test_t_equal_one_str_is_tr(s):
    s1 = STRTensor(s.reduced_cores(), 1)
    np.testing.assert_allclose(s1.full(), TRTensor(s1.cores).full(), atol=1e-12)
    assert s1.ranks == TRTensor(s1.cores).ranks


def test_parameter_counts_match_the_formulas():
    t = 2
    core_shape, sizes = (4, 6, 2), (6, 4, 10)
    s = STTuckerTensor(
        np.ones(core_shape), [np.ones((i // t, r // t)) for i, r in zip(sizes, core_shape)], t
    )
    assert s.shape == sizes
    assert s.n_params == np.prod(core_shape) + sum(i * r for i, r in zip(sizes, core_shape)) // 4
    # STT: I_1 r_1 / t + sum_{k>=2} I_k r_{k-1} r_k / t^2 with r_d = t
    r, sizes = (1, 4, 6, t), (6, 3, 5)
    stt = STTTensor([np.ones((1, 3, 4)), np.ones((2, 3, 3)), np.ones((3, 5, 1))], t)
    assert stt.shape == sizes and stt.ranks == r
    assert stt.n_params == 6 * 4 // 2 + (3 * 4 * 6 + 5 * 6 * 2) // 4
    # STR: r_0 I_1 r_1 + sum_{k>=2} I_k r_{k-1} r_k / t^2 with r_d = r_0
    strt = STRTensor([np.ones((4, 3, 6)), np.ones((3, 2, 2)), np.ones((2, 5, 2))], t)
    assert strt.ranks == (4, 6, 4, 4)
    assert strt.n_params == 4 * 3 * 6 + (2 * 6 * 4 + 5 * 4 * 4) // 4


def test_save_load_roundtrips(tmp_path):
    rng = np.random.default_rng(0)
    tensors = [
        STTuckerTensor(rng.standard_normal((2, 4)), [np.ones((3, 1)), np.ones((2, 2))], 2),
        STTTensor([rng.standard_normal((1, 2, 4)), rng.standard_normal((2, 3, 1))], 2),
        STRTensor([rng.standard_normal((2, 2, 4)), rng.standard_normal((2, 3, 1))], 2),
    ]
    for k, s in enumerate(tensors):
        back = StructuredTensor.load(s.save(tmp_path / f"s{k}"))
        assert type(back) is type(s) and back.t == s.t
        np.testing.assert_array_equal(back.full(), s.full())


def test_t_not_dividing_a_core_size_raises():
    with pytest.raises(ValueError, match=r"t=2 does not divide core.shape\[1\]=3"):
        STTuckerTensor(np.ones((2, 3)), [np.ones((2, 1)), np.ones((2, 1))], 2)
    with pytest.raises(ValueError, match=r"factors\[0\] has 2 columns, expected R_0 / t"):
        STTuckerTensor(np.ones((2, 2)), [np.ones((2, 2)), np.ones((2, 1))], 2)
    with pytest.raises(ValueError, match="t=2 does not divide the ring rank r_0=3"):
        STRTensor([np.ones((3, 2, 2)), np.ones((1, 2, 1))], 2)


def test_bond_mismatch_raises():
    with pytest.raises(ValueError, match="must equal t \\* cores\\[1\\].shape\\[0\\]"):
        STTTensor([np.ones((1, 2, 4)), np.ones((3, 2, 1))], 2)
    with pytest.raises(ValueError, match="the chain must close"):
        STTTensor([np.ones((1, 2, 4)), np.ones((2, 2, 2))], 2)
    with pytest.raises(ValueError, match="t must be >= 1|t=0 must be >= 1"):
        STTTensor([np.ones((1, 2, 4)), np.ones((2, 2, 1))], 0)
