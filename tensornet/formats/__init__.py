# ruff: noqa: I001  (formats in the survey's order, not alphabetical)
"""Structured tensor formats: one module per format, all subclasses of StructuredTensor.

A format knows how to *be* a tensor (shape, ranks, ``full()``, ``norm()``, storage); the
algorithms that find one from data live in :mod:`tensornet.decompositions`.
"""

from .base import DEFAULT_MAX_ELEMENTS, StructuredTensor, format_class
from .cp import CPTensor
from .tucker import TuckerTensor
from .btd import BTDTensor
from .tt import TTTensor
from .tt_matrix import TTMatrix
from .tr import TRTensor
from .ht import DimensionTree, HTTensor
from .kron import KronTensor
from .stp import STRTensor, STTTensor, STTuckerTensor

__all__ = [
    "DEFAULT_MAX_ELEMENTS",
    "StructuredTensor",
    "format_class",
    "CPTensor",
    "TuckerTensor",
    "BTDTensor",
    "TTTensor",
    "TTMatrix",
    "TRTensor",
    "DimensionTree",
    "HTTensor",
    "KronTensor",
    "STRTensor",
    "STTTensor",
    "STTuckerTensor",
]
