"""Train LeNet-300-100 or LeNet-5 on MNIST in plain NumPy with tensornet.nn.

Usage::

    python examples/train_lenet_mnist.py                          # LeNet-300-100, bundled subset
    python examples/train_lenet_mnist.py --data ../shared/data/mnist --epochs 20
    python examples/train_lenet_mnist.py --model lenet5 --data ../shared/data/mnist --epochs 10
    python examples/train_lenet_mnist.py --data ../shared/data/mnist --epochs 20 \
        --history docs/data/train_lenet300_100_history.json    # the curve of the guide page

Without ``--data`` (and without ``$TENSORNET_DATA``) the 6,000/1,000-image subset bundled with
tensornet is used. The run uses SGD with momentum 0.9 and a cosine learning-rate schedule,
saves a checkpoint (``.npz`` + JSON) after every epoch, and reloads the last one to check that
it reproduces the test accuracy.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from tensornet import nn
from tensornet.datasets import load_mnist


def main() -> None:
    """Parse the options, train, evaluate, and round-trip the checkpoint."""
    ap = argparse.ArgumentParser(description="Train LeNet on MNIST with tensornet.nn")
    ap.add_argument("--model", choices=["lenet300_100", "lenet5"], default="lenet300_100")
    ap.add_argument("--data", default=None, help="folder with the MNIST IDX files")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--history", default=None, help="write the History as JSON to this file")
    args = ap.parse_args()
    load_start = os.getloadavg()

    (x_train, y_train), (x_test, y_test) = load_mnist(args.data, download=False)
    model = getattr(nn, args.model)(random_state=args.seed)
    optimizer = nn.SGD(model.params, lr=args.lr, momentum=0.9, schedule=nn.CosineLR(args.epochs))
    checkpoint = Path(tempfile.mkdtemp()) / f"{args.model}.npz"
    history = nn.fit(
        model,
        nn.cross_entropy,
        optimizer,
        (x_train, y_train),
        epochs=args.epochs,
        batch_size=128,
        val_data=(x_test, y_test),
        callbacks=[nn.Checkpoint(checkpoint, model, optimizer)],
        random_state=args.seed,
        verbose=True,
    )
    accuracy = nn.evaluate(model, (x_test, y_test))["accuracy"]
    print(f"{args.model}: {model.n_params} parameters, test accuracy {100 * accuracy:.2f}%")
    print(f"best epoch: {max(history['val_accuracy']):.4f}; checkpoint: {checkpoint}")

    if args.history:
        _write_history(Path(args.history), args, history, load_start)

    restored = getattr(nn, args.model)(random_state=args.seed + 1)
    nn.load_checkpoint(checkpoint, restored)
    again = nn.evaluate(restored, (x_test, y_test))["accuracy"]
    print(f"reloaded checkpoint: test accuracy {100 * again:.2f}% (identical: {again == accuracy})")


def _write_history(path: Path, args: argparse.Namespace, history: nn.History, load_start) -> None:
    """The run's command, protocol and per-epoch History as JSON, written atomically."""
    payload = {
        "command": "python examples/train_lenet_mnist.py " + " ".join(sys.argv[1:]),
        "protocol": {
            "model": args.model,
            "epochs": args.epochs,
            "optimizer": f"SGD lr {args.lr}, momentum 0.9, cosine schedule, batch 128",
            "seed": args.seed,
            "data": "full MNIST" if args.data else "bundled 6,000/1,000-image subset",
        },
        "loadavg_start": list(load_start),
        "loadavg_end": list(os.getloadavg()),
        "history": history.as_dict(),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2) + "\n")
    tmp.replace(path)


if __name__ == "__main__":
    main()
