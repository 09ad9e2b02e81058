"""Mutation-found gaps of ``tensornet.nn.optim``."""

import numpy as np

from tensornet.nn.optim import SGD


def test_plain_sgd_leaves_the_velocity_slot_untouched():
    # momentum 0 is plain SGD: p <- p - lr g, and no velocity is accumulated (a checkpoint
    # of plain SGD carries zero velocity into a later run with momentum)
    p = {"w": np.array([1.0, -2.0, 3.0])}
    g = {"w": np.array([0.5, 0.25, -1.0])}
    opt = SGD(p, lr=0.1)
    opt.step(g)
    np.testing.assert_allclose(p["w"], [0.95, -2.025, 3.1])
    np.testing.assert_array_equal(opt.state["velocity"]["w"], np.zeros(3))
