"""The tensor-ring (TR) format (survey eq. 9; Zhao et al., arXiv:1606.05535, 2016).

A :class:`TRTensor` stores ``d`` cores ``G_k`` of shape ``(r_{k-1}, n_k, r_k)`` with the ring
closed, ``r_d = r_0``, and represents

.. math::

    \\mathcal{X}[i_1, \\ldots, i_d] =
    \\operatorname{tr}\\big(G_1[:, i_1, :] \\, G_2[:, i_2, :] \\cdots G_d[:, i_d, :]\\big).

With ``r_0 = 1`` the trace is trivial and the ring is a tensor train with the same cores.
The norm is computed through the ring of transfer matrices
``E_k = sum_i G_k[:, i, :] ⊗ G_k[:, i, :]`` (``r_{k-1}^2 x r_k^2``):
``||X||_F^2 = tr(E_1 E_2 ... E_d)``, contracted core by core in ``O(d n r_0^2 r^3)`` without
forming the dense tensor or any ``E_k``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._validation import check_array
from .base import StructuredTensor
from .tt import check_chain, check_index_batch, gather_chain

__all__ = ["TRTensor"]


class TRTensor(StructuredTensor):
    """A tensor in tensor-ring format (survey eq. 9; Zhao et al. 2016).

    Parameters
    ----------
    cores : sequence of array_like
        ``d >= 1`` cores of shape ``(r_{k-1}, n_k, r_k)`` with ``r_d = r_0``.
    copy : bool
        Whether the cores are copied.

    Attributes
    ----------
    cores : list of numpy.ndarray
        The cores.
    info : dict
        Filled by :func:`tensornet.decompositions.tr_svd` (``rel_error``) and
        :func:`tensornet.decompositions.tr_als` (``rel_error``, ``history``, ``n_iter``, ...).

    Raises
    ------
    ValueError
        If a core is not 3-D, neighbouring ranks disagree or the ring does not close.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> t = TRTensor([rng.standard_normal(s) for s in [(2, 3, 3), (3, 4, 2), (2, 5, 2)]])
    >>> t.shape, t.ranks, t.n_params
    ((3, 4, 5), (2, 3, 2, 2), 62)
    >>> bool(np.isclose(t.norm(), np.linalg.norm(t.full())))
    True
    """

    def __init__(self, cores: Sequence[np.ndarray], copy: bool = True) -> None:
        if isinstance(cores, np.ndarray) or not isinstance(cores, Sequence) or len(cores) == 0:
            raise TypeError("cores must be a non-empty sequence of 3-D arrays")
        checked = [check_array(g, f"cores[{k}]", ndim=3) for k, g in enumerate(cores)]
        check_chain(checked, ring=True)
        dtype = np.result_type(*checked)
        self.cores = [np.array(g, dtype=dtype, copy=copy) for g in checked]
        self.info: dict[str, Any] = {}

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape ``(n_1, ..., n_d)`` of the represented tensor."""
        return tuple(g.shape[1] for g in self.cores)

    @property
    def ranks(self) -> tuple[int, ...]:
        """The ``d + 1`` TR ranks ``(r_0, r_1, ..., r_{d-1}, r_d = r_0)``."""
        return tuple(g.shape[0] for g in self.cores) + (self.cores[0].shape[0],)

    def _full(self) -> np.ndarray:
        r0 = self.cores[0].shape[0]
        res = self.cores[0].reshape(-1, self.cores[0].shape[2])
        for g in self.cores[1:]:
            res = (res @ g.reshape(g.shape[0], -1)).reshape(-1, g.shape[2])
        res = res.reshape(r0, -1, r0)
        return np.einsum("aia->i", res).reshape(self.shape)

    def _arrays(self) -> dict[str, np.ndarray]:
        return {f"core_{k}": g for k, g in enumerate(self.cores)}

    def _metadata(self) -> dict[str, Any]:
        return {"n_cores": len(self.cores)}

    @classmethod
    def _from_arrays(cls, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> TRTensor:
        return cls([arrays[f"core_{k}"] for k in range(int(meta["n_cores"]))], copy=False)

    def __getitem__(self, index: Any) -> float:
        """The element ``tr(G_1[:, i_1, :] ... G_d[:, i_d, :])`` (``O(r_0 d r^2)``)."""
        index = self._element_index(index, hint="; use gather() for a batch")
        return float(self.gather(np.asarray(index, dtype=np.int64)[None, :])[0])

    def gather(self, index: Any) -> np.ndarray:
        """Elements at a batch of multi-indices (the Numba kernel of the TT format).

        Parameters
        ----------
        index : array_like of int, shape (B, d)
            One multi-index per row; negative entries count from the end.

        Returns
        -------
        numpy.ndarray, shape (B,)
        """
        idx = check_index_batch(index, self.shape)
        return gather_chain(self.cores, idx).astype(self.dtype, copy=False)

    def norm(self) -> float:
        """Frobenius norm through the ring of transfer matrices (module notes), never densifying.

        Returns
        -------
        float
        """
        g0 = self.cores[0]
        # m[a, a', b, b'] = sum over the modes so far of G[a .. b] G[a' .. b']
        m = np.tensordot(g0, g0, axes=(1, 1)).transpose(0, 2, 1, 3)
        for g in self.cores[1:]:
            tmp = np.tensordot(m, g, axes=(2, 0))  # (a, a', b', i, c)
            m = np.tensordot(tmp, g, axes=([2, 3], [0, 1]))  # (a, a', c, c')
        value = float(np.einsum("abab->", m))
        return float(np.sqrt(max(value, 0.0)))
