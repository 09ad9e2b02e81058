"""CP decomposition by alternating least squares (survey Sec. II-A.3; Kolda & Bader 2009, Fig. 3.3).

For every mode ``n`` in turn CP-ALS solves the linear least-squares problem for ``A_n`` with the
other factors fixed:

``A_n <- X_(n) (⊙_{k≠n} A_k) V^{-1}``,  ``V = ⊛_{k≠n} A_k^T A_k``  (``R x R``),

i.e. an MTTKRP followed by a small ``R x R`` solve: LU with partial pivoting, or, when ``V`` is
numerically singular (``R`` above what the other factors span, e.g. above a mode size of a
matrix), the minimum-norm least-squares solution ``M V^+``, which keeps the update exact and
the columns bounded. The columns of the new ``A_n`` are normalized and their norms kept as
the weights, the survey's remedy for the scaling indeterminacy that makes CP unstable. Each
update minimizes the error over one block, so the error never increases.

The error is computed without forming the model, from the last MTTKRP ``M``:
``||X - X̂||^2 = ||X||^2 - 2 <X, X̂> + ||X̂||^2`` with ``<X, X̂> = sum_r w_r <a_r^(n), M_r>`` and
``||X̂||^2 = w^T (⊛_k A_k^T A_k) w``. Its round-off is a few ulps of its largest term, which
large weights make much larger than ``||X||^2``; where it cannot be trusted the dense residual
is used instead (:func:`.als.relative_error`). Restarts, the stopping rule and the history come
from the shared driver :mod:`tensornet.decompositions.als`.

Two MTTKRP schedules give the same iterates:

* ``method="dimtree"`` (default): the modes are split into a left part ``[0, h)``,
  ``h = d // 2``, and a right part ``[h, d)``. One GEMM ``X_mat · KR(right factors)`` yields a
  partial tensor from which the MTTKRPs of all left modes follow by small contractions; after
  the left factors are updated a second GEMM ``KR(left factors)^T · X_mat`` serves the right
  modes. That is two passes over
  ``X`` per sweep instead of ``d`` (a two-level dimension tree, Phan, Tichavský & Cichocki 2013).
* ``method="mttkrp"``: one call of :func:`tensornet.algebra.mttkrp` per mode, the textbook
  algorithm.

Quantized CP-ALS (``quantize=b``; Nekooei & Safari 2022): after every factor update the
normalized factor is rounded to a symmetric uniform grid of ``b`` bits,
``A_n <- s_n * clip(round(A_n / s_n), -q, q)`` with ``q = 2**(b-1) - 1`` and
``s_n = max|A_n| / q``, so the next updates fit the other factors to the quantized ones and
the returned factors are exactly representable by ``b``-bit codes. Rounding breaks the
monotone descent of ALS, so the sweep with the smallest error is kept.
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
    check_int,
    check_option,
    check_random_state,
    check_rank,
    check_tol,
    scale_equivariant,
    warn_at_caller,
)
from ..algebra import gram, khatri_rao, mttkrp, unfold
from ..formats.cp import CPTensor
from .als import MIN_RCOND, ALSResult, als, pinv_solve, relative_error

__all__ = ["cp_als", "CPDegeneracyWarning"]

#: ``max(weights) / ||X||`` above which a fit is reported as degenerate whatever the congruence.
DEGENERACY_RATIO = 1e3
#: ``max(weights) / ||X||`` above which cancelling components (congruence below
#: ``-DEGENERACY_CONGRUENCE``) are reported as degenerate.
CANCELLING_RATIO = 2.0
DEGENERACY_CONGRUENCE = 0.9
_getrf, _gecon, _getri = scipy.linalg.lapack.get_lapack_funcs(
    ("getrf", "gecon", "getri"), dtype=np.float64
)


class CPDegeneracyWarning(UserWarning):
    """A CP fit whose components grow far beyond ``||X||`` while cancelling each other."""


# --------------------------------------------------------------------------- helpers
def _svd_init_factor(x: np.ndarray, mode: int, rank: int, rng: np.random.Generator) -> np.ndarray:
    """Leading ``rank`` left singular vectors of ``X_(mode)`` (random columns beyond ``I_n``).

    Computed from the ``I_n x I_n`` Gram matrix ``X_(n) X_(n)^T`` by ``eigh``: only the leading
    subspace is needed, and the Gram matrix is far cheaper than the SVD of a wide unfolding.
    """
    xn = unfold(x, mode)
    if xn.shape[0] <= xn.shape[1]:
        evals, evecs = scipy.linalg.eigh(gram(xn), check_finite=False)
        basis = evecs[:, ::-1]
    else:
        basis, _, _ = scipy.linalg.svd(xn, full_matrices=False, check_finite=False)
    keep = min(rank, basis.shape[1])
    out = basis[:, :keep]
    if keep < rank:
        out = np.hstack([out, rng.standard_normal((x.shape[mode], rank - keep))])
    return np.ascontiguousarray(out)


def _initial_factors(
    x: np.ndarray, rank: int, init: str | CPTensor, rng: np.random.Generator
) -> list[np.ndarray]:
    """Starting factors: an SVD start, a Gaussian start, or a given CPTensor."""
    if isinstance(init, CPTensor):
        factors = [f.astype(np.float64, copy=True) for f in init.factors]
        factors[0] = factors[0] * init.weights
        return factors
    # Mode 0 is updated first, so its starting value is never used.
    factors = [rng.standard_normal((x.shape[0], rank))]
    for n in range(1, x.ndim):
        if init == "svd":
            factors.append(_svd_init_factor(x, n, rank, rng))
        else:
            factors.append(rng.standard_normal((x.shape[n], rank)))
    return factors


def _hadamard_except(grams: Sequence[np.ndarray], skip: int | None) -> np.ndarray:
    """``⊛_{k ≠ skip} G_k`` (all of them when ``skip`` is None)."""
    kept = [g for k, g in enumerate(grams) if k != skip]
    if not kept:
        return np.ones_like(grams[0])
    out = kept[0].copy()
    for g in kept[1:]:
        out *= g
    return out


def _solve_normal_equations(m: np.ndarray, v: np.ndarray, inner: int) -> np.ndarray:
    """``M V^+`` for the symmetric PSD ``V``: an LU solve when ``V`` is well conditioned, else a
    least-squares solve through the pseudo-inverse of ``V``.

    ``V`` is singular whenever ``R`` exceeds the rank the other factors can span (e.g. ``R``
    above a mode size of a matrix); LU then amplifies round-off into huge columns and the error
    jumps. The well-conditioned case inverts the ``R x R`` LU factors (``getri``) and multiplies:
    a triangular solve with ``I_n`` right-hand sides is threaded by OpenBLAS and pays a thread
    wake-up right after each large GEMM, a small GEMM is not (``benchmarks/bench_cp_tucker.py``).
    The condition estimate ``gecon`` costs ``O(R^2)``. ``inner``
    is the summed size of the modes whose Gram matrices formed ``V`` (see :func:`.als.pinv_solve`).
    """
    lu, piv, info = _getrf(v)
    if info == 0:
        rcond, _ = _gecon(lu, float(np.max(np.sum(np.abs(v), axis=0))))
        if rcond > MIN_RCOND:
            inverse, _ = _getri(lu, piv)
            return m @ inverse
    return pinv_solve(v, m.T, inner).T


def _normalize_columns(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit-norm columns and their norms (zero columns stay zero, with weight 0)."""
    norms = np.linalg.norm(a, axis=0)
    safe = np.where(norms > 0, norms, 1.0)
    return a / safe, norms


