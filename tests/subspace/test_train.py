"""Tests of tensornet/subspace/train.py: training in the subspace through fit."""

import numpy as np
import pytest

from tensornet import nn
from tensornet.subspace.analysis import projection_error
from tensornet.subspace.dldr import dldr
from tensornet.subspace.optim import PBFGS
from tensornet.subspace.sampling import TrajectorySampler, flatten_params
from tensornet.subspace.train import train_in_subspace

from ._tiny import tiny_data, tiny_model


@pytest.fixture(scope="module")
def trajectory():
    """A sampled SGD run of the tiny model: (data, samples, 6-D DLDR subspace)."""
    data = tiny_data(120, seed=1)
    model = tiny_model(seed=2)
    sampler = TrajectorySampler(every=2)
    nn.fit(
        model,
        nn.cross_entropy,
        nn.SGD(model.params, lr=0.2, momentum=0.9),
        data,
        epochs=3,
        batch_size=20,
        callbacks=[sampler],
        random_state=0,
    )
    return data, sampler.samples.copy(), dldr(sampler.samples, 6)


@pytest.mark.parametrize("name", ["psgd", "pbfgs"])
def test_training_starts_at_start_and_stays_in_its_affine_subspace(trajectory, name):
    data, samples, sub = trajectory
    model = tiny_model(seed=9)  # other weights: start must overwrite them
    options = {"lr": 0.1} if name == "psgd" else {}
    h = train_in_subspace(
        model, sub, name, data, 2, start=samples[0], batch_size=40, random_state=0, **options
    )
    w = flatten_params(model.params)
    assert np.linalg.norm(w - samples[0]) > 1e-3
    assert projection_error(w, sub.basis, centre=samples[0]) < 1e-5  # float32 round-off
    assert h["loss"][-1] < h["loss"][0]


def test_pbfgs_training_is_deterministic_and_reuses_the_loss_fit_computed(trajectory):
    data, samples, sub = trajectory
    runs = []
    for _ in range(2):
        model = tiny_model(seed=2)
        opt = PBFGS(model.params, sub)
        calls = []
        closure_loss = nn.cross_entropy

        def counting(out, y, _calls=calls):
            _calls.append(1)
            return closure_loss(out, y)

        train_in_subspace(
            model, sub, opt, data, 1, start=samples[0], loss=counting, batch_size=40, random_state=5
        )
        runs.append(flatten_params(model.params))
        # fit's forward (3 batches) + one line-search trial per accepted try; never f(w) again
        assert len(calls) == 3 + sum(opt.tries)
    np.testing.assert_array_equal(runs[0], runs[1])


def test_pbfgs_from_the_initialization_reaches_the_sgd_loss_region(trajectory):
    data, samples, sub = trajectory
    model = tiny_model(seed=2)
    h = train_in_subspace(
        model, sub, "pbfgs", data, 4, start=samples[0], batch_size=120, random_state=0
    )
    final = nn.evaluate(model, data)["loss"]
    start_model = tiny_model(seed=2)
    start_loss = nn.evaluate(start_model, data)["loss"]
    assert final < 0.9 * start_loss and len(h) == 4


def test_an_optimizer_with_another_basis_is_refused(trajectory):
    data, samples, sub = trajectory
    model = tiny_model(seed=2)
    other = PBFGS(model.params, sub.basis[::-1].copy())
    with pytest.raises(ValueError, match="another basis"):
        train_in_subspace(model, sub, other, data, 1)
