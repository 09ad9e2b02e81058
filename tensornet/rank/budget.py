"""Rank selection for factorized layers under a parameter or FLOP budget (survey Sec. II-B.1).

Every rule works on singular values, computed once per layer, never on repeated decompositions:

* ``"evbmf"``: per layer, the rank analytic EVBMF estimates for each of the method's unfoldings
  (Kim et al. 2016 apply it to the two channel-mode unfoldings of a kernel; here for ``"svd"``
  the weight matrix itself), at least 1.
* ``"energy"``: per layer, the smallest ranks whose truncation keeps the fraction ``energy`` of
  ``||W||_F^2``; with ``K`` unfoldings each may lose ``(1 - energy) ||W||^2 / K``.
* ``"proportional"``: every rank the same fraction ``rho`` of its largest value (channel counts
  for Tucker-2, ``min(N, M)`` for SVD), ``rho`` the largest that fits the budget.
* budget minimax (the survey's reference [83]): one relative error bound ``eps`` shared by all
  layers, each layer truncated to the smallest ranks whose error bound is ``<= eps``; the search
  returns the smallest ``eps`` whose layers fit the budget, which minimizes the largest per-layer
  error, so no single layer is damaged much to spare another.

Error bounds come from Eckart-Young on each unfolding: truncating unfolding ``k`` to rank
``r_k`` costs ``t_k(r_k) = sqrt(sum_{i >= r_k} s_{k,i}^2)``, and a decomposition truncated on
``K`` unfoldings (HOSVD for Tucker-2, de Silva & Lathauwer; TT-SVD, Oseledets 2011, Thm. 2.2)
has error at most ``sqrt(sum_k t_k(r_k)^2)``. The eps-truncated ranks split the error equally:
``t_k(r_k) <= eps ||W||_F / sqrt(K)``. Ranks shrink as ``eps`` grows, so a layer's cost is a
non-increasing step function of ``eps`` and the minimax search is a bisection over the finite
set of step positions (:meth:`RankProfile.breakpoints`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.linalg

from .._validation import check_array, check_int, check_option, check_real, check_shape
from ..algebra import unfold
from .evbmf import evbmf
from .select import _check_energy

__all__ = [
    "Budget",
    "RankProfile",
    "rank_profile",
    "evbmf_ranks",
    "PROFILE_METHODS",
    "RULES",
    "minimax_eps",
    "largest_fraction",
]

#: Methods whose ranks are the ranks of fixed unfoldings of the weight.
PROFILE_METHODS = ("svd", "tucker2")
#: Rank-selection rules understood by :func:`tensornet.compress.decompose`.
RULES = ("evbmf", "energy", "proportional", "minimax")
#: Largest relative error the searches try (``eps`` must stay below 1).
EPS_MAX = 1.0 - 1e-9


@dataclass(frozen=True)
class Budget:
    """A cap on the parameters or multiply-adds of the decomposed layers.

    Parameters
    ----------
    value : int or float
        An absolute count (``>= 1``), or a float in ``(0, 1)``: that fraction of the count of
        the dense layers being replaced.
    kind : {"params", "flops"}
        What is counted: trainable scalars (biases included), or multiply-adds of one forward
        pass (Tables III and IV of the survey; bias excluded).
    input_shape : sequence of int, optional
        Model input shape for ``kind="flops"`` (e.g. ``(1, 1, 28, 28)``); each layer's input
        shape is found by running the model once on zeros.
    """

    value: float
    kind: str = "params"
    input_shape: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        check_option(self.kind, "budget.kind", ("params", "flops"))
        v = self.value
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
            raise TypeError(f"budget={v!r} must be a number")
        if not math.isfinite(float(v)) or float(v) <= 0:
            raise ValueError(f"budget={v!r} must be a finite number > 0")
        if float(v) >= 1 and not float(v).is_integer():
            raise ValueError(f"budget={v!r} must be a count (an integer) or a fraction in (0, 1)")
        if self.kind == "flops" and self.input_shape is None:
            raise ValueError("budget kind 'flops' needs input_shape=(batch, ...) of the model")
        if self.input_shape is not None:
            object.__setattr__(
                self, "input_shape", check_shape(self.input_shape, "budget.input_shape")
            )

    def limit(self, dense_total: int) -> int:
        """The absolute cap, given the dense layers' total ``dense_total`` (``>= 0``)."""
        check_int(dense_total, "dense_total", minimum=0)
        v = float(self.value)
        return int(math.floor(v * dense_total)) if v < 1 else int(v)

    @classmethod
    def coerce(cls, budget: Budget | float | int) -> Budget:
        """A :class:`Budget` from a number (a parameter budget) or a :class:`Budget`."""
        return budget if isinstance(budget, Budget) else cls(budget)


