"""Benchmark TT-SVD, TR-SVD and TR-ALS against TensorLy and teneva; write ``results/tt_tr.json``.

Inputs are built from random Gaussian cores (TT ranks capped by the shape), normalized, with and
without Gaussian noise of relative size ``1e-6``:

* ``(16,)*6`` TT rank 8, ``(4,)*12`` TT rank 6, ``(64,)*4`` TT rank 10.

For each input and the same rank cap, ``tensornet.tt_svd`` is timed against
``tensorly.decomposition.tensor_train`` and ``teneva.svd`` (its TT-SVD) and against the
**floor**: the time to form the first unfolding's Gram matrix ``X_(1) X_(1)^T`` (one pass over
the tensor) as NumPy forms it (``x1 @ x1.T``, OpenBLAS ``syrk``); the time of
:func:`tensornet.algebra.gram` (the Numba kernel ``tt_svd`` itself uses) is recorded too, as a
stricter floor. Fair protocol (``benchmarks/_fair.py``): every method runs in its own
processes (one warm-up call, then ``--calls`` timed calls), the processes alternate in rotating
order for ``--rounds`` rounds, the peers run again alone, and ``fair_check`` records the
spread, the load flag and the peers' alone/alternating ratio; Numba runs on as many threads as
BLAS. Relative errors are measured against the input (outside the timed processes).

An ``eps`` sweep (``1e-3 .. 1e-12`` noise-free; ``1e-3, 1e-5`` with noise, since below
the noise level the decomposition keeps the noise at full rank) on the 16^6 tensors checks the
error bound.

TR: a ``12^6`` tensor built from random TR cores of rank 4. ``tr_als`` (SVD init, run to
convergence) is timed (same protocol) against ``tensorly.decomposition.tensor_ring_als``
(random init, its defaults except ``n_iter_max``, which is limited because one TensorLy sweep
takes seconds) and the errors are compared; ``tr_svd(eps=...)`` is shown to succeed where
TensorLy's rank-only ``tensor_ring`` rejects the true ranks ``(4, ..., 4)`` because
``r_0 r_1 = 16 > n_1 = 12``.

Kernels: the Numba batched gather of ``TTTensor.gather`` vs the NumPy batched-einsum gather, and
``TTMatrix.matmat`` (core-by-core BLAS ``tensordot``) vs ``numpy.einsum`` with the same
core-by-core pairwise path, plus a reference that forms the dense ``W`` first (not allowed for a
TT layer, listed to show when the TT contraction pays off); both kernels in the same protocol.

Gram step: the two paths of one truncation step (LAPACK's SVD and the Gram matrix) on shapes
around the dispatch thresholds of :mod:`tensornet.algebra.truncation`.

BLAS is limited to ``--blas-threads`` threads (default 1: the machine is shared; the peers run
under the same limit). The threadpoolctl report and load averages are saved.

Usage::

    python benchmarks/bench_tt_tr.py [--repeats 5] [--rounds 3] [--calls 3] [--quick]
        [--blas-threads 1] [--parts kernels,tt_svd,tt_svd_eps,tr,gram_step]

``--repeats`` is the number of in-process rounds of the parts without a peer (``tt_svd_eps``,
``gram_step``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _fair  # noqa: E402
import numba  # noqa: E402
import numpy as np  # noqa: E402
import threadpoolctl  # noqa: E402

from tensornet.algebra import gram  # noqa: E402
from tensornet.decompositions import tr_als, tr_svd, tt_svd  # noqa: E402
from tensornet.formats import TRTensor, TTMatrix, TTTensor  # noqa: E402
from tensornet.formats.tt import tt_max_ranks  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "tt_tr.json"
TT_CASES = [((16,) * 6, 8), ((4,) * 12, 6), ((64,) * 4, 10)]
NOISE = 1e-6


# ------------------------------------------------------------------------------ inputs
def tt_tensor(shape: tuple[int, ...], rank: int, noise: float, seed: int = 0) -> np.ndarray:
    """Dense tensor from random TT cores of rank ``rank`` (capped by the shape), unit norm, plus
    Gaussian noise of relative size ``noise``.

    Parameters
    ----------
    shape : tuple of int
        The shape.
    rank : int
        TT rank cap.
    noise : float
        Relative noise level.
    seed : int
        Seed.

    Returns
    -------
    numpy.ndarray
    """
    rng = np.random.default_rng(seed)
    ranks = [1] + [min(rank, b) for b in tt_max_ranks(shape)] + [1]
    cores = [rng.standard_normal((ranks[k], n, ranks[k + 1])) for k, n in enumerate(shape)]
    x = TTTensor(cores, copy=False).full(max_elements=None)
    x /= np.linalg.norm(x)
    if noise:
        e = rng.standard_normal(x.shape)
        x += noise * e / np.linalg.norm(e)
    return x


def tr_tensor(shape: tuple[int, ...], rank: int, seed: int = 0) -> np.ndarray:
    """Dense unit-norm tensor from random TR cores of rank ``rank``.

    Parameters
    ----------
    shape : tuple of int
        The shape.
    rank : int
        TR rank (all ranks equal).
    seed : int
        Seed.

    Returns
    -------
    numpy.ndarray
    """
    rng = np.random.default_rng(seed)
    x = TRTensor([rng.standard_normal((rank, n, rank)) for n in shape], copy=False).full(
        max_elements=None
    )
    return x / np.linalg.norm(x)


def rel_error(approx: np.ndarray, x: np.ndarray) -> float:
    """``||approx - x|| / ||x||``.

    Parameters
    ----------
    approx, x : numpy.ndarray
        Arrays of equal shape.

    Returns
    -------
    float
    """
    return float(np.linalg.norm((approx - x).ravel()) / np.linalg.norm(x.ravel()))


# ------------------------------------------------------------------------------ timing
def time_rounds(funcs: dict[str, Callable[[], Any]], repeats: int) -> dict[str, float]:
    """Median seconds per call of each function: one warm-up, then rotating-order rounds.

    Parameters
    ----------
    funcs : dict
        Name -> zero-argument callable.
    repeats : int
        Number of rounds.

    Returns
    -------
    dict
        Name -> median seconds.
    """
    for f in funcs.values():
        f()
    names = list(funcs)
    samples: dict[str, list[float]] = {n: [] for n in names}
    for i in range(repeats):
        order = names[i % len(names) :] + names[: i % len(names)]
        for n in order:
            t0 = time.perf_counter()
            funcs[n]()
            samples[n].append(time.perf_counter() - t0)
    return {n: statistics.median(v) for n, v in samples.items()}


# ------------------------------------------------------------------------------ fair protocol
#: Set by main(): rounds, threads and calls per process of the one-process-per-side timings.
FAIR = {"rounds": 3, "threads": 1, "calls": 3}


def _side_function(spec: dict[str, Any]) -> Callable[[], Any]:
    """Inside a worker: the zero-argument call of ``spec["method"]`` on the case's input."""
    part, method = spec["part"], spec["method"]
    if part == "tt_svd":
        shape, rank = TT_CASES[spec["case"]]
        x = tt_tensor(tuple(shape), rank, spec["noise"])
        x1 = x.reshape(shape[0], -1)
        if method == "tensorly":
            from tensorly.decomposition import tensor_train

            return lambda: tensor_train(x, rank=rank)
        if method == "teneva":
            import teneva

            return lambda: teneva.svd(x, e=1e-14, r=rank)
        return {
            "floor_gram": lambda: x1 @ x1.T,
            "gram_kernel": lambda: gram(x1),
            "tensornet": lambda: tt_svd(x, ranks=rank),
        }[method]
    if part == "tr":
        x = tr_tensor((12,) * 6, 4)
        if method == "tensorly_tensor_ring_als":
            from tensorly.decomposition import tensor_ring_als

            n_iter = spec["tl_iters"]
            return lambda: tensor_ring_als(x, rank=4, n_iter_max=n_iter, random_state=0)
        return lambda: tr_als(x, ranks=4, random_state=0)
    if part == "gather":
        tt, idx = _gather_case()
        return (lambda: tt.gather(idx)) if method == "numba" else (
            lambda: gather_numpy(tt.cores, idx)
        )  # fmt: skip
    if part == "matmat":
        funcs = _matmat_case()[0]
        return funcs[method]
    raise ValueError(f"unknown part {part!r}")


