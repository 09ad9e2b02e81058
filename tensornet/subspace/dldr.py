"""DLDR: the principal subspace of a training trajectory through the centred Gram matrix.

Stage 2 of DLDR (Li et al., TPAMI 2022; survey Section IV): with the samples ``w_1..w_n`` in
``R^D`` as the rows of ``W``, the centre ``c = mean_i w_i`` and ``Wc = W - 1 c^T``, the top
``d`` principal directions of the trajectory are the top right singular vectors of ``Wc``.
``D`` is large (266,610 for LeNet-300-100) and ``n`` small, so instead of the ``D x D``
covariance the algorithm diagonalizes the ``n x n`` Gram matrix::

    G = Wc Wc^T = V diag(lambda) V^T,      u_i = Wc^T v_i / sqrt(lambda_i),

which costs ``O(n^2 D + n^3)``. The ``u_i`` are orthonormal, ``sigma_i = sqrt(lambda_i)`` are
the singular values of ``Wc``, and ``rank(Wc) <= n - 1`` bounds ``d``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import check_array, check_int

__all__ = ["DLDRBasis", "dldr"]

#: Eigenvalues of ``G`` below this fraction of the largest are treated as zero.
RELATIVE_RANK_TOL = 1e-10


@dataclass(frozen=True)
class DLDRBasis:
    """The result of :func:`dldr`.

    Attributes
    ----------
    basis : numpy.ndarray
        ``P``, shape ``(d, D)``, orthonormal rows: the top ``d`` principal directions.
    explained_variance : numpy.ndarray
        ``lambda_i / (n - 1)``, shape ``(d,)``: the sample variance along each direction
        (the convention of ``sklearn.decomposition.PCA``).
    explained_variance_ratio : numpy.ndarray
        ``lambda_i / sum_j lambda_j``: the fraction of the trajectory's variance per direction.
    singular_values : numpy.ndarray
        ``sqrt(lambda_i)``, the top singular values of the centred samples.
    centre : numpy.ndarray
        ``c``, the mean sample, shape ``(D,)``.
    """

    basis: np.ndarray
    explained_variance: np.ndarray
    explained_variance_ratio: np.ndarray
    singular_values: np.ndarray
    centre: np.ndarray

    def __post_init__(self) -> None:
        basis = check_array(self.basis, "basis", ndim=2)
        d, big_d = basis.shape
        centre = check_array(self.centre, "centre", ndim=1)
        if centre.shape != (big_d,):
            raise ValueError(f"centre has shape {centre.shape}, expected ({big_d},) (basis width)")
        for name in ("explained_variance", "explained_variance_ratio", "singular_values"):
            values = check_array(getattr(self, name), name, ndim=1)
            if values.shape != (d,):
                raise ValueError(f"{name} has shape {values.shape}, expected ({d},)")

    @property
    def n_components(self) -> int:
        """``d``."""
        return int(self.basis.shape[0])

    def coordinates(self, w: np.ndarray) -> np.ndarray:
        """Subspace coordinates ``P (w - c)`` of a vector (or of each row of a matrix).

        Parameters
        ----------
        w : numpy.ndarray
            Shape ``(D,)`` or ``(m, D)``.

        Returns
        -------
        numpy.ndarray
            Shape ``(d,)`` or ``(m, d)``.
        """
        w = np.asarray(w)
        return (w - self.centre) @ self.basis.T

    def reconstruct(self, coords: np.ndarray) -> np.ndarray:
        """The point ``c + P^T z`` of the affine subspace with coordinates ``z``.

        Parameters
        ----------
        coords : numpy.ndarray
            Shape ``(d,)`` or ``(m, d)``.

        Returns
        -------
        numpy.ndarray
            Shape ``(D,)`` or ``(m, D)``.
        """
        return self.centre + np.asarray(coords) @ self.basis


def dldr(samples: np.ndarray, n_components: int, dtype: object = None) -> DLDRBasis:
    """PCA of a trajectory by the centred Gram matrix (DLDR, Li et al. TPAMI 2022, Alg. 1).

    Parameters
    ----------
    samples : array_like
        ``W``, shape ``(n, D)``, one parameter vector per row (e.g.
        :attr:`TrajectorySampler.samples`), ``n >= 2``.
    n_components : int
        ``d``, with ``1 <= d <= n - 1``.
    dtype : numpy dtype, optional
        Dtype of the returned basis and centre; by default that of ``samples`` (float32
        samples give a float32 basis for float32 training). The Gram matrix and its
        eigendecomposition are computed in float64 whatever the input.

    Returns
    -------
    DLDRBasis
        ``basis`` (``d x D``, orthonormal rows, each scaled so its largest-magnitude entry is
        positive), explained variance and its ratio, singular values and ``centre``.

    Raises
    ------
    ValueError
        If ``n_components`` exceeds ``n - 1``, or the centred samples have fewer than
        ``n_components`` nonzero singular values (the trajectory spans fewer directions), or
        the samples hold NaN or Inf.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> w = rng.normal(size=(6, 1)) * np.array([[3.0, 0.0, 0.0]]) + rng.normal(size=(6, 3)) * 1e-3
    >>> r = dldr(w, 1)
    >>> np.round(np.abs(r.basis), 3), bool(r.explained_variance_ratio[0] > 0.999)
    (array([[1., 0., 0.]]), True)
    """
    w = check_array(samples, "samples", ndim=2)
    n, big_d = w.shape
    if n < 2:
        raise ValueError(f"samples must hold at least 2 rows (vectors), got {n}")
    d = check_int(n_components, "n_components", minimum=1, maximum=n - 1)
    out_dtype = np.dtype(w.dtype if dtype is None else dtype)
    if not np.issubdtype(out_dtype, np.floating):
        raise TypeError(f"dtype must be a floating dtype, got {out_dtype}")

    centre = w.mean(axis=0, dtype=np.float64)
    centred = w.astype(np.float64) - centre
    gram = centred @ centred.T
    eigvals, eigvecs = np.linalg.eigh(gram)
    order = np.argsort(eigvals)[::-1]
    eigvals, eigvecs = np.maximum(eigvals[order], 0.0), eigvecs[:, order]
    if not eigvals[d - 1] > RELATIVE_RANK_TOL * max(eigvals[0], np.finfo(float).tiny):
        n_nonzero = int(np.count_nonzero(eigvals > RELATIVE_RANK_TOL * eigvals[0]))
        raise ValueError(
            f"n_components={d} exceeds the {n_nonzero} directions the centred samples span "
            f"(n={n} samples of dimension D={big_d})"
        )
    top = eigvals[:d]
    sigma = np.sqrt(top)
    basis = (eigvecs[:, :d].T @ centred) / sigma[:, None]
    signs = np.sign(basis[np.arange(d), np.argmax(np.abs(basis), axis=1)])
    basis *= signs[:, None]
    total = eigvals.sum()
    return DLDRBasis(
        basis=basis.astype(out_dtype),
        explained_variance=top / (n - 1),
        explained_variance_ratio=top / total,
        singular_values=sigma,
        centre=centre.astype(out_dtype),
    )
