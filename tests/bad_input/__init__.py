"""Extra rows for the bad-input table of ``tests/test_bad_input.py``, one module per package.

Each module here defines ``ROWS``: a list of :class:`Row` for the public names of one package
(``tensornet.measures``, ``tensornet.subspace``, the ``tensornet.compress`` techniques, ...), and
``MODULES``: the modules whose ``__all__`` its rows must cover. The table and its coverage check
collect them all, so a package's rows live beside nothing else's.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    """One bad call: the public name it exercises, the kind of bad input, the call itself, the
    exception type and a fragment of its message (a regular expression)."""

    name: str
    kind: str
    call: Callable[[], object]
    exc: type[BaseException] | tuple[type[BaseException], ...]
    match: str


def extra_modules() -> list:
    """The row modules of this package, imported."""
    return [
        importlib.import_module(f"{__name__}.{info.name}")
        for info in pkgutil.iter_modules(__path__)
        if not info.name.startswith("_")
    ]
