"""Forward + backward time of the LowRank, CP, Tucker-2 and block-term layers vs the dense layer.

Every layer runs at batch 128 in float32, through ``tensornet.nn.value_and_grad`` of
``sum(layer(x) * probe)`` with respect to all its parameters **and the input** (the cost of a
hidden layer in training). Each factorized layer is timed on both paths (``mode="factors"``: the
factor contractions; ``mode="dense"``: rebuild the weight, one dense product), and the path
``mode="auto"`` picks from its multiply-add counts is recorded, so the table shows whether that
choice matches the measured faster path. Configurations:

* ``linear_784_300``: LeNet-300-100's first layer, 784 -> 300;
* ``conv_lenet5_c2``: LeNet-5's second convolution, 20 -> 50, 5x5, 12x12 input;
* ``conv_64_3x3``: 64 -> 64, 3x3, padding 1, 16x16 input.

Peer: the same contraction in PyTorch (``torch.einsum`` for the linear layers, a sequence of
``conv2d`` calls, grouped for CP's depthwise steps, for the convolutions; autograd backward
with respect to the parameters and the input), checked against tensornet's forward; BTConv2d
has no PyTorch version here. Fair protocol (``benchmarks/_fair.py``): tensornet and PyTorch run
in their own processes (all tensornet layers of a configuration in one process, in rotating
order), the two processes alternate for ``--rounds`` rounds, PyTorch is re-measured alone; each
process warms up and reports the median of ``--repeats`` rounds; the figure is the median over
processes. BLAS, Numba and PyTorch are limited to ``--blas-threads`` threads (default 1).

Usage::

    python benchmarks/bench_factorized_a.py [--repeats 5] [--rounds 3] [--blas-threads 1]
        [--output PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _fair  # noqa: E402
import numba  # noqa: E402
import numpy as np  # noqa: E402
import threadpoolctl  # noqa: E402

from tensornet.nn import Conv2d, Linear, value_and_grad  # noqa: E402
from tensornet.nn.factorized.btd import BTConv2d, BTLinear  # noqa: E402
from tensornet.nn.factorized.cp import CPConv2d  # noqa: E402
from tensornet.nn.factorized.lowrank import LowRankConv2d, LowRankLinear  # noqa: E402
from tensornet.nn.factorized.tucker import TuckerConv2d  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "factorized_a.json"
BATCH = 128


def _configs() -> dict[str, dict[str, Any]]:
    f32 = {"random_state": 0}
    return {
        "linear_784_300": {
            "input": (BATCH, 784),
            "dense": Linear(784, 300, random_state=0),
            "layers": {
                "LowRankLinear r=20": LowRankLinear(784, 300, 20, **f32),
                "LowRankLinear r=20 diag": LowRankLinear(784, 300, 20, diag=True, **f32),
                "BTLinear (4,7,4,7)->(3,4,5,5) R=2 N=2": BTLinear(
                    784, 300, 2, n_blocks=2, in_modes=(4, 7, 4, 7), out_modes=(3, 4, 5, 5), **f32
                ),
                "BTLinear (28,28)->(15,20) R=8 N=2": BTLinear(
                    784, 300, 8, n_blocks=2, in_modes=(28, 28), out_modes=(15, 20), **f32
                ),
            },
        },
        "conv_lenet5_c2": {
            "input": (BATCH, 20, 12, 12),
            "dense": Conv2d(20, 50, 5, random_state=0),
            "layers": {
                "LowRankConv2d channel r=10": LowRankConv2d(20, 50, 5, 10, **f32),
                "LowRankConv2d spatial r=10": LowRankConv2d(20, 50, 5, 10, scheme="spatial", **f32),
                "CPConv2d R=20": CPConv2d(20, 50, 5, 20, **f32),
                "TuckerConv2d (8,16)": TuckerConv2d(20, 50, 5, (8, 16), **f32),
                "BTConv2d (4,5)->(5,10) R=4 Rs=5 N=2": BTConv2d(
                    20,
                    50,
                    5,
                    4,
                    n_blocks=2,
                    spatial_rank=5,
                    in_modes=(4, 5),
                    out_modes=(5, 10),
                    **f32,
                ),
            },
        },
        "conv_64_3x3": {
            "input": (BATCH, 64, 16, 16),
            "dense": Conv2d(64, 64, 3, padding=1, random_state=0),
            "layers": {
                "LowRankConv2d channel r=16": LowRankConv2d(64, 64, 3, 16, padding=1, **f32),
                "LowRankConv2d spatial r=32": LowRankConv2d(
                    64, 64, 3, 32, padding=1, scheme="spatial", **f32
                ),
                "CPConv2d R=64": CPConv2d(64, 64, 3, 64, padding=1, **f32),
                "TuckerConv2d (16,16)": TuckerConv2d(64, 64, 3, (16, 16), padding=1, **f32),
                "BTConv2d (8,8)->(8,8) R=4 Rs=3 N=2": BTConv2d(
                    64,
                    64,
                    3,
                    4,
                    padding=1,
                    n_blocks=2,
                    spatial_rank=3,
                    in_modes=(8, 8),
                    out_modes=(8, 8),
                    **f32,
                ),
            },
        },
    }


def _step(layer, x, probe):
    """One forward + backward pass; returns a function of no arguments."""
    grad = value_and_grad(lambda p: (layer.forward(p, p["x"]) * probe).sum())

    def run():
        params = dict(layer.params)
        params["x"] = x
        grad(params)

    return run


def _dense_flops(layer, shape) -> int:
    if isinstance(layer, Linear):
        return shape[0] * layer.in_features * layer.out_features
    o, c, kh, kw = layer.params["weight"].shape
    y = layer(np.zeros(shape, np.float32))
    return shape[0] * y.shape[2] * y.shape[3] * o * c * kh * kw


def _time_all(runs: dict[str, Any], repeats: int) -> dict[str, float]:
    """Median ms of each zero-argument call: a warm-up, then rotating-order rounds."""
    for fn in runs.values():  # warm-up (Numba compilation, caches)
        fn()
    times: dict[str, list[float]] = {k: [] for k in runs}
    keys = list(runs)
    for r in range(repeats):
        order = keys[r % len(keys) :] + keys[: r % len(keys)]
        for k in order:
            t0 = time.perf_counter()
            runs[k]()
            times[k].append(time.perf_counter() - t0)
    return {k: 1e3 * statistics.median(v) for k, v in times.items()}


def _inputs(cfg: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal(cfg["input"]).astype(np.float32)
    probe = rng.standard_normal(np.shape(cfg["dense"](x))).astype(np.float32)
    return x, probe


def worker_ours(name: str, repeats: int) -> dict[str, float]:
    """One process: the dense layer and both paths of every factorized layer, alternating."""
    cfg = _configs()[name]
    x, probe = _inputs(cfg)
    runs = {"dense": _step(cfg["dense"], x, probe)}
    for label, layer in cfg["layers"].items():
        for mode in ("factors", "dense"):
            runs[f"{label} [{mode}]"] = _step(_with_mode(layer, mode), x, probe)
    return _time_all(runs, repeats)


def _torch_forward(layer: Any, params: dict[str, Any]):
    """The layer's factor contraction written in PyTorch (``torch.einsum`` / ``conv2d``)."""
    import torch

    f = torch.nn.functional
    p = params
    if isinstance(layer, Linear):
        return lambda x: f.linear(x, p["weight"].T, p["bias"])
    if isinstance(layer, Conv2d):
        return lambda x: f.conv2d(x, p["weight"], p["bias"], layer.stride, layer.padding)
    if isinstance(layer, LowRankLinear):
        if layer.diag:
            return lambda x: torch.einsum("bi,ir,r,ro->bo", x, p["U"], p["s"], p["V"]) + p["bias"]
        return lambda x: torch.einsum("bi,ir,ro->bo", x, p["U"], p["V"]) + p["bias"]
    if isinstance(layer, BTLinear):
        d = len(layer.in_modes)
        ins, outs, ranks = "pqtu"[:d], "jkvw"[:d], "rsyz"[:d]
        spec = f"b{ins},n{ranks}," + ",".join(
            f"n{ins[k]}{outs[k]}{ranks[k]}" for k in range(d)
        ) + f"->b{outs}"  # fmt: skip
        facs = [p[f"factor_{k}"] for k in range(d)]
        shape = tuple(layer.in_modes)

        def bt(x):
            xt = x.reshape((x.shape[0],) + shape)
            return torch.einsum(spec, xt, p["core"], *facs).reshape(x.shape[0], -1) + p["bias"]

        return bt
    (sh, sw), (ph, pw) = layer.stride, layer.padding
    if isinstance(layer, LowRankConv2d):
        if layer.scheme == "channel":
            return lambda x: f.conv2d(
                f.conv2d(x, p["U"], None, layer.stride, layer.padding),
                p["V"][:, :, None, None], p["bias"],
            )  # fmt: skip
        return lambda x: f.conv2d(
            f.conv2d(x, p["U"], None, (sh, 1), (ph, 0)), p["V"], p["bias"], (1, sw), (0, pw)
        )  # fmt: skip
    if isinstance(layer, CPConv2d):
        r = layer.rank

        def cp(x):
            z = f.conv2d(x, p["U_in"].T[:, :, None, None])
            z = f.conv2d(z, p["U_h"].T[:, None, :, None], None, (sh, 1), (ph, 0), groups=r)
            z = f.conv2d(z, p["U_w"].T[:, None, None, :], None, (1, sw), (0, pw), groups=r)
            return f.conv2d(z, p["U_out"][:, :, None, None], p["bias"])

        return cp
    if isinstance(layer, TuckerConv2d):

        def tucker(x):
            z = f.conv2d(x, p["U_in"].T[:, :, None, None])
            z = f.conv2d(z, p["core"], None, layer.stride, layer.padding)
            return f.conv2d(z, p["U_out"][:, :, None, None], p["bias"])

        return tucker
    return None  # BTConv2d: no PyTorch version here


