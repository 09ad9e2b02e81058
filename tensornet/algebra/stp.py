"""The left semi-tensor product (STP) and the semi-tensor mode-n product (survey eq. 14-16).

For ``X`` of shape ``(m, n)`` and ``W`` of shape ``(p, q)``, with ``t = lcm(n, p)``,

``X ⋉ W = (X ⊗ I_{t/n}) (W ⊗ I_{t/p})``,  shape ``(m t/n, q t/p)``

(Cheng's left STP; the survey's eq. 14-15 is the case where ``p`` divides ``n``). It is the
ordinary matrix product when ``n = p``, is associative, and satisfies
``(X ⋉ W)^T = W^T ⋉ X^T``. Kronecker products follow the C-order rule of
:mod:`tensornet.algebra.products`: ``(X ⊗ I_a)[i a + α, j a + β] = X[i, j] δ_{αβ}``.

Vectors
-------
A 1-D ``x`` is read as a **row** ``(1, n)`` and a 1-D ``w`` as a **column** ``(p, 1)``, as in
the survey's vector case ``x ⋉ y = sum_i x_(i) y_i`` (``x`` cut into ``p`` blocks). The result
is always 2-D; nothing is squeezed.

Neither function builds an identity Kronecker factor: :func:`stp` costs ``m q t``
multiply-adds, the work of the non-zero terms only.
"""

from __future__ import annotations

from math import lcm

import numpy as np

from .._validation import check_array, check_axis
from .kernels import stp_numba, stp_plan

__all__ = ["stp", "stp_mode_dot"]

#: Below this many multiply-adds (``m q t``) a general STP (``t/n > 1`` and ``t/p > 1``) runs in
#: the Numba loop, whose call overhead is smaller than the batched matmul's gather
#: (see the ``stp`` part of ``benchmarks/bench_kernels.py``).
NUMBA_STP_MAX_WORK = 16384


def _as_matrix(a: np.ndarray, name: str, vector_as: str) -> np.ndarray:
    """Check an STP operand's type and dimensions and view a 1-D one as a row or a column.

    Floating arrays pass without a scan (finiteness is checked on the result, see :func:`stp`);
    anything else goes through :func:`~tensornet._validation.check_array`, which converts
    integers and refuses non-numeric, complex or empty input.
    """
    a = np.asarray(a)
    if not np.issubdtype(a.dtype, np.floating) or a.size == 0:
        a = check_array(a, name)
    elif a.dtype == np.float16:  # the package's convention, as check_array does
        a = a.astype(np.float32)
    if a.ndim == 1:
        return a.reshape(1, -1) if vector_as == "row" else a.reshape(-1, 1)
    if a.ndim != 2:
        raise ValueError(f"{name} must be 1-D or 2-D, got ndim={a.ndim} (shape {a.shape})")
    return a


def _numba_dtype(x: np.ndarray, w: np.ndarray) -> bool:
    """Whether the Numba loop computes in the dtype the batched products would return (it
    compiles float32 and float64 only; ``longdouble`` stays on the NumPy paths)."""
    return np.result_type(x, w) in (np.float32, np.float64)


