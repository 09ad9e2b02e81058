"""Losses: softmax cross-entropy on logits, mean squared error, knowledge distillation.

Cross-entropy is one autograd primitive. The forward pass uses the log-sum-exp shift
``log sum_j exp(z_j) = m + log sum_j exp(z_j - m)`` with ``m = max_j z_j`` (no overflow), and
the VJP is the closed form ``(softmax(z) - onehot(y)) / N`` instead of a traced chain of
elementwise operations.

Distillation (Hinton, Vinyals & Dean 2015, "Distilling the knowledge in a neural network"):
``alpha * T**2 * KL(softmax(t / T) || softmax(s / T)) + (1 - alpha) * CE(y, s)``. The ``T**2``
factor keeps the soft term's gradient, which scales like ``1 / T**2``, comparable across
temperatures.
"""

from __future__ import annotations

from typing import Any

import autograd.numpy as anp
import numpy as np
from autograd.extend import defvjp, primitive
from autograd.tracer import getval

from .._validation import check_numeric_array, check_real

__all__ = [
    "log_softmax",
    "softmax",
    "cross_entropy",
    "soft_cross_entropy",
    "mse",
    "distillation_loss",
    "distillation_targets",
    "DistillationLoss",
]


def log_softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable ``log softmax(z)`` along ``axis`` (plain NumPy, not traced).

    Parameters
    ----------
    z : numpy.ndarray
        Logits.
    axis : int
        Class axis.

    Returns
    -------
    numpy.ndarray
    """
    z = check_numeric_array(z, "z")
    shifted = z - z.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax along ``axis`` (plain NumPy, not traced).

    Parameters
    ----------
    z : numpy.ndarray
        Logits.
    axis : int
        Class axis.

    Returns
    -------
    numpy.ndarray
    """
    z = check_numeric_array(z, "z")
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    e /= e.sum(axis=axis, keepdims=True)
    return e


def _check_labels(logits: Any, labels: Any) -> np.ndarray:
    z = getval(logits)
    y = np.asarray(labels)
    if z.ndim != 2:
        raise ValueError(f"logits must have shape (batch, classes), got {z.shape}")
    if y.shape != (z.shape[0],) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(
            f"labels must be integers of shape ({z.shape[0]},), got {y.dtype} of shape {y.shape}"
        )
    if y.size and (y.min() < 0 or y.max() >= z.shape[1]):
        raise ValueError(f"labels must lie in [0, {z.shape[1]}), got range [{y.min()}, {y.max()}]")
    return y


