"""Shared helpers of the subspace-training examples: data, timing records, JSON, plots."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

LOADED = 2.5  # load average above which a timing is flagged "loaded" (2 cores shared)


def load_data(quick: bool, n_quick: int = 10000) -> tuple[tuple, tuple]:
    """Full MNIST (``/work/shared/data/mnist`` or ``$TENSORNET_DATA``); ``quick`` keeps a prefix."""
    from tensornet.datasets import load_mnist

    root = os.environ.get("TENSORNET_DATA", "/work/shared/data/mnist")
    (x, y), (xt, yt) = load_mnist(root, download=False)
    if quick:
        x, y = x[:n_quick], y[:n_quick]
    return (x, y), (xt, yt)


def loadavg() -> list[float]:
    """``os.getloadavg()`` as a list."""
    return [round(v, 2) for v in os.getloadavg()]


class Timer:
    """Wall-clock and process CPU seconds of a block, with the load average at its start and end.

    At one thread the CPU seconds approximate the wall time on an idle machine.
    """

    def __enter__(self) -> Timer:
        self.load_start = loadavg()
        self.start = time.perf_counter()
        self.cpu_start = time.process_time()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.seconds = time.perf_counter() - self.start
        self.cpu_seconds = time.process_time() - self.cpu_start
        self.load_end = loadavg()

    def record(self) -> dict[str, Any]:
        """Seconds, CPU seconds, load averages and the "loaded" flag."""
        return {
            "seconds": self.seconds,
            "cpu_seconds": self.cpu_seconds,
            "loadavg_start": self.load_start,
            "loadavg_end": self.load_end,
            "loaded": max(self.load_start[0], self.load_end[0]) > LOADED,
        }


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` atomically (temporary file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2, default=_jsonable) + "\n")
    tmp.replace(path)


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot serialize {type(value).__name__}")


def command_line() -> str:
    """The command that ran this script."""
    return " ".join(["python", *sys.argv])


def pyplot():
    """``matplotlib.pyplot`` with the Agg backend, or None when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt
