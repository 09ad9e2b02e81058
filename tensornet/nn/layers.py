"""Dense layers and activations: Linear, Flatten, ReLU, Tanh, Sigmoid, Dropout, BatchNorm1d/2d.

The hot operations are autograd primitives with hand-written vector-Jacobian products (VJPs):
:func:`linear` fuses ``x @ W + b`` into one traced node (one GEMM forward, two GEMMs and a sum
backward), :func:`relu` and :func:`sigmoid` reuse their output in the VJP, and
:func:`batch_norm_train` implements the closed-form BatchNorm gradient (Ioffe & Szegedy 2015)
instead of tracing a dozen elementwise operations. Everything stays in the input dtype
(float32 for training).
"""

from __future__ import annotations

from typing import Any

import autograd.numpy as anp
import numba
import numpy as np
from autograd.extend import defvjp, defvjp_argnums, primitive
from autograd.tracer import getval
from scipy.special import expit

from .._validation import check_int, check_numeric_array, check_option, check_random_state
from . import _parallel
from . import init as _init
from .module import Module

__all__ = [
    "linear",
    "relu",
    "sigmoid",
    "batch_norm_train",
    "Linear",
    "Flatten",
    "ReLU",
    "Tanh",
    "Sigmoid",
    "Dropout",
    "BatchNorm1d",
    "BatchNorm2d",
]

_INITS = ("he_uniform", "he_normal", "glorot_uniform", "glorot_normal")


