"""Pre-train compression of LeNet on MNIST: train dense, decompose, fine-tune, tabulate.

Usage::

    python examples/pretrain_lenet.py --data ../shared/data/mnist
    python examples/pretrain_lenet.py --data ../shared/data/mnist --model lenet5 \\
        --methods cp tucker2 tt tr gkpd --epochs 4
    python examples/pretrain_lenet.py --weights lenet.safetensors --mapping 1=fc1 3=fc2 5=fc3

The dense network is trained first (or loaded from a PyTorch-style state dict with
``--weights``). Then, for every method and every compression ratio, the decomposed layers are
cut to ``1 / ratio`` of their parameters by the budget minimax
(:func:`tensornet.compress.decompose.decompose`). Each copy is fine-tuned, and the script prints
a Markdown table of accuracy before and after fine-tuning and writes the rows as JSON
(``--out``).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from tensornet import nn
from tensornet.compress import decompose
from tensornet.datasets import load_mnist
from tensornet.nn.weights import load_weights, save_weights

#: Layers decomposed: ``fc1`` and ``fc2`` of LeNet-300-100 (``fc3``, 1,010 parameters, stays
#: dense: cutting the classifier costs accuracy for almost no saving), and all but the last layer
#: of LeNet-5.
LAYERS = {
    "lenet300_100": ["fc1", "fc2"],
    "lenet5": ["conv1", "conv2", "fc1", "fc2"],
}
#: GKPD needs the shape of its first Kronecker factor: ``(F_1, C_1, kh_1, kw_1)`` dividing the
#: kernel, here a ``5 x 1`` factor times a ``1 x 5`` one.
LAYER_OPTIONS = {
    "gkpd": {"conv1": {"a_shape": (3, 1, 5, 1)}, "conv2": {"a_shape": (4, 3, 5, 1)}},
}
#: Extra options of a method's conversion, for every layer (see :func:`decompose`): none by
#: default; ``--btd-sweeps`` caps the ALS sweeps of BTD.
METHOD_OPTIONS: dict[str, dict] = {}
#: Methods that only apply to one layer type keep to those layers.
LINEAR_ONLY = {"ht", "kpd", "stt"}
CONV_ONLY = {"cp", "tucker2", "gkpd"}


def layers_for(model_name: str, method: str) -> list[str]:
    """The layers of ``model_name`` that ``method`` decomposes."""
    names = LAYERS[model_name]
    if method in LINEAR_ONLY:
        return [n for n in names if n.startswith("fc")]
    if method in CONV_ONLY:
        return [n for n in names if n.startswith("conv")]
    return names


def train_dense(args, train) -> nn.Module:
    """Train the dense model with SGD + momentum and a cosine schedule (or load ``--weights``).

    The schedule is fixed in advance (``--epochs``, ``--lr``); the test set is not looked at
    during training.
    """
    model = getattr(nn, args.model)(random_state=args.seed)
    if args.weights:
        mapping = dict(item.split("=", 1) for item in args.mapping) if args.mapping else None
        return load_weights(model, args.weights, mapping=mapping)
    optimizer = nn.SGD(model.params, lr=args.lr, momentum=0.9, schedule=nn.CosineLR(args.epochs))
    nn.fit(
        model,
        nn.cross_entropy,
        optimizer,
        train,
        epochs=args.epochs,
        batch_size=128,
        random_state=args.seed,
        progress=False,
        verbose=True,
    )
    if args.save_dense:
        save_weights(model, args.save_dense)
    return model


def fine_tune(model: nn.Module, train, args) -> None:
    """A short Adam run with a cosine schedule from ``--ft-lr``.

    Adam rather than SGD: a TT-SVD leaves orthonormal cores next to one core holding the whole
    norm, and plain SGD at the dense network's learning rate diverges on such a badly scaled
    parametrization (t3f's tutorial also fine-tunes with Adam).
    """
    optimizer = nn.Adam(model.params, lr=args.ft_lr, schedule=nn.CosineLR(args.ft_epochs))
    nn.fit(
        model,
        nn.cross_entropy,
        optimizer,
        train,
        epochs=args.ft_epochs,
        batch_size=128,
        random_state=args.seed,
        progress=False,
    )


def compress_one(job) -> dict | None:
    """Decompose the dense model by ``method`` at ``ratio``, fine-tune, evaluate: one row."""
    args, method, ratio, dense, dense_acc, train, test = job
    layers = layers_for(args.model, method)
    decomposed_params = sum(dense[name].n_params for name in layers)
    # the whole model shrinks by `ratio`; the layers kept dense count against it. When they
    # alone exceed that (conv-only formats on LeNet-5), the ratio applies to the decomposed
    # layers.
    budget = int(dense.n_params / ratio) - (dense.n_params - decomposed_params)
    if budget <= 0:
        budget = int(decomposed_params / ratio)
    t0 = time.perf_counter()
    try:
        small, report = decompose(
            dense,
            method,
            budget=budget,
            layers=layers,
            random_state=args.seed,
            layer_options=LAYER_OPTIONS.get(method),
            **METHOD_OPTIONS.get(method, {}),
        )
    except (ImportError, ValueError, TypeError) as exc:
        print(f"{method} 1/{ratio:g}: skipped ({exc})", flush=True)
        return None
    seconds_decompose = time.perf_counter() - t0
    before = nn.evaluate(small, test)["accuracy"]
    try:
        fine_tune(small, train, args)
        after = nn.evaluate(small, test)["accuracy"]
    except FloatingPointError as exc:
        print(f"{method} 1/{ratio:g}: fine-tuning diverged ({exc})", flush=True)
        after = float("nan")
    decomposed = [r.name for r in report.layers]
    row = {
        "model": args.model,
        "budget": budget,
        "method": method,
        "method_options": METHOD_OPTIONS.get(method, {}),
        "target_ratio": ratio,
        "layers": decomposed,
        "ranks": {r.name: _plain(r.ranks) for r in report.layers},
        "layer_errors": {r.name: r.relative_error for r in report.layers},
        "layer_params_before": sum(r.params_before for r in report.layers),
        "layer_params_after": sum(r.params_after for r in report.layers),
        "model_params_before": report.model_params_before,
        "model_params_after": report.model_params_after,
        "minimax_eps": report.eps,
        "dense_accuracy": dense_acc,
        "accuracy_before": before,
        "accuracy_after": after,
        "fine_tune_epochs": args.ft_epochs,
        "seconds_decompose": seconds_decompose,
        "seconds_total": time.perf_counter() - t0,
    }
    print(
        f"{method:8s} 1/{ratio:<3g} {row['layer_params_after']:>7,} params "
        f"({row['layer_params_before'] / row['layer_params_after']:.1f}x on "
        f"{','.join(decomposed)}), ranks {row['ranks']}, {100 * before:.2f}% -> "
        f"{100 * after:.2f}% "
        f"[decompose {seconds_decompose:.0f} s, total {row['seconds_total']:.0f} s]",
        flush=True,
    )
    return row


def run(args) -> list[dict]:
    """Train (or load), then decompose, fine-tune and evaluate every method at every ratio."""
    train, test = load_mnist(args.data, download=False)
    start = time.perf_counter()
    if args.quick:
        train, test = (train[0][:6000], train[1][:6000]), (test[0][:2000], test[1][:2000])
    dense = train_dense(args, train)
    dense_acc = nn.evaluate(dense, test)["accuracy"]
    print(f"dense {args.model}: {dense.n_params:,} parameters, accuracy {100 * dense_acc:.2f}%")
    with tempfile.TemporaryDirectory() as tmp:  # the PyTorch-style round trip, for the record
        path = save_weights(dense, Path(tmp) / "dense.npz")
        reloaded = load_weights(getattr(nn, args.model)(random_state=1), path)
        assert nn.evaluate(reloaded, test)["accuracy"] == dense_acc
    jobs = [(args, method, ratio, dense, dense_acc, train, test)
            for method in args.methods for ratio in args.ratios]  # fmt: skip
    rows: list[dict] = []
    if args.jobs > 1 and len(jobs) > 1:
        with multiprocessing.get_context("fork").Pool(min(args.jobs, len(jobs))) as pool:
            for row in pool.imap_unordered(compress_one, jobs):
                rows.append(row)
                write_record(args, rows)
    else:
        for job in jobs:
            rows.append(compress_one(job))
            write_record(args, rows)
    order = {(m, r): i for i, (_, m, r, *_rest) in enumerate(jobs)}
    rows = sorted(
        (r for r in rows if r is not None), key=lambda r: order[r["method"], r["target_ratio"]]
    )
    print(f"total {time.perf_counter() - start:.0f} s")
    return rows


def _plain(ranks):
    return int(ranks) if np.ndim(ranks) == 0 else [int(r) for r in np.ravel(ranks)]


def markdown(rows: list[dict]) -> str:
    """The results as a Markdown table."""
    lines = [
        "| model | method | layers | ranks | weights (layers) | ratio (layers) | ratio (model) "
        "| acc. before FT | acc. after FT | dense |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ranks = "; ".join(
            f"{k}: {v if isinstance(v, int) else '-'.join(map(str, v))}"
            for k, v in r["ranks"].items()
        )
        lines.append(
            f"| {r['model']} | {r['method']} | {', '.join(r['layers'])} | {ranks} | "
            f"{r['layer_params_after']:,} | "
            f"{r['layer_params_before'] / r['layer_params_after']:.1f}x | "
            f"{r['model_params_before'] / r['model_params_after']:.1f}x | "
            f"{100 * r['accuracy_before']:.2f}% | {100 * r['accuracy_after']:.2f}% | "
            f"{100 * r['dense_accuracy']:.2f}% |"
        )
    return "\n".join(lines)


def main() -> None:
    """Parse the options, run, print the table and write the JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", choices=sorted(LAYERS), default="lenet300_100")
    ap.add_argument("--data", default=None, help="folder with the MNIST IDX files")
    ap.add_argument("--weights", default=None, help="PyTorch-style .npz/.safetensors to load")
    ap.add_argument("--mapping", nargs="*", default=None, help="file=model prefix renames")
    ap.add_argument("--methods", nargs="+", default=["svd", "tt", "tr", "ht", "btd", "kpd"])
    ap.add_argument("--ratios", nargs="+", type=float, default=[10.0, 30.0])
    ap.add_argument("--epochs", type=int, default=10, help="dense training epochs")
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--ft-epochs", type=int, default=5)
    ap.add_argument("--ft-lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None, help="JSON file for the rows")
    ap.add_argument("--btd-sweeps", type=int, default=None, help="cap on BTD's ALS sweeps")
    ap.add_argument("--save-dense", default=None, help="write the trained dense weights (.npz)")
    ap.add_argument("--jobs", type=int, default=1, help="(method, ratio) runs in parallel")
    ap.add_argument("--quick", action="store_true", help="6,000 images, 1 epoch each")
    args = ap.parse_args()
    if args.quick:
        args.epochs, args.ft_epochs = 1, 1
    if args.btd_sweeps:
        METHOD_OPTIONS["btd"] = {"n_iter_max": args.btd_sweeps}
    rows = run(args)
    print(markdown(rows))
    write_record(args, rows)


_LOAD_START = os.getloadavg()


def write_record(args, rows: list[dict | None]) -> None:
    """Write the JSON record of the rows so far to ``--out`` (rewritten after every row)."""
    if not args.out:
        return
    record = {
        "command": "python " + " ".join(sys.argv),
        "args": vars(args),
        "protocol": {
            "dense": f"loaded from {args.weights}"
            if args.weights
            else f"SGD momentum 0.9, lr {args.lr}, cosine, {args.epochs} epochs, batch 128, all "
            "training images; the test set is not used to choose anything",
            "fine_tune": f"Adam lr {args.ft_lr}, cosine, {args.ft_epochs} epochs, batch 128",
            "ranks": "budget minimax of decompose (largest common rank for CP and BTD)",
        },
        "loadavg_start": _LOAD_START,
        "loadavg_end": os.getloadavg(),
        "rows": [r for r in rows if r is not None],
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(str(args.out) + ".tmp")
    tmp.write_text(json.dumps(record, indent=1))
    os.replace(tmp, args.out)


if __name__ == "__main__":
    main()