@dataclass(frozen=True)
class RankProfile:
    """The singular values that fix a factorized layer's ranks, and its cost for given ranks.

    Build with :func:`rank_profile`. Rank tuples have one entry per unfolding, in the order of
    :attr:`unfoldings` (``(r,)`` for SVD, ``(r_out, r_in)`` for Tucker-2).

    Attributes
    ----------
    method : str
        ``"svd"`` or ``"tucker2"``.
    shape : tuple of int
        Dense weight shape (``(N, M)`` or ``(O, C, KH, KW)``).
    singular_values : tuple of numpy.ndarray
        Singular values of each unfolding, non-increasing.
    norm : float
        ``||W||_F``.
    bias : int
        Number of bias entries (kept as they are by the factorized layer).
    stride, padding : (int, int)
        Convolution geometry (for the FLOP count).
    """

    method: str
    shape: tuple[int, ...]
    singular_values: tuple[np.ndarray, ...]
    norm: float
    bias: int = 0
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    _tails: tuple[np.ndarray, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        tails = []
        for s in self.singular_values:
            sq = np.asarray(s, dtype=np.float64) ** 2
            # tail[r] = sqrt(sum_{i >= r} s_i^2): the error of keeping r values.
            tails.append(np.sqrt(np.concatenate([np.cumsum(sq[::-1])[::-1], [0.0]])))
        object.__setattr__(self, "_tails", tuple(tails))

    @property
    def max_ranks(self) -> tuple[int, ...]:
        """Largest meaningful rank of each unfolding (its smaller dimension)."""
        return tuple(len(s) for s in self.singular_values)

    def _check_ranks(self, ranks: Sequence[int]) -> tuple[int, ...]:
        """``ranks`` as one int ``>= 1`` per unfolding (named ``ranks[k]`` in errors)."""
        k = len(self._tails)
        if isinstance(ranks, (str, bytes)) or not isinstance(ranks, (Sequence, np.ndarray)):
            raise TypeError(f"ranks must be a sequence of {k} ints, got {ranks!r}")
        if len(ranks) != k:
            raise ValueError(
                f"ranks={tuple(ranks)} must have one rank per unfolding ({k} for "
                f"method={self.method!r})"
            )
        return tuple(check_int(r, f"ranks[{i}]", minimum=1) for i, r in enumerate(ranks))

    def error_bound(self, ranks: Sequence[int]) -> float:
        """Upper bound ``sqrt(sum_k t_k(r_k)^2) / ||W||`` on the relative error of ``ranks``."""
        ranks = self._check_ranks(ranks)
        if self.norm == 0:
            return 0.0
        total = sum(
            float(t[min(r, len(t) - 1)]) ** 2 for t, r in zip(self._tails, ranks, strict=True)
        )
        return math.sqrt(total) / self.norm

    def ranks_for_eps(self, eps: float) -> tuple[int, ...]:
        """Smallest ranks (each ``>= 1``) with every ``t_k(r_k) <= eps ||W|| / sqrt(K)``.

        ``eps`` is a finite relative error ``>= 0``; values of 1 and more are allowed (with
        ``K`` unfoldings the ranks reach 1 only at ``eps = sqrt(K)``, see :meth:`breakpoints`).
        """
        eps = check_real(eps, "eps", minimum=0.0)
        delta = eps * self.norm / math.sqrt(len(self._tails))
        out = []
        for t in self._tails:
            ok = np.flatnonzero(t <= delta * (1 + 1e-12))
            out.append(max(int(ok[0]) if ok.size else len(t) - 1, 1))
        return tuple(out)

    def ranks_for_energy(self, energy: float) -> tuple[int, ...]:
        """Ranks keeping the fraction ``energy`` of ``||W||^2`` (``eps = sqrt(1 - energy)``)."""
        return self.ranks_for_eps(math.sqrt(1.0 - _check_energy(energy)))

    def ranks_for_fraction(self, rho: float) -> tuple[int, ...]:
        """Every rank ``max(1, ceil(rho * max_rank))`` (ranks proportional to channel counts),
        ``rho`` in ``[0, 1]``."""
        rho = check_real(rho, "rho", minimum=0.0, maximum=1.0)
        return tuple(max(1, math.ceil(rho * m - 1e-9)) for m in self.max_ranks)

    def breakpoints(self) -> np.ndarray:
        """The ``eps`` values at which :meth:`ranks_for_eps` changes, sorted (with 0)."""
        scale = math.sqrt(len(self._tails)) / self.norm if self.norm else 0.0
        points = np.concatenate([t[1:] * scale for t in self._tails] + [[0.0]])
        return np.unique(points)

    def n_params(self, ranks: Sequence[int]) -> int:
        """Parameters of the factorized layer with ``ranks`` (bias included)."""
        ranks = self._check_ranks(ranks)
        if self.method == "svd":
            (r,) = ranks
            rows, cols = _svd_matrix_shape(self.shape)
            return r * (rows + cols) + self.bias
        r_out, r_in = ranks
        o, c, kh, kw = self.shape
        return c * r_in + r_in * r_out * kh * kw + r_out * o + self.bias

    def flops(self, ranks: Sequence[int], input_shape: Sequence[int]) -> int:
        """Multiply-adds of the factor path for an input of ``input_shape`` (survey Tables III, IV).

        Linear SVD ``B r (N + M)``; channel SVD conv ``B H'W' r (C KH KW + O)``; Tucker-2 conv
        ``B [H W C r_in + H'W' r_in r_out KH KW + H'W' r_out O]``.
        """
        ranks = self._check_ranks(ranks)
        input_shape = check_shape(input_shape, "input_shape")
        if len(input_shape) != len(self.shape):
            raise ValueError(
                f"input_shape={input_shape} must have {len(self.shape)} axes for a weight of "
                f"shape {self.shape}"
            )
        batch = input_shape[0]
        if len(self.shape) == 2:
            (r,) = ranks
            return batch * r * sum(self.shape)
        o, c, kh, kw = self.shape
        h, w = int(input_shape[2]), int(input_shape[3])
        oh = (h + 2 * self.padding[0] - kh) // self.stride[0] + 1
        ow = (w + 2 * self.padding[1] - kw) // self.stride[1] + 1
        if self.method == "svd":
            (r,) = ranks
            return batch * oh * ow * r * (c * kh * kw + o)
        r_out, r_in = ranks
        return batch * (h * w * c * r_in + oh * ow * (r_in * r_out * kh * kw + r_out * o))


def _svd_matrix_shape(shape: tuple[int, ...]) -> tuple[int, int]:
    if len(shape) == 2:
        return shape[0], shape[1]
    return shape[0], int(np.prod(shape[1:]))


def _singular_values(matrix: np.ndarray) -> np.ndarray:
    return scipy.linalg.svd(matrix, compute_uv=False, check_finite=False)


def rank_profile(
    weight: np.ndarray,
    method: str,
    bias: int = 0,
    stride: tuple[int, int] = (1, 1),
    padding: tuple[int, int] = (0, 0),
) -> RankProfile:
    """The unfoldings' singular values of a dense weight, for fast rank selection.

    Parameters
    ----------
    weight : array_like
        Dense weight in tensornet's layout: ``(N, M)`` for a linear layer, ``(O, C, KH, KW)``
        for a convolution.
    method : {"svd", "tucker2"}
        ``"svd"``: the weight matrix, or for a convolution the channel-wise matrix
        ``O x (C KH KW)`` (survey Sec. II-A.1); ``"tucker2"``: the mode-0 (output channel) and
        mode-1 (input channel) unfoldings of the kernel (Kim et al. 2016).
    bias : int
        Bias entries, added to the parameter count.
    stride, padding : (int, int)
        Convolution geometry, for :meth:`RankProfile.flops`.

    Returns
    -------
    RankProfile
    """
    method = check_option(method, "method", PROFILE_METHODS)
    w = check_array(weight, "weight", min_ndim=2).astype(np.float64, copy=False)
    if method == "svd":
        if w.ndim not in (2, 4):
            raise ValueError(f"weight has shape {w.shape}; SVD needs a 2-D or 4-D weight")
        spectra = (_singular_values(w.reshape(w.shape[0], -1)),)
    else:
        if w.ndim != 4:
            raise ValueError(f"weight has shape {w.shape}; Tucker-2 needs a 4-D kernel")
        spectra = (_singular_values(unfold(w, 0)), _singular_values(unfold(w, 1)))
    return RankProfile(
        method=method,
        shape=tuple(w.shape),
        singular_values=spectra,
        norm=float(np.linalg.norm(w)),
        bias=check_int(bias, "bias", minimum=0),
        stride=_check_pair(stride, "stride", 1),
        padding=_check_pair(padding, "padding", 0),
    )


def _check_pair(value: Sequence[int], name: str, minimum: int) -> tuple[int, int]:
    """A convolution geometry ``(h, w)`` of ints ``>= minimum``."""
    if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray)):
        raise TypeError(f"{name} must be a pair of ints, got {value!r}")
    if len(value) != 2:
        raise ValueError(f"{name}={tuple(value)} must be a pair (h, w)")
    return tuple(check_int(v, f"{name}[{i}]", minimum=minimum) for i, v in enumerate(value))


