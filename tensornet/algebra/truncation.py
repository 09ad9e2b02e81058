"""The truncation rule of every SVD-based decomposition (survey Sec. II-A.1).

By the Eckart-Young-Mirsky theorem, keeping the ``r`` largest singular triplets of
``C = U diag(s) V^T`` gives the best rank-``r`` approximation in the Frobenius norm, with error
``sqrt(sum_{i>r} s_i^2)``. TT-SVD, TR-SVD, HOSVD, HT-SVD, the Kronecker decompositions and TT
rounding all choose their ranks from that identity, through the parts here:

* :func:`rank_for_error`: the smallest rank whose discarded tail is within ``delta``;
* :func:`truncate`: the rank kept by an error budget ``delta`` and a rank cap;
* :data:`NUMERICAL_ZERO`: the relative size below which a direction is rounding residue
  (``eps=0`` drops only those);
* :func:`error_budget`: a relative bound ``eps`` split over truncations whose errors add in
  squares;
* :func:`thin_svd`: LAPACK's thin SVD (``gesdd``, ``gesvd`` as a fallback);
* :func:`leading_subspace`: one truncated factorization ``C ≈ U_r B_r`` with orthonormal ``U_r``
  and the exact projection ``B_r = U_r^T C``, through the Gram matrix for wide ``C``.

The Gram step
-------------
A wide ``C`` (the unfoldings of TT-SVD, HOSVD, HT-SVD) never needs its right singular vectors,
only ``U`` and ``U^T C``. :func:`leading_subspace` therefore forms ``G = C C^T``
(:func:`tensornet.algebra.gram`), takes its eigenvectors ``U`` (orthogonal to machine precision
whatever the conditioning of ``G``) and projects exactly, ``B = U^T C``. The eigenvalues of
``G`` are known only to about ``u ||C||^2``, so ``sqrt(lambda)`` would lose half the digits of
the small singular values; they are used only where that cannot change the answer:

1. rank cap alone: the leading eigenvectors only (LAPACK's subset driver), the discarded energy
   ``||C||^2 - ||B_r||^2`` (accurate to about ``1e-8 ||C||``; ``exact`` is then ``False``);
2. an error budget ``delta`` far above the eigenvalues' error (:data:`EIGENVALUE_MARGIN`): the
   rank from the eigenvalues, made safe by subtracting their worst-case error;
3. a smaller ``delta``: the full projection ``B = U^T C`` and the rank from its exact row norms,
   so the bound holds down to ``delta ≈ 1e-14 ||C||``.

Small or tall matrices use :func:`thin_svd` (:func:`uses_gram_path` says which).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.linalg

from .._validation import check_array, check_int
from .gram import gram

__all__ = [
    "NUMERICAL_ZERO",
    "rank_for_error",
    "truncate",
    "error_budget",
    "thin_svd",
    "leading_eigenvectors",
    "leading_subspace",
    "uses_gram_path",
    "Subspace",
]

#: ``eps=0`` drops directions below this fraction of ``||X||_F`` per step: rounding in earlier
#: steps leaves residues of a few ``u ||X||`` (``u`` the unit roundoff).
NUMERICAL_ZERO = 1e-14
#: Below this many elements a matrix (unless :data:`GRAM_MIN_ROWS` applies) gets LAPACK's SVD,
#: whose tails are exact, at a cost small either way (``bench_tt_tr.py --parts gram_step``).
SMALL_SIZE = 1 << 16
#: A large matrix takes the Gram path when it has at least this many times as many columns as
#: rows: LAPACK's wide SVD then spends most of its time on ``V``
#: (``benchmarks/bench_tt_tr.py --parts gram_step``).
WIDE_RATIO = 4
#: A mid-size matrix with at least this many rows and twice as many columns also takes the Gram
#: path: ``gesdd`` is several times slower there (``benchmarks/bench_tt_tr.py --parts gram_step``).
GRAM_MIN_ROWS = 64
#: Computed eigenvalues of ``G = C C^T`` (``m x m``) are accurate to
#: ``EIGENVALUE_ERROR * m * u * ||C||_F^2`` (a safe multiple of LAPACK's backward error).
EIGENVALUE_ERROR = 8.0
#: The eigenvalues choose the rank only when ``delta^2`` exceeds ``m`` times their error by this
#: factor, so their rounding cannot move the rank; otherwise exact row norms of ``U^T C`` do.
EIGENVALUE_MARGIN = 1e3

_U = np.finfo(np.float64).eps


# ---------------------------------------------------------------------------- the rule
def _smallest_rank(sq: np.ndarray, delta_sq: float) -> int:
    """Smallest ``r`` with ``sum_{i >= r} sq_i <= delta_sq`` (``len(sq)`` if none is).

    The tails are summed from the smallest term up, so each is accurate to a few ulps.
    """
    tail = np.concatenate([np.cumsum(sq[::-1])[::-1], [0.0]])
    return int(np.flatnonzero(tail <= delta_sq)[0])


def rank_for_error(s: np.ndarray, delta: float, min_rank: int = 1) -> int:
    r"""Smallest rank ``r >= min_rank`` with truncation error ``sqrt(sum_{i>r} s_i^2) <= delta``.

    By Eckart-Young (survey Sec. II-A.1) this is the smallest rank of any matrix within Frobenius
    distance ``delta`` of a matrix with singular values ``s``. It is the "delta-truncation" of
    TT-SVD (Oseledets 2011, Alg. 1), HT-SVD and TR-SVD.

    Parameters
    ----------
    s : array_like, shape (k,)
        Singular values, non-negative (the order is not used: the tail is ``s[r:]``).
    delta : float
        Absolute Frobenius error allowed, ``>= 0``.
    min_rank : int
        Smallest rank returned (``0`` allows the empty approximation; ``1`` is the default).

    Returns
    -------
    int
        A rank in ``[min(min_rank, k), k]``.

    Notes
    -----
    Contract at a tie: the squared tails $\sum_{i \ge r} s_i^2$ are computed in floating point
    (summed from the smallest term, after scaling ``s`` and ``delta`` by the same power of two so
    that no square overflows) and compared with $\delta^2$ ($\delta$ = ``delta``). A tail equal to
    $\delta$ up to that rounding (a relative few ulps) may count as within $\delta$ or not: the
    returned $r$ satisfies $\operatorname{tail}(r) \le \delta (1 + 10^{-12})$ and, if
    $r > r_{\min}$ (``min_rank``), $\operatorname{tail}(r - 1) > \delta (1 - 10^{-12})$, where
    $\operatorname{tail}(r) = \sqrt{\sum_{i \ge r} s_i^2}$ exactly. For example
    ``s = [4.0, 5.96e-08]`` and ``delta = 4.0`` give ``r = 1``, although
    $\sqrt{4.0^2 + (5.96 \cdot 10^{-8})^2}$ rounds to $4.0$. Terms below about
    $10^{-150} \max_i s_i$ vanish when squared and are not seen.

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
    s = s.astype(np.float64, copy=False)
    top = float(s.max()) if s.size else 0.0
    if top > 0.0:
        exponent = int(np.frexp(top)[1])  # scale by 2**-exponent: exact, max(s) in [0.5, 1)
        s = np.ldexp(s, -exponent)
        with np.errstate(over="ignore"):  # an infinite delta keeps nothing, as it should
            delta = float(np.ldexp(delta, -exponent))
    r = _smallest_rank(s * s, delta * delta)
    return min(max(r, min_rank), len(s))


