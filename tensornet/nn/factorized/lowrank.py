"""Low-rank (truncated SVD) linear and convolution layers (survey Sec. II-A.1 applied to networks).

A rank-``R`` factorization ``W = U V`` replaces one product by two thinner ones. For a linear
layer ``W`` is the ``(in, out)`` weight itself. A convolution kernel ``K`` of shape
``(O, C, KH, KW)`` is first reshaped into a matrix, in one of the two ways the survey lists
(Jaderberg, Vedaldi & Zisserman 2014; Zhang et al. 2015):

* ``scheme="channel"`` (``S x CHW``): ``K -> (O, C*KH*KW)``; a ``KH x KW`` convolution with
  ``R`` filters followed by a 1x1 convolution ``R -> O``.
* ``scheme="spatial"`` (``SH x CW``, here ``CH x OW``): ``K -> (C*KH, O*KW)``; a ``KH x 1``
  convolution ``C -> R`` followed by a ``1 x KW`` convolution ``R -> O`` (Jaderberg et al.'s
  vertical-then-horizontal filters).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import autograd.numpy as anp
import numpy as np

from ..._validation import check_array, check_option
from ...decompositions import truncated_svd
from ...formats.cp import CPTensor
from ..conv import conv2d
from ..layers import linear
from ._channel_ops import pointwise_conv2d
from .base import (
    FactorizedConv2d,
    FactorizedLinear,
    check_bias,
    check_rank_bound,
    layer_dtype,
    legacy_layout,
    record_conversion,
    set_param,
)

__all__ = ["LowRankLinear", "LowRankConv2d"]

SCHEMES = ("channel", "spatial")


def _balanced_split(u: np.ndarray, s: np.ndarray, vt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(U sqrt(s), sqrt(s) Vt)``: the singular values shared equally by the two factors."""
    root = np.sqrt(s)
    return u * root, root[:, None] * vt


