"""Which sparsity measure makes the best low-rank regularizer? The survey's Fig. 7 on MNIST.

Usage::

    python examples/sparsity_measures.py --data /work/shared/data/mnist            # full
    python examples/sparsity_measures.py --data /work/shared/data/mnist --quick    # minutes
    python examples/sparsity_measures.py --plot-only benchmarks/results/sparsity_measures.json

Protocol (survey Section II-B.3 and Fig. 7; SVD training of Yang et al. 2020):

1. For each network (LeNet-5, and an MLP 784-1024-1024-10) and each seed, the dense
   He-initialized network is trained ``--warmup-epochs`` with SGD (momentum 0.9), then
   re-parameterized exactly as ``U diag(s) V^T`` per layer
   (:func:`tensornet.compress.aware.svd_parameterize`: orthonormal ``U``, ``V``, ``s`` the
   singular values).
2. From that shared start, one branch per (measure, lambda) is trained ``--epochs`` more with
   Adam and :class:`~tensornet.compress.aware.SVDRegularizer` (the measure on ``s``, normalized
   so each layer's term starts at 1, plus the orthogonality penalty), and one branch with
   ``lambda = 0`` (orthogonality only: the reference every measure must beat).
3. Every trained branch is truncated by the spectral-norm indicator for each ``tau`` of a grid
   (:func:`~tensornet.compress.aware.truncate`, no retraining), giving one point (compression
   ratio of the parameter count, accuracy) per ``tau``.

55,000 training images train, the last 5,000 are a validation set: the claim "measure M reaches
compression C at accuracy A" is decided on validation accuracy (mean over seeds) and reported
with its test accuracy, so nothing is tuned on the test set. The JSON holds every point; the PNG
(needs matplotlib, which is not a tensornet dependency; the step is skipped with a message when
it is missing) plots test accuracy against compression ratio, one curve per measure.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import copy  # noqa: E402
import json  # noqa: E402
import multiprocessing  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ProcessPoolExecutor, as_completed  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from tensornet import measures, nn  # noqa: E402
from tensornet.compress.aware import SVDRegularizer, svd_parameterize, truncate  # noqa: E402
from tensornet.datasets import load_mnist  # noqa: E402

MEASURES = ["nuclear", "gini", "hoyer", "erank"]
#: The data splits, set before the worker processes fork (so they are shared, not pickled).
DATA: dict = {}
NETS = ["lenet5", "mlp1024"]
LEVELS = [0.99, 0.985, 0.98, 0.975, 0.97, 0.96, 0.95, 0.94, 0.93, 0.92, 0.90]
#: The orthogonality gradient of a 1024-wide factor costs several times the layer's own; the
#: MLP applies it every 10th step with weight 10 (see ``SVDRegularizer(orth_every=...)``).
ORTH_EVERY = {"lenet5": 1, "mlp1024": 10}

FULL = {
    "seeds": [0, 1, 2],
    "lambdas": [0.1, 0.3, 1.0],
    "warmup_epochs": 1,
    "epochs": 1,
    "taus": [0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5],
    "n_train": 55000,
}
QUICK = {
    "seeds": [0],
    "lambdas": [0.3],
    "warmup_epochs": 1,
    "epochs": 1,
    "taus": [0.05, 0.2, 0.4],
    "n_train": 6000,
}


def mlp1024(random_state):
    """784-1024-1024-10 ReLU MLP, He-uniform initialization."""
    rng = np.random.default_rng(random_state)
    return nn.Sequential(
        ("flatten", nn.Flatten()),
        ("fc1", nn.Linear(784, 1024, random_state=rng)),
        ("relu1", nn.ReLU()),
        ("fc2", nn.Linear(1024, 1024, random_state=rng)),
        ("relu2", nn.ReLU()),
        ("fc3", nn.Linear(1024, 10, random_state=rng)),
    )


def build(net: str, seed: int) -> nn.Module:
    if net == "lenet5":
        return nn.lenet5(random_state=seed)
    return mlp1024(seed)


def accuracy(model, x, y) -> float:
    logits = nn.predict(model, x, batch_size=1000)
    return float(np.mean(np.argmax(logits, axis=1) == y))


def spectra_summary(model) -> dict:
    """Effective rank and size of each SVD layer's ``s`` (how low-rank training made it)."""
    out = {}
    for name, layer in model.children():
        if "s" in layer.params:
            s = np.abs(layer.params["s"]).astype(np.float64)
            out[name] = {"n": int(s.size), "effective_rank": float(measures.effective_rank(s))}
    return out


