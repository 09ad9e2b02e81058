"""CP (CANDECOMP/PARAFAC) format: a weighted sum of rank-1 tensors (survey Sec. II-A.3).

``X = sum_r w_r a_r^(0) ∘ a_r^(1) ∘ ... ∘ a_r^(d-1)``, stored as a weight vector ``w`` of length
``R`` and one factor matrix ``A_k`` of shape ``(I_k, R)`` per mode. In C order (see
:mod:`tensornet.algebra.modes`) ``vec(X) = khatri_rao([A_0, ..., A_{d-1}]) w``.

Norms and inner products never form the dense tensor: with Gram matrices ``A_k^T B_k``
(``R x R'``), ``<X, Y> = w^T (⊛_k A_k^T B_k) v`` (Kolda & Bader 2009, Sec. 3), at a cost of
``O(R R' sum_k I_k)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._validation import check_array
from ..algebra import khatri_rao, mttkrp
from .base import StructuredTensor

__all__ = ["CPTensor"]


class CPTensor(StructuredTensor):
    """A tensor in CP format, ``sum_r w_r a_r^(0) ∘ ... ∘ a_r^(d-1)``.

    Parameters
    ----------
    weights : array_like, shape (R,) or None
        Component weights ``w`` (``None`` means all ones).
    factors : sequence of array_like, each of shape (I_k, R)
        One factor matrix per mode; at least one mode.

    Attributes
    ----------
    weights : numpy.ndarray, shape (R,)
    factors : list of numpy.ndarray
    info : dict
        Report of the algorithm that produced the tensor (e.g. ``rel_error``, ``history``).

    Examples
    --------
    >>> import numpy as np
    >>> t = CPTensor([2.0], [np.ones((2, 1)), np.ones((3, 1))])
    >>> t.full()
    array([[2., 2., 2.],
           [2., 2., 2.]])
    """

    _scale_attr = "weights"

    def __init__(self, weights: np.ndarray | None, factors: Sequence[np.ndarray]) -> None:
        if isinstance(factors, np.ndarray) or not isinstance(factors, Sequence):
            raise TypeError("factors must be a sequence of 2-D arrays (one per mode)")
        if len(factors) == 0:
            raise ValueError("factors must hold at least one factor matrix")
        mats = [check_array(f, f"factors[{k}]", ndim=2) for k, f in enumerate(factors)]
        rank = mats[0].shape[1]
        for k, f in enumerate(mats):
            if f.shape[1] != rank:
                raise ValueError(
                    f"factors[{k}] has {f.shape[1]} columns, expected R={rank} like factors[0]"
                )
        if weights is None:
            w = np.ones(rank, dtype=mats[0].dtype)
        else:
            w = check_array(weights, "weights", ndim=1, allow_empty=True)
            if w.shape[0] != rank:
                raise ValueError(f"weights has length {w.shape[0]}, expected R={rank}")
        self.weights = w
        self.factors = mats
        self.info: dict[str, Any] = {}

    # ----------------------------------------------------------------- structure
    @property
    def shape(self) -> tuple[int, ...]:
        """Shape ``(I_0, ..., I_{d-1})``."""
        return tuple(f.shape[0] for f in self.factors)

    @property
    def rank(self) -> int:
        """Number of components ``R``."""
        return int(self.weights.shape[0])

    @property
    def ranks(self) -> tuple[int, ...]:
        """``(R,)``: the CP rank of the representation."""
        return (self.rank,)

    def _full(self) -> np.ndarray:
        if self.rank == 0:
            return np.zeros(self.shape, dtype=self.weights.dtype)
        return (khatri_rao(self.factors) @ self.weights).reshape(self.shape)

    # ----------------------------------------------------------------- cheap algebra
    def gram(self, other: CPTensor) -> np.ndarray:
        """Hadamard product of the factor Gram matrices ``⊛_k A_k^T B_k`` (``R x R'``).

        Parameters
        ----------
        other : CPTensor
            A CP tensor of the same shape.

        Returns
        -------
        numpy.ndarray, shape (R, R')
        """
        self._check_same_shape(other.shape, "other")
        out = np.ones((self.rank, other.rank))
        for a, b in zip(self.factors, other.factors, strict=True):
            out *= a.T @ b
        return out

    def norm(self) -> float:
        """Frobenius norm ``sqrt(w^T (⊛_k A_k^T A_k) w)``, without forming the tensor.

        Returns
        -------
        float
        """
        sq = float(self.weights @ self.gram(self) @ self.weights)
        return float(np.sqrt(max(sq, 0.0)))

    def inner(self, other: StructuredTensor | np.ndarray) -> float:
        """Frobenius inner product with a CP, Tucker, BTD or dense tensor, without densifying self.

        With a CP tensor: ``w^T (⊛_k A_k^T B_k) v``; with a dense tensor ``X``: ``sum_r w_r
        <a_r^(0), MTTKRP(X)_r>`` through one MTTKRP.

        Parameters
        ----------
        other : StructuredTensor or array_like
            A tensor of the same shape.

        Returns
        -------
        float
        """
        if isinstance(other, CPTensor):
            return float(self.weights @ self.gram(other) @ other.weights)
        if isinstance(other, StructuredTensor):
            if type(other).inner is not StructuredTensor.inner:
                return other.inner(self)
            return super().inner(other)
        dense = check_array(other, "other")
        self._check_same_shape(dense.shape, "other")
        if self.rank == 0:
            return 0.0
        if self.ndim == 1:
            return float(dense @ (self.factors[0] @ self.weights))
        m = mttkrp(dense, self.factors, 0)
        return float(np.sum(m * self.factors[0], axis=0) @ self.weights)

    @property
    def n_params(self) -> int:
        """``R (1 + sum_k I_k)``: the weights plus the factor entries."""
        return int(self.rank * (1 + sum(self.shape)))

    def normalize(self) -> CPTensor:
        """Equivalent CP tensor with unit-norm factor columns (norms moved into the weights).

        Zero columns stay zero and get weight 0.

        Returns
        -------
        CPTensor
        """
        weights = self.weights.astype(np.result_type(self.weights, np.float64), copy=True)
        factors = []
        for f in self.factors:
            norms = np.linalg.norm(f, axis=0)
            safe = np.where(norms > 0, norms, 1.0)
            factors.append(f / safe)
            weights = weights * norms
        return CPTensor(weights, factors)

    # ----------------------------------------------------------------- storage
    def _arrays(self) -> dict[str, np.ndarray]:
        out = {"weights": self.weights}
        out.update({f"factor_{k}": f for k, f in enumerate(self.factors)})
        return out

    def _metadata(self) -> dict[str, Any]:
        return {"ndim": self.ndim}

    @classmethod
    def _from_arrays(cls, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> CPTensor:
        return cls(arrays["weights"], [arrays[f"factor_{k}"] for k in range(int(meta["ndim"]))])
