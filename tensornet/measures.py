"""Sparsity measures of vectors, and of matrices through their singular values (survey II-C).

Every measure takes ``x`` of one of two forms:

* a vector (``ndim == 1``): the measure of its entries' magnitudes ``|x_i|``;
* a matrix (``ndim == 2``): the measure of its singular values ``sigma_1 >= ... >= sigma_N``
  (``N = min(m, n)``), so that a sparsity measure becomes a low-rank measure (the l1 norm becomes
  the nuclear norm, the l0 norm the numerical rank).

All measures are functions of the magnitudes that do not depend on their order (absolutely
symmetric), which makes the matrix forms differentiable wherever the vector form is, even where
singular values repeat or vanish: the gradient of ``f(sigma(W))`` is ``U diag(grad f) V^T``
(Lewis 1995), which :func:`singular_values` supplies to autograd. Each function accepts autograd
boxes, so it can sit inside a loss.

Conventions at zeros (documented once, used everywhere):

* ``0 log 0 = 0`` in the entropy of :func:`effective_rank`;
* ``d|x|/dx = 0`` at ``x = 0`` (the minimum-norm subgradient), so an exactly zero entry gets a
  zero gradient from every measure, also where the one-sided derivative is infinite (``|x|^p``
  with ``p < 1``, the entropy); for a matrix, numerically zero singular values get a zero
  cotangent in the same way (see :func:`singular_values`). No gradient is ever NaN;
* the scale-invariant measures (:func:`gini_index`, :func:`hoyer`, :func:`effective_rank`) are
  undefined on the zero vector and refuse it.

Values (with ``c = |x|`` or ``c = sigma``, ``N`` entries, ``S = sum c``):

==================  =====================================================  ==================
function            value                                                  sparse when
==================  =====================================================  ==================
l0_norm             ``#{i : c_i > tol * max c}``                           small
lp_norm             ``(sum c_i^p)^(1/p)``, ``0 < p <= 1``                  small
l1_norm             ``sum c_i`` (nuclear norm for a matrix)                small
sorted_l1           ``sum_i w_i c_[i]``, ``c`` descending (eq. 19)         small
two_level_l1        ``rho * (K largest) + (the rest)`` (eq. 20)            small
gini_index          ``1 - 2 sum_k (c_(k) / S) (N - k + 1/2) / N`` (eq. 21)  large (max 1-1/N)
hoyer               ``(sqrt N - ||c||_1/||c||_2) / (sqrt N - 1)`` (eq. 22)  large (max 1)
effective_rank      ``exp(-sum p_i log p_i)``, ``p = c / S`` (eq. 23)      small (min 1)
==================  =====================================================  ==================
"""

from __future__ import annotations

import math
from typing import Any

import autograd.numpy as anp
import numpy as np
from autograd.extend import defvjp, primitive
from autograd.tracer import Box, getval

from ._validation import check_array, check_int, check_real

__all__ = [
    "singular_values",
    "l0_norm",
    "lp_norm",
    "l1_norm",
    "nuclear_norm",
    "sorted_l1",
    "two_level_l1",
    "gini_index",
    "hoyer",
    "effective_rank",
    "lorenz_curve",
]


# ------------------------------------------------------------------------------ inputs
def _check_input(x: Any, name: str = "x") -> Any:
    """A finite real 1-D or 2-D array (autograd boxes are checked on their value)."""
    value = getval(x) if isinstance(x, Box) else x
    arr = check_array(value, name)
    if arr.ndim not in (1, 2):
        raise ValueError(
            f"{name} must be a vector (ndim=1) or a matrix (ndim=2, measured through its "
            f"singular values), got ndim={arr.ndim} (shape {arr.shape})"
        )
    return x if isinstance(x, Box) else arr


def _magnitudes(x: Any, name: str = "x") -> Any:
    """``|x|`` for a vector, the singular values for a matrix (differentiable either way)."""
    x = _check_input(x, name)
    if anp.ndim(x) == 2:
        return singular_values(x)
    return anp.abs(x)


def _refuse_zero(c: Any, name: str, measure: str) -> None:
    if not np.any(getval(c) > 0):
        raise ValueError(
            f"{name} is zero; the {measure} is scale-invariant and undefined for the zero "
            "vector (and the zero matrix)"
        )


