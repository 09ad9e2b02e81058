"""The compressed-model artifact: one ``.npz`` file, exact byte accounting, a runnable model.

A :class:`CompressedModel` holds a model's architecture (a JSON description of its layers) and
each parameter array in the most compact form the pipeline produced (survey Sec. III; Deep
Compression, Han, Mao & Dally 2016, Sec. 2-4):

* **layout** -- ``"dense"``: every entry in C order; ``"sparse"``: only the kept entries of a
  pruning mask, located by a stream of *relative indices* (the number of skipped positions
  before each stored entry in the flattened array) of ``index_bits`` bits each. A gap larger
  than ``2**index_bits - 1`` is bridged by *filler* entries whose value is exactly zero.
* **values** -- ``"float"``: the entries themselves (float32 for a float32 model);
  ``"kmeans"``: codes into a per-array codebook of centroids; ``"affine"``: codes with a scale
  and zero point (per tensor or per channel).
* **coding** of the integer streams (codes and relative indices) -- ``"fixed"``: bit-packed at
  their width; ``"huffman"``: canonical Huffman, the code table stored beside the bits (a
  stream whose table would cost more than the code saves stays at the fixed width).

Every stored array counts toward exactly one *component*: ``weights`` (values or codes of
plain layers), ``factors`` (those of factorized layers), ``biases``, ``other`` (buffers such as
BatchNorm statistics), ``indices`` (relative-index streams), ``codebooks`` (centroids, scales,
zero points) and ``code_tables`` (Huffman tables). The payload is the sum of the bytes of the
arrays in the file (the JSON header, holding shapes and stream lengths, is not payload); the
compression ratio is the bytes of the float32 dense model (4 bytes per parameter and buffer
entry of the original model) over the payload.

The file is written atomically with :func:`tensornet._io.save_npz` (no pickle) and carries a
SHA-256 digest of every array, so a corrupted or truncated file raises a ``ValueError`` naming
the problem instead of loading wrong weights.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._io import load_npz, save_npz
from .._validation import check_int, check_option
from ..nn.conv import AvgPool2d, Conv2d, MaxPool2d
from ..nn.factorized.base import FactorizedLayer
from ..nn.layers import BatchNorm1d, BatchNorm2d, Dropout, Flatten, Linear, ReLU, Sigmoid, Tanh
from ..nn.module import Module, Sequential
from .entropy import HuffmanStream, HuffmanTable, huffman_decode, huffman_encode
from .quantize import QuantizedTensor, pack_bits, unpack_bits

__all__ = [
    "CompressedModel",
    "COMPONENTS",
    "CODINGS",
    "architecture",
    "build_architecture",
    "dense_bytes",
]

ARTIFACT_KIND = "CompressedModel"
COMPONENTS = ("weights", "factors", "biases", "other", "indices", "codebooks", "code_tables")
CODINGS = ("fixed", "huffman")
MAX_INDEX_BITS = 16


# --------------------------------------------------------------------------- architecture
def _pair(v: Any) -> list[int]:
    return [int(a) for a in v] if isinstance(v, (tuple, list)) else [int(v), int(v)]


def _has_bias(m: Module) -> bool:
    return "bias" in m._params


def _linear_config(m: Linear) -> dict:
    return {"in_features": m.in_features, "out_features": m.out_features, "bias": _has_bias(m)}


def _conv_config(m: Module) -> dict:
    return {
        "in_channels": m.in_channels,
        "out_channels": m.out_channels,
        "kernel_size": _pair(m.kernel_size),
        "stride": _pair(m.stride),
        "padding": _pair(m.padding),
        "bias": _has_bias(m),
    }


def _pool_config(m: Module) -> dict:
    return {
        "kernel_size": _pair(m.kernel_size),
        "stride": _pair(m.stride),
        "padding": _pair(m.padding),
    }


def _bn_config(m: Module) -> dict:
    return {"num_features": m.num_features, "eps": m.eps, "momentum": m.momentum}


def _factorized_classes() -> dict[str, tuple[type, Any]]:
    from ..nn.factorized import LowRankConv2d, LowRankLinear, TTConv2d, TTLinear

    def lowrank_linear(m):
        return {**_linear_config(m), "rank": m.rank, "diag": m.diag, "mode": m.mode}

    def lowrank_conv(m):
        cfg = _conv_config(m)
        return {**cfg, "rank": m.rank, "scheme": m.scheme, "mode": m.mode}

    def tt_linear(m):
        return {
            **_linear_config(m),
            "ranks": list(m.ranks),
            "in_modes": list(m.in_modes),
            "out_modes": list(m.out_modes),
            "mode": m.mode,
        }

    def tt_conv(m):
        return {
            **_conv_config(m),
            "ranks": list(m.ranks),
            "in_modes": list(m.in_modes),
            "out_modes": list(m.out_modes),
            "mode": m.mode,
        }

    return {
        "LowRankLinear": (LowRankLinear, lowrank_linear),
        "LowRankConv2d": (LowRankConv2d, lowrank_conv),
        "TTLinear": (TTLinear, tt_linear),
        "TTConv2d": (TTConv2d, tt_conv),
    }


def _layer_classes() -> dict[str, tuple[type, Any]]:
    plain = {
        "Linear": (Linear, _linear_config),
        "Conv2d": (Conv2d, _conv_config),
        "Flatten": (Flatten, lambda m: {}),
        "ReLU": (ReLU, lambda m: {}),
        "Tanh": (Tanh, lambda m: {}),
        "Sigmoid": (Sigmoid, lambda m: {}),
        "Dropout": (Dropout, lambda m: {"p": m.p}),
        "MaxPool2d": (MaxPool2d, _pool_config),
        "AvgPool2d": (AvgPool2d, _pool_config),
        "BatchNorm1d": (BatchNorm1d, _bn_config),
        "BatchNorm2d": (BatchNorm2d, _bn_config),
    }
    return {**plain, **_factorized_classes()}


def architecture(model: Module) -> dict[str, Any]:
    """A JSON description of ``model``'s layers, enough to rebuild it with fresh parameters.

    Parameters
    ----------
    model : Module
        A :class:`~tensornet.nn.Sequential` (nested ones too) of the supported layers: dense
        layers, activations, pooling, dropout, BatchNorm, and the factorized
        ``LowRankLinear``, ``LowRankConv2d``, ``TTLinear``, ``TTConv2d``.

    Returns
    -------
    dict
        ``{"type": class name, "config": {...}}``; a Sequential has ``"children"``: a list of
        ``[name, description]``.

    Raises
    ------
    TypeError
        Naming the first layer whose type cannot be described.
    """
    return _describe(model, "model")


def _describe(module: Module, where: str) -> dict[str, Any]:
    if type(module) is Sequential:
        return {
            "type": "Sequential",
            "children": [
                [name, _describe(child, f"{where}.{name}")] for name, child in module.children()
            ],
        }
    classes = _layer_classes()
    name = type(module).__name__
    if name not in classes or type(module) is not classes[name][0]:
        raise TypeError(
            f"{where} is a {name}, which a CompressedModel cannot describe; supported layers: "
            f"Sequential, {', '.join(sorted(classes))}"
        )
    return {"type": name, "config": classes[name][1](module)}


def build_architecture(description: Mapping[str, Any]) -> Module:
    """Rebuild the module tree described by :func:`architecture` (parameters freshly drawn).

    Parameters
    ----------
    description : dict
        As returned by :func:`architecture`.

    Returns
    -------
    Module
    """
    if not isinstance(description, Mapping) or "type" not in description:
        raise ValueError(f"architecture entry must be a dict with a 'type', got {description!r}")
    kind = description["type"]
    if kind == "Sequential":
        children = description.get("children")
        if not isinstance(children, list):
            raise ValueError("architecture: a Sequential needs a list of children")
        return Sequential(*[(str(n), build_architecture(d)) for n, d in children])
    classes = _layer_classes()
    if kind not in classes:
        raise ValueError(f"architecture: unknown layer type {kind!r}")
    cls = classes[kind][0]
    config = dict(description.get("config", {}))
    for key in ("kernel_size", "stride", "padding", "ranks", "in_modes", "out_modes"):
        if key in config and isinstance(config[key], list):
            config[key] = tuple(config[key])
    if cls in (MaxPool2d, AvgPool2d, Flatten, ReLU, Tanh, Sigmoid, Dropout) or kind.startswith(
        "BatchNorm"
    ):
        return cls(**config)
    return cls(**config, random_state=0)


def _roles(model: Module) -> dict[str, str]:
    """Component of each parameter and buffer: weights, factors, biases or other."""
    out: dict[str, str] = {}

    def walk(module: Module, prefix: str, factorized: bool) -> None:
        factorized = factorized or isinstance(module, FactorizedLayer)
        for local in module._params:
            if local == "bias":
                role = "biases"
            elif factorized:
                role = "factors"
            elif isinstance(module, (Linear, Conv2d)):
                role = "weights"
            else:
                role = "other"
            out[prefix + local] = role
        for local in module._buffers:
            out[prefix + local] = "other"
        for cname, child in module.children():
            walk(child, f"{prefix}{cname}.", factorized)

    walk(model, "", False)
    return out


def dense_bytes(model: Module) -> int:
    """Bytes of ``model`` stored densely in float32: 4 per parameter and buffer entry.

    Parameters
    ----------
    model : Module

    Returns
    -------
    int
    """
    if not isinstance(model, Module):
        raise TypeError(f"model must be a tensornet.nn.Module, got {type(model).__name__}")
    return 4 * sum(int(v.size) for v in model.state_dict().values())


# --------------------------------------------------------------------------- sparse layout
def _relative_indices(positions: np.ndarray, index_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Gaps (``< 2**index_bits``) and stored positions, fillers included, of sorted positions.

    The gap of an entry is the number of positions skipped since the previous stored entry; a
    gap ``g > 2**b - 1`` becomes ``g >> b`` fillers of gap ``2**b - 1`` followed by the entry
    with gap ``g & (2**b - 1)`` (Deep Compression, Sec. 3).
    """
    top = (1 << index_bits) - 1
    prev = np.concatenate([[-1], positions[:-1]])
    gaps = positions - prev - 1
    n_fill = gaps >> index_bits
    reps = n_fill + 1
    total = int(reps.sum())
    out_gaps = np.full(total, top, dtype=np.int64)
    last = np.cumsum(reps) - 1  # the real entry closes each group
    out_gaps[last] = gaps & top
    stored = np.cumsum(out_gaps + 1) - 1
    return out_gaps, stored


