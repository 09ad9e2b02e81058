"""Tests of tensornet/nn/weights.py: PyTorch-style state dicts in .npz / .safetensors files."""

import importlib.util
from collections import OrderedDict

import numpy as np
import pytest

from tensornet.nn import Sequential, lenet5, lenet300_100
from tensornet.nn.layers import BatchNorm1d, Linear, ReLU
from tensornet.nn.weights import load_weights, save_weights
from tests.compress.fakes import TwoFactorLinear

HAS_SAFETENSORS = importlib.util.find_spec("safetensors") is not None
SUFFIXES = [".npz"] + ([".safetensors"] if HAS_SAFETENSORS else [])


def _perturbed(model, seed):
    rng = np.random.default_rng(seed)
    for arr in model.params.values():
        arr[...] = rng.standard_normal(arr.shape).astype(arr.dtype)
    return model


@pytest.mark.parametrize("suffix", SUFFIXES)
@pytest.mark.parametrize("factory", [lenet300_100, lenet5])
def test_save_then_load_restores_every_array(tmp_path, suffix, factory):
    source = _perturbed(factory(random_state=0), seed=1)
    target = factory(random_state=2)
    path = save_weights(source, tmp_path / f"w{suffix}")
    load_weights(target, path)
    for key, value in source.state_dict().items():
        np.testing.assert_array_equal(target.state_dict()[key], value)


def test_saved_linear_weights_use_pytorch_layout(tmp_path):
    model = lenet300_100(random_state=0)
    path = save_weights(model, tmp_path / "w.npz")
    with np.load(path, allow_pickle=False) as data:
        assert sorted(data.files) == sorted(model.params)
        assert data["fc1.weight"].shape == (300, 784)
        np.testing.assert_array_equal(data["fc1.weight"], model.params["fc1.weight"].T)


def test_load_pytorch_positional_names_with_prefix_mapping(tmp_path):
    rng = np.random.default_rng(0)
    state = {
        "1.weight": rng.standard_normal((300, 784)).astype(np.float32),
        "1.bias": rng.standard_normal(300).astype(np.float32),
        "3.weight": rng.standard_normal((100, 300)).astype(np.float32),
        "3.bias": rng.standard_normal(100).astype(np.float32),
        "5.weight": rng.standard_normal((10, 100)).astype(np.float32),
        "5.bias": rng.standard_normal(10).astype(np.float32),
    }
    np.savez(tmp_path / "torch.npz", **state)
    model = load_weights(
        lenet300_100(random_state=0),
        tmp_path / "torch.npz",
        mapping={"1": "fc1", "3": "fc2", "5": "fc3"},
    )
    np.testing.assert_array_equal(model.params["fc2.weight"], state["3.weight"].T)
    np.testing.assert_array_equal(model.params["fc3.bias"], state["5.bias"])
    x = rng.standard_normal((4, 1, 28, 28)).astype(np.float32)
    h = np.maximum(x.reshape(4, -1) @ state["1.weight"].T + state["1.bias"], 0)
    h = np.maximum(h @ state["3.weight"].T + state["3.bias"], 0)
    want = h @ state["5.weight"].T + state["5.bias"]
    # float32 products of entries ~1e3 cancel: round-off is relative to the largest entry
    np.testing.assert_allclose(model(x), want, rtol=1e-5, atol=1e-5 * np.abs(want).max())


def test_callable_mapping_and_batchnorm_buffers(tmp_path):
    net = Sequential(("fc", Linear(3, 2, random_state=0)), ("bn", BatchNorm1d(2)), ("a", ReLU()))
    state = {
        "layer.fc.weight": np.ones((2, 3), np.float32),
        "layer.fc.bias": np.zeros(2, np.float32),
        "layer.bn.weight": np.full(2, 2.0, np.float32),
        "layer.bn.bias": np.full(2, 0.5, np.float32),
        "layer.bn.running_mean": np.full(2, 0.25, np.float32),
        "layer.bn.running_var": np.full(2, 4.0, np.float32),
        "layer.bn.num_batches_tracked": np.array(7),
    }
    np.savez(tmp_path / "s.npz", **state)
    load_weights(net, tmp_path / "s.npz", mapping=lambda k: k.removeprefix("layer."))
    np.testing.assert_array_equal(net.buffers["bn.running_var"], [4.0, 4.0])
    np.testing.assert_array_equal(net.params["bn.weight"], [2.0, 2.0])


