"""Numba candidate for ``TTMatrix.matmat``: ``y = x @ W`` core by core, never forming ``W``.

This is the *challenger* measured by ``benchmarks/bench_ttm_matmat.py`` against the package's
BLAS ``tensordot`` sweep (:func:`tensornet.formats.tt_matrix._contract`). Same orientation and
index convention as :class:`tensornet.formats.TTMatrix` (Oseledets 2011, Sec. 5; Novikov et al.,
NeurIPS 2015; survey Sec. on TT layers): cores ``G_k`` of shape ``(r_{k-1}, m_k, n_k, r_k)``,

.. math::

    y[b, (j_1..j_d)] = \\sum_{i_1..i_d} x[b, (i_1..i_d)]
        G_1[:, i_1, j_1, :] \\cdots G_d[:, i_d, j_d, :].

Left-to-right sweep: the state after core ``k`` holds the modes ``(m_{>k}, n_{<=k}, r_k)`` and
step ``k`` is

.. math::

    T_k[p, q, j, s] = \\sum_{i, a} T_{k-1}[i, p, q, a] \\, G_k[a, i, j, s],

with ``p`` the remaining input multi-index, ``q`` the gathered output multi-index. The
right-to-left sweep is the same sweep applied to the reversed chain (cores transposed to
``(r_k, m_k, n_k, r_{k-1})``, input and output modes reversed); the cheaper direction is chosen
by the multiply-add count, as in the package.

Three state layouts / loop orders are implemented, all with unit-stride inner loops and no
allocation inside the loops:

``"dot"`` (the best; ``"dot_par"`` is the same, parallel over the batch)
    state ``(B, P, Q, I*R)``: the reduced pair ``(i, a)`` is the contiguous last axis, so each
    output is a SIMD dot product of a state row with a row of the permuted core
    ``(n, S, I*R)``; four outputs share each load of the state row (register blocking), and
    the result is written directly in the next step's layout ``(B, P', Q*n, I', S)`` (no
    transposition copies, unlike ``tensordot``). When ``I*R < SMALL_K`` (the first core, where
    ``R = 1``) the step instead accumulates rank-1 updates of a contiguous ``n*S`` row buffer.
``"batch_inner"``
    state ``(I, P, Q, R, B)``: the batch is the innermost axis (SIMD over the batch, chunks of
    32 samples); every update reloads and stores the output row. Measured 2-5x slower than
    ``"dot"`` at ranks >= 8, so it is not timed by the benchmark.
``"batch_outer"``
    state ``(B, I, P, Q, R)`` (the layout of the package's ``tensordot`` sweep): axpy updates
    along the ``n_k r_k`` entries of a core row; competitive only for ``B = 1``.

Numba is compiled with ``cache=True`` and ``fastmath={"reassoc", "contract"}`` only (no
``nnan``/``ninf``), so NaN still propagates.
"""

from __future__ import annotations

from collections.abc import Sequence

import numba
import numpy as np

__all__ = ["LAYOUTS", "ttm_matmat_numba"]

LAYOUTS = ("dot", "dot_par", "batch_inner", "batch_inner_par", "batch_outer")
_FM = {"reassoc", "contract"}
_CHUNK = 32
SMALL_K = 16


# ------------------------------------------------------------------------------ kernels
@numba.njit(cache=True, fastmath=_FM)
def _step_batch_inner(t, g, pp, qq, out):  # pragma: no cover - compiled
    """One sweep step, state ``(I, P, Q, R, B)`` flattened to rows ``x B``; ``out`` zeroed."""
    rr, ii, nn, ss = g.shape
    bb = t.shape[1]
    for b0 in range(0, bb, _CHUNK):
        b1 = min(b0 + _CHUNK, bb)
        for p in range(pp):
            for q in range(qq):
                obase = (p * qq + q) * nn * ss
                for i in range(ii):
                    for a in range(rr):
                        trow = ((i * pp + p) * qq + q) * rr + a
                        for j in range(nn):
                            for s in range(ss):
                                w = g[a, i, j, s]
                                ov = out[obase + j * ss + s, b0:b1]
                                tv = t[trow, b0:b1]
                                for b in range(b1 - b0):
                                    ov[b] += w * tv[b]


