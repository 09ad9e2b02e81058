"""Hierarchical SVD: dense tensor -> hierarchical Tucker (Grasedyck 2010; survey eq. 6-7).

Algorithm (leaves to root on the reduced tensor)
------------------------------------------------
Let ``T`` be the dimension tree, ``t_1, t_2`` the root's children and ``δ = eps ||X|| /
sqrt(2d - 3)``. Keep a *reduced* tensor ``C`` (initially ``X``) whose axes belong to the current
frontier of nodes.

1. Every leaf ``t`` except ``t_2`` (if ``t_2`` is a leaf): ``U_t`` = the leading left singular
   vectors of the mode unfolding of ``C`` (δ-truncated, capped by the rank), then
   ``C <- C ×_t U_t^T``.
2. Interior nodes from the deepest level up (the root and ``t_2`` excluded): matricize ``C``
   with the children's two axes as rows, take the leading left singular vectors ``Q``
   (δ-truncated), store ``B_t = reshape(Q, (k_l, k_r, k_t))`` and merge the two axes:
   ``C <- Q^T C``.
3. ``t_2`` last: its matricization now has rank ``<= k_{t_1}`` (it is the transpose of
   ``t_1``'s), so it is kept untruncated (only a user rank cap can truncate it). The root's
   ``B`` is the remaining ``k_{t_1} x k_{t_2}`` matrix.

Guarantee. Every step is an orthogonal projection that either commutes with the earlier ones
or is contained in them, so the errors add in squares:
``||X - X_HT||^2 = sum_t tail_t^2`` (exactly, reported as ``info["error"]``). There are ``2d - 3``
δ-truncations, hence ``||X - X_HT|| <= eps ||X||`` (Grasedyck 2010; the ``2d - 3`` count
treats the root's two children as one truncation). Each tail is at most the best error for that
node on the original tensor, so the result is also within ``sqrt(2d - 3)`` of the best HT
approximation with the same ranks.

Difference to Grasedyck's leaves-to-root description: the leaf SVDs here are taken one after
another on the progressively reduced tensor (as in the sequentially truncated HOSVD) instead of
all on ``X``. That is cheaper, keeps the bound, and makes the reported error exact instead of an
upper bound.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._deprecation import deprecated_arguments
from .._validation import check_array, check_eps, check_int, check_rank_spec, scale_equivariant
from ..algebra.truncation import error_budget, leading_subspace
from ..formats.ht import DimensionTree, HTTensor, _as_tree

__all__ = ["ht_svd", "ht_max_ranks"]


def ht_max_ranks(shape: tuple[int, ...], tree: Any = None) -> tuple[int, ...]:
    """Largest meaningful rank of every node: ``min(prod_{k in t} I_k, prod_{k not in t} I_k)``.

    Parameters
    ----------
    shape : tuple of int
        Tensor shape.
    tree : DimensionTree or nested sequence, optional
        The dimension tree (balanced by default).

    Returns
    -------
    tuple of int
        One entry per node in :attr:`DimensionTree.nodes` order (the root's entry is 1).
    """
    tree = _as_tree(tree, len(shape))
    total = int(np.prod(shape))
    out = [1]
    for modes in tree.nodes[1:]:
        inside = int(np.prod([shape[k] for k in modes]))
        out.append(min(inside, total // inside))
    return tuple(out)


def _rank_caps(ranks: Any, shape: tuple[int, ...], tree: DimensionTree) -> list[int | None]:
    """Per-node rank caps (index 0, the root, is unused)."""
    n = tree.n_nodes
    if ranks is None:
        return [None] * n
    maximum = ht_max_ranks(shape, tree)
    if isinstance(ranks, (int, np.integer)) and not isinstance(ranks, bool):
        r = check_int(ranks, "ranks", minimum=1)
        return [None] + [min(r, m) for m in maximum[1:]]
    ranks = list(ranks)
    if len(ranks) != n - 1:
        raise ValueError(
            f"ranks must be an int or a sequence of {n - 1} ints (one per non-root node in "
            f"tree.nodes[1:] order: {tree.nodes[1:]}), got length {len(ranks)}"
        )
    caps: list[int | None] = [None]
    for t, r in enumerate(ranks, start=1):
        r = check_int(r, f"ranks[{t - 1}]", minimum=1)
        if r > maximum[t]:
            raise ValueError(
                f"ranks[{t - 1}]={r} exceeds the largest possible rank {maximum[t]} of node "
                f"{tree.nodes[t]} for shape {shape}"
            )
        caps.append(r)
    return caps


def _matrix(c: np.ndarray, n_row_axes: int) -> np.ndarray:
    """``c`` as a contiguous float64 matrix with its first ``n_row_axes`` axes as rows."""
    rows = int(np.prod(c.shape[:n_row_axes]))
    return np.ascontiguousarray(c, dtype=np.float64).reshape(rows, -1)


@deprecated_arguments(positional=("eps", "tree"))
@scale_equivariant
def ht_svd(
    x: np.ndarray,
    ranks: Any = None,
    *,
    eps: float | None = None,
    tree: Any = None,
) -> HTTensor:
    """Hierarchical SVD of a dense tensor into hierarchical Tucker format (Grasedyck 2010).

    See the module docstring for the algorithm and its guarantee.

    Parameters
    ----------
    x : array_like, shape (I_0, ..., I_{d-1}), d >= 2
        The tensor.
    ranks : int or sequence of int, optional
        Upper bounds on the node ranks ``k_t``: an ``int`` for every node (capped at each
        node's largest possible rank) or one value per non-root node in ``tree.nodes[1:]``
        order (breadth-first, root excluded). ``None``: no cap.
    eps : float, optional
        Relative error bound in ``[0, 1)``; each of the ``2d - 3`` truncations is allowed
        ``eps ||X|| / sqrt(2d - 3)``. With ``ranks`` as well, the bound holds only if no cap
        binds (the achieved error is reported either way). ``eps=0`` drops only numerically
        zero directions (as :func:`~tensornet.decompositions.tt_svd` does). With neither, the
        decomposition is exact (all singular values kept).
    tree : DimensionTree or nested sequence, optional
        The dimension tree; balanced by default (see :class:`~tensornet.formats.DimensionTree`).

    Returns
    -------
    HTTensor
        With orthonormal nodes and ``info`` holding ``error`` (``||X - X_HT||_F``, exact),
        ``rel_error``, ``node_errors`` (the discarded tail of every node, keyed by node index)
        and ``delta`` (the per-node budget, or ``None``). An all-zero ``x`` gives exact zeros
        with ``error = rel_error = 0`` (ranks 1 unless ``ranks`` are given, or without
        ``eps``: all of them kept).

    Raises
    ------
    ValueError
        If ``x`` has fewer than 2 modes, the tree does not cover the modes exactly once or is
        not binary, or a rank in a sequence exceeds the node's largest possible rank.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).standard_normal((3, 4, 5, 2))
    >>> h = ht_svd(x, eps=1e-12)
    >>> bool(h.relative_error(x) < 1e-10)
    True
    """
    x = check_array(x, "x", min_ndim=2)
    d = x.ndim
    tree = _as_tree(tree, d)
    caps = _rank_caps(check_rank_spec(ranks), x.shape, tree)
    eps = check_eps(eps)
    norm_x = float(np.linalg.norm(x.ravel()))
    delta = error_budget(eps, norm_x, 2 * d - 3)
    free = tree.children[0][1]

    c = x
    frontier = [tree.leaf_of_mode(k) for k in range(d)]  # node owning each axis of c
    leaves: list[np.ndarray] = [np.empty((0, 0))] * d
    transfers: dict[int, np.ndarray] = {}
    node_errors: dict[int, float] = {}

    def reduce_leaf(t: int, budget: float | None) -> None:
        nonlocal c
        axis = frontier.index(t)
        moved = np.moveaxis(c, axis, 0)
        sub = leading_subspace(_matrix(moved, 1), caps[t], budget)
        leaves[tree.nodes[t][0]] = sub.u
        node_errors[t] = float(np.sqrt(sub.tail_sq))
        c = np.moveaxis(sub.b.reshape(sub.u.shape[1], *moved.shape[1:]), 0, axis)

    def reduce_interior(t: int, budget: float | None) -> None:
        nonlocal c, frontier
        left, right = tree.children[t]
        axes = [frontier.index(left), frontier.index(right)]
        moved = np.moveaxis(c, axes, [0, 1])
        kl, kr = moved.shape[:2]
        sub = leading_subspace(_matrix(moved, 2), caps[t], budget)
        k = sub.u.shape[1]
        transfers[t] = sub.u.reshape(kl, kr, k)
        node_errors[t] = float(np.sqrt(sub.tail_sq))
        c = sub.b.reshape(k, *moved.shape[2:])
        frontier = [t] + [s for s in frontier if s not in (left, right)]

    for t in tree.leaves:
        if t != free:
            reduce_leaf(t, delta)
    interior = [t for t in tree.interior if t not in (0, free)]
    for t in sorted(interior, key=tree.depth, reverse=True):
        reduce_interior(t, delta)
    # the root's second child: its singular values are those of the first child's, already
    # truncated, so it is kept whole (a user rank cap may still cut it)
    if tree.is_leaf(free):
        reduce_leaf(free, None)
    else:
        reduce_interior(free, None)
    first = tree.children[0][0]
    root = np.moveaxis(c, [frontier.index(first), frontier.index(free)], [0, 1])
    transfers[0] = root[:, :, None]

    out = HTTensor(tree, leaves, transfers, orthonormal=True)
    error = float(np.sqrt(sum(e * e for e in node_errors.values())))
    out.info = {
        "error": error,
        "rel_error": error / norm_x if norm_x > 0 else 0.0,
        "node_errors": node_errors,
        "delta": delta,
    }
    return out
