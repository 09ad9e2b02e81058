"""Deterministic finite-difference gradient checks in float64 (shared by the nn tests)."""

import numpy as np

from tensornet.nn import value_and_grad


def assert_grad_matches_fd(fun, params, *args, seed=0, h=1e-6, rtol=1e-6, n_dirs=2):
    """Check ``<grad f(p), v> == (f(p + h v) - f(p - h v)) / 2h`` for seeded random ``v``.

    ``params`` is a dict of float64 arrays; ``fun(params, *args)`` returns a scalar.
    """
    rng = np.random.default_rng(seed)
    _, grads = value_and_grad(fun)(params, *args)
    assert set(grads) == set(params)
    for _ in range(n_dirs):
        v = {k: rng.standard_normal(p.shape) for k, p in params.items()}
        exact = sum(float(np.vdot(grads[k], v[k])) for k in params)
        plus = {k: p + h * v[k] for k, p in params.items()}
        minus = {k: p - h * v[k] for k, p in params.items()}
        numeric = (float(fun(plus, *args)) - float(fun(minus, *args))) / (2 * h)
        scale = max(abs(exact), abs(numeric), 1e-3)
        assert abs(exact - numeric) <= rtol * scale + 1e-8, (exact, numeric)


def random_weights(shape, seed=0):
    """Standard normal float64 array."""
    return np.random.default_rng(seed).standard_normal(shape)
