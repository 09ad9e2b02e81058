"""MNIST: a strict IDX reader, a search path, an optional verified download, a bundled subset.

The MNIST database of handwritten digits (LeCun, Cortes and Burges) ships as four IDX files:
60,000 training and 10,000 test images of 28 x 28 unsigned bytes with labels 0-9.
`load_mnist` finds them (gzipped or not) in this order:

1. the ``root`` argument,
2. the folder named by the environment variable ``TENSORNET_DATA``,
3. the cache folder ``~/.cache/tensornet/mnist``;

then, when ``download=True`` (and ``TENSORNET_OFFLINE`` is not set), it fetches them from the
public mirrors in `MIRRORS` into the cache, verifying each file's SHA-256 and writing it
atomically, within an overall deadline; and when all of that fails the default search (no
``root``) falls back to the small real subset bundled with the package (6,000 training and
1,000 test images, class balanced), printing one line to ``stderr`` that says so, while an
explicit ``root`` is an error.

Every file is checked before use: the IDX magic number (2051 for images, 2049 for labels), the
dimensions (28 x 28 images), the exact payload size (a truncated file or one with trailing bytes
is refused), the label range, and that the image and label counts agree. A bad file raises
`ValueError` naming the file; garbage is never returned.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import json
import math
import os
import sys
import tempfile
import time
import urllib.request
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

from .._validation import check_real

__all__ = [
    "MIRRORS",
    "MNIST_FILES",
    "MNIST_SHA256",
    "DownloadError",
    "cache_dir",
    "download_mnist",
    "find_mnist",
    "idx_magic",
    "load_mnist",
    "load_mnist_subset",
    "read_idx",
    "subset_provenance",
]

#: IDX element types: type code -> big-endian NumPy dtype.
_IDX_DTYPES: dict[int, str] = {
    0x08: "u1",
    0x09: "i1",
    0x0B: ">i2",
    0x0C: ">i4",
    0x0D: ">f4",
    0x0E: ">f8",
}

#: The MNIST magic numbers: unsigned bytes (0x08) with 3 dimensions (images) or 1 (labels).
IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049

#: The four official files (uncompressed names) by role.
MNIST_FILES: dict[str, str] = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

#: SHA-256 and size in bytes of the *uncompressed* official files. The hash of the decompressed
#: content is checked rather than that of the ``.gz`` download, because mirrors (and the copy in
#: ``shared/data/mnist``) compress the same bytes differently; these values were computed from
#: the official files whose MD5s (6bbc9ace..., a25bea73..., 2646ac64..., 27ae3e4e...) match the
#: ones published with MNIST.
MNIST_SHA256: dict[str, tuple[str, int]] = {
    "train-images-idx3-ubyte": (
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        47040016,
    ),
    "train-labels-idx1-ubyte": (
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        60008,
    ),
    "t10k-images-idx3-ubyte": (
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        7840016,
    ),
    "t10k-labels-idx1-ubyte": (
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        10008,
    ),
}

#: Public mirrors serving ``<name>.gz`` for each official file name, tried in order.
MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)

#: Seconds to wait for a mirror to answer (and between received chunks).
DOWNLOAD_TIMEOUT = 5.0

#: Default overall deadline, in seconds, of one `download_mnist` call (all files, all mirrors).
DOWNLOAD_DEADLINE = 300.0

#: Deflate never expands data by more than about 1032:1, so a gzip file of ``n`` bytes cannot
#: hold more than this many times ``n`` bytes: a larger announced size is refused unread.
_MAX_GZIP_RATIO = 1040

_BUNDLED_DIR = Path(__file__).resolve().parent / "data"
_PROVENANCE_FILE = "mnist_subset.json"
_CHUNK = 1 << 20
_GZIP_MAGIC = b"\x1f\x8b"

_Arrays = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


# --------------------------------------------------------------------------------------------
# IDX reading
# --------------------------------------------------------------------------------------------


def _open_maybe_gzip(path: Path) -> IO[bytes]:
    """Open ``path`` for binary reading, decompressing on the fly when it starts as gzip."""
    with open(path, "rb") as probe:
        head = probe.read(2)
    if head == _GZIP_MAGIC:
        return gzip.open(path, "rb")
    return open(path, "rb")


def _read_exact(stream: IO[bytes], n: int) -> bytes:
    """Read up to ``n`` bytes, looping over short reads; fewer means end of file."""
    parts = []
    while n > 0:
        chunk = stream.read(n)
        if not chunk:
            break
        parts.append(chunk)
        n -= len(chunk)
    return b"".join(parts)


def _read_into(stream: IO[bytes], out: np.ndarray) -> int:
    """Fill the contiguous array ``out`` from ``stream``; return the number of bytes read."""
    view = memoryview(out.reshape(-1).view(np.uint8))
    filled = 0
    while filled < len(view):
        n = stream.readinto(view[filled:])  # type: ignore[attr-defined]
        if not n:
            break
        filled += n
    return filled


def _parse_header(path: Path, stream: IO[bytes]) -> tuple[int, np.dtype, tuple[int, ...]]:
    """Read and validate the IDX header: return (magic number, element dtype, dimensions)."""
    head = _read_exact(stream, 4)
    if len(head) < 4:
        raise ValueError(f"{path}: not an IDX file: it has only {len(head)} byte(s)")
    magic = int.from_bytes(head, "big")
    if head[0] != 0 or head[1] != 0 or head[2] not in _IDX_DTYPES or head[3] == 0:
        raise ValueError(
            f"{path}: not an IDX file: magic number {magic} (0x{magic:08x}) is not of the form "
            "0x0000TTNN with a known type code TT and NN >= 1 dimensions"
        )
    ndim = head[3]
    raw_dims = _read_exact(stream, 4 * ndim)
    if len(raw_dims) < 4 * ndim:
        raise ValueError(
            f"{path}: truncated IDX header: {ndim} dimensions need {4 * ndim} bytes, "
            f"found {len(raw_dims)}"
        )
    dims = tuple(int.from_bytes(raw_dims[4 * i : 4 * i + 4], "big") for i in range(ndim))
    return magic, np.dtype(_IDX_DTYPES[head[2]]), dims


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file (gzip-compressed or not) into a NumPy array, checking its size.

    The IDX format (used by MNIST) is a 4-byte big-endian magic number ``0x0000TTNN`` (``TT``
    the element type, ``NN`` the number of dimensions), ``NN`` big-endian 32-bit dimensions,
    then the elements in C order. Compression is detected from the content (gzip magic bytes),
    not from the file name.

    Parameters
    ----------
    path : str or path-like
        The file.

    Returns
    -------
    numpy.ndarray
        A writeable array of the stored shape, in native byte order (``uint8`` for MNIST).
        `idx_magic` returns the file's magic number.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not IDX (wrong magic number), its header or payload is truncated, it
        has bytes after the payload, or its gzip stream is corrupt. The message names the file.
    """
    return _read_idx_with_magic(Path(path))[1]


