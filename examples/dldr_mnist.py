"""DLDR vs SGD on MNIST (survey Section IV; Li et al., TPAMI 2022): accuracy and wall time.

Usage::

    PYTHONPATH=$PWD python examples/dldr_mnist.py --quick              # minutes
    PYTHONPATH=$PWD python examples/dldr_mnist.py --threads 1          # LeNet-300-100, 3 seeds
    PYTHONPATH=$PWD python examples/dldr_mnist.py --model lenet5 --seeds 0 --epochs 20

For every seed, three sides start from the same initialization and batch order:

1. **SGD, constant rate** (momentum 0.9) for ``--epochs``: the survey's baseline;
2. **SGD, cosine schedule** for the same epochs;
3. **DLDR**: ``--sample-epochs`` of the constant-rate SGD with a :class:`TrajectorySampler`
   (``--samples-per-epoch`` samples per epoch plus the initialization), PCA of the samples
   (:func:`dldr`, ``--dims`` directions), then, restarting from the initialization,
   **P-SGD** (``--psgd-lr``, momentum 0.9, x0.1 after 3/4 of its epochs) and **P-BFGS** (batch
   ``--pbfgs-batch``, Armijo sigma 0.4, shrink 0.4, at most 20 tries).

The sides run one after the other in one process, their order rotated from seed to seed
(seed 0: constant, cosine, DLDR; seed 1: cosine, DLDR, constant; seed 2: DLDR, constant,
cosine), so a drift of the machine's load falls on every side. ``--merge`` combines the results
of runs of other seeds (e.g. one process per seed on a shared machine). ``--threads`` sets the
BLAS/OpenMP/Numba thread counts before NumPy loads.

Wall time counts the training steps only (``History["seconds"]``; the per-epoch test evaluation
is excluded) plus, for DLDR, the sampling epochs and the PCA. Each run records the load average
at its start and end and its process CPU seconds; a timing taken at load above 2.5 is flagged
``loaded``. The JSON goes to ``benchmarks/results/dldr_<model>[_quick].json`` (rewritten after
every seed); a PNG of test accuracy against wall time is written next to it when matplotlib is
importable.
"""

from __future__ import annotations

import os
import sys

if "--threads" in sys.argv[:-1]:  # before NumPy is imported
    _THREADS = sys.argv[sys.argv.index("--threads") + 1]
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ[_var] = _THREADS

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
from _experiment import Timer, command_line, load_data, loadavg, pyplot, write_json  # noqa: E402

from tensornet import nn  # noqa: E402
from tensornet.subspace import PBFGS, PSGD, TrajectorySampler, dldr, train_in_subspace  # noqa: E402

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"
TOLERANCE_PP = 0.3  # the survey's "same accuracy"
SIDES = ("constant", "cosine", "dldr")
TARGET_RATIO = 0.65  # the survey's claim, wall time against the constant-rate baseline


def parse() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", choices=["lenet300_100", "lenet5"], default="lenet300_100")
    ap.add_argument("--quick", action="store_true", help="10k training images, short runs")
    ap.add_argument("--seeds", type=int, nargs="+", default=None)
    ap.add_argument("--threads", type=int, default=None, help="BLAS/OpenMP/Numba threads")
    ap.add_argument("--epochs", type=int, default=None, help="SGD baseline epochs")
    ap.add_argument("--lr", type=float, default=0.01, help="SGD learning rate")
    ap.add_argument("--sample-epochs", type=int, default=None)
    ap.add_argument("--samples-per-epoch", type=int, default=None)
    ap.add_argument(
        "--dims",
        type=int,
        nargs="+",
        default=None,
        help="subspace dimensions d (one PCA, nested subspaces)",
    )
    ap.add_argument("--psgd-epochs", type=int, default=None)
    ap.add_argument("--pbfgs-epochs", type=int, default=None)
    ap.add_argument("--pbfgs-batch", type=int, default=1024)
    ap.add_argument("--methods", nargs="+", choices=["psgd", "pbfgs"], default=["psgd", "pbfgs"])
    ap.add_argument(
        "--psgd-lr",
        type=float,
        default=0.03,
        help="P-SGD rate (the reference's 1.0 diverges without BatchNorm; 0.03 had "
        "the lowest training loss of {1, 0.3, 0.1, 0.03} in a 2-epoch probe on 8k "
        "training images)",
    )
    ap.add_argument(
        "--sides",
        nargs="+",
        choices=list(SIDES),
        default=list(SIDES),
        help="run only these sides (then --merge the per-side runs of a seed)",
    )
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument(
        "--merge",
        type=Path,
        nargs="+",
        default=None,
        help="combine the per-seed results of several runs (e.g. one process per seed) into --out",
    )
    args = ap.parse_args()
    full = {
        "seeds": [0, 1, 2],
        "epochs": 30,
        "sample_epochs": 5,
        "samples_per_epoch": 8,
        "dims": [40],
        "psgd_epochs": 5,
        "pbfgs_epochs": 5,
    }
    quick = {
        "seeds": [0, 1],
        "epochs": 6,
        "sample_epochs": 2,
        "samples_per_epoch": 6,
        "dims": [10],
        "psgd_epochs": 2,
        "pbfgs_epochs": 2,
    }
    for key, value in (quick if args.quick else full).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.out is None:
        args.out = RESULTS / f"dldr_{args.model}{'_quick' if args.quick else ''}.json"
    return args


