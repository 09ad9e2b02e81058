"""Thread budget, batch parts and OpenBLAS's thread count for the kernels of ``conv.py``.

The convolution kernels of :mod:`tensornet.nn.conv` split a batch into contiguous
parts, one per thread, and run them in a Numba ``prange`` loop (each part does its own patch
copies and one-thread GEMMs on its own scratch rows). While the parts run, OpenBLAS is held at
one thread: its two-thread GEMM at LeNet-5's conv shapes was measured slower than its
one-thread GEMM, and its worker threads spin after each call on the core the second part needs
(``benchmarks/bench_conv_kernels.py``). For the same reason :func:`matmul` keeps small products
(the dense layers of a batch-128 LeNet-5) at one OpenBLAS thread.

The number of parts is the thread budget of the process: ``NUMBA_NUM_THREADS`` (which defaults
to the number of cores), capped by OpenBLAS's own thread count, read and set through
``threadpoolctl`` when it is installed, else through OpenBLAS's own functions in the libraries
the process has loaded (Linux); where neither can hold the BLAS at one thread (another BLAS, another
system) everything stays on the calling thread, and so it does under
``threadpoolctl.threadpool_limits(1)`` or ``OPENBLAS_NUM_THREADS=1``. A part is
never smaller than :data:`MIN_PART_BYTES` of data, so small batches stay serial. The split
depends only on the batch size and the thread budget, never on timing, so results are
reproducible for a given budget (partial weight gradients are summed in part order).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numba
import numpy as np

#: Smallest part, in bytes of data its kernels touch: below it a thread hand-off costs more
#: than the work it moves (``benchmarks/bench_conv_kernels.py``).
MIN_PART_BYTES = 1 << 18

#: Largest buffer :func:`scratch` keeps for reuse (a training batch's patch rows fit).
SCRATCH_MAX_BYTES = 1 << 24

#: Thread budget used instead of the detected one when set (tests force several parts).
BUDGET: int | None = None

_LOCAL = threading.local()
_PARTS_RAN = False  # set once a convolution ran on several parts
_BLAS: list[Any] | None = None  # None: no BLAS control found (or not yet looked up)


def _blas_controllers() -> list[Any]:
    """``(get_num_threads, set_num_threads)`` of every loaded BLAS (empty when none can be
    controlled): OpenBLAS's own C functions when threadpoolctl or the process's library list
    can name them (a call is then a microsecond, which matters for the dense layers' small
    GEMMs), else threadpoolctl's methods."""
    global _BLAS
    if _BLAS is None:
        try:
            from threadpoolctl import ThreadpoolController

            libs = [c for c in ThreadpoolController().lib_controllers if c.user_api == "blas"]
        except Exception:  # noqa: BLE001 (threadpoolctl missing or unable to read a library)
            libs = None
        _BLAS = _openblas_of_maps() if libs is None else [_thread_functions(lib) for lib in libs]
    return _BLAS or []


#: Symbol spellings of OpenBLAS's thread functions: plain builds, 64-bit-integer builds and the
#: ``scipy_openblas`` builds that NumPy and SciPy wheels bundle.
_OPENBLAS_NAMES = [
    (f"{pre}openblas_get_num_threads{suf}", f"{pre}openblas_set_num_threads{suf}")
    for pre in ("", "scipy_")
    for suf in ("", "64_")
]


def _openblas_of_maps(maps: str = "/proc/self/maps") -> list[Any] | None:
    """``(get, set)`` of every OpenBLAS this process has loaded, found from the libraries it
    maps (Linux), for when threadpoolctl is not installed. ``None`` when the list cannot be
    read, when any other BLAS (MKL, BLIS, ...) is loaded, or when an OpenBLAS lacks the
    functions: the budget is then one thread, never an uncontrolled second BLAS pool."""
    import ctypes
    import os

    try:
        with open(maps, encoding="utf-8") as f:
            paths = {line.split()[-1] for line in f if "/" in line}
    except OSError:
        return None
    names = {os.path.basename(p).lower(): p for p in paths}
    if any(k in n for n in names for k in ("mkl_rt", "libblis", "libflexiblas", "accelerate")):
        return None
    out = []
    for base, path in sorted(names.items()):
        if "openblas" not in base or ".so" not in base:
            continue
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            return None
        pair = next(
            ((getattr(lib, g), getattr(lib, s)) for g, s in _OPENBLAS_NAMES if hasattr(lib, g)),
            None,
        )
        if pair is None:
            return None
        pair[0].restype, pair[1].argtypes = ctypes.c_int, [ctypes.c_int]
        out.append(pair)
    return out or None


