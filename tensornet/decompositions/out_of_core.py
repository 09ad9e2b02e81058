"""Decompositions of tensors larger than memory by streaming passes (Dask engine).

:func:`tensornet.tt_svd`, :func:`tensornet.hosvd`, :func:`tensornet.tucker_hooi` and
:func:`tensornet.randomized_svd` given a
``dask.array.Array`` run the functions here (the optional ``dask`` extra). Each touches the data
only through a few blockwise reductions, *passes*, each one ``dask.compute`` that reads every
stored chunk once; everything whose size is a rank times a mode size stays in memory. The passes
run on whatever Dask scheduler is active: the threaded default, or a
``dask.distributed.Client`` the user created. ``info["passes"]`` counts them.

A pass gives every *slab* (the chunks that share a position along the axes not contracted, so
whole along the contracted rows) to one task, which converts it to float64 one piece of at most
:data:`PIECE_BYTES` at a time: a task holds its slab as stored plus one piece.

* TT-SVD (Oseledets 2011, Alg. 1): per step the Gram matrix of the unfolding ``C C^T`` (a pass),
  its eigendecomposition in memory, the rank by the same truncation rule as in memory
  (:mod:`tensornet.algebra.truncation`: eigenvalues when ``delta`` is far above their rounding,
  exact row norms of ``U^T C`` from one more pass otherwise), and the projection
  ``B = U_r^T C`` (a pass). ``B`` (``r_1 / n_1`` of the data after the first step) is computed
  into memory when it fits in :func:`get_in_memory_limit` bytes, or when its unfolding is no
  longer wide (its Gram matrix would be about as large as itself, and the Gram step would lose
  accuracy on it); the sweep then goes on in memory. Otherwise the projection pass writes it to
  disk blockwise (one file per task), in the input's floating dtype, in blocks small enough
  for the next step's slabs, and the next step streams over it (``info["remainder_passes"]``).
* HOSVD (De Lathauwer et al. 2000): every mode's Gram matrix in one pass (one task per slab
  along the first mode the chunks split computes that mode's and every unsplit mode's; each
  further split mode has a pass of its own when the data exceed the in-memory limit, since a
  block shared by two modes' slabs would stay in memory until both are done), the core
  ``X ×_n U_n^T`` in a *multilinear pass* (below), the error from ``||X||^2 - ||G||^2`` (one
  more pass, the residual, only when that difference has lost its digits).
* HOOI (De Lathauwer et al. 2000b): the HOSVD start, then per sweep one multilinear pass per
  mode for ``Y = X ×_{k≠n} U_k^T``, whose leading subspace and the core are computed in memory.
* A multilinear pass: each block contracted with its rows of the factors along the modes on
  which that shrinks it, and a chain of tasks adding these reduced blocks, a batch at a time,
  into one accumulator of the result's size, where the modes the blocks cut finer than the rank
  are multiplied out piece by piece: one result in memory, never one result-sized partial per
  block.
* Randomized SVD (Halko, Martinsson & Tropp 2011, Alg. 4.4): the range finder ``M Omega``, each
  power iteration's two products and the final ``Q^T M`` are one pass each; the ``Omega`` drawn
  is the in-memory function's, so both give the same result from the same seed.

The guarantees are those of the in-memory functions: the ``eps`` bound and exactness at full
rank. Gram matrices, products and everything kept in memory are float64 whatever the stored
dtype; only a TT-SVD remainder on disk keeps a float32 input's dtype.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from typing import Any

import dask
import dask.array as da
import dask.threaded
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
    leading_eigenvectors,
    leading_subspace,
    thin_svd,
    truncate,
    uses_gram_path,
)
from ..formats.cp import CPTensor
from ..formats.tr import TRTensor
from ..formats.tt import TTTensor, tt_rank_caps
from ..formats.tucker import TuckerTensor, project
from .als import als, relative_error
from .cp import _ALSState, _check_rank_possible, _degeneracy
from .tr import _tr_rank_caps, tr_budgets, tr_sweep
from .tucker import _check_tucker_ranks, _leading_subspace, _power_step

__all__ = [
    "tt_svd",
    "tr_svd",
    "hosvd",
    "tucker_hooi",
    "cp_als",
    "randomized_svd",
    "in_memory_limit",
    "get_in_memory_limit",
]

_U = np.finfo(np.float64).eps
_LIMIT: list[int | None] = [None]
_SPILL_DIR: list[str | None] = [None]


# ---------------------------------------------------------------------------- memory and passes
def get_in_memory_limit() -> int:
    """Bytes an intermediate may take in memory before it is written to disk instead.

    An eighth of the machine's physical memory unless :func:`in_memory_limit` set another value.
    """
    if _LIMIT[0] is not None:
        return _LIMIT[0]
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 8


@contextlib.contextmanager
def in_memory_limit(nbytes: int, spill_dir: str | os.PathLike | None = None) -> Iterator[None]:
    """Context manager: write intermediates larger than ``nbytes`` to disk.

    Parameters
    ----------
    nbytes : int
        A size in bytes, ``>= 0`` (``0`` keeps every TT-SVD remainder on disk).
    spill_dir : path, optional
        An existing directory for those intermediates (a temporary directory is made in it and
        removed afterwards); the system's temporary directory by default. On a cluster it must
        be one every worker can read and write.

    Examples
    --------
    >>> with in_memory_limit(2**20):
    ...     pass
    """
    nbytes = check_int(nbytes, "nbytes", minimum=0)
    if spill_dir is not None and not os.path.isdir(spill_dir):
        raise ValueError(f"spill_dir={str(spill_dir)!r} is not an existing directory")
    previous = _LIMIT[0], _SPILL_DIR[0]
    _LIMIT[0], _SPILL_DIR[0] = nbytes, None if spill_dir is None else os.fspath(spill_dir)
    try:
        yield
    finally:
        _LIMIT[0], _SPILL_DIR[0] = previous


class _Passes:
    """Counts the passes: over the input data, and over remainders kept on disk."""

    def __init__(self) -> None:
        self.count = 0
        self.remainder = 0

    def compute(self, *arrays: Any, over_data: bool = True) -> tuple[Any, ...]:
        if over_data:
            self.count += 1
        else:
            self.remainder += 1
        with _one_blas_thread_per_worker():
            return dask.compute(*arrays)

    def arrays(self, *arrays: Any, over_data: bool = True) -> tuple[np.ndarray, ...]:
        out = self.compute(*arrays, over_data=over_data)
        return tuple(np.asarray(a, dtype=np.float64) for a in out)


def _one_blas_thread_per_worker() -> contextlib.AbstractContextManager:
    """OpenBLAS held at one thread while a threaded scheduler's several workers run a pass.

    Each worker's products then take one core instead of two workers' multi-threaded OpenBLAS
    calls contending for all of them (the TT-SVD projection pass and the HOSVD core pass were
    measured faster so: ``benchmarks/bench_out_of_core.py``). A cluster's worker processes set
    their own thread counts; the synchronous scheduler keeps OpenBLAS's.
    """
    get = dask.base.get_scheduler() or dask.threaded.get  # None: the default, threads
    workers = dask.config.get("num_workers", None) or os.cpu_count() or 1
    if get is not dask.threaded.get or workers < 2:
        return contextlib.nullcontext()
    from ..nn._parallel import one_blas_thread  # the BLAS control of the threaded conv kernels

    return one_blas_thread()


def _checked(x: Any, name: str, min_ndim: int = 1) -> da.Array:
    """The Dask array after the checks that need no pass."""
    kind = np.dtype(x.dtype).kind
    if kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers; got dtype {x.dtype}")
    if x.ndim < min_ndim:
        raise ValueError(f"{name} must have at least {min_ndim} dimension(s); got shape {x.shape}")
    if x.size == 0:
        raise ValueError(f"{name} must not be empty; got shape {x.shape}")
    return x


#: Largest float64 piece of a slab a task converts and multiplies at once; stored chunks are
#: read whole and sliced in memory, never re-read.
PIECE_BYTES = 4 << 20

#: Largest slab (in float64) of a remainder kept on disk, in pieces: a few pieces, so that the
#: projection writing it keeps whole pieces (``benchmarks/bench_out_of_core.py``).
SPILL_SLAB_PIECES = 8


def _split(n: int, step: int) -> list[int]:
    return [step] * (n // step) + ([n % step] if n % step else [])


def _check_gram_finite(g: np.ndarray, name: str) -> None:
    """The Gram diagonal sums the squares of every entry: NaN/Inf anywhere shows there."""
    if not np.all(np.isfinite(np.diag(g))):
        raise ValueError(f"{name} must be finite (no NaN or Inf)")


def _eigh_desc(g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lam, u = scipy.linalg.eigh(g, check_finite=False)
    return np.maximum(lam[::-1], 0.0), np.ascontiguousarray(u[:, ::-1])


# ---------------------------------------------------------------------------- slabs and pieces
# A pass hands every *slab* (the blocks that share a position along the axes other than the
# row axes, so whole along the rows) to one task: each block is read by exactly one task. The
# task converts the slab to float64 one *piece* (a box of the other axes) at a time, so only the
# blocks as stored and one small float64 piece are alive in it.


class _Spill:
    """A TT-SVD remainder on disk, in blocks: one raw file per projection task (its slab), the
    blocks it wrote side by side in the order of the slab's pieces.

    ``chunks`` are the remainder's blocks; ``slab_chunks`` (along the axes after the first) the
    slabs of the pass that writes it, each a run of whole blocks. Few files, each written by one
    task, and blocks read back by offset: opening one small ``.npy`` per block cost more than its
    data (``benchmarks/bench_out_of_core.py``).
    """

    def __init__(self, root: str, shape: tuple[int, ...], chunks, slab_chunks, dtype) -> None:
        self.root, self.shape, self.chunks, self.dtype = root, shape, chunks, np.dtype(dtype)
        self.ndim = len(shape)
        self.numblocks = tuple(len(c) for c in chunks)
        self.nbytes = int(np.prod(shape)) * self.dtype.itemsize
        self._where = self._layout(slab_chunks)
        os.makedirs(root)

    def _layout(self, slab_chunks) -> dict[tuple[int, ...], tuple[str, int]]:
        """Every block's start -> its slab's file and its offset there."""
        starts = [_starts(c) for c in self.chunks]
        slab_of = [
            np.searchsorted(_starts(c), st, side="right") - 1
            for c, st in zip(slab_chunks, starts[1:], strict=True)
        ]
        where: dict[tuple[int, ...], tuple[str, int]] = {}
        filled: dict[str, int] = {}
        for idx in np.ndindex(*self.numblocks):  # C order: within a slab, the pieces' order
            begin = tuple(int(st[i]) for st, i in zip(starts, idx, strict=True))
            slab = tuple(int(s[i]) for s, i in zip(slab_of, idx[1:], strict=True))
            path = os.path.join(self.root, "s" + "_".join(map(str, slab)) + ".raw")
            size = self.dtype.itemsize * int(
                np.prod([c[i] for c, i in zip(self.chunks, idx, strict=True)])
            )
            where[begin] = (path, filled.get(path, 0))
            filled[path] = filled.get(path, 0) + size
        return where

    def write(self, start: Sequence[int], block: np.ndarray) -> None:
        """Write the block that starts at ``start`` (in the remainder) into its slab's file."""
        path, offset = self._where[tuple(int(s) for s in start)]
        data = memoryview(np.ascontiguousarray(block, dtype=self.dtype)).cast("B")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            while data:
                done = os.pwrite(fd, data, offset)
                data, offset = data[done:], offset + done
        finally:
            os.close(fd)

    def refs(self) -> np.ndarray:
        """The object array of the blocks, each a :class:`_SpillBlock` to read."""
        starts = [_starts(c) for c in self.chunks]
        out = np.empty(self.numblocks, dtype=object)
        for idx in np.ndindex(*self.numblocks):
            begin = tuple(int(st[i]) for st, i in zip(starts, idx, strict=True))
            shape = tuple(c[i] for c, i in zip(self.chunks, idx, strict=True))
            out[idx] = _SpillBlock(*self._where[begin], shape, self.dtype)
        return out

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


