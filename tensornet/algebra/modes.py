"""Unfolding, folding and mode-n products (survey Table II; Kolda & Bader 2009, Sec. 2.4-2.5).

C-order convention
------------------
The mode-n unfolding is ``X_(n) = moveaxis(X, n, 0).reshape(I_n, -1)``: the remaining modes keep
their order and the *last* one varies fastest. With this convention a CP tensor satisfies
``X_(n) = A_n · khatri_rao([A_0, ..., A_{n-1}, A_{n+1}, ..., A_{d-1}])^T`` and a Tucker tensor
``X_(n) = U_n · G_(n) · kron(U_0, ..., U_{n-1}, U_{n+1}, ..., U_{d-1})^T``, where the first factor
of the Kronecker/Khatri-Rao product varies slowest. (Kolda & Bader's column-major unfolding
reverses that factor order.)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .._validation import check_axis, check_numeric_array, check_shape, exact_size

__all__ = ["unfold", "fold", "mode_dot", "multi_mode_dot"]


def unfold(x: np.ndarray, mode: int) -> np.ndarray:
    """Mode-n unfolding (matricization) ``X_(n)`` of a tensor, in C order.

    Parameters
    ----------
    x : array_like, shape (I_0, ..., I_{d-1})
        The tensor.
    mode : int
        The mode ``n`` whose fibres become the columns.

    Returns
    -------
    numpy.ndarray, shape (I_n, prod_{k != n} I_k)

    Examples
    --------
    >>> import numpy as np
    >>> unfold(np.arange(24).reshape(2, 3, 4), 1).shape
    (3, 8)
    """
    x = check_numeric_array(x, "x")
    mode = check_axis(mode, x.ndim)
    return np.moveaxis(x, mode, 0).reshape(x.shape[mode], -1)


def fold(m: np.ndarray, mode: int, shape: Sequence[int]) -> np.ndarray:
    """Inverse of :func:`unfold`: rebuild the tensor of ``shape`` from its mode-n unfolding.

    Parameters
    ----------
    m : array_like, shape (I_n, prod_{k != n} I_k)
        The unfolding.
    mode : int
        The mode it was unfolded along.
    shape : sequence of int
        Shape of the tensor.

    Returns
    -------
    numpy.ndarray of shape ``shape``
    """
    m = check_numeric_array(m, "m")
    shape = check_shape(shape)
    mode = check_axis(mode, len(shape))
    moved = (shape[mode],) + shape[:mode] + shape[mode + 1 :]
    if m.ndim != 2 or m.size != exact_size(shape) or m.shape[0] != shape[mode]:
        raise ValueError(
            f"m of shape {m.shape} is not a mode-{mode} unfolding of a tensor of shape {shape}"
        )
    return np.moveaxis(m.reshape(moved), 0, mode)


def mode_dot(x: np.ndarray, matrix: np.ndarray, mode: int, transpose: bool = False) -> np.ndarray:
    """Mode-n product ``X ×_n A`` (survey Table II): ``unfold(X ×_n A, n) = A · X_(n)``.

    Parameters
    ----------
    x : array_like, shape (I_0, ..., I_{d-1})
        The tensor.
    matrix : array_like, shape (J, I_n) (or (I_n, J) with ``transpose=True``), or (I_n,)
        The matrix; a vector contracts the mode away.
    mode : int
        The mode ``n``.
    transpose : bool
        Multiply by ``matrix.T`` instead.

    Returns
    -------
    numpy.ndarray
        Shape ``(I_0, ..., J, ..., I_{d-1})``; for a vector the mode is removed.
    """
    x = check_numeric_array(x, "x")
    a = check_numeric_array(matrix, "matrix")
    mode = check_axis(mode, x.ndim)
    if a.ndim == 1:
        if a.shape[0] != x.shape[mode]:
            raise ValueError(
                f"matrix has length {a.shape[0]} but x has size {x.shape[mode]} in mode {mode}"
            )
        return np.tensordot(x, a, axes=([mode], [0]))
    if a.ndim != 2:
        raise ValueError(f"matrix must be 1-D or 2-D, got ndim={a.ndim}")
    if transpose:
        a = a.T
    if a.shape[1] != x.shape[mode]:
        raise ValueError(
            f"matrix has {a.shape[1]} columns but x has size {x.shape[mode]} in mode {mode}"
            f" (matrix shape {a.shape}, transpose={transpose})"
        )
    out = np.tensordot(a, x, axes=([1], [mode]))
    return np.moveaxis(out, 0, mode)


def multi_mode_dot(
    x: np.ndarray,
    matrices: Sequence[np.ndarray],
    modes: Sequence[int] | None = None,
    skip: int | None = None,
    transpose: bool = False,
) -> np.ndarray:
    """Product ``X ×_{m_1} A_1 ×_{m_2} A_2 ...`` with several matrices.

    Parameters
    ----------
    x : array_like
        The tensor.
    matrices : sequence of array_like
        One matrix per mode (all modes when ``modes`` is None).
    modes : sequence of int, optional
        The modes the matrices act on; defaults to ``range(len(matrices))``.
    skip : int, optional
        A mode to leave out (its matrix, if given, is ignored).
    transpose : bool
        Multiply by the transposes.

    Returns
    -------
    numpy.ndarray
    """
    x = check_numeric_array(x, "x")
    matrices = [check_numeric_array(a, f"matrices[{i}]") for i, a in enumerate(matrices)]
    modes = list(range(len(matrices))) if modes is None else list(modes)
    if len(modes) != len(matrices):
        raise ValueError(f"modes has length {len(modes)} but matrices has length {len(matrices)}")
    if skip is not None:
        skip = check_axis(skip, x.ndim, "skip")
    out = x
    for a, m in zip(matrices, modes, strict=True):
        m = check_axis(m, x.ndim)
        if m == skip:
            continue
        if np.ndim(a) != 2:
            raise ValueError(f"matrices must be 2-D; the one for mode {m} has ndim={np.ndim(a)}")
        # Order of application does not matter: products along different modes commute.
        out = mode_dot(out, a, m, transpose=transpose)
    return out
