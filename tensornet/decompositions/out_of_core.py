"""Decompositions of tensors larger than memory by streaming passes (Dask engine).

:func:`tensornet.tt_svd`, :func:`tensornet.hosvd` and :func:`tensornet.randomized_svd` given a
``dask.array.Array`` run the functions here (the optional ``dask`` extra). Each touches the data
only through a few blockwise reductions, *passes*, each one ``dask.compute`` that reads every
chunk once; everything whose size is a rank times a mode size stays in memory. The passes run
on whatever Dask scheduler is active: the threaded default, or a ``dask.distributed.Client``
the user created. ``info["passes"]`` counts them.

* TT-SVD (Oseledets 2011, Alg. 1): per step the Gram matrix of the unfolding ``C C^T`` (a pass),
  its eigendecomposition in memory, the rank by the same truncation rule as in memory
  (:mod:`tensornet.algebra.truncation`: eigenvalues when ``delta`` is far above their rounding,
  exact row norms of ``U^T C`` from one more pass otherwise), and the projection
  ``B = U_r^T C``. As soon as ``B`` fits in :func:`in_memory_limit` bytes (it is ``r_1 / n_1`` of
  the data after the first step), or its unfolding is no longer wide (its Gram matrix would be
  about as large as itself, and the Gram step would lose accuracy on it), it is computed (a
  pass) and the sweep goes on in memory.
* HOSVD (De Lathauwer et al. 2000): every mode's Gram matrix in one pass, the core
  ``X ×_n U_n^T`` in a second, the error from ``||X||^2 - ||G||^2`` (a third pass, the
  residual, only when that difference has lost its digits).
* Randomized SVD (Halko, Martinsson & Tropp 2011, Alg. 4.4): the range finder ``M Omega``, each
  power iteration's two products and the final ``Q^T M`` are one pass each; the ``Omega`` drawn
  is the in-memory function's, so both give the same result from the same seed.

The guarantees are those of the in-memory functions: the ``eps`` bound and exactness at full
rank. Computation is in float64 whatever the stored dtype.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from typing import Any

import dask
import dask.array as da
import numpy as np
import scipy.linalg

from .._validation import (
    check_eps,
    check_int,
    check_option,
    check_random_state,
    check_rank,
    check_tol,
    lower_caps,
)
from ..algebra.kernels import mttkrp
from ..algebra.truncation import (
    EIGENVALUE_ERROR,
    EIGENVALUE_MARGIN,
    Subspace,
    error_budget,
    leading_subspace,
    thin_svd,
    truncate,
    uses_gram_path,
)
from ..formats.cp import CPTensor
from ..formats.tr import TRTensor
from ..formats.tt import TTTensor, tt_rank_caps
from ..formats.tucker import TuckerTensor
from .als import als, relative_error
from .cp import _ALSState, _check_rank_possible, _degeneracy
from .tr import _tr_rank_caps, tr_budgets, tr_sweep
from .tucker import _check_tucker_ranks

__all__ = [
    "tt_svd",
    "tr_svd",
    "hosvd",
    "cp_als",
    "randomized_svd",
    "in_memory_limit",
    "get_in_memory_limit",
]

_U = np.finfo(np.float64).eps
_LIMIT: list[int | None] = [None]


# ---------------------------------------------------------------------------- memory and passes
def get_in_memory_limit() -> int:
    """Bytes an intermediate may take before it is kept out of core.

    An eighth of the machine's physical memory unless :func:`in_memory_limit` set another value.
    """
    if _LIMIT[0] is not None:
        return _LIMIT[0]
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 8


@contextlib.contextmanager
def in_memory_limit(nbytes: int) -> Iterator[None]:
    """Context manager: keep intermediates larger than ``nbytes`` out of core.

    Parameters
    ----------
    nbytes : int
        A size in bytes, ``>= 0`` (``0`` streams every step).

    Examples
    --------
    >>> with in_memory_limit(2**20):
    ...     pass
    """
    nbytes = check_int(nbytes, "nbytes", minimum=0)
    previous, _LIMIT[0] = _LIMIT[0], nbytes
    try:
        yield
    finally:
        _LIMIT[0] = previous


class _Passes:
    """Counts the passes over the data: one per ``dask.compute`` call."""

    def __init__(self) -> None:
        self.count = 0

    def compute(self, *arrays: Any) -> tuple[np.ndarray, ...]:
        self.count += 1
        return tuple(np.asarray(a, dtype=np.float64) for a in dask.compute(*arrays))


def _checked(x: Any, name: str, min_ndim: int = 1) -> da.Array:
    """The Dask array after the checks that need no pass (each block is converted to float64
    inside the task that reads it, so only one block at a time exists in float64)."""
    kind = np.dtype(x.dtype).kind
    if kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers; got dtype {x.dtype}")
    if x.ndim < min_ndim:
        raise ValueError(f"{name} must have at least {min_ndim} dimension(s); got shape {x.shape}")
    if x.size == 0:
        raise ValueError(f"{name} must not be empty; got shape {x.shape}")
    return x


#: Largest block a pass reads at once; larger input blocks are split along their trailing axes
#: (a split of a stored array's chunks is a slice of each read, not a copy).
BLOCK_BYTES = 8 << 20


def _split_blocks(x: da.Array, lead: int) -> da.Array:
    """``x`` with blocks of at most :data:`BLOCK_BYTES`, split along the axes after ``lead``.

    A pass groups blocks into slabs whole along the leading (row) axes; blocks split along the
    trailing axes keep every slab, and every later remainder, a small part of the data.
    """
    chunks = [list(c) for c in x.chunks]
    item = x.dtype.itemsize
    for axis in range(lead, x.ndim):
        block = item * int(np.prod([max(c) for c in chunks]))
        if block <= BLOCK_BYTES:
            break
        size = max(chunks[axis])
        pieces = min(size, -(-block // BLOCK_BYTES))
        step = -(-size // pieces)
        chunks[axis] = [s for c in chunks[axis] for s in _split(c, step)]
    if tuple(map(tuple, chunks)) == x.chunks:
        return x
    return x.rechunk(tuple(map(tuple, chunks)))


def _split(n: int, step: int) -> list[int]:
    return [step] * (n // step) + ([n % step] if n % step else [])


def _check_gram_finite(g: np.ndarray, name: str) -> None:
    """The Gram diagonal sums the squares of every entry: NaN/Inf anywhere shows there."""
    if not np.all(np.isfinite(np.diag(g))):
        raise ValueError(f"{name} must be finite (no NaN or Inf)")


# ---------------------------------------------------------------------------- the streamed step
def _eigh_desc(g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lam, u = scipy.linalg.eigh(g, check_finite=False)
    return np.maximum(lam[::-1], 0.0), np.ascontiguousarray(u[:, ::-1])


def _blocks_along(c: da.Array, rows: Sequence[int]) -> Iterator[tuple[tuple[int, ...], Any]]:
    """The slabs of ``C``: for every block position along the axes not in ``rows``, the object
    array of the blocks (Delayed) that share it, indexed along ``rows``."""
    blocks = c.to_delayed()
    others = [a for a in range(c.ndim) if a not in rows]
    for pos in np.ndindex(*[c.numblocks[a] for a in others]):
        index: list[Any] = [slice(None)] * c.ndim
        for a, i in zip(others, pos, strict=True):
            index[a] = i
        yield pos, blocks[tuple(index)]


def _assemble(pieces: Any, axes: Sequence[int]) -> np.ndarray:
    """Concatenate nested lists of blocks (one nesting level per axis of ``axes``) along them."""
    if not axes:
        return pieces
    parts = [_assemble(p, axes[1:]) for p in pieces]
    if len(parts) == 1:
        return parts[0]
    return np.concatenate(parts, axis=axes[0], dtype=np.float64)  # no stored-dtype copy


def _on_slab(fn: Any, rows: tuple[int, ...], pieces: list) -> Any:
    """Run ``fn`` on the slab concatenated from ``pieces`` (nested lists of blocks), in float64."""
    return fn(np.asarray(_assemble(pieces, list(rows)), dtype=np.float64))


def _per_slab(c: da.Array, rows: tuple[int, ...], fn: Any) -> list[tuple[tuple[int, ...], Any]]:
    """``fn`` applied lazily to every slab of ``C`` along ``rows`` (one task per slab, so each
    block is read by exactly one task and a slab is the only large array a task holds)."""
    return [
        (pos, dask.delayed(_on_slab)(fn, rows, pieces.tolist()))
        for pos, pieces in _blocks_along(c, rows)
    ]


def _tree_sum(parts: Sequence[Any], fan_in: int = 8) -> Any:
    """Sum of Delayed arrays by a tree, so few partial results are alive at once."""
    parts = list(parts)
    while len(parts) > 1:
        parts = [dask.delayed(_sum)(parts[i : i + fan_in]) for i in range(0, len(parts), fan_in)]
    return parts[0]


def _sum(items: Sequence[np.ndarray]) -> np.ndarray:
    total = np.array(items[0], dtype=np.float64, copy=True)
    for item in items[1:]:
        total += item
    return total


def _unfold2(slab: np.ndarray) -> np.ndarray:
    return slab.reshape(slab.shape[0] * slab.shape[1], -1)


def _slab_gram(slab: np.ndarray) -> np.ndarray:
    m = _unfold2(slab)
    with np.errstate(invalid="ignore", over="ignore"):  # NaN/Inf are reported from the diagonal
        return m @ m.T


def _gram(c: da.Array) -> Any:
    """Gram matrix of ``C`` of shape ``(a, b, n...)`` unfolded as ``(a b, n...)`` (Delayed)."""
    return _tree_sum([part for _, part in _per_slab(c, (0, 1), _slab_gram)])


class _Projector:
    """``slab -> U^T slab`` (unfolded), reshaped to ``(r, n...)``; picklable for a cluster."""

    def __init__(self, u: np.ndarray) -> None:
        self.ut = np.ascontiguousarray(u.T)

    def __call__(self, slab: np.ndarray) -> np.ndarray:
        return (self.ut @ _unfold2(slab)).reshape((self.ut.shape[0],) + slab.shape[2:])


class _RowSquares(_Projector):
    """``slab -> row sums of (U^T slab)^2``."""

    def __call__(self, slab: np.ndarray) -> np.ndarray:
        b = self.ut @ _unfold2(slab)
        return np.einsum("ij,ij->i", b, b)


def _project(u: np.ndarray, c: da.Array) -> da.Array:
    """``U^T C`` with ``C`` of shape ``(a, b, n...)`` unfolded as ``(a b, n...)``, lazily."""
    r = u.shape[1]
    grid = np.empty((1,) + tuple(c.numblocks[2:]), dtype=object)
    for pos, part in _per_slab(c, (0, 1), _Projector(u)):
        shape = (r,) + tuple(c.chunks[2 + a][i] for a, i in enumerate(pos))
        grid[(0,) + pos] = da.from_delayed(part, shape=shape, dtype=np.float64)
    return da.block(grid.tolist())


def _streamed_rank(
    c: da.Array, g: np.ndarray, cap: int | None, delta: float | None, passes: _Passes
) -> tuple[np.ndarray, float, bool]:
    """The kept ``U_r`` of one step from the Gram matrix ``g`` of ``C``, its tail, exactness.

    The rule of :func:`tensornet.algebra.truncation.leading_subspace` on the Gram path: the
    eigenvalues decide when ``delta`` is far above their rounding; otherwise the exact row norms
    of ``U^T C`` do, at the price of one pass.
    """
    m = g.shape[0]
    lam, u = _eigh_desc(g)
    if delta is None:
        r = min(m if cap is None else cap, m)
        return u[:, :r], float(np.sum(lam[r:])), r == m
    lam_err = EIGENVALUE_ERROR * m * _U * float(np.trace(g))
    if delta * delta >= EIGENVALUE_MARGIN * m * lam_err:
        r = truncate(np.sqrt(lam), np.sqrt(max(delta * delta - m * lam_err, 0.0)), cap)
        return u[:, :r], float(np.sum(lam[r:])), False
    (row_sq,) = passes.compute(_tree_sum([p for _, p in _per_slab(c, (0, 1), _RowSquares(u))]))
    tail = np.concatenate([np.cumsum(row_sq[::-1])[::-1], [0.0]])
    r = max(1, int(np.flatnonzero(tail <= delta * delta)[0]))
    r = r if cap is None else min(r, cap)
    return u[:, :r], float(np.sum(row_sq[r:])), True


# ---------------------------------------------------------------------------- TT-SVD
def tt_svd(
    x: Any,
    ranks: int | Sequence[int] | None = None,
    *,
    eps: float | None = None,
    method: str = "exact",
    random_state: Any = None,
) -> TTTensor:
    """TT-SVD of a Dask array by streaming passes (see :func:`tensornet.tt_svd`).

    Parameters
    ----------
    x : dask.array.Array, shape (n_1, ..., n_d)
        Real, finite, ``d >= 1``.
    ranks, eps
        As for :func:`tensornet.tt_svd`.
    method : {"exact"}
        Only the exact step is streamed.
    random_state : None
        Unused (the exact step draws nothing).

    Returns
    -------
    TTTensor
        As :func:`tensornet.tt_svd`; ``info`` adds ``passes`` (the passes over the data) and
        ``out_of_core_steps`` (steps run before the remainder fit in memory).
    """
    if method != "exact":
        raise ValueError(f"method={method!r}: only method='exact' is streamed for Dask arrays")
    eps = check_eps(eps)
    x = _split_blocks(_checked(x, "x"), 2)
    shape, d = x.shape, x.ndim
    caps = tt_rank_caps(ranks, shape)
    if eps is None and ranks is None:
        eps = 0.0
    passes = _Passes()
    if d == 1:
        (full,) = passes.compute(x)
        norm = float(np.linalg.norm(_finite(full, "x")))
        return _tt_result([full.reshape(1, -1, 1)], [], True, norm, passes, 0)
    (g,) = passes.compute(_gram(x[None]))
    _check_gram_finite(g, "x")
    norm = float(np.sqrt(np.trace(g)))
    sweep = _Sweep(shape, caps, error_budget(eps, norm, d - 1), passes)
    c = sweep.stream(x[None], g)
    streamed = len(sweep.cores)
    (rest,) = passes.compute(c)
    sweep.in_memory(rest)
    return _tt_result(sweep.cores, sweep.tails, sweep.exact, norm, passes, streamed)


def _wide(c: da.Array) -> bool:
    """Whether the unfolding ``(a b, n...)`` of ``C`` is wide enough for the Gram step to keep
    the in-memory accuracy (:func:`tensornet.algebra.truncation.uses_gram_path`); a remainder
    that is not has a Gram matrix about its own size, so it is computed instead."""
    rows = c.shape[0] * c.shape[1]
    return uses_gram_path((rows, c.size // rows))


class _Sweep:
    """The TT-SVD sweep: streamed steps while the remainder is too large, then in memory."""

    def __init__(self, shape, caps, delta, passes) -> None:
        self.shape, self.caps, self.delta, self.passes = shape, caps, delta, passes
        self.cores: list[np.ndarray] = []
        self.tails: list[float] = []
        self.exact = True

    def stream(self, c: da.Array, g: np.ndarray) -> da.Array:
        """Streamed steps from the first on; returns the lazy remainder ``(r_k, n_{k+1}, ...)``."""
        d = len(self.shape)
        for k in range(d - 1):
            if k > 0:
                if c.nbytes <= get_in_memory_limit() or not _wide(c):
                    break
                (g,) = self.passes.compute(_gram(c))
            u, tail, exact = _streamed_rank(c, g, self.caps[k], self.delta, self.passes)
            self._keep(u.reshape(c.shape[0], self.shape[k], -1), tail, exact)
            c = _project(u, c)
        return c

    def in_memory(self, rest: np.ndarray) -> None:
        """The remaining steps on the computed remainder, exactly as :func:`tensornet.tt_svd`."""
        d, r_prev = len(self.shape), rest.shape[0]
        for k in range(len(self.cores), d - 1):
            sub = leading_subspace(
                rest.reshape(r_prev * self.shape[k], -1), self.caps[k], self.delta
            )
            self._keep(sub.u.reshape(r_prev, self.shape[k], -1), sub.tail_sq, sub.exact)
            rest, r_prev = sub.b, sub.u.shape[1]
        self.cores.append(np.ascontiguousarray(rest).reshape(r_prev, self.shape[-1], 1))

    def _keep(self, core: np.ndarray, tail: float, exact: bool) -> None:
        self.cores.append(core)
        self.tails.append(tail)
        self.exact &= exact


def _tt_result(
    cores: list[np.ndarray],
    tails: list[float],
    exact: bool,
    norm: float,
    passes: _Passes,
    streamed: int,
) -> TTTensor:
    tt = TTTensor(cores, copy=False)
    tt.info = {
        "rel_error": float(np.sqrt(sum(tails)) / norm) if norm > 0 else 0.0,
        "error_exact": bool(exact),
        "ranks": tt.ranks,
        "norm": norm,
        "step_errors": [float(np.sqrt(t)) for t in tails],
        "passes": passes.count,
        "out_of_core_steps": streamed,
    }
    return tt


# ---------------------------------------------------------------------------- TR-SVD
def tr_svd(x: Any, ranks: int | Sequence[int] | None = None, *, eps: float | None = None):
    """TR-SVD of a Dask array: its first step streamed (see :func:`tensornet.tr_svd`).

    The first unfolding's Gram matrix (a pass), the rank ``r_0 r_1`` by the in-memory rule, the
    projection ``U^T X_(1)`` (a pass, ``r_0 r_1 / n_1`` of the data, which must fit in memory);
    the rest of the ring is swept in memory exactly as by :func:`tensornet.tr_svd`.

    Parameters
    ----------
    x : dask.array.Array
        Real, finite, ``d >= 2``.
    ranks, eps
        As for :func:`tensornet.tr_svd`.

    Returns
    -------
    TRTensor
        As :func:`tensornet.tr_svd`; ``info`` adds ``passes``.
    """
    x = _split_blocks(_checked(x, "x", min_ndim=2), 2)
    eps = check_eps(eps)
    shape, d = x.shape, x.ndim
    caps = _tr_rank_caps(ranks, d)
    first = min(shape[0], x.size // shape[0])
    caps = lower_caps(caps, (first, first) + (x.size,) * (d - 2))
    passes = _Passes()
    (g,) = passes.compute(_gram(x[None]))
    _check_gram_finite(g, "x")
    norm = float(np.sqrt(np.trace(g)))
    if eps is None and ranks is None:
        eps = 0.0
    delta1, delta = tr_budgets(eps, norm, d)
    big = caps[0] * caps[1] if caps is not None else x.size
    u, tail, exact = _streamed_rank(x[None], g, big, delta1, passes)
    (b,) = passes.compute(_project(u, x[None]))
    first_step = Subspace(u, b.reshape(u.shape[1], -1), tail, exact, np.zeros(0))
    tr: TRTensor = tr_sweep(shape, caps, delta, norm, first_step)
    tr.info["passes"] = passes.count
    return tr


# ---------------------------------------------------------------------------- HOSVD
class _ModeGram:
    """``slab -> X_(n) X_(n)^T`` of a slab whole along mode ``n``."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __call__(self, slab: np.ndarray) -> np.ndarray:
        m = np.moveaxis(slab, self.n, 0).reshape(slab.shape[self.n], -1)
        with np.errstate(invalid="ignore", over="ignore"):
            return m @ m.T