def test_missing_and_unexpected_keys_are_named_with_the_file(tmp_path):
    model = lenet300_100(random_state=0)
    state = {k: v for k, v in model.state_dict().items() if k != "fc2.bias"}
    state["fc4.weight"] = np.zeros(3, np.float32)
    state = {k: (v.T if k.endswith("weight") and v.ndim == 2 else v) + 1 for k, v in state.items()}
    np.savez(tmp_path / "bad.npz", **state)
    with pytest.raises(ValueError, match=r"bad\.npz.*missing keys \['fc2.bias'\].*fc4.weight"):
        load_weights(model, tmp_path / "bad.npz")
    before = model.params["fc1.weight"].copy()
    load_weights(model, tmp_path / "bad.npz", mapping={"fc4.weight": None}, strict=False)
    np.testing.assert_array_equal(model.params["fc1.weight"], state["fc1.weight"].T)
    assert not np.array_equal(before, model.params["fc1.weight"])


def test_shape_mismatch_names_key_file_and_layout(tmp_path):
    model = lenet300_100(random_state=0)
    state = {k: v for k, v in model.state_dict().items()}  # tensornet layout: (in, out)
    np.savez(tmp_path / "t.npz", **state)
    before = model.state_dict()
    with pytest.raises(ValueError, match=r"t\.npz.*'fc1.weight'.*\(784, 300\).*\(300, 784\)"):
        load_weights(model, tmp_path / "t.npz")
    for key, value in before.items():  # nothing was written before the error
        np.testing.assert_array_equal(model.state_dict()[key], value)


