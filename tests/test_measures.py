"""Sparsity measures (tensornet/measures.py): hand values, extremes, invariances, gradients."""

import math

import autograd
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tensornet import measures as M
from tests.nn.gradcheck import assert_grad_matches_fd
from tests.strategies import random_array, seeds

SURVEY = np.array([1.0, 2.0, 3.0, 4.0, 10.0])  # the survey's Gini example
CAPPED = min(settings.default.max_examples, 100)  # the profile's count, at most 100


def _rand(shape, seed):
    return random_array(shape, seed)


# ------------------------------------------------------------------------------ hand values
def test_gini_of_the_survey_example_is_0_4():
    assert M.gini_index(SURVEY) == pytest.approx(0.4, abs=1e-15)


def test_gini_of_the_survey_example_is_one_minus_twice_the_lorenz_area():
    frac, share = M.lorenz_curve(SURVEY)
    np.testing.assert_allclose(frac, [0, 0.2, 0.4, 0.6, 0.8, 1.0])
    # shares by hand: 1/20, 3/20, 6/20, 10/20, 20/20
    np.testing.assert_allclose(share, [0, 0.05, 0.15, 0.30, 0.50, 1.0])
    area = 0.2 * sum((share[i] + share[i + 1]) / 2 for i in range(5))  # trapezoids = 0.3
    assert area == pytest.approx(0.3)
    assert M.gini_index(SURVEY) == pytest.approx(1 - 2 * area)


def test_gini_is_order_and_sign_blind():
    assert M.gini_index(np.array([-10.0, 3.0, 1.0, -4.0, 2.0])) == pytest.approx(0.4)


def test_hoyer_hand_value():
    # ||(3, 4)||_1 = 7, ||(3, 4)||_2 = 5, N = 2
    expected = (math.sqrt(2) - 7 / 5) / (math.sqrt(2) - 1)
    assert M.hoyer(np.array([3.0, -4.0])) == pytest.approx(expected)


def test_effective_rank_hand_value_two_sqrt_two():
    # p = (1/4, 1/4, 1/2): H = 1.5 log 2, erank = 2**1.5
    assert M.effective_rank(np.array([1.0, 1.0, 2.0])) == pytest.approx(2**1.5)


def test_lp_sorted_two_level_l0_hand_values():
    assert M.lp_norm(np.array([1.0, 4.0, 0.0]), p=0.5) == pytest.approx(9.0)
    assert M.lp_norm(np.array([1.0, -4.0]), p=1.0) == pytest.approx(5.0)
    # descending (3, 2, 1) against weights (3, 2, 1): 9 + 4 + 1
    assert M.sorted_l1(np.array([1.0, 3.0, 2.0]), weights=[3.0, 2.0, 1.0]) == pytest.approx(14.0)
    # default weights (3, 2, 1) / 3
    assert M.sorted_l1(np.array([1.0, 3.0, 2.0])) == pytest.approx(14.0 / 3)
    # rho on the largest (4), 1 on (2, 1): 2 + 3
    assert M.two_level_l1(np.array([1.0, -4.0, 2.0]), k=1, rho=0.5) == pytest.approx(5.0)
    assert M.two_level_l1(np.array([1.0, -4.0, 2.0]), k=0) == pytest.approx(7.0)
    assert M.l0_norm(np.array([0.0, 3.0, -1e-20, 2.0])) == 2.0
    assert M.l0_norm(np.array([1.0, 0.5, 0.05]), tol=0.1) == 2.0
    assert M.l0_norm(np.zeros(3)) == 0.0


def test_matrix_forms_use_singular_values():
    a = np.array([[3.0, 0.0], [0.0, -4.0], [0.0, 0.0]])  # singular values (4, 3)
    s = np.array([4.0, 3.0])
    np.testing.assert_allclose(M.singular_values(a), s)
    assert M.nuclear_norm(a) == pytest.approx(7.0)
    assert M.l1_norm(a) == pytest.approx(7.0)
    assert M.l0_norm(a) == 2.0
    for f in (M.gini_index, M.hoyer, M.effective_rank, M.sorted_l1):
        assert f(a) == pytest.approx(f(s))


