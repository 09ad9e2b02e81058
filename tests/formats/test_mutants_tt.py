"""Mutation-found gaps of ``tensornet.formats.tt``: both boundary ranks of a full rank list."""

import pytest

from tensornet.formats.tt import tt_rank_caps


@pytest.mark.parametrize("ranks", [[1, 1, 3], [3, 1, 1], [1, 2, 2, 2], [2, 2, 2, 1]])
def test_a_full_rank_list_needs_both_boundary_ranks_to_be_one(ranks):
    shape = (2,) * (len(ranks) - 1)
    with pytest.raises(ValueError, match="must have boundary ranks"):
        tt_rank_caps(ranks, shape)
    assert tt_rank_caps([1, *ranks[1:-1], 1], shape) == tuple(min(r, 2) for r in ranks[1:-1])


def test_gather_chain_of_a_ring_sums_the_trace_over_every_boundary_index():
    """gather_chain of a TR chain whose inner rank is below r_0 = r_d is the trace of the
    product of the core slices (the ring loop runs over r_0 and clears the whole vector)."""
    import numpy as np

    from tensornet.formats.tt import gather_chain

    rng = np.random.default_rng(0)
    ranks, shape = (3, 1, 2, 3), (2, 3, 2)
    cores = [rng.standard_normal((ranks[k], n, ranks[k + 1])) for k, n in enumerate(shape)]
    index = np.array([[0, 0, 0], [1, 2, 1], [0, 1, 1], [1, 0, 0]], dtype=np.int64)
    want = [np.trace(cores[0][:, i] @ cores[1][:, j] @ cores[2][:, k]) for i, j, k in index]
    np.testing.assert_allclose(gather_chain(cores, index), want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "ranks", [(1, 2, 3, 1), (1, 3, 2, 1), (2, 1, 3, 2), (3, 2, 1, 3)], ids=lambda r: str(r)
)
def test_the_gather_kernel_run_as_python_stays_in_bounds_and_matches_full(ranks, monkeypatch):
    """The gather kernel, run as plain Python (NumPy checks every index), sizes its scratch
    vectors by the largest rank anywhere in the chain and gives the entries of full()."""
    import numpy as np

    from tensornet.formats import tt
    from tensornet.formats.tr import TRTensor

    rng = np.random.default_rng(1)
    cores = [rng.standard_normal((ranks[k], n, ranks[k + 1])) for k, n in enumerate((2, 3, 2))]
    x = (tt.TTTensor if ranks[0] == 1 else TRTensor)(cores)
    monkeypatch.setattr(tt, "_gather_kernel", tt._gather_kernel.py_func)
    idx = np.array([[0, 0, 0], [1, 2, 1], [0, 1, 1], [1, 0, 0]], dtype=np.int64)
    np.testing.assert_allclose(x.gather(idx), x.full()[tuple(idx.T)], rtol=1e-12, atol=1e-12)


def test_tt_cores_are_copied_by_default_and_a_scalar_multiple_shares_the_unchanged_cores():
    """TTTensor(cores) copies its cores (editing the input later changes nothing), while
    alpha * X makes a new first core only and shares the others (no copy)."""
    import numpy as np

    from tensornet.formats.tt import TTTensor

    cores = [np.ones((1, 2, 2)), np.ones((2, 3, 1))]
    x = TTTensor(cores)
    cores[0][...] = 5.0
    np.testing.assert_array_equal(x.full(), np.full((2, 3), 2.0))
    y = 3.0 * x
    assert y.cores[1] is x.cores[1] and not np.shares_memory(y.cores[0], x.cores[0])
    np.testing.assert_array_equal(y.full(), np.full((2, 3), 6.0))


def test_rank_specs_that_are_not_sequences_are_refused_and_any_sequence_is_read_as_one():
    """tt_rank_caps refuses a set (not a sequence) by name and reads any Sequence, e.g. a
    memoryview of d + 1 entries, like a list (it is no single rank)."""
    with pytest.raises(TypeError, match="ranks must be an int or a sequence of ints"):
        tt_rank_caps({2}, (2, 2))
    assert tt_rank_caps(memoryview(bytes([1, 2, 1])), (2, 2)) == tt_rank_caps([1, 2, 1], (2, 2))


def test_rounding_the_zero_tensor_reports_a_zero_relative_error():
    """TTTensor.round of the zero tensor gives rel_error 0.0 (not 0/0)."""
    import numpy as np

    from tensornet.formats.tt import TTTensor

    out = TTTensor([np.zeros((1, 2, 2)), np.zeros((2, 3, 1))]).round()
    assert out.info["rel_error"] == 0.0
    np.testing.assert_array_equal(out.full(), np.zeros((2, 3)))