def _check_search(
    costs: Sequence[Callable[[float], int]], names: Sequence[str] | None, tol: float
) -> tuple[list[Callable[[float], int]], list[str], float]:
    """The shared arguments of the two budget searches, checked."""
    costs = list(costs)
    for i, c in enumerate(costs):
        if not callable(c):
            raise TypeError(f"costs[{i}] must be a callable, got {c!r}")
    names = list(names) if names is not None else [f"layer {i}" for i in range(len(costs))]
    if len(names) != len(costs):
        raise ValueError(f"names has {len(names)} entries but costs has {len(costs)}")
    tol = check_real(tol, "tol", minimum=0.0, strict_minimum=True)
    return costs, names, tol


def evbmf_ranks(weight: np.ndarray, method: str) -> tuple[int, ...]:
    """EVBMF's rank of each of the method's unfoldings (Kim et al. 2016), at least 1.

    Parameters
    ----------
    weight : array_like
        Dense weight (see :func:`rank_profile`).
    method : {"svd", "tucker2"}
        Which unfoldings.

    Returns
    -------
    tuple of int
        ``(r,)`` for SVD, ``(r_out, r_in)`` for Tucker-2.
    """
    method = check_option(method, "method", PROFILE_METHODS)
    w = check_array(weight, "weight", min_ndim=2).astype(np.float64, copy=False)
    if method == "svd":
        matrices = [w.reshape(w.shape[0], -1)]
    else:
        matrices = [unfold(w, 0), unfold(w, 1)]
    return tuple(max(evbmf(m).rank, 1) for m in matrices)