class _ModeRowSquares:
    """``slab -> row sums of (U^T X_(n))^2``."""

    def __init__(self, n: int, u: np.ndarray) -> None:
        self.n, self.ut = n, np.ascontiguousarray(u.T)

    def __call__(self, slab: np.ndarray) -> np.ndarray:
        b = self.ut @ np.moveaxis(slab, self.n, 0).reshape(slab.shape[self.n], -1)
        return np.einsum("ij,ij->i", b, b)


def _mode_grams(x: da.Array) -> list[Any]:
    """Every mode's Gram matrix (Delayed), each from the slabs whole along its mode."""
    return [_tree_sum([p for _, p in _per_slab(x, (n,), _ModeGram(n))]) for n in range(x.ndim)]


def _mode_products(t: np.ndarray, mats: Sequence[np.ndarray]) -> np.ndarray:
    """``t`` contracted on every axis with the rows of ``mats[k]``; each product contracts the
    leading axis and appends the new one, so the axes come back in order."""
    for m in mats:
        t = np.tensordot(t, m, axes=(0, 0))
    return t


def _block_slices(x: da.Array) -> Iterator[tuple[Any, tuple[slice, ...]]]:
    """Every block of ``x`` (Delayed) with its position as slices."""
    starts = [np.concatenate([[0], np.cumsum(ch)]) for ch in x.chunks]
    blocks = x.to_delayed()
    for idx in np.ndindex(*x.numblocks):
        sl = tuple(slice(int(st[i]), int(st[i + 1])) for st, i in zip(starts, idx, strict=True))
        yield blocks[idx], sl