class _SpillBlock:
    """One block of a :class:`_Spill`: its file, offset, shape and dtype (picklable)."""

    def __init__(self, path: str, offset: int, shape: tuple[int, ...], dtype) -> None:
        self.path, self.offset, self.shape, self.dtype = path, offset, shape, dtype

    def read(self) -> np.ndarray:
        out = np.empty(self.shape, self.dtype)
        view = memoryview(out).cast("B")
        fd = os.open(self.path, os.O_RDONLY)
        try:
            got = 0
            while got < len(view):
                n = os.preadv(fd, [view[got:]], self.offset + got)
                if n == 0:
                    raise OSError(f"{self.path}: a remainder block ends early")
                got += n
        finally:
            os.close(fd)
        return out


def _starts(chunks: Sequence[int]) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(chunks)[:-1]]).astype(int)


def _slabs(src: Any, rows: Sequence[int]) -> Iterator[tuple[tuple[int, ...], list]]:
    """Every slab of ``src`` (a Dask array or a :class:`_Spill`) along ``rows``: the position
    of its blocks along the other axes (start offsets) and the nested list of its blocks
    (Delayed, readers or spill blocks), one nesting level per row axis."""
    refs = src.refs() if isinstance(src, _Spill) else _block_refs(src)
    others = [a for a in range(src.ndim) if a not in rows]
    starts = [_starts(c) for c in src.chunks]
    for pos in np.ndindex(*[src.numblocks[a] for a in others]):
        index: list[Any] = [slice(None)] * src.ndim
        origin = [0] * src.ndim
        for a, i in zip(others, pos, strict=True):
            index[a] = i
            origin[a] = int(starts[a][i])
        yield tuple(origin), refs[tuple(index)].tolist()


