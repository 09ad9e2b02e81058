"""The TT-matrix contraction engine of the TT layers: one autograd primitive, hand-written VJP.

``y = x @ W + b`` with ``W`` a TT-matrix, cores ``G_k`` of shape ``(r_{k-1}, m_k, n_k, r_k)``
(Novikov et al., NeurIPS 2015; the orientation of :class:`tensornet.TTMatrix`: ``m`` is the
input side, multi-indices in C order).

Plan
----
Neighbouring cores may first be merged into one larger core (a cost independent of the batch):
merging cores ``a .. b-1`` gives a core ``(r_a, m_a ... m_{b-1}, n_a ... n_{b-1}, r_b)``. The
sweep then contracts the input with the merged cores one at a time, left to right or right to
left. A left-to-right step on group ``[a, b)`` costs
``B prod(m_{>=b}) prod(n_{<a}) M_g r_a N_g r_b`` multiply-adds (``M_g, N_g`` the group's mode
products); a right-to-left step ``B prod(m_{<a}) prod(n_{>=b}) M_g r_a N_g r_b``. Both are
separable in ``(a, b)``, so the cheapest grouping (sweep plus merges) is found by dynamic
programming over the cut points in ``O(d^2)`` per direction (:func:`tt_plan`). The grouping
with a single group is the dense weight itself; ``allow_dense=False`` excludes it.

Layout
------
The state is kept as a stack of matrices ``(P, r_{k-1} M_k, Q)``: ``P`` the output modes made
so far (outermost), ``Q`` the input modes still to contract followed by the batch (innermost).
Step ``k`` is one stacked GEMM ``A_k^T @ state`` with ``A_k = G_k.reshape(r M_k, N_k r_k)``,
whose result ``(P, N_k, r_k, M_{k+1}, Q')`` is already the next state: no transpose between
steps. The input is transposed once, to ``(m_1, ..., m_d, B)`` (or the reversed order for the
right-to-left sweep); the output ``(n_1, ..., n_d, B)`` is returned as the transposed view
``(B, N)``. The backward pass runs the same steps in reverse: ``A_k @ g`` for the state
gradient (skipped for the input when the input is not differentiated) and
``sum_P g X^T`` for the core gradient, then the merges' own VJPs.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from autograd.extend import defvjp_argnums, primitive

__all__ = ["TTPlan", "tt_plan", "merge_cost", "tt_matmat", "tt_merge"]


class TTPlan(NamedTuple):
    """A contraction plan: core groups ``[(a, b), ...]``, sweep direction and its cost."""

    groups: tuple[tuple[int, int], ...]
    reverse: bool
    flops: int


def merge_cost(
    ins: Sequence[int], outs: Sequence[int], ranks: Sequence[int], a: int, b: int
) -> int:
    """Multiply-adds of merging cores ``a .. b-1`` left to right into one core.

    Step ``j`` (``a < j < b``) multiplies the merged prefix ``(r_a m_a..m_{j-1} n_a..n_{j-1},
    r_j)`` by core ``j`` reshaped ``(r_j, m_j n_j r_{j+1})``.
    """
    total, size = 0, ins[a] * outs[a]
    for j in range(a + 1, b):
        total += ranks[a] * size * ranks[j] * ins[j] * outs[j] * ranks[j + 1]
        size *= ins[j] * outs[j]
    return total


def _step_cost(batch, ins, outs, ranks, a, b, reverse) -> int:
    core = math.prod(ins[a:b]) * math.prod(outs[a:b]) * ranks[a] * ranks[b]
    if reverse:
        return batch * math.prod(ins[:a]) * math.prod(outs[b:]) * core
    return batch * math.prod(ins[b:]) * math.prod(outs[:a]) * core


@functools.lru_cache(maxsize=512)
def tt_plan(
    batch: int,
    ins: tuple[int, ...],
    outs: tuple[int, ...],
    ranks: tuple[int, ...],
    allow_dense: bool = False,
    merge: bool = True,
) -> TTPlan:
    """Cheapest grouping and direction for ``x @ W`` (module notes), by multiply-adds.

    Parameters
    ----------
    batch : int
        Rows of ``x``.
    ins, outs : tuple of int
        Input modes ``m_k`` and output modes ``n_k``.
    ranks : tuple of int
        The ``d + 1`` ranks ``(1, r_1, ..., r_{d-1}, 1)``.
    allow_dense : bool
        Whether the single group (all cores merged: the dense weight) is allowed.
    merge : bool
        ``False`` restricts the plan to the plain core-by-core sweep.

    Returns
    -------
    TTPlan
    """
    d = len(ins)
    best = None
    for reverse in (False, True):
        cost = [0] + [None] * d
        cut = [0] * (d + 1)
        for b in range(1, d + 1):
            starts = range(b) if merge else (b - 1,)
            for a in starts:
                if not allow_dense and a == 0 and b == d and d > 1:
                    continue
                c = cost[a] + _step_cost(batch, ins, outs, ranks, a, b, reverse)
                c += merge_cost(ins, outs, ranks, a, b)
                if cost[b] is None or c < cost[b]:
                    cost[b], cut[b] = c, a
        groups, b = [], d
        while b > 0:
            groups.append((cut[b], b))
            b = cut[b]
        cand = TTPlan(tuple(reversed(groups)), reverse, int(cost[d]))
        if best is None or cand.flops < best.flops:
            best = cand
    return best


# ------------------------------------------------------------------------------ merging
def _merge(cores: Sequence[np.ndarray]) -> tuple[np.ndarray, list]:
    """Merge TT-matrix cores left to right; returns the core and the operands of each step."""
    p, steps = cores[0], []
    for g in cores[1:]:
        r0, mp, np_, r1 = p.shape
        _, m, n, r2 = g.shape
        t = (p.reshape(-1, r1) @ g.reshape(r1, -1)).reshape(r0, mp, np_, m, n, r2)
        steps.append((p, g))
        p = t.transpose(0, 1, 3, 2, 4, 5).reshape(r0, mp * m, np_ * n, r2)
    return p, steps


def _merge_vjp(gm: np.ndarray, steps: list) -> list[np.ndarray]:
    """Gradients of the merged cores' sources from the merged core's gradient ``gm``."""
    grads = []
    for p, g in reversed(steps):
        r0, mp, np_, r1 = p.shape
        _, m, n, r2 = g.shape
        gt = gm.reshape(r0, mp, m, np_, n, r2).transpose(0, 1, 3, 2, 4, 5)
        gt = gt.reshape(r0 * mp * np_, m * n * r2)
        grads.append((p.reshape(-1, r1).T @ gt).reshape(g.shape))
        gm = (gt @ g.reshape(r1, -1).T).reshape(p.shape)
    grads.append(gm)
    return grads[::-1]


@primitive
def tt_merge(*cores: np.ndarray, saved: dict | None = None) -> np.ndarray:
    """All TT-matrix cores merged into one ``(r_0, prod m, prod n, r_d)`` core (one primitive).

    ``tt_merge(*cores).reshape(M, N)`` is the dense matrix when ``r_0 = r_d = 1``.
    """
    out, steps = _merge(cores)
    if saved is not None:
        saved["steps"] = steps
    return out


def _tt_merge_vjp(argnums, ans, args, kwargs):
    steps = kwargs["saved"]["steps"] if kwargs.get("saved") else _merge(args)[1]

    def vjp(g):
        grads = _merge_vjp(g, steps) if steps else [g]
        return [grads[i] for i in argnums]

    return vjp


defvjp_argnums(tt_merge, _tt_merge_vjp)


# ------------------------------------------------------------------------------ sweep
def _forward(x, bias, cores, plan, saved, x_cols=False):
    if x_cols:
        x = x.T  # (N, B) given: the transposed view (B, N); the left-to-right sweep copies nothing
    batch = x.shape[0]
    ins = tuple(g.shape[1] for g in cores)
    merged, merges = [], []
    for a, b in plan.groups:
        if b - a == 1:
            merged.append(cores[a])
            merges.append(None)
        else:
            core, steps = _merge(cores[a:b])
            merged.append(core)
            merges.append(steps)
    g_ins = [math.prod(ins[a:b]) for a, b in plan.groups]
    n_g = len(merged)
    if plan.reverse:
        chain = [np.ascontiguousarray(c.transpose(3, 1, 2, 0)) for c in reversed(merged)]
        axes = list(range(n_g, 0, -1)) + [0]
    else:
        chain = merged
        axes = list(range(1, n_g + 1)) + [0]
    # input (B, M_1, ..., M_g) -> (M'_1, ..., M'_g, B) in chain order: the one copy of x
    state = np.ascontiguousarray(x.reshape([batch] + g_ins).transpose(axes))
    state = state.reshape(1, chain[0].shape[1], -1)
    states = []
    for k, c in enumerate(chain):
        r0, m, n, r1 = c.shape
        states.append(state)
        y = np.matmul(c.reshape(r0 * m, n * r1).T, state)  # (P, n r1, Q)
        if k + 1 < n_g:
            m_next = chain[k + 1].shape[1]
            state = y.reshape(-1, r1 * m_next, y.shape[2] // m_next)
    if plan.reverse:
        outs = [c.shape[2] for c in chain]
        y = y.reshape(outs + [batch]).transpose([n_g] + list(range(n_g - 1, -1, -1)))
        y = y.reshape(batch, -1)
    else:
        y = y.reshape(-1, batch).T
    if bias is not None:
        y = y + bias
    if saved is not None:
        saved.update(states=states, chain=chain, merges=merges, axes=axes, g_ins=g_ins)
    return y


@primitive
def tt_matmat(
    x: np.ndarray,
    bias: np.ndarray | None,
    *cores: np.ndarray,
    plan: TTPlan,
    saved: dict | None,
    x_cols: bool = False,
) -> np.ndarray:
    """``x @ W + bias`` for a TT-matrix ``W`` given by ``cores``, following ``plan``.

    One autograd primitive (module notes); ``saved`` is a fresh dict the forward pass fills with
    the intermediates its VJP reuses.

    Parameters
    ----------
    x : numpy.ndarray, shape (B, prod m)
        Input batch.
    bias : numpy.ndarray or None, shape (prod n,)
        Added to every row.
    *cores : numpy.ndarray
        ``(r_{k-1}, m_k, n_k, r_k)``, ``r_0 = r_d = 1``.
    plan : TTPlan
        From :func:`tt_plan` for this batch size.
    saved : dict or None
        Filled with the intermediates.
    x_cols : bool
        ``x`` is given transposed, shape ``(prod m, B)`` (its gradient too): the layout the
        left-to-right sweep starts from, so the input is not copied.

    Returns
    -------
    numpy.ndarray, shape (B, prod n)
    """
    return _forward(x, bias, cores, plan, saved, x_cols)


def _backward(g, x, cores, plan, saved, need_x, x_cols=False):
    if not (g.flags.c_contiguous or g.flags.f_contiguous):
        g = np.ascontiguousarray(g)  # e.g. the broadcast gradient of a sum: BLAS needs strides
    batch = g.shape[0]
    chain, states, n_g = saved["chain"], saved["states"], len(saved["chain"])
    if plan.reverse:
        outs = [c.shape[2] for c in chain]
        orig = outs[::-1]
        gy = g.reshape([batch] + orig).transpose(list(range(n_g, 0, -1)) + [0])
        gy = np.ascontiguousarray(gy)
    else:
        gy = g.T
    last = chain[-1]
    gy = gy.reshape(-1, last.shape[2] * last.shape[3], batch)
    g_chain = [None] * n_g
    gx = None
    for k in range(n_g - 1, -1, -1):
        c = chain[k]
        r0, m, n, r1 = c.shape
        xs = states[k]
        if xs.shape[0] == 1:
            ga = xs[0] @ gy[0].T
        else:
            ga = np.matmul(xs, gy.transpose(0, 2, 1)).sum(axis=0)
        g_chain[k] = ga.reshape(c.shape)
        if k == 0 and not need_x:
            break
        gs = np.matmul(c.reshape(r0 * m, n * r1), gy)  # (P, r0 m, Q)
        if k > 0:
            prev = chain[k - 1]
            gy = gs.reshape(-1, prev.shape[2] * r0, gs.shape[2] * m)
        else:
            gx = gs
    if plan.reverse:
        g_chain = [gc.transpose(3, 1, 2, 0) for gc in reversed(g_chain)]
    grads = []
    for gc, steps in zip(g_chain, saved["merges"], strict=True):
        grads.extend([gc] if steps is None else _merge_vjp(gc, steps))
    if gx is not None:
        axes = saved["axes"]
        gx = gx.reshape([c.shape[1] for c in chain] + [batch]).transpose(np.argsort(axes))
        gx = np.moveaxis(gx, 0, -1).reshape(-1, batch) if x_cols else gx.reshape(batch, -1)
    return gx, grads


def _tt_matmat_vjp(argnums, ans, args, kwargs):
    x, cores = args[0], args[2:]
    plan, saved, x_cols = kwargs["plan"], kwargs.get("saved"), kwargs.get("x_cols", False)
    if saved is None:
        saved = {}
        _forward(x, args[1], cores, plan, saved, x_cols)

    def vjp(g):
        gx, grads = _backward(g, x, cores, plan, saved, 0 in argnums, x_cols)
        out = []
        for i in argnums:
            if i == 0:
                out.append(gx)
            elif i == 1:
                out.append(g.sum(axis=0))
            else:
                out.append(grads[i - 2])
        return out

    return vjp


defvjp_argnums(tt_matmat, _tt_matmat_vjp)
