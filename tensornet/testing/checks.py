"""Guarantee checkers: plain functions that raise :class:`AssertionError` with a diagnostic.

Each checker states one guarantee of a decomposition (survey Sec. II-A): the relative error
bound of the ``eps`` truncations (Oseledets 2011, Thm. 2.2; De Lathauwer et al. 2000;
Grasedyck 2010), exactness at full rank, orthonormal cores and factors, rank caps, the
optimality of truncated SVD and KPD (Eckart-Young-Mirsky; Van Loan & Pitsianis 1993), the
quasi-optimality ``||X - X̂|| <= factor * min ||X - Y||`` of the sequential SVDs, and the
equivariance and determinism every tensornet decomposition has. On failure the message gives
the values, the bound and by how much the bound was missed. They need no Hypothesis and work in
any test framework.

An approximation may be a format object (anything with ``full()``), a dense array, or a
``(U, s, Vt)`` triple of a truncated SVD.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .._validation import check_array, check_eps, check_int, check_real, scaled_norm
from ..decompositions.kron import kron_rearrange, kron_shapes
from ..formats import (
    CPTensor,
    HTTensor,
    KronTensor,
    StructuredTensor,
    TRTensor,
    TTMatrix,
    TTTensor,
    TuckerTensor,
)

__all__ = [
    "assert_deterministic",
    "assert_eckart_young",
    "assert_eps_bound",
    "assert_exact_at_full_rank",
    "assert_left_orthonormal",
    "assert_orthonormal_columns",
    "assert_quasi_optimal",
    "assert_ranks_at_most",
    "assert_scale_equivariant",
    "best_error_lower_bound",
    "dense",
]


# ---------------------------------------------------------------------------- helpers
def dense(approx: Any) -> np.ndarray:
    """The dense array of an approximation: a format object, an array or a ``(U, s, Vt)``.

    Parameters
    ----------
    approx : StructuredTensor, array_like or tuple of three arrays
        The approximation.

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    TypeError
        If ``approx`` is none of these.
    """
    if isinstance(approx, StructuredTensor) or (
        hasattr(approx, "full") and callable(approx.full) and not isinstance(approx, np.ndarray)
    ):
        return np.asarray(approx.full())
    if isinstance(approx, tuple) and len(approx) == 3:
        u, s, vt = (
            check_array(a, n, allow_empty=True)
            for a, n in zip(approx, ("U", "s", "Vt"), strict=True)
        )
        if u.ndim != 2 or s.ndim != 1 or vt.ndim != 2:
            raise ValueError(
                f"a (U, s, Vt) triple needs a matrix, a vector and a matrix, got shapes "
                f"{u.shape}, {s.shape}, {vt.shape}"
            )
        return (u * s) @ vt
    if isinstance(approx, (np.ndarray, list)):
        return check_array(approx, "approx")
    raise TypeError(
        "approx must be a format object (with full()), an array or a (U, s, Vt) triple, "
        f"got {type(approx).__name__}"
    )


def _pair(approx: Any, x: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(dense approx, x)`` as float arrays of the same shape."""
    x = check_array(x, "x")
    a = dense(approx)
    if a.shape != x.shape:
        raise ValueError(f"approx has shape {a.shape} but x has shape {x.shape}")
    return a, x


def _ranks_of(approx: Any) -> tuple[int, ...]:
    if isinstance(approx, tuple) and len(approx) == 3:
        return (int(np.asarray(approx[1]).shape[0]),)
    ranks = getattr(approx, "ranks", None)
    if ranks is None:
        raise TypeError(f"approx of type {type(approx).__name__} has no ranks")
    return tuple(int(r) for r in ranks)


def _is_int(value: Any) -> bool:
    return isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, bool)


def _over(value: float, bound: float) -> str:
    """``by 0.012 (4.1% of the bound)``."""
    margin = value - bound
    rel = f", {100 * margin / bound:.3g}% of the bound" if bound > 0 else ""
    return f"by {margin:.3g}{rel}"


