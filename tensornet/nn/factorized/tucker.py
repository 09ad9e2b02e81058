"""Tucker-2 convolution: 1x1, ``KH x KW``, 1x1 (Kim et al. 2016; survey Sec. II-A.2).

The two channel modes of the kernel ``K`` of shape ``(O, C, KH, KW)`` are compressed, the small
spatial modes kept:

``K[o, c, p, q] = sum_{a < R_in, e < R_out} U_out[o, e] G[e, a, p, q] U_in[c, a]``,

so the convolution is a 1x1 convolution ``C -> R_in`` (``U_in^T``), an ordinary ``KH x KW``
convolution ``R_in -> R_out`` with the core ``G`` (the layer's stride and padding) and a 1x1
convolution ``R_out -> O`` (``U_out``) (Kim, Park, Yoo, Choi, Yang & Shin, ICLR 2016,
"Compression of deep convolutional neural networks for fast and low power mobile applications").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import autograd.numpy as anp
import numpy as np

from ..._validation import check_array, check_ranks
from ...decompositions import tucker2
from ...formats.tucker import TuckerTensor
from ..conv import conv2d
from ._channel_ops import pointwise_conv2d
from .base import (
    FactorizedConv2d,
    check_bias,
    check_rank_bound,
    layer_dtype,
    legacy_layout,
    record_conversion,
    set_param,
)

__all__ = ["TuckerConv2d"]


def _check_tucker_ranks(ranks: Any, c: int, o: int) -> tuple[int, int]:
    r_in, r_out = check_ranks(ranks, 2, "ranks")
    check_rank_bound(r_in, "ranks[0]", c, "in_channels C")
    check_rank_bound(r_out, "ranks[1]", o, "out_channels O")
    return r_in, r_out


class TuckerConv2d(FactorizedConv2d):
    r"""Convolution with a Tucker-2 kernel: 1x1 ``C -> R_in``, ``KH x KW``, 1x1 ``R_out -> O``.

    ``K = G x_0 U_out x_1 U_in`` with ``U_in`` of shape ``(C, R_in)``, core ``G`` of shape
    ``(R_out, R_in, KH, KW)`` and ``U_out`` of shape ``(O, R_out)``.

    Weights ``C R_in + R_in R_out KH KW + R_out O``. Multiply-adds for an input ``(B, C, H, W)``
    and output ``(B, O, OH, OW)``: ``B (H W C R_in + OH OW R_in R_out KH KW + OH OW R_out O)``.

    Parameters
    ----------
    in_channels, out_channels : int
        ``C`` and ``O``.
    kernel_size : int or (int, int)
        ``(KH, KW)``.
    ranks : int or (int, int)
        ``(R_in, R_out)`` in the order the data meets them (an int for both);
        ``R_in <= C``, ``R_out <= O``. (:func:`tensornet.tucker2` takes ``(R_out, R_in)``.)
    stride, padding : int or (int, int)
        Of the core convolution, as for :class:`~tensornet.nn.Conv2d`.
    bias : bool
        Learn a per-channel bias (initialized to zero).
    init : {"he", "glorot", "lecun"}
        Target variance of the kernel, fans ``(C KH KW, O KH KW)``.
    rescale : bool
        After sampling, scale ``U_out`` so that the mean of ``K**2`` equals the target exactly.
    mode : {"auto", "factors", "dense"}
        Forward path.
    random_state : None, int or numpy.random.Generator
        Seed.
    dtype : numpy dtype
        Parameter dtype.

    Notes
    -----
    Initialization: three Gaussian nodes with the same $\sigma$; every kernel entry sums
    $P = R_{\mathrm{in}} R_{\mathrm{out}}$ products of three entries,
    $\operatorname{Var}(K) = R_{\mathrm{in}} R_{\mathrm{out}} \sigma^6$, so
    $\sigma = \big(V_{\mathrm{target}} / (R_{\mathrm{in}} R_{\mathrm{out}})\big)^{1/6}$ with
    $V_{\mathrm{target}} = 2 / (C \, K_H K_W)$ for He.

    Examples
    --------
    >>> layer = TuckerConv2d(16, 32, 3, ranks=(4, 8), padding=1, random_state=0)
    >>> layer.n_params
    640
    """

    @legacy_layout("in_channels", "out_channels", "kernel_size", "ranks", "stride", "padding")
    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        ranks: int | tuple[int, int],
        *,
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        bias: bool = True,
        init: str = "he",
        rescale: bool = False,
        mode: str = "auto",
        random_state: Any = None,
        dtype: Any = np.float32,
    ) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, mode)
        c, o = self.in_channels, self.out_channels
        self.ranks = r_in, r_out = _check_tucker_ranks(ranks, c, o)
        kh, kw = self.kernel_size
        shapes = {"U_in": (c, r_in), "core": (r_out, r_in, kh, kw), "U_out": (o, r_out)}
        self.init_factors(
            shapes, r_in * r_out, init=init, random_state=random_state, dtype=dtype, bias=bias,
            rescale="U_out" if rescale else None,
        )  # fmt: skip

    @classmethod
    def from_weight(
        cls,
        weight: np.ndarray,
        bias: np.ndarray | None = None,
        *,
        ranks: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        mode: str = "auto",
        dtype: Any = None,
        n_iter_max: int = 100,
        tol: float = 1e-8,
    ) -> TuckerConv2d:
        """Layer from the Tucker-2 (HOOI on the channel modes) of a trained kernel (pre-train).

        Parameters
        ----------
        weight : array_like, shape (O, C, KH, KW)
            The dense kernel.
        bias : array_like, optional
            The dense bias ``(O,)``.
        ranks : int or (int, int)
            ``(R_in, R_out)``; ``(C, O)`` is exact.
        stride, padding : int or (int, int)
            Of the dense layer.
        mode : {"auto", "factors", "dense"}
            Forward path.
        dtype : numpy dtype, optional
            Parameter dtype (default: the weight's).
        n_iter_max, tol
            Passed to :func:`tensornet.tucker2`.

        Returns
        -------
        TuckerConv2d
            Orthonormal ``U_in``, ``U_out``; the core carries the scale.
            ``decomposition_info`` holds the HOOI report and ``weight_rel_error``.
        """
        w = check_array(weight, "weight", ndim=4)
        dtype = layer_dtype(w, dtype)
        o, c, kh, kw = w.shape
        r_in, r_out = _check_tucker_ranks(ranks, c, o)
        b = check_bias(bias, o, dtype)
        tk = tucker2(w.astype(np.float64), (r_out, r_in), n_iter_max=n_iter_max, tol=tol)
        layer = cls(
            c,
            o,
            (kh, kw),
            (r_in, r_out),
            stride=stride,
            padding=padding,
            bias=b is not None,
            mode=mode,
            random_state=0,
            rescale=False,
            dtype=dtype,
        )
        set_param(layer, "U_out", tk.factors[0], dtype)
        set_param(layer, "U_in", tk.factors[1], dtype)
        set_param(layer, "core", tk.core, dtype)
        if b is not None:
            set_param(layer, "bias", b, dtype)
        return record_conversion(layer, w, tk.info)

    def dense_weight(self, params: dict[str, Any]) -> Any:
        """``G x_0 U_out x_1 U_in``, shape ``(O, C, KH, KW)``."""
        o, c, kh, kw = self.weight_shape
        r_in, r_out = self.ranks
        core = anp.reshape(anp.transpose(params["core"], (1, 0, 2, 3)), (r_in, r_out * kh * kw))
        half = anp.dot(params["U_in"], core)  # (C, R_out KH KW)
        half = anp.reshape(
            anp.transpose(anp.reshape(half, (c, r_out, kh * kw)), (1, 0, 2)), (r_out, c * kh * kw)
        )
        return anp.reshape(anp.dot(params["U_out"], half), (o, c, kh, kw))

    def forward_factors(self, params: dict[str, Any], x: Any) -> Any:
        """1x1 ``C -> R_in``, ``KH x KW`` core convolution, 1x1 ``R_out -> O`` + bias."""
        z = pointwise_conv2d(x, anp.transpose(params["U_in"]))
        z = conv2d(z, params["core"], None, self.stride, self.padding)
        return pointwise_conv2d(z, params["U_out"], params.get("bias"))

    def factor_flops(self, input_shape: Sequence[int]) -> int:
        """``B (H W C R_in + OH OW R_in R_out KH KW + OH OW R_out O)`` (survey Table III)."""
        o, c, kh, kw = self.weight_shape
        r_in, r_out = self.ranks
        b, h, w = int(input_shape[0]), int(input_shape[2]), int(input_shape[3])
        oh, ow = self.output_size(input_shape)
        return b * (h * w * c * r_in + oh * ow * r_in * r_out * kh * kw + oh * ow * r_out * o)

    def factor_activations(self, input_shape: Sequence[int]) -> int:
        """``B H W R_in``, the core convolution's patches and output, and the output."""
        o, _, kh, kw = self.weight_shape
        r_in, r_out = self.ranks
        b, h, w = int(input_shape[0]), int(input_shape[2]), int(input_shape[3])
        oh, ow = self.output_size(input_shape)
        return b * h * w * r_in + b * oh * ow * (r_in * kh * kw + r_out + o)

    def reconstruction_flops(self) -> int:
        """``C R_in R_out KH KW + O R_out C KH KW``."""
        o, c, kh, kw = self.weight_shape
        r_in, r_out = self.ranks
        return c * r_in * r_out * kh * kw + o * r_out * c * kh * kw

    def to_format(self) -> TuckerTensor:
        """The kernel as a Tucker-2 :class:`~tensornet.formats.TuckerTensor` of shape
        ``(O, C, KH, KW)``: core ``G``, factors ``U_out``, ``U_in`` and the identity on the
        spatial modes; ``full()`` is :meth:`weight`.

        Returns
        -------
        TuckerTensor
        """
        p = self.param_copies()
        return TuckerTensor(p["core"], [p["U_out"], p["U_in"], None, None])

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"ranks={self.ranks}, stride={self.stride}, padding={self.padding}, "
            f"mode={self.mode!r}"
        )
