"""The shared parts of the factorized layers: mode splitting and the init variance rule."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tensornet.nn.factorized import node_std, rescale_to_variance, suggest_modes, target_variance


@given(st.integers(1, 5000), st.integers(1, 6))
def test_suggest_modes_multiply_to_n(n, d):
    modes = suggest_modes(n, d)
    assert len(modes) == d
    assert math.prod(modes) == n
    assert list(modes) == sorted(modes, reverse=True)


def test_suggest_modes_balances_powers():
    assert suggest_modes(4096, 4) == (8, 8, 8, 8)
    assert suggest_modes(784, 4) == (7, 7, 4, 4)


@pytest.mark.parametrize(("n", "d"), [(0, 2), (4, 0), (2.5, 2)])
def test_suggest_modes_refuses_bad_input(n, d):
    with pytest.raises((ValueError, TypeError)):
        suggest_modes(n, d)


@given(st.floats(1e-6, 10.0), st.integers(1, 4096), st.integers(1, 8))
def test_node_std_solves_the_variance_of_a_contraction(var, bonds, nodes):
    sigma = node_std(var, bonds, nodes)
    assert math.isclose(bonds * sigma ** (2 * nodes), var, rel_tol=1e-9)


def test_tt_matrix_node_std_matches_the_survey_formula():
    # TT cores of rank R, d cores: sigma^2 = (2/N)^(1/d) R^(1/d - 1) (survey Section II-B.2).
    n, d, r = 784, 4, 8
    sigma = node_std(target_variance("he", n, 625), r ** (d - 1), d)
    assert math.isclose(sigma**2, (2 / n) ** (1 / d) * r ** (1 / d - 1), rel_tol=1e-12)


def test_target_variances():
    assert target_variance("he", 100, 10) == 0.02
    assert target_variance("glorot", 100, 300) == 0.005
    assert target_variance("lecun", 50, 1) == 0.02
    with pytest.raises(ValueError, match="init"):
        target_variance("kaiming", 10, 10)


def test_rescale_to_variance_is_exact_for_a_linear_map():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((20, 3)), rng.standard_normal((3, 30))
    a2 = rescale_to_variance(a, a @ b, 0.01)
    assert math.isclose(float(np.mean((a2 @ b) ** 2)), 0.01, rel_tol=1e-12)