def run_worker(spec: dict[str, Any]) -> dict[str, Any]:
    """Entry point of a worker process: warm up, then time ``spec["calls"]`` calls."""
    _fair.limit_threads(spec["threads"])
    numba.set_num_threads(min(spec["threads"], numba.config.NUMBA_NUM_THREADS))
    fun = _side_function(spec)
    fun()
    times = []
    for _ in range(spec["calls"]):
        t0 = time.perf_counter()
        fun()
        times.append(time.perf_counter() - t0)
    return {"ms": 1e3 * statistics.median(times), "ms_min": 1e3 * min(times)}


def fair_times(
    part: str, methods: list[str], peers: tuple[str, ...], **case: Any
) -> tuple[dict[str, float], dict[str, Any]]:
    """Median ms per method, each method in its own processes (``_fair.alternate``)."""
    base = {"part": part, "threads": FAIR["threads"], "calls": FAIR["calls"], **case}
    sides = {m: {**base, "method": m} for m in methods}
    res = _fair.alternate(
        __file__, sides, FAIR["rounds"], FAIR["threads"], alone=peers, key="ms"
    )  # fmt: skip
    ms = {m: res[m]["ms"]["median"] for m in methods}
    check = {
        "spread": {m: round(res[m]["ms"]["spread"], 3) for m in methods},
        "loaded": any(res[m]["loaded"] for m in methods),
        "peer_alone_over_alternating": {
            m: round(res[m]["alone_over_alternating"], 3) for m in peers
        },
    }
    return ms, check