def run_job(job: dict) -> dict:
    """One (network, seed): warm-up, then every (measure, lambda) branch, truncated per tau."""
    start, cpu_start = time.perf_counter(), time.process_time()
    net, seed, cfg = job["net"], job["seed"], job["config"]
    (x_tr, y_tr), (x_val, y_val), (x_te, y_te) = DATA["splits"]
    dense = build(net, seed)
    opt = nn.SGD(dense.params, lr=cfg["warmup_lr"], momentum=0.9)
    nn.fit(
        dense,
        nn.cross_entropy,
        opt,
        (x_tr, y_tr),
        epochs=cfg["warmup_epochs"],
        random_state=seed,
        progress=False,
    )
    warm_accuracy = accuracy(dense, x_val, y_val)
    model = svd_parameterize(dense)
    warm_seconds = time.perf_counter() - start
    branches = [("none", 0.0)] + [(m, lam) for m in MEASURES for lam in cfg["lambdas"]]
    results = []
    for measure, lam in branches:
        t0 = time.perf_counter()
        branch = copy.deepcopy(model)
        reg = SVDRegularizer(
            branch,
            "erank" if measure == "none" else measure,
            lam=lam,
            orth=cfg["orth"],
            orth_every=ORTH_EVERY[net],
        )
        opt = nn.Adam(branch.params, lr=cfg["lr"])
        history = nn.fit(
            branch,
            nn.cross_entropy,
            opt,
            (x_tr, y_tr),
            epochs=cfg["epochs"],
            regularizer=reg,
            random_state=seed + 1000,
            progress=False,
        )
        train_seconds = time.perf_counter() - t0
        orth = float(reg.orthogonality(branch.params))
        points = []
        for tau in cfg["taus"]:
            cut = truncate(branch, tau=tau)
            points.append(
                {
                    "tau": tau,
                    "n_params": cut.n_params,
                    "compression": cut.compression,
                    "ranks": cut.ranks,
                    "val_accuracy": accuracy(cut.model, x_val, y_val),
                    "test_accuracy": accuracy(cut.model, x_te, y_te),
                }
            )
        dense = truncate(branch, tau=0.0)
        results.append(
            {
                "measure": measure,
                "lambda": lam,
                "val_accuracy": accuracy(branch, x_val, y_val),
                "test_accuracy": accuracy(branch, x_te, y_te),
                "n_params_dense": dense.n_params_dense,
                "final_loss": history["loss"][-1],
                "orthogonality": orth,
                "spectra": spectra_summary(branch),
                "train_seconds": train_seconds,
                "points": points,
            }
        )
        print(
            f"[{net} seed {seed}] {measure:7s} lam={lam:<5g} val={results[-1]['val_accuracy']:.4f}"
            f" test={results[-1]['test_accuracy']:.4f} orth={orth:.2e} "
            + " ".join(f"{p['compression']:.1f}x:{p['val_accuracy']:.3f}" for p in points),
            flush=True,
        )
    return {
        "net": net,
        "seed": seed,
        "warmup_seconds": warm_seconds,
        "warmup_val_accuracy": warm_accuracy,
        "seconds": time.perf_counter() - start,
        "cpu_seconds": time.process_time() - cpu_start,
        "branches": results,
    }


# ------------------------------------------------------------------------------ analysis
def aggregate(jobs: list[dict]) -> dict:
    """Mean and spread over seeds of every (net, measure, lambda, tau) point."""
    table: dict = {}
    for job in jobs:
        for br in job["branches"]:
            for p in br["points"]:
                key = (job["net"], br["measure"], br["lambda"], p["tau"])
                table.setdefault(key, []).append(p)
            key = (job["net"], br["measure"], br["lambda"], None)
            table.setdefault(key, []).append(
                {
                    "compression": 1.0,
                    "val_accuracy": br["val_accuracy"],
                    "test_accuracy": br["test_accuracy"],
                }
            )
    out: dict = {}
    for (net, measure, lam, tau), pts in sorted(table.items(), key=lambda kv: str(kv[0])):
        val = np.array([p["val_accuracy"] for p in pts])
        test = np.array([p["test_accuracy"] for p in pts])
        cr = np.array([p["compression"] for p in pts])
        out.setdefault(net, []).append(
            {
                "measure": measure,
                "lambda": lam,
                "tau": tau,
                "n_seeds": len(pts),
                "compression_mean": float(cr.mean()),
                "compression_min": float(cr.min()),
                "compression_max": float(cr.max()),
                "val_mean": float(val.mean()),
                "test_mean": float(test.mean()),
                "test_std": float(test.std(ddof=1)) if len(pts) > 1 else 0.0,
                "test_min": float(test.min()),
                "test_max": float(test.max()),
            }
        )
    return out


