"""Is the accuracy gap of ``bench_mnist.py`` to PyTorch seed noise? Several seeds, both sides.

For each seed, PyTorch's default initialization is drawn with ``torch.manual_seed(seed)`` and
copied into tensornet (``bench_mnist.py``'s ``init`` worker), both sides train on the same
batch order (``numpy.random.default_rng(seed)``) with SGD lr 0.1, momentum 0.9, batch 128,
float32 for ``--epochs`` epochs, tensornet through :func:`tensornet.nn.fit`, each side in its
own process (``benchmarks/_fair.py``). Only accuracies are recorded (they do not depend on the
machine's load). The two sides start from the same weights and see the same batches, so a
difference comes from float32 rounding order (BLAS blocking, reduction order), which the
chaotic dynamics of SGD amplify; the spread of the per-seed differences says how large such
a difference is, and their mean whether one side is systematically better.

Usage::

    python benchmarks/bench_mnist_seeds.py --seeds 0 1 2 3 4 --epochs 4 [--archs lenet300_100]
    python benchmarks/bench_mnist_seeds.py --quick    # seeds 0 and 1, one epoch

Writes ``results/mnist_seeds.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _fair  # noqa: E402
import bench_mnist  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "mnist_seeds.json"
SCRIPT = Path(bench_mnist.__file__)


def run_seed(arch: str, seed: int, args: argparse.Namespace, tmp: str) -> dict[str, Any]:
    """Train both sides from seed ``seed``; return their per-epoch test accuracies."""
    init = str(Path(tmp) / f"{arch}-{seed}.npz")
    base = {"arch": arch, "data": args.data, "seed": seed, "epochs": args.epochs,
            "threads": args.threads, "init": init}  # fmt: skip
    _fair.spawn(SCRIPT, {**base, "kind": "init", "threads": 1}, 1)
    out = {}
    for side in ("fit", "torch"):
        res = _fair.spawn(SCRIPT, {**base, "kind": side}, args.threads)
        out[side] = [round(a, 4) for a in res["test_accuracy"]]
    out["final_diff_pp"] = round(100 * (out["fit"][-1] - out["torch"][-1]), 3)
    print(json.dumps({"arch": arch, "seed": seed, **out}), flush=True)
    return out


def main() -> None:
    """Run every seed of every architecture and write ``results/mnist_seeds.json``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=os.environ.get("TENSORNET_DATA", bench_mnist.DEFAULT_DATA))
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--archs", nargs="+", default=["lenet300_100"])
    ap.add_argument("--out", default=str(RESULTS))
    ap.add_argument("--quick", action="store_true", help="seeds 0 and 1, one epoch")
    args = ap.parse_args()
    if args.quick:
        args.seeds, args.epochs = [0, 1], 1
    record: dict[str, Any] = {
        "benchmark": "mnist_seeds",
        "command": "python benchmarks/bench_mnist_seeds.py " + " ".join(sys.argv[1:]),
        **_fair.run_record(args.threads, 1),
        "config": {"batch": bench_mnist.BATCH, "lr": bench_mnist.LR,
                   "momentum": bench_mnist.MOMENTUM, "epochs": args.epochs,
                   "seeds": args.seeds, "init": "PyTorch default per seed, copied"},
    }  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        for arch in args.archs:
            runs = {seed: run_seed(arch, seed, args, tmp) for seed in args.seeds}
            diffs = [r["final_diff_pp"] for r in runs.values()]
            record[arch] = {
                "seeds": {str(k): v for k, v in runs.items()},
                "final_diff_pp": diffs,
                "mean_diff_pp": round(statistics.mean(diffs), 3),
                "stdev_diff_pp": round(statistics.stdev(diffs), 3) if len(diffs) > 1 else None,
                "fit_final_mean": round(statistics.mean(r["fit"][-1] for r in runs.values()), 5),
                "torch_final_mean": round(
                    statistics.mean(r["torch"][-1] for r in runs.values()), 5
                ),
            }
    _fair.finish_record(record)
    _fair.write_json(args.out, record)
    print(json.dumps({k: v for k, v in record.items() if k in args.archs}, indent=1))


if __name__ == "__main__":
    main()
