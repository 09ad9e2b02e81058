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
