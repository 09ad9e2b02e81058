"""Safe array storage: one ``.npz`` file holding named arrays plus a JSON metadata record.

Files are written atomically (a temporary file in the same folder, flushed, then renamed over
the target) and read with ``allow_pickle=False``: nothing is ever unpickled. A file that is
truncated, is not an npz archive, or was written for another kind of object raises
:class:`ValueError` with the path and the reason.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["save_npz", "load_npz"]

_META_KEY = "__tensornet_meta__"
FILE_VERSION = 1

#: Deflate never expands data by more than about 1032:1; a zip member claiming a larger
#: uncompressed size than this times its compressed size is refused unread.
_MAX_DEFLATE_RATIO = 1040


def _check_members(path: Path) -> None:
    """Compare every ``.npy`` member's declared shape with the bytes the archive holds.

    Reads only the zip directory and the ``.npy`` headers, so a member whose header announces
    an enormous shape is refused before NumPy allocates it.
    """
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if info.compress_type == zipfile.ZIP_STORED:
                plausible = info.file_size == info.compress_size
            else:
                plausible = info.file_size <= _MAX_DEFLATE_RATIO * info.compress_size + 4096
            if not plausible:
                raise ValueError(
                    f"member {info.filename!r} claims {info.file_size} bytes from "
                    f"{info.compress_size} stored"
                )
            if not info.filename.endswith(".npy"):
                continue
            with archive.open(info) as fh:
                version = np.lib.format.read_magic(fh)
                if version == (1, 0):
                    shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
                else:
                    shape, _, dtype = np.lib.format.read_array_header_2_0(fh)
                header = fh.tell()
            if dtype.hasobject:
                raise ValueError(f"member {info.filename!r} holds Python objects")
            declared = math.prod(shape) * dtype.itemsize
            if declared != info.file_size - header:
                raise ValueError(
                    f"member {info.filename!r} declares shape {tuple(shape)} of {dtype} "
                    f"({declared} bytes) but holds {info.file_size - header} bytes"
                )


def save_npz(path: str | os.PathLike, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> Path:
    """Write ``arrays`` and the JSON-serializable ``meta`` to ``path`` atomically.

    Parameters
    ----------
    path : str or path-like
        Target file; ``.npz`` is appended when missing.
    arrays : dict of str to numpy.ndarray
        Named numeric arrays (object arrays are refused).
    meta : dict
        JSON-serializable metadata; it must contain a ``"kind"`` entry naming what is stored.

    Returns
    -------
    pathlib.Path
        The path written.
    """
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    if "kind" not in meta:
        raise ValueError("meta must name the stored object under 'kind'")
    payload: dict[str, np.ndarray] = {}
    for key, value in arrays.items():
        if key == _META_KEY:
            raise ValueError(f"array name {key!r} is reserved")
        arr = np.asarray(value)
        if arr.dtype == object:
            raise TypeError(f"array {key!r} has dtype object, which cannot be stored safely")
        payload[key] = arr
    record = dict(meta, file_version=FILE_VERSION)
    # UTF-8 bytes: a NumPy unicode array would spend four bytes on every character
    payload[_META_KEY] = np.frombuffer(json.dumps(record, sort_keys=True).encode(), np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def _meta_text(member: np.ndarray) -> str:
    """The JSON text of the metadata member: UTF-8 bytes, or a unicode scalar (older files)."""
    if member.dtype == np.uint8 and member.ndim == 1:
        return member.tobytes().decode("utf-8")
    if member.dtype.kind == "U" and member.ndim == 0:
        return str(member[()])
    raise ValueError(f"its metadata record has dtype {member.dtype} and shape {member.shape}")


def load_npz(
    path: str | os.PathLike, kind: str | None = None
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read a file written by :func:`save_npz`, without unpickling anything.

    Parameters
    ----------
    path : str or path-like
        The file.
    kind : str, optional
        The expected ``meta["kind"]``; another kind raises ``ValueError``.

    Returns
    -------
    arrays : dict of str to numpy.ndarray
    meta : dict
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    try:
        if zipfile.is_zipfile(path):
            _check_members(path)
        data = np.load(path, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):  # a plain .npy gives an ndarray
            raise ValueError("not an npz archive")
        with data:
            if _META_KEY not in data.files:
                raise ValueError("it has no tensornet metadata record")
            meta = json.loads(_meta_text(data[_META_KEY]))
            arrays = {k: data[k] for k in data.files if k != _META_KEY}
    except (OSError, zipfile.BadZipFile, EOFError, json.JSONDecodeError, RecursionError) as exc:
        raise ValueError(f"{path} is not a readable tensornet file: {exc}") from exc
    except ValueError as exc:
        raise ValueError(f"{path} is not a readable tensornet file: {exc}") from exc
    if not isinstance(meta, dict) or not isinstance(meta.get("kind"), str):
        raise ValueError(f"{path} is not a readable tensornet file: metadata has no 'kind' name")
    version = meta.get("file_version")
    if type(version) is not int or not 1 <= version <= FILE_VERSION:
        raise ValueError(
            f"{path} has file_version={version!r}; this tensornet reads versions 1 to "
            f"{FILE_VERSION}"
        )
    if kind is not None and meta["kind"] != kind:
        raise ValueError(f"{path} holds a {meta['kind']!r}, not a {kind!r}")
    return arrays, meta
