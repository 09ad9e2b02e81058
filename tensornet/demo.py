"""The decomposition tour behind ``tensornet demo --tour``.

Every decomposition in :data:`TOUR` runs on one synthetic tensor: a random CP tensor of rank
``rank`` (so that its Tucker, TT, TR and HT ranks are all at most ``rank`` too) plus Gaussian
noise of relative size ``noise``. The table lives here, not in the algorithms: each entry names a
function of :mod:`tensornet.decompositions`, says what it does, and derives its arguments from
the shape and the rank of the tour's tensor (or skips with a note when the shape does not suit
the method, e.g. a semi-tensor factor ``t`` that divides no mode).
"""

from __future__ import annotations

import inspect
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import decompositions as dec
from ._validation import check_random_state
from .algebra import khatri_rao

__all__ = ["TourEntry", "TourSkip", "TOUR", "synthetic_low_rank", "run_tour", "format_table"]

Shape = tuple[int, ...]


class TourSkip(Exception):
    """Raised by a :class:`TourEntry`'s ``arguments`` when the tour's shape does not suit it."""


@dataclass(frozen=True)
class TourEntry:
    """One row of the tour: a decomposition and how the tour calls it.

    Attributes
    ----------
    name : str
        The function's public name, e.g. ``"tt_svd"``.
    func : callable
        ``func(x, **arguments(shape, rank))`` returns a
        :class:`~tensornet.formats.StructuredTensor`.
    arguments : callable
        ``arguments(shape, rank) -> dict`` of keyword arguments for a tensor of ``shape`` built
        from a rank-``rank`` CP signal; raises :class:`TourSkip` with a note when the shape
        does not suit the method.
    description : str
        One line for the tour's table.
    """

    name: str
    func: Callable[..., Any]
    arguments: Callable[[Shape, int], dict[str, Any]]
    description: str

    def run(self, x: np.ndarray, rank: int, random_state: Any = None) -> Any:
        """Call the method on ``x`` with the tour's arguments (and ``random_state`` if taken).

        Parameters
        ----------
        x : numpy.ndarray
            The input tensor.
        rank : int
            The CP rank of the tour's signal.
        random_state : None, int or numpy.random.Generator
            Passed on when the function accepts it.

        Returns
        -------
        StructuredTensor

        Raises
        ------
        TourSkip
            When the shape of ``x`` does not suit the method.
        """
        kwargs = self.arguments(tuple(x.shape), rank)
        if "random_state" in inspect.signature(self.func).parameters:
            kwargs.setdefault("random_state", random_state)
        return self.func(x, **kwargs)


def _smallest_factor(n: int) -> int:
    """The smallest divisor ``>= 2`` of ``n`` (``n`` itself when prime; 1 for ``n <= 1``)."""
    for t in range(2, math.isqrt(n) + 1):
        if n % t == 0:
            return t
    return n if n > 1 else 1


def _middle_divisor(n: int) -> int:
    """The largest divisor ``j`` of ``n`` with ``j * j <= n``: a near-square split ``n = j k``."""
    return max(j for j in range(1, math.isqrt(n) + 1) if n % j == 0)


def _gkpd_arguments(shape: Shape, rank: int) -> dict[str, Any]:
    a_shape = tuple(_middle_divisor(n) for n in shape)
    if all(j == 1 for j in a_shape):
        raise TourSkip(f"no mode size of {shape} splits into two factors >= 2")
    b_size = math.prod(shape) // math.prod(a_shape)
    return {"a_shape": a_shape, "rank": min(rank, math.prod(a_shape), b_size)}


