"""Benchmark: ``cp_als`` vs TensorLy ``parafac`` and ``tucker_hooi`` vs TensorLy ``tucker``.

The tensors are random rank-10 CP tensors (which have multilinear rank 10 too) of size 100^3
and 200^3 plus Gaussian noise of relative size 0.1. Both libraries start from the SVD of the
unfoldings and run exactly ``--iters`` ALS/HOOI sweeps (``tol=0``, so neither stops early).

Fair protocol (see ``benchmarks/README.md``): every method runs in its own fresh process with
the same thread limits (environment variables set before NumPy is imported, and
``threadpoolctl``), makes one warm-up call and then ``--calls`` timed calls; the processes of
the four methods alternate in rotating order for ``--rounds`` rounds, and the figure of a
method is the median over all its timed calls (``spread``: (max - min) / median). Each
TensorLy method then runs ``--alone-rounds`` more processes back to back with nothing in
between (``peer_alone_over_alternating``, a sanity check of the alternation); the harness is
``benchmarks/_fair.py``. The reported errors are relative Frobenius
errors of the returned decompositions, computed densely outside the timed region. Each call's
CPU time is recorded as well: with one thread per process it is what the wall time would be on
an idle core, and on a shared machine its ratio is the steadier figure.

Run: ``python benchmarks/bench_cp_tucker.py [--rounds 3] [--calls 2] [--alone-rounds 1]
[--iters 100] [--blas-threads 1] [--quick] [--output PATH]``. Writes
``benchmarks/results/cp_tucker.json`` (or ``PATH``) and prints it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import threadpoolctl

import tensornet as tn

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _fair  # noqa: E402

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


def _method(name: str, x: np.ndarray, rank: int, iters: int) -> Callable[[], object]:
    """The call to time for ``name``."""
    if name == "cp_als":
        return lambda: tn.cp_als(x, rank, n_iter_max=iters, tol=0, init="svd")
    if name == "tucker_hooi":
        return lambda: tn.tucker_hooi(x, rank, n_iter_max=iters, tol=0)
    import tensorly as tl
    from tensorly.decomposition import parafac, tucker

    tl.set_backend("numpy")
    if name == "tensorly_parafac":
        return lambda: parafac(x, rank, n_iter_max=iters, tol=0, init="svd")
    return lambda: tucker(x, [rank] * 3, n_iter_max=iters, tol=0, init="svd")


def _error(name: str, x: np.ndarray, out: object) -> float:
    """Dense relative error of a returned decomposition."""
    if name in ("cp_als", "tucker_hooi"):
        return float(out.relative_error(x))
    import tensorly as tl

    full = tl.cp_to_tensor(out) if name == "tensorly_parafac" else tl.tucker_to_tensor(out)
    return rel_error_dense(x, full)


def worker(name: str, size: int, iters: int, calls: int, threads: int) -> dict:
    """One process's share: a warm-up call, then ``calls`` timed calls of one method.

    Parameters
    ----------
    name : str
        One of :data:`METHODS`.
    size : int
        Mode size of the test tensor (seeded by ``size``).
    iters : int
        Number of sweeps.
    calls : int
        Timed calls after the warm-up.
    threads : int
        BLAS thread limit.

    Returns
    -------
    dict
        ``seconds`` (wall time of every timed call), ``cpu_seconds`` (the process's CPU time
        of each call) and ``rel_error``.
    """
    x = low_rank_plus_noise(size, 10, 0.1, seed=size)
    with threadpoolctl.threadpool_limits(threads):
        func = _method(name, x, 10, iters)
        out = func()
        seconds, cpu_seconds = [], []
        for _ in range(calls):
            cpu = time.process_time()
            t, out = timed(func)
            cpu_seconds.append(time.process_time() - cpu)
            seconds.append(t)
    return {"seconds": seconds, "cpu_seconds": cpu_seconds, "rel_error": _error(name, x, out)}


METHODS = ("cp_als", "tensorly_parafac", "tucker_hooi", "tensorly_tucker")
PEERS = ("tensorly_parafac", "tensorly_tucker")


def _spawn(name: str, size: int, args: argparse.Namespace) -> dict:
    """Run :func:`worker` in a fresh process with the thread limits in its environment."""
    env = _fair.worker_env(args.blas_threads)
    load = os.getloadavg()[0]
    cmd = [sys.executable, __file__, "--worker", name, "--size", str(size)]
    cmd += ["--iters", str(args.iters), "--calls", str(args.calls)]
    cmd += ["--blas-threads", str(args.blas_threads)]
    done = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
    out = json.loads(done.stdout.strip().splitlines()[-1])
    out["load1"] = load
    return out


def run_case(size: int, args: argparse.Namespace) -> dict:
    """Alternate one process per method for ``args.rounds`` rounds on the ``size``^3 case.

    Parameters
    ----------
    size : int
        Mode size.
    args : argparse.Namespace
        The parsed options.

    Returns
    -------
    dict
    """
    times: dict[str, list[float]] = {k: [] for k in METHODS}
    cpu_times: dict[str, list[float]] = {k: [] for k in METHODS}
    errors: dict[str, float] = {}
    max_load = 0.0
    order = list(METHODS)
    for _ in range(args.rounds):
        for name in order:
            out = _spawn(name, size, args)
            times[name] += out["seconds"]
            cpu_times[name] += out["cpu_seconds"]
            errors[name] = out["rel_error"]
            max_load = max(max_load, out["load1"])
        order = order[1:] + order[:1]
    med = {k: float(np.median(v)) for k, v in times.items()}
    cpu = {k: float(np.median(v)) for k, v in cpu_times.items()}
    alone: dict[str, list[float]] = {k: [] for k in PEERS}
    for name in PEERS:  # sanity check: the peer in back-to-back processes, nothing in between
        for _ in range(args.alone_rounds):
            alone[name] += _spawn(name, size, args)["seconds"]
    alone_med = {k: float(np.median(v)) for k, v in alone.items()}
    return {
        "shape": [size] * 3,
        "rank": 10,
        "iters": args.iters,
        "rounds": args.rounds,
        "calls_per_process": args.calls,
        "seconds_median": med,
        "seconds_all": times,
        "cpu_seconds_median": cpu,
        "cpu_seconds_all": cpu_times,
        "rel_error": errors,
        "cp_ratio_ours_over_tensorly": med["cp_als"] / med["tensorly_parafac"],
        "tucker_ratio_ours_over_tensorly": med["tucker_hooi"] / med["tensorly_tucker"],
        "cp_cpu_ratio_ours_over_tensorly": cpu["cp_als"] / cpu["tensorly_parafac"],
        "tucker_cpu_ratio_ours_over_tensorly": cpu["tucker_hooi"] / cpu["tensorly_tucker"],
        "cp_error_ours_minus_tensorly": errors["cp_als"] - errors["tensorly_parafac"],
        "tucker_error_ours_minus_tensorly": errors["tucker_hooi"] - errors["tensorly_tucker"],
        "spread": {k: (max(v) - min(v)) / med[k] for k, v in times.items()},
        "peer_alone_seconds_median": alone_med,
        "peer_alone_over_alternating": {k: alone_med[k] / med[k] for k in PEERS},
        "max_load1": max_load,
        "loaded": max_load > _fair.LOADED,
    }


def main() -> None:
    """Parse the options, run every case, print and write the JSON record."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--calls", type=int, default=2, help="timed calls per process")
    parser.add_argument("--alone-rounds", type=int, default=1, help="peer-alone processes")
    parser.add_argument("--iters", type=int, default=100)
    parser.add_argument("--blas-threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="only the 100^3 case")
    parser.add_argument("--output", type=Path, default=RESULTS, help="JSON file to write")
    parser.add_argument("--worker", choices=METHODS, help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, default=100, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        out = worker(args.worker, args.size, args.iters, args.calls, args.blas_threads)
        print(json.dumps(out))
        return
    import tensorly

    sizes = [100] if args.quick else [100, 200]
    record = {
        "benchmark": "cp_tucker",
        "protocol": _fair.PROTOCOL,
        "command": "python benchmarks/bench_cp_tucker.py " + " ".join(sys.argv[1:]),
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
        case = run_case(size, args)
        brief = {k: v for k, v in case.items() if not k.endswith("seconds_all")}
        print(json.dumps(brief), flush=True)
        record["cases"].append(case)
    record["load_average_after"] = list(os.getloadavg())
    record["loaded"] = max(record["load_average_before"][0], record["load_average_after"][0]) > (
        _fair.LOADED
    ) or any(c["loaded"] for c in record["cases"])
    _fair.write_json(args.output, record)
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
