"""The tensor-train (TT) format (survey eq. 8; Oseledets, SIAM J. Sci. Comput. 33(5), 2011).

A :class:`TTTensor` of shape ``(n_1, ..., n_d)`` stores ``d`` cores ``G_k`` of shape
``(r_{k-1}, n_k, r_k)`` with ``r_0 = r_d = 1`` and represents

.. math::

    \\mathcal{X}[i_1, \\ldots, i_d] = G_1[:, i_1, :] \\, G_2[:, i_2, :] \\cdots G_d[:, i_d, :],

a product of ``r_{k-1} x r_k`` matrices. Everything here works on the cores, never on the dense
tensor: element access and batched gathers (a Numba kernel), the linear-space operations (``+``,
``-``, scalar ``*``; ranks add), the Hadamard product (ranks multiply), the inner product and norm
(``O(d n r^3)`` transfer-matrix sweeps), orthogonalization and TT rounding (Oseledets 2011,
Alg. 2): right-to-left QR, then a left-to-right truncated SVD that meets
``||X - round(X)||_F <= eps ||X||_F``.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numba
import numpy as np
import scipy.linalg

from .._deprecation import deprecated_arguments
from .._validation import (
    check_array,
    check_eps,
    check_option,
    check_rank_spec,
    check_ranks,
    exact_size,
)
from .._validation import check_index_batch as _check_index_batch
from ..algebra.truncation import error_budget, thin_svd, truncate
from .base import StructuredTensor

__all__ = [
    "CoreChainTensor",
    "TTTensor",
    "tt_max_ranks",
    "tt_rank_caps",
    "gather_chain",
    "check_index_batch",
    "check_chain",
]


# ---------------------------------------------------------------------------- rank helpers
def tt_max_ranks(shape: Sequence[int]) -> tuple[int, ...]:
    """Largest possible inner TT ranks ``min(prod n_{<=k}, prod n_{>k})`` for ``shape``.

    The k-th TT rank equals the rank of the unfolding ``X^{<k>}`` of shape
    ``(n_1 ... n_k, n_{k+1} ... n_d)`` (Oseledets 2011, Thm. 2.1), so it cannot exceed either side.

    Parameters
    ----------
    shape : sequence of int
        The tensor shape ``(n_1, ..., n_d)``.

    Returns
    -------
    tuple of int
        The ``d - 1`` inner bounds.

    Examples
    --------
    >>> tt_max_ranks((4, 5, 6, 3))
    (4, 18, 3)
    """
    shape = tuple(int(n) for n in shape)
    out = []
    left = 1
    right = exact_size(shape)
    for n in shape[:-1]:
        left *= n
        right //= n
        out.append(min(left, right))
    return tuple(out)


def tt_rank_caps(ranks: Any, shape: Sequence[int], name: str = "ranks") -> tuple[int, ...]:
    """Turn a ``ranks`` argument into ``d - 1`` inner rank caps, capped to what ``shape`` allows.

    Parameters
    ----------
    ranks : None, int or sequence of int
        ``None`` (no cap), one ``int`` for every inner rank, the ``d - 1`` inner ranks, or all
        ``d + 1`` ranks including the boundary ranks ``r_0 = r_d = 1``.
    shape : sequence of int
        The tensor shape.
    name : str
        The argument's name, used in messages.

    Returns
    -------
    tuple of int
        ``d - 1`` caps, each at most the largest possible TT rank of :func:`tt_max_ranks`
        (larger requests are capped silently: they cannot be reached by any tensor).

    Raises
    ------
    ValueError
        If a rank is < 1, the length is neither ``d - 1`` nor ``d + 1``, or the boundary ranks of
        a ``d + 1`` sequence are not 1.
    TypeError
        If a rank is not an integer.
    """
    shape = tuple(shape)
    d = len(shape)
    bound = tt_max_ranks(shape)
    ranks = check_rank_spec(ranks, name)
    if ranks is None:
        return bound
    if isinstance(ranks, numbers.Number):
        caps = check_ranks(ranks, d - 1, name)
    else:
        seq = list(np.asarray(ranks).tolist()) if isinstance(ranks, np.ndarray) else ranks
        if not isinstance(seq, Sequence) or isinstance(seq, (str, bytes)):
            raise TypeError(f"{name} must be an int or a sequence of ints, got {ranks!r}")
        if len(seq) == d + 1:
            full = check_ranks(list(seq), d + 1, name)
            if full[0] != 1 or full[-1] != 1:
                raise ValueError(
                    f"{name} with d+1={d + 1} entries must have boundary ranks "
                    f"{name}[0]={name}[{d}]=1, got {full[0]} and {full[-1]}"
                )
            caps = full[1:-1]
        elif len(seq) == d - 1:
            caps = check_ranks(list(seq), d - 1, name)
        else:
            raise ValueError(
                f"{name} must have {d - 1} inner ranks or {d + 1} ranks with the boundary ones "
                f"for a tensor with {d} modes, got length {len(seq)}: {ranks!r}"
            )
    return tuple(min(c, b) for c, b in zip(caps, bound, strict=True))


# ---------------------------------------------------------------------------- gather kernels
@numba.njit(cache=True)
def _gather_kernel(cores_flat, offsets, shape, ranks, index):  # pragma: no cover - compiled
    """Values at a batch of multi-indices of a TT (``r_0 = 1``) or TR (``r_0 = r_d``) chain.

    Per index and per ring position ``a < r_0``: the row vector ``e_a^T`` is multiplied through
    the ``d`` core slices and entry ``a`` of the result is added (the trace); ``O(r_0 d r^2)``.
    """
    n_batch, d = index.shape
    out = np.zeros(n_batch)
    rmax = 1
    for k in range(d + 1):
        if ranks[k] > rmax:
            rmax = ranks[k]
    vec = np.empty(rmax)
    nxt = np.empty(rmax)
    for b in range(n_batch):
        total = 0.0
        for a in range(ranks[0]):
            for j in range(ranks[0]):
                vec[j] = 0.0
            vec[a] = 1.0
            for k in range(d):
                rl = ranks[k]
                rr = ranks[k + 1]
                base = offsets[k] + index[b, k] * rr
                stride = shape[k] * rr
                for j in range(rr):
                    nxt[j] = 0.0
                for i in range(rl):
                    v = vec[i]
                    if v != 0.0:
                        row = base + i * stride
                        for j in range(rr):
                            nxt[j] += v * cores_flat[row + j]
                for j in range(rr):
                    vec[j] = nxt[j]
            total += vec[a]
        out[b] = total
    return out


def gather_chain(cores: Sequence[np.ndarray], index: np.ndarray) -> np.ndarray:
    """Elements of the TT/TR chain ``cores`` at validated multi-indices (Numba kernel).

    Parameters
    ----------
    cores : sequence of numpy.ndarray
        Cores ``(r_{k-1}, n_k, r_k)`` with ``r_d = r_0``.
    index : numpy.ndarray of int64, shape (B, d)
        Non-negative, in-range multi-indices.

    Returns
    -------
    numpy.ndarray, shape (B,)
    """
    flat = np.concatenate([g.astype(np.float64, copy=False).ravel() for g in cores])
    sizes = np.array([g.size for g in cores], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    shape = np.array([g.shape[1] for g in cores], dtype=np.int64)
    ranks = np.array([g.shape[0] for g in cores] + [cores[-1].shape[2]], dtype=np.int64)
    return _gather_kernel(flat, offsets, shape, ranks, np.ascontiguousarray(index))


def check_index_batch(index: Any, shape: tuple[int, ...], name: str = "index") -> np.ndarray:
    """Validate a batch of multi-indices; negative entries count from the end.

    Parameters
    ----------
    index : array_like of int, shape (B, d)
        The multi-indices.
    shape : tuple of int
        The tensor shape.
    name : str
        The argument's name, used in messages.

    Returns
    -------
    numpy.ndarray of int64, shape (B, d)
        Non-negative indices.
    """
    return _check_index_batch(index, shape, name)


# ---------------------------------------------------------------------------- the format
class CoreChainTensor(StructuredTensor):
    """Shared plumbing of the formats stored as a chain of 3-way cores (TT and TR).

    Holds the validated cores ``(r_{k-1}, n_k, r_k)``, their storage, the shape, and element
    access through the Numba gather kernel. Subclasses set ``_ring`` (whether the chain closes
    into a trace) and implement ``ranks`` and ``_full``.
    """

    _scale_attr = "cores"

    _ring: bool = False

    def __init__(self, cores: Sequence[np.ndarray], copy: bool = True) -> None:
        if isinstance(cores, np.ndarray) or not isinstance(cores, Sequence) or len(cores) == 0:
            raise TypeError("cores must be a non-empty sequence of 3-D arrays")
        checked = [check_array(g, f"cores[{k}]", ndim=3) for k, g in enumerate(cores)]
        check_chain(checked, ring=self._ring)
        dtype = np.result_type(*checked)
        self.cores = [np.array(g, dtype=dtype, copy=copy) for g in checked]
        self.info: dict[str, Any] = {}

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape ``(n_1, ..., n_d)`` of the represented tensor."""
        return tuple(g.shape[1] for g in self.cores)

    def _chain_product(self) -> np.ndarray:
        """``G_1 G_2 ... G_d`` over the rank indices, shape ``(r_0, prod n_k, r_d)``."""
        res = self.cores[0].reshape(-1, self.cores[0].shape[2])
        for g in self.cores[1:]:
            res = (res @ g.reshape(g.shape[0], -1)).reshape(-1, g.shape[2])
        return res.reshape(self.cores[0].shape[0], -1, self.cores[-1].shape[2])

    def _arrays(self) -> dict[str, np.ndarray]:
        return {f"core_{k}": g for k, g in enumerate(self.cores)}

    def _metadata(self) -> dict[str, Any]:
        return {"n_cores": len(self.cores)}

    @classmethod
    def _from_arrays(cls, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> CoreChainTensor:
        return cls([arrays[f"core_{k}"] for k in range(int(meta["n_cores"]))], copy=False)

    def __getitem__(self, index: Any) -> float:
        """One element, as a product of core slices (``O(d r^2)``; a trace for a ring)."""
        index = self._element_index(index, hint="; use gather() for a batch")
        return float(self.gather(np.asarray(index, dtype=np.int64)[None, :])[0])

    def gather(self, index: Any) -> np.ndarray:
        """Elements at a batch of multi-indices, without forming the tensor.

        A Numba kernel multiplies one row vector through the ``d`` core slices per index
        (``O(B d r^2)``); it beats the NumPy batched-einsum gather (see
        ``benchmarks/bench_tt_tr.py``) because it never materialises the ``(B, r, r)`` slices.

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


class TTTensor(CoreChainTensor):
    """A tensor in tensor-train format (survey eq. 8; Oseledets 2011).

    Parameters
    ----------
    cores : sequence of array_like
        ``d >= 1`` cores; core ``k`` has shape ``(r_{k-1}, n_k, r_k)`` with ``r_0 = r_d = 1``.
    copy : bool
        Whether the cores are copied (``False`` keeps views of float arrays).

    Attributes
    ----------
    cores : list of numpy.ndarray
        The cores.
    info : dict
        Filled by :func:`tensornet.decompositions.tt_svd` and :meth:`round`: ``rel_error`` (the
        achieved relative Frobenius error), ``error_exact`` and ``ranks``.

    Raises
    ------
    ValueError
        If a core is not 3-D, the boundary ranks are not 1 or neighbouring ranks disagree.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> t = TTTensor([rng.standard_normal(s) for s in [(1, 3, 2), (2, 4, 2), (2, 5, 1)]])
    >>> t.shape, t.ranks
    ((3, 4, 5), (1, 2, 2, 1))
    >>> bool(np.isclose(t[1, 2, 3], t.full()[1, 2, 3]))
    True
    """

    @property
    def ranks(self) -> tuple[int, ...]:
        """All ``d + 1`` TT ranks ``(1, r_1, ..., r_{d-1}, 1)``."""
        return (1,) + tuple(g.shape[2] for g in self.cores)

    def _full(self) -> np.ndarray:
        return self._chain_product().reshape(self.shape)

    # ------------------------------------------------------------------ linear algebra
    def _check_other(self, other: Any, name: str = "other") -> TTTensor:
        if not isinstance(other, TTTensor):
            raise TypeError(f"{name} must be a TTTensor, got {type(other).__name__}")
        self._check_same_shape(other.shape, name)
        return other

    def __add__(self, other: TTTensor) -> TTTensor:
        """Sum of two TT tensors; the ranks add (block-diagonal cores, Oseledets 2011 Sec. 4.1)."""
        if not isinstance(other, TTTensor):
            return NotImplemented
        other = self._check_other(other)
        d = self.ndim
        if d == 1:
            return TTTensor([self.cores[0] + other.cores[0]], copy=False)
        cores = []
        for k, (a, b) in enumerate(zip(self.cores, other.cores, strict=True)):
            if k == 0:
                cores.append(np.concatenate([a, b], axis=2))
            elif k == d - 1:
                cores.append(np.concatenate([a, b], axis=0))
            else:
                ra, n, sa = a.shape
                rb, _, sb = b.shape
                g = np.zeros((ra + rb, n, sa + sb), dtype=np.result_type(a, b))
                g[:ra, :, :sa] = a
                g[ra:, :, sa:] = b
                cores.append(g)
        return TTTensor(cores, copy=False)

    def __mul__(self, alpha: Any) -> TTTensor:
        """Scalar multiple ``alpha * X`` (scales the first core)."""
        if isinstance(alpha, StructuredTensor) or not isinstance(alpha, numbers.Real):
            return NotImplemented
        if not np.isfinite(float(alpha)):
            raise ValueError(f"alpha={alpha} must be finite")
        cores = list(self.cores)
        cores[0] = cores[0] * float(alpha)
        return TTTensor(cores, copy=False)

    __rmul__ = __mul__

    def __neg__(self) -> TTTensor:
        return self * -1.0

    def __sub__(self, other: TTTensor) -> TTTensor:
        """Difference ``X - Y`` as ``X + (-1) Y`` (ranks add)."""
        if not isinstance(other, TTTensor):
            return NotImplemented
        return self + (-other)

    def hadamard(self, other: TTTensor) -> TTTensor:
        """Element-wise product; cores are slice-wise Kronecker products, ranks multiply.

        Parameters
        ----------
        other : TTTensor
            A TT tensor of the same shape.

        Returns
        -------
        TTTensor
            With ranks ``r_k(X) r_k(Y)``.
        """
        other = self._check_other(other)
        cores = []
        for a, b in zip(self.cores, other.cores, strict=True):
            g = np.einsum("aib,cid->acibd", a, b)
            cores.append(g.reshape(a.shape[0] * b.shape[0], a.shape[1], -1))
        return TTTensor(cores, copy=False)

    def dot(self, other: TTTensor) -> float:
        """Frobenius inner product ``<X, Y>`` by a left-to-right sweep of transfer matrices.

        Parameters
        ----------
        other : TTTensor
            A TT tensor of the same shape.

        Returns
        -------
        float
        """
        other = self._check_other(other)
        m = np.ones((1, 1))
        for a, b in zip(self.cores, other.cores, strict=True):
            tmp = np.tensordot(m, a, axes=(0, 0))  # (rb, n, ra')
            m = np.tensordot(tmp, b, axes=([0, 1], [0, 1]))  # (ra', rb')
        return float(m[0, 0])

    def inner(self, other: StructuredTensor | np.ndarray) -> float:
        """Inner product; structured for a TT ``other``, dense fallback otherwise.

        Parameters
        ----------
        other : StructuredTensor or array_like
            A tensor of the same shape.

        Returns
        -------
        float
        """
        if isinstance(other, TTTensor):
            return self.dot(other)
        return super().inner(other)

    def norm(self) -> float:
        """Frobenius norm: the norm of the last core after a left-orthogonalizing QR sweep.

        Going through orthogonalization (instead of ``sqrt(dot(X, X))``) keeps full relative
        precision.

        Returns
        -------
        float
        """
        last = self._left_sweep(self.cores)[-1]
        return float(np.linalg.norm(last.ravel()))

    # ------------------------------------------------------------------ orthogonalization
    @staticmethod
    def _left_sweep(cores: Sequence[np.ndarray], stop: int | None = None) -> list[np.ndarray]:
        """Left-orthogonalize cores ``0..stop-1`` by QR, pushing R into the next core."""
        cores = [np.array(g) for g in cores]
        d = len(cores)
        stop = d - 1 if stop is None else stop
        for k in range(stop):
            r0, n, r1 = cores[k].shape
            q, r = scipy.linalg.qr(cores[k].reshape(r0 * n, r1), mode="economic")
            cores[k] = q.reshape(r0, n, q.shape[1])
            cores[k + 1] = np.tensordot(r, cores[k + 1], axes=(1, 0))
        return cores

    @staticmethod
    def _right_sweep(cores: Sequence[np.ndarray], stop: int = 0) -> list[np.ndarray]:
        """Right-orthogonalize cores ``d-1..stop+1`` by QR, pushing R^T into the previous core."""
        cores = [np.array(g) for g in cores]
        for k in range(len(cores) - 1, stop, -1):
            r0, n, r1 = cores[k].shape
            q, r = scipy.linalg.qr(cores[k].reshape(r0, n * r1).T, mode="economic")
            cores[k] = q.T.reshape(q.shape[1], n, r1)
            cores[k - 1] = np.tensordot(cores[k - 1], r.T, axes=(2, 0))
        return cores

    def orthogonalize(self, direction: str = "left") -> TTTensor:
        """An equal TT tensor whose cores are orthonormal from one side.

        ``"left"``: cores ``1..d-1`` satisfy ``reshape(G_k, (r_{k-1} n_k, r_k))^T reshape(...) =
        I``; ``"right"``: cores ``2..d`` satisfy ``reshape(G_k, (r_{k-1}, n_k r_k)) (...)^T = I``.
        The norm of the tensor then sits in the last (first) core. Ranks may shrink when a core
        has fewer rows than columns (economic QR).

        Parameters
        ----------
        direction : {"left", "right"}
            Which side the orthonormal cores face.

        Returns
        -------
        TTTensor
        """
        check_option(direction, "direction", ("left", "right"))
        sweep = self._left_sweep if direction == "left" else self._right_sweep
        return TTTensor(sweep(self.cores), copy=False)

    @deprecated_arguments(positional=("eps", "ranks"))
    def round(self, *, ranks: Any = None, eps: float | None = None) -> TTTensor:
        """TT rounding (Oseledets 2011, Alg. 2): recompress to smaller ranks.

        Right-to-left QR orthogonalization, then a left-to-right sweep of truncated SVDs with
        ``delta = eps ||X||_F / sqrt(d - 1)``, so ``||X - round(X)||_F <= eps ||X||_F`` when no
        rank cap binds. Costs ``O(d n r^3)``.

        Parameters
        ----------
        ranks : int or sequence of int, optional
            Rank caps (as in :func:`tt_rank_caps`).
        eps : float, optional
            Relative error bound in ``[0, 1)``. ``eps=0`` (also the default when no ``ranks``
            are given) drops only numerically zero directions: a discarded tail of at most
            :data:`~tensornet.algebra.truncation.NUMERICAL_ZERO` ``||X||_F`` per step, the rule
            of :func:`~tensornet.decompositions.tt_svd`.

        Returns
        -------
        TTTensor
            With ``info["rel_error"]``, the relative error of the rounding (exact from the
            discarded singular values).
        """
        eps = check_eps(eps)
        caps = tt_rank_caps(ranks, self.shape)
        d = self.ndim
        cores = self._right_sweep(self.cores)
        norm = float(np.linalg.norm(cores[0].ravel()))
        if eps is None and ranks is None:
            eps = 0.0
        delta = error_budget(eps, norm, d - 1)
        tail_sq = 0.0
        for k in range(d - 1):
            r0, n, r1 = cores[k].shape
            u, s, vt = thin_svd(cores[k].reshape(r0 * n, r1))
            r = truncate(s, delta, caps[k])
            tail_sq += float(np.sum(s[r:] ** 2))
            cores[k] = u[:, :r].reshape(r0, n, r)
            cores[k + 1] = np.tensordot(s[:r, None] * vt[:r], cores[k + 1], axes=(1, 0))
        out = TTTensor(cores, copy=False)
        out.info = {
            "rel_error": float(np.sqrt(tail_sq) / norm) if norm > 0 else 0.0,
            "ranks": out.ranks,
        }
        return out


def check_chain(cores: Sequence[np.ndarray], ring: bool) -> None:
    """Check neighbouring ranks of TT (``ring=False``) or TR (``ring=True``) cores.

    Parameters
    ----------
    cores : sequence of numpy.ndarray
        3-D cores ``(r_{k-1}, n_k, r_k)``.
    ring : bool
        Whether ``r_d = r_0`` (TR) is required instead of ``r_0 = r_d = 1`` (TT).
    """
    d = len(cores)
    for k in range(d - 1):
        if cores[k].shape[2] != cores[k + 1].shape[0]:
            raise ValueError(
                f"cores[{k}] has right rank {cores[k].shape[2]} but cores[{k + 1}] has left rank "
                f"{cores[k + 1].shape[0]}; core k must have shape (r_k-1, n_k, r_k)"
            )
    if ring:
        if cores[-1].shape[2] != cores[0].shape[0]:
            raise ValueError(
                f"the ring does not close: cores[{d - 1}] has right rank {cores[-1].shape[2]} "
                f"but cores[0] has left rank {cores[0].shape[0]} (need r_d = r_0)"
            )
    elif cores[0].shape[0] != 1 or cores[-1].shape[2] != 1:
        raise ValueError(
            f"TT boundary ranks must be 1, got r_0={cores[0].shape[0]} and "
            f"r_d={cores[-1].shape[2]} (use TRTensor for a ring)"
        )
