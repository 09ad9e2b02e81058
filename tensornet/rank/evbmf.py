"""Analytic empirical variational Bayesian matrix factorization (EVBMF) for rank selection.

Nakajima, Sugiyama, Babacan & Tomioka, "Global analytic solution of fully-observed variational
Bayesian matrix factorization", JMLR 14 (2013), and Nakajima et al. (2012) for the noise
variance; used by the survey (Sec. II-B.1) and Kim et al. (2016) to choose Tucker-2 ranks.

Model: ``V = B A^T + E`` with ``V`` of shape ``L x M`` (``L <= M``; a wide matrix is transposed
first and the result transposed back), Gaussian noise of variance ``σ²`` and Gaussian priors on
the columns of ``A`` and ``B`` whose variances are estimated too (the "empirical" part). The global
solution is a thresholded, shrunk SVD. With ``γ_h`` the singular values of ``V``, ``α = L/M``,
``τ̲ = 2.5129 sqrt(α)`` and ``x̲ = (1 + τ̲)(1 + α/τ̲)``:

* component ``h`` is kept iff ``γ_h > γ_EVB = σ sqrt(M x̲)``;
* a kept value is shrunk to ``γ̂_h = (γ_h/2) (1 - (L+M)σ²/γ_h² +
  sqrt((1 - (L+M)σ²/γ_h²)² - 4 L M σ⁴/γ_h⁴))``.

When ``σ²`` is unknown it minimizes the EVB free energy, a 1-D function of ``σ²`` evaluated from
the singular values alone, over the bounded interval in which the global minimizer lies: a grid
search for the global minimum, refined by ``scipy.optimize.minimize_scalar(method="bounded")``
in the best cell.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.optimize

from .._validation import check_array, check_real, power_of_two_scale

__all__ = ["evbmf", "EVBMFResult"]

#: Constant of the EVB threshold (Nakajima et al. 2013, Theorem 13): ``τ̲ = 2.5129 sqrt(α)``.
TAU_CONSTANT = 2.5129


@dataclass(frozen=True)
class EVBMFResult:
    """Result of :func:`evbmf`.

    Attributes
    ----------
    rank : int
        Estimated rank ``K`` (may be 0: no component rises above the noise).
    U : numpy.ndarray, shape (L, K)
        Left singular vectors of the kept components.
    s : numpy.ndarray, shape (K,)
        Shrunk (denoised) singular values ``γ̂_h``.
    Vt : numpy.ndarray, shape (K, M)
        Right singular vectors of the kept components.
    sigma2 : float
        Noise variance ``σ²`` (estimated, or the one given).
    threshold : float
        The EVB threshold ``γ_EVB = σ sqrt(max(L, M) x̲)`` on the singular values.
    singular_values : numpy.ndarray
        All singular values ``γ_h`` of the input.
    """

    rank: int
    U: np.ndarray
    s: np.ndarray
    Vt: np.ndarray
    sigma2: float
    threshold: float
    singular_values: np.ndarray

    @property
    def denoised(self) -> np.ndarray:
        """The EVB estimate ``U diag(s) Vt`` of the noise-free matrix."""
        return (self.U * self.s) @ self.Vt


def _tau(x: np.ndarray, alpha: float) -> np.ndarray:
    """``τ(x) = (x - (1+α) + sqrt((x - (1+α))² - 4α)) / 2``, defined for ``x >= x̲``."""
    b = x - (1.0 + alpha)
    return 0.5 * (b + np.sqrt(np.maximum(b * b - 4.0 * alpha, 0.0)))


def _free_energy(
    sigma2: float, gamma2: np.ndarray, n_rows: int, n_cols: int, residual: float, x_lower: float
) -> float:
    """EVB free energy (up to constants) as a function of ``σ²`` (Nakajima et al. 2012).

    ``x_h = γ_h²/(Mσ²)``; a component below ``x̲`` contributes ``x_h - log x_h``, one above it
    ``x_h - τ_h + log((τ_h + 1)/x_h) + α log(τ_h/α + 1)``; the part of ``||V||²`` outside the
    computed components adds ``residual/(Mσ²)``.
    """
    alpha = n_rows / n_cols
    x = gamma2 / (n_cols * sigma2)
    low = x[x <= x_lower]
    high = x[x > x_lower]
    tau = _tau(high, alpha)
    energy = np.sum(low - np.log(low)) + np.sum(
        high - tau + np.log((tau + 1.0) / high) + alpha * np.log(tau / alpha + 1.0)
    )
    return float(energy + residual / (n_cols * sigma2))


#: Grid points of the global search for the noise variance before the Brent refinement.
_N_GRID = 257


def _estimate_sigma2(gamma: np.ndarray, n_rows: int, n_cols: int, x_lower: float) -> float:
    """Noise variance minimizing the free energy on the interval that holds its minimizer."""
    alpha = n_rows / n_cols
    gamma2 = gamma**2
    total = float(np.sum(gamma2))
    upper = total / (n_rows * n_cols)
    h_bar = min(int(np.ceil(n_rows / (1.0 + alpha))) - 1, len(gamma))
    tail = gamma2[h_bar:]
    lower = max(
        gamma2[h_bar] / (n_cols * x_lower) if h_bar < len(gamma2) else 0.0,
        float(np.mean(tail)) / n_cols if tail.size else 0.0,
    )
    if not lower < upper:
        return upper
    # Minimize over u = σ²/upper so that the search (and its tolerance) is scale invariant.
    # The free energy is piecewise smooth and can have an interior local minimum above a lower
    # value at the interval's end (e.g. u = 1: everything is noise), so locate the global
    # minimum on a grid first and refine it with bounded Brent inside the best grid cell.
    scaled = gamma2 / upper

    def energy(u: float) -> float:
        return _free_energy(u, scaled, n_rows, n_cols, 0.0, x_lower)

    grid = np.linspace(lower / upper, 1.0, _N_GRID)
    values = np.array([energy(u) for u in grid])
    best = int(np.argmin(values))
    lo, hi = grid[max(best - 1, 0)], grid[min(best + 1, _N_GRID - 1)]
    res = scipy.optimize.minimize_scalar(
        energy, bounds=(lo, hi), method="bounded", options={"xatol": 1e-12}
    )
    u = float(res.x) if res.fun <= values[best] else float(grid[best])
    return u * upper


def evbmf(matrix: np.ndarray, sigma2: float | None = None) -> EVBMFResult:
    r"""Estimate the rank of a noisy matrix by analytic EVBMF (Nakajima et al., JMLR 2013).

    Parameters
    ----------
    matrix : array_like, shape (L, M)
        The observed matrix (finite, 2-D). Either orientation works: a matrix with more rows
        than columns is transposed internally and the factors are returned for the original.
    sigma2 : float, optional
        Known noise variance ``> 0``; estimated by the bounded 1-D minimization when omitted.

    Returns
    -------
    EVBMFResult
        ``rank`` (possibly 0), the kept singular vectors ``U`` and ``Vt``, the shrunk singular
        values ``s``, ``sigma2`` and the ``threshold``.

    Notes
    -----
    Properties: pure Gaussian noise gives rank 0 with high probability; a low-rank signal
    whose singular values clear the threshold $\sigma \sqrt{M \underline{x}}$ is found at its
    true rank; scaling the matrix by $c$ leaves the rank unchanged and multiplies ``sigma2``
    ($\sigma^2$) by $c^2$;
    transposing it changes nothing but the orientation of the factors. An all-zero matrix
    gives rank 0 and ``sigma2 = 0``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> signal = 10 * rng.standard_normal((30, 2)) @ rng.standard_normal((2, 40))
    >>> evbmf(signal + rng.standard_normal((30, 40))).rank
    2
    """
    v = check_array(matrix, "matrix", ndim=2, dtype=np.float64)
    if sigma2 is not None:
        sigma2 = check_real(sigma2, "sigma2", minimum=0.0, strict_minimum=True)
    v, scale = power_of_two_scale(v)  # scale equivariance: sigma2 in the units of v
    if sigma2 is not None:
        sigma2 = sigma2 / scale / scale
    result = _evbmf(v, sigma2)
    if scale == 1.0:
        return result
    return dataclasses.replace(
        result,
        s=result.s * scale,
        sigma2=result.sigma2 * scale * scale,
        threshold=result.threshold * scale,
        singular_values=result.singular_values * scale,
    )


def _evbmf(v: np.ndarray, sigma2: float | None) -> EVBMFResult:
    """:func:`evbmf` on a validated matrix whose magnitude is near 1."""
    transposed = v.shape[0] > v.shape[1]
    if transposed:
        v = v.T
    n_rows, n_cols = v.shape
    u, gamma, vt = scipy.linalg.svd(v, full_matrices=False, check_finite=False)
    alpha = n_rows / n_cols
    tau_lower = TAU_CONSTANT * np.sqrt(alpha)
    x_lower = (1.0 + tau_lower) * (1.0 + alpha / tau_lower)
    if sigma2 is None:
        sigma2 = _estimate_sigma2(gamma, n_rows, n_cols, x_lower) if np.any(gamma) else 0.0
    threshold = float(np.sqrt(sigma2 * n_cols * x_lower))
    keep = gamma > threshold if sigma2 > 0 else gamma > 0
    rank = int(np.count_nonzero(keep))
    g = gamma[:rank]
    ratio = (n_rows + n_cols) * sigma2 / g**2
    disc = (1.0 - ratio) ** 2 - 4.0 * n_rows * n_cols * sigma2**2 / g**4
    shrunk = 0.5 * g * (1.0 - ratio + np.sqrt(np.maximum(disc, 0.0)))
    u_k, vt_k = u[:, :rank], vt[:rank]
    if transposed:
        u_k, vt_k = vt_k.T, u_k.T
    return EVBMFResult(rank, u_k, shrunk, vt_k, float(sigma2), threshold, gamma)
