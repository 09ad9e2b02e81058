"""Sums of multidimensional Kronecker products (survey eq. 11-13; Hameed et al. 2022).

A :class:`KronTensor` of Kronecker rank ``R`` is

.. math::

    \\mathcal{X} = \\sum_{r=1}^{R} \\mathcal{A}_r \\otimes \\mathcal{B}_r,
    \\qquad \\mathcal{A}_r \\in \\mathbb{R}^{J_1 \\times \\cdots \\times J_N},\\;
    \\mathcal{B}_r \\in \\mathbb{R}^{K_1 \\times \\cdots \\times K_N},

with the multidimensional Kronecker product of :func:`tensornet.algebra.mkron` (survey eq. 11):
``(A ⊗ B)[i_1, ..., i_N] = A[i_1 // K_1, ..., i_N // K_N] · B[i_1 % K_1, ..., i_N % K_N]``, so the
tensor has shape ``(J_1 K_1, ..., J_N K_N)``. For ``N = 2`` this is the matrix Kronecker product
and the format is the Kronecker product decomposition (KPD) of Van Loan and Pitsianis (1993).

The format stores ``R (prod J + prod K)`` numbers; its norm and inner products are computed from
the ``R x R`` Gram matrices of the factors without forming the dense tensor.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import check_array
from .base import StructuredTensor

__all__ = ["KronTensor"]


class KronTensor(StructuredTensor):
    """A sum of ``R`` multidimensional Kronecker products ``sum_r A_r ⊗ B_r`` (survey eq. 11-13).

    Parameters
    ----------
    a_factors : array_like, shape (R, J_1, ..., J_N)
        The left factors ``A_r`` stacked along the first axis (a single ``A`` of shape
        ``(J_1, ..., J_N)`` is not accepted: add the leading axis of length 1).
    b_factors : array_like, shape (R, K_1, ..., K_N)
        The right factors ``B_r``, stacked the same way.

    Attributes
    ----------
    a_factors, b_factors : numpy.ndarray
        The stacked factors.
    info : dict
        Filled by :func:`tensornet.decompositions.gkpd`: ``error`` (absolute Frobenius error),
        ``rel_error``, ``singular_values`` (all singular values of the rearranged matrix) and
        ``max_rank`` (the full Kronecker rank ``min(prod J, prod K)``).

    Raises
    ------
    ValueError
        If the two stacks do not have the same number of terms or the same number of modes.

    Examples
    --------
    >>> import numpy as np
    >>> k = KronTensor(np.ones((1, 2, 3)), np.ones((1, 4, 5)))
    >>> k.shape, k.n_params
    ((8, 15), 26)
    """

    _scale_attr = "a_factors"

    def __init__(self, a_factors: np.ndarray, b_factors: np.ndarray) -> None:
        a = check_array(a_factors, "a_factors", min_ndim=2)
        b = check_array(b_factors, "b_factors", min_ndim=2)
        if a.ndim != b.ndim:
            raise ValueError(
                f"a_factors (shape {a.shape}) and b_factors (shape {b.shape}) must have the same "
                "ndim: (R, J_1, ..., J_N) and (R, K_1, ..., K_N)"
            )
        if a.shape[0] != b.shape[0]:
            raise ValueError(
                f"a_factors holds {a.shape[0]} terms but b_factors holds {b.shape[0]}; "
                "both stacks need the Kronecker rank R as their first axis"
            )
        dtype = np.result_type(a, b)
        self.a_factors = a.astype(dtype, copy=False)
        self.b_factors = b.astype(dtype, copy=False)
        self.info: dict[str, Any] = {}

    # ----------------------------------------------------------------- structure
    @property
    def a_shape(self) -> tuple[int, ...]:
        """Shape ``(J_1, ..., J_N)`` of each left factor."""
        return tuple(self.a_factors.shape[1:])

    @property
    def b_shape(self) -> tuple[int, ...]:
        """Shape ``(K_1, ..., K_N)`` of each right factor."""
        return tuple(self.b_factors.shape[1:])

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape ``(J_1 K_1, ..., J_N K_N)`` of the represented tensor."""
        return tuple(j * k for j, k in zip(self.a_shape, self.b_shape, strict=False))

    @property
    def ranks(self) -> tuple[int, ...]:
        """``(R,)``: the number of Kronecker terms."""
        return (int(self.a_factors.shape[0]),)

    @property
    def n_params(self) -> int:
        """``R (prod J_n + prod K_n)`` stored numbers."""
        return int(self.a_factors.size + self.b_factors.size)

    # ----------------------------------------------------------------- dense and norms
    def _full(self) -> np.ndarray:
        n = len(self.a_shape)
        # (J_1..J_N, K_1..K_N) summed over r, then interleave (j_1, k_1, ..., j_N, k_N) so that
        # the A index varies slowest in every mode, as in mkron.
        pair = np.tensordot(self.a_factors, self.b_factors, axes=([0], [0]))
        order = [ax for k in range(n) for ax in (k, n + k)]
        return pair.transpose(order).reshape(self.shape)

    def _gram(self) -> tuple[np.ndarray, np.ndarray]:
        r = self.ranks[0]
        a = self.a_factors.reshape(r, -1)
        b = self.b_factors.reshape(r, -1)
        return a @ a.T, b @ b.T

    def norm(self) -> float:
        """Frobenius norm from the Gram matrices: ``||X||^2 = sum_{r,s} <A_r,A_s> <B_r,B_s>``.

        Returns
        -------
        float
        """
        ga, gb = self._gram()
        return float(np.sqrt(max(float(np.sum(ga * gb)), 0.0)))

    def inner(self, other: StructuredTensor | np.ndarray) -> float:
        """Frobenius inner product; structured for a KronTensor ``other`` with equal factor shapes.

        Parameters
        ----------
        other : StructuredTensor or array_like
            A tensor of the same shape.

        Returns
        -------
        float
        """
        if (
            isinstance(other, KronTensor)
            and other.a_shape == self.a_shape
            and other.b_shape == self.b_shape
        ):
            r, s = self.ranks[0], other.ranks[0]
            ga = self.a_factors.reshape(r, -1) @ other.a_factors.reshape(s, -1).T
            gb = self.b_factors.reshape(r, -1) @ other.b_factors.reshape(s, -1).T
            return float(np.sum(ga * gb))
        return super().inner(other)

    def __getitem__(self, index: tuple[int, ...]) -> float:
        """One element ``X[i_1, ..., i_N] = sum_r A_r[i // K] B_r[i % K]`` (integer index only).

        Parameters
        ----------
        index : tuple of int
            One integer per mode.

        Returns
        -------
        float
        """
        idx = self._element_index(index)
        ia = (slice(None), *(i // k for i, k in zip(idx, self.b_shape, strict=False)))
        ib = (slice(None), *(i % k for i, k in zip(idx, self.b_shape, strict=False)))
        return float(np.dot(self.a_factors[ia], self.b_factors[ib]))

    # ----------------------------------------------------------------- storage
    def _arrays(self) -> dict[str, np.ndarray]:
        return {"a_factors": self.a_factors, "b_factors": self.b_factors}

    @classmethod
    def _from_arrays(cls, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> KronTensor:
        return cls(arrays["a_factors"], arrays["b_factors"])
