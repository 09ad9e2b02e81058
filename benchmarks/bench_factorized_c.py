"""Forward and forward+backward time of HTLinear, KPLinear, STTLinear and GKPConv2d vs dense.

Every factorized layer is timed at batch 128 in float32 on its factor path and on its dense
path (rebuild the weight, one GEMM / convolution), next to the dense layer of the same size
(:class:`~tensornet.nn.Linear` / :class:`~tensornet.nn.Conv2d`). "fwd+bwd" is one
``value_and_grad`` of ``sum(layer(x) * probe)`` with respect to all parameters (the input is
data). For the linear layers the factor contraction is also timed with ``opt_einsum`` (numpy
backend, path computed once with ``contract_expression``, forward only) and with
``torch.einsum`` (PyTorch CPU, one thread, forward and forward+backward) on the same operands:
the best einsums on the same contraction. BLAS and Numba are limited to one thread. Fair
protocol (``benchmarks/_fair.py``): tensornet, ``opt_einsum`` and PyTorch each run in their own
processes (the tensornet variants of a case together, alternating within the process), the
processes alternate over ``--rounds`` rounds, the peers are re-measured alone; each process
warms up and reports the median of ``--repeats`` calls, and the figure is the median over
processes. The record keeps the multiply-add counts of each path (``flops``), the BLAS report
and the load average before and after.

Cases: the 784 -> 625 layer of the t3f MNIST tutorial with modes ``(4, 7, 4, 7) x (5, 5, 5, 5)``
(HT rank 8, STT ranks 16 with ``t = 2`` (reduced TT ranks 8), KP ``(28, 25) ⊗ (28, 25)`` rank 4)
and LeNet-5's second convolution 20 -> 50, 5x5 on 12x12 maps (GKP ``(10, 4, 5, 1) ⊗
(5, 5, 1, 5)``, rank 4).

Usage::

    python benchmarks/bench_factorized_c.py [--repeats 7] [--rounds 3] [--quick]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import statistics
import string
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))
import _fair  # noqa: E402
import numpy as np  # noqa: E402
import threadpoolctl  # noqa: E402

from tensornet.nn import Conv2d, Linear, value_and_grad  # noqa: E402
from tensornet.nn.factorized.ht import HTLinear  # noqa: E402
from tensornet.nn.factorized.kron import GKPConv2d, KPLinear  # noqa: E402
from tensornet.nn.factorized.stt import STTLinear  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "factorized_c.json"
BATCH = 128


def time_alternating(funcs: dict[str, Callable[[], Any]], repeats: int) -> dict[str, float]:
    """Median seconds per call of each function: one warm-up, then rotating rounds.

    Parameters
    ----------
    funcs : dict of str to callable
        Zero-argument callables.
    repeats : int
        Number of rounds.

    Returns
    -------
    dict of str to float
    """
    for f in funcs.values():
        f()
    times: dict[str, list[float]] = {name: [] for name in funcs}
    names = list(funcs)
    for r in range(repeats):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            start = time.perf_counter()
            funcs[name]()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(ts) for name, ts in times.items()}


def forward_backward(layer: Any, x: np.ndarray, path: str | None) -> tuple[Callable, Callable]:
    """Zero-argument forward and forward+backward callables of ``layer`` on ``x``.

    Parameters
    ----------
    layer : Module
        The layer (its ``mode`` is set to ``path`` when given).
    x : numpy.ndarray
        Input batch.
    path : {"factors", "dense"} or None
        Forced path of a factorized layer; ``None`` for a dense layer.

    Returns
    -------
    (callable, callable)
    """
    if path is not None:
        layer.mode = path
    params = layer.params
    probe = np.random.default_rng(0).standard_normal(layer.apply(params, x).shape)
    probe = probe.astype(np.float32)

    def loss(p):
        return (layer.apply(p, x) * probe).sum()

    grad = value_and_grad(loss)
    return (lambda: layer.apply(params, x)), (lambda: grad(params))


def einsum_peer(layer: Any, x: np.ndarray) -> Callable[[], Any] | None:
    """``opt_einsum`` forward of the layer's factor network, path computed once.

    Parameters
    ----------
    layer : HTLinear, KPLinear or STTLinear
        The layer; its network labels give the einsum subscripts.
    x : numpy.ndarray
        Input batch ``(B, N)``.

    Returns
    -------
    callable or None
        ``None`` when ``opt_einsum`` is not installed.
    """
    try:
        import opt_einsum
    except ImportError:
        return None
    net = layer._net
    letters: dict[Any, str] = {}
    for labels in [*net.operands, net.output]:
        for lab in labels:
            letters.setdefault(lab, string.ascii_letters[len(letters)])
    spec = ",".join("".join(letters[lab] for lab in ops) for ops in net.operands)
    spec += "->" + "".join(letters[lab] for lab in net.output)
    params = layer.params
    if isinstance(layer, STTLinear):
        factors = [np.ascontiguousarray(f) for f in layer._tt_cores(params)]
    elif isinstance(layer, KPLinear):
        factors = [params["a"], params["b"]]
    else:
        factors = [params[name] for name in layer._names]
    xt = x.reshape(x.shape[0], *[net.sizes[lab] for lab in net.operands[0][1:]])
    expr = opt_einsum.contract_expression(spec, xt.shape, *[f.shape for f in factors])
    return lambda: expr(xt, *factors)


def torch_peer(layer: Any, x: np.ndarray) -> tuple[Callable, Callable] | None:
    """``torch.einsum`` forward and forward+backward of the layer's factor network (1 thread).

    Parameters
    ----------
    layer : HTLinear, KPLinear or STTLinear
        The layer; its network labels give the einsum subscripts.
    x : numpy.ndarray
        Input batch ``(B, N)``.

    Returns
    -------
    (callable, callable) or None
        ``None`` when ``torch`` is not installed.
    """
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    net = layer._net
    letters: dict[Any, str] = {}
    for labels in [*net.operands, net.output]:
        for lab in labels:
            letters.setdefault(lab, string.ascii_letters[len(letters)])
    spec = ",".join("".join(letters[lab] for lab in ops) for ops in net.operands)
    spec += "->" + "".join(letters[lab] for lab in net.output)
    params = layer.params
    if isinstance(layer, STTLinear):
        factors = [np.ascontiguousarray(f) for f in layer._tt_cores(params)]
    elif isinstance(layer, KPLinear):
        factors = [params["a"], params["b"]]
    else:
        factors = [params[name] for name in layer._names]
    xt = torch.from_numpy(x.reshape(x.shape[0], *[net.sizes[lab] for lab in net.operands[0][1:]]))
    ws = [torch.tensor(f, requires_grad=True) for f in factors]
    probe = torch.from_numpy(
        np.random.default_rng(0)
        .standard_normal([x.shape[0]] + [net.sizes[l] for l in net.output[1:]])
        .astype(np.float32)
    )

    def fwd():
        with torch.no_grad():
            return torch.einsum(spec, xt, *ws)

    def fwd_bwd():
        for w in ws:
            w.grad = None
        (torch.einsum(spec, xt, *ws) * probe).sum().backward()

    return fwd, fwd_bwd


def _case(name: str):
    """The layer, its dense counterpart and the input batch of case ``name`` (seeded)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH, 784)).astype(np.float32)
    ins, outs = (4, 7, 4, 7), (5, 5, 5, 5)
    if name == "ht_784x625_rank8":
        return (
            HTLinear(784, 625, 8, in_modes=ins, out_modes=outs, random_state=0),
            Linear(784, 625, random_state=0),
            x,
        )
    if name == "stt_784x625_rank16_t2":
        layer = STTLinear(784, 625, 16, t=2, in_modes=ins, out_modes=outs, random_state=0)
        return layer, Linear(784, 625, random_state=0), x
    if name == "kp_784x625_rank4":
        layer = KPLinear(784, 625, a_shape=(28, 25), rank=4, random_state=0)
        return layer, Linear(784, 625, random_state=0), x
    xc = rng.standard_normal((BATCH, 20, 12, 12)).astype(np.float32)
    gkp = GKPConv2d(20, 50, 5, a_shape=(10, 4, 5, 1), rank=4, random_state=0)
    return gkp, Conv2d(20, 50, 5, random_state=0), xc