class _Reader:
    """One block of a Dask array, read by the task that uses it (see :func:`_block_refs`)."""

    def __init__(self, block: da.Array) -> None:
        self.block = block

    def read(self) -> np.ndarray:
        return np.asarray(self.block.compute(scheduler="sync"))


def _on_cluster() -> bool:
    """Whether the active scheduler is a ``dask.distributed`` client's."""
    get = dask.base.get_scheduler()
    return (getattr(get, "__module__", None) or "").startswith("distributed")


def _block_refs(x: da.Array) -> np.ndarray:
    """The object array of ``x``'s blocks as the slab tasks get them: their Delayed reads, or on
    a cluster a :class:`_Reader` each, so that the worker running a slab's task reads its
    blocks itself instead of receiving them from the workers that ran the reads."""
    if not _on_cluster():
        return x.to_delayed()
    out = np.empty(x.numblocks, dtype=object)
    for idx in np.ndindex(*x.numblocks):
        out[idx] = _Reader(x.blocks[idx])
    return out


def _load(blocks: Any) -> Any:
    """Nested lists of blocks with every path or reader replaced by the array it holds."""
    if isinstance(blocks, list):
        return [_load(b) for b in blocks]
    if isinstance(blocks, (_Reader, _SpillBlock)):
        return blocks.read()
    return blocks


def _leaf(blocks: Any) -> np.ndarray:
    while isinstance(blocks, list):
        blocks = blocks[0]
    return blocks


def _assemble(
    blocks: Any, rows: Sequence[int], box: tuple[slice, ...], buf: np.ndarray | None = None
) -> np.ndarray:
    """The float64 piece ``box`` (slices of the non-row axes) of the slab, the blocks (nested
    lists, one level per axis of ``rows``) copied into it side by side along ``rows``; in the
    front of ``buf`` when it is given and large enough."""
    leaf = _leaf(blocks)
    shape = list(leaf[box].shape)
    for depth, axis in enumerate(rows):
        level = blocks
        for _ in range(depth):
            level = level[0]
        shape[axis] = sum(_leaf(b).shape[axis] for b in level)
    size = int(np.prod(shape))
    out = np.empty(shape) if buf is None or buf.size < size else buf[:size].reshape(shape)
    _copy_into(out, blocks, rows, box, [0] * len(shape))
    return out


def _copy_into(out: np.ndarray, blocks: Any, rows: Sequence[int], box, at: list[int]) -> None:
    if not rows:
        part = blocks[box]
        out[tuple(slice(a, a + n) for a, n in zip(at, part.shape, strict=True))] = part
        return
    for b in blocks:
        _copy_into(out, b, rows[1:], box, at)
        at = list(at)
        at[rows[0]] += _leaf(b).shape[rows[0]]