def _block_core(block: np.ndarray, mats: Sequence[np.ndarray]) -> np.ndarray:
    return _mode_products(np.asarray(block, dtype=np.float64), mats)


def _block_residual(block: np.ndarray, core: np.ndarray, mats: Sequence[np.ndarray]) -> float:
    diff = np.asarray(block, dtype=np.float64) - _mode_products(core, mats)
    return float(np.vdot(diff, diff))


def _core(x: da.Array, factors: Sequence[np.ndarray]) -> Any:
    """``X ×_n U_n^T`` as a sum of every block's contribution (Delayed, one pass)."""
    parts = [
        dask.delayed(_block_core)(blk, [u[s] for u, s in zip(factors, sl, strict=True)])
        for blk, sl in _block_slices(x)
    ]
    return _tree_sum(parts)


def hosvd(x: Any, ranks: int | Sequence[int] | None = None, *, eps: float | None = None):
    """HOSVD of a Dask array in two or three passes (see :func:`tensornet.hosvd`).

    Parameters
    ----------
    x : dask.array.Array
        Real, finite, at least 1-D.
    ranks, eps
        As for :func:`tensornet.hosvd`.

    Returns
    -------
    TuckerTensor
        As :func:`tensornet.hosvd`; ``info`` adds ``passes``.
    """
    eps = check_eps(eps)
    x = _checked(x, "x")
    caps = None if ranks is None else _check_tucker_ranks(ranks, x.shape)
    passes = _Passes()
    grams = passes.compute(*_mode_grams(x))
    _check_gram_finite(grams[0], "x")
    norm_sq = float(np.trace(grams[0]))
    delta = error_budget(eps, np.sqrt(norm_sq), x.ndim)
    factors, spectra, discarded = _hosvd_factors(x, grams, caps, delta, passes)
    (core,) = passes.compute(_core(x, factors))
    out = TuckerTensor(core, factors)
    out.info = {
        "rel_error": _hosvd_error(x, norm_sq, out, passes),
        "error_bound": float(np.sqrt(discarded / norm_sq)) if norm_sq else 0.0,
        "singular_values": spectra,
        "passes": passes.count,
    }
    return out


