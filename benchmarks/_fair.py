"""The fair protocol shared by every peer comparison in ``benchmarks/`` (issue 20).

A comparison is a set of **sides** (tensornet, a peer library, an alternative path), each
described by a JSON-serializable ``spec``. Every measurement runs in **its own fresh Python
process**: the benchmark script re-invoked as ``python <script> --worker '<spec JSON>'``, which
must print its result as one JSON object on its last stdout line. So no process ever holds two
runtimes: PyTorch's worker threads never compete with OpenBLAS or Numba threads of the same
process, and no side inherits another's warmed caches or allocator state.

* **Same thread limits.** Each process gets ``OPENBLAS_NUM_THREADS``, ``OMP_NUM_THREADS``,
  ``MKL_NUM_THREADS``, ``NUMBA_NUM_THREADS`` and ``VECLIB_MAXIMUM_THREADS`` set to ``threads``
  in its environment before anything is imported; workers also call :func:`limit_threads`
  (``threadpoolctl``, and ``torch.set_num_threads`` when PyTorch is the side).
* **Alternation.** ``rounds`` rounds; in round ``r`` the sides run in the order rotated by
  ``r``, so slow phases of a shared machine hit every side alike.
* **Warm-up.** Each worker warms up before it times (a throw-away call or epoch: Numba cache
  loading, allocator, BLAS buffers); what the warm-up excludes is reported separately when it
  matters to a user (e.g. the first training epoch).
* **Median and spread.** Every numeric field a worker reports is summarized over the processes
  as ``median``, ``min``, ``max`` and ``spread = (max - min) / median``.
* **The peer alone.** After the alternating rounds, each side named in ``alone`` runs again in
  ``alone_rounds`` back-to-back processes with nothing in between; ``alone_over_alternating``
  (median alone / median alternating) near 1 shows the alternation did not slow the peer.
* **Load.** ``os.getloadavg()`` is recorded before every process; a figure whose processes saw a
  1-minute load above :data:`LOADED` (on this 2-core machine) is flagged ``loaded``.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
THREAD_VARS = (
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMBA_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
)
#: One-minute load average above which a timing is flagged as taken on a loaded machine.
LOADED = 2.5

PROTOCOL = (
    "each side in its own fresh process (script --worker SPEC), same thread limits in the "
    "environment and threadpoolctl, warm-up inside each process, sides alternating in rotating "
    "order over the rounds; median, min, max and spread over processes; the peer re-measured "
    "alone in back-to-back processes as a sanity check; load average recorded per process"
)


def worker_env(threads: int) -> dict[str, str]:
    """The environment of a worker: thread limits and this checkout first on ``PYTHONPATH``."""
    env = dict(os.environ)
    for var in THREAD_VARS:
        env[var] = str(threads)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def limit_threads(threads: int, torch: bool = False) -> None:
    """Inside a worker: cap the BLAS/OpenMP pools (and PyTorch's intra-op pool)."""
    import threadpoolctl

    threadpoolctl.threadpool_limits(threads)
    if torch:
        import torch as _torch

        _torch.set_num_threads(threads)
        _torch.set_num_interop_threads(1)


def spawn(script: str | Path, spec: dict[str, Any], threads: int, timeout: float = 3600) -> dict:
    """Run one worker process; return its JSON result plus ``process_s`` and ``loadavg``."""
    load = os.getloadavg()
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, str(script), "--worker", json.dumps(spec)],
        env=worker_env(threads),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"worker {spec} failed with exit code {proc.returncode}:\n{proc.stderr[-3000:]}"
        )
    lines = [line for line in proc.stdout.strip().splitlines() if line.startswith("{")]
    result = json.loads(lines[-1])
    result["process_s"] = time.perf_counter() - start
    result["loadavg"] = [round(v, 2) for v in load]
    return result


def stats(values: list[float]) -> dict[str, float]:
    """``median``, ``min``, ``max`` and relative ``spread`` of a list of numbers."""
    med = statistics.median(values)
    lo, hi = min(values), max(values)
    return {
        "median": med,
        "min": lo,
        "max": hi,
        "spread": (hi - lo) / med if med else float("nan"),
        "n": len(values),
    }


