"""One compression pipeline: decompose -> prune -> quantize -> encode, fine-tuning between.

The survey's Section III combines low-rank approximation with the other compression methods,
in parallel (pruning, weight sharing, distillation) and orthogonally (quantization, entropy
coding). :func:`pipeline` runs such a combination as a list of steps, each a dict (so a
pipeline is also a JSON file, see ``tensornet compress``):

``{"step": "decompose", ...}``
    :func:`tensornet.compress.decompose.decompose` with the other keys (``method``, ``ranks``,
    ``eps``, ``budget``, ``layers``, ...). Must come before pruning and quantization.
``{"step": "prune", "quality": q}`` or ``{"step": "prune", "sparsity": s}``
    :func:`tensornet.compress.prune.magnitude_prune` (``q`` or ``s`` a number or a dict by
    parameter name; ``names`` optional). Later fine-tuning keeps the pruned entries at zero; a
    second prune step intersects the masks.
``{"step": "quantize", "method": "kmeans" | "affine", "bits": b}``
    k-means weight sharing (Han et al. 2016; pruned entries keep the exact zero) or uniform
    affine quantization of the parameters with ``ndim >= 2`` (or ``names``); ``b`` a number
    or a dict by name. Fine-tuning after it trains the shared centroids (k-means) or the float
    shadow weights straight-through (affine).
``{"step": "fine_tune", "epochs": e, ...}``
    Fine-tune now (see below).
``{"step": "encode", "coding": "huffman" | "fixed", "index_bits": 5}``
    The coding of the artifact's integer streams.

Fine-tuning: ``fine_tune`` holds the defaults (``epochs``, ``lr``, ``optimizer``,
``batch_size``, ``distill``, ``temperature``, ``alpha``); when given, every decompose, prune and
quantize step is followed by a fine-tuning run, and a step's own ``"fine_tune"`` key (a number
of epochs, a dict of overrides, or ``false``) overrides it. ``distill: true`` trains against
the dense input model with :func:`tensornet.compress.distill.distill`.

Each step appends a stage record (parameters, kept entries, payload bytes and ratio as the
artifact would store the model at that point, test error on ``eval_data``) to the returned
:class:`~tensornet.compress.artifact.CompressedModel`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._validation import check_int, check_random_state
from ..nn.losses import cross_entropy
from ..nn.module import Module
from ..nn.train import evaluate, fit
from .artifact import CODINGS, MAX_INDEX_BITS, CompressedModel, dense_bytes
from .distill import distill, make_optimizer
from .quantize import QuantizedTensor, kmeans_quantize, quantize_affine

__all__ = ["pipeline", "STEPS", "FINE_TUNE_DEFAULTS"]

STEPS = ("decompose", "prune", "quantize", "fine_tune", "encode")
FINE_TUNE_DEFAULTS: dict[str, Any] = {
    "epochs": 1,
    "lr": 1e-3,
    "optimizer": "adam",
    "batch_size": 128,
    "distill": False,
    "temperature": 4.0,
    "alpha": 0.9,
}
_STEP_KEYS = {
    "prune": {"quality", "sparsity", "names", "index_bits"},
    "quantize": {"method", "bits", "names", "symmetric", "axis", "init", "n_iter", "bias_bits"},
    "fine_tune": set(FINE_TUNE_DEFAULTS),
    "encode": {"coding", "index_bits"},
}


@dataclass
class _State:
    """What the steps share: the model, masks, quantizers, coding and the teacher."""

    model: Module
    teacher: Module
    reference_bytes: int
    masks: dict[str, np.ndarray] = field(default_factory=dict)
    quantized: dict[str, QuantizedTensor] = field(default_factory=dict)
    quant_spec: dict[str, Any] | None = None
    coding: str = "fixed"
    index_bits: int | str = 5
    stages: list[dict[str, Any]] = field(default_factory=list)


# --------------------------------------------------------------------------- validation
def _check_steps(steps: Any) -> list[dict[str, Any]]:
    if isinstance(steps, (str, bytes, Mapping)) or not isinstance(steps, Sequence):
        raise TypeError(f"steps must be a list of dicts, got {type(steps).__name__}")
    out, seen = [], []
    for i, step in enumerate(steps):
        if not isinstance(step, Mapping) or "step" not in step:
            raise TypeError(f"steps[{i}] must be a dict with a 'step' key, got {step!r}")
        kind = step["step"]
        if kind not in STEPS:
            raise ValueError(f"steps[{i}]['step']={kind!r} must be one of {STEPS}")
        allowed = _STEP_KEYS.get(kind)
        extra = set(step) - {"step", "fine_tune"} - (allowed or set())
        if allowed is not None and extra:
            raise ValueError(
                f"steps[{i}] ({kind}) has unknown keys {sorted(extra)}; allowed: {sorted(allowed)}"
            )
        if kind == "decompose" and ({"prune", "quantize"} & set(seen)):
            raise ValueError(f"steps[{i}]: decompose must come before prune and quantize")
        if kind == "prune" and "quantize" in seen:
            raise ValueError(f"steps[{i}]: prune must come before quantize")
        if kind == "quantize" and "quantize" in seen:
            raise ValueError(f"steps[{i}]: the model is quantized once")
        if "encode" in seen:
            raise ValueError(f"steps[{i}]: encode must be the last step")
        if kind == "encode":
            _check_encode(step, i)
        seen.append(kind)
        out.append(dict(step))
    return out


def _check_encode(step: Mapping, i: int) -> None:
    coding = step.get("coding", "huffman")
    if coding not in CODINGS:
        raise ValueError(f"steps[{i}]['coding']={coding!r} must be one of {CODINGS}")
    if "index_bits" in step and step["index_bits"] != "auto":
        check_int(
            step["index_bits"], f"steps[{i}]['index_bits']", minimum=1, maximum=MAX_INDEX_BITS
        )


def _fine_tune_settings(defaults: Mapping | None, spec: Mapping, kind: str) -> dict | None:
    """The fine-tuning run after a step (``None``: none)."""
    base = dict(FINE_TUNE_DEFAULTS, **(defaults or {}))
    if kind == "fine_tune":
        override: Any = {k: v for k, v in spec.items() if k != "step"}
    elif kind == "encode":
        return None
    else:
        override = spec.get("fine_tune")
    if override is None:
        return base if defaults is not None else None
    if isinstance(override, bool):
        return base if override else None
    if isinstance(override, Mapping):
        unknown = set(override) - set(FINE_TUNE_DEFAULTS)
        if unknown:
            raise ValueError(f"fine_tune has unknown keys {sorted(unknown)}")
        return dict(base, **override)
    base["epochs"] = check_int(override, "fine_tune epochs", minimum=0)
    return base if base["epochs"] else None


# --------------------------------------------------------------------------- steps
def _step_decompose(state: _State, spec: dict, random_state: Any) -> str:
    from .decompose import decompose

    options = {k: v for k, v in spec.items() if k not in ("step", "fine_tune")}
    if "method" not in options:
        raise ValueError("a decompose step needs a 'method'")
    options.setdefault("random_state", random_state)
    state.model, _ = decompose(state.model, **options)
    return f"decompose {options['method']}"


def _step_prune(state: _State, spec: dict) -> str:
    from .prune import magnitude_prune

    if "index_bits" in spec:
        state.index_bits = check_int(spec["index_bits"], "index_bits", minimum=1, maximum=16)
    result = magnitude_prune(
        state.model, quality=spec.get("quality"), sparsity=spec.get("sparsity"),
        names=spec.get("names"),
    )  # fmt: skip
    for name, mask in result.masks.items():
        old = state.masks.get(name)
        state.masks[name] = mask if old is None else (mask & old)
    _apply_masks(state)
    kept = sum(int(m.sum()) for m in state.masks.values())
    total = sum(m.size for m in state.masks.values())
    return f"prune ({100 * kept / max(total, 1):.1f}% kept)"


def _apply_masks(state: _State) -> None:
    params = state.model.params
    for name, mask in state.masks.items():
        params[name][~mask] = 0


def _quant_names(state: _State, spec: dict) -> list[str]:
    params = state.model.params
    names = spec.get("names")
    if names is None:
        return [k for k, v in params.items() if v.ndim >= 2]
    unknown = sorted(set(names) - set(params))
    if unknown:
        raise ValueError(f"quantize names {unknown} are not parameters of the model")
    return list(names)


def _bits_for(spec: dict, name: str) -> int:
    bits = spec.get("bits", 8)
    if isinstance(bits, Mapping):
        if name not in bits:
            raise ValueError(f"quantize bits has no entry for {name!r}")
        bits = bits[name]
    return check_int(bits, f"bits[{name!r}]", minimum=1, maximum=16)


def _step_quantize(state: _State, spec: dict, random_state: Any) -> str:
    method = spec.get("method", "kmeans")
    if method not in ("kmeans", "affine"):
        raise ValueError(f"quantize method={method!r} must be 'kmeans' or 'affine'")
    params = state.model.params
    names = _quant_names(state, spec)
    for name in names:
        bits = _bits_for(spec, name)
        w = params[name]
        if method == "kmeans":
            q = kmeans_quantize(
                w, bits, mask=state.masks.get(name), init=spec.get("init", "linear"),
                n_iter=spec.get("n_iter", 100), random_state=random_state,
            )  # fmt: skip
        else:
            q = quantize_affine(
                w, bits, symmetric=spec.get("symmetric", True), axis=spec.get("axis")
            )
        state.quantized[name] = q
        np.copyto(w, q.dequantize(), casting="same_kind")
    bias_names = []
    if spec.get("bias_bits") is not None:
        bias_bits = check_int(spec["bias_bits"], "bias_bits", minimum=2, maximum=16)
        bias_names = [k for k in params if k.rsplit(".", 1)[-1] == "bias" and k not in names]
        for name in bias_names:
            q = quantize_affine(params[name], bias_bits, symmetric=True)
            state.quantized[name] = q
            np.copyto(params[name], q.dequantize(), casting="same_kind")
    state.quant_spec = {"method": method, "spec": spec, "names": names, "biases": bias_names}
    widths = sorted({_bits_for(spec, n) for n in names})
    return f"quantize {method} {'/'.join(map(str, widths))} bits"


def _constraint_hooks(state: _State) -> tuple[list[Any], list[Any]]:
    """Hooks keeping masks and quantization during fine-tuning, and finishing calls."""
    from .prune import PruneMasks

    hooks: list[Any] = []
    if state.masks:
        hooks.append(PruneMasks(dict(state.masks)))
    if state.quant_spec is None:
        return hooks, []
    spec, names = state.quant_spec["spec"], state.quant_spec["names"]
    params = state.model.params
    finishers = []
    if state.quant_spec["biases"]:
        from .quantize import QuantizationAwareTraining

        bias_qat = QuantizationAwareTraining(
            params, state.quant_spec["biases"], spec["bias_bits"], symmetric=True
        )
        hooks.append(bias_qat)
        finishers.append(lambda: state.quantized.update(bias_qat.quantized()))
    if state.quant_spec["method"] == "affine":
        from .quantize import QuantizationAwareTraining

        groups = _group_by_bits(spec, names)
        qats = [
            QuantizationAwareTraining(
                params, group, bits, symmetric=spec.get("symmetric", True), axis=spec.get("axis")
            )
            for bits, group in groups.items()
        ]
        hooks.extend(qats)
        finishers.extend(lambda q=qat: state.quantized.update(q.quantized()) for qat in qats)
        return hooks, finishers
    from .sharing import SharedWeights  # k-means: centroids trained by their summed gradients

    shared = SharedWeights({name: state.quantized[name] for name in names})
    hooks.append(shared)  # its codebooks are the state's own: updated in place
    return hooks, finishers


def _group_by_bits(spec: dict, names: list[str]) -> dict[int, list[str]]:
    groups: dict[int, list[str]] = {}
    for name in names:
        groups.setdefault(_bits_for(spec, name), []).append(name)
    return groups


def _fine_tune(state: _State, settings: dict, data: Any, random_state: Any) -> str:
    if data is None:
        raise ValueError("fine-tuning needs data=(x, y) training data")
    hooks, finishers = _constraint_hooks(state)
    epochs = check_int(settings["epochs"], "fine_tune epochs", minimum=1)
    optimizer = make_optimizer(state.model.params, settings["optimizer"], settings["lr"], epochs)
    if settings["distill"]:
        distill(
            state.model, state.teacher, data, epochs, temperature=settings["temperature"],
            alpha=settings["alpha"], optimizer=optimizer,
            batch_size=settings["batch_size"], hooks=hooks, random_state=random_state,
        )  # fmt: skip
    else:
        for hook in hooks:
            hook.attach(optimizer)
        fit(
            state.model, cross_entropy, optimizer, data, epochs=epochs,
            batch_size=settings["batch_size"], random_state=random_state, progress=False,
        )  # fmt: skip
    for finish in finishers:
        finish()
    for name, q in state.quantized.items():  # the stored values are the decoded codes
        np.copyto(state.model.params[name], q.dequantize(), casting="same_kind")
    _apply_masks(state)
    how = "distill" if settings["distill"] else "fine-tune"
    return f"{how} {epochs} ep"


# --------------------------------------------------------------------------- driver
def _record(state: _State, label: str, eval_data: Any) -> None:
    artifact = CompressedModel.from_model(
        state.model, state.masks, state.quantized, state.coding, state.index_bits,
        reference_bytes=state.reference_bytes,
    )  # fmt: skip
    error = None
    if eval_data is not None:
        error = 1.0 - float(evaluate(state.model, eval_data)["accuracy"])
    state.stages.append(
        {
            "step": label,
            "params": int(state.model.n_params),
            "nonzero": int(sum(np.count_nonzero(v) for v in state.model.params.values())),
            "payload_bytes": artifact.payload_bytes,
            "ratio": artifact.compression_ratio,
            "components": artifact.bytes_per_component(),
            "error": error,
        }
    )


def pipeline(
    model: Module,
    steps: Sequence[Mapping[str, Any]],
    fine_tune: Mapping[str, Any] | None = None,
    data: Any = None,
    eval_data: Any = None,
    random_state: Any = None,
    verbose: bool = False,
) -> CompressedModel:
    """Compress ``model`` by the given steps and return the artifact (``model`` is unchanged).

    Parameters
    ----------
    model : Module
        The trained dense model (also the distillation teacher).
    steps : list of dict
        The steps (see the module docstring), run in order.
    fine_tune : dict, optional
        Fine-tuning defaults; when given, each decompose/prune/quantize step is followed by a
        fine-tuning run unless the step says ``"fine_tune": false``.
    data : (x, y) tuple, optional
        Training data for fine-tuning.
    eval_data : (x, y) tuple, optional
        Data for the per-stage error (a held-out set; the steps never read it).
    random_state : None, int or numpy.random.Generator
        Seeds decompositions, k-means and the batch order.
    verbose : bool
        Print each stage's line as it completes.

    Returns
    -------
    CompressedModel
        ``stages`` holds a record per step (and the dense start); its ``module`` attribute is
        the compressed model in memory, whose predictions equal the saved artifact's.

    Examples
    --------
    >>> from tensornet import nn
    >>> net = nn.lenet300_100(random_state=0)
    >>> art = pipeline(net, [{"step": "prune", "sparsity": 0.9},
    ...                      {"step": "quantize", "method": "kmeans", "bits": 4},
    ...                      {"step": "encode", "coding": "huffman"}], random_state=0)
    >>> [s["step"] for s in art.stages]
    ['dense', 'prune (10.0% kept)', 'quantize kmeans 4 bits', 'encode huffman']
    >>> art.compression_ratio > 40
    True
    """
    if not isinstance(model, Module):
        raise TypeError(f"model must be a tensornet.nn.Module, got {type(model).__name__}")
    plan = _check_steps(steps)
    if fine_tune is not None and not isinstance(fine_tune, Mapping):
        raise TypeError(f"fine_tune must be a dict of defaults, got {type(fine_tune).__name__}")
    rng = check_random_state(random_state)
    settings = [_fine_tune_settings(fine_tune, s, s["step"]) for s in plan]
    if any(s is not None for s in settings) and data is None:
        raise ValueError("the steps fine-tune, so data=(x, y) training data is required")
    teacher = copy.deepcopy(model).eval()
    state = _State(copy.deepcopy(model), teacher, dense_bytes(model))
    _record(state, "dense", eval_data)
    _echo(state, verbose)
    for spec, tune in zip(plan, settings, strict=True):
        label = _run_step(state, spec, rng)
        if tune is not None:
            tuned = _fine_tune(state, tune, data, rng)
            label = tuned if label is None else f"{label} + {tuned}"
        _record(state, label, eval_data)
        _echo(state, verbose)
    artifact = CompressedModel.from_model(
        state.model, state.masks, state.quantized, state.coding, state.index_bits,
        reference_bytes=state.reference_bytes,
    )  # fmt: skip
    artifact.stages = state.stages
    # the model in memory holds exactly the decoded arrays (its predictions equal the file's)
    state.model.load_state_dict(artifact.state_dict())
    artifact.module = state.model.eval()
    return artifact


def _run_step(state: _State, spec: dict, rng: np.random.Generator) -> str | None:
    """Run one step (fine-tuning aside); its label for the stage table."""
    kind = spec["step"]
    if kind == "decompose":
        return _step_decompose(state, spec, rng)
    if kind == "prune":
        return _step_prune(state, spec)
    if kind == "quantize":
        return _step_quantize(state, spec, rng)
    if kind == "encode":
        state.coding = spec.get("coding", "huffman")
        state.index_bits = spec.get("index_bits", state.index_bits)
        return f"encode {state.coding}"
    return None


def _echo(state: _State, verbose: bool) -> None:
    if not verbose:
        return
    s = state.stages[-1]
    err = "" if s["error"] is None else f", error {100 * s['error']:.2f}%"
    print(f"{s['step']}: {s['payload_bytes']:,} bytes ({s['ratio']:.1f}x){err}", flush=True)
