"""The alternating-least-squares loop shared by every ALS solver (Kolda & Bader 2009, Sec. 3.4).

An ALS solver (:func:`~tensornet.decompositions.cp_als`, :func:`~tensornet.decompositions.btd_als`,
:func:`~tensornet.decompositions.tr_als`, :func:`~tensornet.decompositions.str_als` through
TR-ALS, :func:`~tensornet.decompositions.tucker_hooi`) supplies two functions: a *start*, which
returns the initial state of restart ``i``, and a *sweep*, which updates every block once and
returns the new state with its relative error ``||X - X̂|| / ||X||``. This module owns what the
solvers have in common:

* the restarts: ``n_restarts`` runs, the one with the smallest final error is kept (the first
  on a tie);
* the stopping rule, one definition for all: stop after the sweep that changes the relative
  error by less than ``tol`` in absolute value, ``|e_{k-1} - e_k| < tol``, so ``tol = 0`` runs
  every sweep;
* the error history (the relative error after every sweep) and the ``info`` report;
* the error near an exact fit: the cheap formulas of the solvers cancel ``||X||^2`` terms and
  lose their digits there, so below a threshold the dense residual is used instead;
* the least-squares solve of a numerically singular normal-equation system (a rank above what
  the other blocks can span makes it singular): the minimum-norm solution through the
  pseudo-inverse, which still minimizes the error over the block, so the error history stays
  monotone up to round-off.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.linalg

__all__ = [
    "ALSResult",
    "als",
    "has_converged",
    "relative_error",
    "pinv_solve",
    "EXACT_ERROR_BELOW",
    "MIN_RCOND",
]

#: Below this relative error a formula that cancels ``||X||^2`` terms has lost its digits, and
#: the norm of the dense residual is used instead.
EXACT_ERROR_BELOW = 1e-6
#: Reciprocal condition number of a normal-equation matrix below which its LU or Cholesky
#: solve is replaced by :func:`pinv_solve` (round-off in the near-null directions would be
#: amplified by more than ``1e10`` into the block).
MIN_RCOND = 1e-10


def has_converged(history: list[float], tol: float) -> bool:
    """The stopping rule: the last sweep changed the relative error by less than ``tol``.

    Parameters
    ----------
    history : list of float
        Relative error after every sweep so far.
    tol : float
        Tolerance ``>= 0`` on ``|e_{k-1} - e_k|`` (``0`` never stops).

    Returns
    -------
    bool
    """
    return len(history) > 1 and abs(history[-2] - history[-1]) < tol


def relative_error(
    residual_sq: float,
    norm_x_sq: float,
    exact: Callable[[], float],
    scale_sq: float | None = None,
    below: float = EXACT_ERROR_BELOW,
) -> float:
    """``sqrt(residual_sq / ||X||^2)``, or ``exact()`` where that formula has lost its digits.

    A cheap formula for ``||X - X̂||^2`` adds terms as large as ``scale_sq`` (at least
    ``||X||^2``) that cancel; its absolute round-off is a few ulps of ``scale_sq``. Below
    ``below^2 scale_sq`` (about ``1e4`` ulps for the default) it is replaced by ``exact()``.

    Parameters
    ----------
    residual_sq : float
        ``||X - X̂||^2`` from a cheap formula (clipped at 0: cancellation can make it negative).
    norm_x_sq : float
        ``||X||^2``; for ``0`` the error is ``0``.
    exact : callable
        Returns the relative error from the dense residual; called only when needed.
    scale_sq : float, optional
        Magnitude of the largest cancelling term (default ``||X||^2``).
    below : float
        Relative threshold (see above).

    Returns
    -------
    float
    """
    if norm_x_sq == 0.0:
        return 0.0
    scale_sq = norm_x_sq if scale_sq is None else max(scale_sq, norm_x_sq)
    err = float(np.sqrt(max(residual_sq, 0.0) / norm_x_sq))
    if err < below or residual_sq < below * below * scale_sq:
        return float(exact())
    return err


def pinv_solve(gram: np.ndarray, rhs: np.ndarray, inner: int = 0) -> np.ndarray:
    """``gram^+ rhs`` for a symmetric PSD ``gram``, dropping eigenvalues below
    ``(n + inner) eps lambda_max``.

    For normal equations ``gram = Z Z^T``, ``rhs = Z y`` this is the minimum-norm least-squares
    solution: it minimizes ``||y - Z^T w||`` like any exact solution, and stays bounded. The
    entries of a computed Gram matrix carry errors of about ``m eps ||Z||^2`` for an inner
    dimension ``m``, and its eigendecomposition adds ``n eps lambda_max``: eigenvalues below
    that are round-off, not directions of ``Z``.

    Parameters
    ----------
    gram : numpy.ndarray, shape (n, n)
        Symmetric positive semi-definite matrix.
    rhs : numpy.ndarray, shape (n,) or (n, k)
        Right-hand side(s).
    inner : int
        The inner dimension ``m`` of the products that formed ``gram`` (``0`` if exact).

    Returns
    -------
    numpy.ndarray
        Same shape as ``rhs``.
    """
    evals, evecs = scipy.linalg.eigh(gram, check_finite=False)
    cutoff = (gram.shape[0] + inner) * np.finfo(float).eps * max(float(evals[-1]), 0.0)
    keep = evals > cutoff
    q = evecs[:, keep]
    coef = q.T @ rhs
    coef = coef / (evals[keep] if coef.ndim == 1 else evals[keep][:, None])
    return q @ coef


@dataclass
class ALSResult:
    """The kept run of :func:`als`.

    Attributes
    ----------
    state : object
        The solver's state after the returned sweep.
    rel_error : float
        Its relative error.
    history : list of float
        Relative error after every sweep of that run.
    converged : bool
        Whether the stopping rule ended the run (rather than ``n_iter_max``).
    restart_errors : list of float
        Final error of every run, in order.
    """

    state: Any
    rel_error: float
    history: list[float]
    converged: bool
    restart_errors: list[float] = field(default_factory=list)

    def info(self) -> dict[str, Any]:
        """The common part of a solver's ``info``: ``rel_error``, ``history``, ``n_iter``,
        ``converged`` and ``restart_errors``."""
        return {
            "rel_error": self.rel_error,
            "history": self.history,
            "n_iter": len(self.history),
            "converged": self.converged,
            "restart_errors": self.restart_errors,
        }


def _run(
    state: Any,
    sweep: Callable[[Any], tuple[Any, float]],
    n_iter_max: int,
    tol: float,
    keep_best: bool,
) -> ALSResult:
    """Sweeps from ``state`` until the stopping rule or ``n_iter_max``."""
    history: list[float] = []
    best_state, best_err = state, np.inf
    converged = False
    for _ in range(n_iter_max):
        state, err = sweep(state)
        history.append(float(err))
        if keep_best and err <= best_err:
            best_state, best_err = state, float(err)
        if has_converged(history, tol):
            converged = True
            break
    if not keep_best:
        best_state, best_err = state, history[-1]
    return ALSResult(best_state, best_err, history, converged)


def als(
    start: Callable[[int], Any],
    sweep: Callable[[Any], tuple[Any, float]],
    *,
    n_iter_max: int,
    tol: float,
    n_restarts: int = 1,
    keep_best: bool = False,
) -> ALSResult:
    """Run ALS from ``n_restarts`` starts and keep the run with the smallest error.

    Parameters
    ----------
    start : callable
        ``start(i)`` returns the initial state of restart ``i`` (called just before that run,
        so random starts draw from the generator in run order).
    sweep : callable
        ``sweep(state)`` updates every block once and returns ``(state, rel_error)``. It may
        update ``state`` in place unless ``keep_best`` is set, which keeps references to
        earlier states.
    n_iter_max : int
        Largest number of sweeps per run, ``>= 1``.
    tol : float
        Stopping tolerance of :func:`has_converged`.
    n_restarts : int
        Number of runs.
    keep_best : bool
        Return the state of the best sweep of a run instead of the last one (for solvers whose
        monotone descent holds only up to a round-off they cannot bound).

    Returns
    -------
    ALSResult
    """
    best: ALSResult | None = None
    restart_errors: list[float] = []
    for i in range(n_restarts):
        run = _run(start(i), sweep, n_iter_max, tol, keep_best)
        restart_errors.append(run.rel_error)
        if best is None or run.rel_error < best.rel_error:
            best = run
    assert best is not None
    best.restart_errors = restart_errors
    return best
