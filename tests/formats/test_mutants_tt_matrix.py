"""Mutation-found gaps of ``tensornet.formats.tt_matrix``: what ``cores`` may be."""

import numpy as np
import pytest

from tensornet.formats.tt_matrix import TTMatrix


@pytest.mark.parametrize(
    "cores",
    [[], (), np.ones((1, 2, 2, 1)), np.ones((1, 1, 2, 2, 1)), iter([np.ones((1, 2, 2, 1))]), 3],
    ids=["empty-list", "empty-tuple", "one-4d-array", "stacked-array", "iterator", "int"],
)
def test_cores_that_are_not_a_non_empty_sequence_of_arrays_raise_type_error(cores):
    with pytest.raises(TypeError, match="cores must be a non-empty sequence of 4-D arrays"):
        TTMatrix(cores)


def test_ranks_are_one_then_each_cores_last_axis():
    """TTMatrix.ranks is (1, r_1, ..., r_{d-1}, 1), read from each core's last axis."""
    cores = [np.ones((1, 2, 3, 4)), np.ones((4, 3, 2, 5)), np.ones((5, 2, 2, 1))]
    assert TTMatrix(cores).ranks == (1, 4, 5, 1)


@pytest.mark.parametrize("seed", range(6))
def test_the_sweep_cost_estimate_counts_the_multiply_adds_of_the_sweep_that_runs(seed, monkeypatch):
    """_sweep_costs gives the multiply-adds of each sweep's tensordots: the sweep that runs
    (the cheaper) performs exactly its estimate, and the right-to-left cost is the
    left-to-right cost of the reversed chain."""
    from tensornet.formats import tt_matrix

    rng = np.random.default_rng(seed)
    d = int(rng.integers(1, 4))
    ins = tuple(int(n) for n in rng.integers(1, 5, d))
    outs = tuple(int(n) for n in rng.integers(1, 5, d))
    ranks = [1, *(int(r) for r in rng.integers(1, 4, d - 1)), 1]
    cores = [rng.standard_normal((ranks[k], ins[k], outs[k], ranks[k + 1])) for k in range(d)]
    batch = int(rng.integers(1, 4))
    count, tensordot = [], np.tensordot

    def counted(a, b, axes):
        count.append(a.size * b.size / np.prod([a.shape[i] for i in axes[0]]))
        return tensordot(a, b, axes)

    monkeypatch.setattr(np, "tensordot", counted)
    w = TTMatrix(cores)
    for args, x in (
        ((ranks, ins, outs), rng.standard_normal((batch, int(np.prod(ins))))),
        ((ranks, outs, ins), rng.standard_normal((batch, int(np.prod(outs))))),
    ):
        count.clear()
        ltr, rtl = tt_matrix._sweep_costs(*args, batch)
        rev = tt_matrix._sweep_costs(ranks[::-1], args[1][::-1], args[2][::-1], batch)
        assert rtl == rev[0] and ltr == rev[1]
        (w.matmat if args[1] is ins else w.rmatmat)(x)
        assert sum(count) == min(ltr, rtl)


def test_tt_matrix_cores_are_copied_by_default():
    """TTMatrix(cores) copies its cores: editing the input arrays later changes nothing."""
    cores = [np.ones((1, 2, 2, 1))]
    w = TTMatrix(cores)
    cores[0][...] = 5.0
    np.testing.assert_array_equal(w.full(), np.ones((2, 2)))
    assert not np.shares_memory(TTMatrix(cores, copy=True).cores[0], cores[0])