@numba.njit(cache=True, fastmath=_FM, parallel=True)
def _step_batch_inner_par(t, g, pp, qq, out):  # pragma: no cover - compiled
    """As :func:`_step_batch_inner`, batch chunks distributed over Numba threads."""
    rr, ii, nn, ss = g.shape
    bb = t.shape[1]
    nchunk = (bb + _CHUNK - 1) // _CHUNK
    for c in numba.prange(nchunk):
        b0 = c * _CHUNK
        b1 = min(b0 + _CHUNK, bb)
        for p in range(pp):
            for q in range(qq):
                obase = (p * qq + q) * nn * ss
                for i in range(ii):
                    for a in range(rr):
                        trow = ((i * pp + p) * qq + q) * rr + a
                        for j in range(nn):
                            for s in range(ss):
                                w = g[a, i, j, s]
                                ov = out[obase + j * ss + s, b0:b1]
                                tv = t[trow, b0:b1]
                                for b in range(b1 - b0):
                                    ov[b] += w * tv[b]


@numba.njit(cache=True, fastmath=_FM)
def _step_batch_outer(t, g2, ii, rr, pp, qq, out):  # pragma: no cover - compiled
    """One sweep step, state ``(B, I, P, Q, R)`` flat per sample; ``g2`` is ``(R*I, n*S)``."""
    bb = t.shape[0]
    ns = g2.shape[1]
    for b in range(bb):
        for p in range(pp):
            for q in range(qq):
                obase = (p * qq + q) * ns
                for i in range(ii):
                    for a in range(rr):
                        w = t[b, ((i * pp + p) * qq + q) * rr + a]
                        grow = a * ii + i
                        for c in range(ns):
                            out[b, obase + c] += w * g2[grow, c]


@numba.njit(cache=True, fastmath=_FM)
def _dot_row(tr, gp, j, s0, zero):  # pragma: no cover - compiled
    """Dot product of state row ``tr`` with core row ``gp[j, s0]``."""
    g0 = gp[j, s0]
    a0 = zero
    for k in range(tr.shape[0]):
        a0 += tr[k] * g0[k]
    return a0


@numba.njit(cache=True, fastmath=_FM)
def _dot_sample(t, gp, b, i2n, nn, zero, out):  # pragma: no cover - compiled
    """Step of sample ``b`` as dot products over the contiguous ``(i, a)`` axis.

    ``t`` is ``(B, P, Q, I*R)``, ``gp`` is ``(n, S, I*R)``; ``out`` is ``(B, P2, Q, n, I2, S)``
    with ``P = I2 * P2``, i.e. already in the next step's layout. Register blocking: two state
    rows (``q, q+1``) times four core rows (``s..s+3``) give eight accumulators per load of six
    rows; leftovers use single dot products. No integer division in the loops.
    """
    pp, qq, kk = t.shape[1], t.shape[2], t.shape[3]
    ss = gp.shape[1]
    p2 = pp // i2n
    for i2 in range(i2n):
        for r2 in range(p2):
            p = i2 * p2 + r2
            for q in range(0, qq - 1, 2):
                ta = t[b, p, q]
                tb = t[b, p, q + 1]
                for j in range(nn):
                    s = 0
                    while s + 4 <= ss:
                        g0, g1, g2, g3 = gp[j, s], gp[j, s + 1], gp[j, s + 2], gp[j, s + 3]
                        a0 = a1 = a2 = a3 = c0 = c1 = c2 = c3 = zero
                        for k in range(kk):
                            u = ta[k]
                            v = tb[k]
                            a0 += u * g0[k]
                            a1 += u * g1[k]
                            a2 += u * g2[k]
                            a3 += u * g3[k]
                            c0 += v * g0[k]
                            c1 += v * g1[k]
                            c2 += v * g2[k]
                            c3 += v * g3[k]
                        out[b, r2, q, j, i2, s] = a0
                        out[b, r2, q, j, i2, s + 1] = a1
                        out[b, r2, q, j, i2, s + 2] = a2
                        out[b, r2, q, j, i2, s + 3] = a3
                        out[b, r2, q + 1, j, i2, s] = c0
                        out[b, r2, q + 1, j, i2, s + 1] = c1
                        out[b, r2, q + 1, j, i2, s + 2] = c2
                        out[b, r2, q + 1, j, i2, s + 3] = c3
                        s += 4
                    while s < ss:
                        out[b, r2, q, j, i2, s] = _dot_row(ta, gp, j, s, zero)
                        out[b, r2, q + 1, j, i2, s] = _dot_row(tb, gp, j, s, zero)
                        s += 1
            if qq % 2 == 1:
                q = qq - 1
                for j in range(nn):
                    for s in range(ss):
                        out[b, r2, q, j, i2, s] = _dot_row(t[b, p, q], gp, j, s, zero)