def test_bad_files_are_refused(tmp_path):
    model = lenet300_100(random_state=0)
    with pytest.raises(ValueError, match="must end in one of"):
        save_weights(model, tmp_path / "w.pt")
    with pytest.raises(FileNotFoundError, match="nope.npz"):
        load_weights(model, tmp_path / "nope.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="junk.npz is not a readable"):
        load_weights(model, tmp_path / "junk.npz")
    objects = {"fc1.weight": np.array([{"a": 1}], dtype=object)}
    np.savez(tmp_path / "pickled.npz", **objects)
    with pytest.raises(ValueError, match="pickled.npz"):
        load_weights(model, tmp_path / "pickled.npz")
    state = {k: (v.T if v.ndim == 2 else v) for k, v in model.state_dict().items()}
    state["fc3.bias"] = np.full(10, np.nan, np.float32)
    np.savez(tmp_path / "nan.npz", **state)
    with pytest.raises(ValueError, match="'fc3.bias' holds NaN"):
        load_weights(model, tmp_path / "nan.npz")


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_factorized_layers_are_saved_as_their_factors(tmp_path, suffix):
    rng = np.random.default_rng(0)
    w = rng.standard_normal((6, 5)).astype(np.float32)
    net = Sequential(("fc", TwoFactorLinear.from_weight(w, np.zeros(5, np.float32), ranks=2)))
    path = save_weights(net, tmp_path / f"f{suffix}")
    other = Sequential(
        ("fc", TwoFactorLinear.from_weight(w[::-1], np.ones(5, np.float32), ranks=2))
    )
    load_weights(other, path)
    np.testing.assert_array_equal(other.params["fc.left"], net.params["fc.left"])
    np.testing.assert_array_equal(other["fc"].weight(), net["fc"].weight())


@pytest.mark.skipif(
    importlib.util.find_spec("torch") is None or not HAS_SAFETENSORS,
    reason="needs torch and safetensors",
)
def test_torch_lenet300_100_state_dict_loads_with_same_outputs(tmp_path):
    torch = pytest.importorskip("torch")
    from safetensors.torch import save_file

    torch.manual_seed(0)
    layers = OrderedDict(
        flatten=torch.nn.Flatten(),
        fc1=torch.nn.Linear(784, 300),
        relu1=torch.nn.ReLU(),
        fc2=torch.nn.Linear(300, 100),
        relu2=torch.nn.ReLU(),
        fc3=torch.nn.Linear(100, 10),
    )
    named = torch.nn.Sequential(layers)
    save_file(named.state_dict(), str(tmp_path / "lenet.safetensors"))
    positional = torch.nn.Sequential(*layers.values())  # keys "1.weight", "3.weight", ...
    save_file(positional.state_dict(), str(tmp_path / "positional.safetensors"))
    x = np.random.default_rng(0).standard_normal((8, 1, 28, 28)).astype(np.float32)
    with torch.no_grad():
        expected = named(torch.from_numpy(x)).numpy()
    model = load_weights(lenet300_100(random_state=5), tmp_path / "lenet.safetensors")
    np.testing.assert_allclose(model(x), expected, rtol=1e-5, atol=1e-5)
    model = load_weights(
        lenet300_100(random_state=6),
        tmp_path / "positional.safetensors",
        mapping={"1": "fc1", "3": "fc2", "5": "fc3"},
    )
    np.testing.assert_allclose(model(x), expected, rtol=1e-5, atol=1e-5)
    # and back: tensornet's file loads into torch unchanged
    save_weights(model, tmp_path / "back.safetensors")
    from safetensors.torch import load_file

    torch.manual_seed(1)
    fresh = torch.nn.Sequential(
        OrderedDict(
            flatten=torch.nn.Flatten(),
            fc1=torch.nn.Linear(784, 300),
            relu1=torch.nn.ReLU(),
            fc2=torch.nn.Linear(300, 100),
            relu2=torch.nn.ReLU(),
            fc3=torch.nn.Linear(100, 10),
        )
    )
    fresh.load_state_dict(load_file(str(tmp_path / "back.safetensors")))
    with torch.no_grad():
        again = fresh(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(again, expected, rtol=1e-5, atol=1e-5)


def _factorized_model(seed):
    from tensornet.nn.factorized.btd import BTLinear
    from tensornet.nn.factorized.ht import HTLinear
    from tensornet.nn.factorized.stt import STTLinear

    return Sequential(
        BTLinear(8, 8, 2, in_modes=(2, 4), out_modes=(2, 4), random_state=seed),
        HTLinear(8, 8, 2, in_modes=(2, 2, 2), out_modes=(2, 2, 2), random_state=seed),
        STTLinear(8, 8, 2, in_modes=(2, 4), out_modes=(4, 2), random_state=seed),
    )


#: The factor names files written before the ``<role>_<k>`` convention hold.
FORMER_NAMES = {
    "0.factor0": "0.factor_0",
    "0.factor1": "0.factor_1",
    "1.leaf0": "1.leaf_0",
    "1.leaf1": "1.leaf_1",
    "1.leaf2": "1.leaf_2",
    "1.transfer1": "1.transfer_1",
    "2.core0": "2.core_0",
    "2.core1": "2.core_1",
}


def test_indexed_factors_are_named_role_underscore_index():
    names = set(_factorized_model(0).params)
    assert set(FORMER_NAMES.values()) <= names
    assert not names & set(FORMER_NAMES)


def test_files_with_the_former_factor_names_still_load_with_a_warning(tmp_path):
    source = _perturbed(_factorized_model(0), seed=3)
    arrays = {
        {v: k for k, v in FORMER_NAMES.items()}.get(name, name): value
        for name, value in source.params.items()
    }
    assert "1.leaf0" in arrays and "1.leaf_0" not in arrays
    np.savez(tmp_path / "old.npz", **arrays)
    target = _factorized_model(1)
    with pytest.warns(DeprecationWarning, match=r"former factor names \['0.factor0'"):
        load_weights(target, tmp_path / "old.npz")
    for key, value in source.params.items():
        np.testing.assert_array_equal(target.params[key], value)


def test_current_factor_names_load_without_a_warning(tmp_path):
    import warnings

    source = _perturbed(_factorized_model(0), seed=4)
    path = save_weights(source, tmp_path / "new.npz")
    target = _factorized_model(1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        load_weights(target, path)
    np.testing.assert_array_equal(target.params["1.leaf_0"], source.params["1.leaf_0"])