# ------------------------------------------------------------------------------ TT-SVD
def bench_tt(repeats: int, quick: bool) -> list[dict[str, Any]]:
    """TT-SVD vs TensorLy vs teneva vs the Gram floor on the TT cases.

    Parameters
    ----------
    repeats : int
        Rounds per case.
    quick : bool
        Only the first case.

    Returns
    -------
    list of dict
    """
    import teneva
    from tensorly.decomposition import tensor_train

    rows = []
    methods = ["floor_gram", "gram_kernel", "tensornet", "tensorly", "teneva"]
    for case, (shape, rank) in enumerate(TT_CASES[:1] if quick else TT_CASES):
        for noise in (NOISE, 0.0):
            x = tt_tensor(shape, rank, noise)
            ms, check = fair_times(
                "tt_svd", methods, ("tensorly", "teneva"), case=case, noise=noise
            )  # fmt: skip
            secs = {k: v / 1e3 for k, v in ms.items()}
            ours = tt_svd(x, ranks=rank)
            tl = tensor_train(x, rank=rank)
            tv = teneva.svd(x, e=1e-14, r=rank)
            row = {
                "case": f"{shape[0]}^{len(shape)} rank {rank}",
                "noise": noise,
                "ms": {k: 1e3 * v for k, v in secs.items()},
                "rel_error": {
                    "tensornet": rel_error(ours.full(max_elements=None), x),
                    "tensorly": rel_error(tl.to_tensor(), x),
                    "teneva": rel_error(teneva.full(tv), x),
                },
                "tensornet_reported_error": ours.info["rel_error"],
                "ranks": list(ours.ranks),
                "ours_over_tensorly": secs["tensornet"] / secs["tensorly"],
                "ours_over_teneva": secs["tensornet"] / secs["teneva"],
                "ours_over_floor": secs["tensornet"] / secs["floor_gram"],
                "ours_over_gram_kernel": secs["tensornet"] / secs["gram_kernel"],
                "fair_check": check,
            }
            print(json.dumps(row), flush=True)
            rows.append(row)
    return rows