def worker_torch(name: str, repeats: int) -> dict[str, float]:
    """One process: the same contractions in PyTorch, forward + autograd backward (params and
    input), checked against tensornet's forward."""
    import torch

    cfg = _configs()[name]
    x, probe = _inputs(cfg)
    xt, pt = torch.from_numpy(x), torch.from_numpy(probe)
    runs = {}
    for label, layer in [("dense", cfg["dense"]), *cfg["layers"].items()]:
        params = {k: torch.tensor(v, requires_grad=True) for k, v in layer.params.items()}
        fwd = _torch_forward(layer, params)
        if fwd is None:
            continue
        with torch.no_grad():
            ref = layer.forward(layer.params, x)
            got = fwd(xt).numpy()
        scale = float(np.abs(ref).max())
        if not np.allclose(got, ref, rtol=1e-3, atol=1e-4 * scale):
            raise AssertionError(f"PyTorch version of {label} differs from tensornet's forward")

        def run(fwd=fwd, params=params):
            xin = xt.clone().requires_grad_(True)
            for v in params.values():
                v.grad = None
            (fwd(xin) * pt).sum().backward()

        runs[label] = run
    return _time_all(runs, repeats)


def run_config(
    name: str, cfg: dict[str, Any], repeats: int, rounds: int, threads: int
) -> dict[str, Any]:
    """tensornet (all layers, both paths) and PyTorch, each in its own processes."""
    spec = {"config": name, "repeats": repeats, "threads": threads}
    res = _fair.alternate(
        __file__, {"ours": {"side": "ours", **spec}, "torch": {"side": "torch", **spec}},
        rounds, threads, alone=("torch",), key="dense",
    )  # fmt: skip
    ms = {k: v["median"] for k, v in res["ours"].items() if isinstance(v, dict) and "median" in v}
    tms = {k: v["median"] for k, v in res["torch"].items() if isinstance(v, dict) and "median" in v}
    dense = cfg["dense"]
    rows = [
        {
            "layer": "dense " + type(dense).__name__,
            "n_params": dense.n_params,
            "flops": _dense_flops(dense, cfg["input"]),
            "ms_fwd_bwd": round(ms["dense"], 3),
            "ms_torch": round(tms["dense"], 3),
            "dense_over_torch": round(ms["dense"] / tms["dense"], 3),
        }
    ]
    for label, layer in cfg["layers"].items():
        mf, md = ms[f"{label} [factors]"], ms[f"{label} [dense]"]
        auto = mf if layer.path(cfg["input"]) == "factors" else md
        row = {
            "layer": label,
            "n_params": layer.n_params,
            "compression": round(dense.n_params / layer.n_params, 2),
            "flops_factors": layer.flops(cfg["input"], path="factors"),
            "flops_dense_path": layer.flops(cfg["input"], path="dense"),
            "auto_path": layer.path(cfg["input"]),
            "ms_factors": round(mf, 3),
            "ms_dense_path": round(md, 3),
            "faster_path": "factors" if mf <= md else "dense",
            "factors_over_dense_layer": round(mf / ms["dense"], 3),
            "auto_over_dense_layer": round(auto / ms["dense"], 3),
        }
        if label in tms:
            row["ms_torch"] = round(tms[label], 3)
            row["factors_over_torch"] = round(mf / tms[label], 3)
            row["auto_over_torch"] = round(auto / tms[label], 3)
        rows.append(row)
    return {
        "config": name,
        "input": list(cfg["input"]),
        "rows": rows,
        "loaded": res["ours"]["loaded"] or res["torch"]["loaded"],
        "torch_alone_over_alternating": round(res["torch"]["alone_over_alternating"], 3),
    }


