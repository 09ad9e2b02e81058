"""Kernels equal their references (tensornet/algebra/kernels.py): MTTKRP and STP."""

from math import lcm

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tensornet.algebra import khatri_rao, mttkrp, stp, unfold
from tensornet.algebra.kernels import (
    mttkrp_blas,
    mttkrp_reference,
    stp_numba,
    stp_plan,
    stp_reference,
)
from tensornet.testing import random_array, seeds, shapes


def cp_factors(shape, rank, seed):
    return [random_array((n, rank), seed + k) for k, n in enumerate(shape)]


@given(shapes(min_dims=2, max_dims=4), st.integers(1, 4), st.data(), seeds())
def test_mttkrp_kernels_equal_reference(shape, rank, data, seed):
    x = random_array(shape, seed)
    factors = cp_factors(shape, rank, seed + 7)
    mode = data.draw(st.integers(0, len(shape) - 1))
    expected = unfold(x, mode) @ khatri_rao(factors, skip=mode)
    for impl in (mttkrp_reference, mttkrp_blas, mttkrp):
        got = impl(x, factors, mode)
        assert got.shape == (shape[mode], rank)
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)


@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4), st.integers(1, 3), seeds())
def test_mttkrp_matches_elementwise_definition(i, j, k, rank, seed):
    x = random_array((i, j, k), seed)
    a, b, c = cp_factors((i, j, k), rank, seed + 1)
    m1 = np.zeros((j, rank))
    for p in range(i):
        for q in range(j):
            for s in range(k):
                m1[q] += x[p, q, s] * a[p] * c[s]
    np.testing.assert_allclose(mttkrp(x, [a, b, c], 1), m1, rtol=1e-10, atol=1e-10)


@given(shapes(min_dims=2, max_dims=4), st.integers(1, 3), st.data(), seeds())
def test_mttkrp_of_cp_tensor_is_factor_times_hadamard_of_grams(shape, rank, data, seed):
    # X = [[A_0, ..., A_{d-1}]]  =>  X_(n) KR_{k!=n} = A_n (*)_{k!=n} A_k^T A_k
    factors = cp_factors(shape, rank, seed)
    x = khatri_rao(factors).sum(axis=1).reshape(shape)
    mode = data.draw(st.integers(0, len(shape) - 1))
    gram = np.ones((rank, rank))
    for k, f in enumerate(factors):
        if k != mode:
            gram *= f.T @ f
    np.testing.assert_allclose(mttkrp(x, factors, mode), factors[mode] @ gram, rtol=1e-9, atol=1e-9)


def test_mttkrp_uses_fast_path_when_first_mode_is_smaller_than_rank():
    # I_0 < R takes the two-sided partial contraction
    x = random_array((2, 3, 4, 5), 0)
    factors = cp_factors(x.shape, 6, 1)
    for mode in range(4):
        np.testing.assert_allclose(
            mttkrp_blas(x, factors, mode), mttkrp_reference(x, factors, mode), rtol=1e-12
        )


def test_mttkrp_ignores_the_factor_of_its_mode():
    x = random_array((3, 4, 5), 0)
    factors = cp_factors(x.shape, 2, 1)
    expected = mttkrp_reference(x, factors, 1)
    np.testing.assert_allclose(mttkrp(x, [factors[0], None, factors[2]], 1), expected)
    np.testing.assert_allclose(mttkrp(x, [factors[0], np.ones((9, 9)), factors[2]], -2), expected)


def test_mttkrp_keeps_float32_and_converts_integers():
    x = random_array((3, 4, 5), 0, np.float32)
    factors = [f.astype(np.float32) for f in cp_factors(x.shape, 2, 1)]
    assert mttkrp(x, factors, 2).dtype == np.float32
    xi = np.arange(60).reshape(3, 4, 5)
    fi = [np.ones((n, 2), dtype=int) for n in xi.shape]
    out = mttkrp(xi, fi, 0)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out[:, 0], xi.sum(axis=(1, 2)))


