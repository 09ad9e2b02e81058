"""Argument checks shared by the whole package.

Every public function validates its inputs through these helpers so that a bad argument always
produces the same kind of message: the argument's name, the value it had, and the constraint it
broke, e.g. ``ranks[2]=9 exceeds the largest possible TT rank 8 for shape (2, 4, 4, 2)``.

Conventions
-----------
* Arrays must be real, numeric and finite: NaN or Inf is refused, never propagated.
* Integer arrays are converted to ``float64`` (the decomposition default); floating arrays keep
  their precision unless a ``dtype`` is requested, except half precision, which LAPACK lacks:
  ``float16`` becomes ``float32``.
* Ranks are an ``int`` or a sequence of ``int`` (``bool`` and non-integral floats are refused).
* ``random_state`` is ``None``, an ``int`` or a :class:`numpy.random.Generator`, as in
  scikit-learn.
"""

from __future__ import annotations

import functools
import inspect
import math
import numbers
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np
from autograd.tracer import Box

__all__ = [
    "array_exponent",
    "check_array",
    "check_axis",
    "check_eps",
    "check_index_batch",
    "check_int",
    "check_numeric_array",
    "check_option",
    "check_real",
    "check_rank",
    "check_rank_spec",
    "check_ranks",
    "check_random_state",
    "check_real_dtype",
    "check_shape",
    "exact_size",
    "lower_caps",
    "power_of_two_scale",
    "rescale_result",
    "scale_equivariant",
    "scaled_norm",
]

F = TypeVar("F", bound=Callable[..., Any])


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
        Floating dtype to convert to. By default integer and boolean input becomes ``float64``,
        ``float16`` becomes ``float32`` and other floating input keeps its precision.
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
    elif arr.dtype == np.float16:
        arr = arr.astype(np.float32)
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


#: dtype kinds accepted by :func:`check_real_dtype` without further tests: booleans, signed and
#: unsigned integers, real floating point (a subset of what its full test accepts)
_REAL_KINDS = frozenset("biuf")


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
    if type(x) is np.ndarray and x.dtype.kind in _REAL_KINDS:  # the hot path of the layers
        return x
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
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype != object:
        value = value[()]
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
    if isinstance(ranks, np.ndarray) and ranks.ndim == 0:
        ranks = ranks[()]
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


def check_rank_spec(ranks: Any, name: str = "ranks") -> Any:
    """Normalize a rank argument that may be one number: return an ``int``, or ``ranks`` as is.

    ``None`` and sequences pass through (their entries are checked later against the shape);
    a single rank given as a NumPy integer, a 0-d array or an integral float becomes an ``int``;
    a non-integral float or ``bool`` is refused with a message naming ``name``.

    Parameters
    ----------
    ranks : None, int, sequence of int
        The argument.
    name : str
        The argument's name, used in messages.

    Returns
    -------
    None, int or the sequence given
    """
    if isinstance(ranks, np.ndarray) and ranks.ndim == 0:
        ranks = ranks[()]
    if isinstance(ranks, (numbers.Number, np.bool_)):
        return check_rank(ranks, name)
    if isinstance(ranks, (str, bytes)):
        raise TypeError(f"{name} must be an int or a sequence of ints, got {_describe(ranks)}")
    return ranks


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