def truncate(s: np.ndarray, delta: float | None = None, cap: int | None = None) -> int:
    """The rank kept from singular values ``s`` by an error budget ``delta`` and a rank ``cap``.

    ``r = min(rank_for_error(s, delta), cap)``, at least 1: the smallest rank whose discarded
    tail ``sqrt(sum_{i>r} s_i^2)`` is within ``delta`` (all of ``s`` without ``delta``), then
    lowered to the cap. When the cap binds, the tail may exceed ``delta``.

    Parameters
    ----------
    s : array_like, shape (k,)
        Singular values, non-negative, in non-increasing order.
    delta : float, optional
        Absolute Frobenius error allowed, ``>= 0``.
    cap : int, optional
        Largest rank, ``>= 1``.

    Returns
    -------
    int
        A rank in ``[min(1, k), k]``.

    Examples
    --------
    >>> truncate([3.0, 2.0, 1.0], delta=1.0)
    2
    >>> truncate([3.0, 2.0, 1.0], delta=0.5, cap=2)
    2
    >>> truncate([3.0, 2.0, 1.0])
    3
    """
    k = len(s)
    r = k if delta is None else rank_for_error(s, delta)
    if cap is not None:
        r = min(r, check_int(cap, "cap", minimum=1))
    return min(max(r, 1), k)


