"""Mutation-found gaps of ``tensornet.decompositions._engines``: which inputs are Dask arrays."""

import numpy as np
import pytest

from tensornet.decompositions._engines import is_dask_array


class Chunked(np.ndarray):
    """An in-memory array with a ``chunks`` attribute (as Zarr and HDF5 arrays have)."""

    chunks = ((2,), (3,))


def test_an_array_with_chunks_is_a_dask_array_only_when_its_type_comes_from_dask():
    assert not is_dask_array(np.zeros((2, 3)).view(Chunked))
    assert not is_dask_array(np.zeros((2, 3)))
    da = pytest.importorskip("dask.array")
    assert is_dask_array(da.zeros((2, 3), chunks=(1, 3)))


@pytest.mark.parametrize("by_keyword", [False, True])
def test_a_dask_array_goes_to_the_engine_whether_passed_by_position_or_keyword(
    monkeypatch, by_keyword
):
    da = pytest.importorskip("dask.array")
    from tensornet.decompositions import out_of_core
    from tensornet.decompositions.tt import tt_svd

    calls = []
    monkeypatch.setattr(out_of_core, "tt_svd", lambda *a, **k: calls.append((a, k)) or "engine")
    x = da.ones((2, 3, 4), chunks=(1, 3, 4))
    out = tt_svd(x=x, ranks=2) if by_keyword else tt_svd(x, 2)
    assert out == "engine" and len(calls) == 1
    assert not isinstance(tt_svd(np.ones((2, 3, 4)), 2), str)  # in memory: the core path
