"""Truncated and randomized SVD: the matrix back ends of every decomposition in tensornet.

The Eckart-Young-Mirsky theorem (survey Sec. II-A.1) says that keeping the ``r`` largest
singular triplets of ``M = U diag(s) V^T`` gives the best rank-``r`` approximation in the
Frobenius norm, with error ``sqrt(sum_{i>r} s_i^2)``. Everything here chooses ``r`` from that
identity:

* :func:`truncated_svd` computes the exact SVD (LAPACK ``gesdd``, ``gesvd`` as a fallback) and
  truncates it to a rank cap and/or a relative error bound ``eps``;
* :func:`randomized_svd` is the Halko-Martinsson-Tropp (SIAM Review 2011) range finder with
  power iterations, for large matrices of low rank;
* :func:`rank_for_error` turns singular values and an absolute error ``delta`` into the smallest
  rank that meets it (the "delta-truncation" of TT-SVD, HT-SVD and TR-SVD).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.linalg

from .._deprecation import deprecated_arguments
from .._validation import (
    check_array,
    check_eps,
    check_int,
    check_random_state,
    check_rank,
    scale_equivariant,
)

__all__ = ["truncated_svd", "randomized_svd", "rank_for_error"]


def rank_for_error(s: np.ndarray, delta: float, min_rank: int = 1) -> int:
    """Smallest rank ``r >= min_rank`` with truncation error ``sqrt(sum_{i>r} s_i^2) <= delta``.

    By Eckart-Young (survey Sec. II-A.1) this is the smallest rank of any matrix within Frobenius
    distance ``delta`` of a matrix with singular values ``s``. It is the "delta-truncation" used
    by TT-SVD (Oseledets 2011, Alg. 1), HT-SVD and TR-SVD.

    Parameters
    ----------
    s : array_like, shape (k,)
        Singular values, non-negative and in non-increasing order.
    delta : float
        Absolute Frobenius error allowed, ``>= 0``.
    min_rank : int
        Smallest rank returned (``0`` allows the empty approximation; ``1`` is the default).

    Returns
    -------
    int
        A rank in ``[min(min_rank, k), k]``.

    Examples
    --------
    >>> rank_for_error([3.0, 2.0, 1.0], delta=1.0)
    2
    >>> rank_for_error([3.0, 2.0, 1.0], delta=0.5)
    3
    """
    s = check_array(s, "s", ndim=1, allow_empty=True)
    if np.any(s < 0):
        raise ValueError("s must hold non-negative singular values")
    delta = float(delta)
    if not np.isfinite(delta) or delta < 0:
        raise ValueError(f"delta={delta} must be a finite number >= 0")
    min_rank = check_int(min_rank, "min_rank", minimum=0)
    sq = np.asarray(s, dtype=np.float64) ** 2
    # tail[r] = sum_{i >= r} s_i^2 (0-based), so tail[r] is the error^2 of keeping r values.
    tail = np.concatenate([np.cumsum(sq[::-1])[::-1], [0.0]])
    ok = np.flatnonzero(tail <= delta * delta)
    r = int(ok[0]) if ok.size else len(s)
    return min(max(r, min_rank), len(s))


def _exact_svd(m: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Thin SVD by LAPACK ``gesdd``; falls back to the slower, more robust ``gesvd``."""
    try:
        return scipy.linalg.svd(m, full_matrices=False, check_finite=False)
    except np.linalg.LinAlgError:
        return scipy.linalg.svd(
            m, full_matrices=False, check_finite=False, lapack_driver="gesvd"
        )


def _choose_rank(
    s: np.ndarray, total_sq: float, rank: int | None, eps: float | None
) -> int:
    """Rank from a cap and a relative error bound, given all (or the leading) singular values.

    ``total_sq`` is ``||M||_F^2``; the part of it not in ``s`` (the residual of a randomized
    range finder) counts as error that no truncation can remove.
    """
    r = len(s)
    if eps is not None:
        residual_sq = max(total_sq - float(np.sum(s.astype(np.float64) ** 2)), 0.0)
        budget_sq = (eps * eps) * total_sq - residual_sq
        r = rank_for_error(s, np.sqrt(max(budget_sq, 0.0))) if budget_sq >= 0 else len(s)
    if rank is not None:
        r = min(r, rank)
    return max(min(r, len(s)), 1)


