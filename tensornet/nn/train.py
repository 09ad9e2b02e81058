"""The training loop: :func:`fit`, :func:`evaluate`, :func:`predict`, callbacks, checkpoints.

One step of :func:`fit` is: draw a batch, compute the loss and its gradient with respect to the
parameter dict (:func:`tensornet.nn.value_and_grad` on ``loss(model.apply(params, x), y)``
plus an optional ``regularizer(params)``), hand the gradient to ``optimizer.step`` (which runs
its gradient transforms, update and proximal maps; an optimizer whose ``needs_closure`` is set
also gets a closure re-evaluating the loss of the batch, PyTorch's ``step(closure)``), then call
every callback's ``on_step_end`` with the live parameters. After each epoch the validation
metrics are computed and ``on_epoch_end`` is called. Callbacks receive the live arrays: copy
what you keep.

Checkpoints are one ``.npz`` (parameters, buffers, optimizer state) plus JSON metadata, written
atomically by :func:`tensornet._io.save_npz` and never unpickled.
"""

from __future__ import annotations

import math
import string
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numba
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
        File written (overwritten atomically each time); ``{epoch}`` in the name is filled in
        (the only field allowed).
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
        self.path = _check_checkpoint_path(path)
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


def _check_checkpoint_path(path: str | Path) -> str:
    """The path as a string, checking that ``{epoch}`` is its only format field."""
    text = str(path)
    try:
        fields = [field for _, field, _, _ in string.Formatter().parse(text) if field is not None]
    except ValueError as exc:
        raise ValueError(f"path={text!r} is not a valid format string: {exc}") from None
    for field in fields:
        if field != "epoch":
            raise ValueError(
                f"path={text!r} holds the field {{{field}}}; only {{epoch}} is filled in "
                "(write {{ and }} for literal braces)"
            )
    return text


def _as_loader(data: Any, batch_size: int, shuffle: bool, random_state: Any, name: str) -> Any:
    """A DataLoader for ``(x, y)`` tuples; any other iterable with len() is used as is."""
    if isinstance(data, tuple) and len(data) == 2:
        from ..datasets import DataLoader

        return DataLoader(data[0], data[1], batch_size, shuffle=shuffle, random_state=random_state)
    if (
        isinstance(data, (np.ndarray, str, bytes, dict))
        or not hasattr(data, "__iter__")
        or not hasattr(data, "__len__")
    ):
        raise TypeError(
            f"{name} must be an (x, y) tuple or an iterable of (x, y) batches with len(), got "
            f"{_describe(data)}"
        )
    return data


def _is_own_loader(loader: Any) -> bool:
    """Whether ``loader`` is a plain DataLoader, whose batches are (x, y) pairs of equal length."""
    from ..datasets import DataLoader

    return type(loader) is DataLoader


def _describe(value: Any) -> str:
    """``ndarray of shape (5, 3)``, ``tuple of 3 items``, ... for error messages."""
    if isinstance(value, np.ndarray):
        return f"ndarray of shape {value.shape}"
    if isinstance(value, (tuple, list)):
        return f"{type(value).__name__} of {len(value)} items"
    return type(value).__name__


def _batch_pair(item: Any, name: str, index: int) -> tuple[Any, Any]:
    """Unpack one ``(x, y)`` batch of ``name``, checking that it is a pair of equal lengths."""
    if not isinstance(item, (tuple, list)) or len(item) != 2:
        raise TypeError(f"{name} batch {index} must be an (x, y) pair, got {_describe(item)}")
    xb, yb = item
    n_x, n_y = np.shape(xb)[:1], np.shape(yb)[:1]
    if not n_x or not n_y or n_x != n_y:
        raise ValueError(
            f"{name} batch {index} must hold x and y with the same number of samples, got shapes "
            f"{np.shape(xb)} and {np.shape(yb)}"
        )
    return xb, yb


@numba.njit(cache=True, nogil=True, fastmath={"reassoc"})
def _zero_probe(a):  # pragma: no cover
    """``sum(a * 0)``: 0 when every entry is finite, NaN otherwise; it cannot overflow."""
    total = a.dtype.type(0)
    for i in range(a.size):
        total += a[i] * a.dtype.type(0)
    return total


def _all_finite(p: np.ndarray) -> bool:
    """Whether ``p`` holds no NaN or Inf: one vectorized pass for contiguous float arrays."""
    if p.flags.c_contiguous and p.dtype in (np.float32, np.float64) and p.size:
        return _zero_probe(p.reshape(-1)) == 0
    return bool(np.all(np.isfinite(p)))


