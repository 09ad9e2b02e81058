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
