"""Initializers of tensornet/nn/init.py: fans, target variances, bounds, seeding."""

import math

import numpy as np
import pytest

from tensornet.nn import init


def test_fans_follow_the_documented_layouts():
    assert init.compute_fans((784, 300)) == (784, 300)
    assert init.compute_fans((16, 6, 5, 5)) == (150, 400)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        init.compute_fans((5,))


@pytest.mark.parametrize(
    "fn,var",
    [
        (init.he_normal, 2 / 400),
        (init.he_uniform, 2 / 400),
        (init.glorot_normal, 2 / (400 + 300)),
        (init.glorot_uniform, 2 / (400 + 300)),
    ],
)
def test_initializers_hit_their_target_variance(fn, var):
    w = fn((400, 300), random_state=0)
    assert w.dtype == np.float32
    assert abs(w.mean()) < 3 * math.sqrt(var / w.size) + 1e-6
    assert abs(w.var() / var - 1) < 0.02  # 120,000 samples: relative sd of the variance < 0.5%


def test_uniform_initializers_respect_their_bounds():
    w = init.he_uniform((50, 40), random_state=1)
    assert np.abs(w).max() <= math.sqrt(6 / 50)
    w = init.glorot_uniform((50, 40), random_state=1)
    assert np.abs(w).max() <= math.sqrt(6 / 90)
    assert np.abs(init.uniform((10,), 0.3, random_state=2)).max() <= 0.3


def test_same_seed_same_weights():
    a = init.he_normal((6, 3, 3, 3), random_state=5)
    b = init.he_normal((6, 3, 3, 3), random_state=5)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, init.he_normal((6, 3, 3, 3), random_state=6))
