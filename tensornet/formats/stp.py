"""Semi-tensor-product formats: STTucker, STT and STR (survey eq. 14-16; Zhao et al. 2021).

The left semi-tensor product (STP) of ``X (m x n)`` and ``W (p x q)`` is
``X ⋉ W = (X ⊗ I_{l/n})(W ⊗ I_{l/p})`` with ``l = lcm(n, p)``
(:func:`tensornet.algebra.stp`). The STP formats replace the ordinary product of a Tucker, TT or
TR decomposition by the STP, so that a factor or core may be ``t`` times narrower in every bond
than its neighbour expects: it is implicitly expanded by ``⊗ I_t``.

What comes from where
---------------------
*From the survey / Zhao et al. (arXiv 2109.15200)*: the STP, the semi-tensor mode product
``G ⋉_n A = fold_n(A ⋉ G_(n))`` and the STTucker form of eq. 16 with factors of size
``(I_n/t) x (R_n/t)``; the idea of STT and STR as TT and TR with the products between cores
replaced by STPs; the STTucker parameter count ``prod R_n + sum I_n R_n / t^2``.

*Our reading* (the source paper's full definitions of STT and STR were not available to us; see
``docs/guide/stp-formats.md``): a uniform ``t``; the **first** core of STT/STR keeps full bond
sizes and every later core has both bonds divided by ``t``; STT's chain ends in a ``1 x t`` row
whose extra index ``s`` is the fastest part of the first mode; STR closes the chain by a trace.

Exact equivalences we derive (and test), which make the formats fittable by ordinary algorithms:

* ``STTucker(G, A, t)`` = ``Tucker(G, A^(n) ⊗ I_t)`` = the Tucker tensor of the tensor with
  every mode split as ``(I_n/t, t)``, core ``G`` split the same way, factors ``A^(n)`` on the
  ``I_n/t`` sub-modes and identities on the ``t`` sub-modes
  (:meth:`STTuckerTensor.to_split_tucker`);
* ``STT(G_1, ..., G_d; t)`` = ``TT`` with ranks ``r_k / t`` whose first core is ``G_1`` re-indexed
  from ``(I_1/t, r_1)`` to ``(I_1, r_1/t)`` (:meth:`STTTensor.to_tt`);
* ``STR(G_1, ..., G_d; t)`` = ``TR`` with ranks ``r_k / t`` whose first core is the partial trace
  ``G~_1[a', i, b'] = sum_s G_1[a' t + s, i, b' t + s]`` (:meth:`STRTensor.reduced_cores`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._validation import check_array, check_int
from ..algebra import kron, stp, stp_mode_dot
from .base import StructuredTensor
from .tr import TRTensor
from .tt import TTTensor
from .tucker import TuckerTensor

__all__ = ["STTuckerTensor", "STTTensor", "STRTensor", "stp_chain_rows"]


def _check_t(t: Any) -> int:
    return check_int(t, "t", minimum=1)


def stp_chain_rows(rows: np.ndarray, cores: Sequence[np.ndarray]) -> np.ndarray:
    """Extend a stack of row vectors by the STP with every slice of each core in turn.

    ``rows`` has shape ``(N, w)``; each core ``G`` of shape ``(p, I, q)`` turns row ``v`` into the
    ``I`` rows ``v ⋉ G[:, i, :]`` (``i`` fastest in the new row index). Because the STP acts on
    the rows of its left factor independently, the whole stack is one :func:`~tensornet.algebra.stp`
    with the core unfolded as ``(p, I q)``.

    Parameters
    ----------
    rows : numpy.ndarray, shape (N, w)
        The current rows.
    cores : sequence of numpy.ndarray, each (p_k, I_k, q_k)
        The cores; ``p_k`` must divide the current width.

    Returns
    -------
    numpy.ndarray, shape (N prod I_k, w_final)
    """
    w = rows
    for g in cores:
        p, size, q = g.shape
        y = stp(w, g.reshape(p, size * q), check_finite=False)  # (N, I q l/p)
        w = y.reshape(w.shape[0] * size, -1)
    return w


# --------------------------------------------------------------------------------- STTucker
class STTuckerTensor(StructuredTensor):
    """Semi-tensor Tucker ``X = G ⋉_1 A^(1) ⋉_2 ... ⋉_N A^(N)`` (survey eq. 16).

    The semi-tensor mode product ``G ⋉_n A = fold_n(A ⋉ G_(n))`` with ``A`` of shape
    ``(I_n/t, R_n/t)`` equals the ordinary mode product with ``A ⊗ I_t``, so
    ``X[i] = sum_r G[r] prod_n (A^(n) ⊗ I_t)[i_n, r_n]``.

    Parameters
    ----------
    core : array_like, shape (R_1, ..., R_N)
        Core tensor; every ``R_n`` divisible by ``t``.
    factors : sequence of array_like
        ``A^(n)`` of shape ``(I_n/t, R_n/t)``.
    t : int
        The STP factor ``t >= 1`` (``t = 1`` is the ordinary Tucker format).

    Attributes
    ----------
    core : numpy.ndarray
    factors : list of numpy.ndarray
    t : int
    info : dict
        Filled by :func:`tensornet.decompositions.st_tucker`.

    Raises
    ------
    ValueError
        If ``t`` does not divide a core size or a factor has the wrong number of columns.
    """

    _scale_attr = "core"

    def __init__(self, core: np.ndarray, factors: Sequence[np.ndarray], t: int) -> None:
        self.t = _check_t(t)
        core = check_array(core, "core", min_ndim=1)
        if len(factors) != core.ndim:
            raise ValueError(
                f"factors has length {len(factors)} but core has ndim={core.ndim} "
                f"(shape {core.shape})"
            )
        mats = []
        for n, a in enumerate(factors):
            a = check_array(a, f"factors[{n}]", ndim=2)
            if core.shape[n] % self.t:
                raise ValueError(
                    f"t={self.t} does not divide core.shape[{n}]={core.shape[n]} (R_n / t must "
                    "be an integer)"
                )
            if a.shape[1] != core.shape[n] // self.t:
                raise ValueError(
                    f"factors[{n}] has {a.shape[1]} columns, expected R_{n} / t = "
                    f"{core.shape[n]} / {self.t} = {core.shape[n] // self.t}"
                )
            mats.append(a)
        dtype = np.result_type(core, *mats)
        self.core = core.astype(dtype, copy=False)
        self.factors = [a.astype(dtype, copy=False) for a in mats]
        self.info: dict[str, Any] = {}

    @property
    def shape(self) -> tuple[int, ...]:
        """``(I_1, ..., I_N)`` with ``I_n = t * factors[n].shape[0]``."""
        return tuple(self.t * a.shape[0] for a in self.factors)

    @property
    def ranks(self) -> tuple[int, ...]:
        """``(R_1, ..., R_N)``: the core's shape."""
        return tuple(self.core.shape)

    @property
    def n_params(self) -> int:
        """``prod R_n + sum_n (I_n/t)(R_n/t) = prod R_n + sum_n I_n R_n / t^2``."""
        return int(self.core.size + sum(a.size for a in self.factors))

    def _full(self) -> np.ndarray:
        out = self.core
        for n, a in enumerate(self.factors):
            out = stp_mode_dot(out, a, n)
        return out

    def to_tucker(self) -> TuckerTensor:
        """The same tensor as an ordinary Tucker tensor with factors ``A^(n) ⊗ I_t``.

        Returns
        -------
        TuckerTensor
        """
        eye = np.eye(self.t, dtype=self.core.dtype)
        return TuckerTensor(self.core, [kron(a, eye) for a in self.factors])

    def to_split_tucker(self) -> TuckerTensor:
        """The Tucker tensor of the ``2N``-way split ``(I_1/t, t, ..., I_N/t, t)`` (our D3).

        The core is ``G`` reshaped to ``(R_1/t, t, ..., R_N/t, t)``, the factors are ``A^(n)``
        on the even modes and identities (``None``) on the ``t`` sub-modes. Its ``full()`` is
        ``self.full().reshape(split)``.

        Returns
        -------
        TuckerTensor
        """
        split = [s for r in self.core.shape for s in (r // self.t, self.t)]
        factors: list[np.ndarray | None] = []
        for a in self.factors:
            factors += [a, None]
        return TuckerTensor(self.core.reshape(split), factors)

    def norm(self) -> float:
        """Frobenius norm without densifying (through :meth:`to_split_tucker`).

        Returns
        -------
        float
        """
        return self.to_split_tucker().norm()

    def _arrays(self) -> dict[str, np.ndarray]:
        out = {"core": self.core}
        out.update({f"factor_{n}": a for n, a in enumerate(self.factors)})
        return out

    def _metadata(self) -> dict[str, Any]:
        return {"t": self.t}

    @classmethod
    def _from_arrays(cls, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> STTuckerTensor:
        core = arrays["core"]
        return cls(core, [arrays[f"factor_{n}"] for n in range(core.ndim)], int(meta["t"]))


# --------------------------------------------------------------------------------- STT
def _check_cores(cores: Any) -> list[np.ndarray]:
    if isinstance(cores, np.ndarray) or not isinstance(cores, Sequence) or len(cores) < 2:
        raise TypeError("cores must be a sequence of at least two 3-D arrays")
    return [check_array(g, f"cores[{k}]", ndim=3) for k, g in enumerate(cores)]


def _check_stp_chain(cores: list[np.ndarray], t: int, r_first: int, r_last_full: int) -> None:
    """Bond checks shared by STT and STR: full first core, the rest narrowed by ``t``."""
    if cores[0].shape[0] != r_first:
        raise ValueError(f"cores[0] has shape {cores[0].shape}, expected {r_first} rows")
    if cores[0].shape[2] != t * cores[1].shape[0]:
        raise ValueError(
            f"cores[0].shape[2]={cores[0].shape[2]} must equal t * cores[1].shape[0] = "
            f"{t} * {cores[1].shape[0]} (the first core keeps full bonds, later ones are "
            "narrowed by t)"
        )
    for k in range(1, len(cores) - 1):
        if cores[k].shape[2] != cores[k + 1].shape[0]:
            raise ValueError(
                f"cores[{k}].shape[2]={cores[k].shape[2]} != cores[{k + 1}].shape[0]="
                f"{cores[k + 1].shape[0]}"
            )
    if cores[-1].shape[2] * t != r_last_full:
        raise ValueError(
            f"cores[-1].shape[2]={cores[-1].shape[2]} must equal {r_last_full} / t = "
            f"{r_last_full} / {t} (the chain must close)"
        )


class STTTensor(StructuredTensor):
    """Semi-tensor train: a TT whose core products are semi-tensor products (our reading).

    Cores: ``G_1`` of shape ``(1, I_1/t, r_1)`` and ``G_k`` of shape ``(r_{k-1}/t, I_k, r_k/t)``
    for ``k >= 2``, with ``r_d = t`` (the last core is ``(r_{d-1}/t, I_d, 1)``). The chain

    .. math::

        G_1[i'_1] \\ltimes G_2[i_2] \\ltimes \\cdots \\ltimes G_d[i_d]
        = G_1[i'_1]\\, \\big((G_2[i_2] \\cdots G_d[i_d]) \\otimes I_t\\big)

    is a ``1 x t`` row; its entry ``s`` is ``X[i'_1 t + s, i_2, ..., i_d]``. So the tensor has
    shape ``(t I'_1, I_2, ..., I_d)``. With ``t = 1`` this is the TT format.

    Parameters
    ----------
    cores : sequence of array_like
        ``d >= 2`` cores as above.
    t : int
        The STP factor.

    Attributes
    ----------
    cores : list of numpy.ndarray
    t : int
    info : dict
        Filled by :func:`tensornet.decompositions.stt_svd`.

    Raises
    ------
    ValueError
        If the bonds do not follow the pattern above.
    """

    _scale_attr = "cores"

    def __init__(self, cores: Sequence[np.ndarray], t: int) -> None:
        self.t = _check_t(t)
        checked = _check_cores(cores)
        _check_stp_chain(checked, self.t, r_first=1, r_last_full=self.t)
        dtype = np.result_type(*checked)
        self.cores = [g.astype(dtype, copy=False) for g in checked]
        self.info: dict[str, Any] = {}

    @property
    def shape(self) -> tuple[int, ...]:
        """``(t I'_1, I_2, ..., I_d)``."""
        return (self.t * self.cores[0].shape[1],) + tuple(g.shape[1] for g in self.cores[1:])

    @property
    def ranks(self) -> tuple[int, ...]:
        """Full bond sizes ``(1, r_1, ..., r_{d-1}, t)``; core ``k >= 2`` stores ``r/t`` of them."""
        return (1, self.cores[0].shape[2]) + tuple(self.t * g.shape[2] for g in self.cores[1:])

    @property
    def n_params(self) -> int:
        """``I_1 r_1 / t + sum_{k>=2} I_k r_{k-1} r_k / t^2`` (with ``r_d = t``)."""
        return int(sum(g.size for g in self.cores))

    def _full(self) -> np.ndarray:
        g1 = self.cores[0]
        rows = stp_chain_rows(g1.reshape(g1.shape[1], g1.shape[2]), self.cores[1:])
        # rows: (I'_1 I_2 ... I_d, t); the chain's column s is the fast part of mode 1
        dense = rows.reshape(g1.shape[1], -1, self.t).transpose(0, 2, 1)
        return dense.reshape(self.shape)

    def to_tt(self) -> TTTensor:
        """The same tensor as a TT with ranks ``r_k / t`` (our D2: only ``G_1`` is re-indexed).

        ``G~_1[0, i'_1 t + s, a'] = G_1[0, i'_1, a' t + s]``; the other cores are unchanged, so
        the parameter count is the same.

        Returns
        -------
        TTTensor
        """
        g1 = self.cores[0]
        n1, r1 = g1.shape[1], g1.shape[2]
        first = g1.reshape(n1, r1 // self.t, self.t).transpose(0, 2, 1)
        return TTTensor([first.reshape(1, n1 * self.t, r1 // self.t), *self.cores[1:]])

    @classmethod
    def from_tt(cls, tt: TTTensor, t: int) -> STTTensor:
        """Inverse of :meth:`to_tt`: re-index the first TT core (``t`` must divide ``I_1``).

        Parameters
        ----------
        tt : TTTensor
            A TT with at least 2 cores.
        t : int
            The STP factor.

        Returns
        -------
        STTTensor
        """
        t = _check_t(t)
        g1 = tt.cores[0]
        n1, q = g1.shape[1], g1.shape[2]
        if n1 % t:
            raise ValueError(f"t={t} does not divide the first mode size I_1={n1}")
        first = g1.reshape(n1 // t, t, q).transpose(0, 2, 1).reshape(1, n1 // t, q * t)
        return cls([first, *tt.cores[1:]], t)

    def norm(self) -> float:
        """Frobenius norm without densifying (through :meth:`to_tt`).

        Returns
        -------
        float
        """
        return self.to_tt().norm()

    def _arrays(self) -> dict[str, np.ndarray]:
        return {f"core_{k}": g for k, g in enumerate(self.cores)}

    def _metadata(self) -> dict[str, Any]:
        return {"t": self.t, "n_cores": len(self.cores)}

    @classmethod
    def _from_arrays(cls, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> STTTensor:
        return cls([arrays[f"core_{k}"] for k in range(int(meta["n_cores"]))], int(meta["t"]))


# --------------------------------------------------------------------------------- STR
class STRTensor(StructuredTensor):
    """Semi-tensor ring: a TR whose core products are semi-tensor products (our reading).

    Cores: ``G_1`` of shape ``(r_0, I_1, r_1)`` and ``G_k`` of shape ``(r_{k-1}/t, I_k, r_k/t)``
    for ``k >= 2`` with ``r_d = r_0``. Element:

    .. math::

        X[i_1, \\dots, i_d] = \\operatorname{Tr}\\big(G_1[i_1] \\ltimes G_2[i_2] \\ltimes \\cdots
        \\ltimes G_d[i_d]\\big) = \\operatorname{Tr}\\big(G_1[i_1]\\,((G_2[i_2]\\cdots G_d[i_d])
        \\otimes I_t)\\big).

    With ``t = 1`` this is the TR format.

    Parameters
    ----------
    cores : sequence of array_like
        ``d >= 2`` cores as above.
    t : int
        The STP factor; it divides ``r_0`` and ``r_1``.

    Attributes
    ----------
    cores : list of numpy.ndarray
    t : int
    info : dict
        Filled by :func:`tensornet.decompositions.str_als`.

    Raises
    ------
    ValueError
        If the bonds do not follow the pattern above.
    """

    _scale_attr = "cores"

    def __init__(self, cores: Sequence[np.ndarray], t: int) -> None:
        self.t = _check_t(t)
        checked = _check_cores(cores)
        r0 = checked[0].shape[0]
        if r0 % self.t:
            raise ValueError(f"t={self.t} does not divide the ring rank r_0={r0}")
        _check_stp_chain(checked, self.t, r_first=r0, r_last_full=r0)
        dtype = np.result_type(*checked)
        self.cores = [g.astype(dtype, copy=False) for g in checked]
        self.info: dict[str, Any] = {}

    @property
    def shape(self) -> tuple[int, ...]:
        """``(I_1, ..., I_d)``."""
        return tuple(g.shape[1] for g in self.cores)

    @property
    def ranks(self) -> tuple[int, ...]:
        """Full bond sizes ``(r_0, r_1, ..., r_{d-1}, r_0)``."""
        g1 = self.cores[0]
        return (g1.shape[0], g1.shape[2]) + tuple(self.t * g.shape[2] for g in self.cores[1:])

    @property
    def n_params(self) -> int:
        """``r_0 I_1 r_1 + sum_{k>=2} I_k r_{k-1} r_k / t^2``."""
        return int(sum(g.size for g in self.cores))

    def _full(self) -> np.ndarray:
        g1 = self.cores[0]
        r0, n1, _ = g1.shape
        rows = stp_chain_rows(g1.transpose(1, 0, 2).reshape(n1 * r0, -1), self.cores[1:])
        # rows: ((i_1, a), i_2, ..., i_d) x r_0 -> trace over a and the final column
        chained = rows.reshape(n1, r0, -1, r0)
        return np.einsum("iaja->ij", chained).reshape(self.shape)

    def reduced_cores(self) -> list[np.ndarray]:
        """TR cores with ranks ``r_k / t`` representing the same tensor (our D4).

        The first core becomes the partial trace ``G~_1[a', i, b'] = sum_s G_1[a' t + s, i,
        b' t + s]`` (because ``Tr(G (M ⊗ I_t)) = Tr(G~ M)``); the others are unchanged.

        Returns
        -------
        list of numpy.ndarray
        """
        g1 = self.cores[0]
        r0, n1, r1 = g1.shape
        t = self.t
        blocks = g1.reshape(r0 // t, t, n1, r1 // t, t)
        first = np.einsum("asibs->aib", blocks)
        return [first, *self.cores[1:]]

    def to_tr(self) -> TRTensor:
        """The same tensor as a TR with ranks ``r_k / t`` (cores of :meth:`reduced_cores`).

        Returns
        -------
        TRTensor
        """
        return TRTensor(self.reduced_cores())

    def norm(self) -> float:
        """Frobenius norm without densifying (through :meth:`to_tr`).

        Returns
        -------
        float
        """
        return self.to_tr().norm()

    @classmethod
    def from_reduced(cls, cores: Sequence[np.ndarray], t: int) -> STRTensor:
        """Lift TR cores with ranks ``r_k / t`` to an STR: ``G_1 = G~_1 ⊗ I_t / t`` on the bonds.

        Any first core with partial trace ``G~_1`` represents the same tensor; this lift spreads
        it evenly over the ``t`` diagonal blocks.

        Parameters
        ----------
        cores : sequence of array_like
            TR cores ``(q_{k-1}, I_k, q_k)`` with ``q_d = q_0``.
        t : int
            The STP factor.

        Returns
        -------
        STRTensor
        """
        t = _check_t(t)
        checked = _check_cores(cores)
        g = checked[0]
        q0, n1, q1 = g.shape
        eye = np.eye(t, dtype=g.dtype) / t
        first = np.einsum("aib,st->asibt", g, eye).reshape(q0 * t, n1, q1 * t)
        return cls([first, *checked[1:]], t)

    def _arrays(self) -> dict[str, np.ndarray]:
        return {f"core_{k}": g for k, g in enumerate(self.cores)}

    def _metadata(self) -> dict[str, Any]:
        return {"t": self.t, "n_cores": len(self.cores)}

    @classmethod
    def _from_arrays(cls, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> STRTensor:
        return cls([arrays[f"core_{k}"] for k in range(int(meta["n_cores"]))], int(meta["t"]))
