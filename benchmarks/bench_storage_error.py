"""Storage vs relative error of HT, TT, TR, Tucker, GKPD, STT, STTucker (survey Tables III-IV).

Three inputs:

* ``tt8``: an 8-way tensor of shape ``4^8`` with known TT ranks 4 (random Gaussian cores),
  normalized, plus Gaussian noise of relative size ``1e-3``. TT, TR, HT and STT can reach the
  noise level with few parameters; Tucker's core grows as ``R^8``.
  ``HT-eps`` / ``TT-eps`` pick the ranks per node from an error bound instead of a uniform cap
  (a balanced HT tree needs rank ``r^2`` at the middle nodes of a TT-structured tensor).
* ``fc784x300`` and ``fc300x100``: stand-ins for the two largest LeNet-300-100 weight matrices,
  ``W = U diag(s) V^T`` with random orthonormal ``U, V`` and a power-law spectrum
  ``s_i = (i + 1)^-1`` (no trained weights are used). The tensor formats see the TT-matrix
  interleaving ``W[(i_1..i_d), (j_1..j_d)] -> T[(i_1 j_1), ..., (i_d j_d)]``, with input modes
  ``(4, 7, 4, 7)`` / ``(3, 4, 5, 5)`` and output modes ``(3, 4, 5, 5)`` / ``(2, 2, 5, 5)``.
  GKPD and the truncated SVD work on the matrix itself.

For every method and rank the script records the parameter count, the compression ratio, the
relative Frobenius error (measured against the dense input) and the median time of
``--repeats`` runs after one warm-up. Peer: TT-SVD is also timed with
``tensorly.decomposition.tensor_train`` (the same algorithm) in the same rounds, alternating
with ours, and the ratio ``peer / ours`` is reported. HT, GKPD and the STP formats have no
Python peer. BLAS is limited to one thread so that timings on a shared machine are comparable;
the threadpoolctl report is saved.

Usage::

    python benchmarks/bench_storage_error.py [--repeats 5] [--quick] [--plot]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import threadpoolctl

from tensornet.decompositions import (
    gkpd,
    hosvd,
    ht_svd,
    st_tucker,
    stt_svd,
    tr_svd,
    truncated_svd,
    tt_svd,
)

RESULTS = Path(__file__).parent / "results" / "storage_error.json"


# ------------------------------------------------------------------------------ inputs
def tt_structured(shape: tuple[int, ...], rank: int, noise: float, seed: int) -> np.ndarray:
    """A random TT tensor with all inner ranks ``rank``, unit norm, plus relative noise.

    Parameters
    ----------
    shape : tuple of int
        Tensor shape.
    rank : int
        TT rank of the signal.
    noise : float
        Relative Frobenius size of the added Gaussian noise.
    seed : int
        Seed.

    Returns
    -------
    numpy.ndarray
    """
    rng = np.random.default_rng(seed)
    ranks = [1] + [rank] * (len(shape) - 1) + [1]
    x = np.ones((1, 1))
    for k, n in enumerate(shape):
        core = rng.standard_normal((ranks[k], n * ranks[k + 1]))
        x = (x @ core).reshape(-1, ranks[k + 1])
    x = x.reshape(shape)
    x /= np.linalg.norm(x)
    e = rng.standard_normal(shape)
    return x + noise * e / np.linalg.norm(e)


def decaying_matrix(m: int, n: int, seed: int) -> np.ndarray:
    """``U diag((i+1)^-1) V^T`` with random orthonormal ``U`` (m x k), ``V`` (n x k), k = min.

    Parameters
    ----------
    m, n : int
        Matrix shape.
    seed : int
        Seed.

    Returns
    -------
    numpy.ndarray, shape (m, n)
    """
    rng = np.random.default_rng(seed)
    k = min(m, n)
    u, _ = np.linalg.qr(rng.standard_normal((m, k)))
    v, _ = np.linalg.qr(rng.standard_normal((n, k)))
    s = 1.0 / (np.arange(k) + 1.0)
    return (u * s) @ v.T


def interleave(w: np.ndarray, in_modes: tuple[int, ...], out_modes: tuple[int, ...]) -> np.ndarray:
    """TT-matrix interleaving of ``w`` (shape ``(prod in, prod out)``) into ``(in_k out_k)_k``.

    Parameters
    ----------
    w : numpy.ndarray
        The matrix.
    in_modes, out_modes : tuple of int
        Factorizations of the row and column counts (same length).

    Returns
    -------
    numpy.ndarray
    """
    d = len(in_modes)
    t = w.reshape(in_modes + out_modes)
    order = [a for k in range(d) for a in (k, d + k)]
    return t.transpose(order).reshape([i * o for i, o in zip(in_modes, out_modes, strict=True)])


# ------------------------------------------------------------------------------ timing
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


def tensorly_tt(x: np.ndarray, rank: int) -> Callable[[], Any]:
    """The tensorly TT-SVD with all inner ranks ``rank`` (capped like ours), as a callable.

    Parameters
    ----------
    x : numpy.ndarray
        The tensor.
    rank : int
        Inner TT rank cap.

    Returns
    -------
    callable
    """
    import tensorly as tl
    from tensorly.decomposition import tensor_train

    tl.set_backend("numpy")
    shape = x.shape
    d = len(shape)
    caps = [1]
    for k in range(1, d):
        left = int(np.prod(shape[:k]))
        right = int(np.prod(shape[k:]))
        caps.append(min(rank, left, right, caps[-1] * shape[k - 1]))
    caps.append(1)
    return lambda: tensor_train(x, caps)


# ------------------------------------------------------------------------------ runs
def run_case(
    name: str,
    x: np.ndarray,
    methods: dict[str, tuple[Callable, list[dict]]],
    repeats: int,
    matrix: np.ndarray | None = None,
) -> list[dict[str, Any]]:
    """Run every method at every setting on one input and collect rows.

    Parameters
    ----------
    name : str
        Case name.
    x : numpy.ndarray
        The tensor the tensor formats see.
    methods : dict
        ``method -> (function, list of keyword dicts)``; a function marked ``on_matrix`` gets
        ``matrix`` instead of ``x``.
    repeats : int
        Timing rounds.
    matrix : numpy.ndarray, optional
        The matrix for GKPD and the SVD baseline.

    Returns
    -------
    list of dict
    """
    rows = []
    for method, (func, settings) in methods.items():
        data = matrix if getattr(func, "on_matrix", False) else x
        for kwargs in settings:
            result = func(data, **kwargs)
            ours = lambda func=func, data=data, kwargs=kwargs: func(data, **kwargs)  # noqa: E731
            funcs = {"ours": ours}
            if method == "TT":
                funcs["tensorly"] = tensorly_tt(data, kwargs["ranks"])
            timing = time_alternating(funcs, repeats)
            row = {
                "case": name,
                "method": method,
                "setting": {k: v for k, v in kwargs.items()},
                "ranks": list(result.ranks) if hasattr(result, "ranks") else None,
                "n_params": int(result.n_params),
                "compression": float(data.size / result.n_params),
                "rel_error": float(result.relative_error(data)),
                "seconds": timing["ours"],
            }
            if "tensorly" in timing:
                row["peer"] = "tensorly.decomposition.tensor_train"
                row["peer_seconds"] = timing["tensorly"]
                row["peer_over_ours"] = timing["tensorly"] / timing["ours"]
            rows.append(row)
            print(
                f"{name:11s} {method:9s} {str(row['setting']):38s} params={row['n_params']:8d} "
                f"err={row['rel_error']:.3e} t={row['seconds'] * 1e3:8.2f} ms"
                + (f"  tensorly/ours={row['peer_over_ours']:.2f}" if "peer" in row else ""),
                flush=True,
            )
    return rows


class _MatrixSVD:
    """Truncated SVD of a matrix as a 'format' with n_params and relative_error (baseline)."""

    on_matrix = True

    def __call__(self, m: np.ndarray, rank: int) -> _MatrixSVD:
        u, s, vt = truncated_svd(m, rank=rank)
        out = _MatrixSVD()
        out.approx = (u * s) @ vt
        out.n_params = u.size + s.size + vt.size
        out.ranks = (len(s),)
        return out

    def relative_error(self, m: np.ndarray) -> float:
        """Relative Frobenius error against ``m``.

        Parameters
        ----------
        m : numpy.ndarray
            The reference matrix.

        Returns
        -------
        float
        """
        return float(np.linalg.norm(m - self.approx) / np.linalg.norm(m))


def _on_matrix(func: Callable) -> Callable:
    def wrapped(m: np.ndarray, **kwargs: Any) -> Any:
        return func(m, **kwargs)

    wrapped.on_matrix = True  # type: ignore[attr-defined]
    return wrapped


def _tucker(x: np.ndarray, ranks: int) -> Any:
    return hosvd(x, [min(ranks, n) for n in x.shape])


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark and write ``results/storage_error.json``.

    Parameters
    ----------
    argv : list of str, optional
        Command-line arguments.

    Returns
    -------
    dict
        The JSON document.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="fewer ranks (smoke test)")
    parser.add_argument("--plot", action="store_true", help="also save a PNG (matplotlib)")
    args = parser.parse_args(argv)
    repeats = max(args.repeats, 5)

    def pick(values: list[int]) -> list[int]:
        return values[:2] if args.quick else values

    rows: list[dict[str, Any]] = []
    load_before = os.getloadavg()
    with threadpoolctl.threadpool_limits(1):
        x8 = tt_structured((4,) * 8, rank=4, noise=1e-3, seed=0)
        rows += run_case(
            "tt8",
            x8,
            {
                "HT": (ht_svd, [{"ranks": k} for k in pick([1, 2, 3, 4, 6, 8, 12, 16])]),
                "HT-eps": (ht_svd, [{"eps": e} for e in pick([0.5, 0.3, 0.1, 0.01])]),
                "TT": (tt_svd, [{"ranks": k} for k in pick([1, 2, 3, 4, 5, 6])]),
                "TT-eps": (tt_svd, [{"eps": e} for e in pick([0.5, 0.3, 0.1, 0.01])]),
                "TR": (tr_svd, [{"ranks": k} for k in pick([1, 2, 3, 4, 6])]),
                "Tucker": (_tucker, [{"ranks": k} for k in pick([1, 2, 3, 4])]),
                "GKPD": (
                    gkpd,
                    [{"a_shape": (2,) * 8, "rank": r} for r in pick([1, 2, 4, 8, 16, 32, 64])],
                ),
                "STT": (stt_svd, [{"ranks": 2 * k, "t": 2} for k in pick([1, 2, 3, 4, 5, 6])]),
                "STTucker": (st_tucker, [{"ranks": r, "t": 2} for r in pick([2, 4])]),
            },
            repeats,
        )
        for name, (m, n), in_modes, out_modes, a_shape in [
            ("fc784x300", (784, 300), (4, 7, 4, 7), (3, 4, 5, 5), (28, 15)),
            ("fc300x100", (300, 100), (3, 4, 5, 5), (2, 2, 5, 5), (15, 10)),
        ]:
            w = decaying_matrix(m, n, seed=1)
            t = interleave(w, in_modes, out_modes)
            rows += run_case(
                name,
                t,
                {
                    "SVD": (_MatrixSVD(), [{"rank": r} for r in pick([5, 10, 20, 50, 100])]),
                    "HT": (ht_svd, [{"ranks": k} for k in pick([2, 4, 8, 16, 32, 64])]),
                    "TT": (tt_svd, [{"ranks": k} for k in pick([2, 4, 8, 16, 32, 64])]),
                    "TR": (tr_svd, [{"ranks": k} for k in pick([2, 4, 8, 16])]),
                    "Tucker": (_tucker, [{"ranks": k} for k in pick([2, 4, 8, 12, 25])]),
                    "GKPD": (
                        _on_matrix(gkpd),
                        [{"a_shape": a_shape, "rank": r} for r in pick([1, 2, 4, 8, 16, 32, 64])],
                    ),
                    "STT": (stt_svd, [{"ranks": 2 * k, "t": 2} for k in pick([2, 4, 8, 16, 32])]),
                },
                repeats,
                matrix=w,
            )
        pools = threadpoolctl.threadpool_info()
    doc = {
        "benchmark": "storage_error",
        "description": (
            "storage (n_params) vs relative Frobenius error per method and rank; seconds are "
            "medians of repeated runs after a warm-up, BLAS limited to 1 thread"
        ),
        "repeats": repeats,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "threadpoolctl": pools,
        "load_average_before": list(load_before),
        "load_average_after": list(os.getloadavg()),
        "rows": rows,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(doc, indent=1))
    if args.plot:
        _plot(rows, RESULTS.with_suffix(".png"))
    print(json.dumps(doc, indent=1))
    return doc


def _plot(rows: list[dict[str, Any]], path: Path) -> None:
    """Storage-error curves, one panel per case (needs matplotlib)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # optional
        print("matplotlib not available: no plot")
        return
    cases = list(dict.fromkeys(r["case"] for r in rows))
    fig, axes = plt.subplots(1, len(cases), figsize=(5 * len(cases), 4))
    for ax, case in zip(np.atleast_1d(axes), cases, strict=True):
        for method in dict.fromkeys(r["method"] for r in rows if r["case"] == case):
            pts = sorted(
                (r["n_params"], r["rel_error"])
                for r in rows
                if r["case"] == case and r["method"] == method
            )
            ax.loglog(*zip(*pts, strict=True), marker="o", label=method)
        ax.set_title(case)
        ax.set_xlabel("parameters")
        ax.set_ylabel("relative error")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"plot written to {path}")


if __name__ == "__main__":
    main()
