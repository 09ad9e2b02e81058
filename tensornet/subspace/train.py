"""Training in a DLDR subspace: :func:`train_in_subspace` (DLDR stage 3, Li et al. 2022).

The model is moved to a chosen starting point ``w_0`` (the initialization, as DLDR does, or the
last trajectory sample) and trained by :func:`tensornet.nn.fit` with :class:`PSGD` or
:class:`PBFGS`, so every iterate lies in ``w_0 + span(P)``. P-BFGS declares ``needs_closure``,
so ``fit`` hands it the loss closure of each batch for its line search, with the loss already
computed at the current point (the search does not evaluate it again).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .._validation import check_array, check_int
from ..nn.losses import cross_entropy
from ..nn.module import Module
from ..nn.train import Callback, History, fit
from ._layout import ParamLayout
from .optim import PBFGS, PSGD, as_basis

__all__ = ["train_in_subspace"]

OPTIMIZERS = ("psgd", "pbfgs")


def train_in_subspace(
    model: Module,
    basis: Any,
    optimizer: str | PSGD | PBFGS,
    data: Any,
    epochs: int,
    *,
    start: Any = None,
    loss: Callable[[Any, Any], Any] = cross_entropy,
    batch_size: int = 128,
    val_data: Any = None,
    callbacks: Sequence[Callback] | None = None,
    random_state: Any = None,
    verbose: bool = False,
    progress: bool | None = None,
    **optimizer_options: Any,
) -> History:
    """Train ``model`` in the affine subspace ``w_0 + span(P)`` (DLDR, Li et al. TPAMI 2022).

    Parameters
    ----------
    model : Module
        Trained in place; all of ``model.params`` are the coordinates ``w``.
    basis : array_like or DLDRBasis
        ``P``, shape ``(d, D)`` with orthonormal rows and ``D = model.n_params`` (in the key
        order of ``model.params``, as :class:`TrajectorySampler` records).
    optimizer : {"psgd", "pbfgs"} or PSGD or PBFGS
        A name (built on ``model.params`` with ``optimizer_options``) or an optimizer built on
        ``model.params`` with the same basis.
    data : (x, y) tuple
        Training data, shuffled into batches of ``batch_size`` seeded by ``random_state``.
    epochs : int
        Passes over the data.
    start : array_like, optional
        ``w_0``, shape ``(D,)``: e.g. ``sampler.samples[0]`` (the initialization, as DLDR
        restarts) or ``sampler.samples[-1]``. By default the model's current parameters.
    loss : callable
        ``loss(outputs, targets) -> scalar``.
    batch_size : int
        Batch size (the DLDR reference uses 128 for P-SGD and 1024 for P-BFGS).
    val_data : (x, y) tuple, optional
        Evaluated after each epoch.
    callbacks : sequence of Callback, optional
        Passed to :func:`tensornet.nn.fit`.
    random_state : None, int or numpy.random.Generator
        Seed of the batch order.
    verbose, progress : bool
        As in :func:`tensornet.nn.fit`.
    **optimizer_options
        Keyword arguments of :class:`PSGD` (``lr``, ``momentum``, ``schedule``, ...) or
        :class:`PBFGS` (``sigma``, ``shrink``, ``max_tries``, ...) when ``optimizer`` is a name.

    Returns
    -------
    History
        As returned by :func:`tensornet.nn.fit`; for P-BFGS the ``"lr"`` entries are the step
        lengths the line search took.

    Raises
    ------
    ValueError, TypeError
        For a basis of the wrong width, an unknown optimizer name, an optimizer built on other
        parameters or with another basis, a ``start`` of the wrong length or non-finite.

    Notes
    -----
    P-BFGS line-search trials run the model as ``fit`` does, in training mode: a BatchNorm
    layer updates its running statistics at trial points too (its buffers are not part of the
    subspace, as in the DLDR reference).

    Examples
    --------
    >>> import numpy as np
    >>> from tensornet import nn
    >>> from tensornet.subspace import TrajectorySampler, dldr
    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.normal(size=(96, 4)).astype(np.float32), rng.integers(0, 3, 96)
    >>> model = nn.Sequential(("fc", nn.Linear(4, 3, random_state=0)))
    >>> sampler = TrajectorySampler(every=3)
    >>> _ = nn.fit(model, nn.cross_entropy, nn.SGD(model.params, lr=0.1), (x, y), epochs=2,
    ...            batch_size=16, callbacks=[sampler], random_state=0)
    >>> sub = dldr(sampler.samples, 3)
    >>> h = train_in_subspace(model, sub, "pbfgs", (x, y), 2, start=sampler.samples[0],
    ...                       batch_size=32, random_state=0)
    >>> bool(h["loss"][-1] < h["loss"][0])
    True
    """
    if not isinstance(model, Module):
        raise TypeError(f"model must be a tensornet.nn.Module, got {type(model).__name__}")
    params = model.params
    layout = ParamLayout(params)
    p = as_basis(basis, layout.size)
    epochs = check_int(epochs, "epochs", minimum=1)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    opt = _make_optimizer(optimizer, params, p, optimizer_options)
    if not (isinstance(data, tuple) and len(data) == 2):
        raise TypeError(f"data must be an (x, y) tuple, got {type(data).__name__}")
    from ..datasets import DataLoader

    loader: Any = DataLoader(data[0], data[1], batch_size, random_state=random_state)
    if start is not None:
        w0 = check_array(start, "start", ndim=1)
        if w0.size != layout.size:
            raise ValueError(f"start has {w0.size} entries, but the model has {layout.size}")
        layout.assign(params, w0)
    return fit(
        model,
        loss,
        opt,
        loader,
        epochs=epochs,
        val_data=val_data,
        callbacks=callbacks,
        progress=progress,
        verbose=verbose,
    )


def _make_optimizer(
    optimizer: Any, params: dict[str, np.ndarray], basis: np.ndarray, options: dict[str, Any]
) -> PSGD | PBFGS:
    """Build the named optimizer, or check that a given one trains ``params`` with ``basis``."""
    if isinstance(optimizer, str):
        name = optimizer.lower()
        if name not in OPTIMIZERS:
            raise ValueError(f"optimizer={optimizer!r} must be one of {OPTIMIZERS}")
        cls = PSGD if name == "psgd" else PBFGS
        return cls(params, basis, **options)
    if not isinstance(optimizer, (PSGD, PBFGS)):
        raise TypeError(
            f"optimizer must be 'psgd', 'pbfgs' or a PSGD/PBFGS instance, got {optimizer!r}"
        )
    if options:
        raise TypeError(f"optimizer options {sorted(options)} apply only to an optimizer name")
    if optimizer.params.keys() != params.keys() or any(
        optimizer.params[k] is not params[k] for k in params
    ):
        raise ValueError("the optimizer must be built on model.params (the same arrays)")
    if optimizer.basis.shape != basis.shape or not np.array_equal(optimizer.basis, basis):
        raise ValueError("the optimizer was built with another basis than the one given")
    return optimizer
