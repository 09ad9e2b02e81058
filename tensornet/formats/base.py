"""The base class of every structured (low-rank) tensor format.

A format knows how to *be* a tensor: its shape, ranks, parameter count, how to densify itself,
its norm, and how to store itself. Finding a format from data is the job of
:mod:`tensornet.decompositions`.

Subclasses implement four things:

* ``shape`` and ``ranks`` properties;
* ``_full()``: the dense tensor;
* ``_arrays()`` / ``_metadata()`` and the classmethod ``_from_arrays(arrays, meta)`` for storage.

and may override ``norm``, ``inner`` and ``n_params`` with cheaper structured computations.
"""

from __future__ import annotations

import functools
import math
import numbers
import os
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

import numpy as np

from .._io import load_npz, save_npz
from .._validation import (
    SCALE_EXPONENT_WINDOW,
    array_exponent,
    check_array,
    exact_size,
    scaled_norm,
)

__all__ = ["StructuredTensor", "DEFAULT_MAX_ELEMENTS", "format_class"]

#: ``full()`` refuses tensors with more elements than this (2**27 float64 values = 1 GiB)
#: unless ``max_elements`` is passed.
DEFAULT_MAX_ELEMENTS = 2**27

_FORMATS: dict[str, type[StructuredTensor]] = {}


def format_class(name: str) -> type[StructuredTensor]:
    """Return the registered format class called ``name`` (e.g. ``"TTTensor"``).

    Parameters
    ----------
    name : str
        The class name as stored in a saved file's metadata.

    Returns
    -------
    type
    """
    try:
        return _FORMATS[name]
    except KeyError:
        known = ", ".join(sorted(_FORMATS)) or "none"
        raise ValueError(f"unknown tensor format {name!r}; known formats: {known}") from None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_abstract(cls: type) -> bool:
    """Whether ``cls`` leaves an abstract method unimplemented, found as ``ABCMeta`` does (its
    ``__abstractmethods__`` is set only after ``__init_subclass__`` has run)."""
    names = {n for n, v in vars(cls).items() if getattr(v, "__isabstractmethod__", False)}
    for parent in cls.__mro__[1:]:
        names.update(getattr(parent, "__abstractmethods__", ()))
    return any(getattr(getattr(cls, n, None), "__isabstractmethod__", False) for n in names)


def _overflow_safe(norm: Any) -> Any:
    """Wrap a format's ``norm`` so that it runs on the :meth:`StructuredTensor._balanced` copy."""

    @functools.wraps(norm)
    def wrapper(self: StructuredTensor) -> float:
        balanced = self._balanced()
        if balanced is None:
            return norm(self)
        copy, k = balanced
        return math.ldexp(norm(copy), k)

    return wrapper