def _partial_mttkrp(t: np.ndarray, factors: Sequence[np.ndarray], keep: int) -> np.ndarray:
    """MTTKRP of group mode ``keep`` from a partial tensor ``t`` of shape ``(R, *group_dims)``.

    Every group axis except ``keep`` is contracted with its factor, the column index ``r`` (axis
    0) being shared: a batched matrix-vector product per axis. Returns ``(I_keep, R)``.
    """
    out = t
    for k in range(len(factors) - 1, -1, -1):
        if k == keep:
            continue
        moved = np.moveaxis(out, k + 1, -1)
        lead = moved.shape[:-1]
        flat = moved.reshape(lead[0], -1, moved.shape[-1])
        out = np.matmul(flat, factors[k].T[:, :, None]).reshape(lead)
    return np.ascontiguousarray(out.T)


class _ALSState:
    """Factors, their Gram matrices and the weights during one CP-ALS run."""

    def __init__(self, factors: list[np.ndarray]) -> None:
        self.factors = factors
        self.grams = [f.T @ f for f in factors]
        self.weights = np.ones(factors[0].shape[1])

    def update(self, mode: int, m: np.ndarray) -> None:
        """Least-squares update of factor ``mode`` from its MTTKRP ``m``, then normalization."""
        v = _hadamard_except(self.grams, mode)
        inner = sum(f.shape[0] for k, f in enumerate(self.factors) if k != mode)
        a, self.weights = _normalize_columns(_solve_normal_equations(m, v, inner))
        self.factors[mode] = a
        self.grams[mode] = a.T @ a

    def error_sq(self, norm_x_sq: float, m_last: np.ndarray) -> tuple[float, float]:
        """``||X - X̂||^2`` from the MTTKRP of the last mode, and the size of its terms.

        The second value, ``||X||^2 + |w|^T |⊛_k A_k^T A_k| |w|``, bounds the terms that cancel
        (large weights make the formula lose digits; see :func:`.als.relative_error`).
        """
        inner = float(np.sum(m_last * self.factors[-1], axis=0) @ self.weights)
        hadamard = _hadamard_except(self.grams, None)
        model_sq = float(self.weights @ hadamard @ self.weights)
        scale_sq = norm_x_sq + float(np.abs(self.weights) @ np.abs(hadamard) @ np.abs(self.weights))
        return norm_x_sq - 2.0 * inner + model_sq, scale_sq


