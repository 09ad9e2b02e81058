"""Mutation-found gaps of ``tensornet.decompositions.als``: the thresholds are strict."""

import pytest

from tensornet.decompositions.als import relative_error


def _never() -> float:
    raise AssertionError("exact() called at the threshold, which is not below it")


@pytest.mark.parametrize("below", [0.5, 0.25])
def test_relative_error_keeps_the_cheap_formula_exactly_at_the_threshold(below):
    # err == below and residual_sq == below^2 scale_sq: neither is *below* the threshold
    assert relative_error(below * below, 1.0, _never, below=below) == below
    # just under it, the dense residual is asked for
    assert relative_error(0.99 * below * below, 1.0, lambda: -1.0, below=below) == -1.0
