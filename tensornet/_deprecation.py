"""Deprecated spellings that keep working for one release, with a ``DeprecationWarning``.

tensornet uses one name per idea (``method`` for the algorithm variant, ``random_state`` for
randomness, ``ranks`` before ``eps``, options after the data and the ranks keyword-only). The
spellings these replaced are accepted until :data:`REMOVED_IN` through three small tools:

* :func:`deprecated_arguments` wraps a function whose keyword was renamed or whose options
  became keyword-only: the old keyword, or an option passed by position in the old order, is
  mapped to the new keyword with a warning;
* :func:`deprecated_alias` makes a method or function under its old name that warns and calls
  the new one;
* :func:`warn_deprecated` issues the warning itself.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from ._validation import warn_at_caller

__all__ = ["REMOVED_IN", "warn_deprecated", "deprecated_arguments", "deprecated_alias"]

#: The release in which the deprecated spellings disappear.
REMOVED_IN = "0.2"

F = TypeVar("F", bound=Callable[..., Any])


def warn_deprecated(old: str, new: str) -> None:
    """Warn that ``old`` is deprecated in favour of ``new``, pointing at the user's line.

    Parameters
    ----------
    old : str
        The deprecated spelling, e.g. ``"tt_svd(svd=...)"``.
    new : str
        What to write instead, e.g. ``"tt_svd(method=...)"``.
    """
    warn_at_caller(
        f"{old} is deprecated and will be removed in tensornet {REMOVED_IN}; use {new}",
        DeprecationWarning,
    )


def _n_positional(func: Callable[..., Any]) -> int:
    """Number of parameters ``func`` accepts by position (``self`` included)."""
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return sum(p.kind in kinds for p in inspect.signature(func).parameters.values())


def deprecated_arguments(
    renamed: Mapping[str, str] | None = None, positional: Sequence[str] = ()
) -> Callable[[F], F]:
    """Accept renamed keywords and formerly positional options of the decorated function.

    Parameters
    ----------
    renamed : mapping of str to str, optional
        ``{old_keyword: new_keyword}``. Passing the old keyword warns and passes the value on
        under the new one; passing both is a ``TypeError``.
    positional : sequence of str
        The old names, in the old order, of the parameters that used to follow the last
        parameter that is still positional. Extra positional arguments are mapped to them with a
        warning (an old name found in ``renamed`` is renamed too).

    Returns
    -------
    callable
        The decorator. The wrapped function keeps the name, docstring and signature of the
        original (``inspect.signature`` follows ``__wrapped__``).

    Examples
    --------
    >>> import warnings
    >>> @deprecated_arguments(renamed={"svd": "method"}, positional=("eps", "svd"))
    ... def f(x, ranks=None, *, eps=None, method="exact"):
    ...     return (x, ranks, eps, method)
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     f(1, 2, 0.1, "randomized")
    (1, 2, 0.1, 'randomized')
    >>> [str(w.message).split(" is ")[0] for w in caught]
    ['f(x, ranks, eps, svd) with eps, svd by position']
    """
    renamed = dict(renamed or {})
    positional = tuple(positional)

    def decorate(func: F) -> F:
        n_pos = _n_positional(func)
        name = func.__qualname__
        params = list(inspect.signature(func).parameters)[:n_pos]
        shown = [p for p in params if p != "self"]

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if len(args) > n_pos:
                extra = args[n_pos:]
                if len(extra) > len(positional):
                    raise TypeError(
                        f"{name}() takes at most {n_pos + len(positional)} positional arguments "
                        f"({len(args)} given)"
                    )
                old = positional[: len(extra)]
                new = [renamed.get(o, o) for o in old]
                warn_deprecated(
                    f"{name}({', '.join(shown + list(old))}) with {', '.join(old)} by position",
                    f"keyword arguments: {name}(..., {', '.join(f'{k}=...' for k in new)})",
                )
                for key, value in zip(new, extra, strict=True):
                    if key in kwargs:
                        raise TypeError(f"{name}() got multiple values for argument {key!r}")
                    kwargs[key] = value
                args = args[:n_pos]
            for old_key, new_key in renamed.items():
                if old_key not in kwargs:
                    continue
                if new_key in kwargs:
                    raise TypeError(
                        f"{name}() got both {old_key}= (deprecated) and {new_key}=; pass only "
                        f"{new_key}="
                    )
                warn_deprecated(f"{name}({old_key}=...)", f"{name}({new_key}=...)")
                kwargs[new_key] = kwargs.pop(old_key)
            return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def deprecated_alias(func: F, old_name: str) -> F:
    """A function (or method) called ``old_name`` that warns and calls ``func``.

    Parameters
    ----------
    func : callable
        The function under its new name.
    old_name : str
        The deprecated name.

    Returns
    -------
    callable
        Use it as a class attribute (``elements = deprecated_alias(gather, "elements")``) or a
        module attribute.
    """

    @functools.wraps(func)
    def alias(*args: Any, **kwargs: Any) -> Any:
        warn_deprecated(f"{old_name}()", f"{func.__name__}()")
        return func(*args, **kwargs)

    alias.__name__ = old_name
    owner, _, _ = func.__qualname__.rpartition(".")
    alias.__qualname__ = f"{owner}.{old_name}" if owner else old_name
    alias.__doc__ = f"Deprecated alias of :func:`{func.__name__}` (removed in {REMOVED_IN})."
    return alias  # type: ignore[return-value]