def check_real(
    value: Any,
    name: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    strict_minimum: bool = False,
    allow_inf: bool = False,
) -> float:
    """Return a real scalar argument (a tolerance, a variance, a timeout, a rate) as ``float``.

    Python and NumPy real scalars are accepted (``np.float32(1e-6)`` included); ``bool``,
    strings, arrays and NaN are refused with a message naming the argument.

    Parameters
    ----------
    value : float
        The value.
    name : str
        The argument's name, used in messages.
    minimum, maximum : float, optional
        Bounds (inclusive unless ``strict_minimum``).
    strict_minimum : bool
        Whether ``value`` must be strictly greater than ``minimum``.
    allow_inf : bool
        Whether ``+-inf`` is accepted.

    Returns
    -------
    float

    Raises
    ------
    TypeError
        If ``value`` is not a real number.
    ValueError
        If it is NaN, infinite (unless allowed) or out of bounds.
    """
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype != object:
        value = value[()]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {_describe(value)}")
    out = float(value)
    if math.isnan(out) or (math.isinf(out) and not allow_inf):
        raise ValueError(f"{name}={out} must be a finite number")
    if minimum is not None:
        if strict_minimum and not out > minimum:
            raise ValueError(f"{name}={out} must be > {minimum}")
        if not strict_minimum and out < minimum:
            raise ValueError(f"{name}={out} must be >= {minimum}")
    if maximum is not None and out > maximum:
        raise ValueError(f"{name}={out} must be <= {maximum}")
    return out


def check_numeric_array(x: Any, name: str = "x") -> np.ndarray:
    """Return ``x`` as a real numeric array (any precision, NaN allowed), else a ``TypeError``.

    For the algebra helpers and layers, which compute on whatever real array they get but must
    refuse object, string and complex arrays before NumPy's ufuncs do so with an unnamed error.

    Parameters
    ----------
    x : array_like
        The input.
    name : str
        The argument's name, used in messages.

    Returns
    -------
    numpy.ndarray
        ``numpy.asarray(x)`` (an autograd tracer box passes through unchanged: it is traced
        data, checked when it entered the traced function).
    """
    if isinstance(x, Box):
        return x
    return check_real_dtype(x, name)


def exact_size(shape: Sequence[Any]) -> int:
    """Number of elements of a tensor of ``shape``, as an exact Python ``int`` (never wraps).

    Parameters
    ----------
    shape : sequence of int
        The dimensions.

    Returns
    -------
    int
    """
    return math.prod(int(n) for n in shape)


def lower_caps(caps: Sequence[int] | None, bounds: Sequence[int]) -> tuple[int, ...] | None:
    """Lower every rank cap to the largest rank the shape allows (``None`` passes through).

    A cap above its bound changes nothing in the result, so lowering it first keeps the work
    of a decomposition independent of how large a cap the caller passed.

    Parameters
    ----------
    caps : sequence of int or None
        The validated caps.
    bounds : sequence of int
        The largest meaningful value of each cap.

    Returns
    -------
    tuple of int or None
    """
    if caps is None:
        return None
    return tuple(min(int(c), int(b)) for c, b in zip(caps, bounds, strict=True))


def check_index_batch(index: Any, shape: Sequence[int], name: str = "index") -> np.ndarray:
    """Validate a batch of multi-indices (negative entries count from the end).

    The range check runs on the indices' own integer type, before any cast, so an unsigned
    ``2**64 - 1`` is refused rather than wrapped to ``-1``.

    Parameters
    ----------
    index : array_like of int, shape (B, d)
        The multi-indices.
    shape : sequence of int
        The tensor shape.
    name : str
        The argument's name, used in messages.

    Returns
    -------
    numpy.ndarray of int64, shape (B, d)
        Non-negative indices.

    Raises
    ------
    TypeError
        If ``index`` does not hold integers.
    ValueError
        If its shape is not ``(B, d)``.
    IndexError
        If an entry is out of range.
    """
    idx = np.asarray(index)
    if idx.dtype == object or not np.issubdtype(idx.dtype, np.integer):
        raise TypeError(f"{name} must hold integers, got dtype {idx.dtype}")
    d = len(shape)
    if idx.ndim != 2 or idx.shape[1] != d:
        raise ValueError(f"{name} must have shape (B, {d}), got {idx.shape}")
    if np.issubdtype(idx.dtype, np.unsignedinteger):
        bad_mask = idx >= np.asarray(shape, dtype=np.uint64).astype(idx.dtype)
        bad_mask |= idx > np.iinfo(np.int64).max
    else:
        wide = idx.astype(np.int64)
        dims = np.asarray(shape, dtype=np.int64)
        bad_mask = (wide < -dims) | (wide >= dims)
    if np.any(bad_mask):
        b, k = np.argwhere(bad_mask)[0]
        raise IndexError(
            f"{name}[{b}, {k}]={int(idx[b, k])} is out of range for mode {k} of size {shape[k]}"
        )
    idx = idx.astype(np.int64)
    dims = np.asarray(shape, dtype=np.int64)
    return np.where(idx < 0, idx + dims, idx)


