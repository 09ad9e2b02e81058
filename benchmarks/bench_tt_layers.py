"""Time the TT and TR layers against the dense layer and the einsum peers; and a TT network epoch.

Protocol (fair to the peers, issue 20): every measurement runs in **its own process** (this
script re-invoked with ``--worker``), one process per (case, side), sides alternating in a
rotating order, ``--rounds`` rounds; every process gets the same thread limits
(``OPENBLAS/OMP/MKL/NUMBA_NUM_THREADS`` and ``torch.set_num_threads``), warms up, then times
``--reps`` calls and reports the median and the minimum. The figures quoted are the median over
rounds of the per-process medians and the minimum over rounds of the minima (the least
disturbed run on a shared machine); ratios are ours / peer. No process ever runs two frameworks.
The harness is ``benchmarks/_fair.py``: it also re-measures the peers alone in back-to-back
processes (``alone_over_alternating``, a sanity check) and flags figures taken at a 1-minute
load above 2.5 (``loaded``).

Parts:

* ``target``: the issue's case: ``TTLinear`` 784 (4,7,4,7) -> 625 (5,5,5,5), rank 8, batch 256,
  float32, forward only: tensornet (factor path), ``opt_einsum`` with a cached contraction
  expression, ``torch.einsum`` (its path cached by opt_einsum), and the dense product.
* ``layers``: forward and forward+backward (gradients of every parameter; the input is data)
  at batch 128 of ``TTLinear`` and ``TRLinear`` (784 -> 625, modes as above, ranks 8 and 6),
  ``TTConv2d`` and ``TRConv2d`` (LeNet-5's second convolution, 20 -> 50, 5x5, on 14x14,
  modes (4,5) -> (5,10), ranks 6), each vs the dense tensornet layer of the same size, the same
  contraction in ``torch`` (``torch.einsum`` for the cores, ``torch.nn.functional.conv2d`` for
  the convolutions, autograd backward) and, for the linear layers, ``opt_einsum`` (forward).
* ``epoch``: one training epoch on full MNIST of 784 -> TT (4,7,4,7)x(5,5,5,5) rank 8 -> ReLU ->
  625 -> 10, batch 128, SGD lr 0.05 momentum 0.9, float32: tensornet through ``nn.fit`` vs the
  same network in PyTorch with the TT layer written with ``torch.einsum`` (same initial weights).

Usage::

    python benchmarks/bench_tt_layers.py [--threads 1] [--rounds 3] [--reps 30]
        [--parts target,layers,epoch] [--cases tt_linear,tr_linear,tt_conv,tr_conv]
        [--data ../shared/data/mnist]

Prints one JSON line per measurement and the summary; writes ``results/tt_layers.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _fair  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "tt_layers.json"


def _default_data() -> Path:
    """``shared/data/mnist`` beside the clone (or beside a worktree's parent folders)."""
    for parent in Path(__file__).resolve().parents[1:4]:
        if (parent / "shared" / "data" / "mnist").is_dir():
            return parent / "shared" / "data" / "mnist"
    return Path("../shared/data/mnist")


ROOT = Path(__file__).resolve().parent.parent

TT_IN, TT_OUT = (4, 7, 4, 7), (5, 5, 5, 5)
TT_EQ = "zijkl,aipb,bjqc,ckrd,dlse->zpqrs"
TR_EQ = "zijkl,aib,bjc,ckd,dle,epf,fqg,grh,hsa->zpqrs"
CONV = {"c": 20, "s": 50, "k": 5, "hw": 14, "in_modes": (4, 5), "out_modes": (5, 10), "rank": 6}


# ------------------------------------------------------------------------------ timing helpers
def _time_ms(fun, reps: int, name: str, warmup: int = 3) -> dict[str, float]:
    """Median and minimum wall time of ``reps`` calls after ``warmup``, and the median CPU time.

    ``{name}_ms`` is the median wall time, ``{name}_min_ms`` the fastest call and
    ``{name}_cpu_ms`` the median CPU time of this process (``time.process_time``). On a shared,
    oversubscribed machine a descheduled call takes several times longer in wall time; with
    one thread the CPU time is the figure least disturbed by other processes.
    """
    for _ in range(warmup):
        fun()
    walls, cpus = [], []
    for _ in range(reps):
        t, c = time.perf_counter(), time.process_time()
        fun()
        cpus.append(time.process_time() - c)
        walls.append(time.perf_counter() - t)
    return {
        f"{name}_ms": 1e3 * statistics.median(walls),
        f"{name}_min_ms": 1e3 * min(walls),
        f"{name}_cpu_ms": 1e3 * statistics.median(cpus),
    }


def _limit_threads(threads: int) -> None:
    _fair.limit_threads(threads)


def _probe(shape):
    """Fixed random output weights: the loss ``sum(y * probe)`` has a dense gradient."""
    import numpy as np

    return np.random.default_rng(2).standard_normal(shape).astype(np.float32)


# ------------------------------------------------------------------------------ tensornet side
def _ours_layer(case: str, batch: int, mode: str):
    import numpy as np

    from tensornet.nn import Conv2d, Linear
    from tensornet.nn.factorized.tr import TRConv2d, TRLinear
    from tensornet.nn.factorized.tt import TTConv2d, TTLinear

    c = CONV
    if case == "tt_linear":
        layer = TTLinear(784, 625, 8, in_modes=TT_IN, out_modes=TT_OUT, mode=mode, random_state=0)
    elif case == "tr_linear":
        layer = TRLinear(784, 625, 6, in_modes=TT_IN, out_modes=TT_OUT, mode=mode, random_state=0)
    elif case == "tt_conv":
        layer = TTConv2d(c["c"], c["s"], c["k"], c["rank"], in_modes=c["in_modes"],
                         out_modes=c["out_modes"], mode=mode, random_state=0)  # fmt: skip
    elif case == "tr_conv":
        layer = TRConv2d(c["c"], c["s"], c["k"], c["rank"], in_modes=c["in_modes"],
                         out_modes=c["out_modes"], mode=mode, random_state=0)  # fmt: skip
    elif case in ("linear",):
        layer = Linear(784, 625, random_state=0)
    else:
        layer = Conv2d(c["c"], c["s"], c["k"], random_state=0)
    rng = np.random.default_rng(1)
    shape = (batch, 784) if "linear" in case else (batch, c["c"], c["hw"], c["hw"])
    return layer, rng.standard_normal(shape).astype(np.float32)


def worker_ours(case: str, batch: int, reps: int, mode: str) -> dict[str, Any]:
    from tensornet.nn import value_and_grad

    layer, x = _ours_layer(case, batch, mode)
    params = layer.params
    out = _time_ms(lambda: layer.forward(params, x), reps, "forward")
    probe = _probe(layer.forward(params, x).shape)
    grad = value_and_grad(lambda p: (layer.forward(p, x) * probe).sum())
    out.update(_time_ms(lambda: grad(params), reps, "fwd_bwd"))
    if hasattr(layer, "path"):
        out["path"] = layer.path(x.shape)
        out["macs"] = layer.flops(x.shape)
    return out


def worker_opt_einsum(case: str, batch: int, reps: int) -> dict[str, Any]:
    import numpy as np
    import opt_einsum as oe

    layer, x = _ours_layer(case, batch, "factors")
    xs = x.reshape((batch,) + TT_IN)
    if case == "tt_linear":
        ops = [layer.params[f"core_{k}"] for k in range(4)]
        eq = TT_EQ
    else:
        ops = [layer.params[f"in_core_{k}"] for k in range(4)]
        ops += [layer.params[f"out_core_{k}"] for k in range(4)]
        eq = TR_EQ
    expr = oe.contract_expression(eq, xs.shape, *[o.shape for o in ops])
    bias = layer.params["bias"]

    def fwd():
        return expr(xs, *ops).reshape(batch, -1) + bias

    y = fwd()
    ref = layer.forward(layer.params, x)
    assert np.allclose(y, ref, rtol=1e-3, atol=1e-4 * float(np.abs(ref).max()))
    return _time_ms(fwd, reps, "forward")


def worker_dense_matmul(batch: int, reps: int) -> dict[str, Any]:
    import numpy as np

    rng = np.random.default_rng(1)
    x = rng.standard_normal((batch, 784)).astype(np.float32)
    w = rng.standard_normal((784, 625)).astype(np.float32)
    return _time_ms(lambda: x @ w, reps, "forward")


# ------------------------------------------------------------------------------ torch side
def _torch_layer(case: str, batch: int, threads: int):
    import numpy as np
    import torch

    torch.set_num_threads(threads)
    layer, x = _ours_layer(case, batch, "factors")
    params = {k: torch.nn.Parameter(torch.from_numpy(v.copy())) for k, v in layer.params.items()}
    xt = torch.from_numpy(x)
    f = torch.nn.functional
    c = CONV
    if case == "tt_linear":
        cores = [params[f"core_{k}"] for k in range(4)]

        def fwd():
            y = torch.einsum(TT_EQ, xt.view((batch,) + TT_IN), *cores)
            return y.reshape(batch, -1) + params["bias"]

    elif case == "tr_linear":
        cores = [params[f"in_core_{k}"] for k in range(4)]
        cores += [params[f"out_core_{k}"] for k in range(4)]

        def fwd():
            y = torch.einsum(TR_EQ, xt.view((batch,) + TT_IN), *cores)
            return y.reshape(batch, -1) + params["bias"]

    elif case == "tt_conv":
        r0 = c["rank"]
        c1, c2 = c["in_modes"]

        def fwd():
            sp = params["spatial"].permute(2, 0, 1).reshape(r0, 1, c["k"], c["k"])
            z = f.conv2d(xt.reshape(batch * c["c"], 1, c["hw"], c["hw"]), sp)
            oh = z.shape[-1]
            z = z.reshape(batch, c1, c2, r0, oh, oh)
            y = torch.einsum("bijahw,aipc,cjqd->bpqhw", z, params["core_0"], params["core_1"])
            return y.reshape(batch, c["s"], oh, oh) + params["bias"].view(1, -1, 1, 1)

    else:

        def fwd():
            f_in = torch.einsum("aib,bjc->aijc", params["in_core_0"], params["in_core_1"])
            f_out = torch.einsum("cpd,dqa->cpqa", params["out_core_0"], params["out_core_1"])
            r0, rp = f_in.shape[0], f_in.shape[-1]
            re = f_out.shape[0]
            w1 = f_in.reshape(r0, c["c"], rp).permute(0, 2, 1).reshape(r0 * rp, c["c"], 1, 1)
            z = f.conv2d(xt, w1).reshape(batch * r0, rp, c["hw"], c["hw"])
            z = f.conv2d(z, params["spatial"].permute(3, 0, 1, 2))
            oh = z.shape[-1]
            z = z.reshape(batch, r0 * re, oh, oh)
            w3 = f_out.reshape(re, c["s"], r0).permute(1, 2, 0).reshape(c["s"], r0 * re, 1, 1)
            return f.conv2d(z, w3, params["bias"])

    with torch.no_grad():
        ref = layer.forward(layer.params, x)
        got = fwd().numpy()
        assert np.allclose(got, ref, rtol=1e-3, atol=1e-4 * float(np.abs(ref).max())), case
    return fwd, params


def worker_torch(case: str, batch: int, reps: int, threads: int) -> dict[str, Any]:
    import torch

    fwd, params = _torch_layer(case, batch, threads)
    with torch.no_grad():
        probe = torch.from_numpy(_probe(tuple(fwd().shape)))

    def forward():
        with torch.no_grad():
            return fwd()

    def both():
        for p in params.values():
            p.grad = None
        (fwd() * probe).sum().backward()

    return {**_time_ms(forward, reps, "forward"), **_time_ms(both, reps, "fwd_bwd")}


# ------------------------------------------------------------------------------ epoch
EPOCH_LR, EPOCH_MOMENTUM, EPOCH_BATCH = 0.05, 0.9, 128


def _tt_net(seed: int = 0):
    from tensornet.nn import Flatten, Linear, ReLU, Sequential
    from tensornet.nn.factorized.tt import TTLinear

    return Sequential(
        Flatten(),
        TTLinear(784, 625, 8, in_modes=TT_IN, out_modes=TT_OUT, random_state=seed),
        ReLU(),
        Linear(625, 10, random_state=seed + 1),
    )  # fmt: skip


def worker_epoch_ours(data: str, seed: int) -> dict[str, Any]:
    from tensornet import nn
    from tensornet.datasets import load_mnist

    (xtr, ytr), (xte, yte) = load_mnist(data, download=False, verbose=False)
    model = _tt_net()
    warm = _tt_net()
    opt = nn.SGD(warm.params, lr=EPOCH_LR, momentum=EPOCH_MOMENTUM)
    nn.fit(warm, nn.cross_entropy, opt, (xtr[:2048], ytr[:2048]), random_state=seed)
    opt = nn.SGD(model.params, lr=EPOCH_LR, momentum=EPOCH_MOMENTUM)
    t, c = time.perf_counter(), time.process_time()
    nn.fit(model, nn.cross_entropy, opt, (xtr, ytr), batch_size=EPOCH_BATCH, random_state=seed)
    seconds, cpu = time.perf_counter() - t, time.process_time() - c
    acc = float(nn.evaluate(model, (xte, yte))["accuracy"])
    return {"epoch_s": seconds, "epoch_cpu_s": cpu, "test_accuracy": acc}


def worker_epoch_torch(data: str, seed: int, threads: int) -> dict[str, Any]:
    import numpy as np
    import torch

    from tensornet.datasets import load_mnist

    torch.set_num_threads(threads)
    (xtr, ytr), (xte, yte) = load_mnist(data, download=False, verbose=False)
    ours = _tt_net()
    init = {k: torch.from_numpy(v.copy()) for k, v in ours.params.items()}

    class TTNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.cores = torch.nn.ParameterList(
                [torch.nn.Parameter(init[f"1.core_{k}"].clone()) for k in range(4)]
            )
            self.b1 = torch.nn.Parameter(init["1.bias"].clone())
            self.fc = torch.nn.Linear(625, 10)
            with torch.no_grad():
                self.fc.weight.copy_(init["3.weight"].T)
                self.fc.bias.copy_(init["3.bias"])

        def forward(self, x):
            b = x.shape[0]
            h = torch.einsum(TT_EQ, x.reshape((b,) + TT_IN), *self.cores)
            h = torch.relu(h.reshape(b, 625) + self.b1)
            return self.fc(h)

    def run(model, x, y, n):
        opt = torch.optim.SGD(model.parameters(), lr=EPOCH_LR, momentum=EPOCH_MOMENTUM)
        order = np.random.default_rng(seed).permutation(n)
        xs = torch.from_numpy(x.reshape(len(x), -1))
        ys = torch.from_numpy(y)
        for i in range(0, n, EPOCH_BATCH):
            idx = torch.from_numpy(order[i : i + EPOCH_BATCH])
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(xs[idx]), ys[idx])
            loss.backward()
            opt.step()

    run(TTNet(), xtr, ytr, 2048)  # warm-up
    model = TTNet()
    t, c = time.perf_counter(), time.process_time()
    run(model, xtr, ytr, len(xtr))
    seconds, cpu = time.perf_counter() - t, time.process_time() - c
    with torch.no_grad():
        pred = model(torch.from_numpy(xte.reshape(len(xte), -1))).argmax(1).numpy()
    acc = float(np.mean(pred == yte))
    return {"epoch_s": seconds, "epoch_cpu_s": cpu, "test_accuracy": acc}


