"""Pre-train compression: replace trained dense layers by factorized layers (survey Sec. II-A).

:func:`decompose` deep-copies a trained model and swaps each chosen ``Linear`` / ``Conv2d`` for
the factorized layer of a format, built by that layer class's ``from_weight`` from the trained
weight; the copy is then fine-tuned with :func:`tensornet.nn.fit` as usual. Ranks come from the
user (``ranks`` or ``eps``) or from a rank-selection rule (:mod:`tensornet.rank.budget`):
``"evbmf"``, ``"energy"``, ``"proportional"`` or the budget minimax.

Format names and the classes they build (looked up when used):

========  ======================================  ===================
method    Linear                                  Conv2d
========  ======================================  ===================
svd       ``LowRankLinear``                       ``LowRankConv2d``
cp        --                                      ``CPConv2d``
tucker2   --                                      ``TuckerConv2d``
tt        ``TTLinear``                            ``TTConv2d``
tr        ``TRLinear``                            ``TRConv2d``
ht        ``HTLinear``                            --
btd       ``BTLinear``                            ``BTConv2d``
kpd       ``KPLinear``                            --
gkpd      --                                      ``GKPConv2d``
stt       ``STTLinear``                           --
========  ======================================  ===================

A bound the tests check: with ``E = W - W~`` for one linear layer, ``||x W - x W~||_2 <=
||x||_2 ||E||_2 <= ||x||_2 ||E||_F``, so the output moves by at most the input norm times the
weight error the report gives (``relative_error * ||W||_F``).
"""

from __future__ import annotations

import copy
import importlib
import inspect
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .._validation import check_eps, check_option, check_random_state
from ..nn.conv import Conv2d, conv_output_size
from ..nn.factorized.base import suggest_modes
from ..nn.layers import Linear
from ..nn.module import Module
from ..rank.budget import (
    EPS_MAX,
    PROFILE_METHODS,
    RULES,
    Budget,
    RankProfile,
    evbmf_ranks,
    largest_fraction,
    minimax_eps,
    rank_profile,
)

__all__ = ["decompose", "DecompositionReport", "LayerReport", "METHODS"]

#: ``method -> {"Linear": (module, class), "Conv2d": (module, class)}`` under
#: ``tensornet.nn.factorized``.
METHODS: dict[str, dict[str, tuple[str, str]]] = {
    "svd": {"Linear": ("lowrank", "LowRankLinear"), "Conv2d": ("lowrank", "LowRankConv2d")},
    "cp": {"Conv2d": ("cp", "CPConv2d")},
    "tucker2": {"Conv2d": ("tucker", "TuckerConv2d")},
    "tt": {"Linear": ("tt", "TTLinear"), "Conv2d": ("tt", "TTConv2d")},
    "tr": {"Linear": ("tr", "TRLinear"), "Conv2d": ("tr", "TRConv2d")},
    "ht": {"Linear": ("ht", "HTLinear")},
    "btd": {"Linear": ("btd", "BTLinear"), "Conv2d": ("btd", "BTConv2d")},
    "kpd": {"Linear": ("kron", "KPLinear")},
    "gkpd": {"Conv2d": ("kron", "GKPConv2d")},
    "stt": {"Linear": ("stt", "STTLinear")},
}


#: Modes per side given to tensorized Linear layers that require ``in_modes``/``out_modes``
#: (HT, STT) when none are passed: the TT layers' default ``n_cores``.
DEFAULT_N_MODES = 3


@dataclass(frozen=True)
class LayerReport:
    """What happened to one layer.

    Attributes
    ----------
    name : str
        Dotted module name (``"fc1"``).
    method : str
        Format name.
    layer : str
        Class of the new layer.
    ranks : tuple of int or int
        The layer's ranks as built.
    params_before, params_after : int
        Trainable scalars of the dense and the factorized layer (biases included).
    relative_error : float
        ``||W - W~||_F / ||W||_F`` of the new layer's dense equivalent.
    """

    name: str
    method: str
    layer: str
    ranks: Any
    params_before: int
    params_after: int
    relative_error: float

    @property
    def compression(self) -> float:
        """``params_before / params_after``."""
        return self.params_before / self.params_after


