"""Mutation-found gaps of ``tensornet.formats.kron``: the structured inner product's guard."""

import numpy as np
import pytest

from tensornet.formats.kron import KronTensor


def test_inner_refuses_a_kron_tensor_of_another_shape_even_when_its_factor_sizes_match():
    # A: (2, 3) x (3, 3) -> (6, 9); B: (3, 2) x (3, 3) -> (9, 6). The flattened A factors have
    # the same size (6), so only the factor-shape guard stops a meaningless structured product.
    rng = np.random.default_rng(0)
    x = KronTensor(rng.standard_normal((1, 2, 3)), rng.standard_normal((1, 3, 3)))
    y = KronTensor(rng.standard_normal((1, 3, 2)), rng.standard_normal((1, 3, 3)))
    with pytest.raises(ValueError, match=r"other has shape \(9, 6\), expected \(6, 9\)"):
        x.inner(y)