def _positions_from_gaps(gaps: np.ndarray, size: int, name: str) -> np.ndarray:
    positions = np.cumsum(gaps.astype(np.int64) + 1) - 1
    if positions.size and positions[-1] >= size:
        raise ValueError(f"{name}: relative indices run past the array's {size} entries")
    return positions


# --------------------------------------------------------------------------- tensor records
@dataclass
class TensorRecord:
    """How one parameter or buffer array is stored (the JSON header entry).

    Attributes
    ----------
    name : str
        Dotted name in the model (``"fc1.weight"``).
    shape : list of int
    dtype : str
        Dtype of the decoded array.
    role : str
        Component of its values: ``weights``, ``factors``, ``biases`` or ``other``.
    layout : {"dense", "sparse"}
    values : {"float", "kmeans", "affine"}
    bits : int or None
        Code width of quantized values.
    index_bits : int or None
        Width of a relative index (sparse layout).
    n_entries : int
        Stored entries (the whole size if dense; kept entries plus fillers if sparse).
    n_filler : int
        Filler entries (sparse layout).
    streams : dict
        Per coded stream (``"codes"``, ``"gaps"``): ``{"coding", "n_bits", "n_symbols"}``.
    axis : int or None
        Channel axis of a per-channel affine quantizer.
    """

    name: str
    shape: list[int]
    dtype: str
    role: str
    layout: str = "dense"
    values: str = "float"
    bits: int | None = None
    index_bits: int | None = None
    n_entries: int = 0
    n_filler: int = 0
    streams: dict[str, dict[str, Any]] = field(default_factory=dict)
    axis: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return dict(self.__dict__)


