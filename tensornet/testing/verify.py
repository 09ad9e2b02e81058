"""``verify``: run the guarantees of a decomposition kind against any function.

tensornet's own decompositions satisfy a battery of properties (error bounds, exactness,
orthonormality, optimality, equivariance, determinism; survey Sec. II-A and the papers cited by
:mod:`tensornet.testing.checks`). :func:`verify` runs that battery, one Hypothesis search per
property, against a user function with the same calling convention, and reports for each
property the examples tried and, on failure, the shrunk counterexample: the smallest shape,
the simplest parameters and the diagnostic of the failed check.

Calling conventions (keywords are passed by name; a property whose keyword the function does
not accept is skipped):

| kind | call | returns |
|---|---|---|
| ``tt_svd`` | ``f(x, ranks=int, eps=float)`` | ``TTTensor`` |
| ``hosvd`` | ``f(x, ranks=int, eps=float)`` | ``TuckerTensor`` |
| ``tr_svd`` | ``f(x, ranks=int, eps=float)`` | ``TRTensor`` |
| ``ht_svd`` | ``f(x, ranks=int, eps=float)`` (balanced tree) | ``HTTensor`` |
| ``cp_als`` | ``f(x, rank, random_state=int)`` | ``CPTensor`` |
| ``kpd`` | ``f(m, a_shape, b_shape, rank=int)`` | ``KronTensor`` |
| ``truncated_svd`` | ``f(m, rank=int, eps=float)`` | ``(U, s, Vt)`` |
"""

from __future__ import annotations

import inspect
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import strategies as st

from .._validation import check_int, scaled_norm
from ..formats import CPTensor, HTTensor, KronTensor, TRTensor, TTTensor, TuckerTensor
from . import checks
from .strategies import (
    cp_tensors,
    ht_tensors,
    kron_tensors,
    matrices_with_decay,
    random_array,
    seeds,
    shapes,
    tr_tensors,
    tt_tensors,
    tucker_tensors,
)

__all__ = ["KINDS", "PropertyResult", "VerifyReport", "verify"]


# ---------------------------------------------------------------------------- the report
@dataclass
class PropertyResult:
    """The outcome of one property.

    Attributes
    ----------
    name : str
        The property, e.g. ``"eps_bound"``.
    statement : str
        What it asserts.
    status : {"passed", "failed", "skipped"}
        The outcome.
    examples : int
        How many examples ran (including the replays of shrinking).
    counterexample : dict or None
        The drawn parameters of the shrunk failing example (shape, seed, eps, ...).
    inputs : dict or None
        The arguments the function was called with on it (``x`` and the options).
    message : str
        The diagnostic of the failed check, or the reason for a skip.
    """

    name: str
    statement: str
    status: str
    examples: int = 0
    counterexample: dict | None = None
    inputs: dict | None = None
    message: str = ""

    def __str__(self) -> str:
        head = f"{self.status.upper():7s} {self.name:28s} {self.statement}"
        if self.status == "passed":
            return f"{head}  [{self.examples} examples]"
        if self.status == "skipped":
            return f"{head}  [skipped: {self.message}]"
        params = ", ".join(f"{k}={v!r}" for k, v in (self.counterexample or {}).items())
        return (
            f"{head}  [{self.examples} examples]\n"
            f"       counterexample: {params}\n"
            f"       {self.message}"
        )


