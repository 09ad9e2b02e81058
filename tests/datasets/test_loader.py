"""Tests of tensornet.datasets.loader.DataLoader: an epoch is a partition of the samples."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tensornet.datasets import DataLoader
from tensornet.testing import seeds


def _data(n):
    """Inputs whose row i is filled with i (float32, image-shaped) and labels i."""
    x = np.broadcast_to(np.arange(n, dtype=np.float32)[:, None, None, None], (n, 1, 2, 3)).copy()
    return x, np.arange(n, dtype=np.int64)


def _epoch(loader):
    """The batches of one epoch as a list of (x, y) pairs."""
    return list(loader)


@given(
    n=st.integers(1, 60),
    batch_size=st.integers(1, 70),
    shuffle=st.booleans(),
    seed=seeds(),
)
def test_epoch_visits_every_sample_exactly_once(n, batch_size, shuffle, seed):
    x, y = _data(n)
    loader = DataLoader(x, y, batch_size, shuffle=shuffle, random_state=seed)
    for _ in range(2):
        batches = _epoch(loader)
        assert len(batches) == len(loader) == -(-n // batch_size)
        seen = np.concatenate([yb for _, yb in batches])
        np.testing.assert_array_equal(np.sort(seen), np.arange(n))
        for xb, yb in batches:
            # inputs travel with their labels
            np.testing.assert_array_equal(xb[:, 0, 0, 0], yb.astype(np.float32))
            assert xb.shape[1:] == (1, 2, 3) and xb.dtype == np.float32
        sizes = [len(yb) for _, yb in batches]
        assert all(s == batch_size for s in sizes[:-1])
        assert sizes[-1] == n - batch_size * (len(batches) - 1)


@given(n=st.integers(1, 60), batch_size=st.integers(1, 70), seed=seeds())
def test_drop_last_yields_only_full_batches_without_repeats(n, batch_size, seed):
    x, y = _data(n)
    loader = DataLoader(x, y, batch_size, drop_last=True, random_state=seed)
    batches = _epoch(loader)
    assert len(batches) == len(loader) == n // batch_size
    assert all(len(yb) == batch_size for _, yb in batches)
    seen = np.concatenate([yb for _, yb in batches]) if batches else np.empty(0, np.int64)
    assert len(np.unique(seen)) == len(seen) == n - n % batch_size


def test_partial_last_batch_is_kept_by_default():
    x, y = _data(10)
    sizes = [len(yb) for _, yb in DataLoader(x, y, 4, shuffle=False)]
    assert sizes == [4, 4, 2]
    assert [len(yb) for _, yb in DataLoader(x, y, 4, shuffle=False, drop_last=True)] == [4, 4]


@given(seed=seeds())
def test_same_seed_gives_same_sequence_of_epoch_orders(seed):
    x, y = _data(40)
    a = DataLoader(x, y, 7, random_state=seed)
    b = DataLoader(x, y, 7, random_state=seed)
    orders_a = [np.concatenate([yb for _, yb in a]) for _ in range(3)]
    orders_b = [np.concatenate([yb for _, yb in b]) for _ in range(3)]
    for oa, ob in zip(orders_a, orders_b):
        np.testing.assert_array_equal(oa, ob)
    # a new permutation every epoch (equal orders have probability 1/40! per pair)
    assert not np.array_equal(orders_a[0], orders_a[1])
    assert not np.array_equal(orders_a[1], orders_a[2])


def test_generator_is_shared_and_advanced():
    x, y = _data(30)
    rng = np.random.default_rng(5)
    first = np.concatenate([yb for _, yb in DataLoader(x, y, 8, random_state=rng)])
    second = np.concatenate([yb for _, yb in DataLoader(x, y, 8, random_state=rng)])
    ref = np.random.default_rng(5)
    np.testing.assert_array_equal(first, ref.permutation(30))
    np.testing.assert_array_equal(second, ref.permutation(30))


def test_shuffle_false_keeps_storage_order_as_views():
    x, y = _data(9)
    batches = _epoch(DataLoader(x, y, 4, shuffle=False))
    np.testing.assert_array_equal(np.concatenate([yb for _, yb in batches]), np.arange(9))
    assert all(np.shares_memory(xb, x) for xb, _ in batches)


def test_shuffled_first_position_is_uniform():
    # Each of 4 samples comes first in ~1/4 of 4000 epochs; 5 standard deviations is ~137.
    x, y = _data(4)
    loader = DataLoader(x, y, 4, random_state=0)
    counts = np.bincount([next(iter(loader))[1][0] for _ in range(4000)], minlength=4)
    assert np.all(np.abs(counts - 1000) < 5 * np.sqrt(4000 * 0.25 * 0.75))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"batch_size": 0}, ValueError, r"batch_size=0 must be >= 1"),
        ({"batch_size": -3}, ValueError, r"batch_size=-3 must be >= 1"),
        ({"batch_size": 2.5}, TypeError, r"batch_size must be an integer"),
        ({"batch_size": True}, TypeError, r"batch_size must be an integer"),
        ({"batch_size": 2, "random_state": "seed"}, TypeError, r"random_state"),
        ({"batch_size": 2, "random_state": -1}, ValueError, r"random_state=-1"),
    ],
)
def test_bad_arguments_are_refused(kwargs, error, match):
    x, y = _data(5)
    with pytest.raises(error, match=match):
        DataLoader(x, y, **kwargs)


def test_length_mismatch_names_both_lengths():
    x, y = _data(5)
    with pytest.raises(ValueError, match=r"len\(x\)=5 and len\(y\)=4"):
        DataLoader(x, y[:4], 2)


def test_scalar_or_missing_data_is_refused():
    with pytest.raises(ValueError, match="x must have at least one axis"):
        DataLoader(np.float32(1.0), np.arange(1), 1)
    with pytest.raises(TypeError, match="y must be an array"):
        DataLoader(np.zeros(3), None, 1)
