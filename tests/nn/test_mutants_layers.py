"""Mutation-found gaps of ``tensornet.nn.layers``."""

import numpy as np
import pytest

from tensornet.nn.layers import Dropout, _relu_vjp, relu


def test_dropout_keeps_an_entry_whose_draw_equals_p():
    # keep <=> u >= p for u uniform on the float32 grid {k 2**-24}: for p on that grid the keep
    # probability is then exactly 1 - p, which the 1 / (1 - p) scaling assumes. Take p equal
    # to the first draw of the layer's generator: that entry is kept.
    p = float(np.random.default_rng(0).random(1, dtype=np.float32)[0])
    layer = Dropout(p, random_state=0)
    out = layer.apply(layer.params, np.ones(1, dtype=np.float32))
    np.testing.assert_allclose(out, [1.0 / (1.0 - p)], rtol=1e-6)


@pytest.mark.parametrize("shape", [(3, 4), (2, 3, 4), (2, 3, 2, 2, 3)], ids=["2d", "3d", "5d"])
def test_relu_vjp_of_a_fortran_ordered_gradient_is_the_mask_in_any_ndim(shape):
    # no common C-contiguous axis order (only 4-D channel-major buffers have a fast path):
    # the fallback still gives g * [relu(x) > 0]
    rng = np.random.default_rng(4)
    x = rng.standard_normal(shape)
    x.flat[:2] = 0.0  # the kink: no gradient
    g = np.asfortranarray(rng.standard_normal(shape))
    got = _relu_vjp(relu(x), x)(g)
    np.testing.assert_array_equal(got, np.where(x > 0, g, 0.0))