def idx_magic(path: str | os.PathLike) -> int:
    """Return the magic number of an IDX file (gzip-compressed or not) without reading its data.

    Parameters
    ----------
    path : str or path-like
        The file.

    Returns
    -------
    int
        The magic number, e.g. 2051 for MNIST images and 2049 for MNIST labels.
    """
    path = Path(path)
    try:
        with _open_maybe_gzip(path) as stream:
            return _parse_header(path, stream)[0]
    except (OSError, EOFError, zlib.error) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise ValueError(f"{path}: unreadable or corrupt file ({exc})") from exc


def _check_stored_size(path: Path, stream: IO[bytes], dims: tuple[int, ...], nbytes: int) -> None:
    """Compare the size the header announces with the size stored, before allocating.

    For an uncompressed file this is the file size; for a gzip file it is the uncompressed size
    recorded in the gzip trailer (modulo 2**32). A corrupt header announcing gigabytes therefore
    fails here with a clear message instead of attempting a huge allocation.
    """
    total = 4 + 4 * len(dims) + nbytes
    if isinstance(stream, gzip.GzipFile):
        compressed = path.stat().st_size
        if total > _MAX_GZIP_RATIO * compressed + 4096:
            raise ValueError(
                f"{path}: truncated or corrupt file: the IDX header announces dimensions {dims} "
                f"({total} bytes in all) but a gzip file of {compressed} bytes cannot hold "
                "that much"
            )
        with open(path, "rb") as fh:
            fh.seek(-4, os.SEEK_END)
            recorded = int.from_bytes(fh.read(4), "little")
        if recorded != total % 2**32:
            raise ValueError(
                f"{path}: truncated or corrupt file: the IDX header announces dimensions {dims} "
                f"({total} bytes in all) but the gzip stream records {recorded} bytes"
            )
        return
    stored = path.stat().st_size
    if stored < total:
        raise ValueError(
            f"{path}: truncated IDX data: dimensions {dims} need {nbytes} bytes, "
            f"found {stored - (total - nbytes)}"
        )
    if stored > total:
        raise ValueError(
            f"{path}: IDX file has bytes after the {nbytes} data bytes its dimensions {dims} "
            "announce"
        )


