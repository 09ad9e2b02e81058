"""Block-term layers: the weight is a sum of ``N_b`` Tucker blocks over a tensorized weight.

Block-term networks (Ye, Li, Wang, Xu et al., "Block-term tensor neural networks", Neural
Networks 2020; survey Sec. II-A.4, eq. (5)) tensorize a layer's weight with paired input and
output modes, like a TT-matrix, and store it as a block term decomposition (BTD):

``W[(i_1..i_d), (j_1..j_d)] = sum_{n < N_b} sum_a G_n[a_1..a_d] prod_k A_n^(k)[i_k, j_k, a_k]``

with ``N_b`` blocks, ``N = prod_k m_k`` inputs, ``M = prod_k n_k`` outputs, factors
``A_n^(k)`` of shape ``(m_k, n_k, R_k)`` and cores ``G_n`` of shape ``(R_1, ..., R_d)``.
Equivalently, the tensor ``W~`` of shape ``(m_1 n_1, ..., m_d n_d)`` (paired modes merged) is a
BTD with ``N_b`` terms of multilinear rank ``(R_1, ..., R_d)``: that is how
:meth:`BTLinear.from_weight` fits it (:func:`tensornet.btd_als`).

The convolution :class:`BTConv2d` tensorizes the channels (``C = prod c_k``, ``O = prod o_k``)
and adds the spatial positions as one more mode of size ``KH KW`` with its own factor
``S_n`` of rank ``R_s``; its forward pass first filters every input channel with the ``R_s``
spatial filters of each block (one convolution), then runs the channel part as a block-term
linear map at every output pixel (Garipov et al.'s split for TT convolutions).

Contraction order of the factor path (all blocks at once, one batched GEMM per mode): the input
is contracted with ``A^(1)``, ``A^(2)``, ... in turn, the consumed input mode leaving and the
pair ``(n_k, a_k)`` joining at the back (a reshape and a transposition between GEMMs), and the
result is contracted with the cores and summed over the blocks in one final GEMV. The last
intermediate holds ``B N_b prod_k n_k R_k`` numbers, which grows fast with ``d`` and the ranks,
and every step copies its state in a new axis order: ``"auto"`` counts those bytes as well as
the multiply-adds (:attr:`BTLinear.BYTE_COST`) and then prefers the dense path.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import autograd.numpy as anp
import numpy as np
from autograd.extend import defvjp_argnums, primitive

from ..._validation import check_array, check_int, check_ranks, check_shape
from ...decompositions import btd_als
from ...formats.btd import BTDTensor
from ..conv import conv2d
from .base import (
    FactorizedConv2d,
    FactorizedLinear,
    check_bias,
    check_rank_bound,
    layer_dtype,
    legacy_layout,
    record_conversion,
    resolve_modes,
    set_param,
)

__all__ = ["BTLinear", "BTConv2d"]

DEFAULT_ORDER = 3


# ------------------------------------------------------------------------------ configuration
def _order(in_modes: Any, out_modes: Any, ranks: Any) -> int:
    for value in (in_modes, out_modes, ranks):
        if value is not None and not isinstance(value, (int, np.integer)):
            return len(value)
    return DEFAULT_ORDER


def _check_modes(modes: Any, size: int, d: int, name: str, size_name: str) -> tuple[int, ...]:
    if modes is not None and len(check_shape(modes, name)) != d:
        raise ValueError(f"{name}={tuple(modes)} must have {d} modes (the tensorization order)")
    return resolve_modes(size, modes, name, size_name, d)


def _check_bt_ranks(
    ranks: Any, in_modes: Sequence[int], out_modes: Sequence[int], in_name: str, out_name: str
) -> tuple[int, ...]:
    ranks = check_ranks(ranks, len(in_modes), "ranks")
    for k, (r, m, n) in enumerate(zip(ranks, in_modes, out_modes, strict=True)):
        check_rank_bound(r, f"ranks[{k}]", m * n, f"{in_name}[{k}] * {out_name}[{k}] = {m}*{n}")
    return ranks


def _bt_config(
    in_size: int, out_size: int, in_modes: Any, out_modes: Any, ranks: Any, names: tuple[str, str]
) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """Checked ``(in_modes, out_modes, ranks)`` of a block-term layer of the given sizes (``d``
    from the first of them that is a sequence, else 3; missing modes suggested)."""
    d = _order(in_modes, out_modes, ranks)
    ins = _check_modes(in_modes, in_size, d, "in_modes", names[0])
    outs = _check_modes(out_modes, out_size, d, "out_modes", names[1])
    return ins, outs, _check_bt_ranks(ranks, ins, outs, "in_modes", "out_modes")


def _interleave(d: int) -> tuple[int, ...]:
    """Axes ``(0, d, 1, d + 1, ...)``: ``(m_1..m_d, n_1..n_d) -> (m_1, n_1, ..., m_d, n_d)``."""
    return tuple(a for k in range(d) for a in (k, d + k))


# ------------------------------------------------------------------------------ contractions
def tucker_blocks_full(core: Any, mats: Sequence[Any]) -> Any:
    """``sum``-free Tucker reconstruction of ``N_b`` blocks, autograd-traceable.

    Parameters
    ----------
    core : array, shape (N_b, R_1, ..., R_D)
    mats : sequence of arrays, shapes (N_b, I_k, R_k)

    Returns
    -------
    array, shape (N_b, I_1, ..., I_D)
        Block ``n`` is ``core[n] x_1 mats[0][n] ... x_D mats[D-1][n]``: one batched GEMM per
        mode, the new mode moving to the back each time so the next rank leads.
    """
    nb = core.shape[0]
    t = core
    for a in mats:
        t = anp.reshape(t, (nb, a.shape[2], -1))
        t = anp.transpose(anp.matmul(a, t), (0, 2, 1))
    return anp.reshape(t, (nb,) + tuple(a.shape[1] for a in mats))


def tucker_blocks_sum(core: Any, mats: Sequence[Any]) -> Any:
    """``sum_n core[n] x_1 mats[0][n] ... x_D mats[D-1][n]``, the last mode first.

    As :func:`tucker_blocks_full`, but the last mode product is one GEMM over the stacked
    blocks, ``[A_1 ... A_Nb] [T_1; ...; T_Nb]``, which also sums them.

    Returns
    -------
    array, shape (I_D, I_1, ..., I_{D-1})
    """
    nb = core.shape[0]
    t = core
    for a in mats[:-1]:
        t = anp.reshape(t, (nb, a.shape[2], -1))
        t = anp.transpose(anp.matmul(a, t), (0, 2, 1))
    last = mats[-1]
    stacked = anp.reshape(anp.transpose(last, (1, 0, 2)), (last.shape[1], nb * last.shape[2]))
    out = anp.dot(stacked, anp.reshape(t, (nb * last.shape[2], -1)))
    return anp.reshape(out, (last.shape[1],) + tuple(a.shape[1] for a in mats[:-1]))


def _rotated_position(k: int, n_modes: int) -> int:
    """Axis of mode ``k`` in the output of :func:`tucker_blocks_sum` (the last mode leads)."""
    return 0 if k == n_modes - 1 else k + 1


@primitive
def contract_step(
    t: np.ndarray, f: np.ndarray, perm: tuple[int, ...], n_contracted: int, new_shape: tuple
) -> np.ndarray:
    """One step of a block-batched contraction chain: permute, then one batched GEMM.

    ``t`` is transposed by ``perm`` to ``(N_b or 1, contracted..., rest...)`` (one copy) and
    multiplied by ``f`` of shape ``(N_b, prod(new_shape), prod(contracted))``; the new axes lead.

    Parameters
    ----------
    t : numpy.ndarray
        The state; ``perm[0]`` is its block axis (size ``N_b``, or 1 to broadcast).
    f : numpy.ndarray
        ``(N_b, S, K)``.
    perm : tuple of int
        Block axis, the ``n_contracted`` contracted axes, then the others in order.
    n_contracted : int
        Number of contracted axes (their sizes multiply to ``K``).
    new_shape : tuple of int
        Shape of the new axes (product ``S``).

    Returns
    -------
    numpy.ndarray
        ``(N_b, *new_shape, *rest)``.
    """
    tp = np.ascontiguousarray(np.transpose(t, perm))
    rest = tp.shape[1 + n_contracted :]
    out = np.matmul(f, tp.reshape(tp.shape[0], f.shape[2], -1))
    return out.reshape((f.shape[0],) + tuple(new_shape) + rest)


def _contract_step_vjp(argnums, ans, args, kwargs):
    t, f, perm = args[0], args[1], args[2]

    def vjp(g):
        nb = f.shape[0]
        g2 = np.reshape(g, (nb, f.shape[1], -1))
        tp_shape = tuple(t.shape[i] for i in perm)
        grads = []
        for argnum in argnums:
            if argnum == 0:
                gt = np.matmul(np.swapaxes(f, 1, 2), g2)
                if tp_shape[0] == 1 and nb > 1:
                    gt = gt.sum(axis=0, keepdims=True)
                grads.append(np.transpose(gt.reshape(tp_shape), np.argsort(perm)))
            else:
                tp = np.ascontiguousarray(np.transpose(t, perm)).reshape(
                    tp_shape[0], f.shape[2], -1
                )
                grads.append(np.matmul(g2, np.swapaxes(tp, 1, 2)))
        return grads

    return vjp


defvjp_argnums(contract_step, _contract_step_vjp)


def _plan_step(labels: list[str], contract: Sequence[str]) -> tuple[tuple[int, ...], list[str]]:
    """``perm`` of :func:`contract_step` and the labels of the axes left after the step."""
    perm = [labels.index("blk")] + [labels.index(c) for c in contract]
    perm += [i for i, lab in enumerate(labels) if lab != "blk" and lab not in contract]
    return tuple(perm), [labels[i] for i in perm[1 + len(contract) :]]


def merge_first(
    in_modes: Sequence[int], out_modes: Sequence[int], ranks: Sequence[int], extra: int
) -> bool:
    """Whether :func:`bt_sweep` absorbs the core into ``A^(1)`` first.

    Chosen by the multiply-adds per batch position of the first steps (the weight-only product
    is not counted: it is shared by the whole batch): merged ``n_1 R' N E`` against separate
    ``n_1 R_1 N E + E R_1 R' (N / m_1) n_1``, with ``R' = prod_{l>1} R_l``.
    """
    n_in, m1, n1, r1 = math.prod(in_modes), in_modes[0], out_modes[0], ranks[0]
    r_rest = math.prod(ranks[1:])
    merged = n1 * r_rest * n_in * extra
    separate = n1 * r1 * n_in * extra + extra * r1 * r_rest * (n_in // m1) * n1
    return merged < separate


def _sweep_steps(factors: Sequence[Any], core: Any) -> list[tuple[Any, list[str], list[str]]]:
    """The contraction chain as ``(matrix, contracted labels, new labels)``.

    Separate order: ``A^(1)``, the core, ``A^(2)``, ..., ``A^(d)``. Merged order: ``H = A^(1)``
    times the core over ``a_1`` (a weight-only product), then ``H``, ``A^(2)``, ...,
    ``A^(d)``. Matrices are ``(N_b, prod new, prod contracted)``; ``e`` is the core's extra bond.
    """
    d = len(factors)
    nb, m1, n1, r1 = factors[0].shape
    extra = core.shape[1]
    later = [f"a{k}" for k in range(1, d)]
    shapes = [f.shape for f in factors]
    if merge_first([x[1] for x in shapes], [x[2] for x in shapes], [x[3] for x in shapes], extra):
        rest = math.prod(core.shape[3:])
        g = anp.reshape(
            anp.transpose(anp.reshape(core, (nb, extra, r1, rest)), (0, 2, 1, 3)),
            (nb, r1, extra * rest),
        )
        h = anp.matmul(anp.reshape(factors[0], (nb, m1 * n1, r1)), g)
        h = anp.transpose(anp.reshape(h, (nb, m1, n1, extra, rest)), (0, 2, 4, 3, 1))
        steps = [(anp.reshape(h, (nb, n1 * rest, extra * m1)), ["e", "i0"], ["j0"] + later)]
    else:
        a1 = anp.reshape(anp.transpose(factors[0], (0, 3, 2, 1)), (nb, r1 * n1, m1))
        core_mat = anp.transpose(anp.reshape(core, (nb, extra * r1, -1)), (0, 2, 1))
        steps = [(a1, ["i0"], ["a0", "j0"]), (core_mat, ["e", "a0"], later)]
    for k in range(1, d):
        _, m, n, r = factors[k].shape
        mat = anp.reshape(anp.transpose(factors[k], (0, 2, 1, 3)), (nb, n, m * r))
        steps.append((mat, [f"i{k}", f"a{k}"], [f"j{k}"]))
    return steps


def bt_sweep(t: Any, labels: Sequence[str], factors: Sequence[Any], core: Any) -> tuple[Any, list]:
    """Contract a tensorized input with every block's factors and core (sum over blocks left).

    Order (:func:`_sweep_steps`): ``A^(1)`` and the core first, merged or not
    (:func:`merge_first`), then ``A^(k)`` (``(i_k, a_k)`` out, ``j_k`` in) for ``k = 2..d``: the
    core is absorbed as early as possible so the intermediates stay near the input's size.
    Each step is one :func:`contract_step` (a copy and a batched GEMM).

    Parameters
    ----------
    t : array
        The input with axes ``labels``: ``"i0".."i{d-1}"`` (input modes), ``"blk"`` (blocks,
        size 1 to share the input), ``"e"`` (the core's extra bond, size 1 for a linear
        layer) and any batch-like axes.
    labels : sequence of str
        Axis labels of ``t``.
    factors : sequence of arrays
        ``(N_b, m_k, n_k, R_k)``.
    core : array
        ``(N_b, E, R_1, ..., R_d)``.

    Returns
    -------
    (array, list of str)
        The result with axes ``"blk"``, ``"j0".."j{d-1}"`` and the batch-like axes, and their
        labels.
    """
    labels = list(labels)
    for mat, contract, new in _sweep_steps(factors, core):
        perm, rest = _plan_step(labels, contract)
        new_shape = tuple(_new_sizes(new, factors))
        t = contract_step(t, mat, perm, len(contract), new_shape)
        labels = ["blk"] + list(new) + rest
    return t, labels


def _new_sizes(new: Sequence[str], factors: Sequence[Any]) -> list[int]:
    sizes = []
    for lab in new:
        k = int(lab[1:])
        sizes.append(int(factors[k].shape[2] if lab[0] == "j" else factors[k].shape[3]))
    return sizes


def sweep_flops(
    in_modes: Sequence[int],
    out_modes: Sequence[int],
    ranks: Sequence[int],
    nb: int,
    lead: int,
    extra: int,
    merged: bool | None = None,
) -> int:
    """Multiply-adds of :func:`bt_sweep` with ``lead`` batch-like positions.

    With ``N = prod_k m_k`` and ``R' = prod_{l>1} R_l``, the first steps cost
    ``N_b (n_1 R_1 N L E + E R_1 R' (N / m_1) L n_1)`` in the separate order
    (``A^(1)``, then the core) and ``N_b (m_1 n_1 R_1 E R' + n_1 R' N L E)`` in the merged
    order (``H = A^(1) x core``, then ``H``); then every ``k > 1`` adds
    ``N_b n_k m_k R_k (prod_{l>k} m_l) L (prod_{l<k} n_l) (prod_{l>k} R_l)``.
    ``merged=None`` counts the order :func:`bt_sweep` takes (the cheaper one).
    """
    n_in, d = math.prod(in_modes), len(ranks)
    m1, n1, r1 = in_modes[0], out_modes[0], ranks[0]
    r_rest = math.prod(ranks[1:])
    separate = n1 * r1 * n_in * lead * extra + extra * r1 * r_rest * (n_in // m1) * lead * n1
    fused = m1 * n1 * r1 * extra * r_rest + n1 * r_rest * n_in * lead * extra
    if merged is None:
        merged = merge_first(in_modes, out_modes, ranks, extra)
    total = fused if merged else separate
    for k in range(1, d):
        rest = math.prod(in_modes[k + 1 :]) * lead * math.prod(out_modes[:k])
        total += out_modes[k] * in_modes[k] * ranks[k] * rest * math.prod(ranks[k + 1 :])
    return nb * total


def sweep_activations(
    in_modes: Sequence[int],
    out_modes: Sequence[int],
    ranks: Sequence[int],
    nb: int,
    lead: int,
    extra: int,
) -> int:
    """Elements of the states :func:`bt_sweep` writes (one per step), with ``lead`` positions.

    After the first steps ``N_b n_1 R' (N / m_1) L`` (plus ``N_b R_1 n_1 (N / m_1) L E`` in the
    separate order), then after ``A^(k)`` ``N_b prod_{l<=k} n_l prod_{l>k} m_l prod_{l>k} R_l
    L``; the last one is the block-summed output's input.
    """
    n_in, d = math.prod(in_modes), len(ranks)
    m1, n1, r1 = in_modes[0], out_modes[0], ranks[0]
    total = n1 * math.prod(ranks[1:]) * (n_in // m1) * lead
    if not merge_first(in_modes, out_modes, ranks, extra):
        total += r1 * n1 * (n_in // m1) * lead * extra
    for k in range(1, d):
        total += (
            math.prod(out_modes[: k + 1])
            * math.prod(in_modes[k + 1 :])
            * math.prod(ranks[k + 1 :])
            * lead
        )
    return nb * total


def tucker_full_flops(sizes: Sequence[int], ranks: Sequence[int], nb: int) -> int:
    """Multiply-adds of :func:`tucker_blocks_full`: ``N_b sum_k I_k R_k prod_{l<k} I_l
    prod_{l>k} R_l``."""
    return nb * sum(
        sizes[k] * ranks[k] * math.prod(sizes[:k]) * math.prod(ranks[k + 1 :])
        for k in range(len(sizes))
    )


# ------------------------------------------------------------------------------ layers
class _PairedModeFactors:
    """The factors ``factor_k: (N_b, m_k, n_k, R_k)`` over paired (input, output) modes that
    :class:`BTLinear` and :class:`BTConv2d` share."""

    in_modes: tuple[int, ...]
    out_modes: tuple[int, ...]
    ranks: tuple[int, ...]
    n_blocks: int

    @property
    def order(self) -> int:
        """``d``, the number of paired (input, output) modes."""
        return len(self.ranks)

    def _factor_shapes(self) -> dict[str, tuple[int, ...]]:
        paired = zip(self.in_modes, self.out_modes, self.ranks, strict=True)
        return {f"factor_{k}": (self.n_blocks, m, n, r) for k, (m, n, r) in enumerate(paired)}

    def _factors(self, params: dict[str, Any]) -> list[Any]:
        return [params[f"factor_{k}"] for k in range(self.order)]


class BTLinear(_PairedModeFactors, FactorizedLinear):
    r"""Linear layer whose weight is a block term decomposition of the tensorized weight.

    ``W[(i_1..i_d), (j_1..j_d)] = sum_n sum_a G_n[a] prod_k A_n^(k)[i_k, j_k, a_k]``
    (Ye et al. 2020). Weights ``N_b (prod_k R_k + sum_k m_k n_k R_k)``; multiply-adds of the
    factor path: :func:`sweep_flops` with the batch ``B`` as lead and extra bond 1.

    Parameters
    ----------
    in_features, out_features : int
        ``N`` and ``M``.
    ranks : int or sequence of int
        Tucker ranks ``(R_1, ..., R_d)`` of every block (an int for all); ``R_k <= m_k n_k``.
    n_blocks : int
        Number of blocks ``N_b``.
    in_modes, out_modes : sequence of int, optional
        ``(m_1..m_d)`` with product ``N`` and ``(n_1..n_d)`` with product ``M``; by default
        :func:`~tensornet.nn.factorized.suggest_modes` with ``d = len(ranks)`` (or ``d = 3``).
    bias : bool
        Learn an additive bias (initialized to zero).
    init : {"he", "glorot", "lecun"}
        Target variance of ``W``.
    rescale : bool
        After sampling, scale the cores so that the mean of ``W**2`` equals the target exactly.
    mode : {"auto", "factors", "dense"}
        Forward path.
    random_state : None, int or numpy.random.Generator
        Seed.
    dtype : numpy dtype
        Parameter dtype.

    Notes
    -----
    Initialization: $d + 1$ Gaussian nodes per block (core and factors) with the same
    $\sigma$; every entry of $W$ sums $P = N_b \prod_k R_k$ products of $d + 1$ entries, so
    $\operatorname{Var}(W) = N_b \prod_k R_k \, \sigma^{2(d + 1)}$ and
    $\sigma = \big(V_{\mathrm{target}} / (N_b \prod_k R_k)\big)^{1/(2(d + 1))}$, with
    $V_{\mathrm{target}} = 2 / N$ for He.

    Examples
    --------
    >>> layer = BTLinear(784, 300, ranks=2, n_blocks=2, in_modes=(7, 16, 7),
    ...                  out_modes=(5, 12, 5), random_state=0)
    >>> layer.n_params
    1364
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        ranks: int | Sequence[int],
        *,
        n_blocks: int = 2,
        in_modes: Sequence[int] | None = None,
        out_modes: Sequence[int] | None = None,
        bias: bool = True,
        init: str = "he",
        rescale: bool = False,
        mode: str = "auto",
        random_state: Any = None,
        dtype: Any = np.float32,
    ) -> None:
        super().__init__(in_features, out_features, mode)
        n, m = self.in_features, self.out_features
        self.in_modes, self.out_modes, self.ranks = _bt_config(
            n, m, in_modes, out_modes, ranks, ("in_features", "out_features")
        )
        self.n_blocks = nb = check_int(n_blocks, "n_blocks", minimum=1)
        shapes = {"core": (nb,) + self.ranks} | self._factor_shapes()
        self.init_factors(
            shapes, nb * math.prod(self.ranks), init=init, random_state=random_state,
            dtype=dtype, bias=bias, rescale="core" if rescale else None,
        )  # fmt: skip

    @classmethod
    def from_weight(
        cls,
        weight: np.ndarray,
        bias: np.ndarray | None = None,
        *,
        ranks: int | Sequence[int],
        n_blocks: int = 1,
        in_modes: Sequence[int] | None = None,
        out_modes: Sequence[int] | None = None,
        mode: str = "auto",
        dtype: Any = None,
        n_iter_max: int = 100,
        tol: float = 1e-8,
        n_restarts: int = 1,
        random_state: Any = None,
    ) -> BTLinear:
        """Layer from a BTD of a trained weight (pre-train, :func:`tensornet.btd_als`).

        The weight ``(N, M)`` is reshaped to ``(m_1..m_d, n_1..n_d)``, the paired modes merged
        into ``(m_1 n_1, ..., m_d n_d)`` and decomposed into ``n_blocks`` terms of multilinear
        rank ``ranks``. One block of ranks ``m_k n_k`` is exact.

        Parameters
        ----------
        weight : array_like, shape (in_features, out_features)
            The dense weight.
        bias : array_like, optional
            The dense bias ``(out_features,)``.
        ranks, n_blocks, in_modes, out_modes
            As for the constructor.
        mode : {"auto", "factors", "dense"}
            Forward path.
        dtype : numpy dtype, optional
            Parameter dtype (default: the weight's).
        n_iter_max, tol, n_restarts, random_state
            Passed to :func:`tensornet.btd_als`.

        Returns
        -------
        BTLinear
            ``decomposition_info`` holds the ALS report and ``weight_rel_error``.
        """
        w = check_array(weight, "weight", ndim=2)
        dtype = layer_dtype(w, dtype)
        n, m = w.shape
        in_modes, out_modes, ranks = _bt_config(
            n, m, in_modes, out_modes, ranks, ("in_features", "out_features")
        )
        d = len(ranks)
        b = check_bias(bias, m, dtype)
        merged = w.astype(np.float64).reshape(in_modes + out_modes).transpose(_interleave(d))
        merged = merged.reshape([mk * nk for mk, nk in zip(in_modes, out_modes, strict=True)])
        btd = btd_als(
            merged,
            n_blocks,
            ranks,
            n_iter_max=n_iter_max,
            tol=tol,
            n_restarts=n_restarts,
            random_state=random_state,
        )
        layer = cls(
            n,
            m,
            ranks,
            n_blocks=n_blocks,
            in_modes=in_modes,
            out_modes=out_modes,
            bias=b is not None,
            mode=mode,
            random_state=0,
            rescale=False,
            dtype=dtype,
        )
        set_param(layer, "core", np.stack([t.core for t in btd.terms]), dtype)
        for k, (mk, nk, rk) in enumerate(zip(in_modes, out_modes, ranks, strict=True)):
            stacked = np.stack([t.factors[k].reshape(mk, nk, rk) for t in btd.terms])
            set_param(layer, f"factor_{k}", stacked, dtype)
        if b is not None:
            set_param(layer, "bias", b, dtype)
        return record_conversion(layer, w, btd.info)

    def dense_weight(self, params: dict[str, Any]) -> Any:
        """``sum_n G_n x_k A_n^(k)`` reshaped to ``(in_features, out_features)``."""
        d, nb = self.order, self.n_blocks
        mats = [
            anp.reshape(f, (nb, f.shape[1] * f.shape[2], f.shape[3])) for f in self._factors(params)
        ]
        full = tucker_blocks_sum(params["core"], mats)  # (m_d n_d, m_1 n_1, ...)
        order = [d - 1] + list(range(d - 1))
        paired = anp.reshape(
            full, tuple(x for k in order for x in (self.in_modes[k], self.out_modes[k]))
        )
        pos = [_rotated_position(k, d) for k in range(d)]
        perm = tuple(2 * p for p in pos) + tuple(2 * p + 1 for p in pos)
        return anp.reshape(anp.transpose(paired, perm), (self.in_features, self.out_features))

    def forward_factors(self, params: dict[str, Any], x: Any) -> Any:
        """The sweep of :func:`bt_sweep` with the batch as the lead axis, plus the bias."""
        batch, d = x.shape[0], self.order
        # input modes first and the batch last: every step's permuting copy then moves long
        # contiguous runs (batch-sized or longer)
        t = anp.reshape(anp.transpose(x), self.in_modes + (batch, 1, 1))
        labels = [f"i{k}" for k in range(d)] + ["L", "blk", "e"]
        core = anp.reshape(params["core"], (self.n_blocks, 1) + self.ranks)
        t, labels = bt_sweep(t, labels, self._factors(params), core)
        order = [labels.index("blk"), labels.index("L")] + [labels.index(f"j{k}") for k in range(d)]
        y = anp.reshape(anp.sum(anp.transpose(t, order), axis=0), (batch, self.out_features))
        bias = params.get("bias")
        return y if bias is None else y + bias

    #: Multiply-adds that one byte of an intermediate state of the factor path costs: every
    #: step of :func:`bt_sweep` copies its state into a new axis order before a thin batched
    #: GEMM, which the multiply-add count misses; ``time ~ a * flops + b * bytes`` fitted to the
    #: CPU times of both paths (forward + backward, batch 128, float32) gives ``b / a`` of 9-12
    #: for every layer of ``benchmarks/bench_factorized_a.py`` and the LeNet-sized layers.
    BYTE_COST = 12.0

    def factor_flops(self, input_shape: Sequence[int]) -> int:
        """:func:`sweep_flops` with lead ``B`` and extra bond 1."""
        return sweep_flops(
            self.in_modes, self.out_modes, self.ranks, self.n_blocks, int(input_shape[0]), 1
        )

    def bytes_moved(self, input_shape: Sequence[int], path: str) -> int:
        """Bytes of the intermediate states of the factor path (:func:`sweep_activations`);
        0 for the dense path, whose one GEMM reads and writes only what both paths do."""
        if path == "dense":
            return 0
        states = sweep_activations(
            self.in_modes, self.out_modes, self.ranks, self.n_blocks, int(input_shape[0]), 1
        )
        return int(states) * self._params["core"].dtype.itemsize

    def reconstruction_flops(self) -> int:
        """:func:`tucker_full_flops` on the merged modes ``m_k n_k``, plus the block sum."""
        sizes = [m * n for m, n in zip(self.in_modes, self.out_modes, strict=True)]
        return tucker_full_flops(sizes, self.ranks, self.n_blocks)

    def to_format(self) -> BTDTensor:
        """The weight as a :class:`~tensornet.formats.BTDTensor` of shape
        ``(m_1 n_1, ..., m_d n_d)``, one Tucker term per block.

        Mode ``k`` pairs the input index ``i_k`` (slow) with the output index ``j_k``, the
        tensorization :meth:`from_weight` decomposes: ``full()`` reshaped to
        ``(m_1, n_1, ..., m_d, n_d)``, its input axes moved first, reshaped to ``(N, M)`` is
        :meth:`weight`.

        Returns
        -------
        BTDTensor
        """
        p = self.param_copies()
        factors = [f.reshape(self.n_blocks, f.shape[1] * f.shape[2], -1) for f in self._factors(p)]
        return BTDTensor([(p["core"][n], [f[n] for f in factors]) for n in range(self.n_blocks)])

    def extra_repr(self) -> str:
        return (
            f"{self.in_features}, {self.out_features}, ranks={self.ranks}, "
            f"n_blocks={self.n_blocks}, in_modes={self.in_modes}, out_modes={self.out_modes}, "
            f"mode={self.mode!r}"
        )


