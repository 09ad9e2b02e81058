"""A small registry of decomposition methods, read by ``tensornet demo``.

Each decomposition module registers its public functions at import time::

    register_method("tt_svd", tt_svd, format="TTTensor", demo_kwargs={"ranks": 3})

The demo tour then runs every registered method on the same synthetic tensor. Registering does
not change the function; it only records how to call it in the tour.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Method", "register_method", "registered_methods", "get_method"]


@dataclass(frozen=True)
class Method:
    """A registered decomposition.

    Attributes
    ----------
    name : str
        Public name, e.g. ``"tt_svd"``.
    func : callable
        ``func(x, **demo_kwargs)`` returns a :class:`~tensornet.formats.StructuredTensor`.
    format : str
        Name of the format class it returns.
    demo_kwargs : mapping
        Keyword arguments used by the demo tour.
    description : str
        One line for the tour's table.
    """

    name: str
    func: Callable[..., Any]
    format: str
    demo_kwargs: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""

    def run(self, x: np.ndarray, random_state: Any = None) -> Any:
        """Call the method on ``x`` with the demo arguments (and ``random_state`` if it takes one).

        Parameters
        ----------
        x : numpy.ndarray
            The input tensor.
        random_state : None, int or numpy.random.Generator
            Passed on when the function accepts it.

        Returns
        -------
        StructuredTensor
        """
        kwargs = dict(self.demo_kwargs)
        if "random_state" in inspect.signature(self.func).parameters:
            kwargs.setdefault("random_state", random_state)
        return self.func(x, **kwargs)


_METHODS: dict[str, Method] = {}


def register_method(
    name: str,
    func: Callable[..., Any],
    format: str,
    demo_kwargs: Mapping[str, Any] | None = None,
    description: str = "",
) -> Method:
    """Register ``func`` under ``name`` for the demo tour.

    Parameters
    ----------
    name : str
        Unique public name.
    func : callable
        The decomposition function.
    format : str
        Name of the returned format class.
    demo_kwargs : mapping, optional
        Keyword arguments for the tour.
    description : str
        One-line description.

    Returns
    -------
    Method
    """
    if name in _METHODS and _METHODS[name].func is not func:
        raise ValueError(f"a method named {name!r} is already registered")
    method = Method(name, func, format, dict(demo_kwargs or {}), description)
    _METHODS[name] = method
    return method


def registered_methods() -> list[Method]:
    """All registered methods, in registration order.

    Returns
    -------
    list of Method
    """
    return list(_METHODS.values())


def get_method(name: str) -> Method:
    """The registered method called ``name``.

    Parameters
    ----------
    name : str
        Its name.

    Returns
    -------
    Method
    """
    try:
        return _METHODS[name]
    except KeyError:
        known = ", ".join(_METHODS) or "none"
        raise ValueError(f"no method named {name!r} is registered; known: {known}") from None
