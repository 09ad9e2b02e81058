"""2-D convolution and pooling on NCHW batches, as autograd primitives with hand-written VJPs.

Convolution (cross-correlation, as in every deep learning library) is lowered to one matrix
product (Chellapilla, Puri & Simard 2006, "High performance convolutional neural networks for
document processing"):

1. :func:`im2col` copies every receptive field into the patch matrix ``cols`` of shape
   ``(C*KH*KW, B*OH*OW)``, one patch per column, in a single pass (a Numba loop whose inner
   loop copies contiguous image rows). Its VJP, :func:`col2im`, adds each column back onto the
   pixels it came from.
2. :func:`conv_gemm` computes ``W.reshape(O, C*KH*KW) @ cols`` plus the bias: one GEMM forward;
   backward one GEMM for the kernel gradient (``g @ cols.T``), one for the patches
   (``W.T @ g``) and a row sum for the bias. The product is an ``(O, B, OH, OW)`` buffer that
   is returned as a transposed ``(B, O, OH, OW)`` view (no copy); the pooling kernels and the
   VJP accept that layout as is.

:func:`conv2d` uses :func:`conv_rows`, the same lowering with the patch matrix transposed: one
row per output pixel, built from a channels-last copy of the input (with stride 1 a kernel row
is then one contiguous run), multiplied by the ``(KH*KW*C, O)`` kernel matrix in chunks of
images whose rows stay in cache between their copy and their GEMM; the backward pass rebuilds
each chunk instead of keeping a whole batch's patch matrix. The tall GEMM (``B*OH*OW x K`` times
``K x O``) was measured faster than the wide one of :func:`conv_gemm` with OpenBLAS for
LeNet-5's second layer (``benchmarks/bench_conv_kernels.py``). Its output is a channels-last
buffer seen as NCHW, which the 2x2 max pooling reads in place. For the first layer the input is
data, not a traced value, so no input gradient is needed; when in addition the stride is 1 and
the kernel has few filters (``O*C <= 16``, LeNet-5's first layer), :func:`conv_direct` sums the
products directly instead: the patch matrix (10 MB per batch of 128 MNIST images) is then
neither written nor read twice, which was measured faster. It works on flattened padded planes,
so that every tap is one long unit-stride loop over the whole output plane (the few positions
that straddle a row end are computed and dropped); a 5-wide kernel row is one unrolled pass.

With more than one thread (``NUMBA_NUM_THREADS`` and OpenBLAS's count, see
:mod:`tensornet.nn._parallel`), the batch is split into contiguous parts, one per thread, each
running the serial kernels above on its images (its own patch buffer and one-thread GEMMs
called from compiled code) inside one Numba ``prange`` loop, while OpenBLAS is held at one
thread: OpenBLAS's two-thread GEMM was measured slower than one thread at these shapes, and
Numba's OpenMP workers, which spin briefly between calls, start the next part without the
wake-up delay of a sleeping thread (``benchmarks/bench_conv_kernels.py``). Weight gradients are
per-part sums added in part order, so a result depends only on the thread budget. Pooling
stays serial: each ``prange`` driver adds seconds of one-time compilation (Numba links and
re-optimizes the kernels it calls), more than the pooling's share of a step is worth. Epoch
timings: ``benchmarks/bench_mnist.py``.

Max pooling routes the gradient to the first maximal entry of each window (as PyTorch does);
average pooling divides the window sum by ``KH*KW`` (zero padding counted, PyTorch's default).
Both keep the input dtype; Numba is used where it was measured faster than NumPy's strided
slicing, whose inner loops are only a few elements long for these shapes. Max pooling over
2x2 windows with stride 2 (LeNet-5's) has its own kernels with compile-time window sizes, whose
loops LLVM vectorizes (``benchmarks/bench_conv_kernels.py``).
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
from autograd.extend import defvjp, defvjp_argnums, primitive
from autograd.tracer import isbox

from .._validation import check_int, check_numeric_array, check_random_state
from . import _parallel
from . import init as _init
from .module import Module

__all__ = [
    "conv_output_size",
    "im2col",
    "col2im",
    "conv_gemm",
    "conv_direct",
    "conv_rows",
    "conv2d",
    "max_pool2d",
    "avg_pool2d",
    "Conv2d",
    "MaxPool2d",
    "AvgPool2d",
]


def _pair(value: Any, name: str, minimum: int) -> tuple[int, int]:
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name}={value!r} must be an int or a pair of ints")
        return (
            check_int(value[0], f"{name}[0]", minimum=minimum),
            check_int(value[1], f"{name}[1]", minimum=minimum),
        )
    v = check_int(value, name, minimum=minimum)
    return v, v


def conv_output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """Output length ``floor((size + 2 * padding - kernel) / stride) + 1`` along one axis.

    Parameters
    ----------
    size, kernel, stride, padding : int
        Input length, window length, step and zero padding on each side.

    Returns
    -------
    int

    Raises
    ------
    ValueError
        If the window does not fit in the padded input.
    """
    size = check_int(size, "size", minimum=0)
    kernel = check_int(kernel, "kernel", minimum=1)
    stride = check_int(stride, "stride", minimum=1)
    padding = check_int(padding, "padding", minimum=0)
    out = (size + 2 * padding - kernel) // stride + 1
    if size + 2 * padding < kernel:
        raise ValueError(f"kernel {kernel} is larger than the padded input {size} + 2*{padding}")
    return out


def _pad(x: np.ndarray, ph: int, pw: int, value: float = 0.0) -> np.ndarray:
    """Pad the two spatial axes of an NCHW array with ``value``."""
    if ph == 0 and pw == 0:
        return x
    b, c, h, w = x.shape
    buf = np.full((b, c, h + 2 * ph, w + 2 * pw), value, dtype=x.dtype)
    buf[:, :, ph : ph + h, pw : pw + w] = x
    return buf


@numba.njit(cache=True, nogil=True)
def _im2col_kernel(xp, kh, kw, sh, sw, oh, ow, out):  # pragma: no cover (compiled)
    n_b, n_c = xp.shape[0], xp.shape[1]
    for c in range(n_c):
        for i in range(kh):
            for j in range(kw):
                row = (c * kh + i) * kw + j
                for b in range(n_b):
                    for y in range(oh):
                        base = (b * oh + y) * ow
                        src = xp[b, c, y * sh + i]
                        dst = out[row]
                        if sw == 1:
                            for x in range(ow):
                                dst[base + x] = src[x + j]
                        else:
                            for x in range(ow):
                                dst[base + x] = src[x * sw + j]


@numba.njit(cache=True, nogil=True)
def _col2im_kernel(cols, kh, kw, sh, sw, oh, ow, out):  # pragma: no cover (compiled)
    n_b, n_c = out.shape[0], out.shape[1]
    for b in range(n_b):
        for c in range(n_c):
            for i in range(kh):
                for j in range(kw):
                    src = cols[(c * kh + i) * kw + j]
                    for y in range(oh):
                        base = (b * oh + y) * ow
                        dst = out[b, c, y * sh + i]
                        if sw == 1:
                            for x in range(ow):
                                dst[x + j] += src[base + x]
                        else:
                            for x in range(ow):
                                dst[x * sw + j] += src[base + x]


@primitive
def im2col(
    x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int], padding: tuple[int, int]
) -> np.ndarray:
    """Patch matrix of a batch of images, one patch per **column**.

    Parameters
    ----------
    x : numpy.ndarray
        Input ``(B, C, H, W)`` (any memory layout).
    kernel, stride, padding : (int, int)
        Window size, step and zero padding (per side) along height and width.

    Returns
    -------
    numpy.ndarray
        ``(C*KH*KW, B*OH*OW)``: entry ``[(c, i, j), (b, y, x)]`` is the padded input at
        ``[b, c, y*SH + i, x*SW + j]``. Rows are ordered like ``w.reshape(O, -1)`` for a kernel
        ``w`` of shape ``(O, C, KH, KW)``, so the convolution is ``w.reshape(O, -1) @ cols``.
    """
    x = check_numeric_array(x, "x")
    b, c, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    oh, ow = conv_output_size(h, kh, sh, ph), conv_output_size(w, kw, sw, pw)
    out = np.empty((c * kh * kw, b * oh * ow), dtype=x.dtype)
    _im2col_kernel(np.ascontiguousarray(_pad(x, ph, pw)), kh, kw, sh, sw, oh, ow, out)
    return out


def col2im(
    cols: np.ndarray,
    x_shape: tuple[int, int, int, int],
    kernel: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
) -> np.ndarray:
    """Adjoint of :func:`im2col`: add every patch entry back to the pixel it came from.

    Parameters
    ----------
    cols : numpy.ndarray
        ``(C*KH*KW, B*OH*OW)``.
    x_shape : (int, int, int, int)
        ``(B, C, H, W)`` of the image batch.
    kernel, stride, padding : (int, int)
        As given to :func:`im2col`.

    Returns
    -------
    numpy.ndarray
        ``(B, C, H, W)``.
    """
    cols = check_numeric_array(cols, "cols")
    b, c, h, w = x_shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    oh, ow = conv_output_size(h, kh, sh, ph), conv_output_size(w, kw, sw, pw)
    out = np.zeros((b, c, h + 2 * ph, w + 2 * pw), dtype=cols.dtype)
    _col2im_kernel(np.ascontiguousarray(cols), kh, kw, sh, sw, oh, ow, out)
    if ph == 0 and pw == 0:
        return out
    return out[:, :, ph : ph + h, pw : pw + w]


defvjp(
    im2col,
    lambda ans, x, kernel, stride, padding: lambda g: col2im(g, x.shape, kernel, stride, padding),
)


@primitive
def conv_gemm(
    cols: np.ndarray, w: np.ndarray, b: np.ndarray | None, out_shape: tuple[int, int, int]
) -> np.ndarray:
    """Multiply the kernel matrix by the patch matrix and add the bias; return an NCHW view.

    Parameters
    ----------
    cols : numpy.ndarray
        ``(C*KH*KW, B*OH*OW)`` from :func:`im2col`.
    w : numpy.ndarray
        Kernel ``(O, C, KH, KW)``.
    b : numpy.ndarray, optional
        Bias ``(O,)``.
    out_shape : (int, int, int)
        ``(B, OH, OW)``.

    Returns
    -------
    numpy.ndarray
        ``(B, O, OH, OW)``: a transposed view of an ``(O, B, OH, OW)`` buffer (no copy).
    """
    out = w.reshape(w.shape[0], -1) @ cols
    if b is not None:
        out += b[:, None]
    return out.reshape((w.shape[0],) + tuple(out_shape)).transpose(1, 0, 2, 3)


def _conv_gemm_vjp(argnums, ans, args, kwargs):
    cols, w = args[0], args[1]

    def vjp(g):
        g2 = g.transpose(1, 0, 2, 3).reshape(w.shape[0], -1)
        grads = []
        for argnum in argnums:
            if argnum == 0:
                grads.append(w.reshape(w.shape[0], -1).T @ g2)
            elif argnum == 1:
                grads.append((g2 @ cols.T).reshape(w.shape))
            else:
                grads.append(g2.sum(axis=1))
        return grads

    return vjp


defvjp_argnums(conv_gemm, _conv_gemm_vjp)


@numba.njit(cache=True, nogil=True, fastmath={"contract"})
def _axpy(dst, src, a):  # pragma: no cover (compiled)
    # dst += a * src on 1-D arrays: a separate function so that LLVM sees one simple loop and
    # vectorizes it (inlined in the loop nest of the caller it stays scalar)
    for t in range(dst.shape[0]):
        dst[t] += a * src[t]


@numba.njit(cache=True, nogil=True, fastmath={"reassoc", "contract", "nsz"})
def _dot(p, q, zero):  # pragma: no cover (compiled)
    # sum_t p[t] q[t]; reassociation only lets the reduction vectorize (rounding)
    acc = zero
    for t in range(p.shape[0]):
        acc += p[t] * q[t]
    return acc


@numba.njit(cache=True, nogil=True, fastmath={"contract"})
def _taps5(dst, src, w0, w1, w2, w3, w4):  # pragma: no cover (compiled)
    # dst[t] += sum_j w_j src[t + j] for one kernel row of width 5 (LeNet's), unrolled so that
    # the loop over t vectorizes (benchmarks/bench_conv_kernels.py)
    for t in range(dst.shape[0]):
        dst[t] += (
            w0 * src[t] + w1 * src[t + 1] + w2 * src[t + 2] + w3 * src[t + 3] + w4 * src[t + 4]
        )


@numba.njit(cache=True, nogil=True, fastmath={"reassoc", "contract", "nsz"})
def _dot5(g, src, zero, out):  # pragma: no cover (compiled)
    # out[j] += sum_t g[t] src[t + j], j < 5: g read once for a whole kernel row
    a0 = a1 = a2 = a3 = a4 = zero
    for t in range(g.shape[0]):
        gv = g[t]
        a0 += gv * src[t]
        a1 += gv * src[t + 1]
        a2 += gv * src[t + 2]
        a3 += gv * src[t + 3]
        a4 += gv * src[t + 4]
    out[0] += a0
    out[1] += a1
    out[2] += a2
    out[3] += a3
    out[4] += a4


@numba.njit(cache=True, nogil=True, fastmath={"contract"})
def _direct_conv_kernel(xf, w, bias, row, out):  # pragma: no cover (compiled)
    # Flattened planes with row stride `row` (the padded input width): for output position
    # t = y*row + x, out[b, o, t] = bias[o] + sum_{c,i,j} w[o, c, i, j] * xf[b, c, t + i*row + j].
    # Positions with x >= OW read across a row end: they are computed and discarded, which keeps
    # the inner loop one long unit-stride axpy (OH*row elements) that vectorizes fully.
    n_b, n_c = xf.shape[0], xf.shape[1]
    n_o, kh, kw = w.shape[0], w.shape[2], w.shape[3]
    n = out.shape[2]
    for b in range(n_b):
        for o in range(n_o):
            dst = out[b, o]
            dst[:] = bias[o]
            for c in range(n_c):
                for i in range(kh):
                    if kw == 5:  # a kernel row per pass: dst is loaded and stored 5x less
                        off = i * row
                        wr = w[o, c, i]
                        _taps5(dst, xf[b, c, off : off + n + 4], wr[0], wr[1], wr[2], wr[3], wr[4])
                        continue
                    for j in range(kw):
                        off = i * row + j
                        _axpy(dst, xf[b, c, off : off + n], w[o, c, i, j])


@numba.njit(cache=True, nogil=True, fastmath={"reassoc", "contract", "nsz"})
def _direct_conv_wgrad_kernel(xf, gf, zero, row, gw):  # pragma: no cover (compiled)
    # gw[o, c, i, j] = sum_{b, t} gf[b, o, t] * xf[b, c, t + i*row + j] with gf the output
    # gradient on the same padded flattened grid, zero at the discarded positions x >= OW: one
    # long dot product per (b, o, c, i, j); reassociation only lets it vectorize (rounding).
    n_b, n_c = xf.shape[0], xf.shape[1]
    n_o, kh, kw = gw.shape[0], gw.shape[2], gw.shape[3]
    n = gf.shape[2]
    for b in range(n_b):
        for o in range(n_o):
            grow = gf[b, o]
            for c in range(n_c):
                for i in range(kh):
                    if kw == 5:  # five dot products in one pass over grow
                        off = i * row
                        _dot5(grow, xf[b, c, off : off + n + 4], zero, gw[o, c, i])
                        continue
                    for j in range(kw):
                        off = i * row + j
                        gw[o, c, i, j] += _dot(grow, xf[b, c, off : off + n], zero)


def _flat_padded(x: np.ndarray, ph: int, pw: int, kw: int, dtype: np.dtype) -> np.ndarray:
    """Zero-padded input planes flattened to ``(B, C, Hp*Wp + KW)`` (tail zeros for the reads
    of the discarded positions of :func:`_direct_conv_kernel`)."""
    b, c, h, w = x.shape
    hp, wp = h + 2 * ph, w + 2 * pw
    xf = np.zeros((b, c, hp * wp + kw), dtype=dtype)
    xf[:, :, : hp * wp].reshape(b, c, hp, wp)[:, :, ph : ph + h, pw : pw + w] = x
    return xf


@primitive
def conv_direct(
    x: np.ndarray, w: np.ndarray, b: np.ndarray | None, padding: tuple[int, int]
) -> np.ndarray:
    """Stride-1 cross-correlation by direct summation (no patch matrix), for few filters.

    Used by :func:`conv2d` for an input that is data (not differentiated) and a kernel with
    ``O*C <= 16`` (LeNet-5's first layer), where it was measured faster than im2col + GEMM:
    the ``(C*KH*KW, B*OH*OW)`` patch matrix is never written nor read back. The kernel
    gradient is the same sum with ``g`` in place of ``w``.

    Parameters
    ----------
    x : numpy.ndarray
        Input ``(B, C, H, W)``.
    w : numpy.ndarray
        Kernel ``(O, C, KH, KW)``.
    b : numpy.ndarray, optional
        Bias ``(O,)``.
    padding : (int, int)
        Zero padding per side.

    Returns
    -------
    numpy.ndarray
        ``(B, O, OH, OW)``, C-contiguous.
    """
    (ph, pw), kh, kw = padding, w.shape[2], w.shape[3]
    oh, ow = conv_output_size(x.shape[2], kh, 1, ph), conv_output_size(x.shape[3], kw, 1, pw)
    dtype = np.result_type(x.dtype, w.dtype)
    row = x.shape[3] + 2 * pw
    xf = _flat_padded(x, ph, pw, kw, dtype)
    bias = np.zeros(w.shape[0], dtype) if b is None else b.astype(dtype, copy=False)
    wd = np.ascontiguousarray(w, dtype=dtype)
    n_b, n_o = x.shape[0], w.shape[0]
    res = np.empty((n_b, n_o, oh, ow), dtype=dtype)
    parts = _parallel.n_parts(n_b, n_o * oh * row * res.itemsize)
    out = _parallel.scratch((n_b, n_o, oh * row), dtype)
    if parts == 1:
        _direct_conv_part(xf, wd, bias, row, out, res, 0, n_b)
    else:
        _direct_conv_parts(xf, wd, bias, row, out, res, parts)
    return res


@numba.njit(cache=True, nogil=True)
def _direct_conv_part(xf, w, bias, row, out, res, s0, e0):  # pragma: no cover (compiled)
    # images s0:e0 on the padded grid, then the valid columns copied out
    _direct_conv_kernel(xf[s0:e0], w, bias, row, out[s0:e0])
    ow = res.shape[3]
    for b in range(s0, e0):
        for o in range(res.shape[1]):
            for y in range(res.shape[2]):
                _copy(res[b, o, y], out[b, o, y * row : y * row + ow])


@numba.njit(cache=True, nogil=True, parallel=True)
def _direct_conv_parts(xf, w, bias, row, out, res, n_parts):  # pragma: no cover (compiled)
    n_b = xf.shape[0]
    for p in numba.prange(n_parts):
        _direct_conv_part(xf, w, bias, row, out, res, n_b * p // n_parts, n_b * (p + 1) // n_parts)


def _direct_wgrad(
    x: np.ndarray, g: np.ndarray, w_shape: tuple[int, ...], padding: tuple[int, int]
) -> np.ndarray:
    """Kernel gradient of :func:`conv_direct`: a partial sum per part of the batch, summed in
    part order (reproducible for a given thread budget)."""
    dtype, kw = g.dtype, w_shape[3]
    row = x.shape[3] + 2 * padding[1]
    xf = _flat_padded(x, *padding, kw, dtype)
    parts = _parallel.n_parts(x.shape[0], xf[0].nbytes + g[0].nbytes)
    gws = np.zeros((parts,) + tuple(w_shape), dtype=dtype)
    gf = _parallel.scratch(g.shape[:3] + (row,), dtype)
    if parts == 1:
        _direct_wgrad_part(xf, g, dtype.type(0), row, gf, gws[0], 0, x.shape[0])
    else:
        _direct_wgrad_parts(xf, g, dtype.type(0), row, gf, gws)
    gw = gws[0]
    for extra in gws[1:]:
        gw += extra
    return gw


@numba.njit(cache=True, nogil=True)
def _direct_wgrad_part(xf, g, zero, row, gf, gw, s0, e0):  # pragma: no cover (compiled)
    # images s0:e0: the output gradient laid on the padded grid (zero at the discarded
    # positions), then the kernel gradient's dot products
    ow = g.shape[3]
    for b in range(s0, e0):
        for o in range(g.shape[1]):
            for y in range(g.shape[2]):
                dst = gf[b, o, y]
                _copy(dst[:ow], g[b, o, y])
                dst[ow:] = zero
    n = g.shape[2] * row
    _direct_conv_wgrad_kernel(xf[s0:e0], gf[s0:e0].reshape(e0 - s0, g.shape[1], n), zero, row, gw)


@numba.njit(cache=True, nogil=True, parallel=True)
def _direct_wgrad_parts(xf, g, zero, row, gf, gws):  # pragma: no cover (compiled)
    n_parts, n_b = gws.shape[0], g.shape[0]
    for p in numba.prange(n_parts):
        s0, e0 = n_b * p // n_parts, n_b * (p + 1) // n_parts
        _direct_wgrad_part(xf, g, zero, row, gf, gws[p], s0, e0)


def _conv_direct_vjp(argnums, ans, args, kwargs):
    x, w, padding = args[0], args[1], args[3]
    kernel = (int(w.shape[2]), int(w.shape[3]))

    def vjp(g):
        g = np.ascontiguousarray(g, dtype=ans.dtype)
        grads = []
        for argnum in argnums:
            if argnum == 0:  # only reached when x is differentiated (conv2d avoids that)
                g2 = g.transpose(1, 0, 2, 3).reshape(w.shape[0], -1)
                cols = w.reshape(w.shape[0], -1).T @ g2
                grads.append(col2im(cols, x.shape, kernel, (1, 1), padding))
            elif argnum == 1:
                grads.append(_direct_wgrad(x, g, w.shape, padding).astype(w.dtype, copy=False))
            else:  # a GEMV per plane: NumPy's sum over axes (0, 2, 3) is about twice slower
                ones = np.ones((g.shape[2] * g.shape[3], 1), g.dtype)
                sums = _parallel.matmul(g.reshape(-1, g.shape[2] * g.shape[3]), ones)
                grads.append(sums.reshape(g.shape[0], g.shape[1]).sum(axis=0))
        return grads

    return vjp


defvjp_argnums(conv_direct, _conv_direct_vjp)


@numba.njit(cache=True, nogil=True)
def _copy(dst, src):  # pragma: no cover (compiled)
    # one simple loop per run, so that LLVM vectorizes it (inlined in the caller's loop nest
    # the copy stays scalar; benchmarks/bench_conv_kernels.py)
    for t in range(dst.shape[0]):
        dst[t] = src[t]


@numba.njit(cache=True, nogil=True)
def _add(dst, src):  # pragma: no cover (compiled)
    for t in range(dst.shape[0]):
        dst[t] += src[t]


@numba.njit(cache=True, nogil=True)
def _im2row_kernel(xh, kh, kw, sh, sw, oh, ow, out):  # pragma: no cover (compiled)
    # channels-last input (B, Hp, Wp, C): out[(b, y, x), (i, j, c)] = xh[b, y*sh + i, x*sw + j, c];
    # with stride 1 the KW*C entries of one kernel row are one contiguous run of the image row
    n_b, n_c = xh.shape[0], xh.shape[3]
    run = kw * n_c
    for b in range(n_b):
        for y in range(oh):
            for i in range(kh):
                src = xh[b, y * sh + i].reshape(-1)
                for x in range(ow):
                    dst = out[(b * oh + y) * ow + x]
                    if sw == 1:
                        _copy(dst[i * run : i * run + run], src[x * n_c : x * n_c + run])
                    else:
                        for j in range(kw):
                            d0, s0 = (i * kw + j) * n_c, (x * sw + j) * n_c
                            _copy(dst[d0 : d0 + n_c], src[s0 : s0 + n_c])


@numba.njit(cache=True, nogil=True)
def _row2im_kernel(rows, kh, kw, sh, sw, oh, ow, out):  # pragma: no cover (compiled)
    # adjoint of _im2row_kernel: add every row entry back onto its channels-last pixel
    n_b, n_c = out.shape[0], out.shape[3]
    run = kw * n_c
    for b in range(n_b):
        for y in range(oh):
            for i in range(kh):
                dst = out[b, y * sh + i].reshape(-1)
                for x in range(ow):
                    src = rows[(b * oh + y) * ow + x]
                    if sw == 1:
                        _add(dst[x * n_c : x * n_c + run], src[i * run : i * run + run])
                    else:
                        for j in range(kw):
                            d0, s0 = (x * sw + j) * n_c, (i * kw + j) * n_c
                            _add(dst[d0 : d0 + n_c], src[s0 : s0 + n_c])


#: Bytes of one chunk of the row patch matrix of :func:`conv_rows`: it stays in cache between
#: its im2row pass and its GEMM (a whole batch's patch matrix goes through memory); 256 KiB was
#: measured faster than 128 KiB and 0.5-2 MiB at one and two threads for LeNet-5's second layer
#: (``benchmarks/bench_conv_kernels.py``, part ``kernels``).
_CHUNK_BYTES = 1 << 18


@numba.njit(cache=True, nogil=True)
def _to_channels_last_kernel(x, ph, pw, out):  # pragma: no cover (compiled)
    # out[b, y + ph, z + pw, c] = x[b, c, y, z]; NumPy's transposing copy runs its inner loop
    # over the short channel axis (benchmarks/bench_conv_kernels.py)
    for b in range(x.shape[0]):
        for c in range(x.shape[1]):
            for y in range(x.shape[2]):
                src, dst = x[b, c, y], out[b, y + ph]
                for z in range(x.shape[3]):
                    dst[z + pw, c] = src[z]


def _channels_last(x: np.ndarray, ph: int, pw: int, dtype: np.dtype) -> np.ndarray:
    """Zero-padded ``(B, H + 2 PH, W + 2 PW, C)`` C-contiguous copy of an NCHW array."""
    b, c, h, w = x.shape
    if x.transpose(0, 2, 3, 1).flags.c_contiguous and not (ph or pw) and x.dtype == dtype:
        return x.transpose(0, 2, 3, 1)
    alloc = np.zeros if ph or pw else np.empty
    xh = alloc((b, h + 2 * ph, w + 2 * pw, c), dtype=dtype)
    _to_channels_last_kernel(x.astype(dtype, copy=False), ph, pw, xh)
    return xh


def _chunk_images(per_image: int, itemsize: int) -> int:
    """Images per chunk of :func:`conv_rows`: their patch rows fill :data:`_CHUNK_BYTES`."""
    return max(1, _CHUNK_BYTES // max(1, per_image * itemsize))


@numba.njit(cache=True, nogil=True)
def _rows_forward_part(
    xh, wt, bias, kh, kw, sh, sw, oh, ow, s0, e0, step, buf, out
):  # pragma: no cover (compiled)
    # images s0:e0 in chunks of `step`: patch rows into buf, one GEMM per chunk, then the bias
    m = oh * ow
    for s in range(s0, e0, step):
        e = min(s + step, e0)
        rows = buf[: (e - s) * m]
        _im2row_kernel(xh[s:e], kh, kw, sh, sw, oh, ow, rows)
        np.dot(rows, wt, out[s * m : e * m])
    for r in range(s0 * m, e0 * m):
        _add(out[r], bias)


@numba.njit(cache=True, nogil=True, parallel=True)
def _rows_forward_parts(
    xh, wt, bias, kh, kw, sh, sw, oh, ow, step, bufs, out
):  # pragma: no cover (compiled)
    # contiguous parts of the batch on Numba's threads, each with its own patch buffer
    n_parts, n_b = bufs.shape[0], xh.shape[0]
    for p in numba.prange(n_parts):
        s0, e0 = n_b * p // n_parts, n_b * (p + 1) // n_parts
        _rows_forward_part(xh, wt, bias, kh, kw, sh, sw, oh, ow, s0, e0, step, bufs[p], out)


@numba.njit(cache=True, nogil=True)
def _rows_backward_part(
    xh, gh, wmat, kh, kw, sh, sw, oh, ow, step, s0, e0, buf, want_w, want_x, dwt, tmp, dxh
):  # pragma: no cover (compiled)
    # images s0:e0: dwt += gs.T @ rows (patches rebuilt per chunk); dxh += row2im(gs @ wmat)
    m = oh * ow
    for s in range(s0, e0, step):
        e = min(s + step, e0)
        rows, gs = buf[: (e - s) * m], gh[s * m : e * m]
        if want_w:
            _im2row_kernel(xh[s:e], kh, kw, sh, sw, oh, ow, rows)
            np.dot(gs.T, rows, tmp)
            _add(dwt.reshape(-1), tmp.reshape(-1))
        if want_x:
            np.dot(gs, wmat, rows)
            _row2im_kernel(rows, kh, kw, sh, sw, oh, ow, dxh[s:e])


@numba.njit(cache=True, nogil=True, parallel=True)
def _rows_backward_parts(
    xh, gh, wmat, kh, kw, sh, sw, oh, ow, step, bufs, want_w, want_x, dwts, tmps, dxh
):  # pragma: no cover (compiled)
    n_parts, n_b = bufs.shape[0], gh.shape[0] // (oh * ow)
    for p in numba.prange(n_parts):
        s0, e0 = n_b * p // n_parts, n_b * (p + 1) // n_parts
        _rows_backward_part(
            xh, gh, wmat, kh, kw, sh, sw, oh, ow, step, s0, e0, bufs[p], want_w, want_x,
            dwts[p], tmps[p], dxh,
        )  # fmt: skip


@primitive
def conv_rows(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None,
    stride: tuple[int, int],
    padding: tuple[int, int],
) -> np.ndarray:
    """Cross-correlation as the tall GEMM ``rows @ W.T`` over cache-sized chunks of images.

    The patch matrix is built one row per output pixel (``(B*OH*OW, KH*KW*C)``, entries in
    ``(i, j, c)`` order from a channels-last copy of the input, so that with stride 1 a kernel
    row is one contiguous run) and multiplied by the ``(KH*KW*C, O)`` kernel matrix chunk by
    chunk: each chunk of rows is written and read again while it is in cache, and the backward
    pass rebuilds it instead of keeping a whole batch's patch matrix. The tall orientation
    (``B*OH*OW x K`` times ``K x O``) was measured faster than the wide one with OpenBLAS for
    LeNet-5's second layer (``benchmarks/bench_conv_kernels.py``).

    Parameters
    ----------
    x : numpy.ndarray
        Input ``(B, C, H, W)``.
    w : numpy.ndarray
        Kernel ``(O, C, KH, KW)``.
    b : numpy.ndarray, optional
        Bias ``(O,)``.
    stride, padding : (int, int)
        Step of the window and zero padding per side.

    Returns
    -------
    numpy.ndarray
        ``(B, O, OH, OW)``: a transposed view of a channels-last ``(B, OH, OW, O)`` buffer
        (no copy); the pooling kernels and the VJP read that layout as is.
    """
    (sh, sw), (ph, pw) = stride, padding
    n_b, n_o, kh, kw = x.shape[0], w.shape[0], w.shape[2], w.shape[3]
    oh = conv_output_size(x.shape[2], kh, sh, ph)
    ow = conv_output_size(x.shape[3], kw, sw, pw)
    dtype = np.result_type(x.dtype, w.dtype)
    if dtype.kind not in "fc":  # the compiled GEMM takes floats: integers go through float64
        y = conv_rows(x.astype(np.float64), w.astype(np.float64), b, stride, padding)
        return y.astype(dtype)
    xh = _channels_last(x, ph, pw, dtype)
    wt = w.astype(dtype, copy=False).transpose(2, 3, 1, 0).reshape(-1, n_o)
    k, m = wt.shape[0], oh * ow
    out = np.empty((n_b * m, n_o), dtype=dtype)
    bias = np.zeros(n_o, dtype) if b is None else b.astype(dtype, copy=False)
    step = _chunk_images(m * k, out.itemsize)
    parts = _parallel.n_parts(n_b, m * k * out.itemsize)
    bufs = _parallel.scratch((parts, min(step, n_b) * m, k), dtype)
    wt = np.ascontiguousarray(wt)
    if parts == 1:
        _rows_forward_part(xh, wt, bias, kh, kw, sh, sw, oh, ow, 0, n_b, step, bufs[0], out)
    else:
        with _parallel.one_blas_thread():
            _rows_forward_parts(xh, wt, bias, kh, kw, sh, sw, oh, ow, step, bufs, out)
    return out.reshape(n_b, oh, ow, n_o).transpose(0, 3, 1, 2)


def _conv_rows_vjp(argnums, ans, args, kwargs):
    x, w, _, stride, padding = args
    (sh, sw), (ph, pw) = stride, padding
    n_b, n_o, kh, kw = x.shape[0], w.shape[0], w.shape[2], w.shape[3]
    oh, ow = ans.shape[2], ans.shape[3]

    def vjp(g):
        dtype = ans.dtype if ans.dtype.kind in "fc" else np.dtype(np.float64)
        gh = np.ascontiguousarray(g.transpose(0, 2, 3, 1), dtype=dtype).reshape(-1, n_o)
        want_x, want_w = 0 in argnums, 1 in argnums
        xh = _channels_last(x, ph, pw, dtype) if want_w else None
        wt = w.astype(dtype, copy=False).transpose(2, 3, 1, 0).reshape(-1, n_o)
        k, m = wt.shape[0], oh * ow
        dxh = None
        if want_x:
            dxh = np.zeros((n_b, x.shape[2] + 2 * ph, x.shape[3] + 2 * pw, x.shape[1]), dtype)

        step = _chunk_images(m * k, np.dtype(dtype).itemsize)
        parts = _parallel.n_parts(n_b, m * k * np.dtype(dtype).itemsize)
        bufs = _parallel.scratch((parts, min(step, n_b) * m, k), dtype)
        dwts = np.zeros((parts, n_o, k), dtype=dtype)
        tmps = np.empty((parts, n_o, k), dtype=dtype)
        empty = np.zeros((0, 1, 1, 1), dtype)
        args = (
            xh if want_w else empty,
            gh,
            np.ascontiguousarray(wt.T) if want_x else np.zeros((n_o, k), dtype),
            kh, kw, sh, sw, oh, ow, step,
        )  # fmt: skip
        dxh_ = dxh if want_x else empty
        if parts == 1:
            _rows_backward_part(*args, 0, n_b, bufs[0], want_w, want_x, dwts[0], tmps[0], dxh_)
        else:
            with _parallel.one_blas_thread():
                _rows_backward_parts(*args, bufs, want_w, want_x, dwts, tmps, dxh_)
        dwt = dwts[0]
        for extra in dwts[1:]:  # partial sums in part order: reproducible
            dwt += extra
        grads = []
        for argnum in argnums:
            if argnum == 0:
                dx = dxh[:, ph : ph + x.shape[2], pw : pw + x.shape[3], :]
                grads.append(np.ascontiguousarray(dx.transpose(0, 3, 1, 2), dtype=x.dtype))
            elif argnum == 1:
                dw = dwt.reshape(n_o, kh, kw, -1).transpose(0, 3, 1, 2)
                grads.append(np.ascontiguousarray(dw, dtype=w.dtype))
            else:  # a GEMV: NumPy's column sums of a tall matrix are several times slower
                grads.append(_parallel.matmul(np.ones((1, gh.shape[0]), dtype), gh)[0])
        return grads

    return vjp


defvjp_argnums(conv_rows, _conv_rows_vjp)


def conv2d(
    x: Any,
    w: Any,
    b: Any = None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
) -> Any:
    """2-D cross-correlation ``y[n, o] = b[o] + sum_c x[n, c] (star) w[o, c]`` via im2col + GEMM.

    Parameters
    ----------
    x : array_like
        Input ``(B, C, H, W)``.
    w : array_like
        Kernel ``(O, C, KH, KW)``.
    b : array_like, optional
        Bias ``(O,)``.
    stride : int or (int, int)
        Step of the window.
    padding : int or (int, int)
        Zeros added on each side of both spatial axes.

    Returns
    -------
    array_like
        ``(B, O, OH, OW)``.
    """
    x = check_numeric_array(x, "x")
    w = check_numeric_array(w, "w")
    stride_ = _pair(stride, "stride", 1)
    padding_ = _pair(padding, "padding", 0)
    kernel = (int(w.shape[2]), int(w.shape[3]))
    if x.ndim != 4 or x.shape[1] != w.shape[1]:
        raise ValueError(
            f"conv2d expects x of shape (B, {w.shape[1]}, H, W) for a kernel of shape "
            f"{tuple(w.shape)}, got {tuple(x.shape)}"
        )
    conv_output_size(x.shape[2], kernel[0], stride_[0], padding_[0])  # the window must fit
    conv_output_size(x.shape[3], kernel[1], stride_[1], padding_[1])
    if stride_ == (1, 1) and w.shape[0] * w.shape[1] <= 16 and not isbox(x):
        return conv_direct(x, w, b, padding_)
    return conv_rows(x, w, b, stride_, padding_)


# ------------------------------------------------------------------------------ pooling
def _pool_geometry(x, kernel, stride, padding):
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    oh = conv_output_size(x.shape[2], kh, sh, ph)
    ow = conv_output_size(x.shape[3], kw, sw, pw)
    return kh, kw, sh, sw, ph, pw, oh, ow


def _planes(x: np.ndarray) -> tuple[np.ndarray, bool]:
    """``(B*C, H, W)`` (or ``(C*B, H, W)`` for a channel-major buffer) C-contiguous view."""
    b, c, h, w = x.shape
    swapped = x.transpose(1, 0, 2, 3)
    if not x.flags.c_contiguous and swapped.flags.c_contiguous:
        return swapped.reshape(c * b, h, w), True
    return np.ascontiguousarray(x).reshape(b * c, h, w), False


def _unplanes(p: np.ndarray, shape: tuple[int, int, int, int], swapped: bool) -> np.ndarray:
    b, c = shape[0], shape[1]
    if swapped:
        return p.reshape(c, b, p.shape[1], p.shape[2]).transpose(1, 0, 2, 3)
    return p.reshape(b, c, p.shape[1], p.shape[2])


@numba.njit(cache=True, nogil=True)
def _max_pool_kernel(x, kh, kw, sh, sw, out):  # pragma: no cover (compiled)
    oh, ow = out.shape[1], out.shape[2]
    for p in range(x.shape[0]):
        for y in range(oh):
            for z in range(ow):
                best = x[p, y * sh, z * sw]
                for i in range(kh):
                    row = x[p, y * sh + i]
                    for j in range(kw):
                        v = row[z * sw + j]
                        if v > best:
                            best = v
                out[p, y, z] = best


@numba.njit(cache=True, nogil=True)
def _max_pool_grad_kernel(x, g, kh, kw, sh, sw, dx):  # pragma: no cover (compiled)
    oh, ow = g.shape[1], g.shape[2]
    for p in range(x.shape[0]):
        for y in range(oh):
            for z in range(ow):
                br, bq = y * sh, z * sw
                best = x[p, br, bq]
                for i in range(kh):
                    row = x[p, y * sh + i]
                    for j in range(kw):
                        v = row[z * sw + j]
                        if v > best:
                            best = v
                            br, bq = y * sh + i, z * sw + j
                dx[p, br, bq] += g[p, y, z]


@numba.njit(cache=True, nogil=True)
def _max_pool_grad_tiled_kernel(x, g, kh, kw, dx):  # pragma: no cover (compiled)
    # non-overlapping windows (stride == kernel) tiling x: write every entry of dx once
    oh, ow = g.shape[1], g.shape[2]
    for p in range(x.shape[0]):
        for y in range(oh):
            for z in range(ow):
                br, bq = y * kh, z * kw
                best = x[p, br, bq]
                for i in range(kh):
                    for j in range(kw):
                        dx[p, y * kh + i, z * kw + j] = 0
                        v = x[p, y * kh + i, z * kw + j]
                        if v > best:
                            best = v
                            br, bq = y * kh + i, z * kw + j
                dx[p, br, bq] = g[p, y, z]


@numba.njit(cache=True, nogil=True)
def _max_pool_2x2_kernel(x, out):  # pragma: no cover (compiled)
    # 2x2 windows, stride 2: one pass per pair of rows, a loop over the output row that
    # LLVM vectorizes (the generic kernel's run-time window sizes keep it scalar)
    for p in range(out.shape[0]):
        for y in range(out.shape[1]):
            r0, r1, o = x[p, 2 * y], x[p, 2 * y + 1], out[p, y]
            for z in range(out.shape[2]):
                o[z] = max(max(r0[2 * z], r0[2 * z + 1]), max(r1[2 * z], r1[2 * z + 1]))


@numba.njit(cache=True, nogil=True)
def _max_pool_2x2_grad_kernel(x, g, dx):  # pragma: no cover (compiled)
    # 2x2 windows tiling x: every entry of dx written once, the gradient to the first maximal
    # entry of the window in row-major order (the generic kernel's rule), branch-free selects
    zero = dx.dtype.type(0)
    for p in range(g.shape[0]):
        for y in range(g.shape[1]):
            r0, r1, gr = x[p, 2 * y], x[p, 2 * y + 1], g[p, y]
            d0, d1 = dx[p, 2 * y], dx[p, 2 * y + 1]
            for z in range(g.shape[2]):
                a, b, c, d = r0[2 * z], r0[2 * z + 1], r1[2 * z], r1[2 * z + 1]
                m = max(max(a, b), max(c, d))
                gv = gr[z]
                ea = a == m
                eb = (b == m) and not ea
                ec = (c == m) and not (ea or eb)
                ed = not (ea or eb or ec)
                d0[2 * z] = gv if ea else zero
                d0[2 * z + 1] = gv if eb else zero
                d1[2 * z] = gv if ec else zero
                d1[2 * z + 1] = gv if ed else zero


@numba.njit(cache=True, nogil=True)
def _max_pool_2x2_nhwc_kernel(x, out):  # pragma: no cover (compiled)
    # channels-last input of conv_rows viewed as (B, OH, 2, OW, 2C): the window of output
    # (y, z) is x[b, y, r, z, s*C + c] for r, s in {0, 1}, so the channel loop is unit-stride
    # and vectorizes (benchmarks/bench_conv_kernels.py)
    for b in range(out.shape[0]):
        for y in range(out.shape[1]):
            for z in range(out.shape[2]):
                a0, a1, o = x[b, y, 0, z], x[b, y, 1, z], out[b, y, z]
                n = o.shape[0]
                for c in range(n):
                    o[c] = max(max(a0[c], a0[n + c]), max(a1[c], a1[n + c]))


@numba.njit(cache=True, nogil=True)
def _max_pool_2x2_nhwc_grad_kernel(x, g, dx):  # pragma: no cover (compiled)
    # the same view; the gradient to the first maximal entry of the window in row-major order
    zero = dx.dtype.type(0)
    for b in range(g.shape[0]):
        for y in range(g.shape[1]):
            for z in range(g.shape[2]):
                a0, a1, gr = x[b, y, 0, z], x[b, y, 1, z], g[b, y, z]
                d0, d1 = dx[b, y, 0, z], dx[b, y, 1, z]
                n = gr.shape[0]
                for c in range(n):
                    a, bb, cc, d = a0[c], a0[n + c], a1[c], a1[n + c]
                    m = max(max(a, bb), max(cc, d))
                    gv = gr[c]
                    ea = a == m
                    eb = (bb == m) and not ea
                    ec = (cc == m) and not (ea or eb)
                    ed = not (ea or eb or ec)
                    d0[c] = gv if ea else zero
                    d0[n + c] = gv if eb else zero
                    d1[c] = gv if ec else zero
                    d1[n + c] = gv if ed else zero


def _windows_2x2(x: np.ndarray, channels_last: bool = False) -> np.ndarray:
    """``(B, H/2, 2, W/2, 2C)`` view of a channels-last buffer (given NCHW-shaped or not)."""
    xh = x if channels_last else x.transpose(0, 2, 3, 1)
    b, h, w, c = xh.shape
    return xh.reshape(b, h // 2, 2, w // 2, 2 * c)


def _nhwc_2x2(x: np.ndarray, kernel, stride, padding) -> bool:
    """Whether ``x`` is a channels-last buffer (as :func:`conv_rows` returns) tiled by 2x2/2."""
    return (
        tuple(kernel) == (2, 2)
        and x.shape[2] % 2 == 0
        and x.shape[3] % 2 == 0
        and tuple(stride) == (2, 2)
        and tuple(padding) == (0, 0)
        and not x.flags.c_contiguous
        and x.transpose(0, 2, 3, 1).flags.c_contiguous
    )


@primitive
def max_pool2d(
    x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int], padding: tuple[int, int]
) -> np.ndarray:
    """Maximum over each ``KH x KW`` window (padding never wins: it is ``-inf``).

    Parameters
    ----------
    x : numpy.ndarray
        ``(B, C, H, W)``.
    kernel, stride, padding : (int, int)
        Window, step and padding per side.

    Returns
    -------
    numpy.ndarray
        ``(B, C, OH, OW)`` (same memory order of batch and channel axes as ``x``).
    """
    x = check_numeric_array(x, "x")
    kh, kw, sh, sw, ph, pw, oh, ow = _pool_geometry(x, kernel, stride, padding)
    if _nhwc_2x2(x, kernel, stride, padding):
        out = np.empty((x.shape[0], oh, ow, x.shape[1]), dtype=x.dtype)
        _max_pool_2x2_nhwc_kernel(_windows_2x2(x), out)
        return out.transpose(0, 3, 1, 2)
    planes, swapped = _planes(_pad(x, ph, pw, -np.inf))
    out = np.empty((planes.shape[0], oh, ow), dtype=x.dtype)
    if (kh, kw, sh, sw) == (2, 2, 2, 2):
        _max_pool_2x2_kernel(planes, out)
    else:
        _max_pool_kernel(planes, kh, kw, sh, sw, out)
    return _unplanes(out, x.shape, swapped)


def _max_pool_vjp(ans, x, kernel, stride, padding):
    kh, kw, sh, sw, ph, pw, oh, ow = _pool_geometry(x, kernel, stride, padding)

    def vjp(g):
        if _nhwc_2x2(x, kernel, stride, padding):
            dxh = np.empty((x.shape[0], x.shape[2], x.shape[3], x.shape[1]), dtype=x.dtype)
            gh = np.ascontiguousarray(g.transpose(0, 2, 3, 1), dtype=x.dtype)
            _max_pool_2x2_nhwc_grad_kernel(_windows_2x2(x), gh, _windows_2x2(dxh, True))
            return dxh.transpose(0, 3, 1, 2)
        planes, swapped = _planes(_pad(x, ph, pw, -np.inf))
        gp = g.transpose(1, 0, 2, 3) if swapped else g
        gp = np.ascontiguousarray(gp, dtype=x.dtype).reshape(planes.shape[0], oh, ow)
        tiled = (kh, kw) == (sh, sw) and planes.shape[1:] == (oh * kh, ow * kw)
        if tiled and (kh, kw) == (2, 2):
            dx = np.empty_like(planes)
            _max_pool_2x2_grad_kernel(planes, gp, dx)
        elif tiled:
            dx = np.empty_like(planes)
            _max_pool_grad_tiled_kernel(planes, gp, kh, kw, dx)
        else:
            dx = np.zeros_like(planes)
            _max_pool_grad_kernel(planes, gp, kh, kw, sh, sw, dx)
        dx = _unplanes(dx, (x.shape[0], x.shape[1]), swapped)
        return dx[:, :, ph : ph + x.shape[2], pw : pw + x.shape[3]]

    return vjp


defvjp(max_pool2d, _max_pool_vjp)


def _slice(xp: np.ndarray, i: int, j: int, sh: int, sw: int, oh: int, ow: int) -> np.ndarray:
    return xp[:, :, i : i + sh * (oh - 1) + 1 : sh, j : j + sw * (ow - 1) + 1 : sw]


@primitive
def avg_pool2d(
    x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int], padding: tuple[int, int]
) -> np.ndarray:
    """Mean over each ``KH x KW`` window, zero padding included in the count.

    Parameters
    ----------
    x : numpy.ndarray
        ``(B, C, H, W)``.
    kernel, stride, padding : (int, int)
        Window, step and padding per side.

    Returns
    -------
    numpy.ndarray
        ``(B, C, OH, OW)``.
    """
    x = check_numeric_array(x, "x")
    kh, kw, sh, sw, ph, pw, oh, ow = _pool_geometry(x, kernel, stride, padding)
    xp = _pad(x, ph, pw, 0.0)
    out = np.zeros((x.shape[0], x.shape[1], oh, ow), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            out += _slice(xp, i, j, sh, sw, oh, ow)
    out *= out.dtype.type(1.0 / (kh * kw))
    return out


def _avg_pool_vjp(ans, x, kernel, stride, padding):
    kh, kw, sh, sw, ph, pw, oh, ow = _pool_geometry(x, kernel, stride, padding)

    def vjp(g):
        share = g * g.dtype.type(1.0 / (kh * kw))
        dxp = np.zeros((x.shape[0], x.shape[1], x.shape[2] + 2 * ph, x.shape[3] + 2 * pw), x.dtype)
        for i in range(kh):
            for j in range(kw):
                dslice = _slice(dxp, i, j, sh, sw, oh, ow)
                dslice += share
        return dxp[:, :, ph : ph + x.shape[2], pw : pw + x.shape[3]]

    return vjp


defvjp(avg_pool2d, _avg_pool_vjp)


# ------------------------------------------------------------------------------ layers
class Conv2d(Module):
    """2-D convolution layer (see :func:`conv2d`), kernel ``(out, in, KH, KW)``.

    Parameters
    ----------
    in_channels, out_channels : int
        Channel counts.
    kernel_size : int or (int, int)
        Window size.
    stride : int or (int, int)
        Step.
    padding : int or (int, int)
        Zero padding per side.
    bias : bool
        Learn a per-channel bias (initialized to zero).
    init : {"he_uniform", "he_normal", "glorot_uniform", "glorot_normal"}
        Kernel initializer (fans as in :func:`tensornet.nn.init.compute_fans`).
    random_state : None, int or numpy.random.Generator
        Seed.
    dtype : numpy dtype
        Parameter dtype.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        bias: bool = True,
        init: str = "he_uniform",
        random_state: Any = None,
        dtype: Any = np.float32,
    ) -> None:
        super().__init__()
        self.in_channels = check_int(in_channels, "in_channels", minimum=1)
        self.out_channels = check_int(out_channels, "out_channels", minimum=1)
        self.kernel_size = _pair(kernel_size, "kernel_size", 1)
        self.stride = _pair(stride, "stride", 1)
        self.padding = _pair(padding, "padding", 0)
        if init not in ("he_uniform", "he_normal", "glorot_uniform", "glorot_normal"):
            raise ValueError(f"init={init!r} is not a known initializer")
        shape = (self.out_channels, self.in_channels) + self.kernel_size
        rng = check_random_state(random_state)
        self.add_param("weight", getattr(_init, init)(shape, random_state=rng, dtype=dtype))
        if bias:
            self.add_param("bias", np.zeros(self.out_channels, dtype=dtype))

    def forward(self, params: dict[str, Any], x: Any) -> Any:
        """Convolve ``x`` of shape ``(B, in_channels, H, W)``.

        Parameters
        ----------
        params : dict
            ``"weight"`` and optionally ``"bias"``.
        x : array_like
            Input batch.

        Returns
        -------
        array_like
            ``(B, out_channels, OH, OW)``.
        """
        return conv2d(x, params["weight"], params.get("bias"), self.stride, self.padding)

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding}"
        )


