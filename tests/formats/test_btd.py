"""BTDTensor (survey eq. 5): structured norm/inner equal dense ones; rank-1 terms form a CP."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tensornet.formats import BTDTensor, CPTensor, StructuredTensor, TuckerTensor
from tensornet.testing import seeds, shapes


def _random_btd(shape, n_terms, rank, seed):
    rng = np.random.default_rng(seed)
    terms = []
    for _ in range(n_terms):
        ranks = [min(rank, n) for n in shape]
        factors = [rng.standard_normal((n, r)) for n, r in zip(shape, ranks)]
        terms.append((rng.standard_normal(ranks), factors))
    return BTDTensor(terms)


@given(shapes(1, 4), st.integers(1, 3), st.integers(1, 3), seeds())
def test_btd_full_is_sum_of_tucker_terms(shape, n_terms, rank, seed):
    btd = _random_btd(shape, n_terms, rank, seed)
    expected = sum(t.full() for t in btd.terms)
    np.testing.assert_allclose(btd.full(), expected)


@given(shapes(1, 4), st.integers(1, 3), st.integers(1, 3), seeds())
def test_btd_norm_equals_dense_norm(shape, n_terms, rank, seed):
    btd = _random_btd(shape, n_terms, rank, seed)
    assert btd.norm() == pytest.approx(np.linalg.norm(btd.full()), rel=1e-9, abs=1e-10)


@given(shapes(1, 4), st.integers(1, 3), st.integers(1, 3), seeds())
def test_btd_inner_equals_dense_inner(shape, n_terms, rank, seed):
    a = _random_btd(shape, n_terms, rank, seed)
    b = _random_btd(shape, 2, 1, seed + 1)
    dense = float(np.vdot(a.full(), b.full()))
    scale = np.linalg.norm(a.full()) * np.linalg.norm(b.full()) + 1e-12
    assert abs(a.inner(b) - dense) <= 1e-10 * scale
    assert abs(a.inner(b.full()) - dense) <= 1e-10 * scale
    assert abs(b.terms[0].inner(a) - float(np.vdot(b.terms[0].full(), a.full()))) <= 1e-9 * (
        scale + np.linalg.norm(a.full()) * np.linalg.norm(b.terms[0].full())
    )


@given(shapes(1, 4), st.integers(1, 4), seeds())
def test_btd_with_rank_one_terms_is_a_cp_tensor(shape, n_terms, seed):
    btd = _random_btd(shape, n_terms, 1, seed)
    cp = CPTensor(
        np.array([t.core.item() for t in btd.terms]),
        [np.hstack([t.factors[k] for t in btd.terms]) for k in range(len(shape))],
    )
    np.testing.assert_allclose(btd.full(), cp.full(), atol=1e-10 * (1 + np.abs(cp.full()).max()))
    assert btd.n_params == cp.n_params


def test_btd_n_params_is_sum_of_terms_and_matches_formula():
    btd = _random_btd((5, 6, 7), 3, 2, 0)
    assert btd.n_params == 3 * (5 * 2 + 6 * 2 + 7 * 2 + 2 * 2 * 2)
    assert btd.term_ranks == ((2, 2, 2),) * 3


def test_btd_save_load_round_trip(tmp_path):
    btd = _random_btd((3, 4, 5), 2, 2, 3)
    loaded = StructuredTensor.load(btd.save(tmp_path / "btd"))
    assert isinstance(loaded, BTDTensor) and loaded.n_terms == 2
    np.testing.assert_array_equal(loaded.full(), btd.full())


def test_btd_bad_input_raises():
    with pytest.raises(ValueError, match="non-empty"):
        BTDTensor([])
    with pytest.raises(ValueError, match="shape"):
        BTDTensor(
            [
                TuckerTensor(np.ones((1, 1)), [np.ones((2, 1)), np.ones((3, 1))]),
                TuckerTensor(np.ones((1, 1)), [np.ones((3, 1)), np.ones((3, 1))]),
            ]
        )
    with pytest.raises(TypeError, match="TuckerTensor"):
        BTDTensor([np.ones((2, 2))])