CASES = ("ht_784x625_rank8", "stt_784x625_rank16_t2", "kp_784x625_rank4",
         "gkp_conv_20x50_5x5_rank4")  # fmt: skip


def run_worker(spec: dict[str, Any]) -> dict[str, Any]:
    """One process: the tensornet variants (alternating), ``opt_einsum`` or ``torch.einsum``."""
    _fair.limit_threads(1, torch=spec["side"] == "torch")
    layer, dense, x = _case(spec["case"])
    funcs: dict[str, Callable[[], Any]] = {}
    if spec["side"] == "ours":
        funcs["factors_fwd"], funcs["factors_fwd_bwd"] = forward_backward(layer, x, "factors")
        dense_path = copy.copy(layer)  # shares the parameters, its own mode
        funcs["dense_path_fwd"], funcs["dense_path_fwd_bwd"] = forward_backward(
            dense_path, x, "dense"
        )
        funcs["dense_layer_fwd"], funcs["dense_layer_fwd_bwd"] = forward_backward(dense, x, None)
    elif spec["side"] == "opt_einsum":
        funcs["opt_einsum_fwd"] = einsum_peer(layer, x)
    else:
        funcs["torch_einsum_fwd"], funcs["torch_einsum_fwd_bwd"] = torch_peer(layer, x)
    seconds = time_alternating(funcs, spec["repeats"])
    return {k: 1e3 * v for k, v in seconds.items()}


