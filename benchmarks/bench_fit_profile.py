"""Where the time of ``tensornet.nn.fit`` goes: a CPU-time profile of LeNet-300-100 and LeNet-5.

Each architecture is profiled in its own process (``--worker``), with BLAS and Numba limited to
``--threads`` threads (default 1: CPU time then equals the work done, whatever the machine's
load): a warm-up ``fit`` on ``--steps`` batches, then ``cProfile`` (timer ``process_time``) over
``fit`` on ``--steps`` batches of full MNIST, batch 128, SGD lr 0.1 momentum 0.9, float32. The
profile's functions are grouped into categories (matrix products of ``linear``, convolution,
pooling, activations, loss, the optimizer update, the finiteness check, batching, autograd's
tracing and the rest of ``fit``'s Python work), each given as its share of the total CPU time
and in milliseconds per step. The profiler charges roughly a microsecond per Python call to
the caller, so the unprofiled CPU time per step is recorded too: the difference is the
profiler's own cost, mostly inflating the Python categories.

Usage::

    python benchmarks/bench_fit_profile.py [--steps 150] [--threads 1]

Writes ``results/fit_profile.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _fair  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "fit_profile.json"
DEFAULT_DATA = next(
    (str(p / "shared" / "data" / "mnist") for p in Path(__file__).resolve().parents[1:4]
     if (p / "shared" / "data" / "mnist").is_dir()),
    "../shared/data/mnist",
)  # fmt: skip

#: (category, substrings of "file:function") checked in order; the first match wins.
CATEGORIES = [
    ("convolution and pooling kernels", ("conv.py:", "_channel_ops.py:")),
    ("linear (GEMM forward + VJP)", ("layers.py:linear", "layers.py:vjp")),
    ("activations", ("layers.py:relu", "layers.py:<lambda>")),
    ("loss (log-softmax, cross-entropy)", ("losses.py:",)),
    ("optimizer update", ("optim.py:",)),
    ("finiteness check", ("train.py:_all_finite", "train.py:_zero_probe", "_check_finite")),
    ("batching (DataLoader take)", ("~:<method 'take'", "datasets")),
    ("autograd tracing and backward sweep", ("tracer.py:", "core.py:", "util.py:", "module.py:")),
    ("argument checks (_validation, np.issubdtype)", ("_validation.py:", "numerictypes.py:")),
    ("fit loop (train.py)", ("train.py:",)),
    ("other NumPy calls (reductions, copies, ufuncs)", ("~:",)),
]


def _category(key: str) -> str:
    for name, needles in CATEGORIES:
        if any(n in key for n in needles):
            return name
    return "other (fit loop, NumPy calls)"


def worker(spec: dict[str, Any]) -> dict[str, Any]:
    """Profile ``fit`` for one architecture; return the category and function shares."""
    import cProfile
    import pstats

    from tensornet import nn
    from tensornet.datasets import load_mnist

    _fair.limit_threads(spec["threads"])
    (x, y), _ = load_mnist(spec["data"], download=False, verbose=False)
    n = spec["steps"] * 128
    model = getattr(nn, spec["arch"])(random_state=0)
    opt = nn.SGD(model.params, lr=0.1, momentum=0.9)
    nn.fit(model, nn.cross_entropy, opt, (x[:n], y[:n]), random_state=0)  # warm-up
    cpu = time.process_time()
    nn.fit(model, nn.cross_entropy, opt, (x[n : 2 * n], y[n : 2 * n]), random_state=2)
    unprofiled = time.process_time() - cpu
    prof = cProfile.Profile(time.process_time)
    cpu = time.process_time()
    wall = time.perf_counter()
    prof.enable()
    nn.fit(model, nn.cross_entropy, opt, (x[n : 2 * n], y[n : 2 * n]), random_state=1)
    prof.disable()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    stats = pstats.Stats(prof)
    total = sum(v[2] for v in stats.stats.values())  # tottime
    n_calls = sum(v[1] for v in stats.stats.values())
    cats: dict[str, float] = {}
    funcs = []
    for (file, _line, func), (_, ncalls, tottime, _, _) in stats.stats.items():
        key = f"{Path(file).name}:{func}"
        cats[_category(key)] = cats.get(_category(key), 0.0) + tottime
        funcs.append((tottime, key, ncalls))
    funcs.sort(reverse=True)
    steps = spec["steps"]
    return {
        "arch": spec["arch"],
        "steps": steps,
        "threads": spec["threads"],
        "cpu_ms_per_step": 1e3 * cpu / steps,
        "cpu_ms_per_step_unprofiled": 1e3 * unprofiled / steps,
        "python_calls_per_step": round(n_calls / steps, 1),
        "wall_ms_per_step": 1e3 * wall / steps,
        "categories": {
            k: {"share": round(v / total, 4), "ms_per_step": round(1e3 * v / steps, 4)}
            for k, v in sorted(cats.items(), key=lambda kv: -kv[1])
        },
        "top_functions": [
            {
                "function": key,
                "calls_per_step": round(nc / steps, 2),
                "share": round(t / total, 4),
                "ms_per_step": round(1e3 * t / steps, 4),
            }
            for t, key, nc in funcs[:12]
        ],  # fmt: skip
    }


def main() -> None:
    """Profile both architectures, each in its own process, and write the JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--data", default=os.environ.get("TENSORNET_DATA", DEFAULT_DATA))
    ap.add_argument("--archs", nargs="+", default=["lenet300_100", "lenet5"])
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return
    record: dict[str, Any] = {
        "benchmark": "fit_profile",
        "command": "python benchmarks/bench_fit_profile.py " + " ".join(sys.argv[1:]),
        "what": "cProfile (process_time) of nn.fit, batch 128, SGD momentum, full MNIST batches",
        "threads": args.threads,
        "loadavg_before": [round(v, 2) for v in os.getloadavg()],
    }
    for arch in args.archs:
        spec = {"arch": arch, "steps": args.steps, "threads": args.threads, "data": args.data}
        res = _fair.spawn(__file__, spec, args.threads)
        record[arch] = res
        print(json.dumps({arch: res["categories"]}), flush=True)
    record["loadavg_after"] = [round(v, 2) for v in os.getloadavg()]
    _fair.write_json(RESULTS, record)


if __name__ == "__main__":
    main()