def _read_idx_with_magic(path: Path) -> tuple[int, np.ndarray]:
    """Read an IDX file; return its magic number and its data."""
    try:
        with _open_maybe_gzip(path) as stream:
            magic, dtype, dims = _parse_header(path, stream)
            _check_stored_size(path, stream, dims, math.prod(dims) * dtype.itemsize)
            out = np.empty(dims, dtype=dtype)
            n_read = _read_into(stream, out)
            if n_read < out.nbytes:
                raise ValueError(
                    f"{path}: truncated IDX data: dimensions {dims} need {out.nbytes} bytes, "
                    f"found {n_read}"
                )
            if stream.read(1):
                raise ValueError(
                    f"{path}: IDX file has bytes after the {out.nbytes} data bytes its "
                    f"dimensions {dims} announce"
                )
    except (OSError, EOFError, zlib.error) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise ValueError(f"{path}: unreadable or corrupt file ({exc})") from exc
    if not out.dtype.isnative:
        out = out.astype(out.dtype.newbyteorder("="))
    return magic, out


# --------------------------------------------------------------------------------------------
# MNIST-specific checks
# --------------------------------------------------------------------------------------------


def _read_images(path: Path) -> np.ndarray:
    """Read an MNIST image file and check magic number and 28 x 28 geometry."""
    magic, data = _read_idx_with_magic(path)
    if magic != IMAGES_MAGIC:
        raise ValueError(
            f"{path}: magic number {magic} is not {IMAGES_MAGIC} (MNIST images: unsigned "
            "bytes, 3 dimensions)"
        )
    if data.shape[1:] != (28, 28):
        raise ValueError(f"{path}: images must be 28 x 28, got dimensions {data.shape}")
    return data


def _read_labels(path: Path) -> np.ndarray:
    """Read an MNIST label file and check magic number and the 0-9 range."""
    magic, data = _read_idx_with_magic(path)
    if magic != LABELS_MAGIC:
        raise ValueError(
            f"{path}: magic number {magic} is not {LABELS_MAGIC} (MNIST labels: unsigned "
            "bytes, 1 dimension)"
        )
    if data.size and data.max() > 9:
        bad = int(np.argmax(data > 9))
        raise ValueError(f"{path}: label[{bad}]={int(data[bad])} is outside 0-9")
    return data


def _to_float_images(images: np.ndarray) -> np.ndarray:
    """Scale uint8 images to float32 in [0, 1] with shape (N, 1, 28, 28)."""
    out = images.astype(np.float32).reshape(images.shape[0], 1, 28, 28)
    out /= np.float32(255.0)
    return out


