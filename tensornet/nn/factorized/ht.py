"""Hierarchical Tucker linear layer (Wu et al. 2020; survey eq. 6-7 and the chain of Fig. 3).

The weight ``W`` of shape ``(N, M) = (prod m_k, prod n_k)`` is tensorized like a TT-matrix:
mode ``k`` of ``T[(i_1 n_1 + j_1), ..., (i_d n_d + j_d)] = W[(i_1..i_d), (j_1..j_d)]`` pairs the
input index ``i_k`` (slow) with the output index ``j_k`` (fast), C order on both sides. ``T`` is
held in hierarchical Tucker format on a binary dimension tree: a leaf ``U_k`` of shape
``(m_k, n_k, r_k)`` per mode, a transfer tensor ``B_t`` of shape ``(r_l, r_r, r_t)`` per
interior node and a ``(r_l, r_r)`` matrix at the root (:class:`~tensornet.formats.HTTensor`).

Forward (survey Fig. 3): the batch ``x`` reshaped to ``(B, m_1, ..., m_d)`` is contracted with
the ``2d - 1`` nodes, each step one GEMM; the order is the one with the fewest multiply-adds for
the batch size (exact search over pairwise orders up to ``d = 5``, greedy beyond; small
weight-side merges such as a leaf with its parent's transfer tensor happen before they meet
``x``, so that sibling ranks never multiply inside the batch intermediate; see
``docs/guide/layers-ht-kron-stt.md``). The whole chain is one autograd primitive.

Initialization (pre-set): every entry of ``W`` sums ``P = prod_{t != root} r_t`` products of
``2d - 1`` node entries, so ``Var(W) = P sigma^(2(2d-1))`` and the node std is
``sigma = (Var_target / P)^(1 / (2(2d - 1)))`` with ``Var_target = 2 / N`` (He) or
``2 / (N + M)`` (Glorot).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..._validation import check_array, check_int
from ...decompositions.ht import ht_max_ranks, ht_svd
from ...formats.ht import DimensionTree, HTTensor, _as_tree
from ._network import Network, NetworkLinear, factor_cap, interleave
from .base import (
    layer_dtype,
    legacy_layout,
    load_factors,
    record_conversion,
    resolve_mode_pair,
    weight_modes,
)

__all__ = ["HTLinear"]


def _node_ranks(ranks: Any, shape: tuple[int, ...], tree: DimensionTree) -> list[int]:
    """Rank of every node in ``tree.nodes`` order (root 1); an int is capped per node."""
    maximum = ht_max_ranks(shape, tree)
    if isinstance(ranks, (int, np.integer)) and not isinstance(ranks, bool):
        r = check_int(ranks, "ranks", minimum=1)
        return [1] + [min(r, m) for m in maximum[1:]]
    if isinstance(ranks, (str, bytes)) or not isinstance(ranks, (Sequence, np.ndarray)):
        raise TypeError(f"ranks must be an int or a sequence of ints, got {ranks!r}")
    ranks = list(ranks)
    if len(ranks) != tree.n_nodes - 1:
        raise ValueError(
            f"ranks must be an int or {tree.n_nodes - 1} ints (one per non-root node in "
            f"tree.nodes[1:] order: {tree.nodes[1:]}), got length {len(ranks)}"
        )
    out = [1]
    for t, r in enumerate(ranks, start=1):
        r = check_int(r, f"ranks[{t - 1}]", minimum=1)
        if r > maximum[t]:
            raise ValueError(
                f"ranks[{t - 1}]={r} exceeds the largest useful rank {maximum[t]} of node "
                f"{tree.nodes[t]} for the mode sizes {shape} (m_k * n_k)"
            )
        out.append(r)
    return out


class HTLinear(NetworkLinear):
    """Linear layer whose ``(N, M)`` weight is a hierarchical Tucker tensor (Wu et al. 2020).

    ``y = x W + b`` with ``W`` the HT tensor of mode sizes ``m_k n_k`` read as a matrix (see the
    module docstring; survey eq. 6-7, chain computation of Fig. 3).

    Parameters
    ----------
    in_features, out_features : int
        ``N`` and ``M`` of the dense equivalent.
    ranks : int or sequence of int
        Node ranks: an ``int`` for every non-root node (capped at each node's largest useful
        rank, :func:`~tensornet.decompositions.ht_max_ranks`) or one per non-root node in
        ``tree.nodes[1:]`` order.
    in_modes, out_modes : sequence of int, optional
        ``(m_1, ..., m_d)`` and ``(n_1, ..., n_d)`` with ``N = prod m_k``, ``M = prod n_k``,
        ``d >= 2``; by default :func:`~tensornet.nn.factorized.suggest_modes` with
        ``d = n_cores``.
    n_cores : int, optional
        ``d`` when no modes are given (default: the given modes' length, the tree's, else 3).
    tree : DimensionTree or nested sequence, optional
        The dimension tree over the ``d`` mode pairs; balanced by default.
    bias : bool
        Learn an additive bias (zero at start).
    init : {"he", "glorot", "lecun"}
        Target variance of the implied dense weight (``2/N``, ``2/(N+M)``, ``1/N``).
    rescale : bool
        After sampling, scale the first leaf so that ``mean(W**2)`` equals the target exactly.
    mode : {"auto", "factors", "dense"}
        Forward path (see :class:`~tensornet.nn.factorized.FactorizedLayer`).
    random_state : None, int or numpy.random.Generator
        Seed of the initialization.
    dtype : numpy dtype
        Parameter dtype (float32 by default).

    Attributes
    ----------
    tree : DimensionTree
    ranks : tuple of int
        Rank of every non-root node in ``tree.nodes[1:]`` order (the form ``ranks`` takes).
    info : dict
        Set by :meth:`from_weight`: the decomposition's report (``rel_error``, ...).

    Examples
    --------
    >>> layer = HTLinear(784, 625, ranks=4, in_modes=(4, 7, 4, 7), out_modes=(5, 5, 5, 5),
    ...                  random_state=0)
    >>> layer.weight().shape, layer.n_params
    ((784, 625), 1209)
    """

    @legacy_layout("in_modes", "out_modes", "ranks", modes_first=True)
    def __init__(
        self,
        in_features: int,
        out_features: int,
        ranks: int | Sequence[int] = 8,
        *,
        in_modes: Sequence[int] | None = None,
        out_modes: Sequence[int] | None = None,
        n_cores: int | None = None,
        tree: Any = None,
        bias: bool = True,
        init: str = "he",
        rescale: bool = False,
        mode: str = "auto",
        random_state: Any = None,
        dtype: Any = np.float32,
    ) -> None:
        super().__init__(in_features, out_features, mode)
        n, m = self.in_features, self.out_features
        if n_cores is None and isinstance(tree, DimensionTree):
            n_cores = tree.d
        ins, outs = resolve_mode_pair(n, m, in_modes, out_modes, n_cores, min_modes=2)
        self.in_modes, self.out_modes = ins, outs
        d = len(ins)
        self.tree = _as_tree(tree, d)
        shape = tuple(m * n for m, n in zip(ins, outs, strict=True))
        self._node_rank = tuple(_node_ranks(ranks, shape, self.tree))
        self.ranks = self._node_rank[1:]
        shapes, labels = self._factor_layout()
        self._names = list(shapes)
        self._build_networks(shapes, labels)

        self.init_factors(
            shapes, math.prod(self.ranks), init=init, random_state=random_state, dtype=dtype,
            bias=bias, rescale=self._names[0] if rescale else None,
        )  # fmt: skip

    # ----------------------------------------------------------------- structure
    def _factor_layout(self) -> tuple[dict[str, tuple[int, ...]], dict[str, tuple]]:
        """Shapes and index labels of the leaves (by mode) and transfer tensors (by node)."""
        tree, shapes, labels = self.tree, {}, {}
        for k in range(tree.d):
            t = tree.leaf_of_mode(k)
            shapes[f"leaf_{k}"] = (self.in_modes[k], self.out_modes[k], self._node_rank[t])
            labels[f"leaf_{k}"] = (("i", k), ("j", k), ("a", t))
        for t in tree.interior:
            left, right = tree.children[t]
            if t == 0:
                shapes["root"] = (self._node_rank[left], self._node_rank[right])
                labels["root"] = (("a", left), ("a", right))
            else:
                r = self._node_rank
                shapes[f"transfer_{t}"] = (r[left], r[right], r[t])
                labels[f"transfer_{t}"] = (("a", left), ("a", right), ("a", t))
        return shapes, labels

    def _build_networks(self, shapes: dict, labels: dict) -> None:
        d = self.tree.d
        sizes = {}
        for name, shape in shapes.items():
            sizes.update(zip(labels[name], shape, strict=True))
        ins = tuple(("i", k) for k in range(d))
        outs = tuple(("j", k) for k in range(d))
        factor_labels = [labels[name] for name in shapes]
        n_weights = sum(math.prod(s) for s in shapes.values())
        self._net = Network(
            [("b",) + ins, *factor_labels],
            ("b",) + outs,
            sizes,
            batch_label="b",
            data=0,
            weight_cap=factor_cap(n_weights, self.in_features * self.out_features),
        )
        self._dense_net = Network(factor_labels, ins + outs, sizes)

    # ----------------------------------------------------------------- computation
    def network_factors(self, params: dict[str, Any]) -> list[Any]:
        """The HT nodes, leaves first, in the order of the networks."""
        return [params[name] for name in self._names]

    def to_format(self) -> HTTensor:
        """The weight as an :class:`~tensornet.formats.HTTensor` of mode sizes ``m_k n_k``.

        Returns
        -------
        HTTensor
        """
        p = self.param_copies()
        leaves = [
            p[f"leaf_{k}"].reshape(self.in_modes[k] * self.out_modes[k], -1)
            for k in range(self.tree.d)
        ]
        transfers = {t: p[f"transfer_{t}"] for t in self.tree.interior if t != 0}
        transfers[0] = p["root"]
        return HTTensor(self.tree, leaves, transfers)

    # ----------------------------------------------------------------- pre-train
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
        tree: Any = None,
        mode: str = "auto",
        dtype: Any = None,
    ) -> HTLinear:
        """HT layer from a trained ``(N, M)`` weight by hierarchical SVD (Grasedyck 2010).

        The weight is tensorized as in the module docstring and decomposed by
        :func:`~tensornet.decompositions.ht_svd` in float64; ``info`` keeps its error report.
        With neither ``ranks`` nor ``eps`` the conversion is exact.

        Parameters
        ----------
        weight : array_like, shape (N, M)
            Dense weight in :class:`~tensornet.nn.Linear`'s layout.
        bias : array_like, shape (M,), optional
            Copied into the layer (no bias parameter when ``None``).
        in_modes, out_modes, n_cores :
            Tensorization of ``N`` and ``M``, as for the constructor.
        ranks : int or sequence of int, optional
            Rank caps, as in :func:`~tensornet.decompositions.ht_svd`.
        eps : float, optional
            Relative Frobenius error bound of the weight.
        tree : DimensionTree or nested sequence, optional
            Dimension tree (balanced by default).
        mode : {"auto", "factors", "dense"}
            Forward path.
        dtype : numpy dtype, optional
            Parameter dtype; that of ``weight`` by default.

        Returns
        -------
        HTLinear
        """
        w = check_array(weight, "weight", ndim=2)
        if n_cores is None and isinstance(tree, DimensionTree):
            n_cores = tree.d
        ins, outs = weight_modes(w, in_modes, out_modes, n_cores, min_modes=2)
        dtype = layer_dtype(w, dtype)
        h = ht_svd(interleave(w.astype(np.float64), ins, outs), ranks=ranks, eps=eps, tree=tree)
        layer = cls(
            *w.shape, h.ranks[1:], in_modes=ins, out_modes=outs, tree=h.tree,
            bias=bias is not None, dtype=dtype, mode=mode,
        )  # fmt: skip
        factors = {f"leaf_{k}": h.leaves[k].reshape(ins[k], outs[k], -1) for k in range(len(ins))}
        for t in h.tree.interior:
            value = h.transfers[t][:, :, 0] if t == 0 else h.transfers[t]
            factors["root" if t == 0 else f"transfer_{t}"] = value
        load_factors(layer, factors, bias)
        return record_conversion(layer, w, h.info)

    def extra_repr(self) -> str:
        return (
            f"{self.in_features}, {self.out_features}, ranks={self.ranks}, "
            f"in_modes={self.in_modes}, out_modes={self.out_modes}, tree={self.tree.spec}, "
            f"mode={self.mode!r}"
        )
