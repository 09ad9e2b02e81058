"""The decomposition tour behind ``tensornet demo --tour``.

Every registered method is run on one synthetic tensor: a random CP tensor of rank ``rank``
(so that its Tucker, TT, TR and HT ranks are all at most ``rank`` too) plus Gaussian noise of
relative size ``noise``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._validation import check_random_state
from .algebra import khatri_rao
from .registry import registered_methods

__all__ = ["synthetic_low_rank", "run_tour", "format_table"]


def synthetic_low_rank(
    shape: Sequence[int] = (16, 16, 16, 16),
    rank: int = 3,
    noise: float = 1e-4,
    random_state: Any = 0,
) -> np.ndarray:
    """A random rank-``rank`` CP tensor plus Gaussian noise of relative Frobenius size ``noise``.

    Parameters
    ----------
    shape : sequence of int
        Tensor shape.
    rank : int
        CP rank of the signal.
    noise : float
        Relative size of the added noise.
    random_state : None, int or numpy.random.Generator
        Seed.

    Returns
    -------
    numpy.ndarray
    """
    rng = check_random_state(random_state)
    factors = [rng.standard_normal((n, rank)) for n in shape]
    x = khatri_rao(factors).sum(axis=1).reshape(tuple(shape))
    e = rng.standard_normal(x.shape)
    return x + noise * np.linalg.norm(x) / np.linalg.norm(e) * e


def run_tour(x: np.ndarray, random_state: Any = 0) -> list[dict[str, Any]]:
    """Run every registered decomposition on ``x`` and collect one row per method.

    Parameters
    ----------
    x : numpy.ndarray
        The input tensor.
    random_state : None, int or numpy.random.Generator
        Seed passed to the randomized methods.

    Returns
    -------
    list of dict
        Keys: method, format, shape, ranks, params, compression, rel_error, seconds (or error).
    """
    rows = []
    for method in registered_methods():
        start = time.perf_counter()
        try:
            result = method.run(x, random_state=random_state)
        except Exception as exc:  # report, keep touring
            rows.append({"method": method.name, "format": method.format, "error": str(exc)})
            continue
        seconds = time.perf_counter() - start
        rows.append(
            {
                "method": method.name,
                "format": type(result).__name__,
                "shape": tuple(result.shape),
                "ranks": tuple(result.ranks),
                "params": result.n_params,
                "compression": result.compression_ratio,
                "rel_error": result.relative_error(x),
                "seconds": seconds,
            }
        )
    return rows


def _short(value: Any, width: int) -> str:
    text = str(value).replace(" ", "")
    return text if len(text) <= width else text[: width - 3] + "..."


def format_table(rows: list[dict[str, Any]]) -> str:
    """Render the tour rows as a fixed-width text table.

    Parameters
    ----------
    rows : list of dict
        As returned by :func:`run_tour`.

    Returns
    -------
    str
    """
    header = (
        f"{'method':<16} {'format':<16} {'shape':<18} {'ranks':<22} "
        f"{'params':>9} {'compr.':>8} {'rel.err':>9} {'seconds':>8}"
    )
    lines = [header, "-" * len(header)]
    for r in rows:
        if "error" in r:
            lines.append(f"{r['method']:<16} {r['format']:<16} FAILED: {r['error']}")
            continue
        lines.append(
            f"{r['method']:<16} {r['format']:<16} {_short(r['shape'], 18):<18} "
            f"{_short(r['ranks'], 22):<22} {r['params']:>9d} {r['compression']:>8.1f} "
            f"{r['rel_error']:>9.2e} {r['seconds']:>8.3f}"
        )
    return "\n".join(lines)