# ------------------------------------------------------------------------------ primitives
@primitive
def linear(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    """``x @ w + b`` as one autograd primitive.

    Parameters
    ----------
    x : numpy.ndarray
        Input of shape ``(batch, in_features)``.
    w : numpy.ndarray
        Weight of shape ``(in_features, out_features)``.
    b : numpy.ndarray, optional
        Bias of shape ``(out_features,)``.

    Returns
    -------
    numpy.ndarray
        ``(batch, out_features)``.
    """
    check_numeric_array(x, "x")
    check_numeric_array(w, "w")
    out = _parallel.matmul(x, w)
    if b is not None:
        out += b
    return out


def _linear_vjp(argnums, ans, args, kwargs):
    x, w = args[0], args[1]

    def vjp(g):
        grads = []
        for argnum in argnums:
            if argnum == 0:
                grads.append(_parallel.matmul(g, w.T))
            elif argnum == 1:
                grads.append(_parallel.matmul(x.T, g))
            else:
                grads.append(g.sum(axis=0))
        return grads

    return vjp


defvjp_argnums(linear, _linear_vjp)


@primitive
def relu(x: np.ndarray) -> np.ndarray:
    """Rectified linear unit ``max(x, 0)``; the VJP passes ``g`` where the output is positive.

    Parameters
    ----------
    x : numpy.ndarray
        Input.

    Returns
    -------
    numpy.ndarray
    """
    check_numeric_array(x, "x")
    return np.maximum(x, 0)


@numba.njit(cache=True, nogil=True)
def _relu_grad_kernel(ans, g, out):  # pragma: no cover (compiled)
    zero = out.dtype.type(0)
    for i in range(out.shape[0]):
        out[i] = g[i] if ans[i] > 0 else zero


def _same_memory_order(ans: np.ndarray, g: np.ndarray) -> tuple[int, ...] | None:
    """An axis order in which ``ans`` and ``g`` are both C-contiguous, or None."""
    if ans.shape != g.shape or ans.dtype != g.dtype or ans.dtype.kind != "f":
        return None
    if ans.flags.c_contiguous and g.flags.c_contiguous:
        return tuple(range(ans.ndim))
    if ans.ndim == 4:  # the channel-major buffers of the convolution and pooling kernels
        order = (1, 0, 2, 3)
        if ans.transpose(order).flags.c_contiguous and g.transpose(order).flags.c_contiguous:
            return order
    return None


def _relu_vjp(ans: np.ndarray, x: np.ndarray) -> Any:
    def vjp(g):
        # g where the output is positive, else 0: one Numba pass when both arrays share a
        # memory order (np.where builds a mask and runs a slow three-operand loop)
        order = _same_memory_order(ans, g) if isinstance(g, np.ndarray) else None
        if order is None:
            return np.where(ans > 0, g, 0).astype(ans.dtype, copy=False)
        a, gt = ans.transpose(order), g.transpose(order)
        out = np.empty(a.shape, ans.dtype)
        _relu_grad_kernel(a.reshape(-1), gt.reshape(-1), out.reshape(-1))
        return out.transpose(np.argsort(order))

    return vjp


defvjp(relu, _relu_vjp)


@primitive
def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function ``1 / (1 + exp(-x))`` via ``scipy.special.expit`` (accurate tails).

    Parameters
    ----------
    x : numpy.ndarray
        Input.

    Returns
    -------
    numpy.ndarray
    """
    check_numeric_array(x, "x")
    return expit(x)


defvjp(sigmoid, lambda ans, x: lambda g: g * ans * (1 - ans))


@primitive
def batch_norm_train(
    x: np.ndarray,
    gamma: np.ndarray,
    beta: np.ndarray,
    mean: np.ndarray,
    inv_std: np.ndarray,
    axes: tuple[int, ...],
) -> np.ndarray:
    """Normalize with batch statistics: ``gamma * (x - mean) * inv_std + beta``.

    ``mean`` and ``inv_std = 1 / sqrt(var + eps)`` are the statistics of ``x`` over ``axes``
    (kept dims), passed in so they are computed once; the VJP accounts for their dependence
    on ``x`` (Ioffe & Szegedy 2015, Sec. 3):
    ``dx = gamma * inv_std / m * (m * g - sum(g) - xhat * sum(g * xhat))``.

    Parameters
    ----------
    x : numpy.ndarray
        Input, channels on axis 1.
    gamma, beta : numpy.ndarray
        Scale and shift of shape ``(C,)``.
    mean, inv_std : numpy.ndarray
        Batch statistics broadcastable to ``x``.
    axes : tuple of int
        The reduced axes (all but 1).

    Returns
    -------
    numpy.ndarray
    """
    shape = mean.shape
    xhat = (x - mean) * inv_std
    return xhat * gamma.reshape(shape) + beta.reshape(shape)


def _bn_vjp(argnums, ans, args, kwargs):
    x, gamma, _, mean, inv_std, axes = args
    shape = mean.shape
    m = x.size // gamma.size

    def vjp(g):
        xhat = (x - mean) * inv_std
        sum_g = g.sum(axis=axes, keepdims=True)
        sum_gx = (g * xhat).sum(axis=axes, keepdims=True)
        grads = []
        for argnum in argnums:
            if argnum == 0:
                scale = gamma.reshape(shape) * inv_std / m
                grads.append(scale * (m * g - sum_g - xhat * sum_gx))
            elif argnum == 1:
                grads.append(sum_gx.reshape(gamma.shape))
            elif argnum == 2:
                grads.append(sum_g.reshape(gamma.shape))
            else:
                raise NotImplementedError("batch statistics are not differentiable inputs")
        return grads

    return vjp


defvjp_argnums(batch_norm_train, _bn_vjp)


# ------------------------------------------------------------------------------ layers
class Linear(Module):
    """Fully connected layer ``y = x @ W + b`` with ``W`` of shape ``(in_features, out_features)``.

    Parameters
    ----------
    in_features, out_features : int
        Sizes.
    bias : bool
        Learn an additive bias (initialized to zero).
    init : {"he_uniform", "he_normal", "glorot_uniform", "glorot_normal"}
        Weight initializer from :mod:`tensornet.nn.init` (He for ReLU networks).
    random_state : None, int or numpy.random.Generator
        Seed of the initialization.
    dtype : numpy dtype
        Parameter dtype (float32 by default).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        init: str = "he_uniform",
        random_state: Any = None,
        dtype: Any = np.float32,
    ) -> None:
        super().__init__()
        self.in_features = check_int(in_features, "in_features", minimum=1)
        self.out_features = check_int(out_features, "out_features", minimum=1)
        check_option(init, "init", _INITS)
        shape = (self.in_features, self.out_features)
        rng = check_random_state(random_state)
        self.add_param("weight", getattr(_init, init)(shape, random_state=rng, dtype=dtype))
        if bias:
            self.add_param("bias", np.zeros(self.out_features, dtype=dtype))

    def forward(self, params: dict[str, Any], x: Any) -> Any:
        """``x @ weight + bias``.

        Parameters
        ----------
        params : dict
            ``"weight"`` and optionally ``"bias"``.
        x : array_like
            ``(batch, in_features)``.

        Returns
        -------
        array_like
        """
        return linear(x, params["weight"], params.get("bias"))

    def extra_repr(self) -> str:
        return f"{self.in_features}, {self.out_features}, bias={'bias' in self._params}"