def _stp_matrices(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """STP of two matrices by ``ab`` small matrix products batched into one ``matmul``.

    (``n = p`` is a plain matrix product; tiny operands with ``a, b > 1`` go to the Numba loop.)
    With the plan of :func:`tensornet.algebra.kernels.stp_plan`,
    ``Y[i a + v%a, l b + v%b] = sum_u X[i, u b + v//a] W[u a + v//b, l]`` for ``v < ab``:
    ``X`` viewed as ``(m, c, b)`` and ``W`` as ``(c, a, q)`` are gathered along ``v`` and
    multiplied as a batch of ``(m, c) @ (c, q)`` products.
    """
    (m, n), (p, q) = x.shape, w.shape
    if n == p:
        return x @ w
    t = lcm(n, p)
    a, b = t // n, t // p
    c = t // (a * b)
    if a > 1 and b > 1 and m * q * t <= NUMBA_STP_MAX_WORK and _numba_dtype(x, w):
        return stp_numba(x, w)
    x3 = x.reshape(m, c, b)
    w3 = w.reshape(c, a, q)
    if a == 1 or b == 1:  # one side is a plain view; broadcasting replaces the gather
        z = np.matmul(x3.transpose(2, 0, 1), w3.transpose(1, 0, 2))
        y = z.reshape(a, b, m, q)
    else:
        v_of = stp_plan(n, p)[3]
        v = np.arange(a * b)
        z = np.matmul(x3[:, :, v // a].transpose(2, 0, 1), w3[:, v // b, :].transpose(1, 0, 2))
        y = z[v_of]
    return y.transpose(2, 0, 3, 1).reshape(m * a, q * b)


def stp(x: np.ndarray, w: np.ndarray, *, check_finite: bool = True) -> np.ndarray:
    """Left semi-tensor product ``X ⋉ W = (X ⊗ I_{t/n})(W ⊗ I_{t/p})``, ``t = lcm(n, p)``.

    Survey eq. 14-15 (the case ``p | n``) and Cheng's general definition; computed without the
    identity Kronecker factors: ``m q t`` multiply-adds via batched matrix products, or, for
    tiny operands with ``t/n > 1`` and ``t/p > 1``, the Numba loop
    :func:`tensornet.algebra.kernels.stp_numba` (measured faster there).

    Parameters
    ----------
    x : array_like, shape (m, n), or (n,) read as a row vector
        Left factor.
    w : array_like, shape (p, q), or (p,) read as a column vector
        Right factor.
    check_finite : bool
        Refuse NaN/Inf in the inputs. Every entry of ``x`` and ``w`` enters some output entry,
        so a non-finite input makes the result non-finite under IEEE arithmetic: only the
        result is scanned, and the inputs are checked (for the message) only when it is not
        finite. ``False`` skips the scan.

    Returns
    -------
    numpy.ndarray, shape (m t / n, q t / p)
        Always 2-D; of the operands' common floating dtype on every path (integers give
        ``float64``, ``float16`` gives ``float32``).

    Raises
    ------
    TypeError
        If an input is not a real numeric array.
    ValueError
        If an input is not 1-D or 2-D, is empty, or holds NaN or Inf.

    Examples
    --------
    >>> import numpy as np
    >>> stp(np.array([[1, 0, 0, 0], [0, 1, 1, 1]]), np.array([[1, 1, 0, 1], [0, 0, 1, 0]]))
    array([[1., 0., 1., 0., 0., 0., 1., 0.],
           [0., 1., 0., 1., 1., 1., 0., 1.]])
    >>> stp(np.arange(6.0), np.array([1.0, 2.0]))  # row of length 6 times column of length 2
    array([[ 6.,  9., 12.]])
    """
    x = _as_matrix(x, "x", "row")
    w = _as_matrix(w, "w", "column")
    with np.errstate(invalid="ignore", over="ignore"):  # non-finite input is refused below
        y = _stp_matrices(x, w)
    if check_finite and not np.all(np.isfinite(y)):
        check_array(x, "x")
        check_array(w, "w")
    return y


def stp_mode_dot(x: np.ndarray, u: np.ndarray, mode: int) -> np.ndarray:
    """Semi-tensor mode-n product ``fold_n(U ⋉ X_(n))`` (survey eq. 16).

    For ``U`` of shape ``(J, K)`` and ``x.shape[n] = I_n`` a multiple of ``K``, ``t = I_n / K``
    and ``U ⋉ X_(n) = (U ⊗ I_t) X_(n)``: the result is the ordinary mode-n product with
    ``U ⊗ I_t`` and has size ``J t`` in mode ``n``. It is computed by splitting mode ``n`` into
    ``(K, t)`` (C order) and contracting ``K`` with ``U``; ``U ⊗ I_t`` is never built. With
    ``K = I_n`` it is :func:`tensornet.algebra.mode_dot`.

    (When ``K`` is a multiple of ``I_n`` the STP would instead widen the unfolding's columns,
    which does not fold back into a tensor of the same modes; that case is refused.)

    Parameters
    ----------
    x : array_like, shape (I_0, ..., I_{d-1})
        The tensor.
    u : array_like, shape (J, K), or (K,) read as a row ``(1, K)``
        The factor; ``K`` must divide ``x.shape[mode]``.
    mode : int
        The mode ``n``.

    Returns
    -------
    numpy.ndarray, shape (I_0, ..., J·I_n/K, ..., I_{d-1})

    Raises
    ------
    ValueError
        If ``u`` is not 1-D or 2-D, ``K`` does not divide ``x.shape[mode]``, ``mode`` is out of
        range, or an input holds NaN or Inf.

    Examples
    --------
    >>> import numpy as np
    >>> stp_mode_dot(np.ones((2, 6, 3)), np.ones((5, 2)), 1).shape  # t = 3, J t = 15
    (2, 15, 3)
    """
    x = check_array(x, "x", min_ndim=1)
    u = check_array(u, "u")
    u = _as_matrix(u, "u", "row")
    mode = check_axis(mode, x.ndim)
    size = x.shape[mode]
    n_rows, n_cols = u.shape
    if size % n_cols:
        raise ValueError(
            f"stp_mode_dot needs u.shape[1]={n_cols} to divide x.shape[{mode}]={size} "
            f"(u has shape {u.shape}, x has shape {x.shape})"
        )
    t = size // n_cols
    split = x.reshape(x.shape[:mode] + (n_cols, t) + x.shape[mode + 1 :])
    y = np.moveaxis(np.tensordot(u, split, axes=([1], [mode])), 0, mode)
    return y.reshape(x.shape[:mode] + (n_rows * t,) + x.shape[mode + 1 :])
