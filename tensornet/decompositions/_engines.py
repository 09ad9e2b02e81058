"""Hand a decomposition to an optional engine when its input belongs to one.

A ``dask.array.Array`` (and whatever Dask wraps: Zarr, HDF5, a memory map) given to
:func:`~tensornet.tt_svd`, :func:`~tensornet.hosvd`, :func:`~tensornet.randomized_svd`,
:func:`~tensornet.cp_als` or :func:`~tensornet.tr_svd` is decomposed by streaming passes in
:mod:`tensornet.decompositions.out_of_core`. The test here looks at the type's module only, so
the core package never imports Dask; the engine is imported on the first Dask input.
"""

from __future__ import annotations

import functools
import importlib
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def is_dask_array(x: Any) -> bool:
    """Whether ``x`` is a ``dask.array.Array`` (decided without importing Dask)."""
    return type(x).__module__.split(".")[0] == "dask" and hasattr(x, "chunks")


def streams_dask(func: F) -> F:
    """Decorator: run the out-of-core version of ``func`` when its data argument is a Dask array.

    The out-of-core module defines a function of the same name and signature.
    """

    first = next(iter(inspect.signature(func).parameters))

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        data = args[0] if args else kwargs.get(first)
        if is_dask_array(data):
            engine = importlib.import_module(".out_of_core", __package__)
            return getattr(engine, func.__name__)(*args, **kwargs)
        return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
