"""Build the MNIST subset bundled in ``tensornet/datasets/data`` from the official IDX files.

The subset is a class-balanced (equal-allocation stratified) random sample drawn without
replacement with a fixed seed: 600 training images of each digit from the 60,000 official
training images and 100 test images of each digit from the 10,000 official test images, kept in
their official order. It is written as four gzip-compressed IDX files with the official names
(gzip header time stamp 0 and no file name, compression level 9, so that the bytes depend only
on the data and the zlib version), plus ``mnist_subset.json`` recording the seed, the chosen
indices, the checksums of source and output, and the license (MNIST is CC BY-SA 3.0).

Usage, from the repository root::

    python examples/make_mnist_subset.py                 # rebuild tensornet/datasets/data
    python examples/make_mnist_subset.py --check         # rebuild in a temporary folder and
                                                         # compare with the bundled files
    python examples/make_mnist_subset.py --source DIR    # official files elsewhere

The source folder defaults to ``../shared/data/mnist`` next to the checkout.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import sys
import tempfile
import zlib
from pathlib import Path

import numpy as np

from tensornet.datasets import read_idx
from tensornet.datasets.mnist import MNIST_FILES, MNIST_SHA256

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = REPO.parent / "shared" / "data" / "mnist"
DEFAULT_OUT = REPO / "tensornet" / "datasets" / "data"

SEED = 20240607
PER_CLASS = {"train": 600, "test": 100}
PROVENANCE = "mnist_subset.json"
LICENSE = "CC BY-SA 3.0"
CITATION = (
    "Y. LeCun, C. Cortes, C. J. C. Burges, The MNIST database of handwritten digits, "
    "http://yann.lecun.com/exdb/mnist/"
)


def select_indices(labels: np.ndarray, per_class: int, rng: np.random.Generator) -> np.ndarray:
    """Choose ``per_class`` indices of every digit 0-9 without replacement, sorted ascending.

    Parameters
    ----------
    labels : numpy.ndarray
        The official labels of one split.
    per_class : int
        Samples drawn from each class.
    rng : numpy.random.Generator
        The generator; classes are drawn in order 0, 1, ..., 9.

    Returns
    -------
    numpy.ndarray
        ``10 * per_class`` sorted ``int64`` indices into the split.
    """
    chosen = [
        rng.choice(np.flatnonzero(labels == digit), size=per_class, replace=False)
        for digit in range(10)
    ]
    return np.sort(np.concatenate(chosen)).astype(np.int64)


def idx_bytes(data: np.ndarray) -> bytes:
    """Encode a ``uint8`` array in the IDX format (magic ``0x0000080N``, big-endian dims).

    Parameters
    ----------
    data : numpy.ndarray
        Unsigned-byte array with 1 to 255 dimensions.

    Returns
    -------
    bytes
        The IDX file content.
    """
    data = np.ascontiguousarray(data, dtype=np.uint8)
    header = bytes([0, 0, 0x08, data.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in data.shape
    )
    return header + data.tobytes()


def gzip_bytes(payload: bytes) -> bytes:
    """Compress ``payload`` reproducibly (level 9, time stamp 0, no file name in the header).

    Parameters
    ----------
    payload : bytes
        The data.

    Returns
    -------
    bytes
        The gzip stream.
    """
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", compresslevel=9, fileobj=buf, mtime=0) as gz:
        gz.write(payload)
    return buf.getvalue()


def write_atomic(path: Path, content: bytes) -> None:
    """Write ``content`` to ``path`` through a temporary file and an atomic rename.

    Parameters
    ----------
    path : pathlib.Path
        Target file.
    content : bytes
        What to write.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _source_file(source: Path, name: str) -> Path:
    """The official file ``name`` in ``source``, compressed or not."""
    for candidate in (source / name, source / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"{source} lacks {name} (or {name}.gz)")


