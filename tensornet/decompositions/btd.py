"""Block term decomposition in multilinear rank-``(L_r, M_r, N_r, ...)`` terms by ALS.

Survey Sec. II-A.4, eq. 5: ``X ≈ sum_{r=1}^{R} G_r ×_0 A_r^(0) ×_1 A_r^(1) ··· ×_{d-1} A_r^(d-1)``
(De Lathauwer 2008). The ALS follows De Lathauwer & Nion (2008):

1. For every mode ``n``: the factor block ``A^(n) = [A_1^(n) ... A_R^(n)]`` solves the linear
   least-squares problem ``X_(n) ≈ A^(n) Z`` with ``Z`` the stacked ``(G_r ×_{k≠n} A_r^(k))_(n)``,
   through its normal equations ``A^(n) = X_(n) Z^T (Z Z^T)^{-1}``. Then each block is
   orthonormalized by a thin QR,
   ``A_r^(n) = Q_r R_r``, keeping ``Q_r`` and absorbing ``R_r`` into the core,
   ``G_r <- G_r ×_n R_r`` (the model is unchanged).
2. All cores are solved jointly: ``vec(X) ≈ sum_r (A_r^(0) ⊗ ··· ⊗ A_r^(d-1)) vec(G_r)``, whose
   normal equations have blocks ``⊗_k A_r^(k)T A_s^(k)`` and right-hand sides
   ``vec(X ×_k A_r^(k)T)``. With a single term the Gram matrix is the Kronecker product
   ``⊗_k A^(k)T A^(k)`` and is solved mode by mode (:func:`_solve_one_term`) instead of being
   formed: ``d`` solves of size ``L_k`` rather than one of size ``prod_k L_k``.

Every step minimizes the error over its block, so the error never increases.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import scipy.linalg

from .._deprecation import deprecated_arguments
from .._validation import (
    check_array,
    check_int,
    check_random_state,
    check_rank,
    check_tol,
    scale_equivariant,
)
from ..algebra import kron, unfold
from ..formats.btd import BTDTensor
from ..formats.tucker import TuckerTensor, _mode_project, project
from .als import ALSResult, als, pinv_solve, relative_error

__all__ = ["btd_als"]

_potrf, _pocon = scipy.linalg.lapack.get_lapack_funcs(("potrf", "pocon"), dtype=np.float64)

#: Reciprocal condition number of the normal equations below which Cholesky (whose solution
#: loses about ``eps / rcond`` relative) gives way to a least-squares solve; higher than the
#: driver's ``MIN_RCOND`` because here the fallback is usually the SVD solve on ``Z`` itself.
MIN_RCOND_BTD = 1e-8
#: Largest design matrix of the joint core problem (entries) that an ill-conditioned core solve
#: forms for an SVD least-squares solve; larger ones use the pseudo-inverse of the normal
#: equations instead (32 MiB in float64).
DIRECT_MAX_ENTRIES = 2**22


# --------------------------------------------------------------------------- checks
def _check_term_ranks(term_ranks: Any, n_terms: int, shape: tuple[int, ...]) -> list[tuple]:
    """``term_ranks`` as one tuple of ``len(shape)`` ranks per term."""
    d = len(shape)
    if isinstance(term_ranks, (str, bytes)):
        raise TypeError(f"term_ranks must be an int or a sequence of ints, got {term_ranks!r}")
    if isinstance(term_ranks, (int, np.integer)) and not isinstance(term_ranks, bool):
        per_term = [(check_rank(term_ranks, "term_ranks"),) * d] * n_terms
    elif (
        isinstance(term_ranks, Sequence)
        and term_ranks
        and all(isinstance(t, Sequence) for t in term_ranks)
    ):
        if len(term_ranks) != n_terms:
            raise ValueError(
                f"term_ranks has {len(term_ranks)} entries, expected one per term ({n_terms})"
            )
        per_term = [tuple(t) for t in term_ranks]
    elif isinstance(term_ranks, Sequence):
        per_term = [tuple(term_ranks)] * n_terms
    else:
        raise TypeError(
            "term_ranks must be an int, a sequence of ints (one per mode) or a sequence of such "
            f"sequences (one per term), got {term_ranks!r}"
        )
    out = []
    for r, ranks in enumerate(per_term):
        if len(ranks) != d:
            raise ValueError(f"term_ranks[{r}]={ranks} must have one rank per mode ({d})")
        checked = tuple(check_rank(v, f"term_ranks[{r}][{k}]") for k, v in enumerate(ranks))
        for k, (v, n) in enumerate(zip(checked, shape, strict=True)):
            if v > n:
                raise ValueError(
                    f"term_ranks[{r}][{k}]={v} exceeds the size {n} of mode {k} (shape {shape})"
                )
        out.append(checked)
    return out


def _check_core_size(ranks: list[tuple], shape: tuple[int, ...]) -> None:
    """Refuse terms with more core entries in all than ``X`` has entries: the joint core
    problem would have more unknowns than equations (and its Gram matrix ``(sum_r prod L_r)^2``
    entries). ``n_terms`` itself is bounded by ``X.size`` before the per-term ranks are built."""
    total = sum(math.prod(r) for r in ranks)
    size = math.prod(shape)
    if total > size:
        raise ValueError(
            f"term_ranks={ranks[0] if len(set(ranks)) == 1 else ranks} give {total} core "
            f"entries in all, more than the {size} entries of x (shape {shape})"
        )


# --------------------------------------------------------------------------- linear algebra
def _solve_psd(
    gram: np.ndarray, rhs: np.ndarray, inner: int, direct: Callable[[], np.ndarray] | None = None
) -> np.ndarray:
    """``gram^{-1} rhs`` for the normal equations ``gram = Z Z^T``, ``rhs = Z y``: Cholesky when
    ``gram`` is well conditioned, else the minimum-norm least-squares solution.

    ``gram`` is singular when the blocks of a mode (``sum_r L_r`` columns) outnumber its size.
    The least-squares solution comes from ``direct()`` (an SVD solve on ``Z`` itself, accurate
    to ``eps cond(Z)`` where the normal equations give ``eps cond(Z)^2``) when the caller can
    afford it, else from :func:`.als.pinv_solve` (``inner`` is the inner dimension of ``Z Z^T``).
    """
    chol, info = _potrf(gram, lower=False, clean=False)
    if info == 0:
        rcond, _ = _pocon(chol, float(np.max(np.sum(np.abs(gram), axis=0))))
        if rcond > MIN_RCOND_BTD:
            return scipy.linalg.cho_solve((chol, False), rhs, check_finite=False)
    return direct() if direct is not None else pinv_solve(gram, rhs, inner)


def _project_terms(
    x: np.ndarray, factors: list[list[np.ndarray]], skip: int | None
) -> list[np.ndarray]:
    """``X ×_{k≠skip} A_r^(k)T`` for every term ``r``.

    The mode that shrinks most is contracted once with the concatenated blocks of all terms
    (one GEMM over ``X``); the remaining, smaller contractions are done per term.
    """
    modes = [k for k in range(x.ndim) if k != skip]
    if not modes:
        return [x for _ in factors]
    widths = {k: sum(f[k].shape[1] for f in factors) for k in modes}
    first = min(modes, key=lambda k: widths[k] / x.shape[k])
    y = _mode_project(x, np.hstack([f[first] for f in factors]), first)
    out, start = [], 0
    for f in factors:
        width = f[first].shape[1]
        block = np.take(y, np.arange(start, start + width), axis=first)
        start += width
        rest = [f[k] if k in modes and k != first else None for k in range(x.ndim)]
        out.append(project(block, rest))
    return out


def _contract(core: np.ndarray, mats: Sequence[np.ndarray | None]) -> np.ndarray:
    """``core ×_k M_k`` for every ``M_k`` that is not None."""
    out = core
    for k, m in enumerate(mats):
        if m is not None:
            out = np.moveaxis(np.tensordot(m, out, axes=([1], [k])), 0, k)
    return out


# --------------------------------------------------------------------------- ALS steps
def _update_factor(
    x_unfolded: np.ndarray, cores: list[np.ndarray], factors: list[list[np.ndarray]], n: int
) -> None:
    """Least-squares update of the mode-``n`` blocks, then QR per block into the cores.

    ``Z`` stacks the mode-``n`` unfoldings of ``G_r ×_{k≠n} A_r^(k)`` (``sum_r L_r`` rows); the
    blocks solve ``A^(n) (Z Z^T) = X_(n) Z^T``.
    """
    d = len(factors[0])
    z = np.vstack(
        [
            unfold(_contract(g, [None if k == n else f[k] for k in range(d)]), n)
            for g, f in zip(cores, factors, strict=True)
        ]
    )

    def direct() -> np.ndarray:
        return scipy.linalg.lstsq(z.T, x_unfolded.T, check_finite=False)[0]

    stacked = _solve_psd(z @ z.T, z @ x_unfolded.T, z.shape[1], direct).T
    start = 0
    for r, g in enumerate(cores):
        width = g.shape[n]
        q, upper = np.linalg.qr(stacked[:, start : start + width])
        start += width
        factors[r][n] = q
        cores[r] = np.moveaxis(np.tensordot(upper, g, axes=([1], [n])), 0, n)


def _update_cores(
    x: np.ndarray, cores: list[np.ndarray], factors: list[list[np.ndarray]], norm_x_sq: float
) -> tuple[float, float]:
    """Joint least-squares solve for all cores.

    Returns the squared error of the result from the normal equations, and the size of the
    terms that cancel in it, ``||X||^2 + |g|^T |gram| |g|`` (see :func:`.als.relative_error`).
    """
    n_terms = len(cores)
    projected = _project_terms(x, factors, skip=None)
    if n_terms == 1:
        solved = _solve_one_term(projected[0], factors[0], norm_x_sq)
        if solved is not None:
            cores[0], err_sq, scale_sq = solved
            return err_sq, scale_sq
    rhs = np.concatenate([p.ravel() for p in projected])
    blocks = [[None] * n_terms for _ in range(n_terms)]
    for r in range(n_terms):
        for s in range(r, n_terms):
            blocks[r][s] = kron(*[a.T @ b for a, b in zip(factors[r], factors[s], strict=True)])
            blocks[s][r] = blocks[r][s].T
    gram = np.block(blocks)

    def direct() -> np.ndarray:  # the design matrix [⊗_k A_1^(k) ... ⊗_k A_R^(k)]
        design = np.hstack([kron(*f) for f in factors])
        return scipy.linalg.lstsq(design, x.ravel(), check_finite=False)[0]

    small = x.size * gram.shape[0] <= DIRECT_MAX_ENTRIES
    g = _solve_psd(gram, rhs, sum(x.shape), direct if small else None)
    start = 0
    for r in range(n_terms):
        size = cores[r].size
        cores[r] = g[start : start + size].reshape(cores[r].shape)
        start += size
    err_sq = norm_x_sq - 2.0 * float(g @ rhs) + float(g @ gram @ g)
    return err_sq, norm_x_sq + float(np.abs(g) @ np.abs(gram) @ np.abs(g))


def _solve_one_term(
    rhs: np.ndarray, factors: list[np.ndarray], norm_x_sq: float
) -> tuple[np.ndarray, float, float] | None:
    """The core problem of a single term through its Kronecker structure, or None.

    With one term the Gram matrix is ``⊗_k M_k``, ``M_k = A^(k)T A^(k)``, so
    ``g = rhs ×_0 M_0^{-1} ×_1 M_1^{-1} ···``: ``d`` Cholesky factorizations of ``L_k x L_k``
    matrices and mode products, where the joint solve factors a ``prod_k L_k``-square matrix.
    The 1-norm condition number of a Kronecker product is the product of its factors', so the
    same test as :func:`_solve_psd` applies; when it fails, None hands the problem to the joint
    solve (and its least-squares fallback). Returns ``(core, err_sq, scale_sq)`` as
    :func:`_update_cores`.
    """
    grams = [a.T @ a for a in factors]
    rcond = 1.0
    g = rhs
    for k, m in enumerate(grams):
        chol, info = _potrf(m, lower=False, clean=False)
        if info != 0:
            return None
        rcond *= _pocon(chol, float(np.max(np.sum(np.abs(m), axis=0))))[0]
        solved = scipy.linalg.cho_solve((chol, False), unfold(g, k), check_finite=False)
        g = np.moveaxis(solved.reshape((m.shape[0],) + tuple(np.delete(g.shape, k))), 0, k)
    if rcond <= MIN_RCOND_BTD:
        return None
    model_dot = float(np.vdot(g, _contract(g, grams)))
    err_sq = norm_x_sq - 2.0 * float(np.vdot(g, rhs)) + model_dot
    scale_sq = norm_x_sq + float(
        np.vdot(np.abs(g), _contract(np.abs(g), [np.abs(m) for m in grams]))
    )
    return g, err_sq, scale_sq


def _fix_signs(basis: np.ndarray) -> np.ndarray:
    """Flip each column so its largest-magnitude entry is positive.

    An eigenvector's sign is arbitrary and follows rounding, so without this a perturbation at
    the last digit (or a rescaling of ``X``) could change the start and the local optimum ALS
    reaches.
    """
    rows = np.argmax(np.abs(basis), axis=0)
    signs = np.sign(basis[rows, np.arange(basis.shape[1])])
    signs[signs == 0] = 1.0
    return basis * signs


def _initial_factors(
    x: np.ndarray, ranks: list[tuple], rng: np.random.Generator
) -> list[list[np.ndarray]]:
    """Random orthonormal blocks inside the dominant mode subspaces of ``X``.

    Every block of mode ``k`` lies in the column space of ``X_(k)``, which has dimension at most
    ``W_k = sum_r L_r^(k)`` for an exact BTD. When ``W_k < I_k`` the blocks start as random
    orthonormal bases of random subspaces of the leading ``W_k`` left singular subspace of
    ``X_(k)`` (different for every start); otherwise of the whole space.
    """
    factors: list[list[np.ndarray]] = [[] for _ in ranks]
    for k in range(x.ndim):
        width = sum(r[k] for r in ranks)
        basis = None
        if width < x.shape[k]:
            xk = unfold(x, k)
            _, evecs = scipy.linalg.eigh(xk @ xk.T, check_finite=False)
            basis = _fix_signs(evecs[:, ::-1][:, :width])
        for r, rank in enumerate(ranks):
            if basis is None:
                block = rng.standard_normal((x.shape[k], rank[k]))
            else:
                block = basis @ rng.standard_normal((width, rank[k]))
            factors[r].append(np.linalg.qr(block)[0])
    return factors


def _fit(x: np.ndarray, ranks: list[tuple], rng: np.random.Generator, **options: Any) -> ALSResult:
    """BTD-ALS through the shared driver: a random start in the dominant subspaces (cores
    solved for it), and one sweep over the factor blocks, then the cores."""
    norm_x_sq = float(np.vdot(x, x))
    unfoldings = [unfold(x, n) for n in range(x.ndim)]

    def start(i: int) -> tuple[list[np.ndarray], list[list[np.ndarray]]]:
        factors = _initial_factors(x, ranks, rng)
        cores = [np.zeros(r) for r in ranks]
        _update_cores(x, cores, factors, norm_x_sq)
        return cores, factors

    def sweep(state: tuple) -> tuple[tuple, float]:
        cores, factors = state
        for n in range(x.ndim):
            _update_factor(unfoldings[n], cores, factors, n)
        err_sq, scale_sq = _update_cores(x, cores, factors, norm_x_sq)

        def dense() -> float:
            model = sum(TuckerTensor(g, f)._full() for g, f in zip(cores, factors, strict=True))
            return float(np.linalg.norm(x - model)) / np.sqrt(norm_x_sq)

        return state, relative_error(err_sq, norm_x_sq, dense, scale_sq)

    return als(start, sweep, **options)


# --------------------------------------------------------------------------- public API
@deprecated_arguments(positional=("n_iter_max", "tol", "n_restarts", "random_state"))
@scale_equivariant
def btd_als(
    x: np.ndarray,
    n_terms: int,
    term_ranks: int | Sequence[int] | Sequence[Sequence[int]],
    *,
    n_iter_max: int = 100,
    tol: float = 1e-8,
    n_restarts: int = 1,
    random_state: Any = None,
) -> BTDTensor:
    r"""Block term decomposition by ALS (survey Sec. II-A.4, eq. 5; De Lathauwer & Nion 2008).

    Parameters
    ----------
    x : array_like, shape (I_0, ..., I_{d-1}), d >= 2
        The tensor (finite, not all zero).
    n_terms : int
        Number of terms ``R >= 1``; all terms together may have at most as many core entries
        as ``x`` has entries (``sum_r prod_k L_r^(k) <= x.size``), more are refused.
    term_ranks : int, sequence of int, or sequence of sequences of int
        Multilinear rank of the terms: one int for every mode of every term, one rank per mode
        shared by all terms (e.g. ``(L, M, N)``), or one such tuple per term. Each rank must
        not exceed its mode size; the ranks of all terms together may (``sum_r L_r > I``: the
        factor problems are then singular and solved in the least-squares sense).
    n_iter_max : int
        Maximum number of ALS sweeps (all factor blocks, then the cores), ``>= 1``.
    tol : float
        Stop when the relative error changes by less than ``tol`` between two sweeps
        (``0`` runs all ``n_iter_max`` sweeps).
    n_restarts : int
        Number of random starts (random orthonormal blocks inside the leading
        ``sum_r L_r``-dimensional singular subspace of each unfolding); the best fit is
        returned.
    random_state : None, int or numpy.random.Generator
        Seed for the starts.

    Returns
    -------
    BTDTensor
        Terms with orthonormal factor blocks. ``info`` holds ``rel_error`` (from the normal
        equations of the last core solve; from the dense residual below ``1e-6``),
        ``history`` (non-increasing up to round-off), ``n_iter``, ``converged`` and
        ``restart_errors``.

    Notes
    -----
    The decomposition is essentially unique at best: terms can be permuted and each
    $A_r^{(n)}$ is defined up to an invertible $S$ ($A_r^{(n)} S$, $G_r \times_n S^{-1}$), so
    compare terms (or reconstructions), not factors. With all term ranks 1 the model is CP;
    with one term it is Tucker (HOOI's problem).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).standard_normal((6, 6, 6))
    >>> btd = btd_als(x, n_terms=2, term_ranks=(2, 2, 2), random_state=0)
    >>> btd.term_ranks
    ((2, 2, 2), (2, 2, 2))
    """
    x = check_array(x, "x", min_ndim=2, dtype=np.float64)
    n_terms = check_int(n_terms, "n_terms", minimum=1)
    if n_terms > x.size:
        raise ValueError(
            f"n_terms={n_terms} exceeds the {x.size} entries of x (shape {x.shape}): every term "
            "has at least one core entry"
        )
    ranks = _check_term_ranks(term_ranks, n_terms, x.shape)
    _check_core_size(ranks, x.shape)
    n_iter_max = check_int(n_iter_max, "n_iter_max", minimum=1)
    tol = check_tol(tol)
    n_restarts = check_int(n_restarts, "n_restarts", minimum=1)
    rng = check_random_state(random_state)
    if not np.any(x):
        raise ValueError("x is all zeros: its BTD is trivial and the relative error undefined")

    run = _fit(x, ranks, rng, n_iter_max=n_iter_max, tol=tol, n_restarts=n_restarts)
    cores, factors = run.state
    out = BTDTensor([TuckerTensor(g, f) for g, f in zip(cores, factors, strict=True)])
    out.info = run.info()
    return out
