"""The Gram kernel (tensornet/algebra/gram.py) against the definition and against BLAS."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tensornet.algebra import gram
from tensornet.algebra.gram import NUMBA_MAX_ROWS, gram_numba
from tensornet.testing import random_array, seeds

# rows around the 2 x 4 tile edges; columns around the 1024-column cache block
rows = st.integers(1, 13)
cols = st.sampled_from([1, 3, 17, 1023, 1024, 1025, 2500])


@given(rows, cols, seeds())
def test_gram_numba_equals_blas(m, n, seed):
    x = random_array((m, n), seed)
    expected = x @ x.T
    for threads in (1, 2, 3):
        got = gram_numba(x, n_threads=threads)
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12 * n)
        assert np.array_equal(got, got.T)


@given(st.integers(1, 6), st.integers(1, 40), seeds())
def test_gram_matches_elementwise_definition(m, n, seed):
    x = random_array((m, n), seed)
    got = gram_numba(x, n_threads=1)
    for a in range(m):
        for b in range(m):
            exact = math.fsum(float(x[a, j]) * float(x[b, j]) for j in range(n))
            assert got[a, b] == pytest.approx(exact, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("m", [5, NUMBA_MAX_ROWS, NUMBA_MAX_ROWS + 1])
def test_gram_dispatch_both_paths_agree_with_blas(m):
    x = random_array((m, 5000), 3)
    got = gram(x)
    np.testing.assert_allclose(got, x @ x.T, rtol=1e-12, atol=1e-9)
    assert np.all(np.linalg.eigvalsh(got) > -1e-9 * np.trace(got))


def test_gram_accepts_strided_and_integer_input():
    x = random_array((6, 9000), 4)
    np.testing.assert_allclose(gram(x[:, ::2]), x[:, ::2] @ x[:, ::2].T, rtol=1e-12)
    k = np.arange(12).reshape(3, 4)
    np.testing.assert_array_equal(gram(k), (k @ k.T).astype(float))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_shows_on_the_diagonal_and_is_refused(bad):
    x = random_array((8, 6000), 5)
    x[3, 4444] = bad
    assert not np.isfinite(gram_numba(x)[3, 3])
    with pytest.raises(ValueError, match="NaN|Inf|inf"):
        gram(x, check_finite=True)


def test_gram_bad_input():
    with pytest.raises(ValueError, match="2-D"):
        gram(np.zeros((2, 3, 4)))
    with pytest.raises(TypeError, match="dtype"):
        gram(np.zeros((2, 3), dtype=complex))
    with pytest.raises(ValueError, match="n_threads"):
        gram_numba(np.zeros((2, 3)), n_threads=0)
