"""Mutation-found gaps of ``tensornet.decompositions.cp``."""

import warnings

import numpy as np
import pytest

from tensornet.decompositions import cp_als
from tensornet.decompositions.cp import _ALSState, _quantize_symmetric
from tensornet.formats import CPTensor


@pytest.mark.parametrize("seed", [0, 3])
def test_rel_error_of_a_cancelling_fit_equals_the_dense_residual(seed):
    # Two nearly collinear rank-1 terms with opposite weights ~1e3-1e4 x ||X||: the cheap
    # formula ||X||^2 - 2<X, X̂> + ||X̂||^2 cancels terms of size |w|^T |H| |w| down to a
    # residual ~1e-10 ||X||^2, far below its round-off, so rel_error must come from the dense
    # residual (the threshold is 1e4 ulps of that scale, not of ||X||^2).
    rng = np.random.default_rng(seed)
    base, step = rng.standard_normal((2, 3, 4))
    factors = [np.stack([base[k], base[k] + 1e-4 * step[k]], axis=1) for k in range(3)]
    weights = np.array([1.0, -1.0])
    x = CPTensor(weights, factors).full()
    scale = np.linalg.norm(x)
    x = x / scale + 1e-5 * rng.standard_normal(x.shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # CPDegeneracyWarning: degenerate on purpose
        cp = cp_als(x, 2, n_iter_max=2, tol=0, init=CPTensor(weights / scale, factors))
    assert cp.info["weight_ratio"] > 1e3
    dense = np.linalg.norm(x - cp.full()) / np.linalg.norm(x)
    np.testing.assert_allclose(cp.info["rel_error"], dense, rtol=1e-3)


def _two_components(congruence, weights):
    """An exact rank-2 CP tensor whose components have cosine ``congruence ** (1/3)`` in every
    mode (so their congruence, signed by the weights, is ``+-congruence``)."""
    rng = np.random.default_rng(0)
    c = congruence ** (1.0 / 3.0)
    factors = []
    for _ in range(3):
        q, _ = np.linalg.qr(rng.standard_normal((4, 2)))
        factors.append(np.stack([q[:, 0], c * q[:, 0] + np.sqrt(1 - c * c) * q[:, 1]], axis=1))
    return CPTensor(np.array(weights, dtype=float), factors)


@pytest.mark.parametrize(
    ("congruence", "weights", "ratio"),
    [
        (0.89, [1.0, -1.0], (2.0, 2.3)),  # large weights, but the pair cancels less than -0.9
        (0.95, [1.0, -0.2], (1.0, 2.0)),  # a strongly cancelling pair, but weights below 2 ||X||
    ],
)
def test_degenerate_needs_both_a_weight_above_twice_the_norm_and_a_pair_below_minus_0_9(
    congruence, weights, ratio
):
    exact = _two_components(congruence, weights)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no CPDegeneracyWarning either
        cp = cp_als(exact.full(), 2, init=exact, n_iter_max=3, tol=0)
    assert cp.info["rel_error"] < 1e-10
    assert ratio[0] < cp.info["weight_ratio"] < ratio[1]
    np.testing.assert_allclose(cp.info["min_congruence"], -congruence, rtol=1e-9)
    assert not cp.info["degenerate"]


def test_a_start_with_a_repeated_component_fits_through_the_singular_normal_equations():
    # two equal columns make V = ⊛ A_k^T A_k singular: the update falls back to the
    # least-squares solve and still reaches the exact rank-1 fit (split over both columns)
    rng = np.random.default_rng(0)
    vectors = [rng.standard_normal(n) for n in (4, 5, 6)]
    x = np.einsum("i,j,k->ijk", *vectors)
    twice = [np.stack([v / np.linalg.norm(v)] * 2, axis=1) for v in vectors]
    cp = cp_als(x, 2, init=CPTensor(np.ones(2), twice), n_iter_max=3, tol=0)
    assert cp.info["rel_error"] < 1e-12
    assert np.linalg.norm(cp.full() - x) < 1e-12 * np.linalg.norm(x)


def test_quantize_accepts_16_bits_and_refuses_17_by_name():
    x = np.random.default_rng(5).standard_normal((3, 4, 5))
    assert (
        cp_als(x, 2, quantize=16, n_iter_max=2, random_state=0).info["quantization"]["bits"] == 16
    )
    with pytest.raises(ValueError, match="quantize=17 must be <= 16"):
        cp_als(x, 2, quantize=17)


def test_quantizing_an_all_zero_factor_gives_zeros_on_the_unit_grid():
    # the documented scale of an all-zero array is 1 (not 0 / q, which would divide by zero)
    codes, scale = _quantize_symmetric(np.zeros((3, 2)), 8)
    assert scale == 1.0
    np.testing.assert_array_equal(codes, np.zeros((3, 2)))


def test_update_drops_a_direction_of_the_normal_equations_at_round_off_level():
    # V = (A_1^T A_1) * (A_2^T A_2) has eigenvalues 2 and 1e-14: at (R + sum_k I_k) ulps of
    # the largest, 1e-14 is round-off, and the least-squares update ignores that direction
    # (inverting it would give weights ~1e14)
    rng = np.random.default_rng(0)
    n = 60
    q1, _ = np.linalg.qr(rng.standard_normal((n, 2)))
    angle = np.sqrt(2e-14)  # cos(angle) = 1 - 1e-14
    a1 = np.stack([q1[:, 0], np.cos(angle) * q1[:, 0] + np.sin(angle) * q1[:, 1]], axis=1)
    u2 = np.linalg.qr(rng.standard_normal((n, 1)))[0][:, 0]
    a2 = np.stack([u2, u2], axis=1)
    state = _ALSState([rng.standard_normal((n, 2)), a1, a2])
    m = rng.standard_normal((n, 2))
    state.update(0, m)
    assert np.max(np.abs(state.weights)) <= np.linalg.norm(m)


def test_round_off_cutoff_of_an_update_counts_the_other_modes_sizes():
    """The pinv cutoff uses the summed size of the modes forming V, not the updated mode's."""
    # V has eigenvalues 2 and 1e-14; with sum_{k != 0} I_k = 120 the cutoff (2 + 120) ulps of 2
    # drops 1e-14, while the updated mode's own size (3) would keep it (weights ~1e14)
    rng = np.random.default_rng(1)
    n = 60
    q1, _ = np.linalg.qr(rng.standard_normal((n, 2)))
    angle = np.sqrt(2e-14)
    a1 = np.stack([q1[:, 0], np.cos(angle) * q1[:, 0] + np.sin(angle) * q1[:, 1]], axis=1)
    u2 = np.linalg.qr(rng.standard_normal((n, 1)))[0][:, 0]
    state = _ALSState([rng.standard_normal((3, 2)), a1, np.stack([u2, u2], axis=1)])
    m = rng.standard_normal((3, 2))
    state.update(0, m)
    assert np.max(np.abs(state.weights)) <= np.linalg.norm(m)


def test_normalizing_a_zero_column_keeps_it_zero_with_weight_zero():
    """_normalize_columns leaves an all-zero column at zero (no 0/0) and gives it weight 0."""
    from tensornet.decompositions.cp import _normalize_columns

    a = np.array([[3.0, 0.0], [4.0, 0.0]])
    unit, norms = _normalize_columns(a)
    np.testing.assert_array_equal(unit, [[0.6, 0.0], [0.8, 0.0]])
    np.testing.assert_array_equal(norms, [5.0, 0.0])


def test_congruence_of_a_zero_weight_component_is_zero():
    """A component with weight 0 has sign 0, so its congruence with the others is 0 (not inf)."""
    from tensornet.decompositions.cp import _degeneracy

    f = [np.array([[1.0, -0.6], [0.0, 0.8]]) for _ in range(3)]  # cosines -0.6 in every mode
    ratio, congruence = _degeneracy(CPTensor(np.array([2.0, 0.0]), f), 1.0)
    assert ratio == 2.0
    assert congruence == 0.0
    _, negative = _degeneracy(CPTensor(np.array([2.0, 1.0]), f), 1.0)
    np.testing.assert_allclose(negative, -(0.6**3))
