"""``tensornet decompose``: decompose a tensor stored on disk and save the format object.

``tensornet decompose INPUT --method tt|tucker|tr|cp|ht (--ranks ... | --eps ...) --out OUT.npz``

INPUT is a ``.npy`` file (memory-mapped, never read whole), a member of an ``.npz`` archive
(``archive.npz:member``, read into memory: NumPy cannot map a zipped member) or a Zarr store
(``.zarr``, needs the ``dask`` extra). Mapped and Zarr inputs are decomposed out of core by
streaming passes (:mod:`tensornet.decompositions.out_of_core`) when the ``dask`` extra is
installed and the method streams (TT, Tucker, TR, CP); HT, and every method without Dask, reads
the tensor into memory. The output is the format object's ``.npz`` file, which
:meth:`tensornet.formats.StructuredTensor.load` reads back.
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from pathlib import Path
from typing import Any

import numpy as np

METHODS = ("tt", "tucker", "tr", "cp", "ht")
#: Methods that stream a Dask array (the others compute it into memory).
STREAMED = ("tt", "tucker", "tr", "cp")


def add_parser(sub: Any) -> None:
    """Register the ``decompose`` subcommand on an ``argparse`` subparsers object."""
    p = sub.add_parser(
        "decompose",
        help="decompose a tensor stored on disk (.npy, .npz member, .zarr) and save the result",
        description=__doc__.splitlines()[0],
    )
    p.add_argument("input", help="a .npy file, archive.npz:member, or a .zarr store")
    p.add_argument("--method", required=True, choices=METHODS)
    p.add_argument(
        "--ranks",
        type=_ranks,
        default=None,
        help="one rank for all, or comma-separated ranks (the CP rank for cp)",
    )
    p.add_argument("--eps", type=float, default=None, help="relative error bound in [0, 1)")
    p.add_argument("--out", required=True, help="output .npz file")
    p.add_argument("--no-progress", action="store_true", help="no progress bar over the passes")
    p.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    """Run the command; a bad input is reported on stderr with exit status 2."""
    import sys

    try:
        return run(args)
    except (ValueError, TypeError) as err:
        print(f"tensornet decompose: error: {err}", file=sys.stderr)
        return 2


def _ranks(text: str) -> int | tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"ranks={text!r}: expected an integer or comma-separated integers"
        ) from None
    return values[0] if len(values) == 1 else values


def open_input(spec: str) -> Any:
    """The tensor named by ``spec``: a memory map, an in-memory array, or a Dask array.

    Raises
    ------
    ValueError
        For a missing file or member, a store that is not an array, or an unknown suffix.
    TypeError
        For data that are not real numbers.
    """
    path, _, member = spec.partition(":") if ".npz:" in spec else (spec, "", "")
    if not Path(path).exists():
        raise ValueError(f"input {path!r} does not exist")
    if path.endswith(".npy"):
        data = np.load(path, mmap_mode="r", allow_pickle=False)
    elif path.endswith(".npz"):
        data = _npz_member(path, member)
    elif path.rstrip("/").endswith(".zarr"):
        data = _zarr_array(path)
    else:
        raise ValueError(
            f"input {spec!r}: expected a .npy file, archive.npz:member or a .zarr store"
        )
    if np.dtype(data.dtype).kind not in "biuf":
        raise TypeError(f"input {spec!r} holds {data.dtype} data; a real-valued tensor is needed")
    return data


def _npz_member(path: str, member: str) -> np.ndarray:
    with np.load(path, allow_pickle=False) as archive:
        names = list(archive.files)
        if not member:
            if len(names) != 1:
                raise ValueError(
                    f"input {path!r} holds {len(names)} arrays {names}: name one as {path}:member"
                )
            member = names[0]
        if member not in names:
            raise ValueError(f"input {path!r} has no member {member!r}; it holds {names}")
        return archive[member]


def _zarr_array(path: str) -> Any:
    if importlib.util.find_spec("zarr") is None or importlib.util.find_spec("dask") is None:
        raise ValueError(
            f"input {path!r} is a Zarr store: install the extra with pip install -e '.[dask]'"
        )
    import dask.array as da
    import zarr

    node = zarr.open(path, mode="r")
    if not hasattr(node, "dtype"):
        raise ValueError(f"input {path!r} is a Zarr group, not an array")
    return da.from_zarr(node)


def _as_streamed(data: Any, method: str) -> Any:
    """A Dask view of mapped or stored data when the method streams and Dask is installed."""
    if method not in STREAMED or importlib.util.find_spec("dask") is None:
        return np.asarray(data)
    import dask.array as da

    if isinstance(data, da.Array):
        return data
    if isinstance(data, np.memmap):
        return da.from_array(data, chunks="auto")
    return data


def decompose_input(data: Any, method: str, ranks: Any, eps: float | None) -> Any:
    """Run ``method`` on ``data`` with the library's public functions."""
    import tensornet as tn

    data = _as_streamed(data, method)
    if method == "tt":
        return tn.tt_svd(data, ranks, eps=eps)
    if method == "tr":
        return tn.tr_svd(data, ranks, eps=eps)
    if method == "tucker":
        return tn.hosvd(data, ranks, eps=eps)
    if method == "ht":
        return tn.ht_svd(np.asarray(data), ranks, eps=eps)
    if ranks is None or not isinstance(ranks, int):
        raise ValueError(f"--method cp needs one integer --ranks (the CP rank); got {ranks}")
    if eps is not None:
        raise ValueError("--method cp takes --ranks only (CP-ALS has no error-bounded rank)")
    return tn.cp_als(data, ranks, random_state=0)


def run(args: argparse.Namespace) -> int:
    """The ``decompose`` command: decompose, save, print the report."""
    data = open_input(args.input)
    if args.ranks is None and args.eps is None and args.method == "cp":
        raise ValueError("--method cp needs --ranks")
    start = time.perf_counter()
    with _progress(not args.no_progress):
        fmt = decompose_input(data, args.method, args.ranks, args.eps)
    seconds = time.perf_counter() - start
    out = fmt.save(args.out)
    info = getattr(fmt, "info", {}) or {}
    print(f"method            {args.method}")
    print(f"shape             {tuple(fmt.shape)}")
    print(f"ranks             {fmt.ranks}")
    print(f"parameters        {fmt.n_params:,} of {int(np.prod(fmt.shape)):,}")
    print(f"compression ratio {fmt.compression_ratio:.2f}x")
    print(f"relative error    {info.get('rel_error', float('nan')):.3e}")
    if "passes" in info:
        extra = info.get("remainder_passes", 0)
        more = f" (+{extra} over remainders on disk)" if extra else ""
        print(f"passes            {info['passes']}{more}")
    print(f"time              {seconds:.2f} s")
    print(f"saved             {out}")
    return 0


def _progress(enabled: bool) -> Any:
    """Dask's progress bar, one bar per pass over the data (a no-op without Dask)."""
    import contextlib

    if not enabled or importlib.util.find_spec("dask") is None:
        return contextlib.nullcontext()
    from dask.diagnostics import ProgressBar

    return ProgressBar(minimum=1.0)
