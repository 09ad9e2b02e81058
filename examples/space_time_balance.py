"""The survey's space/time balance on MNIST (Section IV, Figs. 8-11 analogs).

Usage::

    PYTHONPATH=$PWD python examples/space_time_balance.py --quick     # minutes
    PYTHONPATH=$PWD python examples/space_time_balance.py             # full MNIST

* **Fig. 8 analog**: train LeNet-300-100 (``--base-epochs`` of momentum SGD), SVD-compress its
  first two layers (:func:`tensornet.compress.decompose`, ``LowRankLinear``) at each rank of
  ``--ranks`` (capped at each layer's full rank; ``full`` = 300 and 100) and keep "base" (the
  uncompressed model), fine-tune each for ``--ft-epochs`` while sampling the parameters
  ``--samples-per-epoch`` times per epoch, build the 5-D DLDR subspace of each trajectory and
  report the mean normalized projection error of the samples
  (:func:`tensornet.subspace.compression_sweep`).
* **Fig. 9 analog**: the same error against the subspace dimension 5..15 for every rank.
* **Fig. 10 analog**: LeNet-300-100 with ``TTLinear`` first two layers at TT ranks
  ``--tt-ranks`` (several compression ratios) trained from scratch for ``--tt-epochs``
  (sampled), then retrained from the same initialization in the fixed ``--tt-dim``-D DLDR
  subspace of that trajectory with P-BFGS (``--subspace-epochs``); test accuracy of both.
* **Fig. 11 analog**: for the most compressed TT network, subspace accuracy against ``d``.

JSON goes to ``benchmarks/results/space_time_balance[_quick].json`` (with the command, the
protocol and load averages); PNGs next to it when matplotlib is importable.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
from _experiment import Timer, command_line, load_data, loadavg, pyplot, write_json

from tensornet import nn
from tensornet.nn.factorized import TTLinear
from tensornet.subspace import TrajectorySampler, compression_sweep, dldr, train_in_subspace

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"
FULL_RANKS = {"fc1": 300, "fc2": 100}


def parse() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="10k training images, short runs")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--base-epochs", type=int, default=None)
    ap.add_argument("--ft-epochs", type=int, default=None)
    ap.add_argument("--samples-per-epoch", type=int, default=None)
    ap.add_argument("--ranks", nargs="+", default=["10", "20", "40", "70", "100", "full"])
    ap.add_argument("--tt-ranks", type=int, nargs="+", default=[2, 4, 8])
    ap.add_argument("--tt-epochs", type=int, default=None)
    ap.add_argument("--tt-dim", type=int, default=10)
    ap.add_argument("--tt-dims", type=int, nargs="+", default=None, help="Fig. 11 dimensions")
    ap.add_argument("--subspace-epochs", type=int, default=None)
    ap.add_argument("--skip", nargs="*", default=[], choices=["fig8", "fig10"])
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument(
        "--merge",
        type=Path,
        nargs="+",
        default=None,
        help="combine result files (Fig. 8-9 from one, TT rows from all) into --out",
    )
    args = ap.parse_args()
    full = {
        "base_epochs": 3,
        "ft_epochs": 1,
        "samples_per_epoch": 20,
        "tt_epochs": 3,
        "subspace_epochs": 2,
        "tt_dims": [2, 5, 10, 20, 30],
    }
    quick = {
        "base_epochs": 1,
        "ft_epochs": 1,
        "samples_per_epoch": 16,
        "tt_epochs": 1,
        "subspace_epochs": 1,
        "tt_dims": [2, 5, 10],
    }
    for key, value in (quick if args.quick else full).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.out is None:
        args.out = RESULTS / f"space_time_balance{'_quick' if args.quick else ''}.json"
    return args


def rank_spec(text: str) -> dict[str, int] | None:
    """``"base"`` -> None, ``"full"`` -> full ranks, ``"r"`` -> r capped per layer."""
    if text == "base":
        return None
    if text == "full":
        return dict(FULL_RANKS)
    return {name: min(int(text), cap) for name, cap in FULL_RANKS.items()}


def fig8_9(args, data, test) -> dict[str, Any]:
    base = nn.lenet300_100(random_state=args.seed)
    with Timer() as t:
        nn.fit(
            base,
            nn.cross_entropy,
            nn.SGD(base.params, lr=args.lr, momentum=0.9),
            data,
            epochs=args.base_epochs,
            random_state=args.seed,
        )
    base_acc = nn.evaluate(base, test)["accuracy"]
    print(f"base LeNet-300-100: {args.base_epochs} epochs, test acc {base_acc:.4f}", flush=True)
    n_batches = -(-len(data[0]) // 128)
    every = max(1, n_batches // args.samples_per_epoch)
    dims = list(range(5, 16))

    def show(row):
        print(
            f"  rank {row['rank']}: {row['n_params']} params, error(d=5) "
            f"{row['errors'][5]:.3e}, acc {row.get('accuracy', float('nan')):.4f}",
            flush=True,
        )

    rows = compression_sweep(
        base,
        data,
        [None] + [rank_spec(r) for r in args.ranks],
        method="svd",
        n_components=dims,
        epochs=args.ft_epochs,
        every=every,
        lr=args.lr,
        val_data=test,
        random_state=args.seed,
        on_result=show,
    )
    for label, row in zip(["base", *args.ranks], rows, strict=True):
        row["label"] = label
    return {
        "base_training": {"test_accuracy": base_acc, **t.record()},
        "every_steps": every,
        "dims": dims,
        "rows": rows,
    }


def tt_lenet(rank: int, seed: int) -> nn.Sequential:
    rng = np.random.default_rng(seed)
    return nn.Sequential(
        ("flatten", nn.Flatten()),
        ("fc1", TTLinear(784, 300, ranks=rank, random_state=rng)),
        ("relu1", nn.ReLU()),
        ("fc2", TTLinear(300, 100, ranks=rank, random_state=rng)),
        ("relu2", nn.ReLU()),
        ("fc3", nn.Linear(100, 10, random_state=rng)),
    )


def fig10_11(args, data, test) -> dict[str, Any]:
    n_batches = -(-len(data[0]) // 128)
    every = max(1, n_batches // args.samples_per_epoch)
    dense_params = nn.lenet300_100(random_state=0).n_params
    rows = []
    for rank in sorted(args.tt_ranks):
        model = tt_lenet(rank, args.seed)
        sampler = TrajectorySampler(every=every)
        with Timer() as t:
            h = nn.fit(
                model,
                nn.cross_entropy,
                nn.SGD(model.params, lr=args.lr, momentum=0.9),
                data,
                epochs=args.tt_epochs,
                val_data=test,
                callbacks=[sampler],
                random_state=args.seed,
            )
        samples = sampler.samples
        dims = sorted({args.tt_dim, *(args.tt_dims if rank == min(args.tt_ranks) else [])})
        dims = [d for d in dims if d < len(samples)]
        top = dldr(samples, max(dims))
        subspace = {}
        for d in dims:
            net = tt_lenet(rank, args.seed)
            hs = train_in_subspace(
                net,
                top.basis[:d].copy(),
                "pbfgs",
                data,
                args.subspace_epochs,
                start=samples[0],
                batch_size=1024,
                val_data=test,
                random_state=args.seed,
            )
            subspace[d] = {
                "test_accuracy": hs["val_accuracy"],
                "seconds": float(np.sum(hs["seconds"])),
            }
        row = {
            "tt_rank": rank,
            "n_params": int(model.n_params),
            "compression_ratio": dense_params / model.n_params,
            "normal": {"test_accuracy": h["val_accuracy"], **t.record()},
            "subspace": subspace,
            "explained_variance_ratio": [float(v) for v in top.explained_variance_ratio],
        }
        rows.append(row)
        print(
            f"TT rank {rank}: {model.n_params} params ({row['compression_ratio']:.0f}x), normal "
            f"{h['val_accuracy'][-1]:.4f}, subspace "
            + ", ".join(f"d={d}: {v['test_accuracy'][-1]:.4f}" for d, v in subspace.items()),
            flush=True,
        )
    return {"every_steps": every, "rows": rows}


def _int_keys(table: dict) -> dict:
    """A dimension-keyed table with int keys (JSON stores them as strings)."""
    return {int(k): v for k, v in table.items()}


def plots(payload: dict[str, Any], out: Path) -> None:
    plt = pyplot()
    if plt is None:
        return
    payload = json.loads(json.dumps(payload))  # the same shape fresh or read back from JSON
    for section, field in (("fig8_9", "errors"), ("fig10_11", "subspace")):
        for r in payload.get(section, {}).get("rows", []):
            r[field] = _int_keys(r[field])
    if "fig8_9" in payload:
        rows = payload["fig8_9"]["rows"]
        fig, ax = plt.subplots(figsize=(5, 3.5))
        ax.plot([r["label"] for r in rows], [r["errors"][5] for r in rows], marker="o")
        ax.set_xlabel("SVD rank of fc1, fc2")
        ax.set_ylabel("normalized projection error (d=5)")
        fig.tight_layout()
        fig.savefig(out.with_name(out.stem + "_fig8.png"), dpi=120)
        fig, ax = plt.subplots(figsize=(5, 3.5))
        for r in rows:
            dims = sorted(r["errors"])
            ax.plot(dims, [r["errors"][d] for d in dims], marker=".", label=r["label"])
        ax.set_xlabel("subspace dimension d")
        ax.set_ylabel("normalized projection error")
        ax.set_yscale("log")
        ax.legend(title="rank")
        fig.tight_layout()
        fig.savefig(out.with_name(out.stem + "_fig9.png"), dpi=120)
    if "fig10_11" in payload:
        rows = payload["fig10_11"]["rows"]
        d = payload["protocol"]["tt_dim"]
        fig, ax = plt.subplots(figsize=(5, 3.5))
        ratios = [r["compression_ratio"] for r in rows]
        ax.plot(
            ratios, [100 * r["normal"]["test_accuracy"][-1] for r in rows], "o-", label="normal"
        )
        ax.plot(
            ratios,
            [100 * r["subspace"][d]["test_accuracy"][-1] for r in rows],
            "s-",
            label=f"{d}-D subspace",
        )
        ax.set_xscale("log")
        ax.set_xlabel("compression ratio")
        ax.set_ylabel("test accuracy (%)")
        ax.legend()
        fig.tight_layout()
        fig.savefig(out.with_name(out.stem + "_fig10.png"), dpi=120)
        fig, ax = plt.subplots(figsize=(5, 3.5))
        sub = rows[0]["subspace"]
        dims = sorted(sub)
        ax.plot(dims, [100 * sub[k]["test_accuracy"][-1] for k in dims], "o-")
        ax.set_xlabel("subspace dimension d")
        ax.set_ylabel("test accuracy (%)")
        fig.tight_layout()
        fig.savefig(out.with_name(out.stem + "_fig11.png"), dpi=120)


def merge(args: argparse.Namespace) -> None:
    """One result file from runs of separate parts (e.g. one TT rank per process)."""
    import json

    parts = [json.loads(Path(p).read_text()) for p in args.merge]
    payload: dict[str, Any] = {
        "experiment": "space_time_balance",
        "parts": [
            {k: p[k] for k in ("command", "protocol", "loadavg_start", "loadavg_end") if k in p}
            for p in parts
        ],
        "protocol": parts[-1]["protocol"],
    }
    for p in parts:
        if "fig8_9" in p:
            payload["fig8_9"] = p["fig8_9"]
        if "fig10_11" in p:
            fig = payload.setdefault(
                "fig10_11", {"every_steps": p["fig10_11"]["every_steps"], "rows": []}
            )
            fig["rows"].extend(p["fig10_11"]["rows"])
    if "fig10_11" in payload:
        payload["fig10_11"]["rows"].sort(key=lambda r: r["tt_rank"])
    write_json(args.out, payload)
    plots(payload, args.out)


def main() -> None:
    args = parse()
    if args.merge:
        merge(args)
        return
    data, test = load_data(args.quick)
    payload: dict[str, Any] = {
        "experiment": "space_time_balance",
        "command": command_line(),
        "protocol": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "n_train": len(data[0]),
        "loadavg_start": loadavg(),
    }
    if "fig8" not in args.skip:
        payload["fig8_9"] = fig8_9(args, data, test)
        write_json(args.out, payload)
    if "fig10" not in args.skip:
        payload["fig10_11"] = fig10_11(args, data, test)
    payload["loadavg_end"] = loadavg()
    write_json(args.out, payload)
    plots(payload, args.out)


if __name__ == "__main__":
    main()
