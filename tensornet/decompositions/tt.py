"""TT-SVD and TT-matrix SVD (survey eq. 8; Oseledets, SIAM J. Sci. Comput. 33(5), 2011, Alg. 1).

TT-SVD sweeps left to right. At step ``k`` the remainder ``C`` is reshaped to
``(r_{k-1} n_k, n_{k+1} ... n_d)``, a truncated SVD ``C ≈ U_r S_r V_r^T`` gives the core
``G_k = reshape(U_r, (r_{k-1}, n_k, r_k))`` and the next remainder ``C = S_r V_r^T = U_r^T C``.
Truncating every step at ``delta = eps ||X||_F / sqrt(d - 1)`` gives
``||X - TT||_F <= sqrt(sum_k tail_k^2) <= eps ||X||_F`` (Oseledets 2011, Thm. 2.2).

Fast exact step
---------------
The unfoldings are very wide (``16 x 16^5`` for a ``16^6`` tensor) and LAPACK's SVD of a wide
matrix spends seconds on the ``V`` it returns. We never need ``V``: only ``U`` and the projection
``U^T C``. So a wide step

1. forms the Gram matrix ``G = C C^T`` (one pass over ``C``: the cost floor) by
   :func:`tensornet.algebra.gram`, whose Numba kernel beats OpenBLAS ``syrk`` by 1.3-2x for the
   few-row unfoldings of TT-SVD,
2. takes its eigendecomposition ``G = U diag(lambda) U^T`` (``U`` is orthogonal to machine
   precision, whatever the conditioning of ``G``),
3. projects exactly, ``B = U^T C`` (one ``gemm`` pass), and measures the discarded part as the
   exact row norms of ``B``.

A Gram/eigh shortcut that took the singular values as ``sqrt(lambda)`` would lose half the digits
(``lambda`` is only known to ``~u ||C||^2``). Here the factors are exact projections: ``C = U B``
holds to machine precision and the truncation error is ``||B[r:]||_F`` computed from ``B`` itself,
so the ``eps`` bound holds down to ``eps ≈ 1e-14``. Eigenvalues only *guide* the rank choice when
``delta^2`` is far above their error; otherwise all rows of ``B`` are formed and the rank is
chosen from exact row norms. A rank-capped step (no ``eps``) computes only the leading
eigenvectors (LAPACK's subset driver), projects onto the kept rows only and reports
``||C||^2 - ||B_r||^2`` as its discarded energy (``info["error_exact"]`` is then
``False``: that difference is accurate to about ``1e-8 ||X||``; the factors are still exact
projections). In a rank-capped sweep the step also forms the next step's Gram matrix from
``B`` right away and reads ``||B||_F^2`` off its trace (one pass over ``B`` fewer). Small or tall
matrices use LAPACK ``gesdd`` directly, except that at least 64 rows and twice as many columns
already take the Gram path (``gesdd`` took 7.6 ms for ``128 x 256``, the Gram path ~1.5 ms).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.linalg

from .._deprecation import deprecated_arguments
from .._validation import (
    check_array,
    check_eps,
    check_option,
    check_random_state,
    check_real_dtype,
    check_shape,
    exact_size,
    scale_equivariant,
)
from ..algebra.gram import gram as gram_matrix
from ..formats.tt import TTTensor, tt_rank_caps
from ..formats.tt_matrix import TTMatrix
from .svd import randomized_svd, rank_for_error

__all__ = ["tt_svd", "tt_matrix_svd"]

_U = np.finfo(np.float64).eps
#: Matrices with fewer elements than this use LAPACK's SVD directly.
_SMALL = 1 << 16
#: ``eps=0`` drops directions below this fraction of ``||X||_F`` per step ("numerically zero":
#: rounding in the earlier steps leaves residues of a few ``u ||X||``).
_ZERO = 1e-14
#: Extra columns of the range sketch of :func:`_range_step`.
_OVERSAMPLE = 10


# ---------------------------------------------------------------------------- one SVD step
def _svd_step(
    c: np.ndarray, cap: int, delta: float | None, gram: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, float, bool]:
    """Truncated factorization ``C ≈ U_r B_r`` with orthonormal ``U_r`` and ``B_r = U_r^T C``.

    Returns ``(U_r, B_r, tail_sq, exact)``: ``tail_sq = ||C - U_r B_r||_F^2`` and whether it was
    measured exactly (else it comes from Gram eigenvalues or from ``||C||^2 - ||B_r||^2``,
    accurate to ``~m u ||C||^2``).
    """
    if not _uses_gram(c):
        return _lapack_step(c, cap, delta)
    return _gram_step(c, cap, delta, gram)[:4]


def _lapack_step(
    c: np.ndarray, cap: int, delta: float | None
) -> tuple[np.ndarray, np.ndarray, float, bool]:
    """Thin SVD by LAPACK ``gesdd`` (``gesvd`` fallback), truncated by ``delta`` and ``cap``."""
    try:
        u, s, vt = scipy.linalg.svd(c, full_matrices=False, check_finite=False)
    except np.linalg.LinAlgError:  # pragma: no cover - LAPACK convergence failure
        u, s, vt = scipy.linalg.svd(
            c, full_matrices=False, check_finite=False, lapack_driver="gesvd"
        )
    r = len(s) if delta is None else rank_for_error(s, delta)
    r = max(1, min(r, cap))
    return u[:, :r], s[:r, None] * vt[:r], float(np.sum(s[r:] ** 2)), True


def _gram_step(
    c: np.ndarray,
    cap: int,
    delta: float | None,
    gram: np.ndarray | None,
    next_rows: int | None = None,
    next_cap: int = 0,
) -> tuple[np.ndarray, np.ndarray, float, bool, np.ndarray | None]:
    """Exact truncated factorization of a wide matrix through its Gram matrix (module notes).

    Returns ``(U_r, B_r, tail_sq, exact, next_gram)``. With ``next_rows`` (the next mode size of
    a TT sweep, whose rank cap is ``next_cap``) a rank-capped step also forms the next step's
    Gram matrix ``next_gram`` from ``B`` (see :func:`_chained_step`) and reads ``||B||_F^2``
    off its trace instead of a separate pass over ``B``; otherwise ``next_gram`` is ``None``.
    """
    m = c.shape[0]
    if gram is None and delta is None and m > 8 * (cap + _OVERSAMPLE):
        return (*_range_step(c, cap), None)
    g = gram_matrix(c) if gram is None else gram
    total = float(np.trace(g))
    if delta is None:
        # rank cap only: the leading r eigenvectors (LAPACK's subset driver: about half the
        # time of the full eigendecomposition for 128 x 128), projection onto the kept rows;
        # the discarded energy is ||C||^2 - ||B||^2
        r = min(cap, m)
        u = scipy.linalg.eigh(g, check_finite=False, subset_by_index=[m - r, m - 1])[1]
        u = np.ascontiguousarray(u[:, ::-1])
        b = u.T @ c
        nxt = None
        if next_rows is not None and r * next_rows <= 8 * (next_cap + _OVERSAMPLE):
            nxt = _gram_if_wide(b, r * next_rows)  # (else the next step is a _range_step)
        kept = _sq_norm(b) if nxt is None else float(np.trace(nxt))
        return u, b, max(total - kept, 0.0), r == m, nxt
    lam, u = scipy.linalg.eigh(g, check_finite=False)
    lam, u = np.maximum(lam[::-1], 0.0), np.ascontiguousarray(u[:, ::-1])
    lam_err = 8.0 * m * _U * total  # absolute accuracy of the computed eigenvalues
    if delta * delta >= 1e3 * m * lam_err:
        # eigenvalues resolve the tail far below delta^2: choose the rank from them (made safe
        # by subtracting their worst-case error) and project onto the kept rows only
        budget = np.sqrt(max(delta * delta - m * lam_err, 0.0))
        r = max(1, min(rank_for_error(np.sqrt(lam), budget), cap))
        return u[:, :r], u[:, :r].T @ c, float(np.sum(lam[r:])), False, None
    # tiny delta: the rank is decided by exact row norms of the full projection
    b = u.T @ c
    row_sq = np.einsum("ij,ij->i", b, b)
    tail = np.concatenate([np.cumsum(row_sq[::-1])[::-1], [0.0]])
    r = int(np.flatnonzero(tail <= delta * delta)[0])
    r = max(1, min(r, cap))
    return (*_split_rows(u, b, r), None)


def _range_step(c: np.ndarray, cap: int) -> tuple[np.ndarray, np.ndarray, float, bool]:
    """Rank-``cap`` factorization of a matrix with many rows: range, then exact projection.

    The range of ``C`` is found from ``Y = C Omega`` (``cap + 10`` uniform random columns,
    a fixed seed, so the result is deterministic) refined by one power iteration
    ``Y = C C^T Q`` (Halko, Martinsson & Tropp 2011, Alg. 4.3); then ``P = Q^T C`` is formed
    exactly and its small exact SVD (Gram + eigh + projection) gives ``U = Q W_r`` and
    ``B = W_r^T P``. Costs ``~4 (cap + 10)`` passes-worth of ``m N`` multiply-adds instead of the
    ``m^2 N / 2`` of the Gram matrix plus an ``m x m`` eigendecomposition. The error is the exact
    residual ``||C||^2 - ||B||^2`` (cancellation limits its accuracy to ``~1e-8 ||C||``).
    """
    m, n = c.shape
    width = min(cap + _OVERSAMPLE, m)
    omega = np.random.default_rng(0).random((n, width)) - 0.5
    q = scipy.linalg.qr(c @ omega, mode="economic", check_finite=False)[0]
    q = scipy.linalg.qr(c @ (c.T @ q), mode="economic", check_finite=False)[0]
    p = q.T @ c
    lam, w = scipy.linalg.eigh(p @ p.T, check_finite=False)
    w = np.ascontiguousarray(w[:, ::-1][:, :cap])
    b = w.T @ p
    total = _sq_norm(c)
    tail = max(total - _sq_norm(b), 0.0)
    return q @ w, b, tail, False


def _sq_norm(a: np.ndarray) -> float:
    """``||a||_F^2`` by a BLAS dot product (a view of contiguous data is not copied)."""
    flat = a.reshape(-1)
    return float(np.dot(flat, flat))


def _split_rows(
    u: np.ndarray, b: np.ndarray, r: int
) -> tuple[np.ndarray, np.ndarray, float, bool]:
    """Keep ``r`` rows of the exact projection ``b = U^T C``; the rest is the exact tail."""
    tail = b[r:]
    return u[:, :r], b[:r], _sq_norm(tail), True


def _randomized_step(
    c: np.ndarray, cap: int, delta: float | None, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, float, bool]:
    """Randomized range finder (Halko et al. 2011) of width ``cap``, then delta-truncation."""
    if c.size <= _SMALL or cap >= min(c.shape):
        return _lapack_step(c, cap, delta)
    u, s, vt = randomized_svd(c, cap, random_state=rng)
    total = _sq_norm(c)
    residual = max(total - float(np.sum(s**2)), 0.0)
    r = len(s)
    if delta is not None:
        budget = np.sqrt(max(delta * delta - residual, 0.0))
        r = max(1, rank_for_error(s, budget))
    return u[:, :r], s[:r, None] * vt[:r], residual + float(np.sum(s[r:] ** 2)), False


# ---------------------------------------------------------------------------- input checks
def _as_tensor(x: Any) -> tuple[np.ndarray, bool]:
    """``x`` as contiguous float64, and whether its finiteness was already checked.

    For a large ndarray only the type is checked here: the finiteness check then rides on the
    first Gram matrix (:func:`_first_gram`), saving a full pass over ``X``.
    """
    if isinstance(x, np.ndarray) and x.size > _SMALL:
        return np.ascontiguousarray(check_real_dtype(x, "x"), dtype=np.float64), False
    arr = check_array(x, "x", min_ndim=1)
    return np.ascontiguousarray(arr, dtype=np.float64), True


def _uses_gram(c: np.ndarray) -> bool:
    """Whether :func:`_svd_step` takes the Gram path for ``c``: large and wide, or at least
    64 rows and twice as wide (LAPACK ``gesdd`` took 7.6 ms for ``128 x 256``, the Gram path
    about 1.5 ms)."""
    m, n = c.shape
    return (c.size > _SMALL and 4 * m <= n) or (m >= 64 and 2 * m <= n)


def _gram_if_wide(b: np.ndarray, rows: int) -> np.ndarray | None:
    """Gram matrix of ``b`` reshaped to ``(rows, -1)`` if that step takes the Gram path."""
    nxt = b.reshape(rows, -1)
    return gram_matrix(nxt) if _uses_gram(nxt) else None


def _chained_step(
    c: np.ndarray,
    cap: int,
    delta: float | None,
    gram: np.ndarray | None,
    next_rows: int | None,
    next_cap: int,
) -> tuple[np.ndarray, np.ndarray, float, bool, np.ndarray | None]:
    """One exact TT-SVD step that also returns the next step's Gram matrix when it has it.

    A rank-capped Gram step forms ``G' = B' B'^T`` (``B'`` = the projection ``B = U_r^T C``
    reshaped to the next unfolding) right after ``B``, and its trace gives ``||B||_F^2`` for the
    discarded energy ``||C||^2 - ||B||^2``: one pass over ``B`` fewer.
    """
    if not _uses_gram(c):
        return (*_lapack_step(c, cap, delta), None)
    return _gram_step(c, cap, delta, gram, next_rows, next_cap)


def _first_gram(x: np.ndarray, rows: int, checked: bool) -> np.ndarray | None:
    """Gram matrix of the first step's unfolding (when that step uses it) and the NaN/Inf check.

    A NaN or Inf in ``X`` makes the Gram diagonal (row sums of squares, which together cover
    every entry) non-finite; :func:`check_array` then raises the standard message.
    """
    first = x.reshape(rows, -1)
    gram = gram_matrix(first) if _uses_gram(first) else None
    if not checked and (gram is None or not np.all(np.isfinite(np.diagonal(gram)))):
        check_array(x, "x")  # raises the standard NaN/Inf message
        if gram is not None:
            raise ValueError("x has values so large that their squares overflow float64")
    return gram


def _leading_full_steps(shape: tuple[int, ...], caps: tuple[int, ...]) -> int:
    """Number of leading steps whose rank cap is the full row count ``n_1 ... n_k``.

    Such a step cannot truncate: its SVD is a mere rotation, so its core is taken as the
    identity ``eye(n_1 ... n_k)`` reshaped to ``(n_1 ... n_{k-1}, n_k, n_1 ... n_k)`` (exactly
    left-orthonormal) and the modes are merged into the first truncating step.
    """
    start, left = 0, 1
    while start < len(caps) and caps[start] == left * shape[start]:
        left *= shape[start]
        start += 1
    return start


# ---------------------------------------------------------------------------- TT-SVD
@deprecated_arguments(renamed={"svd": "method"}, positional=("eps", "svd", "random_state"))
@scale_equivariant
def tt_svd(
    x: np.ndarray,
    ranks: int | Sequence[int] | None = None,
    *,
    eps: float | None = None,
    method: str = "exact",
    random_state: Any = None,
) -> TTTensor:
    """Tensor-train decomposition by sequential truncated SVDs (survey eq. 8; Oseledets 2011).

    Parameters
    ----------
    x : array_like, shape (n_1, ..., n_d)
        The tensor (finite, real, ``d >= 1``). Computed in float64.
    ranks : int or sequence of int, optional
        Caps on the TT ranks: one ``int`` for all, the ``d - 1`` inner ranks, or all ``d + 1``
        ranks with the boundary ones ``r_0 = r_d = 1``. A cap above the largest possible rank
        ``min(n_1 ... n_k, n_{k+1} ... n_d)`` is lowered to it (no tensor has a larger TT rank);
        a rank below 1 is an error.
    eps : float, optional
        Relative error bound in ``[0, 1)``: each step is truncated at
        ``delta = eps ||X||_F / sqrt(d - 1)``, so ``||X - TT||_F <= eps ||X||_F`` whenever no
        rank cap binds. With neither ``ranks`` nor ``eps`` the decomposition is exact up to
        rounding (``eps = 0``: numerically zero directions, below ``1e-14 ||X||_F`` per step,
        are dropped).
    method : {"exact", "randomized"}
        ``"exact"``: the exact Gram-projection / LAPACK steps of the module notes.
        ``"randomized"``: a randomized range finder of width ``ranks[k]`` per step (needs
        ``ranks``; ``eps`` then truncates further, counting the sketch's residual as error).
    random_state : None, int or numpy.random.Generator
        Seed for ``method="randomized"``.

    Returns
    -------
    TTTensor
        Cores ``G_1 .. G_{d-1}`` left-orthonormal. ``info`` holds ``rel_error`` (the achieved
        ``||X - TT||_F / ||X||_F`` from the discarded parts), ``error_exact`` (``True`` when every
        discarded part was measured exactly; otherwise ``rel_error`` comes from Gram eigenvalues
        and is accurate to about ``1e-7``), ``ranks`` and ``norm`` (``||X||_F``).

    Raises
    ------
    ValueError
        For NaN/Inf or empty input, ranks < 1, a wrong number of ranks, or an ``eps`` outside
        ``[0, 1)``.
    TypeError
        For non-numeric input or non-integer ranks.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).standard_normal((4, 5, 6, 3))
    >>> tt = tt_svd(x)
    >>> tt.ranks
    (1, 4, 18, 3, 1)
    >>> bool(tt.relative_error(x) < 1e-13)
    True
    """
    eps = check_eps(eps)
    svd = check_option(method, "method", ("exact", "randomized"))
    x, checked = _as_tensor(x)
    shape = x.shape
    d = len(shape)
    caps = tt_rank_caps(ranks, shape)
    if svd == "randomized" and ranks is None:
        raise ValueError("method='randomized' needs ranks (the sketch width); got ranks=None")
    rng = check_random_state(random_state) if svd == "randomized" else None
    if eps is None and ranks is None:
        eps = 0.0  # exact up to rounding: drop only numerically zero directions
    # rank-capped runs skip the leading steps that cannot truncate (pure rotations)
    start = _leading_full_steps(shape, caps) if eps is None and rng is None else 0
    r_prev = int(np.prod(shape[:start], dtype=np.int64))
    gram = _first_gram(x, r_prev * shape[start], checked)
    norm_sq = float(np.trace(gram)) if gram is not None else float(np.vdot(x, x))
    norm = np.sqrt(norm_sq)
    delta = None if eps is None else eps * norm / np.sqrt(max(d - 1, 1))
    if eps == 0.0:
        delta = _ZERO * norm  # drop only numerically zero directions

    cores: list[np.ndarray] = []
    left = 1
    for k in range(start):
        cores.append(np.eye(left * shape[k]).reshape(left, shape[k], left * shape[k]))
        left *= shape[k]
    tails: list[float] = []
    exact = True
    c = x
    for k in range(start, d - 1):
        c = c.reshape(r_prev * shape[k], -1)
        if rng is not None:
            u, c, tail, ok = _randomized_step(c, caps[k], delta, rng)
        else:
            nxt_rows, nxt_cap = (shape[k + 1], caps[k + 1]) if k + 2 < d else (None, 0)
            u, c, tail, ok, gram = _chained_step(c, caps[k], delta, gram, nxt_rows, nxt_cap)
        r = u.shape[1]
        cores.append(u.reshape(r_prev, shape[k], r))
        tails.append(tail)
        exact &= ok
        r_prev = r
    cores.append(np.ascontiguousarray(c).reshape(r_prev, shape[-1], 1))
    tt = TTTensor(cores, copy=False)
    tt.info = {
        "rel_error": float(np.sqrt(sum(tails)) / norm) if norm > 0 else 0.0,
        "error_exact": bool(exact),
        "ranks": tt.ranks,
        "norm": float(norm),
        "step_errors": [float(np.sqrt(t)) for t in tails],
    }
    return tt


# ---------------------------------------------------------------------------- TT-matrix SVD
@deprecated_arguments(positional=("eps",))
@scale_equivariant
def tt_matrix_svd(
    w: np.ndarray,
    in_modes: Sequence[int],
    out_modes: Sequence[int],
    ranks: int | Sequence[int] | None = None,
    *,
    eps: float | None = None,
) -> TTMatrix:
    """TT-matrix (TT-operator) decomposition of a weight matrix (Novikov et al. 2015; eq. 8).

    ``W`` of shape ``(prod in_modes, prod out_modes)`` (the orientation of ``y = x @ W``) is
    reshaped to ``(m_1, ..., m_d, n_1, ..., n_d)``, its axes are interleaved to
    ``(m_1 n_1, ..., m_d n_d)`` and :func:`tt_svd` is applied; the cores are split back to
    ``(r_{k-1}, m_k, n_k, r_k)``.

    Parameters
    ----------
    w : array_like, shape (prod(in_modes), prod(out_modes))
        The matrix.
    in_modes : sequence of int
        Factorization ``m_1, ..., m_d`` of the number of rows (the input size of ``x @ W``).
    out_modes : sequence of int
        Factorization ``n_1, ..., n_d`` of the number of columns; same length as ``in_modes``.
    ranks : int or sequence of int, optional
        TT rank caps, as in :func:`tt_svd`.
    eps : float, optional
        Relative Frobenius error bound, as in :func:`tt_svd`.

    Returns
    -------
    TTMatrix
        With the ``info`` of :func:`tt_svd`.

    Raises
    ------
    ValueError
        If the modes do not factor the shape of ``w`` or have different lengths.

    Examples
    --------
    >>> import numpy as np
    >>> w = np.random.default_rng(0).standard_normal((12, 20))
    >>> ttm = tt_matrix_svd(w, (3, 4), (4, 5))
    >>> bool(np.allclose(ttm.full(), w))
    True
    """
    w = check_array(w, "w", ndim=2)
    in_modes = check_shape(in_modes, "in_modes")
    out_modes = check_shape(out_modes, "out_modes")
    if len(in_modes) != len(out_modes):
        raise ValueError(
            f"in_modes {in_modes} and out_modes {out_modes} must have the same length"
        )
    if exact_size(in_modes) != w.shape[0] or exact_size(out_modes) != w.shape[1]:
        raise ValueError(
            f"w has shape {w.shape} but in_modes {in_modes} and out_modes {out_modes} "
            f"multiply to ({exact_size(in_modes)}, {exact_size(out_modes)})"
        )
    d = len(in_modes)
    t = w.reshape(in_modes + out_modes)
    order = [a for k in range(d) for a in (k, d + k)]
    t = t.transpose(order).reshape([m * n for m, n in zip(in_modes, out_modes, strict=True)])
    tt = tt_svd(t, ranks=ranks, eps=eps)
    cores = [
        g.reshape(g.shape[0], m, n, g.shape[2])
        for g, m, n in zip(tt.cores, in_modes, out_modes, strict=True)
    ]
    out = TTMatrix(cores, copy=False)
    out.info = dict(tt.info)
    return out
