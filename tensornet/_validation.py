"""Argument checks shared by the whole package.

Every public function validates its inputs through these helpers so that a bad argument always
produces the same kind of message: the argument's name, the value it had, and the constraint it
broke, e.g. ``ranks[2]=9 exceeds the largest possible TT rank 8 for shape (2, 4, 4, 2)``.

Conventions
-----------
* Arrays must be real, numeric and finite: NaN or Inf is refused, never propagated.
* Integer arrays are converted to ``float64`` (the decomposition default); floating arrays keep
  their precision unless a ``dtype`` is requested.
* Ranks are an ``int`` or a sequence of ``int`` (``bool`` and non-integral floats are refused).
* ``random_state`` is ``None``, an ``int`` or a :class:`numpy.random.Generator`, as in
  scikit-learn.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "check_array",
    "check_axis",
    "check_eps",
    "check_int",
    "check_option",
    "check_rank",
    "check_ranks",
    "check_random_state",
    "check_real_dtype",
    "check_shape",
]


def _describe(value: Any) -> str:
    """Short printable description of ``value`` for error messages."""
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape} and dtype {value.dtype}"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_array(
    x: Any,
    name: str = "x",
    *,
    ndim: int | None = None,
    min_ndim: int | None = None,
    dtype: Any = None,
    allow_empty: bool = False,
) -> np.ndarray:
    """Return ``x`` as a finite real floating-point array, or raise a clear error.

    Parameters
    ----------
    x : array_like
        The input.
    name : str
        The argument's name, used in messages.
    ndim : int, optional
        Required number of dimensions.
    min_ndim : int, optional
        Smallest allowed number of dimensions.
    dtype : numpy dtype, optional
        Floating dtype to convert to. By default integer and boolean input becomes ``float64``
        and floating input keeps its precision.
    allow_empty : bool
        Whether arrays with a zero-length axis are accepted.

    Returns
    -------
    numpy.ndarray
        A floating-point view or copy of ``x``.

    Raises
    ------
    TypeError
        If ``x`` is not numeric or is complex.
    ValueError
        If the dimensions are wrong, the array is empty, or it holds NaN or Inf.
    """
    arr = check_real_dtype(x, name)
    if dtype is not None:
        arr = arr.astype(dtype, copy=False)
    elif not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float64)
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must have ndim={ndim}, got ndim={arr.ndim} (shape {arr.shape})")
    if min_ndim is not None and arr.ndim < min_ndim:
        raise ValueError(
            f"{name} must have ndim >= {min_ndim}, got ndim={arr.ndim} (shape {arr.shape})"
        )
    if not allow_empty and arr.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        n_bad = int(arr.size - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(f"{name} must be finite, but it holds {n_bad} NaN or Inf value(s)")
    return arr


def check_real_dtype(x: Any, name: str = "x") -> np.ndarray:
    """Return ``x`` as an array after the type checks of :func:`check_array` only.

    For callers that check finiteness more cheaply themselves (for example from the diagonal
    of a Gram matrix they compute anyway) and must not pay a separate pass over ``x``.

    Parameters
    ----------
    x : array_like
        The input.
    name : str
        The argument's name, used in messages.

    Returns
    -------
    numpy.ndarray
        ``numpy.asarray(x)``, dtype unchanged (integer, boolean or real floating).

    Raises
    ------
    TypeError
        If ``x`` is not numeric or is complex.
    """
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"{name} must be a real numeric array, got {_describe(x)}")
    arr = np.asarray(x)
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_)
    ):
        raise TypeError(f"{name} must be a real numeric array, got dtype {arr.dtype}")
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise TypeError(f"{name} must be real, got complex dtype {arr.dtype}")
    return arr


def check_int(
    value: Any,
    name: str,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int:
    """Return ``value`` as a Python ``int`` within ``[minimum, maximum]``.

    Parameters
    ----------
    value : int
        The value; ``bool`` and non-integral numbers are refused.
    name : str
        The argument's name, used in messages.
    minimum, maximum : int, optional
        Inclusive bounds.

    Returns
    -------
    int

    Raises
    ------
    TypeError
        If ``value`` is not an integer.
    ValueError
        If ``value`` is out of bounds.
    """
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if isinstance(value, numbers.Integral):
        out = int(value)
    elif isinstance(value, numbers.Real) and float(value).is_integer():
        out = int(value)
    else:
        raise TypeError(f"{name} must be an integer, got {_describe(value)}")
    if minimum is not None and out < minimum:
        raise ValueError(f"{name}={out} must be >= {minimum}")
    if maximum is not None and out > maximum:
        raise ValueError(f"{name}={out} must be <= {maximum}")
    return out


def check_rank(value: Any, name: str = "rank", *, maximum: int | None = None) -> int:
    """Return a single positive rank as ``int``.

    Parameters
    ----------
    value : int
        The rank, ``>= 1``.
    name : str
        The argument's name, used in messages.
    maximum : int, optional
        Largest allowed rank; exceeding it is an error.

    Returns
    -------
    int
    """
    return check_int(value, name, minimum=1, maximum=maximum)


def check_ranks(
    ranks: Any,
    length: int,
    name: str = "ranks",
    *,
    allow_int: bool = True,
) -> tuple[int, ...]:
    """Return ``ranks`` as a tuple of ``length`` positive integers.

    Parameters
    ----------
    ranks : int or sequence of int
        One rank for every position (an ``int`` is broadcast when ``allow_int``).
    length : int
        The required number of ranks.
    name : str
        The argument's name, used in messages.
    allow_int : bool
        Whether a single ``int`` is accepted and repeated.

    Returns
    -------
    tuple of int

    Raises
    ------
    TypeError
        If a rank is not an integer, or ``ranks`` is neither an int nor a sequence.
    ValueError
        If the length is wrong or a rank is < 1.
    """
    if isinstance(ranks, numbers.Number) and not isinstance(ranks, (bool, np.bool_)):
        if not allow_int:
            raise TypeError(f"{name} must be a sequence of {length} integers, got {ranks!r}")
        return (check_rank(ranks, name),) * length
    if isinstance(ranks, np.ndarray):
        ranks = ranks.tolist()
    if not isinstance(ranks, Sequence) or isinstance(ranks, (str, bytes)):
        raise TypeError(f"{name} must be an int or a sequence of ints, got {_describe(ranks)}")
    if len(ranks) != length:
        raise ValueError(f"{name} must have length {length}, got length {len(ranks)}: {ranks!r}")
    return tuple(check_rank(r, f"{name}[{i}]") for i, r in enumerate(ranks))


def check_shape(shape: Any, name: str = "shape") -> tuple[int, ...]:
    """Return ``shape`` as a tuple of positive integers.

    Parameters
    ----------
    shape : sequence of int
        The dimensions, each ``>= 1``.
    name : str
        The argument's name, used in messages.

    Returns
    -------
    tuple of int
    """
    if isinstance(shape, numbers.Integral) and not isinstance(shape, bool):
        shape = (shape,)
    if not isinstance(shape, (Sequence, np.ndarray)) or isinstance(shape, (str, bytes)):
        raise TypeError(f"{name} must be a sequence of ints, got {_describe(shape)}")
    return tuple(check_int(n, f"{name}[{i}]", minimum=1) for i, n in enumerate(shape))


def check_axis(mode: Any, ndim: int, name: str = "mode") -> int:
    """Return ``mode`` as an axis index in ``[0, ndim)``; negative values count from the end.

    Parameters
    ----------
    mode : int
        The axis.
    ndim : int
        Number of dimensions of the tensor it indexes.
    name : str
        The argument's name, used in messages.

    Returns
    -------
    int
    """
    m = check_int(mode, name)
    if not -ndim <= m < ndim:
        raise ValueError(f"{name}={m} is out of range for a tensor with ndim={ndim}")
    return m % ndim


def check_eps(eps: Any, name: str = "eps", *, allow_none: bool = True) -> float | None:
    """Return a relative error tolerance as ``float`` in ``[0, 1)`` (or ``None``).

    Parameters
    ----------
    eps : float or None
        Relative Frobenius error bound.
    name : str
        The argument's name, used in messages.
    allow_none : bool
        Whether ``None`` (no tolerance) is accepted.

    Returns
    -------
    float or None
    """
    if eps is None:
        if allow_none:
            return None
        raise TypeError(f"{name} must be a float, got None")
    if isinstance(eps, (bool, np.bool_)) or not isinstance(eps, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {_describe(eps)}")
    e = float(eps)
    if not np.isfinite(e) or not 0.0 <= e < 1.0:
        raise ValueError(f"{name}={e} must lie in [0, 1)")
    return e


def check_option(value: Any, name: str, options: Sequence[str]) -> str:
    """Return ``value`` if it is one of ``options``, else raise a ValueError listing them.

    Parameters
    ----------
    value : str
        The chosen option.
    name : str
        The argument's name, used in messages.
    options : sequence of str
        The allowed values.

    Returns
    -------
    str
    """
    if not isinstance(value, str) or value not in options:
        allowed = ", ".join(repr(o) for o in options)
        raise ValueError(f"{name}={value!r} is not one of {allowed}")
    return value


def check_random_state(random_state: Any) -> np.random.Generator:
    """Turn ``random_state`` into a :class:`numpy.random.Generator`.

    Parameters
    ----------
    random_state : None, int or numpy.random.Generator
        ``None`` gives a fresh unseeded generator, an ``int`` seeds a new one, and a
        ``Generator`` is returned as is (so successive calls advance it).

    Returns
    -------
    numpy.random.Generator

    Raises
    ------
    TypeError
        For any other type (including the legacy ``RandomState``).
    """
    if random_state is None:
        return np.random.default_rng()
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        seed = int(random_state)
        if seed < 0:
            raise ValueError(f"random_state={seed} must be a non-negative integer")
        return np.random.default_rng(seed)
    raise TypeError(
        "random_state must be None, an int or a numpy.random.Generator, "
        f"got {_describe(random_state)}"
    )


def check_tol(tol: Any, name: str = "tol") -> float:
    """Return a stopping tolerance as a finite ``float >= 0``.

    Parameters
    ----------
    tol : float
        Tolerance on the change of the relative error between two sweeps of an iterative
        method (``0`` runs every sweep). Any real number type is accepted (``int``,
        ``float``, NumPy scalars); ``bool`` and strings are not.
    name : str
        The argument's name, used in messages.

    Returns
    -------
    float

    Raises
    ------
    TypeError
        If ``tol`` is not a real number.
    ValueError
        If ``tol`` is negative, NaN or infinite.
    """
    if isinstance(tol, (bool, np.bool_)) or not isinstance(tol, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {_describe(tol)}")
    value = float(tol)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name}={value} must be a finite number >= 0")
    return value
