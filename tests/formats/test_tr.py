"""TR format: the trace-of-products definition, the transfer-matrix norm, the TT case."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tensornet.formats import StructuredTensor, TRTensor, TTTensor
from tensornet.testing import seeds


@st.composite
def tr_tensors(draw, min_dims=1, max_dims=4, max_side=4, max_rank=3, r0=None):
    """Random TR cores with a closed ring."""
    d = draw(st.integers(min_dims, max_dims))
    shape = [draw(st.integers(1, max_side)) for _ in range(d)]
    ranks = [draw(st.integers(1, max_rank)) if r0 is None else r0]
    ranks += [draw(st.integers(1, max_rank)) for _ in range(d - 1)] + [ranks[0]]
    rng = np.random.default_rng(draw(seeds()))
    return TRTensor([rng.standard_normal((ranks[k], shape[k], ranks[k + 1])) for k in range(d)])


def dense_by_definition(cores):
    """X[i] = trace(G_1[:, i_1, :] ... G_d[:, i_d, :]), one element at a time."""
    shape = tuple(g.shape[1] for g in cores)
    out = np.empty(shape)
    for idx in np.ndindex(*shape):
        m = np.eye(cores[0].shape[0])
        for g, i in zip(cores, idx):
            m = m @ g[:, i, :]
        out[idx] = np.trace(m)
    return out


@given(tr_tensors())
def test_full_equals_trace_of_core_slices(t):
    np.testing.assert_allclose(t.full(), dense_by_definition(t.cores), atol=1e-12)


@given(tr_tensors())
def test_transfer_matrix_norm_equals_dense_norm(t):
    assert t.norm() == pytest.approx(np.linalg.norm(t.full()), rel=1e-9, abs=1e-12)


@given(tr_tensors(), seeds())
def test_gather_and_getitem_equal_dense_elements(t, seed):
    rng = np.random.default_rng(seed)
    dense = t.full()
    idx = np.stack([rng.integers(0, n, size=6) for n in t.shape], axis=1)
    np.testing.assert_allclose(t.gather(idx), dense[tuple(idx.T)], atol=1e-12)
    first = tuple(int(i) for i in idx[0])
    assert t[first] == pytest.approx(dense[first], abs=1e-12)


@given(tr_tensors(r0=1))
def test_ring_with_r0_one_equals_tt_of_same_cores(t):
    np.testing.assert_allclose(t.full(), TTTensor(t.cores).full(), atol=1e-13)
    assert t.norm() == pytest.approx(TTTensor(t.cores).norm(), rel=1e-9, abs=1e-12)


@given(tr_tensors(min_dims=2), st.integers(0, 3))
def test_cyclic_shift_of_cores_shifts_the_modes(t, shift):
    s = shift % t.ndim
    shifted = TRTensor(t.cores[s:] + t.cores[:s])
    np.testing.assert_allclose(
        shifted.full(),
        np.moveaxis(t.full(), list(range(s)), list(range(t.ndim - s, t.ndim))),
        atol=1e-11,
    )


@given(tr_tensors())
def test_n_params_counts_core_entries(t):
    assert t.n_params == sum(g.size for g in t.cores)
    assert t.ranks[0] == t.ranks[-1] and len(t.ranks) == t.ndim + 1


def test_save_load_roundtrip(tmp_path):
    rng = np.random.default_rng(0)
    t = TRTensor([rng.standard_normal(s) for s in [(2, 3, 3), (3, 4, 2)]])
    back = StructuredTensor.load(t.save(tmp_path / "r"))
    assert isinstance(back, TRTensor)
    np.testing.assert_array_equal(back.full(), t.full())


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (
            lambda: TRTensor([np.ones((2, 3, 3)), np.ones((3, 4, 1))]),
            ValueError,
            "ring does not close",
        ),
        (lambda: TRTensor([np.ones((2, 3, 3)), np.ones((2, 4, 2))]), ValueError, "left rank"),
        (lambda: TRTensor(np.ones((2, 2, 2))), TypeError, "non-empty sequence"),
        (lambda: TRTensor([np.ones((2, 3, 2))]).gather([[3]]), IndexError, "out of range"),
    ],
)
def test_bad_input_raises_clear_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