def _check_finite_params(params: dict[str, np.ndarray], where: str, lr: float) -> None:
    """Raise ``FloatingPointError`` naming the first parameter that holds NaN or Inf."""
    for key, p in params.items():
        if not _all_finite(p):
            raise FloatingPointError(
                f"parameter {key!r} became NaN or Inf at {where} (after the optimizer step); "
                f"lower the learning rate (lr={lr:g}) or check the optimizer state"
            )


class _Trainer:
    """The state shared by the steps and epochs of one :func:`fit` call."""

    def __init__(
        self,
        model: Module,
        loss: Callable[[Any, Any], Any],
        optimizer: Optimizer,
        loader: Any,
        callbacks: list[Callback],
        regularizer: Callable[[dict], Any] | None,
        progress: bool | None,
    ) -> None:
        self.model, self.optimizer = model, optimizer
        self.loader, self.callbacks = loader, callbacks
        self.trusted = _is_own_loader(loader)
        self.params = optimizer.params
        self.n_batches = len(loader)
        self.disable = None if progress is None else not progress
        self.last_outputs: Any = None
        self.needs_closure = bool(optimizer.needs_closure)
        frozen = _frozen_params(model, self.params)

        def objective(p, xb, yb):
            out = model.apply({**frozen, **p} if frozen else p, xb)
            self.last_outputs = getval(out)
            value = loss(out, yb)
            if regularizer is not None:
                value = value + regularizer(p)
            return value

        self.objective = objective
        self.step_fn = value_and_grad(objective)

    def step(self, xb: Any, yb: Any, epoch: int) -> tuple[float, float]:
        """One optimizer step; returns ``(loss, lr)`` or raises when training diverged."""
        with np.errstate(over="ignore", invalid="ignore"):  # divergence is reported below
            value, grads = self.step_fn(self.params, xb, yb)
            if self.needs_closure:
                closure = self.closure(xb, yb)
                lr = self.optimizer.step(grads, closure=closure, loss=float(value))
            else:
                lr = self.optimizer.step(grads)
        value = float(value)
        where = f"epoch {epoch + 1}, step {self.optimizer.t}"
        if not math.isfinite(value):
            raise FloatingPointError(
                f"loss became {value} at {where}; lower the learning rate (lr={lr:g})"
            )
        _check_finite_params(self.params, where, lr)
        return value, lr

    def closure(self, xb: Any, yb: Any) -> Callable[..., Any]:
        """The objective on this batch at the live parameters, for ``optimizer.step``.

        ``closure()`` returns the loss as a float; ``closure(with_grad=True)`` returns
        ``(loss, grads)``. Neither changes the outputs recorded for the training accuracy.
        """

        def batch_objective(with_grad: bool = False) -> Any:
            kept = self.last_outputs
            try:
                if with_grad:
                    value, grads = self.step_fn(self.params, xb, yb)
                    return float(value), grads
                return float(getval(self.objective(self.params, xb, yb)))
            finally:
                self.last_outputs = kept

        return batch_objective

    def epoch(self, epoch: int, epochs: int) -> tuple[dict[str, float], bool]:
        """Train one epoch; returns its logs and whether a callback asked to stop."""
        self.model.train()
        start = time.perf_counter()
        total_loss, total_correct, total_seen = 0.0, 0, 0
        lr, stop = self.optimizer.current_lr(), False
        bar = tqdm(
            self.loader,
            total=self.n_batches,
            desc=f"epoch {epoch + 1}/{epochs}",
            leave=False,
            disable=self.disable,
            file=sys.stderr,
        )
        for batch, item in enumerate(bar):
            xb, yb = item if self.trusted else _batch_pair(item, "train_data", batch)
            value, lr = self.step(xb, yb, epoch)
            n = len(yb)
            total_loss += value * n
            total_seen += n
            total_correct += _n_correct(self.last_outputs, yb)
            step_logs = {"loss": value, "lr": lr, "epoch": epoch + (batch + 1) / self.n_batches}
            stop = self.notify("on_step_end", step_logs, self.optimizer.t) or stop
            if bar.disable is False:
                bar.set_postfix(loss=f"{total_loss / total_seen:.4f}", refresh=False)
            if stop:
                break
        bar.close()
        seen = max(total_seen, 1)
        logs: dict[str, float] = {
            "loss": total_loss / seen,
            "accuracy": total_correct / seen if total_correct >= 0 else float("nan"),
            "lr": lr,
            "seconds": time.perf_counter() - start,
        }
        return logs, stop

    def notify(self, hook: str, logs: dict[str, Any], count: int | None = None) -> bool:
        """Call ``hook`` of every callback with the live parameters; True if one asks to stop."""
        args = (self.params, logs) if count is None else (count, self.params, logs)
        stop = False
        for cb in self.callbacks:
            getattr(cb, hook)(*args)
            stop = stop or cb.stop_training
        return stop


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

    Raises
    ------
    FloatingPointError
        When the loss or a parameter becomes NaN or Inf; the message names the epoch, the step
        (and the parameter) and the learning rate.
    TypeError, ValueError
        For a malformed ``train_data`` (not an ``(x, y)`` tuple or an iterable of ``(x, y)``
        batches of equal lengths) and the other bad arguments, naming them.
    """
    epochs = check_int(epochs, "epochs", minimum=1)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    if not isinstance(model, Module):
        raise TypeError(f"model must be a tensornet.nn.Module, got {type(model).__name__}")
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizer must be a tensornet.nn Optimizer, got {optimizer!r}")
    loader = _as_loader(train_data, batch_size, True, random_state, "train_data")
    if len(loader) == 0:
        raise ValueError("train_data yields no batches")
    trainer = _Trainer(model, loss, optimizer, loader, list(callbacks or []), regularizer, progress)
    optimizer.steps_per_epoch = trainer.n_batches
    history = History()
    model.train()
    trainer.notify("on_train_begin", {"epochs": epochs, "steps_per_epoch": trainer.n_batches})
    for epoch in range(epochs):
        logs, stop = trainer.epoch(epoch, epochs)
        if val_data is not None:
            logs.update(_validation_logs(model, val_data, loss, epoch, optimizer))
        history.append(logs)
        if verbose:
            print(_format_logs(epoch + 1, epochs, logs), flush=True)
        if trainer.notify("on_epoch_end", logs, epoch + 1) or stop:
            break
    trainer.notify("on_train_end", history.as_dict())
    return history


def _validation_logs(
    model: Module, val_data: Any, loss: Callable, epoch: int, optimizer: Optimizer
) -> dict[str, float]:
    """``val_loss`` and ``val_accuracy``; a non-finite loss means training diverged."""
    with np.errstate(over="ignore", invalid="ignore"):  # divergence is reported below
        val = evaluate(model, val_data, loss=loss)
    if not math.isfinite(val["loss"]):
        raise FloatingPointError(
            f"validation loss became {val['loss']} after epoch {epoch + 1} (step "
            f"{optimizer.t}): the parameters are finite but too large; lower the learning rate "
            f"(lr={optimizer.current_lr():g})"
        )
    return {"val_loss": val["loss"], "val_accuracy": val["accuracy"]}


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
    if outputs is None or y.ndim != 1 or outputs.ndim != 2 or y.dtype.kind not in "iu":
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

    batch_size = check_int(batch_size, "batch_size", minimum=1)
    loss = cross_entropy if loss is None else loss
    if isinstance(data, tuple) and len(data) == 2:
        x, y = np.asarray(data[0]), np.asarray(data[1])
        if len(x) != len(y):
            raise ValueError(f"x and y lengths differ: {len(x)} vs {len(y)}")
        batches: Iterable = (
            (x[i : i + batch_size], y[i : i + batch_size]) for i in range(0, len(x), batch_size)
        )
    else:
        batches = _as_loader(data, batch_size, False, None, "data")
    was_training = [m.training for m in model.modules()]
    model.eval()
    total_loss, correct, seen = 0.0, 0, 0
    try:
        params = model.params
        for index, item in enumerate(batches):
            xb, yb = _batch_pair(item, "data", index)
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

    Raises
    ------
    ValueError
        If a parameter, buffer or optimizer state holds NaN or Inf (a diverged run is not saved).
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
    _check_finite_arrays(arrays, f"cannot save the checkpoint {path}")
    return save_npz(path, arrays, meta)


def _check_finite_arrays(arrays: dict[str, np.ndarray], context: str) -> None:
    """Raise ``ValueError`` naming the first floating array that holds NaN or Inf."""
    for key, value in arrays.items():
        value = np.asarray(value)
        if np.issubdtype(value.dtype, np.inexact) and not np.all(np.isfinite(value)):
            raise ValueError(f"{context}: {key} holds NaN or Inf values (a diverged run)")


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

    Raises
    ------
    ValueError
        If the file is not a tensornet checkpoint, or a parameter, buffer or optimizer state in
        it holds NaN or Inf (nothing is loaded then).
    """
    arrays, meta = load_npz(path, kind=_CHECKPOINT_KIND)
    _check_finite_arrays(arrays, f"refusing to load the checkpoint {path}")
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
