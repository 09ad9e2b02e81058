"""Tensor algebra in C order: unfoldings, mode products, Kronecker-type products and the STP.

See :mod:`tensornet.algebra.modes` for the unfolding convention and
:mod:`tensornet.algebra.products` for the Kronecker index rule it implies;
:mod:`tensornet.algebra.truncation` holds the truncation rule of every SVD-based decomposition.
"""

from .gram import gram
from .kernels import mttkrp
from .modes import fold, mode_dot, multi_mode_dot, unfold
from .products import khatri_rao, kron, mkron, outer
from .reshape import tensorize, vectorize
from .stp import stp, stp_mode_dot
from .truncation import leading_subspace, rank_for_error, truncate

__all__ = [
    "fold",
    "gram",
    "khatri_rao",
    "kron",
    "leading_subspace",
    "mkron",
    "mode_dot",
    "mttkrp",
    "multi_mode_dot",
    "outer",
    "rank_for_error",
    "stp",
    "stp_mode_dot",
    "tensorize",
    "truncate",
    "unfold",
    "vectorize",
]