def best_at_levels(agg: dict) -> dict:
    """Per net and accuracy level: each measure's highest mean compression with mean validation
    accuracy >= level, and the test accuracy of that configuration."""
    out: dict = {}
    for net, rows in agg.items():
        out[net] = {}
        for level in LEVELS:
            entry = {}
            for measure in ["none"] + MEASURES:
                ok = [
                    r
                    for r in rows
                    if r["measure"] == measure and r["tau"] is not None and r["val_mean"] >= level
                ]
                if not ok:
                    entry[measure] = None
                    continue
                best = max(ok, key=lambda r: r["compression_mean"])
                entry[measure] = {
                    "compression": best["compression_mean"],
                    "lambda": best["lambda"],
                    "tau": best["tau"],
                    "val_mean": best["val_mean"],
                    "test_mean": best["test_mean"],
                    "test_std": best["test_std"],
                }
            ranked = sorted(
                (m for m in entry if entry[m] is not None),
                key=lambda m: -entry[m]["compression"],
            )
            out[net][str(level)] = {"by_measure": entry, "ranking": ranked}
    return out


def print_summary(best: dict, agg: dict) -> None:
    for net, levels in best.items():
        dense = [r for r in agg[net] if r["measure"] == "none" and r["tau"] is None]
        if dense:
            d = dense[0]
            print(f"\n{net}: dense (lambda=0, untruncated) test {d['test_mean']:.4f}")
        print("| val acc >= | " + " | ".join(["none"] + MEASURES) + " | best |")
        print("|---" * (len(MEASURES) + 3) + "|")
        for level, info in levels.items():
            cells = []
            for m in ["none"] + MEASURES:
                e = info["by_measure"][m]
                cells.append(
                    "-" if e is None else f"{e['compression']:.1f}x ({e['test_mean']:.4f})"
                )
            top = info["ranking"][0] if info["ranking"] else "-"
            print(f"| {level} | " + " | ".join(cells) + f" | {top} |")


