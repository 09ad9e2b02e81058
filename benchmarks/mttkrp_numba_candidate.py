"""Rejected MTTKRP candidate: a Numba loop over ``X`` that never forms the Khatri-Rao product.

Kept for ``bench_kernels.py``, which times it against :func:`tensornet.algebra.mttkrp` (the
BLAS path the package uses; see ``benchmarks/results/kernels.json``). Not part of the package.
Tested in ``tests/benchmarks/test_mttkrp_numba_candidate.py``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numba
import numpy as np

from tensornet._validation import check_axis

__all__ = ["mttkrp_numba"]


@numba.njit(cache=True, fastmath=True)
def _mttkrp_loop(x2, stacked, offsets, shape, mode, rank):  # pragma: no cover - compiled
    """Numba MTTKRP over ``x2 = x.reshape(-1, I_last)``; ``stacked`` holds the factors
    transposed and concatenated, ``(R, sum I_k)``, factor ``k`` starting at ``offsets[k]``."""
    d = shape.shape[0]
    n_outer = x2.shape[0]
    n_last = x2.shape[1]
    out_t = np.zeros((rank, shape[mode]), dtype=x2.dtype)
    idx = np.zeros(max(d - 1, 1), dtype=np.int64)
    w = np.empty(rank, dtype=x2.dtype)
    last = offsets[d - 1]
    for p in range(n_outer):
        for r in range(rank):
            w[r] = 1.0
        for k in range(d - 1):
            if k != mode:
                col = offsets[k] + idx[k]
                for r in range(rank):
                    w[r] *= stacked[r, col]
        if mode == d - 1:
            for r in range(rank):
                wr = w[r]
                for i in range(n_last):
                    out_t[r, i] += wr * x2[p, i]
        else:
            j = idx[mode]
            for r in range(rank):
                acc = 0.0
                for i in range(n_last):
                    acc += x2[p, i] * stacked[r, last + i]
                out_t[r, j] += w[r] * acc
        k = d - 2
        while k >= 0:
            idx[k] += 1
            if idx[k] < shape[k]:
                break
            idx[k] = 0
            k -= 1
    return out_t


def mttkrp_numba(x: np.ndarray, factors: Sequence[np.ndarray], mode: int) -> np.ndarray:
    """MTTKRP by a compiled loop over ``x`` that never forms the Khatri-Rao product.

    For every row ``x[i_0, ..., i_{d-2}, :]`` the product of the factor rows of the outer modes
    (mode ``n`` excluded) is formed once (R values), then the row is either contracted with the
    last factor (``n < d-1``) or scattered into the output (``n = d-1``).

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
    x = np.asarray(x)
    d = x.ndim
    mode = check_axis(mode, d)
    others = [np.asarray(f) for k, f in enumerate(factors) if k != mode]
    rank = others[0].shape[1]
    dtype = np.result_type(x, *others)
    if not np.issubdtype(dtype, np.floating):
        dtype = np.dtype(np.float64)
    mats = [
        np.zeros((x.shape[k], rank), dtype) if k == mode else np.asarray(f, dtype)
        for k, f in enumerate(factors)
    ]
    stacked = np.ascontiguousarray(np.concatenate(mats, axis=0).T)
    offsets = np.concatenate([[0], np.cumsum([m.shape[0] for m in mats])[:-1]]).astype(np.int64)
    x2 = np.ascontiguousarray(x, dtype=dtype).reshape(-1, x.shape[-1])
    shape = np.asarray(x.shape, dtype=np.int64)
    return _mttkrp_loop(x2, stacked, offsets, shape, mode, rank).T.copy()
