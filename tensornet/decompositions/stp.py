"""Fitting the semi-tensor-product formats to a given tensor (our derivation; see the guide).

Zhao et al. (arXiv 2109.15200) train STP-based layers from scratch; they give no algorithm that
decomposes a given (pre-trained) tensor. The functions here do that by **exact reductions** to
the ordinary algorithms, derived in ``docs/guide/stp-formats.md`` and tested:

* :func:`st_tucker`: ``X ≈ G ⋉_1 A^(1) ⋯ ⋉_N A^(N)`` is the Tucker approximation of ``X``
  reshaped to ``(I_1/t, t, ..., I_N/t, t)`` with full rank ``t`` on the ``t`` sub-modes
  (whose orthogonal ``t x t`` factors are absorbed into the core). So HOSVD keeps its
  ``sqrt(N)``-quasi-optimality and HOOI its monotone descent, now for STTucker.
* :func:`stt_svd`: an STT with uniform ``t`` and ranks ``r_k`` *is* a TT of the same tensor with
  ranks ``r_k / t`` (only the first core is re-indexed), so TT-SVD with ranks ``r_k / t`` gives it
  with the TT-SVD guarantee ``||X - STT|| <= eps ||X||``.
* :func:`str_als`: an STR with uniform ``t`` represents exactly the tensors of a TR with ranks
  ``r_k / t`` (the first core enters only through a partial trace), so it is TR-ALS with
  ranks ``r_k / t`` followed by the lift :meth:`~tensornet.formats.STRTensor.from_reduced`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._deprecation import deprecated_arguments
from .._validation import check_array, check_int, check_option, check_ranks, scale_equivariant
from ..algebra import mode_dot
from ..formats.stp import STRTensor, STTTensor, STTuckerTensor
from .tr import _check_als_ranks, tr_als
from .tt import tt_svd
from .tucker import hosvd, tucker_hooi

__all__ = ["st_tucker", "stt_svd", "str_als", "stp_split"]


def _check_divides(t: int, sizes: Sequence[int], what: str) -> None:
    for n, size in enumerate(sizes):
        if size % t:
            raise ValueError(f"t={t} does not divide {what}[{n}]={size}")


def stp_split(x: np.ndarray, t: int) -> np.ndarray:
    """Reshape ``x`` of shape ``(I_1, ..., I_N)`` to ``(I_1/t, t, ..., I_N/t, t)`` (C order).

    Index ``i_n = i'_n t + s_n`` goes to ``(i'_n, s_n)``: the sub-mode that ``⊗ I_t`` acts on is
    the fast one.

    Parameters
    ----------
    x : array_like
        The tensor; ``t`` must divide every mode size.
    t : int
        The STP factor.

    Returns
    -------
    numpy.ndarray
    """
    x = check_array(x, "x")
    t = check_int(t, "t", minimum=1)
    _check_divides(t, x.shape, "x.shape")
    return x.reshape([s for n in x.shape for s in (n // t, t)])


@deprecated_arguments(renamed={"solver": "hooi_method"}, positional=("t", "method", "random_state"))
@scale_equivariant
def st_tucker(
    x: np.ndarray,
    ranks: int | Sequence[int],
    *,
    t: int,
    method: str = "hosvd",
    random_state: Any = None,
    hooi_method: str = "power",
    **hooi_options: Any,
) -> STTuckerTensor:
    """Semi-tensor Tucker approximation ``X ≈ G ⋉_1 A^(1) ⋯ ⋉_N A^(N)`` (survey eq. 16).

    Computed as a Tucker approximation of :func:`stp_split` ``(x, t)`` with multilinear ranks
    ``(R_1/t, t, ..., R_N/t, t)``; the ``t x t`` factors of the ``t`` sub-modes are absorbed
    into the core, which leaves exactly the identities ``⊗ I_t`` of the STTucker format. The
    error is therefore *equal* to that of the Tucker algorithm on the split tensor.

    Parameters
    ----------
    x : array_like, shape (I_1, ..., I_N)
        The tensor; ``t`` divides every ``I_n``.
    ranks : int or sequence of int
        Core sizes ``R_n`` (divisible by ``t``, at most ``I_n``).
    t : int
        The STP factor (keyword-only; ``t = 1``: ordinary Tucker).
    method : {"hosvd", "hooi"}
        :func:`~tensornet.decompositions.hosvd` (one pass, ``sqrt(N)``-quasi-optimal on the split
        problem) or :func:`~tensornet.decompositions.tucker_hooi` (iterated, never worse).
    random_state : None, int or numpy.random.Generator
        Passed to HOOI.
    hooi_method : {"power", "eigh"}
        HOOI's subspace update (the ``method`` of
        :func:`~tensornet.decompositions.tucker_hooi`), used when ``method="hooi"``.
    **hooi_options
        Further keyword arguments of :func:`~tensornet.decompositions.tucker_hooi`
        (``n_iter_max``, ``tol``, ``init``).

    Returns
    -------
    STTuckerTensor
        ``info`` holds ``rel_error`` (the Tucker algorithm's report on the split tensor, which
        is the STTucker error), ``split_ranks`` and ``method``. An all-zero ``x`` gives a
        zero core with ``rel_error = 0``.

    Raises
    ------
    ValueError
        If ``t`` does not divide a mode size or a rank, or ``R_n > I_n``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).standard_normal((4, 6, 8))
    >>> st = st_tucker(x, ranks=(4, 6, 8), t=2)  # full ranks: exact
    >>> bool(st.relative_error(x) < 1e-12), st.n_params == 4 * 6 * 8 + (4 * 4 + 6 * 6 + 8 * 8) // 4
    (True, True)
    """
    x = check_array(x, "x")
    t = check_int(t, "t", minimum=1)
    method = check_option(method, "method", ("hosvd", "hooi"))
    _check_divides(t, x.shape, "x.shape")
    caps = check_ranks(ranks, x.ndim, "ranks")
    _check_divides(t, caps, "ranks")
    for n, (r, size) in enumerate(zip(caps, x.shape, strict=True)):
        if r > size:
            raise ValueError(f"ranks[{n}]={r} exceeds the mode size I_{n}={size}")
    split_ranks = [s for r in caps for s in (r // t, t)]
    y = stp_split(x, t)
    if method == "hosvd":
        tucker = hosvd(y, split_ranks)
    else:
        tucker = tucker_hooi(
            y, split_ranks, method=hooi_method, random_state=random_state, **hooi_options
        )
    core = tucker.core
    for n in range(x.ndim):
        core = mode_dot(core, tucker.factor(2 * n + 1), 2 * n + 1)  # absorb the t x t factor
    core = core.reshape([core.shape[2 * n] * t for n in range(x.ndim)])
    out = STTuckerTensor(core, [tucker.factor(2 * n) for n in range(x.ndim)], t)
    out.info = {
        "rel_error": float(tucker.info["rel_error"]),
        "split_ranks": tuple(split_ranks),
        "method": method,
    }
    return out


def _stt_ranks(ranks: Any, d: int, t: int) -> list[int] | None:
    """STT rank caps -> TT rank caps ``r_k / t`` (``None`` passes through)."""
    if ranks is None:
        return None
    caps = check_ranks(ranks, d - 1, "ranks")
    _check_divides(t, caps, "ranks")
    return [r // t for r in caps]


@deprecated_arguments(positional=("eps",))
@scale_equivariant
def stt_svd(
    x: np.ndarray,
    ranks: int | Sequence[int] | None = None,
    *,
    eps: float | None = None,
    t: int,
) -> STTTensor:
    """Semi-tensor train approximation by TT-SVD of the reduced problem (our derivation).

    An STT with uniform ``t`` and ranks ``r_k`` represents exactly the TT tensors with ranks
    ``r_k / t`` (:meth:`~tensornet.formats.STTTensor.to_tt`), so the TT-SVD with ranks
    ``r_k / t`` is re-indexed into an STT (:meth:`~tensornet.formats.STTTensor.from_tt`). The
    error and its guarantee are those of :func:`~tensornet.decompositions.tt_svd`.

    Parameters
    ----------
    x : array_like, shape (I_1, ..., I_d), d >= 2
        The tensor; ``t`` divides ``I_1``.
    ranks : int or sequence of int, optional
        Caps on the STT ranks ``r_1, ..., r_{d-1}`` (full bond sizes, divisible by ``t``).
    eps : float, optional
        Relative error bound in ``[0, 1)`` (as in TT-SVD: ``||X - STT|| <= eps ||X||`` when no
        cap binds).
    t : int
        The STP factor (keyword-only; ``t = 1`` gives TT-SVD).

    Returns
    -------
    STTTensor
        ``info`` is TT-SVD's report (``rel_error``, ...) with ``ranks`` the STT's own
        :attr:`~tensornet.formats.STTTensor.ranks`, plus ``tt_ranks`` of the reduced TT.

    Raises
    ------
    ValueError
        If ``x`` has fewer than 2 modes, ``t`` does not divide ``I_1`` or a rank.
    """
    x = check_array(x, "x", min_ndim=2)
    t = check_int(t, "t", minimum=1)
    if x.shape[0] % t:
        raise ValueError(f"t={t} does not divide the first mode size I_1={x.shape[0]}")
    tt = tt_svd(x, ranks=_stt_ranks(ranks, x.ndim, t), eps=eps)
    out = STTTensor.from_tt(tt, t)
    out.info = {**tt.info, "ranks": out.ranks, "tt_ranks": tt.ranks}
    return out


@scale_equivariant
def str_als(
    x: np.ndarray,
    ranks: int | Sequence[int],
    *,
    t: int,
    n_iter_max: int = 100,
    tol: float = 1e-8,
    init: str = "svd",
    n_restarts: int = 1,
    random_state: Any = None,
) -> STRTensor:
    """Semi-tensor ring approximation by TR-ALS on the reduced problem (our derivation).

    An STR with uniform ``t`` and ring ranks ``r_k`` represents exactly the TR tensors with ranks
    ``r_k / t``: the first core enters only through its partial trace
    (:meth:`~tensornet.formats.STRTensor.reduced_cores`). So the STR least-squares problem *is*
    the TR least-squares problem with ranks ``r_k / t``; it is solved by
    :func:`~tensornet.decompositions.tr_als` (each sweep an exact least-squares update per
    core, error never increasing) and lifted with
    :meth:`~tensornet.formats.STRTensor.from_reduced`. The error equals TR-ALS's.

    Parameters
    ----------
    x : array_like, shape (I_1, ..., I_d), d >= 2
        The tensor.
    ranks : int or sequence of int
        STR ring ranks ``(r_0, ..., r_{d-1})`` (full bond sizes, each divisible by ``t``); the
        TR ranks ``r_k / t`` must be accepted by :func:`~tensornet.decompositions.tr_als`.
    t : int
        The STP factor (keyword-only; ``t = 1`` gives TR-ALS).
    n_iter_max, tol, init, n_restarts, random_state
        Passed to :func:`~tensornet.decompositions.tr_als`.

    Returns
    -------
    STRTensor
        ``info`` is TR-ALS's report (``rel_error``, ``history``, ...) with ``ranks`` the STR's
        own :attr:`~tensornet.formats.STRTensor.ranks`, plus ``tr_ranks`` of the reduced TR.

    Raises
    ------
    ValueError
        If ``t`` does not divide a rank, or for the errors of TR-ALS.
    """
    x = check_array(x, "x", min_ndim=2)
    t = check_int(t, "t", minimum=1)
    caps = check_ranks(ranks, x.ndim, "ranks")
    _check_divides(t, caps, "ranks")
    reduced = [r // t for r in caps]
    try:
        _check_als_ranks(reduced, x.shape)
    except ValueError as err:
        raise ValueError(f"ranks={caps} with t={t} give the TR ranks {reduced}: {err}") from None
    tr = tr_als(
        x,
        reduced,
        n_iter_max=n_iter_max,
        tol=tol,
        init=init,
        n_restarts=n_restarts,
        random_state=random_state,
    )
    out = STRTensor.from_reduced(tr.cores, t)
    out.info = {**tr.info, "ranks": out.ranks, "tr_ranks": tr.ranks}
    return out