def _quantize_symmetric(a: np.ndarray, bits: int) -> tuple[np.ndarray, float]:
    """``a`` rounded to the symmetric per-tensor grid ``s * {-q, ..., q}``, ``q = 2**(b-1) - 1``.

    The grid of :func:`tensornet.compress.quantize.quantize_affine` with ``symmetric=True``:
    ``s = max|a| / q`` (``1`` for an all-zero ``a``), every entry within ``s / 2`` of ``a``.

    Parameters
    ----------
    a : numpy.ndarray
        Finite array.
    bits : int
        Code width ``>= 2``.

    Returns
    -------
    quantized : numpy.ndarray
        ``s * codes`` with integer ``codes`` in ``[-q, q]``.
    scale : float
        ``s``.
    """
    q = 2 ** (bits - 1) - 1
    peak = float(np.max(np.abs(a))) if a.size else 0.0
    scale = peak / q if peak > 0 else 1.0
    return scale * np.clip(np.round(a / scale), -q, q), scale


class _QuantizedALSState(_ALSState):
    """CP-ALS state whose factors are re-quantized after every update (Nekooei & Safari 2022)."""

    def __init__(self, factors: list[np.ndarray], bits: int) -> None:
        super().__init__(factors)
        self.bits = bits
        self.scales = [1.0] * len(factors)

    def update(self, mode: int, m: np.ndarray) -> None:
        """Least-squares update and normalization of factor ``mode``, then its quantization."""
        super().update(mode, m)
        a, self.scales[mode] = _quantize_symmetric(self.factors[mode], self.bits)
        self.factors[mode] = a
        self.grams[mode] = a.T @ a

    def copy(self) -> _QuantizedALSState:
        """A new state sharing the (never mutated) arrays, so kept sweeps stay intact."""
        out = _QuantizedALSState.__new__(_QuantizedALSState)
        out.factors, out.grams = list(self.factors), list(self.grams)
        out.weights, out.bits, out.scales = self.weights, self.bits, list(self.scales)
        return out


