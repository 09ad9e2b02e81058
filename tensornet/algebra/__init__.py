"""Tensor algebra in C order: unfoldings, mode products, Kronecker-type products and the STP.

See :mod:`tensornet.algebra.modes` for the unfolding convention and
:mod:`tensornet.algebra.products` for the Kronecker index rule it implies.
"""

from .gram import gram
from .kernels import mttkrp
from .modes import fold, mode_dot, multi_mode_dot, unfold
from .products import khatri_rao, kron, mkron, outer
from .reshape import tensorize, vectorize
from .stp import stp, stp_mode_dot

__all__ = [
    "fold",
    "gram",
    "khatri_rao",
    "kron",
    "mkron",
    "mode_dot",
    "mttkrp",
    "multi_mode_dot",
    "outer",
    "stp",
    "stp_mode_dot",
    "tensorize",
    "unfold",
    "vectorize",
]