def _load_split(images_path: Path, labels_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read one split (images, labels) and check that the counts agree."""
    images = _read_images(images_path)
    labels = _read_labels(labels_path)
    if images.shape[0] != labels.shape[0]:
        raise ValueError(
            f"{images_path} holds {images.shape[0]} images but {labels_path} holds "
            f"{labels.shape[0]} labels; the counts must match"
        )
    return _to_float_images(images), labels.astype(np.int64)


def _file_in(folder: Path, name: str) -> Path | None:
    """Return ``folder/name`` or ``folder/name.gz`` (uncompressed preferred), if present."""
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _load_folder(folder: Path) -> _Arrays:
    """Load the four MNIST files from ``folder`` (all must be present)."""
    paths = {}
    for role, name in MNIST_FILES.items():
        found = _file_in(folder, name)
        if found is None:
            raise FileNotFoundError(f"{folder} lacks {name} (or {name}.gz)")
        paths[role] = found
    train = _load_split(paths["train_images"], paths["train_labels"])
    test = _load_split(paths["test_images"], paths["test_labels"])
    return train, test


# --------------------------------------------------------------------------------------------
# Search path
# --------------------------------------------------------------------------------------------


def cache_dir() -> Path:
    """Return the download cache folder, ``~/.cache/tensornet/mnist``.

    Returns
    -------
    pathlib.Path
        The folder (it may not exist yet).
    """
    return Path.home() / ".cache" / "tensornet" / "mnist"


def _search_path(root: str | os.PathLike | None) -> list[Path]:
    """The folders searched, in order: ``root``, ``$TENSORNET_DATA``, the cache."""
    folders = []
    if root is not None:
        folders.append(Path(root).expanduser())
    env = os.environ.get("TENSORNET_DATA")
    if env:
        folders.append(Path(env).expanduser())
    folders.append(cache_dir())
    return folders


def find_mnist(root: str | os.PathLike | None = None) -> Path | None:
    """Return the first folder of the search path holding all four MNIST files, or ``None``.

    The search path is ``root``, then ``$TENSORNET_DATA``, then ``~/.cache/tensornet/mnist``.
    A folder counts when each file is present as ``<name>`` or ``<name>.gz``; the files are not
    read here.

    Parameters
    ----------
    root : str or path-like, optional
        A folder searched first.

    Returns
    -------
    pathlib.Path or None
        The folder, or ``None`` when no folder holds all four files.
    """
    for folder in _search_path(root):
        if all(_file_in(folder, name) is not None for name in MNIST_FILES.values()):
            return folder
    return None


# --------------------------------------------------------------------------------------------
# Download
# --------------------------------------------------------------------------------------------


class DownloadError(OSError):
    """No mirror delivered a file with the expected checksum (network down, or bad content).

    Attributes
    ----------
    attempts : tuple of (str, str)
        ``(url, error)`` for every mirror tried, in order.
    """

    attempts: tuple[tuple[str, str], ...] = ()


def _sha256_of_gzip(path: Path) -> tuple[str, int]:
    """SHA-256 and size of the decompressed content of the gzip file ``path``."""
    digest = hashlib.sha256()
    size = 0
    with gzip.open(path, "rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _remaining(deadline: float) -> float:
    """Seconds left before ``deadline`` (``time.monotonic`` clock); DownloadError when none."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise DownloadError("the download deadline (timeout) has passed")
    return left


def _fetch(
    url: str,
    target: Path,
    deadline: float,
    max_bytes: int,
    opener: Callable,
    log: Callable[[str], None],
) -> None:
    """Stream ``url`` into the new file ``target``, refusing more than ``max_bytes``.

    Each read returns what has arrived (``read1``), so a server trickling bytes cannot hold the
    loop past ``deadline``.
    """
    timeout = min(DOWNLOAD_TIMEOUT, _remaining(deadline))
    with opener(url, timeout=timeout) as response, open(target, "wb") as out:
        log(f"tensornet: downloading {url}")
        read = getattr(response, "read1", response.read)
        total = 0
        while chunk := read(_CHUNK):
            total += len(chunk)
            if total > max_bytes:
                raise DownloadError(f"the server sent more than {max_bytes} bytes")
            out.write(chunk)
            _remaining(deadline)
        out.flush()
        os.fsync(out.fileno())


def _download_one(
    name: str,
    folder: Path,
    mirrors: Sequence[str],
    deadline: float,
    opener: Callable,
    log: Callable[[str], None],
) -> Path:
    """Fetch ``name.gz`` from the first mirror that delivers the expected content."""
    expected_sha, expected_size = MNIST_SHA256[name]
    target = folder / f"{name}.gz"
    errors = []
    for mirror in mirrors:
        url = f"{mirror.rstrip('/')}/{name}.gz"
        fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".part")
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            _fetch(url, tmp, deadline, 2 * expected_size + 4096, opener, log)
            try:
                sha, size = _sha256_of_gzip(tmp)
            except (OSError, EOFError, zlib.error) as exc:
                raise DownloadError(f"not a valid gzip file ({exc})") from exc
            if sha != expected_sha or size != expected_size:
                raise DownloadError(
                    f"checksum mismatch: SHA-256 {sha} of {size} bytes, expected "
                    f"{expected_sha} of {expected_size} bytes"
                )
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
            return target
        except (OSError, ValueError, http.client.HTTPException) as exc:
            errors.append((url, _first_line(exc, 400)))
        finally:
            if tmp.exists():
                tmp.unlink()
    error = DownloadError(f"no mirror delivered {name}.gz ({errors[-1][1]})")
    error.attempts = tuple(errors)
    raise error


