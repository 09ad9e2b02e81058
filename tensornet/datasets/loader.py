"""Mini-batches for stochastic gradient methods: seeded shuffling, batching, the last batch.

One epoch of `DataLoader` visits every sample exactly once: with ``shuffle=True`` in the
order of a fresh random permutation drawn from the loader's generator (so a seeded loader
repeats the same sequence of epoch orders), otherwise in storage order. Each batch costs one
indexing operation per array.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from .._validation import check_int, check_numeric_array, check_random_state

__all__ = ["DataLoader"]


class DataLoader:
    """Iterate over ``(x_batch, y_batch)`` pairs of a data set, one epoch per iteration.

    Parameters
    ----------
    x : array_like
        Inputs; the first axis indexes samples (e.g. images of shape ``(N, 1, 28, 28)``).
    y : array_like
        Targets with the same first-axis length ``N`` (e.g. ``int64`` labels of shape ``(N,)``).
    batch_size : int
        Samples per batch, ``>= 1``.
    shuffle : bool
        Draw a new random permutation of the samples at the start of every epoch. Without
        shuffling, batches are contiguous slices (views into ``x`` and ``y``, no copy).
    drop_last : bool
        Drop the final batch when it has fewer than ``batch_size`` samples; by default it is
        kept, so every sample is seen once per epoch.
    random_state : None, int or numpy.random.Generator
        Source of the permutations. An ``int`` seeds a private generator: two loaders with the
        same seed produce the same sequence of epoch orders. A ``Generator`` is used (and
        advanced) as is.

    Attributes
    ----------
    x, y : numpy.ndarray
        The data (not copied when already arrays).
    n_samples : int
        ``N``.

    Raises
    ------
    TypeError
        If ``batch_size`` is not an integer or ``random_state`` has the wrong type.
    ValueError
        If ``batch_size < 1``, ``x`` or ``y`` is a scalar, or their lengths differ.

    Examples
    --------
    >>> import numpy as np
    >>> loader = DataLoader(np.arange(10.0), np.arange(10), batch_size=4, random_state=0)
    >>> len(loader), [len(xb) for xb, yb in loader]
    (3, [4, 4, 2])
    """

    def __init__(
        self,
        x: Any,
        y: Any,
        batch_size: int,
        shuffle: bool = True,
        drop_last: bool = False,
        random_state: Any = None,
    ) -> None:
        self.x = _as_batched_array(x, "x")
        self.y = _as_batched_array(y, "y")
        if self.x.shape[0] != self.y.shape[0]:
            raise ValueError(
                f"x and y must hold the same number of samples, got len(x)={self.x.shape[0]} "
                f"and len(y)={self.y.shape[0]}"
            )
        self.n_samples = int(self.x.shape[0])
        self.batch_size = check_int(batch_size, "batch_size", minimum=1)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self._rng = check_random_state(random_state)

    def __len__(self) -> int:
        """Number of batches per epoch."""
        full, rest = divmod(self.n_samples, self.batch_size)
        return full + (1 if rest and not self.drop_last else 0)

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield the batches of one epoch (a new permutation each time when shuffling)."""
        n_batches = len(self)
        bs = self.batch_size
        if not self.shuffle:
            for b in range(n_batches):
                yield self.x[b * bs : (b + 1) * bs], self.y[b * bs : (b + 1) * bs]
            return
        order = self._rng.permutation(self.n_samples)
        for b in range(n_batches):
            idx = order[b * bs : (b + 1) * bs]
            yield self.x.take(idx, axis=0), self.y.take(idx, axis=0)

    def __repr__(self) -> str:
        return (
            f"DataLoader(n_samples={self.n_samples}, batch_size={self.batch_size}, "
            f"shuffle={self.shuffle}, drop_last={self.drop_last}, n_batches={len(self)})"
        )


def _as_batched_array(a: Any, name: str) -> np.ndarray:
    """Return ``a`` as an array with at least one axis (the sample axis)."""
    if a is None or isinstance(a, (str, bytes)):
        raise TypeError(f"{name} must be an array with a sample axis, got {a!r}")
    arr = check_numeric_array(a, name)
    if arr.ndim == 0:
        raise ValueError(f"{name} must have at least one axis (the samples), got a scalar")
    return arr
