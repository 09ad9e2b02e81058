"""Pruning: weight-level magnitude pruning, filter pruning, and pruning of factorized layers.

The survey's Section III-A combines low-rank approximation with pruning in parallel: a weight
(or a factor of a decomposed layer) is both low-rank and sparse.

* **Magnitude pruning** (Han et al. 2015): the entries of a weight with ``|w| <= t`` are set to
  zero, with ``t = quality * std(w)`` per layer (Han et al.'s "quality parameter"), or ``t``
  chosen so that a target fraction of the entries is zero. The result is a
  :class:`PruneMasks`; attached to an optimizer (:meth:`PruneMasks.attach`) it masks the
  gradient before the update (so momentum and Adam moments of pruned entries stay zero) and
  re-zeroes the pruned entries after it, so they stay zero through fine-tuning.
* **Filter pruning** (Li et al. 2017): the output channels of a convolution (or output units of
  a linear layer) with the smallest L1 (or L2) norm are removed, together with the matching
  input channels of the next layer (and of a batch-norm layer in between); the network becomes
  narrower and truly cheaper.
* **Pruning a factorized layer**: the same magnitude rule applied to its factor matrices or
  cores (every parameter of a :class:`~tensornet.nn.factorized.FactorizedLayer` except its
  bias), the parallel low-rank + sparse combination.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._validation import check_int, check_option, check_real
from ..nn.conv import AvgPool2d, Conv2d, MaxPool2d
from ..nn.factorized.base import FactorizedLayer
from ..nn.layers import BatchNorm1d, BatchNorm2d, Dropout, Flatten, Linear, ReLU, Sigmoid, Tanh
from ..nn.module import Module, Sequential
from ._hooks import OptimizerHooks

__all__ = [
    "PruneMasks",
    "magnitude_prune",
    "prune_factors",
    "factor_param_names",
    "filter_prune",
    "FilterPruneResult",
]

CRITERIA = ("l1", "l2")
_PASS_THROUGH = (ReLU, Tanh, Sigmoid, Dropout, MaxPool2d, AvgPool2d)


# ------------------------------------------------------------------------------ masks
@dataclass
class PruneMasks(OptimizerHooks):
    """Which entries of which parameters are kept, and the hooks that keep the rest at zero.

    Attributes
    ----------
    masks : dict of str to numpy.ndarray of bool
        Parameter name -> mask of the parameter's shape, ``True`` where the entry is kept.
    thresholds : dict of str to float
        The magnitude threshold each parameter was pruned at (entries ``|w| <= t`` removed;
        with a target sparsity, the largest removed magnitude).
    """

    masks: dict[str, np.ndarray]
    thresholds: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.masks, dict):
            raise TypeError(f"masks must be a dict of boolean arrays, got {self.masks!r}")
        for name, mask in self.masks.items():
            if not isinstance(mask, np.ndarray) or mask.dtype != np.bool_:
                raise TypeError(f"masks[{name!r}] must be a boolean numpy array")

    def sparsity(self) -> dict[str, float]:
        """Fraction of pruned entries per parameter, and over all of them under ``"total"``.

        Returns
        -------
        dict of str to float
        """
        out = {k: 1.0 - float(np.count_nonzero(m)) / max(m.size, 1) for k, m in self.masks.items()}
        size = sum(m.size for m in self.masks.values())
        kept = sum(int(np.count_nonzero(m)) for m in self.masks.values())
        out["total"] = 1.0 - kept / max(size, 1)
        return out

    def apply(self, params: dict[str, np.ndarray]) -> None:
        """Zero the pruned entries of ``params`` in place.

        Parameters
        ----------
        params : dict of str to numpy.ndarray
            Must hold every masked name with the mask's shape.
        """
        for name, mask in self.masks.items():
            target = _lookup(params, name, mask.shape)
            target[~mask] = 0

    def grad_transform(
        self, grads: dict[str, np.ndarray], params: dict[str, np.ndarray]
    ) -> dict[str, np.ndarray]:
        """Zero the gradient of pruned entries (an optimizer gradient transform).

        Parameters
        ----------
        grads : dict of str to numpy.ndarray
        params : dict of str to numpy.ndarray
            Unused; part of the hook's signature.

        Returns
        -------
        dict of str to numpy.ndarray
            A new dict; masked entries replaced by masked copies.
        """
        out = dict(grads)
        for name, mask in self.masks.items():
            if name in out:
                out[name] = np.where(mask, out[name], 0).astype(out[name].dtype, copy=False)
        return out

    def prox(self, params: dict[str, np.ndarray], lr: float) -> None:
        """Re-zero the pruned entries after an update (an optimizer proximal map; in place).

        Parameters
        ----------
        params : dict of str to numpy.ndarray
        lr : float
            Unused; part of the hook's signature.
        """
        for name, mask in self.masks.items():
            if name in params:
                params[name][~mask] = 0

    def nbytes(self) -> dict[str, int]:
        """Bytes of the masks stored as bitmaps (one bit per entry), per name and ``"total"``.

        Returns
        -------
        dict of str to int
        """
        out = {k: math.ceil(m.size / 8) for k, m in self.masks.items()}
        out["total"] = sum(out.values())
        return out

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Bitmaps (``numpy.packbits`` of the C-order mask) keyed by parameter name.

        Returns
        -------
        dict of str to numpy.ndarray
        """
        return {k: np.packbits(m.reshape(-1)) for k, m in self.masks.items()}

    def to_meta(self) -> dict[str, Any]:
        """Shapes and thresholds (JSON).

        Returns
        -------
        dict
        """
        return {
            "kind": "PruneMasks",
            "shapes": {k: list(m.shape) for k, m in self.masks.items()},
            "thresholds": {k: float(v) for k, v in self.thresholds.items()},
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> PruneMasks:
        """Inverse of :meth:`to_arrays` / :meth:`to_meta`.

        Parameters
        ----------
        arrays : dict of str to numpy.ndarray
        meta : dict

        Returns
        -------
        PruneMasks

        Raises
        ------
        ValueError
            When a bitmap is missing or has the wrong length.
        """
        masks = {}
        for name, shape in dict(meta.get("shapes", {})).items():
            shape = tuple(check_int(s, f"meta shape of {name!r}", minimum=0) for s in shape)
            size = math.prod(shape)
            if name not in arrays:
                raise ValueError(f"mask record lacks the bitmap of {name!r}")
            bitmap = np.asarray(arrays[name])
            if bitmap.dtype != np.uint8 or bitmap.shape != (math.ceil(size / 8),):
                raise ValueError(
                    f"bitmap of {name!r} has shape {bitmap.shape} and dtype {bitmap.dtype}, "
                    f"expected ({math.ceil(size / 8)},) uint8"
                )
            masks[name] = np.unpackbits(bitmap)[:size].astype(bool).reshape(shape)
        thresholds = {k: float(v) for k, v in dict(meta.get("thresholds", {})).items()}
        return cls(masks, thresholds)


def _lookup(params: dict[str, np.ndarray], name: str, shape: tuple) -> np.ndarray:
    if name not in params:
        raise KeyError(f"params has no entry {name!r}")
    if params[name].shape != shape:
        raise ValueError(f"params[{name!r}] has shape {params[name].shape}, the mask {shape}")
    return params[name]


# ------------------------------------------------------------------------------ magnitude
def _params_of(model_or_params: Any) -> dict[str, np.ndarray]:
    if isinstance(model_or_params, Module):
        return model_or_params.params
    if isinstance(model_or_params, dict) and model_or_params:
        for key, value in model_or_params.items():
            if not isinstance(value, np.ndarray) or not np.issubdtype(value.dtype, np.floating):
                raise TypeError(f"params[{key!r}] must be a floating-point numpy array")
        return model_or_params
    raise TypeError(
        "model_or_params must be a tensornet.nn.Module or a non-empty dict of arrays, "
        f"got {type(model_or_params).__name__}"
    )


def _chosen_names(params: dict[str, np.ndarray], names: Sequence[str] | None) -> list[str]:
    if names is None:
        return [k for k, v in params.items() if v.ndim >= 2]
    if isinstance(names, str):
        raise TypeError(f"names must be a sequence of parameter names, got the string {names!r}")
    out = list(names)
    for n in out:
        if n not in params:
            raise ValueError(f"names holds {n!r}, which is not a parameter")
    return out


def _mask_by_quality(w: np.ndarray, quality: float) -> tuple[np.ndarray, float]:
    threshold = quality * float(np.std(w, dtype=np.float64))
    return np.abs(w) > threshold, threshold


def _mask_by_sparsity(w: np.ndarray, sparsity: float) -> tuple[np.ndarray, float]:
    """Remove exactly ``round(sparsity * size)`` entries of smallest magnitude (stable order)."""
    n_prune = int(round(sparsity * w.size))
    mask = np.ones(w.size, dtype=bool)
    if n_prune == 0:
        return mask.reshape(w.shape), 0.0
    order = np.argsort(np.abs(w).reshape(-1), kind="stable")
    mask[order[:n_prune]] = False
    return mask.reshape(w.shape), float(np.abs(w.reshape(-1)[order[n_prune - 1]]))


def _check_rule(quality: Any, sparsity: Any, names: list[str]) -> dict[str, tuple[str, float]]:
    if (quality is None) == (sparsity is None):
        raise ValueError("give exactly one of quality and sparsity")
    if quality is not None:
        q = check_real(quality, "quality", minimum=0.0)
        return {n: ("quality", q) for n in names}
    if isinstance(sparsity, dict):
        unknown = sorted(set(sparsity) - set(names))
        if unknown:
            raise ValueError(f"sparsity names {unknown} are not among the pruned parameters")
        rule = {}
        for n, s in sparsity.items():
            rule[n] = ("sparsity", _check_fraction(s, f"sparsity[{n!r}]"))
        return rule
    s = _check_fraction(sparsity, "sparsity")
    return {n: ("sparsity", s) for n in names}


def _check_fraction(value: Any, name: str) -> float:
    value = check_real(value, name, minimum=0.0)
    if not value < 1.0:
        raise ValueError(f"{name}={value} must lie in [0, 1)")
    return value


def magnitude_prune(
    model_or_params: Any,
    *,
    quality: float | None = None,
    sparsity: float | dict[str, float] | None = None,
    names: Sequence[str] | None = None,
    inplace: bool = True,
) -> PruneMasks:
    """Magnitude pruning of whole parameters, threshold per parameter (Han et al. 2015).

    Parameters
    ----------
    model_or_params : Module or dict of str to numpy.ndarray
        The model (its live ``params``) or a parameter dict.
    quality : float, optional
        Remove the entries with ``|w| <= quality * std(w)`` (Han et al.'s rule; ``std`` over
        the parameter's entries).
    sparsity : float or dict of str to float, optional
        Remove exactly ``round(s * size)`` smallest-magnitude entries of each parameter
        (``0 <= s < 1``; a dict prunes only the names it holds). Entries already zero count as
        removed first, so repeated calls with growing ``s`` prune iteratively.
    names : sequence of str, optional
        Parameters to prune; default every parameter with ``ndim >= 2`` (weights and factor
        matrices; biases and batch-norm vectors are left dense).
    inplace : bool
        Zero the pruned entries of the arrays (otherwise only the masks are computed).

    Returns
    -------
    PruneMasks

    Examples
    --------
    >>> import numpy as np
    >>> p = {"w": np.array([[0.1, -2.0], [0.5, 3.0]])}
    >>> magnitude_prune(p, sparsity=0.5).masks["w"].tolist()
    [[False, True], [False, True]]
    >>> p["w"].tolist()
    [[0.0, -2.0], [0.0, 3.0]]
    """
    params = _params_of(model_or_params)
    chosen = _chosen_names(params, names)
    rule = _check_rule(quality, sparsity, chosen)
    masks, thresholds = {}, {}
    for name, (kind, value) in rule.items():
        w = params[name]
        if kind == "quality":
            masks[name], thresholds[name] = _mask_by_quality(w, value)
        else:
            masks[name], thresholds[name] = _mask_by_sparsity(w, value)
    result = PruneMasks(masks, thresholds)
    if inplace:
        result.apply(params)
    return result


# ------------------------------------------------------------------------------ factorized
def _named_modules(module: Module, prefix: str = "") -> Iterator[tuple[str, Module]]:
    yield prefix, module
    for name, child in module.children():
        yield from _named_modules(child, f"{prefix}{name}.")


def factor_param_names(model: Module) -> list[str]:
    """Full names of every factor of every factorized layer in ``model``.

    A factor is any parameter of a :class:`~tensornet.nn.factorized.FactorizedLayer` except
    ``"bias"``, whatever the layer calls it (``"U"``, ``"core3"``, ...).

    Parameters
    ----------
    model : Module

    Returns
    -------
    list of str
        Dotted names as in ``model.params``.
    """
    if not isinstance(model, Module):
        raise TypeError(f"model must be a tensornet.nn.Module, got {type(model).__name__}")
    names = []
    for prefix, module in _named_modules(model):
        if isinstance(module, FactorizedLayer):
            names.extend(f"{prefix}{k}" for k in module.params if k != "bias")
    return names


def prune_factors(
    model: Module,
    *,
    quality: float | None = None,
    sparsity: float | dict[str, float] | None = None,
    inplace: bool = True,
) -> PruneMasks:
    """Magnitude pruning of the factors (matrices, cores) of every factorized layer.

    The low-rank + sparse combination of survey Section III-A: each factor keeps its entries
    with ``|f| > quality * std(f)`` (or its ``1 - sparsity`` largest), see
    :func:`magnitude_prune`. Attach the returned masks to the fine-tuning optimizer to keep the
    pruned entries at zero.

    Parameters
    ----------
    model : Module
        Holds factorized layers (see :func:`factor_param_names`).
    quality : float, optional
        Threshold ``quality * std`` per factor.
    sparsity : float or dict of str to float, optional
        Target fraction of zeros per factor.
    inplace : bool
        Zero the pruned entries.

    Returns
    -------
    PruneMasks

    Raises
    ------
    ValueError
        When the model has no factorized layer.
    """
    names = factor_param_names(model)
    if not names:
        raise ValueError("model has no factorized layer to prune the factors of")
    return magnitude_prune(model, quality=quality, sparsity=sparsity, names=names, inplace=inplace)


# ------------------------------------------------------------------------------ filters
@dataclass
class FilterPruneResult:
    """The narrower network and which output channels survived.

    Attributes
    ----------
    model : Sequential
        A new model (the input model is left unchanged).
    kept : dict of str to list of int
        Pruned layer name -> indices (into its original outputs) of the kept channels.
    next_layer : str
        The layer whose input channels were removed with them.
    scores : list of float
        The criterion of every original output channel.
    """

    model: Sequential
    kept: dict[str, list[int]]
    next_layer: str
    scores: list[float]

    def __post_init__(self) -> None:
        if not isinstance(self.model, Sequential):
            raise TypeError(f"model must be a tensornet.nn.Sequential, got {self.model!r}")

    def to_meta(self) -> dict[str, Any]:
        """The kept indices (JSON), enough to redo the pruning on the original architecture.

        Returns
        -------
        dict
        """
        return {"kind": "FilterPruneResult", "kept": self.kept, "next_layer": self.next_layer}


def _output_axis(layer: Module) -> int:
    if isinstance(layer, Conv2d):
        return 0
    if isinstance(layer, Linear):
        return 1
    raise TypeError(f"can prune the outputs of Conv2d or Linear layers, not {type(layer).__name__}")


def _scores(weight: np.ndarray, axis: int, criterion: str) -> np.ndarray:
    moved = np.moveaxis(weight, axis, 0).reshape(weight.shape[axis], -1).astype(np.float64)
    if criterion == "l1":
        return np.sum(np.abs(moved), axis=1)
    return np.sqrt(np.sum(moved**2, axis=1))


def _kept_indices(scores: np.ndarray, keep: Any, amount: Any) -> np.ndarray:
    n = scores.size
    if (keep is None) == (amount is None):
        raise ValueError("give exactly one of keep and amount")
    if amount is not None:
        amount = _check_fraction(amount, "amount")
        keep = max(1, n - int(round(amount * n)))
    if isinstance(keep, (int, np.integer)) and not isinstance(keep, bool):
        keep = check_int(keep, "keep", minimum=1, maximum=n)
        order = np.argsort(-scores, kind="stable")[:keep]
        return np.sort(order)
    idx = np.asarray(keep)
    if idx.ndim != 1 or idx.size == 0 or not np.issubdtype(idx.dtype, np.integer):
        raise ValueError(f"keep must be a count or a non-empty 1-D list of indices, got {keep!r}")
    if np.any(np.diff(idx) <= 0) or idx[0] < 0 or idx[-1] >= n:
        raise ValueError(f"keep indices must be strictly increasing within [0, {n}), got {keep!r}")
    return idx.astype(np.int64)


def _rebuild_linear(old: Linear, weight: np.ndarray, bias: np.ndarray | None) -> Linear:
    new = Linear(weight.shape[0], weight.shape[1], bias=bias is not None, dtype=weight.dtype)
    new.load_state_dict({"weight": weight, **({"bias": bias} if bias is not None else {})})
    return new


def _rebuild_conv(old: Conv2d, weight: np.ndarray, bias: np.ndarray | None) -> Conv2d:
    new = Conv2d(weight.shape[1], weight.shape[0], old.kernel_size, old.stride, old.padding,
                 bias=bias is not None, dtype=weight.dtype)  # fmt: skip
    new.load_state_dict({"weight": weight, **({"bias": bias} if bias is not None else {})})
    return new


def _rebuild(old: Module, weight: np.ndarray, bias: np.ndarray | None) -> Module:
    if isinstance(old, Conv2d):
        return _rebuild_conv(old, weight, bias)
    return _rebuild_linear(old, weight, bias)


def _prune_batchnorm(bn: Module, kept: np.ndarray) -> Module:
    new = type(bn)(kept.size, eps=bn.eps, momentum=bn.momentum, dtype=bn.params["weight"].dtype)
    new.load_state_dict({k: v[kept] for k, v in bn.state_dict().items()})
    return new


def filter_prune(
    model: Sequential,
    layer: str,
    *,
    keep: int | Sequence[int] | None = None,
    amount: float | None = None,
    criterion: str = "l1",
) -> FilterPruneResult:
    """Remove output channels of one layer and the matching inputs of the next (Li et al. 2017).

    The channels (conv filters, or output units of a linear layer) with the smallest
    ``criterion`` norm of their weights are removed, with their bias entries; the next layer
    with parameters loses the matching inputs: the input channels of a ``Conv2d``, the rows of
    a ``Linear`` (grouped per channel when a ``Flatten`` lies between: channel ``c`` owns rows
    ``c*s .. (c+1)*s - 1`` for ``s = in_features / channels``). A ``BatchNorm1d/2d`` between
    them is pruned along; activations, pooling and dropout pass through.

    Parameters
    ----------
    model : Sequential
        Top-level chain of layers (left unchanged; a pruned copy is returned).
    layer : str
        Name of the ``Conv2d`` or ``Linear`` layer to prune.
    keep : int or sequence of int, optional
        Number of channels to keep, or the sorted indices to keep (to redo a recorded pruning).
    amount : float, optional
        Fraction of the channels to remove, ``0 <= amount < 1`` (at least one is kept).
    criterion : {"l1", "l2"}
        Norm of a channel's weights.

    Returns
    -------
    FilterPruneResult

    Raises
    ------
    ValueError
        When the layer is missing or last, or a layer between it and the next parametrized
        layer cannot be pruned along.
    """
    if not isinstance(model, Sequential):
        raise TypeError(f"model must be a tensornet.nn.Sequential, got {type(model).__name__}")
    criterion = check_option(criterion, "criterion", CRITERIA)
    names = [n for n, _ in model.children()]
    if layer not in names:
        raise ValueError(f"layer={layer!r} is not a layer of the model (layers: {names})")
    model = copy.deepcopy(model)
    layers = dict(model.children())
    target = layers[layer]
    axis = _output_axis(target)
    weight = target.params["weight"]
    scores = _scores(weight, axis, criterion)
    kept = _kept_indices(scores, keep, amount)
    bias = target.params.get("bias")
    new_layers = {layer: _rebuild(target, np.take(weight, kept, axis=axis),
                                  None if bias is None else bias[kept])}  # fmt: skip
    start = names.index(layer) + 1
    flattened, nxt = False, None
    for name in names[start:]:
        mod = layers[name]
        if isinstance(mod, (BatchNorm1d, BatchNorm2d)):
            new_layers[name] = _prune_batchnorm(mod, kept)
        elif isinstance(mod, Flatten):
            flattened = True
        elif isinstance(mod, (Conv2d, Linear)):
            nxt = name
            break
        elif not isinstance(mod, _PASS_THROUGH) or mod.params:
            raise ValueError(
                f"cannot prune {layer!r} through layer {name!r} ({type(mod).__name__})"
            )
    if nxt is None:
        raise ValueError(f"layer={layer!r} has no following Conv2d or Linear layer to shrink")
    new_layers[nxt] = _shrink_inputs(layers[nxt], kept, scores.size, flattened)
    pairs = [(n, new_layers.get(n, layers[n])) for n in names]
    result = Sequential(*pairs)
    result.train(model.training)
    return FilterPruneResult(result, {layer: kept.tolist()}, nxt, scores.tolist())


def _shrink_inputs(mod: Module, kept: np.ndarray, n_channels: int, flattened: bool) -> Module:
    """``mod`` without the inputs of the removed channels."""
    weight, bias = mod.params["weight"], mod.params.get("bias")
    if isinstance(mod, Conv2d):
        if mod.in_channels != n_channels:
            raise ValueError(f"next Conv2d has {mod.in_channels} inputs, not {n_channels}")
        return _rebuild_conv(mod, weight[:, kept], bias)
    if mod.in_features % n_channels:
        raise ValueError(
            f"next Linear has {mod.in_features} inputs, not a multiple of {n_channels} channels"
        )
    per = mod.in_features // n_channels
    if per > 1 and not flattened:
        raise ValueError(f"next Linear has {mod.in_features} inputs, not {n_channels}")
    rows = (kept[:, None] * per + np.arange(per)[None, :]).reshape(-1)
    return _rebuild_linear(mod, weight[rows], bias)
