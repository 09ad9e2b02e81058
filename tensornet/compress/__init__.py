"""tensornet.compress: compression workflows built on the factorized layers.

* :func:`decompose` (pre-train, survey Section II-B.1): replace the chosen layers of a trained
  model by factorized layers initialized from the decomposition of their weights, with ranks
  given, bounded by an error, or selected under a parameter/FLOP budget;
* :func:`compare_methods`: decompose with several formats, fine-tune each, tabulate.
"""

from .compare import DEMO_CONFIGS, MethodConfig, compare_methods, format_comparison
from .decompose import METHODS, DecompositionReport, LayerReport, decompose

__all__ = [
    "decompose",
    "DecompositionReport",
    "LayerReport",
    "METHODS",
    "compare_methods",
    "format_comparison",
    "MethodConfig",
    "DEMO_CONFIGS",
]
