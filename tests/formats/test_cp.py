"""CPTensor: structured norm and inner products equal the dense ones; storage round trip."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tensornet.formats import CPTensor, StructuredTensor, TuckerTensor
from tensornet.testing import seeds, shapes


def _random_cp(shape, rank, seed):
    rng = np.random.default_rng(seed)
    return CPTensor(rng.standard_normal(rank), [rng.standard_normal((n, rank)) for n in shape])


@given(shapes(1, 4), st.integers(1, 4), seeds())
def test_cp_norm_equals_dense_norm(shape, rank, seed):
    cp = _random_cp(shape, rank, seed)
    assert cp.norm() == pytest.approx(np.linalg.norm(cp.full()), rel=1e-10, abs=1e-12)


@given(shapes(1, 4), st.integers(1, 4), st.integers(1, 4), seeds())
def test_cp_inner_equals_dense_inner(shape, r1, r2, seed):
    a = _random_cp(shape, r1, seed)
    b = _random_cp(shape, r2, seed + 1)
    dense = float(np.vdot(a.full(), b.full()))
    scale = np.linalg.norm(a.full()) * np.linalg.norm(b.full()) + 1e-12
    assert abs(a.inner(b) - dense) <= 1e-10 * scale
    assert abs(a.inner(b.full()) - dense) <= 1e-10 * scale


@given(shapes(2, 4), st.integers(1, 3), seeds())
def test_cp_inner_with_tucker_equals_dense(shape, rank, seed):
    rng = np.random.default_rng(seed)
    cp = _random_cp(shape, rank, seed)
    ranks = [min(2, n) for n in shape]
    tucker = TuckerTensor(
        rng.standard_normal(ranks), [rng.standard_normal((n, r)) for n, r in zip(shape, ranks)]
    )
    dense = float(np.vdot(cp.full(), tucker.full()))
    scale = np.linalg.norm(cp.full()) * np.linalg.norm(tucker.full()) + 1e-12
    assert abs(cp.inner(tucker) - dense) <= 1e-10 * scale
    assert abs(tucker.inner(cp) - dense) <= 1e-10 * scale


@given(shapes(1, 4), st.integers(1, 4), seeds())
def test_cp_normalize_keeps_tensor_and_gives_unit_columns(shape, rank, seed):
    cp = _random_cp(shape, rank, seed)
    unit = cp.normalize()
    np.testing.assert_allclose(unit.full(), cp.full(), atol=1e-10 * (1 + np.abs(cp.full()).max()))
    for f in unit.factors:
        np.testing.assert_allclose(np.linalg.norm(f, axis=0), 1.0)


@given(shapes(1, 4), st.integers(1, 4), seeds())
def test_cp_n_params_is_rank_times_one_plus_sum_of_modes(shape, rank, seed):
    cp = _random_cp(shape, rank, seed)
    assert cp.n_params == rank * (1 + sum(shape))
    assert cp.ranks == (rank,)


def test_cp_full_is_sum_of_weighted_outer_products():
    cp = _random_cp((3, 4, 5), 2, 0)
    expected = sum(
        cp.weights[r]
        * np.einsum("i,j,k->ijk", cp.factors[0][:, r], cp.factors[1][:, r], cp.factors[2][:, r])
        for r in range(2)
    )
    np.testing.assert_allclose(cp.full(), expected)


def test_cp_save_load_round_trip(tmp_path):
    cp = _random_cp((3, 4, 5), 2, 1)
    path = cp.save(tmp_path / "cp")
    loaded = StructuredTensor.load(path)
    assert isinstance(loaded, CPTensor)
    np.testing.assert_array_equal(loaded.full(), cp.full())
    np.testing.assert_array_equal(CPTensor.load(path).weights, cp.weights)


@pytest.mark.parametrize(
    "weights, factors, exc, match",
    [
        (None, [np.ones((2, 2)), np.ones((3, 1))], ValueError, "columns"),
        (np.ones(3), [np.ones((2, 2))], ValueError, "weights has length 3"),
        (None, [np.ones(3)], ValueError, "ndim=2"),
        (None, [np.array([[np.nan]])], ValueError, "finite"),
        (None, [], ValueError, "at least one"),
        (None, np.ones((2, 2)), TypeError, "sequence"),
    ],
)
def test_cp_bad_input_raises(weights, factors, exc, match):
    with pytest.raises(exc, match=match):
        CPTensor(weights, factors)


def test_cp_inner_shape_mismatch_raises():
    with pytest.raises(ValueError, match="shape"):
        _random_cp((2, 3), 1, 0).inner(np.ones((3, 2)))