# ------------------------------------------------------------------------------ extremes
@pytest.mark.parametrize("n", [2, 3, 8])
def test_extremes_of_the_ratio_measures(n):
    flat = np.full(n, 2.5)
    one = np.zeros(n)
    one[n // 2] = -7.0
    assert M.gini_index(flat) == pytest.approx(0.0, abs=1e-14)
    assert M.gini_index(one) == pytest.approx(1 - 1 / n)
    assert M.hoyer(flat) == pytest.approx(0.0, abs=1e-14)
    assert M.hoyer(one) == pytest.approx(1.0)
    assert M.effective_rank(flat) == pytest.approx(n)
    assert M.effective_rank(one) == pytest.approx(1.0)


def test_gini_of_one_hot_eight_is_0_875():
    assert M.gini_index(np.eye(8)[3]) == pytest.approx(0.875)


def test_effective_rank_of_matrices_identity_is_n_rank_one_is_one():
    assert M.effective_rank(3.0 * np.eye(5)) == pytest.approx(5.0)
    u, v = _rand((6, 1), 1), _rand((1, 4), 2)
    assert M.effective_rank(u @ v) == pytest.approx(1.0, abs=1e-6)


def test_hoyer_of_a_single_entry_is_one():
    assert M.hoyer(np.array([-2.0])) == 1.0


@given(seed=seeds(), n=st.integers(2, 12))
@settings(max_examples=CAPPED)
def test_ratio_measures_stay_within_their_bounds(seed, n):
    x = _rand(n, seed)
    assert -1e-12 <= M.gini_index(x) <= 1 - 1 / n + 1e-12
    assert -1e-12 <= M.hoyer(x) <= 1 + 1e-12
    assert 1 - 1e-12 <= M.effective_rank(x) <= n + 1e-9


# ------------------------------------------------------------------------------ invariances
@given(seed=seeds(), n=st.integers(2, 10), scale=st.floats(1e-3, 1e3))
@settings(max_examples=CAPPED)
def test_ratio_measures_are_scale_invariant_and_norms_homogeneous(seed, n, scale):
    x = _rand(n, seed)
    for f in (M.gini_index, M.hoyer, M.effective_rank, M.l0_norm):
        assert f(scale * x) == pytest.approx(f(x), rel=1e-9, abs=1e-12)
    for f in (M.l1_norm, M.sorted_l1, lambda v: M.lp_norm(v, 0.5), lambda v: M.two_level_l1(v, 1)):
        assert f(scale * x) == pytest.approx(scale * f(x), rel=1e-9)


@given(seed=seeds())
@settings(max_examples=10)
def test_matrix_measures_are_invariant_under_orthogonal_transforms(seed):
    a = _rand((5, 3), seed)
    q1 = np.linalg.qr(_rand((5, 5), seed + 1))[0]
    q2 = np.linalg.qr(_rand((3, 3), seed + 2))[0]
    b = q1 @ a @ q2
    for f in (M.nuclear_norm, M.gini_index, M.hoyer, M.effective_rank):
        assert f(b) == pytest.approx(f(a), rel=1e-9)


def test_measures_are_permutation_invariant():
    x = np.array([0.3, -2.0, 1.1, 0.0, 5.0])
    y = x[[4, 2, 0, 3, 1]]
    for f in (M.gini_index, M.hoyer, M.effective_rank, M.sorted_l1, M.l1_norm):
        assert f(y) == pytest.approx(f(x))


# ------------------------------------------------------------------------------ gradients
GRAD_MEASURES = {
    "l1": M.l1_norm,
    "lp": lambda x: M.lp_norm(x, 0.5),
    "sorted_l1": M.sorted_l1,
    "two_level_l1": lambda x: M.two_level_l1(x, 2, 0.3),
    "gini": M.gini_index,
    "hoyer": M.hoyer,
    "erank": M.effective_rank,
}


@pytest.mark.parametrize("name", sorted(GRAD_MEASURES))
@pytest.mark.parametrize("shape", [(7,), (5, 4)])
def test_gradient_matches_finite_differences(name, shape):
    f = GRAD_MEASURES[name]
    x = _rand(shape, 3)
    assert_grad_matches_fd(lambda p: f(p["x"]), {"x": x}, h=1e-6, rtol=1e-5)


def test_gini_gradient_matches_its_closed_form():
    x = np.array([0.5, -2.0, 1.5, 3.0])
    c = np.abs(x)
    n, s = len(c), c.sum()
    g = M.gini_index(x)
    rank = np.argsort(np.argsort(c)) + 1  # ascending rank, 1-based
    w = (n - rank + 0.5) / n
    expected = np.sign(x) * (1 - g - 2 * w) / s
    np.testing.assert_allclose(autograd.grad(M.gini_index)(x), expected)


def test_effective_rank_gradient_matches_its_closed_form():
    x = np.array([0.5, -2.0, 1.5, 3.0])
    c = np.abs(x)
    p = c / c.sum()
    h = -np.sum(p * np.log(p))
    expected = -np.sign(x) * np.exp(h) * (np.log(p) + h) / c.sum()
    np.testing.assert_allclose(autograd.grad(M.effective_rank)(x), expected)


def test_singular_values_vjp_is_u_diag_g_vt():
    a = _rand((4, 3), 5)
    u, _, vt = np.linalg.svd(a, full_matrices=False)
    g = np.array([0.3, -1.0, 2.0])
    grad = autograd.grad(lambda m: np.dot(M.singular_values(m), g))(a)
    np.testing.assert_allclose(grad, (u * g) @ vt, atol=1e-12)


def test_no_nan_gradient_at_zeros_and_repeated_singular_values():
    # zeros in a vector: gradient 0 there, finite elsewhere
    for f in GRAD_MEASURES.values():
        g = autograd.grad(f)(np.array([0.0, 1.0, 2.0, 0.0, 3.0]))
        assert np.all(np.isfinite(g))
        assert g[0] == 0 and g[3] == 0
    # a matrix with repeated and vanishing singular values
    a = np.diag([2.0, 2.0, 0.0])
    for f in (M.nuclear_norm, M.gini_index, M.hoyer, M.effective_rank, M.sorted_l1):
        assert np.all(np.isfinite(autograd.grad(f)(a)))
    # the nuclear norm's gradient is U_r V_r^T over the non-zero singular values
    np.testing.assert_allclose(autograd.grad(M.nuclear_norm)(a), np.diag([1.0, 1.0, 0.0]))


def test_effective_rank_is_stationary_at_equal_singular_values():
    q = np.linalg.qr(_rand((4, 4), 9))[0]
    grad = autograd.grad(M.effective_rank)(2.0 * q)
    np.testing.assert_allclose(grad, 0.0, atol=1e-12)


def test_nuclear_norm_gradient_of_an_orthogonal_matrix_is_itself():
    q = np.linalg.qr(_rand((4, 4), 11))[0]
    np.testing.assert_allclose(autograd.grad(M.nuclear_norm)(q), q, atol=1e-12)


def test_lp_norm_of_zero_is_zero_with_zero_gradient():
    assert M.lp_norm(np.zeros(3), 0.5) == 0.0
    np.testing.assert_array_equal(autograd.grad(lambda x: M.lp_norm(x, 0.5))(np.zeros(3)), 0.0)