def curve(history: nn.History, offset: float = 0.0) -> dict[str, Any]:
    """Cumulative training seconds and test accuracy per epoch."""
    seconds = offset + np.cumsum(history["seconds"])
    return {
        "wall_seconds": [float(s) for s in seconds],
        "test_accuracy": [float(a) for a in history["val_accuracy"]],
        "train_loss": [float(v) for v in history["loss"]],
    }


class Progress(nn.Callback):
    """Write the curve so far after every epoch (``<out>.partial.json``): a long run that is
    stopped still leaves its epochs."""

    def __init__(self, path: Path, label: str, extra: dict[str, Any]) -> None:
        self.path, self.label, self.extra, self.logs = path, label, extra, []

    def on_epoch_end(self, epoch, params, logs) -> None:
        self.logs.append({k: float(v) for k, v in logs.items()})
        write_json(
            self.path.with_suffix(".partial.json"),
            {
                **self.extra,
                "label": self.label,
                "epochs_done": epoch,
                "loadavg": loadavg(),
                "logs": self.logs,
            },
        )


def sgd_run(args, seed, data, test, schedule) -> dict[str, Any]:
    model = getattr(nn, args.model)(random_state=seed)
    sched = nn.CosineLR(args.epochs) if schedule == "cosine" else None
    opt = nn.SGD(model.params, lr=args.lr, momentum=0.9, schedule=sched)
    with Timer() as t:
        h = nn.fit(
            model,
            nn.cross_entropy,
            opt,
            data,
            epochs=args.epochs,
            batch_size=128,
            val_data=test,
            random_state=seed,
            callbacks=[
                Progress(args.out, f"sgd_{schedule}", {"command": command_line(), "seed": seed})
            ],
        )
    out = {
        "schedule": schedule,
        **curve(h),
        **t.record(),
        "forward_passes": 3 * args.epochs * len(data[0]),
    }
    print(
        f"seed {seed} SGD {schedule}: acc {out['test_accuracy'][-1]:.4f} in "
        f"{out['wall_seconds'][-1]:.1f} s"
        f" (load {t.load_start[0]}..{t.load_end[0]})",
        flush=True,
    )
    return out