def run_case(name: str, repeats: int, rounds: int) -> dict[str, Any]:
    """Time one factorized layer against its dense counterpart and the einsum peers.

    Parameters
    ----------
    name : str
        Case name (one of :data:`CASES`).
    repeats : int
        Timed rounds inside each process.
    rounds : int
        Alternating process rounds.

    Returns
    -------
    dict
    """
    layer, dense, x = _case(name)
    sides = {"ours": {"side": "ours", "case": name, "repeats": repeats}}
    peers: tuple[str, ...] = ()
    if x.ndim == 2:
        sides["opt_einsum"] = {"side": "opt_einsum", "case": name, "repeats": repeats}
        sides["torch"] = {"side": "torch", "case": name, "repeats": repeats}
        peers = ("opt_einsum", "torch")
    res = _fair.alternate(__file__, sides, rounds, 1, alone=peers)
    timed = {
        k: v
        for side in res.values()
        for k, v in side.items()
        if isinstance(v, dict) and "median" in v and k.endswith(("_fwd", "_fwd_bwd"))
    }
    ms = {k: round(v["median"], 3) for k, v in timed.items()}
    spread = {k: round(v["spread"], 3) for k, v in timed.items()}
    row = {
        "case": name,
        "layer": repr(layer),
        "batch": int(x.shape[0]),
        "n_params": int(layer.n_params),
        "dense_n_params": int(dense.n_params),
        "flops": {
            "factors": layer.flops(x.shape, path="factors"),
            "dense_path": layer.flops(x.shape, path="dense"),
            "auto_path": layer.path(x.shape),
        },
        "ms": ms,
        "spread": spread,
        "ratio_factors_over_dense_layer_fwd_bwd": round(
            ms["factors_fwd_bwd"] / ms["dense_layer_fwd_bwd"], 3
        ),
        "ratio_factors_over_dense_layer_fwd": round(ms["factors_fwd"] / ms["dense_layer_fwd"], 3),
        "loaded": any(side["loaded"] for side in res.values()),
    }
    if peers:
        row["ratio_factors_over_opt_einsum_fwd"] = round(
            ms["factors_fwd"] / ms["opt_einsum_fwd"], 3
        )
        row["ratio_factors_over_torch_einsum_fwd_bwd"] = round(
            ms["factors_fwd_bwd"] / ms["torch_einsum_fwd_bwd"], 3
        )
        row["ratio_factors_over_best_einsum_fwd"] = round(
            ms["factors_fwd"] / min(ms["opt_einsum_fwd"], ms["torch_einsum_fwd"]), 3
        )
        row["peer_alone_over_alternating"] = {
            "opt_einsum_fwd": round(
                res["opt_einsum"]["alone"]["opt_einsum_fwd"]["median"] / ms["opt_einsum_fwd"], 3
            ),
            "torch_einsum_fwd_bwd": round(
                res["torch"]["alone"]["torch_einsum_fwd_bwd"]["median"]
                / ms["torch_einsum_fwd_bwd"],
                3,
            ),
        }
    print(json.dumps(row), flush=True)
    return row


def main(argv: list[str] | None = None) -> dict[str, Any] | None:
    """Run the benchmark and write ``results/factorized_c.json``.

    Parameters
    ----------
    argv : list of str, optional
        Command-line arguments.

    Returns
    -------
    dict
        The record written.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=3, help="alternating process rounds")
    parser.add_argument("--quick", action="store_true", help="3 repeats, 1 round, a smoke run")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(run_worker(json.loads(args.worker))))
        return None
    repeats = 3 if args.quick else args.repeats
    rounds = 1 if args.quick else args.rounds
    load_before = os.getloadavg()
    rows = [run_case(name, repeats, rounds) for name in CASES]
    with threadpoolctl.threadpool_limits(1):
        pools = threadpoolctl.threadpool_info()
    doc = {
        "benchmark": "factorized_c",
        "description": __doc__.split("\n\n")[0],
        "command": "python benchmarks/bench_factorized_c.py " + " ".join(sys.argv[1:]),
        "protocol": _fair.PROTOCOL,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "machine": platform.machine(),
        "repeats": repeats,
        "rounds": rounds,
        "threadpoolctl": pools,
        "load_average_before": list(load_before),
        "load_average_after": list(os.getloadavg()),
        "rows": rows,
    }
    doc["loaded"] = max(load_before[0], doc["load_average_after"][0]) > _fair.LOADED or any(
        r["loaded"] for r in rows
    )
    _fair.write_json(RESULTS, doc)
    return doc


if __name__ == "__main__":
    main()
