"""Tensor-ring decompositions: TR-SVD and TR-ALS (survey eq. 9; Zhao et al., arXiv:1606.05535).

TR-SVD (Zhao et al. 2016, Alg. 1)
---------------------------------
1. ``delta_1 = sqrt(2) eps ||X||_F / sqrt(d)`` and ``delta_k = eps ||X||_F / sqrt(d)`` for the
   ``d - 2`` later steps, so the discarded parts add up to at most
   ``2 eps^2 ||X||^2 / d + (d - 2) eps^2 ||X||^2 / d = eps^2 ||X||^2``.
2. The first unfolding ``X_<1> = reshape(X, (n_1, -1))`` is truncated at ``delta_1`` to a rank
   ``R``, which is split as ``R = r_0 r_1`` by the **most balanced divisor pair** (``r_0`` the
   largest divisor of ``R`` not above ``sqrt(R)``; an exhaustive search, not the prime-factor
   heuristic of the reference code). ``G_1 = reshape(U, (n_1, r_0, r_1))`` moved to
   ``(r_0, n_1, r_1)``; the remainder ``S V^T`` is reshaped to ``(r_0, r_1, ...)`` and ``r_0`` is
   moved to the end, glued to the last mode.
3. The remaining steps are TT-SVD steps (:func:`tensornet.algebra.truncation.leading_subspace`)
   at ``delta_k``; the last core is ``(r_{d-1}, n_d, r_0)``.

TR-ALS (Zhao et al. 2016, Alg. 2)
---------------------------------
Each sweep updates every core ``G_k`` in turn by the linear least-squares problem
``min ||D_k W - X_[k]^T||_F``, where ``D_k`` (``prod_{j != k} n_j`` rows, ``r_{k-1} r_k``
columns) is the unfolding of the merged other cores ``G_{k+1} ... G_d G_1 ... G_{k-1}`` and
``X_[k]`` the matching cyclic unfolding. It is solved through a thin QR of ``D_k``,
``W = R^+ Q^T X_[k]^T`` (a QR least-squares solve, not the normal equations: the error grows with
``cond(D_k)``, not its square), but ``D_k`` is never formed: its QR is computed **structurally**.
Sweeping the chain of the other cores like a TT left-orthogonalization, with the two dangling
boundary ranks kept on the column side, gives ``D_k = Q R`` with ``Q`` a chain of orthonormal
cores (a left-orthonormal TT, so ``Q^T Q = I``) and a small ``R`` of at most
``r_{k-1} r_k x r_{k-1} r_k`` entries, in ``O(d n r^6)``. ``Q^T X_[k]^T`` is contracted core by
core (about two passes over ``X``) and the small problem ``min ||R W - Q^T X_[k]^T||`` is
solved by ``lstsq`` (which also covers a rank-deficient ``D_k``). Compared with forming
``D_k`` (``prod n / n_k x r^2`` entries) and running a dense QR or ``lstsq`` on it as TensorLy
does, this removes the ``O(prod n · r^4 / n_k)`` factorization cost. The error after each sweep
comes from the residual identity ``||X||^2 - ||Q^T X^T||^2 + ||R W - Q^T X^T||^2`` while it is
above ``1e-3`` and is recomputed exactly from the explicit design matrix of the last core below
that. The cyclic permutations of ``X`` are formed once per call.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.linalg

from .._deprecation import deprecated_arguments
from .._validation import (
    check_array,
    check_eps,
    check_int,
    check_option,
    check_random_state,
    check_rank_spec,
    check_ranks,
    check_tol,
    lower_caps,
    scale_equivariant,
)
from ..algebra.truncation import NUMERICAL_ZERO, leading_subspace
from ..formats.tr import TRTensor
from ._engines import streams_dask
from .als import ALSResult, als, relative_error

__all__ = ["tr_svd", "tr_als", "balanced_split"]


def balanced_split(rank: int) -> tuple[int, int]:
    """Most balanced factorization ``rank = r_0 r_1`` with ``r_0 <= r_1`` (exhaustive search).

    Parameters
    ----------
    rank : int
        The first TR-SVD rank ``R >= 1``.

    Returns
    -------
    tuple of int
        ``(r_0, r_1)`` minimizing ``r_1 - r_0``. A prime ``R`` gives ``(1, R)``: a TT-like
        boundary.

    Examples
    --------
    >>> balanced_split(90)
    (9, 10)
    >>> balanced_split(7)
    (1, 7)
    """
    rank = check_int(rank, "rank", minimum=1)
    r0 = int(np.floor(np.sqrt(rank)))
    while rank % r0:
        r0 -= 1
    return r0, rank // r0


def _first_split(rank: int, caps: Sequence[int] | None) -> tuple[int, int]:
    """Split the first TR-SVD rank ``R`` into ``(r_0, r_1)`` (module notes).

    Without caps: :func:`balanced_split`. With caps ``(c_0, c_1, ...)``: ``(c_0, c_1)`` when
    ``R = c_0 c_1``; otherwise the largest ``R' <= R`` that has a divisor pair with
    ``r_0 <= c_0`` and ``r_1 <= c_1``, split as balanced as those caps allow.
    """
    if caps is None:
        return balanced_split(rank)
    c0, c1 = caps[0], caps[1]
    if rank == c0 * c1:
        return c0, c1
    for total in range(rank, 0, -1):
        pairs = [(a, total // a) for a in range(1, c0 + 1) if total % a == 0 and total // a <= c1]
        if pairs:
            return min(pairs, key=lambda p: (abs(p[1] - p[0]), -p[0]))
    return 1, 1  # pragma: no cover - total = 1 always fits


def _tr_rank_caps(ranks: Any, d: int, name: str = "ranks") -> tuple[int, ...] | None:
    """``d`` TR ranks ``(r_0, ..., r_{d-1})`` from an int, ``d`` values or ``d + 1`` closed ones."""
    ranks = check_rank_spec(ranks, name)
    if ranks is None:
        return None
    if isinstance(ranks, (Sequence, np.ndarray)) and not isinstance(ranks, (str, bytes)):
        seq = list(np.asarray(ranks).tolist()) if isinstance(ranks, np.ndarray) else list(ranks)
        if len(seq) == d + 1:
            full = check_ranks(seq, d + 1, name)
            if full[0] != full[-1]:
                raise ValueError(
                    f"{name}[0]={full[0]} and {name}[{d}]={full[-1]} must be equal: a ring "
                    "closes with r_d = r_0"
                )
            return full[:-1]
    return check_ranks(ranks, d, name)


# ---------------------------------------------------------------------------- TR-SVD
@deprecated_arguments(positional=("eps",))
@streams_dask
@scale_equivariant
def tr_svd(
    x: np.ndarray,
    ranks: int | Sequence[int] | None = None,
    *,
    eps: float | None = None,
) -> TRTensor:
    """Tensor-ring decomposition by sequential SVDs (survey eq. 9; Zhao et al. 2016, Alg. 1).

    Parameters
    ----------
    x : array_like, shape (n_1, ..., n_d)
        The tensor, ``d >= 2`` (computed in float64).
    ranks : int or sequence of int, optional
        Caps on the TR ranks ``(r_0, ..., r_{d-1})`` (``d`` values, or ``d + 1`` with
        ``r_d = r_0``). The first SVD is capped at ``r_0 r_1``; when it reaches that rank the
        split is ``(r_0, r_1)`` as given, otherwise the most balanced divisor pair within the
        caps of the largest rank that has one. Unlike a rank-only TR-SVD, a product
        ``r_0 r_1`` larger than ``n_1`` is not an error: the first rank is capped by the shape.
    eps : float, optional
        Relative error bound in ``[0, 1)``; with ``delta_1 = sqrt(2) eps ||X|| / sqrt(d)`` and
        ``delta_k = eps ||X|| / sqrt(d)`` the result satisfies ``||X - TR|| <= eps ||X||`` when no
        cap binds. With neither argument the decomposition is exact up to rounding.

    Returns
    -------
    TRTensor
        ``info`` holds ``rel_error`` (from the discarded parts), ``error_exact``, ``ranks``.
        An all-zero ``x`` gives exact zeros with ``rel_error = 0`` (ranks 1 unless ``ranks``
        are given).

    Raises
    ------
    ValueError
        For NaN/Inf input, ``d < 2``, ranks < 1, wrong lengths, or an unclosed ``d + 1`` ranks.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).standard_normal((4, 5, 6))
    >>> tr = tr_svd(x, eps=0.3)
    >>> bool(tr.relative_error(x) <= 0.3)
    True
    """
    x = np.ascontiguousarray(check_array(x, "x", min_ndim=2), dtype=np.float64)
    eps = check_eps(eps)
    shape = x.shape
    d = len(shape)
    caps = _tr_rank_caps(ranks, d)
    first = min(shape[0], x.size // shape[0])  # r_0 r_1 <= rank of the first unfolding
    caps = lower_caps(caps, (first, first) + (x.size,) * (d - 2))
    norm = float(np.linalg.norm(x.ravel()))
    if eps is None and ranks is None:
        eps = 0.0
    delta1, delta = tr_budgets(eps, norm, d)
    big = caps[0] * caps[1] if caps is not None else x.size
    first_step = leading_subspace(x.reshape(shape[0], -1), big, delta1)
    return tr_sweep(shape, caps, delta, norm, first_step)


def tr_budgets(eps: float | None, norm: float, d: int) -> tuple[float | None, float | None]:
    """Error budgets ``(delta_1, delta)`` of TR-SVD's first and later steps (Zhao et al. 2016:
    the first truncation counts twice, ``delta_1 = sqrt(2) eps ||X|| / sqrt(d)``)."""
    if eps is None:
        return None, None
    if eps == 0.0:
        return NUMERICAL_ZERO * norm, NUMERICAL_ZERO * norm
    delta = eps * norm / np.sqrt(d)
    return float(np.sqrt(2.0) * delta), float(delta)


def tr_sweep(
    shape: tuple[int, ...],
    caps: Sequence[int] | None,
    delta: float | None,
    norm: float,
    first_step: Any,
) -> TRTensor:
    """TR-SVD after its first truncation ``X_(1) ≈ U C`` (a ``Subspace``): split the rank,
    then sweep the remainder like TT-SVD. Shared with the out-of-core TR-SVD, which computes
    the first step by streaming passes."""
    d = len(shape)
    u, c, tail, exact = first_step.u, first_step.b, first_step.tail_sq, first_step.exact
    r0, r1 = _first_split(u.shape[1], caps)
    if r0 * r1 < u.shape[1]:  # no divisor pair of R fits the caps: drop exact rows of S V^T
        dropped = c[r0 * r1 :]
        tail += float(np.einsum("ij,ij->", dropped, dropped))
        u, c = u[:, : r0 * r1], c[: r0 * r1]
    cores = [u.reshape(shape[0], r0, r1).transpose(1, 0, 2)]
    tails = [tail]
    # remainder (r0, r1, n_2 ... n_d) -> (r1, n_2 ... n_d, r0): r0 travels with the last mode
    c = np.moveaxis(c.reshape(r0, r1, -1), 0, -1)
    r_prev = r1
    for k in range(1, d - 1):
        c = np.ascontiguousarray(c).reshape(r_prev * shape[k], -1)
        cap = caps[k + 1] if caps is not None else c.shape[0]
        u, c, tail, ok, _, _ = leading_subspace(c, cap, delta)
        cores.append(u.reshape(r_prev, shape[k], u.shape[1]))
        tails.append(tail)
        exact &= ok
        r_prev = u.shape[1]
    cores.append(np.ascontiguousarray(c).reshape(r_prev, shape[-1], r0))
    tr = TRTensor(cores, copy=False)
    tr.info = {
        "rel_error": float(np.sqrt(sum(tails)) / norm) if norm > 0 else 0.0,
        "error_exact": bool(exact),
        "ranks": tr.ranks,
    }
    return tr


# ---------------------------------------------------------------------------- TR-ALS
def _merged_others(cores: Sequence[np.ndarray], k: int) -> np.ndarray:
    """Design matrix ``D_k``: rows = modes ``k+1, ..., d, 1, ..., k-1`` (C order), columns
    ``(a, b)`` with ``a`` the left rank ``r_{k-1}`` and ``b`` the right rank ``r_k`` of core k."""
    d = len(cores)
    order = [(k + j) % d for j in range(1, d)]
    first = cores[order[0]]
    res = first.reshape(-1, first.shape[2])  # (r_k n, r')
    for j in order[1:]:
        g = cores[j]
        res = (res @ g.reshape(g.shape[0], -1)).reshape(-1, g.shape[2])
    rb = first.shape[0]
    ra = cores[order[-1]].shape[2]
    q = res.reshape(rb, -1, ra)  # Q[b, rows, a]
    return q.transpose(1, 2, 0).reshape(-1, ra * rb)


def _random_cores(
    shape: Sequence[int], ranks: Sequence[int], rng: np.random.Generator, norm: float
) -> list[np.ndarray]:
    """Gaussian cores scaled so that the ring has roughly the norm of the data."""
    d = len(shape)
    cores = [rng.standard_normal((ranks[k], shape[k], ranks[(k + 1) % d])) for k in range(d)]
    scale = TRTensor(cores, copy=False).norm()
    factor = (norm / scale) ** (1.0 / d) if scale > 0 and norm > 0 else 1.0
    return [g * factor for g in cores]


def _svd_init(x: np.ndarray, ranks: Sequence[int], rng: np.random.Generator) -> list[np.ndarray]:
    """TR-SVD cores at the requested ranks, zero-padded where the SVD found smaller ranks and
    then filled with ``1e-3``-relative Gaussian entries (a zero block would make ``D_k``
    rank deficient)."""
    tr = tr_svd(x, ranks=ranks)
    d = x.ndim
    cores = []
    for k, g in enumerate(tr.cores):
        target = (ranks[k], x.shape[k], ranks[(k + 1) % d])
        block = np.zeros(target)
        a, _, b = (min(s, t) for s, t in zip(g.shape, target, strict=True))
        block[:a, :, :b] = g[:a, :, :b]
        rms = float(np.sqrt(np.mean(g**2))) if g.size else 1.0
        block += 1e-3 * rms * rng.standard_normal(target)
        cores.append(block)
    return cores


def _structured_qr(cores: Sequence[np.ndarray], k: int) -> tuple[list[np.ndarray], np.ndarray]:
    """Thin QR ``D_k = Q R`` of the design matrix without forming ``D_k`` (module notes).

    The chain ``G_{k+1} ... G_{k-1}`` is swept like a TT left-orthogonalization in which the
    dangling boundary ranks ``(b, a)`` stay on the column side: at each core the matrix with
    rows ``(c, j)`` and columns ``(b, e)`` is QR-factorized and its ``R`` pushed into the next
    core. ``Q`` is the chain of the orthonormal factors (a left-orthonormal TT, returned as
    cores ``(c_prev, n_j, c)``; a step with no more rows than columns keeps ``Q = I``, marked by
    a boolean array of that shape) and ``R`` is ``(c_m, r_{k-1} r_k)`` with columns ``(a, b)``.
    Cost ``O(d n r^6)``, independent of the tensor size.
    """
    d = len(cores)
    rb = cores[k].shape[2]
    q_cores: list[np.ndarray] = []
    r_state = np.eye(rb).reshape(1, rb, rb)  # (c=1, b, e=b): the identity starts the chain
    for j in [(k + i) % d for i in range(1, d)]:
        h = cores[j]  # (e_prev, n, e)
        t = np.tensordot(r_state, h, axes=(2, 0))  # (c, b, n, e)
        c, _, n, e = t.shape
        m = t.transpose(0, 2, 1, 3).reshape(c * n, rb * e)
        if m.shape[0] <= m.shape[1]:  # QR would only rotate: keep Q = I (skipped later)
            q, r = None, m
            q_cores.append(np.empty((c, n, c * n), dtype=bool))  # shape marker of I
        else:
            q, r = scipy.linalg.qr(m, mode="economic", check_finite=False)
            q_cores.append(q.reshape(c, n, q.shape[1]))
        r_state = r.reshape(r.shape[0], rb, e)
    ra = r_state.shape[2]
    return q_cores, r_state.transpose(0, 2, 1).reshape(r_state.shape[0], ra * rb)


def _project_rhs(q_cores: Sequence[np.ndarray], y: np.ndarray) -> np.ndarray:
    """``Q^T X_[k]^T`` for the chain ``Q`` of :func:`_structured_qr`, as ``(c_m, n_k)``.

    ``y`` is ``X`` with its modes in the cyclic order ``k+1, ..., d, 1, ..., k`` (mode ``k``
    last, C order), so each orthonormal core is contracted by one plain ``gemm``
    ``(c n, c')^T @ (c n, rest)``: about two passes over ``X`` in all.
    """
    t = y.reshape(1, -1)
    for q in q_cores:
        c, n, c_next = q.shape
        t = t.reshape(c * n, -1)
        if q.dtype != bool:  # a boolean marker stands for the identity
            t = q.reshape(c * n, c_next).T @ t  # (c', rest')
    return t


def _als_update(cores: list[np.ndarray], k: int, y: np.ndarray) -> tuple[np.ndarray, float]:
    """Least-squares update of core ``k`` (module notes).

    Returns the new core and the squared residual ``||X||^2 - ||Q^T X^T||^2 + ||R W - Q^T
    X^T||^2`` (accurate only while it is well above ``u ||X||^2``).
    """
    q_cores, r = _structured_qr(cores, k)
    rhs = _project_rhs(q_cores, y).reshape(r.shape[0], -1)  # Q^T X^T, (c_m, n_k)
    w = np.linalg.lstsq(r, rhs, rcond=None)[0]  # small (<= r^2 x r^2) problem
    fit = r @ w - rhs
    resid_sq = float(np.vdot(y, y) - np.vdot(rhs, rhs) + np.vdot(fit, fit))
    ra, rb = cores[k].shape[0], cores[k].shape[2]
    return w.reshape(ra, rb, -1).transpose(0, 2, 1), resid_sq


def _model_error(cores: Sequence[np.ndarray], y_last: np.ndarray, norm: float) -> float:
    """Exact relative error ``||X - TR|| / ||X||`` from the design matrix of the last core."""
    d = len(cores)
    design = _merged_others(cores, d - 1)  # rows: modes 1..d-1 in order, columns (a, b)
    g = cores[d - 1]
    w = g.transpose(0, 2, 1).reshape(-1, g.shape[1])  # rows (a, b)
    resid = y_last.reshape(design.shape[0], -1) - design @ w
    return float(np.linalg.norm(resid.ravel())) / norm if norm > 0 else 0.0


#: Below this relative error the residual identity of :func:`_als_update` loses digits and the
#: error is recomputed exactly.
_EXACT_BELOW = 1e-3


def _check_als_ranks(ranks: Sequence[int], shape: tuple[int, ...]) -> None:
    """Refuse TR ranks with which a core has more unknowns than its least-squares problem has
    equations: ``r_k r_{k+1} > prod_{j != k} n_j`` (``D_k`` would be wider than tall, so the
    core could fit every slice exactly and lower ranks represent the same tensors). Checked in
    ``O(d)``, before anything of the ranks' size is allocated."""
    size = math.prod(shape)
    d = len(shape)
    for k in range(d):
        left, right = ranks[k], ranks[(k + 1) % d]
        rows = size // shape[k]
        if left * right > rows:
            raise ValueError(
                f"ranks[{k}]*ranks[{(k + 1) % d}]={left}*{right}={left * right} exceeds {rows}, "
                f"the size of the modes other than {k} of shape {shape}: core {k} would have "
                "more unknowns than equations"
            )


def _fit(
    x: np.ndarray,
    caps: Sequence[int],
    init: str,
    rng: np.random.Generator,
    **options: Any,
) -> ALSResult:
    """TR-ALS through the shared driver: the start of each restart and one sweep."""
    d = x.ndim
    norm = float(np.linalg.norm(x.ravel()))
    # X with its modes in the cyclic order k+1, ..., d, 1, ..., k (mode k last), for every k
    x_cyc = [
        np.ascontiguousarray(np.transpose(x, [(k + j) % d for j in range(1, d + 1)]))
        for k in range(d)
    ]

    def start(i: int) -> list[np.ndarray]:
        if i == 0 and init == "svd":
            return _svd_init(x, caps, rng)
        return _random_cores(x.shape, caps, rng, norm)

    def sweep(cores: list[np.ndarray]) -> tuple[list[np.ndarray], float]:
        for k in range(d):
            cores[k], resid_sq = _als_update(cores, k, x_cyc[k])
        exact = lambda: _model_error(cores, x_cyc[d - 1], norm)  # noqa: E731
        return cores, relative_error(resid_sq, norm * norm, exact, below=_EXACT_BELOW)

    return als(start, sweep, **options)


@deprecated_arguments(positional=("n_iter_max", "tol", "init", "n_restarts", "random_state"))
@scale_equivariant
def tr_als(
    x: np.ndarray,
    ranks: int | Sequence[int],
    *,
    n_iter_max: int = 100,
    tol: float = 1e-8,
    init: str = "svd",
    n_restarts: int = 1,
    random_state: Any = None,
) -> TRTensor:
    """Tensor ring by alternating least squares (survey eq. 9; Zhao et al. 2016, Alg. 2).

    Parameters
    ----------
    x : array_like, shape (n_1, ..., n_d)
        The tensor, ``d >= 2`` (computed in float64).
    ranks : int or sequence of int
        The TR ranks ``(r_0, ..., r_{d-1})`` (an int for all, ``d`` values, or ``d + 1`` with
        ``r_d = r_0``). They are fixed: ALS does not adapt them. Each core's two ranks must
        satisfy ``r_k r_{k+1} <= prod_{j != k} n_j`` (no more unknowns per slice than
        equations; larger ranks are refused). A rank may exceed a mode size.
    n_iter_max : int
        Largest number of sweeps (each sweep updates every core once).
    tol : float
        Stop when the relative error changes by less than ``tol`` between two sweeps
        (``0`` runs all ``n_iter_max`` sweeps).
    init : {"svd", "random"}
        ``"svd"``: :func:`tr_svd` capped at ``ranks``, padded to the requested ranks (module
        notes); ``"random"``: Gaussian cores. Restarts after the first are always random.
    n_restarts : int
        Number of runs; the one with the lowest final error is returned.
    random_state : None, int or numpy.random.Generator
        Seed for random cores and padding (same seed, same result).

    Returns
    -------
    TRTensor
        ``info`` holds ``rel_error``, ``history`` (relative error after each sweep of the
        returned run; never increasing, since every update is an exact least-squares
        minimization), ``n_iter``, ``converged`` and ``restart_errors``. An all-zero ``x``
        gives exact zeros (zero cores) with ``rel_error = 0``.

    Raises
    ------
    ValueError
        For NaN/Inf input, ``d < 2``, ranks < 1 or too large (above), ``tol < 0`` or bad
        counts.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> from tensornet.formats import TRTensor
    >>> x = TRTensor([rng.standard_normal((2, 4, 2)) for _ in range(3)]).full()
    >>> tr = tr_als(x, ranks=2, n_restarts=3, random_state=0)
    >>> bool(tr.info["rel_error"] < 1e-6)
    True
    """
    x = np.ascontiguousarray(check_array(x, "x", min_ndim=2), dtype=np.float64)
    d = x.ndim
    caps = _tr_rank_caps(ranks, d)
    _check_als_ranks(caps, x.shape)
    n_iter_max = check_int(n_iter_max, "n_iter_max", minimum=1)
    n_restarts = check_int(n_restarts, "n_restarts", minimum=1)
    init = check_option(init, "init", ("svd", "random"))
    tol = check_tol(tol)
    rng = check_random_state(random_state)
    run = _fit(x, caps, init, rng, n_iter_max=n_iter_max, tol=tol, n_restarts=n_restarts)
    tr = TRTensor(run.state, copy=False)
    tr.info = {**run.info(), "ranks": tr.ranks}
    return tr
