"""How far a parameter vector lies from a subspace, and sweeps of that distance.

The survey's space/time balance (Section IV, Figs. 8-9): after compressing a network (fewer
parameters, "space"), is its training trajectory still confined to a tiny subspace ("time",
the redundancy DLDR exploits)? The measure is the **normalized projection error** of a vector
``w`` onto the affine subspace ``c + span(P)`` (``P`` with orthonormal rows)::

    e(w) = || w - c - P^T P (w - c) || / || w ||.

:func:`dimension_sweep` gives ``e`` of a trajectory against the subspace dimension ``d``;
:func:`compression_sweep` compresses a trained model at several ranks
(:func:`tensornet.compress.decompose`), fine-tunes each while sampling its trajectory, and gives
``e`` of each trajectory in its own ``d``-dimensional DLDR subspace.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .._validation import check_array, check_int, check_real
from .dldr import dldr
from .optim import as_basis, check_orthonormal
from .sampling import TrajectorySampler

__all__ = ["projection_error", "dimension_sweep", "compression_sweep"]


def projection_error(w: Any, basis: Any, centre: Any = None) -> float | np.ndarray:
    """Normalized projection error ``||w - c - P^T P (w - c)|| / ||w||``.

    Parameters
    ----------
    w : array_like
        One vector ``(D,)`` or one per row ``(m, D)``; nonzero.
    basis : array_like or DLDRBasis
        ``P``, ``(d, D)`` with orthonormal rows; a :class:`DLDRBasis` also supplies ``c``.
    centre : array_like, optional
        ``c``, ``(D,)``; by default the ``DLDRBasis``'s centre, else the origin (a linear
        subspace).

    Returns
    -------
    float or numpy.ndarray
        One error, or one per row; 0 exactly when ``w`` lies in the subspace.

    Examples
    --------
    >>> import numpy as np
    >>> p = np.array([[1.0, 0.0, 0.0]])
    >>> float(projection_error(np.array([2.0, 0.0, 0.0]), p))
    0.0
    >>> float(projection_error(np.array([3.0, 4.0, 0.0]), p))
    0.8
    """
    if centre is None:
        centre = getattr(basis, "centre", None)
    p = as_basis(basis)
    check_orthonormal(p)
    arr = check_array(w, "w")
    if arr.ndim not in (1, 2) or arr.shape[-1] != p.shape[1]:
        raise ValueError(
            f"w has shape {arr.shape}; expected (D,) or (m, D) with D={p.shape[1]} (the basis "
            "width)"
        )
    rows = np.atleast_2d(arr).astype(np.float64)
    c = np.zeros(p.shape[1]) if centre is None else check_array(centre, "centre", ndim=1)
    if c.shape != (p.shape[1],):
        raise ValueError(f"centre has shape {c.shape}, expected ({p.shape[1]},)")
    norms = np.linalg.norm(rows, axis=1)
    if np.any(norms == 0):
        raise ValueError("w must be nonzero (the error is normalized by ||w||)")
    pf = p.astype(np.float64)
    centred = rows - c
    residual = centred - (centred @ pf.T) @ pf
    errors = np.linalg.norm(residual, axis=1) / norms
    return float(errors[0]) if arr.ndim == 1 else errors


def dimension_sweep(samples: Any, dims: Sequence[int], targets: Any = None) -> np.ndarray:
    """Mean normalized projection error against the DLDR subspace dimension (survey Fig. 9).

    One :func:`dldr` of ``samples`` with ``max(dims)`` components gives every nested subspace
    (the top ``d`` directions are the first ``d`` rows).

    Parameters
    ----------
    samples : array_like
        Trajectory, ``(n, D)``.
    dims : sequence of int
        Subspace dimensions, each in ``[1, n - 1]``.
    targets : array_like, optional
        Vectors ``(m, D)`` or ``(D,)`` whose error is measured; by default the samples.

    Returns
    -------
    numpy.ndarray
        ``errors[i]``: the mean error of the targets in the ``dims[i]``-dimensional subspace.
    """
    w = check_array(samples, "samples", ndim=2)
    dims = _check_dims(dims, w.shape[0])
    sub = dldr(w, max(dims), dtype=np.float64)
    t = w if targets is None else targets
    return np.array(
        [np.mean(projection_error(t, sub.basis[:d], sub.centre)) for d in dims], dtype=float
    )


def compression_sweep(
    model: Any,
    data: tuple[Any, Any],
    ranks: Sequence[Any],
    *,
    method: str = "svd",
    layers: Sequence[str] | None = None,
    n_components: int | Sequence[int] = 5,
    epochs: int = 1,
    every: int = 50,
    lr: float = 0.01,
    momentum: float = 0.9,
    batch_size: int = 128,
    val_data: Any = None,
    random_state: Any = 0,
    decompose_options: dict[str, Any] | None = None,
    on_result: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Projection error of fine-tuning trajectories against the compression rank (Fig. 8).

    For each entry of ``ranks``: copy ``model`` (``None`` = the uncompressed "base") or
    compress it with :func:`tensornet.compress.decompose` (``method``, ``ranks=rank``,
    ``layers``), fine-tune it with momentum SGD for ``epochs`` while a
    :class:`TrajectorySampler` records the parameters every ``every`` steps (plus the start),
    build the DLDR subspace of that trajectory and measure the mean normalized projection
    error of its samples.

    Parameters
    ----------
    model : Module
        A trained model (not modified).
    data : (x, y) tuple
        Fine-tuning data.
    ranks : sequence
        Ranks given to ``decompose`` (an int for ``"svd"``, TT ranks for ``"tt"``, ...); ``None``
        for the uncompressed model.
    method : str
        Decomposition method of :func:`tensornet.compress.decompose`.
    layers : sequence of str, optional
        Layers to compress (default: all the method applies to).
    n_components : int or sequence of int
        Subspace dimension(s) ``d``; each must be below the number of samples.
    epochs, every, lr, momentum, batch_size : int or float
        Fine-tuning settings (momentum SGD, constant rate).
    val_data : (x, y) tuple, optional
        Evaluated after fine-tuning (``"accuracy"`` in the result).
    random_state : None, int or numpy.random.Generator
        Seeds the decompositions and the batch order (the same order for every rank).
    decompose_options : dict, optional
        Extra keyword arguments of ``decompose`` (e.g. ``{"mode": "factors"}``).
    on_result : callable, optional
        Called with each result as soon as it is ready (e.g. to save partial results).

    Returns
    -------
    list of dict
        Per rank: ``rank``, ``n_params``, ``errors`` (``{d: mean error}``), ``final_errors``
        (``{d: error of the last sample}``), ``explained_variance_ratio`` (top ``max(d)``),
        ``seconds`` (fine-tuning wall time), ``accuracy`` (when ``val_data`` is given).
    """
    import copy
    import time

    from .. import nn
    from ..compress import decompose

    dims = [n_components] if isinstance(n_components, (int, np.integer)) else list(n_components)
    epochs = check_int(epochs, "epochs", minimum=1)
    every = check_int(every, "every", minimum=1)
    lr = check_real(lr, "lr", minimum=0.0, strict_minimum=True)
    if not isinstance(data, tuple) or len(data) != 2:
        raise TypeError(f"data must be an (x, y) tuple, got {type(data).__name__}")
    n_batches = -(-len(data[0]) // check_int(batch_size, "batch_size", minimum=1))
    n_samples = 1 + (epochs * n_batches) // every
    dims = _check_dims(dims, n_samples, name="n_components")
    seed = random_state if isinstance(random_state, (int, np.integer)) else None
    results = []
    for rank in ranks:
        if rank is None:
            net = copy.deepcopy(model)
        else:
            net, _ = decompose(
                model,
                method,
                ranks=rank,
                layers=layers,
                random_state=random_state,
                **(decompose_options or {}),
            )
        sampler = TrajectorySampler(every=every)
        opt = nn.SGD(net.params, lr=lr, momentum=momentum)
        start = time.perf_counter()
        nn.fit(
            net,
            nn.cross_entropy,
            opt,
            data,
            epochs=epochs,
            batch_size=batch_size,
            callbacks=[sampler],
            random_state=seed,
        )
        seconds = time.perf_counter() - start
        w = sampler.samples
        sub = dldr(w, max(dims), dtype=np.float64)
        errors = {d: float(np.mean(projection_error(w, sub.basis[:d], sub.centre))) for d in dims}
        final = {d: float(projection_error(w[-1], sub.basis[:d], sub.centre)) for d in dims}
        row: dict[str, Any] = {
            "rank": rank,
            "n_params": int(net.n_params),
            "n_samples": int(w.shape[0]),
            "errors": errors,
            "final_errors": final,
            "explained_variance_ratio": [float(v) for v in sub.explained_variance_ratio],
            "seconds": seconds,
        }
        if val_data is not None:
            row["accuracy"] = float(nn.evaluate(net, val_data)["accuracy"])
        results.append(row)
        if on_result is not None:
            on_result(row)
    return results


def _check_dims(dims: Any, n_samples: int, name: str = "dims") -> list[int]:
    """Subspace dimensions as ints in ``[1, n_samples - 1]``."""
    if isinstance(dims, (str, bytes)) or not isinstance(dims, Sequence) or len(dims) == 0:
        raise TypeError(f"{name} must be a non-empty sequence of ints, got {dims!r}")
    return [
        check_int(d, f"{name}[{i}]", minimum=1, maximum=n_samples - 1) for i, d in enumerate(dims)
    ]
