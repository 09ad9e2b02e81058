"""Tour of the LowRank, CP, Tucker-2 and block-term layers of ``tensornet.nn.factorized``.

For each layer: build it for pre-set training (He initialization), check its factor path against
the dense layer with ``weight()``, print its parameters, multiply-adds on both paths and the path
``mode="auto"`` takes; then convert a dense kernel with ``from_weight`` (pre-train) at a few
ranks and print the relative weight error.

Run from the repository root::

    python examples/factorized_layers_a.py
"""

from __future__ import annotations

import numpy as np

from tensornet.nn import conv2d, linear
from tensornet.nn.factorized import FactorizedConv2d, target_variance
from tensornet.nn.factorized.btd import BTConv2d, BTLinear
from tensornet.nn.factorized.cp import CPConv2d
from tensornet.nn.factorized.lowrank import LowRankConv2d, LowRankLinear
from tensornet.nn.factorized.tucker import TuckerConv2d


def dense_output(layer, x):
    bias = layer.params.get("bias")
    if isinstance(layer, FactorizedConv2d):
        return conv2d(x, layer.weight(), bias, layer.stride, layer.padding)
    return linear(x, layer.weight(), bias)


def tour() -> None:
    rng = np.random.default_rng(0)
    x_lin = rng.standard_normal((128, 784))
    x_conv = rng.standard_normal((128, 64, 16, 16))
    f64 = {"dtype": np.float64, "random_state": 0}
    layers = [
        ("dense 784->300", None, 784 * 300, x_lin),
        ("LowRankLinear r=20", LowRankLinear(784, 300, 20, **f64), None, x_lin),
        ("BTLinear (4,7,4,7)->(3,4,5,5) R=2 N=2",
         BTLinear(784, 300, 2, n_blocks=2, in_modes=(4, 7, 4, 7), out_modes=(3, 4, 5, 5), **f64),
         None, x_lin),
        ("dense conv 64->64 3x3", None, 64 * 64 * 9, x_conv),
        ("LowRankConv2d channel r=16", LowRankConv2d(64, 64, 3, 16, padding=1, **f64), None,
         x_conv),
        ("LowRankConv2d spatial r=32",
         LowRankConv2d(64, 64, 3, 32, padding=1, scheme="spatial", **f64), None, x_conv),
        ("CPConv2d R=64", CPConv2d(64, 64, 3, 64, padding=1, **f64), None, x_conv),
        ("TuckerConv2d (16,16)", TuckerConv2d(64, 64, 3, (16, 16), padding=1, **f64), None,
         x_conv),
        ("BTConv2d (8,8)->(8,8) R=4 Rs=3 N=2",
         BTConv2d(64, 64, 3, 4, padding=1, n_blocks=2, spatial_rank=3, in_modes=(8, 8),
                  out_modes=(8, 8), **f64), None, x_conv),
    ]  # fmt: skip
    header = f"{'layer':40s} {'weights':>8s} {'MACs factors':>14s} {'MACs dense':>12s} "
    print(header + f"{'auto':>8s} {'rel. diff':>10s} {'Var(W)/He':>10s}")
    for name, layer, dense_weights, x in layers:
        if layer is None:
            print(f"{name:40s} {dense_weights:8d}")
            continue
        y = layer.forward_factors(layer.params, x)
        ref = dense_output(layer, x)
        diff = np.linalg.norm(y - ref) / np.linalg.norm(ref)
        var = np.mean(layer.weight() ** 2) / target_variance("he", *layer.fans)
        n_weights = layer.n_params - layer.params["bias"].size
        print(
            f"{name:40s} {n_weights:8d} {layer.flops(x.shape, 'factors'):14d} "
            f"{layer.flops(x.shape, 'dense'):12d} {layer.path(x.shape):>8s} {diff:10.1e} "
            f"{var:10.3f}"
        )


def conversion() -> None:
    rng = np.random.default_rng(1)
    # a kernel with a decaying spectrum, as trained kernels have
    u, _ = np.linalg.qr(rng.standard_normal((64, 64)))
    v, _ = np.linalg.qr(rng.standard_normal((576, 64)))
    kernel = ((u * 0.9 ** np.arange(64)) @ v.T).reshape(64, 64, 3, 3)
    norm = np.linalg.norm(kernel)
    print("\nfrom_weight on a 64x64x3x3 kernel with singular values 0.9^k:")
    cases = [
        ("LowRankConv2d channel r=16", lambda: LowRankConv2d.from_weight(kernel, rank=16)),
        ("LowRankConv2d spatial r=32",
         lambda: LowRankConv2d.from_weight(kernel, rank=32, scheme="spatial")),
        ("CPConv2d R=64", lambda: CPConv2d.from_weight(kernel, rank=64, random_state=0)),
        ("TuckerConv2d (16,16)", lambda: TuckerConv2d.from_weight(kernel, ranks=(16, 16))),
        ("BTConv2d (8,8)->(8,8) R=8 N=2",
         lambda: BTConv2d.from_weight(kernel, ranks=8, n_blocks=2, in_modes=(8, 8),
                                      out_modes=(8, 8), random_state=0)),
    ]  # fmt: skip
    for name, make in cases:
        layer = make()
        err = np.linalg.norm(layer.weight() - kernel) / norm
        print(f"  {name:32s} weights {layer.n_params:6d} / {kernel.size}   rel. error {err:.3f}")


if __name__ == "__main__":
    tour()
    conversion()
