"""Optimizers in a trajectory subspace: P-SGD and P-BFGS (DLDR, Li et al., TPAMI 2022).

Both train ``w = w_0 + P^T z`` with ``P`` the ``d x D`` DLDR basis (orthonormal rows) and run
under :func:`tensornet.nn.fit` like any optimizer (its ``value_and_grad`` gives the full
gradient ``g``). :class:`PSGD` registers a :class:`SubspaceProjection` with
:meth:`tensornet.nn.Optimizer.add_grad_transform`, mapping ``g`` to ``P^T (P g)`` before the
momentum update; :class:`PBFGS` replaces the update itself (a BFGS step with a line search),
taking only the coordinates ``P g``. Each reads the ``d x D`` basis twice per step (``P g``,
then ``P^T`` of a ``d``-vector), which bounds their speed on a CPU: see
``benchmarks/results/dldr_*.json``.

* :class:`PSGD`: momentum SGD on the projected gradient. Every projected gradient lies in
  ``span(P)``, hence so does the velocity: the update is momentum SGD on the coordinates
  ``z`` (``v_z <- m v_z + P g``, ``z <- z - lr v_z``) carried out in parameter space.
* :class:`PBFGS`: BFGS on ``z`` with ``H_0 = I``, the inverse-Hessian update skipped when the
  curvature condition ``y^T s > eps`` fails, and a backtracking Armijo search on the current
  batch (sufficient decrease ``sigma = 0.4``, shrink ``0.4``, at most 20 tries), the settings
  of the DLDR reference code. The line search needs the loss at trial points: a ``closure``,
  which :func:`tensornet.nn.fit` passes to :meth:`PBFGS.step` (``PBFGS.needs_closure``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .._validation import check_array, check_int, check_option, check_real
from ..nn.optim import SGD, Optimizer
from ._layout import ParamLayout

__all__ = ["SubspaceProjection", "PSGD", "PBFGS"]

LINE_SEARCHES = ("armijo", "quadratic")


#: Largest ``|P P^T - I|`` entry accepted as orthonormal rows (float32 bases reach ~1e-6).
ORTHONORMAL_TOL = 1e-3


def check_orthonormal(basis: np.ndarray, name: str = "basis") -> None:
    """Raise ``ValueError`` unless the rows of ``basis`` are orthonormal (to ``ORTHONORMAL_TOL``).

    Parameters
    ----------
    basis : numpy.ndarray
        ``(d, D)``.
    name : str
        Argument name for messages.
    """
    gram = basis.astype(np.float64) @ basis.T.astype(np.float64)
    worst = float(np.max(np.abs(gram - np.eye(len(basis)))))
    if not worst <= ORTHONORMAL_TOL:
        raise ValueError(
            f"{name} must have orthonormal rows (P P^T = I), but max |P P^T - I| = {worst:.3g} "
            "(orthonormalize it, e.g. with numpy.linalg.qr, or use dldr)"
        )


def as_basis(basis: Any, n_params: int | None = None, name: str = "basis") -> np.ndarray:
    """The ``d x D`` basis matrix of an array or a :class:`~tensornet.subspace.DLDRBasis`.

    Parameters
    ----------
    basis : array_like or DLDRBasis
        Rows are the subspace directions (orthonormal for the methods here).
    n_params : int, optional
        Required ``D``.
    name : str
        Argument name for messages.

    Returns
    -------
    numpy.ndarray
        C-contiguous, shape ``(d, D)``.
    """
    arr = getattr(basis, "basis", basis)
    arr = np.ascontiguousarray(check_array(arr, name, ndim=2))
    d, big_d = arr.shape
    if d > big_d:
        raise ValueError(f"{name} has shape {arr.shape}: d={d} directions exceed D={big_d}")
    if n_params is not None and big_d != n_params:
        raise ValueError(
            f"{name} has shape {arr.shape}, but the parameters hold D={n_params} entries"
        )
    return arr


class SubspaceProjection:
    """Gradient transform ``g -> P^T (P g)``: the orthogonal projection onto ``span(P)``.

    A callable for :meth:`tensornet.nn.Optimizer.add_grad_transform` (``fn(grads, params) ->
    grads``). The gradient dict is flattened in the key order of the parameters it was built
    on, projected, and returned as views of one new vector.

    Parameters
    ----------
    basis : array_like or DLDRBasis
        ``P``, shape ``(d, D)``, orthonormal rows.
    params : dict of str to numpy.ndarray
        The trained parameters (fixes the layout; ``D`` must match).

    Attributes
    ----------
    basis : numpy.ndarray
        ``P``.
    """

    def __init__(self, basis: Any, params: dict[str, np.ndarray]) -> None:
        self.layout = ParamLayout(params)
        self.basis = as_basis(basis, self.layout.size)
        check_orthonormal(self.basis)

    @property
    def n_components(self) -> int:
        """``d``."""
        return int(self.basis.shape[0])

    def coordinates(self, grads: dict[str, np.ndarray]) -> np.ndarray:
        """``P g``, the gradient's coordinates in the subspace.

        Parameters
        ----------
        grads : dict of str to numpy.ndarray

        Returns
        -------
        numpy.ndarray
            Shape ``(d,)``.
        """
        return self.basis @ self.layout.flatten(grads, dtype=self.basis.dtype)

    def lift(self, coords: np.ndarray) -> np.ndarray:
        """``P^T z`` as a flat vector of length ``D``.

        Parameters
        ----------
        coords : numpy.ndarray
            Shape ``(d,)``.

        Returns
        -------
        numpy.ndarray
        """
        return np.asarray(coords, dtype=self.basis.dtype) @ self.basis

    def __call__(
        self, grads: dict[str, np.ndarray], params: dict[str, np.ndarray]
    ) -> dict[str, np.ndarray]:
        """The projected gradient dict."""
        return self.layout.views(self.lift(self.coordinates(grads)))


class PSGD(SGD):
    """P-SGD: momentum SGD on the gradient projected onto a DLDR subspace (Li et al. 2022).

    ``v <- momentum * v + P^T P g``, ``w <- w - lr * v``. With ``w_0`` the starting point, the
    iterates stay in ``w_0 + span(P)``. The DLDR reference trains with ``lr = 1`` (the projected
    gradient is much shorter than the full one), momentum 0.9, no weight decay.

    Parameters
    ----------
    params : dict of str to numpy.ndarray
        Live parameters (e.g. ``model.params``).
    basis : array_like or DLDRBasis
        ``P``, shape ``(d, D)``, orthonormal rows, ``D`` the parameter count.
    lr : float
        Base learning rate.
    momentum : float
        In ``[0, 1)``.
    nesterov : bool
        Nesterov momentum.
    **kwargs
        ``schedule``, clipping and hooks of :class:`tensornet.nn.Optimizer` (extra gradient
        transforms given here run before the projection).

    Attributes
    ----------
    projection : SubspaceProjection
        The registered gradient transform.
    """

    def __init__(
        self,
        params: dict[str, np.ndarray],
        basis: Any,
        lr: float = 1.0,
        momentum: float = 0.9,
        nesterov: bool = False,
        **kwargs: Any,
    ) -> None:
        if kwargs.get("weight_decay"):
            raise ValueError(
                f"weight_decay={kwargs['weight_decay']!r}: P-SGD takes no weight decay (the "
                "decay term w is not in the subspace; the DLDR reference uses none)"
            )
        super().__init__(params, lr=lr, momentum=momentum, nesterov=nesterov, **kwargs)
        self.projection = SubspaceProjection(basis, params)
        self.add_grad_transform(self.projection)

    @property
    def basis(self) -> np.ndarray:
        """``P``."""
        return self.projection.basis


class PBFGS(Optimizer):
    """P-BFGS: stochastic BFGS on the coordinates of a DLDR subspace (Li et al. 2022).

    Step ``k`` on a batch with loss ``f``: ``g_k = P grad f(w)``; if ``k > 0``,
    ``y = g_k - g_{k-1}`` and, when ``y^T s > curvature_eps``, with ``rho = 1 / y^T s``,
    ``H <- (I - rho s y^T) H (I - rho y s^T) + rho s s^T`` (``H_0 = I``; skipped otherwise);
    direction ``p = -H g_k``, ``delta = g_k^T p``; backtracking from ``s = p``: accept when
    ``f(w + P^T s) < f(w) + sigma * delta``, else ``s <- shrink * s``, ``delta <- shrink *
    delta``, at most ``max_tries`` trials; ``w <- w + P^T s`` (the last shrunk step when none
    was accepted, as in the DLDR reference code).

    Parameters
    ----------
    params : dict of str to numpy.ndarray
        Live parameters.
    basis : array_like or DLDRBasis
        ``P``, shape ``(d, D)``, orthonormal rows.
    closure : callable, optional
        ``closure() -> float``: the loss of the current batch at the live parameters (which the
        line search moves). Used when :meth:`step` gets none; :func:`tensornet.nn.fit` gives
        one every step.
    sigma : float
        Armijo sufficient-decrease constant in ``(0, 1)``.
    shrink : float
        Backtracking factor in ``(0, 1)``.
    max_tries : int
        Trial steps per line search.
    curvature_eps : float
        Skip the BFGS update unless ``y^T s`` exceeds this.
    line_search : {"armijo", "quadratic"}
        ``"armijo"``: backtracking from the unit step (DLDR). ``"quadratic"``: first move to
        the minimizer of the parabola through ``f(w)``, ``delta`` and ``f(w + P^T p)`` (exact on
        a quadratic, so BFGS with ``H_0 = I`` then ends in ``d`` steps), then backtrack from
        there; one more loss evaluation per step.
    grad_transforms : callable or list, optional
        Run on the full gradient before the projection.

    Attributes
    ----------
    needs_closure : bool
        True: :func:`tensornet.nn.fit` calls ``step(grads, closure=..., loss=...)`` with the
        loss closure of the current batch and the loss it computed at the current point.
    hessian_inverse : numpy.ndarray
        ``H``, ``d x d`` (float64).
    n_skipped : int
        BFGS updates skipped by the curvature condition.
    n_failed : int
        Line searches that accepted no trial.
    tries : list of int
        Trials used by each step's line search.

    Examples
    --------
    A direct call on a quadratic: the closure reads the live parameters.

    >>> import numpy as np
    >>> params = {"w": np.array([3.0, -2.0, 1.0])}
    >>> opt = PBFGS(params, np.eye(3)[:2], closure=lambda: 0.5 * float(params["w"] @ params["w"]))
    >>> for _ in range(5):
    ...     _ = opt.step({"w": params["w"].copy()})
    >>> np.round(params["w"], 6).tolist()
    [0.0, 0.0, 1.0]
    """

    needs_closure = True

    def __init__(
        self,
        params: dict[str, np.ndarray],
        basis: Any,
        closure: Callable[[], float] | None = None,
        sigma: float = 0.4,
        shrink: float = 0.4,
        max_tries: int = 20,
        curvature_eps: float = 1e-20,
        line_search: str = "armijo",
        grad_transforms: Any = None,
    ) -> None:
        super().__init__(params, lr=1.0, grad_transforms=grad_transforms)
        self.projection = SubspaceProjection(basis, params)
        self.sigma = check_real(sigma, "sigma", minimum=0.0, maximum=1.0, strict_minimum=True)
        self.shrink = check_real(shrink, "shrink", minimum=0.0, maximum=1.0, strict_minimum=True)
        if self.sigma == 1.0 or self.shrink == 1.0:
            raise ValueError(f"sigma={sigma!r} and shrink={shrink!r} must lie in (0, 1)")
        self.max_tries = check_int(max_tries, "max_tries", minimum=1)
        self.curvature_eps = check_real(curvature_eps, "curvature_eps", minimum=0.0)
        self.line_search = check_option(line_search, "line_search", LINE_SEARCHES)
        if closure is not None and not callable(closure):
            raise TypeError(f"closure must be callable, got {closure!r}")
        self.closure = closure
        d = self.projection.n_components
        self.hessian_inverse = np.eye(d)
        self._g_prev: np.ndarray | None = None
        self._s_prev: np.ndarray | None = None
        self.n_skipped = 0
        self.n_failed = 0
        self.tries: list[int] = []

    @property
    def basis(self) -> np.ndarray:
        """``P``."""
        return self.projection.basis

    def step(
        self,
        grads: dict[str, np.ndarray],
        closure: Callable[..., float] | None = None,
        loss: float | None = None,
    ) -> float:
        """One P-BFGS step: projection, inverse-Hessian update, direction, line search.

        Parameters
        ----------
        grads : dict of str to numpy.ndarray
            Full gradient at the current parameters on the current batch.
        closure : callable, optional
            ``closure() -> float``, the loss of the current batch at the live parameters;
            overrides :attr:`closure` for this step.
        loss : float, optional
            The loss at the current parameters (otherwise evaluated by the closure).

        Returns
        -------
        float
            The step length along the search direction that was taken (1 for the full step).
        """
        closure = closure if closure is not None else self.closure
        if closure is None:
            raise ValueError(
                "PBFGS.step needs a closure() -> loss of the current batch (pass closure= "
                "here or to PBFGS, or train with nn.fit or train_in_subspace)"
            )
        for fn in self.grad_transforms:
            grads = fn(grads, self.params)
        g = self.projection.coordinates(grads).astype(np.float64)
        self._update_inverse_hessian(g)
        p = -(self.hessian_inverse @ g)
        w = self.projection.layout.flatten(self.params)
        f_old = float(closure()) if loss is None else loss
        direction = self.projection.lift(p)
        alpha, placed = self._search(closure, w, float(f_old), float(g @ p), direction)
        if not placed:
            self._move(w, alpha, direction)
        self._g_prev, self._s_prev = g, alpha * p
        self.t += 1
        return alpha

    def _update_inverse_hessian(self, g: np.ndarray) -> None:
        """BFGS update of ``H`` from the last step, unless the curvature condition fails."""
        if self._g_prev is None or self._s_prev is None:
            return
        y, s = g - self._g_prev, self._s_prev
        ys = float(y @ s)
        if not ys > self.curvature_eps:
            self.n_skipped += 1
            return
        rho = 1.0 / ys
        h = self.hessian_inverse
        hy = h @ y
        cross = np.outer(s, hy)
        self.hessian_inverse = (
            h - rho * (cross + cross.T) + (rho * rho * (y @ hy) + rho) * np.outer(s, s)
        )

    def _loss_at(
        self, closure: Callable, w: np.ndarray, alpha: float, direction: np.ndarray
    ) -> float:
        """The batch loss at ``w + alpha P^T p`` (written into the live parameters)."""
        self._move(w, alpha, direction)
        value = float(closure())
        return value if math.isfinite(value) else math.inf

    def _move(self, w: np.ndarray, alpha: float, direction: np.ndarray) -> None:
        self.projection.layout.assign(self.params, w + w.dtype.type(alpha) * direction)

    def _search(
        self, closure: Callable, w: np.ndarray, f_old: float, delta: float, direction: np.ndarray
    ) -> tuple[float, bool]:
        """Backtracking Armijo search along ``P^T p`` (``delta = g^T p``).

        Returns the step length along ``p`` and whether the parameters already hold the
        accepted point (false when no trial was accepted: the last shrunk step is then taken,
        as in the DLDR reference code).
        """
        alpha, tries = 1.0, 0
        if self.line_search == "quadratic" and delta < 0:
            f_unit = self._loss_at(closure, w, 1.0, direction)
            tries += 1
            curvature = f_unit - f_old - delta
            if math.isfinite(curvature) and curvature > 0:
                alpha = -delta / (2.0 * curvature)
        accepted = False
        for _ in range(self.max_tries):
            tries += 1
            if self._loss_at(closure, w, alpha, direction) < f_old + self.sigma * alpha * delta:
                accepted = True
                break
            alpha *= self.shrink
        if not accepted:
            self.n_failed += 1
        self.tries.append(tries)
        return alpha, accepted

    def current_lr(self) -> float:
        """1 (the line search sets the step length)."""
        return 1.0

    def state_dict(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """``H``, the last projected gradient and step, with the counters as metadata.

        Returns
        -------
        arrays : dict of str to numpy.ndarray
        meta : dict
        """
        arrays = {"hessian_inverse": self.hessian_inverse.copy()}
        if self._g_prev is not None and self._s_prev is not None:
            arrays["g_prev"], arrays["s_prev"] = self._g_prev.copy(), self._s_prev.copy()
        meta = {
            "optimizer": type(self).__name__,
            "t": self.t,
            "lr": self.lr,
            "n_skipped": self.n_skipped,
            "n_failed": self.n_failed,
        }
        return arrays, meta

    def load_state_dict(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned.

        Parameters
        ----------
        arrays : dict of str to numpy.ndarray
        meta : dict
        """
        if meta.get("optimizer") != type(self).__name__:
            raise ValueError(
                f"state was saved by {meta.get('optimizer')!r}, not {type(self).__name__!r}"
            )
        d = self.projection.n_components
        h = check_array(arrays["hessian_inverse"], "hessian_inverse", ndim=2)
        if h.shape != (d, d):
            raise ValueError(f"hessian_inverse has shape {h.shape}, expected {(d, d)}")
        self.hessian_inverse = np.array(h, dtype=np.float64)
        if "g_prev" in arrays:
            self._g_prev = np.array(check_array(arrays["g_prev"], "g_prev", ndim=1), dtype=float)
            self._s_prev = np.array(check_array(arrays["s_prev"], "s_prev", ndim=1), dtype=float)
        else:
            self._g_prev = self._s_prev = None
        self.t = int(meta["t"])
        self.n_skipped, self.n_failed = int(meta.get("n_skipped", 0)), int(meta.get("n_failed", 0))
