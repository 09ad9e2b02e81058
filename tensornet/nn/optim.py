"""Optimizers (SGD, Adam, AdamW), learning-rate schedules and gradient clipping.

An optimizer holds the live parameter dict and updates its arrays **in place** from a gradient
dict. One :meth:`Optimizer.step` runs, in order:

1. the **gradient transforms** (``grad_transforms``), each ``fn(grads, params) -> grads``:
   e.g. projecting the gradient onto a DLDR subspace (Li et al., TPAMI 2022);
2. optional clipping of the global gradient norm (``clip_norm``) or of each entry
   (``clip_value``);
3. the method's update with the scheduled learning rate;
4. the **proximal maps** (``proxes``), each ``fn(params, lr) -> dict or None``: e.g. singular
   value thresholding, pruning masks, quantization. A returned dict's arrays are copied into
   the parameters; ``None`` means the map worked in place.

Later methods plug in with :meth:`Optimizer.add_grad_transform` and :meth:`Optimizer.add_prox`
without touching the training loop.

The element-wise updates run as fused single-pass Numba kernels (one read of parameter,
gradient and state, one write) instead of a chain of in-place NumPy operations, each of which
would read and write the arrays again.

Schedules are functions of the (fractional) epoch ``t / steps_per_epoch`` returning a factor of
the base learning rate; :func:`tensornet.nn.fit` sets ``steps_per_epoch``. Without it, the
epoch counts steps.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numba
import numpy as np

from .._validation import check_int, check_real

__all__ = [
    "Optimizer",
    "SGD",
    "Adam",
    "AdamW",
    "StepLR",
    "MultiStepLR",
    "CosineLR",
    "clip_grad_norm",
    "global_norm",
]

GradTransform = Callable[[dict, dict], dict]
Prox = Callable[[dict, float], "dict | None"]


# ------------------------------------------------------------------------------ kernels
@numba.njit(cache=True, nogil=True)
def _sgd_kernel(p, g, v, lr, momentum, weight_decay, nesterov, has_momentum):  # pragma: no cover
    for i in range(p.size):
        gi = g[i] + weight_decay * p[i]
        if has_momentum:
            vi = momentum * v[i] + gi
            v[i] = vi
            gi = gi + momentum * vi if nesterov else vi
        p[i] -= lr * gi


@numba.njit(cache=True, nogil=True)
def _adam_kernel(p, g, m, v, lr, b1, b2, eps, c1, c2, weight_decay, decoupled):  # pragma: no cover
    for i in range(p.size):
        gi = g[i]
        if decoupled:
            p[i] -= lr * weight_decay * p[i]
        else:
            gi = gi + weight_decay * p[i]
        mi = b1 * m[i] + (1 - b1) * gi
        vi = b2 * v[i] + (1 - b2) * gi * gi
        m[i] = mi
        v[i] = vi
        p[i] -= lr * (mi / c1) / (math.sqrt(vi / c2) + eps)


def _flat(a: np.ndarray) -> np.ndarray:
    """1-D view of a C-contiguous array (never a copy: updates must land in the array)."""
    if not a.flags.c_contiguous:
        raise ValueError("parameters updated in place must be C-contiguous arrays")
    return a.reshape(-1)


# ------------------------------------------------------------------------------ schedules
class StepLR:
    """Factor ``gamma ** floor(epoch / step_size)``.

    Parameters
    ----------
    step_size : int
        Epochs between decays.
    gamma : float
        Decay factor.
    """

    def __init__(self, step_size: int, gamma: float = 0.1) -> None:
        if step_size < 1:
            raise ValueError(f"step_size={step_size!r} must be >= 1")
        self.step_size, self.gamma = int(step_size), float(gamma)

    def __call__(self, epoch: float) -> float:
        """Factor at ``epoch``."""
        return self.gamma ** math.floor(epoch / self.step_size)


class MultiStepLR:
    """Factor ``gamma ** (number of milestones <= epoch)``.

    Parameters
    ----------
    milestones : sequence of int
        Epochs at which the rate is multiplied by ``gamma``.
    gamma : float
        Decay factor.
    """

    def __init__(self, milestones: Sequence[int], gamma: float = 0.1) -> None:
        if isinstance(milestones, (str, bytes)) or not isinstance(milestones, Sequence):
            raise TypeError(f"milestones must be a sequence of ints, got {milestones!r}")
        checked = [check_int(m, f"milestones[{i}]", minimum=0) for i, m in enumerate(milestones)]
        self.milestones, self.gamma = sorted(checked), check_real(gamma, "gamma", minimum=0.0)

    def __call__(self, epoch: float) -> float:
        """Factor at ``epoch``."""
        return self.gamma ** sum(epoch >= m for m in self.milestones)


class CosineLR:
    """Cosine annealing (Loshchilov & Hutter 2017) with optional linear warm-up.

    Factor ``min_factor + (1 - min_factor) * (1 + cos(pi * s)) / 2`` with
    ``s = (epoch - warmup) / (total_epochs - warmup)`` clipped to ``[0, 1]``; during the first
    ``warmup`` epochs the factor grows linearly from 0.

    Parameters
    ----------
    total_epochs : float
        Length of the schedule.
    min_factor : float
        Final factor.
    warmup : float
        Warm-up length in epochs.
    """

    def __init__(self, total_epochs: float, min_factor: float = 0.0, warmup: float = 0.0) -> None:
        if not total_epochs > warmup >= 0:
            raise ValueError(
                f"need total_epochs > warmup >= 0, got total_epochs={total_epochs!r}, "
                f"warmup={warmup!r}"
            )
        self.total_epochs, self.min_factor, self.warmup = (
            float(total_epochs),
            float(min_factor),
            float(warmup),
        )

    def __call__(self, epoch: float) -> float:
        """Factor at ``epoch``."""
        if epoch < self.warmup:
            return (epoch + 1e-12) / self.warmup
        s = min(max((epoch - self.warmup) / (self.total_epochs - self.warmup), 0.0), 1.0)
        return self.min_factor + (1 - self.min_factor) * 0.5 * (1 + math.cos(math.pi * s))


# ------------------------------------------------------------------------------ clipping
def global_norm(grads: dict[str, np.ndarray]) -> float:
    """Euclidean norm of all gradient entries together.

    Parameters
    ----------
    grads : dict of str to numpy.ndarray

    Returns
    -------
    float
    """
    return math.sqrt(sum(float(np.vdot(g, g)) for g in grads.values()))


def clip_grad_norm(
    grads: dict[str, np.ndarray], max_norm: float
) -> tuple[dict[str, np.ndarray], float]:
    """Rescale the gradients so their global norm is at most ``max_norm``.

    Parameters
    ----------
    grads : dict of str to numpy.ndarray
    max_norm : float
        Bound, ``> 0``.

    Returns
    -------
    grads : dict
        Scaled copies when the norm exceeded ``max_norm``, otherwise the input dict.
    norm : float
        The norm before clipping.
    """
    max_norm = check_real(max_norm, "max_norm", minimum=0.0, strict_minimum=True)
    norm = global_norm(grads)
    if norm <= max_norm:
        return grads, norm
    scale = max_norm / (norm + 1e-12)
    return {k: g * g.dtype.type(scale) for k, g in grads.items()}, norm


# ------------------------------------------------------------------------------ optimizers
class Optimizer:
    """Base optimizer: hooks, clipping, schedule, step counting and state for checkpoints.

    Parameters
    ----------
    params : dict of str to numpy.ndarray
        The live parameters (e.g. ``model.params``), updated in place.
    lr : float
        Base learning rate.
    schedule : callable, optional
        ``schedule(epoch) -> factor`` (e.g. :class:`CosineLR`).
    clip_norm : float, optional
        Clip the global gradient norm to this value.
    clip_value : float, optional
        Clip each gradient entry to ``[-clip_value, clip_value]``.
    grad_transforms : callable or list of callables, optional
        ``fn(grads, params) -> grads`` applied before the update.
    proxes : callable or list of callables, optional
        ``fn(params, lr) -> dict or None`` applied after the update.

    Attributes
    ----------
    t : int
        Steps taken.
    steps_per_epoch : int
        Converts ``t`` to the epoch given to the schedule (set by :func:`tensornet.nn.fit`).
    needs_closure : bool
        Class attribute, false here. A subclass that re-evaluates the loss (a line search, as
        in PyTorch's ``step(closure)``) sets it, and :func:`tensornet.nn.fit` then calls
        ``step(grads, closure=closure, loss=value)``: ``closure()`` is the loss of the current
        batch at the current parameters, ``closure(with_grad=True)`` also its gradient dict,
        and ``value`` the loss at the parameters ``grads`` was taken at.
    """

    _slots: tuple[str, ...] = ()
    needs_closure: bool = False

    def __init__(
        self,
        params: dict[str, np.ndarray],
        lr: float,
        schedule: Callable[[float], float] | None = None,
        clip_norm: float | None = None,
        clip_value: float | None = None,
        grad_transforms: GradTransform | Sequence[GradTransform] | None = None,
        proxes: Prox | Sequence[Prox] | None = None,
    ) -> None:
        if not isinstance(params, dict) or not params:
            raise TypeError("params must be a non-empty dict of arrays (e.g. model.params)")
        lr = check_real(lr, "lr", minimum=0.0, strict_minimum=True)
        if clip_norm is not None and not clip_norm > 0:
            raise ValueError(f"clip_norm={clip_norm!r} must be > 0")
        if clip_value is not None and not clip_value > 0:
            raise ValueError(f"clip_value={clip_value!r} must be > 0")
        for key, p in params.items():
            _flat(p)
            if not np.issubdtype(p.dtype, np.floating):
                raise TypeError(f"params[{key!r}] must be floating point, got {p.dtype}")
        self.params = params
        self.lr = float(lr)
        self.schedule = schedule
        self.clip_norm = clip_norm
        self.clip_value = clip_value
        self.grad_transforms = _as_list(grad_transforms)
        self.proxes = _as_list(proxes)
        self.t = 0
        self.steps_per_epoch = 1
        self.state = {
            slot: {k: np.zeros_like(p) for k, p in params.items()} for slot in self._slots
        }

    def add_grad_transform(self, fn: GradTransform) -> None:
        """Append a gradient transform ``fn(grads, params) -> grads`` (runs before the update).

        Parameters
        ----------
        fn : callable
        """
        self.grad_transforms.append(fn)

    def add_prox(self, fn: Prox) -> None:
        """Append a proximal map ``fn(params, lr) -> dict or None`` (runs after the update).

        Parameters
        ----------
        fn : callable
        """
        self.proxes.append(fn)

    @property
    def epoch(self) -> float:
        """Fractional epoch ``t / steps_per_epoch`` seen by the schedule."""
        return self.t / self.steps_per_epoch

    def current_lr(self) -> float:
        """Learning rate of the next step (base rate times the schedule's factor).

        Returns
        -------
        float
        """
        if self.schedule is None:
            return self.lr
        return self.lr * float(self.schedule(self.epoch))

    def step(self, grads: dict[str, np.ndarray]) -> float:
        """One update: transforms, clipping, the method's rule, proximal maps.

        Parameters
        ----------
        grads : dict of str to numpy.ndarray
            Gradient for every parameter key.

        Returns
        -------
        float
            The learning rate used.
        """
        for fn in self.grad_transforms:
            grads = fn(grads, self.params)
        if self.clip_norm is not None:
            grads, _ = clip_grad_norm(grads, self.clip_norm)
        if self.clip_value is not None:
            c = self.clip_value
            grads = {k: np.clip(g, -c, c) for k, g in grads.items()}
        lr = self.current_lr()
        self.t += 1
        for key, p in self.params.items():
            g = grads[key]
            if g.shape != p.shape:
                raise ValueError(f"grads[{key!r}] has shape {g.shape}, expected {p.shape}")
            g = np.ascontiguousarray(g, dtype=p.dtype)
            self._update(key, _flat(p), g.reshape(-1), p.dtype.type(lr))
        for fn in self.proxes:
            new = fn(self.params, lr)
            if new is not None:
                for key, value in new.items():
                    if value is not self.params[key]:
                        np.copyto(self.params[key], value, casting="same_kind")
        return lr

    def _update(self, key: str, p: np.ndarray, g: np.ndarray, lr: Any) -> None:
        """Apply the method's rule to one flattened parameter (subclasses define it)."""
        raise NotImplementedError

    def state_dict(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """The optimizer state as arrays (``"<slot>/<param>"``) and JSON metadata.

        Returns
        -------
        arrays : dict of str to numpy.ndarray
        meta : dict
        """
        arrays = {
            f"{slot}/{key}": arr.copy() for slot, d in self.state.items() for key, arr in d.items()
        }
        return arrays, {"optimizer": type(self).__name__, "t": self.t, "lr": self.lr}

    def load_state_dict(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned.

        Parameters
        ----------
        arrays : dict of str to numpy.ndarray
        meta : dict
        """
        if meta.get("optimizer") != type(self).__name__:
            raise ValueError(
                f"state was saved by {meta.get('optimizer')!r}, not {type(self).__name__!r}"
            )
        for slot, d in self.state.items():
            for key, arr in d.items():
                name = f"{slot}/{key}"
                if name not in arrays:
                    raise KeyError(f"optimizer state has no entry {name!r}")
                if not np.all(np.isfinite(arrays[name])):
                    raise ValueError(f"optimizer state {name!r} holds NaN or Inf values")
                np.copyto(arr, arrays[name], casting="same_kind")
        self.t = int(meta["t"])


class SGD(Optimizer):
    """Stochastic gradient descent with momentum, Nesterov momentum and weight decay.

    With ``g' = g + weight_decay * p`` (coupled L2) the update is
    ``v <- momentum * v + g'`` and ``p <- p - lr * v``, or with Nesterov (Sutskever et al. 2013,
    in PyTorch's form) ``p <- p - lr * (g' + momentum * v)``; without momentum
    ``p <- p - lr * g'``.

    Parameters
    ----------
    params : dict of str to numpy.ndarray
        Live parameters.
    lr : float
        Base learning rate.
    momentum : float
        Momentum coefficient in ``[0, 1)``.
    nesterov : bool
        Use Nesterov momentum (needs ``momentum > 0``).
    weight_decay : float
        L2 coefficient.
    **kwargs
        Hooks, schedule and clipping (see :class:`Optimizer`).
    """

    _slots = ("velocity",)

    def __init__(
        self,
        params: dict[str, np.ndarray],
        lr: float = 0.01,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
        **kwargs: Any,
    ) -> None:
        momentum = check_real(momentum, "momentum", minimum=0.0)
        if not momentum < 1:
            raise ValueError(f"momentum={momentum!r} must lie in [0, 1)")
        if nesterov and momentum == 0:
            raise ValueError("nesterov=True needs momentum > 0")
        if not (weight_decay >= 0 and math.isfinite(weight_decay)):
            raise ValueError(f"weight_decay={weight_decay!r} must be a finite number >= 0")
        super().__init__(params, lr, **kwargs)
        self.momentum, self.nesterov, self.weight_decay = (
            float(momentum),
            bool(nesterov),
            float(weight_decay),
        )

    def _update(self, key, p, g, lr):
        t = p.dtype.type
        _sgd_kernel(
            p,
            g,
            self.state["velocity"][key].reshape(-1),
            lr,
            t(self.momentum),
            t(self.weight_decay),
            self.nesterov,
            self.momentum > 0,
        )


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015) with bias correction and optional coupled L2 weight decay.

    ``m <- b1 m + (1 - b1) g``, ``v <- b2 v + (1 - b2) g**2``,
    ``p <- p - lr * (m / (1 - b1**t)) / (sqrt(v / (1 - b2**t)) + eps)``.

    Parameters
    ----------
    params : dict of str to numpy.ndarray
        Live parameters.
    lr : float
        Base learning rate.
    betas : (float, float)
        ``(b1, b2)``.
    eps : float
        Denominator guard.
    weight_decay : float
        L2 coefficient added to the gradient (AdamW decouples it instead).
    **kwargs
        Hooks, schedule and clipping (see :class:`Optimizer`).
    """

    _slots = ("m", "v")
    _decoupled = False

    def __init__(
        self,
        params: dict[str, np.ndarray],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        **kwargs: Any,
    ) -> None:
        b1, b2 = betas
        if not (0 <= b1 < 1 and 0 <= b2 < 1):
            raise ValueError(f"betas={betas!r} must lie in [0, 1)")
        if not (eps > 0 and math.isfinite(eps)):
            raise ValueError(f"eps={eps!r} must be a finite number > 0")
        if not (weight_decay >= 0 and math.isfinite(weight_decay)):
            raise ValueError(f"weight_decay={weight_decay!r} must be a finite number >= 0")
        super().__init__(params, lr, **kwargs)
        self.betas, self.eps, self.weight_decay = (
            (float(b1), float(b2)),
            float(eps),
            float(weight_decay),
        )

    def _update(self, key, p, g, lr):
        t = p.dtype.type
        b1, b2 = self.betas
        _adam_kernel(
            p,
            g,
            self.state["m"][key].reshape(-1),
            self.state["v"][key].reshape(-1),
            lr,
            t(b1),
            t(b2),
            t(self.eps),
            t(1 - b1**self.t),
            t(1 - b2**self.t),
            t(self.weight_decay),
            self._decoupled,
        )


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter 2019).

    Before the Adam step, ``p <- p - lr * weight_decay * p``.

    Parameters
    ----------
    params : dict of str to numpy.ndarray
        Live parameters.
    lr : float
        Base learning rate.
    betas : (float, float)
        ``(b1, b2)``.
    eps : float
        Denominator guard.
    weight_decay : float
        Decoupled decay coefficient.
    **kwargs
        Hooks, schedule and clipping (see :class:`Optimizer`).
    """

    _decoupled = True

    def __init__(
        self,
        params: dict[str, np.ndarray],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        **kwargs: Any,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, **kwargs)


def _as_list(fns: Any) -> list:
    if fns is None:
        return []
    if callable(fns):
        return [fns]
    out = list(fns)
    for fn in out:
        if not callable(fn):
            raise TypeError(f"hook {fn!r} is not callable")
    return out
