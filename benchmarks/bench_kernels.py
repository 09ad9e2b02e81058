"""Benchmark the MTTKRP and STP kernels against their references; write ``results/kernels.json``.

MTTKRP (``X_(n) · khatri_rao(others)``): the definition (:func:`mttkrp_reference`, forms the
unfolding and the Khatri-Rao product), the partial-contraction BLAS path (:func:`mttkrp_blas`),
the Numba loop (``mttkrp_numba`` of ``mttkrp_numba_candidate.py``) and the public dispatcher
:func:`tensornet.algebra.mttkrp`
(with and without the finiteness scan), for every mode of a few tensors including the CP-ALS
cases 100^3 and 200^3 at rank 10; the CP-ALS cases are repeated with one BLAS thread
(``mttkrp_one_blas_thread``) because a shared machine penalizes multi-threaded GEMMs.

Gram (``X X^T`` of a short, wide matrix, the first step of TT-SVD and HOSVD): BLAS ``x @ x.T``
(``syrk``), :func:`tensornet.algebra.gram_numba` on one and on two threads, and the dispatcher
:func:`tensornet.algebra.gram`, for row counts 4 ... 128 at 2^24 (and 2^20) elements. The
crossover sets :data:`tensornet.algebra.gram.NUMBA_MAX_ROWS`.

STP (``X ⋉ W``): the default :func:`tensornet.algebra.stp` (batched matmul), the Numba loop
(:func:`stp_numba`) and the explicit definition with identity Kronecker factors
(:func:`stp_reference`).

Timings: one warm-up call (it also compiles the Numba kernels), then ``--repeats`` rounds in
which every method runs once, in rotating order; each figure is the median over the rounds of the
per-call time. Ratios are ``time(method) / time(fastest)`` and ``time(reference) / time(method)``.

Usage::

    python benchmarks/bench_kernels.py [--repeats 7] [--quick] [--blas-threads N] [--output F]
        [--parts mttkrp,stp,gram]

Parts not selected keep their entries of an existing output file.
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

from tensornet.algebra import gram, mttkrp, stp
from tensornet.algebra.gram import NUMBA_MAX_ROWS, gram_numba
from tensornet.algebra.kernels import (
    mttkrp_blas,
    mttkrp_reference,
    stp_numba,
    stp_reference,
)

sys.path.insert(0, str(Path(__file__).parent))
from mttkrp_numba_candidate import mttkrp_numba  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "kernels.json"

CP_ALS_CASES = [((100, 100, 100), 10), ((200, 200, 200), 10)]
MTTKRP_CASES = [  # (shape, rank)
    ((30, 30, 30), 10),
    ((100, 100, 100), 10),
    ((200, 200, 200), 10),
    ((16, 16, 16, 16), 3),
    ((30, 30, 30, 30), 10),
]
STP_CASES = [  # (m, n, p, q)
    (64, 64, 64, 64),  # n = p: ordinary product
    (64, 256, 64, 64),  # p | n: X (W ⊗ I_4)
    (64, 64, 256, 64),  # n | p: (X ⊗ I_4) W
    (32, 48, 36, 32),  # general: t = 144, a = 3, b = 4
    (128, 120, 84, 96),  # general: t = 840, a = 7, b = 10
    (8, 6, 4, 8),  # tiny: t = 12
]
GRAM_ROWS = [4, 8, 16, 24, 32, 48, 64, 128]
GRAM_SIZES = [1 << 24, 1 << 20]


def _time_round_robin(
    funcs: dict[str, Callable[[], Any]], repeats: int, min_seconds: float = 0.02
) -> dict[str, float]:
    """Median per-call seconds of each function; one warm-up, then rotating rounds.

    Parameters
    ----------
    funcs : dict of str to callable
        Zero-argument callables to time.
    repeats : int
        Number of rounds (>= 5).
    min_seconds : float
        Each timing repeats a call until at least this much time has passed.

    Returns
    -------
    dict of str to float
    """
    numbers = {}
    for name, f in funcs.items():
        start = time.perf_counter()
        f()  # warm-up (and Numba compilation / cache load)
        once = max(time.perf_counter() - start, 1e-7)
        numbers[name] = max(1, int(min_seconds / once))
    samples: dict[str, list[float]] = {name: [] for name in funcs}
    names = list(funcs)
    for rnd in range(repeats):
        for name in names[rnd % len(names) :] + names[: rnd % len(names)]:
            n = numbers[name]
            start = time.perf_counter()
            for _ in range(n):
                funcs[name]()
            samples[name].append((time.perf_counter() - start) / n)
    return {name: float(np.median(s)) for name, s in samples.items()}


def _mttkrp_funcs(
    x: np.ndarray, factors: list[np.ndarray], mode: int
) -> dict[str, Callable[[], Any]]:
    """Zero-argument callables running each MTTKRP implementation on ``(x, factors, mode)``."""
    return {
        "reference": lambda: mttkrp_reference(x, factors, mode),
        "blas": lambda: mttkrp_blas(x, factors, mode),
        "numba": lambda: mttkrp_numba(x, factors, mode),
        "mttkrp": lambda: mttkrp(x, factors, mode),
        "mttkrp_nocheck": lambda: mttkrp(x, factors, mode, check_finite=False),
    }


def bench_mttkrp(repeats: int, cases: list[tuple[tuple[int, ...], int]]) -> list[dict[str, Any]]:
    """Time the MTTKRP implementations on every case and mode.

    Parameters
    ----------
    repeats : int
        Timing rounds.
    cases : list of (shape, rank)
        The tensors.

    Returns
    -------
    list of dict
    """
    rows = []
    rng = np.random.default_rng(0)
    for shape, rank in cases:
        x = rng.standard_normal(shape)
        factors = [rng.standard_normal((n, rank)) for n in shape]
        for mode in range(len(shape)):
            ref = mttkrp_reference(x, factors, mode)
            for f in (mttkrp_blas, mttkrp_numba, mttkrp):
                np.testing.assert_allclose(f(x, factors, mode), ref, rtol=1e-8, atol=1e-8)
            funcs = _mttkrp_funcs(x, factors, mode)
            t = _time_round_robin(funcs, repeats)
            best = min(t["reference"], t["blas"], t["numba"])
            rows.append(
                {
                    "shape": list(shape),
                    "rank": rank,
                    "mode": mode,
                    "ms": {k: round(v * 1e3, 4) for k, v in t.items()},
                    "fastest": min(("reference", "blas", "numba"), key=t.__getitem__),
                    "speedup_vs_reference": {
                        k: round(t["reference"] / t[k], 2) for k in ("blas", "numba")
                    },
                    "blas_over_best": round(t["blas"] / best, 2),
                    "numba_over_blas": round(t["numba"] / t["blas"], 2),
                }
            )
            print(json.dumps(rows[-1]), flush=True)
    return rows


def bench_stp(repeats: int) -> list[dict[str, Any]]:
    """Time the STP implementations on every case.

    Parameters
    ----------
    repeats : int
        Timing rounds.

    Returns
    -------
    list of dict
    """
    rows = []
    rng = np.random.default_rng(1)
    for m, n, p, q in STP_CASES:
        x = rng.standard_normal((m, n))
        w = rng.standard_normal((p, q))
        ref = stp_reference(x, w)
        np.testing.assert_allclose(stp(x, w), ref, rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(stp_numba(x, w), ref, rtol=1e-10, atol=1e-10)
        funcs = {
            "stp": lambda x=x, w=w: stp(x, w),
            "numba": lambda x=x, w=w: stp_numba(x, w),
            "explicit_kron": lambda x=x, w=w: stp_reference(x, w),
        }
        t = _time_round_robin(funcs, repeats)
        rows.append(
            {
                "x_shape": [m, n],
                "w_shape": [p, q],
                "out_shape": list(ref.shape),
                "ms": {k: round(v * 1e3, 4) for k, v in t.items()},
                "fastest": min(t, key=t.__getitem__),
                "speedup_vs_explicit_kron": {
                    k: round(t["explicit_kron"] / t[k], 2) for k in ("stp", "numba")
                },
                "numba_over_stp": round(t["numba"] / t["stp"], 2),
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    return rows


def bench_gram(repeats: int, quick: bool) -> list[dict[str, Any]]:
    """Time BLAS, the Numba kernel (1 and 2 threads) and the dispatcher for the Gram matrix.

    Parameters
    ----------
    repeats : int
        Timing rounds.
    quick : bool
        Only the 2^20-element matrices.

    Returns
    -------
    list of dict
    """
    rows = []
    data = np.random.default_rng(2).standard_normal(GRAM_SIZES[0])
    for size in GRAM_SIZES[1:] if quick else GRAM_SIZES:
        for m in GRAM_ROWS:
            x = data[: (size // m) * m].reshape(m, -1)
            ref = x @ x.T
            scale = float(np.abs(ref).max())
            for threads in (1, 2):
                err = float(np.abs(gram_numba(x, n_threads=threads) - ref).max()) / scale
                assert err < 1e-13, f"gram_numba differs from BLAS by {err:.1e}"
            funcs = {
                "blas": lambda x=x: x @ x.T,
                "numba_1_thread": lambda x=x: gram_numba(x, n_threads=1),
                "numba_2_threads": lambda x=x: gram_numba(x, n_threads=2),
                "gram": lambda x=x: gram(x),
            }
            t = _time_round_robin(funcs, repeats)
            rows.append(
                {
                    "shape": list(x.shape),
                    "ms": {k: round(v * 1e3, 3) for k, v in t.items()},
                    "numba_1_over_blas": round(t["numba_1_thread"] / t["blas"], 3),
                    "numba_2_over_blas": round(t["numba_2_threads"] / t["blas"], 3),
                    "gram_path": "numba" if m <= NUMBA_MAX_ROWS else "blas",
                }
            )
            print(json.dumps(rows[-1]), flush=True)
    return rows


def main() -> None:
    """Run both benchmarks, print each row, and write ``benchmarks/results/kernels.json``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="timing rounds (>= 5)")
    parser.add_argument("--quick", action="store_true", help="small MTTKRP cases only")
    parser.add_argument(
        "--blas-threads", type=int, default=None, help="limit the BLAS thread pools (threadpoolctl)"
    )
    parser.add_argument("--output", type=Path, default=RESULTS, help="JSON file to write")
    parser.add_argument(
        "--parts", default="mttkrp,stp,gram", help="comma-separated subset of mttkrp,stp,gram"
    )
    args = parser.parse_args()
    with threadpoolctl.threadpool_limits(args.blas_threads):
        result = run(args)
    _write(result, args.output)


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run both benchmarks under the current thread limits and return the JSON record.

    Parameters
    ----------
    args : argparse.Namespace
        ``repeats``, ``quick`` and ``blas_threads``.

    Returns
    -------
    dict
    """
    repeats = max(args.repeats, 5)
    load_before = os.getloadavg()
    result = {
        "benchmark": "kernels",
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "timing": f"median of {repeats} rotating rounds after one warm-up",
        "machine": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "numba": numba.__version__,
            "cpu_count": os.cpu_count(),
            "load_average_before": [round(v, 2) for v in load_before],
            "threadpoolctl": threadpoolctl.threadpool_info(),
            "numba_threads": numba.config.NUMBA_NUM_THREADS,
            "blas_threads_limit": args.blas_threads,
        },
    }
    parts = set(args.parts.split(","))
    if "mttkrp" in parts:
        result["mttkrp"] = bench_mttkrp(repeats, MTTKRP_CASES[:2] if args.quick else MTTKRP_CASES)
    if "stp" in parts:
        result["stp"] = bench_stp(repeats)
    if "gram" in parts:
        result["gram"] = bench_gram(repeats, args.quick)
    if "mttkrp" in parts and not args.quick and args.blas_threads != 1:
        # On a shared machine a multi-threaded GEMM waits for its slowest thread: repeat the
        # CP-ALS cases with one BLAS thread to show the effect of contention.
        with threadpoolctl.threadpool_limits(1):
            result["mttkrp_one_blas_thread"] = bench_mttkrp(repeats, CP_ALS_CASES)
    result["machine"]["load_average_after"] = [round(v, 2) for v in os.getloadavg()]
    return result


def _write(result: dict[str, Any], path: Path) -> None:
    """Merge ``result`` into ``path`` (parts not run keep their entries), write it atomically
    and print the machine record."""
    path.parent.mkdir(parents=True, exist_ok=True)
    parts = ("mttkrp", "stp", "gram", "mttkrp_one_blas_thread")
    meta = {k: v for k, v in result.items() if k not in parts}
    old: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    runs = old.get("runs") or {
        p: {k: v for k, v in old.items() if k not in parts} for p in parts if p in old
    }
    runs.update({p: meta for p in parts if p in result})
    result = {**old, **result, "runs": runs}
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=1))
    os.replace(tmp, path)
    print(json.dumps(result["machine"], indent=1))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
