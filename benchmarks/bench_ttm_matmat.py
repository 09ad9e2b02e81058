"""Benchmark ``TTMatrix.matmat`` (BLAS ``tensordot`` sweep) against a Numba candidate.

Issue 4 asks for "a Numba or BLAS path, whichever the benchmark shows faster" for the TT layer's
forward pass ``y = x @ W`` (Novikov et al., NeurIPS 2015; survey Sec. on TT layers). The package
ships the BLAS path (:func:`tensornet.formats.tt_matrix._contract`); this script times it against
the Numba kernels of ``benchmarks/ttm_numba_candidate.py`` in the same process, in rotating order
within each round, median of ``--repeats`` rounds after a warm-up, on the cases that matter for
TT layers:

* ``B in {32, 256}``: modes ``(4,8,8,4) x (4,8,8,4)`` (1024 -> 1024) ranks 2, 4, 8, 16;
  ``(4,7,4,7) x (4,4,4,4)`` (LeNet-300 first layer, 784 -> 256) ranks 2, 8;
  ``(4,4,4,4) x (4,4,4,4)`` rank 4;
* ``B = 1`` (single-sample inference) on ``(4,8,8,4)`` rank 8 and ``(4,7,4,7)`` rank 8.

Every case is run in float64 and float32. Self-check: each Numba result must agree with
``matmat`` (max abs difference ``< 1e-10 * max(1, |y|_max)`` in float64, ``< 1e-4 * max(1,
|y|_max)`` in float32), otherwise the script raises. BLAS is limited to ``--blas-threads``
threads by threadpoolctl and Numba to the same number by ``numba.set_num_threads``.

Usage::

    python benchmarks/bench_ttm_matmat.py [--repeats 7] [--blas-threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numba
import numpy as np
import threadpoolctl

from tensornet.formats import TTMatrix

sys.path.insert(0, str(Path(__file__).parent))
from bench_tt_tr import time_rounds  # noqa: E402
from ttm_numba_candidate import ttm_matmat_numba  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "ttm_matmat.json"
MODES_1024 = ((4, 8, 8, 4), (4, 8, 8, 4))
MODES_LENET = ((4, 7, 4, 7), (4, 4, 4, 4))
MODES_256 = ((4, 4, 4, 4), (4, 4, 4, 4))


def cases() -> list[tuple[int, tuple, tuple, int]]:
    """The benchmark grid ``(batch, in_modes, out_modes, rank)``.

    Returns
    -------
    list of tuple
    """
    grid = []
    for batch in (32, 256):
        grid += [(batch, *MODES_1024, r) for r in (2, 4, 8, 16)]
        grid += [(batch, *MODES_LENET, r) for r in (2, 8)]
        grid.append((batch, *MODES_256, 4))
    grid += [(1, *MODES_1024, 8), (1, *MODES_LENET, 8)]
    return grid


def random_ttm(ins: tuple, outs: tuple, rank: int, dtype: type, seed: int = 0) -> TTMatrix:
    """TT-matrix with Gaussian cores scaled so that ``x @ W`` has entries of order one.

    Parameters
    ----------
    ins, outs : tuple of int
        Input and output modes.
    rank : int
        Inner TT rank.
    dtype : type
        Core dtype.
    seed : int
        Seed.

    Returns
    -------
    TTMatrix
    """
    rng = np.random.default_rng(seed)
    d = len(ins)
    r = [1] + [rank] * (d - 1) + [1]
    cores = [
        rng.standard_normal((r[k], ins[k], outs[k], r[k + 1])) / np.sqrt(r[k] * ins[k])
        for k in range(d)
    ]
    return TTMatrix([g.astype(dtype) for g in cores])


def bench_case(
    batch: int, ins: tuple, outs: tuple, rank: int, dtype: type, layouts: list[str], repeats: int
) -> dict[str, Any]:
    """Time ``matmat`` and the Numba layouts on one case; raise if a result differs.

    Parameters
    ----------
    batch : int
        Batch size ``B``.
    ins, outs : tuple of int
        Modes.
    rank : int
        TT rank.
    dtype : type
        ``numpy.float64`` or ``numpy.float32``.
    layouts : list of str
        Numba layouts to time.
    repeats : int
        Rounds.

    Returns
    -------
    dict
        Times in ms, ratios numba/blas, max abs differences.
    """
    w = random_ttm(ins, outs, rank, dtype)
    x = np.random.default_rng(1).standard_normal((batch, w.shape[0])).astype(dtype)
    ref = w.matmat(x)
    tol = (1e-10 if dtype == np.float64 else 1e-4) * max(1.0, float(np.abs(ref).max()))
    diffs = {}
    for lay in layouts:
        y = ttm_matmat_numba(w.cores, x, lay)
        if y.shape != ref.shape or y.dtype != ref.dtype:
            raise AssertionError(f"{lay}: shape/dtype {y.shape} {y.dtype} != {ref.shape}")
        diffs[lay] = float(np.abs(y - ref).max())
        if not diffs[lay] < tol:
            raise AssertionError(f"{lay}: max abs diff {diffs[lay]:.3g} >= {tol:.3g}")
    funcs: dict[str, Callable[[], Any]] = {"blas": lambda: w.matmat(x)}
    for lay in layouts:
        funcs[lay] = lambda lay=lay: ttm_matmat_numba(w.cores, x, lay)
    times = time_rounds(funcs, repeats)
    ms = {k: 1e3 * v for k, v in times.items()}
    best = min(layouts, key=lambda k: ms[k])
    return {
        "batch": batch,
        "in_modes": ins,
        "out_modes": outs,
        "rank": rank,
        "dtype": np.dtype(dtype).name,
        "ms": ms,
        "ratio_numba_over_blas": {k: ms[k] / ms["blas"] for k in layouts},
        "best_numba": best,
        "best_ratio": ms[best] / ms["blas"],
        "max_abs_diff": diffs,
    }


def main() -> None:
    """Run the grid and write ``results/ttm_matmat.json`` (or ``..._<n>threads.json``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--blas-threads", type=int, default=1)
    args = parser.parse_args()
    numba.set_num_threads(args.blas_threads)
    layouts = ["dot", "batch_outer"] + (["dot_par"] if args.blas_threads > 1 else [])
    load_before = os.getloadavg()
    t_start = time.perf_counter()
    rows = []
    with threadpoolctl.threadpool_limits(limits=args.blas_threads):
        info = threadpoolctl.threadpool_info()
        for batch, ins, outs, rank in cases():
            for dtype in (np.float64, np.float32):
                row = bench_case(batch, ins, outs, rank, dtype, layouts, args.repeats)
                rows.append(row)
                print(
                    f"B={batch:<4}{ins}x{outs} r={rank:<3}{row['dtype']:8s} blas "
                    f"{row['ms']['blas']:8.3f} ms  {row['best_numba']:12s}"
                    f"{row['ms'][row['best_numba']]:8.3f} ms  ratio {row['best_ratio']:.2f}",
                    file=sys.stderr,
                    flush=True,
                )
    record = {
        "machine": platform.platform(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "blas_threads": args.blas_threads,
        "numba_threads": numba.get_num_threads(),
        "numba_threading_layer": numba.threading_layer() if "dot_par" in layouts else None,
        "threadpool_info": info,
        "repeats": args.repeats,
        "load_average": [load_before, os.getloadavg()],
        "wall_seconds": time.perf_counter() - t_start,
        "cases": rows,
    }
    print(json.dumps(record, indent=1))
    out = (
        RESULTS
        if args.blas_threads == 1
        else RESULTS.with_stem(f"{RESULTS.stem}_{args.blas_threads}threads")
    )
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(record, indent=1))
    print(f"wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
