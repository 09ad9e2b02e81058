"""Compression-aware training: low-rank regularizers, proximal maps, truncation (survey II-B.3).

Train the ordinary network so that its weights become low-rank, then truncate them without
retraining. The pieces, each usable on its own with :func:`tensornet.nn.fit`:

* **Regularizers** built from a sparsity measure of :mod:`tensornet.measures` on the singular
  values of every chosen layer, weighted by ``lam``:

  - :class:`LowRankRegularizer` (dense form): on the weight matrix itself through its singular
    values (:func:`tensornet.measures.singular_values`, one SVD per layer per step);
  - :class:`SVDRegularizer` ("SVD training", Yang et al. 2020): on a model whose layers are
    parameterized as ``U diag(s) V^T`` (:class:`SVDLinear`, :class:`SVDConv2d`, made by
    :func:`svd_parameterize`), the measure on ``s`` plus the orthogonality penalty
    ``||U^T U - I||_F^2 + ||V^T V - I||_F^2`` (:func:`orthogonality_penalty`); no SVD in the
    loop, the cheap form for sweeps.

  Both are *normalized*: each layer's term is divided by its value at the weights the
  regularizer is built from, so every layer starts at ``1`` and one ``lam`` grid serves every
  measure (:data:`PENALTIES` lists the minimized forms).
* **Proximal maps** for ``Optimizer.add_prox`` (``fn(params, lr)``): :class:`NuclearNormProx`
  (singular value soft-thresholding by ``lr * lam`` after each step, proximal SGD for the
  nuclear norm; Alvarez & Salzmann 2017) and :class:`L1Prox` (entry-wise soft thresholding).
* **Truncation** after training (:func:`truncate`): per layer keep the rank given by the
  spectral-norm indicator (:func:`spectral_rank`) or by energy
  (:func:`tensornet.rank.energy_rank`) and rebuild the model with
  :class:`~tensornet.nn.factorized.LowRankLinear` / :class:`~tensornet.nn.factorized.LowRankConv2d`
  (a layer stays dense where the factors would not be smaller).

A convolution kernel ``(O, C, KH, KW)`` is measured, thresholded and truncated as the matrix
``(O, C KH KW)`` (:func:`weight_matrix`), the ``channel`` scheme of ``LowRankConv2d``.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import autograd.numpy as anp
import numpy as np
from autograd.tracer import Box, getval

from .. import measures
from .._validation import check_array, check_int, check_real
from ..nn.conv import Conv2d, conv2d
from ..nn.layers import Linear, linear
from ..nn.module import Module
from ..nn.optim import Optimizer
from ..rank.select import energy_rank
from .decompose import _named_layers, _replace

__all__ = [
    "PENALTIES",
    "weight_matrix",
    "sparsity_penalty",
    "orthogonality_penalty",
    "LowRankRegularizer",
    "SVDLinear",
    "SVDConv2d",
    "svd_parameterize",
    "SVDRegularizer",
    "soft_threshold",
    "singular_value_threshold",
    "NuclearNormProx",
    "L1Prox",
    "spectral_rank",
    "TruncatedLayer",
    "TruncationResult",
    "truncate",
    "NuclearFrankWolfe",
]


# ------------------------------------------------------------------------------ penalties
def _nuclear(c: Any) -> Any:
    return measures.l1_norm(c)


def _lp(c: Any) -> Any:
    return measures.lp_norm(c, 0.5)


def _gini(c: Any) -> Any:
    return 1.0 - measures.gini_index(c)


def _hoyer(c: Any) -> Any:
    return 1.0 - measures.hoyer(c)


def _erank(c: Any) -> Any:
    return measures.effective_rank(c)


#: Minimized form of each measure, as a function of a vector of singular values: ``"nuclear"``
#: (l1 norm, the nuclear norm of the layer), ``"lp"`` (``p = 1/2``), ``"gini"`` (``1 - G``),
#: ``"hoyer"`` (``1 - H``), ``"erank"`` (the effective rank itself).
PENALTIES: dict[str, Callable[[Any], Any]] = {
    "nuclear": _nuclear,
    "lp": _lp,
    "gini": _gini,
    "hoyer": _hoyer,
    "erank": _erank,
}


def _penalty_fn(measure: Any) -> Callable[[Any], Any]:
    if callable(measure):
        return measure
    if isinstance(measure, str) and measure in PENALTIES:
        return PENALTIES[measure]
    raise ValueError(
        f"measure={measure!r} must be one of {sorted(PENALTIES)} or a callable of the singular "
        "values"
    )


def sparsity_penalty(measure: str | Callable[[Any], Any], values: Any) -> Any:
    """The minimized form of a sparsity measure of ``values`` (see :data:`PENALTIES`).

    Parameters
    ----------
    measure : str or callable
        A key of :data:`PENALTIES`, or ``f(values) -> scalar``.
    values : array_like, shape (N,)
        Singular values (or the ``s`` of an SVD-parameterized layer; signs are ignored).

    Returns
    -------
    float or autograd box

    Examples
    --------
    >>> float(sparsity_penalty("erank", np.array([2.0, 2.0, 0.0])))
    2.0
    """
    fn = _penalty_fn(measure)
    if not isinstance(values, Box):
        values = check_array(values, "values", ndim=1)
    return fn(values)


def weight_matrix(weight: Any) -> Any:
    """The matrix a layer's weight is measured as: itself for ``(in, out)``, ``(O, C KH KW)``
    for a convolution kernel ``(O, C, KH, KW)``.

    Parameters
    ----------
    weight : array_like, ndim 2 or 4
        A :class:`~tensornet.nn.Linear` weight or a :class:`~tensornet.nn.Conv2d` kernel
        (autograd boxes pass through).

    Returns
    -------
    array_like, ndim 2

    Examples
    --------
    >>> weight_matrix(np.zeros((6, 1, 5, 5))).shape
    (6, 25)
    """
    if not isinstance(weight, Box):
        weight = check_array(weight, "weight")
    ndim = anp.ndim(weight)
    if ndim == 2:
        return weight
    if ndim == 4:
        shape = anp.shape(weight)
        return anp.reshape(weight, (shape[0], -1))
    raise ValueError(
        f"weight must be a Linear weight (ndim=2) or a Conv2d kernel (ndim=4), got ndim={ndim}"
    )


def orthogonality_penalty(a: Any) -> Any:
    """``||A^T A - I||_F^2 / r^2`` for ``A`` of shape ``(n, r)`` (Yang et al. 2020).

    Zero exactly when the columns of ``A`` are orthonormal. The division by the ``r^2`` entries
    of the Gram matrix follows the SVD-training code, so layers of different rank weigh alike.
    Gradient ``(4 / r^2) A (A^T A - I)``.

    Parameters
    ----------
    a : array_like, shape (n, r)
        Factor with ``r <= n`` columns.

    Returns
    -------
    float or autograd box

    Examples
    --------
    >>> float(orthogonality_penalty(np.eye(3)[:, :2]))
    0.0
    """
    if not isinstance(a, Box):
        a = check_array(a, "a", ndim=2)
    elif anp.ndim(a) != 2:
        raise ValueError(f"a must be a matrix (ndim=2), got ndim={anp.ndim(a)}")
    r = anp.shape(a)[1]
    gram = anp.dot(anp.transpose(a), a)
    diff = gram - np.eye(r, dtype=getval(a).dtype)
    return anp.sum(diff * diff) / (r * r)


def _check_lam(lam: Any, name: str = "lam") -> float:
    return check_real(lam, name, minimum=0.0)


def _normalizers(penalty, values: dict[str, np.ndarray], normalize: bool) -> dict[str, float]:
    out = {}
    for key, v in values.items():
        ref = float(penalty(v)) if normalize else 1.0
        out[key] = ref if ref > 0 else 1.0
    return out


def _select(model: Module, kinds: tuple[type, ...], layers: Any, what: str) -> list[str]:
    """Names of the layers of ``model`` that are instances of ``kinds`` (or the named ones)."""
    if not isinstance(model, Module):
        raise TypeError(f"model must be a tensornet.nn.Module, got {type(model).__name__}")
    named = _named_layers(model)
    if layers is None:
        chosen = [n for n, m in named.items() if isinstance(m, kinds)]
        if not chosen:
            raise ValueError(f"model has no {what} layer")
        return chosen
    if isinstance(layers, str):
        layers = [layers]
    for name in layers:
        if name not in named:
            raise ValueError(f"layers: the model has no layer {name!r}; it has {sorted(named)}")
        if not isinstance(named[name], kinds):
            raise ValueError(
                f"layers: {name!r} is a {type(named[name]).__name__}, not a {what} layer"
            )
    return list(layers)


# ------------------------------------------------------------------------------ form (a)
class LowRankRegularizer:
    """``lam * sum_l R(sigma(W_l)) / R(sigma(W_l^0))``: a measure on the dense weights' spectra.

    Form (a) of compression-aware training: the measure's minimized form ``R``
    (:data:`PENALTIES`) of the singular values of every chosen :class:`~tensornet.nn.Linear`
    weight and :class:`~tensornet.nn.Conv2d` kernel (as ``(O, C KH KW)``), differentiated through
    :func:`tensornet.measures.singular_values` (gradient ``U diag(R'(sigma)) V^T``, one SVD per
    layer per step). ``W_l^0`` are the weights at construction (normalization, see the module
    notes). Pass it as ``fit(..., regularizer=reg)``.

    Parameters
    ----------
    model : Module
        The model whose ``params`` dict the regularizer will receive.
    measure : str or callable
        A key of :data:`PENALTIES` or ``f(singular_values) -> scalar``.
    lam : float
        Weight ``>= 0``.
    layers : sequence of str, optional
        Dotted names of the layers (default: every ``Linear`` and ``Conv2d``).
    normalize : bool
        Divide each layer's term by its initial value (else by 1).

    Attributes
    ----------
    keys : list of str
        Parameter names regularized (``"<layer>.weight"``).
    reference : dict of str to float
        The normalizers.

    Examples
    --------
    >>> from tensornet.nn import lenet300_100
    >>> model = lenet300_100(random_state=0)
    >>> reg = LowRankRegularizer(model, "erank", lam=0.01)
    >>> round(float(reg(model.params)), 6)
    0.03
    """

    def __init__(
        self,
        model: Module,
        measure: str | Callable[[Any], Any] = "erank",
        lam: float = 1e-3,
        layers: Sequence[str] | None = None,
        normalize: bool = True,
    ) -> None:
        self.penalty = _penalty_fn(measure)
        self.measure = measure
        self.lam = _check_lam(lam)
        names = _select(model, (Linear, Conv2d), layers, "Linear or Conv2d")
        self.keys = [f"{n}.weight" for n in names]
        params = model.params
        spectra = {k: measures.singular_values(weight_matrix(params[k])) for k in self.keys}
        self.reference = _normalizers(self.penalty, spectra, bool(normalize))

    def __call__(self, params: dict[str, Any]) -> Any:
        """The regularization term for the parameter dict ``params``."""
        total = 0.0
        for key in self.keys:
            sigma = measures.singular_values(weight_matrix(params[key]))
            total = total + self.penalty(sigma) / self.reference[key]
        return self.lam * total

    def __repr__(self) -> str:
        return f"LowRankRegularizer(measure={self.measure!r}, lam={self.lam}, keys={self.keys})"


# ------------------------------------------------------------------------------ form (b)
class SVDLinear(Module):
    """Linear layer parameterized as ``W = U diag(s) V^T`` for SVD training (Yang et al. 2020).

    ``W`` has :class:`~tensornet.nn.Linear`'s layout ``(in, out)``: ``U`` is ``(in, r)``,
    ``V`` is ``(out, r)``, ``s`` is ``(r,)`` with ``r = min(in, out)`` (full rank, so the layer
    computes any dense map). ``y = ((x U) * s) V^T + b`` costs ``B r (in + out)``.
    :meth:`from_weight` starts from the exact SVD (orthonormal ``U``, ``V``); the orthogonality
    penalty of :class:`SVDRegularizer` keeps them near orthonormal, so ``|s|`` stays close to
    the singular values of ``W`` and a measure of ``s`` is a measure of the spectrum.

    Parameters
    ----------
    u : array_like, shape (in, r)
    s : array_like, shape (r,)
    v : array_like, shape (out, r)
    bias : array_like, shape (out,), optional
    dtype : numpy dtype
        Parameter dtype.
    """

    def __init__(self, u: Any, s: Any, v: Any, bias: Any = None, dtype: Any = np.float32) -> None:
        super().__init__()
        u, s, v = _check_factors(u, s, v)
        self.in_features, self.out_features, self.rank = u.shape[0], v.shape[0], s.shape[0]
        self.add_param("U", u.astype(dtype))
        self.add_param("s", s.astype(dtype))
        self.add_param("V", v.astype(dtype))
        if bias is not None:
            b = check_array(bias, "bias", ndim=1)
            if b.shape[0] != self.out_features:
                raise ValueError(f"bias has shape {b.shape}, expected ({self.out_features},)")
            self.add_param("bias", b.astype(dtype))

    @classmethod
    def from_weight(cls, weight: Any, bias: Any = None, dtype: Any = None) -> SVDLinear:
        """Layer computing the same map as ``x @ weight + bias``, from the exact (thin) SVD.

        Parameters
        ----------
        weight : array_like, shape (in, out)
        bias : array_like, shape (out,), optional
        dtype : numpy dtype, optional
            Default: the weight's (float32 for an integer weight).

        Returns
        -------
        SVDLinear
        """
        w = check_array(weight, "weight", ndim=2)
        dtype = np.dtype(dtype) if dtype is not None else _float_dtype(w)
        u, s, vt = np.linalg.svd(w.astype(np.float64), full_matrices=False)
        return cls(u, s, vt.T, bias, dtype=dtype)

    def dense_weight(self, params: dict[str, Any]) -> Any:
        """``U diag(s) V^T``, shape ``(in, out)``."""
        return anp.dot(params["U"] * params["s"], anp.transpose(params["V"]))

    def weight(self) -> np.ndarray:
        """The dense weight from the current parameters."""
        return self.dense_weight(self.params)

    def forward(self, params: dict[str, Any], x: Any) -> Any:
        """``((x U) * s) V^T + b``."""
        h = linear(x, params["U"]) * params["s"]
        return linear(h, anp.transpose(params["V"]), params.get("bias"))

    def extra_repr(self) -> str:
        return f"{self.in_features}, {self.out_features}, rank={self.rank}"


class SVDConv2d(Module):
    """Convolution whose kernel matrix ``(O, C KH KW)`` is ``U diag(s) V^T`` (SVD training).

    ``U`` is ``(O, r)``, ``V`` is ``(C KH KW, r)``, ``r = min(O, C KH KW)``. The forward pass
    rebuilds the kernel (``O r C KH KW`` multiply-adds, small next to the convolution) and runs
    one :func:`~tensornet.nn.conv2d`.

    Parameters
    ----------
    u : array_like, shape (O, r)
    s : array_like, shape (r,)
    v : array_like, shape (C*KH*KW, r)
    kernel_shape : (int, int, int, int)
        ``(O, C, KH, KW)``.
    stride, padding : int or (int, int)
        As for :class:`~tensornet.nn.Conv2d`.
    bias : array_like, shape (O,), optional
    dtype : numpy dtype
        Parameter dtype.
    """

    def __init__(
        self,
        u: Any,
        s: Any,
        v: Any,
        kernel_shape: Sequence[int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        bias: Any = None,
        dtype: Any = np.float32,
    ) -> None:
        super().__init__()
        u, s, v = _check_factors(u, s, v)
        shape = tuple(int(d) for d in kernel_shape)
        if len(shape) != 4 or shape[0] != u.shape[0] or np.prod(shape[1:]) != v.shape[0]:
            raise ValueError(
                f"kernel_shape={tuple(kernel_shape)} does not match U {u.shape} and V {v.shape} "
                "(need (O, C, KH, KW) with O = U.shape[0] and C*KH*KW = V.shape[0])"
            )
        self.kernel_shape = shape
        self.stride, self.padding = stride, padding
        self.rank = s.shape[0]
        self.add_param("U", u.astype(dtype))
        self.add_param("s", s.astype(dtype))
        self.add_param("V", v.astype(dtype))
        if bias is not None:
            b = check_array(bias, "bias", ndim=1)
            if b.shape[0] != shape[0]:
                raise ValueError(f"bias has shape {b.shape}, expected ({shape[0]},)")
            self.add_param("bias", b.astype(dtype))

    @classmethod
    def from_weight(
        cls,
        weight: Any,
        bias: Any = None,
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        dtype: Any = None,
    ) -> SVDConv2d:
        """Layer computing the same convolution as ``weight``, from the SVD of ``(O, C KH KW)``.

        Parameters
        ----------
        weight : array_like, shape (O, C, KH, KW)
        bias : array_like, shape (O,), optional
        stride, padding : int or (int, int)
        dtype : numpy dtype, optional

        Returns
        -------
        SVDConv2d
        """
        w = check_array(weight, "weight", ndim=4)
        dtype = np.dtype(dtype) if dtype is not None else _float_dtype(w)
        mat = w.astype(np.float64).reshape(w.shape[0], -1)
        u, s, vt = np.linalg.svd(mat, full_matrices=False)
        return cls(u, s, vt.T, w.shape, stride, padding, bias, dtype=dtype)

    def dense_weight(self, params: dict[str, Any]) -> Any:
        """The kernel ``(O, C, KH, KW)``."""
        mat = anp.dot(params["U"] * params["s"], anp.transpose(params["V"]))
        return anp.reshape(mat, self.kernel_shape)

    def weight(self) -> np.ndarray:
        """The dense kernel from the current parameters."""
        return self.dense_weight(self.params)

    def forward(self, params: dict[str, Any], x: Any) -> Any:
        """One convolution with the rebuilt kernel."""
        kernel = self.dense_weight(params)
        return conv2d(x, kernel, params.get("bias"), self.stride, self.padding)

    def extra_repr(self) -> str:
        o, c, kh, kw = self.kernel_shape
        return (
            f"{c}, {o}, kernel_size={(kh, kw)}, rank={self.rank}, stride={self.stride}, "
            f"padding={self.padding}"
        )


def _float_dtype(w: np.ndarray) -> np.dtype:
    return w.dtype if np.issubdtype(w.dtype, np.floating) else np.dtype(np.float32)


def _check_factors(u: Any, s: Any, v: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    u = check_array(u, "u", ndim=2)
    s = check_array(s, "s", ndim=1)
    v = check_array(v, "v", ndim=2)
    r = s.shape[0]
    if u.shape[1] != r or v.shape[1] != r:
        raise ValueError(
            f"u {u.shape}, s {s.shape} and v {v.shape} must share the rank r={r} "
            "(u: (m, r), v: (n, r))"
        )
    return u, s, v


def svd_parameterize(model: Module, layers: Sequence[str] | None = None) -> Module:
    """A copy of ``model`` whose ``Linear`` / ``Conv2d`` layers are ``U diag(s) V^T`` layers.

    Each chosen layer becomes :class:`SVDLinear` / :class:`SVDConv2d` built from the exact SVD
    of its weight, so the copy computes the same function; train it with
    :class:`SVDRegularizer`, then :func:`truncate` it.

    Parameters
    ----------
    model : Module
        Not modified.
    layers : sequence of str, optional
        Dotted layer names (default: every ``Linear`` and ``Conv2d``).

    Returns
    -------
    Module
    """
    names = _select(model, (Linear, Conv2d), layers, "Linear or Conv2d")
    new = copy.deepcopy(model)
    named = _named_layers(new)
    for name in names:
        layer = named[name]
        params = layer.params
        bias = params.get("bias")
        if isinstance(layer, Linear):
            svd = SVDLinear.from_weight(params["weight"], bias)
        else:
            svd = SVDConv2d.from_weight(
                params["weight"], bias, stride=layer.stride, padding=layer.padding
            )
        svd.training = layer.training
        _replace(new, name, svd)
    return new


class SVDRegularizer:
    """SVD training: ``lam sum_l R(s_l) / R(s_l^0) + orth sum_l (L_o(U_l) + L_o(V_l))``.

    Form (b) of compression-aware training (Yang et al. 2020) on a model made by
    :func:`svd_parameterize`: the measure's minimized form ``R`` (:data:`PENALTIES`) on each
    layer's ``s`` (signs ignored) and :func:`orthogonality_penalty` on both factors. No SVD is
    taken during training. Pass it as ``fit(..., regularizer=reg)``.

    Parameters
    ----------
    model : Module
        A model holding :class:`SVDLinear` / :class:`SVDConv2d` layers.
    measure : str or callable
        A key of :data:`PENALTIES` or ``f(s) -> scalar``.
    lam : float
        Weight of the sparsity term, ``>= 0``.
    orth : float
        Weight ``lambda_o >= 0`` of the orthogonality penalty.
    layers : sequence of str, optional
        Dotted names of the SVD layers (default: all).
    normalize : bool
        Divide each layer's sparsity term by its initial value.
    orth_every : int
        Add the orthogonality term on every ``K``-th call only, weighted ``K * orth``
        (:func:`tensornet.nn.fit` calls the regularizer once per step). Its gradient costs
        ``O(n r^2)`` per factor, far more than the layer itself for wide layers; spread over
        ``K`` steps its average pull is unchanged (with momentum SGD the kick is smoothed over
        the momentum horizon). ``K = 1`` is the exact penalty.

    Attributes
    ----------
    layer_names : list of str
    reference : dict of str to float
        The normalizers, keyed by ``"<layer>.s"``.
    calls : int
        Calls so far (drives ``orth_every``).
    """

    def __init__(
        self,
        model: Module,
        measure: str | Callable[[Any], Any] = "erank",
        lam: float = 1e-3,
        orth: float = 1.0,
        layers: Sequence[str] | None = None,
        normalize: bool = True,
        orth_every: int = 1,
    ) -> None:
        self.penalty = _penalty_fn(measure)
        self.measure = measure
        self.lam = _check_lam(lam)
        self.orth = _check_lam(orth, "orth")
        self.orth_every = check_int(orth_every, "orth_every", minimum=1)
        self.calls = 0
        self.layer_names = _select(model, (SVDLinear, SVDConv2d), layers, "SVDLinear or SVDConv2d")
        params = model.params
        values = {f"{n}.s": np.abs(params[f"{n}.s"]) for n in self.layer_names}
        self.reference = _normalizers(self.penalty, values, bool(normalize))

    def sparsity(self, params: dict[str, Any]) -> Any:
        """``sum_l R(s_l) / R(s_l^0)`` (without ``lam``)."""
        total = 0.0
        for name in self.layer_names:
            key = f"{name}.s"
            total = total + self.penalty(params[key]) / self.reference[key]
        return total

    def orthogonality(self, params: dict[str, Any]) -> Any:
        """``sum_l L_o(U_l) + L_o(V_l)`` (without ``orth``)."""
        total = 0.0
        for name in self.layer_names:
            total = total + orthogonality_penalty(params[f"{name}.U"])
            total = total + orthogonality_penalty(params[f"{name}.V"])
        return total

    def __call__(self, params: dict[str, Any]) -> Any:
        """The regularization term for the parameter dict ``params``."""
        total = 0.0
        if self.lam > 0:
            total = total + self.lam * self.sparsity(params)
        if self.orth > 0 and self.calls % self.orth_every == 0:
            total = total + self.orth * self.orth_every * self.orthogonality(params)
        self.calls += 1
        return total

    def __repr__(self) -> str:
        return (
            f"SVDRegularizer(measure={self.measure!r}, lam={self.lam}, orth={self.orth}, "
            f"layers={self.layer_names})"
        )


# ------------------------------------------------------------------------------ proximal maps
def soft_threshold(x: Any, threshold: float) -> np.ndarray:
    """Entry-wise soft thresholding ``sign(x) max(|x| - t, 0)``: the proximal map of ``t ||.||_1``.

    Parameters
    ----------
    x : array_like
        Finite real array.
    threshold : float
        ``t >= 0``.

    Returns
    -------
    numpy.ndarray
        Same shape and dtype as ``x``.

    Examples
    --------
    >>> soft_threshold(np.array([-3.0, 0.5, 2.0]), 1.0).tolist()
    [-2.0, 0.0, 1.0]
    """
    x = check_array(x, "x", allow_empty=True)
    t = check_real(threshold, "threshold", minimum=0.0)
    return (np.sign(x) * np.maximum(np.abs(x) - x.dtype.type(t), 0)).astype(x.dtype, copy=False)


def singular_value_threshold(a: Any, threshold: float) -> np.ndarray:
    """Singular value soft thresholding ``U diag(max(sigma - t, 0)) V^T`` (Cai, Candes & Shen 2010).

    The proximal map of ``t ||.||_*``: the minimizer of ``t ||X||_* + ||X - A||_F^2 / 2``.

    Parameters
    ----------
    a : array_like, shape (m, n)
        Finite real matrix.
    threshold : float
        ``t >= 0``.

    Returns
    -------
    numpy.ndarray, shape (m, n)
        Same dtype as ``a`` (computed in float64).

    Examples
    --------
    >>> singular_value_threshold(np.diag([3.0, 1.0]), 2.0).tolist()
    [[1.0, 0.0], [0.0, 0.0]]
    """
    a = check_array(a, "a", ndim=2)
    t = check_real(threshold, "threshold", minimum=0.0)
    u, s, vt = np.linalg.svd(a.astype(np.float64), full_matrices=False)
    shrunk = np.maximum(s - t, 0.0)
    keep = shrunk > 0
    return ((u[:, keep] * shrunk[keep]) @ vt[keep]).astype(a.dtype, copy=False)


def _prox_keys(params: dict[str, np.ndarray], keys: Sequence[str] | None) -> list[str]:
    if keys is None:
        return [k for k, p in params.items() if k.endswith("weight") and p.ndim in (2, 4)]
    missing = [k for k in keys if k not in params]
    if missing:
        raise KeyError(f"keys {missing} are not parameters; the dict has {sorted(params)}")
    return list(keys)


def _check_keys(keys: Any) -> list[str] | None:
    if keys is None:
        return None
    if isinstance(keys, str):
        return [keys]
    out = list(keys)
    for i, k in enumerate(out):
        if not isinstance(k, str):
            raise TypeError(f"keys[{i}]={k!r} must be a parameter name (str)")
    return out


class NuclearNormProx:
    """Proximal map of ``lam * sum_l ||W_l||_*`` for ``Optimizer.add_prox``: proximal SGD.

    Called as ``prox(params, lr)`` after each optimizer step, it replaces every chosen weight
    by :func:`singular_value_threshold` of it with threshold ``lr * lam`` (the rate of that
    step, so the threshold follows the learning-rate schedule; Alvarez & Salzmann 2017).
    Convolution kernels are thresholded as ``(O, C KH KW)``.

    Parameters
    ----------
    lam : float
        Weight ``>= 0`` of the nuclear norm.
    keys : sequence of str, optional
        Parameter names (default: every ``*weight`` of ndim 2 or 4).
    """

    def __init__(self, lam: float, keys: Sequence[str] | None = None) -> None:
        self.lam = _check_lam(lam)
        self.keys = _check_keys(keys)

    def __call__(self, params: dict[str, np.ndarray], lr: float) -> dict[str, np.ndarray]:
        """Thresholded copies of the chosen weights (the optimizer copies them in place)."""
        t = self.lam * check_real(lr, "lr", minimum=0.0)
        out = {}
        for key in _prox_keys(params, self.keys):
            p = params[key]
            out[key] = singular_value_threshold(weight_matrix(p), t).reshape(p.shape)
        return out

    def __repr__(self) -> str:
        return f"NuclearNormProx(lam={self.lam}, keys={self.keys})"


class L1Prox:
    """Proximal map of ``lam * sum ||W||_1`` for ``Optimizer.add_prox``: soft thresholding.

    After each step every chosen parameter is soft-thresholded entry-wise by ``lr * lam``
    (:func:`soft_threshold`), the proximal-gradient (ISTA) form of l1 sparsity training
    (survey Section III).

    Parameters
    ----------
    lam : float
        Weight ``>= 0`` of the l1 norm.
    keys : sequence of str, optional
        Parameter names (default: every ``*weight`` of ndim 2 or 4).
    """

    def __init__(self, lam: float, keys: Sequence[str] | None = None) -> None:
        self.lam = _check_lam(lam)
        self.keys = _check_keys(keys)

    def __call__(self, params: dict[str, np.ndarray], lr: float) -> dict[str, np.ndarray]:
        """Soft-thresholded copies of the chosen parameters."""
        t = self.lam * check_real(lr, "lr", minimum=0.0)
        return {k: soft_threshold(params[k], t) for k in _prox_keys(params, self.keys)}

    def __repr__(self) -> str:
        return f"L1Prox(lam={self.lam}, keys={self.keys})"


# ------------------------------------------------------------------------------ truncation
def spectral_rank(s: Any, tau: float) -> int:
    """Smallest ``k`` with ``sigma_{k+1} / sigma_1 <= tau``: the spectral-norm indicator.

    By Eckart-Young-Mirsky the best rank-``k`` approximation errs by ``sigma_{k+1}`` in the
    spectral norm, so ``tau`` bounds the relative spectral-norm error of the truncated weight.
    Returns ``#{i : sigma_i > tau sigma_1}`` (at least 1 unless ``s`` is zero).

    Parameters
    ----------
    s : array_like, shape (N,)
        Singular values (non-negative; any order).
    tau : float
        Threshold in ``[0, 1)``.

    Returns
    -------
    int

    Examples
    --------
    >>> spectral_rank([4.0, 2.0, 0.3], tau=0.1)
    2
    """
    s = check_array(s, "s", ndim=1)
    if np.any(s < 0):
        raise ValueError("s must hold singular values (non-negative)")
    tau = check_real(tau, "tau", minimum=0.0)
    if not tau < 1:
        raise ValueError(f"tau={tau} must be < 1 (a fraction of the largest singular value)")
    top = float(np.max(s))
    if top == 0:
        return 0
    return int(np.count_nonzero(s > tau * top))


@dataclass(frozen=True)
class TruncatedLayer:
    """What :func:`truncate` did to one layer.

    Attributes
    ----------
    name : str
        Dotted layer name.
    rank : int
        Rank kept.
    full_rank : int
        ``min`` of the weight matrix's shape.
    low_rank : bool
        Whether the layer was replaced by its factors (else kept dense: the factors of that
        rank would not be smaller).
    params_before, params_after : int
        Trainable scalars of the layer (biases included), dense and after truncation.
    """

    name: str
    rank: int
    full_rank: int
    low_rank: bool
    params_before: int
    params_after: int

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise TypeError(f"name must be a str, got {self.name!r}")
        for field in ("rank", "full_rank", "params_before", "params_after"):
            check_int(getattr(self, field), field, minimum=0)
        if self.rank > self.full_rank:
            raise ValueError(f"rank={self.rank} exceeds full_rank={self.full_rank}")


@dataclass
class TruncationResult:
    """The truncated model and its parameter count.

    Attributes
    ----------
    model : Module
        The new model (``LowRankLinear`` / ``LowRankConv2d`` where that is smaller).
    n_params : int
        Its trainable scalars.
    n_params_dense : int
        Trainable scalars of the dense equivalent of the input model.
    layers : list of TruncatedLayer
    """

    model: Module
    n_params: int
    n_params_dense: int
    layers: list[TruncatedLayer]

    def __post_init__(self) -> None:
        if not isinstance(self.model, Module):
            raise TypeError(f"model must be a tensornet.nn.Module, got {type(self.model).__name__}")
        check_int(self.n_params, "n_params", minimum=1)
        check_int(self.n_params_dense, "n_params_dense", minimum=1)

    @property
    def compression(self) -> float:
        """``n_params_dense / n_params``."""
        return self.n_params_dense / self.n_params

    @property
    def ranks(self) -> dict[str, int]:
        """Rank kept per layer."""
        return {layer.name: layer.rank for layer in self.layers}


def _dense_of(layer: Module) -> tuple[np.ndarray, np.ndarray | None, str, dict[str, Any]]:
    """Dense weight, bias, kind and conv options of a Linear/Conv2d/SVD layer."""
    params = layer.params
    bias = params.get("bias")
    if isinstance(layer, Linear):
        return params["weight"], bias, "Linear", {}
    if isinstance(layer, SVDLinear):
        return np.asarray(layer.weight()), bias, "Linear", {}
    opts = {"stride": layer.stride, "padding": layer.padding}
    if isinstance(layer, Conv2d):
        return params["weight"], bias, "Conv2d", opts
    return np.asarray(layer.weight()), bias, "Conv2d", opts


def _dense_layer(weight: np.ndarray, bias: Any, kind: str, opts: dict[str, Any]) -> Module:
    dtype = weight.dtype
    if kind == "Linear":
        layer = Linear(*weight.shape, bias=bias is not None, random_state=0, dtype=dtype)
    else:
        o, c, kh, kw = weight.shape
        layer = Conv2d(c, o, (kh, kw), bias=bias is not None, random_state=0, dtype=dtype, **opts)
    np.copyto(layer.params["weight"], weight)
    if bias is not None:
        np.copyto(layer.params["bias"], bias)
    return layer


def truncate(
    model: Module,
    tau: float | None = None,
    energy: float | None = None,
    layers: Sequence[str] | None = None,
) -> TruncationResult:
    """Truncate every chosen layer's rank after compression-aware training, without retraining.

    Per layer (``Linear``, ``Conv2d``, :class:`SVDLinear`, :class:`SVDConv2d`) the singular
    values of the dense weight matrix (a kernel as ``(O, C KH KW)``) give the rank ``k``:
    :func:`spectral_rank` with ``tau`` (largest dropped / largest ``<= tau``) or
    :func:`tensornet.rank.energy_rank` with ``energy`` (fraction of ``sum sigma^2`` kept). The
    layer becomes ``LowRankLinear.from_weight(W, b, rank=k)`` or
    ``LowRankConv2d.from_weight(K, b, rank=k, scheme="channel")`` (Eckart-Young optimal), or
    stays a dense layer with the same weight when ``k (m + n) >= m n`` (the factors would not be
    smaller). Other layers are copied unchanged.

    Parameters
    ----------
    model : Module
        Not modified.
    tau : float, optional
        Spectral-norm indicator threshold in ``[0, 1)``.
    energy : float, optional
        Energy fraction in ``(0, 1]``; exactly one of ``tau`` and ``energy`` is given.
    layers : sequence of str, optional
        Dotted layer names (default: all layers of the four kinds).

    Returns
    -------
    TruncationResult
        ``.model`` and ``.n_params`` (and per-layer ranks and counts).
    """
    from ..nn.factorized.lowrank import LowRankConv2d, LowRankLinear

    if (tau is None) == (energy is None):
        raise ValueError("give exactly one of tau (spectral-norm indicator) and energy")
    if tau is not None:
        spectral_rank([1.0], tau)  # validates tau before any work
    else:
        energy_rank([1.0], energy)
    kinds = (Linear, Conv2d, SVDLinear, SVDConv2d)
    names = _select(model, kinds, layers, "Linear, Conv2d or SVD")
    new = copy.deepcopy(model)
    named = _named_layers(new)
    dense_total = int(new.n_params)
    reports = []
    for name in names:
        layer = named[name]
        weight, bias, kind, opts = _dense_of(layer)
        mat = weight.reshape(weight.shape[0], -1)
        s = np.linalg.svd(mat.astype(np.float64), compute_uv=False)
        k = spectral_rank(s, tau) if tau is not None else energy_rank(s, energy)
        k = max(k, 1)
        m, n = mat.shape
        n_bias = 0 if bias is None else int(bias.size)
        before = m * n + n_bias
        dense_total += before - int(layer.n_params)
        if k * (m + n) < m * n:
            if kind == "Linear":
                new_layer = LowRankLinear.from_weight(weight, bias, rank=k)
            else:
                new_layer = LowRankConv2d.from_weight(weight, bias, rank=k, **opts)
        else:
            new_layer = _dense_layer(weight, bias, kind, opts)
        new_layer.train(layer.training)
        _replace(new, name, new_layer)
        after = int(new_layer.n_params)
        reports.append(TruncatedLayer(name, k, min(m, n), after < before, before, after))
    return TruncationResult(new, int(new.n_params), dense_total, reports)


# ------------------------------------------------------------------------------ Frank-Wolfe
def _top_singular_pair(g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Leading left and right singular vectors of ``g`` (deterministic)."""
    if min(g.shape) <= 64:
        u, _, vt = np.linalg.svd(g, full_matrices=False)
        return u[:, 0], vt[0]
    from scipy.sparse.linalg import svds

    u, _, vt = svds(g, k=1, v0=np.ones(min(g.shape)) / math.sqrt(min(g.shape)))
    return u[:, 0], vt[0]


class NuclearFrankWolfe(Optimizer):
    """Stochastic Frank-Wolfe training inside nuclear-norm balls (Zimmer, Spiegel & Pokutta 2022).

    Each constrained weight (as the matrix of :func:`weight_matrix`) stays in
    ``{W : ||W||_* <= kappa}``. With ``m`` the momentum-averaged gradient
    (``m <- beta m + (1 - beta) g``), the linear minimization oracle over the ball is the rank-one
    ``V = -kappa u_1 v_1^T`` (the top singular pair of ``m``), and the step is the convex
    combination ``W <- (1 - eta) W + eta V`` with ``eta = min(lr, 1)`` the rate of the step (a
    schedule such as ``2 / (t + 2)`` can be passed as ``schedule``). Every iterate is feasible
    and adds at most one rank, so the weights stay low-rank by construction. Other parameters
    (biases) take a plain momentum step ``p <- p - lr m``. Weights outside their ball at the
    first step are scaled onto it.

    Parameters
    ----------
    params : dict of str to numpy.ndarray
        Live parameters.
    radius : float or dict of str to float
        ``kappa`` for every constrained key, or per key.
    lr : float
        Frank-Wolfe step size ``eta`` (clipped to 1).
    momentum : float
        ``beta`` in ``[0, 1)``.
    relative : bool
        ``kappa = radius * ||W_0||_*`` (the initial nuclear norm of each weight) instead of the
        absolute ``radius``.
    keys : sequence of str, optional
        Constrained parameters (default: every ``*weight`` of ndim 2 or 4).
    **kwargs
        Schedule, clipping and hooks (see :class:`~tensornet.nn.Optimizer`).

    Attributes
    ----------
    radii : dict of str to float
        ``kappa`` per constrained key.
    """

    _slots = ("momentum",)

    def __init__(
        self,
        params: dict[str, np.ndarray],
        radius: float | dict[str, float],
        lr: float = 0.1,
        momentum: float = 0.9,
        relative: bool = False,
        keys: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> None:
        beta = check_real(momentum, "momentum", minimum=0.0)
        if not beta < 1:
            raise ValueError(f"momentum={momentum!r} must lie in [0, 1)")
        super().__init__(params, lr, **kwargs)
        self.beta = beta
        chosen = _prox_keys(params, _check_keys(keys))
        self.radii = {}
        for key in chosen:
            kappa = radius.get(key) if isinstance(radius, dict) else radius
            if kappa is None:
                raise ValueError(f"radius has no entry for the constrained key {key!r}")
            kappa = check_real(kappa, f"radius[{key!r}]", minimum=0.0, strict_minimum=True)
            if relative:
                kappa *= float(measures.nuclear_norm(weight_matrix(params[key])))
            self.radii[key] = kappa
        self._started = False

    def _project_start(self) -> None:
        for key, kappa in self.radii.items():
            p = self.params[key]
            norm = float(measures.nuclear_norm(weight_matrix(p)))
            if norm > kappa:
                p *= p.dtype.type(kappa / norm)
        self._started = True

    def step(self, grads: dict[str, np.ndarray]) -> float:
        """One Frank-Wolfe step (see the class notes); returns the rate used."""
        if not self._started:
            self._project_start()
        return super().step(grads)

    def _update(self, key: str, p: np.ndarray, g: np.ndarray, lr: Any) -> None:
        m = self.state["momentum"][key].reshape(-1)
        m *= m.dtype.type(self.beta)
        m += m.dtype.type(1 - self.beta) * g
        if key not in self.radii:
            p -= lr * m
            return
        shape = self.params[key].shape
        mat = m.reshape(shape[0], -1).astype(np.float64)
        u, v = _top_singular_pair(mat)
        atom = (-self.radii[key] * np.outer(u, v)).reshape(-1)
        eta = p.dtype.type(min(float(lr), 1.0))
        p *= 1 - eta
        p += eta * atom.astype(p.dtype)
