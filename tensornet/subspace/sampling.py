"""Trajectory sampling: the flattened trainable parameters recorded while a model trains.

Stage 1 of DLDR (Li et al., "Low dimensional trajectory hypothesis is true: DNNs can be trained
in tiny subspaces", TPAMI 2022; survey Section IV) trains normally and keeps the parameter
vector ``w_i`` in ``R^D`` at chosen points: the initialization, then after every epoch or every
``k`` optimizer steps. :class:`TrajectorySampler` is a :class:`tensornet.nn.Callback` that does
this inside :func:`tensornet.nn.fit`. It records exactly the dict the optimizer trains (the
callback receives the optimizer's live arrays), in a fixed key order, into one preallocated
float32 matrix ``n x D``; before the run it warns when that matrix will be large.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .._validation import check_array, check_int
from ..nn.train import Callback
from ._layout import ParamLayout

__all__ = ["TrajectorySampler", "flatten_params", "unflatten_params"]

#: Default size above which :class:`TrajectorySampler` warns before a run (1 GiB).
WARN_BYTES = 1 << 30


def flatten_params(params: dict[str, np.ndarray], dtype: Any = None) -> np.ndarray:
    """Concatenate the arrays of a parameter dict (in its key order) into one vector ``w``.

    Parameters
    ----------
    params : dict of str to numpy.ndarray
        E.g. ``model.params``.
    dtype : numpy dtype, optional
        Dtype of the result; by default the common dtype of the arrays.

    Returns
    -------
    numpy.ndarray
        Shape ``(D,)`` with ``D`` the total number of entries.

    Examples
    --------
    >>> import numpy as np
    >>> flatten_params({"a": np.ones((2, 2)), "b": np.zeros(3)})
    array([1., 1., 1., 1., 0., 0., 0.])
    """
    return ParamLayout(params).flatten(params, dtype=dtype)


def unflatten_params(vector: Any, like: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Split a vector made by :func:`flatten_params` back into arrays shaped like ``like``.

    Parameters
    ----------
    vector : array_like
        Shape ``(D,)``, ``D`` the number of entries of ``like``.
    like : dict of str to numpy.ndarray
        Supplies the key order, shapes and dtypes.

    Returns
    -------
    dict of str to numpy.ndarray
        New arrays (copies) with the dtypes of ``like``.
    """
    layout = ParamLayout(like)
    vector = check_array(vector, "vector", ndim=1)
    if vector.size != layout.size:
        raise ValueError(f"vector has {vector.size} entries, but the parameters hold {layout.size}")
    return {
        k: np.array(v, dtype=np.asarray(like[k]).dtype) for k, v in layout.views(vector).items()
    }