def _component(key: str, record: TensorRecord) -> str:
    suffix = key.split("/", 1)[1]
    if suffix.endswith((".symbols", ".lengths", ".lengths4", ".lengths8")):
        return "code_tables"
    if suffix == "gaps":
        return "indices"
    if suffix in ("codebook", "scale", "zero_point"):
        return "codebooks"
    return record.role


def _encode_stream(
    arrays: dict, key: str, stream: np.ndarray, width: int, coding: str
) -> dict[str, Any]:
    """Store an integer stream under ``key``; its header entry.

    ``"huffman"`` falls back to the fixed width for a stream whose code table would cost more
    than the code saves (short streams), so encoding never grows the payload.
    """
    fixed = math.ceil(stream.size * width / 8)
    if coding == "huffman":
        s = huffman_encode(stream)
        table = _table_arrays(s.table)
        if s.data.nbytes + sum(a.nbytes for a in table.values()) < fixed:
            arrays[key] = s.data
            arrays.update({key + suffix: a for suffix, a in table.items()})
            info = {"coding": "huffman", "n_bits": s.n_bits, "n_symbols": s.n_symbols}
            if ".symbols" not in table:
                info["n_values"] = int(s.table.symbols.max()) + 1
            return info
    arrays[key] = pack_bits(stream, width) if stream.size else np.zeros(0, np.uint8)
    return {"coding": "fixed", "n_bits": int(stream.size) * width, "n_symbols": int(stream.size)}


