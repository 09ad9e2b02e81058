"""TT-matrix: the core-by-core products equal products with the dense matrix."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tensornet.formats.tt_matrix as ttm_module
from tensornet.formats import StructuredTensor, TTMatrix
from tensornet.testing import seeds


@st.composite
def tt_matrices(draw, max_dims=3, max_side=3, max_rank=3):
    d = draw(st.integers(1, max_dims))
    ins = [draw(st.integers(1, max_side)) for _ in range(d)]
    outs = [draw(st.integers(1, max_side)) for _ in range(d)]
    ranks = [1] + [draw(st.integers(1, max_rank)) for _ in range(d - 1)] + [1]
    rng = np.random.default_rng(draw(seeds()))
    return TTMatrix(
        [rng.standard_normal((ranks[k], ins[k], outs[k], ranks[k + 1])) for k in range(d)]
    )


def dense_by_definition(cores):
    """W[(i_1..i_d), (j_1..j_d)] = G_1[:, i_1, j_1, :] ... G_d[:, i_d, j_d, :]."""
    ins = [g.shape[1] for g in cores]
    outs = [g.shape[2] for g in cores]
    w = np.empty((int(np.prod(ins)), int(np.prod(outs))))
    for row, i in enumerate(np.ndindex(*ins)):
        for col, j in enumerate(np.ndindex(*outs)):
            m = np.eye(1)
            for g, a, b in zip(cores, i, j):
                m = m @ g[:, a, b, :]
            w[row, col] = m[0, 0]
    return w


@given(tt_matrices())
def test_full_equals_product_of_core_slices(w):
    np.testing.assert_allclose(w.full(), dense_by_definition(w.cores), atol=1e-12)


@pytest.mark.parametrize("direction", ["cost", "left", "right"])
@given(w=tt_matrices(), seed=seeds(), batch=st.integers(1, 4))
def test_matmat_equals_x_times_full_in_both_sweep_directions(direction, w, seed, batch):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, w.shape[0]))
    y = rng.standard_normal((batch, w.shape[1]))
    original = ttm_module._sweep_costs
    forced = {"left": lambda *a: (0.0, 1.0), "right": lambda *a: (1.0, 0.0)}
    try:
        if direction in forced:
            ttm_module._sweep_costs = forced[direction]
        dense = w.full()
        np.testing.assert_allclose(w.matmat(x), x @ dense, atol=1e-10)
        np.testing.assert_allclose(w.rmatmat(y), y @ dense.T, atol=1e-10)
        np.testing.assert_allclose(w.matmat(x[0]), x[0] @ dense, atol=1e-10)
    finally:
        ttm_module._sweep_costs = original


def test_sweep_cost_prefers_the_cheaper_direction():
    left, right = ttm_module._sweep_costs([1, 4, 1], [2, 64], [64, 2], 8)
    assert left != right


def test_save_load_roundtrip(tmp_path):
    rng = np.random.default_rng(0)
    w = TTMatrix([rng.standard_normal((1, 2, 3, 2)), rng.standard_normal((2, 2, 2, 1))])
    back = StructuredTensor.load(w.save(tmp_path / "w"))
    np.testing.assert_array_equal(back.full(), w.full())


_RNG = np.random.default_rng(0)
_W = TTMatrix([_RNG.standard_normal((1, 2, 3, 2)), _RNG.standard_normal((2, 2, 2, 1))])


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: _W.matmat(np.ones((3, 5))), "shape \\(B, 4\\)"),
        (lambda: _W.rmatmat(np.ones((3, 4))), "shape \\(B, 6\\)"),
        (lambda: TTMatrix([np.ones((2, 2, 2, 1))]), "boundary ranks must be 1"),
        (lambda: TTMatrix([np.ones((1, 2, 2, 3)), np.ones((2, 2, 2, 1))]), "left rank"),
    ],
)
def test_bad_input_raises_clear_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()
