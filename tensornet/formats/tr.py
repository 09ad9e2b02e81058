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

import numpy as np

from .tt import CoreChainTensor

__all__ = ["TRTensor"]


class TRTensor(CoreChainTensor):
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

    _ring = True

    @property
    def ranks(self) -> tuple[int, ...]:
        """The ``d + 1`` TR ranks ``(r_0, r_1, ..., r_{d-1}, r_d = r_0)``."""
        return tuple(g.shape[0] for g in self.cores) + (self.cores[0].shape[0],)

    def _full(self) -> np.ndarray:
        return np.einsum("aia->i", self._chain_product()).reshape(self.shape)

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