def _table_arrays(table: HuffmanTable) -> dict[str, np.ndarray]:
    """The code table to store: one code length per symbol value ``0..max`` (``0`` = unused),
    4 bits each when every length is below 16 (as DEFLATE stores its tables); an explicit
    symbol list when that is smaller or the alphabet has one or negative symbols."""
    symbols, lengths = table.symbols, table.lengths
    explicit = {".symbols": symbols.astype(_narrow(symbols)), ".lengths": lengths}
    if symbols.size < 2 or symbols.min() < 0 or symbols.max() >= 1 << 16:
        return explicit
    by_value = np.zeros(int(symbols.max()) + 1, dtype=np.int64)
    by_value[symbols] = lengths
    nibbles = int(lengths.max()) < 16
    dense = pack_bits(by_value, 4) if nibbles else by_value.astype(np.uint8)
    if dense.nbytes >= sum(a.nbytes for a in explicit.values()):
        return explicit
    return {".lengths4" if nibbles else ".lengths8": dense}


def _table_from_arrays(arrays: dict, key: str, info: dict) -> HuffmanTable:
    if key + ".symbols" in arrays:
        return HuffmanTable(_get(arrays, key + ".symbols"), _get(arrays, key + ".lengths"))
    n_values = check_int(info.get("n_values"), f"{key} n_values", minimum=2, maximum=1 << 16)
    if key + ".lengths4" in arrays:
        by_value = unpack_bits(arrays[key + ".lengths4"], 4, n_values)
    else:
        by_value = _get(arrays, key + ".lengths8")
        if by_value.shape != (n_values,):
            raise ValueError(f"{key}: code table holds {by_value.size} lengths, not {n_values}")
    symbols = np.flatnonzero(by_value)
    return HuffmanTable(symbols, by_value[symbols].astype(np.int64))


def _narrow(values: np.ndarray) -> np.dtype:
    from .entropy import _narrow_int

    return _narrow_int(values)


def _decode_stream(arrays: dict, key: str, info: dict, width: int) -> np.ndarray:
    n = check_int(info.get("n_symbols"), f"{key} n_symbols", minimum=0)
    data = _get(arrays, key)
    if info.get("coding") == "huffman":
        table = _table_from_arrays(arrays, key, info)
        stream = HuffmanStream(data, int(info.get("n_bits", -1)), n, table)
        out = huffman_decode(stream)
    elif info.get("coding") == "fixed":
        if data.dtype != np.uint8 or data.size != math.ceil(n * width / 8):
            raise ValueError(f"{key}: {data.size} bytes cannot hold {n} codes of {width} bits")
        out = unpack_bits(data, width, n).astype(np.int64) if n else np.zeros(0, np.int64)
    else:
        raise ValueError(f"{key}: unknown coding {info.get('coding')!r}")
    if out.size and (out.min() < 0 or out.max() >= 1 << width):
        raise ValueError(f"{key}: decoded values exceed {width} bits")
    return out


def _get(arrays: dict, key: str) -> np.ndarray:
    if key not in arrays:
        raise ValueError(f"the artifact lacks the array {key!r}")
    return arrays[key]


def _encode_tensor(
    name: str,
    value: np.ndarray,
    role: str,
    mask: np.ndarray | None,
    quantized: QuantizedTensor | None,
    coding: str,
    index_bits: int | str,
    arrays: dict[str, np.ndarray],
) -> TensorRecord:
    """Encode one array; ``index_bits="auto"`` tries every width and keeps the smallest."""
    if index_bits != "auto":
        return _encode_with(name, value, role, mask, quantized, coding, int(index_bits), arrays)
    best = None
    for bits in range(2, 13):
        trial: dict[str, np.ndarray] = {}
        rec = _encode_with(name, value, role, mask, quantized, coding, bits, trial)
        size = sum(a.nbytes for a in trial.values())
        if best is None or size < best[0]:
            best = (size, rec, trial)
        if rec.layout == "dense" or rec.n_filler == 0:
            break  # wider indices cannot remove more fillers
    arrays.update(best[2])
    return best[1]