def _verified_source(source: Path, name: str) -> np.ndarray:
    """Read an official file and check its content against the published checksum."""
    data = read_idx(_source_file(source, name))
    header_dims = data.shape
    content = idx_bytes(data)
    sha = hashlib.sha256(content).hexdigest()
    if (sha, len(content)) != MNIST_SHA256[name]:
        raise ValueError(
            f"{name} in {source} (dimensions {header_dims}) is not the official file: "
            f"SHA-256 {sha}, expected {MNIST_SHA256[name][0]}"
        )
    return data


def make_subset(source: Path, out: Path, seed: int = SEED) -> dict:
    """Write the bundled subset's four ``.gz`` IDX files and its provenance JSON into ``out``.

    Parameters
    ----------
    source : pathlib.Path
        Folder with the four official MNIST files (gzipped or not); their content is verified.
    out : pathlib.Path
        Destination folder (created if needed).
    seed : int
        Seed of the `numpy.random.Generator` that draws the indices.

    Returns
    -------
    dict
        The provenance record written to ``out / "mnist_subset.json"``.
    """
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    record: dict = {
        "description": (
            "Class-balanced random subset of MNIST: 600 training and 100 test images per "
            "digit, drawn without replacement, kept in official order"
        ),
        "source": "official MNIST IDX files (verified by SHA-256 of the uncompressed content)",
        "citation": CITATION,
        "license": LICENSE,
        "script": "examples/make_mnist_subset.py",
        "seed": seed,
        "zlib_version": zlib.ZLIB_VERSION,
        "splits": {},
        "files": {},
    }
    for split, prefix in (("train", "train"), ("test", "t10k")):
        images = _verified_source(source, f"{prefix}-images-idx3-ubyte")
        labels = _verified_source(source, f"{prefix}-labels-idx1-ubyte")
        idx = select_indices(labels, PER_CLASS[split], rng)
        sub = {"images": images[idx], "labels": labels[idx]}
        record["splits"][split] = {
            "n": int(idx.size),
            "per_class": PER_CLASS[split],
            "indices": idx.tolist(),
        }
        for kind, name in ((k, MNIST_FILES[f"{split}_{k}"]) for k in ("images", "labels")):
            payload = idx_bytes(sub[kind])
            packed = gzip_bytes(payload)
            write_atomic(out / f"{name}.gz", packed)
            record["files"][f"{name}.gz"] = {
                "sha256": hashlib.sha256(packed).hexdigest(),
                "sha256_uncompressed": hashlib.sha256(payload).hexdigest(),
                "bytes": len(packed),
            }
    text = json.dumps(record, indent=1, sort_keys=True) + "\n"
    write_atomic(out / PROVENANCE, text.encode("utf-8"))
    return record


def compare(built: Path, bundled: Path) -> list[str]:
    """List the differences between two subset folders (empty when identical byte for byte).

    Parameters
    ----------
    built, bundled : pathlib.Path
        The folders to compare: every file of ``built`` must exist in ``bundled`` with the
        same bytes.

    Returns
    -------
    list of str
        One message per differing or missing file.
    """
    problems = []
    for path in sorted(built.iterdir()):
        other = bundled / path.name
        if not other.is_file():
            problems.append(f"{other} is missing")
        elif other.read_bytes() != path.read_bytes():
            problems.append(f"{other} differs from the rebuilt {path}")
    return problems


def main(argv: list[str] | None = None) -> int:
    """Command line entry point: build the subset, or with ``--check`` verify the bundled one.

    Parameters
    ----------
    argv : list of str, optional
        Arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status: 0 on success, 1 when ``--check`` finds a difference.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="official files")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    parser.add_argument("--seed", type=int, default=SEED, help="random seed")
    parser.add_argument(
        "--check", action="store_true", help="rebuild in a temporary folder and compare with --out"
    )
    args = parser.parse_args(argv)
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            make_subset(args.source, Path(tmp), args.seed)
            problems = compare(Path(tmp), args.out)
        for line in problems:
            print(line)
        print("bundled subset reproduced bit for bit" if not problems else "MISMATCH")
        return 1 if problems else 0
    record = make_subset(args.source, args.out, args.seed)
    total = sum(f["bytes"] for f in record["files"].values())
    print(f"wrote {len(record['files'])} files ({total} bytes) and {PROVENANCE} to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