@dataclass(frozen=True)
class DecompositionReport:
    """Per-layer results of :func:`decompose` plus the totals.

    Attributes
    ----------
    layers : list of LayerReport
        One entry per replaced layer, in model order.
    model_params_before, model_params_after : int
        Trainable scalars of the whole model before and after.
    eps : float or None
        The shared error bound found by the budget minimax (``None`` for other rules).
    budget : int or None
        The absolute budget that was enforced.
    budget_kind : str or None
        ``"params"`` or ``"flops"``.
    """

    layers: list[LayerReport]
    model_params_before: int
    model_params_after: int
    eps: float | None = None
    budget: int | None = None
    budget_kind: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def compression(self) -> float:
        """Whole-model ``params_before / params_after``."""
        return self.model_params_before / self.model_params_after

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dict (layers as dicts)."""
        out = asdict(self)
        out["compression"] = self.compression
        return out

    def table(self) -> str:
        """A plain-text table: layer, method, ranks, parameters, ratio, relative error."""
        head = f"{'layer':<10} {'method':<8} {'ranks':<18} {'params':>17} {'ratio':>7} {'error':>7}"
        lines = [head, "-" * len(head)]
        for r in self.layers:
            params = f"{r.params_before:,} -> {r.params_after:,}"
            lines.append(
                f"{r.name:<10} {r.method:<8} {_fmt_ranks(r.ranks):<18} {params:>17} "
                f"{r.compression:>6.1f}x {r.relative_error:>7.4f}"
            )
        lines.append(
            f"model: {self.model_params_before:,} -> {self.model_params_after:,} parameters "
            f"({self.compression:.1f}x)"
        )
        return "\n".join(lines)


def _fmt_ranks(ranks: Any) -> str:
    if ranks is None:
        return "-"
    if np.ndim(ranks) == 0:
        return str(int(ranks))
    return "(" + ", ".join(str(int(r)) for r in ranks) + ")"


# --------------------------------------------------------------------------- layer lookup
def _kind(module: Module) -> str | None:
    if type(module) is Linear:
        return "Linear"
    if type(module) is Conv2d:
        return "Conv2d"
    return None


def _layer_class(method: Any, kind: str) -> type | None:
    """The factorized class for ``method`` on a ``kind`` layer, ``None`` if it has none."""
    if isinstance(method, type):
        from ..nn.factorized.base import FactorizedConv2d, FactorizedLinear

        base = FactorizedLinear if kind == "Linear" else FactorizedConv2d
        return method if issubclass(method, base) else None
    entry = METHODS[method].get(kind)
    if entry is None:
        return None
    module_name, class_name = entry
    try:
        module = importlib.import_module(f"tensornet.nn.factorized.{module_name}")
        return getattr(module, class_name)
    except (ImportError, AttributeError) as exc:
        raise ImportError(
            f"method={method!r} builds tensornet.nn.factorized.{module_name}.{class_name}, "
            "which this install does not provide"
        ) from exc


def _method_name(method: Any) -> str:
    return method.__name__ if isinstance(method, type) else method


def _named_layers(model: Module) -> dict[str, Module]:
    out: dict[str, Module] = {}

    def walk(module: Module, prefix: str) -> None:
        for name, child in module.children():
            out[prefix + name] = child
            walk(child, f"{prefix}{name}.")

    walk(model, "")
    return out


def _choose_layers(
    model: Module, method: Any, layers: Sequence[str] | None
) -> dict[str, tuple[Module, str]]:
    named = _named_layers(model)
    mname = _method_name(method)
    if layers is None:
        chosen = {
            n: (m, _kind(m))
            for n, m in named.items()
            if _kind(m) is not None and _supports(method, _kind(m))
        }
        if not chosen:
            raise ValueError(f"the model has no Linear or Conv2d layer that method={mname!r} fits")
        return chosen
    if isinstance(layers, str):
        layers = [layers]
    chosen = {}
    for name in layers:
        if name not in named:
            raise ValueError(f"layers: the model has no layer {name!r}; it has {sorted(named)}")
        kind = _kind(named[name])
        if kind is None:
            raise ValueError(
                f"layer {name!r} is a {type(named[name]).__name__}; only Linear and Conv2d "
                "layers can be decomposed"
            )
        if not _supports(method, kind):
            fits = [k for k in ("Linear", "Conv2d") if _supports(method, k)]
            raise ValueError(
                f"layer {name!r} is a {kind}, which method={mname!r} does not decompose "
                f"(it applies to {', '.join(fits) or 'no layer type'})"
            )
        chosen[name] = (named[name], kind)
    return chosen


def _supports(method: Any, kind: str) -> bool:
    if isinstance(method, type):
        return _layer_class(method, kind) is not None
    return kind in METHODS[method]


# --------------------------------------------------------------------------- helpers
def _per_layer(value: Any, name: str, arg: str, names: Sequence[str]) -> Any:
    if isinstance(value, Mapping):
        unknown = sorted(set(value) - set(names))
        if unknown:
            raise ValueError(f"{arg} names layers {unknown} that are not being decomposed")
        return value.get(name)
    return value


def _check_ranks(ranks: Any, name: str) -> Any:
    if ranks is None:
        return None
    flat = [ranks] if np.ndim(ranks) == 0 else list(ranks)
    for i, r in enumerate(flat):
        if isinstance(r, (bool, np.bool_)) or not float(r).is_integer() or r < 1:
            where = "ranks" if np.ndim(ranks) == 0 else f"ranks[{i}]"
            raise ValueError(f"layer {name!r}: {where}={r!r} must be an integer >= 1")
    return int(ranks) if np.ndim(ranks) == 0 else tuple(int(r) for r in flat)


def _dense_flops(module: Module, kind: str, input_shape: Sequence[int]) -> int:
    w = module.params["weight"]
    if kind == "Linear":
        return int(input_shape[0]) * w.shape[0] * w.shape[1]
    o, c, kh, kw = w.shape
    oh = conv_output_size(int(input_shape[2]), kh, module.stride[0], module.padding[0])
    ow = conv_output_size(int(input_shape[3]), kw, module.stride[1], module.padding[1])
    return int(input_shape[0]) * oh * ow * o * c * kh * kw


def _input_shapes(model: Module, names: Sequence[str], input_shape: Sequence[int]) -> dict:
    """Each named layer's input shape, from one forward pass on zeros."""
    named = _named_layers(model)
    shapes: dict[str, tuple[int, ...]] = {}
    dtype = next(iter(model.params.values())).dtype if model.params else np.float32
    for name in names:
        layer = named[name]

        def spy(params, x, _layer=layer, _name=name):
            shapes[_name] = tuple(np.shape(x))
            return type(_layer).forward(_layer, params, x)

        layer.forward = spy  # an instance attribute shadows the class method
    try:
        model(np.zeros(tuple(input_shape), dtype=dtype))
    finally:
        for name in names:
            del named[name].forward
    return shapes


