"""The loss-closure hook of tensornet/nn/train.py: ``fit`` passes ``step(grads, closure, loss)``
to an optimizer whose ``needs_closure`` is set (PyTorch's ``step(closure)``), and nothing to others.
"""

import numpy as np
import pytest

from tensornet import nn
from tensornet.nn.optim import SGD, Adam, AdamW, Optimizer


def _data(n=48, n_in=4, n_classes=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, n_in)), rng.integers(0, n_classes, n)


def _model(seed=1):
    rng = np.random.default_rng(seed)
    return nn.Sequential(
        ("fc1", nn.Linear(4, 5, random_state=rng, dtype=np.float64)),
        ("tanh", nn.Tanh()),
        ("fc2", nn.Linear(5, 3, random_state=rng, dtype=np.float64)),
    )


def _batches(x, y, size=16):
    """A fixed batch order (a list of (x, y) pairs is a loader for fit)."""
    return [(x[i : i + size], y[i : i + size]) for i in range(0, len(x), size)]


def _l2(params):
    return 0.01 * sum((p * p).sum() for p in params.values())


class _ProbingSGD(SGD):
    """SGD that asks for a closure and, before each update, checks it against a direct
    evaluation of the objective on the batch it expects, at the current and at moved weights."""

    needs_closure = True

    def __init__(self, params, model, batches, regularizer, **kwargs):
        super().__init__(params, **kwargs)
        self.model, self.batches, self.regularizer = model, batches, regularizer
        self.checked = 0

    def _direct(self, xb, yb):
        def objective(p):
            return nn.cross_entropy(self.model.apply(p, xb), yb) + self.regularizer(p)

        return nn.value_and_grad(objective)(self.params)

    def step(self, grads, closure=None, loss=None):
        xb, yb = self.batches[self.t % len(self.batches)]
        value, direct_grads = self._direct(xb, yb)
        assert loss == pytest.approx(float(value), rel=1e-12)
        assert closure() == pytest.approx(float(value), rel=1e-12)
        kept = {k: v.copy() for k, v in self.params.items()}
        for p in self.params.values():  # the closure reads the live parameters
            p += 0.05
        moved_value, moved_grads = self._direct(xb, yb)
        assert closure() == pytest.approx(float(moved_value), rel=1e-12)
        with_grad_value, with_grad = closure(with_grad=True)
        assert with_grad_value == pytest.approx(float(moved_value), rel=1e-12)
        for k in with_grad:
            np.testing.assert_allclose(with_grad[k], moved_grads[k], rtol=1e-10, atol=1e-14)
        for k, p in self.params.items():
            p[...] = kept[k]
        for k in grads:
            np.testing.assert_allclose(grads[k], direct_grads[k], rtol=1e-10, atol=1e-14)
        self.checked += 1
        return super().step(grads)


def test_closure_returns_the_batch_objective_at_the_live_parameters_and_its_gradient():
    x, y = _data()
    batches = _batches(x, y)
    model = _model()
    opt = _ProbingSGD(model.params, model, batches, _l2, lr=0.1, momentum=0.9)
    nn.fit(model, nn.cross_entropy, opt, batches, epochs=2, regularizer=_l2)
    assert opt.checked == 2 * len(batches)


def test_closure_calls_change_neither_the_training_nor_its_history():
    """Same weights and the same logged loss and accuracy as plain SGD: the closure's forward
    passes do not overwrite the outputs ``fit`` counts the accuracy on."""
    x, y = _data(seed=3)
    batches = _batches(x, y)
    a, b = _model(), _model()
    ha = nn.fit(a, nn.cross_entropy, SGD(a.params, lr=0.1, momentum=0.9), batches, epochs=2)
    probing = _ProbingSGD(b.params, b, batches, lambda p: 0.0, lr=0.1, momentum=0.9)
    hb = nn.fit(b, nn.cross_entropy, probing, batches, epochs=2)
    for k in a.params:
        np.testing.assert_array_equal(a.params[k], b.params[k])
    assert ha["loss"] == hb["loss"] and ha["accuracy"] == hb["accuracy"]


@pytest.mark.parametrize("cls", [SGD, Adam, AdamW])
def test_optimizers_that_do_not_ask_get_no_closure(cls):
    assert cls.needs_closure is False and Optimizer.needs_closure is False
    calls = []

    class Recording(cls):
        def step(self, grads, *args, **kwargs):
            calls.append((args, kwargs))
            return super().step(grads)

    x, y = _data(seed=4)
    model = _model()
    nn.fit(model, nn.cross_entropy, Recording(model.params, lr=0.01), (x, y), batch_size=16)
    assert calls == [((), {})] * 3