@pytest.mark.parametrize("where", ["x", "factor"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("mode", [0, 1, 2])
def test_mttkrp_refuses_non_finite_input(where, bad, mode):
    x = random_array((3, 4, 5), 0)
    factors = cp_factors(x.shape, 2, 1)
    if where == "x":
        x[1, 2, 3] = bad
        match = "x must be finite"
    else:
        k = (mode + 1) % 3
        factors[k][0, 1] = bad
        match = rf"factors\[{k}\] must be finite"
    with pytest.raises(ValueError, match=match):
        mttkrp(x, factors, mode)


def test_mttkrp_refuses_nan_even_next_to_zero_factors():
    x = np.zeros((2, 3, 4))
    x[0, 0, 0] = np.nan
    factors = [np.zeros((n, 2)) for n in x.shape]
    with pytest.raises(ValueError, match="x must be finite"):
        mttkrp(x, factors, 1)


@pytest.mark.parametrize(
    ("x", "factors", "mode", "error", "match"),
    [
        (np.ones(4), [np.ones((4, 2))], 0, ValueError, "x must have ndim >= 2"),
        (np.ones((2, 3)), [np.ones((2, 2))], 0, ValueError, "one matrix per mode"),
        (np.ones((2, 3)), np.ones((2, 2, 2)), 0, ValueError, "one matrix per mode"),
        (
            np.ones((2, 3)),
            [np.ones((2, 2)), np.ones((4, 2))],
            0,
            ValueError,
            r"factors\[1\] must have shape \(3, R\)",
        ),
        (
            np.ones((2, 3)),
            [np.ones((2, 2)), np.ones(3)],
            0,
            ValueError,
            r"factors\[1\] must have shape",
        ),
        (
            np.ones((2, 3, 4)),
            [None, np.ones((3, 2)), np.ones((4, 3))],
            0,
            ValueError,
            r"factors\[2\] has 3 columns but factors\[1\] has 2",
        ),
        (np.ones((2, 3)), [np.ones((2, 0)), np.ones((3, 0))], 0, ValueError, "R must be >= 1"),
        (np.ones((2, 3)), [np.ones((2, 2)), np.ones((3, 2))], 2, ValueError, "mode=2"),
        (np.ones((2, 3)), [np.ones((2, 2)), np.ones((3, 2))], 1.5, TypeError, "mode"),
        (np.ones((2, 0)), [np.ones((2, 2)), np.ones((0, 2))], 0, ValueError, "not be empty"),
        ("abc", [np.ones((2, 2))], 0, TypeError, "x must be a real numeric array"),
        (np.ones((2, 3)) * 1j, [np.ones((2, 2))] * 2, 0, TypeError, "x must be real"),
        (
            np.ones((2, 3)),
            [np.ones((2, 2)), np.full((3, 2), "a")],
            0,
            TypeError,
            r"factors\[1\] must be a real numeric array",
        ),
    ],
)
def test_mttkrp_rejects_bad_input(x, factors, mode, error, match):
    with pytest.raises(error, match=match):
        mttkrp(x, factors, mode)


def test_mttkrp_checks_shapes_without_check_finite():
    with pytest.raises(ValueError, match="one matrix per mode"):
        mttkrp(np.ones((2, 3)), [np.ones((2, 2))], 0, check_finite=False)


# --------------------------------------------------------------------------- STP
@given(st.integers(1, 6), st.integers(1, 8), st.integers(1, 8), st.integers(1, 6), seeds())
def test_stp_kernels_equal_kron_definition(m, n, p, q, seed):
    x = random_array((m, n), seed)
    w = random_array((p, q), seed + 1)
    t = lcm(n, p)
    expected = np.kron(x, np.eye(t // n)) @ np.kron(w, np.eye(t // p))
    for impl in (stp_reference, stp_numba, stp):
        np.testing.assert_allclose(impl(x, w), expected, rtol=1e-12, atol=1e-12)


def test_stp_large_general_case_takes_batched_path_and_matches_reference():
    x = random_array((20, 30), 0)
    w = random_array((45, 20), 1)  # t = 90, a = 3, b = 2: m q t = 36000 > Numba threshold
    np.testing.assert_allclose(stp(x, w), stp_reference(x, w), rtol=1e-12, atol=1e-12)


@given(st.integers(1, 30), st.integers(1, 30))
def test_stp_plan_is_a_bijection_onto_output_phases(n, p):
    a, b, c, v_of = stp_plan(n, p)
    t = lcm(n, p)
    assert (a, b) == (t // n, t // p) and a * b * c == t
    v = np.arange(a * b)
    assert np.array_equal(np.sort(v_of.ravel()), v)
    assert np.array_equal(v_of[v % a, v % b], v)


def test_stp_kernels_treat_vectors_as_row_and_column():
    x = np.arange(6.0)
    w = np.array([1.0, 2.0])
    expected = np.array([[6.0, 9.0, 12.0]])
    for impl in (stp_reference, stp_numba, stp):
        np.testing.assert_allclose(impl(x, w), expected)
