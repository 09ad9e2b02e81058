"""Tensor-ring layers: :class:`TRLinear` (Wang et al., CVPR 2018) and :class:`TRConv2d` (eq. 10).

Reshaping
---------
``TRLinear`` stands for ``Linear(N, M)`` with ``N = prod_{k<p} m_k`` and ``M = prod_{l<q} n_l``
(``p`` and ``q`` may differ). Input cores ``U_k: (r_k, m_k, r_{k+1})`` and output cores
``V_l: (r_{p+l}, n_l, r_{p+l+1})`` form one ring, ``r_{p+q} = r_0``:
``W[(i_1..i_p), (j_1..j_q)] = Tr(U_1[i_1] ... U_p[i_p] V_1[j_1] ... V_q[j_q])``
(``U_k[i]`` the matrix ``U_k[:, i, :]``; multi-indices in C order).

``TRConv2d`` stands for ``Conv2d(C, S, (kh, kw))``: input cores over ``C = prod c_k``, a
spatial core ``G: (r_p, kh, kw, r_{p+1})`` and output cores over ``S = prod s_l``, on a ring of
``p + q + 1`` bonds.

Contraction (merge, then contract)
----------------------------------
The input cores are merged into ``F_in: (r_0, N, r_p)`` and the output cores into
``F_out: (r_p, M, r_0)`` (one primitive each, hand-written VJP); then ``W = A B`` with
``A[i, (a, c)] = F_in[a, i, c]`` and ``B[(a, c), j] = F_out[c, j, a]``, so
``y = (x A) B + b``: two GEMMs. ``rank(W) <= r_0 r_p``: a TR-linear layer is a structured
low-rank matrix. ``TRConv2d`` is the survey's eq. 10, three consecutive convolutions: a
``1 x 1`` convolution ``C -> r_0 r_p`` by ``F_in``, a ``kh x kw`` convolution ``r_p -> r_{p+1}``
by the spatial core applied to each of the ``r_0`` slices (the layer's stride and padding), and
a ``1 x 1`` convolution ``r_0 r_{p+1} -> S`` by ``F_out``.

Cost (multiply-adds, bias excluded)
-----------------------------------
Parameters ``sum_k r_k d_k r_{k+1}`` over all ring cores (``TRConv2d``: the spatial core
contributes ``r_p kh kw r_{p+1}``). ``TRLinear``: ``B r_0 r_p (N + M)`` plus the merges;
``TRConv2d``: ``B (H W C r_0 r_p + r_0 OH OW r_p r_{p+1} kh kw + OH OW r_0 r_{p+1} S)`` plus
the merges.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import autograd.numpy as anp
import numpy as np
from autograd.extend import defvjp_argnums, primitive

from ..._validation import check_array, check_int, check_ranks
from ...decompositions import tr_svd
from ...formats.tr import TRTensor
from ..conv import conv2d
from ..layers import linear
from ._ttcore import tt_merge
from .base import (
    LEGACY_CONV_LAYOUT,
    LEGACY_LINEAR_LAYOUT,
    FactorizedConv2d,
    FactorizedLinear,
    layer_dtype,
    legacy_layout,
    load_factors,
    record_conversion,
    resolve_modes,
)

__all__ = ["TRLinear", "TRConv2d"]

_DEFAULT_CORES = 3


def _n_cores(n_cores: int | None, modes: Sequence[int] | None) -> int:
    if modes is not None:
        return len(modes) if not isinstance(modes, (int, np.integer)) else 1
    if n_cores is not None:
        return check_int(n_cores, "n_cores", minimum=1)
    return _DEFAULT_CORES


def _ring_modes(
    in_size: int,
    out_size: int,
    in_modes: Any,
    out_modes: Any,
    n_cores: int | None,
    names: tuple[str, str],
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The input and output modes of a ring (their lengths may differ), each given or suggested
    with ``n_cores`` modes (default 3)."""
    ins = resolve_modes(in_size, in_modes, "in_modes", names[0], _n_cores(n_cores, in_modes))
    outs = resolve_modes(out_size, out_modes, "out_modes", names[1], _n_cores(n_cores, out_modes))
    return ins, outs


