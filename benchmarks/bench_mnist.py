"""Train LeNet-300-100 and LeNet-5 on MNIST with tensornet.nn and with PyTorch; compare.

Fair protocol (``benchmarks/_fair.py``, issue 20): every side trains in **its own process**
(this script re-invoked with ``--worker``), with the same thread limits (``--threads``, default
2, in the environment before import, ``threadpoolctl``, ``torch.set_num_threads``); the sides
alternate in rotating order for ``--rounds`` rounds; PyTorch is then measured again alone in
back-to-back processes as a sanity check. The sides are:

* ``fit``: tensornet through :func:`tensornet.nn.fit` (what a user calls), no callbacks;
* ``loop``: tensornet through a bare loop (``value_and_grad`` + ``SGD.step``), the floor of
  ``fit``;
* ``torch``: PyTorch 2.13 CPU, the usual ``zero_grad / loss.backward / step`` loop.

All three train the same architecture from the **same initial weights** (PyTorch's default
initialization, written to a ``.npz`` by a separate process so the tensornet processes never
import PyTorch) on the **same sequence of mini-batches** (batch 128, one permutation per epoch
from ``numpy.random.default_rng(seed)``, which is the order ``fit`` draws), with SGD lr 0.1,
momentum 0.9, float32, for ``--epochs`` epochs. Each epoch's training steps are timed (the
evaluation after it is not). The first epoch of a fresh process (Numba cache loading, first
BLAS calls, allocator) is reported on its own (``first_epoch_s``); the headline is the
**median of the later epochs** over all processes and its ratio to PyTorch's.

Also recorded: the test accuracy after every epoch and the difference after the last one;
scheduled runs (``--parts sched``: cosine learning rate from 0.1 over 20 epochs for
LeNet-300-100 and 10 for LeNet-5, one process per side); and the fraction of peak: an epoch's
matrix-product FLOPs (forward, weight-gradient and input-gradient GEMMs except for the first
layer's input) over the epoch time, over NumPy's float32 GEMM rate on 2048 x 2048 matrices
with the same thread limit (measured in its own process).

Usage::

    python benchmarks/bench_mnist.py                  # timing: 3 rounds x 4 epochs, both archs
    python benchmarks/bench_mnist.py --parts timing,sched --rounds 3 --epochs 4
    python benchmarks/bench_mnist.py --archs lenet5 --rounds 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _fair  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "mnist.json"
BATCH = 128
LR, MOMENTUM = 0.1, 0.9
DEFAULT_DATA = next(
    (str(p / "shared" / "data" / "mnist") for p in Path(__file__).resolve().parents[1:4]
     if (p / "shared" / "data" / "mnist").is_dir()),
    "../shared/data/mnist",
)  # fmt: skip


# ----------------------------------------------------------------------------- models
def torch_model(arch: str, seed: int):
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
    import torch

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


def torch_state_for_tensornet(arch: str, tmodel) -> dict[str, np.ndarray]:
    """The PyTorch model's weights under tensornet's names (Linear weights transposed)."""
    import torch

    from tensornet import nn

    model = getattr(nn, arch)(random_state=0)
    names = [n for n, m in model.children() if m.params]
    mods = [m for _, m in model.children() if m.params]
    theirs = [m for m in tmodel if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d))]
    state = {}
    for name, mine, other in zip(names, mods, theirs, strict=True):
        w = other.weight.detach().numpy()
        state[f"{name}.weight"] = np.ascontiguousarray(w.T if isinstance(mine, nn.Linear) else w)
        state[f"{name}.bias"] = other.bias.detach().numpy().copy()
    return state


def matmul_flops_per_sample(model) -> float:
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
    from tensornet import nn

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


# ----------------------------------------------------------------------------- workers
def _orders(seed: int, n: int, epochs: int) -> list[np.ndarray]:
    """The batch orders of ``fit(..., random_state=seed)``: one permutation per epoch."""
    rng = np.random.default_rng(seed)
    return [rng.permutation(n) for _ in range(epochs)]


def _cosine(step: int, n_batches: int, total_epochs: int) -> float:
    """Learning rate of tensornet's ``CosineLR(total_epochs)`` at ``step``."""
    e = step / n_batches
    return LR * 0.5 * (1 + np.cos(np.pi * min(e / total_epochs, 1)))


def _mnist(data: str, samples: int | None = None):
    from tensornet.datasets import load_mnist

    (x, y), (xt, yt) = load_mnist(data, download=False, verbose=False)
    if len(x) != 60000:
        raise SystemExit(f"full MNIST not found in {data!r}")
    if samples:  # the first `samples` training images (a shorter epoch, for a loaded machine)
        x, y = x[:samples], y[:samples]
    return (x, y), (xt, yt)