def dldr_runs(args, seed, data, test) -> dict[str, Any]:
    model = getattr(nn, args.model)(random_state=seed)
    n_batches = -(-len(data[0]) // 128)
    every = max(1, n_batches // args.samples_per_epoch)
    sampler = TrajectorySampler(every=every)
    opt = nn.SGD(model.params, lr=args.lr, momentum=0.9)
    with Timer() as ts:
        hs = nn.fit(
            model,
            nn.cross_entropy,
            opt,
            data,
            epochs=args.sample_epochs,
            batch_size=128,
            val_data=test,
            callbacks=[sampler],
            random_state=seed,
        )
    sampling_seconds = float(np.sum(hs["seconds"]))
    start = time.perf_counter()
    top = dldr(sampler.samples, max(args.dims))
    pca_seconds = time.perf_counter() - start
    offset = sampling_seconds + pca_seconds
    out: dict[str, Any] = {
        "sampling": {
            "every_steps": every,
            "n_samples": len(sampler),
            **curve(hs),
            **ts.record(),
            "forward_passes": 3 * args.sample_epochs * len(data[0]),
        },
        "pca_seconds": pca_seconds,
        "explained_variance_ratio": [float(v) for v in top.explained_variance_ratio],
    }
    print(
        f"seed {seed} sampling: {len(sampler)} samples, acc {hs['val_accuracy'][-1]:.4f}, "
        f"{sampling_seconds:.1f} s; PCA {pca_seconds:.2f} s; top-{max(args.dims)} variance "
        f"{top.explained_variance_ratio.sum():.4f}",
        flush=True,
    )
    for d in args.dims:
        sub = top.basis[:d].copy()
        out[f"d{d}"] = subspace_runs(args, seed, data, test, sub, sampler.samples[0], offset)
    return out


def subspace_runs(args, seed, data, test, sub, w0, offset) -> dict[str, Any]:
    """P-SGD and P-BFGS from ``w0`` in the subspace ``sub``; times start at ``offset``."""
    out: dict[str, Any] = {}
    for name in args.methods:
        net = getattr(nn, args.model)(random_state=seed)
        epochs = args.psgd_epochs if name == "psgd" else args.pbfgs_epochs
        if name == "psgd":
            opt = PSGD(
                net.params,
                sub,
                lr=args.psgd_lr,
                momentum=0.9,
                schedule=nn.MultiStepLR([max(1, (3 * epochs) // 4)]),
            )
            batch = 128
        else:
            opt = PBFGS(net.params, sub)
            batch = args.pbfgs_batch
        with Timer() as t:
            h = train_in_subspace(
                net,
                sub,
                opt,
                data,
                epochs,
                start=w0,
                batch_size=batch,
                val_data=test,
                random_state=seed,
            )
        run = {"epochs": epochs, "batch_size": batch, **curve(h, offset), **t.record()}
        n_seen = epochs * len(data[0])
        run["forward_passes"] = 3 * n_seen  # one forward-backward ~ three forwards
        if name == "pbfgs":
            run.update(
                n_skipped=opt.n_skipped,
                n_failed=opt.n_failed,
                mean_tries=float(np.mean(opt.tries)),
                steps=opt.t,
            )
            run["forward_passes"] += int(np.sum(opt.tries)) * batch
        out[name] = run
        print(
            f"seed {seed} {name} d={len(sub)}: acc {run['test_accuracy'][-1]:.4f}, "
            f"total {run['wall_seconds'][-1]:.1f} s (load {t.load_start[0]}..{t.load_end[0]})",
            flush=True,
        )
    return out


def time_to(curve_: dict[str, Any], accuracy: float) -> float | None:
    """First cumulative wall time at which the test accuracy reaches ``accuracy``."""
    for s, a in zip(curve_["wall_seconds"], curve_["test_accuracy"], strict=True):
        if a >= accuracy:
            return s
    return None


def summarize(runs: dict[str, Any]) -> dict[str, Any]:
    const, cosine = runs["sgd_constant"], runs["sgd_cosine"]
    summary: dict[str, Any] = {}
    sampling = runs["dldr"]["sampling"]
    for key, _name, r in [
        (f"{k}_{n}", n, v[n])
        for k, v in runs["dldr"].items()
        if k.startswith("d") and isinstance(v, dict)
        for n in ("psgd", "pbfgs")
        if n in v
    ]:
        acc, secs = r["test_accuracy"][-1], r["wall_seconds"][-1]
        # CPU seconds of the whole runs (per-epoch test evaluation included on every side)
        cpu = sampling["cpu_seconds"] + runs["dldr"]["pca_seconds"] + r["cpu_seconds"]
        row = {"final_accuracy": acc, "wall_seconds": secs, "cpu_seconds": cpu}
        for base_name, base in (("constant", const), ("cosine", cosine)):
            b_acc, b_secs = base["test_accuracy"][-1], base["wall_seconds"][-1]
            row[f"gap_pp_vs_{base_name}"] = 100 * (acc - b_acc)
            row[f"same_accuracy_vs_{base_name}"] = 100 * (b_acc - acc) <= TOLERANCE_PP
            row[f"time_ratio_vs_{base_name}"] = secs / b_secs
            row[f"cpu_ratio_vs_{base_name}"] = (
                cpu / base["cpu_seconds"] if "cpu_seconds" in base else None
            )
            row[f"baseline_epochs_{base_name}"] = len(base["test_accuracy"])
            t_base = time_to(base, acc - TOLERANCE_PP / 100)
            row[f"time_ratio_at_matched_accuracy_vs_{base_name}"] = (
                None if t_base is None else secs / t_base
            )
        cost = r["forward_passes"] + sampling["forward_passes"]
        row["forward_pass_ratio_vs_constant"] = cost / const["forward_passes"]
        row["survey_claim_met"] = bool(
            row["same_accuracy_vs_constant"] and row["time_ratio_vs_constant"] <= TARGET_RATIO
        )
        summary[key] = row
    summary["timings_loaded"] = any(r.get("loaded") for r in (const, cosine, sampling)) or any(
        v[n].get("loaded")
        for k, v in runs["dldr"].items()
        if k.startswith("d") and isinstance(v, dict)
        for n in ("psgd", "pbfgs")
        if n in v
    )
    return summary


def aggregate(per_seed: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Mean, spread and per-seed values of the summaries over the seeds."""
    seeds = sorted(k for k in per_seed if "summary" in per_seed[k])
    if not seeds:
        return {}
    out: dict[str, Any] = {"seeds": [int(k) for k in seeds]}
    for base in ("sgd_constant", "sgd_cosine"):
        accs = [per_seed[k]["runs"][base]["test_accuracy"][-1] for k in seeds]
        out[f"{base}_accuracy"] = _stats(accs)
    keys = [
        k
        for k in per_seed[seeds[0]]["summary"]
        if isinstance(per_seed[seeds[0]]["summary"][k], dict)
    ]
    fields = (
        "final_accuracy",
        "gap_pp_vs_constant",
        "gap_pp_vs_cosine",
        "time_ratio_vs_constant",
        "time_ratio_vs_cosine",
        "cpu_ratio_vs_constant",
        "cpu_ratio_vs_cosine",
        "baseline_epochs_constant",
        "baseline_epochs_cosine",
        "time_ratio_at_matched_accuracy_vs_constant",
        "forward_pass_ratio_vs_constant",
    )
    for key in keys:
        rows = [per_seed[k]["summary"][key] for k in seeds]
        entry = {f: _stats([r[f] for r in rows]) for f in fields}
        entry["seeds_meeting_claim"] = sum(bool(r["survey_claim_met"]) for r in rows)
        entry["claim_met_on_the_mean"] = bool(
            entry["gap_pp_vs_constant"]["mean"] >= -TOLERANCE_PP
            and entry["time_ratio_vs_constant"]["mean"] <= TARGET_RATIO
        )
        out[key] = entry
    out["timings_loaded"] = any(per_seed[k]["summary"]["timings_loaded"] for k in seeds)
    return out


def _stats(values: list[Any]) -> dict[str, Any]:
    vals = [float(v) for v in values if v is not None]
    if not vals:
        return {"mean": None, "std": None, "min": None, "max": None, "values": values}
    return {
        "mean": float(np.mean(vals)),
        "std": float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0,
        "min": min(vals),
        "max": max(vals),
        "values": [None if v is None else float(v) for v in values],
    }


def plot(per_seed: dict[str, dict[str, Any]], path: Path, title: str) -> None:
    """Test accuracy against wall time: one colour per method, one line per seed."""
    plt = pyplot()
    if plt is None:
        return
    fig, ax = plt.subplots(figsize=(7, 4.5))
    colours: dict[str, Any] = {}
    for _seed, record in sorted(per_seed.items()):
        if "summary" not in record:
            continue
        runs = record["runs"]
        curves = [("SGD constant", runs["sgd_constant"]), ("SGD cosine", runs["sgd_cosine"])]
        curves += [
            (f"{n} {k}", v[n])
            for k, v in runs["dldr"].items()
            if k.startswith("d") and isinstance(v, dict)
            for n in ("psgd", "pbfgs")
            if n in v
        ]
        for label, r in curves:
            first = label not in colours
            line = ax.plot(
                r["wall_seconds"],
                100 * np.array(r["test_accuracy"]),
                marker=".",
                lw=1,
                color=colours.get(label),
                label=label if first else None,
            )[0]
            colours.setdefault(label, line.get_color())
    ax.set_xlabel("training wall time (s), sampling and PCA included for DLDR")
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(bottom=95)
    done = [k for k in sorted(per_seed) if "summary" in per_seed[k]]
    ax.set_title(f"{title}, seeds {', '.join(done)}")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    args = parse()
    if args.merge:
        merge(args)
        return
    data, test = load_data(args.quick)
    payload: dict[str, Any] = {
        "experiment": "dldr_vs_sgd",
        "command": command_line(),
        "protocol": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "n_train": len(data[0]),
        "loadavg_start": loadavg(),
        "complete": False,
    }
    per_seed: dict[str, dict[str, Any]] = {}
    with Timer() as whole:
        for seed in args.seeds:
            order = [s for s in SIDES[seed % 3 :] + SIDES[: seed % 3] if s in args.sides]
            runs: dict[str, Any] = {}
            for side in order:
                if side == "dldr":
                    runs["dldr"] = dldr_runs(args, seed, data, test)
                else:
                    runs[f"sgd_{side}"] = sgd_run(args, seed, data, test, side)
            per_seed[str(seed)] = {"order": list(order), "runs": runs}
            if len(runs) == len(SIDES):
                per_seed[str(seed)]["summary"] = summarize(runs)
            payload["per_seed"] = per_seed
            payload["summary"] = aggregate(per_seed)
            payload["loadavg_end"] = loadavg()
            write_json(args.out, payload)
            if payload["summary"]:
                plot(per_seed, args.out.with_suffix(".png"), f"DLDR vs SGD, {args.model}")
    payload["complete"] = True
    payload["total"] = whole.record()
    write_json(args.out, payload)
    print(json.dumps(payload["summary"], indent=2))


def from_progress(record: dict[str, Any], n_train: int) -> dict[str, Any]:
    """An SGD run from the epochs a :class:`Progress` file holds (``partial``)."""
    logs = record["logs"]
    return {
        "schedule": record["label"].removeprefix("sgd_"),
        "wall_seconds": [float(s) for s in np.cumsum([log["seconds"] for log in logs])],
        "test_accuracy": [log["val_accuracy"] for log in logs],
        "train_loss": [log["loss"] for log in logs],
        "partial": True,
        "epochs_done": record["epochs_done"],
        "command": record["command"],
        "loadavg_end": record["loadavg"],
        "loaded": record["loadavg"][0] > 2.5,
        "forward_passes": 3 * record["epochs_done"] * n_train,
    }


def merge(args: argparse.Namespace) -> None:
    """One result file from the runs of other processes (sides or seeds).

    A ``.partial.json`` progress file of an SGD run that was stopped is taken as that run,
    marked ``partial`` with the epochs it completed (its time ratios are then upper bounds).
    """
    parts = [json.loads(Path(p).read_text()) for p in args.merge]
    progress = [p for p in parts if "label" in p]
    parts = [p for p in parts if "label" not in p]
    per_seed: dict[str, dict[str, Any]] = {}
    for part in progress:
        entry = per_seed.setdefault(str(part["seed"]), {"order": [], "runs": {}})
        entry["runs"][part["label"]] = from_progress(part, parts[0]["n_train"])
    for part in parts:
        for seed, record in part["per_seed"].items():
            entry = per_seed.setdefault(seed, {"order": [], "runs": {}})
            entry["order"] += record["order"]
            entry["runs"].update(record["runs"])
    for entry in per_seed.values():
        if len(entry["runs"]) == len(SIDES):
            entry["summary"] = summarize(entry["runs"])
    payload = {
        "experiment": "dldr_vs_sgd",
        "command": command_line(),
        "parts": [
            {
                "command": p["command"],
                "seeds": sorted(p["per_seed"]),
                "loadavg_start": p["loadavg_start"],
                "loadavg_end": p["loadavg_end"],
                "complete": p["complete"],
            }
            for p in parts
        ],
        "protocol": parts[0]["protocol"] | {"seeds": sorted(int(k) for k in per_seed)},
        "n_train": parts[0]["n_train"],
        "per_seed": per_seed,
        "summary": aggregate(per_seed),
        "complete": all("summary" in e for e in per_seed.values()),
    }
    write_json(args.out, payload)
    plot(per_seed, args.out.with_suffix(".png"), f"DLDR vs SGD, {payload['protocol']['model']}")
    print(json.dumps(payload["summary"], indent=2))


if __name__ == "__main__":
    main()