class _Pool(Module):
    _op = None

    def __init__(
        self,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] | None = None,
        padding: int | tuple[int, int] = 0,
    ) -> None:
        super().__init__()
        self.kernel_size = _pair(kernel_size, "kernel_size", 1)
        self.stride = self.kernel_size if stride is None else _pair(stride, "stride", 1)
        self.padding = _pair(padding, "padding", 0)
        for axis in range(2):
            if 2 * self.padding[axis] > self.kernel_size[axis]:
                raise ValueError(
                    f"padding={self.padding} must be at most half of kernel_size={self.kernel_size}"
                )

    def forward(self, params: dict[str, Any], x: Any) -> Any:
        """Pool each channel of ``x`` of shape ``(B, C, H, W)``.

        Parameters
        ----------
        params : dict
            Unused.
        x : array_like
            Input batch.

        Returns
        -------
        array_like
            ``(B, C, OH, OW)``.
        """
        if x.ndim != 4:
            raise ValueError(f"{type(self).__name__} expects (B, C, H, W) input, got {x.shape}")
        return type(self)._op(x, self.kernel_size, self.stride, self.padding)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool2d(_Pool):
    """Max pooling (see :func:`max_pool2d`); ``stride`` defaults to ``kernel_size``.

    Parameters
    ----------
    kernel_size : int or (int, int)
        Window size.
    stride : int or (int, int), optional
        Step (default: the window size).
    padding : int or (int, int)
        Implicit ``-inf`` padding per side, at most half the window.
    """

    _op = staticmethod(max_pool2d)


class AvgPool2d(_Pool):
    """Average pooling (see :func:`avg_pool2d`); ``stride`` defaults to ``kernel_size``.

    Parameters
    ----------
    kernel_size : int or (int, int)
        Window size.
    stride : int or (int, int), optional
        Step (default: the window size).
    padding : int or (int, int)
        Zero padding per side (counted in the mean), at most half the window.
    """

    _op = staticmethod(avg_pool2d)