def _sweep_dimtree(x_mat: np.ndarray, shape: tuple[int, ...], split: int, st: _ALSState):
    """One ALS sweep with two GEMM passes over ``X``; returns the last mode's MTTKRP.

    ``X_mat`` is ``X`` viewed as ``(I_0 ··· I_{h-1}) x (I_h ··· I_{d-1})``. The first pass
    ``X_mat · KR(right factors)`` serves the left modes, the second ``KR(left)^T · X_mat`` (with
    the updated left factors) the right modes; both are GEMMs whose small dimension is ``R``.
    """
    d, rank = len(shape), st.weights.shape[0]
    t_left = (khatri_rao(st.factors[split:]).T @ x_mat.T).T  # same product, faster in OpenBLAS
    if split == 1:
        st.update(0, t_left)
    else:
        t_left = t_left.T.reshape(rank, *shape[:split])
        for n in range(split):
            st.update(n, _partial_mttkrp(t_left, st.factors[:split], n))
    t_right = (khatri_rao(st.factors[:split]).T @ x_mat).reshape(rank, *shape[split:])
    m = t_right
    for n in range(split, d):
        m = _partial_mttkrp(t_right, st.factors[split:], n - split)
        st.update(n, m)
    return m


def _sweep_mttkrp(x: np.ndarray, st: _ALSState) -> np.ndarray:
    """One ALS sweep with one :func:`tensornet.algebra.mttkrp` call per mode."""
    m = None
    for n in range(x.ndim):
        m = mttkrp(x, st.factors, n, check_finite=False)
        st.update(n, m)
    return m


def _dense_error(x: np.ndarray, st: _ALSState, norm_x: float) -> float:
    """``||X - X̂|| / ||X||`` from the formed model."""
    model = khatri_rao(st.factors) @ st.weights
    return float(np.linalg.norm(x.ravel() - model)) / norm_x


def _fit(
    x: np.ndarray,
    rank: int,
    init: str | CPTensor,
    rng: np.random.Generator,
    method: str,
    quantize: int | None = None,
    **options: Any,
) -> ALSResult:
    """CP-ALS through the shared driver: the start of each restart and one sweep."""
    norm_x_sq = float(np.vdot(x, x))
    norm_x = np.sqrt(norm_x_sq)
    split = x.ndim // 2
    x_mat = x.reshape(int(np.prod(x.shape[:split])), -1)

    def start(i: int) -> _ALSState:
        factors = _initial_factors(x, rank, init if i == 0 else "random", rng)
        if quantize is None:
            return _ALSState(factors)
        return _QuantizedALSState(factors, quantize)

    def sweep(st: _ALSState) -> tuple[_ALSState, float]:
        if quantize is not None:
            st = st.copy()  # the driver keeps the best sweep's state
        if method == "dimtree":
            m_last = _sweep_dimtree(x_mat, x.shape, split, st)
        else:
            m_last = _sweep_mttkrp(x, st)
        err_sq, scale_sq = st.error_sq(norm_x_sq, m_last)
        return st, relative_error(err_sq, norm_x_sq, lambda: _dense_error(x, st, norm_x), scale_sq)

    return als(start, sweep, keep_best=quantize is not None, **options)


def _degeneracy(cp: CPTensor, norm_x: float) -> tuple[float, float]:
    """``max(w)/||X||`` and the most negative congruence ``prod_k cos(a_r^k, a_s^k)``, r ≠ s."""
    ratio = float(np.max(np.abs(cp.weights))) / norm_x if cp.rank else 0.0
    if cp.rank < 2:
        return ratio, 0.0
    congruence = _hadamard_except([f.T @ f for f in cp.normalize().factors], None)
    congruence = congruence * np.outer(np.sign(cp.weights), np.sign(cp.weights))
    np.fill_diagonal(congruence, np.inf)
    return ratio, float(np.min(congruence))