def _cast_params(layer: Module, dtype: np.dtype) -> Module:
    for module in layer.modules():
        for key, value in list(module._params.items()):
            if value.dtype != dtype or not value.flags.c_contiguous:  # optimizers need both
                module._params[key] = np.ascontiguousarray(value, dtype=dtype)
    return layer


def _replace(model: Module, name: str, new: Module) -> None:
    parent = model
    *path, leaf = name.split(".")
    for part in path:
        parent = dict(parent.children())[part]
    parent._modules[leaf] = new


def _accepts(fn: Any, arg: str) -> bool:
    params = inspect.signature(fn).parameters
    return arg in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def _layer_ranks(layer: Module, fallback: Any) -> Any:
    for attr in ("ranks", "rank"):
        value = getattr(layer, attr, None)
        if value is not None and not callable(value):
            return value
    return fallback


# --------------------------------------------------------------------------- the builder
class _Builder:
    """Builds one layer's factorized replacement, memoizing by the request."""

    def __init__(self, name, module, kind, cls, options, rng, spectral):
        self.name, self.module, self.kind, self.cls = name, module, kind, cls
        self.spectral_method = spectral
        self.weight = np.asarray(module.params["weight"])
        bias = module.params.get("bias")
        self.bias = None if bias is None else np.asarray(bias, dtype=np.float64)
        self.options = dict(options)
        if kind == "Conv2d":
            self.options.setdefault("stride", module.stride)
            self.options.setdefault("padding", module.padding)
        params = inspect.signature(cls.from_weight).parameters
        if _accepts(cls.from_weight, "random_state"):
            self.options.setdefault("random_state", int(rng.integers(2**31)))
        if "dtype" in params:
            self.options.setdefault("dtype", self.weight.dtype)
        if kind == "Linear":  # tensorized formats that need the modes: the TT layers' default
            n, m = self.weight.shape
            for arg, size in (("in_modes", n), ("out_modes", m)):
                if arg in params and params[arg].default is inspect.Parameter.empty:
                    self.options.setdefault(arg, suggest_modes(size, DEFAULT_N_MODES))
        # KPLinear / GKPConv2d name their single rank "rank".
        self.rank_arg = "rank" if "rank" in params and "ranks" not in params else "ranks"
        self.takes_eps = _accepts(cls.from_weight, "eps")
        self._cache: dict[Any, Module] = {}

    def build(self, ranks: Any = None, eps: float | None = None, **extra: Any) -> Module:
        key = (ranks, eps, tuple(sorted(extra.items())))
        if key not in self._cache:
            kwargs = {**self.options, **extra}
            if ranks is not None:
                kwargs[self.rank_arg] = ranks
            if eps is not None:
                if not self.takes_eps:
                    raise ValueError(
                        f"layer {self.name!r}: {self.cls.__name__}.from_weight takes no error "
                        "bound eps; give ranks, or a budget (largest common rank)"
                    )
                kwargs["eps"] = eps
            try:
                layer = self.cls.from_weight(self.weight.astype(np.float64), self.bias, **kwargs)
            except (ValueError, TypeError) as exc:
                raise type(exc)(f"layer {self.name!r} ({self.kind}): {exc}") from exc
            self._cache[key] = _cast_params(layer, self.weight.dtype)
        return self._cache[key]

    def twin(self, ranks: Any) -> Module:
        """A randomly initialized layer of the shape ``from_weight(ranks=ranks)`` would build."""
        key = ("twin", ranks)
        if key in self._cache:
            return self._cache[key]
        ctor = inspect.signature(self.cls.__init__).parameters
        defaults = {
            k: p.default
            for k, p in inspect.signature(self.cls.from_weight).parameters.items()
            if p.default is not inspect.Parameter.empty
        }
        kwargs = {
            k: v
            for k, v in {**defaults, **self.options}.items()
            if k in ctor and k not in ("ranks", "rank", "eps", "random_state", "dtype", "mode")
        }
        if "bias" in ctor:
            kwargs["bias"] = self.bias is not None
        rank_arg = "rank" if "rank" in ctor and "ranks" not in ctor else "ranks"
        kwargs[rank_arg] = ranks
        try:
            if self.kind == "Linear":
                layer = self.cls(self.weight.shape[0], self.weight.shape[1], **kwargs)
            else:
                o, c, kh, kw = self.weight.shape
                layer = self.cls(c, o, (kh, kw), **kwargs)
        except TypeError:  # a constructor of another shape: count a one-sweep conversion
            quick = {"n_iter_max": 1} if _accepts(self.cls.from_weight, "n_iter_max") else {}
            layer = self.build(ranks=ranks, **quick)
        self._cache[key] = layer
        return layer

    def cost(self, layer: Module, kind: str, input_shape: Sequence[int] | None) -> int:
        if kind == "params":
            return layer.n_params
        return int(layer.flops(input_shape, path="factors"))

    def dense_cost(self, kind: str, input_shape: Sequence[int] | None) -> int:
        if kind == "params":
            return self.module.n_params
        return _dense_flops(self.module, self.kind, input_shape)

    def profile(self) -> RankProfile:
        return rank_profile(
            self.weight,
            self.spectral_method,
            bias=0 if self.bias is None else self.bias.size,
            stride=getattr(self.module, "stride", (1, 1)),
            padding=getattr(self.module, "padding", (0, 0)),
        )


