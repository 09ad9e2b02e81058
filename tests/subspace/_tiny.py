"""Tiny models and data shared by the subspace tests (a few hundred samples at most)."""

import numpy as np

from tensornet import nn


def tiny_data(n=60, n_in=4, n_classes=3, seed=0):
    """Random inputs and labels, float32 and int64."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, n_in)).astype(np.float32)
    return x, rng.integers(0, n_classes, n)


def tiny_model(n_in=4, hidden=5, n_classes=3, seed=0, dtype=np.float32):
    """``Linear - ReLU - Linear``, ``D = 5 n_in + 5 + 5 n_classes + n_classes`` parameters."""
    rng = np.random.default_rng(seed)
    return nn.Sequential(
        ("fc1", nn.Linear(n_in, hidden, random_state=rng, dtype=dtype)),
        ("relu", nn.ReLU()),
        ("fc2", nn.Linear(hidden, n_classes, random_state=rng, dtype=dtype)),
    )


def orthonormal_rows(d, big_d, seed=0):
    """A random ``d x D`` matrix with orthonormal rows."""
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(big_d, d)))
    return np.ascontiguousarray(q.T)
