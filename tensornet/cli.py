"""Command line: ``tensornet --version``, ``tensornet demo`` and ``tensornet compress``.

Arguments are checked by their argparse types before anything runs; a bad one prints one line
``tensornet: error: ...`` to ``stderr`` and exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from . import __version__, decompose_command

__all__ = ["main", "build_parser", "MAX_TOUR_ELEMENTS"]

#: Largest tensor the tour builds (32 MiB of float64); every method holds a few copies of it.
MAX_TOUR_ELEMENTS = 1 << 22


class _Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line ``tensornet: error: ...`` and exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"tensornet: error: {message}\n")


def _int_in(minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    """An argparse type: an integer in ``[minimum, maximum]``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < minimum or (maximum is not None and value > maximum):
            bound = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
            raise argparse.ArgumentTypeError(f"{value} is not {bound}")
        return value

    parse.__name__ = "integer"
    return parse


def _float_in(minimum: float, strict: bool) -> Callable[[str], float]:
    """An argparse type: a finite float ``> minimum`` (strict) or ``>= minimum``."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(value) or value < minimum or (strict and value == minimum):
            relation = ">" if strict else ">="
            raise argparse.ArgumentTypeError(f"{text} is not a finite number {relation} {minimum}")
        return value

    parse.__name__ = "number"
    return parse


def _mnist_folder(text: str) -> str:
    """An argparse type: a folder holding the four MNIST IDX files (gzipped or not)."""
    from .datasets.mnist import MNIST_FILES

    folder = Path(text).expanduser()
    if not folder.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is not a folder")
    missing = [
        name
        for name in MNIST_FILES.values()
        if not (folder / name).is_file() and not (folder / f"{name}.gz").is_file()
    ]
    if missing:
        raise argparse.ArgumentTypeError(f"{text!r} lacks the MNIST files {', '.join(missing)}")
    return text


def _check_tour_shape(parser: argparse.ArgumentParser, shape: Sequence[int], rank: int) -> None:
    """Refuse tour shapes with < 2 modes or > :data:`MAX_TOUR_ELEMENTS`, ranks above the modes."""
    if len(shape) < 2:
        parser.error(f"argument --shape: needs at least 2 mode sizes, got {list(shape)}")
    size = math.prod(shape)
    if size > MAX_TOUR_ELEMENTS:
        parser.error(
            f"argument --shape: {list(shape)} has {size} elements, more than the tour's limit "
            f"of {MAX_TOUR_ELEMENTS}"
        )
    if rank > max(shape):
        parser.error(f"argument --rank: {rank} exceeds the largest mode size {max(shape)}")


def _cmd_tour(args: argparse.Namespace) -> int:
    from .demo import format_table, run_tour, synthetic_low_rank

    shape = tuple(args.shape)
    x = synthetic_low_rank(shape, rank=args.rank, noise=args.noise, random_state=args.seed)
    print(
        f"Decomposition tour: rank-{args.rank} CP tensor of shape {shape} "
        f"+ {args.noise:g} relative noise, seed {args.seed}"
    )
    rows = run_tour(x, rank=args.rank, random_state=args.seed)
    print(format_table(rows))
    return 1 if any("error" in r for r in rows) else 0


def _cmd_demo(args: argparse.Namespace) -> int:
    if args.tour:
        return _cmd_tour(args)
    from .nn.demo import run_training_demo

    run_training_demo(
        data=args.data,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        random_state=args.seed,
        download=args.download,
    )
    return 0


def _json_file(text: str) -> Any:
    """An argparse type: a readable JSON file, parsed."""
    path = Path(text).expanduser()
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{text!r} is not a file")
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not valid JSON: {exc}") from None


def _weights_file(text: str) -> str:
    """An argparse type: an existing ``.npz`` or ``.safetensors`` weights file."""
    path = Path(text).expanduser()
    if path.suffix.lower() not in (".npz", ".safetensors"):
        raise argparse.ArgumentTypeError(f"{text!r} must end in .npz or .safetensors")
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{text!r} is not a file")
    return str(path)


def _pipeline_spec(parser: argparse.ArgumentParser, spec: Any) -> tuple[list, dict | None]:
    """``(steps, fine_tune)`` of a pipeline file: a list of steps or ``{"steps", "fine_tune"}``."""
    if isinstance(spec, list):
        return spec, None
    if isinstance(spec, dict) and isinstance(spec.get("steps"), list):
        extra = set(spec) - {"steps", "fine_tune"}
        if extra:
            parser.error(f"argument --pipeline: unknown keys {sorted(extra)}")
        return spec["steps"], spec.get("fine_tune")
    parser.error(
        'argument --pipeline: must hold a list of steps or {"steps": [...], "fine_tune": {...}}'
    )


def _build_model(args: argparse.Namespace) -> Any:
    from . import nn
    from .compress.artifact import build_architecture

    if args.arch is not None:
        try:
            return build_architecture(args.arch)
        except (TypeError, ValueError) as exc:
            args.parser.error(f"argument --arch: {exc}")
    return getattr(nn, args.model)(random_state=0)


def _cmd_compress(args: argparse.Namespace) -> int:
    from .compress.pipeline import pipeline
    from .nn.weights import load_weights

    steps, fine_tune = _pipeline_spec(args.parser, args.pipeline)
    model = _build_model(args)
    try:
        load_weights(model, args.weights)
    except ValueError as exc:
        args.parser.error(f"argument weights: {exc}")
    train = test = None
    tunes = fine_tune is not None or any(
        isinstance(s, dict) and (s.get("step") == "fine_tune" or s.get("fine_tune")) for s in steps
    )
    if tunes or args.evaluate:
        from .datasets import load_mnist

        train, test = load_mnist(args.data, download=False)
    try:
        artifact = pipeline(
            model,
            steps,
            fine_tune=fine_tune,
            data=train if tunes else None,
            eval_data=test if args.evaluate else None,
            random_state=args.seed,
            verbose=True,
        )
    except (TypeError, ValueError) as exc:
        args.parser.error(f"argument --pipeline: {exc}")
    path = artifact.save(args.output)
    print(artifact.report())
    print(f"wrote {path} ({path.stat().st_size:,} bytes on disk)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``tensornet`` argument parser.

    Returns
    -------
    argparse.ArgumentParser
        Its errors print one line ``tensornet: error: ...`` and exit with status 2.
    """
    parser = _Parser(
        prog="tensornet", description="Low-rank tensor decompositions and low-rank deep learning."
    )
    parser.add_argument("--version", action="version", version=f"tensornet {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    demo = sub.add_parser(
        "demo", help="train LeNet-300-100 on MNIST (or --tour: the decomposition tour)"
    )
    demo.add_argument("--tour", action="store_true", help="run the decomposition tour")
    demo.add_argument(
        "--shape",
        type=_int_in(1),
        nargs="+",
        default=[16, 16, 16, 16],
        help=f"tour tensor shape (>= 2 modes, at most {MAX_TOUR_ELEMENTS} elements)",
    )
    demo.add_argument(
        "--rank", type=_int_in(1, 1000), default=3, help="CP rank of the tour's tensor"
    )
    demo.add_argument(
        "--noise", type=_float_in(0.0, strict=False), default=1e-4, help="relative noise"
    )
    demo.add_argument(
        "--seed", type=_int_in(0), default=0, help="random_state of everything random"
    )
    demo.add_argument(
        "--data",
        type=_mnist_folder,
        default=None,
        help="folder with the MNIST IDX files (default: $TENSORNET_DATA, the cache, "
        "else the bundled subset)",
    )
    demo.add_argument("--epochs", type=_int_in(1), default=5, help="training epochs (default 5)")
    demo.add_argument("--batch-size", type=_int_in(1), default=128)
    demo.add_argument("--lr", type=_float_in(0.0, strict=True), default=0.1)
    demo.add_argument(
        "--download", action="store_true", help="fetch MNIST from the public mirrors if missing"
    )
    demo.set_defaults(handler=_cmd_demo, parser=demo)
    _add_compress(sub)
    decompose_command.add_parser(sub)
    return parser


