"""Benchmark the entropy coders of ``tensornet.compress.entropy`` on million-symbol streams.

Huffman and Tunstall encode/decode times and rates (bits per symbol) against the empirical
entropy, with zlib (DEFLATE, level 9, the standard library's entropy coder) on the same symbols
stored one per byte as the peer. Streams: geometric (p = 0.3, the shape of relative-index gaps),
a peaked 6-bit distribution (k-means codes of Gaussian weights) and a uniform 6-bit one. Median
of ``--repeats`` rounds after a warm-up; coders alternate within each round.

Usage::

    python benchmarks/bench_entropy.py [--repeats 5] [--n 1000000] [--output F]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import zlib
from pathlib import Path

import numpy as np

from tensornet.compress.entropy import (
    empirical_entropy,
    huffman_decode,
    huffman_encode,
    tunstall_decode,
    tunstall_encode,
)


def streams(n: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    w = rng.standard_normal(n)
    edges = np.linspace(w.min(), w.max(), 65)[1:-1]  # 64 linear bins, as k-means starts
    return {
        "geometric_p0.3": np.minimum(rng.geometric(0.3, size=n) - 1, 255),
        "gaussian_6bit_codes": np.searchsorted(edges, w),
        "uniform_6bit": rng.integers(0, 64, size=n),
    }


def timed(fn, repeats: int) -> tuple[float, object]:
    fn()
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def run_case(name: str, x: np.ndarray, repeats: int) -> dict:
    raw = x.astype(np.uint8).tobytes()
    t_he, hs = timed(lambda: huffman_encode(x), repeats)
    t_hd, hx = timed(lambda: huffman_decode(hs), repeats)
    t_te, ts = timed(lambda: tunstall_encode(x, 12), repeats)
    t_td, tx = timed(lambda: tunstall_decode(ts), repeats)
    t_ze, zs = timed(lambda: zlib.compress(raw, 9), repeats)
    t_zd, zx = timed(lambda: zlib.decompress(zs), repeats)
    if not (np.array_equal(hx, x) and np.array_equal(tx, x) and zx == raw):
        raise RuntimeError(f"{name}: a round trip failed")
    n = x.size
    return {
        "stream": name,
        "n_symbols": n,
        "entropy_bits": empirical_entropy(x),
        "huffman": {"bits_per_symbol": hs.bits_per_symbol, "encode_s": t_he, "decode_s": t_hd},
        "tunstall_12bit": {
            "bits_per_symbol": ts.bits_per_symbol,
            "encode_s": t_te,
            "decode_s": t_td,
        },
        "zlib9": {"bits_per_symbol": 8 * len(zs) / n, "encode_s": t_ze, "decode_s": t_zd},
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--n", type=int, default=1_000_000)
    p.add_argument("--output", default="benchmarks/results/entropy.json")
    args = p.parse_args(argv)
    load = os.getloadavg()
    rows = []
    for name, x in streams(args.n).items():
        row = run_case(name, x, args.repeats)
        print(json.dumps(row), flush=True)
        rows.append(row)
    result = {
        "command": "python " + " ".join(sys.argv),
        "numpy": np.__version__,
        "loadavg_start": load,
        "loadavg_end": os.getloadavg(),
        "loaded": max(load[0], os.getloadavg()[0]) > 2.5,
        "rows": rows,
    }
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
