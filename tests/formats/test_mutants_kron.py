"""Mutation-found gaps of ``tensornet.formats.kron``: the structured inner product's guard."""

import numpy as np
import pytest

from tensornet.formats.kron import KronTensor


@pytest.mark.parametrize(
    ("a_shapes", "b_shapes"),
    [
        (((2, 3), (3, 2)), ((3, 3), (3, 3))),  # A differ: (6, 9) vs (9, 6)
        (((2, 2), (2, 2)), ((2, 3), (3, 2))),  # B differ: (4, 6) vs (6, 4)
    ],
)
def test_inner_refuses_a_kron_tensor_of_another_shape_even_when_its_factor_sizes_match(
    a_shapes, b_shapes
):
    # the flattened factors have matching sizes, so only the factor-shape guard stops a
    # meaningless structured product
    rng = np.random.default_rng(0)
    x = KronTensor(rng.standard_normal((1, *a_shapes[0])), rng.standard_normal((1, *b_shapes[0])))
    y = KronTensor(rng.standard_normal((1, *a_shapes[1])), rng.standard_normal((1, *b_shapes[1])))
    with pytest.raises(ValueError, match=r"other has shape \(\d, \d\), expected"):
        x.inner(y)


def test_inner_with_a_dense_array_or_any_kron_tensor_equals_the_dense_inner_product():
    rng = np.random.default_rng(1)
    x = KronTensor(rng.standard_normal((2, 2, 3)), rng.standard_normal((2, 3, 2)))  # (6, 6)
    dense = rng.standard_normal(x.shape)
    assert x.inner(dense) == pytest.approx(np.vdot(x.full(), dense), rel=1e-12)
    same = KronTensor(rng.standard_normal((3, 2, 3)), rng.standard_normal((3, 3, 2)))
    other = KronTensor(rng.standard_normal((1, 3, 2)), rng.standard_normal((1, 2, 3)))  # (6, 6)
    for y in (same, other):
        assert x.inner(y) == pytest.approx(np.vdot(x.full(), y.full()), rel=1e-12)
