"""Per-step cost of subspace training: the projection against a forward-backward pass.

For LeNet-300-100 (D = 266,610) at batch 128 and 1024, times (median of rounds, after a warm-up)
of one forward-backward pass (``tensornet.nn.value_and_grad``), one SGD step, the P-SGD gradient
transform ``g -> P^T (P g)`` and the P-BFGS extras (``P g`` and ``P^T p``) for d = 10, 40,
with BLAS on one thread. Prints and writes ``benchmarks/results/subspace_step.json`` (load
averages included; a run at load above 2.5 is flagged ``loaded``).

    PYTHONPATH=$PWD python benchmarks/bench_subspace.py [--rounds 7]
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from functools import partial  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from tensornet import nn  # noqa: E402
from tensornet.subspace import SubspaceProjection  # noqa: E402

OUT = Path(__file__).resolve().parent / "results" / "subspace_step.json"


def median_ms(fn, rounds: int, calls: int = 5) -> float:
    fn()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        times.append((time.perf_counter() - start) / calls)
    return 1e3 * float(np.median(times))


def _coordinates_and_lift(proj: SubspaceProjection, grads: dict) -> np.ndarray:
    """The two basis reads of one P-BFGS step: ``P g`` and ``P^T p``."""
    return proj.lift(proj.coordinates(grads))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()
    load_start = [round(v, 2) for v in os.getloadavg()]
    rng = np.random.default_rng(0)
    model = nn.lenet300_100(random_state=0)
    params = model.params
    big_d = model.n_params
    record: dict = {"benchmark": "subspace_step", "D": big_d, "rounds": args.rounds, "cases": []}
    for batch in (128, 1024):
        x = rng.random((batch, 1, 28, 28), dtype=np.float32)
        y = rng.integers(0, 10, batch)
        step = nn.value_and_grad(lambda p, xb=x, yb=y: nn.cross_entropy(model.apply(p, xb), yb))
        _, grads = step(params)
        case = {
            "batch": batch,
            "forward_backward_ms": median_ms(partial(step, params), args.rounds),
        }
        sgd = nn.SGD({k: v.copy() for k, v in params.items()}, lr=1e-9, momentum=0.9)
        case["sgd_step_ms"] = median_ms(partial(sgd.step, grads), args.rounds)
        for d in (10, 40):
            basis = np.linalg.qr(rng.normal(size=(big_d, d)))[0].T.astype(np.float32).copy()
            proj = SubspaceProjection(basis, params)
            case[f"psgd_transform_d{d}_ms"] = median_ms(partial(proj, grads, params), args.rounds)
            case[f"pbfgs_coordinates_and_lift_d{d}_ms"] = median_ms(
                partial(_coordinates_and_lift, proj, grads), args.rounds
            )
        record["cases"].append(case)
        print(json.dumps(case), flush=True)
    load_end = [round(v, 2) for v in os.getloadavg()]
    record.update(
        loadavg_start=load_start, loadavg_end=load_end, loaded=max(load_start[0], load_end[0]) > 2.5
    )
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