@deprecated_arguments(positional=("eps",))
@scale_equivariant
def truncated_svd(
    m: np.ndarray, rank: int | None = None, *, eps: float | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Best low-rank approximation ``M ≈ U diag(s) Vt`` by a truncated SVD (survey Sec. II-A.1).

    Parameters
    ----------
    m : array_like, shape (I, J)
        The matrix (finite, real).
    rank : int, optional
        Largest rank kept, ``>= 1``. Values above ``min(I, J)`` are capped to it.
    eps : float, optional
        Relative Frobenius error bound in ``[0, 1)``: the smallest rank ``r`` with
        ``||M - U diag(s) Vt||_F <= eps ||M||_F`` is kept. With both ``rank`` and ``eps`` the
        smaller of the two ranks wins (the error bound may then not hold).

    Returns
    -------
    U : numpy.ndarray, shape (I, r)
        Orthonormal columns (left singular vectors).
    s : numpy.ndarray, shape (r,)
        Singular values in non-increasing order.
    Vt : numpy.ndarray, shape (r, J)
        Orthonormal rows (right singular vectors).

    Notes
    -----
    With neither ``rank`` nor ``eps`` the full thin SVD is returned. The error of the result is
    exactly ``sqrt(sum_{i>r} s_i^2)`` (Eckart-Young-Mirsky). A zero matrix gives rank 1.

    Examples
    --------
    >>> import numpy as np
    >>> m = np.outer([1.0, 2.0], [3.0, 4.0, 5.0])
    >>> u, s, vt = truncated_svd(m, eps=1e-12)
    >>> s.shape
    (1,)
    """
    m = check_array(m, "m", ndim=2)
    if rank is not None:
        rank = check_rank(rank, "rank")
    eps = check_eps(eps)
    u, s, vt = _exact_svd(m)
    total_sq = float(np.sum(s.astype(np.float64) ** 2))
    r = _choose_rank(s, total_sq, rank, eps)
    return u[:, :r], s[:r], vt[:r]


def _orthonormal_basis(y: np.ndarray) -> np.ndarray:
    """Orthonormal basis of the columns of ``y`` (economic QR)."""
    q, _ = scipy.linalg.qr(y, mode="economic", check_finite=False)
    return q


@deprecated_arguments(positional=("n_oversamples", "n_iter", "random_state"))
@scale_equivariant
def randomized_svd(
    m: np.ndarray,
    rank: int,
    *,
    n_oversamples: int = 10,
    n_iter: int = 2,
    random_state: Any = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Randomized truncated SVD (Halko, Martinsson & Tropp, SIAM Review 53(2), 2011).

    Steps: draw a Gaussian test matrix ``Omega`` with ``rank + n_oversamples`` columns, form
    ``Q = orth(M Omega)``, refine it with ``n_iter`` power iterations
    ``Q <- orth(M orth(M^T Q))`` (re-orthonormalized by QR at every half-step, HMT Alg. 4.4), then
    take the exact SVD of the small matrix ``Q^T M = Ub diag(s) Vt`` and return ``U = Q Ub``.

    Parameters
    ----------
    m : array_like, shape (I, J)
        The matrix.
    rank : int
        Rank of the result, ``>= 1`` (capped to ``min(I, J)``).
    n_oversamples : int
        Extra random directions, ``>= 0``.
    n_iter : int
        Number of power iterations, ``>= 0`` (more iterations help when the singular values
        decay slowly).
    random_state : None, int or numpy.random.Generator
        Seed for the test matrix.

    Returns
    -------
    U : numpy.ndarray, shape (I, r)
    s : numpy.ndarray, shape (r,)
    Vt : numpy.ndarray, shape (r, J)

    Notes
    -----
    ``U`` and ``Vt`` are orthonormal and ``U diag(s) Vt = U U^T M`` is the orthogonal projection of
    ``M`` onto ``range(U)``. In expectation the error is within a small factor of the optimal one,
    tending to it as ``n_iter`` grows (HMT Thm. 10.6 and Cor. 10.10). When
    ``rank + n_oversamples >= min(I, J)`` the exact SVD is used.
    """
    m = check_array(m, "m", ndim=2)
    rank = check_rank(rank, "rank")
    n_oversamples = check_int(n_oversamples, "n_oversamples", minimum=0)
    n_iter = check_int(n_iter, "n_iter", minimum=0)
    rng = check_random_state(random_state)
    n_rows, n_cols = m.shape
    rank = min(rank, n_rows, n_cols)
    width = rank + n_oversamples
    if width >= min(n_rows, n_cols):
        u, s, vt = _exact_svd(m)
        return u[:, :rank], s[:rank], vt[:rank]
    omega = rng.standard_normal((n_cols, width)).astype(m.dtype, copy=False)
    q = _orthonormal_basis(m @ omega)
    for _ in range(n_iter):
        q = _orthonormal_basis(m.T @ q)
        q = _orthonormal_basis(m @ q)
    ub, s, vt = _exact_svd(q.T @ m)
    return (q @ ub[:, :rank]), s[:rank], vt[:rank]