def _class_ranks(method: str, ranks: tuple[int, ...]) -> Any:
    """Profile ranks as the layer classes take them.

    ``LowRank*`` take one int; ``TuckerConv2d`` takes ``(r_in, r_out)`` while the profile lists
    the unfoldings in mode order, ``(r_out, r_in)``.
    """
    return ranks[0] if method == "svd" else (ranks[1], ranks[0])


def decompose(
    model: Module,
    method: str | type,
    ranks: Any = None,
    eps: float | Mapping[str, float] | None = None,
    rank_selection: str | None = None,
    budget: Budget | float | int | None = None,
    layers: Sequence[str] | None = None,
    random_state: Any = None,
    energy: float = 0.99,
    layer_options: Mapping[str, Mapping[str, Any]] | None = None,
    **options: Any,
) -> tuple[Module, DecompositionReport]:
    """A copy of ``model`` whose chosen layers are factorized from their trained weights.

    Pre-train compression (survey Sec. II-A): each chosen dense layer is replaced by
    ``cls.from_weight(W, b, ranks=..., eps=..., **options)`` of the format's class (see the
    module docstring for the table). ``model`` itself is not modified.

    Parameters
    ----------
    model : Module
        The trained model.
    method : str or type
        ``"svd"``, ``"cp"``, ``"tucker2"``, ``"tt"``, ``"tr"``, ``"ht"``, ``"btd"``, ``"kpd"``,
        ``"gkpd"`` or ``"stt"``; or a :class:`~tensornet.nn.factorized.FactorizedLinear` /
        ``FactorizedConv2d`` subclass to use for every layer it fits.
    ranks : int, tuple or dict, optional
        Ranks passed to ``from_weight`` (the class's convention), the same for every layer or a
        dict ``{layer name: ranks}`` (then ``layers`` defaults to its keys).
    eps : float or dict, optional
        Relative Frobenius error bound per layer, passed to ``from_weight``.
    rank_selection : {"evbmf", "energy", "proportional", "minimax"}, optional
        ``"evbmf"`` (methods ``"svd"``, ``"tucker2"``): EVBMF rank of each unfolding;
        ``"energy"``: error bound ``sqrt(1 - energy)`` per layer (keeps the fraction
        ``energy`` of ``||W||^2``); ``"proportional"`` (``"svd"``, ``"tucker2"``, needs
        ``budget``): ranks a common fraction of their maxima, the largest that fits;
        ``"minimax"`` (default when ``budget`` is given): the smallest error bound shared by
        all layers that fits the budget. See :mod:`tensornet.rank.budget`.
    budget : Budget, int or float, optional
        Cap on the decomposed layers' parameters (an int, or a fraction in ``(0, 1)`` of their
        dense count) or, as ``Budget(value, "flops", input_shape)``, their multiply-adds.
    layers : sequence of str, optional
        Dotted names of the layers to replace; default every ``Linear`` / ``Conv2d`` the method
        applies to.
    random_state : None, int or numpy.random.Generator
        Seeds the decompositions that use randomness (one derived seed per layer).
    energy : float
        Fraction of ``||W||^2`` kept by ``rank_selection="energy"``.
    layer_options : dict, optional
        ``{layer name: {option: value}}`` passed to that layer's ``from_weight`` (e.g.
        ``in_modes``), over ``options``.
    **options
        Passed to every ``from_weight`` (e.g. ``mode="factors"``). Convolutions also get their
        ``stride`` and ``padding``.

    Returns
    -------
    new_model : Module
        The deep copy with factorized layers (parameters in the original dtype).
    report : DecompositionReport
        Per layer: method, ranks, parameters before/after, relative weight error.

    Raises
    ------
    ValueError
        Naming the layer: a layer type the method does not decompose, bad ranks, an error the
        layer class raised; or a budget no ranks can meet (listing each layer's minimum).

    Examples
    --------
    >>> from tensornet.nn import lenet300_100
    >>> small, report = decompose(lenet300_100(random_state=0), "svd", ranks=10)
    >>> [(r.name, r.params_before, r.params_after) for r in report.layers]
    [('fc1', 235500, 11140), ('fc2', 30100, 4100), ('fc3', 1010, 1110)]
    """
    method, mname, rank_selection = _check_request(method, ranks, eps, rank_selection, budget)
    if layers is None and isinstance(ranks, Mapping):
        layers = list(ranks)
    if layers is None and isinstance(eps, Mapping):
        layers = list(eps)
    new = copy.deepcopy(model)
    builders = _make_builders(new, method, layers, options, layer_options, random_state)
    names = [b.name for b in builders]
    extra: dict[str, Any] = {}
    found_eps = limit = kind_name = None
    if rank_selection in (None, "evbmf", "energy"):
        built = [_build_one(b, mname, rank_selection, ranks, eps, energy, names) for b in builders]
    else:
        budget = Budget.coerce(budget)
        kind_name = budget.kind
        built, found_eps, limit, extra = _build_within_budget(
            new, builders, mname, rank_selection, budget
        )
    reports = []
    for b, layer in zip(builders, built, strict=True):
        _replace(new, b.name, layer)
        reports.append(_layer_report(b, layer, mname))
    report = DecompositionReport(
        layers=reports,
        model_params_before=model.n_params,
        model_params_after=new.n_params,
        eps=found_eps,
        budget=limit,
        budget_kind=kind_name,
        extra=extra,
    )
    return new, report


