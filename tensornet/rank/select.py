"""Per-mode rank selection for Tucker-type decompositions (survey Sec. II-B.1).

For every requested mode ``n`` the mode-``n`` unfolding ``X_(n)`` is examined:

* ``method="evbmf"``: the rank estimated by analytic EVBMF (:func:`tensornet.rank.evbmf`), as
  Kim et al. (2016) choose Tucker-2 ranks of convolution kernels. It may be 0.
* ``method="energy"``: the smallest rank whose leading singular values hold at least the
  fraction ``energy`` of ``||X||^2``, i.e. ``sum_{i<=r} σ_i^2 >= energy · sum_i σ_i^2``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.linalg

from .._validation import check_array, check_axis, check_option, check_real, power_of_two_scale
from ..algebra import unfold
from .evbmf import evbmf

__all__ = ["select_ranks", "energy_rank"]


def energy_rank(s: np.ndarray, energy: float = 0.99) -> int:
    """Smallest ``r`` with ``sum_{i<=r} s_i^2 >= energy · sum_i s_i^2`` (0 for all-zero ``s``).

    Parameters
    ----------
    s : array_like, shape (k,)
        Singular values in non-increasing order.
    energy : float
        Fraction of the energy to keep, in ``(0, 1]``.

    Returns
    -------
    int

    Examples
    --------
    >>> energy_rank([3.0, 1.0, 0.1], energy=0.8)
    1
    """
    s = check_array(s, "s", ndim=1, allow_empty=True)
    energy = _check_energy(energy)
    s = power_of_two_scale(s)[0]  # the rank is scale invariant; squares must not under/overflow
    sq = np.asarray(s, dtype=np.float64) ** 2
    total = float(np.sum(sq))
    if total == 0.0:
        return 0
    kept = np.cumsum(sq)
    # A relative slack of a few ulps keeps energy=1 from asking for round-off components.
    return int(np.searchsorted(kept, energy * total * (1 - 4 * np.finfo(float).eps)) + 1)


def _check_energy(energy: float) -> float:
    value = check_real(energy, "energy")
    if not 0.0 < value <= 1.0:
        raise ValueError(f"energy={energy!r} must lie in (0, 1]")
    return value


def select_ranks(
    x: np.ndarray,
    method: str = "evbmf",
    energy: float = 0.99,
    modes: Sequence[int] | None = None,
) -> tuple[int, ...]:
    """Choose a rank for each mode of ``x`` from its unfoldings.

    Parameters
    ----------
    x : array_like, shape (I_0, ..., I_{d-1})
        The tensor (a matrix is a 2-way tensor).
    method : {"evbmf", "energy"}
        EVBMF's estimated rank of each unfolding, or the smallest rank holding the fraction
        ``energy`` of the squared norm.
    energy : float
        Fraction in ``(0, 1]`` for ``method="energy"``.
    modes : sequence of int, optional
        The modes to examine (default: all), e.g. ``(0, 1)`` for the channel modes of a
        convolution kernel.

    Returns
    -------
    tuple of int
        One rank per requested mode, in the order of ``modes``. EVBMF returns 0 for a mode
        whose unfolding is indistinguishable from noise; the caller decides what to do (e.g.
        keep the mode at full rank, or MUSCO-style weakening).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.ones((4, 5, 6))
    >>> select_ranks(x, method="energy")
    (1, 1, 1)
    """
    x = power_of_two_scale(check_array(x, "x", min_ndim=2))[0]  # ranks are scale invariant
    method = check_option(method, "method", ("evbmf", "energy"))
    energy = _check_energy(energy)
    modes = range(x.ndim) if modes is None else [check_axis(m, x.ndim, "modes") for m in modes]
    out = []
    for n in modes:
        xn = unfold(x, n)
        if method == "evbmf":
            out.append(evbmf(xn).rank)
        else:
            s = scipy.linalg.svd(xn, compute_uv=False, check_finite=False)
            out.append(energy_rank(s, energy))
    return tuple(out)