def _with_mode(layer, mode):
    """A shallow copy of ``layer`` sharing its parameters, with ``mode`` fixed."""
    clone = object.__new__(type(layer))
    clone.__dict__.update(layer.__dict__)
    clone.mode = mode
    return clone


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3, help="alternating process rounds")
    parser.add_argument("--blas-threads", type=int, default=1)
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        spec = json.loads(args.worker)
        _fair.limit_threads(spec["threads"], torch=spec["side"] == "torch")
        numba.set_num_threads(min(spec["threads"], numba.config.NUMBA_NUM_THREADS))
        fn = worker_ours if spec["side"] == "ours" else worker_torch
        print(json.dumps(fn(spec["config"], spec["repeats"])))
        return
    _fair.limit_threads(args.blas_threads)
    load_before = os.getloadavg()
    record: dict[str, Any] = {
        "script": "bench_factorized_a.py",
        "command": "python benchmarks/bench_factorized_a.py " + " ".join(sys.argv[1:]),
        "protocol": _fair.PROTOCOL,
        "batch": BATCH,
        "dtype": "float32",
        "repeats": args.repeats,
        "rounds": args.rounds,
        "blas_threads": args.blas_threads,
        "numpy": np.__version__,
        "numba": numba.__version__,
        "platform": platform.platform(),
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "load_before": load_before,
        "configs": [],
    }
    with threadpoolctl.threadpool_limits(args.blas_threads):
        record["threadpool_info"] = threadpoolctl.threadpool_info()
    for name, cfg in _configs().items():
        result = run_config(name, cfg, args.repeats, args.rounds, args.blas_threads)
        record["configs"].append(result)
        print(json.dumps(result), flush=True)
    record["load_after"] = os.getloadavg()
    record["loaded"] = max(load_before[0], record["load_after"][0]) > _fair.LOADED or any(
        c["loaded"] for c in record["configs"]
    )
    _fair.write_json(args.output, record)
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
