"""CPU time of LeNet-5's layers and kernels, one batch of 128, float32, against PyTorch.

Two parts (``--parts``):

``ops``
    One LeNet-5 training step taken apart by layer (conv1, pool1, relu1, conv2, pool2, relu2,
    the fully connected stack) and by forward / backward, plus the whole step (forward,
    backward, SGD update), for tensornet and PyTorch, at each thread count of ``--threads``.
    Every side runs in its own process (the fair protocol of ``benchmarks/README.md``:
    ``_fair.alternate``, PyTorch also measured alone); ``--baseline DIR`` adds a side that
    imports ``tensornet`` from ``DIR`` (e.g. ``git archive <commit> tensornet | tar -x -C DIR``)
    for a before / after table. A layer's forward is timed traced (``autograd.make_vjp`` on our
    side, autograd recording on PyTorch's), its backward as a repeated VJP of that trace
    (``torch.autograd.grad(..., retain_graph=True)``), both with ``time.process_time``, which on
    a shared machine measures the work and not the wait; at two threads it adds both threads'
    CPU, including time spent spinning (OpenBLAS's and OpenMP's idle workers), so wall times
    are recorded too and are the figures to compare at two threads (CPU time / wall time near
    2 shows that the process had both cores).
``kernels``
    The kernels of ``tensornet/nn/conv.py`` at LeNet-5's shapes, where a specialized kernel
    replaces a generic one timed in alternating blocks in one process (A/B/A/B): conv2 as
    ``conv_rows`` (chunked channels-last row patches, tall GEMM) against ``im2col`` +
    ``conv_gemm``; 2x2 max pooling on channels-last buffers against the plane kernels.
``step_ab``
    A whole LeNet-5 step of this checkout against an older one (``--baseline-renamed DIR``
    holding it as the package ``tensornet_base``) in alternating blocks in one process, so that
    a busy machine slows both alike: the before / after figure.

Usage::

    python benchmarks/bench_conv_kernels.py [--parts ops,kernels,step_ab] [--threads 1 2]
        [--rounds 3] [--baseline DIR] [--baseline-renamed DIR] [--repeats 7] [--inner 10]

With ``--update`` a run is merged into the existing record (e.g. one thread count per run).

Writes ``results/conv_kernels.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _fair  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "conv_kernels.json"
BATCH = 128
LAYERS = ("conv1", "pool1", "relu1", "conv2", "pool2", "relu2")


def _blocks(
    fns: dict[str, Callable[[], Any]], repeats: int, inner: int
) -> tuple[dict[str, float], dict[str, float]]:
    """Median CPU and wall milliseconds per call of each function, blocks alternating."""
    for f in fns.values():
        f()
    cpu: dict[str, list[float]] = {k: [] for k in fns}
    wall: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for name, f in fns.items():
            c0, w0 = time.process_time(), time.perf_counter()
            for _ in range(inner):
                f()
            cpu[name].append(1e3 * (time.process_time() - c0) / inner)
            wall[name].append(1e3 * (time.perf_counter() - w0) / inner)
    med = statistics.median
    return (
        {k: round(med(v), 4) for k, v in cpu.items()},
        {k: round(med(v), 4) for k, v in wall.items()},
    )


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH, 1, 28, 28)).astype(np.float32)
    return x, rng.integers(0, 10, BATCH)


# ----------------------------------------------------------------------------- workers
def ops_tensornet(spec: dict[str, Any]) -> dict[str, float]:
    """Per-layer forward / backward and whole-step CPU ms of tensornet's LeNet-5."""
    if spec.get("path"):
        sys.path.insert(0, spec["path"])
    from autograd import make_vjp

    from tensornet import nn

    model = nn.lenet5(random_state=0)
    x0, y = _data()
    rng = np.random.default_rng(1)
    mods = dict(model.children())
    params = {
        n: {k.split(".", 1)[1]: v for k, v in model.params.items() if k.startswith(n + ".")}
        for n in mods
    }
    acts, h = {}, x0
    for n, m in mods.items():
        acts[n] = h
        h = m.forward(params[n], h)
    fns: dict[str, Callable[[], Any]] = {}

    def add(name: str, f: Callable[[Any], Any], arg: Any) -> None:
        vjp, ans = make_vjp(f)(arg)
        g = rng.standard_normal(np.shape(ans)).astype(np.float32)
        fns[f"{name} forward"] = lambda: make_vjp(f)(arg)
        fns[f"{name} backward"] = lambda: vjp(g)

    # conv1's input is data (not differentiated), as in training
    add("conv1", lambda p: mods["conv1"].forward(p, x0), params["conv1"])
    for n in LAYERS[1:]:
        m = mods[n]
        if params[n]:
            add(n, lambda a, m=m: m.forward(a[0], a[1]), (params[n], acts[n]))
        else:
            add(n, lambda a, m=m: m.forward({}, a), acts[n])
    tail = [n for n in mods if n not in LAYERS]

    def fc(a):
        p, h = a
        for n in tail:
            h = mods[n].forward(p[n], h)
        return h

    add("fc", fc, ({n: params[n] for n in tail}, acts[tail[0]]))
    opt = nn.SGD(model.params, lr=0.01, momentum=0.9)
    step = nn.value_and_grad(lambda p, xb, yb: nn.cross_entropy(model.apply(p, xb), yb))

    def full() -> None:
        opt.step(step(model.params, x0, y)[1])

    fns["step"] = full
    return _flat(*_blocks(fns, spec["repeats"], spec["inner"]))