def bench_gram_step(repeats: int) -> list[dict[str, Any]]:
    """The regimes of the truncation step: LAPACK's SVD vs the Gram path, per matrix shape.

    Times one rank-capped step (cap 8) and one ``delta`` step (``delta = 1e-12 ||C||``, the
    exact row-norm regime) of :func:`tensornet.algebra.truncation.leading_subspace` by both
    paths, on shapes around the thresholds ``SMALL_SIZE``, ``WIDE_RATIO`` and
    ``GRAM_MIN_ROWS``, and records which path the dispatch takes.

    Parameters
    ----------
    repeats : int
        Rounds per shape.

    Returns
    -------
    list of dict
    """
    from tensornet.algebra import truncation as tr

    rng = np.random.default_rng(0)
    shapes = [(32, 1024), (32, 4096), (16, 8192), (64, 128), (96, 192), (128, 256), (128, 384)]
    shapes += [(192, 1600), (256, 300), (640, 4096)]
    rows = []
    for shape in shapes:
        c = rng.standard_normal(shape)
        delta = 1e-12 * float(np.linalg.norm(c))
        funcs = {
            "svd_capped": lambda c=c: tr._svd_subspace(c, 8, None),
            "gram_capped": lambda c=c: tr._capped_gram_subspace(c, gram(c), 8, None),
            "svd_delta": lambda c=c, dl=delta: tr._svd_subspace(c, None, dl),
            "gram_delta": lambda c=c, dl=delta: tr._budget_gram_subspace(c, gram(c), None, dl),
        }
        secs = time_rounds(funcs, repeats)
        row = {
            "shape": list(shape),
            "ms": {k: 1e3 * v for k, v in secs.items()},
            "dispatch_takes_gram_path": tr.uses_gram_path(shape),
        }
        print(json.dumps(row), flush=True)
        rows.append(row)
    return rows


def bench_eps(repeats: int) -> list[dict[str, Any]]:
    """The ``eps`` bound of ``tt_svd`` down to ``eps = 1e-12`` on the 16^6 tensors.

    Parameters
    ----------
    repeats : int
        Rounds for the timing.

    Returns
    -------
    list of dict
    """
    rows = []
    # below the noise level (1e-6) the noise is kept: full ranks, a TT as large as the tensor
    for noise, epsilons in ((0.0, (1e-3, 1e-6, 1e-9, 1e-12)), (NOISE, (1e-3, 1e-5))):
        x = tt_tensor((16,) * 6, 8, noise)
        for eps in epsilons:
            secs = time_rounds({"tensornet": lambda x=x, e=eps: tt_svd(x, eps=e)}, repeats)
            tt = tt_svd(x, eps=eps)
            err = rel_error(tt.full(max_elements=None), x)
            row = {
                "case": "16^6 rank 8",
                "noise": noise,
                "eps": eps,
                "rel_error": err,
                "bound_held": bool(err <= eps),
                "ranks": list(tt.ranks),
                "ms": 1e3 * secs["tensornet"],
            }
            print(json.dumps(row), flush=True)
            rows.append(row)
    return rows


