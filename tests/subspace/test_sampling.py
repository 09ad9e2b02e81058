"""Tests of tensornet/subspace/sampling.py: the trajectory-sampling callback."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tensornet import nn
from tensornet.datasets import DataLoader
from tensornet.subspace.sampling import TrajectorySampler, flatten_params, unflatten_params

from ._tiny import tiny_data, tiny_model


def _manual_trajectory(model, optimizer, data, epochs, batch_size, seed):
    """The parameters after every step of the loop ``fit`` runs, computed here step by step."""
    step = nn.value_and_grad(lambda p, xb, yb: nn.cross_entropy(model.apply(p, xb), yb))
    loader = DataLoader(*data, batch_size, shuffle=True, random_state=seed)
    out = [flatten_params(optimizer.params)]
    for _ in range(epochs):
        for xb, yb in loader:
            _, grads = step(optimizer.params, xb, yb)
            optimizer.step(grads)
            out.append(flatten_params(optimizer.params))
    return np.array(out)


def test_callback_records_exactly_what_was_trained():
    data = tiny_data(40)
    trained, replay = tiny_model(seed=1), tiny_model(seed=1)
    sampler = TrajectorySampler(every=1)
    nn.fit(
        trained,
        nn.cross_entropy,
        nn.SGD(trained.params, lr=0.2, momentum=0.9),
        data,
        epochs=2,
        batch_size=8,
        callbacks=[sampler],
        random_state=3,
    )
    expected = _manual_trajectory(
        replay, nn.SGD(replay.params, lr=0.2, momentum=0.9), data, 2, 8, seed=3
    )
    assert sampler.samples.dtype == np.float32
    np.testing.assert_array_equal(sampler.samples, expected)
    np.testing.assert_array_equal(sampler.samples[-1], flatten_params(trained.params))
    assert sampler.steps == list(range(11))
    assert sampler.keys == ("fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias")


def test_callback_records_only_the_sub_dict_the_optimizer_trains():
    model = tiny_model()
    frozen_before = model.params["fc1.weight"].copy()
    sub = {"fc2.weight": model.params["fc2.weight"]}
    sampler = TrajectorySampler(every=2)
    nn.fit(
        model,
        nn.cross_entropy,
        nn.SGD(sub, lr=0.1),
        tiny_data(24),
        epochs=1,
        batch_size=6,
        callbacks=[sampler],
        random_state=0,
    )
    assert sampler.keys == ("fc2.weight",)
    assert sampler.samples.shape == (3, 15)
    np.testing.assert_array_equal(sampler.samples[-1], model.params["fc2.weight"].ravel())
    np.testing.assert_array_equal(model.params["fc1.weight"], frozen_before)


def test_per_epoch_sampling_records_the_initialization_and_each_epoch_end():
    model = tiny_model()
    w0 = flatten_params(model.params)
    sampler = TrajectorySampler()
    nn.fit(
        model,
        nn.cross_entropy,
        nn.SGD(model.params, lr=0.1),
        tiny_data(30),
        epochs=3,
        batch_size=10,
        callbacks=[sampler],
        random_state=0,
    )
    assert len(sampler) == 4 and sampler.epochs == [0.0, 1.0, 2.0, 3.0]
    assert sampler.steps == [0, 3, 6, 9]
    np.testing.assert_array_equal(sampler.samples[0], w0)
    np.testing.assert_array_equal(sampler.samples[-1], flatten_params(model.params))
    with pytest.raises(ValueError):
        sampler.samples[0, 0] = 1.0  # a read-only view


def test_a_second_fit_appends_and_continues_the_step_count():
    model = tiny_model()
    sampler = TrajectorySampler(every=3)
    opt = nn.SGD(model.params, lr=0.1)
    for _ in range(2):
        nn.fit(
            model,
            nn.cross_entropy,
            opt,
            tiny_data(30),
            epochs=1,
            batch_size=10,
            callbacks=[sampler],
            random_state=0,
        )
    assert sampler.steps == [0, 3, 6]
    np.testing.assert_array_equal(sampler.samples[-1], flatten_params(model.params))


def test_a_large_run_is_announced_with_its_size():
    model = tiny_model()
    sampler = TrajectorySampler(every=1, warn_bytes=100)
    with pytest.warns(ResourceWarning, match=r"store 7 samples of 43 parameters in float32"):
        nn.fit(
            model,
            nn.cross_entropy,
            nn.SGD(model.params, lr=0.1),
            tiny_data(12),
            epochs=2,
            batch_size=4,
            callbacks=[sampler],
            random_state=0,
        )
    assert sampler.expected_bytes(7, 43) == 7 * 43 * 4


@given(
    st.lists(st.tuples(st.integers(1, 4), st.integers(1, 4)), min_size=1, max_size=4),
    st.integers(0, 1000),
)
def test_unflatten_inverts_flatten(shapes, seed):
    rng = np.random.default_rng(seed)
    params = {f"p{i}": rng.normal(size=s) for i, s in enumerate(shapes)}
    vector = flatten_params(params)
    assert vector.size == sum(a * b for a, b in shapes)
    back = unflatten_params(vector, params)
    assert list(back) == list(params)
    for key in params:
        np.testing.assert_array_equal(back[key], params[key])