def error_budget(eps: float | None, norm: float, n_truncations: int) -> float | None:
    """Absolute error allowed per truncation: ``eps ||X||_F / sqrt(n_truncations)``.

    When the truncation errors add in squares (orthogonal projections, as in TT-SVD, HOSVD,
    HT-SVD and TT rounding), ``n`` truncations each within this budget keep the total within
    ``eps ||X||_F``.

    Parameters
    ----------
    eps : float or None
        Relative Frobenius error bound (checked by the caller). ``0`` gives
        ``NUMERICAL_ZERO * norm``: only numerically zero directions are dropped. ``None`` gives
        ``None`` (no budget: rank caps alone decide).
    norm : float
        ``||X||_F``.
    n_truncations : int
        Number of truncations sharing the budget (``max(n, 1)`` is used).

    Returns
    -------
    float or None

    Examples
    --------
    >>> error_budget(0.1, 2.0, 4)
    0.1
    """
    if eps is None:
        return None
    if eps == 0.0:
        return NUMERICAL_ZERO * norm
    return eps * norm / float(np.sqrt(max(n_truncations, 1)))


# ---------------------------------------------------------------------------- the step
def thin_svd(m: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Thin SVD ``m = U diag(s) Vt`` by LAPACK ``gesdd``, falling back to the slower ``gesvd``.

    Parameters
    ----------
    m : numpy.ndarray, shape (I, J)
        A finite real matrix (not checked).

    Returns
    -------
    U : numpy.ndarray, shape (I, k)
    s : numpy.ndarray, shape (k,)
        Non-increasing, ``k = min(I, J)``.
    Vt : numpy.ndarray, shape (k, J)
    """
    try:
        return scipy.linalg.svd(m, full_matrices=False, check_finite=False)
    except np.linalg.LinAlgError:  # pragma: no cover - LAPACK convergence failure
        return scipy.linalg.svd(m, full_matrices=False, check_finite=False, lapack_driver="gesvd")


def leading_eigenvectors(g: np.ndarray, r: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``r`` leading eigenpairs of a symmetric matrix, largest first (LAPACK subset driver).

    Parameters
    ----------
    g : numpy.ndarray, shape (m, m)
        Symmetric (a Gram matrix).
    r : int
        Number of eigenpairs, ``1 <= r <= m``.

    Returns
    -------
    lam : numpy.ndarray, shape (r,)
        Eigenvalues, non-increasing.
    u : numpy.ndarray, shape (m, r)
        Orthonormal eigenvectors, C-contiguous.
    """
    m = g.shape[0]
    lam, u = scipy.linalg.eigh(g, check_finite=False, subset_by_index=[m - r, m - 1])
    return lam[::-1], np.ascontiguousarray(u[:, ::-1])


def uses_gram_path(shape: tuple[int, int]) -> bool:
    """Whether :func:`leading_subspace` factors a matrix of ``shape`` through its Gram matrix.

    Large and at least :data:`WIDE_RATIO` times as wide as tall, or at least
    :data:`GRAM_MIN_ROWS` rows and twice as wide; everything else goes to :func:`thin_svd`.
    """
    m, n = shape
    return (m * n > SMALL_SIZE and WIDE_RATIO * m <= n) or (m >= GRAM_MIN_ROWS and 2 * m <= n)


class Subspace(NamedTuple):
    """A truncated factorization ``C ≈ U B`` (the result of :func:`leading_subspace`)."""

    #: ``(m, r)`` orthonormal columns spanning the kept leading left singular subspace.
    u: np.ndarray
    #: ``(r, n)`` the exact projection ``U^T C``.
    b: np.ndarray
    #: ``||C - U B||_F^2``, the discarded energy.
    tail_sq: float
    #: Whether ``tail_sq`` was measured exactly; else it comes from Gram eigenvalues or from
    #: ``||C||^2 - ||B||^2`` and is accurate to about ``m u ||C||^2``.
    exact: bool
    #: Singular values of ``C`` as computed: exact from LAPACK, ``sqrt`` of Gram eigenvalues
    #: otherwise (only the leading ``r`` when a rank cap alone decided).
    s: np.ndarray
    #: Gram matrix of ``B`` reshaped to ``(next_rows, -1)``, when it was asked for and formed.
    next_gram: np.ndarray | None = None


def _sq_norm(a: np.ndarray) -> float:
    """``||a||_F^2`` by a BLAS dot product (a view of contiguous data is not copied)."""
    flat = a.reshape(-1)
    return float(np.dot(flat, flat))


def _svd_subspace(c: np.ndarray, cap: int | None, delta: float | None) -> Subspace:
    """Small or tall ``C``: LAPACK's thin SVD, truncated by ``delta`` and ``cap``."""
    u, s, vt = thin_svd(c)
    r = truncate(s, delta, cap)
    return Subspace(u[:, :r], s[:r, None] * vt[:r], float(np.sum(s[r:] ** 2)), True, s)


def _capped_gram_subspace(
    c: np.ndarray, g: np.ndarray, cap: int, next_rows: int | None
) -> Subspace:
    """Rank cap alone: leading eigenvectors, projection, tail ``||C||^2 - ||B||^2``.

    With ``next_rows`` the Gram matrix of ``B`` reshaped to ``(r next_rows, -1)`` is formed right
    away (the next step of a TT sweep needs it) and its trace gives ``||B||^2``.
    """
    m = c.shape[0]
    r = min(cap, m)
    lam, u = leading_eigenvectors(g, r)
    b = u.T @ c
    nxt = None
    if next_rows is not None:
        following = b.reshape(r * next_rows, -1)
        nxt = gram(following) if uses_gram_path(following.shape) else None
    kept = _sq_norm(b) if nxt is None else float(np.trace(nxt))
    s = np.sqrt(np.maximum(lam, 0.0))
    return Subspace(u, b, max(float(np.trace(g)) - kept, 0.0), r == m, s, nxt)


def _budget_gram_subspace(c: np.ndarray, g: np.ndarray, cap: int | None, delta: float) -> Subspace:
    """Error budget: eigenvalues choose the rank when ``delta`` is far above their error, exact
    row norms of the full projection otherwise (module notes)."""
    m = c.shape[0]
    lam, u = scipy.linalg.eigh(g, check_finite=False)
    lam, u = np.maximum(lam[::-1], 0.0), np.ascontiguousarray(u[:, ::-1])
    s = np.sqrt(lam)
    lam_err = EIGENVALUE_ERROR * m * _U * float(np.trace(g))
    if delta * delta >= EIGENVALUE_MARGIN * m * lam_err:
        r = truncate(s, np.sqrt(max(delta * delta - m * lam_err, 0.0)), cap)
        return Subspace(u[:, :r], u[:, :r].T @ c, float(np.sum(lam[r:])), False, s)
    b = u.T @ c
    row_sq = np.einsum("ij,ij->i", b, b)
    r = max(1, _smallest_rank(row_sq, delta * delta))
    r = r if cap is None else min(r, cap)
    return Subspace(u[:, :r], b[:r], _sq_norm(b[r:]), True, s)


def leading_subspace(
    c: np.ndarray,
    cap: int | None = None,
    delta: float | None = None,
    *,
    gram_matrix: np.ndarray | None = None,
    next_rows: int | None = None,
) -> Subspace:
    """Truncated factorization ``C ≈ U_r B_r``, ``U_r`` orthonormal, ``B_r = U_r^T C`` exactly.

    The rank is :func:`truncate` of the singular values of ``C`` by ``delta`` and ``cap``, so
    ``U_r`` spans the leading left singular subspace (Eckart-Young) and
    ``||C - U_r B_r||_F <= delta`` when the cap does not bind. A wide matrix goes through its
    Gram matrix (module notes), any other through :func:`thin_svd`.

    Parameters
    ----------
    c : numpy.ndarray, shape (m, n)
        Finite real matrix (float64; not checked).
    cap : int, optional
        Largest rank kept.
    delta : float, optional
        Absolute Frobenius error allowed. Without ``cap`` and ``delta`` nothing is dropped.
    gram_matrix : numpy.ndarray, shape (m, m), optional
        ``C C^T`` if the caller has it already (used only on the Gram path).
    next_rows : int, optional
        With a rank cap alone on the Gram path, also form the Gram matrix of ``B_r`` reshaped to
        ``(r next_rows, -1)`` (returned as ``next_gram`` when that matrix takes the Gram path).

    Returns
    -------
    Subspace
        ``(u, b, tail_sq, exact, s, next_gram)``.

    Examples
    --------
    >>> import numpy as np
    >>> c = np.outer([1.0, 2.0], [3.0, 4.0, 5.0])
    >>> sub = leading_subspace(c, delta=1e-12)
    >>> sub.u.shape, bool(np.allclose(sub.u @ sub.b, c))
    ((2, 1), True)
    """
    if not uses_gram_path(c.shape):
        return _svd_subspace(c, cap, delta)
    g = gram(c) if gram_matrix is None else gram_matrix
    if delta is None:
        return _capped_gram_subspace(c, g, c.shape[0] if cap is None else cap, next_rows)
    return _budget_gram_subspace(c, g, cap, delta)
