"""CPU time of LeNet-5's convolution and pooling kernels, one batch of 128, float32.

Each kernel of ``tensornet/nn/conv.py`` is timed at LeNet-5's shapes (conv1 1->6 5x5 padding 2
on 28x28, max pool 2x2, conv2 6->16 5x5 on 14x14, max pool 2x2), forward and backward, with
``time.process_time`` (CPU time: on a loaded machine it measures the work, not the wait), as the
median of ``--repeats`` blocks of ``--inner`` calls. Where a specialized kernel replaces a
generic one (the 2x2 max pooling), both are timed in alternating blocks in the same process
(A/B/A/B), so that the load affects both alike. Threads are limited to ``--threads``.

Usage::

    python benchmarks/bench_conv_kernels.py [--threads 1] [--repeats 7] [--inner 30]

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


def _blocks(fns: dict[str, Callable[[], Any]], repeats: int, inner: int) -> dict[str, float]:
    """Median CPU milliseconds per call of each function, blocks alternating between them."""
    for f in fns.values():
        f()
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for name, f in fns.items():
            start = time.process_time()
            for _ in range(inner):
                f()
            times[name].append(1e3 * (time.process_time() - start) / inner)
    return {k: round(statistics.median(v), 4) for k, v in times.items()}


def main() -> None:
    """Time every kernel and write ``results/conv_kernels.json``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--inner", type=int, default=30)
    ap.add_argument("--out", default=str(RESULTS))
    args = ap.parse_args()
    _fair.limit_threads(args.threads)
    from tensornet.nn import conv as cv

    record: dict[str, Any] = {
        "benchmark": "conv_kernels",
        "command": "python benchmarks/bench_conv_kernels.py " + " ".join(sys.argv[1:]),
        **_fair.run_record(args.threads, args.repeats),
        "unit": "CPU ms per call (median of blocks), batch 128, float32",
    }
    rng = np.random.default_rng(0)
    f32 = np.float32
    x0 = rng.standard_normal((128, 1, 28, 28)).astype(f32)
    w1, b1 = rng.standard_normal((6, 1, 5, 5)).astype(f32), np.zeros(6, f32)
    x1 = rng.standard_normal((128, 6, 14, 14)).astype(f32)
    w2, b2 = rng.standard_normal((16, 6, 5, 5)).astype(f32), np.zeros(16, f32)
    y1 = cv.conv_direct(x0, w1, b1, (2, 2))
    cols = cv.im2col(x1, (5, 5), (1, 1), (0, 0))
    y2 = cv.conv_gemm(cols, w2, b2, (128, 10, 10))
    g1 = rng.standard_normal(y1.shape).astype(f32)
    g2 = rng.standard_normal(y2.shape).astype(f32)
    conv1_vjp = cv._conv_direct_vjp([1, 2], y1, (x0, w1, b1, (2, 2)), {})
    conv2_vjp = cv._conv_gemm_vjp([0, 1, 2], y2, (cols, w2, b2, (128, 10, 10)), {})
    dcols = w2.reshape(16, -1).T @ np.ascontiguousarray(g2.transpose(1, 0, 2, 3)).reshape(16, -1)
    record["kernels"] = _blocks(
        {
            "conv1 direct forward": lambda: cv.conv_direct(x0, w1, b1, (2, 2)),
            "conv1 direct backward (weight, bias)": lambda: conv1_vjp(g1),
            "conv2 im2col": lambda: cv.im2col(x1, (5, 5), (1, 1), (0, 0)),
            "conv2 GEMM forward": lambda: cv.conv_gemm(cols, w2, b2, (128, 10, 10)),
            "conv2 GEMM backward (patches, weight, bias)": lambda: conv2_vjp(g2),
            "conv2 col2im": lambda: cv.col2im(dcols, x1.shape, (5, 5), (1, 1), (0, 0)),
        },
        args.repeats,
        args.inner,
    )
    pools = {}
    for name, y in (("pool1", y1), ("pool2", y2)):
        planes, _ = cv._planes(y)
        p, h, w = planes.shape
        out = np.empty((p, h // 2, w // 2), f32)
        g = rng.standard_normal(out.shape).astype(f32)
        dx = np.empty_like(planes)
        pools[name] = _blocks(
            {
                "forward 2x2 kernel": lambda planes=planes, out=out: cv._max_pool_2x2_kernel(
                    planes, out
                ),
                "forward generic kernel": lambda planes=planes, out=out: cv._max_pool_kernel(
                    planes, 2, 2, 2, 2, out
                ),
                "backward 2x2 kernel": lambda planes=planes, g=g, dx=dx: (
                    cv._max_pool_2x2_grad_kernel(planes, g, dx)
                ),
                "backward generic tiled kernel": lambda planes=planes, g=g, dx=dx: (
                    cv._max_pool_grad_tiled_kernel(planes, g, 2, 2, dx)
                ),
            },
            args.repeats,
            args.inner,
        )
    record["max_pool"] = pools
    _fair.finish_record(record)
    _fair.write_json(args.out, record)
    print(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
