"""CP convolution: four consecutive convolutions from a rank-``R`` CP kernel (Lebedev et al. 2015).

The kernel ``K`` of shape ``(O, C, KH, KW)`` is a sum of ``R`` rank-one terms (survey eq. (4)),

``K[o, c, p, q] = sum_r U_out[o, r] U_in[c, r] U_h[p, r] U_w[q, r]``,

so the convolution ``y = K * x`` factors into (Lebedev, Ganin, Rakhuba, Oseledets & Lempitsky,
ICLR 2015, "Speeding-up convolutional neural networks using fine-tuned CP-decomposition"):

1. a 1x1 convolution ``C -> R`` with ``U_in^T``;
2. a depthwise ``KH x 1`` convolution of each of the ``R`` channels with its column of ``U_h``
   (vertical stride and padding);
3. a depthwise ``1 x KW`` convolution with ``U_w`` (horizontal stride and padding);
4. a 1x1 convolution ``R -> O`` with ``U_out``, plus the bias.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import autograd.numpy as anp
import numpy as np

from ..._validation import check_array
from ...decompositions import cp_als
from ...formats.cp import CPTensor
from ._channel_ops import depthwise_conv2d, pointwise_conv2d
from .base import (
    FactorizedConv2d,
    check_bias,
    check_rank_bound,
    layer_dtype,
    legacy_layout,
    record_conversion,
    set_param,
)

__all__ = ["CPConv2d"]

_NAMES = ("U_out", "U_in", "U_h", "U_w")


def max_cp_rank(shape: Sequence[int]) -> int:
    """``min_k prod_{l != k} I_l``: every tensor of ``shape`` has an exact CP of this rank."""
    total = math.prod(shape)
    return min(total // n for n in shape)


def exact_cp_factors(kernel: np.ndarray) -> list[np.ndarray]:
    """An exact CP of rank :func:`max_cp_rank`: the unfolding along the largest mode times
    indicator factors that enumerate the multi-indices of the other modes."""
    k = int(np.argmax(kernel.shape))
    others = [n for i, n in enumerate(kernel.shape) if i != k]
    r = math.prod(others)
    unfolding = np.moveaxis(kernel, k, 0).reshape(kernel.shape[k], r)
    grid = np.unravel_index(np.arange(r), others)
    factors, j = [], 0
    for i, n in enumerate(kernel.shape):
        if i == k:
            factors.append(unfolding)
        else:
            ind = np.zeros((n, r))
            ind[grid[j], np.arange(r)] = 1.0
            factors.append(ind)
            j += 1
    return factors


def balance_cp(weights: np.ndarray, factors: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Fold the CP weights into the factors so all four have the same column norms.

    Column ``r`` of every factor gets norm ``(|w_r| prod_k ||a_r^(k)||)^(1/4)``; the sign of
    ``w_r`` goes to the first factor. The product of the four columns is unchanged.
    """
    norms = [np.linalg.norm(f, axis=0) for f in factors]
    scale = np.abs(weights) * np.prod(norms, axis=0)
    target = scale ** (1.0 / len(factors))
    out = []
    for i, (f, n) in enumerate(zip(factors, norms, strict=True)):
        safe = np.where(n > 0, n, 1.0)
        g = f / safe * target
        if i == 0:
            g = g * np.where(weights < 0, -1.0, 1.0)
        out.append(g)
    return out


