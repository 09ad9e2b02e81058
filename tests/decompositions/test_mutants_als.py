"""Mutation-found gaps of ``tensornet.decompositions.als``: the thresholds are strict."""

import pytest

from tensornet.decompositions.als import als, relative_error


def _never() -> float:
    raise AssertionError("exact() called at the threshold, which is not below it")


@pytest.mark.parametrize("below", [0.5, 0.25])
def test_relative_error_keeps_the_cheap_formula_exactly_at_the_threshold(below):
    # err == below and residual_sq == below^2 scale_sq: neither is *below* the threshold
    assert relative_error(below * below, 1.0, _never, below=below) == below
    # just under it, the dense residual is asked for
    assert relative_error(0.99 * below * below, 1.0, lambda: -1.0, below=below) == -1.0


def test_keep_best_returns_the_last_sweep_when_the_history_never_increases():
    # keep_best only guards against an increase: on a non-increasing history (ties included)
    # it returns the same state as the plain run, the last sweep
    errors = [0.5, 0.3, 0.3]

    def sweep(i):
        return i + 1, errors[i]

    for keep_best in (False, True):
        run = als(lambda _: 0, sweep, n_iter_max=3, tol=0.0, keep_best=keep_best)
        assert run.state == 3 and run.rel_error == 0.3
