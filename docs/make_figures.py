"""Generate the figures of the guide pages with :mod:`tensornet.plot`.

* ``docs/images/formats/<format>.svg``: the tensor-network diagram of every format
  (:func:`tensornet.plot.draw`), shown at the top of its guide page;
* ``docs/images/train_lenet300_100_history.svg``: the training curves of the "Train LeNet" page
  (:func:`tensornet.plot.plot_history`), read from the recorded run
  ``docs/data/train_lenet300_100_history.json`` (written by
  ``examples/train_lenet_mnist.py --history``); nothing is trained here.

The SVG files are deterministic: fixed ids (``svg.hashsalt``), no date in the metadata and text
kept as text (``svg.fonttype = 'none'``), so regenerating unchanged figures rewrites the same
bytes with the same matplotlib version.

Usage::

    python docs/make_figures.py          # (re)write the figures
    python docs/make_figures.py --check  # exit 1 if a committed figure is missing or not current
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import matplotlib  # noqa: E402

matplotlib.use("Agg")

from tensornet import formats as F  # noqa: E402
from tensornet.plot import draw, plot_history  # noqa: E402

IMAGES = ROOT / "docs" / "images"
HISTORY = ROOT / "docs" / "data" / "train_lenet300_100_history.json"
RC = {"svg.hashsalt": "tensornet-docs", "svg.fonttype": "none"}


def _ones(*shape: int) -> np.ndarray:
    return np.ones(shape)


def _ht() -> F.HTTensor:
    """Balanced tree over 4 modes of sizes (4, 5, 6, 3), leaf ranks 2, interior ranks 3."""
    leaves = [_ones(4, 2), _ones(5, 2), _ones(6, 2), _ones(3, 2)]
    return F.HTTensor(4, leaves, [_ones(3, 3, 1), _ones(2, 2, 3), _ones(2, 2, 3)])


#: file name (without .svg) -> the format object drawn
FORMATS: dict[str, Callable[[], F.StructuredTensor]] = {
    "cp": lambda: F.CPTensor(None, [_ones(4, 3), _ones(5, 3), _ones(6, 3)]),
    "tucker": lambda: F.TuckerTensor(_ones(2, 3, 4), [_ones(4, 2), _ones(5, 3), _ones(6, 4)]),
    "btd": lambda: F.BTDTensor([(_ones(2, 2, 2), [_ones(4, 2), _ones(5, 2), _ones(6, 2)])] * 2),
    "tt": lambda: F.TTTensor([_ones(1, 4, 2), _ones(2, 5, 3), _ones(3, 6, 2), _ones(2, 3, 1)]),
    "tt-matrix": lambda: F.TTMatrix([_ones(1, 2, 3, 2), _ones(2, 4, 5, 3), _ones(3, 2, 2, 1)]),
    "tr": lambda: F.TRTensor([_ones(2, 3, 3), _ones(3, 4, 4), _ones(4, 5, 2), _ones(2, 3, 2)]),
    "ht": _ht,
    "kron": lambda: F.KronTensor(_ones(2, 2, 3, 2), _ones(2, 4, 2, 3)),
    "sttucker": lambda: F.STTuckerTensor(
        _ones(4, 4, 2), [_ones(3, 2), _ones(2, 2), _ones(5, 1)], 2
    ),
    "stt": lambda: F.STTTensor([_ones(1, 3, 4), _ones(2, 4, 3), _ones(3, 5, 1)], 2),
    "str": lambda: F.STRTensor([_ones(4, 3, 4), _ones(2, 4, 3), _ones(3, 5, 2)], 2),
}


def _save(fig: matplotlib.figure.Figure, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with matplotlib.rc_context(RC):
        fig.savefig(path, format="svg", metadata={"Date": None})


def render(out: Path) -> list[Path]:
    """Write every figure under ``out`` (laid out like ``docs/images``); return their paths."""
    written = []
    for name, build in FORMATS.items():
        path = out / "formats" / f"{name}.svg"
        _save(draw(build()), path)
        written.append(path)
    record = json.loads(HISTORY.read_text(encoding="utf-8"))
    fig = plot_history(record["history"])
    fig.suptitle(
        f"LeNet-300-100 on MNIST, {record['protocol']['epochs']} epochs "
        f"({record['protocol']['optimizer']})",
        fontsize=10,
    )
    path = out / "train_lenet300_100_history.svg"
    _save(fig, path)
    written.append(path)
    return written


def _made_with(path: Path) -> str:
    """The matplotlib version recorded in an SVG file's metadata."""
    found = re.search(r"Matplotlib v([\w.]+)", path.read_text(encoding="utf-8"))
    return found.group(1) if found else "unknown"


def check() -> int:
    """Regenerate into a temporary folder and compare with the committed figures."""
    with tempfile.TemporaryDirectory() as tmp:
        stale = []
        for fresh in render(Path(tmp)):
            committed = IMAGES / fresh.relative_to(tmp)
            if not committed.is_file() or committed.read_bytes() != fresh.read_bytes():
                stale.append(committed)
    if not stale:
        return 0
    for path in stale:
        state = "missing" if not path.is_file() else f"made with matplotlib {_made_with(path)}"
        print(f"{path.relative_to(ROOT)} is not current ({state})", file=sys.stderr)
    print(
        f"regenerate with: python docs/make_figures.py (matplotlib {matplotlib.__version__})",
        file=sys.stderr,
    )
    return 1


def main(argv: list[str] | None = None) -> int:
    """Write the figures, or with ``--check`` only compare them.

    Parameters
    ----------
    argv : list of str, optional
        Command-line arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success; 1 when ``--check`` finds a figure missing or out of date.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare, do not write")
    args = parser.parse_args(argv)
    if args.check:
        return check()
    for path in render(IMAGES):
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
