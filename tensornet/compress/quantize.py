"""Quantization of weights: uniform affine, k-means, and straight-through fine-tuning.

The survey's Section III-B combines low-rank approximation "orthogonally" with quantization:
every stored number (a weight, a factor entry) is replaced by a ``bits``-bit integer code and a
few floats that map codes back to values.

* **Uniform affine** (Jacob et al. 2018): ``w ≈ scale * (code - zero_point)`` with one
  ``(scale, zero_point)`` per tensor or per channel. Asymmetric quantizers cover
  ``[min(w, 0), max(w, 0)]`` with ``2**bits`` levels; symmetric ones cover
  ``[-max|w|, max|w|]`` with the ``2**bits - 1`` levels ``-q..q``, ``q = 2**(bits-1) - 1``
  (zero_point ``2**(bits-1)``). Both represent ``0.0`` exactly, so pruned weights stay zero.
  Every entry is within half a step ``scale / 2`` of its value.
* **k-means** (Han et al. 2016, Deep Compression, Sec. 3): the values are clustered into
  ``k <= 2**bits`` centroids by Lloyd's algorithm; ``w ≈ codebook[code]``. In one dimension
  Lloyd's assignment step is a partition of the sorted values at the midpoints between
  centroids, so each iteration is one ``searchsorted`` and segment means from a cumulative sum.
  The linear initialization (centroids evenly spaced between ``min w`` and ``max w``) is the
  one Han et al. found best.
* **Straight-through fine-tuning** (Bengio et al. 2013): the forward pass sees ``Q(w)``, the
  gradient is applied to a float "shadow" ``w`` as if ``Q`` were the identity.
  :func:`fake_quantize` is that rule as an autograd primitive; :class:`QuantizationAwareTraining`
  applies it to a model's parameters through an optimizer hook, without touching the model.

Codes are unsigned integers in ``[0, 2**bits)``; :func:`pack_bits` stores them at exactly
``bits`` bits each, which is how :meth:`QuantizedTensor.nbytes` counts them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from autograd.extend import defvjp, primitive

from .._validation import (
    check_array,
    check_int,
    check_option,
    check_random_state,
    check_real,
    check_real_dtype,
)
from ._hooks import OptimizerHooks

__all__ = [
    "QuantizedTensor",
    "quantize_affine",
    "kmeans_quantize",
    "dequantize",
    "fake_quantize",
    "QuantizationAwareTraining",
    "pack_bits",
    "unpack_bits",
    "code_dtype",
]

MAX_BITS = 16
SCHEMES = ("affine", "kmeans")
KMEANS_INITS = ("linear", "uniform", "density", "random")


# ------------------------------------------------------------------------------ bit packing
def code_dtype(bits: int) -> np.dtype:
    """Smallest unsigned integer dtype holding ``bits``-bit codes.

    Parameters
    ----------
    bits : int
        Code width, ``1 <= bits <= 32``.

    Returns
    -------
    numpy.dtype
        ``uint8``, ``uint16`` or ``uint32``.
    """
    bits = check_int(bits, "bits", minimum=1, maximum=32)
    return np.dtype(np.uint8 if bits <= 8 else np.uint16 if bits <= 16 else np.uint32)


def pack_bits(codes: Any, bits: int) -> np.ndarray:
    """Pack non-negative integer codes at exactly ``bits`` bits each (most significant first).

    Parameters
    ----------
    codes : array_like of int
        Values in ``[0, 2**bits)``; flattened in C order.
    bits : int
        Width, ``1 <= bits <= 32``.

    Returns
    -------
    numpy.ndarray of uint8
        ``ceil(codes.size * bits / 8)`` bytes; the last byte is zero-padded.

    Examples
    --------
    >>> pack_bits([1, 2, 3], 2).tolist()   # 01 10 11 00
    [108]
    """
    bits = check_int(bits, "bits", minimum=1, maximum=32)
    arr = check_real_dtype(codes, "codes")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"codes must be an integer array, got dtype {arr.dtype}")
    flat = arr.reshape(-1).astype(np.int64)
    if flat.size and (flat.min() < 0 or flat.max() >= 2**bits):
        raise ValueError(
            f"codes must lie in [0, 2**bits) = [0, {2**bits}) for bits={bits}, "
            f"got values in [{flat.min()}, {flat.max()}]"
        )
    shifts = np.arange(bits - 1, -1, -1, dtype=np.int64)
    bit_matrix = ((flat[:, None] >> shifts) & 1).astype(np.uint8)
    return np.packbits(bit_matrix.reshape(-1))


def unpack_bits(packed: Any, bits: int, count: int) -> np.ndarray:
    """Inverse of :func:`pack_bits`: the first ``count`` codes of width ``bits``.

    Parameters
    ----------
    packed : array_like of uint8
        Bytes from :func:`pack_bits`.
    bits : int
        Width, ``1 <= bits <= 32``.
    count : int
        Number of codes, ``>= 0``; ``packed`` must hold ``ceil(count * bits / 8)`` bytes.

    Returns
    -------
    numpy.ndarray
        1-D, dtype :func:`code_dtype` of ``bits``.
    """
    bits = check_int(bits, "bits", minimum=1, maximum=32)
    count = check_int(count, "count", minimum=0)
    arr = check_real_dtype(packed, "packed")
    if arr.dtype != np.uint8:
        raise TypeError(f"packed must be a uint8 array, got dtype {arr.dtype}")
    need = math.ceil(count * bits / 8)
    if arr.size != need:
        raise ValueError(
            f"packed holds {arr.size} bytes, {count} codes of {bits} bits need exactly {need}"
        )
    bit_matrix = np.unpackbits(arr.reshape(-1))[: count * bits].reshape(count, bits)
    weights = (1 << np.arange(bits - 1, -1, -1, dtype=np.int64)).astype(np.int64)
    return (bit_matrix.astype(np.int64) @ weights).astype(code_dtype(bits))


# ------------------------------------------------------------------------------ the result
@dataclass
class QuantizedTensor:
    """Integer codes plus what maps them back to values (see the module docstring).

    Attributes
    ----------
    codes : numpy.ndarray
        Unsigned integers in ``[0, 2**bits)``, shaped like the quantized tensor.
    bits : int
        Code width.
    scheme : {"affine", "kmeans"}
        How codes map to values.
    dtype : str
        Dtype of the dequantized tensor (the input's).
    scale, zero_point : numpy.ndarray
        Affine: ``value = scale * (code - zero_point)``, shape ``()`` (per tensor) or ``(C,)``
        (per channel along ``axis``); float64 and int64.
    axis : int or None
        Channel axis of a per-channel affine quantizer.
    symmetric : bool
        Affine: symmetric range (``zero_point = 2**(bits-1)``).
    codebook : numpy.ndarray
        k-means: the ``k <= 2**bits`` centroids, in the input's floating dtype (float32 for
        network weights); ``value = codebook[code]``.
    keep_zero : bool
        k-means: code 0 is reserved for the exact value ``0.0``.
    info : dict
        Diagnostics (k-means: ``n_iter``, ``mse``); not serialized.
    """

    codes: np.ndarray
    bits: int
    scheme: str
    dtype: str
    scale: np.ndarray | None = None
    zero_point: np.ndarray | None = None
    axis: int | None = None
    symmetric: bool = False
    codebook: np.ndarray | None = None
    keep_zero: bool = False
    info: dict = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        check_option(self.scheme, "scheme", SCHEMES)
        self.bits = check_int(self.bits, "bits", minimum=1, maximum=MAX_BITS)
        codes = np.asarray(self.codes)
        if not np.issubdtype(codes.dtype, np.integer):
            raise TypeError(f"codes must be an integer array, got dtype {codes.dtype}")
        needed = ("codebook",) if self.scheme == "kmeans" else ("scale", "zero_point")
        missing = [k for k in needed if getattr(self, k) is None]
        if missing:
            raise ValueError(f"the {self.scheme} scheme needs {', '.join(missing)}")

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the quantized tensor."""
        return tuple(self.codes.shape)

    @property
    def step(self) -> np.ndarray:
        """Affine quantization step (``scale``), broadcastable against the tensor."""
        if self.scheme != "affine":
            raise ValueError("step is defined for the affine scheme only")
        return _channel_view(self.scale, self.axis, len(self.shape))

    def dequantize(self) -> np.ndarray:
        """The tensor the codes stand for, in :attr:`dtype`.

        Returns
        -------
        numpy.ndarray
        """
        codes = self.codes.astype(np.int64)
        if self.scheme == "kmeans":
            values = self.codebook[codes]
        else:
            ndim = codes.ndim
            zero = _channel_view(self.zero_point, self.axis, ndim)
            values = _channel_view(self.scale, self.axis, ndim) * (codes - zero)
        return np.asarray(values, dtype=self.dtype)

    def nbytes(self) -> dict[str, int]:
        """Exact payload bytes: codes bit-packed, side information at its dtype's size.

        Returns
        -------
        dict of str to int
            ``"codes"`` and ``"scale"`` + ``"zero_point"`` (affine) or ``"codebook"``
            (k-means), and their ``"total"``.
        """
        out = {"codes": math.ceil(self.codes.size * self.bits / 8)}
        for key, arr in self._side().items():
            out[key] = int(arr.nbytes)
        out["total"] = sum(out.values())
        return out

    def _side(self) -> dict[str, np.ndarray]:
        if self.scheme == "kmeans":
            return {"codebook": self.codebook}
        return {"scale": self.scale, "zero_point": self.zero_point}

    # ------------------------------------------------------------ serialization
    def to_arrays(self, packed: bool = True) -> dict[str, np.ndarray]:
        """Arrays to store: ``"codes"`` (bit-packed uint8, or the raw codes) and the side arrays.

        Parameters
        ----------
        packed : bool
            Store the codes packed by :func:`pack_bits` (``to_meta`` records it).

        Returns
        -------
        dict of str to numpy.ndarray
        """
        codes = pack_bits(self.codes, self.bits) if packed else self.codes.copy()
        return {"codes": codes, **{k: v.copy() for k, v in self._side().items()}}

    def to_meta(self, packed: bool = True) -> dict[str, Any]:
        """JSON-serializable description (shape, bits, scheme, dtype, axis, flags).

        Parameters
        ----------
        packed : bool
            Whether :meth:`to_arrays` packed the codes.

        Returns
        -------
        dict
        """
        return {
            "kind": "QuantizedTensor",
            "scheme": self.scheme,
            "shape": list(self.shape),
            "bits": self.bits,
            "dtype": self.dtype,
            "axis": self.axis,
            "symmetric": self.symmetric,
            "keep_zero": self.keep_zero,
            "packed": bool(packed),
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> QuantizedTensor:
        """Rebuild from :meth:`to_arrays` and :meth:`to_meta`, checking every field.

        Parameters
        ----------
        arrays : dict of str to numpy.ndarray
        meta : dict

        Returns
        -------
        QuantizedTensor

        Raises
        ------
        ValueError
            When a key is missing or a shape, dtype or code is inconsistent.
        """
        try:
            scheme = check_option(meta["scheme"], "meta['scheme']", SCHEMES)
            shape = tuple(check_int(s, "meta['shape']", minimum=0) for s in meta["shape"])
            bits = check_int(meta["bits"], "meta['bits']", minimum=1, maximum=MAX_BITS)
            dtype = str(np.dtype(meta["dtype"]))
            codes = np.asarray(arrays["codes"])
        except KeyError as err:
            raise ValueError(f"quantized tensor record lacks {err}") from None
        size = math.prod(shape)
        if meta.get("packed", True):
            codes = unpack_bits(codes, bits, size).reshape(shape)
        else:
            if codes.shape != shape or not np.issubdtype(codes.dtype, np.integer):
                raise ValueError(f"codes have shape {codes.shape} and dtype {codes.dtype}")
            if codes.size and (codes.min() < 0 or codes.max() >= 2**bits):
                raise ValueError(f"codes lie outside [0, 2**{bits})")
            codes = codes.astype(code_dtype(bits))
        if scheme == "kmeans":
            codebook = _stored_float(arrays, "codebook", None, keep_dtype=True)
            if codebook.ndim != 1 or not 1 <= codebook.size <= 2**bits:
                raise ValueError(f"codebook has shape {codebook.shape} for bits={bits}")
            if codes.size and int(codes.max()) >= codebook.size:
                raise ValueError(f"a code exceeds the codebook size {codebook.size}")
            return cls(codes, bits, scheme, dtype, codebook=codebook,
                       keep_zero=bool(meta.get("keep_zero", False)))  # fmt: skip
        axis = meta.get("axis")
        n_ch = () if axis is None else (shape[check_int(axis, "meta['axis']", minimum=0)],)
        scale = _stored_float(arrays, "scale", n_ch)
        zero = np.asarray(arrays.get("zero_point"))
        if zero.shape != n_ch or not np.issubdtype(zero.dtype, np.integer):
            raise ValueError(f"zero_point has shape {zero.shape}, expected {n_ch}")
        if not np.all(scale > 0):
            raise ValueError("scale must be > 0")
        if zero.size and (zero.min() < 0 or zero.max() >= 2**bits):
            raise ValueError(f"zero_point lies outside [0, 2**{bits})")
        return cls(codes, bits, scheme, dtype, scale=scale, zero_point=zero.astype(np.int64),
                   axis=axis, symmetric=bool(meta.get("symmetric", False)))  # fmt: skip


def _stored_float(
    arrays: dict, key: str, shape: tuple | None, keep_dtype: bool = False
) -> np.ndarray:
    if key not in arrays:
        raise ValueError(f"quantized tensor record lacks {key!r}")
    arr = np.asarray(arrays[key])
    if not np.issubdtype(arr.dtype, np.floating) or not np.all(np.isfinite(arr)):
        raise ValueError(f"{key} must be a finite floating-point array")
    if shape is not None and arr.shape != shape:
        raise ValueError(f"{key} has shape {arr.shape}, expected {shape}")
    return arr if keep_dtype else arr.astype(np.float64)


def _channel_view(values: np.ndarray, axis: int | None, ndim: int) -> np.ndarray:
    """``values`` (shape ``()`` or ``(C,)``) shaped to broadcast along ``axis``."""
    if axis is None:
        return values
    shape = [1] * ndim
    shape[axis] = values.shape[0]
    return values.reshape(shape)


def dequantize(q: QuantizedTensor) -> np.ndarray:
    """The values a :class:`QuantizedTensor` stands for (``q.dequantize()``).

    Parameters
    ----------
    q : QuantizedTensor

    Returns
    -------
    numpy.ndarray
    """
    if not isinstance(q, QuantizedTensor):
        raise TypeError(f"q must be a QuantizedTensor, got {type(q).__name__}")
    return q.dequantize()


# ------------------------------------------------------------------------------ affine
def _check_bits(bits: Any, symmetric: bool) -> int:
    return check_int(bits, "bits", minimum=2 if symmetric else 1, maximum=MAX_BITS)


def _check_axis(axis: Any, ndim: int) -> int | None:
    if axis is None:
        return None
    axis = check_int(axis, "axis")
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis={axis} is out of range for a tensor with ndim={ndim}")
    return axis % ndim


def _affine_params(
    x: np.ndarray, bits: int, symmetric: bool, axis: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """``(scale, zero_point)`` from the range of each tensor/channel (zero always inside)."""
    reduce = None if axis is None else tuple(k for k in range(x.ndim) if k != axis)
    if symmetric:
        qmax = 2 ** (bits - 1) - 1
        scale = np.max(np.abs(x), axis=reduce) / qmax
        scale = np.where(scale > 0, scale, 1.0)
        zero = np.full(scale.shape, 2 ** (bits - 1), dtype=np.int64)
        return np.asarray(scale, dtype=np.float64), zero
    levels = 2**bits - 1
    lo = np.minimum(np.min(x, axis=reduce), 0.0)
    hi = np.maximum(np.max(x, axis=reduce), 0.0)
    scale = (hi - lo) / levels
    scale = np.where(scale > 0, scale, 1.0)
    zero = np.clip(np.round(-lo / scale), 0, levels).astype(np.int64)
    return np.asarray(scale, dtype=np.float64), np.asarray(zero)


def _affine_codes(x: np.ndarray, scale: np.ndarray, zero: np.ndarray, bits: int,
                  symmetric: bool, axis: int | None) -> np.ndarray:  # fmt: skip
    s = _channel_view(scale, axis, x.ndim)
    z = _channel_view(zero, axis, x.ndim)
    low = 1 if symmetric else 0
    return np.clip(np.round(x / s) + z, low, 2**bits - 1).astype(code_dtype(bits))


def quantize_affine(
    x: Any, bits: int = 8, *, symmetric: bool = False, axis: int | None = None
) -> QuantizedTensor:
    """Uniform affine quantization ``x ≈ scale * (code - zero_point)`` (Jacob et al. 2018).

    Asymmetric: ``scale = (max(x, 0) - min(x, 0)) / (2**bits - 1)``,
    ``zero_point = round(-min(x, 0) / scale)``; symmetric:
    ``scale = max|x| / (2**(bits-1) - 1)``, ``zero_point = 2**(bits-1)``. Ranges are taken over
    the whole tensor (``axis=None``) or per slice along ``axis`` (per channel). Every entry is
    within ``scale / 2`` of its dequantized value, and ``0`` is represented exactly.

    Parameters
    ----------
    x : array_like
        Finite real tensor (any shape, not empty).
    bits : int
        Code width: ``1..16`` asymmetric, ``2..16`` symmetric.
    symmetric : bool
        Symmetric range around zero.
    axis : int, optional
        Channel axis for per-channel ranges (e.g. ``0`` for a conv kernel ``(O, C, KH, KW)``,
        ``1`` for a :class:`~tensornet.nn.Linear` weight ``(in, out)``).

    Returns
    -------
    QuantizedTensor
        Scheme ``"affine"``.

    Examples
    --------
    >>> q = quantize_affine([-1.0, 0.0, 0.5, 2.0], bits=2)
    >>> q.codes.tolist(), q.dequantize().tolist()
    ([0, 1, 1, 3], [-1.0, 0.0, 0.0, 2.0])
    """
    x = check_array(x, "x")
    symmetric = bool(symmetric)
    bits = _check_bits(bits, symmetric)
    axis = _check_axis(axis, x.ndim)
    x64 = x.astype(np.float64)
    scale, zero = _affine_params(x64, bits, symmetric, axis)
    codes = _affine_codes(x64, scale, zero, bits, symmetric, axis)
    return QuantizedTensor(codes, bits, "affine", str(x.dtype), scale=scale, zero_point=zero,
                           axis=axis, symmetric=symmetric)  # fmt: skip


# ------------------------------------------------------------------------------ k-means
def _uniform_levels(v: np.ndarray, k: int) -> np.ndarray:
    """The levels of the better (on ``v``) of the asymmetric and symmetric uniform grids with
    ``k`` levels, as :func:`quantize_affine` builds them; nearest-level rounding on such a grid
    is exactly affine quantization."""
    lo, hi = min(float(v[0]), 0.0), max(float(v[-1]), 0.0)
    step = (hi - lo) / (k - 1) if k > 1 and hi > lo else 1.0
    candidates = [step * (np.arange(k) - round(-lo / step))]
    if k > 2:
        q = (k - 2) // 2 if k % 2 == 0 else (k - 1) // 2
        half = max(-lo, hi) / q if max(-lo, hi) > 0 else 1.0
        levels = half * np.arange(-q, q + 1)
        candidates.append(np.sort(np.concatenate([levels, levels[-1:]])[:k]))
    errors = [np.sum((c[_assign(v, c)] - v) ** 2) for c in candidates]
    return candidates[int(np.argmin(errors))]


def _initial_centroids(v: np.ndarray, k: int, init: str, rng: np.random.Generator) -> np.ndarray:
    """Linear (evenly spaced on ``[min, max]``), uniform (the affine grid), density
    (quantiles) or random (sampled) start."""
    if init == "linear":
        return np.linspace(v[0], v[-1], k)
    if init == "uniform":
        return _uniform_levels(v, k)
    if init == "density":
        return np.quantile(v, (np.arange(k) + 0.5) / k)
    return np.sort(rng.choice(v, size=k, replace=v.size < k))


def _assign(values: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Index of the nearest centroid (sorted ``centroids``; ties go to the larger one)."""
    return np.searchsorted((centroids[:-1] + centroids[1:]) / 2, values, side="right")


def _lloyd(v: np.ndarray, c: np.ndarray, n_iter: int, tol: float) -> tuple[np.ndarray, int]:
    """Lloyd iterations on the sorted 1-D sample ``v`` from sorted centroids ``c``.

    The cluster of centroid ``j`` is the run of ``v`` between the midpoints to its neighbours;
    its new centroid is the run's mean (an empty cluster keeps its centroid). Each iteration
    does not increase the squared error (Lloyd 1982).
    """
    cumsum = np.concatenate([[0.0], np.cumsum(v)])
    it = 0
    for it in range(1, n_iter + 1):  # noqa: B007 - the count is returned
        starts = np.searchsorted(v, (c[:-1] + c[1:]) / 2, side="left")
        edges = np.concatenate([[0], starts, [v.size]])
        counts = np.diff(edges)
        sums = cumsum[edges[1:]] - cumsum[edges[:-1]]
        new = np.where(counts > 0, sums / np.maximum(counts, 1), c)
        new = np.sort(np.clip(new, v[0], v[-1]))
        shift = float(np.max(np.abs(new - c)))
        c = new
        if shift <= tol * max(float(v[-1] - v[0]), np.finfo(float).tiny):
            break
    return c, it


def kmeans_quantize(
    x: Any,
    bits: int | None = None,
    *,
    n_clusters: int | None = None,
    init: str = "linear",
    n_iter: int = 100,
    tol: float = 0.0,
    keep_zero: bool = False,
    mask: Any = None,
    random_state: Any = None,
) -> QuantizedTensor:
    """k-means (weight-sharing) quantization ``x ≈ codebook[code]`` (Han et al. 2016, Sec. 3.1).

    Lloyd's algorithm in one dimension: the values are sorted once; an iteration cuts them at
    the midpoints between consecutive centroids and moves every centroid to the mean of its
    run. The squared error never increases from the initial codebook.

    Parameters
    ----------
    x : array_like
        Finite real tensor.
    bits : int, optional
        Code width ``1..16``; ``k = 2**bits`` centroids unless ``n_clusters`` is given.
    n_clusters : int, optional
        Number of centroids ``k >= 1`` (``bits`` defaults to ``ceil(log2 k)``, at least 1).
    init : {"linear", "uniform", "density", "random"}
        ``"linear"``: evenly spaced on ``[min, max]`` (Han et al.'s choice: it keeps the rare
        large weights). ``"uniform"``: the levels of the uniform affine quantizer with ``k``
        levels (asymmetric or symmetric, whichever fits ``x`` better); since Lloyd's
        iterations never increase the error, the result is then never worse than
        :func:`quantize_affine` at the same width (``k = 2**bits``). The linear start does not
        carry that guarantee: on small samples Lloyd can stop in a local optimum a few percent
        worse than the affine grid. ``"density"``: quantiles of the values; ``"random"``: a
        random sample of them.
    n_iter : int
        Maximum Lloyd iterations (``0`` keeps the initial codebook).
    tol : float
        Stop when no centroid moves more than ``tol * (max - min)``.
    keep_zero : bool
        Reserve code 0 for the exact value ``0.0`` and cluster only the non-zero entries into
        the other ``k - 1`` centroids (for pruned tensors).
    mask : array_like of bool, optional
        Entries to cluster (True); the others get code 0 with value 0 (implies ``keep_zero``).
    random_state : None, int or numpy.random.Generator
        Seed for ``init="random"``.

    Returns
    -------
    QuantizedTensor
        Scheme ``"kmeans"``, ``codebook`` sorted (after the reserved zero), ``info`` with
        ``n_iter`` and ``mse``.

    Examples
    --------
    >>> q = kmeans_quantize([0.1, 0.12, 0.9, 1.0], bits=1)
    >>> q.codebook.round(2).tolist(), q.codes.tolist()
    ([0.11, 0.95], [0, 0, 1, 1])
    """
    x = check_array(x, "x")
    k, bits = _clusters_and_bits(bits, n_clusters)
    init = check_option(init, "init", KMEANS_INITS)
    n_iter = check_int(n_iter, "n_iter", minimum=0)
    tol = check_real(tol, "tol", minimum=0.0)
    rng = check_random_state(random_state)
    selected = _selection(x, mask, keep_zero)
    reserve = selected is not None
    if reserve and k < 2:
        raise ValueError(f"keep_zero/mask reserve a code for 0, so k={k} must be >= 2")
    values = x.astype(np.float64).reshape(-1)
    chosen = values if selected is None else values[selected.reshape(-1)]
    learned = k - 1 if reserve else k
    if chosen.size == 0:
        centroids, it = np.zeros(learned), 0
    else:
        v = np.sort(chosen)
        centroids, it = _lloyd(v, _initial_centroids(v, learned, init, rng), n_iter, tol)
    codes = _assign(values, centroids)
    if reserve:
        codes = np.where(selected.reshape(-1), codes + 1, 0)
        centroids = np.concatenate([[0.0], centroids])
    codes = codes.astype(code_dtype(bits)).reshape(x.shape)
    centroids = centroids.astype(x.dtype)  # stored at the weights' precision (k x 32 bits)
    mse = float(np.mean((centroids[codes.reshape(-1)] - values) ** 2))
    return QuantizedTensor(codes, bits, "kmeans", str(x.dtype), codebook=centroids,
                           keep_zero=reserve, info={"n_iter": it, "mse": mse})  # fmt: skip


def _clusters_and_bits(bits: Any, n_clusters: Any) -> tuple[int, int]:
    if bits is None and n_clusters is None:
        raise ValueError("give bits or n_clusters")
    if n_clusters is None:
        bits = check_int(bits, "bits", minimum=1, maximum=MAX_BITS)
        return 2**bits, bits
    k = check_int(n_clusters, "n_clusters", minimum=1, maximum=2**MAX_BITS)
    need = max(1, math.ceil(math.log2(k)))
    if bits is None:
        return k, need
    bits = check_int(bits, "bits", minimum=1, maximum=MAX_BITS)
    if bits < need:
        raise ValueError(f"n_clusters={k} needs bits >= {need}, got bits={bits}")
    return k, bits


def _selection(x: np.ndarray, mask: Any, keep_zero: bool) -> np.ndarray | None:
    """Boolean array of the entries to cluster, or None for all of them."""
    if mask is None:
        return (x != 0) if keep_zero else None
    m = np.asarray(mask)
    if m.dtype != np.bool_:
        raise TypeError(f"mask must be a boolean array, got dtype {m.dtype}")
    if m.shape != x.shape:
        raise ValueError(f"mask has shape {m.shape}, x has shape {x.shape}")
    return m


# ------------------------------------------------------------------------------ straight-through
@primitive
def fake_quantize(x: Any, bits: int = 8, symmetric: bool = False, axis: int | None = None) -> Any:
    """``Q(x)`` in the forward pass, the identity in the backward pass (straight-through).

    The forward value is ``quantize_affine(x, bits, symmetric=symmetric,
    axis=axis).dequantize()``; the vector-Jacobian product passes the gradient through
    unchanged (Bengio et al. 2013), the estimator of quantization-aware training
    (Jacob et al. 2018). Use it inside a model's ``forward`` or a loss.

    Parameters
    ----------
    x : array_like
        Finite real tensor (an autograd box when differentiated).
    bits : int
        Code width (see :func:`quantize_affine`).
    symmetric : bool
        Symmetric range.
    axis : int, optional
        Channel axis.

    Returns
    -------
    numpy.ndarray
        Same shape and dtype as ``x``.
    """
    return quantize_affine(x, bits, symmetric=symmetric, axis=axis).dequantize()


defvjp(fake_quantize, lambda ans, x, *args, **kwargs: lambda g: g)


class QuantizationAwareTraining(OptimizerHooks):
    """Straight-through fine-tuning of a model's weights through an optimizer's proximal hook.

    The model's live parameters always hold quantized values ``Q(w)``, so its forward pass and
    gradient are those of the quantized network. The float "shadow" weights ``w`` live here.
    After each optimizer update the hook moves ``w`` by the update the optimizer applied to
    ``Q(w)`` (the straight-through estimator: ``dQ/dw = I``) and writes ``Q(w)`` back.

    Parameters
    ----------
    params : dict of str to numpy.ndarray
        The live parameter dict (``model.params``); the chosen entries are quantized in place.
    names : sequence of str, optional
        Parameters to quantize; default every parameter with ``ndim >= 2``.
    bits : int
        Code width.
    symmetric : bool
        Symmetric range (``0`` exact, the usual choice for weights).
    axis : int, optional
        Channel axis for per-channel ranges.

    Examples
    --------
    >>> from tensornet.nn import Linear, SGD
    >>> layer = Linear(4, 3, random_state=0)
    >>> opt = SGD(layer.params, lr=0.1)
    >>> qat = QuantizationAwareTraining(layer.params, bits=4)
    >>> qat.attach(opt)
    >>> sorted(qat.quantized())
    ['weight']
    """

    def __init__(
        self,
        params: dict[str, np.ndarray],
        names: Sequence[str] | None = None,
        bits: int = 8,
        *,
        symmetric: bool = True,
        axis: int | None = None,
    ) -> None:
        self.names = _param_names(params, names)
        self.bits = _check_bits(bits, bool(symmetric))
        self.symmetric = bool(symmetric)
        self.axis = axis
        self.shadow = {n: params[n].copy() for n in self.names}
        for n in self.names:
            _check_axis(axis, params[n].ndim)
        self._written = {}
        for n in self.names:
            self._write(params, n)

    def _write(self, params: dict[str, np.ndarray], name: str) -> None:
        q = fake_quantize(self.shadow[name], self.bits, self.symmetric, self.axis)
        np.copyto(params[name], q, casting="same_kind")
        self._written[name] = params[name].copy()

    def prox(self, params: dict[str, np.ndarray], lr: float) -> None:
        """Move the shadow weights by the optimizer's update and re-quantize (in place).

        Parameters
        ----------
        params : dict of str to numpy.ndarray
            The live parameters just updated by the optimizer.
        lr : float
            Learning rate of the step (unused: the update is read from ``params``).
        """
        for n in self.names:
            self.shadow[n] += params[n] - self._written[n]
            self._write(params, n)

    def quantized(self) -> dict[str, QuantizedTensor]:
        """The current shadow weights quantized (their values equal the live parameters).

        Returns
        -------
        dict of str to QuantizedTensor
        """
        return {
            n: quantize_affine(w, self.bits, symmetric=self.symmetric, axis=self.axis)
            for n, w in self.shadow.items()
        }


def _param_names(params: Any, names: Sequence[str] | None) -> list[str]:
    """Validated parameter names: the given ones, or every entry with ``ndim >= 2``."""
    if not isinstance(params, dict) or not params:
        raise TypeError(f"params must be a non-empty dict of arrays, got {type(params).__name__}")
    if names is None:
        return [k for k, v in params.items() if np.ndim(v) >= 2]
    if isinstance(names, str):
        raise TypeError(f"names must be a sequence of parameter names, got the string {names!r}")
    out = list(names)
    for n in out:
        if n not in params:
            raise ValueError(f"names holds {n!r}, which is not a parameter")
    return out
