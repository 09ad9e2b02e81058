"""A small tensor-network engine: labelled operands, an optimal pairwise order, one primitive.

The factorized layers of :mod:`tensornet.nn.factorized.ht`, :mod:`~tensornet.nn.factorized.kron`
and :mod:`~tensornet.nn.factorized.stt` are contractions of a batch ``x`` with a few factors.
Each is described once as a :class:`Network` (every operand a tuple of index labels, every
label of a known size). The network is contracted pairwise, each step one GEMM on reshaped
operands: an operand whose contracted labels form a leading or trailing block in memory enters
BLAS as a (transposed) view, any other is transposed into a copy first. No ``einsum`` at run
time. A copy of an intermediate replaces it for its later uses (the backward pass contracts
it over the complementary labels, which are then a leading block), so each large intermediate
is copied at most once per pass where the plan allows; the copies that remain are the main cost
beyond the GEMMs (a layout-aware order could avoid more of them).

Order. :meth:`Network.plan` finds the pairwise order with the fewest multiply-adds by dynamic
programming over subsets of operands (exact, for up to :data:`EXACT_MAX_OPERANDS` operands; a
pair is merged only if it shares a label); larger networks (an HT layer with ``d > 5`` mode
pairs) are planned greedily. For the factor path a cap keeps every intermediate that does not
involve ``x`` at most ``weight_cap`` entries, so the forward never rebuilds the dense weight
behind the user's back (that is the ``"dense"`` path, chosen by the FLOP rule of the base).

Autograd. :func:`contract` is one :func:`autograd.extend.primitive`: autograd records one node
per layer. Its vector-Jacobian product walks the same steps backwards; the gradient of a
pairwise contraction ``C = A · B`` is the contraction of ``dC`` with the other operand, so the
backward pass costs at most twice the forward. Intermediates of the forward pass are kept on a
:class:`Tape` passed along as an argument, so the backward pass does not recompute them.

Each label appears in exactly two places (two operands, or one operand and the output): the
networks of these layers have no hyperedges, which :class:`Network` checks.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from typing import Any

import autograd.numpy as anp
import numpy as np
from autograd.extend import defvjp_argnums, primitive

from .base import FactorizedLinear

__all__ = ["Network", "Tape", "contract"]

Label = Hashable

#: Networks with at most this many operands are planned exactly (dynamic programming over
#: subsets, ``3^n`` work); larger ones greedily (cheapest pairwise merge first).
EXACT_MAX_OPERANDS = 10


def _pair_labels(left: Sequence[Label], right: Sequence[Label]) -> tuple:
    """Labels of the contraction of two operands: their unshared labels, left ones first."""
    shared = set(left) & set(right)
    return tuple(lab for lab in left if lab not in shared) + tuple(
        lab for lab in right if lab not in shared
    )


class Tape:
    """Holder of the intermediates of one :func:`contract` call (reused by its VJP)."""

    __slots__ = ("values",)

    def __init__(self) -> None:
        self.values: tuple[list[np.ndarray], list[tuple]] | None = None


class Network:
    """Operands given by their index labels, an output label order and the label sizes.

    Parameters
    ----------
    operands : sequence of sequence of hashable
        Labels of every operand's axes, in argument order.
    output : sequence of hashable
        Labels of the result's axes.
    sizes : dict
        Size of every label; the label ``batch_label`` may be missing (given per plan).
    batch_label : hashable, optional
        The label whose size is the batch (it varies between calls).
    data : int, optional
        Index of the operand holding the data ``x``; weight-only intermediates (those not
        containing it) are capped by ``weight_cap`` entries.
    weight_cap : int, optional
        Largest allowed weight-only intermediate.
    """

    def __init__(
        self,
        operands: Sequence[Sequence[Label]],
        output: Sequence[Label],
        sizes: dict[Label, int],
        batch_label: Label | None = None,
        data: int | None = None,
        weight_cap: int | None = None,
    ) -> None:
        self.operands = [tuple(o) for o in operands]
        self.output = tuple(output)
        self.sizes = dict(sizes)
        self.batch_label = batch_label
        self.data = data
        self.weight_cap = weight_cap
        count: dict[Label, int] = {}
        for labels in [*self.operands, self.output]:
            for lab in labels:
                count[lab] = count.get(lab, 0) + 1
        bad = [lab for lab, c in count.items() if c != 2]
        if bad:  # a programming error in a layer, not a user error
            raise AssertionError(f"labels {bad} must appear exactly twice")
        self._count = count
        self._plans: dict[int, tuple[list[tuple[int, int, tuple]], int]] = {}

    # ----------------------------------------------------------------- planning
    def _size(self, labels: Sequence[Label], batch: int) -> int:
        return math.prod(batch if lab == self.batch_label else self.sizes[lab] for lab in labels)

    def plan(self, batch: int = 1) -> tuple[list[tuple[int, int, tuple]], int]:
        """Pairwise order with the fewest multiply-adds for this batch size (cached).

        Parameters
        ----------
        batch : int
            Size of the batch label.

        Returns
        -------
        steps : list of (int, int, tuple)
            Node ``n + k`` is the contraction of nodes ``steps[k][0]`` and ``steps[k][1]``
            (operands are nodes ``0..n-1``); ``steps[k][2]`` are its labels.
        flops : int
            Multiply-adds of the whole contraction.
        """
        if batch not in self._plans:
            exact = len(self.operands) <= EXACT_MAX_OPERANDS
            self._plans[batch] = self._optimal(batch) if exact else self._greedy(batch)
        return self._plans[batch]

    def _greedy(self, batch: int) -> tuple[list[tuple[int, int, tuple]], int]:
        """Merge the pair sharing a label with the fewest multiply-adds, until one is left."""
        n = len(self.operands)
        labels = list(self.operands)
        alive = list(range(n))
        has_data = [i == self.data for i in range(n)]
        steps: list[tuple[int, int, tuple]] = []
        total = 0
        while len(alive) > 1:
            choice = None
            for p, a in enumerate(alive):
                for b in alive[p + 1 :]:
                    shared = set(labels[a]) & set(labels[b])
                    if not shared:
                        continue
                    out = _pair_labels(labels[a], labels[b])
                    if (
                        self.weight_cap is not None
                        and not (has_data[a] or has_data[b])
                        and self._size(out, batch) > self.weight_cap
                    ):
                        continue
                    cost = self._size(tuple(set(labels[a]) | set(labels[b])), batch)
                    key = (cost, self._size(out, batch))
                    if choice is None or key < choice[0]:
                        choice = (key, a, b, out)
            if choice is None:
                raise AssertionError("the network is not connected under the weight cap")
            (cost, _), a, b, out = choice
            steps.append((a, b, out))
            labels.append(out)
            has_data.append(has_data[a] or has_data[b])
            alive = [i for i in alive if i not in (a, b)] + [len(labels) - 1]
            total += cost
        return steps, total

    def _optimal(self, batch: int) -> tuple[list[tuple[int, int, tuple]], int]:
        """Dynamic programming over subsets: the cheapest split of every connected subset."""
        n = len(self.operands)
        full = (1 << n) - 1
        cache: dict[int, tuple] = {}
        best: dict[int, tuple[int, int]] = {1 << i: (0, 0) for i in range(n)}
        for mask in range(1, full + 1):
            if mask in best or self._over_weight_cap(self._open(mask, cache), mask, batch):
                continue
            choice = self._best_split(mask, best, cache, batch)
            if choice is not None:
                best[mask] = choice
        if full not in best:
            raise AssertionError("the network is not connected under the weight cap")
        return self._steps_from_splits(best, full), best[full][0]

    def _open(self, mask: int, cache: dict[int, tuple]) -> tuple:
        """Labels of the operands in ``mask`` that are not contracted inside it (cached)."""
        if mask not in cache:
            inside: dict[Label, int] = {}
            for i, labels in enumerate(self.operands):
                if mask >> i & 1:
                    for lab in labels:
                        inside[lab] = inside.get(lab, 0) + 1
            cache[mask] = tuple(lab for lab, c in inside.items() if c < self._count[lab])
        return cache[mask]

    def _over_weight_cap(self, labels: tuple, mask: int, batch: int) -> bool:
        """Whether the subset ``mask`` is a weight-only intermediate larger than the cap."""
        if self.data is None or self.weight_cap is None or mask >> self.data & 1:
            return False
        return self._size(labels, batch) > self.weight_cap

    def _best_split(
        self, mask: int, best: dict[int, tuple[int, int]], cache: dict[int, tuple], batch: int
    ) -> tuple[int, int] | None:
        """``(cost, sub)`` of the cheapest split of ``mask`` into two planned parts that share a
        label (``sub`` holds the lowest operand), or ``None``."""
        low = mask & -mask
        sub = (mask - 1) & mask
        choice = None
        while sub:
            other = mask ^ sub
            if sub & low and sub in best and other in best:
                left, right = self._open(sub, cache), self._open(other, cache)
                if set(left) & set(right):
                    union = tuple(set(left) | set(right))
                    cost = best[sub][0] + best[other][0] + self._size(union, batch)
                    if choice is None or cost < choice[0]:
                        choice = (cost, sub)
            sub = (sub - 1) & mask
        return choice

    def _steps_from_splits(
        self, best: dict[int, tuple[int, int]], full: int
    ) -> list[tuple[int, int, tuple]]:
        """The pairwise steps of the split tree rooted at ``full``, children first."""
        steps: list[tuple[int, int, tuple]] = []
        labels = list(self.operands)

        def build(mask: int) -> int:
            if mask & (mask - 1) == 0:
                return mask.bit_length() - 1
            sub = best[mask][1]
            a, b = build(sub), build(mask ^ sub)
            out = _pair_labels(labels[a], labels[b])
            steps.append((a, b, out))
            labels.append(out)
            return len(labels) - 1

        build(full)
        return steps

    def flops(self, batch: int = 1) -> int:
        """Multiply-adds of the forward contraction for this batch size.

        Parameters
        ----------
        batch : int
            Size of the batch label.

        Returns
        -------
        int
        """
        return int(self.plan(batch)[1])

    # ----------------------------------------------------------------- execution
    def _batch_of(self, arrays: Sequence[np.ndarray]) -> int:
        if self.batch_label is None:
            return 1
        for labels, arr in zip(self.operands, arrays, strict=True):
            if self.batch_label in labels:
                return int(arr.shape[labels.index(self.batch_label)])
        return 1

    def _run(self, arrays: Sequence[np.ndarray]) -> tuple[list[np.ndarray], list[tuple]]:
        """Every node's value and the labels of its axes (as laid out in memory)."""
        steps, _ = self.plan(self._batch_of(arrays))
        values, labels = list(arrays), list(self.operands)
        n = len(arrays)
        for a, b, _out in steps:
            value, lab, used = _pair(values[a], labels[a], values[b], labels[b])
            _keep_layout(values, labels, n, (a, b), used)
            values.append(value)
            labels.append(lab)
        return values, labels

    def forward(self, arrays: Sequence[np.ndarray], tape: Tape | None = None) -> np.ndarray:
        """Contract ``arrays`` (one per operand) along the planned order.

        Parameters
        ----------
        arrays : sequence of numpy.ndarray
            The operands, shaped like their labels.
        tape : Tape, optional
            Receives every intermediate, for :meth:`backward`.

        Returns
        -------
        numpy.ndarray
            Axes in :attr:`output` order.
        """
        values, labels = self._run(arrays)
        if tape is not None:
            tape.values = (values, labels)
        last = labels[-1]
        return np.transpose(values[-1], [last.index(lab) for lab in self.output])

    def backward(
        self, g: np.ndarray, arrays: Sequence[np.ndarray], wanted: set[int], tape: Tape | None
    ) -> dict[int, np.ndarray]:
        """Gradients of ``<g, forward(arrays)>`` with respect to the operands in ``wanted``.

        Parameters
        ----------
        g : numpy.ndarray
            Cotangent of the output.
        arrays : sequence of numpy.ndarray
            The operands of the forward call.
        wanted : set of int
            Operand indices whose gradient is needed.
        tape : Tape, optional
            The forward call's intermediates (recomputed when missing).

        Returns
        -------
        dict of int to numpy.ndarray
        """
        steps, _ = self.plan(self._batch_of(arrays))
        if tape is not None and tape.values is not None:
            values, labels = tape.values
        else:
            values, labels = self._run(arrays)
        n = len(self.operands)
        needs = [i in wanted for i in range(n)]
        for a, b, _out in steps:
            needs.append(needs[a] or needs[b])
        # node -> (gradient, its labels): a node's value may be re-laid out after its gradient
        # was stored, so every gradient carries its own axis labels
        grads: dict[int, tuple[np.ndarray, tuple]] = {len(labels) - 1: (g, self.output)}
        for k in range(len(steps) - 1, -1, -1):
            node = n + k
            entry = grads.pop(node, None)
            if entry is None:
                continue
            g_node, g_labels = entry
            a, b, _out = steps[k]
            for this, other in ((a, b), (b, a)):
                if not needs[this]:
                    continue
                part, got, used = _pair(g_node, g_labels, values[other], labels[other])
                _keep_layout(values, labels, n, (None, other), used)
                if this in grads:
                    have, have_labels = grads[this]
                    part = have + np.transpose(part, [got.index(lab) for lab in have_labels])
                    got = have_labels
                grads[this] = (part, got)
        out = {}
        for i in wanted:
            if i in grads:
                part, got = grads[i]
                out[i] = np.transpose(part, [got.index(lab) for lab in self.operands[i]])
        return out