def _piece_steps(extents: Sequence[int], order: Sequence[int], size: Any, limit: int) -> list[int]:
    """Per axis the piece length: the axes in ``order`` are cut, one after the other, until
    ``size(steps)`` bytes are at most ``limit`` (or every one of them is cut to 1)."""
    steps = list(extents)
    for axis in order:
        if size(steps) <= limit:
            break
        other = size(steps) / steps[axis]
        steps[axis] = max(1, min(steps[axis], int(limit // max(other, 1))))
    return steps


def _boxes(
    extents: Sequence[int], steps: Sequence[int], rows: Sequence[int]
) -> Iterator[tuple[slice, ...]]:
    """The pieces of a slab: boxes of ``steps`` over the non-row axes, whole along ``rows``."""
    ranges = [
        [slice(None)] if a in rows else [slice(s, min(s + st, e)) for s in range(0, e, st)]
        for a, (e, st) in enumerate(zip(extents, steps, strict=True))
    ]
    yield from itertools.product(*ranges)


def _on_slab(op: Any, rows: tuple[int, ...], steps: Sequence[int], origin, blocks) -> Any:
    """Run ``op`` on every piece of one slab; sums the results of a reducing ``op``.

    The pieces share one buffer (``op`` keeps none of them): a fresh piece per box would be
    memory the system maps and zeroes anew each time (``benchmarks/bench_out_of_core.py``)."""
    blocks = _load(blocks)
    extents = list(_leaf(blocks).shape)
    total = None
    out = []
    buf = np.empty(0)
    for box in _boxes(extents, steps, rows):
        start = tuple(
            o + (0 if b.start is None else b.start) for o, b in zip(origin, box, strict=True)
        )
        piece = _assemble(blocks, rows, box, buf)
        if piece.base is None:  # the first (largest) piece: its memory serves the next ones
            buf = piece.reshape(-1)
        part = op(piece, start)
        if op.reduces:
            total = part if total is None else total + part
        elif part is not None:
            out.append(part)
    return total if op.reduces else out


def _pass(src: Any, rows: tuple[int, ...], op: Any, steps: Sequence[int]) -> list[Any]:
    """``op`` on every slab of ``src`` (Delayed, one task per slab)."""
    return [
        dask.delayed(_on_slab, pure=False)(op, rows, list(steps), origin, blocks)
        for origin, blocks in _slabs(src, rows)
    ]


def _tree_sum(parts: Sequence[Any], fan_in: int = 8) -> Any:
    """Sum of Delayed arrays by a tree, so few partial results are alive at once."""
    parts = list(parts)
    while len(parts) > 1:
        parts = [dask.delayed(_sum)(parts[i : i + fan_in]) for i in range(0, len(parts), fan_in)]
    return parts[0]


def _sum(items: Sequence[Any]) -> Any:
    if isinstance(items[0], list):  # lists of arrays, summed entry by entry
        return [_sum([item[i] for item in items]) for i in range(len(items[0]))]
    total = np.array(items[0], dtype=np.float64, copy=True)
    for item in items[1:]:
        total += item
    return total


def _max_extents(src: Any) -> list[int]:
    return [max(c) for c in src.chunks]


def _rows_steps(src: Any, rows: Sequence[int]) -> list[int]:
    """Piece lengths for a reducing pass over slabs along ``rows``: float64 pieces of at most
    :data:`PIECE_BYTES`, cut along the non-row axes from the first."""
    ext = _max_extents(src)
    for a in rows:
        ext[a] = src.shape[a]
    order = [a for a in range(src.ndim) if a not in rows]
    return _piece_steps(ext, order, lambda s: 8 * int(np.prod(s)), PIECE_BYTES)


def _matrix(piece: np.ndarray, rows: Sequence[int]) -> np.ndarray:
    """The piece unfolded with the row axes (moved to the front) as rows."""
    lead = len(rows)
    moved = np.moveaxis(piece, list(rows), list(range(lead)))
    return moved.reshape(int(np.prod(moved.shape[:lead])), -1)


class _Gram:
    """``piece -> M M^T`` of its unfolding along ``rows`` (picklable, for a cluster)."""

    reduces = True

    def __init__(self, rows: Sequence[int]) -> None:
        self.rows = tuple(rows)

    def __call__(self, piece: np.ndarray, start: Any) -> np.ndarray:
        m = _matrix(piece, self.rows)
        with np.errstate(invalid="ignore", over="ignore"):  # NaN/Inf show on the diagonal
            return m @ m.T


class _RowSquares:
    """``piece -> row sums of (U^T M)^2``."""

    reduces = True

    def __init__(self, rows: Sequence[int], u: np.ndarray) -> None:
        self.rows, self.ut = tuple(rows), np.ascontiguousarray(u.T)

    def __call__(self, piece: np.ndarray, start: Any) -> np.ndarray:
        b = self.ut @ _matrix(piece, self.rows)
        return np.einsum("ij,ij->i", b, b)


def _gram(src: Any, rows: tuple[int, ...] = (0, 1)) -> Any:
    """Gram matrix of the unfolding of ``src`` along ``rows`` (Delayed, one pass)."""
    return _tree_sum(_pass(src, rows, _Gram(rows), _rows_steps(src, rows)))


def _row_squares(src: Any, u: np.ndarray, rows: tuple[int, ...] = (0, 1)) -> Any:
    """Row sums of ``(U^T M)^2`` for the unfolding ``M`` along ``rows`` (Delayed, one pass)."""
    return _tree_sum(_pass(src, rows, _RowSquares(rows, u), _rows_steps(src, rows)))


# ---------------------------------------------------------------------------- projections
class _Project:
    """``piece (a, b, n...) -> U^T piece`` unfolded as ``(a b, n...)``, of shape ``(r, n...)``:
    returned with its start in the remainder, or written to the remainder's file."""

    reduces = False

    def __init__(self, u: np.ndarray, spill: _Spill | None) -> None:
        self.ut, self.spill = np.ascontiguousarray(u.T), spill

    def __call__(self, piece: np.ndarray, start: Sequence[int]) -> Any:
        b = (self.ut @ _matrix(piece, (0, 1))).reshape((self.ut.shape[0],) + piece.shape[2:])
        at = (0,) + tuple(start[2:])
        if self.spill is None:
            return at, b
        self.spill.write(at, b)
        return None


def _project_steps(src: Any, r: int, spill: bool) -> list[int]:
    """Piece lengths of a projection: float64 pieces of at most :data:`PIECE_BYTES`; on disk,
    also small enough blocks of the remainder ``(r, n_{k+1}, n...)`` that the next step's slabs
    (whole along ``r`` and ``n_{k+1}``) are at most :data:`SPILL_SLAB_PIECES` pieces."""
    steps = _rows_steps(src, (0, 1))
    if spill and src.ndim > 3:
        tail = list(range(3, src.ndim))

        def next_slab(s: Sequence[int]) -> int:
            return 8 * r * src.shape[2] * int(np.prod([s[a] for a in tail]))

        steps = _piece_steps(steps, tail, next_slab, SPILL_SLAB_PIECES * PIECE_BYTES)
    return steps


def _project(
    src: Any, u: np.ndarray, passes: _Passes, spill_to: str | None, dtype: np.dtype
) -> np.ndarray | _Spill:
    """``B = U^T C`` for ``C`` of shape ``(a, b, n...)`` unfolded as ``(a b, n...)``: one pass,
    into memory (float64), or to disk in ``dtype`` when ``spill_to`` names a new directory."""
    r = u.shape[1]
    shape = (r,) + tuple(src.shape[2:])
    steps = _project_steps(src, r, spill_to is not None)
    spill = None
    if spill_to is not None:
        chunks = ((r,),) + tuple(
            tuple(p for c in src.chunks[a] for p in _split(c, steps[a])) for a in range(2, src.ndim)
        )
        spill = _Spill(spill_to, shape, chunks, src.chunks[2:], dtype)
    parts = _pass(src, (0, 1), _Project(u, spill), steps)
    results = list(passes.compute(*parts, over_data=not isinstance(src, _Spill)))
    if spill is not None:
        return spill
    out = np.empty(shape)
    while results:  # fill and free slab by slab: the pieces and ``out`` never coexist whole
        for at, b in results.pop():
            out[tuple(slice(s, s + n) for s, n in zip(at, b.shape, strict=True))] = b
    return out


def _streamed_rank(
    src: Any, g: np.ndarray, cap: int | None, delta: float | None, passes: _Passes
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
    (row_sq,) = passes.arrays(_row_squares(src, u), over_data=not isinstance(src, _Spill))
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
        As :func:`tensornet.tt_svd`; ``info`` adds ``passes`` (over the data),
        ``remainder_passes`` (over remainders kept on disk) and ``out_of_core_steps`` (steps
        run before the remainder fit in memory).

    Notes
    -----
    A remainder ``B_k = U_k^T C_k`` larger than :func:`get_in_memory_limit` (in float64) is
    written to disk blockwise by the projection pass, in the input's floating dtype (float32
    stays float32; Gram matrices and products are accumulated in float64), with blocks small
    enough that the next step's slabs are at most :data:`PIECE_BYTES`. Its rounding (a relative
    ``2^-24`` per entry for float32) is of the order of the stored data's own.
    """
    if method != "exact":
        raise ValueError(f"method={method!r}: only method='exact' is streamed for Dask arrays")
    eps = check_eps(eps)
    x = _checked(x, "x")
    shape, d = x.shape, x.ndim
    caps = tt_rank_caps(ranks, shape)
    if eps is None and ranks is None:
        eps = 0.0
    passes = _Passes()
    if d == 1:
        (full,) = passes.arrays(x)
        norm = float(np.linalg.norm(_finite(full, "x")))
        return _tt_result([full.reshape(1, -1, 1)], [], True, norm, passes, 0)
    c = x[None]
    (g,) = passes.arrays(_gram(c))
    _check_gram_finite(g, "x")
    norm = float(np.sqrt(np.trace(g)))
    sweep = _Sweep(shape, caps, error_budget(eps, norm, d - 1), passes, _spill_dtype(x.dtype))
    with sweep.spill_root() as root:
        rest = sweep.stream(c, g, root)
    streamed = len(sweep.cores)
    sweep.in_memory(rest)
    return _tt_result(sweep.cores, sweep.tails, sweep.exact, norm, passes, streamed)


def _spill_dtype(dtype: np.dtype) -> np.dtype:
    """The input's floating dtype (float32 and smaller stay float32), float64 otherwise."""
    dtype = np.dtype(dtype)
    return np.dtype(np.float32) if dtype.kind == "f" and dtype.itemsize <= 4 else np.dtype("f8")


def _wide(shape: Sequence[int]) -> bool:
    """Whether the unfolding ``(a b, n...)`` of a remainder of ``shape`` is wide enough for the
    Gram step to keep the in-memory accuracy
    (:func:`tensornet.algebra.truncation.uses_gram_path`); a remainder that is not has a Gram
    matrix about its own size, so it is computed into memory instead."""
    rows = shape[0] * shape[1]
    return uses_gram_path((rows, int(np.prod(shape)) // rows))


class _Sweep:
    """The TT-SVD sweep: streamed steps while the remainder is too large, then in memory."""

    def __init__(self, shape, caps, delta, passes, dtype) -> None:
        self.shape, self.caps, self.delta, self.passes = shape, caps, delta, passes
        self.dtype = dtype
        self.cores: list[np.ndarray] = []
        self.tails: list[float] = []
        self.exact = True

    @contextlib.contextmanager
    def spill_root(self) -> Iterator[str]:
        root = tempfile.mkdtemp(prefix="tensornet-ooc-", dir=_SPILL_DIR[0])
        try:
            yield root
        finally:
            shutil.rmtree(root, ignore_errors=True)

    def stream(self, c: Any, g: np.ndarray, root: str) -> np.ndarray:
        """Streamed steps from the first on; returns the remainder ``(r_k, n_{k+1}, ...)`` once
        it fits in memory (or its unfolding is no longer wide)."""
        d = len(self.shape)
        for k in range(d - 1):
            if k > 0:
                (g,) = self.passes.arrays(_gram(c), over_data=False)
            u, tail, exact = _streamed_rank(c, g, self.caps[k], self.delta, self.passes)
            self._keep(u.reshape(c.shape[0], self.shape[k], -1), tail, exact)
            rest = (u.shape[1],) + tuple(c.shape[2:])
            on_disk = k < d - 2 and 8 * int(np.prod(rest)) > get_in_memory_limit() and _wide(rest)
            spill_to = os.path.join(root, f"step{k + 1}") if on_disk else None
            b = _project(c, u, self.passes, spill_to, self.dtype)
            if isinstance(c, _Spill):
                c.remove()
            if not isinstance(b, _Spill):
                return b
            c = b
        raise AssertionError("unreachable: the last remainder is computed into memory")

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
        "remainder_passes": passes.remainder,
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
    x = _checked(x, "x", min_ndim=2)
    eps = check_eps(eps)
    shape, d = x.shape, x.ndim
    caps = _tr_rank_caps(ranks, d)
    first = min(shape[0], x.size // shape[0])
    caps = lower_caps(caps, (first, first) + (x.size,) * (d - 2))
    passes = _Passes()
    c = x[None]
    (g,) = passes.arrays(_gram(c))
    _check_gram_finite(g, "x")
    norm = float(np.sqrt(np.trace(g)))
    if eps is None and ranks is None:
        eps = 0.0
    delta1, delta = tr_budgets(eps, norm, d)
    big = min(caps[0] * caps[1] if caps is not None else x.size, first)  # as leading_subspace
    u, tail, exact = _streamed_rank(c, g, big, delta1, passes)
    b = _project(c, u, passes, None, np.dtype(np.float64))
    first_step = Subspace(u, b.reshape(u.shape[1], -1), tail, exact, np.zeros(0))
    tr: TRTensor = tr_sweep(shape, caps, delta, norm, first_step)
    tr.info["passes"] = passes.count
    return tr


# ---------------------------------------------------------------------------- HOSVD
def _mode_groups(x: da.Array) -> list[list[int]]:
    """The modes whose Gram matrices share a pass.

    A mode's slabs are whole along it; a block shared by the slabs of two modes the chunks split
    stays in memory until both are done, which can be most of the data. So unless the data fit
    :func:`get_in_memory_limit` (as stored), each split mode after the first has a pass of its
    own; the modes the chunks do not split join the first pass, computed by the same tasks (each
    block read by one task).
    """
    split = [n for n in range(x.ndim) if x.numblocks[n] > 1]
    if len(split) <= 1 or x.nbytes <= get_in_memory_limit():
        return [list(range(x.ndim))]
    whole = [n for n in range(x.ndim) if x.numblocks[n] == 1]
    return [sorted(whole + split[:1])] + [[n] for n in split[1:]]


def _block_grams(block: np.ndarray, modes: Sequence[int]) -> list[np.ndarray]:
    """``B_(m) B_(m)^T`` of one block for each of ``modes`` (along which it is whole)."""
    b = np.asarray(block, dtype=np.float64)
    out = []
    with np.errstate(invalid="ignore", over="ignore"):  # NaN/Inf show on the diagonal
        for m in modes:
            unfolded = np.moveaxis(b, m, 0).reshape(b.shape[m], -1)
            out.append(unfolded @ unfolded.T)
    return out


def _slab_grams(
    row: int, whole: Sequence[int], steps: Sequence[int], origin: Any, blocks: Any
) -> list[np.ndarray]:
    """One slab's share of the Gram matrices of mode ``row`` (the slab is whole along it; in
    pieces) and of the ``whole`` modes (no block is split along them; block by block). The
    blocks are read once (on a cluster they arrive as readers) and serve both."""
    blocks = _load(blocks)
    out = [_on_slab(_Gram((row,)), (row,), steps, origin, blocks)]
    if whole:
        out += _sum([_block_grams(b, whole) for b in blocks])
    return out


def _first_grams(x: da.Array, modes: Sequence[int]) -> Any:
    """The Gram matrices of ``modes`` (at most one of them split by the chunks) in one pass of
    one task per slab (Delayed list in the order of ``modes``)."""
    split = [n for n in modes if x.numblocks[n] > 1]
    row = split[0] if split else modes[0]
    whole = [n for n in modes if n != row]
    steps = _rows_steps(x, (row,))
    parts = [
        dask.delayed(_slab_grams, pure=False)(row, whole, steps, origin, blocks)
        for origin, blocks in _slabs(x, (row,))
    ]
    total = _tree_sum(parts)
    order = [row] + whole
    return [total[order.index(n)] for n in modes]


def _mode_grams(x: da.Array, passes: _Passes) -> list[np.ndarray]:
    """Every mode's Gram matrix ``X_(n) X_(n)^T``, from the slabs whole along its mode."""
    grams: dict[int, np.ndarray] = {}
    for i, group in enumerate(_mode_groups(x)):
        split = [n for n in group if x.numblocks[n] > 1]
        if i == 0 and len(split) <= 1:
            done = passes.arrays(*_first_grams(x, group))
        else:  # the data fit in memory (or one split mode a pass): a task per mode and slab
            done = passes.arrays(*[_gram(x, (n,)) for n in group])
        grams.update(zip(group, done, strict=True))
    return [grams[n] for n in range(x.ndim)]


def _mode_products(t: np.ndarray, mats: Sequence[np.ndarray]) -> np.ndarray:
    """``t`` contracted on every axis ``n`` with the rows of ``mats[n]``, the axes in order.

    The axes that shrink ``t`` most (smallest ``columns / rows``) go first, so no intermediate
    grows beyond ``t`` when the matrices shrink every axis.
    """
    labels = list(range(t.ndim))
    for n in sorted(range(len(mats)), key=lambda k: mats[k].shape[1] / mats[k].shape[0]):
        pos = labels.index(n)
        t = np.tensordot(t, mats[n], axes=(pos, 0))
        labels.pop(pos)
        labels.append(n)
    return np.transpose(t, np.argsort(labels))


def _block_slices(x: da.Array) -> Iterator[tuple[Any, tuple[slice, ...]]]:
    """Every block of ``x`` (Delayed) with its position as slices."""
    starts = [np.concatenate([[0], np.cumsum(ch)]) for ch in x.chunks]
    blocks = x.to_delayed()
    for idx in np.ndindex(*x.numblocks):
        sl = tuple(slice(int(st[i]), int(st[i + 1])) for st, i in zip(starts, idx, strict=True))
        yield blocks[idx], sl


def _block_residual(block: np.ndarray, core: np.ndarray, mats: Sequence[np.ndarray]) -> float:
    diff = np.asarray(block, dtype=np.float64) - _mode_products(core, mats)
    return float(np.vdot(diff, diff))


# ---------------------------------------------------------------------------- multilinear passes
# ``X ×_k U_k^T`` over the modes ``k`` with a factor (the other modes kept whole) as one pass:
# every block contracts the modes on which that shrinks it (its rows of ``U_k``; a *reduced*
# block, at most about the block's own size), and a chain of *fold* tasks adds the reduced
# blocks, a batch at a time, into one accumulator of the result's size: the modes the blocks
# cut finer than the rank (``|S_k| < R_k``, the *expanded* modes) are multiplied out only
# there, piece by piece. So the pass holds one result, a batch of reduced blocks and the blocks
# being read, never one result-sized partial per block.


def _multilinear_plan(x: da.Array, factors: Sequence[np.ndarray | None]) -> list[int]:
    """The expanded modes: a factor, and blocks thinner than its rank along it, the thinnest
    first while a block's Kronecker product of their factor rows stays within the result's size
    (a mode left out is contracted in the block, which grows it by ``R_k / |S_k|`` there)."""
    out_size = int(
        np.prod([x.shape[k] if u is None else u.shape[1] for k, u in enumerate(factors)])
    )
    thin = [k for k, u in enumerate(factors) if u is not None and max(x.chunks[k]) < u.shape[1]]
    expanded: list[int] = []
    rows = cols = 1
    for k in sorted(thin, key=lambda k: (max(x.chunks[k]), k)):
        s, r = max(x.chunks[k]), factors[k].shape[1]
        if rows * s * cols * r > max(out_size, 1):
            break
        expanded.append(k)
        rows, cols = rows * s, cols * r
    return sorted(expanded)


def _reduce_block(
    block: np.ndarray, mats: Sequence[np.ndarray | None], expanded: Sequence[int]
) -> np.ndarray:
    """The block contracted with ``mats[k]`` (its rows of ``U_k``) on every mode with a factor
    but the expanded ones, which are moved to the front and flattened: ``(p, *others)``."""
    t = np.asarray(block, dtype=np.float64)
    shrink = [k for k, m in enumerate(mats) if m is not None and k not in expanded]
    labels = list(range(t.ndim))
    for k in sorted(shrink, key=lambda k: mats[k].shape[1] / mats[k].shape[0]):
        pos = labels.index(k)
        t = np.tensordot(t, mats[k], axes=(pos, 0))
        labels.pop(pos)
        labels.append(k)
    order = list(expanded) + [k for k in range(t.ndim) if k not in expanded]
    t = np.transpose(t, [labels.index(k) for k in order])
    p = int(np.prod([t.shape[i] for i in range(len(expanded))]))
    return t.reshape((p,) + t.shape[len(expanded) :])


class _Fold:
    """``acc, batch -> acc`` with every reduced block of the batch added in place (picklable).

    A batch item is ``(kept, rows, reduced)``: the block's slices of the kept modes (where its
    contribution lands), its rows of the expanded modes' factors (their Kronecker product is
    ``(p, R_e...)``), and the reduced block ``(p, *others)``. Items landing in the same place are
    stacked and multiplied out in one contraction per piece of the accumulator.
    """

    def __init__(self, shape: Sequence[int], expanded: Sequence[int]) -> None:
        self.shape, self.expanded = tuple(shape), tuple(expanded)

    def __call__(self, acc: np.ndarray | None, batch: Sequence[tuple]) -> np.ndarray:
        if acc is None:
            acc = np.zeros(self.shape)
        groups: dict[tuple, list[tuple[np.ndarray, np.ndarray]]] = {}
        for kept, rows, reduced in batch:
            groups.setdefault(tuple(kept), []).append((_kron_rows(rows), reduced))
        others = [k for k in range(len(self.shape)) if k not in self.expanded]
        for kept, items in groups.items():
            index = [slice(None)] * len(self.shape)
            for k, s in kept:
                index[k] = slice(s, s + items[0][1].shape[1 + others.index(k)])
            target = np.transpose(acc[tuple(index)], list(self.expanded) + others)
            kron = np.concatenate([a for a, _ in items]) if len(items) > 1 else items[0][0]
            red = np.concatenate([b for _, b in items]) if len(items) > 1 else items[0][1]
            _add_product(target, kron, red, len(self.expanded))
        return acc


def _add_product(target: np.ndarray, kron: np.ndarray, red: np.ndarray, n_exp: int) -> None:
    """``target += kron ×_0 red`` (contracting the stacked rows) one piece at a time: pieces
    of at most :data:`PIECE_BYTES` with the rows, cut along the kept axes first."""
    p = kron.shape[0]
    extents = list(target.shape)

    def size(steps: Sequence[int]) -> int:
        box = int(np.prod(steps))
        return 8 * (box + p * int(np.prod(steps[n_exp:])) + p * int(np.prod(steps[:n_exp])))

    order = list(range(n_exp, target.ndim)) + list(range(n_exp))
    steps = _piece_steps(extents, order, size, PIECE_BYTES)
    for box in _boxes(extents, steps, ()):
        k = kron[(slice(None),) + box[:n_exp]]
        r = red[(slice(None),) + box[n_exp:]]
        target[box] += np.tensordot(k, r, axes=(0, 0))


def _kron_rows(mats: Sequence[np.ndarray]) -> np.ndarray:
    """``(p, R_1, ..., R_m)``: the rows of the Kronecker product of ``mats`` (``(s_i, R_i)``),
    row ``(s_1, ..., s_m)`` in C order, the columns unflattened."""
    out = np.ones((1,))
    for m in mats:
        out = np.einsum("p...,sr->ps...r", out, m).reshape((-1,) + out.shape[1:] + m.shape[1:])
    return out


def _reduced_bytes(sl: Sequence[slice], factors, expanded: Sequence[int]) -> int:
    sizes = [
        s.stop - s.start if u is None or k in expanded else u.shape[1]
        for k, (u, s) in enumerate(zip(factors, sl, strict=True))
    ]
    return 8 * int(np.prod(sizes))


def _multilinear(x: da.Array, factors: Sequence[np.ndarray | None]) -> Any:
    """``X ×_k U_k^T`` for every ``k`` with a factor (Delayed, one pass); see above."""
    expanded = _multilinear_plan(x, factors)
    shape = [x.shape[k] if u is None else u.shape[1] for k, u in enumerate(factors)]
    fold = _Fold(shape, expanded)
    out_bytes = 8 * int(np.prod(shape))
    budget = max(PIECE_BYTES, min(8 * PIECE_BYTES, out_bytes // 8))
    acc: Any = None
    batch: list[Any] = []
    held = 0
    for blk, sl in _block_slices(x):
        mats = [None if u is None else u[s] for u, s in zip(factors, sl, strict=True)]
        kept = tuple(
            (k, s.start) for k, (u, s) in enumerate(zip(factors, sl, strict=True)) if u is None
        )
        reduced = dask.delayed(_reduce_block)(blk, mats, expanded)
        batch.append((kept, [mats[k] for k in expanded], reduced))
        held += _reduced_bytes(sl, factors, expanded)
        if held >= budget:
            acc = dask.delayed(fold)(acc, batch)
            batch, held = [], 0
    if batch:
        acc = dask.delayed(fold)(acc, batch)
    return acc


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
    grams = _mode_grams(x, passes)
    _check_gram_finite(grams[0], "x")
    norm_sq = float(np.trace(grams[0]))
    delta = error_budget(eps, np.sqrt(norm_sq), x.ndim)
    factors, spectra, discarded = _hosvd_factors(x, grams, caps, delta, passes)
    (core,) = passes.arrays(_multilinear(x, factors))
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
        cap = min(len(lam) if caps is None else caps[n], x.size // len(lam))  # <= rank of X_(n)
        if rows[n] is not None:
            tail = np.concatenate([np.cumsum(rows[n][::-1])[::-1], [0.0]])
            r = max(1, int(np.flatnonzero(tail <= delta * delta)[0]))
            r = min(r, cap)
            discarded += float(np.sum(rows[n][r:]))
        else:
            m = len(lam)
            lam_err = EIGENVALUE_ERROR * m * _U * float(np.sum(lam))
            budget = None if delta is None else np.sqrt(max(delta * delta - m * lam_err, 0.0))
            r = truncate(np.sqrt(lam), budget, cap)
            discarded += float(np.sum(lam[r : x.size // m]))  # the rest is round-off
        factors.append(u[:, :r])
        spectra.append(np.sqrt(lam))
    return factors, spectra, discarded


def _row_norms(
    x: da.Array, eig: Sequence[tuple], need: Sequence[bool], passes: _Passes
) -> list[np.ndarray | None]:
    """Exact row norms of ``U_n^T X_(n)`` for the modes that need them, grouped into passes as
    the Gram matrices are (:func:`_mode_groups`)."""
    done: dict[int, np.ndarray] = {}
    for group in _mode_groups(x):
        todo = [n for n in group if need[n]]
        if todo:
            sums = passes.arrays(*[_row_squares(x, eig[n][1], (n,)) for n in todo])
            done.update(zip(todo, sums, strict=True))
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
    (res,) = passes.arrays(_tree_sum(parts))
    return float(np.sqrt(res / norm_sq))


# ---------------------------------------------------------------------------- HOOI
def tucker_hooi(
    x: Any,
    ranks: int | Sequence[int],
    *,
    n_iter_max: int = 100,
    tol: float = 1e-8,
    init: str | TuckerTensor = "hosvd",
    method: str = "power",
    random_state: Any = None,
) -> TuckerTensor:
    """HOOI of a Dask array with one streamed pass per mode and sweep (see
    :func:`tensornet.tucker_hooi`; De Lathauwer, De Moor & Vandewalle 2000b).

    The HOSVD start takes every mode's Gram matrix from the first pass(es) (as :func:`hosvd`).
    Each update of factor ``n`` needs ``Y = X ×_{k≠n} U_k^T`` (``I_n x prod_{k≠n} R_k``, which
    must fit in memory): one multilinear pass (every block contracted with its rows of the
    factors, the results added into one ``Y``); the leading subspace of ``Y_(n)`` (block power
    step or eigendecomposition, ``method``) and the core ``G = Y ×_n U_n^T`` are in memory, as
    in :func:`tensornet.tucker_hooi`, which makes the same updates in the same order. The error
    is ``sqrt(||X||^2 - ||G||^2) / ||X||``, or from a residual pass where that formula has lost
    its digits.

    Parameters
    ----------
    x : dask.array.Array
        Real, finite, ``d >= 2``.
    ranks, n_iter_max, tol, init, method, random_state
        As for :func:`tensornet.tucker_hooi` (the same seed draws the same random start). A
        mode whose unfolding is taller than wide starts from its Gram matrix's eigenvectors, as
        the wide ones do (the in-memory function takes an SVD there).

    Returns
    -------
    TuckerTensor
        As :func:`tensornet.tucker_hooi`; ``info`` adds ``passes`` (``d`` per sweep, plus the
        start's and any residual pass).
    """
    x = _checked(x, "x", min_ndim=2)
    ranks_t = _check_tucker_ranks(ranks, x.shape)
    n_iter_max = check_int(n_iter_max, "n_iter_max", minimum=1)
    tol = check_tol(tol)
    if isinstance(init, TuckerTensor):
        if init.shape != x.shape:
            raise ValueError(f"init has shape {init.shape}, expected {x.shape}")
        if tuple(init.ranks) != ranks_t:
            raise ValueError(f"init has ranks {init.ranks}, expected {ranks_t}")
    else:
        init = check_option(init, "init", ("hosvd", "random"))
    method = check_option(method, "method", ("power", "eigh"))
    rng = check_random_state(random_state)
    passes = _Passes()
    if isinstance(init, str) and init == "hosvd":
        grams = _mode_grams(x, passes)
        _check_gram_finite(grams[0], "x")
        norm_x_sq = float(np.trace(grams[0]))
    else:
        (norm_x_sq,) = passes.arrays(da.sum(x.astype(np.float64) ** 2))
        norm_x_sq = float(norm_x_sq)
        if not np.isfinite(norm_x_sq):
            raise ValueError("x must be finite (no NaN or Inf)")
        grams = []
    factors = _hooi_start(x.shape, ranks_t, init, grams, rng)

    def sweep(state: tuple) -> tuple[tuple, float]:
        new = list(state[1])
        core = None
        for n in range(x.ndim):
            (y,) = passes.arrays(
                _multilinear(x, [None if k == n else u for k, u in enumerate(new)])
            )
            if method == "power" and new[n] is not None:
                new[n] = _power_step(y, n, new[n])
            else:
                new[n] = _leading_subspace(y, n, ranks_t[n])
            core = project(y, [new[n] if k == n else None for k in range(x.ndim)])
        assert core is not None
        res_sq = norm_x_sq - float(np.vdot(core, core))
        err = relative_error(
            res_sq, norm_x_sq, lambda: _tucker_residual(x, norm_x_sq, core, new, passes)
        )
        return (core, new), err

    run = als(lambda i: (None, factors), sweep, n_iter_max=n_iter_max, tol=tol, keep_best=True)
    out = TuckerTensor(*run.state)
    info = run.info()
    del info["restart_errors"]  # HOOI has a single, deterministic start
    out.info = {**info, "passes": passes.count}
    return out


def _hooi_start(
    shape: tuple[int, ...],
    ranks: Sequence[int],
    init: str | TuckerTensor,
    grams: Sequence[np.ndarray],
    rng: np.random.Generator,
) -> list[np.ndarray | None]:
    """The starting factors of :func:`tensornet.tucker_hooi` (the first HOSVD one unused)."""
    factors: list[np.ndarray | None] = [None] * len(shape)
    for n, (size, r) in enumerate(zip(shape, ranks, strict=True)):
        if isinstance(init, TuckerTensor):
            factors[n] = np.linalg.qr(init.factor(n))[0]
        elif init == "random":
            factors[n] = np.linalg.qr(rng.standard_normal((size, r)))[0]
        elif n > 0:
            factors[n] = np.eye(size) if r >= size else leading_eigenvectors(grams[n], r)[1]
    return factors


def _tucker_residual(
    x: da.Array, norm_x_sq: float, core: np.ndarray, factors: Sequence[np.ndarray], passes
) -> float:
    """``||X - G ×_n U_n|| / ||X||`` from one pass."""
    parts = [
        dask.delayed(_block_residual)(blk, core, [u[s].T for u, s in zip(factors, sl, strict=True)])
        for blk, sl in _block_slices(x)
    ]
    (res,) = passes.arrays(_tree_sum(parts))
    return float(np.sqrt(res / norm_x_sq))


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
    grams = _mode_grams(x, passes)
    _check_gram_finite(grams[0], "x")
    norm_x_sq = float(np.trace(grams[0]))
    if norm_x_sq == 0.0:
        raise ValueError("x is all zeros: its CP decomposition is trivial and the error undefined")

    def start(i: int) -> _ALSState:
        return _ALSState(_cp_start(x.shape, grams, rank, init if i == 0 else "random", rng))

    def sweep(st: _ALSState) -> tuple[_ALSState, float]:
        m = None
        for n in range(x.ndim):
            (m,) = passes.arrays(_mttkrp(x, st.factors, n))
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
    res, norm_sq = passes.arrays(_tree_sum(parts), _tree_sum(norm_parts))
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
        (dense,) = passes.arrays(m)
        u, s, vt = thin_svd(_finite(dense))
        return u[:, :rank], s[:rank], vt[:rank]
    omega = rng.standard_normal((n_cols, width))
    (y,) = passes.arrays(m @ da.from_array(omega))
    q = _orth(_finite(y))
    for _ in range(n_iter):
        (z,) = passes.arrays(m.T @ da.from_array(q))
        (y,) = passes.arrays(m @ da.from_array(_orth(z)))
        q = _orth(y)
    (b,) = passes.arrays(da.from_array(q.T) @ m)
    ub, s, vt = thin_svd(b)
    return q @ ub[:, :rank], s[:rank], vt[:rank]


def _finite(a: np.ndarray, name: str = "m") -> np.ndarray:
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite (no NaN or Inf)")
    return a


def _orth(y: np.ndarray) -> np.ndarray:
    q, _ = scipy.linalg.qr(y, mode="economic", check_finite=False)
    return q
