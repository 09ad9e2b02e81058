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
  to channels): one fused multiply-add over the whole batch per kernel tap.
"""

from __future__ import annotations

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


def _padded_channel_major(x: np.ndarray, ph: int, pw: int) -> np.ndarray:
    """``x`` transposed to ``(C, B, H + 2 ph, W + 2 pw)`` with zero padding."""
    xc = x.transpose(1, 0, 2, 3)
    if ph == 0 and pw == 0:
        return xc
    c, b, h, w = xc.shape
    buf = np.zeros((c, b, h + 2 * ph, w + 2 * pw), dtype=x.dtype)
    buf[:, :, ph : ph + h, pw : pw + w] = xc
    return buf


def _tap(xp: np.ndarray, i: int, j: int, sh: int, sw: int, oh: int, ow: int) -> np.ndarray:
    return xp[:, :, i : i + sh * (oh - 1) + 1 : sh, j : j + sw * (ow - 1) + 1 : sw]


@primitive
def depthwise_conv2d(
    x: np.ndarray, w: np.ndarray, stride: tuple[int, int], padding: tuple[int, int]
) -> np.ndarray:
    """Depthwise cross-correlation ``y[n, r] = x[n, r] (star) w[r]`` (one filter per channel).

    Parameters
    ----------
    x : numpy.ndarray
        Input ``(B, R, H, W)`` (any memory layout).
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
    xp = _padded_channel_major(x, ph, pw)
    dtype = np.result_type(x.dtype, w.dtype)
    out = np.zeros((x.shape[1], x.shape[0], oh, ow), dtype=dtype)
    tmp = np.empty_like(out)
    for i in range(kh):
        for j in range(kw):
            np.multiply(_tap(xp, i, j, sh, sw, oh, ow), w[:, i, j, None, None, None], out=tmp)
            out += tmp
    return out.transpose(1, 0, 2, 3)


def _depthwise_vjp(argnums, ans, args, kwargs):
    x, w, stride, padding = args
    kh, kw, sh, sw, ph, pw, oh, ow = _geometry(x.shape, w.shape, stride, padding)

    def vjp(g):
        gc = g.transpose(1, 0, 2, 3)
        grads = []
        for argnum in argnums:
            if argnum == 0:
                c, b, h, wd = x.shape[1], x.shape[0], x.shape[2], x.shape[3]
                gxp = np.zeros((c, b, h + 2 * ph, wd + 2 * pw), dtype=ans.dtype)
                for i in range(kh):
                    for j in range(kw):
                        view = _tap(gxp, i, j, sh, sw, oh, ow)
                        view += gc * w[:, i, j, None, None, None]
                gx = gxp[:, :, ph : ph + h, pw : pw + wd].transpose(1, 0, 2, 3)
                grads.append(gx.astype(x.dtype, copy=False))
            elif argnum == 1:
                xp = _padded_channel_major(x, ph, pw)
                gw = np.empty(w.shape, dtype=ans.dtype)
                for i in range(kh):
                    for j in range(kw):
                        gw[:, i, j] = np.einsum("rbyx,rbyx->r", gc, _tap(xp, i, j, sh, sw, oh, ow))
                grads.append(gw.astype(w.dtype, copy=False))
        return grads

    return vjp


defvjp_argnums(depthwise_conv2d, _depthwise_vjp)