def _hosvd_factors(
    x: da.Array,
    grams: Sequence[np.ndarray],
    caps: Sequence[int] | None,
    delta: float | None,
    passes: _Passes,
) -> tuple[list[np.ndarray], list[np.ndarray], float]:
    """Each mode's truncated factor from its Gram matrix; the exact-tail modes share one pass."""
    eig = [_eigh_desc(g) for g in grams]
    need_rows = [
        delta is not None
        and delta * delta
        < EIGENVALUE_MARGIN * g.shape[0] * EIGENVALUE_ERROR * g.shape[0] * _U * float(np.trace(g))
        for g in grams
    ]
    rows = _row_norms(x, eig, need_rows, passes)
    factors, spectra, discarded = [], [], 0.0
    for n, (lam, u) in enumerate(eig):
        cap = None if caps is None else caps[n]
        if rows[n] is not None:
            tail = np.concatenate([np.cumsum(rows[n][::-1])[::-1], [0.0]])
            r = max(1, int(np.flatnonzero(tail <= delta * delta)[0]))
            r = r if cap is None else min(r, cap)
            discarded += float(np.sum(rows[n][r:]))
        else:
            m = len(lam)
            lam_err = EIGENVALUE_ERROR * m * _U * float(np.sum(lam))
            budget = None if delta is None else np.sqrt(max(delta * delta - m * lam_err, 0.0))
            r = truncate(np.sqrt(lam), budget, cap)
            discarded += float(np.sum(lam[r:]))
        factors.append(u[:, :r])
        spectra.append(np.sqrt(lam))
    return factors, spectra, discarded


