"""The general semi-tensor product above the Numba threshold (``t/n > 1``, ``t/p > 1`` and
``m q t > NUMBA_STP_MAX_WORK``): the batched-gather path equals Cheng's definition
``(X ⊗ I_{t/n})(W ⊗ I_{t/p})``, in particular for ``t/n = 2``."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tensornet.algebra.stp import NUMBA_STP_MAX_WORK, stp


def _definition(x, w):
    t = np.lcm(x.shape[1], w.shape[0])
    return np.kron(x, np.eye(t // x.shape[1])) @ np.kron(w, np.eye(t // w.shape[0]))


#: (n, p) with t/n > 1 and t/p > 1; the first three have t/n = 2
PAIRS = [(6, 4), (10, 4), (3, 2), (4, 6), (6, 9)]


@pytest.mark.parametrize(("n", "p"), PAIRS)
def test_large_general_stp_equals_the_kronecker_identity_definition(n, p):
    t = int(np.lcm(n, p))
    m = q = int(np.ceil(np.sqrt(NUMBA_STP_MAX_WORK / t))) + 1
    assert m * q * t > NUMBA_STP_MAX_WORK and t // n > 1 and t // p > 1
    rng = np.random.default_rng(n * 100 + p)
    x, w = rng.standard_normal((m, n)), rng.standard_normal((p, q))
    y = stp(x, w)
    assert y.shape == (m * t // n, q * t // p)
    np.testing.assert_allclose(y, _definition(x, w), rtol=1e-12, atol=1e-12)


@settings(max_examples=min(settings().max_examples, 10))
@given(
    pair=st.sampled_from([(3, 2), (5, 2), (6, 4), (9, 6), (10, 4)]),
    extra=st.integers(0, 8),
    seed=st.integers(0, 2**16),
)
def test_large_general_stp_with_t_over_n_equal_2_equals_the_definition(pair, extra, seed):
    n, p = pair
    t = int(np.lcm(n, p))
    assert t == 2 * n and t // p > 1
    m = int(np.sqrt(NUMBA_STP_MAX_WORK / t)) + 2 + extra
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal((m, n)), rng.standard_normal((p, m))
    np.testing.assert_allclose(stp(x, w), _definition(x, w), rtol=1e-12, atol=1e-12)
