"""Hot-spot kernels (MTTKRP, STP) with plain NumPy references.

Placeholder: the NumPy reference only; the Numba kernels and the dispatch land with the
Foundation issue's kernel work.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .modes import unfold
from .products import khatri_rao

__all__ = ["mttkrp", "mttkrp_reference"]


def mttkrp_reference(x: np.ndarray, factors: Sequence[np.ndarray], mode: int) -> np.ndarray:
    """MTTKRP by definition: ``X_(n) · khatri_rao(factors, skip=n)`` (forms the Khatri-Rao).

    Parameters
    ----------
    x : numpy.ndarray, shape (I_0, ..., I_{d-1})
        The tensor.
    factors : sequence of numpy.ndarray, each (I_k, R)
        One factor per mode (the one of ``mode`` is ignored).
    mode : int
        The mode ``n``.

    Returns
    -------
    numpy.ndarray, shape (I_n, R)
    """
    return unfold(x, mode) @ khatri_rao(factors, skip=mode)


mttkrp = mttkrp_reference