# ------------------------------------------------------------------------------ SVD
@primitive
def singular_values(a: np.ndarray) -> np.ndarray:
    """Singular values of a matrix, descending, differentiable with autograd.

    The vector-Jacobian product is ``g -> U diag(g) V^T`` (``d sigma_i = u_i^T dA v_i``), the
    exact gradient of any absolutely symmetric function of the singular values, also where they
    repeat; it never divides by gaps between singular values, so it never returns NaN there
    (unlike the VJP of a full SVD, which needs ``1 / (sigma_i^2 - sigma_j^2)``). Numerically
    zero singular values (``<= max(m, n) * eps * sigma_1``, NumPy's rank tolerance) get a zero
    cotangent, the convention ``d|x|/dx = 0`` at ``0`` of the vector form: the nuclear norm's
    gradient is then ``U_r V_r^T`` over the non-zero singular values (the minimum-norm
    subgradient).

    Parameters
    ----------
    a : array_like, shape (m, n)
        Finite real matrix.

    Returns
    -------
    numpy.ndarray, shape (min(m, n),)

    Examples
    --------
    >>> singular_values(np.array([[3.0, 0.0], [0.0, -4.0]]))
    array([4., 3.])
    """
    arr = check_array(a, "a", ndim=2)
    return np.linalg.svd(arr, compute_uv=False)


def _singular_values_vjp(ans: np.ndarray, a: np.ndarray):
    a = np.asarray(a)
    u, s, vt = np.linalg.svd(a, full_matrices=False)
    tol = max(a.shape) * np.finfo(s.dtype).eps * (s[0] if s.size else 0.0)
    support = s > tol

    def vjp(g: np.ndarray) -> np.ndarray:
        return (u * np.where(support, g, 0.0)) @ vt

    return vjp


defvjp(singular_values, _singular_values_vjp)


# ------------------------------------------------------------------------------ norms
def l0_norm(x: Any, tol: float = 1e-12) -> float:
    """Number of non-negligible entries (the numerical rank for a matrix).

    Counts ``c_i > tol * max_j c_j`` (a relative tolerance, so the count is scale-invariant).
    Piecewise constant: its gradient is zero wherever it exists, and it is returned as a plain
    float (no autograd trace).

    Parameters
    ----------
    x : array_like, shape (N,) or (m, n)
        Vector, or matrix measured through its singular values.
    tol : float
        Relative threshold in ``[0, 1)``.

    Returns
    -------
    float
        ``0`` for the zero vector.

    Examples
    --------
    >>> l0_norm(np.array([0.0, 3.0, -1e-20, 2.0]))
    2.0
    """
    tol = check_real(tol, "tol", minimum=0.0)
    if not tol < 1:
        raise ValueError(f"tol={tol} must be < 1 (a fraction of the largest magnitude)")
    c = np.asarray(getval(_magnitudes(x)))
    top = float(np.max(c))
    if top == 0:
        return 0.0
    return float(np.count_nonzero(c > tol * top))


def _safe_power(c: Any, p: float) -> Any:
    """``c**p`` for ``c >= 0`` with value and gradient 0 at ``c == 0`` (for ``p < 1``)."""
    positive = c > 0
    base = anp.where(positive, c, 1.0)
    return anp.where(positive, base**p, 0.0)


def lp_norm(x: Any, p: float = 0.5) -> Any:
    """The ``l_p`` quasi-norm ``(sum_i c_i^p)^(1/p)`` of the magnitudes (Schatten-p for a matrix).

    For ``p < 1`` it is non-convex and closer to the l0 count than the l1 norm is. At a zero
    entry the derivative of ``c^p`` is taken as ``0`` (it is infinite from the right).

    Parameters
    ----------
    x : array_like, shape (N,) or (m, n)
        Vector, or matrix measured through its singular values.
    p : float
        Exponent, ``0 < p <= 1``.

    Returns
    -------
    float or autograd box
        ``0`` for the zero vector.

    Examples
    --------
    >>> float(lp_norm(np.array([1.0, 4.0, 0.0]), p=0.5))
    9.0
    """
    p = check_real(p, "p", minimum=0.0, strict_minimum=True, maximum=1.0)
    c = _magnitudes(x)
    total = anp.sum(_safe_power(c, p))
    if float(getval(total)) == 0:
        return 0.0 * total
    return total ** (1.0 / p)


def l1_norm(x: Any) -> Any:
    """``sum_i c_i``: the l1 norm of a vector, the nuclear norm of a matrix.

    The convex envelope of the l0 norm (of the rank, for a matrix, on the spectral-norm ball).
    Gradient ``sign(x)`` (``U V^T`` for a matrix), with ``0`` at zero entries.

    Parameters
    ----------
    x : array_like, shape (N,) or (m, n)
        Vector, or matrix measured through its singular values.

    Returns
    -------
    float or autograd box

    Examples
    --------
    >>> float(l1_norm(np.array([1.0, -2.0, 3.0])))
    6.0
    """
    return anp.sum(_magnitudes(x))