def merge_ring_cost(modes: Sequence[int], ranks: Sequence[int]) -> int:
    """Multiply-adds of merging 3-way cores ``(ranks[k], modes[k], ranks[k+1])`` left to right."""
    total, size = 0, modes[0]
    for j in range(1, len(modes)):
        total += ranks[0] * size * ranks[j] * modes[j] * ranks[j + 1]
        size *= modes[j]
    return total


def _merge3(cores: Sequence[Any]) -> Any:
    """3-way cores ``(r, n, r')`` merged into ``(r_first, prod n, r_last)`` (one primitive)."""
    as4 = [anp.reshape(g, (g.shape[0], g.shape[1], 1, g.shape[2])) for g in cores]
    merged = tt_merge(*as4, saved={})
    return anp.reshape(merged, (merged.shape[0], merged.shape[1], merged.shape[3]))


def _ring_ranks(ranks: Any, n: int) -> tuple[int, ...]:
    """``n`` ring ranks from an int or ``n`` values (``n + 1`` accepted when it closes)."""
    if isinstance(ranks, (Sequence, np.ndarray)) and not isinstance(ranks, (str, bytes)):
        seq = list(np.asarray(ranks).tolist()) if isinstance(ranks, np.ndarray) else list(ranks)
        if len(seq) == n + 1:
            full = check_ranks(seq, n + 1, "ranks")
            if full[0] != full[-1]:
                raise ValueError(
                    f"ranks[0]={full[0]} and ranks[{n}]={full[-1]} must be equal: a ring closes"
                )
            return full[:-1]
        return check_ranks(seq, n, "ranks")
    return check_ranks(ranks, n, "ranks")