# ------------------------------------------------------------------------- scale equivariance
#: Inputs whose largest magnitude is ``2**e`` with ``|e|`` above this are rescaled to ``e = 0``
#: before a decomposition: squares and sums of squares then neither overflow nor underflow.
SCALE_EXPONENT_WINDOW = 32

#: ``info`` entries of a decomposition that carry the data's units (scaled back with it).
_ABSOLUTE_INFO = ("error", "norm", "step_errors", "singular_values", "node_errors", "delta")


def array_exponent(a: Any) -> int:
    """The binary exponent ``k`` of ``max |a|`` (``2**(k-1) <= max |a| < 2**k``); 0 if all zero.

    Parameters
    ----------
    a : array_like
        Real array.

    Returns
    -------
    int
    """
    arr = np.asarray(a)
    if arr.size == 0:
        return 0
    top = max(abs(float(arr.max())), abs(float(arr.min())))
    if top == 0.0 or not math.isfinite(top):
        return 0
    return math.frexp(top)[1]


def _within_window(arr: np.ndarray) -> bool:
    """Whether ``||arr||_F`` lies in ``2**±SCALE_EXPONENT_WINDOW`` (one BLAS dot product).

    Then every element is at most ``2**SCALE_EXPONENT_WINDOW`` in magnitude and sums of squares
    neither overflow nor underflow, so no scaling is needed; anything else (including a
    non-finite sum) is decided by the exact ``max |arr|``.
    """
    if arr.dtype.kind != "f" or not (arr.flags.c_contiguous or arr.flags.f_contiguous):
        return False
    flat = arr.ravel(order="K")
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        ssq = float(np.dot(flat, flat))
    return math.isfinite(ssq) and 2.0 ** (-2 * SCALE_EXPONENT_WINDOW) <= ssq <= 2.0 ** (
        2 * SCALE_EXPONENT_WINDOW
    )


def power_of_two_scale(x: Any) -> tuple[Any, float]:
    """Return ``(x * 2**-k, 2**k)`` with ``k`` the exponent of ``max |x|``, or ``(x, 1.0)``.

    Multiplying by a power of two is exact, so ``x == scaled * scale`` bit for bit. Input whose
    magnitude already lies within ``2**±SCALE_EXPONENT_WINDOW``, input that is empty, all zero,
    non-finite, or not a real numeric array is returned unchanged with scale ``1.0`` (the
    function it enters then validates it as usual).

    Parameters
    ----------
    x : array_like
        The data.

    Returns
    -------
    scaled : array_like
        ``x`` scaled (a new float array) or ``x`` itself.
    scale : float
        The power of two to multiply results by.
    """
    if isinstance(x, (str, bytes)) or x is None:
        return x, 1.0
    try:
        arr = np.asarray(x)
    except Exception:  # noqa: BLE001 - anything unconvertible is the callee's to reject
        return x, 1.0
    if arr.size == 0 or not (
        np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)
    ):
        return x, 1.0
    if _within_window(arr):
        return x, 1.0
    top = max(abs(float(arr.max())), abs(float(arr.min())))
    if top == 0.0 or not math.isfinite(top):
        return x, 1.0
    k = math.frexp(top)[1]
    if abs(k) <= SCALE_EXPONENT_WINDOW:
        return x, 1.0
    if not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float64)
    return np.ldexp(arr, -k).astype(arr.dtype, copy=False), math.ldexp(1.0, k)