@numba.njit(cache=True, fastmath=_FM)
def _axpy_sample(t, gk, b, i2n, zero, out):  # pragma: no cover - compiled
    """Step of sample ``b`` for a short ``(i, a)`` axis: rank-1 updates of a contiguous row.

    ``gk`` is ``(I*R, n*S)``; each output row ``(n*S,)`` is accumulated in an L1-resident
    buffer with a unit-stride inner loop over ``n*S``, then scattered to ``out``. Other
    arguments as in :func:`_dot_sample`.
    """
    pp, qq, kk = t.shape[1], t.shape[2], t.shape[3]
    ns = gk.shape[1]
    nn = out.shape[3]
    ss = out.shape[5]
    p2 = pp // i2n
    buf = np.empty(ns, dtype=out.dtype)
    for i2 in range(i2n):
        for r2 in range(p2):
            p = i2 * p2 + r2
            for q in range(qq):
                v = t[b, p, q, 0]
                g0 = gk[0]
                for c in range(ns):
                    buf[c] = v * g0[c]
                for k in range(1, kk):
                    v = t[b, p, q, k]
                    gr = gk[k]
                    for c in range(ns):
                        buf[c] += v * gr[c]
                for j in range(nn):
                    for s in range(ss):
                        out[b, r2, q, j, i2, s] = buf[j * ss + s]


@numba.njit(cache=True, fastmath=_FM)
def _step_dot(t, gp, gk, i2n, small, zero, out):  # pragma: no cover - compiled
    """One sweep step, all samples (:func:`_dot_sample` or, if ``small``, :func:`_axpy_sample`)."""
    for b in range(t.shape[0]):
        if small:
            _axpy_sample(t, gk, b, i2n, zero, out)
        else:
            _dot_sample(t, gp, b, i2n, gp.shape[0], zero, out)


@numba.njit(cache=True, fastmath=_FM, parallel=True)
def _step_dot_par(t, gp, gk, i2n, small, zero, out):  # pragma: no cover - compiled
    """As :func:`_step_dot`, the samples distributed over Numba threads."""
    for b in numba.prange(t.shape[0]):
        if small:
            _axpy_sample(t, gk, b, i2n, zero, out)
        else:
            _dot_sample(t, gp, b, i2n, gp.shape[0], zero, out)


# ------------------------------------------------------------------------------ driver
def _sweep_costs(ranks: Sequence[int], ins: Sequence[int], outs: Sequence[int]) -> tuple:
    """Multiply-adds per sample of the left-to-right and right-to-left sweeps."""
    ltr = rtl = 0.0
    for k in range(len(ins)):
        core = ins[k] * outs[k] * ranks[k] * ranks[k + 1]
        ltr += float(np.prod(ins[k + 1 :])) * float(np.prod(outs[:k])) * core
        rtl += float(np.prod(ins[:k])) * float(np.prod(outs[k + 1 :])) * core
    return ltr, rtl


def _sweep_batch_inner(cores: list, xt: np.ndarray, ins: tuple, parallel: bool) -> np.ndarray:
    """Left-to-right sweep on ``xt`` of shape ``(M, B)``; returns ``(N, B)``."""
    step = _step_batch_inner_par if parallel else _step_batch_inner
    batch = xt.shape[1]
    t, pp, qq = xt, int(np.prod(ins)), 1
    for g in cores:
        pp //= g.shape[1]
        out = np.zeros((pp * qq * g.shape[2] * g.shape[3], batch), dtype=xt.dtype)
        step(t, g, pp, qq, out)
        t, qq = out, qq * g.shape[2]
    return t


def _sweep_batch_outer(cores: list, x: np.ndarray, ins: tuple) -> np.ndarray:
    """Left-to-right sweep on ``x`` of shape ``(B, M)``; returns ``(B, N)``."""
    batch = x.shape[0]
    t, pp, qq = x, int(np.prod(ins)), 1
    for g in cores:
        rr, ii, nn, ss = g.shape
        pp //= ii
        out = np.zeros((batch, pp * qq * nn * ss), dtype=x.dtype)
        _step_batch_outer(t, g.reshape(rr * ii, nn * ss), ii, rr, pp, qq, out)
        t, qq = out, qq * nn
    return t