def ops_torch(spec: dict[str, Any]) -> dict[str, float]:
    """The same for PyTorch's twin of LeNet-5."""
    import copy

    import torch

    _fair.limit_threads(spec["threads"], torch=True)
    t = torch.nn
    torch.manual_seed(0)
    model = t.Sequential(
        t.Conv2d(1, 6, 5, padding=2), t.MaxPool2d(2), t.ReLU(),
        t.Conv2d(6, 16, 5), t.MaxPool2d(2), t.ReLU(), t.Flatten(),
        t.Linear(400, 120), t.ReLU(), t.Linear(120, 84), t.ReLU(), t.Linear(84, 10),
    )  # fmt: skip
    x0n, yn = _data()
    x0, y = torch.from_numpy(x0n), torch.from_numpy(yn)
    acts, h = [], x0
    with torch.no_grad():
        for m in model:
            acts.append(h)
            h = m(h)
    fns: dict[str, Callable[[], Any]] = {}

    def add(name: str, f: Callable[[Any], Any], xin: Any, params: list) -> None:
        inputs = params + ([xin] if xin.requires_grad else [])
        out = f(xin)
        g = torch.randn_like(out)
        fns[f"{name} forward"] = lambda: f(xin)
        fns[f"{name} backward"] = lambda: torch.autograd.grad(out, inputs, g, retain_graph=True)

    for i, n in enumerate(LAYERS):
        xin = acts[i].detach().clone().requires_grad_(i > 0)
        add(n, model[i], xin, list(model[i].parameters()))
    tail = model[6:]
    add("fc", tail, acts[6].detach().clone().requires_grad_(True), list(tail.parameters()))
    model = copy.deepcopy(model)  # the update must not touch the traced layers above
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss = t.CrossEntropyLoss()

    def full() -> None:
        opt.zero_grad(set_to_none=True)
        loss(model(x0), y).backward()
        opt.step()

    fns["step"] = full
    return _flat(*_blocks(fns, spec["repeats"], spec["inner"]))


def _flat(cpu: dict[str, float], wall: dict[str, float]) -> dict[str, float]:
    return {**{f"cpu {k}": v for k, v in cpu.items()}, **{f"wall {k}": v for k, v in wall.items()}}


def run_worker(spec: dict[str, Any]) -> dict[str, float]:
    """Entry point of a worker process."""
    _fair.limit_threads(spec["threads"])
    return {"tensornet": ops_tensornet, "torch": ops_torch}[spec["kind"]](spec)


# ----------------------------------------------------------------------------- parts
def part_ops(args: argparse.Namespace) -> dict[str, Any]:
    """The per-layer table, each side in its own processes, at each thread count."""
    out: dict[str, Any] = {}
    for threads in args.threads:
        base = {"threads": threads, "repeats": args.repeats, "inner": args.inner}
        sides = {"tensornet": {"kind": "tensornet", **base}, "torch": {"kind": "torch", **base}}
        if args.baseline:
            sides["tensornet_baseline"] = {"kind": "tensornet", "path": args.baseline, **base}
        res = _fair.alternate(
            __file__, sides, args.rounds, threads, alone=("torch",), key="cpu step"
        )
        out[f"threads_{threads}"] = ops_table(res, list(sides))
    return out