def _memory_order(x: np.ndarray, labels: tuple) -> tuple[np.ndarray, tuple]:
    """``x`` as a C-contiguous view with its labels permuted accordingly (a copy if needed)."""
    if x.flags.c_contiguous:
        return x, labels
    order = sorted(range(x.ndim), key=lambda k: -x.strides[k])
    view = x.transpose(order)
    if view.flags.c_contiguous:
        return view, tuple(labels[k] for k in order)
    return np.ascontiguousarray(x), labels


def _keep_layout(values: list, labels: list, n: int, nodes: tuple, used: tuple) -> None:
    """Keep the re-laid-out copy of an intermediate (node ``>= n``) that a GEMM had to make.

    The copy holds the same tensor with its labels permuted; later uses of the node (the
    backward pass contracts it over the complementary labels) then find a block-ordered
    operand instead of copying it again. Inputs keep their declared layout.
    """
    for node, (value, lab, copied) in zip(nodes, used, strict=True):
        if copied and node is not None and node >= n:
            values[node], labels[node] = value, lab


def _as_matrix(
    x: np.ndarray, labels: tuple, free: list, shared: list
) -> tuple[np.ndarray, tuple[np.ndarray, tuple, bool]]:
    """``x`` (C-contiguous) as the ``(free, shared)`` matrix: a view when the shared labels
    form a leading or trailing block in this order (BLAS takes the transposed view as is),
    otherwise a transposed copy. Also returns the tensor behind the matrix, its labels and
    whether it is a copy."""
    m = math.prod(x.shape[labels.index(lab)] for lab in free)
    k = math.prod(x.shape[labels.index(lab)] for lab in shared)
    if list(labels) == free + shared:
        return x.reshape(m, k), (x, labels, False)
    if list(labels) == shared + free:
        return x.reshape(k, m).T, (x, labels, False)
    perm = [labels.index(lab) for lab in free + shared]
    moved = np.ascontiguousarray(np.transpose(x, perm))
    return moved.reshape(m, k), (moved, tuple(free + shared), True)


