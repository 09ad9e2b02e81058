"""TT-matrix (TT-operator) format (Oseledets 2011, Sec. 5; Novikov et al., NeurIPS 2015).

A :class:`TTMatrix` with input modes ``(m_1, ..., m_d)`` and output modes ``(n_1, ..., n_d)``
stores cores ``G_k`` of shape ``(r_{k-1}, m_k, n_k, r_k)`` (``r_0 = r_d = 1``) and represents the
matrix ``W`` of shape ``(M, N) = (prod m_k, prod n_k)`` with

.. math::

    W[(i_1, \\ldots, i_d), (j_1, \\ldots, j_d)] = G_1[:, i_1, j_1, :] \\cdots G_d[:, i_d, j_d, :],

row and column multi-indices in C order. **Orientation**: ``m`` is the *input* side. The forward
pass of a TT layer is ``y = x @ W`` for a batch ``x`` of shape ``(B, M)``, computed by
:meth:`TTMatrix.matmat` core by core without forming ``W``; :meth:`TTMatrix.rmatmat` computes
``y @ W^T``.

Contraction
-----------
The batch tensor ``(B, m_1, ..., m_d)`` is contracted with one core at a time (a single BLAS
``tensordot`` per core). Sweeping left to right, step ``k`` costs
``B prod(m_{>k}) prod(n_{<k}) m_k r_{k-1} n_k r_k`` multiply-adds; sweeping right to left mirrors
it. Both totals are computed and the cheaper direction is used. BLAS ``tensordot`` beats
``numpy.einsum`` in the same core-by-core order (``benchmarks/bench_tt_tr.py``); a Numba kernel
written for this product (``benchmarks/ttm_numba_candidate.py``) wins only in float64, not in
float32, the training precision, so the BLAS path is kept: one implementation, no compile on
first use (``benchmarks/bench_ttm_matmat.py``; figures on the Performance page).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._validation import check_array, exact_size
from .base import StructuredTensor

__all__ = ["TTMatrix"]


class TTMatrix(StructuredTensor):
    """A matrix in TT-matrix format, cores ``(r_{k-1}, m_k, n_k, r_k)`` (module notes).

    Parameters
    ----------
    cores : sequence of array_like
        ``d >= 1`` four-way cores with ``r_0 = r_d = 1``.
    copy : bool
        Whether the cores are copied.

    Attributes
    ----------
    cores : list of numpy.ndarray
        The cores.
    info : dict
        Filled by :func:`tensornet.decompositions.tt_matrix_svd` (``rel_error``, ``ranks``).

    Raises
    ------
    ValueError
        If a core is not 4-D, boundary ranks are not 1 or neighbouring ranks disagree.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> w = TTMatrix([rng.standard_normal((1, 2, 3, 2)), rng.standard_normal((2, 4, 5, 1))])
    >>> w.shape, w.in_modes, w.out_modes
    ((8, 15), (2, 4), (3, 5))
    >>> x = rng.standard_normal((7, 8))
    >>> bool(np.allclose(w.matmat(x), x @ w.full()))
    True
    """

    _scale_attr = "cores"

    def __init__(self, cores: Sequence[np.ndarray], copy: bool = True) -> None:
        if isinstance(cores, np.ndarray) or not isinstance(cores, Sequence) or len(cores) == 0:
            raise TypeError("cores must be a non-empty sequence of 4-D arrays")
        checked = [check_array(g, f"cores[{k}]", ndim=4) for k, g in enumerate(cores)]
        for k in range(len(checked) - 1):
            if checked[k].shape[3] != checked[k + 1].shape[0]:
                raise ValueError(
                    f"cores[{k}] has right rank {checked[k].shape[3]} but cores[{k + 1}] has "
                    f"left rank {checked[k + 1].shape[0]}"
                )
        if checked[0].shape[0] != 1 or checked[-1].shape[3] != 1:
            raise ValueError(
                f"TT-matrix boundary ranks must be 1, got {checked[0].shape[0]} and "
                f"{checked[-1].shape[3]}"
            )
        dtype = np.result_type(*checked)
        self.cores = [np.array(g, dtype=dtype, copy=copy) for g in checked]
        self.info: dict[str, Any] = {}

    # ------------------------------------------------------------------ format protocol
    @property
    def in_modes(self) -> tuple[int, ...]:
        """Input modes ``(m_1, ..., m_d)`` (rows of :meth:`full`)."""
        return tuple(g.shape[1] for g in self.cores)

    @property
    def out_modes(self) -> tuple[int, ...]:
        """Output modes ``(n_1, ..., n_d)`` (columns of :meth:`full`)."""
        return tuple(g.shape[2] for g in self.cores)

    @property
    def shape(self) -> tuple[int, ...]:
        """Matrix shape ``(prod m_k, prod n_k)``."""
        return (exact_size(self.in_modes), exact_size(self.out_modes))

    @property
    def ranks(self) -> tuple[int, ...]:
        """All ``d + 1`` TT ranks ``(1, r_1, ..., r_{d-1}, 1)``."""
        return (1,) + tuple(g.shape[3] for g in self.cores)

    def _full(self) -> np.ndarray:
        d = len(self.cores)
        res = self.cores[0].reshape(-1, self.cores[0].shape[3])
        for g in self.cores[1:]:
            res = (res @ g.reshape(g.shape[0], -1)).reshape(-1, g.shape[3])
        t = res.reshape([s for g in self.cores for s in g.shape[1:3]])
        order = list(range(0, 2 * d, 2)) + list(range(1, 2 * d, 2))
        return t.transpose(order).reshape(self.shape)

    def _arrays(self) -> dict[str, np.ndarray]:
        return {f"core_{k}": g for k, g in enumerate(self.cores)}

    def _metadata(self) -> dict[str, Any]:
        return {"n_cores": len(self.cores)}

    @classmethod
    def _from_arrays(cls, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> TTMatrix:
        return cls([arrays[f"core_{k}"] for k in range(int(meta["n_cores"]))], copy=False)

    # ------------------------------------------------------------------ products
    def matmat(self, x: np.ndarray) -> np.ndarray:
        """``x @ W`` for a batch ``x`` of shape ``(B, prod m)``, core by core (module notes).

        Parameters
        ----------
        x : array_like, shape (B, prod(in_modes))
            The batch (a 1-D vector is treated as ``B = 1`` and returned 1-D).

        Returns
        -------
        numpy.ndarray, shape (B, prod(out_modes))
        """
        return _contract(self.cores, x, self.in_modes, self.out_modes, "x")

    def rmatmat(self, y: np.ndarray) -> np.ndarray:
        """``y @ W^T`` for a batch ``y`` of shape ``(B, prod n)`` (the transpose product).

        Parameters
        ----------
        y : array_like, shape (B, prod(out_modes))
            The batch (1-D accepted as for :meth:`matmat`).

        Returns
        -------
        numpy.ndarray, shape (B, prod(in_modes))
        """
        cores_t = [g.transpose(0, 2, 1, 3) for g in self.cores]
        return _contract(cores_t, y, self.out_modes, self.in_modes, "y")


def _sweep_costs(
    ranks: Sequence[int], ins: Sequence[int], outs: Sequence[int], batch: int
) -> tuple[float, float]:
    """Multiply-add counts of the left-to-right and right-to-left core-by-core sweeps."""
    d = len(ins)
    ltr = rtl = 0.0
    for k in range(d):
        core = ins[k] * outs[k] * ranks[k] * ranks[k + 1]
        ltr += batch * float(np.prod(ins[k + 1 :])) * float(np.prod(outs[:k])) * core
        rtl += batch * float(np.prod(ins[:k])) * float(np.prod(outs[k + 1 :])) * core
    return ltr, rtl


def _contract(
    cores: Sequence[np.ndarray],
    x: Any,
    ins: tuple[int, ...],
    outs: tuple[int, ...],
    name: str,
) -> np.ndarray:
    """``x @ W`` for TT-matrix cores ``(r, m_k, n_k, r')`` by the cheaper sweep direction."""
    x = check_array(x, name)
    vector = x.ndim == 1
    if vector:
        x = x[None, :]
    size_in = int(np.prod(ins))
    if x.ndim != 2 or x.shape[1] != size_in:
        raise ValueError(f"{name} must have shape (B, {size_in}), got {x.shape}")
    batch, d = x.shape[0], len(cores)
    ranks = [1] + [g.shape[3] for g in cores]
    ltr, rtl = _sweep_costs(ranks, ins, outs, batch)
    if ltr <= rtl:
        # state (B, m_k, ..., m_d, n_1, ..., n_{k-1}, r_{k-1})
        t = x.reshape((batch,) + ins + (1,))
        for g in cores:
            t = np.tensordot(t, g, axes=([1, t.ndim - 1], [1, 0]))
        out = t.reshape(batch, -1)
    else:
        # state (B, m_1, ..., m_k, r_k, n_d, ..., n_{k+1}): output modes gathered in reverse
        t = x.reshape((batch,) + ins + (1,))
        for k in range(d - 1, -1, -1):
            t = np.tensordot(t, cores[k], axes=([k + 1, k + 2], [1, 3]))
            t = np.moveaxis(t, -2, k + 1)  # (B, m_<k, r_{k-1}, n_d, ..., n_k)
        t = t.reshape((batch,) + tuple(reversed(outs)))
        out = t.transpose([0] + list(range(d, 0, -1))).reshape(batch, -1)
    return out[0] if vector else out
