"""Block term format: a sum of Tucker terms (survey Sec. II-A.4, eq. 5; De Lathauwer 2008).

``X = sum_{r=1}^{R} G_r ×_0 A_r^(0) ×_1 A_r^(1) ··· ×_{d-1} A_r^(d-1)``: each term is a
:class:`~tensornet.formats.tucker.TuckerTensor` with its own (small) core. With all term ranks
1 it is a CP tensor; with one term it is a Tucker tensor. For a 3-way tensor with terms of
multilinear rank ``(L, M, N)`` it stores ``R (IL + JM + KN + LMN)`` numbers.

Norms and inner products are sums of the terms' structured Tucker inner products; the dense
tensor is never formed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._validation import check_array
from .base import StructuredTensor
from .tucker import TuckerTensor

__all__ = ["BTDTensor"]


class BTDTensor(StructuredTensor):
    """A tensor in block term format: a sum of Tucker terms of the same shape.

    Parameters
    ----------
    terms : sequence of TuckerTensor or (core, factors) pairs
        The terms (at least one); every term must have the same shape.

    Attributes
    ----------
    terms : list of TuckerTensor
    info : dict
        Report of the algorithm that produced the tensor.

    Examples
    --------
    >>> import numpy as np
    >>> term = (np.ones((1, 1)), [np.ones((2, 1)), np.ones((2, 1))])
    >>> BTDTensor([term, term]).full()
    array([[2., 2.],
           [2., 2.]])
    """

    def _scale_by(self, factor: float) -> None:
        """Multiply the represented tensor by ``factor`` in place (every term's core)."""
        for term in self.terms:
            term._scale_by(factor)

    def _balanced(self) -> tuple[BTDTensor, int] | None:
        """Balanced copy of every term, their cores brought to the largest term's exponent."""
        parts = [t._balanced() for t in self.terms]
        if all(p is None for p in parts):
            return None
        parts = [
            p if p is not None else (TuckerTensor._from_arrays(t._arrays(), t._metadata()), 0)
            for p, t in zip(parts, self.terms, strict=True)
        ]
        top = max(k for _, k in parts)
        for term, k in parts:
            term._scale_by(math.ldexp(1.0, k - top))
        return BTDTensor([term for term, _ in parts]), top

    def __init__(self, terms: Sequence[TuckerTensor | tuple[np.ndarray, Sequence[np.ndarray]]]):
        if isinstance(terms, np.ndarray) or not isinstance(terms, Sequence) or not terms:
            raise ValueError("terms must be a non-empty sequence of Tucker terms")
        out = []
        for r, term in enumerate(terms):
            if not isinstance(term, TuckerTensor):
                if not isinstance(term, Sequence) or len(term) != 2:
                    raise TypeError(f"terms[{r}] must be a TuckerTensor or a (core, factors) pair")
                term = TuckerTensor(check_array(term[0], f"terms[{r}] core"), term[1])
            if out and term.shape != out[0].shape:
                raise ValueError(
                    f"terms[{r}] has shape {term.shape}, expected {out[0].shape} like terms[0]"
                )
            out.append(term)
        self.terms = out
        self.info: dict[str, Any] = {}

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the represented tensor."""
        return self.terms[0].shape

    @property
    def n_terms(self) -> int:
        """Number of terms ``R``."""
        return len(self.terms)

    @property
    def term_ranks(self) -> tuple[tuple[int, ...], ...]:
        """Multilinear rank of every term."""
        return tuple(t.ranks for t in self.terms)

    @property
    def ranks(self) -> tuple[int, ...]:
        """The terms' multilinear ranks, concatenated (``n_terms * ndim`` integers)."""
        return tuple(r for t in self.terms for r in t.ranks)

    def _full(self) -> np.ndarray:
        out = self.terms[0]._full()
        for t in self.terms[1:]:
            out = out + t._full()
        return out

    def norm(self) -> float:
        """Frobenius norm ``sqrt(sum_{r,s} <T_r, T_s>)`` from the terms' Tucker inner products.

        Returns
        -------
        float
        """
        sq = 0.0
        for r, a in enumerate(self.terms):
            sq += a.inner(a)
            for b in self.terms[r + 1 :]:
                sq += 2.0 * a.inner(b)
        return float(np.sqrt(max(sq, 0.0)))

    def inner(self, other: StructuredTensor | np.ndarray) -> float:
        """Frobenius inner product: the sum of the terms' inner products with ``other``.

        Parameters
        ----------
        other : StructuredTensor or array_like
            A tensor of the same shape (BTD, Tucker, CP or dense).

        Returns
        -------
        float
        """
        if isinstance(other, BTDTensor):
            self._check_same_shape(other.shape, "other")
            return float(sum(a.inner(b) for a in self.terms for b in other.terms))
        if not isinstance(other, StructuredTensor):
            other = check_array(other, "other")
        return float(sum(t.inner(other) for t in self.terms))

    @property
    def n_params(self) -> int:
        """Sum over the terms of ``prod_k R_k + sum_k I_k R_k``."""
        return int(sum(t.n_params for t in self.terms))

    def _arrays(self) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for r, t in enumerate(self.terms):
            out.update({f"term_{r}_{k}": a for k, a in t._arrays().items()})
        return out

    def _metadata(self) -> dict[str, Any]:
        return {"terms": [t._metadata() for t in self.terms]}

    @classmethod
    def _from_arrays(cls, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> BTDTensor:
        terms = []
        for r, term_meta in enumerate(meta["terms"]):
            prefix = f"term_{r}_"
            sub = {k[len(prefix) :]: a for k, a in arrays.items() if k.startswith(prefix)}
            terms.append(TuckerTensor._from_arrays(sub, term_meta))
        return cls(terms)
