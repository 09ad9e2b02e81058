"""Tests of tensornet/compress/prune.py: magnitude, factor and filter pruning."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tensornet.compress.prune import (
    PruneMasks,
    factor_param_names,
    filter_prune,
    magnitude_prune,
    prune_factors,
)
from tensornet.nn import (
    SGD,
    Adam,
    AdamW,
    BatchNorm2d,
    Conv2d,
    Flatten,
    Linear,
    LowRankLinear,
    MaxPool2d,
    ReLU,
    Sequential,
    TTLinear,
    cross_entropy,
    fit,
)

from ..strategies import random_array, seeds, shapes

#: Examples per property: the profile's count, capped so the thorough profile stays cheap.
CAP = min(settings().max_examples, 30)


# ------------------------------------------------------------------------------ magnitude
@settings(max_examples=CAP)
@given(shapes(2, 3, 1, 6), st.floats(0.0, 2.0), seeds())
def test_quality_prunes_exactly_the_entries_at_most_quality_times_std(shape, quality, seed):
    w = random_array(shape, seed)
    original = w.copy()
    res = magnitude_prune({"w": w}, quality=quality)
    t = quality * original.std()
    assert res.thresholds["w"] == pytest.approx(t)
    np.testing.assert_array_equal(res.masks["w"], np.abs(original) > t)
    np.testing.assert_array_equal(w, np.where(np.abs(original) > t, original, 0.0))


@settings(max_examples=CAP)
@given(shapes(2, 3, 1, 6), st.floats(0.0, 0.99), seeds())
def test_sparsity_removes_exactly_the_smallest_fraction(shape, sparsity, seed):
    w = random_array(shape, seed)
    res = magnitude_prune({"w": w}, sparsity=sparsity, inplace=False)
    mask = res.masks["w"]
    assert np.count_nonzero(~mask) == round(sparsity * w.size)
    if mask.any() and (~mask).any():
        assert np.abs(w[mask]).min() >= np.abs(w[~mask]).max()
    assert res.sparsity()["w"] == pytest.approx(round(sparsity * w.size) / w.size)


def test_default_prunes_weights_not_biases():
    net = Sequential(("fc1", Linear(5, 4, random_state=0)), ("fc2", Linear(4, 2, random_state=1)))
    net.params["fc1.bias"][:] = 0.01
    res = magnitude_prune(net, sparsity=0.5)
    assert sorted(res.masks) == ["fc1.weight", "fc2.weight"]
    assert np.all(net.params["fc1.bias"] == 0.01)
    assert res.sparsity()["total"] == pytest.approx(0.5)


def test_iterative_sparsity_counts_zeros_already_there():
    w = random_array((10, 10), 0)
    magnitude_prune({"w": w}, sparsity=0.3)
    res = magnitude_prune({"w": w}, sparsity=0.6)
    assert np.count_nonzero(w) == 40 and res.sparsity()["w"] == pytest.approx(0.6)


def test_sparsity_dict_prunes_only_named_parameters():
    p = {"a": random_array((4, 4), 0), "b": random_array((4, 4), 1)}
    res = magnitude_prune(p, sparsity={"a": 0.5})
    assert list(res.masks) == ["a"] and np.count_nonzero(p["b"]) == 16


@pytest.mark.parametrize("opt_cls", [SGD, Adam, AdamW])
def test_pruned_weights_stay_zero_through_fine_tuning(opt_cls):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((96, 8)).astype(np.float32)
    y = rng.integers(0, 3, 96)
    net = Sequential(("fc1", Linear(8, 6, random_state=0)), ("act", ReLU()),
                     ("fc2", Linear(6, 3, random_state=1)))  # fmt: skip
    masks = magnitude_prune(net, sparsity=0.6)
    before = {k: v.copy() for k, v in net.params.items()}
    kwargs = {"momentum": 0.9, "weight_decay": 1e-3} if opt_cls is SGD else {}
    opt = opt_cls(net.params, lr=0.05, **kwargs)
    masks.attach(opt)
    fit(net, cross_entropy, opt, (x, y), epochs=2, batch_size=16, random_state=0)
    for name, mask in masks.masks.items():
        w = net.params[name]
        assert np.all(w[~mask] == 0.0)
        assert not np.array_equal(w[mask], before[name][mask])  # the kept entries trained


def test_masks_from_arrays_inverts_to_arrays():
    res = magnitude_prune({"a": random_array((3, 7), 0), "b": random_array((2, 2, 3), 1)},
                          quality=0.5)  # fmt: skip
    back = PruneMasks.from_arrays(res.to_arrays(), res.to_meta())
    for k in res.masks:
        np.testing.assert_array_equal(back.masks[k], res.masks[k])
    assert back.thresholds == res.thresholds
    assert res.nbytes() == {"a": 3, "b": 2, "total": 5}


def test_masks_from_arrays_refuses_a_short_bitmap():
    res = magnitude_prune({"a": random_array((5, 5), 0)}, quality=0.5)
    arrays = res.to_arrays()
    arrays["a"] = arrays["a"][:-1]
    with pytest.raises(ValueError, match="bitmap of 'a'"):
        PruneMasks.from_arrays(arrays, res.to_meta())


# ------------------------------------------------------------------------------ factors
def test_factor_names_are_every_factorized_parameter_but_the_bias():
    net = Sequential(
        ("lr", LowRankLinear(8, 6, 2, random_state=0)),
        ("act", ReLU()),
        ("tt", TTLinear(6, 6, 2, in_modes=(2, 3), out_modes=(3, 2), random_state=0)),
        ("fc", Linear(6, 2, random_state=0)),
    )
    names = factor_param_names(net)
    expected = [f"lr.{k}" for k in net["lr"].params if k != "bias"]
    expected += [f"tt.{k}" for k in net["tt"].params if k != "bias"]
    assert names == expected and "fc.weight" not in names


@given(st.floats(0.1, 0.9), seeds())
@settings(max_examples=min(CAP, 10))
def test_prune_factors_reaches_the_sparsity_of_every_factor(sparsity, seed):
    net = Sequential(("lr", LowRankLinear(10, 8, 3, random_state=seed)),
                     ("fc", Linear(8, 2, random_state=0)))  # fmt: skip
    res = prune_factors(net, sparsity=sparsity)
    for name in factor_param_names(net):
        w = net.params[name]
        assert np.count_nonzero(w == 0) >= round(sparsity * w.size)
        assert res.sparsity()[name] == pytest.approx(round(sparsity * w.size) / w.size)
    assert np.count_nonzero(net.params["fc.weight"]) == 16


def test_prune_factors_refuses_a_model_without_factorized_layers():
    with pytest.raises(ValueError, match="no factorized layer"):
        prune_factors(Sequential(("fc", Linear(3, 2))), sparsity=0.5)


# ------------------------------------------------------------------------------ filters
def _conv_net(seed, bn=False):
    layers = [("conv1", Conv2d(2, 5, 3, padding=1, random_state=seed))]
    if bn:
        layers.append(("bn", BatchNorm2d(5)))
    layers += [
        ("act", ReLU()),
        ("pool", MaxPool2d(2)),
        ("conv2", Conv2d(5, 4, 3, random_state=seed + 1)),
        ("act2", ReLU()),
        ("flat", Flatten()),
        ("fc", Linear(4, 3, random_state=seed + 2)),
    ]
    return Sequential(*layers)


@given(seeds(), st.lists(st.integers(0, 4), min_size=1, max_size=4, unique=True),
       st.booleans())  # fmt: skip
@settings(max_examples=min(CAP, 10))
def test_removing_dead_filters_leaves_the_function_unchanged(seed, dead, bn):
    net = _conv_net(seed % 1000, bn).eval()
    net["conv1"].params["weight"][dead] = 0.0
    net["conv1"].params["bias"][dead] = 0.0
    x = random_array((3, 2, 6, 6), seed).astype(np.float32)
    res = filter_prune(net, "conv1", keep=5 - len(dead))
    assert res.kept["conv1"] == [c for c in range(5) if c not in dead]
    assert res.model["conv1"].out_channels == 5 - len(dead)
    assert res.model["conv2"].in_channels == 5 - len(dead)
    np.testing.assert_allclose(res.model(x), net(x), rtol=1e-5, atol=1e-6)


def test_filter_prune_before_flatten_removes_each_channels_rows():
    net = Sequential(("conv", Conv2d(1, 3, 1, random_state=0)), ("flat", Flatten()),
                     ("fc", Linear(3 * 4, 2, random_state=1)))  # fmt: skip
    net["conv"].params["weight"][1] = 0.0
    net["conv"].params["bias"][1] = 0.0
    res = filter_prune(net, "conv", amount=1 / 3)
    assert res.next_layer == "fc" and res.model["fc"].in_features == 8
    x = random_array((2, 1, 2, 2), 0).astype(np.float32)
    np.testing.assert_allclose(res.model(x), net(x), rtol=1e-5, atol=1e-6)


def test_filter_prune_of_linear_units_with_explicit_indices():
    net = Sequential(("fc1", Linear(4, 5, random_state=0)), ("act", ReLU()),
                     ("fc2", Linear(5, 2, random_state=1)))  # fmt: skip
    res = filter_prune(net, "fc1", keep=[0, 2, 4])
    np.testing.assert_array_equal(res.model["fc1"].params["weight"],
                                  net["fc1"].params["weight"][:, [0, 2, 4]])  # fmt: skip
    np.testing.assert_array_equal(res.model["fc2"].params["weight"],
                                  net["fc2"].params["weight"][[0, 2, 4]])  # fmt: skip
    assert net["fc1"].out_features == 5  # the input model is untouched


def test_filter_prune_keeps_the_largest_norm_filters():
    net = _conv_net(0)
    norms = np.abs(net["conv1"].params["weight"]).sum(axis=(1, 2, 3))
    res = filter_prune(net, "conv1", keep=2)
    assert res.kept["conv1"] == sorted(np.argsort(-norms)[:2].tolist())
    np.testing.assert_allclose(res.scores, norms, rtol=1e-6)


def test_filter_prune_refuses_the_last_layer():
    net = _conv_net(0)
    with pytest.raises(ValueError, match="no following Conv2d or Linear"):
        filter_prune(net, "fc", keep=2)
