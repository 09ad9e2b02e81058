"""The Gram matrix ``G = X X^T`` of a short, wide matrix: the first step of every Gram-based SVD.

TT-SVD (survey eq. 8), HOSVD and HT-SVD start from the Gram matrix of an unfolding with few rows
(``n_1``, or ``r_{k-1} n_k``) and very many columns
(:func:`tensornet.algebra.truncation.leading_subspace`). OpenBLAS ``syrk`` blocks over the two
short dimensions and runs far below its peak on such shapes. :func:`gram_numba` instead sweeps
the columns in cache-sized blocks and, inside a block, accumulates ``2 x 4`` tiles of row-pair
dot products in registers (vectorized over the columns), visiting each upper-triangle tile once.
With more than one thread, disjoint column ranges go to different threads (the kernel releases
the GIL) and their partial Gram matrices are summed.

:func:`gram` dispatches: the Numba kernel for at most :data:`NUMBA_MAX_ROWS` rows and enough
columns to amortize the call, BLAS otherwise (``python benchmarks/bench_kernels.py --parts
gram`` measures the crossover). Its threads are plain Python threads running the GIL-free
kernel, not Numba's OpenMP ``prange``, whose spinning workers slow the BLAS calls that follow in
a TT-SVD sweep. The thread count is :func:`numba.get_num_threads` (``NUMBA_NUM_THREADS`` or
``numba.set_num_threads``).

Only reassociation and contraction are allowed to the compiler (no ``fastmath`` "no NaN"
assumption), so a NaN or Inf in ``X`` still shows on the diagonal of ``G``: callers use that to
refuse non-finite input without a separate pass.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np

from .._validation import check_array, check_real_dtype

__all__ = ["gram", "gram_numba", "NUMBA_MAX_ROWS"]

#: Largest row count for which :func:`gram` uses :func:`gram_numba` (the crossover measured by
#: ``benchmarks/bench_kernels.py --parts gram``).
NUMBA_MAX_ROWS = 32
#: Fewest columns for which :func:`gram` uses :func:`gram_numba`.
_NUMBA_MIN_COLS = 4096
#: Columns per cache block (16 rows of 1024 doubles = 128 KiB, within L2).
_BLOCK = 1024
_FLAGS = {"reassoc", "contract"}


@numba.njit(cache=True, fastmath=_FLAGS, boundscheck=False)
def _tile24(p0, p1, q0, q1, q2, q3):  # pragma: no cover - compiled
    """The eight dot products of rows ``p0, p1`` with rows ``q0 .. q3`` (one register tile)."""
    c00 = c01 = c02 = c03 = c10 = c11 = c12 = c13 = 0.0
    for j in range(p0.shape[0]):
        a0 = p0[j]
        a1 = p1[j]
        b0 = q0[j]
        b1 = q1[j]
        b2 = q2[j]
        b3 = q3[j]
        c00 += a0 * b0
        c01 += a0 * b1
        c02 += a0 * b2
        c03 += a0 * b3
        c10 += a1 * b0
        c11 += a1 * b1
        c12 += a1 * b2
        c13 += a1 * b3
    return c00, c01, c02, c03, c10, c11, c12, c13


@numba.njit(cache=True, fastmath=_FLAGS, boundscheck=False)
def _dot(p, q):  # pragma: no cover - compiled
    """One dot product (for the rows outside the 4-aligned tiles)."""
    acc = 0.0
    for j in range(p.shape[0]):
        acc += p[j] * q[j]
    return acc


@numba.njit(cache=True, fastmath=_FLAGS, boundscheck=False)
def _add_block(x, s, e, g):  # pragma: no cover - compiled
    """``g[a, b] += x[a, s:e] . x[b, s:e]`` for every ``a <= b`` (upper triangle only)."""
    m = x.shape[0]
    m4 = m - m % 4
    for a in range(0, m4, 2):
        for b in range(a - a % 4, m4, 4):
            t = _tile24(
                x[a, s:e], x[a + 1, s:e], x[b, s:e], x[b + 1, s:e], x[b + 2, s:e], x[b + 3, s:e]
            )
            for k in range(4):
                g[a, b + k] += t[k]
                g[a + 1, b + k] += t[4 + k]
    for a in range(m):
        for b in range(max(a, m4), m):
            g[a, b] += _dot(x[a, s:e], x[b, s:e])


@numba.njit(cache=True, boundscheck=False)
def _symmetrize(g):  # pragma: no cover - compiled
    """Copy the upper triangle to the lower one."""
    for a in range(g.shape[0]):
        for b in range(a):
            g[a, b] = g[b, a]
    return g


@numba.njit(cache=True, fastmath=_FLAGS, boundscheck=False, nogil=True)
def _gram_columns(x, start, stop, block):  # pragma: no cover - compiled
    """Upper triangle of the Gram matrix of ``x[:, start:stop]`` by column blocks (no GIL)."""
    g = np.zeros((x.shape[0], x.shape[0]))
    for s in range(start, stop, block):
        _add_block(x, s, min(s + block, stop), g)
    return g


_POOL: ThreadPoolExecutor | None = None
_POOL_SIZE = 0


def _pool(workers: int) -> ThreadPoolExecutor:
    """A process-wide thread pool with at least ``workers`` threads (idle threads sleep)."""
    global _POOL, _POOL_SIZE
    if _POOL is None or _POOL_SIZE < workers:
        if _POOL is not None:
            _POOL.shutdown(wait=False)
        _POOL = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tensornet-gram")
        _POOL_SIZE = workers
    return _POOL


def gram_numba(x: np.ndarray, n_threads: int | None = None) -> np.ndarray:
    """Gram matrix ``X X^T`` by the compiled column-block kernel (module notes).

    Parameters
    ----------
    x : numpy.ndarray, shape (m, n)
        Real matrix; converted to C-contiguous float64 if it is not.
    n_threads : int, optional
        Threads to split the columns over (the compiled kernel releases the GIL; the extra
        threads come from a small process-wide pool whose idle threads sleep, so they never
        compete with BLAS's own threads between calls). Default
        :func:`numba.get_num_threads` (set it with ``numba.set_num_threads`` or
        ``NUMBA_NUM_THREADS``).

    Returns
    -------
    numpy.ndarray, shape (m, m)
        Symmetric. Equal to ``x @ x.T`` up to the rounding of a different summation order.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(12.0).reshape(2, 6)
    >>> gram_numba(x)
    array([[ 55., 145.],
           [145., 451.]])
    """
    x = np.ascontiguousarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"x must be a matrix (2-D), got shape {x.shape}")
    threads = numba.get_num_threads() if n_threads is None else int(n_threads)
    if threads < 1:
        raise ValueError(f"n_threads must be >= 1, got {n_threads}")
    n = x.shape[1]
    n_blocks = -(-n // _BLOCK)
    threads = min(threads, max(n_blocks, 1))
    if threads == 1:
        return _symmetrize(_gram_columns(x, 0, n, _BLOCK))
    # contiguous ranges of whole blocks, one per thread; the caller's thread takes the last
    edges = [n * t // threads // _BLOCK * _BLOCK for t in range(threads)] + [n]
    pool = _pool(threads - 1)
    futures = [
        pool.submit(_gram_columns, x, edges[t], edges[t + 1], _BLOCK) for t in range(threads - 1)
    ]
    g = _gram_columns(x, edges[-2], n, _BLOCK)
    for f in futures:
        g += f.result()
    return _symmetrize(g)


def gram(x: np.ndarray, *, check_finite: bool = False) -> np.ndarray:
    """Gram matrix ``G = X X^T`` of a matrix, by the faster of BLAS and :func:`gram_numba`.

    The Numba kernel (on :func:`numba.get_num_threads` threads) is used for C-contiguous float64
    matrices with at most :data:`NUMBA_MAX_ROWS` rows and at least 4096 columns, where it is
    faster than OpenBLAS ``syrk`` (``benchmarks/bench_kernels.py``); otherwise ``x @ x.T``.

    Parameters
    ----------
    x : array_like, shape (m, n)
        Real matrix.
    check_finite : bool
        Refuse NaN/Inf in ``x``. The check reads the diagonal of ``G`` (the row sums of squares,
        which cover every entry), so it costs no extra pass.

    Returns
    -------
    numpy.ndarray, shape (m, m)
        Symmetric positive semi-definite (up to rounding).

    Raises
    ------
    ValueError
        If ``x`` is not 2-D, or (with ``check_finite``) holds NaN or Inf.
    TypeError
        If ``x`` is not a real numeric array.

    Examples
    --------
    >>> import numpy as np
    >>> gram(np.array([[1.0, 2.0], [3.0, 4.0]]))
    array([[ 5., 11.],
           [11., 25.]])
    """
    x = check_real_dtype(x, "x")
    if x.ndim != 2:
        raise ValueError(f"x must be a matrix (2-D), got shape {x.shape}")
    x = x.astype(np.float64, copy=False)
    use_numba = (
        x.shape[0] <= NUMBA_MAX_ROWS and x.shape[1] >= _NUMBA_MIN_COLS and x.flags.c_contiguous
    )
    g = gram_numba(x) if use_numba else x @ x.T
    if check_finite and not np.all(np.isfinite(np.diagonal(g))):
        check_array(x, "x")  # raises the standard NaN/Inf message
        raise ValueError("x has values so large that their squares overflow float64")
    return g
