"""Truncated and randomized SVD: the matrix back ends of every decomposition in tensornet.

The Eckart-Young-Mirsky theorem (survey Sec. II-A.1) says that keeping the ``r`` largest
singular triplets of ``M = U diag(s) V^T`` gives the best rank-``r`` approximation in the
Frobenius norm, with error ``sqrt(sum_{i>r} s_i^2)``. Everything here chooses ``r`` from that
identity (:func:`tensornet.algebra.truncation.truncate`):

* :func:`truncated_svd` computes the exact SVD (LAPACK ``gesdd``, ``gesvd`` as a fallback) and
  truncates it to a rank cap and/or a relative error bound ``eps``;
* :func:`randomized_svd` is the Halko-Martinsson-Tropp (SIAM Review 2011) range finder with
  power iterations, for large matrices of low rank;
* :func:`rank_for_error` (re-exported from :mod:`tensornet.algebra.truncation`, where the
  truncation rule of every decomposition lives) turns singular values and an absolute error
  ``delta`` into the smallest rank that meets it.
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
from ..algebra.truncation import rank_for_error, thin_svd, truncate
from ._engines import streams_dask

__all__ = ["truncated_svd", "randomized_svd", "rank_for_error"]


def _choose_rank(s: np.ndarray, total_sq: float, rank: int | None, eps: float | None) -> int:
    """Rank from a cap and a relative error bound, given all (or the leading) singular values.

    ``total_sq`` is ``||M||_F^2``; the part of it not in ``s`` (the residual of a randomized
    range finder) counts as error that no truncation can remove.
    """
    delta = None
    if eps is not None:
        residual_sq = max(total_sq - float(np.sum(s.astype(np.float64) ** 2)), 0.0)
        budget_sq = (eps * eps) * total_sq - residual_sq
        delta = np.sqrt(budget_sq) if budget_sq >= 0 else None
    return truncate(s, delta, rank)


@deprecated_arguments(positional=("eps",))
@scale_equivariant
def truncated_svd(
    m: np.ndarray, rank: int | None = None, *, eps: float | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Best low-rank approximation ``M ≈ U diag(s) Vt`` by a truncated SVD (survey Sec. II-A.1).

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
    exactly $\sqrt{\sum_{i>r} s_i^2}$ (Eckart-Young-Mirsky). A zero matrix gives zero
    singular values with orthonormal ``U`` and ``Vt``: rank 1 with ``eps``, else the cap.

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
    u, s, vt = thin_svd(m)
    total_sq = float(np.sum(s.astype(np.float64) ** 2))
    r = _choose_rank(s, total_sq, rank, eps)
    return u[:, :r], s[:r], vt[:r]


def _orthonormal_basis(y: np.ndarray) -> np.ndarray:
    """Orthonormal basis of the columns of ``y`` (economic QR)."""
    q, _ = scipy.linalg.qr(y, mode="economic", check_finite=False)
    return q


@deprecated_arguments(positional=("n_oversamples", "n_iter", "random_state"))
@streams_dask
@scale_equivariant
def randomized_svd(
    m: np.ndarray,
    rank: int,
    *,
    n_oversamples: int = 10,
    n_iter: int = 2,
    random_state: Any = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Randomized truncated SVD (Halko, Martinsson & Tropp, SIAM Review 53(2), 2011).

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
    $U$ and $V^\top$ (``Vt``) are orthonormal and $U \operatorname{diag}(s) V^\top = U U^\top M$ is
    the orthogonal projection of $M$ onto $\operatorname{range}(U)$. In expectation the error is
    within a small factor of the optimal one, tending to it as ``n_iter`` grows (HMT Thm. 10.6
    and Cor. 10.10). When
    ``rank + n_oversamples`` $\ge \min(I, J)$ the exact SVD is used.
    A zero matrix gives zero singular values with orthonormal ``U`` and ``Vt``.
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
        u, s, vt = thin_svd(m)
        return u[:, :rank], s[:rank], vt[:rank]
    omega = rng.standard_normal((n_cols, width)).astype(m.dtype, copy=False)
    q = _orthonormal_basis(m @ omega)
    for _ in range(n_iter):
        q = _orthonormal_basis(m.T @ q)
        q = _orthonormal_basis(m @ q)
    ub, s, vt = thin_svd(q.T @ m)
    return (q @ ub[:, :rank]), s[:rank], vt[:rank]