class BTConv2d(_PairedModeFactors, FactorizedConv2d):
    r"""Convolution whose kernel is a block term decomposition over tensorized channels.

    With ``C = prod_k c_k``, ``O = prod_k o_k`` and the spatial positions as one mode of size
    ``KH KW``:
    ``K[o, c, p, q] = sum_n sum_{e, a} G_n[e, a_1..a_d] S_n[e, p, q] prod_k A_n^(k)[c_k, o_k, a_k]``
    with ``S_n`` of shape ``(R_s, KH, KW)``, ``A_n^(k)`` of shape ``(c_k, o_k, R_k)`` and
    ``G_n`` of shape ``(R_s, R_1, ..., R_d)`` (Ye et al. 2020's BT layer for convolutions).

    Forward: one convolution of every input channel with the ``N_b R_s`` spatial filters (the
    layer's stride and padding), then the block-term sweep over the channel modes at each output
    pixel (:func:`bt_sweep` with lead ``B OH OW`` and extra bond ``R_s``). Weights
    ``N_b (R_s KH KW + R_s prod_k R_k + sum_k c_k o_k R_k)``; multiply-adds
    ``B C N_b R_s OH OW KH KW + sweep_flops(c, o, R, N_b, B OH OW, R_s)``.

    Parameters
    ----------
    in_channels, out_channels : int
        ``C`` and ``O``.
    kernel_size : int or (int, int)
        ``(KH, KW)``.
    ranks : int or sequence of int
        Channel ranks ``(R_1, ..., R_d)`` of every block; ``R_k <= c_k o_k``.
    stride, padding : int or (int, int)
        As for :class:`~tensornet.nn.Conv2d`.
    n_blocks : int
        Number of blocks ``N_b``.
    spatial_rank : int, optional
        ``R_s <= KH KW`` (default ``KH KW``, the spatial mode uncompressed).
    in_modes, out_modes : sequence of int, optional
        ``(c_1..c_d)`` and ``(o_1..o_d)``; by default
        :func:`~tensornet.nn.factorized.suggest_modes` with ``d = len(ranks)`` (or 3).
    bias : bool
        Learn a per-channel bias (initialized to zero).
    init : {"he", "glorot", "lecun"}
        Target variance of the kernel, fans ``(C KH KW, O KH KW)``.
    rescale : bool
        After sampling, scale the cores so that the mean of ``K**2`` equals the target exactly.
    mode : {"auto", "factors", "dense"}
        Forward path.
    random_state : None, int or numpy.random.Generator
        Seed.
    dtype : numpy dtype
        Parameter dtype.

    Notes
    -----
    Initialization: $d + 2$ Gaussian nodes per block with the same $\sigma$; every kernel
    entry sums $P = N_b R_s \prod_k R_k$ products of $d + 2$ entries, so
    $\sigma = \big(V_{\mathrm{target}} / (N_b R_s \prod_k R_k)\big)^{1/(2(d + 2))}$, with
    $V_{\mathrm{target}} = 2 / (C \, K_H K_W)$ for He.

    Examples
    --------
    >>> layer = BTConv2d(16, 32, 3, ranks=2, n_blocks=2, in_modes=(4, 4), out_modes=(4, 8),
    ...                  padding=1, random_state=0)
    >>> layer.weight().shape
    (32, 16, 3, 3)
    """

    @legacy_layout("in_channels", "out_channels", "kernel_size", "ranks", "stride", "padding")
    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        ranks: int | Sequence[int],
        *,
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        n_blocks: int = 2,
        spatial_rank: int | None = None,
        in_modes: Sequence[int] | None = None,
        out_modes: Sequence[int] | None = None,
        bias: bool = True,
        init: str = "he",
        rescale: bool = False,
        mode: str = "auto",
        random_state: Any = None,
        dtype: Any = np.float32,
    ) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, mode)
        c, o = self.in_channels, self.out_channels
        kh, kw = self.kernel_size
        self.in_modes, self.out_modes, self.ranks = _bt_config(
            c, o, in_modes, out_modes, ranks, ("in_channels", "out_channels")
        )
        self.spatial_rank = rs = check_rank_bound(
            kh * kw if spatial_rank is None else spatial_rank, "spatial_rank", kh * kw, "KH*KW"
        )
        self.n_blocks = nb = check_int(n_blocks, "n_blocks", minimum=1)
        shapes = {"spatial": (nb, rs, kh, kw), "core": (nb, rs) + self.ranks}
        self.init_factors(
            shapes | self._factor_shapes(), nb * rs * math.prod(self.ranks), init=init,
            random_state=random_state, dtype=dtype, bias=bias,
            rescale="core" if rescale else None,
        )  # fmt: skip

    @classmethod
    def from_weight(
        cls,
        weight: np.ndarray,
        bias: np.ndarray | None = None,
        *,
        ranks: int | Sequence[int],
        n_blocks: int = 1,
        spatial_rank: int | None = None,
        in_modes: Sequence[int] | None = None,
        out_modes: Sequence[int] | None = None,
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        mode: str = "auto",
        dtype: Any = None,
        n_iter_max: int = 100,
        tol: float = 1e-8,
        n_restarts: int = 1,
        random_state: Any = None,
    ) -> BTConv2d:
        """Layer from a BTD of a trained kernel (pre-train, :func:`tensornet.btd_als`).

        The kernel ``(O, C, KH, KW)`` is reshaped to ``(KH KW, c_1 o_1, ..., c_d o_d)`` and
        decomposed into ``n_blocks`` terms of multilinear rank ``(R_s, R_1, ..., R_d)``. One
        block with ``R_s = KH KW`` and ``R_k = c_k o_k`` is exact.

        Parameters
        ----------
        weight : array_like, shape (O, C, KH, KW)
            The dense kernel.
        bias : array_like, optional
            The dense bias ``(O,)``.
        ranks, n_blocks, spatial_rank, in_modes, out_modes, stride, padding
            As for the constructor.
        mode : {"auto", "factors", "dense"}
            Forward path.
        dtype : numpy dtype, optional
            Parameter dtype (default: the weight's).
        n_iter_max, tol, n_restarts, random_state
            Passed to :func:`tensornet.btd_als`.

        Returns
        -------
        BTConv2d
            ``decomposition_info`` holds the ALS report and ``weight_rel_error``.
        """
        w = check_array(weight, "weight", ndim=4)
        dtype = layer_dtype(w, dtype)
        o, c, kh, kw = w.shape
        in_modes, out_modes, ranks = _bt_config(
            c, o, in_modes, out_modes, ranks, ("in_channels", "out_channels")
        )
        d = len(ranks)
        rs = check_rank_bound(
            kh * kw if spatial_rank is None else spatial_rank, "spatial_rank", kh * kw, "KH*KW"
        )
        b = check_bias(bias, o, dtype)
        # (o_1..o_d, c_1..c_d, KH KW) -> (KH KW, c_1, o_1, ..., c_d, o_d)
        t = w.astype(np.float64).reshape(out_modes + in_modes + (kh * kw,))
        perm = (2 * d,) + tuple(a for k in range(d) for a in (d + k, k))
        t = t.transpose(perm).reshape(
            (kh * kw,) + tuple(ck * ok for ck, ok in zip(in_modes, out_modes, strict=True))
        )
        btd = btd_als(
            t,
            n_blocks,
            (rs,) + ranks,
            n_iter_max=n_iter_max,
            tol=tol,
            n_restarts=n_restarts,
            random_state=random_state,
        )
        layer = cls(
            c,
            o,
            (kh, kw),
            ranks,
            stride=stride,
            padding=padding,
            n_blocks=n_blocks,
            spatial_rank=rs,
            in_modes=in_modes,
            out_modes=out_modes,
            bias=b is not None,
            mode=mode,
            random_state=0,
            rescale=False,
            dtype=dtype,
        )
        spatial = np.stack([term.factors[0].T.reshape(rs, kh, kw) for term in btd.terms])
        set_param(layer, "spatial", spatial, dtype)
        set_param(layer, "core", np.stack([term.core for term in btd.terms]), dtype)
        for k, (ck, ok, rk) in enumerate(zip(in_modes, out_modes, ranks, strict=True)):
            stacked = np.stack([term.factors[k + 1].reshape(ck, ok, rk) for term in btd.terms])
            set_param(layer, f"factor_{k}", stacked, dtype)
        if b is not None:
            set_param(layer, "bias", b, dtype)
        return record_conversion(layer, w, btd.info)

    def dense_weight(self, params: dict[str, Any]) -> Any:
        """The kernel ``(O, C, KH, KW)``: the blocks rebuilt and summed, modes reordered."""
        d, nb, rs = self.order, self.n_blocks, self.spatial_rank
        o, c, kh, kw = self.weight_shape
        mats = [anp.transpose(anp.reshape(params["spatial"], (nb, rs, kh * kw)), (0, 2, 1))]
        mats += [
            anp.reshape(f, (nb, f.shape[1] * f.shape[2], f.shape[3])) for f in self._factors(params)
        ]
        # modes (KH KW, c_1 o_1, ..., c_d o_d); the sum puts the last one first
        full = tucker_blocks_sum(params["core"], mats)
        sizes = [(kh * kw,)] + [(self.in_modes[k], self.out_modes[k]) for k in range(d)]
        order = [d] + list(range(d))
        full = anp.reshape(full, tuple(x for k in order for x in sizes[k]))
        start = {k: sum(len(sizes[j]) for j in order[: order.index(k)]) for k in order}
        perm = tuple(start[k + 1] + 1 for k in range(d)) + tuple(start[k + 1] for k in range(d))
        return anp.reshape(anp.transpose(full, perm + (start[0],)), (o, c, kh, kw))

    def forward_factors(self, params: dict[str, Any], x: Any) -> Any:
        """Spatial filters on every input channel, then the block-term sweep per pixel."""
        nb, rs = self.n_blocks, self.spatial_rank
        o, c, kh, kw = self.weight_shape
        batch, _, h, w = x.shape
        oh, ow = self.output_size(x.shape)
        filters = anp.reshape(params["spatial"], (nb * rs, 1, kh, kw))
        # channels first, so the (N_b R_s, C B, OH, OW) buffer conv2d fills is already ordered
        # (blk, e, i_1, ...): the first contraction step then reads it without a copy
        xc = anp.reshape(anp.transpose(x, (1, 0, 2, 3)), (c * batch, 1, h, w))
        z = conv2d(xc, filters, None, self.stride, self.padding)
        d = self.order
        z = anp.reshape(z, self.in_modes + (batch, nb, rs, oh, ow))
        labels = [f"i{k}" for k in range(d)] + ["Lb", "blk", "e", "Lh", "Lw"]
        t, labels = bt_sweep(z, labels, self._factors(params), params["core"])
        order = [labels.index(lab) for lab in ["blk", "Lb"] + [f"j{k}" for k in range(d)]]
        order += [labels.index("Lh"), labels.index("Lw")]
        y = anp.reshape(anp.sum(anp.transpose(t, order), axis=0), (batch, o, oh, ow))
        bias = params.get("bias")
        return y if bias is None else y + anp.reshape(bias, (o, 1, 1))

    def factor_flops(self, input_shape: Sequence[int]) -> int:
        """``B C N_b R_s OH OW KH KW`` plus :func:`sweep_flops` with lead ``B OH OW``, extra
        ``R_s``."""
        o, c, kh, kw = self.weight_shape
        b = int(input_shape[0])
        oh, ow = self.output_size(input_shape)
        nb, rs = self.n_blocks, self.spatial_rank
        spatial = b * c * nb * rs * oh * ow * kh * kw
        return spatial + sweep_flops(self.in_modes, self.out_modes, self.ranks, nb, b * oh * ow, rs)

    def factor_activations(self, input_shape: Sequence[int]) -> int:
        """The spatial convolution of ``B C`` single-channel images (patches ``KH KW`` and
        ``N_b R_s`` outputs per position) and :func:`sweep_activations` with lead
        ``B OH OW``."""
        oh, ow = self.output_size(input_shape)
        lead = int(input_shape[0]) * oh * ow
        nb, rs = self.n_blocks, self.spatial_rank
        spatial = lead * self.in_channels * (math.prod(self.kernel_size) + nb * rs)
        return spatial + sweep_activations(self.in_modes, self.out_modes, self.ranks, nb, lead, rs)

    def reconstruction_flops(self) -> int:
        """:func:`tucker_full_flops` on the modes ``(KH KW, c_1 o_1, ..., c_d o_d)``."""
        kh, kw = self.kernel_size
        sizes = [kh * kw] + [c * o for c, o in zip(self.in_modes, self.out_modes, strict=True)]
        return tucker_full_flops(sizes, (self.spatial_rank,) + self.ranks, self.n_blocks)

    def to_format(self) -> BTDTensor:
        """The kernel as a :class:`~tensornet.formats.BTDTensor` of shape
        ``(KH KW, c_1 o_1, ..., c_d o_d)``, one Tucker term per block.

        Mode 0 is the spatial position ``p KW + q`` (factor ``S_n^T``), mode ``k`` pairs the
        input channel index ``c_k`` (slow) with the output index ``o_k``, as in
        :meth:`from_weight`.

        Returns
        -------
        BTDTensor
        """
        p, nb = self.param_copies(), self.n_blocks
        spatial = p["spatial"].reshape(nb, self.spatial_rank, -1).transpose(0, 2, 1)
        factors = [f.reshape(nb, f.shape[1] * f.shape[2], -1) for f in self._factors(p)]
        return BTDTensor(
            [(p["core"][n], [spatial[n]] + [f[n] for f in factors]) for n in range(nb)]
        )

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"ranks={self.ranks}, stride={self.stride}, padding={self.padding}, "
            f"n_blocks={self.n_blocks}, spatial_rank={self.spatial_rank}, "
            f"in_modes={self.in_modes}, out_modes={self.out_modes}, mode={self.mode!r}"
        )