def _tail(s: np.ndarray, r: int) -> float:
    """``sqrt(sum_{i >= r} s_i^2)`` without underflow."""
    t = np.asarray(s[r:], dtype=np.float64)
    top = float(t.max()) if t.size else 0.0
    return 0.0 if top == 0.0 else top * float(np.sqrt(np.sum((t / top) ** 2)))


def _svals(m: np.ndarray) -> np.ndarray:
    return np.linalg.svd(m, compute_uv=False)


# ---------------------------------------------------------------------------- error bounds
def assert_eps_bound(
    approx: Any, x: Any, eps: float, *, rtol: float = 1e-10, atol: float = 1e-13
) -> None:
    """Assert ``||X - X̂||_F <= eps ||X||_F`` (the ``eps`` guarantee of every truncation).

    Parameters
    ----------
    approx : StructuredTensor, array_like or (U, s, Vt)
        The approximation.
    x : array_like
        The tensor it approximates (not all zero).
    eps : float
        The relative bound, in ``[0, 1)``.
    rtol, atol : float
        Slack for round-off: the test is ``err <= eps ||X|| (1 + rtol) + atol ||X||``.

    Raises
    ------
    AssertionError
        With the error, the bound and the margin.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.eye(3)
    >>> assert_eps_bound(np.diag([1.0, 1.0, 0.0]), x, 0.6)
    >>> assert_eps_bound(np.diag([1.0, 0.0, 0.0]), x, 0.6)
    Traceback (most recent call last):
    ...
    AssertionError: eps bound violated: ||X - approx|| / ||X|| = 0.816 > eps = 0.6 (by 0.216, 36.1% of the bound); ||X - approx|| = 1.41, ||X|| = 1.73
    """  # noqa: E501
    a, x = _pair(approx, x)
    eps = check_eps(eps, allow_none=False)
    rtol, atol = check_real(rtol, "rtol", minimum=0.0), check_real(atol, "atol", minimum=0.0)
    norm = scaled_norm(x)
    if norm == 0.0:
        raise ValueError("x is all zeros: the relative error is undefined")
    err = scaled_norm(x - a)
    rel = err / norm
    if err > eps * norm * (1 + rtol) + atol * norm:
        raise AssertionError(
            f"eps bound violated: ||X - approx|| / ||X|| = {rel:.3g} > eps = {eps:.3g} "
            f"({_over(rel, eps)}); ||X - approx|| = {err:.3g}, ||X|| = {norm:.3g}"
        )


def assert_exact_at_full_rank(approx: Any, x: Any, *, tol: float = 1e-10) -> None:
    """Assert that an untruncated decomposition reproduces ``X``: ``||X - X̂|| <= tol ||X||``.

    Parameters
    ----------
    approx : StructuredTensor, array_like or (U, s, Vt)
        The decomposition at full rank (``eps = 0`` or no rank cap).
    x : array_like
        The tensor.
    tol : float
        Relative tolerance for round-off.

    Raises
    ------
    AssertionError
        With the relative error and the tolerance.
    """
    a, x = _pair(approx, x)
    tol = check_real(tol, "tol", minimum=0.0)
    norm = scaled_norm(x)
    err = scaled_norm(x - a)
    if err > tol * norm or (norm == 0.0 and err > 0.0):
        rel = err / norm if norm > 0 else np.inf
        worst = np.unravel_index(np.argmax(np.abs(x - a)), x.shape)
        raise AssertionError(
            f"not exact at full rank: ||X - approx|| / ||X|| = {rel:.3g} > tol = {tol:.3g} "
            f"({_over(rel, tol)}); largest entry error at index {tuple(int(i) for i in worst)}: "
            f"X = {x[worst]:.6g}, approx = {a[worst]:.6g}"
        )