def worker_init(spec: dict[str, Any]) -> dict[str, Any]:
    """Write PyTorch's default initial weights (tensornet names) to ``spec["init"]``."""
    state = torch_state_for_tensornet(spec["arch"], torch_model(spec["arch"], spec["seed"]))
    np.savez(spec["init"], **state)
    return {"written": spec["init"]}


def _ours_model(spec: dict[str, Any]):
    from tensornet import nn

    model = getattr(nn, spec["arch"])(random_state=0)
    with np.load(spec["init"]) as f:
        model.load_state_dict({k: f[k] for k in f.files})
    sched = nn.CosineLR(spec["schedule_epochs"]) if spec.get("schedule_epochs") else None
    return model, nn.SGD(model.params, lr=LR, momentum=MOMENTUM, schedule=sched)


def worker_fit(spec: dict[str, Any]) -> dict[str, Any]:
    """tensornet through ``nn.fit``: one call for all epochs, as a user would write it."""
    from tensornet import nn

    (x, y), (xt, yt) = _mnist(spec["data"], spec.get("samples"))
    model, opt = _ours_model(spec)
    hist = nn.fit(
        model, nn.cross_entropy, opt, (x, y), epochs=spec["epochs"], batch_size=BATCH,
        val_data=(xt, yt), random_state=spec["seed"],
    )  # fmt: skip
    return _epoch_result(hist["seconds"], hist["val_accuracy"])


def worker_loop(spec: dict[str, Any]) -> dict[str, Any]:
    """tensornet through a bare loop: ``value_and_grad`` and ``SGD.step`` on the same batches."""
    from tensornet import nn

    (x, y), (xt, yt) = _mnist(spec["data"], spec.get("samples"))
    model, opt = _ours_model(spec)
    opt.steps_per_epoch = (len(x) + BATCH - 1) // BATCH
    step = nn.value_and_grad(lambda p, xb, yb: nn.cross_entropy(model.apply(p, xb), yb))
    params = model.params
    seconds, acc = [], []
    for order in _orders(spec["seed"], len(x), spec["epochs"]):
        model.train()
        start = time.perf_counter()
        for i in range(0, len(order), BATCH):
            idx = order[i : i + BATCH]
            _, grads = step(params, x.take(idx, axis=0), y.take(idx, axis=0))
            opt.step(grads)
        seconds.append(time.perf_counter() - start)
        acc.append(nn.evaluate(model, (xt, yt))["accuracy"])
    return _epoch_result(seconds, acc)


def worker_torch(spec: dict[str, Any]) -> dict[str, Any]:
    """PyTorch: the usual loop on the same initial weights and batches."""
    import torch

    _fair.limit_threads(spec["threads"], torch=True)
    (x, y), (xt, yt) = _mnist(spec["data"], spec.get("samples"))
    model = torch_model(spec["arch"], spec["seed"])
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    loss = torch.nn.CrossEntropyLoss()
    xs, ys, xts = torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(xt)
    n_batches = (len(x) + BATCH - 1) // BATCH
    total = spec.get("schedule_epochs")
    seconds, acc, steps = [], [], 0
    for order in _orders(spec["seed"], len(x), spec["epochs"]):
        order_t = torch.from_numpy(order)
        model.train()
        start = time.perf_counter()
        for i in range(0, len(order), BATCH):
            if total:  # the same per-step cosine schedule as tensornet's CosineLR
                for group in opt.param_groups:
                    group["lr"] = _cosine(steps, n_batches, total)
            idx = order_t[i : i + BATCH]
            opt.zero_grad(set_to_none=True)
            loss(model(xs[idx]), ys[idx]).backward()
            opt.step()
            steps += 1
        seconds.append(time.perf_counter() - start)
        model.eval()
        with torch.no_grad():
            pred = torch.cat([model(xts[i : i + 1000]).argmax(1) for i in range(0, len(xt), 1000)])
        acc.append(float(np.mean(pred.numpy() == yt)))
    return _epoch_result(seconds, acc)


def worker_gemm(spec: dict[str, Any], n: int = 2048, repeats: int = 7) -> dict[str, Any]:
    """Peak float32 GEMM rate of NumPy (GFLOP/s): the best of ``repeats`` ``n x n`` products.

    The best rather than the median is the machine's attainable peak; on a shared machine the
    median mostly measures the other tenants.
    """
    rng = np.random.default_rng(0)
    a, b = rng.random((n, n), dtype=np.float32), rng.random((n, n), dtype=np.float32)
    a @ b
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t)
    return {"gflops": 2 * n**3 / min(times) / 1e9}


