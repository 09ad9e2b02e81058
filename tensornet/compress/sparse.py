"""Sparse storage of pruned weights: CSR/CSC with relative indices of a chosen bit width.

Deep Compression (Han et al. 2016, Sec. 2 and Fig. 2) stores a pruned weight in compressed
sparse row (or column) form, but instead of the absolute column index of every non-zero it
stores the *gap*: the number of zeros skipped since the previous stored entry of the same row.
With ``b``-bit gaps, a run of more than ``2**b - 1`` zeros cannot be expressed; a *filler
zero* is then stored ``2**b`` positions after the previous entry (its gap is ``2**b - 1`` and
its value 0), as often as needed. Here the gap of the ``j``-th entry of a row is
``p_j - p_{j-1} - 1`` with ``p_{-1} = -1``, and an entry whose gap ``g`` exceeds ``2**b - 1``
is preceded by ``floor(g / 2**b)`` fillers.

The byte count is exact: values at their width (the dtype's, or ``value_bits`` for integer
codes), gaps bit-packed at ``b`` bits each (:func:`~tensornet.compress.quantize.pack_bits`), and
the row pointers at the smallest unsigned integer that holds the number of stored entries. A
higher-dimensional weight (a conv kernel ``(O, C, KH, KW)``) is stored as its
``(shape[0], prod(rest))`` matrix.

The forward pass :func:`sparse_linear` multiplies by the stored matrix through
:mod:`scipy.sparse` without densifying it (filler zeros cost one multiply-add each).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse
from autograd.tracer import isbox

from .._validation import check_array, check_int, check_option, check_real_dtype
from ..nn.layers import Linear
from ..nn.module import Module
from .quantize import code_dtype, pack_bits, unpack_bits

__all__ = ["SparseMatrix", "to_sparse", "sparse_linear", "SparseLinear", "pointer_dtype"]

FORMATS = ("csr", "csc")


def pointer_dtype(n_stored: int) -> np.dtype:
    """Smallest unsigned dtype (1, 2, 4 or 8 bytes) holding ``0..n_stored``.

    Parameters
    ----------
    n_stored : int
        Number of stored entries.

    Returns
    -------
    numpy.dtype
    """
    n_stored = check_int(n_stored, "n_stored", minimum=0)
    for dt in (np.uint8, np.uint16, np.uint32):
        if n_stored <= np.iinfo(dt).max:
            return np.dtype(dt)
    return np.dtype(np.uint64)


@dataclass
class SparseMatrix:
    """A matrix in CSR or CSC form with ``index_bits``-bit relative indices (see module doc).

    Attributes
    ----------
    format : {"csr", "csc"}
        Rows (``"csr"``) or columns (``"csc"``) are the compressed lines.
    shape : (int, int)
        Shape of the 2-D view.
    orig_shape : tuple of int
        Shape of the stored array (the 2-D view is ``(orig_shape[0], prod(orig_shape[1:]))``).
    data : numpy.ndarray
        Stored values in line order, filler zeros included (any real dtype).
    gaps : numpy.ndarray
        Zeros skipped before each stored entry within its line, ``< 2**index_bits``.
    indptr : numpy.ndarray of int64
        ``data[indptr[i]:indptr[i+1]]`` is line ``i``.
    index_bits : int
        Width of a gap.
    n_filler : int
        Filler zeros among the stored entries.
    """

    format: str
    shape: tuple[int, int]
    orig_shape: tuple[int, ...]
    data: np.ndarray
    gaps: np.ndarray
    indptr: np.ndarray
    index_bits: int
    n_filler: int

    def __post_init__(self) -> None:
        check_option(self.format, "format", FORMATS)
        self.index_bits = check_int(self.index_bits, "index_bits", minimum=1, maximum=32)
        data, gaps = np.asarray(self.data), np.asarray(self.gaps)
        if data.ndim != 1 or gaps.shape != data.shape:
            raise ValueError(
                f"data and gaps must be 1-D of equal length, got {data.shape} and {gaps.shape}"
            )

    @property
    def n_stored(self) -> int:
        """Stored entries (non-zeros plus fillers)."""
        return int(self.data.size)

    @property
    def nnz(self) -> int:
        """Stored entries that are not fillers."""
        return self.n_stored - self.n_filler

    def positions(self) -> np.ndarray:
        """Absolute position of every stored entry within its line.

        Returns
        -------
        numpy.ndarray of int64
        """
        steps = self.gaps.astype(np.int64) + 1
        run = np.cumsum(steps)
        line_start = np.concatenate([[0], run])[self.indptr[:-1]]
        counts = np.diff(self.indptr)
        return run - 1 - np.repeat(line_start, counts)

    def _scipy(self, values: np.ndarray) -> scipy.sparse.spmatrix:
        cls = scipy.sparse.csr_matrix if self.format == "csr" else scipy.sparse.csc_matrix
        return cls((values, self.positions(), self.indptr), shape=self.shape)

    def to_dense(self) -> np.ndarray:
        """The stored array, shape :attr:`orig_shape`, dtype of :attr:`data`.

        Returns
        -------
        numpy.ndarray
        """
        n_lines = self.shape[0] if self.format == "csr" else self.shape[1]
        line_len = self.shape[1] if self.format == "csr" else self.shape[0]
        out = np.zeros((n_lines, line_len), dtype=self.data.dtype)
        lines = np.repeat(np.arange(n_lines), np.diff(self.indptr))
        out[lines, self.positions()] = self.data
        if self.format == "csc":
            out = out.T
        return out.reshape(self.orig_shape)

    def nbytes(self, value_bits: int | None = None) -> dict[str, int]:
        """Exact bytes of the three streams and their total.

        Parameters
        ----------
        value_bits : int, optional
            Bits per stored value (e.g. the code width after k-means quantization); default the
            dtype's size.

        Returns
        -------
        dict of str to int
            ``"data"``, ``"indices"`` (gaps, bit-packed), ``"indptr"`` and ``"total"``.
        """
        bits = self.data.dtype.itemsize * 8 if value_bits is None else _value_bits(value_bits)
        out = {
            "data": math.ceil(self.n_stored * bits / 8),
            "indices": math.ceil(self.n_stored * self.index_bits / 8),
            "indptr": self.indptr.size * pointer_dtype(self.n_stored).itemsize,
        }
        out["total"] = sum(out.values())
        return out

    def dot(self, x: Any, codebook: Any = None) -> np.ndarray:
        """``W @ x`` for the 2-D view ``W`` (``codebook[data]`` as values when given).

        Parameters
        ----------
        x : array_like
            ``(shape[1],)`` or ``(shape[1], k)``.
        codebook : array_like, optional
            Values of integer codes stored in :attr:`data`.

        Returns
        -------
        numpy.ndarray
        """
        return np.asarray(self._scipy(self._values(codebook)) @ np.asarray(x))

    def rdot(self, x: Any, codebook: Any = None) -> np.ndarray:
        """``x @ W`` for the 2-D view ``W`` (``codebook[data]`` as values when given).

        Parameters
        ----------
        x : array_like
            ``(..., shape[0])``.
        codebook : array_like, optional
            Values of integer codes stored in :attr:`data`.

        Returns
        -------
        numpy.ndarray
        """
        x = np.asarray(x)
        mat = self._scipy(self._values(codebook))
        flat = x.reshape(-1, x.shape[-1])
        return np.asarray((mat.T @ flat.T).T).reshape(*x.shape[:-1], self.shape[1])

    def _values(self, codebook: Any) -> np.ndarray:
        if codebook is None:
            return self.data
        book = check_array(codebook, "codebook", ndim=1)
        if not np.issubdtype(self.data.dtype, np.integer):
            raise TypeError("a codebook needs integer codes as the stored data")
        if self.data.size and int(self.data.max()) >= book.size:
            raise ValueError(f"a stored code exceeds the codebook size {book.size}")
        return book[self.data]

    # ------------------------------------------------------------ serialization
    def to_arrays(self, value_bits: int | None = None) -> dict[str, np.ndarray]:
        """``"data"`` (raw, or bit-packed integer codes with ``value_bits``), ``"gaps"``
        (bit-packed) and ``"indptr"`` (smallest unsigned dtype); their sizes are
        :meth:`nbytes`.

        Parameters
        ----------
        value_bits : int, optional
            Pack integer data at this width.

        Returns
        -------
        dict of str to numpy.ndarray
        """
        if value_bits is None:
            data = self.data.copy()
        else:
            if not np.issubdtype(self.data.dtype, np.integer):
                raise TypeError("value_bits packs integer data only")
            data = pack_bits(self.data, _value_bits(value_bits))
        return {
            "data": data,
            "gaps": pack_bits(self.gaps, self.index_bits),
            "indptr": self.indptr.astype(pointer_dtype(self.n_stored)),
        }

    def to_meta(self, value_bits: int | None = None) -> dict[str, Any]:
        """Format, shapes, widths and counts (JSON).

        Parameters
        ----------
        value_bits : int, optional
            As given to :meth:`to_arrays`.

        Returns
        -------
        dict
        """
        return {
            "kind": "SparseMatrix",
            "format": self.format,
            "orig_shape": list(self.orig_shape),
            "index_bits": self.index_bits,
            "n_stored": self.n_stored,
            "n_filler": self.n_filler,
            "dtype": str(self.data.dtype),
            "value_bits": value_bits,
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> SparseMatrix:
        """Inverse of :meth:`to_arrays` / :meth:`to_meta`, checking every stream.

        Parameters
        ----------
        arrays : dict of str to numpy.ndarray
        meta : dict

        Returns
        -------
        SparseMatrix

        Raises
        ------
        ValueError
            When a stream is missing, has the wrong length, or points outside the matrix.
        """
        try:
            fmt = check_option(meta["format"], "meta['format']", FORMATS)
            orig = tuple(check_int(s, "meta['orig_shape']", minimum=0) for s in meta["orig_shape"])
            bits = check_int(meta["index_bits"], "meta['index_bits']", minimum=1, maximum=32)
            n_stored = check_int(meta["n_stored"], "meta['n_stored']", minimum=0)
            n_filler = check_int(meta["n_filler"], "meta['n_filler']", minimum=0)
            dtype = np.dtype(meta["dtype"])
            data, gaps, indptr = arrays["data"], arrays["gaps"], arrays["indptr"]
        except KeyError as err:
            raise ValueError(f"sparse matrix record lacks {err}") from None
        if n_filler > n_stored:
            raise ValueError(f"meta['n_filler']={n_filler} exceeds n_stored={n_stored}")
        shape = _matrix_shape(orig)
        gaps = unpack_bits(np.asarray(gaps), bits, n_stored)
        value_bits = meta.get("value_bits")
        if value_bits is not None:
            data = unpack_bits(np.asarray(data), _value_bits(value_bits), n_stored).astype(dtype)
        data = np.asarray(data)
        if data.shape != (n_stored,) or data.dtype != dtype:
            raise ValueError(f"data has shape {data.shape} and dtype {data.dtype}")
        n_lines = shape[0] if fmt == "csr" else shape[1]
        indptr = np.asarray(indptr).astype(np.int64)
        if (indptr.shape != (n_lines + 1,) or indptr[0] != 0 or indptr[-1] != n_stored
                or np.any(np.diff(indptr) < 0)):  # fmt: skip
            raise ValueError(f"indptr is not a pointer array of {n_lines} lines into {n_stored}")
        out = cls(fmt, shape, orig, data, gaps, indptr, bits, n_filler)
        line_len = shape[1] if fmt == "csr" else shape[0]
        if n_stored and int(out.positions().max()) >= line_len:
            raise ValueError(f"the gaps point beyond the line length {line_len}")
        return out


def _value_bits(value_bits: Any) -> int:
    return check_int(value_bits, "value_bits", minimum=1, maximum=64)


def _matrix_shape(shape: tuple[int, ...]) -> tuple[int, int]:
    if len(shape) == 1:
        return (1, shape[0])
    return (shape[0], math.prod(shape[1:]))


def to_sparse(w: Any, index_bits: int = 8, *, format: str = "csr") -> SparseMatrix:
    """Store ``w``'s non-zeros in CSR/CSC form with relative ``index_bits``-bit indices.

    Parameters
    ----------
    w : array_like
        Real or integer array, ``ndim >= 1`` (viewed as ``(shape[0], prod(shape[1:]))``; a
        vector as one row). Integer arrays (quantization codes) store their non-zero codes.
    index_bits : int
        Width of a relative index, ``1..32`` (Deep Compression: 8 for conv, 5 for fc layers).
    format : {"csr", "csc"}
        Compress rows or columns.

    Returns
    -------
    SparseMatrix
        ``to_dense()`` reproduces ``w`` exactly.

    Examples
    --------
    >>> s = to_sparse([[0, 3.0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5.0]], index_bits=2)
    >>> s.gaps.tolist(), s.data.tolist(), s.n_filler
    ([1, 3, 3, 3], [3.0, 0.0, 0.0, 5.0], 2)
    """
    arr = check_real_dtype(w, "w")
    if arr.ndim == 0:
        raise ValueError("w must have ndim >= 1, got a scalar")
    if np.issubdtype(arr.dtype, np.floating):
        arr = check_array(arr, "w", allow_empty=True)
    elif arr.dtype == np.bool_:
        raise TypeError("w must be a real or integer array, got dtype bool")
    index_bits = check_int(index_bits, "index_bits", minimum=1, maximum=32)
    format = check_option(format, "format", FORMATS)
    shape = _matrix_shape(arr.shape)
    mat = arr.reshape(shape)
    lines = mat if format == "csr" else mat.T
    return _encode(lines, index_bits, format, shape, arr.shape)


def _encode(lines: np.ndarray, bits: int, fmt: str, shape, orig) -> SparseMatrix:
    """Gaps with fillers, vectorized over all entries (see the module docstring)."""
    line_idx, pos = np.nonzero(lines)
    values = lines[line_idx, pos]
    first = np.ones(pos.size, dtype=bool)
    first[1:] = line_idx[1:] != line_idx[:-1]
    prev = np.where(first, -1, np.concatenate([[-1], pos[:-1]]))
    gap = pos - prev - 1
    period = 2**bits
    fillers = gap // period
    counts = fillers + 1
    total = int(counts.sum())
    real = np.cumsum(counts) - 1
    gaps = np.full(total, period - 1, dtype=np.int64)
    gaps[real] = gap - fillers * period
    data = np.zeros(total, dtype=lines.dtype)
    data[real] = values
    per_line = np.bincount(line_idx, weights=counts, minlength=lines.shape[0]).astype(np.int64)
    indptr = np.concatenate([[0], np.cumsum(per_line)]).astype(np.int64)
    return SparseMatrix(fmt, shape, tuple(orig), data, gaps.astype(code_dtype(bits)), indptr,
                        bits, int(fillers.sum()))  # fmt: skip


def sparse_linear(x: Any, s: SparseMatrix, bias: Any = None, codebook: Any = None) -> np.ndarray:
    """``x @ W + b`` with ``W`` (``(in, out)``) held as a :class:`SparseMatrix` (inference).

    Parameters
    ----------
    x : array_like
        ``(batch, in)``.
    s : SparseMatrix
        The weight, 2-D view ``(in, out)``.
    bias : array_like, optional
        ``(out,)``.
    codebook : array_like, optional
        Values of integer codes stored in ``s`` (weight sharing).

    Returns
    -------
    numpy.ndarray
    """
    if not isinstance(s, SparseMatrix):
        raise TypeError(f"s must be a SparseMatrix, got {type(s).__name__}")
    x = check_array(x, "x", ndim=2)
    if x.shape[1] != s.shape[0]:
        raise ValueError(f"x has {x.shape[1]} features, the sparse weight {s.shape[0]} rows")
    out = s.rdot(x, codebook)
    if bias is not None:
        out = out + np.asarray(bias)
    return out.astype(x.dtype, copy=False)


class SparseLinear(Module):
    """Inference-only linear layer whose weight is a :class:`SparseMatrix` (not trainable).

    Parameters
    ----------
    weight : SparseMatrix
        ``(in_features, out_features)`` view.
    bias : array_like, optional
        Registered as the parameter ``"bias"``.
    codebook : array_like, optional
        Values of integer codes stored in ``weight``.
    """

    def __init__(self, weight: SparseMatrix, bias: Any = None, codebook: Any = None) -> None:
        super().__init__()
        if not isinstance(weight, SparseMatrix):
            raise TypeError(f"weight must be a SparseMatrix, got {type(weight).__name__}")
        self.weight = weight
        self.codebook = None if codebook is None else check_array(codebook, "codebook", ndim=1)
        self.in_features, self.out_features = weight.shape
        if bias is not None:
            b = check_array(bias, "bias", ndim=1)
            if b.shape[0] != self.out_features:
                raise ValueError(f"bias has {b.shape[0]} entries, expected {self.out_features}")
            self.add_param("bias", b.copy())

    @classmethod
    def from_linear(cls, layer: Linear, index_bits: int = 8) -> SparseLinear:
        """The sparse copy of a (pruned) :class:`~tensornet.nn.Linear`.

        Parameters
        ----------
        layer : Linear
        index_bits : int
            Relative index width.

        Returns
        -------
        SparseLinear
        """
        if not isinstance(layer, Linear):
            raise TypeError(f"layer must be a tensornet.nn.Linear, got {type(layer).__name__}")
        return cls(to_sparse(layer.params["weight"], index_bits), layer.params.get("bias"))

    def forward(self, params: dict[str, Any], x: Any) -> Any:
        """``x @ W + b`` through the sparse weight (no gradient).

        Parameters
        ----------
        params : dict
            ``"bias"`` if the layer has one.
        x : array_like
            ``(batch, in_features)``.

        Returns
        -------
        numpy.ndarray
        """
        if isbox(x) or any(isbox(v) for v in params.values()):
            raise TypeError("SparseLinear is inference-only: it cannot be differentiated")
        return sparse_linear(x, self.weight, params.get("bias"), self.codebook)

    def extra_repr(self) -> str:
        return f"{self.in_features}, {self.out_features}, nnz={self.weight.nnz}"