def nuclear_norm(a: Any) -> Any:
    """Nuclear norm ``||A||_* = sum_i sigma_i`` (the l1 norm of the singular values).

    Parameters
    ----------
    a : array_like, shape (m, n)
        Matrix.

    Returns
    -------
    float or autograd box

    Examples
    --------
    >>> float(nuclear_norm(np.diag([3.0, -4.0])))
    7.0
    """
    a = _check_input(a, "a")
    if anp.ndim(a) != 2:
        raise ValueError(f"a must be a matrix (ndim=2), got ndim={anp.ndim(a)}")
    return anp.sum(singular_values(a))


def _descending(c: Any) -> Any:
    """The magnitudes sorted descending (the order from the values, the gradient by indexing)."""
    order = np.argsort(-np.asarray(getval(c)), kind="stable")
    return c[order]


def sorted_l1(x: Any, weights: Any = None) -> Any:
    """Sorted (ordered weighted) l1 norm ``sum_i w_i c_[i]``, ``c_[1] >= c_[2] >= ...`` (eq. 19).

    With non-increasing weights ``w_1 >= ... >= w_N >= 0`` it is a norm (Bogdan et al. 2015,
    SLOPE; Zeng & Figueiredo 2014); larger entries pay more, which also groups equal magnitudes.
    Its gradient is ``w`` scattered back to the entries' positions (times ``sign``); at ties any
    assignment of tied weights gives the same value and one of the one-sided gradients.

    Parameters
    ----------
    x : array_like, shape (N,) or (m, n)
        Vector, or matrix measured through its singular values.
    weights : array_like, shape (N,), optional
        Non-increasing non-negative weights; default ``w_i = (N - i + 1) / N``.

    Returns
    -------
    float or autograd box

    Examples
    --------
    >>> float(sorted_l1(np.array([1.0, 3.0, 2.0]), weights=[3.0, 2.0, 1.0]))
    14.0
    """
    c = _magnitudes(x)
    n = int(np.shape(getval(c))[0])
    if weights is None:
        w = np.arange(n, 0, -1, dtype=float) / n
    else:
        w = check_array(weights, "weights", ndim=1)
        if w.shape[0] != n:
            raise ValueError(f"weights has {w.shape[0]} entries, but x has {n} magnitudes to weigh")
        if np.any(w < 0) or np.any(np.diff(w) > 0):
            raise ValueError(f"weights={w.tolist()} must be non-negative and non-increasing")
    return anp.sum(_descending(c) * w)


def two_level_l1(x: Any, k: int, rho: float = 0.5) -> Any:
    """Two-level l1 norm: weight ``rho`` on the ``k`` largest magnitudes, 1 on the rest (eq. 20).

    ``rho * sum_{i <= k} c_[i] + sum_{i > k} c_[i]`` with ``c`` sorted descending (Huang, Liu,
    Shi, Van Huffel & Suykens 2015). Penalizing the small entries more than the large ones pushes
    the tail to zero while sparing the entries that carry the signal; with ``rho = 1`` it is the
    l1 norm. Non-convex for ``rho < 1``; its gradient is the weight of each entry's level.

    Parameters
    ----------
    x : array_like, shape (N,) or (m, n)
        Vector, or matrix measured through its singular values.
    k : int
        Number of large entries, ``0 <= k <= N``.
    rho : float
        Weight of the large entries, ``0 <= rho <= 1``.

    Returns
    -------
    float or autograd box

    Examples
    --------
    >>> float(two_level_l1(np.array([1.0, 4.0, 2.0]), k=1, rho=0.5))
    5.0
    """
    c = _magnitudes(x)
    n = int(np.shape(getval(c))[0])
    k = check_int(k, "k", minimum=0, maximum=n)
    rho = check_real(rho, "rho", minimum=0.0, maximum=1.0)
    w = np.ones(n)
    w[:k] = rho
    return anp.sum(_descending(c) * w)


# ------------------------------------------------------------------------------ ratios
def gini_index(x: Any) -> Any:
    """Gini index of the magnitudes (Hurley & Rickard 2009; survey eq. 21).

    With ``c_(1) <= ... <= c_(N)`` sorted ascending and ``S = sum c``,
    ``G = 1 - 2 sum_k (c_(k) / S) (N - k + 1/2) / N``. Equivalently ``G = 1 - 2 A`` with ``A``
    the area under the Lorenz curve (:func:`lorenz_curve`). ``G = 0`` when all entries are
    equal, ``G = 1 - 1/N`` for a single non-zero entry; it is scale-invariant and the only
    common measure meeting all six criteria of Hurley & Rickard. Sparse means *large* ``G``, so
    a regularizer minimizes ``1 - G``. Gradient ``sign(x_j) (1 - G - 2 w_j) / S`` with
    ``w_j = (N - rank_j + 1/2) / N``.

    Parameters
    ----------
    x : array_like, shape (N,) or (m, n)
        Vector, or matrix measured through its singular values; not all zero.

    Returns
    -------
    float or autograd box

    Examples
    --------
    >>> round(float(gini_index(np.array([1.0, 2.0, 3.0, 4.0, 10.0]))), 12)
    0.4
    """
    c = _magnitudes(x)
    _refuse_zero(c, "x", "Gini index")
    n = int(np.shape(getval(c))[0])
    ascending = _descending(c)[::-1]
    k = np.arange(1, n + 1)
    w = (n - k + 0.5) / n
    return 1.0 - 2.0 * anp.sum(ascending * w) / anp.sum(c)