def _epoch_result(seconds: list[float], acc: list[float]) -> dict[str, Any]:
    later = seconds[1:] or seconds
    return {
        "first_epoch_s": seconds[0],
        "median_epoch_s": statistics.median(later),
        "final_accuracy": acc[-1],
        "epoch_s": list(seconds),
        "test_accuracy": list(acc),
    }


WORKERS = {
    "init": worker_init,
    "fit": worker_fit,
    "loop": worker_loop,
    "torch": worker_torch,
    "gemm": worker_gemm,
}


def run_worker(spec: dict[str, Any]) -> dict[str, Any]:
    """Entry point of a worker process."""
    _fair.limit_threads(spec["threads"])
    return WORKERS[spec["kind"]](spec)


# ----------------------------------------------------------------------------- orchestration
def timing(arch: str, args: argparse.Namespace, init: str) -> dict[str, Any]:
    """The alternating comparison of the sides for one architecture."""
    base = {"arch": arch, "data": args.data, "seed": args.seed, "epochs": args.epochs,
            "threads": args.threads, "init": init, "samples": args.samples}  # fmt: skip
    sides = {name: {"kind": name, **base} for name in args.sides}
    res = _fair.alternate(
        __file__, sides, args.rounds, args.threads, alone=("torch",),
        alone_rounds=args.alone_rounds, key="median_epoch_s",
    )  # fmt: skip
    out: dict[str, Any] = {
        "epochs_per_process": args.epochs,
        "threads": args.threads,
        "training_samples_per_epoch": args.samples or 60000,
        "sides": res,
    }
    pooled = {
        name: statistics.median(e for r in side["processes"] for e in r["epoch_s"][1:])
        for name, side in res.items()
    }
    out["median_epoch_s"] = {k: round(v, 4) for k, v in pooled.items()}
    out["first_epoch_s"] = {k: round(v["first_epoch_s"]["median"], 4) for k, v in res.items()}
    out["epoch_spread"] = {k: round(v["median_epoch_s"]["spread"], 3) for k, v in res.items()}
    out["final_accuracy"] = {k: v["final_accuracy"]["median"] for k, v in res.items()}
    out["torch_alone_median_epoch_s"] = round(
        statistics.median(e for r in res["torch"]["alone"]["processes"] for e in r["epoch_s"][1:]),
        4,
    )
    for name in res:
        if name != "torch":
            out[f"{name}_over_torch"] = _fair.ratio(pooled[name], pooled["torch"])
            out[f"{name}_first_epoch_over_torch"] = _fair.ratio(
                out["first_epoch_s"][name], out["first_epoch_s"]["torch"]
            )
            out[f"{name}_accuracy_minus_torch_pp"] = round(
                100 * (out["final_accuracy"][name] - out["final_accuracy"]["torch"]), 3
            )
    out["torch_alone_over_alternating"] = _fair.ratio(
        out["torch_alone_median_epoch_s"], pooled["torch"]
    )
    out["loaded"] = any(v["loaded"] for v in res.values())
    return out


def scheduled(arch: str, epochs: int, args: argparse.Namespace, init: str) -> dict[str, Any]:
    """Cosine-schedule runs: one process per side (accuracies do not depend on load)."""
    base = {"arch": arch, "data": args.data, "seed": args.seed, "epochs": epochs,
            "threads": args.threads, "init": init, "schedule_epochs": epochs}  # fmt: skip
    out: dict[str, Any] = {"schedule": f"cosine from {LR} over {epochs} epochs"}
    for name in ("fit", "torch"):
        res = _fair.spawn(__file__, {"kind": name, **base}, args.threads)
        print(json.dumps({"sched": arch, "side": name, "final": res["final_accuracy"]}), flush=True)
        out[name] = {
            "test_accuracy": [round(a, 4) for a in res["test_accuracy"]],
            "final_accuracy": res["final_accuracy"],
            "best_accuracy": max(res["test_accuracy"]),
            "median_epoch_s": res["median_epoch_s"],
        }
    out["final_accuracy_diff_pp"] = round(
        100 * (out["fit"]["final_accuracy"] - out["torch"]["final_accuracy"]), 3
    )
    return out


def _accuracy_only(res: dict[str, Any]) -> dict[str, Any]:
    """A scheduled run recorded by the one-process protocol: its accuracies, not its timings."""
    if "fit" in res:  # already recorded by this protocol
        return res
    keep = ("epochs", "schedule", "ours_test_accuracy", "torch_test_accuracy",
            "ours_final_accuracy", "torch_final_accuracy", "final_accuracy_diff_pp",
            "ours_best_accuracy")  # fmt: skip
    out = {k: res[k] for k in keep if k in res}
    out["note"] = (
        "carried over from a run of both frameworks in one process: accuracies only (they do "
        "not depend on the protocol); its timings were unfair to the peer and are dropped"
    )
    return out