def _pair(a: np.ndarray, la: tuple, b: np.ndarray, lb: tuple) -> tuple[np.ndarray, tuple, tuple]:
    """Contract every label ``a`` and ``b`` share as one GEMM.

    The shared labels are taken in the memory order of the larger operand, so that it enters
    the GEMM as a view; the result's axes are ``a``'s free labels then ``b``'s (memory order).
    Returns the result, its labels and, per operand, ``(tensor, labels, copied)`` as used.
    """
    a, la = _memory_order(a, la)
    b, lb = _memory_order(b, lb)
    common = set(la) & set(lb)
    ref = la if a.size >= b.size else lb
    shared = [lab for lab in ref if lab in common]
    free_a = [lab for lab in la if lab not in common]
    free_b = [lab for lab in lb if lab not in common]
    ma, used_a = _as_matrix(a, la, free_a, shared)
    mb, used_b = _as_matrix(b, lb, free_b, shared)
    out = ma @ mb.T
    shape = [a.shape[la.index(lab)] for lab in free_a] + [b.shape[lb.index(lab)] for lab in free_b]
    return out.reshape(shape), tuple(free_a + free_b), (used_a, used_b)


@primitive
def contract(net: Network, tape: Tape | None, *arrays: np.ndarray) -> np.ndarray:
    """Contract the operands of ``net`` as one autograd primitive.

    Parameters
    ----------
    net : Network
        The network (labels, sizes, order).
    tape : Tape or None
        A fresh :class:`Tape` to keep the intermediates for the backward pass.
    *arrays : numpy.ndarray
        The operands in ``net.operands`` order.

    Returns
    -------
    numpy.ndarray
        The contraction, axes in ``net.output`` order.
    """
    return net.forward(arrays, tape)


