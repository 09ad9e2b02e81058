"""Train LeNet-300-100 and LeNet-5 on MNIST with tensornet.nn and with PyTorch; compare.

Both frameworks train the same architecture from the **same initial weights** (PyTorch's default
initialization, copied into the tensornet model) on the **same sequence of mini-batches**
(batch 128, one seeded permutation per epoch shared by both), with SGD lr 0.1, momentum 0.9, in
float32, with BLAS / OpenMP limited to ``--threads`` threads (``threadpoolctl`` for NumPy,
``torch.set_num_threads`` for PyTorch). Epochs alternate between the frameworks (the order
flips every epoch) in one process; each epoch's training steps are timed (evaluation is not)
and the figure quoted is the **median epoch time** and its ratio ours / PyTorch. Before timing,
each framework runs ``--warmup`` steps on a throw-away copy (Numba compilation, allocator).

Also recorded:

* test accuracy after every epoch, and the final difference ours - PyTorch;
* scheduled runs (``--sched``, cosine learning rate from 0.1, momentum 0.9, same per-step
  schedule in both frameworks): LeNet-300-100 for 20 epochs (goal: >= 98.2 %) and LeNet-5 for
  10 epochs (goal: >= 98.8 %);
* the **fraction of peak**: an epoch's matrix-product FLOPs (forward GEMMs, weight-gradient GEMMs
  and input-gradient GEMMs except for the first layer, counted from the layer shapes) divided by
  the epoch time, over NumPy's own float32 GEMM rate measured on 2048 x 2048 matrices with the
  same thread limit.

Usage::

    python benchmarks/bench_mnist.py [--data ../shared/data/mnist] [--epochs 10] [--threads 2]
    python benchmarks/bench_mnist.py --timing-only --epochs 4   # rerun only the timing part
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

import numpy as np
import threadpoolctl
import torch

import tensornet
from tensornet import nn
from tensornet.datasets import load_mnist

RESULTS = Path(__file__).parent / "results" / "mnist.json"
BATCH = 128
LR, MOMENTUM = 0.1, 0.9


# ----------------------------------------------------------------------------- models
def torch_model(arch: str, seed: int) -> torch.nn.Sequential:
    """The PyTorch twin of ``tensornet.nn.<arch>()`` with PyTorch's default initialization.

    Parameters
    ----------
    arch : {"lenet300_100", "lenet5"}
    seed : int
        ``torch.manual_seed`` before construction.

    Returns
    -------
    torch.nn.Sequential
    """
    torch.manual_seed(seed)
    t = torch.nn
    if arch == "lenet300_100":
        return t.Sequential(
            t.Flatten(), t.Linear(784, 300), t.ReLU(), t.Linear(300, 100), t.ReLU(),
            t.Linear(100, 10),
        )  # fmt: skip
    return t.Sequential(
        t.Conv2d(1, 6, 5, padding=2), t.MaxPool2d(2), t.ReLU(),
        t.Conv2d(6, 16, 5), t.MaxPool2d(2), t.ReLU(), t.Flatten(),
        t.Linear(400, 120), t.ReLU(), t.Linear(120, 84), t.ReLU(), t.Linear(84, 10),
    )  # fmt: skip


def copy_torch_weights(tmodel: torch.nn.Sequential, model: nn.Module) -> None:
    """Load the PyTorch model's weights into the tensornet model (Linear weights transposed).

    Parameters
    ----------
    tmodel : torch.nn.Sequential
    model : tensornet.nn.Module
    """
    ours = [m for _, m in model.children() if m.params]
    theirs = [m for m in tmodel if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d))]
    state = {}
    names = [n for n, m in model.children() if m.params]
    for name, mine, other in zip(names, ours, theirs, strict=True):
        w = other.weight.detach().numpy()
        state[f"{name}.weight"] = w.T if isinstance(mine, nn.Linear) else w
        state[f"{name}.bias"] = other.bias.detach().numpy()
    model.load_state_dict(state)


def matmul_flops_per_sample(model: nn.Module) -> float:
    """Matrix-product FLOPs of one training sample (forward + backward) of a Sequential model.

    Linear ``in -> out``: ``2 in out`` forward, the same for the weight gradient and, except for
    the first parametrized layer, for the input gradient. Conv2d: the same with ``in = C KH KW``
    and a factor ``OH OW`` (one GEMM column per output pixel).

    Parameters
    ----------
    model : tensornet.nn.Sequential

    Returns
    -------
    float
    """
    x = np.zeros((1, 1, 28, 28), dtype=np.float32)
    flops, first = 0.0, True
    model.eval()
    for _, layer in model.children():
        y = layer(x)
        if isinstance(layer, nn.Linear):
            per = 2.0 * layer.in_features * layer.out_features
        elif isinstance(layer, nn.Conv2d):
            kh, kw = layer.kernel_size
            per = 2.0 * layer.in_channels * kh * kw * layer.out_channels * y.shape[2] * y.shape[3]
        else:
            per = 0.0
        if per:
            flops += per * (2 if first else 3)
            first = False
        x = y
    model.train()
    return flops


def numpy_gemm_gflops(n: int = 2048, repeats: int = 7) -> float:
    """Peak float32 GEMM rate of NumPy (GFLOP/s): the best of ``repeats`` ``n x n`` products.

    The best rather than the median is the machine's attainable peak; on a shared machine the
    median mostly measures the other tenants.

    Parameters
    ----------
    n : int
    repeats : int

    Returns
    -------
    float
    """
    rng = np.random.default_rng(0)
    a, b = rng.random((n, n), dtype=np.float32), rng.random((n, n), dtype=np.float32)
    a @ b
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t)
    return 2 * n**3 / min(times) / 1e9


# ----------------------------------------------------------------------------- training
class OursRunner:
    """One tensornet model + SGD optimizer, trained epoch by epoch on given batch orders."""

    def __init__(self, arch: str, tmodel: torch.nn.Sequential, schedule: Any = None) -> None:
        self.model = getattr(nn, arch)(random_state=0)
        copy_torch_weights(tmodel, self.model)
        self.opt = nn.SGD(self.model.params, lr=LR, momentum=MOMENTUM, schedule=schedule)
        self.step = nn.value_and_grad(
            lambda p, xb, yb: nn.cross_entropy(self.model.apply(p, xb), yb)
        )

    def epoch(self, x: np.ndarray, y: np.ndarray, order: np.ndarray) -> float:
        """Train one epoch over ``order``; return the seconds taken."""
        self.opt.steps_per_epoch = (len(order) + BATCH - 1) // BATCH
        params = self.model.params
        start = time.perf_counter()
        for i in range(0, len(order), BATCH):
            idx = order[i : i + BATCH]
            _, grads = self.step(params, x[idx], y[idx])
            self.opt.step(grads)
        return time.perf_counter() - start

    def accuracy(self, x: np.ndarray, y: np.ndarray) -> float:
        """Test accuracy."""
        return nn.evaluate(self.model, (x, y))["accuracy"]


class TorchRunner:
    """The PyTorch counterpart of :class:`OursRunner`."""

    def __init__(self, tmodel: torch.nn.Sequential, total_epochs: int | None = None) -> None:
        self.model = tmodel
        self.opt = torch.optim.SGD(tmodel.parameters(), lr=LR, momentum=MOMENTUM)
        self.total_epochs = total_epochs
        self.steps = 0
        self.loss = torch.nn.CrossEntropyLoss()

    def epoch(self, x: torch.Tensor, y: torch.Tensor, order: np.ndarray) -> float:
        """Train one epoch over ``order``; return the seconds taken."""
        order_t = torch.from_numpy(order)
        n_batches = (len(order) + BATCH - 1) // BATCH
        self.model.train()
        start = time.perf_counter()
        for i in range(0, len(order), BATCH):
            if self.total_epochs:  # same per-step cosine schedule as tensornet's CosineLR
                e = self.steps / n_batches
                for group in self.opt.param_groups:
                    group["lr"] = LR * 0.5 * (1 + np.cos(np.pi * min(e / self.total_epochs, 1)))
            idx = order_t[i : i + BATCH]
            self.opt.zero_grad(set_to_none=True)
            out = self.loss(self.model(x[idx]), y[idx])
            out.backward()
            self.opt.step()
            self.steps += 1
        return time.perf_counter() - start

    def accuracy(self, x: torch.Tensor, y: np.ndarray) -> float:
        """Test accuracy."""
        self.model.eval()
        with torch.no_grad():
            pred = self.model(x).argmax(1).numpy()
        return float(np.mean(pred == y))


def warm_up(arch: str, x: np.ndarray, y: np.ndarray, steps: int) -> None:
    """Run ``steps`` training steps of both frameworks on throw-away models."""
    tm = torch_model(arch, 123)
    ours, theirs = OursRunner(arch, tm), TorchRunner(torch_model(arch, 123))
    order = np.arange(steps * BATCH)
    ours.epoch(x, y, order)
    theirs.epoch(torch.from_numpy(x), torch.from_numpy(y), order)


def compare(
    arch: str, data: tuple, epochs: int, seed: int, warmup: int, schedule_epochs: int | None = None
) -> dict[str, Any]:
    """Train both frameworks side by side for ``epochs``; return times and accuracies."""
    (x, y), (xt, yt) = data
    xt_t = torch.from_numpy(xt)
    x_t, y_t = torch.from_numpy(x), torch.from_numpy(y)
    warm_up(arch, x, y, warmup)
    tm = torch_model(arch, seed)
    sched = nn.CosineLR(schedule_epochs) if schedule_epochs else None
    ours = OursRunner(arch, tm, schedule=sched)
    theirs = TorchRunner(tm, total_epochs=schedule_epochs)
    rng = np.random.default_rng(seed)
    rec: dict[str, list[float]] = {k: [] for k in ("ours_s", "torch_s", "ours_acc", "torch_acc")}
    for e in range(epochs):
        order = rng.permutation(len(x))
        names = ["ours", "torch"] if e % 2 == 0 else ["torch", "ours"]
        for name in names:
            time.sleep(0.2)  # let the other runtime's spinning threads go idle
            if name == "ours":
                rec["ours_s"].append(ours.epoch(x, y, order))
            else:
                rec["torch_s"].append(theirs.epoch(x_t, y_t, order))
        rec["ours_acc"].append(ours.accuracy(xt, yt))
        rec["torch_acc"].append(theirs.accuracy(xt_t, yt))
        print(
            json.dumps(
                {"arch": arch, "epoch": e + 1, **{k: round(v[-1], 4) for k, v in rec.items()}}
            ),
            flush=True,
        )
    med_ours, med_torch = statistics.median(rec["ours_s"]), statistics.median(rec["torch_s"])
    return {
        "epochs": epochs,
        "schedule": f"cosine over {schedule_epochs} epochs" if schedule_epochs else "constant",
        "ours_epoch_seconds": rec["ours_s"],
        "torch_epoch_seconds": rec["torch_s"],
        "ours_median_epoch_s": med_ours,
        "torch_median_epoch_s": med_torch,
        "epoch_time_ratio_ours_over_torch": med_ours / med_torch,
        "ours_test_accuracy": rec["ours_acc"],
        "torch_test_accuracy": rec["torch_acc"],
        "ours_final_accuracy": rec["ours_acc"][-1],
        "torch_final_accuracy": rec["torch_acc"][-1],
        "final_accuracy_diff_pp": 100 * (rec["ours_acc"][-1] - rec["torch_acc"][-1]),
        "ours_best_accuracy": max(rec["ours_acc"]),
    }


def main() -> None:
    """Run the comparisons and write ``results/mnist.json``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=os.environ.get("TENSORNET_DATA", "../shared/data/mnist"))
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument(
        "--sched",
        nargs="*",
        default=["lenet300_100:20", "lenet5:10"],
        help="scheduled runs ARCH:EPOCHS (cosine learning rate from 0.1)",
    )
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=30)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--archs", nargs="+", default=["lenet300_100", "lenet5"])
    ap.add_argument(
        "--timing-only",
        action="store_true",
        help="skip the scheduled run; append the result to an existing --out file",
    )
    ap.add_argument("--out", default=str(RESULTS))
    args = ap.parse_args()

    data = load_mnist(args.data, download=False)
    if len(data[0][0]) != 60000:
        raise SystemExit(f"full MNIST not found in {args.data!r}")
    torch.set_num_threads(args.threads)
    record: dict[str, Any] = {
        "benchmark": "mnist",
        "config": {
            "batch": BATCH,
            "lr": LR,
            "momentum": MOMENTUM,
            "dtype": "float32",
            "threads": args.threads,
            "seed": args.seed,
            "init": "PyTorch default, copied",
            "batch_order": "shared seeded permutation per epoch",
        },  # fmt: skip
        "versions": {
            "tensornet": tensornet.__version__,
            "numpy": np.__version__,
            "torch": torch.__version__,
            "python": platform.python_version(),
        },  # fmt: skip
        "loadavg_before": os.getloadavg(),
    }
    with threadpoolctl.threadpool_limits(args.threads):
        record["threadpool_info"] = threadpoolctl.threadpool_info()
        gemm = numpy_gemm_gflops()
        print(json.dumps({"numpy_gemm_gflops_float32": round(gemm, 1)}), flush=True)
        results = {}
        for arch in args.archs:
            results[arch] = compare(arch, data, args.epochs, args.seed, args.warmup)
            gemm = max(gemm, numpy_gemm_gflops())
        record["numpy_gemm_gflops_float32"] = gemm
        for arch, res in results.items():
            flops = matmul_flops_per_sample(getattr(nn, arch)(0)) * 60000
            res["matmul_gflop_per_epoch"] = flops / 1e9
            res["ours_fraction_of_peak"] = flops / res["ours_median_epoch_s"] / 1e9 / gemm
            res["torch_fraction_of_numpy_peak"] = flops / res["torch_median_epoch_s"] / 1e9 / gemm
            record[arch] = res
            print(json.dumps({arch: {k: v for k, v in res.items() if not isinstance(v, list)}}))
        if not args.timing_only:
            for item in args.sched:
                arch, n_epochs = item.split(":")
                res = compare(arch, data, int(n_epochs), args.seed, args.warmup,
                              schedule_epochs=int(n_epochs))  # fmt: skip
                record[f"{arch}_cosine"] = res
    record["loadavg_after"] = os.getloadavg()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if args.timing_only and out.exists():  # keep the full run, add the (quieter) timing rerun
        full = json.loads(out.read_text())
        full.setdefault("timing_reruns", []).append(record)
        out.write_text(json.dumps(full, indent=2))
    else:
        out.write_text(json.dumps(record, indent=2))
    summary = {
        arch: {
            k: record[arch][k]
            for k in (
                "ours_median_epoch_s",
                "torch_median_epoch_s",
                "epoch_time_ratio_ours_over_torch",
                "ours_final_accuracy",
                "torch_final_accuracy",
                "ours_fraction_of_peak",
            )
        }  # fmt: skip
        for arch in args.archs
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