# ---------------------------------------------------------------------------- structure
def assert_orthonormal_columns(matrix: Any, name: str = "matrix", *, atol: float = 1e-10) -> None:
    """Assert ``Q^T Q = I`` for a matrix ``Q`` with at most as many columns as rows.

    Parameters
    ----------
    matrix : array_like, shape (m, k)
        The matrix.
    name : str
        Its name in the message.
    atol : float
        Largest allowed ``|Q^T Q - I|`` entry.

    Raises
    ------
    AssertionError
        With the largest deviation and where it is.
    """
    q = check_array(matrix, name, ndim=2)
    atol = check_real(atol, "atol", minimum=0.0)
    dev = np.abs(q.T @ q - np.eye(q.shape[1]))
    if dev.size and dev.max() > atol:
        i, j = np.unravel_index(np.argmax(dev), dev.shape)
        raise AssertionError(
            f"{name} (shape {q.shape}) does not have orthonormal columns: "
            f"|Q^T Q - I|[{i}, {j}] = {dev[i, j]:.3g} > atol = {atol:.3g} "
            f"({_over(dev[i, j], atol)})"
        )


def assert_left_orthonormal(cores: Any, *, atol: float = 1e-10) -> None:
    """Assert that every core but the last is left-orthonormal, as TT-SVD makes them.

    A core ``G_k`` of shape ``(r_{k-1}, n_k, r_k)`` (or ``(r_{k-1}, m_k, n_k, r_k)`` for a
    TT-matrix) reshaped to ``(r_{k-1} n_k, r_k)`` must have orthonormal columns (Oseledets 2011,
    Alg. 1: the cores are the left singular vectors of the unfoldings).

    Parameters
    ----------
    cores : sequence of array_like, or an object with ``cores``
        The cores, e.g. ``tt.cores`` or the TT tensor itself.
    atol : float
        Largest allowed ``|G^T G - I|`` entry.

    Raises
    ------
    AssertionError
        Naming the first core that is not left-orthonormal.
    """
    cores = getattr(cores, "cores", cores)
    if isinstance(cores, np.ndarray) or not isinstance(cores, Sequence) or len(cores) == 0:
        raise TypeError("cores must be a non-empty sequence of arrays or have a cores attribute")
    for k, g in enumerate(cores[:-1]):
        g = check_array(g, f"cores[{k}]", min_ndim=2)
        assert_orthonormal_columns(g.reshape(-1, g.shape[-1]), f"cores[{k}] unfolded", atol=atol)


def assert_ranks_at_most(approx: Any, bound: int | Sequence[int]) -> None:
    """Assert that every rank of ``approx`` is at most ``bound`` (one int, or one per rank).

    Parameters
    ----------
    approx : StructuredTensor, (U, s, Vt) or sequence of int
        The approximation (its ``ranks``) or the ranks themselves.
    bound : int or sequence of int
        The caps; a sequence must have as many entries as the ranks.

    Raises
    ------
    AssertionError
        Listing every rank above its cap.
    """
    if isinstance(approx, (list, tuple)) and all(_is_int(r) for r in approx):
        ranks = tuple(int(r) for r in approx)
    else:
        ranks = _ranks_of(approx)
    if isinstance(bound, (Sequence, np.ndarray)) and not isinstance(bound, str):
        caps = tuple(check_int(b, f"bound[{k}]", minimum=0) for k, b in enumerate(bound))
        if len(caps) != len(ranks):
            raise ValueError(
                f"bound has {len(caps)} entries but the ranks {ranks} have {len(ranks)}"
            )
    else:
        caps = (check_int(bound, "bound", minimum=0),) * len(ranks)
    bad = [
        f"ranks[{k}]={r} > {c}" for k, (r, c) in enumerate(zip(ranks, caps, strict=True)) if r > c
    ]
    if bad:
        raise AssertionError(f"ranks {ranks} exceed the caps {caps}: " + ", ".join(bad))


