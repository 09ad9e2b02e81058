"""TT-SVD and TT-matrix SVD (survey eq. 8; Oseledets, SIAM J. Sci. Comput. 33(5), 2011, Alg. 1).

TT-SVD sweeps left to right. At step ``k`` the remainder ``C`` is reshaped to
``(r_{k-1} n_k, n_{k+1} ... n_d)``, a truncated factorization ``C ≈ U_r B_r`` with orthonormal
``U_r`` gives the core ``G_k = reshape(U_r, (r_{k-1}, n_k, r_k))`` and the next remainder
``C = B_r = U_r^T C`` (``= S_r V_r^T`` of the truncated SVD). Truncating every step at
``delta = eps ||X||_F / sqrt(d - 1)`` gives ``||X - TT||_F <= sqrt(sum_k tail_k^2) <= eps ||X||_F``
(Oseledets 2011, Thm. 2.2).

Each step is :func:`tensornet.algebra.truncation.leading_subspace`: the exact Gram-projection
step for the wide unfoldings (no right singular vectors are computed), LAPACK's SVD otherwise.
Two savings of rank-capped runs: leading steps whose cap is the full row count are pure
rotations and are skipped, and a capped step forms the next step's Gram matrix from ``B`` right
away. ``method="randomized"`` replaces the step by a randomized range finder (Halko, Martinsson &
Tropp 2011).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

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
from ..algebra.gram import gram
from ..algebra.truncation import (
    SMALL_SIZE,
    Subspace,
    error_budget,
    leading_subspace,
    truncate,
    uses_gram_path,
)
from ..formats.tt import TTTensor, tt_rank_caps
from ..formats.tt_matrix import TTMatrix
from ._engines import streams_dask
from .svd import randomized_svd

__all__ = ["tt_svd", "tt_matrix_svd"]

#: ``step(c, cap, delta, *, gram_matrix, next_rows) -> Subspace``: one truncation of a sweep.
StepFunction = Callable[..., Subspace]


# ---------------------------------------------------------------------------- the randomized step
def _randomized_step(rng: np.random.Generator) -> StepFunction:
    """A step by the randomized range finder of width ``cap``, then delta-truncation.

    It has the signature of :func:`~tensornet.algebra.truncation.leading_subspace`, the exact
    step, and ignores the Gram matrices offered to it.
    """

    def step(c: np.ndarray, cap: int, delta: float | None, **_: Any) -> Subspace:
        if c.size <= SMALL_SIZE or cap >= min(c.shape):
            return leading_subspace(c, cap, delta)
        u, s, vt = randomized_svd(c, cap, random_state=rng)
        flat = c.reshape(-1)
        residual = max(float(np.dot(flat, flat)) - float(np.sum(s**2)), 0.0)
        budget = None if delta is None else np.sqrt(max(delta * delta - residual, 0.0))
        r = truncate(s, budget)
        tail = residual + float(np.sum(s[r:] ** 2))
        return Subspace(u[:, :r], s[:r, None] * vt[:r], tail, False, s)

    return step


# ---------------------------------------------------------------------------- set-up
def _as_tensor(x: Any) -> tuple[np.ndarray, bool]:
    """``x`` as contiguous float64, and whether its finiteness was already checked.

    For a large ndarray only the type is checked here: the finiteness check then rides on the
    first Gram matrix (:func:`_first_gram`), saving a full pass over ``X``.
    """
    if isinstance(x, np.ndarray) and x.size > SMALL_SIZE:
        return np.ascontiguousarray(check_real_dtype(x, "x"), dtype=np.float64), False
    arr = check_array(x, "x", min_ndim=1)
    return np.ascontiguousarray(arr, dtype=np.float64), True


def _first_gram(c: np.ndarray, checked: bool) -> np.ndarray | None:
    """Gram matrix of the first unfolding (when its step uses one), refusing NaN/Inf.

    A NaN or Inf in ``X`` makes the Gram diagonal (row sums of squares, which together cover
    every entry) non-finite, so the check costs no extra pass.
    """
    if uses_gram_path(c.shape):
        return gram(c, check_finite=not checked)
    if not checked:
        check_array(c, "x")
    return None


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


def _identity_cores(shape: tuple[int, ...]) -> list[np.ndarray]:
    """The cores of the skipped leading steps (:func:`_leading_full_steps`)."""
    cores, left = [], 1
    for n in shape:
        cores.append(np.eye(left * n).reshape(left, n, left * n))
        left *= n
    return cores


# ---------------------------------------------------------------------------- TT-SVD
@deprecated_arguments(renamed={"svd": "method"}, positional=("eps", "svd", "random_state"))
@streams_dask
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
        ``"exact"``: every step keeps the exact leading singular subspace (optimal per step).
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
        and is accurate to about ``1e-7``), ``ranks``, ``norm`` (``||X||_F``) and
        ``step_errors`` (the discarded norm of each of the ``d - 1`` steps; ``0`` for a
        leading step skipped because its rank cap is the full row count). An all-zero ``x``
        gives exact zeros with ``rel_error = 0``, ``norm = 0`` and, unless ``ranks`` are given,
        all ranks 1.

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
    method = check_option(method, "method", ("exact", "randomized"))
    x, checked = _as_tensor(x)
    shape, d = x.shape, x.ndim
    caps = tt_rank_caps(ranks, shape)
    if method == "randomized" and ranks is None:
        raise ValueError("method='randomized' needs ranks (the sketch width); got ranks=None")
    if eps is None and ranks is None:
        eps = 0.0  # exact up to rounding: drop only numerically zero directions
    if method == "randomized":
        step, start = _randomized_step(check_random_state(random_state)), 0
    else:
        step = leading_subspace
        start = _leading_full_steps(shape, caps) if eps is None else 0

    # Algorithm 1: C = X; for k: C = reshape(C, (r_{k-1} n_k, -1)), truncate, G_k = U, C = U^T C
    cores = _identity_cores(shape[:start])
    r_prev = int(np.prod(shape[:start], dtype=np.int64))
    c = x.reshape(r_prev * shape[start], -1)
    gram_matrix = _first_gram(c, checked)
    norm = float(np.sqrt(np.trace(gram_matrix) if gram_matrix is not None else np.vdot(x, x)))
    delta = error_budget(eps, norm, d - 1)
    tails, exact = [0.0] * start, True  # a skipped leading step discards nothing
    for k in range(start, d - 1):
        c = c.reshape(r_prev * shape[k], -1)
        next_rows = shape[k + 1] if k + 2 < d else None
        sub = step(c, caps[k], delta, gram_matrix=gram_matrix, next_rows=next_rows)
        cores.append(sub.u.reshape(r_prev, shape[k], -1))
        c, gram_matrix, r_prev = sub.b, sub.next_gram, sub.u.shape[1]
        tails.append(sub.tail_sq)
        exact &= sub.exact
    cores.append(np.ascontiguousarray(c).reshape(r_prev, shape[-1], 1))

    tt = TTTensor(cores, copy=False)
    tt.info = {
        "rel_error": float(np.sqrt(sum(tails)) / norm) if norm > 0 else 0.0,
        "error_exact": bool(exact),
        "ranks": tt.ranks,
        "norm": norm,
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
        With the ``info`` of :func:`tt_svd` (an all-zero ``w`` gives exact zeros, ranks 1).

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
        raise ValueError(f"in_modes {in_modes} and out_modes {out_modes} must have the same length")
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