def _sweep_dot(cores: list, x: np.ndarray, ins: tuple, parallel: bool) -> np.ndarray:
    """Left-to-right sweep with :func:`_step_dot` on ``x`` ``(B, M)``; returns ``(B, N)``."""
    batch = x.shape[0]
    zero = x.dtype.type(0)
    rest = int(np.prod(ins[1:]))
    t = np.ascontiguousarray(x.reshape(batch, ins[0], rest).transpose(0, 2, 1))
    t = t.reshape(batch, rest, 1, ins[0])
    step = _step_dot_par if parallel else _step_dot
    qq = 1
    for k, g in enumerate(cores):
        rr, ii, nn, ss = g.shape
        i2 = ins[k + 1] if k + 1 < len(cores) else 1
        pp = t.shape[1]
        small = ii * rr < SMALL_K
        gp = np.ascontiguousarray(g.transpose(2, 3, 1, 0)).reshape(nn, ss, ii * rr)
        gk = np.ascontiguousarray(g.transpose(1, 0, 2, 3)).reshape(ii * rr, nn * ss)
        out = np.empty((batch, pp // i2, qq, nn, i2, ss), dtype=x.dtype)
        step(t, gp, gk, i2, small, zero, out)
        qq *= nn
        t = out.reshape(batch, pp // i2, qq, i2 * ss)
    return t.reshape(batch, -1)


def ttm_matmat_numba(
    cores: Sequence[np.ndarray], x: np.ndarray, layout: str = "batch_inner"
) -> np.ndarray:
    """``x @ W`` for the TT-matrix with ``cores`` ``(r_{k-1}, m_k, n_k, r_k)``, by Numba loops.

    Same result and orientation as :meth:`tensornet.formats.TTMatrix.matmat` (module notes);
    the sweep direction is chosen by multiply-add count. No validation: benchmark code.

    Parameters
    ----------
    cores : sequence of numpy.ndarray
        The TT-matrix cores, all of ``x``'s dtype.
    x : numpy.ndarray, shape (B, prod m)
        The batch, C-contiguous.
    layout : {"batch_inner", "batch_inner_par", "batch_outer"}
        State layout / kernel (module notes).

    Returns
    -------
    numpy.ndarray, shape (B, prod n)
        C-contiguous.
    """
    ins = tuple(g.shape[1] for g in cores)
    outs = tuple(g.shape[2] for g in cores)
    ranks = [1] + [g.shape[3] for g in cores]
    batch = x.shape[0]
    ltr, rtl = _sweep_costs(ranks, ins, outs)
    if ltr <= rtl:
        chain = [np.ascontiguousarray(g) for g in cores]
        xin = x
    else:  # reversed chain: transposed cores, reversed input and output modes
        chain = [np.ascontiguousarray(g.transpose(3, 1, 2, 0)) for g in reversed(cores)]
        d = len(ins)
        xin = x.reshape((batch,) + ins).transpose([0] + list(range(d, 0, -1)))
        ins, outs = ins[::-1], outs[::-1]
    if layout in ("batch_outer", "dot", "dot_par"):
        xc = np.ascontiguousarray(xin).reshape(batch, -1)
        if layout == "batch_outer":
            y = _sweep_batch_outer(chain, xc, ins)
        else:
            y = _sweep_dot(chain, xc, ins, layout == "dot_par")
        y = y.reshape((batch,) + outs)
        if ltr > rtl:
            y = y.transpose([0] + list(range(len(outs), 0, -1)))
        return np.ascontiguousarray(y).reshape(batch, -1)
    xt = np.ascontiguousarray(xin.reshape(batch, -1).T if ltr <= rtl else _batch_last(xin))
    yt = _sweep_batch_inner(chain, xt, ins, layout == "batch_inner_par")
    yt = yt.reshape(outs + (batch,))
    if ltr > rtl:
        yt = yt.transpose(list(range(len(outs) - 1, -1, -1)) + [len(outs)])
    return np.ascontiguousarray(np.moveaxis(yt, -1, 0)).reshape(batch, -1)


def _batch_last(xin: np.ndarray) -> np.ndarray:
    """Move the batch axis of ``(B, m...)`` last and flatten to ``(M, B)``."""
    return np.moveaxis(xin, 0, -1).reshape(-1, xin.shape[0])