def _contract_vjp(argnums, ans, args, kwargs):
    net, tape, arrays = args[0], args[1], args[2:]
    wanted = {k - 2 for k in argnums}

    def vjp(g):
        grads = net.backward(np.asarray(g, dtype=ans.dtype), arrays, wanted, tape)
        return [grads[k - 2] if k - 2 in grads else np.zeros_like(arrays[k - 2]) for k in argnums]

    return vjp


defvjp_argnums(contract, _contract_vjp)


# ------------------------------------------------------------------------------ layer helpers
def factor_cap(n_weights: int, n_dense: int) -> int:
    """Largest weight-only intermediate of a factor path: ``4 x`` the factors, below ``N M``.

    A weight-only intermediate as large as the dense weight would make the factor path a
    reconstruction in disguise; that is the dense path's job.
    """
    return min(4 * n_weights, n_dense - 1)


def interleave(weight: np.ndarray, in_modes: Sequence[int], out_modes: Sequence[int]) -> np.ndarray:
    """``W (N, M)`` as the tensor ``T[(i_1 n_1 + j_1), ..., (i_d n_d + j_d)]`` (TT-matrix order).

    Row index ``(i_1, ..., i_d)`` and column index ``(j_1, ..., j_d)`` are C-order
    tensorizations of the input and output; mode ``k`` of ``T`` pairs ``i_k`` (slow) with
    ``j_k`` (fast), the convention of :meth:`tensornet.formats.HTTensor.contract`.
    """
    d = len(in_modes)
    order = [ax for k in range(d) for ax in (k, d + k)]
    t = np.reshape(weight, (*in_modes, *out_modes)).transpose(order)
    return t.reshape([m * n for m, n in zip(in_modes, out_modes, strict=True)])