def _numeric_keys(runs: list[dict[str, Any]]) -> list[str]:
    first = runs[0]
    return [
        k
        for k, v in first.items()
        if isinstance(v, (int, float)) and not isinstance(v, bool) and k != "process_s"
    ]


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Median/min/max/spread of every numeric field over the processes of one side."""
    out: dict[str, Any] = {k: stats([r[k] for r in runs]) for k in _numeric_keys(runs)}
    out["max_load1"] = max(r["loadavg"][0] for r in runs)
    out["loaded"] = out["max_load1"] > LOADED
    return out


def alternate(
    script: str | Path,
    sides: dict[str, dict[str, Any]],
    rounds: int,
    threads: int,
    alone: tuple[str, ...] = (),
    alone_rounds: int = 1,
    key: str | None = None,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Measure every side in its own processes, alternating; then the peers alone.

    Parameters
    ----------
    script : path
        The benchmark script (must accept ``--worker SPEC``).
    sides : dict of str to dict
        Side name -> worker spec.
    rounds : int
        Alternating rounds (one process per side per round).
    threads : int
        Thread limit of every process.
    alone : tuple of str
        Sides (the peers) measured again alone, in ``alone_rounds`` back-to-back processes.
    alone_rounds : int
    key : str, optional
        The headline numeric field; ``alone_over_alternating`` is computed on it.
    log : callable
        Receives one JSON line per process.

    Returns
    -------
    dict
        Per side: ``processes`` (every process's result) and the summary of every numeric field; for
        the sides in ``alone``, ``alone`` (the same for the lone runs) and
        ``alone_over_alternating``.
    """
    log = log or _print
    names = list(sides)
    runs: dict[str, list[dict[str, Any]]] = {n: [] for n in names}
    for r in range(rounds):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            res = spawn(script, sides[name], threads)
            runs[name].append(res)
            log(json.dumps({"side": name, "round": r, **_short(res)}))
    out: dict[str, Any] = {}
    for name in names:
        out[name] = {**summarize(runs[name]), "processes": runs[name]}
    for name in alone:
        lone = []
        for r in range(alone_rounds):
            res = spawn(script, sides[name], threads)
            lone.append(res)
            log(json.dumps({"side": name, "alone_round": r, **_short(res)}))
        out[name]["alone"] = {**summarize(lone), "processes": lone}
        if key is not None:
            alt, sol = out[name][key]["median"], out[name]["alone"][key]["median"]
            out[name]["alone_over_alternating"] = sol / alt if alt else float("nan")
    return out


def _print(line: str) -> None:
    print(line, flush=True)


def _short(res: dict[str, Any]) -> dict[str, Any]:
    return {k: (round(v, 5) if isinstance(v, float) else v) for k, v in res.items()}


def strip_runs(obj: Any) -> Any:
    """A copy without the per-process ``processes`` lists (for printing)."""
    if isinstance(obj, dict):
        return {k: strip_runs(v) for k, v in obj.items() if k != "processes"}
    return obj


def median_of(side: dict[str, Any], key: str) -> float:
    """The median over processes of ``key`` in a side summarized by :func:`alternate`."""
    return side[key]["median"]


def ratio(a: float | None, b: float | None) -> float | None:
    """``a / b`` rounded to 4 digits, or None."""
    return None if a is None or b is None or not b else round(a / b, 4)


def run_record(threads: int, rounds: int) -> dict[str, Any]:
    """The common header of a results file: protocol, threads, rounds, load, versions."""
    import platform

    return {
        "protocol": PROTOCOL,
        "threads": threads,
        "rounds": rounds,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "loadavg_before": [round(v, 2) for v in os.getloadavg()],
        "loaded_threshold_load1": LOADED,
    }


def finish_record(record: dict[str, Any]) -> None:
    """Add the final load average and whether any timed process saw a loaded machine."""
    record["loadavg_after"] = [round(v, 2) for v in os.getloadavg()]
    record["loaded"] = bool(
        record["loadavg_before"][0] > LOADED
        or record["loadavg_after"][0] > LOADED
        or _any_loaded(record)
    )


def _any_loaded(obj: Any) -> bool:
    if isinstance(obj, dict):
        if obj.get("loaded") is True and "max_load1" in obj:
            return True
        return any(_any_loaded(v) for k, v in obj.items() if k != "processes")
    return False


def write_json(path: str | Path, record: dict[str, Any]) -> None:
    """Write ``record`` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, indent=1))
    tmp.replace(path)
