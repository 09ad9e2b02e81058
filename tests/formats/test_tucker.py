"""TuckerTensor: structured norm and inner products equal the dense ones; storage round trip."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tensornet.algebra import multi_mode_dot
from tensornet.formats import StructuredTensor, TuckerTensor
from tensornet.formats.tucker import project
from tensornet.testing import seeds, shapes


@st.composite
def tuckers(draw, shape=None):
    shape = draw(shapes(1, 4)) if shape is None else shape
    seed = draw(seeds())
    rng = np.random.default_rng(seed)
    ranks, factors = [], []
    for n in shape:
        if draw(st.booleans()) and n <= 3:
            ranks.append(n)
            factors.append(None)  # identity: mode not compressed
        else:
            r = draw(st.integers(1, 3))
            ranks.append(r)
            factors.append(rng.standard_normal((n, r)))
    return TuckerTensor(rng.standard_normal(ranks), factors)


@given(tuckers())
def test_tucker_norm_equals_dense_norm(t):
    assert t.norm() == pytest.approx(np.linalg.norm(t.full()), rel=1e-10, abs=1e-12)


@given(shapes(1, 4), st.data())
def test_tucker_inner_equals_dense_inner(shape, data):
    a = data.draw(tuckers(shape))
    b = data.draw(tuckers(shape))
    dense = float(np.vdot(a.full(), b.full()))
    scale = np.linalg.norm(a.full()) * np.linalg.norm(b.full()) + 1e-12
    assert abs(a.inner(b) - dense) <= 1e-10 * scale
    assert abs(a.inner(b.full()) - dense) <= 1e-10 * scale


@given(shapes(1, 4), st.integers(1, 3), seeds())
def test_tucker_norm_with_orthonormal_factors_is_core_norm(shape, rank, seed):
    rng = np.random.default_rng(seed)
    ranks = [min(rank, n) for n in shape]
    factors = [np.linalg.qr(rng.standard_normal((n, r)))[0] for n, r in zip(shape, ranks)]
    t = TuckerTensor(rng.standard_normal(ranks), factors)
    assert t.norm() == pytest.approx(np.linalg.norm(t.core), rel=1e-10)


@given(tuckers())
def test_tucker_n_params_counts_core_and_stored_factors(t):
    expected = int(np.prod(t.ranks)) + sum(f.size for f in t.factors if f is not None)
    assert t.n_params == expected


@given(shapes(1, 4), seeds())
def test_project_equals_multi_mode_dot_with_transposes(shape, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    factors = [rng.standard_normal((n, 2)) for n in shape]
    np.testing.assert_allclose(
        project(x, factors), multi_mode_dot(x, factors, transpose=True), atol=1e-10
    )


def test_tucker_full_matches_mode_products_and_identity_modes():
    rng = np.random.default_rng(0)
    core = rng.standard_normal((2, 3, 2))
    u0, u2 = rng.standard_normal((4, 2)), rng.standard_normal((5, 2))
    t = TuckerTensor(core, [u0, None, u2])
    assert t.shape == (4, 3, 5)
    np.testing.assert_allclose(t.full(), multi_mode_dot(core, [u0, np.eye(3), u2]))
    np.testing.assert_array_equal(t.factor(1), np.eye(3))


def test_tucker_save_load_round_trip_keeps_identity_modes(tmp_path):
    rng = np.random.default_rng(1)
    t = TuckerTensor(rng.standard_normal((2, 3)), [rng.standard_normal((4, 2)), None])
    loaded = StructuredTensor.load(t.save(tmp_path / "t.npz"))
    assert isinstance(loaded, TuckerTensor) and loaded.factors[1] is None
    np.testing.assert_array_equal(loaded.full(), t.full())


@pytest.mark.parametrize(
    "core, factors, exc, match",
    [
        (np.ones((2, 2)), [np.ones((3, 2))], ValueError, "length 1"),
        (np.ones((2, 2)), [np.ones((3, 2)), np.ones((3, 3))], ValueError, "core.shape"),
        (np.ones((2,)), [np.ones(3)], ValueError, "ndim=2"),
        (np.full((1,), np.inf), [np.ones((3, 1))], ValueError, "finite"),
        (np.ones((2,)), np.ones((3, 2)), TypeError, "sequence"),
    ],
)
def test_tucker_bad_input_raises(core, factors, exc, match):
    with pytest.raises(exc, match=match):
        TuckerTensor(core, factors)
