"""Factorized layers: dense layers whose weight is stored in a low-rank tensor format.

One module per layer family (survey Section II-A applied to networks); all share
:class:`~tensornet.nn.factorized.base.FactorizedLayer`.
"""

from .base import (
    INIT_GAINS,
    MODES,
    FactorizedConv2d,
    FactorizedLayer,
    FactorizedLinear,
    node_std,
    rescale_to_variance,
    suggest_modes,
    target_variance,
)
from .btd import BTConv2d, BTLinear
from .cp import CPConv2d
from .ht import HTLinear
from .kron import GKPConv2d, KPLinear
from .lowrank import LowRankConv2d, LowRankLinear
from .stt import STTLinear
from .tr import TRConv2d, TRLinear
from .tt import TTConv2d, TTLinear
from .tucker import TuckerConv2d

__all__ = [
    "LowRankLinear",
    "LowRankConv2d",
    "CPConv2d",
    "TuckerConv2d",
    "BTLinear",
    "BTConv2d",
    "TTLinear",
    "TTConv2d",
    "TRLinear",
    "TRConv2d",
    "HTLinear",
    "KPLinear",
    "GKPConv2d",
    "STTLinear",
    "FactorizedLayer",
    "FactorizedLinear",
    "FactorizedConv2d",
    "MODES",
    "INIT_GAINS",
    "target_variance",
    "node_std",
    "rescale_to_variance",
    "suggest_modes",
]
