"""Kronecker product decompositions: KPD (Van Loan & Pitsianis 1993) and GKPD (survey eq. 11-13).

The rearrangement trick
-----------------------
Write every mode index of ``X`` (shape ``(I_1, ..., I_N)``, ``I_n = J_n K_n``) as
``i_n = j_n K_n + k_n``. The map

.. math::

    \\mathcal{R}(\\mathcal{X})[(j_1, \\dots, j_N), (k_1, \\dots, k_N)]
        = \\mathcal{X}[j_1 K_1 + k_1, \\dots, j_N K_N + k_N]

is a permutation of the entries (so it preserves the Frobenius norm), and it sends a Kronecker
product to a rank-one matrix: ``R(A ⊗ B) = vec(A) vec(B)^T``. Hence

.. math::

    \\Big\\| \\mathcal{X} - \\sum_{r=1}^R \\mathcal{A}_r \\otimes \\mathcal{B}_r \\Big\\|_F
    = \\Big\\| \\mathcal{R}(\\mathcal{X}) - \\sum_{r=1}^R \\operatorname{vec}(\\mathcal{A}_r)
      \\operatorname{vec}(\\mathcal{B}_r)^T \\Big\\|_F,

and by Eckart-Young the best Kronecker-rank-``R`` approximation comes from the rank-``R``
truncated SVD of ``R(X)``, with error ``sqrt(sum_{r > R} sigma_r^2)``. This is Van Loan and
Pitsianis' KPD for matrices (``N = 2``) and the GKPD of Hameed et al. (2022) for ``N`` modes.

Scaling convention: ``A_r = sqrt(sigma_r) reshape(u_r)`` and ``B_r = sqrt(sigma_r) reshape(v_r)``
(the balanced split; any ``c A_r ⊗ B_r / c`` represents the same tensor).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .._deprecation import deprecated_arguments
from .._validation import check_array, check_eps, check_rank, check_shape, scale_equivariant
from ..algebra.truncation import error_budget, thin_svd, truncate
from ..formats.kron import KronTensor

__all__ = ["kpd", "gkpd", "kron_rearrange", "kron_shapes"]


@deprecated_arguments(renamed={"a_shapes": "a_shape", "b_shapes": "b_shape"})
def kron_shapes(
    shape: Sequence[int],
    a_shape: Sequence[int],
    b_shape: Sequence[int] | None = None,
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Check (or complete) the factor shapes of a Kronecker decomposition of a tensor of ``shape``.

    Parameters
    ----------
    shape : sequence of int
        ``(I_1, ..., I_N)``, the shape of the tensor.
    a_shape : sequence of int
        ``(J_1, ..., J_N)``, the shape of every left factor ``A_r``.
    b_shape : sequence of int, optional
        ``(K_1, ..., K_N)``, the shape of every right factor ``B_r``; by default
        ``K_n = I_n / J_n``.

    Returns
    -------
    a_shape, b_shape : tuple of int

    Raises
    ------
    ValueError
        If the lengths differ from ``N`` or ``J_n K_n != I_n`` (or ``J_n`` does not divide
        ``I_n`` when ``b_shape`` is omitted).
    """
    shape = check_shape(shape, "shape")
    a_shape = check_shape(a_shape, "a_shape")
    if len(a_shape) != len(shape):
        raise ValueError(
            f"a_shape={a_shape} has {len(a_shape)} entries but the tensor of shape {shape} has "
            f"{len(shape)} modes"
        )
    if b_shape is None:
        for n, (i, j) in enumerate(zip(shape, a_shape, strict=False)):
            if i % j:
                raise ValueError(
                    f"a_shape[{n}]={j} does not divide the mode size I_{n}={i} of the tensor of "
                    f"shape {shape}"
                )
        return a_shape, tuple(i // j for i, j in zip(shape, a_shape, strict=False))
    b_shape = check_shape(b_shape, "b_shape")
    if len(b_shape) != len(shape):
        raise ValueError(
            f"b_shape={b_shape} has {len(b_shape)} entries but the tensor of shape {shape} has "
            f"{len(shape)} modes"
        )
    for n, (i, j, k) in enumerate(zip(shape, a_shape, b_shape, strict=False)):
        if j * k != i:
            raise ValueError(
                f"a_shape[{n}] * b_shape[{n}] = {j} * {k} = {j * k} must equal the mode size "
                f"I_{n}={i} of the tensor of shape {shape} (J_n K_n = I_n)"
            )
    return a_shape, b_shape


@deprecated_arguments(renamed={"a_shapes": "a_shape", "b_shapes": "b_shape"})
def kron_rearrange(
    x: np.ndarray, a_shape: Sequence[int], b_shape: Sequence[int] | None = None
) -> np.ndarray:
    """The Van Loan-Pitsianis rearrangement ``R(X)`` of shape ``(prod J_n, prod K_n)``.

    ``R(X)[(j_1..j_N), (k_1..k_N)] = X[j_1 K_1 + k_1, ..., j_N K_N + k_N]`` (C order on both
    sides). It is a permutation of the entries and maps ``mkron(A, B)`` to
    ``outer(A.ravel(), B.ravel())``.

    Parameters
    ----------
    x : array_like, shape (I_1, ..., I_N)
        The tensor.
    a_shape : sequence of int
        ``(J_1, ..., J_N)``.
    b_shape : sequence of int, optional
        ``(K_1, ..., K_N)``; inferred as ``I_n / J_n`` when omitted.

    Returns
    -------
    numpy.ndarray, shape (prod J_n, prod K_n)
    """
    x = check_array(x, "x")
    a_shape, b_shape = kron_shapes(x.shape, a_shape, b_shape)
    n = x.ndim
    split = [s for jk in zip(a_shape, b_shape, strict=False) for s in jk]
    order = [2 * k for k in range(n)] + [2 * k + 1 for k in range(n)]
    return x.reshape(split).transpose(order).reshape(int(np.prod(a_shape)), int(np.prod(b_shape)))


@deprecated_arguments(renamed={"a_shapes": "a_shape", "b_shapes": "b_shape"}, positional=("eps",))
@scale_equivariant
def gkpd(
    x: np.ndarray,
    a_shape: Sequence[int],
    b_shape: Sequence[int] | None = None,
    rank: int | None = 1,
    *,
    eps: float | None = None,
) -> KronTensor:
    """Generalized Kronecker product decomposition ``X ≈ sum_r A_r ⊗ B_r`` (survey eq. 11-13).

    The best approximation of Kronecker rank ``<= rank`` in the Frobenius norm (Eckart-Young on
    the rearranged matrix, see the module docstring; Hameed et al. 2022).

    Parameters
    ----------
    x : array_like, shape (I_1, ..., I_N)
        The tensor (a matrix gives the ordinary KPD).
    a_shape : sequence of int
        ``(J_1, ..., J_N)``, the shape of each ``A_r``.
    b_shape : sequence of int, optional
        ``(K_1, ..., K_N)``, the shape of each ``B_r``; inferred as ``I_n / J_n``.
    rank : int or None
        Number of Kronecker terms ``R``; ``None`` means the full Kronecker rank
        ``min(prod J_n, prod K_n)`` (exact). With ``eps`` it is an upper bound.
    eps : float, optional
        Relative error bound in ``[0, 1)``: the smallest ``R`` with
        ``||X - approx|| <= eps ||X||`` is chosen (capped by ``rank``; ``eps=0`` drops only
        numerically zero terms).

    Returns
    -------
    KronTensor
        With ``info["error"] = sqrt(sum_{r > R} sigma_r^2)`` (the exact Frobenius error),
        ``info["rel_error"]``, ``info["singular_values"]`` (all ``sigma_r`` of ``R(X)``) and
        ``info["max_rank"]``. An all-zero ``x`` gives zero factors with ``rel_error = 0``
        (rank 1 where ``eps`` chooses it).

    Raises
    ------
    ValueError
        If ``J_n K_n != I_n`` for some mode, or ``rank`` exceeds the full Kronecker rank.

    Examples
    --------
    >>> import numpy as np
    >>> from tensornet.algebra import mkron
    >>> rng = np.random.default_rng(0)
    >>> x = mkron(rng.standard_normal((2, 3)), rng.standard_normal((4, 5)))
    >>> k = gkpd(x, (2, 3), rank=1)
    >>> bool(k.info["error"] < 1e-12 * np.linalg.norm(x))
    True
    """
    x = check_array(x, "x")
    a_shape, b_shape = kron_shapes(x.shape, a_shape, b_shape)
    eps = check_eps(eps)
    max_rank = min(int(np.prod(a_shape)), int(np.prod(b_shape)))
    if rank is not None:
        rank = check_rank(rank, "rank")
        if rank > max_rank:
            raise ValueError(
                f"rank={rank} exceeds the full Kronecker rank {max_rank} = min(prod a_shape, "
                f"prod b_shape) for a_shape={a_shape}, b_shape={b_shape}"
            )
    m = kron_rearrange(x, a_shape, b_shape)
    u, s, vt = thin_svd(m)
    r = truncate(s, error_budget(eps, float(np.linalg.norm(s)), 1), rank)
    root = np.sqrt(s[:r])
    a = (u[:, :r] * root).T.reshape((r, *a_shape))
    b = (vt[:r] * root[:, None]).reshape((r, *b_shape))
    out = KronTensor(a, b)
    error = float(np.sqrt(np.sum(s[r:].astype(np.float64) ** 2)))
    norm = float(np.linalg.norm(s))
    out.info = {
        "error": error,
        "rel_error": error / norm if norm > 0 else 0.0,
        "singular_values": s.copy(),
        "max_rank": max_rank,
    }
    return out


@deprecated_arguments(positional=("eps",))
@scale_equivariant
def kpd(
    m: np.ndarray,
    a_shape: Sequence[int],
    b_shape: Sequence[int] | None = None,
    rank: int | None = 1,
    *,
    eps: float | None = None,
) -> KronTensor:
    """Kronecker product decomposition of a matrix ``M ≈ sum_r A_r ⊗ B_r`` (Van Loan & Pitsianis).

    The matrix case of :func:`gkpd`: ``M`` of shape ``(m_1 m_2, n_1 n_2)``, ``A_r`` of shape
    ``a_shape = (m_1, n_1)`` and ``B_r`` of shape ``b_shape = (m_2, n_2)``. The rearranged matrix
    stacks the vectorized ``m_2 x n_2`` blocks of ``M`` as rows; its rank-``R`` truncated SVD
    gives the optimal factors (Eckart-Young).

    Parameters
    ----------
    m : array_like, shape (m_1 m_2, n_1 n_2)
        The matrix.
    a_shape : sequence of two int
        ``(m_1, n_1)``.
    b_shape : sequence of two int, optional
        ``(m_2, n_2)``; inferred when omitted.
    rank : int or None
        Number of Kronecker terms (``None``: full Kronecker rank, exact).
    eps : float, optional
        Relative error bound, as in :func:`gkpd`.

    Returns
    -------
    KronTensor
        Of shape ``m.shape``, with the error report of :func:`gkpd` in ``info``.

    Raises
    ------
    ValueError
        If ``m`` is not 2-D or the shapes do not multiply to ``m.shape``.
    """
    m = check_array(m, "m", ndim=2)
    return gkpd(m, a_shape, b_shape, rank=rank, eps=eps)
