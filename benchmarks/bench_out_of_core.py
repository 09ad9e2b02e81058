"""Out-of-core TT-SVD and HOSVD of a Zarr store: wall time, peak memory, passes (issue 15).

A float32 tensor with a known TT structure plus noise is written to a Zarr store chunk by chunk
(never whole in memory). Each measurement runs in its own process (``--worker``), so its peak
resident set size (sampled) is its own: one plain read pass over the store (the floor),
``tt_svd(eps=...)`` and ``hosvd(eps=...)`` through :mod:`tensornet.decompositions.out_of_core`.
Needs the ``dask`` extra and ``zarr``; prints JSON, writes ``benchmarks/results/out_of_core.json``.
Peak memory is reported above the worker's own baseline (Python, NumPy, Dask imported, the store
opened), as a fraction of the tensor's size.

    python benchmarks/bench_out_of_core.py --order 7 --mode 16
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results" / "out_of_core.json"


def _cores(order: int, mode: int, rank: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [
        rng.standard_normal((1 if k == 0 else rank, mode, 1 if k == order - 1 else rank))
        / np.sqrt(mode)
        for k in range(order)
    ]


def write_store(path: str, order: int, mode: int, rank: int, noise: float):
    """Write the tensor one chunk (a slice along the first two modes) at a time."""
    import zarr

    shape = (mode,) * order
    chunks = (1, 1) + (mode,) * (order - 2)
    store = zarr.open_array(path, mode="w", shape=shape, chunks=chunks, dtype="float32")
    cores = _cores(order, mode, rank)
    rest = cores[2:]
    tail = rest[0]
    for core in rest[1:]:
        tail = np.tensordot(tail, core, axes=(-1, 0))
    tail = tail.reshape(rank, -1)
    rng = np.random.default_rng(1)
    for i in range(mode):
        for j in range(mode):
            left = cores[0][0, i] @ cores[1][:, j]
            block = (left @ tail).reshape((mode,) * (order - 2))
            block += (
                noise
                * np.linalg.norm(block)
                / np.sqrt(block.size)
                * rng.standard_normal(block.shape)
            )
            store[i, j] = block.astype(np.float32)
    return chunks


def worker(path: str, job: str, eps: float, limit_mb: float | None) -> dict:
    import contextlib

    import dask.array as da

    from tensornet.decompositions.out_of_core import in_memory_limit

    x = da.from_zarr(path)
    sampler = _RSSSampler()
    baseline = sampler.start()
    t0 = time.perf_counter()
    out: dict = {"job": job, "baseline_rss_mb": baseline}
    limit = contextlib.nullcontext() if limit_mb is None else in_memory_limit(int(limit_mb * 2**20))
    with limit:
        _run(x, job, eps, out)
    out["seconds"] = time.perf_counter() - t0
    out["peak_rss_mb"] = sampler.stop()
    return out


class _RSSSampler:
    """Peak of the current resident set size (``VmRSS``), sampled every 5 ms by a thread.

    ``ru_maxrss`` cannot be used: the imports' own peak hides anything smaller after them.
    """

    def __init__(self) -> None:
        import threading

        self.peak = 0.0
        self.running = True
        self.thread = threading.Thread(target=self._loop, daemon=True)

    @staticmethod
    def rss_mb() -> float:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def _loop(self) -> None:
        while self.running:
            self.peak = max(self.peak, self.rss_mb())
            time.sleep(0.005)

    def start(self) -> float:
        base = self.rss_mb()
        self.thread.start()
        return base

    def stop(self) -> float:
        self.running = False
        self.thread.join()
        return self.peak


def _run(x, job: str, eps: float, out: dict) -> None:
    import tensornet as tn

    if job == "read":
        out["sum_sq"] = float((x.astype(np.float64) ** 2).sum().compute())
    elif job == "tt_svd":
        tt = tn.tt_svd(x, eps=eps)
        out.update(ranks=list(tt.ranks), passes=tt.info["passes"], rel_error=tt.info["rel_error"])
    elif job == "hosvd":
        t = tn.hosvd(x, eps=eps)
        out.update(ranks=list(t.ranks), passes=t.info["passes"], rel_error=t.info["rel_error"])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--order", type=int, default=7)
    p.add_argument("--mode", type=int, default=16)
    p.add_argument("--rank", type=int, default=4)
    p.add_argument("--noise", type=float, default=1e-3)
    p.add_argument("--eps", type=float, default=1e-2)
    p.add_argument("--memory-limit-mb", type=float, default=None, help="in_memory_limit")
    p.add_argument("--reuse", action="store_true", help="keep an existing store in --dir")
    p.add_argument("--jobs", default="read,tt_svd,hosvd", help="comma-separated subset")
    p.add_argument("--dir", default=None, help="where to write the store (default: a temp dir)")
    p.add_argument("--worker", nargs=2, metavar=("PATH", "JOB"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        limit = args.memory_limit_mb
        print(json.dumps(worker(args.worker[0], args.worker[1], args.eps, limit)))
        return
    root = args.dir or tempfile.mkdtemp(prefix="tensornet-ooc-")
    path = os.path.join(root, "tensor.zarr")
    t0 = time.perf_counter()
    if args.reuse and os.path.exists(path):
        chunks = (1, 1) + (args.mode,) * (args.order - 2)
    else:
        chunks = write_store(path, args.order, args.mode, args.rank, args.noise)
    size_mb = args.mode**args.order * 4 / 2**20
    runs = []
    for job in args.jobs.split(","):
        cmd = [sys.executable, __file__, "--worker", path, job, "--eps", str(args.eps)]
        if args.memory_limit_mb is not None:
            cmd += ["--memory-limit-mb", str(args.memory_limit_mb)]
        runs.append(json.loads(subprocess.run(cmd, check=True, capture_output=True).stdout))
    by_job = {r["job"]: r for r in runs}

    def over_size(job: str) -> float | None:
        r = by_job.get(job)
        return None if r is None else (r["peak_rss_mb"] - r["baseline_rss_mb"]) / size_mb

    result = {
        "command": " ".join(["python", "benchmarks/bench_out_of_core.py", *sys.argv[1:]]),
        "shape": [args.mode] * args.order,
        "chunks": list(chunks),
        "tensor_mb": size_mb,
        "write_seconds": time.perf_counter() - t0,
        "eps": args.eps,
        "memory_limit_mb": args.memory_limit_mb,
        "load_average": os.getloadavg(),
        "runs": runs,
        "tt_svd_time_over_read_pass": (
            by_job["tt_svd"]["seconds"] / by_job["read"]["seconds"]
            if {"tt_svd", "read"} <= by_job.keys()
            else None
        ),
        "tt_svd_peak_rss_over_tensor": over_size("tt_svd"),
        "hosvd_peak_rss_over_tensor": over_size("hosvd"),
    }
    print(json.dumps(result, indent=2))
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
