"""Kronecker-product layers: KPLinear (KPD, Thakker et al. 2019) and GKPConv2d (survey eq. 13).

KPLinear
--------
``W = sum_{r<R} A_r ⊗ B_r`` with ``A_r`` of shape ``(m_1, n_1)`` and ``B_r`` of shape
``(m_2, n_2)``, so ``W[(i_1 m_2 + i_2), (j_1 n_2 + j_2)] = sum_r A_r[i_1, j_1] B_r[i_2, j_2]``
(``N = m_1 m_2`` inputs, ``M = n_1 n_2`` outputs, Linear layout ``(in, out)``). The product
``x W`` never forms the Kronecker product: with ``X_b = x_b.reshape(m_1, m_2)``,
``y_b = vec(sum_r A_r^T X_b B_r)`` (Van Loan's identity), i.e. two GEMMs over the batch:
``B`` first (``B R m_1 m_2 n_2`` multiply-adds, then ``B R m_1 n_1 n_2``) or ``A`` first
(``B R m_1 m_2 n_1 + B R m_2 n_1 n_2``), whichever is cheaper. Parameters ``R (m_1 n_1 + m_2 n_2)``.

GKPConv2d
---------
The kernel ``K`` of shape ``(F, C, KH, KW)`` is ``sum_r A_r ⊗ B_r`` with the multidimensional
Kronecker product (survey eq. 11-13; Hameed et al. 2022): ``A_r`` of shape
``(F_1, C_1, kh_1, kw_1)``, ``B_r`` of shape ``(F_2, C_2, kh_2, kw_2)``, ``F = F_1 F_2``,
``C = C_1 C_2``, ``KH = kh_1 kh_2``, ``KW = kw_1 kw_2`` and ``A``'s index the slow part of every
mode. The convolution with ``K`` is two ordinary convolutions:

1. the input ``(B, C_1 C_2, H, W)`` viewed as ``(B C_1, C_2, H, W)`` is convolved with the
   stacked ``B_r`` (``R F_2`` filters of shape ``(C_2, kh_2, kw_2)``);
2. the result, rearranged to ``(B F_2, R C_1, H', W')``, is convolved with the stacked ``A_r``
   (``F_1`` filters of shape ``(R C_1, kh_1, kw_1)``: the sum over ``r`` is part of the channel
   sum) and rearranged to ``(B, F_1 F_2, OH, OW)``.

This holds when, on each spatial axis, one of the two factors has extent 1 (``kh_1 = 1`` or
``kh_2 = 1``, same for the width), e.g. ``(kh, 1) ⊗ (1, kw)`` or ``(1, 1) ⊗ (kh, kw)``; the
stride and padding of an axis go to the factor with extent > 1 there. (Both extents > 1 would
need a dilated second convolution; refused.) Parameters
``R (F_1 C_1 kh_1 kw_1 + F_2 C_2 kh_2 kw_2)``.

Initialization (both layers, pre-set): every entry of ``W`` (``K``) is a sum of ``P = R``
products of one ``A`` entry and one ``B`` entry, so ``Var(W) = R sigma_A^2 sigma_B^2`` and
``sigma_A = sigma_B = (Var_target / R)^(1/4)`` with ``Var_target = 2 / fan_in`` (He) or
``2 / (fan_in + fan_out)`` (Glorot); ``fan_in`` is ``N`` (linear) or ``C KH KW`` (conv).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import autograd.numpy as anp
import numpy as np

from ..._validation import check_array, check_shape
from ...decompositions.kron import gkpd, kpd
from ...formats.kron import KronTensor
from ..conv import conv2d, conv_output_size
from ._network import Network, NetworkLinear, Tape, contract, factor_cap
from .base import (
    FactorizedConv2d,
    check_rank_bound,
    layer_dtype,
    legacy_layout,
    load_factors,
    record_conversion,
    sequence_at,
    suggest_modes,
)

__all__ = ["KPLinear", "GKPConv2d", "default_conv_a_shape"]


def _split(total: int, value: int, name: str, index: int) -> int:
    """``total / value``, refusing a ``value`` that does not divide ``total``."""
    if total % value:
        raise ValueError(f"{name}[{index}]={value} does not divide the layer size {total}")
    return total // value


def _check_rank(rank: Any, maximum: int, what: str) -> int:
    return check_rank_bound(rank, "rank", maximum, f"the full Kronecker rank for {what}")


def default_conv_a_shape(weight_shape: Sequence[int]) -> tuple[int, int, int, int]:
    """``(F_1, C_1, KH, 1)``: the larger factor of the most balanced split of ``F`` and of ``C``,
    the kernel height in ``A`` and the width in ``B`` (``B = (F_2, C_2, 1, KW)``)."""
    f, c, kh, _ = (int(v) for v in weight_shape)
    return suggest_modes(f, 2)[0], suggest_modes(c, 2)[0], kh, 1


# ------------------------------------------------------------------------------ KPLinear
class KPLinear(NetworkLinear):
    """Linear layer with a sum of Kronecker products ``W = sum_r A_r ⊗ B_r`` (Thakker et al.).

    See the module docstring for the layout, the contraction and the initialization.

    Parameters
    ----------
    in_features, out_features : int
        ``N = m_1 m_2`` and ``M = n_1 n_2``.
    rank : int
        Number of Kronecker terms ``R`` (at most ``min(m_1 n_1, m_2 n_2)``).
    a_shape : (int, int), optional
        ``(m_1, n_1)``, the shape of each ``A_r`` (``m_1`` divides ``N``, ``n_1`` divides
        ``M``); by default the larger factor of the most balanced split of each size.
    bias : bool
        Learn an additive bias (zero at start).
    init : {"he", "glorot", "lecun"}
        Target variance of the implied dense weight.
    rescale : bool
        Scale ``A`` after sampling so that ``mean(W**2)`` equals the target exactly.
    mode : {"auto", "factors", "dense"}
        Forward path (see :class:`~tensornet.nn.factorized.FactorizedLayer`).
    random_state : None, int or numpy.random.Generator
        Seed of the initialization.
    dtype : numpy dtype
        Parameter dtype (float32 by default).

    Examples
    --------
    >>> layer = KPLinear(784, 300, rank=4, a_shape=(28, 20), random_state=0)
    >>> layer.weight().shape, layer.n_params
    ((784, 300), 4220)
    """

    @legacy_layout("in_features", "out_features", "a_shape", "rank", when=sequence_at(2))
    def __init__(
        self,
        in_features: int,
        out_features: int,
        rank: int = 1,
        *,
        a_shape: Sequence[int] | None = None,
        bias: bool = True,
        init: str = "he",
        rescale: bool = False,
        mode: str = "auto",
        random_state: Any = None,
        dtype: Any = np.float32,
    ) -> None:
        n, m = check_shape((in_features, out_features), "(in_features, out_features)")
        super().__init__(n, m, mode)
        if a_shape is None:
            a_shape = (suggest_modes(n, 2)[0], suggest_modes(m, 2)[0])
        a = check_shape(a_shape, "a_shape")
        if len(a) != 2:
            raise ValueError(f"a_shape={a} must be a pair (m_1, n_1)")
        b = (_split(n, a[0], "a_shape", 0), _split(m, a[1], "a_shape", 1))
        self.a_shape, self.b_shape = a, b
        self.rank = _check_rank(rank, min(a[0] * a[1], b[0] * b[1]), f"a_shape={a}, b_shape={b}")
        r = self.rank
        sizes = {"i1": a[0], "j1": a[1], "i2": b[0], "j2": b[1], "r": r}
        la, lb = ("r", "i1", "j1"), ("r", "i2", "j2")
        self._net = Network(
            [("b", "i1", "i2"), la, lb],
            ("b", "j1", "j2"),
            sizes,
            batch_label="b",
            data=0,
            weight_cap=factor_cap(r * (a[0] * a[1] + b[0] * b[1]), n * m),
        )
        self._dense_net = Network([la, lb], ("i1", "i2", "j1", "j2"), sizes)

        self.init_factors(
            {"a": (r, *a), "b": (r, *b)}, r, init=init, random_state=random_state, dtype=dtype,
            bias=bias, rescale="a" if rescale else None,
        )  # fmt: skip

    def network_factors(self, params: dict[str, Any]) -> list[Any]:
        """``A`` then ``B``: the forward pass is ``y_b = vec(sum_r A_r^T X_b B_r)``."""
        return [params["a"], params["b"]]

    @property
    def input_modes(self) -> tuple[int, ...]:
        """``(m_1, m_2)``: each row of ``x`` as the matrix ``X_b``."""
        return (self.a_shape[0], self.b_shape[0])

    def to_format(self) -> KronTensor:
        """The weight as a :class:`~tensornet.formats.KronTensor` of shape ``(N, M)``.

        Returns
        -------
        KronTensor
        """
        p = self.param_copies()
        return KronTensor(p["a"], p["b"])

    @classmethod
    def from_weight(
        cls,
        weight: np.ndarray,
        bias: np.ndarray | None = None,
        *,
        a_shape: Sequence[int] | None = None,
        rank: int | None = None,
        eps: float | None = None,
        mode: str = "auto",
        dtype: Any = None,
    ) -> KPLinear:
        """KP layer from a trained ``(N, M)`` weight by the Van Loan-Pitsianis KPD.

        :func:`~tensornet.decompositions.kpd` (the best Kronecker-rank-``R`` approximation,
        Eckart-Young on the rearranged matrix) in float64; ``info`` keeps its error report.
        ``rank=None`` and ``eps=None`` give the exact full-rank conversion.

        Parameters
        ----------
        weight : array_like, shape (N, M)
            Dense weight in :class:`~tensornet.nn.Linear`'s layout.
        bias : array_like, shape (M,), optional
            Copied into the layer.
        a_shape : (int, int), optional
            ``(m_1, n_1)``; balanced by default.
        rank : int, optional
            Number of Kronecker terms (an upper bound with ``eps``).
        eps : float, optional
            Relative Frobenius error bound of the weight.
        mode : {"auto", "factors", "dense"}
            Forward path.
        dtype : numpy dtype, optional
            Parameter dtype; that of ``weight`` by default.

        Returns
        -------
        KPLinear
        """
        w = check_array(weight, "weight", ndim=2)
        dtype = layer_dtype(w, dtype)
        n, m = w.shape
        if a_shape is None:
            a_shape = (suggest_modes(n, 2)[0], suggest_modes(m, 2)[0])
        k = kpd(w.astype(np.float64), a_shape, rank=rank, eps=eps)
        layer = cls(
            n, m, k.ranks[0], a_shape=k.a_shape, bias=bias is not None, dtype=dtype, mode=mode
        )
        load_factors(layer, {"a": k.a_factors, "b": k.b_factors}, bias)
        return record_conversion(layer, w, k.info)

    def extra_repr(self) -> str:
        return (
            f"{self.in_features}, {self.out_features}, rank={self.rank}, "
            f"a_shape={self.a_shape}, b_shape={self.b_shape}, mode={self.mode!r}"
        )


# ------------------------------------------------------------------------------ GKPConv2d
class GKPConv2d(FactorizedConv2d):
    """Convolution with a sum of Kronecker-product kernels ``K = sum_r A_r ⊗ B_r`` (survey eq. 13).

    Generalized Kronecker product decomposition layer of Hameed et al. (2022); see the module
    docstring for the factor shapes, the two-convolution forward pass and the initialization.

    Parameters
    ----------
    in_channels, out_channels : int
        ``C = C_1 C_2`` and ``F = F_1 F_2``.
    kernel_size : int or (int, int)
        ``(KH, KW) = (kh_1 kh_2, kw_1 kw_2)``.
    rank : int
        Number of Kronecker terms ``R``.
    a_shape : (int, int, int, int), optional
        ``(F_1, C_1, kh_1, kw_1)``, the shape of each ``A_r``; each entry divides the matching
        size and, per spatial axis, ``kh_1 = 1`` or ``kh_1 = KH`` (same for the width). By
        default :func:`default_conv_a_shape`: ``(F_1, C_1, KH, 1)`` from balanced splits.
    stride, padding : int or (int, int)
        As for :class:`~tensornet.nn.Conv2d`.
    bias : bool
        Learn an additive bias (zero at start).
    init : {"he", "glorot", "lecun"}
        Target variance of the implied kernel (fans as for a dense convolution).
    rescale : bool
        Scale ``A`` after sampling so that ``mean(K**2)`` equals the target exactly.
    mode : {"auto", "factors", "dense"}
        Forward path.
    random_state : None, int or numpy.random.Generator
        Seed of the initialization.
    dtype : numpy dtype
        Parameter dtype (float32 by default).

    Examples
    --------
    >>> layer = GKPConv2d(16, 32, 3, rank=2, a_shape=(8, 4, 3, 1), padding=1, random_state=0)
    >>> layer.weight().shape, layer.n_params
    ((32, 16, 3, 3), 320)
    """

    @legacy_layout(
        "in_channels", "out_channels", "kernel_size", "a_shape", "rank", "stride", "padding",
        when=sequence_at(3),
    )  # fmt: skip
    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        rank: int = 1,
        *,
        a_shape: Sequence[int] | None = None,
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        bias: bool = True,
        init: str = "he",
        rescale: bool = False,
        mode: str = "auto",
        random_state: Any = None,
        dtype: Any = np.float32,
    ) -> None:
        c, f = check_shape((in_channels, out_channels), "(in_channels, out_channels)")
        super().__init__(c, f, kernel_size, stride, padding, mode)
        if a_shape is None:
            a_shape = default_conv_a_shape(self.weight_shape)
        a = check_shape(a_shape, "a_shape")
        if len(a) != 4:
            raise ValueError(f"a_shape={a} must be (F_1, C_1, kh_1, kw_1)")
        full = self.weight_shape
        b = tuple(_split(full[n], a[n], "a_shape", n) for n in range(4))
        for axis, name in ((2, "kh"), (3, "kw")):
            if a[axis] > 1 and b[axis] > 1:
                raise ValueError(
                    f"a_shape[{axis}]={a[axis]} splits the kernel extent {full[axis]} into two "
                    f"factors > 1 ({name}_1={a[axis]}, {name}_2={b[axis]}); each spatial axis "
                    "must stay whole in one factor (a_shape[2] in (1, KH), a_shape[3] in (1, KW))"
                )
        self.a_shape, self.b_shape = a, b
        self.rank = _check_rank(rank, min(math.prod(a), math.prod(b)), f"a_shape={a}")
        # per axis, the factor with extent > 1 takes the stride and padding (B if A is 1 there)
        self._b_geom = tuple(
            (s, p) if a[2 + i] == 1 else (1, 0)
            for i, (s, p) in enumerate(zip(self.stride, self.padding, strict=True))
        )
        self._a_geom = tuple(
            (1, 0) if a[2 + i] == 1 else (s, p)
            for i, (s, p) in enumerate(zip(self.stride, self.padding, strict=True))
        )
        r = self.rank
        sizes = dict(zip(("f1", "c1", "p1", "q1"), a, strict=True))
        sizes.update(zip(("f2", "c2", "p2", "q2"), b, strict=True))
        sizes["r"] = r
        self._dense_net = Network(
            [("r", "f1", "c1", "p1", "q1"), ("r", "f2", "c2", "p2", "q2")],
            ("f1", "f2", "c1", "c2", "p1", "p2", "q1", "q2"),
            sizes,
        )

        self.init_factors(
            {"a": (r, *a), "b": (r, *b)}, r, init=init, random_state=random_state, dtype=dtype,
            bias=bias, rescale="a" if rescale else None,
        )  # fmt: skip

    def dense_weight(self, params: dict[str, Any]) -> Any:
        """``K = sum_r A_r ⊗ B_r`` of shape ``(F, C, KH, KW)`` (autograd-traceable).

        Parameters
        ----------
        params : dict
            The layer's parameters under local names.

        Returns
        -------
        array_like
        """
        k = contract(self._dense_net, Tape(), params["a"], params["b"])
        return anp.reshape(k, self.weight_shape)

    def _stage_shapes(self, input_shape: Sequence[int]) -> tuple[tuple[int, int], tuple[int, int]]:
        """``(H', W')`` after the ``B`` convolution and ``(OH, OW)`` after the ``A`` one."""
        h, w = int(input_shape[2]), int(input_shape[3])
        (bsh, bph), (bsw, bpw) = self._b_geom
        (ash, aph), (asw, apw) = self._a_geom
        h1 = conv_output_size(h, self.b_shape[2], bsh, bph)
        w1 = conv_output_size(w, self.b_shape[3], bsw, bpw)
        oh = conv_output_size(h1, self.a_shape[2], ash, aph)
        ow = conv_output_size(w1, self.a_shape[3], asw, apw)
        return (h1, w1), (oh, ow)

    def forward_factors(self, params: dict[str, Any], x: Any) -> Any:
        """Convolve with the stacked ``B_r``, then with the stacked ``A_r``; bias added.

        Parameters
        ----------
        params : dict
            The layer's parameters under local names.
        x : array_like
            ``(B, C, H, W)``.

        Returns
        -------
        array_like
            ``(B, F, OH, OW)``.
        """
        n, _, h, w = x.shape
        (f1, c1, kh1, kw1), (f2, c2, kh2, kw2), r = self.a_shape, self.b_shape, self.rank
        (bsh, bph), (bsw, bpw) = self._b_geom
        (ash, aph), (asw, apw) = self._a_geom
        kb = anp.reshape(params["b"], (r * f2, c2, kh2, kw2))
        z = conv2d(anp.reshape(x, (n * c1, c2, h, w)), kb, None, (bsh, bsw), (bph, bpw))
        h1, w1 = z.shape[2], z.shape[3]
        z = anp.reshape(z, (n, c1, r, f2, h1, w1))
        z = anp.reshape(anp.transpose(z, (0, 3, 2, 1, 4, 5)), (n * f2, r * c1, h1, w1))
        ka = anp.reshape(anp.transpose(params["a"], (1, 0, 2, 3, 4)), (f1, r * c1, kh1, kw1))
        y = conv2d(z, ka, None, (ash, asw), (aph, apw))
        oh, ow = y.shape[2], y.shape[3]
        y = anp.reshape(
            anp.transpose(anp.reshape(y, (n, f2, f1, oh, ow)), (0, 2, 1, 3, 4)),
            (n, f1 * f2, oh, ow),
        )
        if "bias" in params:
            y = y + anp.reshape(params["bias"], (1, -1, 1, 1))
        return y

    def factor_flops(self, input_shape: Sequence[int]) -> int:
        """``R [B C_1 H' W' F_2 C_2 kh_2 kw_2 + B F_2 OH OW F_1 C_1 kh_1 kw_1]``."""
        n = int(input_shape[0])
        (h1, w1), (oh, ow) = self._stage_shapes(input_shape)
        (f1, c1, kh1, kw1), (f2, c2, kh2, kw2), r = self.a_shape, self.b_shape, self.rank
        return r * (n * c1 * h1 * w1 * f2 * c2 * kh2 * kw2 + n * f2 * oh * ow * f1 * c1 * kh1 * kw1)

    def factor_activations(self, input_shape: Sequence[int]) -> int:
        """Each of the two convolutions' patches and outputs, and the two reordering copies."""
        n = int(input_shape[0])
        (h1, w1), (oh, ow) = self._stage_shapes(input_shape)
        (f1, c1, kh1, kw1), (f2, c2, kh2, kw2), r = self.a_shape, self.b_shape, self.rank
        first = n * c1 * h1 * w1 * (c2 * kh2 * kw2 + 2 * r * f2)
        second = n * f2 * oh * ow * (r * c1 * kh1 * kw1 + f1) + n * f1 * f2 * oh * ow
        return first + second

    def reconstruction_flops(self) -> int:
        """``R F C KH KW`` multiply-adds to form ``sum_r A_r ⊗ B_r``."""
        return self._dense_net.flops(1)

    def to_format(self) -> KronTensor:
        """The kernel as a :class:`~tensornet.formats.KronTensor` of shape ``(F, C, KH, KW)``.

        Returns
        -------
        KronTensor
        """
        p = self.param_copies()
        return KronTensor(p["a"], p["b"])

    @classmethod
    def from_weight(
        cls,
        weight: np.ndarray,
        bias: np.ndarray | None = None,
        *,
        a_shape: Sequence[int] | None = None,
        rank: int | None = None,
        eps: float | None = None,
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        mode: str = "auto",
        dtype: Any = None,
    ) -> GKPConv2d:
        """GKP layer from a trained ``(F, C, KH, KW)`` kernel by GKPD (Hameed et al. 2022).

        :func:`~tensornet.decompositions.gkpd` (best Kronecker-rank-``R`` approximation,
        Eckart-Young on the rearranged kernel) in float64; ``info`` keeps its error report.
        ``rank=None`` and ``eps=None`` give the exact full-rank conversion.

        Parameters
        ----------
        weight : array_like, shape (F, C, KH, KW)
            Dense kernel in :class:`~tensornet.nn.Conv2d`'s layout.
        bias : array_like, shape (F,), optional
            Copied into the layer.
        a_shape : (int, int, int, int), optional
            ``(F_1, C_1, kh_1, kw_1)``; :func:`default_conv_a_shape` by default.
        rank : int, optional
            Number of Kronecker terms (an upper bound with ``eps``).
        eps : float, optional
            Relative Frobenius error bound of the kernel.
        stride, padding : int or (int, int)
            Of the convolution.
        mode : {"auto", "factors", "dense"}
            Forward path.
        dtype : numpy dtype, optional
            Parameter dtype; that of ``weight`` by default.

        Returns
        -------
        GKPConv2d
        """
        w = check_array(weight, "weight", ndim=4)
        dtype = layer_dtype(w, dtype)
        f, c, kh, kw = w.shape
        a = check_shape(default_conv_a_shape(w.shape) if a_shape is None else a_shape, "a_shape")
        k = gkpd(w.astype(np.float64), a, rank=rank, eps=eps)
        layer = cls(
            c, f, (kh, kw), k.ranks[0], a_shape=a, stride=stride, padding=padding,
            bias=bias is not None, dtype=dtype, mode=mode,
        )  # fmt: skip
        load_factors(layer, {"a": k.a_factors, "b": k.b_factors}, bias)
        return record_conversion(layer, w, k.info)

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"rank={self.rank}, a_shape={self.a_shape}, b_shape={self.b_shape}, "
            f"stride={self.stride}, padding={self.padding}, mode={self.mode!r}"
        )