def _no_fit_error(budget: int, kind: str, floors: Sequence[int], names: Sequence[str]) -> str:
    parts = ", ".join(f"{n}: {f:,}" for n, f in zip(names, floors, strict=True))
    return (
        f"budget of {budget:,} {kind} cannot be met: the smallest ranks need "
        f"{sum(floors):,} ({parts})"
    )


def minimax_eps(
    costs: Sequence[Callable[[float], int]],
    budget: int,
    candidates: np.ndarray | None = None,
    names: Sequence[str] | None = None,
    kind: str = "params",
    tol: float = 1e-4,
    eps_max: float = EPS_MAX,
) -> float:
    """Smallest shared relative error ``eps`` whose eps-truncated layers fit ``budget``.

    Parameters
    ----------
    costs : sequence of callable
        One per layer: ``eps -> cost`` of the layer truncated at relative error ``eps``,
        non-increasing in ``eps``.
    budget : int
        Cap on the summed cost.
    candidates : numpy.ndarray, optional
        All ``eps`` at which some cost changes (e.g. :meth:`RankProfile.breakpoints`); the
        search is then exact over them. Otherwise a bisection on ``[0, 1)`` to ``tol``.
    names : sequence of str, optional
        Layer names for the error message.
    kind : str
        What is counted, for the error message.
    tol : float
        Bisection tolerance without ``candidates``.
    eps_max : float
        Largest ``eps`` tried, where the costs are smallest. Below 1 for decompositions that
        take an error bound; with ``K`` unfoldings the eps-truncated ranks of
        :class:`RankProfile` reach 1 only at ``eps = sqrt(K)`` (its largest breakpoint).

    Returns
    -------
    float
        The minimax ``eps``: every layer's error bound is at most it, and no smaller shared
        bound fits.

    Raises
    ------
    ValueError
        When even ``eps`` close to 1 (rank 1 everywhere) exceeds the budget; the message lists
        each layer's smallest cost.
    """
    budget = check_int(budget, "budget", minimum=0)
    costs, names, tol = _check_search(costs, names, tol)
    eps_max = check_real(eps_max, "eps_max", minimum=0.0, strict_minimum=True)

    def total(eps: float) -> int:
        return sum(int(c(eps)) for c in costs)

    if total(eps_max) > budget:
        floors = [int(c(eps_max)) for c in costs]
        raise ValueError(_no_fit_error(budget, kind, floors, names))
    if candidates is not None:
        candidates = check_array(candidates, "candidates", ndim=1, allow_empty=True).astype(
            np.float64
        )
        points = np.unique(np.clip(candidates, 0.0, eps_max))
        points = np.append(points[points < eps_max], eps_max)
        lo, hi = 0, len(points) - 1  # invariant: points[hi] fits
        if total(float(points[0])) <= budget:
            return float(points[0])
        while hi - lo > 1:  # points[lo] does not fit
            mid = (lo + hi) // 2
            if total(float(points[mid])) <= budget:
                hi = mid
            else:
                lo = mid
        return float(points[hi])
    if total(0.0) <= budget:
        return 0.0
    lo, hi = 0.0, eps_max
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        if total(mid) <= budget:
            hi = mid
        else:
            lo = mid
    return hi


def largest_fraction(
    costs: Sequence[Callable[[float], int]],
    budget: int,
    names: Sequence[str] | None = None,
    kind: str = "params",
    tol: float = 1e-4,
) -> float:
    """Largest ``rho`` in ``(0, 1]`` whose proportional ranks fit ``budget`` (bisection).

    Parameters
    ----------
    costs : sequence of callable
        One per layer: ``rho -> cost`` with ranks ``ceil(rho * max_rank)``, non-decreasing.
    budget : int
        Cap on the summed cost.
    names : sequence of str, optional
        Layer names for the error message.
    kind : str
        What is counted, for the error message.
    tol : float
        Bisection tolerance.

    Returns
    -------
    float
    """
    budget = check_int(budget, "budget", minimum=0)
    costs, names, tol = _check_search(costs, names, tol)

    def total(rho: float) -> int:
        return sum(int(c(rho)) for c in costs)

    if total(0.0) > budget:
        floors = [int(c(0.0)) for c in costs]
        raise ValueError(_no_fit_error(budget, kind, floors, names))
    if total(1.0) <= budget:
        return 1.0
    lo, hi = 0.0, 1.0  # lo fits, hi does not
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        if total(mid) <= budget:
            lo = mid
        else:
            hi = mid
    return lo