def download_mnist(
    folder: str | os.PathLike | None = None,
    *,
    mirrors: Sequence[str] | None = None,
    timeout: float = DOWNLOAD_DEADLINE,
    opener: Callable | None = None,
    verbose: bool = True,
) -> Path:
    """Download the four MNIST files into ``folder`` (default: the cache), verified, atomically.

    Each file ``<name>.gz`` is streamed into a temporary file next to the target, its
    decompressed content is checked against the SHA-256 and size in `MNIST_SHA256`, and
    only then is it renamed over ``<name>.gz`` (an atomic rename). A file already present and
    valid is not fetched again. Mirrors are tried in order; the first file that no mirror
    delivers stops the download (fail fast: without a network this returns within about one
    connection attempt per mirror).

    Parameters
    ----------
    folder : str or path-like, optional
        Where to store the files; ``~/.cache/tensornet/mnist`` by default.
    mirrors : sequence of str, optional
        Base URLs (``https://``, ``http://`` or ``file://``), each serving ``<name>.gz``;
        `MIRRORS` by default.
    timeout : float
        Overall deadline in seconds for the whole call (every file, every mirror); a mirror
        that trickles bytes is abandoned when it passes. Each connection and each wait for
        data is further limited to `DOWNLOAD_TIMEOUT` seconds.
    opener : callable, optional
        Function ``opener(url, timeout=...)`` returning a readable response; defaults to
        `urllib.request.urlopen` (tests pass a fake one).
    verbose : bool
        Print one line per file fetched to ``stderr``.

    Returns
    -------
    pathlib.Path
        The folder holding the four verified files.

    Raises
    ------
    DownloadError
        If a file could not be fetched from any mirror or failed verification on all of them.
    """
    deadline = time.monotonic() + check_real(timeout, "timeout", minimum=0.0, strict_minimum=True)
    folder = cache_dir() if folder is None else Path(folder).expanduser()
    mirrors = MIRRORS if mirrors is None else tuple(mirrors)
    if not mirrors:
        raise ValueError("mirrors must name at least one base URL, got an empty sequence")
    opener = urllib.request.urlopen if opener is None else opener

    def log(message: str) -> None:
        if verbose:
            print(message, file=sys.stderr)

    folder.mkdir(parents=True, exist_ok=True)
    for name in MNIST_FILES.values():
        existing = folder / f"{name}.gz"
        if existing.is_file():
            try:
                if _sha256_of_gzip(existing) == MNIST_SHA256[name]:
                    continue
            except (OSError, EOFError, zlib.error):
                pass
        _download_one(name, folder, mirrors, deadline, opener, log)
    return folder


def _offline() -> bool:
    """Whether ``$TENSORNET_OFFLINE`` forbids downloading (any value but '', '0', 'false')."""
    return os.environ.get("TENSORNET_OFFLINE", "").strip().lower() not in ("", "0", "false", "no")


