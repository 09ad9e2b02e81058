"""The training loop of tensornet/nn/train.py: end-to-end MNIST, callbacks, checkpoints."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tensornet.datasets import DataLoader, load_mnist_subset
from tensornet.nn import (
    SGD,
    Callback,
    Checkpoint,
    LambdaCallback,
    cross_entropy,
    evaluate,
    fit,
    lenet300_100,
    load_checkpoint,
    predict,
    save_checkpoint,
)
from tensornet.nn.train import _all_finite


@pytest.fixture(scope="module")
def subset():
    return load_mnist_subset()


def test_one_epoch_on_bundled_subset_beats_85_percent(subset):
    (x, y), (xt, yt) = subset
    model = lenet300_100(random_state=0)
    opt = SGD(model.params, lr=0.1, momentum=0.9)
    history = fit(model, cross_entropy, opt, (x, y), epochs=1, batch_size=64, random_state=0)
    acc = evaluate(model, (xt, yt))["accuracy"]
    assert acc > 0.85
    assert len(history) == 1 and history["loss"][0] < 1.0


def _small_problem(n=256, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, n)
    return x, y


def test_callbacks_see_live_params_after_every_step_and_epoch():
    x, y = _small_problem()
    model = lenet300_100(random_state=1)
    opt = SGD(model.params, lr=0.01)
    record = {"begin": None, "steps": [], "epochs": []}

    class Recorder(Callback):
        def on_train_begin(self, params, logs):
            record["begin"] = params["fc3.bias"].copy()

        def on_step_end(self, step, params, logs):
            record["steps"].append((step, params["fc3.bias"].copy(), logs["loss"]))

        def on_epoch_end(self, epoch, params, logs):
            record["epochs"].append((epoch, params["fc3.bias"].copy(), logs["val_accuracy"]))

    fit(
        model,
        cross_entropy,
        opt,
        (x, y),
        epochs=2,
        batch_size=100,
        val_data=(x, y),
        callbacks=[Recorder()],
        random_state=0,
    )
    assert [s for s, _, _ in record["steps"]] == list(range(1, 7))  # 3 batches x 2 epochs
    assert [e for e, _, _ in record["epochs"]] == [1, 2]
    np.testing.assert_array_equal(record["epochs"][-1][1], model.params["fc3.bias"])
    np.testing.assert_array_equal(record["steps"][2][1], record["epochs"][0][1])
    assert not np.array_equal(record["begin"], record["steps"][0][1])


def test_callback_can_stop_training():
    x, y = _small_problem()
    model = lenet300_100(random_state=1)
    opt = SGD(model.params, lr=0.01)
    stopper = LambdaCallback()
    stopper.on_step_end = lambda step, params, logs: setattr(stopper, "stop_training", step >= 2)
    history = fit(model, cross_entropy, opt, (x, y), epochs=5, batch_size=64, callbacks=[stopper])
    assert opt.t == 2 and len(history) == 1


def test_same_seed_gives_identical_training():
    x, y = _small_problem()
    results = []
    for _ in range(2):
        model = lenet300_100(random_state=3)
        fit(
            model,
            cross_entropy,
            SGD(model.params, lr=0.05, momentum=0.9),
            (x, y),
            epochs=1,
            batch_size=32,
            random_state=4,
        )
        results.append(model.state_dict())
    for k in results[0]:
        np.testing.assert_array_equal(results[0][k], results[1][k])


def test_checkpoint_round_trip_is_exact_and_resumes_identically(tmp_path):
    x, y = _small_problem()
    loader_a = DataLoader(x, y, 64, random_state=5)
    model = lenet300_100(random_state=2)
    opt = SGD(model.params, lr=0.05, momentum=0.9)
    fit(model, cross_entropy, opt, loader_a, epochs=1)
    path = save_checkpoint(tmp_path / "ckpt", model, opt, epoch=1, extra={"note": "x"})
    assert path.suffix == ".npz"
    restored = lenet300_100(random_state=99)
    opt2 = SGD(restored.params, lr=0.05, momentum=0.9)
    meta = load_checkpoint(path, restored, opt2)
    assert meta["epoch"] == 1 and meta["extra"] == {"note": "x"}
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(restored.state_dict()[k], v)
    # one more epoch with the same batches from both: identical weights
    batches = list(DataLoader(x, y, 64, random_state=6))
    fit(model, cross_entropy, opt, batches, epochs=1)
    fit(restored, cross_entropy, opt2, batches, epochs=1)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(restored.state_dict()[k], v)


def test_checkpoint_callback_writes_json_safe_metadata(tmp_path):
    x, y = _small_problem(128)
    model = lenet300_100(random_state=0)
    opt = SGD(model.params, lr=0.01)
    fit(
        model,
        cross_entropy,
        opt,
        (x, y),
        epochs=2,
        batch_size=64,
        callbacks=[Checkpoint(tmp_path / "e{epoch}.npz", model, opt)],
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e1.npz", "e2.npz"]
    meta = load_checkpoint(tmp_path / "e2.npz", lenet300_100(1))
    json.dumps(meta)
    assert len(meta["extra"]["history"]) == 2


def test_load_checkpoint_refuses_a_foreign_file(tmp_path):
    from tensornet._io import save_npz

    save_npz(tmp_path / "other.npz", {"a": np.zeros(2)}, {"kind": "something-else"})
    with pytest.raises(ValueError, match="not a 'tensornet.nn.checkpoint'"):
        load_checkpoint(tmp_path / "other.npz", lenet300_100(0))


def test_predict_and_evaluate_agree_and_restore_mode():
    x, y = _small_problem(50)
    model = lenet300_100(0)
    logits = predict(model, x, batch_size=16)
    assert logits.shape == (50, 10) and model.training
    res = evaluate(model, (x, y), batch_size=7)
    assert res["accuracy"] == pytest.approx(np.mean(logits.argmax(1) == y))
    assert res["loss"] == pytest.approx(float(cross_entropy(logits, y)), rel=1e-5)


def test_fit_reports_divergence_clearly():
    x, y = _small_problem(64)
    model = lenet300_100(0)
    opt = SGD(model.params, lr=1e6)
    with pytest.raises(FloatingPointError, match="lower the learning rate"):
        fit(model, cross_entropy, opt, (x * 100, y), epochs=3, batch_size=32)


_X8, _Y8 = _small_problem(8)


@pytest.mark.parametrize(
    "optimizer, train_data, kwargs, exc, match",
    [
        ("sgd", (_X8, _Y8), {}, TypeError, "optimizer must be a tensornet.nn Optimizer"),
        (None, (_X8, _Y8), {"epochs": 0}, ValueError, "epochs=0"),
        (None, (_X8, _Y8), {"batch_size": 0}, ValueError, "batch_size=0"),
        (
            None,
            np.ones((5, 3)),
            {},
            TypeError,
            r"train_data must be an \(x, y\) tuple .* got "
            r"ndarray of shape \(5, 3\)",
        ),
        (None, 42, {}, TypeError, r"train_data must be an \(x, y\) tuple .* got int"),
        (None, "abc", {}, TypeError, r"train_data must be an \(x, y\) tuple .* got str"),
        (
            None,
            [(_X8,)],
            {},
            TypeError,
            r"train_data batch 0 must be an \(x, y\) pair, got tuple "
            "of 1 items",
        ),
        (
            None,
            (_X8, _Y8, _Y8),
            {},
            TypeError,
            r"train_data batch 0 must be an \(x, y\) pair, got "
            r"ndarray of shape \(8, 1, 28, 28\)",
        ),
        (
            None,
            [(_X8[:4], _Y8[:3])],
            {},
            ValueError,
            r"train_data batch 0 must hold x and y with the "
            r"same number of samples, got shapes \(4, 1, 28, 28\) and \(3,\)",
        ),
        (None, (_X8, _Y8[:5]), {}, ValueError, "x and y must hold the same number of samples"),
        (None, [], {}, ValueError, "train_data yields no batches"),
    ],
)
def test_fit_refuses_bad_arguments_naming_them(optimizer, train_data, kwargs, exc, match):
    model = lenet300_100(0)
    optimizer = SGD(model.params, lr=0.1) if optimizer is None else optimizer
    with pytest.raises(exc, match=match):
        fit(model, cross_entropy, optimizer, train_data, **kwargs)


def test_fit_stops_when_one_step_makes_the_parameters_non_finite():
    x, y = _small_problem(32)
    model = lenet300_100(0)
    opt = SGD(model.params, lr=1e38)  # one step overflows float32
    with pytest.raises(
        FloatingPointError, match=r"parameter '.*' became NaN or Inf at epoch 1, step 1"
    ):
        fit(model, cross_entropy, opt, (x * 100, y), epochs=1, batch_size=32)


def test_fit_stops_when_one_step_makes_the_validation_loss_non_finite():
    x, y = _small_problem(32)
    model = lenet300_100(0)
    opt = SGD(model.params, lr=1e30)  # finite but huge weights: the logits overflow
    with pytest.raises(
        FloatingPointError, match=r"validation loss became .* after epoch 1 .step 1"
    ):
        fit(model, cross_entropy, opt, (x * 100, y), epochs=1, batch_size=32, val_data=(x, y))


def test_fit_stops_when_the_optimizer_state_is_infinite():
    x, y = _small_problem(32)
    model = lenet300_100(0)
    opt = SGD(model.params, lr=0.01, momentum=0.9)
    opt.state["velocity"]["fc2.bias"][:] = np.inf
    with pytest.raises(
        FloatingPointError, match=r"parameter 'fc2.bias' became NaN or Inf at epoch 1"
    ):
        fit(model, cross_entropy, opt, (x, y), epochs=1, batch_size=32)


def test_evaluate_refuses_batch_size_zero():
    x, y = _small_problem(8)
    with pytest.raises(ValueError, match="batch_size=0"):
        evaluate(lenet300_100(0), (x, y), batch_size=0)


def test_evaluate_refuses_a_batch_that_is_not_a_pair():
    x, _ = _small_problem(8)
    with pytest.raises(TypeError, match=r"data batch 0 must be an \(x, y\) pair"):
        evaluate(lenet300_100(0), [x])


@pytest.mark.parametrize(
    "path, match",
    [
        ("c_{step}.npz", r"holds the field \{step\}; only \{epoch\} is filled in"),
        ("c_{}.npz", r"holds the field \{\}; only \{epoch\}"),
        ("c_{epoch.npz", "is not a valid format string"),
    ],
)
def test_checkpoint_refuses_a_path_with_unknown_fields(tmp_path, path, match):
    with pytest.raises(ValueError, match=match):
        Checkpoint(tmp_path / path, lenet300_100(0))


def test_checkpoint_path_with_a_formatted_epoch_is_filled_in(tmp_path):
    x, y = _small_problem(16)
    model = lenet300_100(0)
    cb = Checkpoint(tmp_path / "c_{epoch:03d}.npz", model)
    fit(model, cross_entropy, SGD(model.params, lr=0.01), (x, y), epochs=1, callbacks=[cb])
    assert (tmp_path / "c_001.npz").is_file()


def test_checkpoint_with_nan_parameters_is_neither_saved_nor_loaded(tmp_path):
    from tensornet._io import save_npz
    from tensornet.nn.train import _CHECKPOINT_KIND

    model = lenet300_100(0)
    model.params["fc1.bias"][0] = np.nan
    with pytest.raises(ValueError, match="cannot save the checkpoint .*param/fc1.bias holds NaN"):
        save_checkpoint(tmp_path / "bad.npz", model)
    arrays = {f"param/{k}": v for k, v in model.params.items()}
    arrays.update({f"buffer/{k}": v for k, v in model.buffers.items()})
    path = save_npz(tmp_path / "bad.npz", arrays, {"kind": _CHECKPOINT_KIND, "epoch": 1})
    fresh = lenet300_100(1)
    before = fresh.state_dict()
    with pytest.raises(
        ValueError, match="refusing to load the checkpoint .*param/fc1.bias holds NaN"
    ):
        load_checkpoint(path, fresh)
    assert all(np.array_equal(before[k], v) for k, v in fresh.state_dict().items())


def test_checkpoint_with_an_infinite_velocity_is_refused(tmp_path):
    model = lenet300_100(0)
    opt = SGD(model.params, lr=0.1, momentum=0.9)
    path = save_checkpoint(tmp_path / "ok.npz", model, opt)
    arrays, _ = opt.state_dict()
    arrays["velocity/fc3.weight"][0, 0] = np.inf
    from tensornet._io import load_npz, save_npz

    stored, stored_meta = load_npz(path)
    stored["optim/velocity/fc3.weight"] = arrays["velocity/fc3.weight"]
    save_npz(path, stored, stored_meta)
    with pytest.raises(ValueError, match="optim/velocity/fc3.weight holds NaN or Inf"):
        load_checkpoint(path, model, opt)


def test_optimizer_on_a_sub_dict_freezes_the_other_parameters():
    x, y = _small_problem(64)
    model = lenet300_100(0)
    before = model.state_dict()
    trained = {k: v for k, v in model.params.items() if k.startswith("fc3.")}
    fit(model, cross_entropy, SGD(trained, lr=0.1), (x, y), epochs=1, batch_size=32)
    after = model.state_dict()
    assert np.array_equal(before["fc1.weight"], after["fc1.weight"])
    assert not np.array_equal(before["fc3.weight"], after["fc3.weight"])


def test_optimizer_on_copies_of_the_parameters_is_refused():
    x, y = _small_problem(8)
    model = lenet300_100(0)
    copies = {k: v.copy() for k, v in model.params.items()}
    with pytest.raises(ValueError, match="build the optimizer on model.params"):
        fit(model, cross_entropy, SGD(copies, lr=0.1), (x, y))


def test_checkpoint_that_does_not_fit_is_a_value_error_naming_the_file(tmp_path):
    from tensornet.nn import SGD, Linear, Sequential, load_checkpoint, save_checkpoint

    small = Sequential(Linear(2, 3, random_state=0))
    path = save_checkpoint(tmp_path / "c.npz", small, SGD(small.params, lr=0.1))
    other = Sequential(Linear(4, 3, random_state=0))
    with pytest.raises(ValueError, match=r"c\.npz: cannot restore the checkpoint"):
        load_checkpoint(path, other)
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    meta = json.loads(arrays["__tensornet_meta__"].tobytes().decode())
    meta["optimizer"] = 5
    arrays["__tensornet_meta__"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match=r"bad\.npz: cannot restore the checkpoint"):
        load_checkpoint(tmp_path / "bad.npz", small, SGD(small.params, lr=0.1))


@settings(max_examples=40, deadline=None)
@given(
    dtype=st.sampled_from([np.float32, np.float64]),
    n=st.integers(1, 300),
    bad=st.lists(st.tuples(st.integers(0, 299), st.sampled_from([np.inf, -np.inf, np.nan]))),
    huge=st.booleans(),
)
def test_all_finite_equals_numpy_isfinite_all(dtype, n, bad, huge):
    """The fast finiteness probe of the training loop agrees with ``np.isfinite(p).all()``,
    also when the finite entries are so large that their plain sum would overflow."""
    rng = np.random.default_rng(n)
    p = rng.standard_normal(n).astype(dtype)
    if huge:
        p *= np.finfo(dtype).max / 4
    for index, value in bad:
        if index < n:
            p[index] = value
    assert _all_finite(p) == bool(np.all(np.isfinite(p)))
    assert _all_finite(p.reshape(-1, 1)[::2]) == bool(np.all(np.isfinite(p[::2])))


def test_fit_on_a_tuple_equals_fit_on_the_same_batches_given_as_a_list():
    """The tuple path (own DataLoader, batches trusted) and the user-iterable path (every batch
    checked) train to the same parameters and history."""
    x, y = _small_problem(96)
    batches = list(DataLoader(x, y, 32, random_state=3))
    runs = []
    for data in ((x, y), batches):
        model = lenet300_100(random_state=0)
        opt = SGD(model.params, lr=0.05, momentum=0.9)
        hist = fit(model, cross_entropy, opt, data, epochs=1, batch_size=32, random_state=3)
        runs.append((model.params, hist))
    (p0, h0), (p1, h1) = runs
    for key in p0:
        np.testing.assert_array_equal(p0[key], p1[key])
    assert h0["loss"] == h1["loss"] and h0["accuracy"] == h1["accuracy"]