def _row_norms(
    x: da.Array, eig: Sequence[tuple], need: Sequence[bool], passes: _Passes
) -> list[np.ndarray | None]:
    """Exact row norms of ``U_n^T X_(n)`` for the modes that need them, in one pass."""
    todo = [n for n, flag in enumerate(need) if flag]
    if not todo:
        return [None] * x.ndim
    sums = [
        _tree_sum([p for _, p in _per_slab(x, (n,), _ModeRowSquares(n, eig[n][1]))]) for n in todo
    ]
    done = dict(zip(todo, passes.compute(*sums), strict=True))
    return [done.get(n) for n in range(x.ndim)]


def _hosvd_error(x: da.Array, norm_sq: float, t: TuckerTensor, passes: _Passes) -> float:
    """``sqrt(||X||^2 - ||G||^2) / ||X||``; below 1e-6 from the streamed residual instead."""
    if norm_sq == 0.0:
        return 0.0
    rel = float(np.sqrt(max(norm_sq - float(np.vdot(t.core, t.core)), 0.0) / norm_sq))
    if rel >= 1e-6:
        return rel
    parts = [
        dask.delayed(_block_residual)(
            blk, t.core, [u[s].T for u, s in zip(t.factors, sl, strict=True)]
        )
        for blk, sl in _block_slices(x)
    ]
    (res,) = passes.compute(_tree_sum(parts))
    return float(np.sqrt(res / norm_sq))