# ------------------------------------------------------------------------------ TR
def bench_tr(repeats: int, tl_iters: int) -> dict[str, Any]:
    """TR-ALS vs TensorLy's tensor_ring_als; TR-SVD with eps vs TensorLy's rank-only TR-SVD.

    Parameters
    ----------
    repeats : int
        Rounds for the timings.
    tl_iters : int
        ``n_iter_max`` given to TensorLy (each of its sweeps takes seconds).

    Returns
    -------
    dict
    """
    import tensorly as tl
    from tensorly.decomposition import tensor_ring, tensor_ring_als

    x = tr_tensor((12,) * 6, 4)
    ms, check = fair_times(
        "tr", ["tensornet_tr_als", "tensorly_tensor_ring_als"], ("tensorly_tensor_ring_als",),
        tl_iters=tl_iters,
    )  # fmt: skip
    secs = {k: v / 1e3 for k, v in ms.items()}
    ours = tr_als(x, ranks=4, random_state=0)
    peer = tensor_ring_als(x, rank=4, n_iter_max=tl_iters, random_state=0)
    peer_err = rel_error(tl.tr_to_tensor(peer), x)
    als = {
        "case": "12^6 TR rank 4",
        "ms": {k: 1e3 * v for k, v in secs.items()},
        "rel_error": {"tensornet_tr_als": ours.info["rel_error"], "tensorly": peer_err},
        "tensornet_sweeps": ours.info["n_iter"],
        "tensorly_n_iter_max": tl_iters,
        "ours_over_tensorly": secs["tensornet_tr_als"] / secs["tensorly_tensor_ring_als"],
        "error_equal_or_lower": bool(ours.info["rel_error"] <= peer_err),
        "fair_check": check,
    }
    print(json.dumps(als), flush=True)
    try:
        tensor_ring(x, rank=[4] * 7)
        peer_svd = "accepted"
    except Exception as exc:  # noqa: BLE001 - we record whatever the peer raises
        peer_svd = f"{type(exc).__name__}: {exc}"
    t0 = time.perf_counter()
    ours_svd = tr_svd(x, eps=1e-10)
    svd = {
        "tensorly_tensor_ring_rank_4": peer_svd,
        "tensornet_tr_svd_eps_1e-10": {
            "rel_error": rel_error(ours_svd.full(max_elements=None), x),
            "ranks": list(ours_svd.ranks),
            "ms": 1e3 * (time.perf_counter() - t0),
        },
    }
    print(json.dumps(svd), flush=True)
    return {"tr_als": als, "tr_svd": svd}


# ------------------------------------------------------------------------------ kernels
def gather_numpy(cores: list[np.ndarray], index: np.ndarray) -> np.ndarray:
    """The peer of ``TTTensor.gather``: one batched matrix product per core (NumPy einsum)."""
    vec = np.ones((index.shape[0], 1))
    for k, g in enumerate(cores):
        slices = g[:, index[:, k], :].transpose(1, 0, 2)  # (B, r_{k-1}, r_k)
        vec = np.einsum("br,brs->bs", vec, slices)
    return vec[:, 0]


def _gather_case() -> tuple[TTTensor, np.ndarray]:
    """A 16^6 TT tensor of rank 8 and 100 000 random multi-indices (seeded)."""
    rng = np.random.default_rng(0)
    shape, rank = (16,) * 6, 8
    ranks = [1] + [rank] * 5 + [1]
    tt = TTTensor([rng.standard_normal((ranks[k], 16, ranks[k + 1])) for k in range(6)])
    idx = np.stack([rng.integers(0, 16, 100_000) for _ in shape], axis=1)
    return tt, idx


def _matmat_case() -> tuple[dict[str, Callable[[], np.ndarray]], TTMatrix, np.ndarray]:
    """``TTMatrix.matmat`` and its einsum peers on B=256, modes (4,8,8,4)x(4,8,8,4), rank 8."""
    rng = np.random.default_rng(0)
    ins, outs, r = (4, 8, 8, 4), (4, 8, 8, 4), [1, 8, 8, 8, 1]
    w = TTMatrix([rng.standard_normal((r[k], ins[k], outs[k], r[k + 1])) for k in range(4)])
    x = rng.standard_normal((256, 1024))
    letters = "abcdefghijklmnopqrstuvwxyz"
    ranks_l, in_l, out_l = letters[:5], letters[5:9], letters[9:13]
    spec = ",".join(f"{ranks_l[k]}{in_l[k]}{out_l[k]}{ranks_l[k + 1]}" for k in range(4))
    spec = f"Z{in_l}," + spec + f"->Z{out_l}"
    xt = x.reshape((256,) + ins)
    sequential = ["einsum_path"] + [(0, 1)] * 4  # the same core-by-core order as the sweep
    cores_first = ["einsum_path", (1, 2), (1, 2), (1, 2), (0, 1)]  # forms W (reference only)
    funcs = {
        "tensordot_sweep": lambda: w.matmat(x),
        "einsum_core_by_core": lambda: np.einsum(spec, xt, *w.cores, optimize=sequential).reshape(
            256, -1
        ),
        "dense_w_reference": lambda: np.einsum(spec, xt, *w.cores, optimize=cores_first).reshape(
            256, -1
        ),
    }
    return funcs, w, x