# ---------------------------------------------------------------------------- optimality
def _matrix_and_rank(approx: Any, x: np.ndarray, a_shape: Any, b_shape: Any):
    """The matrix of the Eckart-Young problem for ``x`` and the rank ``approx`` used."""
    if isinstance(approx, KronTensor) or a_shape is not None:
        if a_shape is None:
            a_shape, b_shape = approx.a_shape, approx.b_shape
        a_shape, b_shape = kron_shapes(x.shape, a_shape, b_shape)
        m_x = kron_rearrange(x, a_shape, b_shape)
        m_a = kron_rearrange(dense(approx), a_shape, b_shape)
        return m_x, m_a, "Kronecker rank"
    if x.ndim != 2:
        raise ValueError(f"x must be a matrix (or give a_shape for KPD), got shape {x.shape}")
    return x, dense(approx), "rank"


def assert_eckart_young(
    approx: Any,
    x: Any,
    rank: int,
    *,
    a_shape: Sequence[int] | None = None,
    b_shape: Sequence[int] | None = None,
    rtol: float = 1e-8,
    atol: float = 1e-12,
) -> None:
    """Assert that ``approx`` is a best approximation of rank ``<= rank`` (Eckart-Young-Mirsky).

    For a matrix: ``rank(X̂) <= rank`` and ``||X - X̂||_F <= sqrt(sum_{i > rank} σ_i(X)^2)``,
    the smallest error any rank-``rank`` matrix reaches (truncated SVD, survey Sec. II-A.1). For
    a Kronecker approximation (a :class:`~tensornet.formats.KronTensor`, or ``a_shape`` given) the
    same on the rearranged matrix ``R(X)`` (KPD / GKPD, Van Loan & Pitsianis; survey eq. 11-13).

    Parameters
    ----------
    approx : StructuredTensor, array_like or (U, s, Vt)
        The approximation.
    x : array_like
        The matrix (or tensor, for a Kronecker approximation).
    rank : int
        The rank allowed.
    a_shape, b_shape : sequence of int, optional
        Factor shapes of a Kronecker approximation given as a dense array.
    rtol, atol : float
        Slack: ``err <= optimum (1 + rtol) + atol ||X||``; singular values of ``X̂`` below
        ``1e-9 ||X||`` do not count towards its rank.

    Raises
    ------
    AssertionError
        With the rank or the error, the optimum and the margin.
    """
    a, x = _pair(approx, x)
    rank = check_int(rank, "rank", minimum=1)
    rtol, atol = check_real(rtol, "rtol", minimum=0.0), check_real(atol, "atol", minimum=0.0)
    m_x, m_a, what = _matrix_and_rank(approx, x, a_shape, b_shape)
    norm = scaled_norm(x)
    s_a = _svals(m_a)
    achieved = int(np.sum(s_a > 1e-9 * norm)) if norm > 0 else 0
    if achieved > rank:
        raise AssertionError(
            f"{what} of the approximation is {achieved} > {rank} (singular values of the "
            f"approximation: {np.array2string(s_a[: rank + 2], precision=3)})"
        )
    best = _tail(_svals(m_x), rank)
    err = scaled_norm(x - a)
    if err > best * (1 + rtol) + atol * norm:
        raise AssertionError(
            f"not optimal (Eckart-Young): ||X - approx|| = {err:.6g} > {best:.6g}, the error of "
            f"the best {what}-{rank} approximation ({_over(err, best)}); ||X|| = {norm:.3g}"
        )


def _unfolding_tail(x: np.ndarray, rows: Sequence[int], r: int) -> float:
    """Best rank-``r`` error of the matricization of ``x`` with ``rows`` as row modes."""
    rest = [k for k in range(x.ndim) if k not in rows]
    n_rows = int(np.prod([x.shape[k] for k in rows]))
    return _tail(_svals(np.transpose(x, list(rows) + rest).reshape(n_rows, -1)), r)