def carried_over(previous: dict[str, Any]) -> dict[str, Any]:
    """The records of an earlier results file kept until their part or architecture is rerun.

    Records of the older one-process protocol keep their accuracies only, the constant-rate
    ones renamed ``<arch>_constant_<epochs>_epochs``.
    """
    out = {}
    for key, value in previous.items():
        if not key.startswith(("lenet300_100", "lenet5")) or not isinstance(value, dict):
            continue
        if "sides" in value or "fit" in value or "note" in value:
            out[key] = value
        elif key.endswith("_cosine"):
            out[key] = _accuracy_only(value)
        else:
            out[f"{key}_constant_{value.get('epochs')}_epochs"] = _accuracy_only(value)
    return out


def main() -> None:
    """Run the comparisons and write ``results/mnist.json``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--data", default=os.environ.get("TENSORNET_DATA", DEFAULT_DATA))
    ap.add_argument("--epochs", type=int, default=4, help="epochs per timing process")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--alone-rounds", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--samples", type=int, default=None,
        help="train on the first N images only (shorter epochs; default all 60000)",
    )  # fmt: skip
    ap.add_argument("--archs", nargs="+", default=["lenet300_100", "lenet5"])
    ap.add_argument("--sides", nargs="+", default=["fit", "loop", "torch"])
    ap.add_argument("--parts", default="timing", help="comma list of timing, sched")
    ap.add_argument(
        "--sched", nargs="*", default=["lenet300_100:20", "lenet5:10"],
        help="scheduled runs ARCH:EPOCHS (cosine learning rate from 0.1)",
    )  # fmt: skip
    ap.add_argument("--out", default=str(RESULTS))
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(run_worker(json.loads(args.worker))))
        return
    if "torch" not in args.sides:
        raise SystemExit("--sides must include torch (the peer)")

    import tensornet
    from tensornet import nn

    parts = set(args.parts.split(","))
    out_path = Path(args.out)
    previous = json.loads(out_path.read_text()) if out_path.exists() else {}
    record: dict[str, Any] = {
        "benchmark": "mnist",
        "command": "python benchmarks/bench_mnist.py " + " ".join(sys.argv[1:]),
        **_fair.run_record(args.threads, args.rounds),
        "config": {
            "batch": BATCH,
            "lr": LR,
            "momentum": MOMENTUM,
            "dtype": "float32",
            "seed": args.seed,
            "init": "PyTorch default, copied",
            "batch_order": "numpy default_rng(seed) permutation per epoch, shared",
        },  # fmt: skip
        "versions": {"tensornet": tensornet.__version__, "numpy": np.__version__},
    }
    record.update(carried_over(previous))
    gemm = _fair.spawn(__file__, {"kind": "gemm", "threads": args.threads}, args.threads)
    record["numpy_gemm_gflops_float32"] = gemm["gflops"]
    with tempfile.TemporaryDirectory() as tmp:
        for arch in args.archs:
            init = str(Path(tmp) / f"{arch}.npz")
            _fair.spawn(__file__, {"kind": "init", "arch": arch, "seed": args.seed,
                                   "init": init, "threads": 1}, 1)  # fmt: skip
            if "timing" in parts:
                res = timing(arch, args, init)
                flops = matmul_flops_per_sample(getattr(nn, arch)(random_state=0)) * 60000
                flops *= (args.samples or 60000) / 60000
                res["matmul_gflop_per_epoch"] = flops / 1e9
                res["fraction_of_numpy_peak"] = {
                    k: round(flops / v / 1e9 / gemm["gflops"], 4)
                    for k, v in res["median_epoch_s"].items()
                }
                record[arch] = res
                print(json.dumps({arch: _fair.strip_runs(
                    {k: v for k, v in res.items() if k != "sides"})}), flush=True)  # fmt: skip
        if "sched" in parts:
            for item in args.sched:
                arch, n_epochs = item.split(":")
                init = str(Path(tmp) / f"{arch}.npz")
                if not Path(init).exists():
                    _fair.spawn(__file__, {"kind": "init", "arch": arch, "seed": args.seed,
                                           "init": init, "threads": 1}, 1)  # fmt: skip
                record[f"{arch}_cosine"] = scheduled(arch, int(n_epochs), args, init)
    _fair.finish_record(record)
    _fair.write_json(out_path, record)
    print(json.dumps({k: v for k, v in _fair.strip_runs(record).items()
                      if not isinstance(v, dict) or "sides" not in v}, indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
