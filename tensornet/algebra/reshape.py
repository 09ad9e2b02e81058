"""Tensorization of vectors and batches, as the tensorized (TT, TR, HT, ...) layers use it.

A vector of length ``I = I_1 ··· I_d`` becomes the d-way tensor with
``X[i_1, ..., i_d] = x[((i_1 I_2 + i_2) I_3 + ...) I_d + i_d]`` (C order, the last index fastest),
and back. The batched forms keep a leading batch axis.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .._validation import check_numeric_array, check_shape, exact_size

__all__ = ["tensorize", "vectorize"]


def tensorize(x: np.ndarray, shape: Sequence[int], batch: bool = False) -> np.ndarray:
    """Reshape a vector (or a batch of vectors) of length ``prod(shape)`` into a tensor.

    Parameters
    ----------
    x : array_like, shape (prod(shape),) or (B, prod(shape)) with ``batch=True``
        The vector(s).
    shape : sequence of int
        The mode sizes ``(I_1, ..., I_d)``.
    batch : bool
        Whether ``x`` carries a leading batch axis that is kept.

    Returns
    -------
    numpy.ndarray, shape ``shape`` or ``(B, *shape)``
    """
    x = check_numeric_array(x, "x")
    shape = check_shape(shape)
    size = exact_size(shape)
    expected_ndim = 2 if batch else 1
    if x.ndim != expected_ndim or x.shape[-1] != size:
        what = "(B, prod(shape))" if batch else "(prod(shape),)"
        raise ValueError(
            f"x must have shape {what} = {('B', size) if batch else (size,)} for shape={shape},"
            f" got {x.shape}"
        )
    return x.reshape((x.shape[0], *shape) if batch else shape)


def vectorize(x: np.ndarray, batch: bool = False) -> np.ndarray:
    """Inverse of :func:`tensorize`: flatten a tensor (or a batch of tensors) in C order.

    Parameters
    ----------
    x : array_like
        The tensor, with a leading batch axis when ``batch=True``.
    batch : bool
        Whether the first axis is a batch axis that is kept.

    Returns
    -------
    numpy.ndarray, shape (prod(shape),) or (B, prod(shape))
    """
    x = check_numeric_array(x, "x")
    if batch:
        if x.ndim < 1:
            raise ValueError("x must have a batch axis when batch=True")
        return x.reshape(x.shape[0], -1)
    return x.reshape(-1)