def max_cp_rank(shape: tuple[int, ...]) -> int:
    """The largest CP rank a tensor of ``shape`` can have: ``prod(shape) / max(shape)``.

    Every tensor is a sum of that many rank-one terms (one per fibre of its longest mode), so
    more components only add non-uniqueness (Kolda & Bader 2009, Sec. 3.1). :func:`cp_als`
    refuses larger ranks.

    Parameters
    ----------
    shape : tuple of int
        The tensor's shape (at least one mode).

    Returns
    -------
    int

    Examples
    --------
    >>> max_cp_rank((4, 5, 6))
    20
    """
    return math.prod(shape) // max(shape)


def _check_rank_possible(rank: int, shape: tuple[int, ...]) -> None:
    """Refuse a rank above :func:`max_cp_rank` before anything of size ``R`` is allocated."""
    bound = max_cp_rank(shape)
    if rank > bound:
        raise ValueError(
            f"rank={rank} exceeds the largest possible CP rank {bound} for shape {shape} "
            "(prod(shape) / max(shape))"
        )


# --------------------------------------------------------------------------- public API
@deprecated_arguments(
    positional=("n_iter_max", "tol", "init", "n_restarts", "random_state", "method")
)
@scale_equivariant
def cp_als(
    x: np.ndarray,
    rank: int,
    *,
    n_iter_max: int = 200,
    tol: float = 1e-8,
    init: str | CPTensor = "svd",
    n_restarts: int = 1,
    random_state: Any = None,
    method: str = "dimtree",
    quantize: int | None = None,
) -> CPTensor:
    """Rank-``R`` CP decomposition by alternating least squares with column normalization.

    Implements survey Sec. II-A.3 (``X ≈ sum_r w_r a_r^(0) ∘ ... ∘ a_r^(d-1)``) with the ALS
    of Kolda & Bader (2009, Fig. 3.3): per mode an MTTKRP, the ``R x R`` normal equations of
    the Hadamard product of Gram matrices, and normalization of the columns into the weights.

    Parameters
    ----------
    x : array_like, shape (I_0, ..., I_{d-1}), d >= 2
        The tensor (finite, not all zero).
    rank : int
        Number of components, ``1 <= R <= prod(shape) / max(shape)`` (the largest CP rank of a
        tensor of that shape; a larger ``R`` is refused). ``R`` may exceed the mode sizes (the
        CP rank of a tensor can), though the fit is then rarely unique; the normal equations
        are then singular and solved in the least-squares sense, so the error history stays
        non-increasing.
    n_iter_max : int
        Maximum number of ALS sweeps (each updates every factor once), ``>= 1``.
    tol : float
        Stop when the relative error changes by less than ``tol`` between two sweeps
        (``0`` runs all ``n_iter_max`` sweeps).
    init : {"svd", "random"} or CPTensor
        ``"svd"`` starts every factor from the leading left singular vectors of the unfolding
        (random columns when ``R > I_n``); ``"random"`` from Gaussian factors; a CPTensor is a
        warm start. With ``n_restarts > 1`` the later starts are random.
    n_restarts : int
        Number of starts; the fit with the smallest error is returned.
    random_state : None, int or numpy.random.Generator
        Seed for the random starts.
    method : {"dimtree", "mttkrp"}
        MTTKRP schedule (same iterates): two shared GEMM passes per sweep, or one
        :func:`tensornet.algebra.mttkrp` per mode.
    quantize : int, optional
        Quantized CP-ALS (Nekooei & Safari 2022): after every update each factor is rounded to
        a symmetric per-factor uniform grid of ``quantize`` bits (``2..16``; see the module
        docstring); the weights stay floating point. The best sweep is returned, since
        rounding can raise the error.

    Returns
    -------
    CPTensor
        Unit-norm factor columns and the weights. ``info`` holds ``rel_error`` (final relative
        error), ``history`` (relative error after every sweep; non-increasing up to round-off
        without ``quantize``), ``n_iter``, ``converged``, ``restart_errors``, ``weight_ratio``
        (``max w / ||X||``), ``min_congruence`` and ``degenerate``. With ``quantize``, the
        factors lie exactly on their grids (columns then have norm 1 only up to rounding) and
        ``info["quantization"] = {"bits": b, "scales": [s_0, ...]}``: the integer codes of
        factor ``n`` are ``factors[n] / s_n`` (in ``[-(2**(b-1) - 1), 2**(b-1) - 1]``).

    Warns
    -----
    CPDegeneracyWarning
        When the best fit looks degenerate: ``max w / ||X|| > 1e3``, or ``> 2`` with two
        components whose congruence ``prod_k cos(a_r^(k), a_s^(k))`` (signed by the weights) is
        below ``-0.9``, i.e. large components cancelling each other (Kolda & Bader 2009,
        Sec. 3.3). A best rank-R approximation may then not exist; lower the rank.

    Raises
    ------
    ValueError
        For an all-zero or 1-D ``x``, ``rank < 1`` or above ``prod(shape) / max(shape)``, or a
        bad option.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> a, b, c = (rng.standard_normal((n, 2)) for n in (5, 6, 7))
    >>> x = np.einsum("ir,jr,kr->ijk", a, b, c)
    >>> cp = cp_als(x, 2, tol=1e-12, random_state=0)
    >>> bool(cp.info["rel_error"] < 1e-6)
    True
    """
    x = check_array(x, "x", min_ndim=2, dtype=np.float64)
    rank = check_rank(rank, "rank")
    _check_rank_possible(rank, x.shape)
    n_iter_max = check_int(n_iter_max, "n_iter_max", minimum=1)
    tol = check_tol(tol)
    if not isinstance(init, CPTensor):
        init = check_option(init, "init", ("svd", "random"))
    elif init.shape != x.shape or init.rank != rank:
        raise ValueError(
            f"init has shape {init.shape} and rank {init.rank}, expected {x.shape} and {rank}"
        )
    n_restarts = check_int(n_restarts, "n_restarts", minimum=1)
    method = check_option(method, "method", ("dimtree", "mttkrp"))
    if quantize is not None:
        quantize = check_int(quantize, "quantize", minimum=2, maximum=16)
    rng = check_random_state(random_state)
    norm_x = float(np.linalg.norm(x))
    if norm_x == 0.0:
        raise ValueError("x is all zeros: its CP decomposition is trivial and the error undefined")

    run = _fit(x, rank, init, rng, method, quantize, n_iter_max=n_iter_max, tol=tol,
               n_restarts=n_restarts)  # fmt: skip
    cp = CPTensor(run.state.weights.copy(), list(run.state.factors))
    ratio, congruence = _degeneracy(cp, norm_x)
    degenerate = ratio > DEGENERACY_RATIO or (
        ratio > CANCELLING_RATIO and congruence < -DEGENERACY_CONGRUENCE
    )
    cp.info = {
        **run.info(),
        "weight_ratio": ratio,
        "min_congruence": congruence,
        "degenerate": degenerate,
    }
    if quantize is not None:
        cp.info["quantization"] = {"bits": quantize, "scales": list(run.state.scales)}
    if degenerate:
        warn_at_caller(
            f"cp_als(rank={rank}) looks degenerate: the largest weight is {ratio:.3g} x ||X|| "
            f"and the most cancelling pair of components has congruence {congruence:.3f}; "
            "a best rank-R approximation may not exist (try a lower rank)",
            CPDegeneracyWarning,
        )
    return cp