class CPConv2d(FactorizedConv2d):
    r"""Convolution whose kernel is a rank-``R`` CP tensor: four consecutive convolutions.

    ``K[o, c, p, q] = sum_r U_out[o, r] U_in[c, r] U_h[p, r] U_w[q, r]`` (Lebedev et al. 2015;
    survey Sec. II-A.3 applied to networks). The forward pass is a 1x1 convolution ``C -> R``,
    a depthwise ``KH x 1`` and a depthwise ``1 x KW`` convolution over the ``R`` channels and a
    1x1 convolution ``R -> O``.

    Weights ``R (C + KH + KW + O)``. Multiply-adds for an input ``(B, C, H, W)`` and output
    ``(B, O, OH, OW)``: ``B R (H W C + OH W KH + OH OW KW + OH OW O)``.

    Parameters
    ----------
    in_channels, out_channels : int
        ``C`` and ``O``.
    kernel_size : int or (int, int)
        ``(KH, KW)``.
    rank : int
        The CP rank ``R``, at most ``min_k prod_{l != k} I_l`` over the kernel's modes
        ``(O, C, KH, KW)`` (every kernel has an exact CP of that rank).
    stride, padding : int or (int, int)
        As for :class:`~tensornet.nn.Conv2d` (vertical parts go to the ``KH x 1`` step,
        horizontal parts to the ``1 x KW`` step).
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
    Initialization: four Gaussian factors with the same $\sigma$; every kernel entry sums
    $P = R$ products of four entries, $\operatorname{Var}(K) = R \sigma^8$, so
    $\sigma = (V_{\mathrm{target}} / R)^{1/8}$ with $V_{\mathrm{target}} = 2 / (C \, K_H K_W)$
    for He.

    Lebedev et al. fine-tune a decomposed trained kernel; CP layers are known to be sensitive to
    the learning rate (CP degeneracy), see the guide page.

    Examples
    --------
    >>> layer = CPConv2d(16, 32, 3, rank=8, padding=1, random_state=0)
    >>> layer.n_params
    464
    >>> layer.weight().shape
    (32, 16, 3, 3)
    """

    @legacy_layout("in_channels", "out_channels", "kernel_size", "rank", "stride", "padding")
    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        rank: int,
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
        bound = max_cp_rank(self.weight_shape)
        self.rank = r = check_rank_bound(
            rank, "rank", bound, f"min_k prod_(l != k) I_l for the kernel {self.weight_shape}"
        )
        shapes = {name: (n, r) for name, n in zip(_NAMES, self.weight_shape, strict=True)}
        self.init_factors(
            shapes, r, init=init, random_state=random_state, dtype=dtype, bias=bias,
            rescale="U_out" if rescale else None,
        )  # fmt: skip

    @classmethod
    def from_weight(
        cls,
        weight: np.ndarray,
        bias: np.ndarray | None = None,
        *,
        rank: int,
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        mode: str = "auto",
        dtype: Any = None,
        n_iter_max: int = 200,
        tol: float = 1e-8,
        random_state: Any = None,
    ) -> CPConv2d:
        """Layer from a rank-``R`` CP of a trained kernel (pre-train, :func:`tensornet.cp_als`).

        The CP weights are folded into the four factors with equal column norms. At
        ``rank = min_k prod_{l != k} I_l`` the exact CP (an unfolding times indicator factors)
        is used instead of ALS, so the conversion is exact.

        Parameters
        ----------
        weight : array_like, shape (O, C, KH, KW)
            The dense kernel.
        bias : array_like, optional
            The dense bias ``(O,)``.
        rank : int
            The CP rank ``R``.
        stride, padding : int or (int, int)
            Of the dense layer.
        mode : {"auto", "factors", "dense"}
            Forward path.
        dtype : numpy dtype, optional
            Parameter dtype (default: the weight's).
        n_iter_max, tol, random_state
            Passed to :func:`tensornet.cp_als` (SVD start).

        Returns
        -------
        CPConv2d
            ``decomposition_info`` holds the ALS report and ``weight_rel_error``.
        """
        w = check_array(weight, "weight", ndim=4)
        dtype = layer_dtype(w, dtype)
        o, c, kh, kw = w.shape
        bound = max_cp_rank(w.shape)
        r = check_rank_bound(rank, "rank", bound, f"min_k prod_(l != k) I_l for {w.shape}")
        b = check_bias(bias, o, dtype)
        w64 = w.astype(np.float64)
        if r == bound:
            weights, factors, info = np.ones(r), exact_cp_factors(w64), {"rel_error": 0.0}
        else:
            cp = cp_als(w64, r, n_iter_max=n_iter_max, tol=tol, random_state=random_state)
            weights, factors, info = cp.weights, cp.factors, dict(cp.info)
        layer = cls(
            c,
            o,
            (kh, kw),
            r,
            stride=stride,
            padding=padding,
            bias=b is not None,
            mode=mode,
            random_state=0,
            rescale=False,
            dtype=dtype,
        )
        for name, f in zip(_NAMES, balance_cp(weights, factors), strict=True):
            set_param(layer, name, f, dtype)
        if b is not None:
            set_param(layer, "bias", b, dtype)
        return record_conversion(layer, w, info)

    def dense_weight(self, params: dict[str, Any]) -> Any:
        """``sum_r U_out[:, r] o U_in[:, r] o U_h[:, r] o U_w[:, r]``, shape ``(O, C, KH, KW)``."""
        o, c, kh, kw = self.weight_shape
        r = self.rank
        hw = anp.reshape(params["U_h"][:, None, :] * params["U_w"][None, :, :], (kh * kw, r))
        chw = anp.reshape(params["U_in"][:, None, :] * hw[None, :, :], (c * kh * kw, r))
        return anp.reshape(anp.dot(params["U_out"], anp.transpose(chw)), (o, c, kh, kw))

    def forward_factors(self, params: dict[str, Any], x: Any) -> Any:
        """1x1 ``C -> R``, depthwise ``KH x 1``, depthwise ``1 x KW``, 1x1 ``R -> O`` + bias."""
        (sh, sw), (ph, pw) = self.stride, self.padding
        z = pointwise_conv2d(x, anp.transpose(params["U_in"]))
        z = depthwise_conv2d(z, anp.transpose(params["U_h"])[:, :, None], (sh, 1), (ph, 0))
        z = depthwise_conv2d(z, anp.transpose(params["U_w"])[:, None, :], (1, sw), (0, pw))
        return pointwise_conv2d(z, params["U_out"], params.get("bias"))

    def factor_flops(self, input_shape: Sequence[int]) -> int:
        """``B R (H W C + OH W KH + OH OW KW + OH OW O)`` (survey Table III, CP)."""
        o, c, kh, kw = self.weight_shape
        b, h, w = int(input_shape[0]), int(input_shape[2]), int(input_shape[3])
        oh, ow = self.output_size(input_shape)
        return b * self.rank * (h * w * c + oh * w * kh + oh * ow * kw + oh * ow * o)

    def factor_activations(self, input_shape: Sequence[int]) -> int:
        """``B R`` times the three intermediate planes (and the two padded copies the depthwise
        convolutions read), plus the output."""
        o = self.out_channels
        b, h, w = int(input_shape[0]), int(input_shape[2]), int(input_shape[3])
        oh, ow = self.output_size(input_shape)
        (ph, pw) = self.padding
        planes = h * w + (h + 2 * ph) * w + oh * w + oh * (w + 2 * pw) + oh * ow
        return b * self.rank * planes + b * o * oh * ow

    def reconstruction_flops(self) -> int:
        """``R (KH KW + C KH KW + O C KH KW)``."""
        o, c, kh, kw = self.weight_shape
        return self.rank * (kh * kw + c * kh * kw + o * c * kh * kw)

    def to_format(self) -> CPTensor:
        """The kernel as a rank-``R`` :class:`~tensornet.formats.CPTensor` of shape
        ``(O, C, KH, KW)`` with factors ``U_out, U_in, U_h, U_w``; ``full()`` is :meth:`weight`.

        Returns
        -------
        CPTensor
        """
        p = self.param_copies()
        return CPTensor(None, [p[name] for name in _NAMES])

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"rank={self.rank}, stride={self.stride}, padding={self.padding}, mode={self.mode!r}"
        )
