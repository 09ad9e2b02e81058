"""Mutation-found gaps of ``tensornet.nn.optim``."""

import numpy as np

from tensornet.nn.optim import SGD, Adam, AdamW


def test_plain_sgd_leaves_the_velocity_slot_untouched():
    # momentum 0 is plain SGD: p <- p - lr g, and no velocity is accumulated (a checkpoint
    # of plain SGD carries zero velocity into a later run with momentum)
    p = {"w": np.array([1.0, -2.0, 3.0])}
    g = {"w": np.array([0.5, 0.25, -1.0])}
    opt = SGD(p, lr=0.1)
    opt.step(g)
    np.testing.assert_allclose(p["w"], [0.95, -2.025, 3.1])
    np.testing.assert_array_equal(opt.state["velocity"]["w"], np.zeros(3))


def test_builtin_optimizers_do_not_ask_fit_for_a_closure():
    """SGD/Adam/AdamW declare needs_closure false, so fit calls step(grads) without a closure."""
    p = {"w": np.ones(2)}
    for cls in (SGD, Adam, AdamW):
        opt = cls(p, lr=0.1)
        assert opt.needs_closure is False
