"""Command line: ``tensornet --version`` and ``tensornet demo``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import __version__

__all__ = ["main", "build_parser"]


def _cmd_tour(args: argparse.Namespace) -> int:
    from .demo import format_table, run_tour, synthetic_low_rank
    from .registry import registered_methods

    shape = tuple(args.shape)
    x = synthetic_low_rank(shape, rank=args.rank, noise=args.noise, random_state=args.seed)
    print(
        f"Decomposition tour: rank-{args.rank} CP tensor of shape {shape} "
        f"+ {args.noise:g} relative noise, seed {args.seed}"
    )
    if not registered_methods():
        print("No decomposition is registered yet.")
        return 0
    rows = run_tour(x, random_state=args.seed)
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
        seed=args.seed,
        download=args.download,
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``tensornet`` argument parser.

    Returns
    -------
    argparse.ArgumentParser
    """
    parser = argparse.ArgumentParser(
        prog="tensornet", description="Low-rank tensor decompositions and low-rank deep learning."
    )
    parser.add_argument("--version", action="version", version=f"tensornet {__version__}")
    sub = parser.add_subparsers(dest="command")
    demo = sub.add_parser(
        "demo", help="train LeNet-300-100 on MNIST (or --tour: the decomposition tour)"
    )
    demo.add_argument("--tour", action="store_true", help="run the decomposition tour")
    demo.add_argument("--shape", type=int, nargs="+", default=[16, 16, 16, 16])
    demo.add_argument("--rank", type=int, default=3)
    demo.add_argument("--noise", type=float, default=1e-4)
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument(
        "--data",
        default=None,
        help="folder with the MNIST IDX files (default: $TENSORNET_DATA, the cache, "
        "else the bundled subset)",
    )
    demo.add_argument("--epochs", type=int, default=5, help="training epochs (default 5)")
    demo.add_argument("--batch-size", type=int, default=128)
    demo.add_argument("--lr", type=float, default=0.1)
    demo.add_argument(
        "--download", action="store_true", help="fetch MNIST from the public mirrors if missing"
    )
    demo.set_defaults(handler=_cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``tensornet`` console script.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments (defaults to ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "handler", None) is None:
        parser.print_help()
        return 0
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