def _check_request(method, ranks, eps, rank_selection, budget):
    """Validate how the ranks are to be chosen; ``(method, name, rule)``."""
    if not isinstance(method, type):
        method = check_option(method, "method", tuple(METHODS))
    mname = _method_name(method)
    if rank_selection is not None:
        rank_selection = check_option(rank_selection, "rank_selection", RULES)
    if budget is not None and rank_selection is None:
        rank_selection = "minimax"
    if rank_selection in ("proportional", "minimax") and budget is None:
        raise ValueError(f"rank_selection={rank_selection!r} needs a budget")
    given = [
        a
        for a, v in (("ranks", ranks), ("eps", eps), ("rank_selection", rank_selection))
        if v is not None
    ]
    if len(given) > 1:
        raise ValueError(f"give only one of ranks, eps, rank_selection/budget; got {given}")
    if not given:
        raise ValueError("give ranks, eps, rank_selection or budget to choose the ranks")
    if rank_selection in ("evbmf", "proportional") and mname not in PROFILE_METHODS:
        raise ValueError(
            f"rank_selection={rank_selection!r} works on methods {PROFILE_METHODS}, "
            f"not {mname!r}; use 'energy', 'minimax' or explicit ranks"
        )
    return method, mname, rank_selection


def _make_builders(new, method, layers, options, layer_options, random_state):
    """One :class:`_Builder` per chosen layer of the copy ``new``."""
    mname = _method_name(method)
    chosen = _choose_layers(new, method, layers)
    unknown = sorted(set(layer_options or {}) - set(chosen))
    if unknown:
        raise ValueError(f"layer_options names layers {unknown} that are not being decomposed")
    rng = check_random_state(random_state)
    builders = []
    for name, (module, kind) in chosen.items():
        opts = {**options, **dict((layer_options or {}).get(name, {}))}
        # The singular-value profile models the channel-wise SVD and Tucker-2 layers only.
        channel = opts.get("scheme", "channel") == "channel"
        spectral = mname if mname in PROFILE_METHODS and channel else None
        cls = _layer_class(method, kind)
        builders.append(_Builder(name, module, kind, cls, opts, rng, spectral))
    return builders


