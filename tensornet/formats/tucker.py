"""Tucker format: a core tensor multiplied by a factor matrix in every mode (survey Sec. II-A.2).

``X = G ×_0 U_0 ×_1 U_1 ··· ×_{d-1} U_{d-1}`` with core ``G`` of shape ``(R_0, ..., R_{d-1})`` and
factors ``U_k`` of shape ``(I_k, R_k)``. A factor may be ``None``, meaning the identity: the mode
is not compressed (Tucker-2 of a convolution kernel keeps its spatial modes this way).

Norms and inner products never form the dense tensor: ``<G ×_k U_k, H ×_k V_k> =
<G, H ×_k (U_k^T V_k)>``, so ``||X||^2 = <G, G ×_k (U_k^T U_k)>``, which is ``||G||^2`` for
orthonormal factors (Kolda & Bader 2009, Sec. 4).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._validation import check_array
from ..algebra import mode_dot
from .base import StructuredTensor
from .cp import CPTensor

__all__ = ["TuckerTensor"]


def _contract_all(core: np.ndarray, mats: Sequence[np.ndarray | None]) -> np.ndarray:
    """``core ×_k M_k`` over every mode with a matrix (``None`` skips the mode)."""
    out = core
    for k, m in enumerate(mats):
        if m is not None:
            out = mode_dot(out, m, k)
    return out


class TuckerTensor(StructuredTensor):
    """A tensor in Tucker format, ``G ×_0 U_0 ··· ×_{d-1} U_{d-1}``.

    Parameters
    ----------
    core : array_like, shape (R_0, ..., R_{d-1})
        The core tensor ``G``.
    factors : sequence of (array_like or None)
        One factor per mode, ``U_k`` of shape ``(I_k, R_k)``; ``None`` is the identity
        (``I_k = R_k``, the mode is kept uncompressed).

    Attributes
    ----------
    core : numpy.ndarray
    factors : list of (numpy.ndarray or None)
    info : dict
        Report of the algorithm that produced the tensor.

    Examples
    --------
    >>> import numpy as np
    >>> t = TuckerTensor(np.ones((1, 1)), [np.ones((2, 1)), np.ones((3, 1))])
    >>> t.full().shape
    (2, 3)
    """

    _scale_attr = "core"

    def __init__(self, core: np.ndarray, factors: Sequence[np.ndarray | None]) -> None:
        core = check_array(core, "core", min_ndim=1)
        if isinstance(factors, np.ndarray) or not isinstance(factors, Sequence):
            raise TypeError("factors must be a sequence of 2-D arrays or None (one per mode)")
        if len(factors) != core.ndim:
            raise ValueError(
                f"factors has length {len(factors)} but core has ndim={core.ndim} "
                f"(shape {core.shape})"
            )
        mats: list[np.ndarray | None] = []
        for k, f in enumerate(factors):
            if f is None:
                mats.append(None)
                continue
            f = check_array(f, f"factors[{k}]", ndim=2)
            if f.shape[1] != core.shape[k]:
                raise ValueError(
                    f"factors[{k}] has {f.shape[1]} columns but core.shape[{k}]={core.shape[k]}"
                )
            mats.append(f)
        self.core = core
        self.factors = mats
        self.info: dict[str, Any] = {}

    # ----------------------------------------------------------------- structure
    @property
    def shape(self) -> tuple[int, ...]:
        """Shape ``(I_0, ..., I_{d-1})``."""
        return tuple(
            self.core.shape[k] if f is None else f.shape[0] for k, f in enumerate(self.factors)
        )

    @property
    def ranks(self) -> tuple[int, ...]:
        """Multilinear ranks ``(R_0, ..., R_{d-1})`` (the core's shape)."""
        return tuple(self.core.shape)

    def _full(self) -> np.ndarray:
        return _contract_all(self.core, self.factors)

    def factor(self, mode: int) -> np.ndarray:
        """The factor of ``mode`` as a matrix (the identity for an uncompressed mode).

        Parameters
        ----------
        mode : int
            The mode.

        Returns
        -------
        numpy.ndarray, shape (I_mode, R_mode)
        """
        f = self.factors[mode]
        return np.eye(self.core.shape[mode], dtype=self.core.dtype) if f is None else f

    # ----------------------------------------------------------------- cheap algebra
    def _cross_grams(self, factors: Sequence[np.ndarray | None]) -> list[np.ndarray | None]:
        """``U_k^T V_k`` per mode; ``None`` when both are identities."""
        out: list[np.ndarray | None] = []
        for u, v in zip(self.factors, factors, strict=True):
            if u is None and v is None:
                out.append(None)
            elif u is None:
                out.append(v)
            elif v is None:
                out.append(u.T)
            else:
                out.append(u.T @ v)
        return out

    def norm(self) -> float:
        """Frobenius norm ``sqrt(<G, G ×_k U_k^T U_k>)`` (``||G||`` for orthonormal factors).

        Returns
        -------
        float
        """
        grams = self._cross_grams(self.factors)
        sq = float(np.vdot(self.core, _contract_all(self.core, grams)))
        return float(np.sqrt(max(sq, 0.0)))

    def inner(self, other: StructuredTensor | np.ndarray) -> float:
        """Frobenius inner product with a Tucker, CP, BTD or dense tensor, without densifying self.

        Tucker: ``<G, H ×_k U_k^T V_k>``. CP: ``<G, sum_r v_r ∘_k U_k^T b_r^(k)>``. Dense
        ``X``: ``<G, X ×_k U_k^T>``, contracting the largest modes first.

        Parameters
        ----------
        other : StructuredTensor or array_like
            A tensor of the same shape.

        Returns
        -------
        float
        """
        if isinstance(other, TuckerTensor):
            self._check_same_shape(other.shape, "other")
            grams = self._cross_grams(other.factors)
            return float(np.vdot(self.core, _contract_all(other.core, grams)))
        if isinstance(other, CPTensor):
            self._check_same_shape(other.shape, "other")
            projected = [
                b if u is None else u.T @ b
                for u, b in zip(self.factors, other.factors, strict=True)
            ]
            return CPTensor(other.weights, projected).inner(self.core)
        if isinstance(other, StructuredTensor):
            if type(other).inner is not StructuredTensor.inner:
                return other.inner(self)
            return super().inner(other)
        dense = check_array(other, "other")
        self._check_same_shape(dense.shape, "other")
        return float(np.vdot(self.core, project(dense, self.factors)))

    @property
    def n_params(self) -> int:
        """``prod_k R_k + sum_k I_k R_k`` (identity factors are not stored)."""
        return int(self.core.size + sum(0 if f is None else f.size for f in self.factors))

    # ----------------------------------------------------------------- storage
    def _arrays(self) -> dict[str, np.ndarray]:
        out = {"core": self.core}
        out.update({f"factor_{k}": f for k, f in enumerate(self.factors) if f is not None})
        return out

    def _metadata(self) -> dict[str, Any]:
        return {"identity_modes": [k for k, f in enumerate(self.factors) if f is None]}

    @classmethod
    def _from_arrays(cls, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> TuckerTensor:
        core = arrays["core"]
        identity = set(int(k) for k in meta.get("identity_modes", []))
        factors = [None if k in identity else arrays[f"factor_{k}"] for k in range(core.ndim)]
        return cls(core, factors)


def project(x: np.ndarray, factors: Sequence[np.ndarray | None]) -> np.ndarray:
    """Multilinear projection ``X ×_0 U_0^T ··· ×_{d-1} U_{d-1}^T`` in the cheapest order.

    Modes are contracted in order of decreasing shrink factor ``I_k / R_k``, so the largest
    reductions happen first while the tensor is big; on ties the last mode goes last (its GEMM,
    with the short contraction dimension innermost, is the slowest in BLAS). ``None`` factors
    are skipped.

    Parameters
    ----------
    x : numpy.ndarray, shape (I_0, ..., I_{d-1})
        The tensor.
    factors : sequence of (numpy.ndarray or None)
        ``U_k`` of shape ``(I_k, R_k)`` or ``None``.

    Returns
    -------
    numpy.ndarray, shape (R_0, ..., R_{d-1})
    """
    last = len(factors) - 1
    order = sorted(
        (k for k, f in enumerate(factors) if f is not None),
        key=lambda k: (factors[k].shape[1] / factors[k].shape[0], k == last),
    )
    out = x
    for k in order:
        out = _mode_project(out, factors[k], k)
    return out


def _mode_project(x: np.ndarray, u: np.ndarray, mode: int) -> np.ndarray:
    """``X ×_mode U^T`` by one (batched) GEMM on a copy-free ``(L, I_mode, K)`` view of ``X``."""
    x = np.ascontiguousarray(x)
    shape = x.shape
    lead = int(np.prod(shape[:mode], dtype=np.int64))
    size = shape[mode]
    trail = int(np.prod(shape[mode + 1 :], dtype=np.int64))
    rank = u.shape[1]
    if trail == 1:
        out = x.reshape(lead, size) @ u
    elif lead == 1:
        out = u.T @ x.reshape(size, trail)
    else:
        out = np.matmul(u.T, x.reshape(lead, size, trail))
    return out.reshape(*shape[:mode], rank, *shape[mode + 1 :])
