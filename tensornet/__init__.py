"""tensornet: low-rank tensor decompositions and low-rank deep learning in plain NumPy.

The survey *Low Rank Optimization for Efficient Deep Learning* (Ou, Chen, Zhu, Liu) maps the
field; tensornet makes its methods runnable. Public names are re-exported here.
"""

__version__ = "0.1.0"

from . import algebra, decompositions, formats  # noqa: E402
from .algebra import (  # noqa: E402
    fold,
    khatri_rao,
    kron,
    mkron,
    mode_dot,
    multi_mode_dot,
    outer,
    tensorize,
    unfold,
    vectorize,
)
from .formats import StructuredTensor  # noqa: E402

__all__ = [
    "__version__",
    "algebra",
    "decompositions",
    "formats",
    "fold",
    "khatri_rao",
    "kron",
    "mkron",
    "mode_dot",
    "multi_mode_dot",
    "outer",
    "tensorize",
    "unfold",
    "vectorize",
    "StructuredTensor",
]