# ---------------------------------------------------------------------------- CP-ALS
def cp_als(
    x: Any,
    rank: int,
    *,
    n_iter_max: int = 200,
    tol: float = 1e-8,
    init: str | CPTensor = "svd",
    n_restarts: int = 1,
    random_state: Any = None,
    method: str = "mttkrp",
) -> CPTensor:
    """CP-ALS of a Dask array with one streamed MTTKRP pass per mode (see
    :func:`tensornet.cp_als`).

    Every mode's Gram matrix in one pass gives ``||X||`` and the SVD start; then each update of
    factor ``n`` needs ``X_(n) (⊙_{k≠n} A_k)``, a sum of every block's own MTTKRP with the
    factors' matching rows (a pass); the normal equations, the normalization and the error
    ``||X||^2 - 2 <X, X̂> + ||X̂||^2`` are in memory, as in :func:`tensornet.cp_als`, whose ALS
    driver and update this shares (``method`` is accepted for compatibility; the streamed
    schedule is always one MTTKRP per mode).

    Parameters
    ----------
    x : dask.array.Array
        Real, finite, not all zero, ``d >= 2``.
    rank, n_iter_max, tol, init, n_restarts, random_state
        As for :func:`tensornet.cp_als` (the same seed draws the same random columns).
    method : {"mttkrp", "dimtree"}
        Ignored.

    Returns
    -------
    CPTensor
        As :func:`tensornet.cp_als`; ``info`` adds ``passes``.
    """
    x = _checked(x, "x", min_ndim=2)
    rank = check_rank(rank, "rank")
    _check_rank_possible(rank, x.shape)
    n_iter_max = check_int(n_iter_max, "n_iter_max", minimum=1)
    tol = check_tol(tol)
    if not isinstance(init, CPTensor):
        init = check_option(init, "init", ("svd", "random"))
    elif init.shape != x.shape or init.rank != rank:
        raise ValueError(
            f"init has shape {init.shape} and rank {init.rank}, expected {x.shape} and {rank}"
        )
    n_restarts = check_int(n_restarts, "n_restarts", minimum=1)
    check_option(method, "method", ("dimtree", "mttkrp"))
    rng = check_random_state(random_state)
    passes = _Passes()
    grams = passes.compute(*_mode_grams(x))
    _check_gram_finite(grams[0], "x")
    norm_x_sq = float(np.trace(grams[0]))
    if norm_x_sq == 0.0:
        raise ValueError("x is all zeros: its CP decomposition is trivial and the error undefined")

    def start(i: int) -> _ALSState:
        return _ALSState(_cp_start(x.shape, grams, rank, init if i == 0 else "random", rng))

    def sweep(st: _ALSState) -> tuple[_ALSState, float]:
        m = None
        for n in range(x.ndim):
            (m,) = passes.compute(_mttkrp(x, st.factors, n))
            st.update(n, m)
        err_sq, scale_sq = st.error_sq(norm_x_sq, m)
        return st, relative_error(err_sq, norm_x_sq, lambda: _cp_residual(x, st, passes), scale_sq)

    run = als(start, sweep, n_iter_max=n_iter_max, tol=tol, n_restarts=n_restarts)
    cp = CPTensor(run.state.weights.copy(), run.state.factors)
    ratio, congruence = _degeneracy(cp, float(np.sqrt(norm_x_sq)))
    cp.info = {**run.info(), "weight_ratio": ratio, "min_congruence": congruence}
    cp.info["passes"] = passes.count
    return cp