# --------------------------------------------------------------------------------------------
# Bundled subset and the public loader
# --------------------------------------------------------------------------------------------


def subset_provenance() -> dict[str, Any]:
    """Return the provenance record of the bundled subset (indices, seed, checksums, license).

    Returns
    -------
    dict
        The parsed ``mnist_subset.json`` shipped next to the subset's IDX files.
    """
    with open(_BUNDLED_DIR / _PROVENANCE_FILE, encoding="utf-8") as fh:
        return json.load(fh)


def load_mnist_subset() -> _Arrays:
    """Load the small real MNIST subset bundled with tensornet (no file system search).

    The subset holds 6,000 training images (600 per class) and 1,000 test images (100 per
    class) drawn without replacement from the official files with a fixed seed by
    ``examples/make_mnist_subset.py``; `subset_provenance` lists the indices. MNIST is
    licensed CC BY-SA 3.0.

    Returns
    -------
    tuple of tuple of numpy.ndarray
        ``((x_train, y_train), (x_test, y_test))``: images as ``float32`` in [0, 1] of shape
        ``(N, 1, 28, 28)``, labels as ``int64``.
    """
    return _load_folder(_BUNDLED_DIR)


def load_mnist(
    root: str | os.PathLike | None = None,
    download: bool = True,
    *,
    verbose: bool = True,
) -> _Arrays:
    """Load MNIST: from ``root``, ``$TENSORNET_DATA``, the cache, a download, or the subset.

    The first folder of the search path (``root``, ``$TENSORNET_DATA``,
    ``~/.cache/tensornet/mnist``) holding all four files, each gzipped or not, is read. If none
    does and ``download`` is true (and ``$TENSORNET_OFFLINE`` is unset), `download_mnist`
    fetches them into the cache. If that fails too, the default search (``root=None``) returns
    the bundled subset (`load_mnist_subset`) and prints one line saying so to ``stderr``; an
    explicit ``root`` raises `FileNotFoundError` instead.

    Parameters
    ----------
    root : str or path-like, optional
        A folder searched first, e.g. ``"../shared/data/mnist"``.
    download : bool
        Whether to try the public mirrors when no folder holds the files.
    verbose : bool
        Print the one-line fallback notice (and one line per downloaded file) to ``stderr``.

    Returns
    -------
    tuple of tuple of numpy.ndarray
        ``((x_train, y_train), (x_test, y_test))``: images as ``float32`` in [0, 1] of shape
        ``(N, 1, 28, 28)`` (60,000 and 10,000 for the full set), labels as ``int64`` in 0-9.

    Raises
    ------
    FileNotFoundError
        If ``root`` is given and neither the search nor a download finds the files.
    ValueError
        If the folder found holds a file that is not valid MNIST (wrong magic number, wrong
        dimensions, truncated, trailing bytes, labels outside 0-9, or image and label counts
        that differ). A broken file is an error, not a reason to fall back silently.
    """
    folder = find_mnist(root)
    if folder is not None:
        return _load_folder(folder)
    searched = ", ".join(str(p) for p in _search_path(root))
    if root is not None and not download:
        raise FileNotFoundError(
            f"MNIST not found in {searched} (download=False); the bundled subset is only used "
            "when no root is given"
        )
    if not download:
        reason = "download=False"
    elif _offline():
        reason = "TENSORNET_OFFLINE is set"
    else:
        try:
            return _load_folder(download_mnist(verbose=verbose))
        except OSError as exc:
            reason = f"download failed: {_first_line(exc)}"
    if root is not None:
        raise FileNotFoundError(
            f"MNIST not found in {searched} ({reason}); the bundled subset is only used when "
            "no root is given"
        )
    train, test = load_mnist_subset()
    if verbose:
        print(
            f"tensornet: MNIST not found in {searched} ({reason}); using the bundled subset "
            f"({len(train[0])} train / {len(test[0])} test images)",
            file=sys.stderr,
        )
    return train, test


def _first_line(exc: BaseException, limit: int = 160) -> str:
    """A short one-line description of ``exc`` for the fallback notice."""
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