@primitive
def _xent(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    logp = log_softmax(z)
    return -logp[np.arange(z.shape[0]), y].mean()


def _xent_vjp(ans, z, y):
    def vjp(g):
        p = softmax(z)
        p[np.arange(z.shape[0]), y] -= 1
        p *= g / z.shape[0]
        return p

    return vjp


defvjp(_xent, _xent_vjp)


def cross_entropy(logits: Any, labels: Any) -> Any:
    """Mean softmax cross-entropy ``-(1/N) sum_n log softmax(z_n)[y_n]`` of integer labels.

    Parameters
    ----------
    logits : array_like
        ``(N, K)`` unnormalized scores (may be an autograd box).
    labels : array_like of int
        ``(N,)`` class indices in ``[0, K)``.

    Returns
    -------
    scalar
        In the dtype of ``logits``.
    """
    check_numeric_array(logits, "logits")
    return _xent(logits, _check_labels(logits, labels))


@primitive
def soft_cross_entropy(logits: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Mean cross-entropy ``-(1/N) sum_n sum_k p_nk log softmax(z_n)_k`` of target distributions.

    The VJP with respect to ``logits`` is ``(softmax(z) - p) / N``; ``target`` is treated as a
    constant.

    Parameters
    ----------
    logits : numpy.ndarray
        ``(N, K)``.
    target : numpy.ndarray
        ``(N, K)`` rows of probabilities.

    Returns
    -------
    scalar
    """
    check_numeric_array(logits, "logits")
    check_numeric_array(target, "target")
    return -(target * log_softmax(logits)).sum() / logits.shape[0]


defvjp(
    soft_cross_entropy,
    lambda ans, z, p: lambda g: (softmax(z) - p) * (g / z.shape[0]),
)


def mse(pred: Any, target: Any) -> Any:
    """Mean squared error ``mean((pred - target)**2)`` over all entries.

    Parameters
    ----------
    pred : array_like
        Predictions (may be an autograd box).
    target : array_like
        Same shape.

    Returns
    -------
    scalar
    """
    check_numeric_array(pred, "pred")
    check_numeric_array(target, "target")
    if getval(pred).shape != np.shape(target):
        raise ValueError(
            f"pred and target shapes differ: {getval(pred).shape} vs {np.shape(target)}"
        )
    diff = pred - target
    return anp.mean(diff * diff)


def distillation_loss(
    student_logits: Any,
    teacher_logits: Any,
    labels: Any = None,
    temperature: float = 4.0,
    alpha: float = 0.9,
) -> Any:
    """Hinton et al. (2015) distillation loss.

    ``alpha * T**2 * KL(softmax(t/T) || softmax(s/T)) + (1 - alpha) * CE(labels, s)``; the KL
    term equals the soft cross-entropy minus the (constant) teacher entropy, which is
    subtracted so the loss is zero when the student copies the teacher and ``alpha = 1``.

    Parameters
    ----------
    student_logits : array_like
        ``(N, K)`` (may be an autograd box).
    teacher_logits : array_like
        ``(N, K)`` constants.
    labels : array_like of int, optional
        Hard labels; required when ``alpha < 1``.
    temperature : float
        Softening temperature ``T > 0``.
    alpha : float
        Weight of the soft term in ``[0, 1]``.

    Returns
    -------
    scalar
    """
    temperature, alpha = _check_distillation(temperature, alpha)
    z = getval(student_logits)
    t = np.asarray(teacher_logits, dtype=z.dtype)
    if t.shape != z.shape:
        raise ValueError(f"teacher_logits shape {t.shape} differs from the student's {z.shape}")
    inv_t = z.dtype.type(1.0 / temperature)
    p = softmax(t * inv_t)
    entropy = -(p * log_softmax(t * inv_t)).sum() / z.shape[0]
    soft = soft_cross_entropy(student_logits * inv_t, p) - entropy
    loss = soft * z.dtype.type(alpha * temperature**2)
    if alpha < 1:
        if labels is None:
            raise ValueError("labels are required when alpha < 1")
        loss = loss + cross_entropy(student_logits, labels) * z.dtype.type(1 - alpha)
    return loss


def _check_distillation(temperature: Any, alpha: Any) -> tuple[float, float]:
    """``temperature > 0`` and ``alpha`` in ``[0, 1]`` as floats, or a named error."""
    temperature = check_real(temperature, "temperature", minimum=0.0, strict_minimum=True)
    return temperature, check_real(alpha, "alpha", minimum=0.0, maximum=1.0)


def distillation_targets(labels: Any, teacher_logits: Any) -> np.ndarray:
    """Pack hard labels and teacher logits into one ``(N, 1 + K)`` float32 target array.

    This lets :func:`tensornet.nn.fit` and any ``(x, y)`` data loader carry both targets;
    :class:`DistillationLoss` unpacks them.

    Parameters
    ----------
    labels : array_like of int
        ``(N,)``.
    teacher_logits : array_like
        ``(N, K)``.

    Returns
    -------
    numpy.ndarray
        Column 0 holds the label, columns ``1:`` the teacher logits.
    """
    y = np.asarray(labels)
    t = np.asarray(teacher_logits, dtype=np.float32)
    if t.ndim != 2 or y.shape != (t.shape[0],):
        raise ValueError(f"labels {y.shape} and teacher_logits {t.shape} must be (N,) and (N, K)")
    return np.concatenate([y.astype(np.float32)[:, None], t], axis=1)


class DistillationLoss:
    """``loss(student_logits, packed_targets)`` for :func:`tensornet.nn.fit`.

    Parameters
    ----------
    temperature : float
        ``T > 0``.
    alpha : float
        Weight of the soft term.
    """

    def __init__(self, temperature: float = 4.0, alpha: float = 0.9) -> None:
        self.temperature, self.alpha = _check_distillation(temperature, alpha)

    def __call__(self, logits: Any, targets: np.ndarray) -> Any:
        """Evaluate on targets packed by :func:`distillation_targets`.

        Parameters
        ----------
        logits : array_like
            Student logits ``(N, K)``.
        targets : numpy.ndarray
            ``(N, 1 + K)``.

        Returns
        -------
        scalar
        """
        labels = targets[:, 0].astype(np.int64)
        return distillation_loss(logits, targets[:, 1:], labels, self.temperature, self.alpha)
