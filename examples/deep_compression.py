"""Deep Compression of LeNet-300-100 on MNIST, alone and after a low-rank step (issue 12).

Usage::

    python examples/deep_compression.py --data /work/shared/data/mnist
    python examples/deep_compression.py --quick          # minutes: fewer epochs
    python examples/deep_compression.py --dense-only --dense /tmp/lenet-dense.npz

(a) prune -> k-means quantize -> Huffman (Han, Mao & Dally, ICLR 2016: 40x at 1.58% error);
(b) low-rank (SVD) -> prune -> quantize -> Huffman, fine-tuned by distillation from the dense
model. Every stage is fine-tuned (SGD at 1/10 of the training rate, Han et al.) and its test
error and exact compression ratio (float32 dense bytes / artifact payload bytes) are written to
``benchmarks/results/deep_compression.json``. The test set is only evaluated, never used to
choose anything.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from tensornet import nn
from tensornet.datasets import load_mnist
from tensornet.nn.weights import load_weights, save_weights


def train_dense(args, train, test) -> nn.Module:
    """LeNet-300-100, SGD + momentum 0.9, cosine schedule, L2 weight decay (or load --dense)."""
    model = nn.lenet300_100(random_state=args.seed)
    if args.dense and Path(args.dense).exists():
        print(f"dense model loaded from {args.dense}", flush=True)
        return load_weights(model, args.dense)
    optimizer = nn.SGD(
        model.params,
        lr=args.lr,
        momentum=0.9,
        weight_decay=args.weight_decay,
        schedule=nn.CosineLR(args.epochs),
    )
    nn.fit(
        model,
        nn.cross_entropy,
        optimizer,
        train,
        epochs=args.epochs,
        batch_size=128,
        val_data=test,
        random_state=args.seed,
        progress=False,
        verbose=True,
    )
    if args.dense:
        save_weights(model, args.dense)
    return model


#: Han et al. (2015, 2016) keep 8% / 9% / 26% of the LeNet-300-100 weights; we reach that in
#: two prune-retrain rounds (the second from the first's survivors).
HAN_SPARSITY = {"fc1.weight": 0.92, "fc2.weight": 0.91, "fc3.weight": 0.74}
HALF_SPARSITY = {"fc1.weight": 0.7, "fc2.weight": 0.7, "fc3.weight": 0.5}


def pipelines(args) -> dict[str, list[dict]]:
    """The step lists: (a) Deep Compression, (b) SVD first, at two rank settings."""
    ft = args.ft_epochs
    # Centroids move by the summed gradient of their cluster (Han et al. 2016); with hundreds of
    # weights per cluster SGD at the weights' rate diverges, so they train with Adam (scale-free).
    qft = {"epochs": ft, "optimizer": "adam", "lr": 1e-4}
    a = [
        {"step": "prune", "sparsity": HALF_SPARSITY, "fine_tune": ft},
        {"step": "prune", "sparsity": HAN_SPARSITY, "fine_tune": 2 * ft},
        {
            "step": "quantize",
            "method": "kmeans",
            "bits": args.bits_a,
            "bias_bits": 8,
            "fine_tune": qft,
        },
        {"step": "encode", "coding": "huffman", "index_bits": "auto"},
    ]
    out = (
        {f"a: prune -> kmeans {args.bits_a} bit -> huffman": a} if args.only in (None, "a") else {}
    )
    for r1, r2 in args.ranks if args.only in (None, "b") else []:
        sparsity = {"fc1.U": 0.8, "fc1.V": 0.5, "fc2.U": 0.6, "fc2.V": 0.4, "fc3.weight": 0.74}
        half = {k: v / 2 for k, v in sparsity.items()}
        out[f"b: svd {r1}/{r2} -> prune -> kmeans 5 bit -> huffman"] = [
            {"step": "decompose", "method": "svd", "ranks": {"fc1": r1, "fc2": r2},
             "fine_tune": ft},
            {"step": "prune", "sparsity": half, "fine_tune": ft},
            {"step": "prune", "sparsity": sparsity, "fine_tune": 2 * ft},
            {"step": "quantize", "method": "kmeans", "bits": 5, "bias_bits": 8,
             "fine_tune": qft},
            {"step": "encode", "coding": "huffman", "index_bits": "auto"},
        ]  # fmt: skip
    return out


def run_pipelines(args, dense, train, test) -> list[dict]:
    from tensornet.compress.pipeline import pipeline

    rows = []
    for name, steps in pipelines(args).items():
        fine_tune = {
            "optimizer": "sgd",
            "lr": args.ft_lr,
            "batch_size": 128,
            "distill": args.distill == "all" or (args.distill == "b" and name.startswith("b")),
            "temperature": 4.0,
            "alpha": 0.7,
        }
        if fine_tune["distill"]:
            name += " (distilled fine-tuning)"
        name += f" [{args.ft_epochs} ep/step]"
        print(f"== {name}", flush=True)
        t0 = time.perf_counter()
        art = pipeline(
            dense, steps, fine_tune=fine_tune, data=train, eval_data=test,
            random_state=args.seed, verbose=True,
        )  # fmt: skip
        slug = "".join(c if c.isalnum() else "_" for c in name.split(" (")[0])
        path = Path(args.artifacts) / f"{slug}_{'d' if fine_tune['distill'] else 'ce'}.npz"
        art.save(path)
        from tensornet.compress.artifact import CompressedModel

        loaded = CompressedModel.load(path).to_module()
        same = bool(np.array_equal(nn.predict(loaded, test[0]), nn.predict(art.module, test[0])))
        print(art.report(), flush=True)
        rows.append(
            {
                "pipeline": name,
                "steps": steps,
                "fine_tune": fine_tune,
                "stages": art.stages,
                "final_error": art.stages[-1]["error"],
                "payload_bytes": art.payload_bytes,
                "file_bytes": int(os.path.getsize(path)),
                "dense_bytes": art.dense_bytes,
                "ratio": art.compression_ratio,
                "bytes_per_layer": art.bytes_per_layer(),
                "bytes_per_component": art.bytes_per_component(),
                "reloaded_predictions_identical": same,
                "seconds": time.perf_counter() - t0,
            }
        )
    return rows


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default="/work/shared/data/mnist")
    p.add_argument("--dense", default=None, help="dense weights: loaded if present, else saved")
    p.add_argument("--dense-only", action="store_true", help="train (or load) the dense model")
    p.add_argument("--quick", action="store_true", help="10k training images, 1-epoch steps")
    p.add_argument("--epochs", type=int, default=30, help="dense training epochs")
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--weight-decay", type=float, default=5e-5)
    p.add_argument("--ft-epochs", type=int, default=2, help="fine-tuning epochs per step")
    p.add_argument("--ft-lr", type=float, default=0.01, help="1/10 of the training rate (Han)")
    p.add_argument(
        "--distill",
        choices=["none", "b", "all"],
        default="b",
        help="fine-tune by distillation from the dense model: never, in (b), always",
    )
    p.add_argument("--bits-a", type=int, default=6, help="k-means bits of (a) (Han: 6)")
    p.add_argument("--only", choices=["a", "b"], default=None, help="run one family")
    p.add_argument(
        "--merge",
        nargs="+",
        default=None,
        help="merge result files of --only runs into --out and exit",
    )
    p.add_argument("--ranks", type=lambda t: tuple(int(v) for v in t.split("/")), nargs="+",
                   default=[(40, 20), (30, 15)], help="SVD ranks of fc1/fc2 for (b)")  # fmt: skip
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--artifacts", default="/tmp/deep_compression")
    p.add_argument("--out", default="benchmarks/results/deep_compression.json")
    return p.parse_args(argv)


def markdown_table(rows) -> str:
    """Stage-by-stage Markdown table of every pipeline: bytes, ratio, test error."""
    lines = ["| pipeline | stage | payload bytes | ratio | test error |", "|---|---|---|---|---|"]
    for row in rows:
        for i, s in enumerate(row["stages"]):
            name = row["pipeline"] if i == 0 else ""
            lines.append(
                f"| {name} | {s['step']} | {s['payload_bytes']:,} | {s['ratio']:.1f}x | "
                f"{100 * s['error']:.2f}% |"
            )
    return "\n".join(lines)


def merge(paths, out) -> None:
    """One results file from the files of separate ``--only`` runs (rows concatenated)."""
    parts = [json.loads(Path(p).read_text()) for p in paths]
    result = dict(parts[0], runs=[{k: v for k, v in p.items() if k != "rows"} for p in parts])
    result["rows"] = [row for p in parts for row in p["rows"]]
    Path(out).write_text(json.dumps(result, indent=1, default=float))
    print(markdown_table(result["rows"]))
    print(f"wrote {out}")


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.merge:
        merge(args.merge, args.out)
        return 0
    load_start = os.getloadavg()
    if args.quick:
        args.epochs, args.ft_epochs = min(args.epochs, 3), 1
    train, test = load_mnist(args.data, download=False)
    if args.quick:
        train = (train[0][:10000], train[1][:10000])
    dense = train_dense(args, train, test)
    err = 1 - nn.evaluate(dense, test)["accuracy"]
    print(f"dense test error {100 * err:.2f}%", flush=True)
    if args.dense_only:
        return 0
    rows = run_pipelines(args, dense, train, test)
    result = {
        "command": "python " + " ".join(sys.argv),
        "protocol": {
            "quick": args.quick,
            "n_train": int(len(train[0])),
            "n_test": int(len(test[0])),
            "dense_epochs": args.epochs,
            "dense_lr": args.lr,
            "weight_decay": args.weight_decay,
            "fine_tune_epochs_per_step": args.ft_epochs,
            "fine_tune_lr": args.ft_lr,
            "fine_tune_optimizer": "sgd momentum 0.9, cosine",
            "distill": args.distill,
            "only": args.only,
            "seed": args.seed,
        },
        "dense_error": err,
        "rows": rows,
        "loadavg_start": load_start,
        "loadavg_end": os.getloadavg(),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1, default=float))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