def best_error_lower_bound(x: Any, approx: Any) -> float:
    """A lower bound on ``min ||X - Y||_F`` over ``Y`` in the format and ranks of ``approx``.

    Every matricization of a tensor of bounded ranks has bounded rank, so the best error is at
    least the best low-rank error of each matricization (Eckart-Young): TT ranks bound the
    unfoldings ``X^{<k>}`` (rank ``r_k``), TR ranks the same (``r_0 r_k``), Tucker ranks the
    mode unfoldings (``R_n``), HT ranks every node's matricization (``k_t``), CP rank every
    mode unfolding (``R``), Kronecker rank the rearranged matrix (exact: the bound is the
    optimum).

    Parameters
    ----------
    x : array_like
        The tensor.
    approx : TTTensor, TRTensor, TuckerTensor, HTTensor, CPTensor or KronTensor
        An approximation; only its format and ranks are used.

    Returns
    -------
    float
        The largest of these matricization tails.

    Raises
    ------
    TypeError
        For another format.
    """
    x = check_array(x, "x")
    if tuple(getattr(approx, "shape", ())) != x.shape:
        raise ValueError(f"approx has shape {getattr(approx, 'shape', None)}, x has {x.shape}")
    d = x.ndim
    if isinstance(approx, (TTTensor, TRTensor)) and not isinstance(approx, TTMatrix):
        r = approx.ranks
        inner = [r[k] if isinstance(approx, TTTensor) else r[0] * r[k] for k in range(1, d)]
        return max([_unfolding_tail(x, list(range(k)), inner[k - 1]) for k in range(1, d)] + [0.0])
    if isinstance(approx, TuckerTensor):
        return max(_unfolding_tail(x, [n], r) for n, r in enumerate(approx.ranks))
    if isinstance(approx, CPTensor):
        return max(_unfolding_tail(x, [n], approx.rank) for n in range(d))
    if isinstance(approx, HTTensor):
        tree = approx.tree
        return max(
            [
                _unfolding_tail(x, list(tree.nodes[t]), approx.ranks[t])
                for t in range(1, tree.n_nodes)
            ]
            + [0.0]
        )
    if isinstance(approx, KronTensor):
        m = kron_rearrange(x, approx.a_shape, approx.b_shape)
        return _tail(_svals(m), approx.ranks[0])
    raise TypeError(
        f"no lower bound for {type(approx).__name__}: give lower_bound= to assert_quasi_optimal"
    )


def assert_quasi_optimal(
    approx: Any,
    x: Any,
    factor: float,
    *,
    lower_bound: float | None = None,
    rtol: float = 1e-10,
    atol: float = 1e-13,
) -> None:
    """Assert ``||X - X̂|| <= factor * min_Y ||X - Y||`` over ``Y`` of the same format and ranks.

    The sequential SVDs are quasi-optimal: TT-SVD with ``factor = sqrt(d - 1)`` (Oseledets
    2011, Cor. 2.4), truncated HOSVD with ``sqrt(d)`` (De Lathauwer et al. 2000), HT-SVD with
    ``sqrt(2d - 3)`` (Grasedyck 2010, Thm. 3.11). The minimum is replaced by
    :func:`best_error_lower_bound` (a lower bound on it), so a pass proves the property.

    Parameters
    ----------
    approx : StructuredTensor
        The approximation.
    x : array_like
        The tensor.
    factor : float
        The quasi-optimality constant, ``>= 1``.
    lower_bound : float, optional
        A lower bound on the best error (computed from the format of ``approx`` when omitted).
    rtol, atol : float
        Slack: ``err <= factor * bound (1 + rtol) + atol ||X||``.

    Raises
    ------
    AssertionError
        With the error, ``factor * bound`` and the margin.
    """
    a, x = _pair(approx, x)
    factor = check_real(factor, "factor", minimum=1.0)
    rtol, atol = check_real(rtol, "rtol", minimum=0.0), check_real(atol, "atol", minimum=0.0)
    if lower_bound is None:
        lower_bound = best_error_lower_bound(x, approx)
    lower_bound = check_real(lower_bound, "lower_bound", minimum=0.0)
    err, norm = scaled_norm(x - a), scaled_norm(x)
    allowed = factor * lower_bound
    if err > allowed * (1 + rtol) + atol * norm:
        raise AssertionError(
            f"not quasi-optimal: ||X - approx|| = {err:.6g} > factor * best = {factor:.4g} * "
            f"{lower_bound:.6g} = {allowed:.6g} ({_over(err, allowed)}); ||X|| = {norm:.3g}"
        )


