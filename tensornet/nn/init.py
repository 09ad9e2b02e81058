"""Weight initializers: He (Kaiming) and Glorot (Xavier), normal and uniform.

Fan convention: a 2-D weight is stored ``(in_features, out_features)`` (``y = x @ W``), so
``fan_in = shape[0]`` and ``fan_out = shape[1]``; a convolution kernel is stored
``(out_channels, in_channels, *kernel)``, so ``fan_in = in_channels * prod(kernel)`` and
``fan_out = out_channels * prod(kernel)``.

* He et al. 2015, "Delving deep into rectifiers": ``Var(W) = gain**2 / fan_in`` with gain
  ``sqrt(2)`` for ReLU; uniform bound ``gain * sqrt(3 / fan_in)``.
* Glorot & Bengio 2010: ``Var(W) = 2 / (fan_in + fan_out)``; uniform bound
  ``sqrt(6 / (fan_in + fan_out))``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._validation import check_random_state, check_shape

__all__ = [
    "compute_fans",
    "he_normal",
    "he_uniform",
    "glorot_normal",
    "glorot_uniform",
    "uniform",
]


def compute_fans(shape: Sequence[int]) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight of the given shape (see the module docstring).

    Parameters
    ----------
    shape : sequence of int
        ``(in, out)`` for a dense weight, ``(out, in, *kernel)`` for a convolution.

    Returns
    -------
    (int, int)
    """
    shape = check_shape(shape)
    if len(shape) < 2:
        raise ValueError(f"shape={shape} needs at least 2 dimensions to define fans")
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def _draw_normal(shape, std, random_state, dtype) -> np.ndarray:
    rng = check_random_state(random_state)
    return (rng.standard_normal(tuple(shape)) * std).astype(dtype)


def _draw_uniform(shape, bound, random_state, dtype) -> np.ndarray:
    rng = check_random_state(random_state)
    return rng.uniform(-bound, bound, size=tuple(shape)).astype(dtype)


def he_normal(
    shape: Sequence[int],
    gain: float = math.sqrt(2.0),
    random_state: Any = None,
    dtype: Any = np.float32,
) -> np.ndarray:
    """He normal: ``N(0, gain**2 / fan_in)``.

    Parameters
    ----------
    shape : sequence of int
        Weight shape (fan convention in the module docstring).
    gain : float
        ``sqrt(2)`` for ReLU, ``1`` for linear outputs.
    random_state : None, int or numpy.random.Generator
        Seed.
    dtype : numpy dtype
        Output dtype (float32 by default).

    Returns
    -------
    numpy.ndarray
    """
    fan_in, _ = compute_fans(shape)
    return _draw_normal(shape, gain / math.sqrt(fan_in), random_state, dtype)


def he_uniform(
    shape: Sequence[int],
    gain: float = math.sqrt(2.0),
    random_state: Any = None,
    dtype: Any = np.float32,
) -> np.ndarray:
    """He uniform: ``U(-b, b)`` with ``b = gain * sqrt(3 / fan_in)`` (same variance as normal).

    Parameters
    ----------
    shape : sequence of int
        Weight shape.
    gain : float
        ``sqrt(2)`` for ReLU, ``1`` for linear outputs.
    random_state : None, int or numpy.random.Generator
        Seed.
    dtype : numpy dtype
        Output dtype.

    Returns
    -------
    numpy.ndarray
    """
    fan_in, _ = compute_fans(shape)
    return _draw_uniform(shape, gain * math.sqrt(3.0 / fan_in), random_state, dtype)


def glorot_normal(
    shape: Sequence[int], gain: float = 1.0, random_state: Any = None, dtype: Any = np.float32
) -> np.ndarray:
    """Glorot normal: ``N(0, gain**2 * 2 / (fan_in + fan_out))``.

    Parameters
    ----------
    shape : sequence of int
        Weight shape.
    gain : float
        Scale factor (1 for tanh/sigmoid networks as in the paper).
    random_state : None, int or numpy.random.Generator
        Seed.
    dtype : numpy dtype
        Output dtype.

    Returns
    -------
    numpy.ndarray
    """
    fan_in, fan_out = compute_fans(shape)
    return _draw_normal(shape, gain * math.sqrt(2.0 / (fan_in + fan_out)), random_state, dtype)


def glorot_uniform(
    shape: Sequence[int], gain: float = 1.0, random_state: Any = None, dtype: Any = np.float32
) -> np.ndarray:
    """Glorot uniform: ``U(-b, b)`` with ``b = gain * sqrt(6 / (fan_in + fan_out))``.

    Parameters
    ----------
    shape : sequence of int
        Weight shape.
    gain : float
        Scale factor.
    random_state : None, int or numpy.random.Generator
        Seed.
    dtype : numpy dtype
        Output dtype.

    Returns
    -------
    numpy.ndarray
    """
    fan_in, fan_out = compute_fans(shape)
    return _draw_uniform(shape, gain * math.sqrt(6.0 / (fan_in + fan_out)), random_state, dtype)


def uniform(
    shape: Sequence[int], bound: float, random_state: Any = None, dtype: Any = np.float32
) -> np.ndarray:
    """``U(-bound, bound)``, e.g. for biases with ``bound = 1 / sqrt(fan_in)``.

    Parameters
    ----------
    shape : sequence of int
        Output shape.
    bound : float
        Half-width, ``>= 0``.
    random_state : None, int or numpy.random.Generator
        Seed.
    dtype : numpy dtype
        Output dtype.

    Returns
    -------
    numpy.ndarray
    """
    if not bound >= 0:
        raise ValueError(f"bound={bound!r} must be >= 0")
    return _draw_uniform(shape, bound, random_state, dtype)
