"""Mutation-found gaps of ``tensornet.algebra.stp``: every path gives the same product.

The size and shape thresholds of :func:`stp` only choose between the Numba loop, the broadcast
and the gather path; the result, its dtype included, must not depend on that choice.
"""

import numpy as np
import pytest

from tensornet.algebra.kernels import stp_reference
from tensornet.algebra.stp import NUMBA_STP_MAX_WORK, stp, stp_mode_dot

# (x shape, w shape): the Numba loop (t/n, t/p > 1, tiny), the gather path (same, large) and
# the broadcast path (t/n = 1)
PATHS = {
    "numba": ((2, 2), (3, 2)),
    "gather": ((2, 200), (300, 200)),
    "broadcast": ((2, 4), (2, 3)),
}


@pytest.mark.parametrize("path", sorted(PATHS))
@pytest.mark.parametrize(
    ("dtype", "expected"),
    [
        (np.float16, np.float32),
        (np.float32, np.float32),
        (np.float64, np.float64),
        (np.longdouble, np.longdouble),
    ],
)
def test_stp_dtype_and_value_do_not_depend_on_the_path(path, dtype, expected):
    xs, ws = PATHS[path]
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, xs).astype(dtype)
    w = rng.uniform(-1, 1, ws).astype(dtype)
    y = stp(x, w)
    assert y.dtype == expected
    ref = stp_reference(x.astype(np.float64), w.astype(np.float64))
    tol = 1e-2 if dtype == np.float16 else 1e-4 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(y.astype(np.float64), ref, rtol=tol, atol=tol * xs[1])


def test_the_path_examples_reach_their_paths():
    (m, n), (p, q) = PATHS["numba"]
    t = np.lcm(n, p)
    assert t > n and t > p and m * q * t <= NUMBA_STP_MAX_WORK
    (m, n), (p, q) = PATHS["gather"]
    t = np.lcm(n, p)
    assert t > n and t > p and m * q * t > NUMBA_STP_MAX_WORK
    (m, n), (p, q) = PATHS["broadcast"]
    assert np.lcm(n, p) == n != p


def test_a_1d_x_is_one_row_and_a_1d_w_one_column():
    x = np.arange(1.0, 5.0)  # (4,) -> (1, 4): t = 4, a = 1, b = 2
    w = np.arange(1.0, 7.0).reshape(2, 3)
    y = stp(x, w)
    assert y.shape == (1, 6)
    np.testing.assert_allclose(y, stp_reference(x.reshape(1, -1), w))
    v = np.arange(1.0, 3.0)  # (2,) -> (2, 1)
    np.testing.assert_allclose(stp(w.T, v), stp_reference(w.T, v.reshape(-1, 1)))


def test_stp_mode_dot_refuses_a_scalar_x_by_its_ndim():
    with pytest.raises(ValueError, match=r"x must have ndim >= 1, got ndim=0"):
        stp_mode_dot(np.float64(1.0), np.ones((2, 1)), 0)
