"""Tucker decompositions: truncated HOSVD, HOOI and Tucker-2 (survey Sec. II-A.2).

``X ≈ G ×_0 U_0 ×_1 U_1 ··· ×_{d-1} U_{d-1}`` with orthonormal ``U_n`` (``I_n x R_n``) and core
``G = X ×_0 U_0^T ··· ×_{d-1} U_{d-1}^T``. With orthonormal factors the error is
``||X - X̂||^2 = ||X||^2 - ||G||^2``, so minimizing the error means maximizing ``||G||``.

* :func:`hosvd`: ``U_n`` = leading left singular vectors of the unfolding ``X_(n)``
  (De Lathauwer, De Moor & Vandewalle 2000). Guarantee:
  ``||X - X̂||^2 <= sum_n sum_{i > R_n} σ_i(X_(n))^2``.
* :func:`tucker_hooi`: higher-order orthogonal iteration. ``U_n`` <- leading left singular
  subspace of ``Y_(n)``, ``Y = X ×_{k≠n} U_k^T``. Each update maximizes ``||G||`` over ``U_n``,
  so the error never increases; started from HOSVD it is never worse than HOSVD.
* :func:`tucker2`: HOOI on the two channel modes of a convolution kernel ``(S, C, H, W)``
  (Kim et al. 2016), the spatial modes left uncompressed.
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
    check_int,
    check_option,
    check_random_state,
    check_ranks,
    check_tol,
    scale_equivariant,
)
from ..algebra import gram, unfold
from ..algebra.truncation import error_budget, leading_eigenvectors, leading_subspace
from ..formats.tucker import TuckerTensor, project
from ._engines import streams_dask
from .als import als, relative_error

__all__ = ["hosvd", "tucker_hooi", "tucker2"]


# --------------------------------------------------------------------------- subspaces
def _gram(y: np.ndarray, mode: int) -> np.ndarray:
    """``Y_(n) Y_(n)^T``: :func:`~tensornet.algebra.gram` on the copy-free mode-0 unfolding,
    else by contracting every other axis."""
    if mode == 0 and y.flags.c_contiguous:
        return gram(y.reshape(y.shape[0], -1))
    others = [k for k in range(y.ndim) if k != mode]
    return np.tensordot(y, y, axes=(others, others))


def _leading_subspace(y: np.ndarray, mode: int, rank: int) -> np.ndarray:
    """Orthonormal basis of the leading ``rank``-dim left singular subspace of ``Y_(n)``."""
    size = y.shape[mode]
    other = y.size // size
    if rank >= size:
        return np.eye(size, dtype=y.dtype)
    if other < size:  # tall unfolding: thin SVD (completed to ``rank`` columns if needed)
        u, _, _ = scipy.linalg.svd(unfold(y, mode), full_matrices=rank > other, check_finite=False)
        return np.ascontiguousarray(u[:, :rank])
    return leading_eigenvectors(_gram(y, mode), rank)[1]


def _power_step(y: np.ndarray, mode: int, u: np.ndarray) -> np.ndarray:
    """One block power step ``orth(Y_(n) Y_(n)^T U)`` warm-started from the current ``U``.

    For the PSD matrix ``M = Y_(n) Y_(n)^T`` and orthonormal ``U``, ``Q = orth(M U)`` satisfies
    ``tr(Q^T M Q) >= tr(U^T M U)``, i.e. the core norm never decreases, and the fixed points
    are invariant subspaces of ``M``. It converges at the rate ``(σ_{R+1}/σ_R)^2`` per step.
    """
    if u.shape[1] >= u.shape[0]:
        return u
    q, _ = scipy.linalg.qr(_gram(y, mode) @ u, mode="economic", check_finite=False)
    return q


# --------------------------------------------------------------------------- checks
def _check_tucker_ranks(ranks: Any, shape: tuple[int, ...], name: str = "ranks") -> tuple:
    out = check_ranks(ranks, len(shape), name)
    for k, (r, n) in enumerate(zip(out, shape, strict=True)):
        if r > n:
            raise ValueError(
                f"{name}[{k}]={r} exceeds the size {n} of mode {k} (shape {shape}): a Tucker "
                "factor cannot have more orthonormal columns than rows"
            )
    return out


def _accurate_error(
    x: np.ndarray, norm_x_sq: float, core: np.ndarray, factors: Sequence[np.ndarray | None]
) -> float:
    """``sqrt(||X||^2 - ||G||^2) / ||X||`` (orthonormal factors), from the dense residual
    where that formula has lost its digits."""

    def dense() -> float:
        residual = x - TuckerTensor(core, factors)._full()
        return float(np.linalg.norm(residual) / np.sqrt(norm_x_sq))

    return relative_error(norm_x_sq - float(np.vdot(core, core)), norm_x_sq, dense)


# --------------------------------------------------------------------------- HOSVD
@deprecated_arguments(positional=("eps",))
@streams_dask
@scale_equivariant
def hosvd(
    x: np.ndarray, ranks: int | Sequence[int] | None = None, *, eps: float | None = None
) -> TuckerTensor:
    r"""Truncated higher-order SVD (survey Sec. II-A.2; De Lathauwer et al. 2000).

    ``U_n`` holds the leading left singular vectors of ``X_(n)`` and ``G = X ×_n U_n^T``. Each
    ``U_n`` comes from :func:`~tensornet.algebra.truncation.leading_subspace`, so the rank is
    chosen from exact tails down to ``eps ≈ 1e-14``.

    Parameters
    ----------
    x : array_like, shape (I_0, ..., I_{d-1})
        The tensor (finite; at least 1-D).
    ranks : int or sequence of int, optional
        Upper bounds on the multilinear ranks (one per mode, or one for all); ``ranks[n]`` may
        not exceed ``I_n``. Without ``ranks`` and ``eps`` the full (exact) HOSVD is returned.
    eps : float, optional
        Relative error bound in ``[0, 1)``. The budget is split evenly: mode ``n`` keeps the
        smallest ``R_n`` with ``sqrt(sum_{i>R_n} σ_i(X_(n))^2) <= eps ||X|| / sqrt(d)``, so
        that ``||X - X̂|| <= eps ||X||``. ``ranks``, if given, caps these (the bound may then
        not hold; the achieved error is in ``info``). ``eps=0`` drops only numerically zero
        directions (as :func:`~tensornet.decompositions.tt_svd` does).

    Returns
    -------
    TuckerTensor
        Orthonormal factors. ``info`` holds ``rel_error`` (from ``||X||^2 - ||G||^2``, or from
        the dense residual below ``1e-6``),
        ``error_bound`` (the relative bound ``sqrt(sum_n sum_{i>R_n} σ_i^2) / ||X||``) and
        ``singular_values`` (every mode's singular values as computed: all of them, except for
        a mode whose rank cap alone decided through its Gram matrix, where only the leading
        ``R_n``). An all-zero ``x`` gives an exact zero core with ``rel_error = 0`` and
        ``error_bound = 0`` (ranks 1 where ``eps`` chooses them).

    Notes
    -----
    Guarantee:

    $$
    \lVert X - \hat{X} \rVert_F^2 \le \sum_n \sum_{i > R_n} \sigma_i(X_{(n)})^2
    \le d \, \lVert X - X_{\mathrm{best}} \rVert_F^2 .
    $$

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).standard_normal((4, 5, 6))
    >>> t = hosvd(x)  # full multilinear rank: exact
    >>> bool(np.allclose(t.full(), x))
    True
    """
    x = check_array(x, "x", min_ndim=1)
    caps = None if ranks is None else _check_tucker_ranks(ranks, x.shape)
    eps = check_eps(eps)
    x = np.ascontiguousarray(x, dtype=np.float64)
    norm_x = float(np.linalg.norm(x))
    delta = error_budget(eps, norm_x, x.ndim)
    factors, spectra, discarded_sq = [], [], 0.0
    for n in range(x.ndim):
        sub = leading_subspace(unfold(x, n), None if caps is None else caps[n], delta)
        factors.append(sub.u)
        spectra.append(sub.s)
        discarded_sq += sub.tail_sq
    core = project(x, factors)
    out = TuckerTensor(core, factors)
    out.info = {
        "rel_error": _accurate_error(x, norm_x**2, core, factors),
        "error_bound": np.sqrt(discarded_sq) / norm_x if norm_x else 0.0,
        "singular_values": spectra,
    }
    return out


# --------------------------------------------------------------------------- HOOI
def _hooi_sweep(
    x: np.ndarray,
    factors: list[np.ndarray | None],
    active: list[int],
    ranks: dict[int, int],
    solver: str,
) -> np.ndarray:
    """One HOOI sweep over the ``active`` modes; returns the new core.

    The active modes are split into halves. One projection of ``X`` onto the second half's
    factors serves every mode of the first half, and one projection onto the (updated) first
    half's factors serves the second half: two passes over ``X`` per sweep.
    """
    half = max(len(active) // 2, 1)
    groups = [active[:half], active[half:]]
    core = None
    for g, group in enumerate(groups):
        if not group:
            continue
        other = groups[1 - g]
        partial = project(x, [factors[k] if k in other else None for k in range(x.ndim)])
        for n in group:
            y = project(
                partial, [factors[k] if k in group and k != n else None for k in range(x.ndim)]
            )
            if solver == "power" and factors[n] is not None:
                factors[n] = _power_step(y, n, factors[n])
            else:
                factors[n] = _leading_subspace(y, n, ranks[n])
            core = project(y, [factors[n] if k == n else None for k in range(x.ndim)])
    assert core is not None
    return core


def _hooi(
    x: np.ndarray,
    ranks: dict[int, int],
    factors: list[np.ndarray | None],
    n_iter_max: int,
    tol: float,
    solver: str,
) -> TuckerTensor:
    """HOOI over the modes in ``ranks`` from the given factors; keeps the best iterate."""
    active = sorted(ranks)
    norm_x_sq = float(np.vdot(x, x))

    def sweep(state: tuple) -> tuple[tuple, float]:
        new = list(state[1])
        core = _hooi_sweep(x, new, active, ranks, solver)
        return (core, new), _accurate_error(x, norm_x_sq, core, new)

    run = als(lambda i: (None, factors), sweep, n_iter_max=n_iter_max, tol=tol, keep_best=True)
    out = TuckerTensor(*run.state)
    info = run.info()
    del info["restart_errors"]  # HOOI has a single, deterministic start
    out.info = info
    return out


def _random_orthonormal(n: int, r: int, rng: np.random.Generator) -> np.ndarray:
    q, _ = np.linalg.qr(rng.standard_normal((n, r)))
    return q


def _initial_factors(
    x: np.ndarray,
    ranks: dict[int, int],
    init: str | TuckerTensor,
    rng: np.random.Generator,
) -> list[np.ndarray | None]:
    """Starting factors for the active modes (``None`` elsewhere).

    The first active mode is updated first, so its HOSVD factor is not computed (``None``): its
    first update is exact (whatever the solver), given the other HOSVD factors, so it is
    already at least as good as HOSVD.
    """
    factors: list[np.ndarray | None] = [None] * x.ndim
    active = sorted(ranks)
    for i, n in enumerate(active):
        if isinstance(init, TuckerTensor):
            q, _ = np.linalg.qr(init.factor(n))
            factors[n] = q
        elif init == "random":
            factors[n] = _random_orthonormal(x.shape[n], ranks[n], rng)
        elif i > 0:
            factors[n] = _leading_subspace(x, n, ranks[n])
    return factors


@deprecated_arguments(
    renamed={"solver": "method"},
    positional=("n_iter_max", "tol", "init", "solver", "random_state"),
)
@streams_dask
@scale_equivariant
def tucker_hooi(
    x: np.ndarray,
    ranks: int | Sequence[int],
    *,
    n_iter_max: int = 100,
    tol: float = 1e-8,
    init: str | TuckerTensor = "hosvd",
    method: str = "power",
    random_state: Any = None,
) -> TuckerTensor:
    """Tucker decomposition by higher-order orthogonal iteration (survey Sec. II-A.2).

    HOOI (De Lathauwer, De Moor & Vandewalle 2000b) maximizes ``||G||`` one factor at a time:
    ``U_n`` <- leading ``R_n``-dimensional left singular subspace of
    ``Y_(n) = (X ×_{k≠n} U_k^T)_(n)``.

    Parameters
    ----------
    x : array_like, shape (I_0, ..., I_{d-1}), d >= 2
        The tensor (finite).
    ranks : int or sequence of int
        Multilinear ranks, ``1 <= ranks[n] <= I_n``.
    n_iter_max : int
        Maximum number of sweeps (each updates every factor once), ``>= 1``.
    tol : float
        Stop when the relative error changes by less than ``tol`` between sweeps (``0`` runs
        all sweeps).
    init : {"hosvd", "random"} or TuckerTensor
        Starting factors: HOSVD (default), random orthonormal, or those of a given Tucker
        tensor (orthonormalized).
    method : {"power", "eigh"}
        How the leading subspace of ``Y_(n)`` is updated: ``"eigh"`` computes it exactly from
        the eigendecomposition of the Gram matrix ``Y_(n) Y_(n)^T``; ``"power"`` (default)
        takes one block power step ``orth(Y_(n) Y_(n)^T U_n)`` from the current ``U_n``, which
        also never decreases ``||G||``, has the same fixed points from a HOSVD start, and costs
        ``O(I_n^2 R)`` instead of ``O(I_n^3)``.
    random_state : None, int or numpy.random.Generator
        Seed for ``init="random"``.

    Returns
    -------
    TuckerTensor
        Orthonormal factors and the core ``G = X ×_n U_n^T`` of the best sweep. ``info``
        holds ``rel_error`` (``sqrt(||X||^2 - ||G||^2)/||X||``, from the dense residual below
        ``1e-6``), ``history``,
        ``n_iter`` and ``converged``. An all-zero ``x`` gives a zero core with
        ``rel_error = 0``.

    Notes
    -----
    Guarantee: the error history never increases, and from ``init="hosvd"`` the result is
    never worse than :func:`hosvd` with the same ranks (the best sweep is returned). Each sweep
    makes two passes over ``X`` (the projections are shared between modes, contracting the
    modes that shrink most first).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).standard_normal((6, 7, 8))
    >>> t = tucker_hooi(x, (2, 3, 4))
    >>> t.ranks
    (2, 3, 4)
    """
    x = check_array(x, "x", min_ndim=2)
    ranks_t = _check_tucker_ranks(ranks, x.shape)
    return _tucker_partial(x, dict(enumerate(ranks_t)), n_iter_max, tol, init, method, random_state)


def _tucker_partial(
    x: np.ndarray,
    ranks: dict[int, int],
    n_iter_max: Any,
    tol: Any,
    init: Any,
    solver: Any,
    random_state: Any,
) -> TuckerTensor:
    """Validate the iteration options and run HOOI on the modes in ``ranks``."""
    n_iter_max = check_int(n_iter_max, "n_iter_max", minimum=1)
    tol = check_tol(tol)
    if isinstance(init, TuckerTensor):
        if init.shape != x.shape:
            raise ValueError(f"init has shape {init.shape}, expected {x.shape}")
        if any(init.ranks[n] != r for n, r in ranks.items()):
            raise ValueError(f"init has ranks {init.ranks}, expected {ranks} on those modes")
    else:
        init = check_option(init, "init", ("hosvd", "random"))
    solver = check_option(solver, "method", ("power", "eigh"))
    rng = check_random_state(random_state)
    factors = _initial_factors(x, ranks, init, rng)
    return _hooi(x, ranks, factors, n_iter_max, tol, solver)


@deprecated_arguments(renamed={"solver": "method"}, positional=("n_iter_max", "tol", "solver"))
@scale_equivariant
def tucker2(
    kernel: np.ndarray,
    ranks: int | Sequence[int],
    *,
    n_iter_max: int = 100,
    tol: float = 1e-8,
    method: str = "power",
) -> TuckerTensor:
    """Tucker-2 of a convolution kernel: compress the two channel modes only (Kim et al. 2016).

    ``K ≈ G ×_0 U_out ×_1 U_in`` for ``K`` of shape ``(S, C, H, W)`` (output channels, input
    channels, kernel height, width), with ``G`` of shape ``(R_out, R_in, H, W)``. The layer
    then becomes a 1x1 convolution ``C -> R_in``, an ``H x W`` convolution ``R_in -> R_out``
    and a 1x1 convolution ``R_out -> S``. Computed by HOOI on modes 0 and 1 from HOSVD, so it
    is the Tucker decomposition with identity factors on modes 2 and 3.

    Parameters
    ----------
    kernel : array_like, shape (S, C, H, W)
        The convolution kernel.
    ranks : int or (int, int)
        ``(R_out, R_in)`` with ``R_out <= S`` and ``R_in <= C`` (an int is used for both).
    n_iter_max : int
        Maximum number of HOOI sweeps.
    tol : float
        Stopping tolerance on the relative error change.
    method : {"power", "eigh"}
        Subspace update, as in :func:`tucker_hooi`.

    Returns
    -------
    TuckerTensor
        Factors ``[U_out, U_in, None, None]`` (``None`` = identity, not stored) and core
        ``(R_out, R_in, H, W)``; ``n_params = S R_out + C R_in + R_out R_in H W``. ``info``
        as :func:`tucker_hooi`'s (an all-zero kernel gives a zero core, ``rel_error = 0``).

    Examples
    --------
    >>> import numpy as np
    >>> k = np.random.default_rng(0).standard_normal((8, 6, 3, 3))
    >>> tucker2(k, (4, 3)).ranks
    (4, 3, 3, 3)
    """
    kernel = check_array(kernel, "kernel", ndim=4)
    r_out, r_in = _check_tucker_ranks(ranks, kernel.shape[:2])
    return _tucker_partial(kernel, {0: r_out, 1: r_in}, n_iter_max, tol, "hosvd", method, None)