def _st_tucker_arguments(shape: Shape, rank: int) -> dict[str, Any]:
    t = _smallest_factor(math.gcd(*shape))
    if t < 2:
        raise TourSkip(f"no factor t >= 2 divides every mode size of {shape}")
    core = max(t, (4 * rank) // t * t)  # core sizes R_n divisible by t, at most I_n
    return {"ranks": tuple(min(core, n) for n in shape), "t": t}


def _stt_svd_arguments(shape: Shape, rank: int) -> dict[str, Any]:
    t = _smallest_factor(shape[0])
    if len(shape) < 2 or t < 2:
        raise TourSkip(f"needs >= 2 modes and a factor t >= 2 of I_1; shape {shape}")
    return {"ranks": t * rank, "t": t}


def _str_als_arguments(shape: Shape, rank: int) -> dict[str, Any]:
    if len(shape) < 2:
        raise TourSkip(f"needs >= 2 modes; shape {shape}")
    return {"ranks": 2 * rank, "t": 2, "n_iter_max": 10}


def _tucker_ranks(shape: Shape, rank: int) -> tuple[int, ...]:
    return tuple(min(rank, n) for n in shape)


#: The tour, in the survey's order (Section II-A).
TOUR: tuple[TourEntry, ...] = (
    TourEntry(
        "cp_als",
        dec.cp_als,
        lambda shape, rank: {"rank": rank, "n_restarts": 2},
        "CP by ALS with column normalization (survey II-A.3)",
    ),
    TourEntry(
        "hosvd",
        dec.hosvd,
        lambda shape, rank: {"ranks": _tucker_ranks(shape, rank)},
        "truncated HOSVD (survey II-A.2)",
    ),
    TourEntry(
        "tucker_hooi",
        dec.tucker_hooi,
        lambda shape, rank: {"ranks": _tucker_ranks(shape, rank)},
        "Tucker by HOOI from HOSVD (survey II-A.2)",
    ),
    TourEntry(
        "btd_als",
        dec.btd_als,
        lambda shape, rank: {"n_terms": rank, "term_ranks": 1, "n_iter_max": 50},
        "block term decomposition by ALS (survey II-A.4, eq. 5)",
    ),
    TourEntry(
        "tt_svd",
        dec.tt_svd,
        lambda shape, rank: {"ranks": rank},
        "TT-SVD: sequential truncated SVDs (Oseledets 2011)",
    ),
    TourEntry(
        "tr_svd",
        dec.tr_svd,
        lambda shape, rank: {"eps": 1e-3},
        "TR-SVD: sequential SVDs with a balanced first-rank split (Zhao et al. 2016)",
    ),
    TourEntry(
        "tr_als",
        dec.tr_als,
        lambda shape, rank: {"ranks": rank, "n_iter_max": 30},
        "TR-ALS: alternating least squares by QR (Zhao et al. 2016)",
    ),
    TourEntry(
        "ht_svd",
        dec.ht_svd,
        lambda shape, rank: {"ranks": rank},
        "Hierarchical SVD into hierarchical Tucker, balanced tree (Grasedyck 2010)",
    ),
    TourEntry(
        "gkpd",
        dec.gkpd,
        _gkpd_arguments,
        "Generalized Kronecker product decomposition (rearranged SVD, Eckart-Young)",
    ),
    TourEntry(
        "st_tucker",
        dec.st_tucker,
        _st_tucker_arguments,
        "Semi-tensor Tucker = HOSVD of the (I/t, t)-split tensor (our reduction)",
    ),
    TourEntry(
        "stt_svd",
        dec.stt_svd,
        _stt_svd_arguments,
        "Semi-tensor train = TT-SVD with ranks r/t, first core re-indexed (ours)",
    ),
    TourEntry(
        "str_als",
        dec.str_als,
        _str_als_arguments,
        "Semi-tensor ring = TR-ALS with ranks r/t, first core lifted (ours)",
    ),
)


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


def _row(entry: TourEntry, x: np.ndarray, rank: int, random_state: Any) -> dict[str, Any]:
    """Run one entry; a skip or a failure becomes a row with a note."""
    start = time.perf_counter()
    try:
        result = entry.run(x, rank, random_state=random_state)
    except TourSkip as skip:
        return {"method": entry.name, "skipped": str(skip)}
    except Exception as exc:  # report, keep touring
        return {"method": entry.name, "error": f"{type(exc).__name__}: {exc}"}
    return {
        "method": entry.name,
        "format": type(result).__name__,
        "shape": tuple(result.shape),
        "ranks": tuple(result.ranks),
        "params": result.n_params,
        "compression": result.compression_ratio,
        "rel_error": result.relative_error(x),
        "seconds": time.perf_counter() - start,
    }


def run_tour(x: np.ndarray, *, rank: int = 3, random_state: Any = 0) -> list[dict[str, Any]]:
    """Run every decomposition of :data:`TOUR` on ``x`` and collect one row per method.

    Parameters
    ----------
    x : numpy.ndarray
        The input tensor.
    rank : int
        CP rank of the signal in ``x``: the tour's rank arguments derive from it.
    random_state : None, int or numpy.random.Generator
        Seed passed to the randomized methods.

    Returns
    -------
    list of dict
        Keys: method, format, shape, ranks, params, compression, rel_error, seconds; or
        method and ``skipped`` (the shape does not suit it) or ``error``.
    """
    return [_row(entry, x, rank, random_state) for entry in TOUR]


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
        if "skipped" in r:
            lines.append(f"{r['method']:<16} {'-':<16} skipped: {r['skipped']}")
        elif "error" in r:
            lines.append(f"{r['method']:<16} {'-':<16} FAILED: {r['error']}")
        else:
            lines.append(
                f"{r['method']:<16} {r['format']:<16} {_short(r['shape'], 18):<18} "
                f"{_short(r['ranks'], 22):<22} {r['params']:>9d} {r['compression']:>8.1f} "
                f"{r['rel_error']:>9.2e} {r['seconds']:>8.3f}"
            )
    return "\n".join(lines)
