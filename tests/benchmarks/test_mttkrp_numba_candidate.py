"""The rejected Numba MTTKRP candidate (benchmarks/mttkrp_numba_candidate.py) equals the
definition, so that ``bench_kernels.py`` times a correct kernel."""

import sys
from pathlib import Path

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from tensornet.algebra import khatri_rao, unfold
from tensornet.testing import random_array, seeds, shapes

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from mttkrp_numba_candidate import mttkrp_numba  # noqa: E402


@given(shapes(min_dims=2, max_dims=4), st.integers(1, 4), st.data(), seeds())
def test_mttkrp_numba_equals_unfolding_times_khatri_rao(shape, rank, data, seed):
    x = random_array(shape, seed)
    factors = [random_array((n, rank), seed + 7 + k) for k, n in enumerate(shape)]
    mode = data.draw(st.integers(0, len(shape) - 1))
    expected = unfold(x, mode) @ khatri_rao(factors, skip=mode)
    got = mttkrp_numba(x, factors, mode)
    assert got.shape == (shape[mode], rank)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)