class TrajectorySampler(Callback):
    """Record the flattened trained parameters during :func:`tensornet.nn.fit` (DLDR stage 1).

    Parameters
    ----------
    every : int, optional
        Record after every ``every`` optimizer steps; by default after every epoch.
    include_initial : bool
        Record the parameters before the first step too (DLDR's sample 0, the initialization).
    dtype : numpy dtype
        Storage dtype of the samples (float32 halves the memory of float64).
    warn_bytes : int
        Warn (``ResourceWarning``) before a run whose samples will take more than this many
        bytes.

    Attributes
    ----------
    steps : list of int
        The optimizer's step count (``optimizer.t``) when each sample was recorded (0 for the
        initial point); ``every`` divides this count.
    epochs : list of float
        Fractional epoch of each sample.
    keys : tuple of str
        Parameter names in the order they are concatenated.

    Examples
    --------
    >>> import numpy as np
    >>> from tensornet import nn
    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.normal(size=(64, 4)).astype(np.float32), rng.integers(0, 3, 64)
    >>> model = nn.Sequential(("fc", nn.Linear(4, 3, random_state=0)))
    >>> sampler = TrajectorySampler(every=2)
    >>> _ = nn.fit(model, nn.cross_entropy, nn.SGD(model.params, lr=0.1), (x, y), epochs=2,
    ...            batch_size=16, callbacks=[sampler], random_state=0)
    >>> sampler.samples.shape  # the initial point and every second of 8 steps
    (5, 15)
    """

    def __init__(
        self,
        every: int | None = None,
        include_initial: bool = True,
        dtype: Any = np.float32,
        warn_bytes: int = WARN_BYTES,
    ) -> None:
        self.every = None if every is None else check_int(every, "every", minimum=1)
        if not isinstance(include_initial, (bool, np.bool_)):
            raise TypeError(f"include_initial must be a bool, got {include_initial!r}")
        self.include_initial = bool(include_initial)
        self.dtype = np.dtype(dtype)
        if not np.issubdtype(self.dtype, np.floating):
            raise TypeError(f"dtype must be a floating dtype, got {self.dtype}")
        self.warn_bytes = check_int(warn_bytes, "warn_bytes", minimum=0)
        self._layout: ParamLayout | None = None
        self._buffer = np.empty((0, 0), dtype=self.dtype)
        self._n = 0
        self._last_step = 0
        self.steps: list[int] = []
        self.epochs: list[float] = []

    # ----------------------------------------------------------------- results
    @property
    def keys(self) -> tuple[str, ...]:
        """Parameter names in concatenation order (empty before the first sample)."""
        return () if self._layout is None else self._layout.keys

    @property
    def samples(self) -> np.ndarray:
        """The recorded vectors, one per row: a read-only ``(n, D)`` view."""
        view = self._buffer[: self._n]
        view.flags.writeable = False
        return view

    def __len__(self) -> int:
        return self._n

    def expected_bytes(self, n_samples: int, n_params: int) -> int:
        """Bytes that ``n_samples`` vectors of ``n_params`` entries take in :attr:`dtype`.

        Parameters
        ----------
        n_samples, n_params : int

        Returns
        -------
        int
        """
        return int(n_samples) * int(n_params) * self.dtype.itemsize

    def clear(self) -> None:
        """Forget every sample (the parameter layout too)."""
        self._layout, self._n, self._last_step = None, 0, 0
        self._buffer = np.empty((0, 0), dtype=self.dtype)
        self.steps, self.epochs = [], []

    # ----------------------------------------------------------------- hooks
    def on_train_begin(self, params: dict[str, np.ndarray], logs: dict[str, Any]) -> None:
        """Fix the layout, reserve the sample matrix (warning if large), record sample 0."""
        if self._layout is None:
            self._layout = ParamLayout(params)
        else:
            self._layout.check(params)
        epochs, per_epoch = logs.get("epochs"), logs.get("steps_per_epoch")
        if epochs is not None and per_epoch is not None:
            n_new = (
                int(epochs) if self.every is None else int(epochs) * int(per_epoch) // self.every
            )
            n_new += int(self.include_initial and self._n == 0)
            size = self.expected_bytes(self._n + n_new, self._layout.size)
            if size > self.warn_bytes:
                warnings.warn(
                    f"TrajectorySampler will store {self._n + n_new} samples of "
                    f"{self._layout.size} parameters in {self.dtype}: {size / 2**20:.1f} MiB",
                    ResourceWarning,
                    stacklevel=2,
                )
            self._reserve(self._n + n_new)
        if self.include_initial and self._n == 0:
            self._record(params, 0.0)

    def on_step_end(self, step: int, params: dict[str, np.ndarray], logs: dict[str, Any]) -> None:
        """Record when ``every`` divides the step count."""
        self._last_step = step
        if self.every is not None and step % self.every == 0:
            self._record(params, float(logs.get("epoch", float("nan"))))

    def on_epoch_end(self, epoch: int, params: dict[str, np.ndarray], logs: dict[str, Any]) -> None:
        """Record after the epoch when sampling per epoch."""
        if self.every is None:
            self._record(params, float(epoch))

    # ----------------------------------------------------------------- storage
    def _reserve(self, n: int) -> None:
        """Grow the sample matrix to at least ``n`` rows (keeping the recorded ones)."""
        assert self._layout is not None
        if n <= self._buffer.shape[0] and self._buffer.shape[1] == self._layout.size:
            return
        grown = np.empty((max(n, 1), self._layout.size), dtype=self.dtype)
        if self._n:
            grown[: self._n] = self._buffer[: self._n]
        self._buffer = grown

    def _record(self, params: dict[str, np.ndarray], epoch: float) -> None:
        if self._layout is None:
            self._layout = ParamLayout(params)
        if self._n == self._buffer.shape[0]:
            self._reserve(max(2 * self._n, self._n + 1))
        self._layout.flatten(params, out=self._buffer[self._n])
        self._n += 1
        self.steps.append(self._last_step)
        self.epochs.append(epoch)