def plot(result: dict, path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(f"matplotlib is not installed: skipping the plot {path}", file=sys.stderr)
        return
    agg = result["aggregate"]
    best = result["best_at_levels"]
    nets = list(agg)
    fig, axes = plt.subplots(1, len(nets), figsize=(6.5 * len(nets), 4.8), squeeze=False)
    colors = {"none": "0.5", "nuclear": "C0", "gini": "C1", "hoyer": "C2", "erank": "C3"}
    for ax, net in zip(axes[0], nets, strict=True):
        rows = [r for r in agg[net] if r["tau"] is not None]
        for measure in ["none"] + MEASURES:
            pts = [r for r in rows if r["measure"] == measure]
            if not pts:
                continue
            cr = np.array([r["compression_mean"] for r in pts])
            acc = np.array([r["test_mean"] for r in pts]) * 100
            low = acc - np.array([r["test_min"] for r in pts]) * 100
            high = np.array([r["test_max"] for r in pts]) * 100 - acc
            ax.errorbar(cr, acc, yerr=[low, high], fmt="o", ms=3, alpha=0.35, color=colors[measure])
            # frontier chosen on validation: best compression at each validation level
            front = []
            for level in LEVELS:
                e = best[net][str(level)]["by_measure"].get(measure)
                if e is not None:
                    front.append((e["compression"], e["test_mean"] * 100))
            front = sorted(set(front))
            if front:
                fx, fy = zip(*front, strict=True)
                ax.plot(fx, fy, "-", color=colors[measure], lw=2, label=measure)
        dense = [r for r in agg[net] if r["measure"] == "none" and r["tau"] is None]
        if dense:
            ax.axhline(dense[0]["test_mean"] * 100, color="k", ls="--", lw=1, label="dense")
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%gx"))
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel("compression ratio (parameters); bars: min-max over seeds")
        ax.set_ylabel("test accuracy (%)")
        ax.set_ylim(max(85, ax.get_ylim()[0]), 100)
        ax.set_title(net)
        ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


def plot_lorenz(path: Path) -> None:
    """Lorenz curves of a few vectors, labelled with their Gini, Hoyer and effective rank."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(f"matplotlib is not installed: skipping the plot {path}", file=sys.stderr)
        return
    examples = {
        "equal (1, 1, 1, 1, 1)": np.ones(5),
        "survey (1, 2, 3, 4, 10)": np.array([1.0, 2.0, 3.0, 4.0, 10.0]),
        "geometric (1, 2, 4, 8, 16)": 2.0 ** np.arange(5),
        "one-hot (0, 0, 0, 0, 1)": np.eye(5)[4],
    }
    fig, ax = plt.subplots(figsize=(5.5, 5))
    for label, x in examples.items():
        frac, share = measures.lorenz_curve(x)
        text = (
            f"{label}: G={float(measures.gini_index(x)):.2f}, "
            f"H={float(measures.hoyer(x)):.2f}, erank={float(measures.effective_rank(x)):.2f}"
        )
        ax.plot(frac, share, "o-", ms=3, label=text)
    ax.set_xlabel("fraction of entries (smallest first)")
    ax.set_ylabel("share of the total magnitude")
    ax.set_title("Lorenz curves: Gini = 1 - 2 x area below the curve")
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


# ------------------------------------------------------------------------------ main
def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="MNIST folder (default: search/cache)")
    parser.add_argument("--quick", action="store_true", help="small smoke protocol (minutes)")
    parser.add_argument("--nets", nargs="+", default=NETS, choices=NETS)
    parser.add_argument("--seeds", nargs="+", type=int)
    parser.add_argument("--lambdas", nargs="+", type=float)
    parser.add_argument("--taus", nargs="+", type=float)
    parser.add_argument("--warmup-epochs", type=int)
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--n-train", type=int, help="training images used (of 55,000)")
    parser.add_argument("--lr", type=float, default=2e-3, help="Adam rate of the branches")
    parser.add_argument("--warmup-lr", type=float, default=0.05, help="SGD rate of the warm-up")
    parser.add_argument("--orth", type=float, default=1.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", default="benchmarks/results/sparsity_measures.json")
    parser.add_argument("--png", default="docs/guide/img/sparsity_measures.png")
    parser.add_argument("--plot-only", default=None, help="re-analyse and re-plot a JSON")
    args = parser.parse_args(argv)

    if args.plot_only:  # re-analyse the recorded jobs (deterministic), rewrite, re-plot
        path = Path(args.plot_only)
        result = json.loads(path.read_text())
        result["aggregate"] = aggregate(result["jobs"])
        result["best_at_levels"] = best_at_levels(result["aggregate"])
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(result, indent=1))
        tmp.replace(path)
        print_summary(result["best_at_levels"], result["aggregate"])
        plot(result, Path(args.png))
        plot_lorenz(Path(args.png).with_name("lorenz_curves.png"))
        return

    cfg = dict(QUICK if args.quick else FULL)
    for key in ("seeds", "lambdas", "taus", "warmup_epochs", "epochs", "n_train"):
        value = getattr(args, key)
        if value is not None:
            cfg[key] = value
    cfg.update(
        lr=args.lr, warmup_lr=args.warmup_lr, orth=args.orth, orth_every=ORTH_EVERY, batch_size=128
    )

    (x_all, y_all), (x_te, y_te) = load_mnist(args.data, download=False)
    x_val, y_val = x_all[55000:], y_all[55000:]
    x_tr, y_tr = x_all[: cfg["n_train"]], y_all[: cfg["n_train"]]
    DATA["splits"] = ((x_tr, y_tr), (x_val, y_val), (x_te, y_te))

    load_start = os.getloadavg()
    start = time.perf_counter()
    jobs = [{"net": net, "seed": seed, "config": cfg} for seed in cfg["seeds"] for net in args.nets]
    done: list[dict] = []

    def save() -> dict:
        seconds = time.perf_counter() - start
        load_end = os.getloadavg()
        return write_result(args, argv, cfg, done, jobs, load_start, load_end, seconds)

    if args.workers > 1:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=args.workers, mp_context=context) as pool:
            for future in as_completed([pool.submit(run_job, job) for job in jobs]):
                done.append(future.result())
                result = save()
    else:
        for job in jobs:
            done.append(run_job(job))
            result = save()
    print_summary(result["best_at_levels"], result["aggregate"])
    plot(result, Path(args.png))


def write_result(args, argv, cfg, done, jobs, load_start, load_end, seconds) -> dict:
    """Aggregate the finished jobs and write the JSON atomically (after every job)."""
    done = sorted(done, key=lambda j: (j["net"], j["seed"]))
    agg = aggregate(done)
    best = best_at_levels(agg)
    result = {
        "experiment": "sparsity_measures",
        "command": "python "
        + " ".join([sys.argv[0], *(argv if argv is not None else sys.argv[1:])]),
        "protocol": {
            **cfg,
            "nets": args.nets,
            "measures": MEASURES,
            "warmup": "dense network, SGD momentum 0.9, then exact SVD re-parameterization",
            "optimizer": "branches: Adam (constant rate) on U, s, V",
            "validation": "last 5,000 training images",
            "workers": args.workers,
        },
        "loadavg_start": load_start,
        "loadavg_end": load_end,
        "wall_seconds": seconds,
        "timing_flag": "loaded" if max(load_start[0], load_end[0]) > 2.5 else "idle",
        "jobs_done": f"{len(done)} of {len(jobs)}",
        "jobs": done,
        "aggregate": agg,
        "best_at_levels": best,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=1))
    tmp.replace(out)
    print(f"wrote {out} ({len(done)} of {len(jobs)} jobs, {seconds:.0f} s)", flush=True)
    return result


if __name__ == "__main__":
    main()
