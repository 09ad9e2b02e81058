"""The shared argument checks (tensornet/_validation.py): accepted values and error messages."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tensornet._validation import (
    check_array,
    check_axis,
    check_eps,
    check_index_batch,
    check_int,
    check_option,
    check_random_state,
    check_rank,
    check_rank_spec,
    check_ranks,
    check_real,
    check_shape,
    exact_size,
    lower_caps,
    power_of_two_scale,
)
from tensornet.testing import random_array, seeds


# --------------------------------------------------------------------------- check_array
def test_check_array_converts_integers_and_keeps_float32():
    assert check_array([[1, 2]], "x").dtype == np.float64
    assert check_array(np.ones(3, np.float32), "x").dtype == np.float32
    assert check_array(np.array([True]), "x").dtype == np.float64
    assert check_array(np.ones(3), "x", dtype=np.float32).dtype == np.float32


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_check_array_refuses_non_finite_and_counts_them(bad):
    x = np.ones((2, 3))
    x[0, 1] = bad
    x[1, 2] = bad
    with pytest.raises(ValueError, match=r"weights must be finite, but it holds 2 NaN or Inf"):
        check_array(x, "weights")


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ("abc", "x must be a real numeric array"),
        (None, "x must be a real numeric array"),
        (np.array([1 + 2j]), "x must be real, got complex"),
        (np.array([object()]), "x must be a real numeric array, got dtype object"),
    ],
)
def test_check_array_refuses_non_numeric(value, match):
    with pytest.raises(TypeError, match=match):
        check_array(value, "x")


def test_check_array_checks_dimensions_and_emptiness():
    with pytest.raises(ValueError, match=r"x must have ndim=2, got ndim=1 \(shape \(3,\)\)"):
        check_array(np.ones(3), "x", ndim=2)
    with pytest.raises(ValueError, match="x must have ndim >= 3, got ndim=2"):
        check_array(np.ones((2, 2)), "x", min_ndim=3)
    with pytest.raises(ValueError, match=r"x must not be empty, got shape \(0, 2\)"):
        check_array(np.ones((0, 2)), "x")
    assert check_array(np.ones((0, 2)), "x", allow_empty=True).shape == (0, 2)


@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=8))
def test_check_array_returns_finite_input_unchanged(values):
    np.testing.assert_array_equal(check_array(values, "x"), np.array(values))


# --------------------------------------------------------------------------- integers and ranks
def test_check_int_accepts_integral_values():
    assert check_int(3, "n") == 3
    assert check_int(np.int64(4), "n") == 4
    assert check_int(5.0, "n") == 5


@pytest.mark.parametrize("value", [True, np.bool_(False), 2.5, "3", None, [1]])
def test_check_int_refuses_non_integers(value):
    with pytest.raises(TypeError, match="n must be an integer"):
        check_int(value, "n")


def test_check_int_bounds_name_value_and_constraint():
    with pytest.raises(ValueError, match="n=0 must be >= 1"):
        check_int(0, "n", minimum=1)
    with pytest.raises(ValueError, match="n=9 must be <= 8"):
        check_int(9, "n", maximum=8)


def test_check_rank_refuses_zero_negative_and_fractional_ranks():
    with pytest.raises(ValueError, match="rank=0 must be >= 1"):
        check_rank(0)
    with pytest.raises(ValueError, match="rank=-2 must be >= 1"):
        check_rank(-2)
    with pytest.raises(TypeError, match="rank must be an integer, got 2.5"):
        check_rank(2.5)
    with pytest.raises(ValueError, match="rank=9 must be <= 8"):
        check_rank(9, maximum=8)


def test_check_ranks_broadcasts_int_and_validates_sequences():
    assert check_ranks(3, 4) == (3, 3, 3, 3)
    assert check_ranks([1, 2, 3], 3) == (1, 2, 3)
    assert check_ranks(np.array([2, 2]), 2) == (2, 2)
    with pytest.raises(ValueError, match=r"ranks must have length 3, got length 2: \[1, 2\]"):
        check_ranks([1, 2], 3)
    with pytest.raises(ValueError, match=r"ranks\[1\]=0 must be >= 1"):
        check_ranks([1, 0, 2], 3)
    with pytest.raises(TypeError, match=r"ranks\[2\] must be an integer"):
        check_ranks([1, 2, 2.5], 3)
    with pytest.raises(TypeError, match="ranks must be a sequence of 2 integers"):
        check_ranks(3, 2, allow_int=False)
    with pytest.raises(TypeError, match="ranks must be an int or a sequence of ints"):
        check_ranks("ab", 2)
    with pytest.raises(TypeError, match="tt_ranks must be an int or a sequence"):
        check_ranks({1, 2}, 2, name="tt_ranks")


def test_check_shape_and_axis():
    assert check_shape([2, 3]) == (2, 3)
    assert check_shape(4) == (4,)
    with pytest.raises(ValueError, match=r"shape\[1\]=0 must be >= 1"):
        check_shape((2, 0))
    with pytest.raises(TypeError, match="shape must be a sequence of ints"):
        check_shape("23")
    assert check_axis(-1, 3) == 2
    with pytest.raises(ValueError, match="mode=3 is out of range for a tensor with ndim=3"):
        check_axis(3, 3)
    with pytest.raises(ValueError, match="axis=-4 is out of range"):
        check_axis(-4, 3, "axis")


def test_check_eps_and_option():
    assert check_eps(None) is None
    assert check_eps(0.1) == 0.1
    with pytest.raises(TypeError, match="eps must be a float, got None"):
        check_eps(None, allow_none=False)
    with pytest.raises(ValueError, match=r"eps=1.5 must lie in \[0, 1\)"):
        check_eps(1.5)
    with pytest.raises(ValueError, match=r"eps=nan must lie in \[0, 1\)"):
        check_eps(float("nan"))
    with pytest.raises(TypeError, match="eps must be a real number"):
        check_eps("0.1")
    assert check_option("svd", "init", ["svd", "random"]) == "svd"
    with pytest.raises(ValueError, match="init='qr' is not one of 'svd', 'random'"):
        check_option("qr", "init", ["svd", "random"])


# --------------------------------------------------------------------------- random_state
@given(st.integers(0, 2**32 - 1))
def test_same_seed_gives_same_stream(seed):
    a = check_random_state(seed).standard_normal(4)
    b = check_random_state(seed).standard_normal(4)
    np.testing.assert_array_equal(a, b)


def test_check_random_state_passes_generators_through_and_accepts_none():
    rng = np.random.default_rng(0)
    assert check_random_state(rng) is rng
    assert isinstance(check_random_state(None), np.random.Generator)
    assert isinstance(check_random_state(np.int64(3)), np.random.Generator)


@pytest.mark.parametrize("bad", [np.random.RandomState(0), 1.5, "0", True, [1]])
def test_check_random_state_refuses_other_types(bad):
    with pytest.raises(TypeError, match="random_state must be None, an int or a numpy"):
        check_random_state(bad)


def test_check_random_state_refuses_negative_seed():
    with pytest.raises(ValueError, match="random_state=-1 must be a non-negative integer"):
        check_random_state(-1)


# ------------------------------------------------------------------ issue 17 mechanisms
@given(st.integers(-1000, 1000), seeds())
def test_power_of_two_scale_times_scale_is_the_input_bit_for_bit(k, seed):
    x = random_array((3, 4), seed) * 2.0**k
    scaled, scale = power_of_two_scale(x)
    assert np.array_equal(scaled * scale, x)
    if abs(k) > 40:
        assert 0.5 <= np.max(np.abs(scaled)) < 1.0


def test_power_of_two_scale_passes_through_what_it_cannot_scale():
    for bad in ["x", None, np.array([np.nan, 1e300]), np.zeros(3), np.array([], float)]:
        out, scale = power_of_two_scale(bad)
        assert out is bad and scale == 1.0


def test_exact_size_never_wraps():
    assert exact_size((2**32, 2**32, 4)) == 2**66
    assert exact_size(()) == 1


def test_lower_caps_lowers_to_the_bounds_and_passes_none():
    assert lower_caps((10**9, 2, 5), (4, 4, 4)) == (4, 2, 4)
    assert lower_caps(None, (4,)) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [(np.float32(1e-6), float(np.float32(1e-6))), (np.array(0.5), 0.5), (3, 3.0)],
)
def test_check_real_accepts_numpy_scalars(value, expected):
    assert check_real(value, "tol", minimum=0.0) == expected


@pytest.mark.parametrize(
    ("value", "exc", "match"),
    [
        ("a", TypeError, "tol must be a real number, got 'a'"),
        (True, TypeError, "tol must be a real number"),
        (np.ones(2), TypeError, "tol must be a real number"),
        (float("nan"), ValueError, "tol=nan must be a finite number"),
        (-1.0, ValueError, r"tol=-1.0 must be >= 0"),
    ],
)
def test_check_real_refuses_with_the_argument_name(value, exc, match):
    with pytest.raises(exc, match=match):
        check_real(value, "tol", minimum=0.0)


def test_check_rank_spec_normalizes_single_ranks():
    assert check_rank_spec(np.array(3)) == 3
    assert check_rank_spec(np.int64(3)) == 3
    assert check_rank_spec(3.0) == 3
    assert check_rank_spec([1, 2]) == [1, 2]
    assert check_rank_spec(None) is None
    with pytest.raises(TypeError, match="ranks must be an integer, got 2.5"):
        check_rank_spec(2.5)


@pytest.mark.parametrize("dtype", [np.uint64, np.uint32, np.int64, np.int8])
def test_check_index_batch_checks_range_before_any_cast(dtype):
    top = np.iinfo(dtype).max
    with pytest.raises(IndexError, match=rf"index\[0, 0\]={top} is out of range"):
        check_index_batch(np.array([[top, 0]], dtype=dtype), (4, 5))
    np.testing.assert_array_equal(
        check_index_batch(np.array([[3, 4]], dtype=dtype), (4, 5)), [[3, 4]]
    )


@pytest.mark.parametrize("value", [0, 0.0, 1e-8, np.float32(1e-6), np.float64(2.5), 3])
def test_check_tol_accepts_finite_non_negative_reals(value):
    from tensornet._validation import check_tol

    out = check_tol(value)
    assert isinstance(out, float) and out == float(value)


@pytest.mark.parametrize(
    "value, exc, match",
    [
        (-1e-3, ValueError, r"tol=-0.001 must be >= 0"),
        (np.nan, ValueError, r"tol=nan must be a finite number"),
        (np.inf, ValueError, r"tol=inf must be a finite number"),
        ("1e-3", TypeError, r"tol must be a real number, got '1e-3'"),
        (True, TypeError, r"tol must be a real number"),
        (None, TypeError, r"tol must be a real number"),
    ],
)
def test_check_tol_names_the_value_and_constraint(value, exc, match):
    from tensornet._validation import check_tol

    with pytest.raises(exc, match=match):
        check_tol(value)