class LowRankLinear(FactorizedLinear):
    r"""Linear layer with a rank-``R`` weight ``W = U V`` (or ``U diag(s) V``), survey eq. (1).

    ``y = (x U) V + b`` costs ``B R (N + M)`` multiply-adds instead of ``B N M`` and stores
    ``R (N + M)`` weights (``+ R`` with ``diag``); it compresses when ``R < N M / (N + M)``.

    Choice of form: two factors by default. The middle diagonal of the SVD adds ``R`` weights and
    a redundant scale per component (``U diag(s) V`` is unchanged by ``U -> U D``,
    ``s -> D^-1 s``), so :meth:`from_weight` splits ``s`` equally, ``U = Q sqrt(s)``,
    ``V = sqrt(s) T^T``, which keeps both factors on the same scale for fine-tuning.
    ``diag=True`` keeps the SVD form ``U diag(s) V`` (orthonormal factors after conversion).

    Parameters
    ----------
    in_features, out_features : int
        Size ``N`` of the input and ``M`` of the output.
    rank : int
        The rank ``R``, ``1 <= R <= min(N, M)``.
    diag : bool
        Store the middle diagonal ``s`` as a parameter (initialized to ones).
    bias : bool
        Learn an additive bias (initialized to zero).
    init : {"he", "glorot", "lecun"}
        Target variance of ``W`` (:func:`~tensornet.nn.factorized.target_variance`).
    rescale : bool
        After sampling, scale ``V`` so that the mean of ``W**2`` equals the target exactly.
    mode : {"auto", "factors", "dense"}
        Forward path (see :class:`~tensornet.nn.factorized.FactorizedLayer`).
    random_state : None, int or numpy.random.Generator
        Seed of the initialization.
    dtype : numpy dtype
        Parameter dtype.

    Notes
    -----
    Initialization: $U$ and $V$ are zero-mean Gaussian with the same standard deviation
    $\sigma$; every entry of $W$ sums $P = R$ products of two of them, so
    $\operatorname{Var}(W) = R \sigma^4$ and $\sigma = (V_{\mathrm{target}} / R)^{1/4}$, with
    $V_{\mathrm{target}} = 2 / N$ for He ($s = 1$ when ``diag``).

    Examples
    --------
    >>> import numpy as np
    >>> layer = LowRankLinear(784, 300, rank=20, random_state=0)
    >>> layer.n_params
    21980
    >>> layer(np.ones((2, 784), np.float32)).shape
    (2, 300)
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        rank: int,
        *,
        diag: bool = False,
        bias: bool = True,
        init: str = "he",
        rescale: bool = False,
        mode: str = "auto",
        random_state: Any = None,
        dtype: Any = np.float32,
    ) -> None:
        super().__init__(in_features, out_features, mode)
        n, m = self.in_features, self.out_features
        self.rank = check_rank_bound(rank, "rank", min(n, m), "min(in_features, out_features)")
        self.diag = bool(diag)
        shapes = {"U": (n, self.rank), "s": np.ones(self.rank, dtype=dtype), "V": (self.rank, m)}
        if not self.diag:
            del shapes["s"]
        self.init_factors(
            shapes, self.rank, init=init, random_state=random_state, dtype=dtype, bias=bias,
            rescale="V" if rescale else None,
        )  # fmt: skip

    @classmethod
    def from_weight(
        cls,
        weight: np.ndarray,
        bias: np.ndarray | None = None,
        *,
        rank: int | None = None,
        eps: float | None = None,
        diag: bool = False,
        mode: str = "auto",
        dtype: Any = None,
    ) -> LowRankLinear:
        """Layer from the truncated SVD of a trained weight (pre-train, Eckart-Young optimal).

        Parameters
        ----------
        weight : array_like, shape (in_features, out_features)
            The dense weight, :class:`~tensornet.nn.Linear`'s layout.
        bias : array_like, optional
            The dense bias ``(out_features,)``; no bias parameter when ``None``.
        rank : int, optional
            Rank kept (``<= min(in, out)``); with neither ``rank`` nor ``eps`` the full rank.
        eps : float, optional
            Relative Frobenius error bound (:func:`tensornet.truncated_svd`).
        diag : bool
            Keep ``U diag(s) V`` (orthonormal ``U``, ``V``); else ``s`` is split as square
            roots into both factors.
        mode : {"auto", "factors", "dense"}
            Forward path.
        dtype : numpy dtype, optional
            Parameter dtype (default: the weight's).

        Returns
        -------
        LowRankLinear
            ``decomposition_info["weight_rel_error"]`` is ``||weight() - W||_F / ||W||_F``.
        """
        w = check_array(weight, "weight", ndim=2)
        dtype = layer_dtype(w, dtype)
        n, m = w.shape
        if rank is not None:
            check_rank_bound(rank, "rank", min(n, m), f"min{w.shape} of the weight")
        b = check_bias(bias, m, dtype)
        u, s, vt = truncated_svd(w.astype(np.float64), rank=rank, eps=eps)
        layer = cls(
            n,
            m,
            len(s),
            diag=diag,
            bias=b is not None,
            mode=mode,
            dtype=dtype,
            random_state=0,
            rescale=False,
        )
        if diag:
            set_param(layer, "U", u, dtype)
            set_param(layer, "s", s, dtype)
            set_param(layer, "V", vt, dtype)
        else:
            left, right = _balanced_split(u, s, vt)
            set_param(layer, "U", left, dtype)
            set_param(layer, "V", right, dtype)
        if b is not None:
            set_param(layer, "bias", b, dtype)
        return record_conversion(layer, w)

    def dense_weight(self, params: dict[str, Any]) -> Any:
        """``U V`` (or ``U diag(s) V``), shape ``(in_features, out_features)``."""
        u = params["U"] * params["s"] if self.diag else params["U"]
        return anp.dot(u, params["V"])

    def forward_factors(self, params: dict[str, Any], x: Any) -> Any:
        """``(x U) V + b``: two GEMMs (``B R (N + M)`` multiply-adds)."""
        h = linear(x, params["U"])
        if self.diag:
            h = h * params["s"]
        return linear(h, params["V"], params.get("bias"))

    def factor_flops(self, input_shape: Sequence[int]) -> int:
        """``B R (N + M)`` (``+ B R`` for the diagonal)."""
        b = int(input_shape[0])
        return b * self.rank * (self.in_features + self.out_features + int(self.diag))

    def reconstruction_flops(self) -> int:
        """``N R M`` (``+ N R`` for the diagonal)."""
        n, m, r = self.in_features, self.out_features, self.rank
        return n * r * m + (n * r if self.diag else 0)

    def to_format(self) -> CPTensor:
        """The weight as a rank-``R`` :class:`~tensornet.formats.CPTensor` of shape ``(N, M)``.

        CP is the natural format of a low-rank matrix: ``U V = sum_r u_r ∘ v_r`` is an order-2
        CP of rank ``R`` with factors ``U`` and ``V^T``, and the SVD's ``s`` (``diag=True``)
        is its weight vector; a Tucker form would need an ``R x R`` core that is diagonal.

        Returns
        -------
        CPTensor
            ``full()`` equals :meth:`weight`.
        """
        p = self.param_copies()
        return CPTensor(p.get("s"), [p["U"], p["V"].T])

    def extra_repr(self) -> str:
        return (
            f"{self.in_features}, {self.out_features}, rank={self.rank}, diag={self.diag}, "
            f"mode={self.mode!r}"
        )


class LowRankConv2d(FactorizedConv2d):
    r"""Convolution with a low-rank kernel: two consecutive convolutions (survey Sec. II-A.1).

    ``scheme="channel"`` (``S x CHW``): ``K[o, c, p, q] = sum_r V[o, r] U[r, c, p, q]``; a
    ``KH x KW`` convolution with the ``R`` filters ``U`` (the layer's stride and padding) then
    the 1x1 convolution ``V``. Weights ``R (C KH KW + O)``; multiply-adds
    ``B OH OW R (C KH KW + O)``; ``R <= min(O, C KH KW)``.

    ``scheme="spatial"`` (``SH x CW``, Jaderberg et al. 2014):
    ``K[o, c, p, q] = sum_r V[o, r, 0, q] U[r, c, p, 0]``; a ``KH x 1`` convolution ``C -> R``
    (vertical stride and padding) then a ``1 x KW`` convolution ``R -> O`` (horizontal stride and
    padding). Weights ``R (C KH + O KW)``; multiply-adds
    ``B OH (W C KH R + OW O KW R)`` for an input of width ``W``; ``R <= min(C KH, O KW)``.

    Parameters
    ----------
    in_channels, out_channels : int
        ``C`` and ``O``.
    kernel_size : int or (int, int)
        ``(KH, KW)``.
    rank : int
        The rank ``R``.
    stride, padding : int or (int, int)
        As for :class:`~tensornet.nn.Conv2d`.
    scheme : {"channel", "spatial"}
        Which matricization of the kernel is factorized.
    bias : bool
        Learn a per-channel bias (initialized to zero).
    init : {"he", "glorot", "lecun"}
        Target variance of the kernel, fans ``(C KH KW, O KH KW)``.
    rescale : bool
        After sampling, scale ``V`` so that the mean of ``K**2`` equals the target exactly.
    mode : {"auto", "factors", "dense"}
        Forward path.
    random_state : None, int or numpy.random.Generator
        Seed.
    dtype : numpy dtype
        Parameter dtype.

    Notes
    -----
    Initialization (both schemes): two Gaussian factors with the same $\sigma$ and $P = R$
    summed products, $\operatorname{Var}(K) = R \sigma^4$, so
    $\sigma = (V_{\mathrm{target}} / R)^{1/4}$ with $V_{\mathrm{target}} = 2 / (C \, K_H K_W)$
    for He.

    Examples
    --------
    >>> layer = LowRankConv2d(16, 32, 3, rank=8, padding=1, scheme="spatial", random_state=0)
    >>> layer.weight().shape
    (32, 16, 3, 3)
    >>> layer.n_params
    1184
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
        scheme: str = "channel",
        bias: bool = True,
        init: str = "he",
        rescale: bool = False,
        mode: str = "auto",
        random_state: Any = None,
        dtype: Any = np.float32,
    ) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, mode)
        c, o = self.in_channels, self.out_channels
        self.scheme = check_option(scheme, "scheme", SCHEMES)
        kh, kw = self.kernel_size
        if self.scheme == "channel":
            bound, what = min(o, c * kh * kw), "min(O, C*KH*KW) for the channel scheme"
        else:
            bound, what = min(c * kh, o * kw), "min(C*KH, O*KW) for the spatial scheme"
        self.rank = r = check_rank_bound(rank, "rank", bound, what)
        u_shape, v_shape = self._factor_shapes()
        self.init_factors(
            {"U": u_shape, "V": v_shape}, r, init=init, random_state=random_state, dtype=dtype,
            bias=bias, rescale="V" if rescale else None,
        )  # fmt: skip

    def _factor_shapes(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        o, c, kh, kw = self.weight_shape
        r = self.rank
        if self.scheme == "channel":
            return (r, c, kh, kw), (o, r)
        return (r, c, kh, 1), (o, r, 1, kw)

    @classmethod
    def from_weight(
        cls,
        weight: np.ndarray,
        bias: np.ndarray | None = None,
        *,
        rank: int | None = None,
        eps: float | None = None,
        scheme: str = "channel",
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        mode: str = "auto",
        dtype: Any = None,
    ) -> LowRankConv2d:
        """Layer from the truncated SVD of the matricized kernel (pre-train).

        Parameters
        ----------
        weight : array_like, shape (O, C, KH, KW)
            The dense kernel, :class:`~tensornet.nn.Conv2d`'s layout.
        bias : array_like, optional
            The dense bias ``(O,)``.
        rank : int, optional
            Rank kept; with neither ``rank`` nor ``eps`` the full rank of the matricization.
        eps : float, optional
            Relative Frobenius error bound on the kernel.
        scheme : {"channel", "spatial"}
            ``K -> (O, C KH KW)`` or ``K -> (C KH, O KW)``.
        stride, padding : int or (int, int)
            Of the dense layer.
        mode : {"auto", "factors", "dense"}
            Forward path.
        dtype : numpy dtype, optional
            Parameter dtype (default: the weight's).

        Returns
        -------
        LowRankConv2d
            ``decomposition_info["weight_rel_error"]`` is ``||weight() - K||_F / ||K||_F``.
        """
        w = check_array(weight, "weight", ndim=4)
        dtype = layer_dtype(w, dtype)
        check_option(scheme, "scheme", SCHEMES)
        o, c, kh, kw = w.shape
        w64 = w.astype(np.float64)
        if scheme == "channel":
            mat = w64.reshape(o, c * kh * kw)
        else:
            mat = w64.transpose(1, 2, 0, 3).reshape(c * kh, o * kw)
        if rank is not None:
            check_rank_bound(
                rank,
                "rank",
                min(mat.shape),
                f"min{mat.shape} of the {scheme} matricization of the weight",
            )
        b = check_bias(bias, o, dtype)
        u, s, vt = truncated_svd(mat, rank=rank, eps=eps)
        left, right = _balanced_split(u, s, vt)
        r = len(s)
        layer = cls(
            c,
            o,
            (kh, kw),
            r,
            stride=stride,
            padding=padding,
            scheme=scheme,
            bias=b is not None,
            mode=mode,
            random_state=0,
            rescale=False,
            dtype=dtype,
        )
        if scheme == "channel":
            set_param(layer, "U", right.reshape(r, c, kh, kw), dtype)
            set_param(layer, "V", left, dtype)
        else:
            set_param(layer, "U", left.T.reshape(r, c, kh, 1), dtype)
            set_param(layer, "V", right.reshape(r, o, 1, kw).transpose(1, 0, 2, 3), dtype)
        if b is not None:
            set_param(layer, "bias", b, dtype)
        return record_conversion(layer, w)

    def dense_weight(self, params: dict[str, Any]) -> Any:
        """The kernel ``(O, C, KH, KW)`` from ``U`` and ``V``."""
        o, c, kh, kw = self.weight_shape
        r = self.rank
        u, v = params["U"], params["V"]
        if self.scheme == "channel":
            return anp.reshape(anp.dot(v, anp.reshape(u, (r, c * kh * kw))), (o, c, kh, kw))
        left = anp.reshape(u, (r, c * kh))
        right = anp.reshape(anp.transpose(v, (1, 0, 2, 3)), (r, o * kw))
        mat = anp.dot(anp.transpose(left), right)
        return anp.transpose(anp.reshape(mat, (c, kh, o, kw)), (2, 0, 1, 3))

    def forward_factors(self, params: dict[str, Any], x: Any) -> Any:
        """The two convolutions (channel: ``KH x KW`` then 1x1; spatial: ``KH x 1`` then
        ``1 x KW``), bias added by the second."""
        bias = params.get("bias")
        if self.scheme == "channel":
            z = conv2d(x, params["U"], None, self.stride, self.padding)
            return pointwise_conv2d(z, params["V"], bias)
        (sh, sw), (ph, pw) = self.stride, self.padding
        z = conv2d(x, params["U"], None, (sh, 1), (ph, 0))
        return conv2d(z, params["V"], bias, (1, sw), (0, pw))

    def factor_flops(self, input_shape: Sequence[int]) -> int:
        """Channel: ``B OH OW R (C KH KW + O)``; spatial: ``B OH (W C KH + OW O KW) R``."""
        o, c, kh, kw = self.weight_shape
        b, width = int(input_shape[0]), int(input_shape[3])
        oh, ow = self.output_size(input_shape)
        if self.scheme == "channel":
            return b * oh * ow * self.rank * (c * kh * kw + o)
        return b * oh * self.rank * (width * c * kh + ow * o * kw)

    def factor_activations(self, input_shape: Sequence[int]) -> int:
        """Channel: patches ``C KH KW``, ``R`` and ``O`` per output position; spatial: each of
        the two convolutions' patches and output."""
        o, c, kh, kw = self.weight_shape
        b, width, r = int(input_shape[0]), int(input_shape[3]), self.rank
        oh, ow = self.output_size(input_shape)
        if self.scheme == "channel":
            return b * oh * ow * (c * kh * kw + r + o)
        return b * oh * width * (c * kh + r) + b * oh * ow * (r * kw + o)

    def reconstruction_flops(self) -> int:
        """``O C KH KW R`` (one matrix product, either scheme)."""
        return math.prod(self.weight_shape) * self.rank

    def to_format(self) -> CPTensor:
        """The matricized kernel as a rank-``R`` :class:`~tensornet.formats.CPTensor`.

        As for :meth:`LowRankLinear.to_format`, an order-2 CP (a sum of ``R`` outer products).
        ``scheme="channel"``: shape ``(O, C KH KW)``, factors ``V`` and ``U`` flattened, so
        ``full().reshape(O, C, KH, KW)`` is :meth:`weight`. ``scheme="spatial"``: shape
        ``(C KH, O KW)``, so ``full().reshape(C, KH, O, KW).transpose(2, 0, 1, 3)`` is
        :meth:`weight`.

        Returns
        -------
        CPTensor
        """
        p, r = self.param_copies(), self.rank
        if self.scheme == "channel":
            return CPTensor(None, [p["V"], p["U"].reshape(r, -1).T])
        right = p["V"].transpose(1, 0, 2, 3).reshape(r, -1)
        return CPTensor(None, [p["U"].reshape(r, -1).T, right.T])

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"rank={self.rank}, stride={self.stride}, padding={self.padding}, "
            f"scheme={self.scheme!r}, mode={self.mode!r}"
        )
