"""Forward + backward time of every factorized convolution on its two paths, and the cost model.

Each conv family (LowRank channel/spatial, CP, Tucker-2, block-term, TT, TR, GKP) runs at batch
128 in float32 on LeNet-5 and small-ResNet shapes, once with ``mode="factors"`` (the chain of
thin convolutions) and once with ``mode="dense"`` (rebuild the kernel, one ``im2col`` GEMM),
through ``value_and_grad`` with respect to its parameters and its input (a hidden layer in
training). For both paths the row records the multiply-adds (``flops``) and the bytes of the
activations the path writes (``bytes``, :meth:`FactorizedConv2d.bytes_moved`).

The cost model of ``mode="auto"`` is ``flops + BYTE_COST * bytes``. Its one constant is fitted
here: nonnegative least squares of ``time ~ a * flops + b * bytes`` over every measured path,
each equation divided by its time (relative errors weigh equally), ``BYTE_COST = b / a``. The
record shows, per row, the faster measured path, the choice of the flop-only rule, of the model
with the constant the package ships (``tensornet.nn.factorized.FactorizedConv2d.BYTE_COST``) and
of the model with the constant fitted in this run.

Figures are the fastest of ``--repeats`` rounds after a warm-up (the least disturbed by other
processes on a shared machine; the medians are recorded too), the runs of one shape in rotating
order within each round; BLAS is limited to ``--blas-threads`` threads (default 1). Timings taken
at a load average above 2.5 are flagged ``"loaded"``.

``--refit PATH`` recomputes the fit, the shipped model's choices and the summary of a recorded
run without timing anything (after the shipped constant changed).

Usage::

    python benchmarks/bench_conv_modes.py [--repeats 5] [--blas-threads 1] [--quick]
    python benchmarks/bench_conv_modes.py --refit benchmarks/results/conv_modes.json
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
import scipy.optimize
import threadpoolctl
from bench_factorized_a import _step, _with_mode

from tensornet.nn import Conv2d
from tensornet.nn.factorized.base import FactorizedConv2d, suggest_modes
from tensornet.nn.factorized.btd import BTConv2d
from tensornet.nn.factorized.cp import CPConv2d
from tensornet.nn.factorized.kron import GKPConv2d
from tensornet.nn.factorized.lowrank import LowRankConv2d
from tensornet.nn.factorized.tr import TRConv2d
from tensornet.nn.factorized.tt import TTConv2d
from tensornet.nn.factorized.tucker import TuckerConv2d

RESULTS = Path(__file__).parent / "results" / "conv_modes.json"
BATCH = 128
LOADED = 2.5

#: name -> (C, O, K, padding, H): LeNet-5's second convolution (and the Caffe variant's) and
#: the 3x3 convolutions of a small CIFAR ResNet's three stages.
SHAPES = {
    "lenet5_conv2 6->16 5x5 @14": (6, 16, 5, 0, 14),
    "lenet5_caffe_conv2 20->50 5x5 @12": (20, 50, 5, 0, 12),
    "resnet_stage1 16->16 3x3 @32": (16, 16, 3, 1, 32),
    "resnet_stage2 32->32 3x3 @16": (32, 32, 3, 1, 16),
    "resnet_stage3 64->64 3x3 @8": (64, 64, 3, 1, 8),
}


def _families(c: int, o: int, k: int, pad: int) -> dict[str, FactorizedConv2d]:
    """One layer per family at a moderate compression (ranks about a quarter to a half)."""
    g = {"padding": pad, "random_state": 0}
    lr_spatial = max(1, min(c * k, o * k) // 4)
    return {
        f"LowRankConv2d channel r={o // 4}": LowRankConv2d(c, o, k, max(1, o // 4), **g),
        f"LowRankConv2d spatial r={lr_spatial}": LowRankConv2d(
            c, o, k, lr_spatial, scheme="spatial", **g
        ),
        f"CPConv2d R={o // 2}": CPConv2d(c, o, k, o // 2, **g),
        f"TuckerConv2d ({c // 2},{o // 2})": TuckerConv2d(c, o, k, (c // 2, o // 2), **g),
        "BTConv2d R=2 Rs=K N=2, 2 modes": BTConv2d(
            c, o, k, 2, n_blocks=2, spatial_rank=k, **_bt_modes(c, o), **g
        ),
        "TTConv2d ranks 4, 2 cores": TTConv2d(c, o, k, 4, n_cores=2, **g),
        "TRConv2d ranks 4, 2+2 cores": TRConv2d(c, o, k, 4, n_cores=2, **g),
        "GKPConv2d R=2": GKPConv2d(c, o, k, 2, **g),
    }


def _bt_modes(c: int, o: int) -> dict[str, tuple[int, ...]]:
    return {"in_modes": suggest_modes(c, 2), "out_modes": suggest_modes(o, 2)}


def _time_runs(runs: dict[str, Any], repeats: int) -> tuple[dict[str, float], dict[str, float]]:
    """Fastest and median milliseconds of every run."""
    for fn in runs.values():  # warm-up (Numba compilation, caches)
        fn()
    times: dict[str, list[float]] = {key: [] for key in runs}
    keys = list(runs)
    for r in range(repeats):
        for key in keys[r % len(keys) :] + keys[: r % len(keys)]:
            t0 = time.perf_counter()
            runs[key]()
            times[key].append(time.perf_counter() - t0)
    fastest = {key: 1e3 * min(v) for key, v in times.items()}
    return fastest, {key: 1e3 * statistics.median(v) for key, v in times.items()}


def run_shape(name: str, spec: tuple[int, ...], repeats: int) -> dict[str, Any]:
    c, o, k, pad, h = spec
    shape = (BATCH, c, h, h)
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float32)
    dense = Conv2d(c, o, k, padding=pad, random_state=0)
    probe = rng.standard_normal(np.shape(dense(x))).astype(np.float32)
    layers = _families(c, o, k, pad)
    runs = {"dense Conv2d": _step(dense, x, probe)}
    for label, layer in layers.items():
        for mode in ("factors", "dense"):
            runs[f"{label} [{mode}]"] = _step(_with_mode(layer, mode), x, probe)
    ms, median = _time_runs(runs, repeats)
    rows = []
    for label, layer in layers.items():
        row = {"layer": label, "n_params": layer.n_params}
        for mode in ("factors", "dense"):
            row[f"flops_{mode}"] = layer.flops(shape, path=mode)
            row[f"bytes_{mode}"] = layer.bytes_moved(shape, mode)
            row[f"ms_{mode}"] = round(ms[f"{label} [{mode}]"], 3)
            row[f"ms_median_{mode}"] = round(median[f"{label} [{mode}]"], 3)
        row["faster_path"] = "factors" if row["ms_factors"] <= row["ms_dense"] else "dense"
        row["flop_rule_path"] = "factors" if row["flops_factors"] <= row["flops_dense"] else "dense"
        row["auto_path"] = layer.path(shape)
        rows.append(row)
    return {
        "shape": name,
        "input": list(shape),
        "ms_dense_conv2d": round(ms["dense Conv2d"], 3),
        "rows": rows,
    }


def fit_byte_cost(results: list[dict[str, Any]]) -> dict[str, float]:
    """Nonnegative least squares of ``ms ~ a flops + b bytes``, relative residuals."""
    design, target = [], []
    for result in results:
        for row in result["rows"]:
            for mode in ("factors", "dense"):
                t = row[f"ms_{mode}"]
                design.append([row[f"flops_{mode}"] / t, row[f"bytes_{mode}"] / t])
                target.append(1.0)
    (a, b), residual = scipy.optimize.nnls(np.array(design), np.array(target))
    return {
        "ms_per_flop": a,
        "ms_per_byte": b,
        "byte_cost": b / a if a > 0 else float("inf"),
        "rms_relative_error": float(residual / np.sqrt(len(target))),
    }


def _choose(row: dict[str, Any], byte_cost: float) -> str:
    factors = row["flops_factors"] + byte_cost * row["bytes_factors"]
    dense = row["flops_dense"] + byte_cost * row["bytes_dense"]
    return "factors" if factors <= dense else "dense"


def summarize(results: list[dict[str, Any]], fit: dict[str, float]) -> dict[str, Any]:
    """How often each rule picks the measured faster path, and the time it loses when wrong."""
    rules = {
        "flop_rule": lambda r: r["flop_rule_path"],
        "shipped_model": lambda r: _choose(r, FactorizedConv2d.BYTE_COST),
        "fitted_model": lambda r: _choose(r, fit["byte_cost"]),
    }
    out: dict[str, Any] = {}
    for name, rule in rules.items():
        right, lost = 0, 0.0
        for result in results:
            for row in result["rows"]:
                pick = rule(row)
                right += pick == row["faster_path"]
                lost += row[f"ms_{pick}"] - min(row["ms_factors"], row["ms_dense"])
        out[name] = {"faster_path_picked": right, "ms_lost": round(lost, 3)}
    out["rows"] = sum(len(result["rows"]) for result in results)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--blas-threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="two shapes, 2 repeats")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--refit", type=Path, help="recompute fit and summary of this record")
    args = parser.parse_args()
    if args.refit is not None:
        record = json.loads(args.refit.read_text())
        record["refit_command"] = f"python benchmarks/bench_conv_modes.py --refit {args.refit}"
        for result in record["results"]:
            for row in result["rows"]:
                row["auto_path"] = _choose(row, FactorizedConv2d.BYTE_COST)
        _finish(record, args.output)
        return
    shapes = dict(list(SHAPES.items())[:2]) if args.quick else SHAPES
    repeats = 2 if args.quick else args.repeats
    load_before = os.getloadavg()
    record: dict[str, Any] = {
        "script": "bench_conv_modes.py",
        "command": "python benchmarks/bench_conv_modes.py"
        + (" --quick" if args.quick else f" --repeats {repeats}")
        + f" --blas-threads {args.blas_threads}",
        "batch": BATCH,
        "dtype": "float32",
        "repeats": repeats,
        "blas_threads": args.blas_threads,
        "shipped_byte_cost": FactorizedConv2d.BYTE_COST,
        "numpy": np.__version__,
        "numba": numba.__version__,
        "platform": platform.platform(),
        "load_before": load_before,
        "results": [],
    }
    numba.set_num_threads(min(args.blas_threads, numba.config.NUMBA_NUM_THREADS))
    with threadpoolctl.threadpool_limits(args.blas_threads):
        for name, spec in shapes.items():
            result = run_shape(name, spec, repeats)
            record["results"].append(result)
            print(json.dumps(result), flush=True)
    record["load_after"] = os.getloadavg()
    record["loaded"] = max(load_before[0], record["load_after"][0]) > LOADED
    _finish(record, args.output)


def _finish(record: dict[str, Any], output: Path) -> None:
    """Fit, summary with the shipped constant, atomic write, and the headline printed."""
    record["shipped_byte_cost"] = FactorizedConv2d.BYTE_COST
    record["fit"] = fit_byte_cost(record["results"])
    record["summary"] = summarize(record["results"], record["fit"])
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, indent=2))
    tmp.replace(output)
    print(json.dumps({k: record[k] for k in ("fit", "summary", "loaded")}, indent=2))


if __name__ == "__main__":
    main()
