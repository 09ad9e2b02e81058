"""The training loop: :func:`fit`, :func:`evaluate`, :func:`predict`, callbacks, checkpoints.

One step of :func:`fit` is: draw a batch, compute the loss and its gradient with respect to the
parameter dict (:func:`tensornet.nn.value_and_grad` on ``loss(model.apply(params, x), y)``
plus an optional ``regularizer(params)``), hand the gradient to ``optimizer.step`` (which runs
its gradient transforms, update and proximal maps), then call every callback's
``on_step_end`` with the live parameters. After each epoch the validation metrics are computed
and ``on_epoch_end`` is called. Callbacks receive the live arrays: copy what you keep.

Checkpoints are one ``.npz`` (parameters, buffers, optimizer state) plus JSON metadata, written
atomically by :func:`tensornet._io.save_npz` and never unpickled.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from autograd.tracer import getval
from tqdm.auto import tqdm

from .._io import load_npz, save_npz
from .._validation import check_int
from .module import Module, value_and_grad
from .optim import Optimizer

__all__ = [
    "History",
    "Callback",
    "LambdaCallback",
    "Checkpoint",
    "fit",
    "evaluate",
    "predict",
    "save_checkpoint",
    "load_checkpoint",
]

_CHECKPOINT_KIND = "tensornet.nn.checkpoint"


class History:
    """Per-epoch metrics of a :func:`fit` run.

    Attributes
    ----------
    history : dict of str to list
        ``"loss"``, ``"accuracy"`` (running training averages), ``"val_loss"``,
        ``"val_accuracy"`` (when validation data is given), ``"lr"`` and ``"seconds"`` (wall
        time of the epoch's training steps), one entry per epoch.
    """

    def __init__(self) -> None:
        self.history: dict[str, list[float]] = {}

    def append(self, logs: dict[str, float]) -> None:
        """Record one epoch's metrics.

        Parameters
        ----------
        logs : dict of str to float
        """
        for key, value in logs.items():
            self.history.setdefault(key, []).append(float(value))

    def __getitem__(self, key: str) -> list[float]:
        return self.history[key]

    def __len__(self) -> int:
        return len(next(iter(self.history.values()), []))

    def as_dict(self) -> dict[str, list[float]]:
        """A JSON-serializable copy.

        Returns
        -------
        dict of str to list of float
        """
        return {k: list(v) for k, v in self.history.items()}

    def __repr__(self) -> str:
        return f"History(epochs={len(self)}, keys={sorted(self.history)})"


class Callback:
    """Base class of training callbacks; every hook is a no-op by default.

    The parameters passed are the model's live arrays (updated in place by the optimizer).
    Set ``self.stop_training = True`` in a hook to end :func:`fit` after the current step.
    """

    stop_training = False

    def on_train_begin(self, params: dict[str, np.ndarray], logs: dict[str, Any]) -> None:
        """Before the first step (``params`` are the initial weights).

        Parameters
        ----------
        params : dict of str to numpy.ndarray
        logs : dict
        """

    def on_step_end(self, step: int, params: dict[str, np.ndarray], logs: dict[str, Any]) -> None:
        """After every optimizer step; ``logs`` has ``"loss"``, ``"lr"``, ``"epoch"``.

        Parameters
        ----------
        step : int
            Steps taken so far (1-based).
        params : dict of str to numpy.ndarray
        logs : dict
        """

    def on_epoch_end(self, epoch: int, params: dict[str, np.ndarray], logs: dict[str, Any]) -> None:
        """After every epoch; ``logs`` holds that epoch's :class:`History` entries.

        Parameters
        ----------
        epoch : int
            Epochs done (1-based).
        params : dict of str to numpy.ndarray
        logs : dict
        """

    def on_train_end(self, params: dict[str, np.ndarray], logs: dict[str, Any]) -> None:
        """After the last epoch.

        Parameters
        ----------
        params : dict of str to numpy.ndarray
        logs : dict
        """


class LambdaCallback(Callback):
    """A callback from plain functions with the hook signatures of :class:`Callback`.

    Parameters
    ----------
    on_train_begin, on_step_end, on_epoch_end, on_train_end : callable, optional
        Functions with the signature of the hook of the same name (without ``self``).
    """

    def __init__(
        self,
        on_train_begin: Callable | None = None,
        on_step_end: Callable | None = None,
        on_epoch_end: Callable | None = None,
        on_train_end: Callable | None = None,
    ) -> None:
        for name, fn in (
            ("on_train_begin", on_train_begin),
            ("on_step_end", on_step_end),
            ("on_epoch_end", on_epoch_end),
            ("on_train_end", on_train_end),
        ):
            if fn is not None:
                if not callable(fn):
                    raise TypeError(f"{name} must be callable or None, got {fn!r}")
                setattr(self, name, fn)


class Checkpoint(Callback):
    """Save a checkpoint (model, optimizer, history so far) every ``every`` epochs.

    Parameters
    ----------
    path : str or path-like
        File written (overwritten atomically each time); ``{epoch}`` in the name is filled in.
    model : Module
        The model being trained.
    optimizer : Optimizer, optional
        Its state is saved too, so training can resume exactly.
    every : int
        Period in epochs.
    """

    def __init__(
        self, path: str | Path, model: Module, optimizer: Optimizer | None = None, every: int = 1
    ) -> None:
        self.path = str(path)
        self.model = model
        self.optimizer = optimizer
        self.every = check_int(every, "every", minimum=1)
        self.logs: list[dict[str, Any]] = []

    def on_epoch_end(self, epoch: int, params: dict[str, np.ndarray], logs: dict[str, Any]) -> None:
        """Save when ``epoch`` is a multiple of ``every``."""
        self.logs.append(dict(logs))
        if epoch % self.every == 0:
            save_checkpoint(
                self.path.format(epoch=epoch),
                self.model,
                self.optimizer,
                epoch=epoch,
                extra={"history": self.logs},
            )


def _as_loader(data: Any, batch_size: int, shuffle: bool, random_state: Any) -> Any:
    """A DataLoader for ``(x, y)`` tuples; anything else iterable with len() is used as is."""
    if isinstance(data, tuple) and len(data) == 2:
        from ..datasets import DataLoader

        return DataLoader(data[0], data[1], batch_size, shuffle=shuffle, random_state=random_state)
    if not hasattr(data, "__iter__") or not hasattr(data, "__len__"):
        raise TypeError("data must be an (x, y) tuple or an iterable of (x, y) batches with len()")
    return data


def fit(
    model: Module,
    loss: Callable[[Any, Any], Any],
    optimizer: Optimizer,
    train_data: Any,
    epochs: int = 1,
    batch_size: int = 128,
    val_data: Any = None,
    callbacks: Sequence[Callback] | None = None,
    regularizer: Callable[[dict], Any] | None = None,
    random_state: Any = None,
    progress: bool | None = None,
    verbose: bool = False,
) -> History:
    """Train ``model`` by minimizing ``loss(model.apply(params, x), y)`` with ``optimizer``.

    Parameters
    ----------
    model : Module
        Trained in place (its ``params`` are the optimizer's arrays).
    loss : callable
        ``loss(outputs, targets) -> scalar``, e.g. :func:`tensornet.nn.cross_entropy`.
    optimizer : Optimizer
        Built on ``model.params`` or a sub-dict of it (the other parameters stay frozen); its
        ``steps_per_epoch`` is set here for the schedule.
    train_data : (x, y) tuple or iterable of batches
        A tuple is batched by :class:`tensornet.datasets.DataLoader` (shuffled, seeded by
        ``random_state``); any iterable of ``(x, y)`` batches with ``len()`` is used as is.
    epochs : int
        Passes over the data.
    batch_size : int
        Batch size when ``train_data`` is a tuple.
    val_data : (x, y) tuple, optional
        Evaluated after every epoch (``val_loss``, ``val_accuracy``).
    callbacks : sequence of Callback, optional
        Hooks receiving the live parameters after each step and epoch.
    regularizer : callable, optional
        ``regularizer(params) -> scalar`` added to the loss (differentiated too).
    random_state : None, int or numpy.random.Generator
        Seed of the batch order when ``train_data`` is a tuple.
    progress : bool, optional
        Show tqdm bars; by default only when stderr is a terminal.
    verbose : bool
        Print one summary line per epoch.

    Returns
    -------
    History
    """
    epochs = check_int(epochs, "epochs", minimum=1)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    if not isinstance(model, Module):
        raise TypeError(f"model must be a tensornet.nn.Module, got {type(model).__name__}")
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizer must be a tensornet.nn Optimizer, got {optimizer!r}")
    loader = _as_loader(train_data, batch_size, True, random_state)
    n_batches = len(loader)
    if n_batches == 0:
        raise ValueError("train_data yields no batches")
    callbacks = list(callbacks or [])
    params = optimizer.params
    frozen = _frozen_params(model, params)
    optimizer.steps_per_epoch = n_batches
    disable = None if progress is None else not progress
    last_outputs: list[Any] = [None]

    def objective(p, xb, yb):
        out = model.apply({**frozen, **p} if frozen else p, xb)
        last_outputs[0] = getval(out)
        value = loss(out, yb)
        if regularizer is not None:
            value = value + regularizer(p)
        return value

    step_fn = value_and_grad(objective)
    history = History()
    model.train()
    for cb in callbacks:
        cb.on_train_begin(params, {"epochs": epochs, "steps_per_epoch": n_batches})
    stop = False
    for epoch in range(epochs):
        model.train()
        start = time.perf_counter()
        total_loss, total_correct, total_seen, lr = 0.0, 0, 0, optimizer.current_lr()
        bar = tqdm(
            loader,
            total=n_batches,
            desc=f"epoch {epoch + 1}/{epochs}",
            leave=False,
            disable=disable,
            file=sys.stderr,
        )
        for batch, (xb, yb) in enumerate(bar):
            with np.errstate(over="ignore", invalid="ignore"):  # divergence is reported below
                value, grads = step_fn(params, xb, yb)
                lr = optimizer.step(grads)
            value = float(value)
            if not math.isfinite(value):
                raise FloatingPointError(
                    f"loss became {value} at epoch {epoch + 1}, step {optimizer.t}; "
                    f"lower the learning rate (lr={lr:g})"
                )
            n = len(yb)
            total_loss += value * n
            total_seen += n
            total_correct += _n_correct(last_outputs[0], yb)
            step_logs = {"loss": value, "lr": lr, "epoch": epoch + (batch + 1) / n_batches}
            for cb in callbacks:
                cb.on_step_end(optimizer.t, params, step_logs)
                stop = stop or cb.stop_training
            if bar.disable is False:
                bar.set_postfix(loss=f"{total_loss / total_seen:.4f}", refresh=False)
            if stop:
                break
        bar.close()
        logs: dict[str, float] = {
            "loss": total_loss / max(total_seen, 1),
            "accuracy": total_correct / max(total_seen, 1) if total_correct >= 0 else float("nan"),
            "lr": lr,
            "seconds": time.perf_counter() - start,
        }
        if val_data is not None:
            val = evaluate(model, val_data, loss=loss)
            logs["val_loss"], logs["val_accuracy"] = val["loss"], val["accuracy"]
        history.append(logs)
        if verbose:
            print(_format_logs(epoch + 1, epochs, logs), flush=True)
        for cb in callbacks:
            cb.on_epoch_end(epoch + 1, params, logs)
            stop = stop or cb.stop_training
        if stop:
            break
    for cb in callbacks:
        cb.on_train_end(params, history.as_dict())
    return history


def _frozen_params(model: Module, trained: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The model's parameters the optimizer does not train; check the trained ones are live."""
    live = model.params
    for key, value in trained.items():
        if key not in live:
            raise ValueError(f"optimizer parameter {key!r} is not a parameter of the model")
        if value is not live[key]:
            raise ValueError(
                f"optimizer parameter {key!r} is not the model's array: build the optimizer on "
                "model.params (or a sub-dict of it) so updates reach the model"
            )
    return {k: v for k, v in live.items() if k not in trained}


def _n_correct(outputs: Any, targets: Any) -> int:
    """Correct predictions for class-index targets; -1 when the targets are not labels."""
    y = np.asarray(targets)
    if (
        outputs is None
        or y.ndim != 1
        or outputs.ndim != 2
        or not np.issubdtype(y.dtype, np.integer)
    ):
        return -(10**12)
    return int(np.count_nonzero(outputs.argmax(axis=1) == y))


def _format_logs(epoch: int, epochs: int, logs: dict[str, float]) -> str:
    parts = [f"epoch {epoch}/{epochs}", f"loss {logs['loss']:.4f}"]
    if logs["accuracy"] == logs["accuracy"]:
        parts.append(f"acc {logs['accuracy']:.4f}")
    if "val_loss" in logs:
        parts.append(f"val_loss {logs['val_loss']:.4f}")
        parts.append(f"val_acc {logs['val_accuracy']:.4f}")
    parts.append(f"lr {logs['lr']:.3g}")
    parts.append(f"{logs['seconds']:.1f} s")
    return "  ".join(parts)


def predict(model: Module, x: Any, batch_size: int = 1000) -> np.ndarray:
    """Model outputs for ``x`` in evaluation mode, computed in batches.

    The module's training/evaluation mode is restored afterwards.

    Parameters
    ----------
    model : Module
    x : array_like
        Inputs, samples on the first axis.
    batch_size : int
        Samples per forward pass.

    Returns
    -------
    numpy.ndarray
        Outputs stacked along the first axis (e.g. logits ``(N, K)``).
    """
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    x = np.asarray(x)
    if x.ndim == 0 or len(x) == 0:
        raise ValueError(f"x must hold at least one sample, got shape {x.shape}")
    was_training = [m.training for m in model.modules()]
    model.eval()
    try:
        params = model.params
        outs = [
            np.asarray(model.apply(params, x[i : i + batch_size]))
            for i in range(0, len(x), batch_size)
        ]
    finally:
        for m, mode in zip(model.modules(), was_training, strict=True):
            m.training = mode
    return np.concatenate(outs, axis=0)


def evaluate(
    model: Module,
    data: Any,
    loss: Callable[[Any, Any], Any] | None = None,
    batch_size: int = 1000,
) -> dict[str, float]:
    """Mean loss and accuracy of ``model`` on ``data`` (evaluation mode).

    Parameters
    ----------
    model : Module
    data : (x, y) tuple or iterable of (x, y) batches
        Labels ``y`` as class indices give an accuracy; other targets give ``nan`` for it.
    loss : callable, optional
        ``loss(outputs, targets)``; defaults to cross-entropy for label targets.
    batch_size : int
        Batch size for a tuple.

    Returns
    -------
    dict
        ``{"loss": float, "accuracy": float, "n": int}``.
    """
    from .losses import cross_entropy

    loss = cross_entropy if loss is None else loss
    if isinstance(data, tuple) and len(data) == 2:
        x, y = np.asarray(data[0]), np.asarray(data[1])
        if len(x) != len(y):
            raise ValueError(f"x and y lengths differ: {len(x)} vs {len(y)}")
        batches: Iterable = (
            (x[i : i + batch_size], y[i : i + batch_size]) for i in range(0, len(x), batch_size)
        )
    else:
        batches = _as_loader(data, batch_size, False, None)
    was_training = [m.training for m in model.modules()]
    model.eval()
    total_loss, correct, seen = 0.0, 0, 0
    try:
        params = model.params
        for xb, yb in batches:
            out = np.asarray(model.apply(params, xb))
            n = len(yb)
            total_loss += float(loss(out, yb)) * n
            correct += _n_correct(out, yb)
            seen += n
    finally:
        for m, mode in zip(model.modules(), was_training, strict=True):
            m.training = mode
    if seen == 0:
        raise ValueError("data holds no samples")
    accuracy = correct / seen if correct >= 0 else float("nan")
    return {"loss": total_loss / seen, "accuracy": accuracy, "n": seen}


def save_checkpoint(
    path: str | Path,
    model: Module,
    optimizer: Optimizer | None = None,
    epoch: int | None = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write model parameters, buffers and optimizer state atomically to one ``.npz``.

    Parameters
    ----------
    path : str or path-like
        Target (``.npz`` appended when missing).
    model : Module
    optimizer : Optimizer, optional
    epoch : int, optional
        Stored in the metadata.
    extra : dict, optional
        JSON-serializable metadata (e.g. the history).

    Returns
    -------
    pathlib.Path
    """
    if not isinstance(model, Module):
        raise TypeError(f"model must be a tensornet.nn.Module, got {type(model).__name__}")
    arrays = {f"param/{k}": v for k, v in model.params.items()}
    arrays.update({f"buffer/{k}": v for k, v in model.buffers.items()})
    meta: dict[str, Any] = {"kind": _CHECKPOINT_KIND, "model": type(model).__name__, "epoch": epoch}
    if optimizer is not None:
        opt_arrays, opt_meta = optimizer.state_dict()
        arrays.update({f"optim/{k}": v for k, v in opt_arrays.items()})
        meta["optimizer"] = opt_meta
    if extra:
        meta["extra"] = extra
    return save_npz(path, arrays, meta)


def load_checkpoint(
    path: str | Path, model: Module, optimizer: Optimizer | None = None
) -> dict[str, Any]:
    """Restore a checkpoint written by :func:`save_checkpoint` into ``model`` (and ``optimizer``).

    Parameters
    ----------
    path : str or path-like
    model : Module
        Must have the same parameter and buffer names and shapes.
    optimizer : Optimizer, optional
        Restored too (the file must hold the state of the same optimizer class).

    Returns
    -------
    dict
        The checkpoint's metadata (``epoch``, ``extra``, ...).
    """
    arrays, meta = load_npz(path, kind=_CHECKPOINT_KIND)
    state = {
        k.split("/", 1)[1]: v for k, v in arrays.items() if k.startswith(("param/", "buffer/"))
    }
    try:
        model.load_state_dict(state, strict=True)
        if optimizer is not None:
            if "optimizer" not in meta:
                raise ValueError("it holds no optimizer state")
            opt = {k[len("optim/") :]: v for k, v in arrays.items() if k.startswith("optim/")}
            optimizer.load_state_dict(opt, meta["optimizer"])
    except (KeyError, ValueError, TypeError, OverflowError, AttributeError, IndexError) as exc:
        raise ValueError(f"{path}: cannot restore the checkpoint: {exc}") from exc
    return meta