def _build_one(b, mname, rule, ranks, eps, energy, names) -> Module:
    """The layer for a per-layer rule (EVBMF, energy) or the user's ranks / eps."""
    if rule == "evbmf":
        return b.build(ranks=_class_ranks(mname, evbmf_ranks(b.weight, mname)))
    if rule == "energy":
        if not 0.0 < float(energy) <= 1.0:
            raise ValueError(f"energy={energy!r} must lie in (0, 1]")
        return b.build(eps=math.sqrt(1.0 - float(energy)))
    if ranks is not None:
        r = _check_ranks(_per_layer(ranks, b.name, "ranks", names), b.name)
        if r is None:
            raise ValueError(f"ranks gives no ranks for layer {b.name!r}")
        return b.build(ranks=r)
    e = _per_layer(eps, b.name, "eps", names)
    if e is None:
        raise ValueError(f"eps gives no bound for layer {b.name!r}")
    return b.build(eps=check_eps(e, f"eps for layer {b.name!r}"))


def _build_within_budget(new, builders, mname, rule, budget):
    """Layers for the budget rules: ``(layers, eps, absolute limit, extra)``."""
    names = [b.name for b in builders]
    shapes = _input_shapes(new, names, budget.input_shape) if budget.kind == "flops" else {}
    dense_total = sum(b.dense_cost(budget.kind, shapes.get(b.name)) for b in builders)
    limit = budget.limit(dense_total)
    built, found_eps, extra = _search(builders, mname, rule, budget.kind, limit, shapes)
    total = sum(
        b.cost(layer, budget.kind, shapes.get(b.name))
        for b, layer in zip(builders, built, strict=True)
    )
    if total > limit:
        raise RuntimeError(
            f"the layers built at the searched ranks cost {total:,} {budget.kind}, over the "
            f"budget {limit:,}: the rank profile of method {mname!r} disagrees with its class"
        )
    return built, found_eps, limit, {**extra, "cost": total, "dense_cost": dense_total}


