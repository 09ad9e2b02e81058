"""Mutation-found gaps of ``tensornet.algebra.truncation``: the Gram step's round-off margin."""

import numpy as np
import pytest

from tensornet.algebra.truncation import (
    EIGENVALUE_ERROR,
    EIGENVALUE_MARGIN,
    leading_subspace,
    uses_gram_path,
)


def _matrix(s, n, seed):
    """``U diag(s) V^T`` with random orthonormal ``U`` (m x m) and ``V`` (n x m)."""
    rng = np.random.default_rng(seed)
    u = np.linalg.qr(rng.standard_normal((s.size, s.size)))[0]
    v = np.linalg.qr(rng.standard_normal((n, s.size)))[0]
    return (u * s) @ v.T


@pytest.mark.parametrize("seed", [0, 1])
def test_gram_step_error_stays_within_delta_when_the_last_value_is_just_above_it(seed):
    # delta sits just below the smallest singular value, closer than the eigenvalues' error
    # margin m * lam_err: the budget must shrink by the margin (keep the value), never grow
    m, n = 8, 8200
    s = np.array([1.0, 0.7, 0.5, 0.3, 0.2, 0.1, 0.05, 1e-4])
    c = _matrix(s, n, seed)
    assert uses_gram_path(c.shape)
    lam_err = EIGENVALUE_ERROR * m * np.finfo(float).eps * np.sum(s**2)
    delta = s[-1] * (1 - 1e-6)
    assert s[-1] ** 2 - delta**2 < m * lam_err  # inside the margin
    assert delta**2 >= EIGENVALUE_MARGIN * m * lam_err  # the eigenvalues choose the rank
    sub = leading_subspace(c, delta=delta)
    assert np.linalg.norm(c - sub.u @ sub.b) <= delta


@pytest.mark.parametrize(
    ("shape", "expected"),
    [
        ((64, 128), True),  # GRAM_MIN_ROWS rows, exactly twice as wide
        ((64, 127), False),
        ((63, 126), False),  # too few rows, too small for the wide rule
        ((129, 516), True),  # large and exactly WIDE_RATIO times as wide
        ((32, 2049), True),  # large, fewer than GRAM_MIN_ROWS rows, wider than WIDE_RATIO
        ((32, 2048), False),  # 65536 elements: not above SMALL_SIZE
    ],
)
def test_uses_gram_path_holds_exactly_on_the_documented_boundaries(shape, expected):
    assert uses_gram_path(shape) is expected
