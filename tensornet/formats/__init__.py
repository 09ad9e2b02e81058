"""Structured tensor formats: one module per format, all subclasses of StructuredTensor."""

from .base import DEFAULT_MAX_ELEMENTS, StructuredTensor, format_class
from .btd import BTDTensor
from .cp import CPTensor
from .tucker import TuckerTensor

__all__ = [
    "DEFAULT_MAX_ELEMENTS",
    "StructuredTensor",
    "format_class",
    "BTDTensor",
    "CPTensor",
    "TuckerTensor",
]

from .ht import DimensionTree, HTTensor  # noqa: E402
from .kron import KronTensor  # noqa: E402
from .stp import STRTensor, STTTensor, STTuckerTensor  # noqa: E402

__all__ += ["DimensionTree", "HTTensor", "KronTensor", "STRTensor", "STTTensor", "STTuckerTensor"]

from .tr import TRTensor  # noqa: E402
from .tt import TTTensor  # noqa: E402
from .tt_matrix import TTMatrix  # noqa: E402

__all__ += ["TRTensor", "TTMatrix", "TTTensor"]