def _cp_start(
    shape: tuple[int, ...],
    grams: Sequence[np.ndarray],
    rank: int,
    init: str | CPTensor,
    rng: np.random.Generator,
) -> list[np.ndarray]:
    """The start of :func:`tensornet.cp_als` from the mode Gram matrices (same draws)."""
    if isinstance(init, CPTensor):
        factors = [f.astype(np.float64, copy=True) for f in init.factors]
        factors[0] = factors[0] * init.weights
        return factors
    factors = [rng.standard_normal((shape[0], rank))]
    for n in range(1, len(shape)):
        if init == "svd":
            basis = _eigh_desc(grams[n])[1][:, :rank]
            if basis.shape[1] < rank:
                extra = rng.standard_normal((shape[n], rank - basis.shape[1]))
                basis = np.hstack([basis, extra])
            factors.append(np.ascontiguousarray(basis))
        else:
            factors.append(rng.standard_normal((shape[n], rank)))
    return factors


def _block_mttkrp(block: np.ndarray, mats: Sequence[np.ndarray], mode: int) -> np.ndarray:
    return mttkrp(np.asarray(block, dtype=np.float64), mats, mode, check_finite=False)


def _mttkrp(x: da.Array, factors: Sequence[np.ndarray], mode: int) -> Any:
    """``X_(n) (⊙_{k≠n} A_k)`` (Delayed): per block its own MTTKRP with the factors' rows of
    the block, summed over the blocks that share a row range of mode ``n``."""
    groups: dict[int, list[Any]] = {}
    starts = np.concatenate([[0], np.cumsum(x.chunks[mode])])
    for blk, sl in _block_slices(x):
        mats = [f[s] for f, s in zip(factors, sl, strict=True)]
        index = int(np.searchsorted(starts, sl[mode].start))
        groups.setdefault(index, []).append(dask.delayed(_block_mttkrp)(blk, mats, mode))
    rows = [_tree_sum(groups[i]) for i in sorted(groups)]
    return dask.delayed(np.concatenate)(rows, axis=0)