class NetworkLinear(FactorizedLinear):
    """A linear layer whose weight and forward pass are two planned contractions of its factors.

    Subclasses build ``self._net`` (input and factors to the output) and ``self._dense_net``
    (factors to ``W``) and say which arrays are the factors (:meth:`network_factors`) and how the
    input is tensorized (:attr:`input_modes`); HT, KP and STT layers differ only there.
    """

    def network_factors(self, params: dict[str, Any]) -> list[Any]:
        """The factor arrays in the order the networks list them."""
        raise NotImplementedError

    @property
    def input_modes(self) -> tuple[int, ...]:
        """The shape each input row is reshaped to (C order): ``in_modes`` by default."""
        return self.in_modes

    def dense_weight(self, params: dict[str, Any]) -> Any:
        """``W`` of shape ``(N, M)`` contracted from the factors (autograd-traceable).

        Parameters
        ----------
        params : dict
            The layer's parameters under local names.

        Returns
        -------
        array_like
        """
        w = contract(self._dense_net, Tape(), *self.network_factors(params))
        return anp.reshape(w, (self.in_features, self.out_features))

    def forward_factors(self, params: dict[str, Any], x: Any) -> Any:
        """Contract ``x`` reshaped to ``(B, *input_modes)`` with the factors, bias added.

        Parameters
        ----------
        params : dict
            The layer's parameters under local names.
        x : array_like
            ``(B, N)``.

        Returns
        -------
        array_like
            ``(B, M)``.
        """
        batch = x.shape[0]
        xt = anp.reshape(x, (batch, *self.input_modes))
        y = contract(self._net, Tape(), xt, *self.network_factors(params))
        y = anp.reshape(y, (batch, self.out_features))
        return y + params["bias"] if "bias" in params else y

    def factor_flops(self, input_shape: Sequence[int]) -> int:
        """Multiply-adds of the factor path (the planned pairwise order) for this batch."""
        return self._net.flops(int(input_shape[0]))

    def reconstruction_flops(self) -> int:
        """Multiply-adds to contract the factors into the dense ``W``."""
        return self._dense_net.flops(1)