def _blas_controllable() -> bool:
    _blas_controllers()
    return _BLAS is not None


def _thread_functions(lib: Any) -> tuple[Any, Any]:
    symbol = getattr(lib, "_get_symbol", None)
    if lib.internal_api == "openblas" and lib.threading_layer == "pthreads" and symbol:
        get, set_ = symbol("openblas_get_num_threads"), symbol("openblas_set_num_threads")
        if get is not None and set_ is not None:
            return get, set_
    return lib.get_num_threads, lib.set_num_threads


def thread_budget() -> int:
    """Threads this process may use for one operation (at least 1)."""
    if BUDGET is not None:
        return BUDGET
    if not _blas_controllable():  # OpenBLAS's spinning threads would take the parts' cores
        return 1
    budget = int(numba.config.NUMBA_NUM_THREADS)
    for get, _ in _blas_controllers():
        budget = min(budget, int(get() or 1))
    return max(1, budget)


def split(n_items: int, item_bytes: int) -> list[tuple[int, int]]:
    """Contiguous ``(start, stop)`` parts of ``range(n_items)``, one per thread of the budget.

    Parameters
    ----------
    n_items : int
        Number of images (or planes) to split.
    item_bytes : int
        Bytes one item's work writes or reads (its patch rows, its output plane); a part gets
        at least :data:`MIN_PART_BYTES` of them, so small batches stay on the calling thread.

    Returns
    -------
    list of (int, int)
        Parts in order, sizes differing by at most one.
    """
    per_part = max(1, -(-MIN_PART_BYTES // max(1, item_bytes)))
    parts = max(1, min(thread_budget(), n_items // per_part))
    bounds = [n_items * k // parts for k in range(parts + 1)]
    return [(bounds[k], bounds[k + 1]) for k in range(parts)]


def n_parts(n_items: int, item_bytes: int) -> int:
    """``len(split(n_items, item_bytes))``: the number of threads an operation uses (a split
    into several parts turns on :func:`matmul`'s one-thread rule for the rest of the process)."""
    global _PARTS_RAN
    parts = len(split(n_items, item_bytes))
    if parts > 1:
        _PARTS_RAN = True
    return parts


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Hold every loaded OpenBLAS at one thread inside the block (restored on exit)."""
    libs = _blas_controllers()
    saved = [int(get() or 1) for get, _ in libs]
    for (_, set_), n in zip(libs, saved, strict=True):
        if n > 1:
            set_(1)
    try:
        yield
    finally:
        for (_, set_), n in zip(libs, saved, strict=True):
            if n > 1:
                set_(n)


def scratch(shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """An uninitialized array of the calling thread's own reusable buffer.

    A part's patch rows live in it between their copy and their GEMM; reusing one buffer per
    thread avoids the page faults of a fresh large allocation at every call (which also
    serialize concurrent threads on the process's memory map).
    """
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape)) * dtype.itemsize
    if nbytes > SCRATCH_MAX_BYTES:  # a large inference batch: not kept after the call
        return np.empty(shape, dtype=dtype)
    buf = getattr(_LOCAL, "buf", None)
    if buf is None or buf.nbytes < nbytes:
        buf = np.empty(max(nbytes, 1), dtype=np.uint8)
        _LOCAL.buf = buf
    return buf[:nbytes].view(dtype).reshape(shape)


#: Largest ``M*N*K`` of a product that :func:`matmul` keeps at one OpenBLAS thread.
SMALL_GEMM = 1 << 24


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b``, at one OpenBLAS thread when the product is small and convolutions of this
    process run on batch parts.

    A small GEMM (a batch-128 dense layer of LeNet-5) gains little from OpenBLAS's second
    thread, and that thread then spins on the core which the next convolution's second part
    needs: a LeNet-5 step was measured 2-3x slower without this rule. Large products, and every
    product of a process that has not split a convolution (a dense network), keep OpenBLAS's
    threads (``benchmarks/bench_conv_kernels.py``).
    """
    sa, sb = np.shape(a), np.shape(b)
    if _PARTS_RAN and len(sa) == 2 and len(sb) == 2 and sa[0] * sa[1] * sb[1] <= SMALL_GEMM:
        with one_blas_thread():
            return a @ b
    return a @ b