def _encode_with(
    name: str,
    value: np.ndarray,
    role: str,
    mask: np.ndarray | None,
    quantized: QuantizedTensor | None,
    coding: str,
    index_bits: int,
    arrays: dict[str, np.ndarray],
) -> TensorRecord:
    rec = TensorRecord(name, list(value.shape), str(value.dtype), role)
    flat_mask = None if mask is None else np.asarray(mask, dtype=bool).reshape(-1)
    if flat_mask is not None and flat_mask.all():
        flat_mask = None
    if flat_mask is not None:
        rec.layout, rec.index_bits = "sparse", index_bits
        gaps, stored = _relative_indices(np.flatnonzero(flat_mask), index_bits)
        rec.n_entries, rec.n_filler = int(stored.size), int(stored.size - flat_mask.sum())
        rec.streams["gaps"] = _encode_stream(arrays, f"{name}/gaps", gaps, index_bits, coding)
    else:
        stored = np.arange(value.size)
        rec.n_entries = int(value.size)
    if quantized is None:
        arrays[f"{name}/values"] = np.ascontiguousarray(value.reshape(-1)[stored])
        return rec
    rec.values, rec.bits = quantized.scheme, int(quantized.bits)
    codes = quantized.codes.astype(np.int64).reshape(-1)[stored]
    if quantized.scheme == "kmeans":
        arrays[f"{name}/codebook"] = np.asarray(quantized.codebook, dtype=value.dtype)
    else:
        rec.axis = quantized.axis
        arrays[f"{name}/scale"] = np.asarray(quantized.scale, dtype=np.float64)
        arrays[f"{name}/zero_point"] = np.asarray(
            quantized.zero_point, dtype=np.int32 if rec.bits > 15 else np.int16
        )
    rec.streams["codes"] = _encode_stream(arrays, f"{name}/codes", codes, rec.bits, coding)
    return rec


def _decode_tensor(rec: TensorRecord, arrays: dict[str, np.ndarray]) -> np.ndarray:
    name = rec.name
    shape = tuple(check_int(s, f"{name} shape", minimum=0) for s in rec.shape)
    size = math.prod(shape)
    dtype = np.dtype(rec.dtype)
    if rec.layout == "sparse":
        bits = check_int(rec.index_bits, f"{name} index_bits", minimum=1, maximum=MAX_INDEX_BITS)
        gaps = _decode_stream(arrays, f"{name}/gaps", rec.streams.get("gaps", {}), bits)
        positions = _positions_from_gaps(gaps, size, name)
    elif rec.layout == "dense":
        positions = np.arange(size)
    else:
        raise ValueError(f"{name}: unknown layout {rec.layout!r}")
    if rec.values == "float":
        vals = _get(arrays, f"{name}/values")
        if vals.shape != positions.shape or vals.dtype != dtype:
            raise ValueError(f"{name}: {vals.shape} {vals.dtype} values for {positions.size}")
    else:
        bits = check_int(rec.bits, f"{name} bits", minimum=1, maximum=16)
        codes = _decode_stream(arrays, f"{name}/codes", rec.streams.get("codes", {}), bits)
        if codes.shape != positions.shape:
            raise ValueError(f"{name}: {codes.size} codes for {positions.size} stored entries")
        vals = _dequantize(rec, arrays, codes, positions, shape, dtype)
    out = np.zeros(size, dtype=dtype)
    out[positions] = vals
    return out.reshape(shape)


def _dequantize(rec, arrays, codes, positions, shape, dtype) -> np.ndarray:
    name = rec.name
    if rec.values == "kmeans":
        codebook = _get(arrays, f"{name}/codebook")
        if codebook.ndim != 1 or (codes.size and codes.max() >= codebook.size):
            raise ValueError(f"{name}: codes exceed the codebook of {codebook.size} centroids")
        return codebook[codes].astype(dtype)
    if rec.values != "affine":
        raise ValueError(f"{name}: unknown value kind {rec.values!r}")
    scale = _get(arrays, f"{name}/scale").astype(np.float64)
    zero = _get(arrays, f"{name}/zero_point").astype(np.int64)
    if rec.axis is None:
        if scale.shape != () or zero.shape != ():
            raise ValueError(f"{name}: per-tensor scale must be a scalar")
        return (scale * (codes - zero)).astype(dtype)
    axis = check_int(rec.axis, f"{name} axis", minimum=0, maximum=len(shape) - 1)
    channel = np.unravel_index(positions, shape)[axis] if positions.size else positions
    if scale.shape != (shape[axis],) or zero.shape != (shape[axis],):
        raise ValueError(f"{name}: per-channel scale must have shape ({shape[axis]},)")
    return (scale[channel] * (codes - zero[channel])).astype(dtype)


