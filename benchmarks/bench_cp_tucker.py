"""Benchmark: ``cp_als`` vs TensorLy ``parafac`` and ``tucker_hooi`` vs TensorLy ``tucker``.

The tensors are random rank-10 CP tensors (which have multilinear rank 10 too) of size 100^3
and 200^3 plus Gaussian noise of relative size 0.1. Both libraries start from the SVD of the
unfoldings and run exactly ``--iters`` ALS/HOOI sweeps (``tol=0``, so neither stops early).
Timings are the median of ``--repeats`` rounds after a warm-up, the two libraries alternating
within each round; the reported errors are relative Frobenius errors of the returned
decompositions, computed densely outside the timed region.

Run: ``python benchmarks/bench_cp_tucker.py [--repeats 5] [--iters 100] [--blas-threads 1]
[--quick] [--output PATH]``. Writes ``benchmarks/results/cp_tucker.json`` (or ``PATH``) and
prints it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import threadpoolctl

import tensornet as tn

RESULTS = Path(__file__).parent / "results" / "cp_tucker.json"


def low_rank_plus_noise(size: int, rank: int, noise: float, seed: int) -> np.ndarray:
    """A random rank-``rank`` CP tensor of shape ``(size,)*3`` plus relative noise ``noise``.

    Parameters
    ----------
    size : int
        Mode size.
    rank : int
        CP rank of the signal.
    noise : float
        Relative Frobenius size of the Gaussian noise.
    seed : int
        Seed.

    Returns
    -------
    numpy.ndarray
    """
    rng = np.random.default_rng(seed)
    factors = [rng.standard_normal((size, rank)) for _ in range(3)]
    x = np.einsum("ir,jr,kr->ijk", *factors)
    e = rng.standard_normal(x.shape)
    return x + noise * np.linalg.norm(x) / np.linalg.norm(e) * e


def timed(func: Callable[[], object]) -> tuple[float, object]:
    """Run ``func`` once and return (seconds, result).

    Parameters
    ----------
    func : callable
        The call to time.

    Returns
    -------
    tuple
    """
    start = time.perf_counter()
    out = func()
    return time.perf_counter() - start, out


def rel_error_dense(x: np.ndarray, approx: np.ndarray) -> float:
    """``||x - approx|| / ||x||``.

    Parameters
    ----------
    x, approx : numpy.ndarray
        Tensors of the same shape.

    Returns
    -------
    float
    """
    return float(np.linalg.norm(x - approx) / np.linalg.norm(x))


def run_case(x: np.ndarray, rank: int, iters: int, repeats: int) -> dict:
    """Time and score both pairs of methods on ``x``.

    Parameters
    ----------
    x : numpy.ndarray
        The tensor.
    rank : int
        CP rank and Tucker rank (per mode).
    iters : int
        Number of sweeps.
    repeats : int
        Timed rounds (after one warm-up round).

    Returns
    -------
    dict
    """
    import tensorly as tl
    from tensorly.decomposition import parafac, tucker

    tl.set_backend("numpy")
    methods = {
        "cp_als": lambda: tn.cp_als(x, rank, n_iter_max=iters, tol=0, init="svd"),
        "tensorly_parafac": lambda: parafac(x, rank, n_iter_max=iters, tol=0, init="svd"),
        "tucker_hooi": lambda: tn.tucker_hooi(x, rank, n_iter_max=iters, tol=0),
        "tensorly_tucker": lambda: tucker(x, [rank] * 3, n_iter_max=iters, tol=0, init="svd"),
    }
    times: dict[str, list[float]] = {k: [] for k in methods}
    results = {}
    order = list(methods)
    for round_ in range(repeats + 1):
        for name in order[round_ % 2 :] + order[: round_ % 2]:
            seconds, out = timed(methods[name])
            if round_ > 0:
                times[name].append(seconds)
            results[name] = out
        order = order[1:] + order[:1]
    errors = {
        "cp_als": results["cp_als"].relative_error(x),
        "tensorly_parafac": rel_error_dense(x, tl.cp_to_tensor(results["tensorly_parafac"])),
        "tucker_hooi": results["tucker_hooi"].relative_error(x),
        "tensorly_tucker": rel_error_dense(x, tl.tucker_to_tensor(results["tensorly_tucker"])),
    }
    med = {k: float(np.median(v)) for k, v in times.items()}
    return {
        "shape": list(x.shape),
        "rank": rank,
        "iters": iters,
        "repeats": repeats,
        "seconds_median": med,
        "seconds_all": times,
        "rel_error": errors,
        "cp_ratio_ours_over_tensorly": med["cp_als"] / med["tensorly_parafac"],
        "tucker_ratio_ours_over_tensorly": med["tucker_hooi"] / med["tensorly_tucker"],
        "cp_error_ours_minus_tensorly": errors["cp_als"] - errors["tensorly_parafac"],
        "tucker_error_ours_minus_tensorly": errors["tucker_hooi"] - errors["tensorly_tucker"],
    }


def main() -> None:
    """Parse the options, run every case, print and write the JSON record."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--iters", type=int, default=100)
    parser.add_argument("--blas-threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="only the 100^3 case")
    parser.add_argument("--output", type=Path, default=RESULTS, help="JSON file to write")
    args = parser.parse_args()
    import tensorly

    sizes = [100] if args.quick else [100, 200]
    record = {
        "benchmark": "cp_tucker",
        "tensorly_version": tensorly.__version__,
        "numpy_version": np.__version__,
        "python": platform.python_version(),
        "blas_threads": args.blas_threads,
        "load_average_before": list(os.getloadavg()),
        "cases": [],
    }
    with threadpoolctl.threadpool_limits(args.blas_threads):
        record["threadpool_info"] = threadpoolctl.threadpool_info()
        for size in sizes:
            x = low_rank_plus_noise(size, 10, 0.1, seed=size)
            case = run_case(x, 10, args.iters, args.repeats)
            print(json.dumps({k: v for k, v in case.items() if k != "seconds_all"}), flush=True)
            record["cases"].append(case)
    record["load_average_after"] = list(os.getloadavg())
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(record, indent=2))
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
