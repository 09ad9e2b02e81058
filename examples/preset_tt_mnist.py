"""Pre-set training: MNIST networks with a TT first layer trained from scratch.

Two experiments (issue 10; Novikov et al. 2015; the t3f tutorial's setup):

1. ``784 -> TT (4,7,4,7) x (5,5,5,5) rank 8 -> ReLU -> 625 -> 10``, He-initialized TT cores
   (survey Sec. II-B.2), Adam lr 1e-3 (constant), batch 128.
2. A network whose first layer has about 1,100 weights: ``784 -> TT (7,4,7,4) x (5,5,5,5)
   rank 4 -> ReLU -> 625 -> 10`` (1,100 TT weights, Glorot init), inputs scaled to [-1, 1], Adam
   lr 1e-2, batch 64, 3 epochs (t3f's tutorial reports 96.4 % with this budget, at a constant
   rate; here the rate decays by a cosine over the 3 epochs, which steadies the last epoch).
   Target: >= 96 % test accuracy.

Run with ``python examples/preset_tt_mnist.py [--data ../shared/data/mnist] [--epochs 3]
[--experiments 1,2]``;
prints the parameter counts and the test accuracy after every epoch.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

from tensornet import nn
from tensornet.datasets import load_mnist
from tensornet.nn.factorized.tt import TTLinear


def tt_network(in_modes, ranks, init, seed):
    """``Flatten -> TTLinear(784, 625) -> ReLU -> Linear(625, 10)``."""
    return nn.Sequential(
        ("flat", nn.Flatten()),
        (
            "tt",
            TTLinear(
                784,
                625,
                ranks,
                in_modes=in_modes,
                out_modes=(5, 5, 5, 5),
                init=init,
                random_state=seed,
            ),
        ),
        ("relu", nn.ReLU()),
        ("fc", nn.Linear(625, 10, random_state=seed + 1)),
    )


def train(name, model, optimizer, train_data, test_data, epochs, batch_size, seed):
    """Fit ``epochs`` epochs, printing the test accuracy after each; returns the accuracies."""
    core_weights = sum(v.size for k, v in model.params.items() if k.startswith("tt.core"))
    print(f"{name}: {core_weights} TT weights, {model.n_params} parameters in all")
    accuracies = []
    for epoch in range(epochs):
        history = nn.fit(model, nn.cross_entropy, optimizer, train_data, batch_size=batch_size,
                         random_state=seed + epoch)  # fmt: skip
        acc = float(nn.evaluate(model, test_data)["accuracy"])
        accuracies.append(acc)
        seconds = history.history["seconds"][-1]
        print(f"  epoch {epoch + 1}: test accuracy {100 * acc:.2f} % ({seconds:.1f} s)")
    return accuracies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default="/work/shared/data/mnist")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--experiments", default="1,2")
    parser.add_argument("--quick", action="store_true", help="6,000 training images, 1 epoch")
    parser.add_argument("--out", default=None, help="JSON record")
    args = parser.parse_args()
    record = {"command": "python " + " ".join(sys.argv), "loadavg_start": os.getloadavg()}
    (xtr, ytr), (xte, yte) = load_mnist(args.data, download=False)
    if args.quick:
        (xtr, ytr), args.epochs = (xtr[:6000], ytr[:6000]), 1
    runs = args.experiments.split(",")
    cosine = nn.CosineLR(args.epochs, min_factor=0.02)

    if "1" in runs:
        model = tt_network((4, 7, 4, 7), 8, "he", args.seed)
        optimizer = nn.Adam(model.params, lr=1e-3)
        acc = train("784 -> TT rank 8 -> ReLU -> 625 -> 10", model, optimizer, (xtr, ytr),
                    (xte, yte), args.epochs, 128, args.seed)  # fmt: skip
        record["tt_rank8"] = {
            "tt_weights": _tt_weights(model),
            "params": model.n_params,
            "protocol": f"He init, Adam lr 1e-3 constant, batch 128, {args.epochs} epochs",
            "test_accuracy_by_epoch": acc,
        }
    if "2" in runs:
        _small(args, xtr, ytr, xte, yte, cosine, record)
    record["loadavg_end"] = os.getloadavg()
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(record, indent=1))


def _tt_weights(model) -> int:
    return sum(v.size for k, v in model.params.items() if k.startswith("tt.core"))


def _small(args, xtr, ytr, xte, yte, cosine, record) -> None:
    """Experiment 2: the network with about 1,100 TT weights, 3 epochs of Adam."""
    scale = lambda x: (2.0 * x - 1.0).astype(np.float32)  # noqa: E731 - [0, 1] -> [-1, 1]
    model = tt_network((7, 4, 7, 4), 4, "glorot", args.seed)
    optimizer = nn.Adam(model.params, lr=1e-2, schedule=cosine)
    acc = train("784 -> TT rank 4 (about 1,100 weights) -> ReLU -> 625 -> 10", model, optimizer,
                (scale(xtr), ytr), (scale(xte), yte), args.epochs, 64, args.seed)  # fmt: skip
    verdict = "meets" if acc[-1] >= 0.96 else "misses"
    print(f"  final {100 * acc[-1]:.2f} % {verdict} the 96 % target")
    record["tt_1100"] = {
        "tt_weights": _tt_weights(model),
        "params": model.n_params,
        "protocol": f"Glorot init, inputs in [-1, 1], Adam lr 1e-2 cosine, batch 64, "
        f"{args.epochs} epochs",
        "test_accuracy_by_epoch": acc,
    }


if __name__ == "__main__":
    main()