def ops_table(res: dict[str, Any], sides: list[str]) -> dict[str, Any]:
    """The per-layer CPU and wall table (medians over processes) of one thread count."""
    table = {}
    for key in res["tensornet"]:
        if not key.startswith("cpu "):
            continue
        row = {name: round(res[name][key]["median"], 3) for name in sides}
        row["tensornet_over_torch"] = _fair.ratio(row["tensornet"], row["torch"])
        if "tensornet_baseline" in row:
            row["baseline_over_torch"] = _fair.ratio(row["tensornet_baseline"], row["torch"])
        table[key[4:]] = row
    wall = {
        key[5:]: {name: round(res[name][key]["median"], 3) for name in sides}
        for key in res["tensornet"]
        if key.startswith("wall ")
    }
    return {
        "cpu_ms": table,
        "wall_ms": wall,
        "torch_alone_over_alternating": res["torch"].get("alone_over_alternating"),
        "max_load1": max(res[n]["max_load1"] for n in sides),
        "loaded": any(res[n]["loaded"] for n in sides),
        "spread_cpu_step": {n: round(res[n]["cpu step"]["spread"], 3) for n in sides},
        "n_processes": {n: res[n]["cpu step"]["n"] for n in sides},
        "processes": {n: res[n]["processes"] for n in sides},
    }