@primitive
def conv1x1(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    """``1 x 1`` convolution of an NCHW batch: ``y[n] = w @ x[n] + b``, one stacked GEMM.

    No patch matrix: the input is read in place (one autograd primitive, hand-written VJP).

    Parameters
    ----------
    x : numpy.ndarray, shape (B, C, H, W)
        Input.
    w : numpy.ndarray, shape (O, C)
        The kernel as a matrix.
    b : numpy.ndarray, optional, shape (O,)
        Bias.

    Returns
    -------
    numpy.ndarray, shape (B, O, H, W)
    """
    n, c, h, wd = x.shape
    y = np.matmul(w, x.reshape(n, c, h * wd))
    if b is not None:
        y += b[:, None]
    return y.reshape(n, w.shape[0], h, wd)


def _conv1x1_vjp(argnums, ans, args, kwargs):
    x, w = args[0], args[1]
    n, c, h, wd = x.shape

    def vjp(g):
        g3 = np.ascontiguousarray(g).reshape(n, w.shape[0], h * wd)
        grads = []
        for argnum in argnums:
            if argnum == 0:
                grads.append(np.matmul(w.T, g3).reshape(x.shape))
            elif argnum == 1:
                x3 = x.reshape(n, c, h * wd)
                grads.append(np.matmul(g3, x3.transpose(0, 2, 1)).sum(axis=0))
            else:
                grads.append(g3.sum(axis=(0, 2)))
        return grads

    return vjp


defvjp_argnums(conv1x1, _conv1x1_vjp)


# ------------------------------------------------------------------------------ TRLinear
class TRLinear(FactorizedLinear):
    """Linear layer whose ``(in, out)`` weight is a tensor ring (Wang et al., CVPR 2018).

    Input cores ``in_core_k: (r_k, m_k, r_{k+1})``, output cores
    ``out_core_l: (r_{p+l}, n_l, r_{p+l+1})``, ring closed by ``r_{p+q} = r_0`` (module notes);
    forward ``(x A) B + b`` with the merged cores (two GEMMs).

    Initialization (survey Sec. II-B.2): all ``p + q`` cores from ``N(0, sigma^2)`` with
    ``Var(W) = P sigma^(2(p+q))``, ``P = r_0 r_1 ... r_{p+q-1}`` the product of all ring bonds,
    so ``sigma = (V / P)^(1/(2(p+q)))`` with ``V = g / N`` (He, ``g = 2``), ``2 / (N + M)``
    (Glorot) or ``1 / N`` (LeCun); for equal ranks ``R``, ``sigma^2 = (g/N)^(1/(p+q)) / R``.
    ``rescale=True`` rescales the first input core so that ``mean(W**2) = V`` exactly.

    Parameters
    ----------
    in_features, out_features : int
        ``N`` and ``M``.
    ranks : int or sequence of int
        One rank for every bond, or the ``p + q`` ring ranks ``(r_0, ..., r_{p+q-1})``
        (``p + q + 1`` values accepted when the last equals the first).
    in_modes, out_modes : sequence of int, optional
        ``m_k`` (length ``p``) and ``n_l`` (length ``q``); default
        :func:`~tensornet.nn.factorized.suggest_modes` with ``n_cores`` modes each.
    n_cores : int, optional
        Number of modes on a side whose modes are not given (default 3).
    bias, init, rescale, mode, random_state, dtype :
        As for :class:`~tensornet.nn.factorized.tt.TTLinear`.

    Raises
    ------
    ValueError
        If the modes do not multiply to the layer size, the number of ranks is not ``p + q``,
        or a rank is < 1.

    Examples
    --------
    >>> import numpy as np
    >>> layer = TRLinear(784, 625, ranks=5, in_modes=(4, 7, 4, 7), out_modes=(5, 5, 5, 5),
    ...                  random_state=0)
    >>> layer.n_params - 625  # 25 * (4 + 7 + 4 + 7 + 5 + 5 + 5 + 5)
    1050
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
        self.in_modes, self.out_modes = _ring_modes(
            in_features, out_features, in_modes, out_modes, n_cores, ("in_features", "out_features")
        )
        p, q = len(self.in_modes), len(self.out_modes)
        self.ranks = _ring_ranks(ranks, p + q)
        shapes = {f"in_core_{k}": shape for k, shape in enumerate(self.in_core_shapes)}
        shapes.update({f"out_core_{k}": shape for k, shape in enumerate(self.out_core_shapes)})
        self.init_factors(
            shapes, math.prod(self.ranks), init=init, random_state=random_state, dtype=dtype,
            bias=bias, rescale="in_core_0" if rescale else None,
        )  # fmt: skip

    @property
    def in_core_shapes(self) -> list[tuple[int, int, int]]:
        """``(r_k, m_k, r_{k+1})`` for the input cores."""
        r = self.ranks + (self.ranks[0],)
        return [(r[k], m, r[k + 1]) for k, m in enumerate(self.in_modes)]

    @property
    def out_core_shapes(self) -> list[tuple[int, int, int]]:
        """``(r_{p+l}, n_l, r_{p+l+1})`` for the output cores (``r_{p+q} = r_0``)."""
        r, p = self.ranks + (self.ranks[0],), len(self.in_modes)
        return [(r[p + k], n, r[p + k + 1]) for k, n in enumerate(self.out_modes)]

    def _factors(self, params: dict[str, Any]) -> tuple[Any, Any]:
        """``A: (N, r_0 r_p)`` and ``B: (r_0 r_p, M)`` with ``W = A B`` (module notes)."""
        p, q = len(self.in_modes), len(self.out_modes)
        f_in = _merge3([params[f"in_core_{k}"] for k in range(p)])
        f_out = _merge3([params[f"out_core_{k}"] for k in range(q)])
        inner = self.ranks[0] * self.ranks[p]
        a = anp.reshape(anp.transpose(f_in, (1, 0, 2)), (self.in_features, inner))
        b = anp.reshape(anp.transpose(f_out, (2, 0, 1)), (inner, self.out_features))
        return a, b

    def dense_weight(self, params: dict[str, Any]) -> Any:
        """``W = A B`` of shape ``(in_features, out_features)``."""
        a, b = self._factors(params)
        return anp.dot(a, b)

    def forward_factors(self, params: dict[str, Any], x: Any) -> Any:
        """``(x A) B + b``: merged cores, two GEMMs."""
        a, b = self._factors(params)
        return linear(linear(x, a), b, params.get("bias"))

    def _merge_flops(self) -> int:
        p, r = len(self.in_modes), self.ranks + (self.ranks[0],)
        return merge_ring_cost(self.in_modes, r[: p + 1]) + merge_ring_cost(self.out_modes, r[p:])

    def factor_flops(self, input_shape: Sequence[int]) -> int:
        """``B r_0 r_p (N + M)`` plus the merges."""
        inner = self.ranks[0] * self.ranks[len(self.in_modes)]
        batch = int(input_shape[0])
        return batch * inner * (self.in_features + self.out_features) + self._merge_flops()

    def reconstruction_flops(self) -> int:
        """The merges plus ``N r_0 r_p M`` for ``A B``."""
        inner = self.ranks[0] * self.ranks[len(self.in_modes)]
        return self._merge_flops() + self.in_features * inner * self.out_features

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
    ) -> TRLinear:
        """TR layer from a trained ``(in, out)`` weight by TR-SVD (pre-train).

        ``W`` reshaped to ``(m_1, ..., m_p, n_1, ..., n_q)`` is decomposed by
        :func:`tensornet.tr_svd` (rank caps ``ranks`` as ``p + q`` ring ranks or one int,
        error bound ``eps``; neither: exact). The achieved ranks become the layer's;
        ``layer.decomposition_info`` holds ``rel_error``, ``ranks`` and
        ``weight_rel_error``.

        Parameters
        ----------
        weight : array_like, shape (in_features, out_features)
            The dense weight.
        bias : array_like, optional
            Copied into the layer's bias.
        in_modes, out_modes, n_cores, mode :
            As for the constructor.
        ranks : int or sequence of int, optional
            Rank caps.
        eps : float, optional
            Relative error bound in ``[0, 1)``.
        dtype : numpy dtype, optional
            Parameter dtype (default: the weight's float dtype).

        Returns
        -------
        TRLinear
        """
        weight = check_array(weight, "weight", ndim=2)
        n, m = weight.shape
        ins, outs = _ring_modes(n, m, in_modes, out_modes, n_cores, ("in_features", "out_features"))
        caps = None if ranks is None else _ring_ranks(ranks, len(ins) + len(outs))
        tr = tr_svd(weight.reshape(ins + outs), ranks=caps, eps=eps)
        layer = cls(
            n, m, ranks=tr.ranks[:-1], in_modes=ins, out_modes=outs, bias=bias is not None,
            mode=mode, random_state=0, dtype=layer_dtype(weight, dtype),
        )  # fmt: skip
        p = len(ins)
        arrays = {f"in_core_{k}": g for k, g in enumerate(tr.cores[:p])}
        arrays.update({f"out_core_{k}": g for k, g in enumerate(tr.cores[p:])})
        load_factors(layer, arrays, bias)
        return record_conversion(layer, weight, tr.info)

    def to_format(self) -> TRTensor:
        """The weight as a :class:`~tensornet.TRTensor` of shape ``(m_1, ..., m_p, n_1, ...,
        n_q)`` (input cores, then output cores); ``full().reshape(N, M)`` is :meth:`weight`.

        Returns
        -------
        TRTensor
        """
        p = self.param_copies()
        names = [f"in_core_{k}" for k in range(len(self.in_modes))]
        names += [f"out_core_{k}" for k in range(len(self.out_modes))]
        return TRTensor([p[name] for name in names], copy=False)

    def extra_repr(self) -> str:
        return (
            f"{self.in_features}, {self.out_features}, in_modes={self.in_modes}, "
            f"out_modes={self.out_modes}, ranks={self.ranks}, mode={self.mode!r}"
        )


# ------------------------------------------------------------------------------ TRConv2d
class TRConv2d(FactorizedConv2d):
    """Convolution whose kernel is a tensor ring with a spatial core (survey eq. 10; TRN).

    ``K[s, c, p, q] = Tr(U_1[c_1] ... U_P[c_P] G[:, p, q, :] V_1[s_1] ... V_Q[s_Q])`` on a ring
    of ``P + Q + 1`` bonds ``(r_0, ..., r_{P+Q})`` (module notes); forward: three consecutive
    convolutions (``1 x 1``, ``kh x kw`` on ``r_0`` slices, ``1 x 1``).

    Initialization: all ``P + Q + 1`` cores from ``N(0, sigma^2)`` with
    ``Var(K) = P_r sigma^(2(P+Q+1))``, ``P_r`` the product of all ring bonds, so
    ``sigma = (V / P_r)^(1/(2(P+Q+1)))`` with ``V = g / (C kh kw)`` (He, ``g = 2``),
    ``2 / ((C + S) kh kw)`` (Glorot) or ``1 / (C kh kw)`` (LeCun). ``rescale=True`` rescales
    the spatial core so that ``mean(K**2) = V`` exactly.

    Parameters
    ----------
    in_channels, out_channels : int
        ``C`` and ``S``.
    kernel_size : int or (int, int)
        ``(kh, kw)``.
    ranks : int or sequence of int
        One rank, or the ``P + Q + 1`` ring ranks ``(r_0, ..., r_{P+Q})``: ``r_P`` and
        ``r_{P+1}`` are the spatial core's bonds.
    in_modes, out_modes : sequence of int, optional
        ``c_k`` (length ``P``) and ``s_l`` (length ``Q``); default :func:`suggest_modes`.
    n_cores : int, optional
        Number of modes on a side whose modes are not given (default 3).
    stride, padding : int or (int, int)
        As for :class:`~tensornet.nn.Conv2d`.
    bias, init, rescale, mode, random_state, dtype :
        As for :class:`TRLinear`.

    Raises
    ------
    ValueError
        If the modes do not multiply to the channel counts, the number of ranks is not
        ``P + Q + 1``, or a rank is < 1.
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
        self.in_modes, self.out_modes = _ring_modes(
            in_channels, out_channels, in_modes, out_modes, n_cores, ("in_channels", "out_channels")
        )
        p, q = len(self.in_modes), len(self.out_modes)
        self.ranks = _ring_ranks(ranks, p + q + 1)
        r = self.ranks + (self.ranks[0],)
        shapes = {f"in_core_{k}": shape for k, shape in enumerate(self.in_core_shapes)}
        shapes["spatial"] = (r[p],) + self.kernel_size + (r[p + 1],)
        shapes.update({f"out_core_{k}": shape for k, shape in enumerate(self.out_core_shapes)})
        self.init_factors(
            shapes, math.prod(self.ranks), init=init, random_state=random_state, dtype=dtype,
            bias=bias, rescale="spatial" if rescale else None,
        )  # fmt: skip

    @property
    def in_core_shapes(self) -> list[tuple[int, int, int]]:
        """``(r_k, c_k, r_{k+1})`` for the input cores."""
        r = self.ranks
        return [(r[k], c, r[k + 1]) for k, c in enumerate(self.in_modes)]

    @property
    def out_core_shapes(self) -> list[tuple[int, int, int]]:
        """``(r_{P+1+l}, s_l, r_{P+2+l})`` for the output cores (ring closed to ``r_0``)."""
        r, p = self.ranks + (self.ranks[0],), len(self.in_modes)
        return [(r[p + 1 + k], s, r[p + 2 + k]) for k, s in enumerate(self.out_modes)]

    def _merged(self, params: dict[str, Any]) -> tuple[Any, Any]:
        p, q = len(self.in_modes), len(self.out_modes)
        f_in = _merge3([params[f"in_core_{k}"] for k in range(p)])  # (r_0, C, r_P)
        f_out = _merge3([params[f"out_core_{k}"] for k in range(q)])  # (r_{P+1}, S, r_0)
        return f_in, f_out

    def dense_weight(self, params: dict[str, Any]) -> Any:
        """``K`` of shape ``(S, C, kh, kw)``: ``F_in``, spatial core and ``F_out`` contracted."""
        f_in, f_out = self._merged(params)
        r0, c, rp = f_in.shape
        re, s = f_out.shape[0], self.out_channels
        kh, kw = self.kernel_size
        t = anp.dot(
            anp.reshape(anp.transpose(f_in, (1, 0, 2)), (c * r0, rp)),
            anp.reshape(params["spatial"], (rp, kh * kw * re)),
        )  # (C, r_0, kh kw, r_e)
        t = anp.reshape(anp.transpose(anp.reshape(t, (c, r0, kh * kw, re)), (0, 2, 1, 3)),
                        (c * kh * kw, r0 * re))  # fmt: skip
        k = anp.dot(t, anp.reshape(anp.transpose(f_out, (2, 0, 1)), (r0 * re, s)))
        return anp.transpose(anp.reshape(k, (c, kh, kw, s)), (3, 0, 1, 2))

    def forward_factors(self, params: dict[str, Any], x: Any) -> Any:
        """Three consecutive convolutions (survey eq. 10; module notes)."""
        f_in, f_out = self._merged(params)
        r0, c, rp = f_in.shape
        re, s = f_out.shape[0], self.out_channels
        b = x.shape[0]
        w1 = anp.reshape(anp.transpose(f_in, (0, 2, 1)), (r0 * rp, c))
        z = conv1x1(x, w1)  # (B, r_0 r_P, H, W)
        z = anp.reshape(z, (b * r0, rp) + tuple(z.shape[2:]))
        spatial = anp.transpose(params["spatial"], (3, 0, 1, 2))  # (r_e, r_P, kh, kw)
        z = conv2d(z, spatial, None, self.stride, self.padding)  # (B r_0, r_e, OH, OW)
        z = anp.reshape(z, (b, r0 * re) + tuple(z.shape[2:]))
        w3 = anp.reshape(anp.transpose(f_out, (1, 2, 0)), (s, r0 * re))
        return conv1x1(z, w3, params.get("bias"))

    def _merge_flops(self) -> int:
        p, r = len(self.in_modes), self.ranks + (self.ranks[0],)
        return merge_ring_cost(self.in_modes, r[: p + 1]) + merge_ring_cost(
            self.out_modes, r[p + 1 :]
        )

    def factor_flops(self, input_shape: Sequence[int]) -> int:
        """``B (H W C r_0 r_P + r_0 OH OW r_P r_{P+1} kh kw + OH OW r_0 r_{P+1} S)`` + merges."""
        b, _, h, w = (int(v) for v in input_shape)
        oh, ow = self.output_size(input_shape)
        p = len(self.in_modes)
        r0, rp, re = self.ranks[0], self.ranks[p], self.ranks[p + 1]
        kh, kw = self.kernel_size
        first = h * w * self.in_channels * r0 * rp
        middle = r0 * oh * ow * rp * re * kh * kw
        last = oh * ow * r0 * re * self.out_channels
        return b * (first + middle + last) + self._merge_flops()

    def factor_activations(self, input_shape: Sequence[int]) -> int:
        """``B r_0 r_P H W`` after the first ``1 x 1`` convolution, the spatial convolution's
        patches and output on ``B r_0`` slices, and the output."""
        b, _, h, w = (int(v) for v in input_shape)
        oh, ow = self.output_size(input_shape)
        p = len(self.in_modes)
        r0, rp, re = self.ranks[0], self.ranks[p], self.ranks[p + 1]
        middle = b * r0 * oh * ow * (rp * math.prod(self.kernel_size) + re)
        return b * r0 * rp * h * w + middle + b * oh * ow * self.out_channels

    def reconstruction_flops(self) -> int:
        """The merges plus ``C r_0 r_P kh kw r_{P+1} + C kh kw r_0 r_{P+1} S``."""
        p = len(self.in_modes)
        r0, rp, re = self.ranks[0], self.ranks[p], self.ranks[p + 1]
        khw = math.prod(self.kernel_size)
        c, s = self.in_channels, self.out_channels
        return self._merge_flops() + c * r0 * rp * khw * re + c * khw * r0 * re * s

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
    ) -> TRConv2d:
        """TR-conv layer from a trained ``(S, C, kh, kw)`` kernel by TR-SVD (pre-train).

        The kernel is reshaped to ``(c_1, ..., c_P, kh kw, s_1, ..., s_Q)`` and decomposed by
        :func:`tensornet.tr_svd` (rank caps ``ranks``: one int or the ``P + Q + 1`` ring
        ranks; error bound ``eps``; neither: exact). ``layer.decomposition_info`` holds
        ``rel_error`` and ``weight_rel_error``.

        Parameters
        ----------
        weight : array_like, shape (S, C, kh, kw)
            The dense kernel.
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
        TRConv2d
        """
        weight = check_array(weight, "weight", ndim=4)
        s, c, kh, kw = weight.shape
        ins, outs = _ring_modes(c, s, in_modes, out_modes, n_cores, ("in_channels", "out_channels"))
        p, q = len(ins), len(outs)
        caps = None if ranks is None else _ring_ranks(ranks, p + q + 1)
        t = weight.transpose(1, 2, 3, 0).reshape(ins + (kh * kw,) + outs)
        tr = tr_svd(t, ranks=caps, eps=eps)
        layer = cls(
            c, s, (kh, kw), ranks=tr.ranks[:-1], in_modes=ins, out_modes=outs, stride=stride,
            padding=padding, bias=bias is not None, mode=mode, random_state=0,
            dtype=layer_dtype(weight, dtype),
        )  # fmt: skip
        g = tr.cores[p]
        arrays = {f"in_core_{k}": core for k, core in enumerate(tr.cores[:p])}
        arrays["spatial"] = g.reshape(g.shape[0], kh, kw, g.shape[2])
        arrays.update({f"out_core_{k}": core for k, core in enumerate(tr.cores[p + 1 :])})
        load_factors(layer, arrays, bias)
        return record_conversion(layer, weight, tr.info)

    def to_format(self) -> TRTensor:
        """The kernel as a :class:`~tensornet.TRTensor` of shape ``(c_1, ..., c_P, kh kw, s_1,
        ..., s_Q)``, the spatial core in the middle of the ring (the tensorization
        :meth:`from_weight` decomposes): ``full().reshape(C, kh, kw, S)`` transposed by
        ``(3, 0, 1, 2)`` is :meth:`weight`.

        Returns
        -------
        TRTensor
        """
        p = self.param_copies()
        g = p["spatial"]
        cores = [p[f"in_core_{k}"] for k in range(len(self.in_modes))]
        cores.append(g.reshape(g.shape[0], -1, g.shape[3]))
        cores += [p[f"out_core_{k}"] for k in range(len(self.out_modes))]
        return TRTensor(cores, copy=False)

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"in_modes={self.in_modes}, out_modes={self.out_modes}, ranks={self.ranks}, "
            f"stride={self.stride}, padding={self.padding}, mode={self.mode!r}"
        )
