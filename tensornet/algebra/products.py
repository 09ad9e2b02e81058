"""Kronecker, Khatri-Rao, outer and multidimensional Kronecker products (survey Table II, eq. 11).

Index rule (C order): ``(A ⊗ B)[i, j] = A[i // p, j // q] · B[i % p, j % q]`` for ``B`` of
shape ``(p, q)``; the first factor varies slowest. The same rule per mode defines the
multidimensional Kronecker product of eq. 11, and the Khatri-Rao product is the column-wise
Kronecker product. These give the identities used throughout the package:

* ``vec(A X B^T) = (A ⊗ B) vec(X)`` with C-order ``vec`` (``x.reshape(-1)``);
* ``(A ⊗ B)(C ⊗ D) = AC ⊗ BD``;
* ``khatri_rao([A, B])[:, r] = kron(A[:, r], B[:, r])``.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import reduce

import numpy as np

from .._validation import check_axis, check_numeric_array

__all__ = ["kron", "khatri_rao", "outer", "mkron"]


def _as_2d_list(matrices: Sequence[np.ndarray], name: str) -> list[np.ndarray]:
    """Check that every element of ``matrices`` is a 2-D array."""
    out = [check_numeric_array(m, f"{name}[{i}]") for i, m in enumerate(matrices)]
    if not out:
        raise ValueError(f"{name} must hold at least one matrix")
    for i, m in enumerate(out):
        if m.ndim != 2:
            raise ValueError(f"{name}[{i}] must be 2-D, got shape {m.shape}")
    return out


def _kron2(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Kronecker product of two matrices by one broadcast multiply (no Python loop)."""
    (m, n), (p, q) = a.shape, b.shape
    return (a[:, None, :, None] * b[None, :, None, :]).reshape(m * p, n * q)


def kron(*matrices: np.ndarray) -> np.ndarray:
    """Kronecker product ``A_1 ⊗ A_2 ⊗ ... ⊗ A_K`` of matrices (survey Table II).

    Parameters
    ----------
    *matrices : array_like
        Two-dimensional arrays; a single sequence of them is also accepted.

    Returns
    -------
    numpy.ndarray, shape (prod m_k, prod n_k)

    Examples
    --------
    >>> import numpy as np
    >>> kron(np.eye(2), np.ones((1, 2)))
    array([[1., 1., 0., 0.],
           [0., 0., 1., 1.]])
    """
    if len(matrices) == 1 and not isinstance(matrices[0], np.ndarray):
        matrices = tuple(matrices[0])
    mats = _as_2d_list(matrices, "matrices")
    return reduce(_kron2, mats)


def khatri_rao(matrices: Sequence[np.ndarray], skip: int | None = None) -> np.ndarray:
    """Khatri-Rao (column-wise Kronecker) product ``A_1 ⊙ ... ⊙ A_K`` (survey Table II).

    Parameters
    ----------
    matrices : sequence of array_like, each of shape (I_k, R)
        Matrices with the same number of columns.
    skip : int, optional
        Index of a matrix to leave out (as in the MTTKRP of CP-ALS).

    Returns
    -------
    numpy.ndarray, shape (prod I_k, R)
        Column ``r`` is ``kron(A_1[:, r], ..., A_K[:, r])``; the first factor varies slowest.
    """
    mats = _as_2d_list(matrices, "matrices")
    if skip is not None:
        skip = check_axis(skip, len(mats), "skip")
        mats = [m for k, m in enumerate(mats) if k != skip]
        if not mats:
            raise ValueError("khatri_rao needs at least one matrix besides the skipped one")
    n_cols = mats[0].shape[1]
    for i, m in enumerate(mats):
        if m.shape[1] != n_cols:
            raise ValueError(
                f"matrices[{i}] has {m.shape[1]} columns, expected {n_cols} like matrices[0]"
            )
    out = mats[0]
    for m in mats[1:]:
        out = (out[:, None, :] * m[None, :, :]).reshape(-1, n_cols)
    return out


def outer(vectors: Sequence[np.ndarray]) -> np.ndarray:
    """Outer product ``a_1 ∘ a_2 ∘ ... ∘ a_K`` of vectors (survey Table II).

    Parameters
    ----------
    vectors : sequence of array_like, each 1-D
        The vectors.

    Returns
    -------
    numpy.ndarray, shape (len(a_1), ..., len(a_K))
    """
    vecs = [check_numeric_array(v, f"vectors[{i}]") for i, v in enumerate(vectors)]
    if not vecs:
        raise ValueError("vectors must hold at least one vector")
    for i, v in enumerate(vecs):
        if v.ndim != 1:
            raise ValueError(f"vectors[{i}] must be 1-D, got shape {v.shape}")
    out = vecs[0]
    for v in vecs[1:]:
        out = np.multiply.outer(out, v)
    return out


def mkron(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Multidimensional Kronecker product of two N-way tensors (survey eq. 11).

    ``(A ⊗ B)[i_1, ..., i_N] = A[i_1 // J'_1, ..., i_N // J'_N] · B[i_1 % J'_1, ..., i_N % J'_N]``
    where ``B`` has shape ``(J'_1, ..., J'_N)``; the result has shape ``(J_n J'_n)_n``. For
    matrices this is :func:`kron`.

    Parameters
    ----------
    a : array_like, shape (J_1, ..., J_N)
    b : array_like, shape (J'_1, ..., J'_N)
        Tensors with the same number of dimensions.

    Returns
    -------
    numpy.ndarray, shape (J_1 J'_1, ..., J_N J'_N)
    """
    a = check_numeric_array(a, "a")
    b = check_numeric_array(b, "b")
    if a.ndim != b.ndim:
        raise ValueError(
            f"a and b must have the same ndim, got a.shape={a.shape} and b.shape={b.shape}"
        )
    n = a.ndim
    # Interleave the axes: a's axis k sits at 2k, b's at 2k+1, so a's index varies slowest.
    a_exp = a.reshape([s for d in a.shape for s in (d, 1)])
    b_exp = b.reshape([s for d in b.shape for s in (1, d)])
    return (a_exp * b_exp).reshape([a.shape[k] * b.shape[k] for k in range(n)])