def part_kernels(args: argparse.Namespace) -> dict[str, Any]:
    """Specialized kernels against the generic ones, in one process at one thread."""
    _fair.limit_threads(1)
    sys.path.insert(0, str(_fair.ROOT))
    from tensornet.nn import conv as cv

    rng = np.random.default_rng(0)
    f32 = np.float32
    x1 = rng.standard_normal((BATCH, 6, 14, 14)).astype(f32)
    w2, b2 = rng.standard_normal((16, 6, 5, 5)).astype(f32), np.zeros(16, f32)
    cols = cv.im2col(x1, (5, 5), (1, 1), (0, 0))
    y_gemm = cv.conv_gemm(cols, w2, b2, (BATCH, 10, 10))
    y_rows = cv.conv_rows(x1, w2, b2, (1, 1), (0, 0))
    g2 = rng.standard_normal(y_rows.shape).astype(f32)
    g2_rows = np.ascontiguousarray(g2.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    gemm_vjp = cv._conv_gemm_vjp([0, 1, 2], y_gemm, (cols, w2, b2, (BATCH, 10, 10)), {})
    rows_vjp = cv._conv_rows_vjp([0, 1, 2], y_rows, (x1, w2, b2, (1, 1), (0, 0)), {})
    shape = x1.shape

    def gemm_backward() -> None:
        dcols = gemm_vjp(g2)[0]
        cv.col2im(dcols, shape, (5, 5), (1, 1), (0, 0))

    out: dict[str, Any] = {
        "conv2 forward": _blocks(
            {
                "im2col + conv_gemm": lambda: cv.conv_gemm(
                    cv.im2col(x1, (5, 5), (1, 1), (0, 0)), w2, b2, (BATCH, 10, 10)
                ),
                "conv_rows": lambda: cv.conv_rows(x1, w2, b2, (1, 1), (0, 0)),
            },
            args.repeats,
            args.inner,
        )[0],
        "conv2 backward (input, weight, bias)": _blocks(
            {"conv_gemm VJP + col2im": gemm_backward, "conv_rows VJP": lambda: rows_vjp(g2_rows)},
            args.repeats,
            args.inner,
        )[0],
    }

    def rows_step(chunk: int) -> None:  # conv2 forward and backward at a given chunk size
        saved, cv._CHUNK_BYTES = cv._CHUNK_BYTES, chunk
        try:
            y = cv.conv_rows(x1, w2, b2, (1, 1), (0, 0))
            cv._conv_rows_vjp([0, 1, 2], y, (x1, w2, b2, (1, 1), (0, 0)), {})(g2_rows)
        finally:
            cv._CHUNK_BYTES = saved

    out["conv2 forward + backward by chunk size"] = _blocks(
        {f"{c >> 10} KiB": lambda c=c: rows_step(c) for c in (1 << 17, 1 << 18, 1 << 19, 1 << 20)},
        args.repeats,
        args.inner,
    )[0]
    y_nhwc = np.ascontiguousarray(rng.standard_normal((BATCH, 10, 10, 16)).astype(f32))
    view = cv._windows_2x2(y_nhwc, True)
    planes = np.ascontiguousarray(y_nhwc.transpose(3, 0, 1, 2)).reshape(-1, 10, 10)
    o_nhwc, o_planes = np.empty((BATCH, 5, 5, 16), f32), np.empty((planes.shape[0], 5, 5), f32)
    g_nhwc = rng.standard_normal(o_nhwc.shape).astype(f32)
    g_planes = rng.standard_normal(o_planes.shape).astype(f32)
    d_nhwc, d_planes = np.empty_like(y_nhwc), np.empty_like(planes)
    out["pool2 2x2"] = _blocks(
        {
            "forward, plane kernel": lambda: cv._max_pool_2x2_kernel(planes, o_planes),
            "forward, channels-last kernel": lambda: cv._max_pool_2x2_nhwc_kernel(view, o_nhwc),
            "backward, plane kernel": lambda: cv._max_pool_2x2_grad_kernel(
                planes, g_planes, d_planes
            ),
            "backward, channels-last kernel": lambda: cv._max_pool_2x2_nhwc_grad_kernel(
                view, g_nhwc, cv._windows_2x2(d_nhwc, True)
            ),
        },
        args.repeats,
        args.inner,
    )[0]
    xt = np.empty((BATCH, 14, 14, 6), f32)
    out["conv2 input to channels-last"] = _blocks(
        {
            "NumPy transposing copy": lambda: np.ascontiguousarray(x1.transpose(0, 2, 3, 1)),
            "Numba kernel": lambda: cv._to_channels_last_kernel(x1, 0, 0, xt),
        },
        args.repeats,
        args.inner,
    )[0]
    gh = rng.standard_normal((BATCH * 100, 16)).astype(f32)
    ones = np.ones(gh.shape[0], f32)
    out["conv2 bias gradient"] = _blocks(
        {"column sums": lambda: gh.sum(axis=0), "GEMV": lambda: ones @ gh},
        args.repeats,
        args.inner,
    )[0]
    return out


def part_step_ab(args: argparse.Namespace) -> dict[str, Any]:
    """A LeNet-5 step of this checkout against the base one in alternating blocks, one process.

    ``--baseline-renamed DIR`` holds the older package copied as ``DIR/tensornet_base`` (its
    imports are relative), so both run under the same load: the before / after figure that the
    per-process table cannot give on a busy machine.
    """
    _fair.limit_threads(1)
    sys.path.insert(0, str(_fair.ROOT))
    sys.path.insert(1, args.baseline_renamed)
    import importlib

    x0, y = _data()
    fns = {}
    for name, package in (("tensornet", "tensornet.nn"), ("baseline", "tensornet_base.nn")):
        nn = importlib.import_module(package)
        model = nn.lenet5(random_state=0)
        opt = nn.SGD(model.params, lr=0.01, momentum=0.9)
        step = nn.value_and_grad(
            lambda p, xb, yb, nn=nn, model=model: nn.cross_entropy(model.apply(p, xb), yb)
        )
        fns[name] = lambda model=model, opt=opt, step=step: opt.step(step(model.params, x0, y)[1])
    cpu = _blocks(fns, args.repeats, args.inner)[0]
    return {
        "cpu_ms_per_step": cpu,
        "tensornet_over_baseline": _fair.ratio(cpu["tensornet"], cpu["baseline"]),
    }


def main() -> None:
    """Run the parts and write ``results/conv_kernels.json``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parts", default="ops,kernels")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--inner", type=int, default=10)
    ap.add_argument("--baseline", help="a directory holding an older tensornet package")
    ap.add_argument(
        "--baseline-renamed", help="a directory holding the older package as tensornet_base"
    )
    ap.add_argument("--out", default=str(RESULTS))
    ap.add_argument(
        "--update", action="store_true", help="keep the other parts and thread counts of --out"
    )
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(run_worker(json.loads(args.worker))))
        return
    record: dict[str, Any] = {
        "benchmark": "conv_kernels",
        "command": "python benchmarks/bench_conv_kernels.py " + " ".join(sys.argv[1:]),
        **_fair.run_record(args.threads[0], args.rounds),
        "threads": args.threads,
        "unit": "CPU ms per call (median of blocks; median over processes), batch 128, float32",
    }
    if args.update and Path(args.out).exists():
        old = json.loads(Path(args.out).read_text())
        record["ops"], record["runs"] = old.get("ops", {}), old.get("runs", [])
        for key, value in old.items():  # the other parts and any notes stay
            record.setdefault(key, value)
    parts = args.parts.split(",")
    if "ops" in parts:
        record.setdefault("ops", {}).update(part_ops(args))
    if "kernels" in parts:
        record["kernels"] = part_kernels(args)
    if "step_ab" in parts:
        record["step_ab"] = part_step_ab(args)
    _fair.finish_record(record)
    record.setdefault("runs", []).append(
        {k: record[k] for k in ("command", "date", "loadavg_before", "loadavg_after", "loaded")}
    )
    _fair.write_json(args.out, record)
    print(json.dumps(_fair.strip_runs(record), indent=1))


if __name__ == "__main__":
    main()