def hoyer(x: Any) -> Any:
    """Hoyer's sparsity ``(sqrt N - ||c||_1 / ||c||_2) / (sqrt N - 1)`` (Hoyer 2004; eq. 22).

    ``0`` when all magnitudes are equal, ``1`` for a single non-zero; scale-invariant. Sparse
    means *large*, so a regularizer minimizes ``1 - hoyer`` (equivalently ``||c||_1 / ||c||_2``,
    the DeepHoyer ratio). A one-entry vector is maximally sparse: ``hoyer`` returns ``1``.

    Parameters
    ----------
    x : array_like, shape (N,) or (m, n)
        Vector, or matrix measured through its singular values; not all zero.

    Returns
    -------
    float or autograd box

    Examples
    --------
    >>> float(hoyer(np.array([0.0, 0.0, 5.0, 0.0])))
    1.0
    """
    c = _magnitudes(x)
    _refuse_zero(c, "x", "Hoyer measure")
    n = int(np.shape(getval(c))[0])
    if n == 1:
        return 0.0 * anp.sum(c) + 1.0
    ratio = anp.sum(c) / anp.sqrt(anp.sum(c * c))
    root = math.sqrt(n)
    return (root - ratio) / (root - 1.0)


def effective_rank(x: Any) -> Any:
    """Effective rank ``exp(H(p))``, ``p = c / ||c||_1`` (Roy & Vetterli 2007; survey eq. 23).

    ``H(p) = -sum_i p_i log p_i`` with ``0 log 0 = 0``. ``1 <= erank <= N`` (or the number of
    non-zeros); ``N`` when all magnitudes are equal, ``1`` for a single non-zero (rank one).
    Scale-invariant. Gradient ``-sign(x_j) erank (log p_j + H) / S`` on the support and ``0``
    on an exactly zero entry (the convention at zeros of the module notes). The survey's
    finding is that minimizing it gives better compression than the nuclear norm, Gini index or
    Hoyer measure.

    Parameters
    ----------
    x : array_like, shape (N,) or (m, n)
        Vector, or matrix measured through its singular values; not all zero.

    Returns
    -------
    float or autograd box

    Examples
    --------
    >>> float(effective_rank(np.ones(4)))
    4.0
    """
    c = _magnitudes(x)
    _refuse_zero(c, "x", "effective rank")
    p = c / anp.sum(c)
    positive = p > 0
    safe = anp.where(positive, p, 1.0)
    entropy = -anp.sum(anp.where(positive, safe * anp.log(safe), 0.0))
    return anp.exp(entropy)


def lorenz_curve(x: Any) -> tuple[np.ndarray, np.ndarray]:
    """Lorenz curve of the magnitudes: cumulative share of the total held by the smallest ones.

    Points ``(k / N, sum_{i <= k} c_(i) / S)`` for ``k = 0..N`` with ``c`` ascending. The curve
    of equal entries is the diagonal; the sparser the vector, the more it sags. The Gini index
    is ``1 - 2 A`` with ``A`` the area under the piecewise-linear curve (trapezoids).

    Parameters
    ----------
    x : array_like, shape (N,) or (m, n)
        Vector, or matrix measured through its singular values; not all zero.

    Returns
    -------
    fraction : numpy.ndarray, shape (N + 1,)
        ``k / N``.
    share : numpy.ndarray, shape (N + 1,)
        Cumulative share, from ``0`` to ``1``.

    Examples
    --------
    >>> lorenz_curve(np.array([10.0, 1.0, 2.0, 3.0, 4.0]))[1].tolist()
    [0.0, 0.05, 0.15, 0.3, 0.5, 1.0]
    """
    c = np.sort(np.asarray(getval(_magnitudes(x)), dtype=float))
    _refuse_zero(c, "x", "Lorenz curve")
    n = c.shape[0]
    share = np.concatenate([[0.0], np.cumsum(c) / np.sum(c)])
    share[-1] = 1.0
    return np.arange(n + 1) / n, share
