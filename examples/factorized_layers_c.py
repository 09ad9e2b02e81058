"""Hierarchical Tucker, Kronecker and semi-tensor-train layers: pre-set and pre-train.

Three parts:

1. **Costs.** Each layer at a LeNet-sized shape: parameters, multiply-adds of the factor path
   and of the dense path at batch 128, and the path ``mode="auto"`` picks.
2. **Pre-train.** A stand-in for a trained 784 x 300 weight (random orthonormal singular vectors,
   power-law spectrum ``s_i = 1 / (i + 1)``; no trained weights are used) is converted with
   ``from_weight`` at two sizes per format; the table shows parameters, compression and the
   relative weight error reported by the decomposition.
3. **Pre-set.** 784 -> 625 (HT / KP / STT, He initialization) -> ReLU -> 10, trained from
   scratch with Adam for ``--epochs`` epochs on the MNIST subset bundled with tensornet
   (or the full set with ``--data``); test accuracy next to the dense 784 -> 625 -> 10 network.

Usage::

    python examples/factorized_layers_c.py [--epochs 2] [--data ../shared/data/mnist]
"""

from __future__ import annotations

import argparse

import numpy as np

from tensornet import nn
from tensornet.datasets import load_mnist
from tensornet.nn.factorized.ht import HTLinear
from tensornet.nn.factorized.kron import GKPConv2d, KPLinear
from tensornet.nn.factorized.stt import STTLinear

IN_MODES, OUT_MODES = (4, 7, 4, 7), (5, 5, 5, 5)


def costs() -> None:
    """Print parameters and multiply-adds of each layer next to its dense counterpart."""
    print("1. costs at batch 128 (multiply-adds, bias excluded)")
    cases = [
        ("Linear 784->625", nn.Linear(784, 625), (128, 784)),
        (
            "HTLinear ranks 8",
            HTLinear(784, 625, 8, in_modes=IN_MODES, out_modes=OUT_MODES),
            (128, 784),
        ),
        (
            "STTLinear ranks 16, t=2",
            STTLinear(784, 625, 16, t=2, in_modes=IN_MODES, out_modes=OUT_MODES),
            (128, 784),
        ),
        ("KPLinear (28,25)x(28,25) R=4", KPLinear(784, 625, 4, a_shape=(28, 25)), (128, 784)),
        ("Conv2d 20->50 5x5", nn.Conv2d(20, 50, 5), (128, 20, 12, 12)),
        (
            "GKPConv2d (10,4,5,1) R=4",
            GKPConv2d(20, 50, 5, 4, a_shape=(10, 4, 5, 1)),
            (128, 20, 12, 12),
        ),
    ]
    print(f"   {'layer':32s} {'params':>8s} {'factors':>12s} {'dense path':>12s}  auto")
    for name, layer, shape in cases:
        if not hasattr(layer, "path"):
            print(f"   {name:32s} {layer.n_params:8d}")
            continue
        print(
            f"   {name:32s} {layer.n_params:8d} {layer.flops(shape, 'factors'):12,d} "
            f"{layer.flops(shape, 'dense'):12,d}  {layer.path(shape)}"
        )


def power_law_weight(n: int, m: int, seed: int = 0) -> np.ndarray:
    """``U diag(1/(i+1)) V^T`` with random orthonormal ``U (n, k)``, ``V (m, k)``."""
    rng = np.random.default_rng(seed)
    k = min(n, m)
    u, _ = np.linalg.qr(rng.standard_normal((n, k)))
    v, _ = np.linalg.qr(rng.standard_normal((m, k)))
    return (u / (np.arange(k) + 1.0)) @ v.T


def pre_train() -> None:
    """Convert a stand-in weight with every format at two sizes."""
    print("\n2. pre-train: 784 x 300 stand-in weight (power-law spectrum)")
    w = power_law_weight(784, 300)
    ins, outs = (4, 7, 4, 7), (3, 4, 5, 5)
    conversions = [
        ("HT ranks 8", lambda: HTLinear.from_weight(w, in_modes=ins, out_modes=outs, ranks=8)),
        ("HT ranks 20", lambda: HTLinear.from_weight(w, in_modes=ins, out_modes=outs, ranks=20)),
        (
            "STT ranks 16, t=2",
            lambda: STTLinear.from_weight(w, in_modes=ins, out_modes=outs, t=2, ranks=16),
        ),
        (
            "STT ranks 40, t=2",
            lambda: STTLinear.from_weight(w, in_modes=ins, out_modes=outs, t=2, ranks=40),
        ),
        ("KP rank 4", lambda: KPLinear.from_weight(w, a_shape=(28, 20), rank=4)),
        ("KP rank 16", lambda: KPLinear.from_weight(w, a_shape=(28, 20), rank=16)),
    ]
    print(f"   {'method':20s} {'params':>8s} {'compression':>12s} {'rel. error':>11s}")
    for name, convert in conversions:
        layer = convert()
        err = float(np.linalg.norm(layer.weight() - w) / np.linalg.norm(w))
        assert abs(err - layer.decomposition_info["rel_error"]) < 1e-6  # report == layer error
        print(f"   {name:20s} {layer.n_params:8d} {w.size / layer.n_params:11.1f}x {err:11.3f}")


def pre_set(epochs: int, data: str | None) -> None:
    """Train 784 -> factorized 625 -> ReLU -> 10 from scratch next to the dense network."""
    print(f"\n3. pre-set: 784 -> 625 -> ReLU -> 10, Adam 1e-3, {epochs} epoch(s)")
    (x_train, y_train), (x_test, y_test) = load_mnist(data, download=False)
    x_train = x_train.reshape(len(x_train), -1)
    x_test = x_test.reshape(len(x_test), -1)
    first_layers = {
        "dense": lambda: nn.Linear(784, 625, random_state=0),
        "HT ranks 8": lambda: HTLinear(
            784, 625, 8, in_modes=IN_MODES, out_modes=OUT_MODES, rescale=True, random_state=0
        ),
        "STT ranks 16, t=2": lambda: STTLinear(
            784, 625, 16, t=2, in_modes=IN_MODES, out_modes=OUT_MODES, rescale=True, random_state=0
        ),
        "KP rank 4": lambda: KPLinear(784, 625, 4, a_shape=(28, 25), rescale=True, random_state=0),
    }
    for name, make in first_layers.items():
        model = nn.Sequential(make(), nn.ReLU(), nn.Linear(625, 10, random_state=1))
        optimizer = nn.Adam(model.params, lr=1e-3)
        nn.fit(
            model,
            nn.cross_entropy,
            optimizer,
            (x_train, y_train),
            epochs=epochs,
            batch_size=128,
            random_state=0,
        )
        acc = nn.evaluate(model, (x_test, y_test))["accuracy"]
        first = model[0].n_params
        print(f"   {name:20s} first layer {first:7d} parameters, test accuracy {100 * acc:.2f}%")


def main() -> None:
    """Parse the options and run the three parts."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--data", default=None, help="folder with the MNIST IDX files")
    args = ap.parse_args()
    costs()
    pre_train()
    pre_set(args.epochs, args.data)


if __name__ == "__main__":
    main()