# --------------------------------------------------------------------------- the artifact
class CompressedModel:
    """A compressed model: architecture, stored arrays, byte accounting, stage history.

    Build one with :meth:`from_model` (or :func:`tensornet.compress.pipeline.pipeline`), write
    it with :meth:`save`, read it with :meth:`load`, run it through :meth:`to_module`.

    Attributes
    ----------
    arch : dict
        The :func:`architecture` description.
    records : list of TensorRecord
        One per parameter and buffer, in model order.
    arrays : dict of str to numpy.ndarray
        The payload, keyed ``"<name>/<part>"``.
    dense_bytes : int
        Bytes of the float32 dense reference model.
    stages : list of dict
        The pipeline's stage-by-stage records (empty when built directly).
    """

    def __init__(
        self,
        arch: dict[str, Any],
        records: list[TensorRecord],
        arrays: dict[str, np.ndarray],
        dense_bytes: int,
        stages: list[dict[str, Any]] | None = None,
    ) -> None:
        self.arch = arch
        self.records = records
        self.arrays = arrays
        self.dense_bytes = int(dense_bytes)
        self.stages = list(stages or [])
        self.module: Module | None = None

    # ------------------------------------------------------------------ building
    @classmethod
    def from_model(
        cls,
        model: Module,
        masks: Mapping[str, np.ndarray] | None = None,
        quantized: Mapping[str, QuantizedTensor] | None = None,
        coding: str = "huffman",
        index_bits: int | str = 5,
        reference_bytes: int | None = None,
    ) -> CompressedModel:
        """Store ``model``'s arrays: masked ones sparse, quantized ones as codes.

        Parameters
        ----------
        model : Module
            The (compressed) model; its architecture must be describable (:func:`architecture`).
        masks : dict of str to bool array, optional
            Pruning masks (True = kept) by parameter name; those arrays use the sparse layout.
        quantized : dict of str to QuantizedTensor, optional
            Quantized parameters; their codes are stored instead of the values. A quantized
            array's values in ``model`` are expected to be its dequantized codes.
        coding : {"huffman", "fixed"}
            Coding of the code and relative-index streams.
        index_bits : int or "auto"
            Width of a relative index, ``1..16`` (Deep Compression: 5 for FC, 8 for conv);
            ``"auto"`` picks, per array, the width giving the fewest bytes (fewer fillers
            against longer codes).
        reference_bytes : int, optional
            Bytes of the dense float32 reference (default: :func:`dense_bytes` of ``model``;
            pass the original model's when ``model`` was decomposed).

        Returns
        -------
        CompressedModel
        """
        if not isinstance(model, Module):
            raise TypeError(f"model must be a tensornet.nn.Module, got {type(model).__name__}")
        coding = check_option(coding, "coding", CODINGS)
        if index_bits != "auto":
            index_bits = check_int(index_bits, "index_bits", minimum=1, maximum=MAX_INDEX_BITS)
        masks, quantized = dict(masks or {}), dict(quantized or {})
        state = model.state_dict()
        for what, table in (("masks", masks), ("quantized", quantized)):
            unknown = sorted(set(table) - set(state))
            if unknown:
                raise ValueError(f"{what} names {unknown} are not arrays of the model")
        for name, mask in masks.items():
            if np.shape(mask) != state[name].shape:
                raise ValueError(
                    f"masks[{name!r}] has shape {np.shape(mask)}, the array {state[name].shape}"
                )
        for name, q in quantized.items():
            if not isinstance(q, QuantizedTensor) or q.shape != state[name].shape:
                raise ValueError(f"quantized[{name!r}] must be a QuantizedTensor of its shape")
        arch = architecture(model)
        roles = _roles(model)
        arrays: dict[str, np.ndarray] = {}
        records = [
            _encode_tensor(
                name,
                value,
                roles[name],
                masks.get(name),
                quantized.get(name),
                coding,
                index_bits,
                arrays,
            )
            for name, value in state.items()
        ]
        ref = dense_bytes(model) if reference_bytes is None else int(reference_bytes)
        return cls(arch, records, arrays, ref)

    # ------------------------------------------------------------------ decoding
    def state_dict(self) -> dict[str, np.ndarray]:
        """The decoded arrays by name.

        Returns
        -------
        dict of str to numpy.ndarray
        """
        return {rec.name: _decode_tensor(rec, self.arrays) for rec in self.records}

    def to_module(self) -> Module:
        """A runnable model (evaluation mode) holding the decoded arrays.

        Returns
        -------
        Module
        """
        model = build_architecture(self.arch)
        state = self.state_dict()
        try:
            model.load_state_dict(state, strict=True)
        except (KeyError, ValueError) as exc:
            raise ValueError(f"the artifact's arrays do not fit its architecture: {exc}") from exc
        return model.eval()

    # ------------------------------------------------------------------ accounting
    def bytes_per_array(self) -> dict[str, dict[str, int]]:
        """Bytes of each stored array grouped by tensor: ``{name: {component: bytes}}``.

        Returns
        -------
        dict
        """
        out: dict[str, dict[str, int]] = {}
        records = {r.name: r for r in self.records}
        for key, arr in self.arrays.items():
            name = key.split("/", 1)[0]
            comp = _component(key, records[name])
            entry = out.setdefault(name, {})
            entry[comp] = entry.get(comp, 0) + int(arr.nbytes)
        return out

    def bytes_per_layer(self) -> dict[str, dict[str, int]]:
        """Payload bytes per layer (module path) and component, with each layer's ``"total"``.

        Returns
        -------
        dict
        """
        out: dict[str, dict[str, int]] = {}
        for name, parts in self.bytes_per_array().items():
            layer = name.rsplit(".", 1)[0] if "." in name else name
            entry = out.setdefault(layer, {})
            for comp, n in parts.items():
                entry[comp] = entry.get(comp, 0) + n
        for entry in out.values():
            entry["total"] = sum(entry.values())
        return out

    def bytes_per_component(self) -> dict[str, int]:
        """Payload bytes per component (every name of :data:`COMPONENTS`) and ``"total"``.

        Returns
        -------
        dict of str to int
        """
        out = dict.fromkeys(COMPONENTS, 0)
        for parts in self.bytes_per_array().values():
            for comp, n in parts.items():
                out[comp] += n
        out["total"] = sum(out[c] for c in COMPONENTS)
        return out

    @property
    def payload_bytes(self) -> int:
        """Sum of the bytes of every stored array."""
        return int(sum(arr.nbytes for arr in self.arrays.values()))

    def file_bytes(self) -> int:
        """Bytes of the payload plus the JSON header and container (as :meth:`save` writes).

        Returns
        -------
        int
        """
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            return int(os.path.getsize(self.save(Path(tmp) / "artifact.npz")))

    @property
    def compression_ratio(self) -> float:
        """``dense_bytes / payload_bytes``."""
        return self.dense_bytes / max(self.payload_bytes, 1)

    def report(self) -> str:
        """A plain-text table: bytes per layer and component, the totals and the ratio.

        Returns
        -------
        str
        """
        layers = self.bytes_per_layer()
        used = [c for c in COMPONENTS if any(e.get(c) for e in layers.values())]
        head = f"{'layer':<14}" + "".join(f"{c:>12}" for c in used) + f"{'total':>12}"
        lines = [head, "-" * len(head)]
        for layer, entry in layers.items():
            cells = "".join(f"{entry.get(c, 0):>12,}" for c in used)
            lines.append(f"{layer:<14}{cells}{entry['total']:>12,}")
        comp = self.bytes_per_component()
        cells = "".join(f"{comp[c]:>12,}" for c in used)
        lines.append("-" * len(head))
        lines.append(f"{'all':<14}{cells}{comp['total']:>12,}")
        lines.append(
            f"dense float32 {self.dense_bytes:,} bytes / payload {self.payload_bytes:,} bytes "
            f"= {self.compression_ratio:.1f}x"
        )
        if self.stages:
            lines.append("")
            lines.append(format_stages(self.stages))
        return "\n".join(lines)

    # ------------------------------------------------------------------ files
    def save(self, path: str | os.PathLike) -> Path:
        """Write the artifact to one ``.npz`` file (JSON header, no pickle), atomically.

        Parameters
        ----------
        path : str or path-like
            Target (``.npz`` appended when missing).

        Returns
        -------
        pathlib.Path
        """
        blob, table = _concatenate(self.arrays)
        meta = {
            "kind": ARTIFACT_KIND,
            "arch": self.arch,
            "records": [r.as_dict() for r in self.records],
            "dense_bytes": self.dense_bytes,
            "payload_bytes": self.payload_bytes,
            "stages": self.stages,
            "arrays": table,
            "sha256": hashlib.sha256(blob.tobytes()).hexdigest(),
        }
        return save_npz(path, {"payload": blob}, meta)

    @classmethod
    def load(cls, path: str | os.PathLike) -> CompressedModel:
        """Read an artifact written by :meth:`save`, checking every array's digest.

        Parameters
        ----------
        path : str or path-like

        Returns
        -------
        CompressedModel

        Raises
        ------
        ValueError
            If the file is truncated, not an artifact, or an array was altered.
        """
        stored, meta = load_npz(path, kind=ARTIFACT_KIND)
        try:
            blob = stored["payload"]
            digest, table = meta["sha256"], meta["arrays"]
            records = [TensorRecord(**r) for r in meta["records"]]
            arch, ref = meta["arch"], int(meta["dense_bytes"])
        except (KeyError, TypeError) as exc:
            raise ValueError(f"{path}: malformed artifact header ({exc!r})") from None
        if blob.dtype != np.uint8 or blob.ndim != 1:
            raise ValueError(f"{path}: the payload must be a 1-D uint8 array")
        if hashlib.sha256(blob.tobytes()).hexdigest() != digest:
            raise ValueError(f"{path}: the payload is corrupted (its SHA-256 digest differs)")
        arrays = _split(blob, table, path)
        known = {r.name for r in records}
        stray = sorted({k.split("/", 1)[0] for k in arrays} - known)
        if stray:
            raise ValueError(f"{path}: arrays of unknown tensors {stray[:5]}")
        out = cls(arch, records, arrays, ref, meta.get("stages"))
        try:
            out.state_dict()  # decode once: a malformed stream raises here, naming the tensor
        except (TypeError, KeyError, IndexError, AttributeError) as exc:
            raise ValueError(f"{path}: malformed tensor record: {exc!r}") from None
        return out