def _add_compress(sub: Any) -> None:
    compress = sub.add_parser(
        "compress",
        help="compress a saved model by a pipeline (JSON) into one artifact and print its report",
    )
    compress.add_argument(
        "weights", type=_weights_file, help="weights saved by tensornet.nn.save_weights"
    )
    compress.add_argument(
        "--pipeline",
        type=_json_file,
        required=True,
        help='JSON file: a list of steps, or {"steps": [...], "fine_tune": {...}}',
    )
    compress.add_argument(
        "--model",
        choices=["lenet300_100", "lenet5"],
        default="lenet300_100",
        help="architecture of the weights (a tensornet.nn zoo model)",
    )
    compress.add_argument(
        "--arch",
        type=_json_file,
        default=None,
        help="architecture as JSON (tensornet.compress.artifact.architecture), over --model",
    )
    compress.add_argument("-o", "--output", default="compressed.npz", help="artifact path")
    compress.add_argument(
        "--data",
        type=_mnist_folder,
        default=None,
        help="MNIST folder for fine-tuning and --evaluate (default: $TENSORNET_DATA, the "
        "cache, else the bundled subset)",
    )
    compress.add_argument(
        "--evaluate", action="store_true", help="test error of every stage (MNIST test set)"
    )
    compress.add_argument("--seed", type=_int_in(0), default=0, help="random_state")
    compress.set_defaults(handler=_cmd_compress, parser=compress)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``tensornet`` console script.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments (defaults to ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status (a bad argument exits with status 2 through ``SystemExit``).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "handler", None) is None:
        parser.print_help()
        return 0
    if getattr(args, "tour", False):
        _check_tour_shape(args.parser, args.shape, args.rank)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