# ------------------------------------------------------------------------------ orchestration
def run_worker(spec: dict[str, Any]) -> dict[str, Any]:
    _limit_threads(spec["threads"])
    kind, case = spec["kind"], spec.get("case")
    batch, reps, threads = spec.get("batch"), spec.get("reps"), spec["threads"]
    if kind == "ours":
        return worker_ours(case, batch, reps, spec.get("mode", "factors"))
    if kind == "opt_einsum":
        return worker_opt_einsum(case, batch, reps)
    if kind == "torch":
        return worker_torch(case, batch, reps, threads)
    if kind == "dense_matmul":
        return worker_dense_matmul(batch, reps)
    if kind == "epoch_ours":
        return worker_epoch_ours(spec["data"], spec["seed"])
    if kind == "epoch_torch":
        return worker_epoch_torch(spec["data"], spec["seed"], threads)
    raise ValueError(f"unknown worker kind {kind!r}")


def measure(
    sides: dict[str, dict[str, Any]], rounds: int, peers: tuple[str, ...] = (), key: str = ""
) -> dict[str, Any]:
    """Every side in its own processes (``_fair.alternate``); the peers again alone.

    Returns per side the median over processes of every numeric field, ``<field>_best`` (the
    minimum over processes), ``<field>_spread`` and the ``_fair`` summary (``stats``, ``runs``,
    ``alone``).
    """
    threads = next(iter(sides.values()))["threads"]
    res = _fair.alternate(__file__, sides, rounds, threads, alone=peers, key=key or None)
    summary = {}
    for name, side in res.items():
        flat: dict[str, Any] = {}
        for k, v in side.items():
            if isinstance(v, dict) and "median" in v:
                flat[k] = v["median"]
                flat[f"{k}_best"] = v["min"]
                flat[f"{k}_spread"] = round(v["spread"], 3)
        flat["loaded"] = side["loaded"]
        if "alone" in side:
            flat["alone_over_alternating"] = round(side["alone_over_alternating"], 3)
            flat["alone"] = side["alone"]
        flat["processes"] = side["processes"]
        summary[name] = flat
    return summary


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else round(a / b, 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--reps", type=int, default=30)
    parser.add_argument("--parts", default="target,layers,epoch")
    parser.add_argument("--cases", default="tt_linear,tr_linear,tt_conv,tr_conv")
    parser.add_argument("--data", default=str(_default_data()))
    parser.add_argument("--output", default=str(RESULTS))
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(run_worker(json.loads(args.worker))))
        return

    common = {"threads": args.threads, "reps": args.reps}
    parts = set(args.parts.split(","))
    record: dict[str, Any] = {
        "command": "python benchmarks/bench_tt_layers.py " + " ".join(sys.argv[1:]),
        **_fair.run_record(args.threads, args.rounds),
        "reps": args.reps,
    }
    out_path = Path(args.output)
    if out_path.exists():
        previous = json.loads(out_path.read_text())
        record.update({k: previous[k] for k in ("target", "layers", "epoch") if k in previous})

    if "target" in parts:
        b = {"batch": 256, "case": "tt_linear", **common}
        s = measure(
            {
                "ours": {"kind": "ours", **b},
                "opt_einsum": {"kind": "opt_einsum", **b},
                "torch_einsum": {"kind": "torch", **b},
                "dense_matmul": {"kind": "dense_matmul", **b},
            },
            args.rounds,
            peers=("opt_einsum", "torch_einsum"),
            key="forward_ms",
        )
        best = min(s["opt_einsum"]["forward_ms"], s["torch_einsum"]["forward_ms"])
        best_min = min(s["opt_einsum"]["forward_min_ms"], s["torch_einsum"]["forward_min_ms"])
        record["target"] = {
            "case": "TTLinear 784 (4,7,4,7) -> 625 (5,5,5,5), rank 8, batch 256, float32",
            "sides": s,
            "forward_ms": {k: round(v["forward_ms"], 3) for k, v in s.items()},
            "forward_min_ms": {k: round(v["forward_min_ms"], 3) for k, v in s.items()},
            "ours_over_best_einsum": _ratio(s["ours"]["forward_ms"], best),
            "ours_over_best_einsum_min": _ratio(s["ours"]["forward_min_ms"], best_min),
            "forward_cpu_ms": {k: round(v["forward_cpu_ms"], 3) for k, v in s.items()},
            "ours_over_best_einsum_cpu": _ratio(
                s["ours"]["forward_cpu_ms"],
                min(s["opt_einsum"]["forward_cpu_ms"], s["torch_einsum"]["forward_cpu_ms"]),
            ),
        }

    if "layers" in parts:
        record.setdefault("layers", {})
        cases = args.cases.split(",")
        for case in cases:
            dense = "linear" if "linear" in case else "conv"
            b = {"batch": 128, "case": case, **common}
            sides = {
                "ours": {"kind": "ours", **b},
                "ours_dense_path": {"kind": "ours", "mode": "dense", **b},
                "dense_layer": {"kind": "ours", **{**b, "case": dense}},
                "torch": {"kind": "torch", **b},
            }
            if "linear" in case:
                sides["opt_einsum"] = {"kind": "opt_einsum", **b}
            s = measure(sides, args.rounds, peers=("torch",), key="fwd_bwd_ms")
            record["layers"][case] = {
                "sides": s,
                "forward_ms": {k: round(v["forward_ms"], 3) for k, v in s.items()},
                "fwd_bwd_ms": {
                    k: round(v["fwd_bwd_ms"], 3) for k, v in s.items() if "fwd_bwd_ms" in v
                },
                "fwd_bwd_min_ms": {
                    k: round(v["fwd_bwd_min_ms"], 3) for k, v in s.items() if "fwd_bwd_ms" in v
                },
                "fwd_bwd_ours_over_torch": _ratio(
                    s["ours"]["fwd_bwd_ms"], s["torch"]["fwd_bwd_ms"]
                ),
                "fwd_bwd_min_ours_over_torch": _ratio(
                    s["ours"]["fwd_bwd_min_ms"], s["torch"]["fwd_bwd_min_ms"]
                ),
                "forward_cpu_ms": {k: round(v["forward_cpu_ms"], 3) for k, v in s.items()},
                "fwd_bwd_cpu_ms": {
                    k: round(v["fwd_bwd_cpu_ms"], 3) for k, v in s.items() if "fwd_bwd_ms" in v
                },
                "fwd_bwd_cpu_ours_over_torch": _ratio(
                    s["ours"]["fwd_bwd_cpu_ms"], s["torch"]["fwd_bwd_cpu_ms"]
                ),
                "fwd_bwd_cpu_ours_over_dense": _ratio(
                    s["ours"]["fwd_bwd_cpu_ms"], s["dense_layer"]["fwd_bwd_cpu_ms"]
                ),
                "fwd_bwd_ours_over_dense": _ratio(
                    s["ours"]["fwd_bwd_ms"], s["dense_layer"]["fwd_bwd_ms"]
                ),
            }

    if "epoch" in parts:
        e = {"data": args.data, "seed": 0, "threads": args.threads}
        s = measure(
            {"ours": {"kind": "epoch_ours", **e}, "torch": {"kind": "epoch_torch", **e}},
            args.rounds,
            peers=("torch",),
            key="epoch_s",
        )
        record["epoch"] = {
            "case": "784 -> TT (4,7,4,7)x(5,5,5,5) rank 8 -> ReLU -> 625 -> 10, full MNIST, "
            "batch 128, SGD 0.05 momentum 0.9, float32; ours through nn.fit",
            "sides": s,
            "epoch_s": {k: round(v["epoch_s"], 3) for k, v in s.items()},
            "epoch_best_s": {k: round(v["epoch_s_best"], 3) for k, v in s.items()},
            "test_accuracy": {k: v["test_accuracy"] for k, v in s.items()},
            "ours_over_torch": _ratio(s["ours"]["epoch_s"], s["torch"]["epoch_s"]),
            "ours_over_torch_best": _ratio(s["ours"]["epoch_s_best"], s["torch"]["epoch_s_best"]),
            "epoch_cpu_s": {k: round(v["epoch_cpu_s"], 3) for k, v in s.items()},
            "ours_over_torch_cpu": _ratio(s["ours"]["epoch_cpu_s"], s["torch"]["epoch_cpu_s"]),
        }

    _fair.finish_record(record)
    _fair.write_json(out_path, record)
    short = {k: v for k, v in record.items() if k not in ("target", "layers", "epoch")}
    for part in ("target", "layers", "epoch"):
        if part in record:
            short[part] = _strip_runs(record[part])
    print(json.dumps(short, indent=1))


def _strip_runs(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {
            k: _strip_runs(v) for k, v in obj.items() if k not in ("processes", "sides", "alone")
        }
    return obj


if __name__ == "__main__":
    main()