def _concatenate(arrays: dict[str, np.ndarray]) -> tuple[np.ndarray, list]:
    """All arrays' bytes back to back (little-endian) and ``[key, dtype, shape, offset]`` rows."""
    parts, table, offset = [], [], 0
    for key, arr in arrays.items():
        arr = np.asarray(arr, dtype=np.asarray(arr).dtype.newbyteorder("<"))
        parts.append(np.frombuffer(arr.tobytes(), dtype=np.uint8))  # C order, 0-d kept
        table.append([key, arr.dtype.str, list(arr.shape), offset])
        offset += arr.nbytes
    blob = np.concatenate(parts) if parts else np.zeros(0, np.uint8)
    return blob, table


def _split(blob: np.ndarray, table: Any, path: Any) -> dict[str, np.ndarray]:
    """Inverse of :func:`_concatenate`, checking every row against the payload's length."""
    arrays: dict[str, np.ndarray] = {}
    end = 0
    try:
        for key, dtype, shape, offset in table:
            dt = np.dtype(dtype)
            if dt.kind not in "uif" or offset != end:
                raise ValueError(f"array {key!r}: dtype {dtype} at offset {offset}")
            n = math.prod(int(s) for s in shape) * dt.itemsize
            if offset + n > blob.size:
                raise ValueError(f"array {key!r} runs past the payload's {blob.size} bytes")
            arrays[str(key)] = blob[offset : offset + n].view(dt).reshape(shape).copy()
            end = offset + n
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path}: malformed payload table: {exc}") from None
    if end != blob.size:
        raise ValueError(f"{path}: {blob.size - end} payload bytes belong to no array")
    return arrays


def format_stages(stages: list[dict[str, Any]]) -> str:
    """The stage-by-stage table of a pipeline: step, payload bytes, ratio, test error.

    Parameters
    ----------
    stages : list of dict
        Entries with ``step``, ``payload_bytes``, ``ratio`` and optionally ``error``.

    Returns
    -------
    str
    """
    head = f"{'stage':<28}{'payload bytes':>15}{'ratio':>9}{'error':>9}"
    lines = [head, "-" * len(head)]
    for s in stages:
        err = s.get("error")
        err_text = "-" if err is None else f"{100 * err:.2f}%"
        lines.append(f"{s['step']:<28}{s['payload_bytes']:>15,}{s['ratio']:>8.1f}x{err_text:>9}")
    return "\n".join(lines)
