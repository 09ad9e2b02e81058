"""Tensor-train layers: :class:`TTLinear` (Novikov et al. 2015), :class:`TTConv2d` (Garipov et al.).

Reshaping
---------
``TTLinear`` stands for ``Linear(N, M)`` with ``N = prod m_k`` and ``M = prod n_k``; its weight
is the TT-matrix of :class:`tensornet.TTMatrix` (same orientation, ``(in, out)``), cores
``G_k: (r_{k-1}, m_k, n_k, r_k)``, ``r_0 = r_d = 1``:
``W[(i_1..i_d), (j_1..j_d)] = G_1[:, i_1, j_1, :] ... G_d[:, i_d, j_d, :]`` with both
multi-indices in C order (a flattened input row ``x[b, :]`` is read as ``x[b, i_1, ..., i_d]``,
``i_1`` slowest).

``TTConv2d`` stands for ``Conv2d(C, S, (kh, kw))`` with ``C = prod c_k``, ``S = prod s_k``:
a spatial core ``G_0: (kh, kw, r_0)`` and channel cores ``G_k: (r_{k-1}, c_k, s_k, r_k)``,
``r_d = 1``:
``K[s, c, p, q] = sum G_0[p, q, r_0] G_1[r_0, c_1, s_1, r_1] ... G_d[.., c_d, s_d, 1]``.

Contraction
-----------
``TTLinear`` runs one autograd primitive, :func:`tensornet.nn.factorized._ttcore.tt_matmat`,
with a hand-written VJP. It contracts the input with the cores one stacked GEMM per core, no
transposes between steps; neighbouring cores are merged first when that lowers the
multiply-add count for the batch at hand (:meth:`TTLinear.contraction_plan`, a dynamic
programme over the cut points and both sweep directions). ``TTConv2d`` convolves every input
channel with the ``r_0`` spatial filters (a ``1 -> r_0`` convolution on ``B C`` single-channel
images) and then applies the same TT-matrix contraction to the channel modes, the leading rank
``r_0`` read as part of the first input mode. Speed: ``benchmarks/bench_tt_layers.py``.

Cost (multiply-adds, bias excluded; survey Tables III/IV)
---------------------------------------------------------
Parameters ``sum_k r_{k-1} m_k n_k r_k`` (``TTConv2d``: plus ``kh kw r_0``). The core-by-core
left-to-right sweep costs ``sum_k B prod(m_{>k}) prod(n_{<k}) r_{k-1} m_k n_k r_k``;
:meth:`TTLinear.factor_flops` reports the plan actually run (merges included).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import autograd.numpy as anp
import numpy as np

from ..._validation import check_array, check_ranks
from ...decompositions import tt_matrix_svd, tt_svd
from ...formats.tt import TTTensor
from ...formats.tt_matrix import TTMatrix
from ..conv import conv2d
from ._ttcore import TTPlan, merge_cost, tt_matmat, tt_merge, tt_plan
from .base import (
    LEGACY_CONV_LAYOUT,
    LEGACY_LINEAR_LAYOUT,
    FactorizedConv2d,
    FactorizedLinear,
    layer_dtype,
    legacy_layout,
    load_factors,
    record_conversion,
    resolve_mode_pair,
)

__all__ = ["TTLinear", "TTConv2d"]


# ------------------------------------------------------------------------------ shared checks


def _tt_ranks(ranks: Any, d: int, name: str = "ranks") -> tuple[int, ...]:
    """``(1, r_1, ..., r_{d-1}, 1)`` from an int, ``d - 1`` or ``d + 1`` values."""
    if isinstance(ranks, (Sequence, np.ndarray)) and not isinstance(ranks, (str, bytes)):
        seq = list(np.asarray(ranks).tolist()) if isinstance(ranks, np.ndarray) else list(ranks)
        if len(seq) == d + 1:
            full = check_ranks(seq, d + 1, name)
            if full[0] != 1 or full[-1] != 1:
                raise ValueError(
                    f"{name}[0]={full[0]} and {name}[{d}]={full[-1]} must be 1: a TT-matrix has "
                    "boundary ranks 1 (give the d - 1 inner ranks instead)"
                )
            return full
        return (1,) + check_ranks(seq, d - 1, name) + (1,)
    return (1,) + check_ranks(ranks, d - 1, name) + (1,)


# ------------------------------------------------------------------------------ TTLinear
class TTLinear(FactorizedLinear):
    """Linear layer whose ``(in, out)`` weight is a TT-matrix (Novikov et al., NeurIPS 2015).

    ``y = x @ W + b`` with ``W`` the :class:`tensornet.TTMatrix` of the cores
    ``core_k: (r_{k-1}, m_k, n_k, r_k)`` (module notes: C-order tensorization of ``x``, one
    autograd primitive for the whole contraction).

    Initialization (pre-set training, survey Sec. II-B.2): every core is drawn from
    ``N(0, sigma^2)`` with ``Var(W) = P sigma^(2d)``, ``P = r_1 ... r_{d-1}`` the product of the
    contracted bonds, so ``sigma = (V / P)^(1/(2d))`` with ``V = g / N`` (He, ``g = 2``),
    ``2 / (N + M)`` (Glorot) or ``1 / N`` (LeCun); for equal ranks ``R`` this is
    ``sigma = (g/N)^(1/(2d)) R^((1/d - 1)/2)``. ``rescale=True`` then multiplies the first core
    so that ``mean(W**2) = V`` exactly for this draw.

    Parameters
    ----------
    in_features, out_features : int
        ``N`` and ``M`` of the dense equivalent.
    ranks : int or sequence of int
        One rank for all bonds, the ``d - 1`` inner ranks, or all ``d + 1`` with boundary 1.
    in_modes, out_modes : sequence of int, optional
        ``m_k`` and ``n_k`` (same length ``d``, products ``N`` and ``M``); by default
        :func:`~tensornet.nn.factorized.suggest_modes` with ``d = n_cores``.
    n_cores : int, optional
        ``d`` when no modes are given (default: the length of the given modes, else 3).
    bias : bool
        Learn an additive bias (zero-initialized).
    init : {"he", "glorot", "lecun"}
        Target variance of ``W``.
    rescale : bool
        Rescale after sampling so the realized second moment of ``W`` is exactly the target.
    mode : {"auto", "factors", "dense"}
        Forward path (see :class:`~tensornet.nn.factorized.FactorizedLayer`).
    random_state : None, int or numpy.random.Generator
        Seed of the initialization.
    dtype : numpy dtype
        Parameter dtype (float32 by default).

    Raises
    ------
    ValueError
        If the modes do not multiply to the layer size, their lengths differ, or a rank is < 1.

    Examples
    --------
    >>> import numpy as np
    >>> layer = TTLinear(784, 625, ranks=8, in_modes=(4, 7, 4, 7), out_modes=(5, 5, 5, 5),
    ...                  random_state=0)
    >>> layer.n_params - 625  # cores only: 4*5*8 + 8*7*5*8 + 8*4*5*8 + 8*7*5
    3960
    >>> x = np.ones((2, 784), dtype=np.float32)
    >>> bool(np.allclose(layer(x), x @ layer.weight() + layer.params["bias"], atol=1e-4))
    True
    """

    @legacy_layout(*LEGACY_LINEAR_LAYOUT)
    def __init__(
        self,
        in_features: int,
        out_features: int,
        ranks: int | Sequence[int] = 8,
        *,
        in_modes: Sequence[int] | None = None,
        out_modes: Sequence[int] | None = None,
        n_cores: int | None = None,
        bias: bool = True,
        init: str = "he",
        rescale: bool = False,
        mode: str = "auto",
        random_state: Any = None,
        dtype: Any = np.float32,
    ) -> None:
        super().__init__(in_features, out_features, mode)
        in_features, out_features = self.in_features, self.out_features
        self.in_modes, self.out_modes = resolve_mode_pair(
            in_features, out_features, in_modes, out_modes, n_cores
        )
        d = len(self.in_modes)
        self.ranks = _tt_ranks(ranks, d)
        self.init_factors(
            {f"core_{k}": shape for k, shape in enumerate(self.core_shapes)},
            math.prod(self.ranks[1:-1]), init=init, random_state=random_state, dtype=dtype,
            bias=bias, rescale="core_0" if rescale else None,
        )  # fmt: skip

    @property
    def core_shapes(self) -> list[tuple[int, int, int, int]]:
        """Shapes ``(r_{k-1}, m_k, n_k, r_k)`` of the cores."""
        r = self.ranks
        pairs = zip(self.in_modes, self.out_modes, strict=True)
        return [(r[k], m, n, r[k + 1]) for k, (m, n) in enumerate(pairs)]

    def _cores(self, params: dict[str, Any]) -> list[Any]:
        return [params[f"core_{k}"] for k in range(len(self.in_modes))]

    # ------------------------------------------------------------------ factorized protocol
    def contraction_plan(self, batch: int, merge: bool = True) -> TTPlan:
        """Core groups, sweep direction and multiply-adds of the factor path for ``batch`` rows.

        Parameters
        ----------
        batch : int
            Number of input rows.
        merge : bool
            ``False``: the plain core-by-core sweep (the cost formula of the module notes).

        Returns
        -------
        TTPlan
        """
        return tt_plan(int(batch), self.in_modes, self.out_modes, self.ranks, False, merge)

    def dense_weight(self, params: dict[str, Any]) -> Any:
        """``W`` of shape ``(in_features, out_features)``: all cores merged (one primitive)."""
        merged = tt_merge(*self._cores(params), saved={})
        return anp.reshape(merged, (self.in_features, self.out_features))

    def forward_factors(self, params: dict[str, Any], x: Any) -> Any:
        """``x @ W + b`` through the cores (module notes), one autograd primitive."""
        plan = self.contraction_plan(x.shape[0])
        return tt_matmat(x, params.get("bias"), *self._cores(params), plan=plan, saved={})

    def factor_flops(self, input_shape: Sequence[int]) -> int:
        """Multiply-adds of the planned contraction (merges included)."""
        return self.contraction_plan(int(input_shape[0])).flops

    def reconstruction_flops(self) -> int:
        """Multiply-adds of merging all cores into ``W``."""
        return merge_cost(self.in_modes, self.out_modes, self.ranks, 0, len(self.in_modes))

    @classmethod
    def from_weight(
        cls,
        weight: np.ndarray,
        bias: np.ndarray | None = None,
        *,
        in_modes: Sequence[int] | None = None,
        out_modes: Sequence[int] | None = None,
        ranks: int | Sequence[int] | None = None,
        eps: float | None = None,
        n_cores: int | None = None,
        mode: str = "auto",
        dtype: Any = None,
    ) -> TTLinear:
        """TT layer initialized from a trained ``(in, out)`` weight by TT-matrix SVD (pre-train).

        Cores from :func:`tensornet.tt_matrix_svd` (rank caps ``ranks``, relative Frobenius
        error bound ``eps``; neither: exact). The achieved ranks become the layer's;
        ``layer.decomposition_info`` holds the decomposition's ``rel_error`` and ``ranks``
        and ``weight_rel_error``.

        Parameters
        ----------
        weight : array_like, shape (in_features, out_features)
            The dense weight, in :class:`~tensornet.nn.Linear`'s layout.
        bias : array_like, optional
            Copied into the layer's bias (none when ``None``).
        in_modes, out_modes, n_cores :
            As for the constructor.
        ranks : int or sequence of int, optional
            Caps on the TT ranks.
        eps : float, optional
            Relative error bound in ``[0, 1)``.
        mode : {"auto", "factors", "dense"}
            Forward path.
        dtype : numpy dtype, optional
            Parameter dtype (default: the weight's float dtype).

        Returns
        -------
        TTLinear
        """
        weight = check_array(weight, "weight", ndim=2)
        ins, outs = resolve_mode_pair(*weight.shape, in_modes, out_modes, n_cores)
        ttm = tt_matrix_svd(weight, ins, outs, ranks=ranks, eps=eps)
        layer = cls(
            weight.shape[0], weight.shape[1], ranks=ttm.ranks, in_modes=ins, out_modes=outs,
            bias=bias is not None, mode=mode, random_state=0, dtype=layer_dtype(weight, dtype),
        )  # fmt: skip
        load_factors(layer, {f"core_{k}": g for k, g in enumerate(ttm.cores)}, bias)
        return record_conversion(layer, weight, ttm.info)

    def to_format(self) -> TTMatrix:
        """The weight as a :class:`~tensornet.TTMatrix` (same ``(in, out)`` orientation);
        ``full()`` is :meth:`weight`.

        Returns
        -------
        TTMatrix
        """
        return TTMatrix(self._cores(self.param_copies()), copy=False)

    def extra_repr(self) -> str:
        return (
            f"{self.in_features}, {self.out_features}, in_modes={self.in_modes}, "
            f"out_modes={self.out_modes}, ranks={self.ranks}, mode={self.mode!r}"
        )


# ------------------------------------------------------------------------------ TTConv2d
class TTConv2d(FactorizedConv2d):
    """Convolution whose kernel is a TT with a spatial core (Garipov et al. 2016).

    Kernel ``K[s, c, p, q] = sum G_0[p, q, r_0] G_1[r_0, c_1, s_1, r_1] ... G_d[., c_d, s_d, 1]``
    with ``C = prod c_k`` and ``S = prod s_k`` (module notes). Forward: a ``1 -> r_0``
    convolution of every input channel with the spatial filters (stride and padding of the
    layer), then the TT-matrix contraction of the channel modes for all ``B OH OW`` positions.

    Initialization: the ``d + 1`` cores are drawn from ``N(0, sigma^2)`` with
    ``Var(K) = P sigma^(2(d+1))``, ``P = r_0 r_1 ... r_{d-1}``, so
    ``sigma = (V / P)^(1/(2(d+1)))`` with ``V = g / (C kh kw)`` (He, ``g = 2``),
    ``2 / ((C + S) kh kw)`` (Glorot) or ``1 / (C kh kw)`` (LeCun); ``rescale=True`` corrects the
    spatial core so that ``mean(K**2) = V`` exactly.

    Parameters
    ----------
    in_channels, out_channels : int
        ``C`` and ``S``.
    kernel_size : int or (int, int)
        ``(kh, kw)``.
    ranks : int or sequence of int
        ``(r_0, ..., r_{d-1})`` (``d`` values; ``d + 1`` with a final 1 accepted) or one int.
    in_modes, out_modes : sequence of int, optional
        ``c_k`` and ``s_k`` (same length ``d``); default :func:`suggest_modes` with ``n_cores``.
    n_cores : int, optional
        ``d`` when no modes are given (default 3, or the length of the given modes).
    stride, padding : int or (int, int)
        As for :class:`~tensornet.nn.Conv2d`.
    bias, init, rescale, mode, random_state, dtype :
        As for :class:`TTLinear`.

    Raises
    ------
    ValueError
        If the modes do not multiply to the channel counts, their lengths differ, or a rank
        is < 1.
    """

    @legacy_layout(*LEGACY_CONV_LAYOUT)
    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        ranks: int | Sequence[int] = 8,
        *,
        in_modes: Sequence[int] | None = None,
        out_modes: Sequence[int] | None = None,
        n_cores: int | None = None,
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
        in_channels, out_channels = self.in_channels, self.out_channels
        self.in_modes, self.out_modes = resolve_mode_pair(
            in_channels, out_channels, in_modes, out_modes, n_cores, ("in_channels", "out_channels")
        )
        d = len(self.in_modes)
        self.ranks = _conv_ranks(ranks, d)
        shapes = {"spatial": self.kernel_size + (self.ranks[0],)}
        shapes.update({f"core_{k}": shape for k, shape in enumerate(self.core_shapes)})
        self.init_factors(
            shapes, math.prod(self.ranks[:-1]), init=init, random_state=random_state,
            dtype=dtype, bias=bias, rescale="spatial" if rescale else None,
        )  # fmt: skip

    @property
    def core_shapes(self) -> list[tuple[int, int, int, int]]:
        """Shapes ``(r_{k-1}, c_k, s_k, r_k)`` of the channel cores (``r_d = 1``)."""
        r = self.ranks
        pairs = zip(self.in_modes, self.out_modes, strict=True)
        return [(r[k], c, s, r[k + 1]) for k, (c, s) in enumerate(pairs)]

    def _cores(self, params: dict[str, Any]) -> list[Any]:
        return [params[f"core_{k}"] for k in range(len(self.in_modes))]

    def _channel_problem(self) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
        """The channel contraction as a TT-matrix: ``r_0`` joins the first input mode."""
        ins = (self.ranks[0] * self.in_modes[0],) + self.in_modes[1:]
        return ins, self.out_modes, (1,) + self.ranks[1:]

    def contraction_plan(self, batch: int, merge: bool = True) -> TTPlan:
        """Plan of the channel contraction for ``batch`` output positions (``B OH OW``)."""
        ins, outs, ranks = self._channel_problem()
        return tt_plan(int(batch), ins, outs, ranks, False, merge)

    def dense_weight(self, params: dict[str, Any]) -> Any:
        """``K`` of shape ``(S, C, kh, kw)`` from the merged channel cores and the spatial core."""
        kh, kw = self.kernel_size
        r0, c, s = self.ranks[0], self.in_channels, self.out_channels
        merged = anp.reshape(tt_merge(*self._cores(params), saved={}), (r0, c * s))
        k = anp.dot(anp.reshape(params["spatial"], (kh * kw, r0)), merged)
        return anp.transpose(anp.reshape(k, (kh, kw, c, s)), (3, 2, 0, 1))

    def forward_factors(self, params: dict[str, Any], x: Any) -> Any:
        """Spatial ``1 -> r_0`` convolution, then the channel TT contraction (class notes)."""
        b, c, h, w = x.shape
        kh, kw = self.kernel_size
        r0 = self.ranks[0]
        spatial = anp.reshape(anp.transpose(params["spatial"], (2, 0, 1)), (r0, 1, kh, kw))
        z = conv2d(anp.reshape(x, (b * c, 1, h, w)), spatial, None, self.stride, self.padding)
        oh, ow = z.shape[2], z.shape[3]
        # (B, C, r_0, OH, OW) -> (r_0 C, B OH OW): the sweep's own starting layout, one copy
        z = anp.transpose(anp.reshape(z, (b, c, r0, oh, ow)), (2, 1, 0, 3, 4))
        z = anp.reshape(z, (r0 * c, b * oh * ow))
        cores = self._cores(params)
        first = anp.reshape(cores[0], (1, r0 * self.in_modes[0]) + tuple(cores[0].shape[2:]))
        plan = self.contraction_plan(b * oh * ow)
        y = tt_matmat(z, params.get("bias"), first, *cores[1:], plan=plan, saved={}, x_cols=True)
        return anp.transpose(anp.reshape(y, (b, oh, ow, self.out_channels)), (0, 3, 1, 2))

    def factor_flops(self, input_shape: Sequence[int]) -> int:
        """``B C OH OW r_0 kh kw`` (spatial convolution) plus the planned channel contraction."""
        oh, ow = self.output_size(input_shape)
        positions = int(input_shape[0]) * oh * ow
        spatial = positions * self.in_channels * self.ranks[0] * math.prod(self.kernel_size)
        return spatial + self.contraction_plan(positions).flops

    def factor_activations(self, input_shape: Sequence[int]) -> int:
        """The spatial convolution of ``B C`` single-channel images (patches ``kh kw`` and
        ``r_0`` outputs per position, then one reordering copy) and the channel sweep's
        intermediates ``L prod(m_{>k}) prod(n_{<=k}) r_k`` (``L = B OH OW``)."""
        oh, ow = self.output_size(input_shape)
        lead = int(input_shape[0]) * oh * ow
        r0, khw = self.ranks[0], math.prod(self.kernel_size)
        spatial = lead * self.in_channels * (khw + 2 * r0)
        ins, outs, ranks = self._channel_problem()
        sweep = sum(
            lead * math.prod(ins[k + 1 :]) * math.prod(outs[: k + 1]) * ranks[k + 1]
            for k in range(len(ins))
        )
        return spatial + sweep

    def reconstruction_flops(self) -> int:
        """Merging the channel cores plus ``kh kw r_0 C S`` for the spatial core."""
        merge = merge_cost(self.in_modes, self.out_modes, self.ranks, 0, len(self.in_modes))
        kh, kw = self.kernel_size
        return merge + kh * kw * self.ranks[0] * self.in_channels * self.out_channels

    @classmethod
    def from_weight(
        cls,
        weight: np.ndarray,
        bias: np.ndarray | None = None,
        *,
        in_modes: Sequence[int] | None = None,
        out_modes: Sequence[int] | None = None,
        ranks: int | Sequence[int] | None = None,
        eps: float | None = None,
        n_cores: int | None = None,
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        mode: str = "auto",
        dtype: Any = None,
    ) -> TTConv2d:
        """TT-conv layer from a trained ``(S, C, kh, kw)`` kernel by TT-SVD (pre-train).

        The kernel is reshaped to ``(kh kw, c_1 s_1, ..., c_d s_d)`` (spatial mode first, then
        the interleaved channel modes) and decomposed by :func:`tensornet.tt_svd` with rank
        caps ``ranks`` (``(r_0, ..., r_{d-1})`` or one int) and error bound ``eps``; neither
        gives an exact conversion. ``layer.decomposition_info`` holds ``rel_error``, ``ranks`` and
        ``weight_rel_error``.

        Parameters
        ----------
        weight : array_like, shape (S, C, kh, kw)
            The dense kernel, in :class:`~tensornet.nn.Conv2d`'s layout.
        bias : array_like, optional
            Copied into the layer's bias.
        in_modes, out_modes, n_cores, stride, padding, mode :
            As for the constructor.
        ranks : int or sequence of int, optional
            Rank caps.
        eps : float, optional
            Relative error bound in ``[0, 1)``.
        dtype : numpy dtype, optional
            Parameter dtype (default: the weight's float dtype).

        Returns
        -------
        TTConv2d
        """
        weight = check_array(weight, "weight", ndim=4)
        s, c, kh, kw = weight.shape
        ins, outs = resolve_mode_pair(
            c, s, in_modes, out_modes, n_cores, ("in_channels", "out_channels")
        )
        d = len(ins)
        t = weight.transpose(2, 3, 1, 0).reshape((kh * kw,) + ins + outs)
        order = [0] + [a for k in range(d) for a in (1 + k, 1 + d + k)]
        paired = tuple(m * n for m, n in zip(ins, outs, strict=True))
        t = t.transpose(order).reshape((kh * kw,) + paired)
        caps = None if ranks is None else (1,) + _conv_ranks(ranks, d)
        tt = tt_svd(t, ranks=caps, eps=eps)
        cores = tt.cores
        layer = cls(
            c, s, (kh, kw), ranks=tt.ranks[1:], in_modes=ins, out_modes=outs, stride=stride,
            padding=padding, bias=bias is not None, mode=mode, random_state=0,
            dtype=layer_dtype(weight, dtype),
        )  # fmt: skip
        arrays = {"spatial": cores[0].reshape(kh, kw, -1)}
        for k, g in enumerate(cores[1:]):
            arrays[f"core_{k}"] = g.reshape(g.shape[0], ins[k], outs[k], g.shape[2])
        load_factors(layer, arrays, bias)
        return record_conversion(layer, weight, tt.info)

    def to_format(self) -> TTTensor:
        """The kernel as a :class:`~tensornet.TTTensor` of shape ``(kh kw, c_1 s_1, ...,
        c_d s_d)``: the spatial core first, then the channel cores with their two channel modes
        merged (``c_k`` slow), the tensorization :meth:`from_weight` decomposes.

        Returns
        -------
        TTTensor
        """
        p = self.param_copies()
        cores = [p["spatial"].reshape(1, -1, self.ranks[0])]
        cores += [g.reshape(g.shape[0], -1, g.shape[3]) for g in self._cores(p)]
        return TTTensor(cores, copy=False)

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"in_modes={self.in_modes}, out_modes={self.out_modes}, ranks={self.ranks}, "
            f"stride={self.stride}, padding={self.padding}, mode={self.mode!r}"
        )


def _conv_ranks(ranks: Any, d: int, name: str = "ranks") -> tuple[int, ...]:
    """``(r_0, ..., r_{d-1}, 1)`` from an int, ``d`` values or ``d + 1`` ending in 1."""
    if isinstance(ranks, (Sequence, np.ndarray)) and not isinstance(ranks, (str, bytes)):
        seq = list(np.asarray(ranks).tolist()) if isinstance(ranks, np.ndarray) else list(ranks)
        if len(seq) == d + 1:
            full = check_ranks(seq, d + 1, name)
            if full[-1] != 1:
                raise ValueError(f"{name}[{d}]={full[-1]} must be 1: the last channel core closes")
            return full
        return check_ranks(seq, d, name) + (1,)
    return check_ranks(ranks, d, name) + (1,)
