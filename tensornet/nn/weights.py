"""Weights from elsewhere: PyTorch-style state dicts in ``.npz`` or ``.safetensors`` files.

A PyTorch state dict names every array by its module path and local name (``"0.weight"``,
``"fc1.bias"``, ``"bn.running_mean"``); tensornet's :attr:`~tensornet.nn.Module.params` and
:attr:`~tensornet.nn.Module.buffers` use the same dotted names, so a file maps onto a model key
by key. The layouts differ in one place: ``torch.nn.Linear`` stores its weight as
``(out_features, in_features)`` while :class:`~tensornet.nn.Linear` computes ``x @ W`` with ``W``
of shape ``(in_features, out_features)``; those weights are transposed on the way in and out.
Convolution kernels are ``(O, C, KH, KW)`` in both. Factorized layers have no PyTorch
counterpart: their factors are stored under their own parameter names, in tensornet's layout
(indexed factors ``<role>_<k>``: ``core_0``, ``leaf_0``, ``transfer_1``, ``factor_0``; files that
spell them the former way, ``core0``, still load, with a ``DeprecationWarning``).

Files are read without unpickling anything (``np.load(allow_pickle=False)``; safetensors is a
flat header plus raw buffers, read through ``safetensors.numpy``, never torch) and written
atomically (a temporary file in the same folder, then a rename).
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .._deprecation import warn_deprecated
from .layers import Linear
from .module import Module

__all__ = ["load_weights", "save_weights"]

_FORMATS = (".npz", ".safetensors")
#: PyTorch BatchNorm bookkeeping with no tensornet counterpart; skipped when loading.
_SKIPPED_SUFFIXES = ("num_batches_tracked",)


def _file_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in _FORMATS:
        raise ValueError(
            f"path={str(path)!r} must end in one of {_FORMATS} (the file format is chosen by "
            "the suffix)"
        )
    return suffix


def _named_arrays(model: Module) -> Iterator[tuple[str, Module, str, np.ndarray]]:
    """Every parameter and buffer as ``(full name, owning module, local name, live array)``."""

    def walk(module: Module, prefix: str):
        for local, arr in list(module._params.items()) + list(module._buffers.items()):
            yield prefix + local, module, local, arr
        for cname, child in module.children():
            yield from walk(child, f"{prefix}{cname}.")

    yield from walk(model, "")


def _modules(model: Module) -> dict[str, Module]:
    """Every module under its dotted name (``""`` for ``model`` itself)."""
    out: dict[str, Module] = {}

    def walk(module: Module, name: str) -> None:
        out[name] = module
        for cname, child in module.children():
            walk(child, f"{name}.{cname}" if name else cname)

    walk(model, "")
    return out


def _legacy_names(model: Module, names: dict[str, str], path: Path) -> dict[str, str]:
    """``names`` with keys in a factorized layer's former spelling (``fc1.core0``) renamed to the
    current one (``fc1.core_0``), warning once for the file."""
    modules = _modules(model)
    current = {name for name, *_ in _named_arrays(model)}
    renamed: dict[str, str] = {}
    out = dict(names)
    for name in names:
        if name in current:
            continue
        prefix, _, local = name.rpartition(".")
        legacy = getattr(modules.get(prefix), "legacy_param_names", None)
        new_local = legacy().get(local) if callable(legacy) else None
        if new_local is None:
            continue
        new = f"{prefix}.{new_local}" if prefix else new_local
        if new in current and new not in out:
            out[new] = out.pop(name)
            renamed[name] = new
    if renamed:
        warn_deprecated(
            f"reading {path} with the former factor names {sorted(renamed)}",
            f"the names {sorted(renamed.values())} (save the model again with save_weights)",
        )
    return out


def _is_transposed(module: Module, local: str) -> bool:
    """``True`` for the weights stored ``(out, in)`` in PyTorch and ``(in, out)`` here."""
    return isinstance(module, Linear) and local == "weight"


def _read(path: Path) -> dict[str, np.ndarray]:
    fmt = _file_format(path)
    if not path.exists():
        raise FileNotFoundError(f"no such weights file: {path}")
    if fmt == ".safetensors":
        try:
            from safetensors.numpy import load_file
        except ImportError as exc:  # pragma: no cover (depends on the environment)
            raise ImportError(
                f"reading {path} needs the optional 'safetensors' package "
                "(pip install 'tensornet[safetensors]')"
            ) from exc
        try:
            return dict(load_file(str(path)))
        except Exception as exc:  # safetensors raises its own SafetensorError
            raise ValueError(f"{path} is not a readable safetensors file: {exc}") from exc
    try:
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    except (OSError, zipfile.BadZipFile, EOFError, ValueError, AttributeError) as exc:
        # A plain .npy file loads as an array (no context manager): AttributeError lands here.
        raise ValueError(f"{path} is not a readable npz archive: {exc}") from exc


def _rename(
    keys: list[str], mapping: Mapping[str, str] | Callable[[str], str | None] | None
) -> dict[str, str]:
    """``{model name: file key}``; a file key mapped to ``None`` is dropped."""
    out: dict[str, str] = {}
    for key in keys:
        if key.rsplit(".", 1)[-1] in _SKIPPED_SUFFIXES:
            continue
        name = _map_key(key, mapping)
        if name is None:
            continue
        if name in out:
            raise ValueError(f"mapping sends both {out[name]!r} and {key!r} to {name!r}")
        out[name] = key
    return out


def _map_key(key: str, mapping: Any) -> str | None:
    if mapping is None:
        return key
    if callable(mapping):
        return mapping(key)
    if key in mapping:
        return mapping[key]
    prefix, _, leaf = key.rpartition(".")
    if prefix and prefix in mapping:
        return None if mapping[prefix] is None else f"{mapping[prefix]}.{leaf}"
    return key


def load_weights(
    model: Module,
    path: str | os.PathLike,
    mapping: Mapping[str, str | None] | Callable[[str], str | None] | None = None,
    strict: bool = True,
) -> Module:
    """Copy a PyTorch-style state dict from a ``.npz`` or ``.safetensors`` file into ``model``.

    Parameters
    ----------
    model : Module
        The receiving model; its arrays are overwritten in place (cast to their dtype).
    path : str or path-like
        A ``.npz`` archive (read with ``allow_pickle=False``) or a ``.safetensors`` file (needs
        the optional ``safetensors`` package; torch is never imported).
    mapping : dict or callable, optional
        Renames file keys to model names. A dict may map full keys (``{"1.weight":
        "fc1.weight"}``) or module prefixes (``{"1": "fc1"}`` renames ``"1.weight"`` and
        ``"1.bias"``); a value of ``None`` drops the key. A callable receives each file key and
        returns the model name or ``None``. Keys not covered keep their name.
    strict : bool
        Require every model array to be in the file and every file key to be used. With
        ``False`` missing arrays keep their values and unknown keys are ignored. PyTorch's
        ``*.num_batches_tracked`` counters are always skipped.

    Returns
    -------
    Module
        ``model``.

    Raises
    ------
    ValueError
        Naming the file and the keys, when keys are missing or unexpected (``strict``), a shape
        differs from the model's (for a ``Linear`` weight, the file must hold
        ``(out_features, in_features)``), or the file is unreadable.

    Examples
    --------
    A ``torch.nn.Sequential(Flatten(), Linear(784, 300), ReLU(), ...)`` saved with
    ``safetensors.torch.save_file(net.state_dict(), "net.safetensors")`` loads into
    :func:`~tensornet.nn.lenet300_100` with ``mapping={"1": "fc1", "3": "fc2", "5": "fc3"}``.
    """
    path = Path(path)
    stored = _read(path)
    names = _legacy_names(model, _rename(sorted(stored), mapping), path)
    targets = {name: (module, local, arr) for name, module, local, arr in _named_arrays(model)}
    missing = sorted(set(targets) - set(names))
    unexpected = sorted(names[n] for n in set(names) - set(targets))
    if strict and (missing or unexpected):
        raise ValueError(
            f"{path} does not match the model: missing keys {missing}, unexpected keys "
            f"{unexpected} (rename with mapping=..., or pass strict=False)"
        )
    updates = {}
    for name, (module, local, target) in targets.items():
        if name not in names:
            continue
        value = np.asarray(stored[names[name]])
        expected = target.shape[::-1] if _is_transposed(module, local) else target.shape
        if value.shape != expected:
            raise ValueError(
                f"{path}: key {names[name]!r} has shape {value.shape}, model array {name!r} "
                f"({type(module).__name__}) expects {expected}"
                + (
                    " (PyTorch layout: out_features, in_features)"
                    if expected != target.shape
                    else ""
                )
            )
        if not np.all(np.isfinite(value)) and np.issubdtype(value.dtype, np.floating):
            raise ValueError(f"{path}: key {names[name]!r} holds NaN or Inf")
        updates[name] = value.T if _is_transposed(module, local) else value
    for name, value in updates.items():  # all checks passed: now write
        np.copyto(targets[name][2], value, casting="same_kind")
    return model


def save_weights(model: Module, path: str | os.PathLike) -> Path:
    """Write ``model``'s parameters and buffers as a PyTorch-style state dict, atomically.

    ``Linear`` weights are written ``(out_features, in_features)`` as PyTorch stores them, so the
    file loads into the equivalent ``torch.nn`` model (``load_state_dict``) and back with
    :func:`load_weights`. Factorized layers are written as their factors under their parameter
    names (``"fc1.core_0"``, ...), in tensornet's layout.

    Parameters
    ----------
    model : Module
        The model.
    path : str or path-like
        Target; the suffix picks the format: ``.npz`` or ``.safetensors`` (optional package).

    Returns
    -------
    pathlib.Path
        The path written.
    """
    path = Path(path)
    fmt = _file_format(path)
    arrays = {}
    for name, module, local, arr in _named_arrays(model):
        value = arr.T if _is_transposed(module, local) else arr
        arrays[name] = np.ascontiguousarray(value)
    if fmt == ".safetensors":
        try:
            from safetensors.numpy import save
        except ImportError as exc:  # pragma: no cover (depends on the environment)
            raise ImportError(
                f"writing {path} needs the optional 'safetensors' package "
                "(pip install 'tensornet[safetensors]')"
            ) from exc
        payload = save(arrays)
        return _atomic_write(path, lambda fh: fh.write(payload))
    return _atomic_write(path, lambda fh: np.savez(fh, **arrays))


def _atomic_write(path: Path, write: Callable[[Any], Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path
