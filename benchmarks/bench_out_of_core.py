"""Out-of-core TT-SVD and HOSVD of a Zarr store: wall time, peak memory, passes (issue 15).

A float32 tensor with a known TT structure plus noise is written to a Zarr store chunk by chunk
(never whole in memory; one chunk per index of the first two modes). Each measurement runs in
its own process (``--worker``), so its peak resident set size (sampled every 5 ms; on a cluster
the sum over the process and its worker processes) is its own: one plain read pass over the
store (the floor), ``tt_svd(eps=...)`` and ``hosvd(eps=...)`` through
:mod:`tensornet.decompositions.out_of_core`, on the threaded scheduler (``--threads`` workers) or
on a ``distributed.LocalCluster`` of 2 worker processes of one thread each (jobs ``*_cluster``).
Remainders above ``--memory-limit-mb`` (default: a sixteenth of the tensor, as for a tensor
larger than memory) go to disk. After the timing, a residual pass gives each decomposition's
true relative error (against the ``eps`` bound). Needs the ``dask`` extra; prints JSON, writes
``benchmarks/results/out_of_core.json``. Peak memory is reported above the worker's own baseline
(Python, NumPy, Dask and tensornet imported in every process, a tiny decomposition run
through the same scheduler, the store opened; the cluster started), as a fraction of the
tensor's size; every measuring process runs with ``MALLOC_MMAP_THRESHOLD_=131072`` (as the
suite's peak-memory tests), so memory freed is returned rather than kept in glibc's heap. Timings
taken at a load average above 2.5 are flagged ``loaded``.

    python benchmarks/bench_out_of_core.py --shape 16,16,16,16,16,16,16
    python benchmarks/bench_out_of_core.py --shape 16,16,16,16,16,16,16,2 --jobs read,tt_svd
    # the issue's run, 1.5x this machine's memory (36 GiB): see docs/guide/out-of-core.md
    python benchmarks/bench_out_of_core.py --shape 24,24,24,24,24,24,24,2 --dir /data/ooc \
        --jobs read,tt_svd,hosvd,read_cluster,tt_svd_cluster
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
LOADED = 2.5
MMAP_THRESHOLD = 131072
JOBS = ("read", "tt_svd", "hosvd", "read_cluster", "tt_svd_cluster", "hosvd_cluster")


def _cores(shape: tuple[int, ...], rank: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    d = len(shape)
    return [
        rng.standard_normal((1 if k == 0 else rank, n, 1 if k == d - 1 else rank)) / np.sqrt(n)
        for k, n in enumerate(shape)
    ]


def _tail(cores: list[np.ndarray]) -> np.ndarray:
    """The TT cores from the third on contracted: ``(r_2, n_3 ... n_d)``."""
    tail = cores[0]
    for core in cores[1:]:
        tail = np.tensordot(tail, core, axes=(-1, 0))
    return tail.reshape(tail.shape[0], -1)


def write_store(path: str, shape: tuple[int, ...], rank: int, noise: float) -> tuple[int, ...]:
    """Write the tensor one chunk (an index of the first two modes) at a time."""
    import zarr

    chunks = (1, 1) + shape[2:]
    store = zarr.create_array(
        path, shape=shape, chunks=chunks, dtype="float32", compressors=None, overwrite=True
    )
    cores = _cores(shape, rank)
    tail = _tail(cores[2:])
    rng = np.random.default_rng(1)
    for i in range(shape[0]):
        for j in range(shape[1]):
            block = (cores[0][0, i] @ cores[1][:, j] @ tail).reshape(shape[2:])
            scale = noise * np.linalg.norm(block) / np.sqrt(block.size)
            block += scale * rng.standard_normal(block.shape)
            store[i, j] = block.astype(np.float32)
    return chunks


class _RSSSampler:
    """Peak resident set size (MiB) of this process, plus its children's with ``tree``, sampled
    by a thread (``ru_maxrss`` cannot be used: the imports' own peak hides a smaller one)."""

    def __init__(self, tree: bool) -> None:
        import threading

        import psutil

        self.proc, self.tree = psutil.Process(), tree
        self.peak = 0.0
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def rss_mb(self) -> float:
        procs = [self.proc] + (self.proc.children(recursive=True) if self.tree else [])
        total = 0
        for p in procs:
            try:
                total += p.memory_info().rss
            except Exception:  # a process that ended between listing and reading
                pass
        return total / 2**20

    def _loop(self) -> None:
        while not self.stop_event.wait(0.02 if self.tree else 0.005):
            self.peak = max(self.peak, self.rss_mb())

    def start(self) -> float:
        base = self.rss_mb()
        self.peak = base
        self.thread.start()
        return base

    def stop(self) -> float:
        self.stop_event.set()
        self.thread.join()
        return max(self.peak, self.rss_mb())


def worker(path: str, job: str, args: argparse.Namespace) -> dict:
    import contextlib

    import dask
    import dask.array as da

    from tensornet.decompositions.out_of_core import in_memory_limit

    x = da.from_zarr(path)
    cluster = job.endswith("_cluster")
    stack = contextlib.ExitStack()
    if cluster:
        from distributed import Client, LocalCluster

        lc = stack.enter_context(
            LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
        )
        client = stack.enter_context(Client(lc))
        client.run(_import_everything)
    else:
        stack.enter_context(dask.config.set(scheduler="threads", num_workers=args.threads))
    with stack:
        _warm_up(da)
        sampler = _RSSSampler(tree=cluster)
        out: dict = {"job": job, "load_before": os.getloadavg()[0]}
        out["baseline_rss_mb"] = sampler.start()
        t0, cpu0 = time.perf_counter(), time.process_time()
        with in_memory_limit(int(args.memory_limit_mb * 2**20)):
            result = _run(x, job.removesuffix("_cluster"), args.eps, out)
        out["seconds"] = time.perf_counter() - t0
        out["cpu_seconds_this_process"] = time.process_time() - cpu0
        out["peak_rss_mb"] = sampler.stop()
        out["load_after"] = os.getloadavg()[0]
        out["loaded"] = max(out["load_before"], out["load_after"]) > LOADED
    if result is not None and args.check_error:
        out["true_rel_error"] = _residual(x, result)
    return out


def _import_everything() -> None:
    """Import what a pass runs, in this process (every worker of a cluster runs it)."""
    import dask.array  # noqa: F401

    import tensornet.decompositions.out_of_core  # noqa: F401


def _warm_up(da) -> None:
    """One tiny decomposition through the active scheduler before the baseline is taken, so the
    baseline holds every process's imports and the peak above it is the passes' data alone."""
    import tensornet as tn

    _import_everything()
    small = da.from_array(
        np.arange(1.0, 4097.0, dtype=np.float32).reshape(16, 16, 16), chunks=(4, 16, 16)
    )
    tn.tt_svd(small, eps=1e-3)
    tn.hosvd(small, eps=1e-3)


def _run(x, job: str, eps: float, out: dict):
    import tensornet as tn

    if job == "read":
        out["sum_sq"] = float((x.astype(np.float64) ** 2).sum().compute())
        return None
    t = tn.tt_svd(x, eps=eps) if job == "tt_svd" else tn.hosvd(x, eps=eps)
    out.update(ranks=list(t.ranks), rel_error=t.info["rel_error"], passes=t.info["passes"])
    out["remainder_passes"] = t.info.get("remainder_passes", 0)
    out["within_eps"] = bool(t.info["rel_error"] <= eps)
    return t


def _residual(x, t) -> float:
    """``||X - T|| / ||X||`` from one pass over the first mode (after the timing)."""
    import tensornet as tn

    err = norm = 0.0
    for i in range(x.shape[0]):
        block = np.asarray(x[i].compute(), dtype=np.float64)
        if isinstance(t, tn.TTTensor):
            model = _tail([t.cores[0][:, i : i + 1]] + list(t.cores[1:]))
        else:
            core = np.tensordot(t.factors[0][i], t.core, axes=(0, 0))
            model = tn.TuckerTensor(core, t.factors[1:]).full(max_elements=None)
        err += float(np.sum((block.ravel() - model.ravel()) ** 2))
        norm += float(np.sum(block**2))
    return float(np.sqrt(err / norm))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shape", default="16,16,16,16,16,16,16", help="comma-separated mode sizes")
    p.add_argument("--rank", type=int, default=4)
    p.add_argument("--noise", type=float, default=1e-3)
    p.add_argument("--eps", type=float, default=1e-2)
    p.add_argument("--threads", type=int, default=2, help="threaded scheduler's workers")
    p.add_argument("--memory-limit-mb", type=float, default=None, help="default: tensor / 16")
    p.add_argument("--no-check-error", dest="check_error", action="store_false")
    p.add_argument("--reuse", action="store_true", help="keep an existing store in --dir")
    p.add_argument("--jobs", default=",".join(JOBS), help="comma-separated subset")
    p.add_argument("--dir", default=None, help="where to write the store (default: a temp dir)")
    p.add_argument("--results", default=str(RESULTS), help="where to write the JSON")
    p.add_argument("--worker", nargs=2, metavar=("PATH", "JOB"), help=argparse.SUPPRESS)
    args = p.parse_args()
    shape = tuple(int(s) for s in args.shape.split(","))
    size_mb = int(np.prod(shape)) * 4 / 2**20
    if args.memory_limit_mb is None:
        args.memory_limit_mb = size_mb / 16
    if args.worker:
        print(json.dumps(worker(args.worker[0], args.worker[1], args)))
        return
    root = args.dir or tempfile.mkdtemp(prefix="tensornet-ooc-")
    path = os.path.join(root, "tensor.zarr")
    load_start = os.getloadavg()
    t0 = time.perf_counter()
    if not (args.reuse and os.path.exists(path)):
        write_store(path, shape, args.rank, args.noise)
    write_seconds = time.perf_counter() - t0
    runs: list[dict] = []
    # a fixed mmap threshold (inherited by a cluster's worker processes): glibc's dynamic one
    # keeps freed blocks in the heap, so the resident size would count what the allocator holds
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": str(MMAP_THRESHOLD)}
    context = {
        "command": " ".join(["python", "benchmarks/bench_out_of_core.py", *sys.argv[1:]]),
        "date": time.strftime("%Y-%m-%d", time.gmtime()),
        "commit": _commit(),
        "machine": {"cpus": os.cpu_count(), "memory_gib": _memory_gib()},
        "shape": list(shape),
        "chunks": [1, 1, *shape[2:]],
        "tensor_mb": size_mb,
        "write_seconds": write_seconds,
        "eps": args.eps,
        "memory_limit_mb": args.memory_limit_mb,
        "threads": args.threads,
        "malloc_mmap_threshold": MMAP_THRESHOLD,
        "load_average_start": load_start,
    }
    for job in args.jobs.split(","):
        cmd = [sys.executable, __file__, "--worker", path, job] + sys.argv[1:]
        cmd += ["--memory-limit-mb", str(args.memory_limit_mb)]
        done = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if done.returncode:
            sys.exit(f"job {job} failed (exit {done.returncode}):\n{done.stderr}")
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(json.dumps(runs[-1]), file=sys.stderr)
        # written after every job: a long run stopped part way keeps what it measured
        _write(args.results, summarize(context, runs, size_mb))
    print(json.dumps(summarize(context, runs, size_mb), indent=2))


def _commit() -> str | None:
    """The commit of the code measured, ``-dirty`` when it has uncommitted changes (None outside
    a git checkout)."""
    try:
        done = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--abbrev=7"],
            capture_output=True,
            text=True,
            cwd=Path(__file__).parent,
        )
    except OSError:
        return None
    return (done.stdout.strip() or None) if done.returncode == 0 else None


def _memory_gib() -> float:
    import psutil

    return round(psutil.virtual_memory().total / 2**30, 1)


def summarize(context: dict, runs: list[dict], size_mb: float) -> dict:
    """The results file: the run's settings, every job's record and the ratios between them."""
    by_job = {r["job"]: r for r in runs}

    def ratio(a: str, b: str) -> float | None:
        return by_job[a]["seconds"] / by_job[b]["seconds"] if {a, b} <= by_job.keys() else None

    return {
        **context,
        "load_average_end": os.getloadavg(),
        "runs": runs,
        "time_over_read_pass": {
            j: ratio(j, "read_cluster" if j.endswith("_cluster") else "read")
            for j in by_job
            if not j.startswith("read")
        },
        "cluster_over_threaded": {j: ratio(j + "_cluster", j) for j in ("read", "tt_svd", "hosvd")},
        "peak_rss_over_tensor": {
            j: (r["peak_rss_mb"] - r["baseline_rss_mb"]) / size_mb for j, r in by_job.items()
        },
    }


def _write(path: str, result: dict) -> None:
    """Write the JSON atomically (a temporary file beside it, then a rename)."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=2) + "\n")
    tmp.replace(out)


if __name__ == "__main__":
    main()
