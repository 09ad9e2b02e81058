"""One flat vector for a parameter dict: the order, shapes and offsets of its arrays.

DLDR (Li et al., TPAMI 2022) works on ``w`` in ``R^D``, the trainable parameters concatenated in
a fixed order; the framework keeps them as a dict of arrays. A :class:`ParamLayout` records the
dict's key order (its insertion order, the order :func:`tensornet.nn.fit` and the optimizers
use) and converts both ways.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class ParamLayout:
    """Key order, shapes and offsets of a parameter dict flattened to one vector.

    Parameters
    ----------
    params : dict of str to numpy.ndarray
        The parameters (e.g. ``model.params`` or the sub-dict an optimizer trains).
    """

    def __init__(self, params: dict[str, np.ndarray]) -> None:
        if not isinstance(params, dict) or not params:
            raise TypeError("params must be a non-empty dict of arrays (e.g. model.params)")
        self.keys = tuple(params)
        self.shapes = tuple(tuple(np.shape(params[k])) for k in self.keys)
        sizes = [int(np.prod(s, dtype=np.int64)) for s in self.shapes]
        self.offsets = tuple(int(o) for o in np.concatenate([[0], np.cumsum(sizes)]))
        self.size = self.offsets[-1]

    def check(self, params: dict[str, np.ndarray], name: str = "params") -> None:
        """Raise ``ValueError`` unless ``params`` has this layout's keys (in order) and shapes."""
        if tuple(params) != self.keys:
            raise ValueError(
                f"{name} has the keys {list(params)}, expected {list(self.keys)} (in that order)"
            )
        for key, shape in zip(self.keys, self.shapes, strict=True):
            if tuple(np.shape(params[key])) != shape:
                raise ValueError(
                    f"{name}[{key!r}] has shape {np.shape(params[key])}, expected {shape}"
                )

    def flatten(self, params: dict[str, Any], dtype: Any = None, out: Any = None) -> np.ndarray:
        """The concatenation of the arrays of ``params`` in layout order (a new vector)."""
        if out is None:
            dt = dtype if dtype is not None else np.result_type(*(params[k] for k in self.keys))
            out = np.empty(self.size, dtype=dt)
        for key, lo, hi in zip(self.keys, self.offsets[:-1], self.offsets[1:], strict=True):
            out[lo:hi] = np.reshape(params[key], -1)
        return out

    def views(self, vector: np.ndarray) -> dict[str, np.ndarray]:
        """Views of ``vector`` shaped like the parameters (no copy)."""
        return {
            key: vector[lo:hi].reshape(shape)
            for key, shape, lo, hi in zip(
                self.keys, self.shapes, self.offsets[:-1], self.offsets[1:], strict=True
            )
        }

    def assign(self, params: dict[str, np.ndarray], vector: np.ndarray) -> None:
        """Copy ``vector`` into the arrays of ``params`` in place (casting to their dtypes)."""
        for key, view in self.views(vector).items():
            np.copyto(params[key], view, casting="unsafe")
