"""Mutation-found gaps of ``tensornet.algebra.kernels``: MTTKRP's two-sided path."""

import numpy as np
import pytest

from tensornet.algebra.kernels import mttkrp, mttkrp_reference, stp_plan


@pytest.mark.parametrize("mode", [0, 1, 2])
def test_mttkrp_keeps_float32_and_equals_the_unfolding_product_when_rank_exceeds_i0(mode):
    # I_0 = 2 < R = 3 sends modes >= 1 to the two-sided contraction; the last mode has no
    # right-hand factors there (its Khatri-Rao block is a row of ones)
    rng = np.random.default_rng(mode)
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    factors = [rng.standard_normal((n, 3)).astype(np.float32) for n in x.shape]
    out = mttkrp(x, factors, mode)
    assert out.dtype == np.float32
    ref = mttkrp_reference(x.astype(np.float64), [f.astype(np.float64) for f in factors], mode)
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(("x", "shown"), [("abc", "'abc'"), (b"ab", "b'ab'"), (None, "None")])
def test_mttkrp_names_a_string_or_none_x_by_its_value_not_by_a_dtype(x, shown):
    factors = [np.ones((2, 1)), np.ones((3, 1))]
    with pytest.raises(TypeError, match=f"x must be a real numeric array, got {shown}$"):
        mttkrp(x, factors, 0)


@pytest.mark.parametrize(("n", "p"), [(4, 6), (6, 4), (3, 3), (12, 8)])
def test_stp_plan_returns_whole_numbers_as_documented(n, p):
    """stp_plan gives ints a = t/n, b = t/p, c = t/(ab) = gcd(n, p) (c is a loop length)."""
    a, b, c, v_of = stp_plan(n, p)
    t = np.lcm(n, p)
    assert (a, b, c) == (t // n, t // p, np.gcd(n, p))
    assert all(type(k) is int for k in (a, b, c))
    assert v_of.shape == (a, b)


def test_mttkrp_without_check_finite_passes_nan_through_instead_of_raising():
    """check_finite=False skips the scan: NaN input gives a NaN result, no error."""
    x = np.ones((2, 3, 4))
    x[1, 2, 3] = np.nan
    factors = [np.ones((2, 2)), np.ones((3, 2)), np.ones((4, 2))]
    out = mttkrp(x, factors, 1, check_finite=False)
    assert out.shape == (3, 2)
    assert np.isnan(out[2]).all() and np.all(out[:2] == 8.0)
    with pytest.raises(ValueError, match="NaN"):
        mttkrp(x, factors, 1)