@dataclass
class VerifyReport:
    """What :func:`verify` found: one :class:`PropertyResult` per property of the kind.

    Attributes
    ----------
    kind : str
        The kind verified.
    method : str
        The name of the function.
    results : list of PropertyResult
        In the order the properties ran.
    """

    kind: str
    method: str
    results: list[PropertyResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Whether no property failed (skipped ones do not count)."""
        return not self.failures

    @property
    def failures(self) -> list[PropertyResult]:
        """The failed properties."""
        return [r for r in self.results if r.status == "failed"]

    def __str__(self) -> str:
        counts = {s: sum(r.status == s for r in self.results) for s in ("passed", "failed")}
        skipped = len(self.results) - counts["passed"] - counts["failed"]
        lines = [
            f"verify({self.method}, kind={self.kind!r}): {counts['passed']} passed, "
            f"{counts['failed']} failed, {skipped} skipped"
        ]
        lines += [f"  {r}" for r in self.results]
        return "\n".join(lines)

    def assert_passed(self) -> None:
        """Raise :class:`AssertionError` with the report if a property failed."""
        if not self.passed:
            raise AssertionError(str(self))


# ---------------------------------------------------------------------------- properties
@dataclass(frozen=True)
class Property:
    """One guarantee: parameters to draw, the call's inputs built from them, and the check."""

    name: str
    statement: str
    params: st.SearchStrategy
    build: Callable[[dict], dict]
    check: Callable[[Callable, dict], None]
    needs: tuple[str, ...] = ()


def _draws(**strategies: st.SearchStrategy) -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries(strategies)


def _random_x(p: dict) -> dict:
    return {"x": random_array(p["shape"], p["seed"])}


def _with(**extra: str) -> Callable[[dict], dict]:
    """Inputs ``x = random_array(shape, seed)`` plus parameters copied under their names."""

    def build(p: dict) -> dict:
        return {**_random_x(p), **{k: p[v] for k, v in extra.items()}}

    return build


def _with_rank(fit_rank: Callable[[tuple, int], int]) -> Callable[[dict], dict]:
    """Inputs ``x = random_array(shape, seed)`` and ``rank`` lowered by ``fit_rank``."""

    def build(p: dict) -> dict:
        return {**_random_x(p), "rank": fit_rank(tuple(p["shape"]), p["rank"])}

    return build


def _low_rank(**extra: str) -> Callable[[dict], dict]:
    """Inputs ``x = tensor.full()`` of the drawn exact low-rank ``tensor`` (kept as ``target``)."""

    def build(p: dict) -> dict:
        tensor = p["tensor"]
        return {"x": tensor.full(), "target": tensor, **{k: p[v] for k, v in extra.items()}}

    return build


class _NotApplicable(Exception):
    """Raised by a check when the result lacks what the property is about (e.g. ``info``)."""


def _reported(approx: Any, x: np.ndarray) -> None:
    """``approx.info["rel_error"]``, when reported, is the true relative error."""
    info = getattr(approx, "info", None) or {}
    if "rel_error" not in info:
        raise _NotApplicable("the function reports no info['rel_error']")
    true = scaled_norm(x - checks.dense(approx)) / scaled_norm(x)
    if abs(info["rel_error"] - true) > 1e-6 * true + 1e-9:
        raise AssertionError(
            f"reported error is wrong: info['rel_error'] = {info['rel_error']:.6g} but "
            f"||X - approx|| / ||X|| = {true:.6g}"
        )


def _common(
    call_full: Callable,
    call_eps: Callable,
    call_rank: Callable,
    shape_st: st.SearchStrategy,
    rank_keyword: str = "ranks",
    fit_rank: Callable[[tuple, int], int] = lambda shape, rank: rank,
) -> list[Property]:
    """Properties every truncating SVD-based kind (TT, Tucker, TR, HT, matrix) shares.

    ``fit_rank(shape, rank)`` lowers a drawn rank cap to what the kind accepts for ``shape``.
    """
    eps_st = st.floats(0.0, 0.95)
    with_rank = _with_rank(fit_rank)
    return [
        Property(
            "exact_at_full_rank",
            "no truncation reproduces X (rel. error <= 1e-10)",
            _draws(shape=shape_st, seed=seeds()),
            _random_x,
            lambda f, i: checks.assert_exact_at_full_rank(call_full(f, i["x"]), i["x"]),
        ),
        Property(
            "eps_bound",
            "||X - X^|| <= eps ||X||",
            _draws(shape=shape_st, seed=seeds(), eps=eps_st),
            _with(eps="eps"),
            lambda f, i: checks.assert_eps_bound(call_eps(f, i["x"], i["eps"]), i["x"], i["eps"]),
            ("eps",),
        ),
        Property(
            "ranks_at_most_cap",
            f"every rank <= the cap {rank_keyword}=r",
            _draws(shape=shape_st, seed=seeds(), rank=st.integers(1, 3)),
            with_rank,
            lambda f, i: checks.assert_ranks_at_most(call_rank(f, i["x"], i["rank"]), i["rank"]),
            (rank_keyword,),
        ),
        Property(
            "reported_error_is_true_error",
            "info['rel_error'] (when reported) equals ||X - X^|| / ||X||",
            _draws(shape=shape_st, seed=seeds(), eps=eps_st),
            _with(eps="eps"),
            lambda f, i: _reported(call_eps(f, i["x"], i["eps"]), i["x"]),
            ("eps",),
        ),
        Property(
            "scale_equivariant",
            "f(c X) = c f(X) for c = 1e-100, 1e100",
            _draws(shape=shape_st, seed=seeds(), eps=st.sampled_from([0.1, 0.5])),
            _with(eps="eps"),
            lambda f, i: checks.assert_scale_equivariant(
                lambda y: call_eps(f, y, i["eps"]), i["x"], scales=(1e-100, 1e100)
            ),
            ("eps",),
        ),
        Property(
            "deterministic",
            "two calls give the same result",
            _draws(shape=shape_st, seed=seeds(), eps=st.sampled_from([0.0, 0.3])),
            _with(eps="eps"),
            lambda f, i: checks.assert_deterministic(
                lambda y: call_eps(f, y, i["eps"]), i["x"], seed=None
            ),
            ("eps",),
        ),
    ]


def _svd_kind(
    fmt: type,
    low_rank: Callable[..., st.SearchStrategy],
    shape_st: st.SearchStrategy,
    quasi_factor: Callable[[int], float] | None,
    structure: Callable[[Any], None] | None,
    structure_name: str,
    fit_rank: Callable[[tuple, int], int] = lambda shape, rank: rank,
    target_cap: Callable[[Any], Any] = lambda target: max(target.ranks),
) -> list[Property]:
    """The battery of a sequential-SVD kind called as ``f(x, ranks=..., eps=...)``."""

    def result(out: Any) -> Any:
        if not isinstance(out, fmt):
            raise AssertionError(f"returned {type(out).__name__}, expected a {fmt.__name__}")
        return out

    def full(f: Callable, x: np.ndarray) -> Any:
        return result(f(x, eps=0.0)) if _accepts(f, "eps") else result(f(x))

    def by_eps(f: Callable, x: np.ndarray, eps: float) -> Any:
        return result(f(x, eps=eps))

    def by_rank(f: Callable, x: np.ndarray, rank: int) -> Any:
        return result(f(x, ranks=rank))

    props = _common(full, by_eps, by_rank, shape_st, fit_rank=fit_rank)

    def recovers(f: Callable, i: dict) -> None:
        target, x = i["target"], i["x"]
        approx = by_eps(f, x, 1e-10)
        checks.assert_exact_at_full_rank(approx, x, tol=1e-8)
        if fmt is not TRTensor:  # TR ranks of a tensor are not unique
            checks.assert_ranks_at_most(approx, target.ranks)
            if _accepts(f, "ranks"):
                capped = by_rank(f, x, target_cap(target))
                checks.assert_exact_at_full_rank(capped, x, tol=1e-8)

    props.append(
        Property(
            "recovers_exact_low_rank",
            "an exact low-rank X is reproduced at eps=1e-10"
            + ("" if fmt is TRTensor else " with ranks <= its ranks"),
            _draws(tensor=low_rank()),
            _low_rank(),
            recovers,
            ("eps",),
        )
    )
    if structure is not None:
        props.append(
            Property(
                structure_name,
                "orthonormal bases as the sequential SVD makes them",
                _draws(shape=shape_st, seed=seeds(), eps=st.floats(0.0, 0.9)),
                _with(eps="eps"),
                lambda f, i: structure(by_eps(f, i["x"], i["eps"])),
                ("eps",),
            )
        )
    if quasi_factor is not None:

        def quasi(f: Callable, i: dict) -> None:
            x = i["x"]
            factor = quasi_factor(x.ndim)
            checks.assert_quasi_optimal(by_rank(f, x, i["rank"]), x, factor)

        props.append(
            Property(
                "quasi_optimal",
                "||X - X^|| <= c_d min ||X - Y|| over Y of the same ranks",
                _draws(shape=shape_st, seed=seeds(), rank=st.integers(1, 3)),
                _with_rank(fit_rank),
                quasi,
                ("ranks",),
            )
        )
    return props


def _tucker_orthonormal(t: TuckerTensor) -> None:
    for n, u in enumerate(t.factors):
        if u is not None:
            checks.assert_orthonormal_columns(u, f"factors[{n}]")


def _ht_orthonormal(h: HTTensor) -> None:
    for k, u in enumerate(h.leaves):
        checks.assert_orthonormal_columns(u, f"leaves[{k}]")
    for t, b in h.transfers.items():
        if t != 0:
            checks.assert_orthonormal_columns(b.reshape(-1, b.shape[2]), f"transfers[{t}]")


def _tt_kind() -> list[Property]:
    return _svd_kind(
        TTTensor,
        lambda: tt_tensors(shapes(2, 4, 1, 4), max_rank=3),
        shapes(2, 4, 2, 4),
        lambda d: math.sqrt(d - 1),
        checks.assert_left_orthonormal,
        "left_orthonormal_cores",
    )


def _hosvd_kind() -> list[Property]:
    return _svd_kind(
        TuckerTensor,
        lambda: tucker_tensors(shapes(1, 4, 1, 4), max_rank=3),
        shapes(1, 4, 2, 4),
        math.sqrt,
        _tucker_orthonormal,
        "orthonormal_factors",
        fit_rank=lambda shape, rank: min(rank, *shape),  # a Tucker rank cannot exceed a mode
        target_cap=lambda target: target.ranks,
    )


def _tr_kind() -> list[Property]:
    return _svd_kind(
        TRTensor,
        lambda: tr_tensors(shapes(2, 4, 1, 4), max_rank=2),
        shapes(2, 4, 2, 4),
        None,
        None,
        "",
    )


def _ht_kind() -> list[Property]:
    return _svd_kind(
        HTTensor,
        lambda: ht_tensors(shapes(2, 4, 1, 4), max_rank=3),
        shapes(2, 4, 2, 4),
        lambda d: math.sqrt(2 * d - 3),
        _ht_orthonormal,
        "orthonormal_nodes",
    )


# ---------------------------------------------------------------------------- CP-ALS
def _cp_kind() -> list[Property]:
    shape_st = shapes(2, 3, 2, 4)

    def call(f: Callable, x: np.ndarray, rank: int, seed: int) -> CPTensor:
        kwargs = {"random_state": seed} if _accepts(f, "random_state") else {}
        out = f(x, rank, **kwargs)
        if not isinstance(out, CPTensor):
            raise AssertionError(f"returned {type(out).__name__}, expected a CPTensor")
        return out

    def no_worse_than_zero(f: Callable, i: dict) -> None:
        x = i["x"]
        err, norm = scaled_norm(x - call(f, x, i["rank"], 0).full()), scaled_norm(x)
        if err > norm * (1 + 1e-10):
            raise AssertionError(
                f"worse than the zero tensor: ||X - X^|| = {err:.6g} > ||X|| = {norm:.6g}"
            )

    def history(f: Callable, i: dict) -> None:
        info = call(f, i["x"], i["rank"], 0).info or {}
        if "history" not in info:
            raise _NotApplicable("the function reports no info['history']")
        h = np.asarray(info["history"], dtype=float) ** 2
        jumps = np.diff(h)
        if jumps.size and jumps.max() > 1e-10 * max(1.0, h[0]):
            k = int(np.argmax(jumps))
            raise AssertionError(
                f"squared error rose at sweep {k + 1}: {h[k]:.6g} -> {h[k + 1]:.6g} (ALS never "
                "increases it)"
            )

    x_draws = _draws(shape=shape_st, seed=seeds(), rank=st.integers(1, 3))
    with_rank = _with_rank(lambda shape, rank: min(rank, math.prod(shape) // max(shape)))
    return [
        Property(
            "rank_as_requested",
            "the result has rank <= R",
            x_draws,
            with_rank,
            lambda f, i: checks.assert_ranks_at_most(call(f, i["x"], i["rank"], 0), i["rank"]),
        ),
        Property(
            "exact_on_rank_one",
            "a rank-1 X is recovered (rel. error <= 1e-8)",
            _draws(tensor=cp_tensors(shape_st, 1), seed=seeds()),
            _low_rank(seed="seed"),
            lambda f, i: checks.assert_exact_at_full_rank(
                call(f, i["x"], 1, i["seed"]), i["x"], tol=1e-8
            ),
        ),
        Property(
            "no_worse_than_zero",
            "||X - X^|| <= ||X|| (every least-squares update can choose 0)",
            x_draws,
            with_rank,
            no_worse_than_zero,
        ),
        Property(
            "error_history_non_increasing",
            "info['history'] (when reported) never increases",
            x_draws,
            with_rank,
            history,
        ),
        Property(
            "reported_error_is_true_error",
            "info['rel_error'] (when reported) equals ||X - X^|| / ||X||",
            x_draws,
            with_rank,
            lambda f, i: _reported(call(f, i["x"], i["rank"], 0), i["x"]),
        ),
        Property(
            "deterministic",
            "the same random_state gives the same result",
            _draws(shape=shape_st, seed=seeds(), rank=st.integers(1, 3), state=st.integers(0, 9)),
            lambda p: {**with_rank(p), "state": p["state"]},
            lambda f, i: checks.assert_deterministic(
                lambda y, random_state: call(f, y, i["rank"], random_state), i["x"], i["state"]
            ),
            ("random_state",),
        ),
    ]


# ---------------------------------------------------------------------------- KPD
def _kpd_kind() -> list[Property]:
    side = st.integers(1, 3)
    pair = st.tuples(side, side)

    def call(f: Callable, m: np.ndarray, a: tuple, b: tuple, rank: int) -> KronTensor:
        out = f(m, a, b, rank=rank)
        if not isinstance(out, KronTensor):
            raise AssertionError(f"returned {type(out).__name__}, expected a KronTensor")
        return out

    def build(p: dict) -> dict:
        a, b = p["a_shape"], p["b_shape"]
        m = random_array((a[0] * b[0], a[1] * b[1]), p["seed"])
        rank = min(p["rank"], a[0] * a[1], b[0] * b[1])
        return {"m": m, "a_shape": a, "b_shape": b, "rank": rank}

    def full_rank(f: Callable, i: dict) -> None:
        a, b = i["a_shape"], i["b_shape"]
        r = min(a[0] * a[1], b[0] * b[1])
        checks.assert_exact_at_full_rank(call(f, i["m"], a, b, r), i["m"])

    def recovers(f: Callable, i: dict) -> None:
        t = i["target"]
        out = call(f, i["x"], t.a_shape, t.b_shape, t.ranks[0])
        checks.assert_exact_at_full_rank(out, i["x"], tol=1e-8)

    draws = _draws(a_shape=pair, b_shape=pair, seed=seeds(), rank=st.integers(1, 4))
    return [
        Property(
            "eckart_young",
            "Kronecker rank <= R and the error of the best Kronecker-rank-R approximation",
            draws,
            build,
            lambda f, i: checks.assert_eckart_young(
                call(f, i["m"], i["a_shape"], i["b_shape"], i["rank"]), i["m"], i["rank"]
            ),
        ),
        Property(
            "exact_at_full_rank",
            "R = min(prod a_shape, prod b_shape) reproduces M",
            draws,
            build,
            full_rank,
        ),
        Property(
            "recovers_exact_low_rank",
            "an exact sum of R Kronecker products is reproduced",
            _draws(tensor=kron_tensors(pair, pair)),
            _low_rank(),
            recovers,
        ),
        Property(
            "reported_error_is_true_error",
            "info['rel_error'] (when reported) equals ||M - M^|| / ||M||",
            draws,
            build,
            lambda f, i: _reported(call(f, i["m"], i["a_shape"], i["b_shape"], i["rank"]), i["m"]),
        ),
        Property(
            "scale_equivariant",
            "f(c M) = c f(M) for c = 1e-100, 1e100",
            draws,
            build,
            lambda f, i: checks.assert_scale_equivariant(
                lambda y: call(f, y, i["a_shape"], i["b_shape"], i["rank"]),
                i["m"],
                scales=(1e-100, 1e100),
            ),
        ),
        Property(
            "deterministic",
            "two calls give the same result",
            draws,
            build,
            lambda f, i: checks.assert_deterministic(
                lambda y: call(f, y, i["a_shape"], i["b_shape"], i["rank"]), i["m"], seed=None
            ),
        ),
    ]


# ---------------------------------------------------------------------------- truncated SVD
def _svd_kind_matrix() -> list[Property]:
    dims = shapes(2, 2, 1, 8)

    def triple(out: Any) -> tuple:
        if not (isinstance(out, tuple) and len(out) == 3):
            raise AssertionError(f"returned {type(out).__name__}, expected a (U, s, Vt) tuple")
        return out

    def by_rank(f: Callable, m: np.ndarray, rank: int) -> tuple:
        return triple(f(m, rank=rank))

    def by_eps(f: Callable, m: np.ndarray, eps: float) -> tuple:
        return triple(f(m, eps=eps))

    def matrix(p: dict) -> dict:
        return {
            "m": random_array(p["shape"], p["seed"]),
            **{k: p[k] for k in p if k in ("rank", "eps")},
        }

    def decaying(p: dict) -> dict:
        return {"m": p["m"], "eps": p["eps"]}

    def factors(f: Callable, i: dict) -> None:
        u, s, vt = by_rank(f, i["m"], i["rank"])
        checks.assert_orthonormal_columns(u, "U")
        checks.assert_orthonormal_columns(np.asarray(vt).T, "Vt.T")
        s = np.asarray(s)
        if s.size and (np.any(np.diff(s) > 0) or s.min() < 0):
            raise AssertionError(f"s is not non-negative and non-increasing: {s}")

    def smallest(f: Callable, i: dict) -> None:
        m, eps = i["m"], i["eps"]
        _, s, _ = by_eps(f, m, eps)
        all_s = np.linalg.svd(m, compute_uv=False)
        r = len(s)
        budget = eps * scaled_norm(m)
        if r > 1 and checks._tail(all_s, r - 1) <= budget * (1 - 1e-12):
            raise AssertionError(
                f"rank {r} is not the smallest meeting eps={eps:.3g}: rank {r - 1} has error "
                f"{checks._tail(all_s, r - 1):.6g} <= eps ||M|| = {budget:.6g}"
            )

    def full(f: Callable, m: np.ndarray) -> tuple:
        return triple(f(m))

    common = _common(full, by_eps, by_rank, dims, rank_keyword="rank")
    rank_draws = _draws(shape=dims, seed=seeds(), rank=st.integers(1, 8))
    decay = st.sampled_from(["geometric", "polynomial"])
    return [
        Property(
            "eckart_young",
            "rank <= r and the error of the best rank-r approximation",
            rank_draws,
            matrix,
            lambda f, i: checks.assert_eckart_young(
                by_rank(f, i["m"], i["rank"]), i["m"], i["rank"]
            ),
            ("rank",),
        ),
        *[p for p in common if p.name != "reported_error_is_true_error"],
        Property(
            "smallest_rank_for_eps",
            "one rank less would miss eps (on matrices with decaying spectra)",
            decay.flatmap(
                lambda d: _draws(
                    decay=st.just(d), m=matrices_with_decay(dims, d, 0.5), eps=st.floats(0, 0.95)
                )
            ),
            decaying,
            smallest,
            ("eps",),
        ),
        Property(
            "orthonormal_factors",
            "U and V orthonormal, s non-negative and non-increasing",
            rank_draws,
            matrix,
            factors,
            ("rank",),
        ),
    ]


#: The kinds :func:`verify` knows, each a function returning its properties.
KINDS: dict[str, Callable[[], list[Property]]] = {
    "tt_svd": _tt_kind,
    "hosvd": _hosvd_kind,
    "tr_svd": _tr_kind,
    "ht_svd": _ht_kind,
    "cp_als": _cp_kind,
    "kpd": _kpd_kind,
    "truncated_svd": _svd_kind_matrix,
}


# ---------------------------------------------------------------------------- running
def _accepts(f: Callable, name: str) -> bool:
    """Whether ``f`` takes the keyword ``name`` (or ``**kwargs``)."""
    try:
        params = inspect.signature(f).parameters.values()
    except (TypeError, ValueError):  # builtins without a signature: assume yes
        return True
    return any(
        p.kind is p.VAR_KEYWORD
        or (p.name == name and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))
        for p in params
    )


def _summary(value: Any) -> Any:
    """A short printable form of a drawn parameter (format objects by shape and ranks)."""
    if isinstance(value, np.ndarray):
        return f"<array shape={value.shape}>"
    if hasattr(value, "full") and hasattr(value, "ranks"):
        return f"<{type(value).__name__} shape={value.shape} ranks={value.ranks}>"
    return value


def _run(prop: Property, method: Callable, max_examples: int) -> PropertyResult:
    missing = [n for n in prop.needs if not _accepts(method, n)]
    if missing:
        return PropertyResult(
            prop.name, prop.statement, "skipped", message=f"the function takes no {missing[0]!r}"
        )
    seen: dict[str, Any] = {"n": 0, "failure": None, "not_applicable": 0, "reason": ""}

    @settings(
        max_examples=max_examples,
        derandomize=True,
        database=None,
        deadline=None,
        verbosity=Verbosity.quiet,
        report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
    )
    @given(prop.params)
    def search(params: dict) -> None:
        seen["n"] += 1
        inputs = prop.build(params)
        try:
            prop.check(method, inputs)
        except _NotApplicable as exc:
            seen["not_applicable"] += 1
            seen["reason"] = str(exc)
        except Exception as exc:
            seen["failure"] = (params, inputs, exc)
            raise

    try:
        search()
    except Exception as exc:  # the shrunk example replays last, so `failure` is the minimal one
        params, inputs, err = seen["failure"] or ({}, None, exc)
        return PropertyResult(
            prop.name,
            prop.statement,
            "failed",
            seen["n"],
            {k: _summary(inputs[k] if k in (inputs or {}) else v) for k, v in params.items()},
            {k: v for k, v in (inputs or {}).items() if k != "target"},
            f"{type(err).__name__}: {err}",
        )
    if seen["n"] and seen["not_applicable"] == seen["n"]:
        return PropertyResult(prop.name, prop.statement, "skipped", message=seen["reason"])
    return PropertyResult(prop.name, prop.statement, "passed", seen["n"])


def verify(
    method: Callable,
    kind: str,
    *,
    max_examples: int = 50,
    properties: list[str] | None = None,
    verbose: bool = True,
) -> VerifyReport:
    """Run every guarantee of ``kind`` against ``method`` and report the shrunk counterexamples.

    Each property is one Hypothesis search (derandomized: the same call gives the same report)
    of up to ``max_examples`` examples; a failure is shrunk to the smallest shape and simplest
    parameters that still fail. tensornet's own implementation of each kind passes every
    property.

    Parameters
    ----------
    method : callable
        The function, with the calling convention of ``kind`` (module docstring table).
    kind : {"tt_svd", "hosvd", "tr_svd", "ht_svd", "cp_als", "kpd", "truncated_svd"}
        Which battery to run.
    max_examples : int
        Examples per property, ``>= 1``.
    properties : list of str, optional
        Run only these properties (by name).
    verbose : bool
        Print the report.

    Returns
    -------
    VerifyReport
        ``report.passed``, ``report.failures`` (each with ``counterexample``, ``inputs`` and the
        diagnostic ``message``); ``report.assert_passed()`` raises if a property failed.

    Raises
    ------
    ValueError
        For an unknown kind or property, or ``max_examples < 1``.
    TypeError
        If ``method`` is not callable.

    Examples
    --------
    >>> import tensornet as tn
    >>> report = verify(tn.tt_svd, "tt_svd", max_examples=3, verbose=False)
    >>> report.passed
    True
    """
    if not callable(method):
        raise TypeError(f"method must be callable, got {type(method).__name__}")
    if not isinstance(kind, str) or kind not in KINDS:
        raise ValueError(f"kind={kind!r} must be one of {tuple(KINDS)}")
    max_examples = check_int(max_examples, "max_examples", minimum=1)
    props = KINDS[kind]()
    if properties is not None:
        names = [p.name for p in props]
        unknown = [n for n in properties if n not in names]
        if unknown or isinstance(properties, str):
            raise ValueError(f"properties={properties!r}: {kind} has the properties {names}")
        props = [p for p in props if p.name in properties]
    report = VerifyReport(kind, getattr(method, "__name__", repr(method)))
    with warnings.catch_warnings():
        if kind == "cp_als":  # random data at a rank can be degenerate; not a failed guarantee
            from ..decompositions import CPDegeneracyWarning

            warnings.simplefilter("ignore", CPDegeneracyWarning)
        for prop in props:
            report.results.append(_run(prop, method, max_examples))
    if verbose:
        print(report)
    return report
