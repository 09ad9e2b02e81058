"""Semi-tensor-train linear layer (Zhao et al., arXiv 2109.15200; survey eq. 14-16).

The weight ``W`` of shape ``(N, M) = (prod m_k, prod n_k)`` is tensorized like a TT-matrix,
``T[(i_1 n_1 + j_1), ..., (i_d n_d + j_d)] = W[(i_1..i_d), (j_1..j_d)]``, and ``T`` is held in
the semi-tensor-train format :class:`~tensornet.formats.STTTensor` with STP factor ``t``
(our reading of the format, see ``docs/guide/stp-formats.md``): the first core ``G_1`` has shape
``(m_1 n_1 / t, r_1)`` and keeps full bonds; every later core is ``t`` times narrower on both
bonds, ``G_k`` of shape ``(r_{k-1}/t, m_k, n_k, r_k/t)``, ending in ``r_d = t``. The chain of
semi-tensor products ``G_1 ⋉ G_2 ⋉ ... ⋉ G_d`` is a ``1 x t`` row whose entry ``s`` is the
element with first index ``i'_1 t + s``.

Forward. ``G_1 ⋉ (G_2 ⋯ G_d) = G_1 ((G_2 ⋯ G_d) ⊗ I_t)``: expanding ``⊗ I_t`` would carry an
extra axis of size ``t`` through every core. Instead the layer uses the exact identity
:meth:`~tensornet.formats.STTTensor.to_tt`: the same weight is a TT-matrix with ranks
``q_k = r_k / t`` whose first core is ``G_1`` re-indexed,
``G~_1[i'_1 t + s, a] = G_1[i'_1, a t + s]`` (one reshape and one transpose of a small array).
The batch is then contracted with ``G~_1, G_2, ..., G_d`` (one GEMM per step, order chosen for
the fewest multiply-adds, one autograd primitive): the STP layer costs what a TT layer of
ranks ``r/t`` costs, ``t`` times fewer multiply-adds per core than the ``⊗ I_t`` expansion.

Parameters: ``m_1 n_1 r_1 / t + sum_{k>=2} m_k n_k r_{k-1} r_k / t^2`` (with ``r_d = t``).

Initialization (pre-set): each entry of ``W`` is a sum over the ``P = prod_{k<d} r_k / t``
reduced bond paths (the ``t`` index is fixed by the entry, not summed) of products of ``d``
core entries, so ``Var(W) = P sigma^(2d)`` and
``sigma = (Var_target / P)^(1/(2d))``, ``Var_target = 2 / N`` (He) or ``2 / (N + M)`` (Glorot).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import autograd.numpy as anp
import numpy as np

from ..._validation import check_array, check_int, check_ranks
from ...decompositions.stp import stt_svd
from ...formats.stp import STTTensor
from ._network import Network, NetworkLinear, factor_cap, interleave
from .base import (
    layer_dtype,
    legacy_layout,
    load_factors,
    record_conversion,
    resolve_mode_pair,
    weight_modes,
)

__all__ = ["STTLinear"]


def _stt_ranks(ranks: Any, t: int, sizes: tuple[int, ...]) -> tuple[int, ...]:
    """Full STT bond sizes ``r_1..r_{d-1}`` (multiples of ``t``), an int capped per bond."""
    d = len(sizes)
    # largest useful reduced rank of bond k: min(prod of the sizes left of it, right of it)
    maximum = [min(math.prod(sizes[: k + 1]), math.prod(sizes[k + 1 :])) for k in range(d - 1)]
    if isinstance(ranks, (int, np.integer)) and not isinstance(ranks, bool):
        r = check_int(ranks, "ranks", minimum=1)
        if r % t:
            raise ValueError(f"ranks={r} must be a multiple of t={t} (core k >= 2 stores r/t)")
        return tuple(t * min(r // t, m) for m in maximum)
    out = check_ranks(ranks, d - 1, "ranks", allow_int=False)
    for k, r in enumerate(out):
        if r % t:
            raise ValueError(f"ranks[{k}]={r} must be a multiple of t={t}")
        if r // t > maximum[k]:
            raise ValueError(
                f"ranks[{k}]={r} exceeds the largest useful rank t * {maximum[k]} = "
                f"{t * maximum[k]} of bond {k + 1} for the mode sizes {sizes} (m_k * n_k)"
            )
    return out


class STTLinear(NetworkLinear):
    """Linear layer whose weight is a semi-tensor train (Zhao et al., arXiv 2109.15200).

    See the module docstring for the tensorization, the cores, the forward identity and the
    initialization.

    Parameters
    ----------
    in_features, out_features : int
        ``N`` and ``M`` of the dense equivalent.
    ranks : int or sequence of int
        Full STT bond sizes ``r_1, ..., r_{d-1}``, multiples of ``t`` (an ``int`` for every
        bond, capped at the largest useful size).
    t : int
        The STP factor (``t = 1`` is the TT-matrix layer).
    in_modes, out_modes : sequence of int, optional
        ``(m_1, ..., m_d)`` and ``(n_1, ..., n_d)``, ``d >= 2``; ``t`` divides ``m_1 n_1``; by
        default :func:`~tensornet.nn.factorized.suggest_modes` with ``d = n_cores``.
    n_cores : int, optional
        ``d`` when no modes are given (default: the given modes' length, else 3).
    bias : bool
        Learn an additive bias (zero at start).
    init : {"he", "glorot", "lecun"}
        Target variance of the implied dense weight.
    rescale : bool
        Scale the first core after sampling so that ``mean(W**2)`` equals the target exactly.
    mode : {"auto", "factors", "dense"}
        Forward path (see :class:`~tensornet.nn.factorized.FactorizedLayer`).
    random_state : None, int or numpy.random.Generator
        Seed of the initialization.
    dtype : numpy dtype
        Parameter dtype (float32 by default).

    Attributes
    ----------
    ranks : tuple of int
        ``(r_1, ..., r_{d-1})``.
    info : dict
        Set by :meth:`from_weight`: the decomposition's report.

    Examples
    --------
    >>> layer = STTLinear(784, 625, ranks=8, t=2, in_modes=(4, 7, 4, 7),
    ...                   out_modes=(5, 5, 5, 5), random_state=0)
    >>> layer.weight().shape, layer.n_params
    ((784, 625), 1725)
    """

    @legacy_layout("in_modes", "out_modes", "ranks", "t", modes_first=True)
    def __init__(
        self,
        in_features: int,
        out_features: int,
        ranks: int | Sequence[int] = 8,
        *,
        t: int = 2,
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
        n, m = self.in_features, self.out_features
        ins, outs = resolve_mode_pair(n, m, in_modes, out_modes, n_cores, min_modes=2)
        self.in_modes, self.out_modes = ins, outs
        self.t = check_int(t, "t", minimum=1)
        sizes = tuple(m * n for m, n in zip(ins, outs, strict=True))
        if sizes[0] % self.t:
            raise ValueError(
                f"t={self.t} must divide the first mode size m_1 * n_1 = {ins[0]} * {outs[0]} = "
                f"{sizes[0]}"
            )
        self.ranks = _stt_ranks(ranks, self.t, sizes)
        d, q = len(ins), [r // self.t for r in self.ranks]
        shapes: dict[str, tuple[int, ...]] = {"core_0": (sizes[0] // self.t, self.ranks[0])}
        labels: list[tuple] = [(("i", 0), ("j", 0), ("a", 1))]
        net_sizes = {("i", 0): ins[0], ("j", 0): outs[0], ("a", 1): q[0]}
        for k in range(1, d):
            ik, jk = ("i", k), ("j", k)
            net_sizes.update({ik: ins[k], jk: outs[k]})
            if k < d - 1:
                shapes[f"core_{k}"] = (q[k - 1], ins[k], outs[k], q[k])
                labels.append((("a", k), ik, jk, ("a", k + 1)))
                net_sizes[("a", k + 1)] = q[k]
            else:
                shapes[f"core_{k}"] = (q[k - 1], ins[k], outs[k])
                labels.append((("a", k), ik, jk))
        self._names = list(shapes)
        ins_l = tuple(("i", k) for k in range(d))
        outs_l = tuple(("j", k) for k in range(d))
        n_weights = sum(math.prod(s) for s in shapes.values())
        self._net = Network(
            [("b",) + ins_l, *labels],
            ("b",) + outs_l,
            net_sizes,
            batch_label="b",
            data=0,
            weight_cap=factor_cap(n_weights, self.in_features * self.out_features),
        )
        self._dense_net = Network(labels, ins_l + outs_l, net_sizes)

        self.init_factors(
            shapes, math.prod(q), init=init, random_state=random_state, dtype=dtype, bias=bias,
            rescale="core_0" if rescale else None,
        )  # fmt: skip

    # ----------------------------------------------------------------- computation
    def _tt_cores(self, params: dict[str, Any]) -> list[Any]:
        """``G~_1`` (re-indexed, shape ``(m_1, n_1, r_1/t)``) followed by ``G_2, ..., G_d``."""
        g1 = params["core_0"]
        q1 = self.ranks[0] // self.t
        first = anp.reshape(g1, (g1.shape[0], q1, self.t))
        first = anp.reshape(
            anp.transpose(first, (0, 2, 1)), (self.in_modes[0], self.out_modes[0], q1)
        )
        return [first] + [params[name] for name in self._names[1:]]

    network_factors = _tt_cores

    def to_format(self) -> STTTensor:
        """The weight as an :class:`~tensornet.formats.STTTensor` of mode sizes ``m_k n_k``.

        Returns
        -------
        STTTensor
        """
        p = self.param_copies()
        cores = [p["core_0"][None]]
        for name in self._names[1:]:
            g = p[name]
            cores.append(g.reshape(g.shape[0], g.shape[1] * g.shape[2], -1))
        return STTTensor(cores, self.t)

    # ----------------------------------------------------------------- pre-train
    @classmethod
    def from_weight(
        cls,
        weight: np.ndarray,
        bias: np.ndarray | None = None,
        *,
        in_modes: Sequence[int] | None = None,
        out_modes: Sequence[int] | None = None,
        t: int = 2,
        ranks: int | Sequence[int] | None = None,
        eps: float | None = None,
        n_cores: int | None = None,
        mode: str = "auto",
        dtype: Any = None,
    ) -> STTLinear:
        """STT layer from a trained ``(N, M)`` weight by :func:`~tensornet.decompositions.stt_svd`.

        The weight is tensorized as in the module docstring and decomposed in float64 (TT-SVD of
        the reduced problem with ranks ``r_k / t``, so TT-SVD's bound
        ``||W - W_STT|| <= eps ||W||`` holds); ``info`` keeps the report. With neither
        ``ranks`` nor ``eps`` the conversion is exact.

        Parameters
        ----------
        weight : array_like, shape (N, M)
            Dense weight in :class:`~tensornet.nn.Linear`'s layout.
        bias : array_like, shape (M,), optional
            Copied into the layer.
        in_modes, out_modes, n_cores :
            Tensorization of ``N`` and ``M``, as for the constructor.
        t : int
            The STP factor.
        ranks : int or sequence of int, optional
            Caps on the full bond sizes (multiples of ``t``).
        eps : float, optional
            Relative Frobenius error bound of the weight.
        mode : {"auto", "factors", "dense"}
            Forward path.
        dtype : numpy dtype, optional
            Parameter dtype; that of ``weight`` by default.

        Returns
        -------
        STTLinear
        """
        w = check_array(weight, "weight", ndim=2)
        ins, outs = weight_modes(w, in_modes, out_modes, n_cores, min_modes=2)
        dtype = layer_dtype(w, dtype)
        s = stt_svd(interleave(w.astype(np.float64), ins, outs), ranks=ranks, eps=eps, t=t)
        layer = cls(
            *w.shape, s.ranks[1:-1], t=s.t, in_modes=ins, out_modes=outs,
            bias=bias is not None, dtype=dtype, mode=mode,
        )  # fmt: skip
        factors = {"core_0": s.cores[0][0]}
        for k in range(1, len(ins)):
            factors[f"core_{k}"] = s.cores[k].reshape(layer._params[f"core_{k}"].shape)
        load_factors(layer, factors, bias)
        return record_conversion(layer, w, s.info)

    def extra_repr(self) -> str:
        return (
            f"{self.in_features}, {self.out_features}, ranks={self.ranks}, t={self.t}, "
            f"in_modes={self.in_modes}, out_modes={self.out_modes}, mode={self.mode!r}"
        )