def _block_cp_residual(block: np.ndarray, mats: Sequence[np.ndarray], w: np.ndarray) -> float:
    model = mats[0] * w
    for m in mats[1:]:
        model = np.einsum("ir,jr->ijr", model.reshape(-1, len(w)), m)
    diff = np.asarray(block, dtype=np.float64).ravel() - model.reshape(-1, len(w)).sum(axis=1)
    return float(np.dot(diff, diff))


def _cp_residual(x: da.Array, st: _ALSState, passes: _Passes) -> float:
    """``||X - X̂|| / ||X||`` from a pass (when the formula has lost its digits)."""
    parts, norm_parts = [], []
    for blk, sl in _block_slices(x):
        mats = [f[s] for f, s in zip(st.factors, sl, strict=True)]
        parts.append(dask.delayed(_block_cp_residual)(blk, mats, st.weights))
        norm_parts.append(dask.delayed(_block_cp_residual)(blk, [m * 0 for m in mats], st.weights))
    res, norm_sq = passes.compute(_tree_sum(parts), _tree_sum(norm_parts))
    return float(np.sqrt(res / norm_sq))


# ---------------------------------------------------------------------------- randomized SVD
def randomized_svd(
    m: Any,
    rank: int,
    *,
    n_oversamples: int = 10,
    n_iter: int = 2,
    random_state: Any = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Randomized SVD of a Dask matrix, one pass per product (see
    :func:`tensornet.randomized_svd`).

    Parameters
    ----------
    m : dask.array.Array, shape (I, J)
        Real and finite; ``I x (rank + n_oversamples)`` and ``(rank + n_oversamples) x J``
        must fit in memory.
    rank, n_oversamples, n_iter, random_state
        As for :func:`tensornet.randomized_svd` (the same seed draws the same test matrix).

    Returns
    -------
    U, s, Vt : numpy.ndarray
    """
    m = _checked(m, "m", min_ndim=2)
    if m.ndim != 2:
        raise ValueError(f"m must be 2-D; got shape {m.shape}")
    rank = check_rank(rank, "rank")
    n_oversamples = check_int(n_oversamples, "n_oversamples", minimum=0)
    n_iter = check_int(n_iter, "n_iter", minimum=0)
    rng = check_random_state(random_state)
    n_rows, n_cols = m.shape
    rank = min(rank, n_rows, n_cols)
    width = rank + n_oversamples
    passes = _Passes()
    if width >= min(n_rows, n_cols):
        (dense,) = passes.compute(m)
        u, s, vt = thin_svd(_finite(dense))
        return u[:, :rank], s[:rank], vt[:rank]
    omega = rng.standard_normal((n_cols, width))
    (y,) = passes.compute(m @ da.from_array(omega))
    q = _orth(_finite(y))
    for _ in range(n_iter):
        (z,) = passes.compute(m.T @ da.from_array(q))
        (y,) = passes.compute(m @ da.from_array(_orth(z)))
        q = _orth(y)
    (b,) = passes.compute(da.from_array(q.T) @ m)
    ub, s, vt = thin_svd(b)
    return q @ ub[:, :rank], s[:rank], vt[:rank]


def _finite(a: np.ndarray, name: str = "m") -> np.ndarray:
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite (no NaN or Inf)")
    return a


def _orth(y: np.ndarray) -> np.ndarray:
    q, _ = scipy.linalg.qr(y, mode="economic", check_finite=False)
    return q