class Flatten(Module):
    """Reshape ``(batch, d1, d2, ...)`` to ``(batch, d1 * d2 * ...)`` (C order)."""

    def forward(self, params: dict[str, Any], x: Any) -> Any:
        """Flatten all but the first axis.

        Parameters
        ----------
        params : dict
            Unused (no parameters).
        x : array_like
            Input batch.

        Returns
        -------
        array_like
        """
        return anp.reshape(x, (x.shape[0], -1))


class ReLU(Module):
    """Elementwise ``max(x, 0)`` (see :func:`relu`)."""

    def forward(self, params: dict[str, Any], x: Any) -> Any:
        """Apply the activation.

        Parameters
        ----------
        params : dict
            Unused.
        x : array_like
            Input.

        Returns
        -------
        array_like
        """
        return relu(x)


class Tanh(Module):
    """Elementwise hyperbolic tangent."""

    def forward(self, params: dict[str, Any], x: Any) -> Any:
        """Apply the activation.

        Parameters
        ----------
        params : dict
            Unused.
        x : array_like
            Input.

        Returns
        -------
        array_like
        """
        return anp.tanh(x)


class Sigmoid(Module):
    """Elementwise logistic function (see :func:`sigmoid`)."""

    def forward(self, params: dict[str, Any], x: Any) -> Any:
        """Apply the activation.

        Parameters
        ----------
        params : dict
            Unused.
        x : array_like
            Input.

        Returns
        -------
        array_like
        """
        return sigmoid(x)


class Dropout(Module):
    """Inverted dropout (Srivastava et al. 2014): zero each entry with probability ``p``.

    In training mode surviving entries are scaled by ``1 / (1 - p)``, so evaluation mode is
    the identity. Masks come from the layer's own generator: the same seed gives the same
    sequence of masks.

    Parameters
    ----------
    p : float
        Drop probability in ``[0, 1)``.
    random_state : None, int or numpy.random.Generator
        Seed of the masks.
    """

    def __init__(self, p: float = 0.5, random_state: Any = None) -> None:
        super().__init__()
        if not isinstance(p, (int, float)) or not 0 <= p < 1:
            raise ValueError(f"p={p!r} must be a probability in [0, 1)")
        self.p = float(p)
        self._rng = check_random_state(random_state)

    def forward(self, params: dict[str, Any], x: Any) -> Any:
        """Apply a fresh mask in training mode; identity in evaluation mode.

        Parameters
        ----------
        params : dict
            Unused.
        x : array_like
            Input.

        Returns
        -------
        array_like
        """
        if not self.training or self.p == 0:
            return x
        value = getval(x)
        keep = self._rng.random(value.shape, dtype=np.float32) >= self.p
        return x * (keep.astype(value.dtype) * value.dtype.type(1.0 / (1.0 - self.p)))

    def extra_repr(self) -> str:
        return f"p={self.p}"