class StructuredTensor(ABC):
    """Abstract base of the structured tensor formats (CP, Tucker, BTD, HT, TT, TR, Kron, STP).

    Attributes
    ----------
    info : dict
        What the algorithm that produced the tensor reports (achieved relative error, iteration
        history, ...). Empty for tensors built by hand.
    """

    info: dict[str, Any]

    #: The component that :meth:`_scale_by` multiplies: an array attribute, or a list/dict of
    #: arrays whose entry ``0`` (first core, root transfer tensor) is scaled.
    _scale_attr: str = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not _is_abstract(cls):
            _FORMATS[cls.__name__] = cls
        if "norm" in cls.__dict__:
            cls.norm = _overflow_safe(cls.__dict__["norm"])  # type: ignore[method-assign]

    # ----------------------------------------------------------------- to implement
    @property
    @abstractmethod
    def shape(self) -> tuple[int, ...]:
        """Shape of the represented tensor."""

    @property
    @abstractmethod
    def ranks(self) -> tuple[int, ...]:
        """The format's ranks (their meaning is stated by each format)."""

    @abstractmethod
    def _full(self) -> np.ndarray:
        """Dense tensor (called by :meth:`full` after the size check)."""

    @abstractmethod
    def _arrays(self) -> dict[str, np.ndarray]:
        """Named arrays that, with :meth:`_metadata`, determine the tensor."""

    def _metadata(self) -> dict[str, Any]:
        """JSON-serializable extra data needed by :meth:`_from_arrays`."""
        return {}

    @classmethod
    @abstractmethod
    def _from_arrays(cls, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> StructuredTensor:
        """Rebuild an instance from :meth:`_arrays` and :meth:`_metadata`."""

    def _scale_by(self, factor: float) -> None:
        """Multiply the represented tensor by ``factor`` in place, through one component."""
        value = getattr(self, self._scale_attr)
        if isinstance(value, (list, dict)):
            value[0] = value[0] * factor
        else:
            setattr(self, self._scale_attr, value * factor)

    def _balanced(self) -> tuple[StructuredTensor, int] | None:
        """A copy with every stored array scaled to magnitude ~1, and the exponent removed.

        Returns ``(copy, k)`` with ``self == 2**k * copy`` (every format is multilinear in its
        stored arrays), or ``None`` when every array already lies within
        ``2**±SCALE_EXPONENT_WINDOW``. :meth:`norm` runs on the copy, so products and sums of
        squares of the parameters neither overflow nor underflow.
        """
        arrays = self._arrays()
        exps = {name: array_exponent(a) for name, a in arrays.items()}
        if all(abs(e) <= SCALE_EXPONENT_WINDOW for e in exps.values()):
            return None
        scaled = {n: a * math.ldexp(1.0, -exps[n]) for n, a in arrays.items()}
        return type(self)._from_arrays(scaled, self._metadata()), sum(exps.values())

    # ----------------------------------------------------------------- shared behaviour
    @property
    def ndim(self) -> int:
        """Number of modes."""
        return len(self.shape)

    @property
    def size(self) -> int:
        """Number of elements of the represented dense tensor."""
        return exact_size(self.shape)

    @property
    def dtype(self) -> np.dtype:
        """Floating dtype of the stored parameters."""
        return np.result_type(*self._arrays().values())

    @property
    def n_params(self) -> int:
        """Number of stored parameters (sum of the sizes of the stored arrays)."""
        return int(sum(np.asarray(a).size for a in self._arrays().values()))

    @property
    def compression_ratio(self) -> float:
        """Dense size divided by :attr:`n_params` (>1 means the format is smaller)."""
        return self.size / max(self.n_params, 1)

    def full(self, max_elements: int | None = DEFAULT_MAX_ELEMENTS) -> np.ndarray:
        """Return the dense tensor.

        Parameters
        ----------
        max_elements : int or None
            Refuse (with a ``ValueError``) to build a tensor with more elements than this;
            ``None`` removes the limit.

        Returns
        -------
        numpy.ndarray of shape :attr:`shape`
        """
        if max_elements is not None and self.size > max_elements:
            raise ValueError(
                f"full() of a tensor of shape {self.shape} would have {self.size} elements, "
                f"more than max_elements={max_elements}; pass a larger max_elements "
                "(or None) to build it anyway"
            )
        return self._full()

    def norm(self) -> float:
        """Frobenius norm of the represented tensor (formats override this without densifying).

        Returns
        -------
        float
        """
        return scaled_norm(self.full())

    def inner(self, other: StructuredTensor | np.ndarray) -> float:
        """Frobenius inner product ``<self, other>`` (dense fallback; formats may override).

        Parameters
        ----------
        other : StructuredTensor or array_like
            A tensor of the same shape.

        Returns
        -------
        float
        """
        dense = other.full() if isinstance(other, StructuredTensor) else np.asarray(other)
        self._check_same_shape(dense.shape, "other")
        return float(np.vdot(self.full(), dense))

    def relative_error(self, x: np.ndarray) -> float:
        """Relative Frobenius error ``||x - self||_F / ||x||_F`` against a dense tensor.

        Parameters
        ----------
        x : array_like
            Reference tensor of the same shape, not all zero.

        Returns
        -------
        float
        """
        x = check_array(x, "x")
        self._check_same_shape(x.shape, "x")
        ref = scaled_norm(x)
        if ref == 0.0:
            raise ValueError("x is all zeros: the relative error is undefined")
        return scaled_norm(x - self.full(max_elements=None)) / ref

    def _element_index(self, index: Any, hint: str = "") -> tuple[int, ...]:
        """Validate one multi-index for element access and return it non-negative.

        A tuple of :attr:`ndim` integers is required (negative values count from the end);
        anything else is a ``TypeError`` and an out-of-range entry an ``IndexError``.
        """
        if not isinstance(index, tuple):
            index = (index,)
        if len(index) != self.ndim or not all(
            isinstance(i, (numbers.Integral, np.integer)) and not isinstance(i, (bool, np.bool_))
            for i in index
        ):
            raise TypeError(
                f"{type(self).__name__} indices must be a tuple of {self.ndim} integers "
                f"(one per mode), got {index!r}{hint}"
            )
        out = []
        for k, (i, size) in enumerate(zip(index, self.shape, strict=True)):
            if not -size <= i < size:
                raise IndexError(f"index[{k}]={i} is out of range for mode {k} of size {size}")
            out.append(int(i) % size)
        return tuple(out)

    def _check_same_shape(self, shape: tuple[int, ...], name: str) -> None:
        if tuple(shape) != tuple(self.shape):
            raise ValueError(f"{name} has shape {tuple(shape)}, expected {self.shape}")

    # ----------------------------------------------------------------- storage
    def save(self, path: str | os.PathLike) -> Path:
        """Store the tensor as ``.npz`` with JSON metadata (atomic write, no pickle).

        Parameters
        ----------
        path : str or path-like
            Target file (``.npz`` is appended when missing).

        Returns
        -------
        pathlib.Path
            The path written.
        """
        meta = {"kind": type(self).__name__, "shape": list(self.shape), **self._metadata()}
        return save_npz(path, self._arrays(), meta)

    @classmethod
    def load(cls, path: str | os.PathLike) -> StructuredTensor:
        """Load a tensor written by :meth:`save`.

        Called on :class:`StructuredTensor` it returns whatever format the file holds; called on
        a subclass it insists on that format.

        Parameters
        ----------
        path : str or path-like
            The file.

        Returns
        -------
        StructuredTensor
        """
        arrays, meta = load_npz(path)
        try:
            target = format_class(meta["kind"])
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None
        if cls is not StructuredTensor and not issubclass(target, cls):
            raise ValueError(f"{path} holds a {meta['kind']}, not a {cls.__name__}")
        try:
            shape = meta.get("shape")
            if not isinstance(shape, list) or not all(type(n) is int and n >= 0 for n in shape):
                raise ValueError(f"metadata shape={_short(shape)} is not a list of sizes")
            obj = target._from_arrays(arrays, meta)
        except (
            KeyError,
            ValueError,
            TypeError,
            OverflowError,
            IndexError,
            AttributeError,
            RecursionError,
        ) as exc:
            raise ValueError(f"{path} holds a corrupt {meta['kind']}: {exc}") from exc
        if tuple(obj.shape) != tuple(shape):
            raise ValueError(f"{path} holds a corrupt {meta['kind']}: shape mismatch")
        return obj

    # ----------------------------------------------------------------- display
    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(shape={self.shape}, ranks={self.ranks}, "
            f"n_params={self.n_params}, compression={self.compression_ratio:.3g}x)"
        )