def _layer_report(b, layer, mname) -> LayerReport:
    w = b.weight.astype(np.float64)
    err = float(np.linalg.norm(np.asarray(layer.weight(), np.float64) - w))
    norm = float(np.linalg.norm(w))
    return LayerReport(
        name=b.name,
        method=mname,
        layer=type(layer).__name__,
        ranks=_layer_ranks(layer, None),
        params_before=b.module.n_params,
        params_after=layer.n_params,
        relative_error=err / norm if norm else err,
    )


def _search(builders, mname, rule, kind, limit, shapes):
    """Budget search: ``(layers, eps, extra)``; ``extra`` holds the proportional fraction or
    the common rank when the search fell back to one."""
    spectral = all(b.spectral_method is not None for b in builders)
    layer_names = [b.name for b in builders]

    def profile_cost(b, prof, ranks):
        if kind == "params":
            return prof.n_params(ranks)
        return prof.flops(ranks, shapes[b.name])

    if spectral:
        profs = [b.profile() for b in builders]
        if rule == "proportional":
            costs = [
                lambda r, b=b, p=p: profile_cost(b, p, p.ranks_for_fraction(r))
                for b, p in zip(builders, profs, strict=True)
            ]
            rho = largest_fraction(costs, limit, names=layer_names, kind=kind)
            layers = [
                b.build(ranks=_class_ranks(mname, p.ranks_for_fraction(rho)))
                for b, p in zip(builders, profs, strict=True)
            ]
            return layers, None, {"fraction": rho}
        costs = [
            lambda e, b=b, p=p: profile_cost(b, p, p.ranks_for_eps(e))
            for b, p in zip(builders, profs, strict=True)
        ]
        points = np.concatenate([p.breakpoints() for p in profs])
        top = max(float(points.max()), EPS_MAX)  # every rank is 1 at the largest breakpoint
        eps = minimax_eps(
            costs, limit, candidates=points, names=layer_names, kind=kind, eps_max=top
        )
        layers = [
            b.build(ranks=_class_ranks(mname, p.ranks_for_eps(eps)))
            for b, p in zip(builders, profs, strict=True)
        ]
        return layers, eps, {}
    if rule == "proportional":
        raise ValueError(f"rank_selection='proportional' needs a channel-wise {mname!r} layer")
    if all(b.takes_eps for b in builders):
        costs = [
            lambda e, b=b: b.cost(b.build(eps=_round_eps(e)), kind, shapes.get(b.name))
            for b in builders
        ]
        try:
            eps = minimax_eps(costs, limit, names=layer_names, kind=kind, tol=1e-3)
        except ValueError:
            pass  # no error bound fits: try a common rank below
        else:
            return [b.build(eps=_round_eps(eps)) for b in builders], _round_eps(eps), {}
    rank = _largest_common_rank(builders, kind, limit, shapes)
    return [b.build(ranks=rank) for b in builders], None, {"common_rank": rank}


def _round_eps(eps: float) -> float:
    """Cache key for the bisection on real layers (eps in ``[0, 1)``)."""
    return min(float(eps), 1.0 - 1e-9)


def _largest_common_rank(builders, kind, limit, shapes) -> int:
    """Largest rank ``R`` (the same for every layer) whose layers fit ``limit``.

    Used for the formats whose conversion takes no error bound (CP, BTD), and when no error
    bound fits (a TR-SVD keeps ranks above 1 even at errors close to 1). The cost grows with
    ``R``, so a doubling then a bisection finds it. Costs are read from a randomly
    initialized layer of the same shape (:meth:`_Builder.twin`), which has the same parameter
    and FLOP counts as the decomposed one without running its ALS.
    """
    names = [b.name for b in builders]

    def costs(rank: int) -> list[int]:
        return [b.cost(b.twin(rank), kind, shapes.get(b.name)) for b in builders]

    def fits(rank: int) -> bool:
        try:
            return sum(costs(rank)) <= limit
        except ValueError:  # beyond the largest rank a layer allows
            return False

    if not fits(1):
        floors = costs(1)
        parts = ", ".join(f"{n}: {f:,}" for n, f in zip(names, floors, strict=True))
        raise ValueError(
            f"budget of {limit:,} {kind} cannot be met: rank 1 everywhere needs "
            f"{sum(floors):,} ({parts})"
        )
    lo, hi = 1, 2  # lo fits
    while fits(hi):
        lo, hi = hi, 2 * hi
        if hi > 2**20:
            raise ValueError("the layers' parameter counts do not grow with the rank")
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid
    return lo
