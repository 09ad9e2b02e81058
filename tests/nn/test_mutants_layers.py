"""Mutation-found gaps of ``tensornet.nn.layers``."""

import numpy as np

from tensornet.nn.layers import Dropout


def test_dropout_keeps_an_entry_whose_draw_equals_p():
    # keep <=> u >= p for u uniform on the float32 grid {k 2**-24}: for p on that grid the keep
    # probability is then exactly 1 - p, which the 1 / (1 - p) scaling assumes. Take p equal
    # to the first draw of the layer's generator: that entry is kept.
    p = float(np.random.default_rng(0).random(1, dtype=np.float32)[0])
    layer = Dropout(p, random_state=0)
    out = layer.apply(layer.params, np.ones(1, dtype=np.float32))
    np.testing.assert_allclose(out, [1.0 / (1.0 - p)], rtol=1e-6)
