"""Hypothesis strategies shared by the test suite (small shapes, well-conditioned data)."""

import numpy as np
from hypothesis import strategies as st


def shapes(min_dims=1, max_dims=4, min_side=1, max_side=5):
    """Tensor shapes with ``min_dims..max_dims`` modes of size ``min_side..max_side``."""
    return st.lists(st.integers(min_side, max_side), min_size=min_dims, max_size=max_dims).map(
        tuple
    )


def seeds():
    """Seeds for numpy Generators (data is drawn from a seeded generator, not element-wise)."""
    return st.integers(0, 2**32 - 1)


def random_array(shape, seed, dtype=np.float64):
    """Standard normal array of ``shape`` from ``seed``."""
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)
