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

__all__ = [
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
