"""Hypothesis strategies for property tests of tensor decompositions.

Every strategy draws *parameters* (shapes, ranks, a seed) through Hypothesis and builds the
numbers from a seeded :func:`numpy.random.default_rng`, so a failing example shrinks to a small
shape, small ranks and seed 0, and it can be rebuilt from what the report prints. The
format strategies return format objects (:class:`~tensornet.formats.TTTensor`, ...) of exactly
the ranks drawn: each rank is the rank of the unfolding it bounds (survey Sec. II-A; Oseledets
2011, Thm. 2.1 for TT; De Lathauwer et al. 2000 for Tucker; Grasedyck 2010 for HT).

Arguments that describe the object (``shape``, ``ranks``, ``noise``, ...) accept a fixed value,
a strategy (drawn from), or ``None`` (drawn from a sensible default), so the strategies compose:
``tt_tensors(shapes(3, 3), ranks=None, noise=st.sampled_from([0.0, 1e-3]))``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

try:
    from hypothesis import strategies as st
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise ImportError(
        "tensornet.testing needs Hypothesis; install it with pip install 'tensornet[testing]'"
    ) from exc

from .._validation import check_int, check_real, check_shape, exact_size
from ..formats import (
    BTDTensor,
    CPTensor,
    DimensionTree,
    HTTensor,
    KronTensor,
    TRTensor,
    TTMatrix,
    TTTensor,
    TuckerTensor,
)
from ..formats.tt import tt_max_ranks

__all__ = [
    "Noisy",
    "btd_tensors",
    "cp_tensors",
    "dense_tensors",
    "dimension_trees",
    "ht_tensors",
    "kron_tensors",
    "layer_shapes",
    "matrices_with_decay",
    "random_array",
    "rank_tuples",
    "seeds",
    "shapes",
    "tr_tensors",
    "tt_matrices",
    "tt_tensors",
    "tucker_tensors",
]

#: Formats that :func:`rank_tuples` knows.
RANK_FORMATS = ("tt", "tr", "tucker", "cp", "ht")


class Noisy(NamedTuple):
    """A low-rank tensor and a noisy dense copy of it, ``||x - clean|| = noise ||clean||``.

    Attributes
    ----------
    x : numpy.ndarray
        The dense tensor with the noise added.
    clean : StructuredTensor
        The exact low-rank tensor.
    noise : float
        The relative size of the noise.
    """

    x: np.ndarray
    clean: Any
    noise: float


# ---------------------------------------------------------------------------- argument handling
def _is_strategy(value: Any) -> bool:
    return isinstance(value, st.SearchStrategy)


def _resolve(draw: Callable, value: Any, default: Callable[[], Any]) -> Any:
    """``value`` drawn if it is a strategy, ``default()`` drawn if it is ``None``."""
    if value is None:
        return draw(default())
    if _is_strategy(value):
        return draw(value)
    return value


def _check_shape_arg(shape: Any, name: str = "shape", min_dims: int = 1) -> Any:
    """A fixed shape checked now (strategies and ``None`` are checked when drawn)."""
    if shape is None or _is_strategy(shape):
        return shape
    shape = check_shape(shape, name)
    if len(shape) < min_dims:
        raise ValueError(f"{name}={shape} must have at least {min_dims} modes")
    return shape


def _check_noise(noise: Any) -> Any:
    if noise is None or _is_strategy(noise):
        return noise
    return check_real(noise, "noise", minimum=0.0)


def _check_max_rank(max_rank: Any) -> int:
    return check_int(max_rank, "max_rank", minimum=1)


def _with_noise(draw: Callable, tensor: Any, noise: Any) -> Any:
    """``tensor``, or :class:`Noisy` with Gaussian noise of relative size ``noise``."""
    noise = float(_resolve(draw, noise, lambda: st.just(0.0)))
    if noise == 0.0:
        return tensor
    clean = tensor.full()
    e = random_array(clean.shape, draw(seeds()))
    norm_e, norm_x = np.linalg.norm(e), np.linalg.norm(clean)
    if norm_e == 0.0 or norm_x == 0.0:
        return Noisy(clean, tensor, 0.0)
    return Noisy(clean + (noise * norm_x / norm_e) * e, tensor, noise)


# ---------------------------------------------------------------------------- basic strategies
def seeds() -> st.SearchStrategy[int]:
    """Seeds for :func:`numpy.random.default_rng` (data is drawn from a seeded generator).

    Returns
    -------
    hypothesis.strategies.SearchStrategy of int
        Integers in ``[0, 2**32 - 1]``, shrinking to 0.
    """
    return st.integers(0, 2**32 - 1)


def random_array(shape: Sequence[int], seed: int, dtype: Any = np.float64) -> np.ndarray:
    """Standard normal array of ``shape`` from ``seed`` (a plain function, not a strategy).

    Parameters
    ----------
    shape : sequence of int
        The shape.
    seed : int
        Seed of :func:`numpy.random.default_rng`.
    dtype : numpy dtype
        Floating dtype of the result.

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> random_array((2, 3), 0).shape
    (2, 3)
    """
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    if not isinstance(shape, (Sequence, np.ndarray)) or isinstance(shape, (str, bytes)):
        raise TypeError(f"shape must be a sequence of ints, got {shape!r}")
    shape = tuple(check_int(n, f"shape[{k}]", minimum=0) for k, n in enumerate(shape))
    seed = check_int(seed, "seed", minimum=0)
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def shapes(
    min_dims: int = 1,
    max_dims: int = 4,
    min_side: int = 1,
    max_side: int = 5,
    max_size: int | None = None,
) -> st.SearchStrategy[tuple[int, ...]]:
    """Tensor shapes with ``min_dims..max_dims`` modes of size ``min_side..max_side``.

    Parameters
    ----------
    min_dims, max_dims : int
        Bounds on the order ``d``.
    min_side, max_side : int
        Bounds on every mode size.
    max_size : int, optional
        Bound on the number of elements ``prod(shape)``; it must admit ``min_side**min_dims``.

    Returns
    -------
    hypothesis.strategies.SearchStrategy of tuple of int
        Shrinks towards ``min_dims`` modes of size ``min_side``.

    Raises
    ------
    ValueError
        If a bound is below its minimum or the bounds admit no shape.
    """
    min_dims = check_int(min_dims, "min_dims", minimum=0)
    max_dims = check_int(max_dims, "max_dims", minimum=max(min_dims, 1))
    min_side = check_int(min_side, "min_side", minimum=1)
    max_side = check_int(max_side, "max_side", minimum=min_side)
    if max_size is None:
        return st.lists(st.integers(min_side, max_side), min_size=min_dims, max_size=max_dims).map(
            tuple
        )
    max_size = check_int(max_size, "max_size", minimum=1)
    if min_side**min_dims > max_size:
        raise ValueError(
            f"max_size={max_size} admits no shape with {min_dims} modes of size >= {min_side}"
        )

    @st.composite
    def bounded(draw: Callable) -> tuple[int, ...]:
        d = draw(st.integers(min_dims, max_dims))
        while d > min_dims and min_side**d > max_size:
            d -= 1
        out: list[int] = []
        for k in range(d):
            room = max_size // (exact_size(out) * min_side ** (d - k - 1))
            out.append(draw(st.integers(min_side, min(max_side, room))))
        return tuple(out)

    return bounded()


def dense_tensors(shape: Any = None) -> st.SearchStrategy[np.ndarray]:
    """Standard normal tensors (of full multilinear, TT, ... rank almost surely).

    Parameters
    ----------
    shape : tuple of int, strategy or None
        The shape; ``None`` draws from :func:`shapes`.

    Returns
    -------
    hypothesis.strategies.SearchStrategy of numpy.ndarray
    """
    shape = _check_shape_arg(shape)

    @st.composite
    def build(draw: Callable) -> np.ndarray:
        return random_array(_resolve(draw, shape, shapes), draw(seeds()))

    return build()


def dimension_trees(d: int) -> st.SearchStrategy[DimensionTree]:
    """Random binary dimension trees over a random order of the modes ``0..d-1``.

    Parameters
    ----------
    d : int
        Number of modes, ``>= 2``.

    Returns
    -------
    hypothesis.strategies.SearchStrategy of DimensionTree
        Shrinks towards the identity order and the most unbalanced (linear) split.
    """
    d = check_int(d, "d", minimum=2)

    @st.composite
    def build(draw: Callable) -> DimensionTree:
        modes = draw(st.permutations(list(range(d))))

        def split(ms: list[int]) -> Any:
            if len(ms) == 1:
                return ms[0]
            cut = draw(st.integers(1, len(ms) - 1))
            return (split(ms[:cut]), split(ms[cut:]))

        return DimensionTree(split(list(modes)))

    return build()


# ---------------------------------------------------------------------------- rank tuples
def _tt_minimal(raw: Sequence[int], shape: Sequence[int]) -> tuple[int, ...]:
    """Lower inner TT ranks until ``r_k <= r_{k-1} n_k`` and ``r_k <= n_{k+1} r_{k+1}``.

    One forward and one backward pass reach the fixed point; such ranks are the unfolding ranks
    of a TT tensor with generic cores.
    """
    r = [1, *raw, 1]
    for k in range(1, len(r) - 1):
        r[k] = min(r[k], r[k - 1] * shape[k - 1])
    for k in range(len(r) - 2, 0, -1):
        r[k] = min(r[k], shape[k] * r[k + 1])
    return tuple(r)


def _tucker_minimal(raw: Sequence[int]) -> tuple[int, ...]:
    """Lower multilinear ranks until ``R_n <= prod_{m != n} R_m`` (a core can have them)."""
    r = list(raw)
    changed = True
    while changed:
        changed = False
        for n in range(len(r)):
            cap = exact_size(r[:n] + r[n + 1 :])
            if r[n] > cap:
                r[n], changed = cap, True
    return tuple(r)


def _ht_minimal(raw: Sequence[int], shape: Sequence[int], tree: DimensionTree) -> tuple[int, ...]:
    """Lower HT node ranks until every node's rank is the rank of its matricization.

    Leaves: ``k_t <= I_t``; interior: ``k_t <= k_l k_r``; every non-root node:
    ``k_t <= k_sibling k_parent`` (so the root's children get equal ranks).
    """
    k = [1, *raw[1:]]
    changed = True
    while changed:
        changed = False
        for t in range(1, tree.n_nodes):
            cap = k[t]
            if tree.is_leaf(t):
                cap = min(cap, shape[tree.nodes[t][0]])
            else:
                left, right = tree.children[t]
                cap = min(cap, k[left] * k[right])
            parent = tree.parent[t]
            sibling = [c for c in tree.children[parent] if c != t][0]
            cap = min(cap, k[sibling] * k[parent])
            if cap < k[t]:
                k[t], changed = cap, True
    return tuple(k)


def _as_tree(tree: Any, d: int) -> DimensionTree:
    tree = DimensionTree.balanced(d) if tree is None else DimensionTree(tree)
    if tree.d != d:
        raise ValueError(f"tree covers {tree.d} modes but the shape has {d}")
    return tree


def rank_tuples(
    shape: Any, format: str = "tt", *, max_rank: int = 3, tree: Any = None
) -> st.SearchStrategy[tuple[int, ...]]:
    """Rank tuples valid for ``shape`` in ``format``, in the format's ``.ranks`` convention.

    Every tuple is attained exactly by a generic tensor of that format: ``"tt"`` gives
    ``(1, r_1, ..., r_{d-1}, 1)`` with ``r_k <= r_{k-1} n_k`` and ``r_k <= n_{k+1} r_{k+1}``
    (``r_k`` is then the rank of the unfolding ``X^{<k>}``); ``"tucker"`` gives ``(R_0, ...)``
    with ``R_n <= I_n`` and ``R_n <= prod_{m != n} R_m``; ``"ht"`` one rank per node of
    ``tree`` (root first, ``k_root = 1``) equal to its matricization rank; ``"tr"`` gives
    ``(r_0, ..., r_{d-1}, r_0)``; ``"cp"`` gives ``(R,)``.

    Parameters
    ----------
    shape : tuple of int or strategy
        The tensor shape (a strategy draws one per example).
    format : {"tt", "tr", "tucker", "cp", "ht"}
        The format.
    max_rank : int
        Largest rank drawn, ``>= 1``.
    tree : DimensionTree or nested sequence, optional
        The dimension tree of ``"ht"`` (balanced by default).

    Returns
    -------
    hypothesis.strategies.SearchStrategy of tuple of int
        Shrinks towards all ranks 1.

    Raises
    ------
    ValueError
        For an unknown format, a bad shape or ``max_rank < 1``.
    """
    if format not in RANK_FORMATS:
        raise ValueError(f"format={format!r} must be one of {RANK_FORMATS}")
    if shape is None:
        raise TypeError("shape must be a tuple of int or a strategy, got None")
    shape = _check_shape_arg(shape, min_dims=2 if format in ("tr", "ht") else 1)
    max_rank = _check_max_rank(max_rank)
    fixed_tree = None if tree is None or _is_strategy(tree) else DimensionTree(tree)

    @st.composite
    def build(draw: Callable) -> tuple[int, ...]:
        n = tuple(draw(shape)) if _is_strategy(shape) else shape
        d = len(n)
        if format == "tt":
            bounds = tt_max_ranks(n)
            raw = [draw(st.integers(1, min(max_rank, b))) for b in bounds]
            return _tt_minimal(raw, n)
        if format == "tucker":
            return _tucker_minimal([draw(st.integers(1, min(max_rank, m))) for m in n])
        if format == "cp":
            return (draw(st.integers(1, max_rank)),)
        if format == "tr":
            r = [draw(st.integers(1, max_rank)) for _ in range(d)]
            return (*r, r[0])
        t = _as_tree(draw(tree) if _is_strategy(tree) else fixed_tree, d)
        raw = [1] + [draw(st.integers(1, max_rank)) for _ in range(t.n_nodes - 1)]
        return _ht_minimal(raw, n, t)

    return build()


def _resolve_ranks(draw: Callable, ranks: Any, shape: tuple, fmt: str, max_rank: int, **kw: Any):
    if ranks is None:
        return draw(rank_tuples(shape, fmt, max_rank=max_rank, **kw))
    if _is_strategy(ranks):
        return draw(ranks)
    return ranks


def _rng(draw: Callable) -> np.random.Generator:
    return np.random.default_rng(draw(seeds()))


def _orthonormal(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    """``rows x cols`` matrix with orthonormal columns (QR of a Gaussian matrix)."""
    q, r = np.linalg.qr(rng.standard_normal((rows, cols)))
    return q * np.where(np.diag(r) < 0, -1.0, 1.0)


# ---------------------------------------------------------------------------- formats
def tt_tensors(
    shape: Any = None, ranks: Any = None, *, noise: Any = 0.0, max_rank: int = 3
) -> st.SearchStrategy:
    """Exact TT tensors (survey eq. 8) with Gaussian cores of the given TT ranks.

    Parameters
    ----------
    shape : tuple of int, strategy or None
        The shape; ``None`` draws from :func:`shapes` with 2 to 4 modes.
    ranks : sequence of int, strategy or None
        All ``d + 1`` TT ranks ``(1, r_1, ..., r_{d-1}, 1)``; ``None`` draws from
        :func:`rank_tuples` ``(shape, "tt")``, which gives exactly the unfolding ranks.
    noise : float, strategy or None
        Relative size of added Gaussian noise; ``0`` returns the format object itself, a
        positive value a :class:`Noisy` ``(x, clean, noise)``.
    max_rank : int
        Largest rank drawn when ``ranks`` is ``None``.

    Returns
    -------
    hypothesis.strategies.SearchStrategy of TTTensor or Noisy

    Examples
    --------
    >>> from hypothesis import given
    >>> @given(tt_tensors((3, 4, 5), max_rank=2))
    ... def test(tt):
    ...     assert max(tt.ranks) <= 2
    >>> test()
    """
    shape, noise, max_rank = _check_shape_arg(shape), _check_noise(noise), _check_max_rank(max_rank)

    @st.composite
    def build(draw: Callable) -> Any:
        n = _resolve(draw, shape, lambda: shapes(2, 4, 1, 4))
        r = _resolve_ranks(draw, ranks, n, "tt", max_rank)
        if len(r) != len(n) + 1:
            raise ValueError(f"ranks={tuple(r)} must have d+1={len(n) + 1} entries for shape {n}")
        rng = _rng(draw)
        cores = [rng.standard_normal((r[k], m, r[k + 1])) for k, m in enumerate(n)]
        return _with_noise(draw, TTTensor(cores, copy=False), noise)

    return build()


def tr_tensors(
    shape: Any = None, ranks: Any = None, *, noise: Any = 0.0, max_rank: int = 3
) -> st.SearchStrategy:
    """Exact tensor-ring tensors (survey eq. 9) with Gaussian cores.

    Parameters
    ----------
    shape : tuple of int, strategy or None
        The shape (``d >= 2``); ``None`` draws 2 to 4 modes.
    ranks : sequence of int, strategy or None
        ``(r_0, ..., r_{d-1})`` or the ``d + 1`` ranks of :attr:`TRTensor.ranks`; the unfolding
        ``X^{<k>}`` then has rank at most ``r_0 r_k``.
    noise : float, strategy or None
        As in :func:`tt_tensors`.
    max_rank : int
        Largest rank drawn when ``ranks`` is ``None``.

    Returns
    -------
    hypothesis.strategies.SearchStrategy of TRTensor or Noisy
    """
    shape = _check_shape_arg(shape, min_dims=2)
    noise, max_rank = _check_noise(noise), _check_max_rank(max_rank)

    @st.composite
    def build(draw: Callable) -> Any:
        n = _resolve(draw, shape, lambda: shapes(2, 4, 1, 4))
        r = tuple(_resolve_ranks(draw, ranks, n, "tr", max_rank))[: len(n)]
        rng = _rng(draw)
        d = len(n)
        cores = [rng.standard_normal((r[k], m, r[(k + 1) % d])) for k, m in enumerate(n)]
        return _with_noise(draw, TRTensor(cores, copy=False), noise)

    return build()


def tucker_tensors(
    shape: Any = None, ranks: Any = None, *, noise: Any = 0.0, max_rank: int = 3
) -> st.SearchStrategy:
    """Exact Tucker tensors (survey Sec. II-A.2): Gaussian core, orthonormal factors.

    Parameters
    ----------
    shape : tuple of int, strategy or None
        The shape; ``None`` draws 1 to 4 modes.
    ranks : sequence of int, strategy or None
        Multilinear ranks ``(R_0, ..., R_{d-1})``; ``None`` draws attainable ones, each the rank
        of the mode-``n`` unfolding.
    noise : float, strategy or None
        As in :func:`tt_tensors`.
    max_rank : int
        Largest rank drawn when ``ranks`` is ``None``.

    Returns
    -------
    hypothesis.strategies.SearchStrategy of TuckerTensor or Noisy
    """
    shape, noise, max_rank = _check_shape_arg(shape), _check_noise(noise), _check_max_rank(max_rank)

    @st.composite
    def build(draw: Callable) -> Any:
        n = _resolve(draw, shape, lambda: shapes(1, 4, 1, 4))
        r = tuple(_resolve_ranks(draw, ranks, n, "tucker", max_rank))
        rng = _rng(draw)
        factors = [_orthonormal(rng, m, k) for m, k in zip(n, r, strict=True)]
        return _with_noise(draw, TuckerTensor(rng.standard_normal(r), factors), noise)

    return build()


def cp_tensors(
    shape: Any = None, rank: Any = None, *, noise: Any = 0.0, max_rank: int = 3
) -> st.SearchStrategy:
    """CP tensors (survey Sec. II-A.3): unit-norm Gaussian factor columns, weights in [1, 2].

    Parameters
    ----------
    shape : tuple of int, strategy or None
        The shape; ``None`` draws 2 to 4 modes.
    rank : int, strategy or None
        The number of components ``R``; ``None`` draws ``1..max_rank``. Every unfolding has
        rank ``min(R, its sides)`` almost surely.
    noise : float, strategy or None
        As in :func:`tt_tensors`.
    max_rank : int
        Largest rank drawn when ``rank`` is ``None``.

    Returns
    -------
    hypothesis.strategies.SearchStrategy of CPTensor or Noisy
    """
    shape, noise, max_rank = _check_shape_arg(shape), _check_noise(noise), _check_max_rank(max_rank)
    if rank is not None and not _is_strategy(rank):
        rank = check_int(rank, "rank", minimum=1)

    @st.composite
    def build(draw: Callable) -> Any:
        n = _resolve(draw, shape, lambda: shapes(2, 4, 1, 4))
        r = _resolve(draw, rank, lambda: st.integers(1, max_rank))
        rng = _rng(draw)
        factors = []
        for m in n:
            a = rng.standard_normal((m, r))
            factors.append(a / np.linalg.norm(a, axis=0))
        weights = 1.0 + rng.random(r)
        return _with_noise(draw, CPTensor(weights, factors), noise)

    return build()


def btd_tensors(
    shape: Any = None,
    term_ranks: Any = None,
    *,
    n_terms: Any = None,
    noise: Any = 0.0,
    max_rank: int = 2,
) -> st.SearchStrategy:
    """Block term tensors: sums of exact Tucker terms of :func:`tucker_tensors` (De Lathauwer 2008).

    Parameters
    ----------
    shape : tuple of int, strategy or None
        The shape; ``None`` draws 2 to 4 modes.
    term_ranks : sequence of rank tuples, strategy or None
        The multilinear ranks of every term; ``None`` draws ``n_terms`` attainable ones. The
        mode-``n`` unfolding then has rank at most ``sum_r R_n^(r)``.
    n_terms : int, strategy or None
        The number of terms when ``term_ranks`` is ``None``; ``None`` draws 1 to 3.
    noise : float, strategy or None
        As in :func:`tt_tensors`.
    max_rank : int
        Largest rank drawn when ``term_ranks`` is ``None``.

    Returns
    -------
    hypothesis.strategies.SearchStrategy of BTDTensor or Noisy
    """
    shape, noise, max_rank = _check_shape_arg(shape), _check_noise(noise), _check_max_rank(max_rank)
    if n_terms is not None and not _is_strategy(n_terms):
        n_terms = check_int(n_terms, "n_terms", minimum=1)

    @st.composite
    def build(draw: Callable) -> Any:
        n = _resolve(draw, shape, lambda: shapes(2, 4, 1, 4))
        ranks = term_ranks if not _is_strategy(term_ranks) else draw(term_ranks)
        if term_ranks is None:
            count = _resolve(draw, n_terms, lambda: st.integers(1, 3))
            ranks = [draw(rank_tuples(n, "tucker", max_rank=max_rank)) for _ in range(count)]
        terms = [draw(tucker_tensors(n, tuple(r))) for r in ranks]
        return _with_noise(draw, BTDTensor(terms), noise)

    return build()


def ht_tensors(
    shape: Any = None,
    ranks: Any = None,
    *,
    tree: Any = None,
    noise: Any = 0.0,
    max_rank: int = 3,
) -> st.SearchStrategy:
    """Exact hierarchical Tucker tensors (survey eq. 6-7): orthonormal leaves, Gaussian transfers.

    Parameters
    ----------
    shape : tuple of int, strategy or None
        The shape (``d >= 2``); ``None`` draws 2 to 4 modes.
    ranks : sequence of int, strategy or None
        One rank per node of the tree in :attr:`DimensionTree.nodes` order, root first
        (``k_root = 1``); ``None`` draws attainable ones (each the rank of the node's
        matricization).
    tree : DimensionTree, nested sequence, strategy or None
        The tree; ``None`` is the balanced tree (pass :func:`dimension_trees` to vary it).
    noise : float, strategy or None
        As in :func:`tt_tensors`.
    max_rank : int
        Largest rank drawn when ``ranks`` is ``None``.

    Returns
    -------
    hypothesis.strategies.SearchStrategy of HTTensor or Noisy
    """
    shape = _check_shape_arg(shape, min_dims=2)
    noise, max_rank = _check_noise(noise), _check_max_rank(max_rank)

    @st.composite
    def build(draw: Callable) -> Any:
        n = _resolve(draw, shape, lambda: shapes(2, 4, 1, 4))
        t = _as_tree(draw(tree) if _is_strategy(tree) else tree, len(n))
        k = tuple(_resolve_ranks(draw, ranks, n, "ht", max_rank, tree=t))
        if len(k) != t.n_nodes:
            raise ValueError(f"ranks={k} must have {t.n_nodes} entries, one per tree node")
        rng = _rng(draw)
        leaves: list[np.ndarray] = [np.empty((0, 0))] * len(n)
        for node in t.leaves:
            mode = t.nodes[node][0]
            leaves[mode] = _orthonormal(rng, n[mode], k[node])
        transfers = {}
        for node in t.interior:
            left, right = t.children[node]
            transfers[node] = rng.standard_normal((k[left], k[right], k[node]))
        return _with_noise(draw, HTTensor(t, leaves, transfers), noise)

    return build()


def kron_tensors(
    a_shape: Any = None,
    b_shape: Any = None,
    rank: Any = None,
    *,
    noise: Any = 0.0,
    max_rank: int = 3,
) -> st.SearchStrategy:
    """Sums of ``R`` Kronecker products ``sum_r A_r ⊗ B_r`` (survey eq. 11-13), Gaussian factors.

    Parameters
    ----------
    a_shape, b_shape : tuple of int, strategy or None
        Shapes of the factors (same length); ``None`` draws 1 to 3 modes of size 1 to 3 (the
        length of a given one is kept).
    rank : int, strategy or None
        The Kronecker rank ``R``; ``None`` draws ``1..min(max_rank, prod a_shape,
        prod b_shape)``, the rank of the rearranged matrix (Van Loan & Pitsianis).
    noise : float, strategy or None
        As in :func:`tt_tensors`.
    max_rank : int
        Largest rank drawn when ``rank`` is ``None``.

    Returns
    -------
    hypothesis.strategies.SearchStrategy of KronTensor or Noisy
    """
    a_shape, b_shape = _check_shape_arg(a_shape, "a_shape"), _check_shape_arg(b_shape, "b_shape")
    if a_shape is not None and b_shape is not None and not _is_strategy(a_shape):
        if not _is_strategy(b_shape) and len(a_shape) != len(b_shape):
            raise ValueError(f"a_shape={a_shape} and b_shape={b_shape} must have the same length")
    noise, max_rank = _check_noise(noise), _check_max_rank(max_rank)
    if rank is not None and not _is_strategy(rank):
        rank = check_int(rank, "rank", minimum=1)

    @st.composite
    def build(draw: Callable) -> Any:
        a = _resolve(draw, a_shape, lambda: shapes(1, 3, 1, 3))
        b = _resolve(draw, b_shape, lambda: shapes(len(a), len(a), 1, 3))
        if len(a) != len(b):
            raise ValueError(f"a_shape={a} and b_shape={b} must have the same length")
        top = min(max_rank, exact_size(a), exact_size(b))
        r = _resolve(draw, rank, lambda: st.integers(1, top))
        rng = _rng(draw)
        tensor = KronTensor(rng.standard_normal((r, *a)), rng.standard_normal((r, *b)))
        return _with_noise(draw, tensor, noise)

    return build()


# ---------------------------------------------------------------------------- matrices
def layer_shapes(
    min_dims: int = 2, max_dims: int = 3, min_side: int = 1, max_side: int = 4
) -> st.SearchStrategy[tuple[tuple[int, ...], tuple[int, ...]]]:
    """Pairs ``(in_modes, out_modes)`` of equal length: the factorized sizes of a layer.

    Parameters
    ----------
    min_dims, max_dims : int
        Bounds on the number of modes ``d``.
    min_side, max_side : int
        Bounds on every mode size.

    Returns
    -------
    hypothesis.strategies.SearchStrategy of (tuple of int, tuple of int)
        A weight of shape ``(prod in_modes, prod out_modes)`` (the ``y = x @ W`` orientation).
    """
    min_dims = check_int(min_dims, "min_dims", minimum=1)
    max_dims = check_int(max_dims, "max_dims", minimum=min_dims)
    side = shapes(1, 1, min_side, max_side)  # checks the side bounds

    @st.composite
    def build(draw: Callable) -> tuple[tuple[int, ...], tuple[int, ...]]:
        d = draw(st.integers(min_dims, max_dims))
        ins = tuple(draw(side)[0] for _ in range(d))
        outs = tuple(draw(side)[0] for _ in range(d))
        return ins, outs

    return build()


def tt_matrices(
    in_modes: Any = None, out_modes: Any = None, ranks: Any = None, *, max_rank: int = 3
) -> st.SearchStrategy[TTMatrix]:
    """TT-matrices (Novikov et al. 2015) with Gaussian cores ``(r_{k-1}, m_k, n_k, r_k)``.

    Parameters
    ----------
    in_modes, out_modes : tuple of int or None
        The layer modes; ``None`` for both draws them from :func:`layer_shapes` (pass a
        strategy of pairs as ``in_modes`` with ``out_modes=None`` to choose the distribution).
    ranks : sequence of int, strategy or None
        The ``d + 1`` TT ranks; ``None`` draws the unfolding ranks of the TT tensor of shape
        ``(m_1 n_1, ..., m_d n_d)``.
    max_rank : int
        Largest rank drawn when ``ranks`` is ``None``.

    Returns
    -------
    hypothesis.strategies.SearchStrategy of TTMatrix
    """
    max_rank = _check_max_rank(max_rank)
    if not _is_strategy(in_modes) and (in_modes is None) != (out_modes is None):
        raise ValueError("in_modes and out_modes must be given together (or both None)")
    if in_modes is not None and not _is_strategy(in_modes):
        in_modes, out_modes = check_shape(in_modes, "in_modes"), check_shape(out_modes, "out_modes")
        if len(in_modes) != len(out_modes):
            raise ValueError(
                f"in_modes {in_modes} and out_modes {out_modes} must have the same length"
            )

    @st.composite
    def build(draw: Callable) -> TTMatrix:
        if in_modes is None or _is_strategy(in_modes):
            ins, outs = draw(layer_shapes() if in_modes is None else in_modes)
        else:
            ins, outs = in_modes, out_modes
        merged = tuple(m * n for m, n in zip(ins, outs, strict=True))
        r = _resolve_ranks(draw, ranks, merged, "tt", max_rank)
        rng = _rng(draw)
        cores = [
            rng.standard_normal((r[k], m, n, r[k + 1]))
            for k, (m, n) in enumerate(zip(ins, outs, strict=True))
        ]
        return TTMatrix(cores, copy=False)

    return build()


def _spectrum(k: int, decay: str, rate: float) -> np.ndarray:
    i = np.arange(k, dtype=np.float64)
    if decay == "geometric":
        return rate**i
    return (i + 1.0) ** (-rate)


def matrices_with_decay(
    shape: Any = None, decay: str = "geometric", rate: Any = 0.5
) -> st.SearchStrategy[np.ndarray]:
    """Matrices ``U diag(s) V^T`` with random orthonormal ``U, V`` and a prescribed spectrum.

    ``decay="geometric"`` gives ``s_i = rate**i`` (``0 < rate < 1``), ``"polynomial"`` gives
    ``s_i = (i + 1)**(-rate)`` (``rate > 0``), for ``i = 0 .. min(shape) - 1``: the singular
    values of the result, so the best rank-``r`` error is known exactly (Eckart-Young).

    Parameters
    ----------
    shape : tuple of two int, strategy or None
        The matrix shape; ``None`` draws sides 1 to 8.
    decay : {"geometric", "polynomial"}
        The law of the singular values.
    rate : float or strategy
        Its parameter.

    Returns
    -------
    hypothesis.strategies.SearchStrategy of numpy.ndarray
    """
    if decay not in ("geometric", "polynomial"):
        raise ValueError(f"decay={decay!r} must be 'geometric' or 'polynomial'")
    shape = _check_shape_arg(shape)
    if shape is not None and not _is_strategy(shape) and len(shape) != 2:
        raise ValueError(f"shape={shape} must have 2 entries (a matrix)")

    def checked_rate(value: Any) -> float:
        value = check_real(value, "rate")
        ok = 0.0 < value < 1.0 if decay == "geometric" else 0.0 < value < np.inf
        if not ok:
            bound = "0 < rate < 1" if decay == "geometric" else "rate > 0"
            raise ValueError(f"rate={value} must satisfy {bound} for decay={decay!r}")
        return value

    if not _is_strategy(rate):
        rate = checked_rate(rate)

    @st.composite
    def build(draw: Callable) -> np.ndarray:
        m, n = _resolve(draw, shape, lambda: shapes(2, 2, 1, 8))
        s = _spectrum(min(m, n), decay, checked_rate(_resolve(draw, rate, st.nothing)))
        rng = _rng(draw)
        return (_orthonormal(rng, m, len(s)) * s) @ _orthonormal(rng, n, len(s)).T

    return build()