class _BatchNorm(Module):
    """Shared code of :class:`BatchNorm1d` and :class:`BatchNorm2d`."""

    _ndims: tuple[int, ...] = ()

    def __init__(
        self, num_features: int, eps: float = 1e-5, momentum: float = 0.1, dtype: Any = np.float32
    ) -> None:
        super().__init__()
        self.num_features = check_int(num_features, "num_features", minimum=1)
        if not 0 < eps:
            raise ValueError(f"eps={eps!r} must be > 0")
        if not 0 <= momentum <= 1:
            raise ValueError(f"momentum={momentum!r} must lie in [0, 1]")
        self.eps = float(eps)
        self.momentum = float(momentum)
        self.add_param("weight", np.ones(num_features, dtype=dtype))
        self.add_param("bias", np.zeros(num_features, dtype=dtype))
        self.add_buffer("running_mean", np.zeros(num_features, dtype=dtype))
        self.add_buffer("running_var", np.ones(num_features, dtype=dtype))

    def forward(self, params: dict[str, Any], x: Any) -> Any:
        """Normalize per channel (axis 1): batch statistics in training, running ones in eval.

        In training mode the running statistics are updated as
        ``r <- (1 - momentum) * r + momentum * batch_stat`` (unbiased variance), using the
        untraced values, so they stay outside the differentiated parameters.

        Parameters
        ----------
        params : dict
            ``"weight"`` (gamma) and ``"bias"`` (beta).
        x : array_like
            ``(N, C)`` or ``(N, C, L)`` for 1d, ``(N, C, H, W)`` for 2d.

        Returns
        -------
        array_like
        """
        value = getval(x)
        if value.ndim not in self._ndims or value.shape[1] != self.num_features:
            raise ValueError(
                f"{type(self).__name__}({self.num_features}) expects input with ndim in "
                f"{self._ndims} and {self.num_features} channels on axis 1, got shape {value.shape}"
            )
        axes = (0,) + tuple(range(2, value.ndim))
        shape = tuple(self.num_features if a == 1 else 1 for a in range(value.ndim))
        if self.training:
            mean = value.mean(axis=axes, keepdims=True)
            var = value.var(axis=axes, keepdims=True)
            inv_std = 1.0 / np.sqrt(var + value.dtype.type(self.eps))
            m = value.size // self.num_features
            mom = self.momentum
            rm, rv = self._buffers["running_mean"], self._buffers["running_var"]
            rm *= 1 - mom
            rm += mom * mean.reshape(-1)
            rv *= 1 - mom
            rv += mom * var.reshape(-1) * (m / max(m - 1, 1))
            return batch_norm_train(x, params["weight"], params["bias"], mean, inv_std, axes)
        rm = self._buffers["running_mean"].reshape(shape)
        inv_std = 1.0 / np.sqrt(self._buffers["running_var"].reshape(shape) + self.eps)
        scale = anp.reshape(params["weight"], shape) * inv_std.astype(value.dtype)
        return (x - rm) * scale + anp.reshape(params["bias"], shape)

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"


class BatchNorm1d(_BatchNorm):
    """Batch normalization over ``(N, C)`` or ``(N, C, L)`` input (Ioffe & Szegedy 2015).

    Parameters
    ----------
    num_features : int
        ``C``.
    eps : float
        Added to the variance.
    momentum : float
        Weight of the new batch statistic in the running averages.
    dtype : numpy dtype
        Parameter dtype.
    """

    _ndims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalization over ``(N, C, H, W)`` input, statistics per channel.

    Parameters
    ----------
    num_features : int
        ``C``.
    eps : float
        Added to the variance.
    momentum : float
        Weight of the new batch statistic in the running averages.
    dtype : numpy dtype
        Parameter dtype.
    """

    _ndims = (4,)
