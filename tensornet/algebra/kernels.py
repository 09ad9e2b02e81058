"""Hot-spot kernels: MTTKRP and the semi-tensor product, each with a plain NumPy reference.

MTTKRP
------
The matricized-tensor-times-Khatri-Rao product of CP-ALS (Kolda & Bader 2009, Sec. 3.4),

``M = X_(n) · khatri_rao(A_0, ..., A_{n-1}, A_{n+1}, ..., A_{d-1})``,  shape ``(I_n, R)``,

in the C-order convention of :mod:`tensornet.algebra.modes`. Two implementations:

* :func:`mttkrp_reference`: the definition; forms the unfolding (a copy of ``X`` for inner
  modes) and the full Khatri-Rao product.
* :func:`mttkrp_blas`: one GEMM on a copy-free view of ``X`` (for ``n = 0`` with the Khatri-Rao
  product of the other factors; for ``n >= 1`` with ``A_0`` alone), followed by batched
  matrix-vector reductions on the ``I_0/R`` times smaller intermediate.

:func:`mttkrp` validates its input and dispatches to the path measured fastest by
``benchmarks/bench_kernels.py`` (see ``docs/guide/algebra.md``): the BLAS path, always. The
rejected Numba candidate lives in ``benchmarks/mttkrp_numba_candidate.py``.

STP
---
:func:`stp_reference` is the definition ``(X ⊗ I_{t/n})(W ⊗ I_{t/p})`` with explicit identity
factors; :func:`stp_numba` is a Numba loop that touches only the non-zero terms. The default
implementation, :func:`tensornet.algebra.stp.stp`, uses batched matrix products and calls
:func:`stp_numba` only for tiny operands, where it was measured faster.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import lcm

import numba
import numpy as np

from .._validation import check_array, check_axis
from .modes import unfold
from .products import khatri_rao

__all__ = [
    "mttkrp",
    "mttkrp_blas",
    "mttkrp_reference",
    "stp_numba",
    "stp_plan",
    "stp_reference",
]


# --------------------------------------------------------------------------- MTTKRP
def _check_mttkrp_args(
    x: np.ndarray, factors: Sequence[np.ndarray], mode: int
) -> tuple[np.ndarray, list[np.ndarray | None], int]:
    """Check the MTTKRP shapes and types (not finiteness); return arrays and the mode."""
    if isinstance(x, (str, bytes)) or x is None:
        check_array(x, "x")  # raises the TypeError
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        x = check_array(x, "x")  # integers and booleans become float64; others are refused
    if x.ndim < 2:
        raise ValueError(f"x must have ndim >= 2, got ndim={x.ndim} (shape {x.shape})")
    if x.size == 0:
        raise ValueError(f"x must not be empty, got shape {x.shape}")
    mode = check_axis(mode, x.ndim)
    if isinstance(factors, np.ndarray) or len(factors) != x.ndim:
        n_given = "an array" if isinstance(factors, np.ndarray) else f"{len(factors)} factors"
        raise ValueError(f"factors must hold one matrix per mode ({x.ndim}), got {n_given}")
    mats: list[np.ndarray | None] = []
    rank, first = None, None
    for k, f in enumerate(factors):
        if k == mode:
            mats.append(None)  # ignored by every path
            continue
        f = np.asarray(f)
        if not np.issubdtype(f.dtype, np.floating):
            f = check_array(f, f"factors[{k}]")
        if f.ndim != 2 or f.shape[0] != x.shape[k]:
            raise ValueError(
                f"factors[{k}] must have shape ({x.shape[k]}, R) to match x.shape[{k}], "
                f"got {f.shape}"
            )
        if rank is None:
            rank, first = f.shape[1], k
        elif f.shape[1] != rank:
            raise ValueError(
                f"factors[{k}] has {f.shape[1]} columns but factors[{first}] has {rank}"
            )
        mats.append(f)
    if rank == 0:
        raise ValueError(f"factors[{first}] has 0 columns; the rank R must be >= 1")
    return x, mats, mode


def _refuse_non_finite(x: np.ndarray, mats: list[np.ndarray | None]) -> None:
    """Raise the check_array error for the first input holding NaN or Inf (if any)."""
    check_array(x, "x")
    for k, f in enumerate(mats):
        if f is not None:
            check_array(f, f"factors[{k}]")


def mttkrp_reference(x: np.ndarray, factors: Sequence[np.ndarray], mode: int) -> np.ndarray:
    """MTTKRP by definition: ``X_(n) · khatri_rao(factors, skip=n)`` (forms the Khatri-Rao).

    Parameters
    ----------
    x : numpy.ndarray, shape (I_0, ..., I_{d-1})
        The tensor.
    factors : sequence of numpy.ndarray, each (I_k, R)
        One factor per mode (the one of ``mode`` is ignored).
    mode : int
        The mode ``n``.

    Returns
    -------
    numpy.ndarray, shape (I_n, R)
    """
    x = np.asarray(x)
    mode = check_axis(mode, x.ndim)
    others = [np.asarray(f) for k, f in enumerate(factors) if k != mode]
    return unfold(x, mode) @ khatri_rao(others)


def _kr_or_ones(mats: list[np.ndarray], rank: int, dtype: np.dtype) -> np.ndarray:
    """Khatri-Rao product of ``mats``; the ``(1, rank)`` row of ones when ``mats`` is empty."""
    if not mats:
        return np.ones((1, rank), dtype=dtype)
    return khatri_rao(mats)


def _mttkrp_two_sided(x: np.ndarray, mats: list[np.ndarray], mode: int) -> np.ndarray:
    """Partial contraction from the larger outer side: ``X`` viewed as ``(L, I_n, K)``."""
    rank = next(m for k, m in enumerate(mats) if k != mode).shape[1]
    dtype = np.result_type(x, *(m for k, m in enumerate(mats) if k != mode))
    n_left = int(np.prod(x.shape[:mode], dtype=np.int64))
    n_right = int(np.prod(x.shape[mode + 1 :], dtype=np.int64))
    size = x.shape[mode]
    x3 = x.reshape(n_left, size, n_right)
    kl = _kr_or_ones(mats[:mode], rank, dtype)
    kr = _kr_or_ones(mats[mode + 1 :], rank, dtype)
    if n_right >= n_left:
        part = (x3.reshape(n_left * size, n_right) @ kr).reshape(n_left, size, rank)
        return np.einsum("ljr,lr->jr", part, kl)
    part = (kl.T @ x3.reshape(n_left, size * n_right)).reshape(rank, size, n_right)
    return np.einsum("rjk,kr->jr", part, kr)


def _batched_mttkrp(t: np.ndarray, shape: tuple[int, ...], mats: list[np.ndarray], mode: int):
    """MTTKRP of each row ``t[r]`` (a tensor of ``shape``) with column ``r`` of the factors.

    ``t[r]`` viewed as ``(L, I_n, K)`` is contracted with column ``r`` of the left and right
    Khatri-Rao blocks by two batched matrix-vector products; returns ``(I_n, R)``.
    """
    rank = t.shape[0]
    n_left = int(np.prod(shape[:mode], dtype=np.int64))
    n_right = int(np.prod(shape[mode + 1 :], dtype=np.int64))
    size = shape[mode]
    t = t.reshape(rank, n_left, size * n_right)
    if mode > 0:
        t = np.matmul(khatri_rao(mats[:mode]).T[:, None, :], t)
    t = t.reshape(rank, size, n_right)
    if mode < len(shape) - 1:
        t = np.matmul(t, khatri_rao(mats[mode + 1 :]).T[:, :, None])
    return np.ascontiguousarray(t.reshape(rank, size).T)


def mttkrp_blas(x: np.ndarray, factors: Sequence[np.ndarray], mode: int) -> np.ndarray:
    """MTTKRP by one GEMM on a copy-free view of ``x`` followed by cheap batched reductions.

    * ``mode = 0``: ``X.reshape(I_0, -1) @ khatri_rao(A_1, ..., A_{d-1})``, a single GEMM
      (``X_(0)`` is a view in C order).
    * ``mode >= 1`` and ``I_0 >= R``: ``T = A_0^T · X.reshape(I_0, -1)``, a GEMM whose result
      ``(R, I_1 ··· I_{d-1})`` is ``I_0/R`` times smaller than ``X``; each ``T[r]`` is then
      contracted with column ``r`` of the remaining factors by batched matrix-vector products
      (:func:`numpy.matmul` over ``r``).
    * otherwise: ``X`` viewed as ``(L, I_n, K)`` is contracted with the Khatri-Rao block of the
      larger side by one GEMM and with the other block elementwise.

    The unfolding is never copied, and only Khatri-Rao blocks of factors on one side of a GEMM
    are formed. The GEMM orientations were chosen by measurement (``benchmarks/bench_kernels.py``):
    a wide ``(R, ·)`` output is faster than a narrow ``(·, R)`` one in OpenBLAS.

    Parameters
    ----------
    x : numpy.ndarray, shape (I_0, ..., I_{d-1})
        The tensor (no validation; use :func:`mttkrp`).
    factors : sequence of numpy.ndarray, each (I_k, R)
        One factor per mode (the one of ``mode`` is ignored).
    mode : int
        The mode ``n``.

    Returns
    -------
    numpy.ndarray, shape (I_n, R)
    """
    x = np.ascontiguousarray(x)
    mode = check_axis(mode, x.ndim)
    mats = [None if k == mode else np.asarray(f) for k, f in enumerate(factors)]
    if mode == 0:
        return x.reshape(x.shape[0], -1) @ khatri_rao(mats[1:])
    rank = mats[0].shape[1]
    if x.shape[0] >= rank:
        t = mats[0].T @ x.reshape(x.shape[0], -1)
        return _batched_mttkrp(t, x.shape[1:], mats[1:], mode - 1)
    return _mttkrp_two_sided(x, mats, mode)


def mttkrp(
    x: np.ndarray,
    factors: Sequence[np.ndarray],
    mode: int,
    *,
    check_finite: bool = True,
) -> np.ndarray:
    """MTTKRP ``X_(n) · khatri_rao(A_0, ..., A_{n-1}, A_{n+1}, ..., A_{d-1})`` (CP-ALS hot spot).

    Kolda & Bader (2009), Sec. 3.4; survey Sec. III (CP). Dispatches to :func:`mttkrp_blas`,
    measured fastest in ``benchmarks/results/kernels.json`` (one GEMM on a copy-free view of
    ``x``, no unfolding copy, no full Khatri-Rao product for ``n >= 1``).

    NaN and Inf are refused without an extra pass over ``x``: they propagate into the
    ``(I_n, R)`` result under IEEE arithmetic, so only the result is scanned, and the inputs are
    checked (for the error message) only when it is not finite.

    Parameters
    ----------
    x : array_like, shape (I_0, ..., I_{d-1}), d >= 2
        The tensor; finite and real.
    factors : sequence of array_like, each (I_k, R)
        One factor per mode, all with the same number ``R >= 1`` of columns. ``factors[mode]``
        is ignored (it may be ``None``).
    mode : int
        The mode ``n`` (negative values count from the end).
    check_finite : bool
        Refuse NaN/Inf in the inputs (the cheap result scan above); shapes are always checked.

    Returns
    -------
    numpy.ndarray, shape (I_n, R)

    Raises
    ------
    TypeError
        If ``x`` or a factor is not a real numeric array.
    ValueError
        If ``x`` has fewer than 2 modes, ``mode`` is out of range, the number of factors is
        not ``x.ndim``, a factor's rows do not match its mode, the column counts differ or are
        zero, or (with ``check_finite``) an input holds NaN or Inf.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(24.0).reshape(2, 3, 4)
    >>> a = [np.ones((2, 1)), np.ones((3, 1)), np.ones((4, 1))]
    >>> mttkrp(x, a, 1).ravel()  # sums of the mode-1 slices
    array([ 60.,  92., 124.])
    """
    x, mats, mode = _check_mttkrp_args(x, factors, mode)
    with np.errstate(invalid="ignore", over="ignore"):  # non-finite input is refused below
        out = mttkrp_blas(x, mats, mode)
    if check_finite and not np.all(np.isfinite(out)):
        _refuse_non_finite(x, mats)
    return out


# --------------------------------------------------------------------------- STP
def _stp_operands(x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """View 1-D operands as a row (``x``) and a column (``w``) vector."""
    x = np.asarray(x)
    w = np.asarray(w)
    x = x.reshape(1, -1) if x.ndim == 1 else x
    w = w.reshape(-1, 1) if w.ndim == 1 else w
    return x, w


def stp_reference(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Left semi-tensor product by its definition, with explicit identity Kronecker factors.

    ``X ⋉ W = (X ⊗ I_{t/n})(W ⊗ I_{t/p})`` with ``t = lcm(n, p)`` (Cheng; survey eq. 14-15).
    Memory and time grow with ``t/n · t/p``; use :func:`tensornet.algebra.stp.stp`.

    Parameters
    ----------
    x : numpy.ndarray, shape (m, n), or (n,) read as a row
        Left factor.
    w : numpy.ndarray, shape (p, q), or (p,) read as a column
        Right factor.

    Returns
    -------
    numpy.ndarray, shape (m t / n, q t / p)
    """
    x, w = _stp_operands(x, w)
    t = lcm(x.shape[1], w.shape[0])
    return np.kron(x, np.eye(t // x.shape[1])) @ np.kron(w, np.eye(t // w.shape[0]))


def stp_plan(n: int, p: int) -> tuple[int, int, int, np.ndarray]:
    """Index plan shared by the STP implementations.

    With ``t = lcm(n, p)``, ``a = t/n`` and ``b = t/p`` (coprime), write the summation index
    ``s in [0, t)`` as ``s = u·ab + v``. Then ``s // a = u·b + v // a``, ``s % a = v % a``,
    ``s // b = u·a + v // b`` and ``s % b = v % b``; by the Chinese remainder theorem ``v`` is
    fixed by ``(s % a, s % b)``, i.e. by the output position.

    Parameters
    ----------
    n : int
        Columns of the left factor.
    p : int
        Rows of the right factor.

    Returns
    -------
    a, b, c : int
        ``t/n``, ``t/p`` and ``c = t/(ab)``, the length of each inner sum.
    v_of : numpy.ndarray of int, shape (a, b)
        ``v_of[alpha, delta]`` is the ``v`` with ``v % a = alpha`` and ``v % b = delta``.
    """
    t = lcm(n, p)
    a, b = t // n, t // p
    v = np.arange(a * b)
    v_of = np.empty((a, b), dtype=np.int64)
    v_of[v % a, v % b] = v
    return a, b, t // (a * b), v_of


@numba.njit(cache=True)
def _stp_loop(x, w, a, b, c):  # pragma: no cover - compiled
    """``Y[i a + v%a, l b + v%b] = sum_u X[i, u b + v//a] W[u a + v//b, l]`` for v < ab."""
    m = x.shape[0]
    q = w.shape[1]
    y = np.zeros((m * a, q * b), dtype=x.dtype)
    for v in range(a * b):
        jx = v // a
        kw = v // b
        row0 = v % a
        col0 = v % b
        for i in range(m):
            for u in range(c):
                xv = x[i, u * b + jx]
                for ll in range(q):
                    y[i * a + row0, ll * b + col0] += xv * w[u * a + kw, ll]
    return y


def stp_numba(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Left semi-tensor product by a compiled loop over the non-zero terms only.

    Computes the same as :func:`stp_reference` with ``m·q·t`` multiply-adds instead of the
    ``m·q·t·(t/n)(t/p)`` of the explicit form (see :func:`stp_plan` for the index map).

    Parameters
    ----------
    x : numpy.ndarray, shape (m, n), or (n,) read as a row
        Left factor.
    w : numpy.ndarray, shape (p, q), or (p,) read as a column
        Right factor.

    Returns
    -------
    numpy.ndarray, shape (m t / n, q t / p)
    """
    x, w = _stp_operands(x, w)
    dtype = np.result_type(x, w, np.float32)
    t = lcm(x.shape[1], w.shape[0])
    a, b = t // x.shape[1], t // w.shape[0]
    c = t // (a * b)
    return _stp_loop(
        np.ascontiguousarray(x, dtype=dtype), np.ascontiguousarray(w, dtype=dtype), a, b, c
    )
