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

Figures are medians over ``--repeats`` rounds after a warm-up, the layers of one configuration
in rotating order within each round; BLAS is limited to ``--blas-threads`` threads (default 1).

Usage::

    python benchmarks/bench_factorized_a.py [--repeats 5] [--blas-threads 1] [--output PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import numba
import numpy as np
import threadpoolctl

from tensornet.nn import Conv2d, Linear, value_and_grad
from tensornet.nn.factorized.btd import BTConv2d, BTLinear
from tensornet.nn.factorized.cp import CPConv2d
from tensornet.nn.factorized.lowrank import LowRankConv2d, LowRankLinear
from tensornet.nn.factorized.tucker import TuckerConv2d

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


def run_config(name: str, cfg: dict[str, Any], repeats: int) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal(cfg["input"]).astype(np.float32)
    dense = cfg["dense"]
    probe = rng.standard_normal(np.shape(dense(x))).astype(np.float32)
    runs = {"dense": _step(dense, x, probe)}
    for label, layer in cfg["layers"].items():
        for mode in ("factors", "dense"):
            clone = _with_mode(layer, mode)
            runs[f"{label} [{mode}]"] = _step(clone, x, probe)
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
    ms = {k: 1e3 * statistics.median(v) for k, v in times.items()}
    rows = [
        {
            "layer": "dense " + type(dense).__name__,
            "n_params": dense.n_params,
            "flops": _dense_flops(dense, cfg["input"]),
            "ms_fwd_bwd": round(ms["dense"], 3),
        }
    ]
    for label, layer in cfg["layers"].items():
        mf, md = ms[f"{label} [factors]"], ms[f"{label} [dense]"]
        rows.append(
            {
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
                "auto_over_dense_layer": round(
                    (mf if layer.path(cfg["input"]) == "factors" else md) / ms["dense"], 3
                ),
            }
        )
    return {"config": name, "input": list(cfg["input"]), "rows": rows}


def _with_mode(layer, mode):
    """A shallow copy of ``layer`` sharing its parameters, with ``mode`` fixed."""
    clone = object.__new__(type(layer))
    clone.__dict__.update(layer.__dict__)
    clone.mode = mode
    return clone


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--blas-threads", type=int, default=1)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    load_before = os.getloadavg()
    record: dict[str, Any] = {
        "script": "bench_factorized_a.py",
        "batch": BATCH,
        "dtype": "float32",
        "repeats": args.repeats,
        "blas_threads": args.blas_threads,
        "numpy": np.__version__,
        "numba": numba.__version__,
        "platform": platform.platform(),
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "load_before": load_before,
        "configs": [],
    }
    numba.set_num_threads(min(args.blas_threads, numba.config.NUMBA_NUM_THREADS))
    with threadpoolctl.threadpool_limits(args.blas_threads):
        record["threadpool_info"] = threadpoolctl.threadpool_info()
        for name, cfg in _configs().items():
            result = run_config(name, cfg, args.repeats)
            record["configs"].append(result)
            print(json.dumps(result), flush=True)
    record["load_after"] = os.getloadavg()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.output.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, indent=2))
    tmp.replace(args.output)
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