# ---------------------------------------------------------------------------- invariances
def _check_method(method: Any) -> Callable:
    if not callable(method):
        raise TypeError(f"method must be callable, got {type(method).__name__}")
    return method


def assert_scale_equivariant(
    method: Callable[[np.ndarray], Any],
    x: Any,
    *,
    scales: Sequence[float] = (1e-150, 1e150),
    rtol: float = 1e-9,
) -> None:
    """Assert ``method(c X) = c method(X)`` (same ranks, dense results equal up to ``rtol``).

    Every tensornet decomposition has this property down to ``c = 1e±150``, where sums of
    squares underflow or overflow (``tests/decompositions/test_scale_equivariance.py``).

    Parameters
    ----------
    method : callable
        ``method(x)`` returns an approximation (format object, array or ``(U, s, Vt)``); bind
        other arguments with a lambda or :func:`functools.partial`.
    x : array_like
        The tensor.
    scales : sequence of float
        The factors ``c`` (finite, non-zero).
    rtol : float
        Tolerance on ``||method(c X)/c - method(X)|| / ||method(X)||``.

    Raises
    ------
    AssertionError
        With the scale, the ranks or the relative difference.
    """
    method = _check_method(method)
    x = check_array(x, "x")
    rtol = check_real(rtol, "rtol", minimum=0.0)
    cs = [check_real(c, f"scales[{k}]") for k, c in enumerate(scales)]
    if any(c == 0.0 for c in cs):
        raise ValueError(f"scales={tuple(cs)} must be non-zero")
    base = method(x)
    ref = dense(base)
    ref_norm = scaled_norm(ref)
    for c in cs:
        out = method(x * c)
        ranks = (getattr(base, "ranks", None), getattr(out, "ranks", None))
        if ranks[0] is not None and tuple(ranks[0]) != tuple(ranks[1]):
            raise AssertionError(
                f"not scale equivariant at c = {c:g}: ranks {tuple(ranks[1])} for c X, "
                f"{tuple(ranks[0])} for X"
            )
        diff = scaled_norm(dense(out) / c - ref)
        rel = diff / ref_norm if ref_norm > 0 else diff
        if not rel <= rtol:
            raise AssertionError(
                f"not scale equivariant at c = {c:g}: ||f(c X)/c - f(X)|| / ||f(X)|| = {rel:.3g} "
                f"> rtol = {rtol:.3g}"
            )


def assert_deterministic(method: Callable, x: Any, seed: Any = 0) -> None:
    """Assert that two calls with the same seed give the same result, bit for bit.

    Parameters
    ----------
    method : callable
        Called as ``method(x, random_state=seed)``, or ``method(x)`` when ``seed`` is ``None``.
    x : array_like
        The tensor.
    seed : int, numpy.random.Generator state or None
        The seed (an ``int`` gives each call a fresh generator).

    Raises
    ------
    AssertionError
        With the largest difference between the two results.
    """
    method = _check_method(method)
    x = check_array(x, "x")
    if seed is not None:
        seed = check_int(seed, "seed", minimum=0)
    calls = [
        method(x.copy()) if seed is None else method(x.copy(), random_state=seed) for _ in range(2)
    ]
    first, second = (dense(c) for c in calls)
    if first.shape != second.shape or not np.array_equal(first, second):
        diff = (
            float(np.max(np.abs(first - second)))
            if first.shape == second.shape
            else f"shapes {first.shape} and {second.shape}"
        )
        raise AssertionError(
            f"not deterministic: two calls with seed={seed} differ (largest difference {diff})"
        )