def bench_kernels(repeats: int) -> dict[str, Any]:
    """Numba gather vs NumPy gather; TT-matrix matmat by tensordot sweep vs one einsum.

    Each implementation runs in its own processes (``fair_times``).

    Parameters
    ----------
    repeats : int
        Unused (the rounds and calls are ``FAIR``'s); kept for the runner table.

    Returns
    -------
    dict
    """
    tt, idx = _gather_case()
    g, check = fair_times("gather", ["numba", "numpy"], ("numpy",))
    gather = {"batch": 100_000, "ms": g, "fair_check": check}
    gather["numpy_over_numba"] = g["numpy"] / g["numba"]
    difference = tt.gather(idx) - gather_numpy(tt.cores, idx)
    gather["max_abs_difference"] = float(np.max(np.abs(difference)))
    print(json.dumps({"gather": gather}), flush=True)

    funcs, w, x = _matmat_case()
    m, check = fair_times(
        "matmat", list(funcs), ("einsum_core_by_core",)
    )  # fmt: skip
    matmat = {
        "case": "B=256, modes (4,8,8,4)x(4,8,8,4), rank 8",
        "ms": m,
        "einsum_over_sweep": m["einsum_core_by_core"] / m["tensordot_sweep"],
        "dense_w_over_sweep": m["dense_w_reference"] / m["tensordot_sweep"],
        "max_abs_diff": float(np.abs(w.matmat(x) - funcs["einsum_core_by_core"]()).max()),
        "fair_check": check,
    }
    print(json.dumps({"matmat": matmat}), flush=True)
    return {"gather": gather, "matmat": matmat}


def main() -> None:
    """Run the benchmark and write ``results/tt_tr.json``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--blas-threads", type=int, default=1)
    parser.add_argument("--tensorly-als-iters", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3, help="alternating process rounds")
    parser.add_argument("--calls", type=int, default=3, help="timed calls per process")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument(
        "--parts",
        default="kernels,tt_svd,tt_svd_eps,tr,gram_step",
        help="comma-separated subset of kernels,tt_svd,tt_svd_eps,tr,gram_step; other parts of an "
        "existing results file are kept",
    )
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(run_worker(json.loads(args.worker))))
        return
    FAIR.update(rounds=args.rounds, threads=args.blas_threads, calls=args.calls)
    parts = set(args.parts.split(","))
    runners = {
        "kernels": lambda: bench_kernels(args.repeats),
        "tt_svd": lambda: bench_tt(args.repeats, args.quick),
        "tt_svd_eps": lambda: bench_eps(args.repeats),
        "gram_step": lambda: bench_gram_step(args.repeats),
        "tr": lambda: bench_tr(args.repeats, args.tensorly_als_iters),
    }
    record: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    load_before = os.getloadavg()
    numba.set_num_threads(min(args.blas_threads, numba.config.NUMBA_NUM_THREADS))
    with threadpoolctl.threadpool_limits(limits=args.blas_threads):
        record.update(
            machine=platform.platform(),
            blas_threads=args.blas_threads,
            numba_threads=numba.get_num_threads(),
            threadpool_info=threadpoolctl.threadpool_info(),
            numpy=np.__version__,
            repeats=args.repeats,
            command="python benchmarks/bench_tt_tr.py " + " ".join(sys.argv[1:]),
            protocol=_fair.PROTOCOL + " (parts tt_svd, tr, kernels; tt_svd_eps and gram_step "
            "time tensornet alone, in this process)",
            fair_rounds=args.rounds,
            fair_calls_per_process=args.calls,
        )
        for name, run in runners.items():
            if name in parts:
                record[name] = run()
                load_after = os.getloadavg()
                record.setdefault("load_average", {})[name] = [load_before, load_after]
                record.setdefault("loaded", {})[name] = max(load_before[0], load_after[0]) > (
                    _fair.LOADED
                )
                _fair.write_json(RESULTS, record)  # after every part: a long run keeps its parts
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
