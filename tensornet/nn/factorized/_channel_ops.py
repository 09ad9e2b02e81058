"""Pointwise (1x1) and depthwise convolutions as autograd primitives with hand-written VJPs.

The CP, Tucker-2 and low-rank convolutions chain 1x1 channel mixings and per-channel spatial
filters around (at most) one ordinary convolution. :func:`tensornet.nn.conv2d` has no groups, and
running a 1x1 convolution through it copies the input into a patch matrix that is the input
itself; these two primitives avoid both:

* :func:`pointwise_conv2d` is one GEMM ``w @ X`` with ``X`` the input as a ``(C, B*H*W)``
  matrix. Like :func:`tensornet.nn.conv.conv_gemm` it returns the ``(O, B, H, W)`` product
  buffer as a transposed ``(B, O, H, W)`` view, so a chain of them never copies the activations
  between layers (the channel-major matrix of such a view is free).
* :func:`depthwise_conv2d` filters every channel with its own ``KH x KW`` kernel (groups equal
  to channels): a Numba loop that reads the input once per output row and tap, where NumPy
  would make one pass over the whole batch per tap (see ``benchmarks/bench_factorized_a.py``).
"""

from __future__ import annotations

import numba
import numpy as np
from autograd.extend import defvjp_argnums, primitive

from ..conv import conv_output_size

__all__ = ["pointwise_conv2d", "depthwise_conv2d"]


def _channel_major(x: np.ndarray) -> np.ndarray:
    """``x`` ``(B, C, H, W)`` as a ``(C, B*H*W)`` matrix (a view for channel-major data)."""
    b, c, h, w = x.shape
    return np.ascontiguousarray(x.transpose(1, 0, 2, 3)).reshape(c, b * h * w)