def rescale_result(result: Any, scale: float) -> Any:
    """Multiply a decomposition's result by ``scale`` in place and return it.

    A structured tensor is scaled through its ``_scale_by`` (one factor, core or weight vector);
    the absolute entries of its ``info`` (errors, norms, singular values) are scaled with it, the
    relative ones are left alone. A ``(U, s, Vt)`` triple gets ``s * scale``.

    Parameters
    ----------
    result : StructuredTensor or tuple
        What the decomposition returned for the scaled data.
    scale : float
        The factor :func:`power_of_two_scale` removed.

    Returns
    -------
    The same object, scaled.
    """
    if scale == 1.0:
        return result
    if isinstance(result, tuple) and len(result) == 3:
        u, s, vt = result
        return u, s * scale, vt
    result._scale_by(scale)
    info = getattr(result, "info", None)
    if isinstance(info, dict):
        for key in _ABSOLUTE_INFO:
            if key in info and info[key] is not None:
                info[key] = _scale_value(info[key], scale)
    return result


def _scale_value(value: Any, scale: float) -> Any:
    if isinstance(value, dict):
        return {k: _scale_value(v, scale) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_scale_value(v, scale) for v in value)
    if isinstance(value, np.ndarray):
        return value * scale
    return float(value) * scale


def scale_equivariant(func: F) -> F:
    """Decorator: run ``func`` on its first argument scaled by a power of two, scale back.

    The decompositions and SVDs compute Gram matrices, norms and sums of squares of their
    input; at magnitudes near ``1e±150`` these overflow or underflow. Running on
    ``x * 2**-k`` (exact) and multiplying one factor of the result by ``2**k`` makes each of them
    scale equivariant: ``f(c x) = c f(x)`` for every ``c`` within the floating range.

    Parameters
    ----------
    func : callable
        A function whose first parameter is the data and whose result is a structured tensor
        or a ``(U, s, Vt)`` triple.

    Returns
    -------
    callable
    """
    first = next(iter(inspect.signature(func).parameters))

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if args:
            scaled, scale = power_of_two_scale(args[0])
            args = (scaled, *args[1:])
        elif first in kwargs:
            kwargs[first], scale = power_of_two_scale(kwargs[first])
        else:
            scale = 1.0
        init = kwargs.get("init")
        if scale != 1.0 and hasattr(init, "_scale_by"):  # a starting point in the data's units
            kwargs["init"] = init = type(init)._from_arrays(init._arrays(), init._metadata())
            init._scale_by(1.0 / scale)
        return rescale_result(func(*args, **kwargs), scale)

    return wrapper  # type: ignore[return-value]


def scaled_norm(x: Any) -> float:
    """Frobenius norm of ``x`` that neither overflows nor underflows (power-of-two prescale).

    Parameters
    ----------
    x : array_like
        Real array.

    Returns
    -------
    float
    """
    arr = np.asarray(x)
    if arr.size == 0:
        return 0.0
    top = float(np.max(np.abs(arr)))
    if top == 0.0 or not math.isfinite(top):
        return top
    k = math.frexp(top)[1]
    return math.ldexp(float(np.linalg.norm(np.ldexp(arr, -k).ravel())), k)


def warn_at_caller(message: str, category: type[Warning]) -> None:
    """Issue a warning attributed to the first frame outside the tensornet package.

    Public functions are wrapped (argument deprecation, scale equivariance), so a fixed
    ``stacklevel`` would point into tensornet; walking the stack points at the user's line.

    Parameters
    ----------
    message : str
        The warning text.
    category : type of Warning
        Its class.
    """
    package = os.path.dirname(os.path.abspath(__file__))
    frame, level = sys._getframe(1), 2
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)


def check_tol(tol: Any, name: str = "tol") -> float:
    """Return a stopping tolerance as a finite ``float >= 0`` (see :func:`check_real`).

    Parameters
    ----------
    tol : float
        Tolerance on the change of the relative error between two sweeps of an iterative
        method (``0`` runs every sweep). Python and NumPy real scalars are accepted.
    name : str
        The argument's name, used in messages.

    Returns
    -------
    float
    """
    return check_real(tol, name, minimum=0.0)