@primitive
def pointwise_conv2d(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    """1x1 convolution ``y[n, o] = b[o] + sum_c w[o, c] x[n, c]`` as one GEMM.

    Parameters
    ----------
    x : numpy.ndarray
        Input ``(B, C, H, W)`` (any memory layout).
    w : numpy.ndarray
        Channel mixing matrix ``(O, C)``.
    b : numpy.ndarray, optional
        Bias ``(O,)``.

    Returns
    -------
    numpy.ndarray
        ``(B, O, H, W)``: a transposed view of an ``(O, B, H, W)`` buffer.
    """
    n, _, h, wd = x.shape
    out = w @ _channel_major(x)
    if b is not None:
        out += b[:, None]
    return out.reshape(w.shape[0], n, h, wd).transpose(1, 0, 2, 3)


def _pointwise_vjp(argnums, ans, args, kwargs):
    x, w = args[0], args[1]

    def vjp(g):
        g2 = _channel_major(g)
        grads = []
        for argnum in argnums:
            if argnum == 0:
                gx = w.T @ g2
                grads.append(
                    gx.reshape(x.shape[1], x.shape[0], x.shape[2], x.shape[3]).transpose(1, 0, 2, 3)
                )
            elif argnum == 1:
                grads.append(g2 @ _channel_major(x).T)
            else:
                grads.append(g2.sum(axis=1))
        return grads

    return vjp


defvjp_argnums(pointwise_conv2d, _pointwise_vjp)


def _geometry(x_shape, w_shape, stride, padding):
    (sh, sw), (ph, pw) = stride, padding
    kh, kw = int(w_shape[1]), int(w_shape[2])
    oh = conv_output_size(int(x_shape[2]), kh, sh, ph)
    ow = conv_output_size(int(x_shape[3]), kw, sw, pw)
    return kh, kw, sh, sw, ph, pw, oh, ow


def _padded_channel_major(x: np.ndarray, ph: int, pw: int, dtype: np.dtype) -> np.ndarray:
    """``x`` as a C-contiguous ``(C, B, H + 2 ph, W + 2 pw)`` array with zero padding (no copy
    when ``x`` is a transposed view of such a buffer and no padding is asked)."""
    xc = x.transpose(1, 0, 2, 3)
    if ph == 0 and pw == 0:
        return np.ascontiguousarray(xc, dtype=dtype)
    c, b, h, w = xc.shape
    buf = np.zeros((c, b, h + 2 * ph, w + 2 * pw), dtype=dtype)
    buf[:, :, ph : ph + h, pw : pw + w] = xc
    return buf


@numba.njit(cache=True, nogil=True, fastmath={"contract"})
def _depthwise_kernel(xp, w, sh, sw, out):  # pragma: no cover (compiled)
    # out[r, b, y, x] = sum_{i, j} w[r, i, j] xp[r, b, y*sh + i, x*sw + j], one output row at a
    # time so every tap is a unit-stride (or sw-strided) axpy over the row
    n_r, n_b = out.shape[0], out.shape[1]
    oh, ow = out.shape[2], out.shape[3]
    kh, kw = w.shape[1], w.shape[2]
    for r in range(n_r):
        for b in range(n_b):
            for y in range(oh):
                dst = out[r, b, y]
                dst[:] = 0
                for i in range(kh):
                    src = xp[r, b, y * sh + i]
                    for j in range(kw):
                        c = w[r, i, j]
                        for x in range(ow):
                            dst[x] += c * src[x * sw + j]


@numba.njit(cache=True, nogil=True, fastmath={"contract"})
def _depthwise_xgrad_kernel(g, w, sh, sw, gxp):  # pragma: no cover (compiled)
    # gxp[r, b, y*sh + i, x*sw + j] += w[r, i, j] g[r, b, y, x]
    n_r, n_b = g.shape[0], g.shape[1]
    oh, ow = g.shape[2], g.shape[3]
    kh, kw = w.shape[1], w.shape[2]
    for r in range(n_r):
        for b in range(n_b):
            for y in range(oh):
                src = g[r, b, y]
                for i in range(kh):
                    dst = gxp[r, b, y * sh + i]
                    for j in range(kw):
                        c = w[r, i, j]
                        for x in range(ow):
                            dst[x * sw + j] += c * src[x]


@numba.njit(cache=True, nogil=True, fastmath={"reassoc", "contract", "nsz"})
def _depthwise_wgrad_kernel(g, xp, sh, sw, gw):  # pragma: no cover (compiled)
    # gw[r, i, j] = sum_{b, y, x} g[r, b, y, x] xp[r, b, y*sh + i, x*sw + j]; reassociation only
    # lets the row sums vectorize (rounding)
    n_r, n_b = g.shape[0], g.shape[1]
    oh, ow = g.shape[2], g.shape[3]
    kh, kw = gw.shape[1], gw.shape[2]
    for r in range(n_r):
        for i in range(kh):
            for j in range(kw):
                acc = gw[r, i, j] * 0
                for b in range(n_b):
                    for y in range(oh):
                        gr = g[r, b, y]
                        xr = xp[r, b, y * sh + i]
                        for x in range(ow):
                            acc += gr[x] * xr[x * sw + j]
                gw[r, i, j] = acc


@primitive
def depthwise_conv2d(
    x: np.ndarray, w: np.ndarray, stride: tuple[int, int], padding: tuple[int, int]
) -> np.ndarray:
    """Depthwise cross-correlation ``y[n, r] = x[n, r] (star) w[r]`` (one filter per channel).

    A Numba loop over channel-major data: each output row accumulates its ``KH x KW`` taps in one
    pass. The VJPs are the same loops with the roles of the arrays exchanged.

    Parameters
    ----------
    x : numpy.ndarray
        Input ``(B, R, H, W)`` (any memory layout; a transposed view of an ``(R, B, H, W)``
        buffer, as :func:`pointwise_conv2d` returns, is read without a copy).
    w : numpy.ndarray
        Filters ``(R, KH, KW)``.
    stride, padding : (int, int)
        Step and zero padding per side along height and width.

    Returns
    -------
    numpy.ndarray
        ``(B, R, OH, OW)``: a transposed view of an ``(R, B, OH, OW)`` buffer.
    """
    kh, kw, sh, sw, ph, pw, oh, ow = _geometry(x.shape, w.shape, stride, padding)
    dtype = np.result_type(x.dtype, w.dtype)
    xp = _padded_channel_major(x, ph, pw, dtype)
    out = np.empty((x.shape[1], x.shape[0], oh, ow), dtype=dtype)
    _depthwise_kernel(xp, np.ascontiguousarray(w, dtype=dtype), sh, sw, out)
    return out.transpose(1, 0, 2, 3)


def _depthwise_vjp(argnums, ans, args, kwargs):
    x, w, stride, padding = args
    kh, kw, sh, sw, ph, pw, oh, ow = _geometry(x.shape, w.shape, stride, padding)
    dtype = ans.dtype

    def vjp(g):
        gc = np.ascontiguousarray(g.transpose(1, 0, 2, 3), dtype=dtype)
        grads = []
        for argnum in argnums:
            if argnum == 0:
                c, b, h, wd = x.shape[1], x.shape[0], x.shape[2], x.shape[3]
                gxp = np.zeros((c, b, h + 2 * ph, wd + 2 * pw), dtype=dtype)
                _depthwise_xgrad_kernel(gc, np.ascontiguousarray(w, dtype=dtype), sh, sw, gxp)
                gx = gxp[:, :, ph : ph + h, pw : pw + wd].transpose(1, 0, 2, 3)
                grads.append(gx.astype(x.dtype, copy=False))
            elif argnum == 1:
                gw = np.zeros(w.shape, dtype=dtype)
                _depthwise_wgrad_kernel(gc, _padded_channel_major(x, ph, pw, dtype), sh, sw, gw)
                grads.append(gw.astype(w.dtype, copy=False))
        return grads

    return vjp


defvjp_argnums(depthwise_conv2d, _depthwise_vjp)
