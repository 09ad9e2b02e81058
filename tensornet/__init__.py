"""tensornet: low-rank tensor decompositions and low-rank deep learning in plain NumPy.

The survey *Low Rank Optimization for Efficient Deep Learning* (Ou, Chen, Zhu, Liu) maps the
field; tensornet makes its methods runnable. Public names are re-exported here.
"""

__version__ = "0.1.0"

from . import algebra, datasets, decompositions, formats, nn  # noqa: E402
from .algebra import (  # noqa: E402
    fold,
    khatri_rao,
    kron,
    mkron,
    mode_dot,
    mttkrp,
    multi_mode_dot,
    outer,
    stp,
    stp_mode_dot,
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
    "datasets",
    "nn",
    "fold",
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
    "StructuredTensor",
]

from .decompositions import tr_als, tr_svd, tt_matrix_svd, tt_svd  # noqa: E402
from .formats import TRTensor, TTMatrix, TTTensor  # noqa: E402

__all__ += ["TRTensor", "TTMatrix", "TTTensor", "tr_als", "tr_svd", "tt_matrix_svd", "tt_svd"]

from . import rank  # noqa: E402
from .decompositions import (  # noqa: E402
    btd_als,
    cp_als,
    hosvd,
    randomized_svd,
    truncated_svd,
    tucker2,
    tucker_hooi,
)
from .formats import BTDTensor, CPTensor, TuckerTensor  # noqa: E402

__all__ += ["rank", "btd_als", "cp_als", "hosvd", "randomized_svd", "truncated_svd"]
__all__ += ["tucker2", "tucker_hooi", "BTDTensor", "CPTensor", "TuckerTensor"]

from .decompositions import gkpd, ht_svd, kpd, st_tucker, str_als, stt_svd  # noqa: E402
from .formats import (  # noqa: E402
    DimensionTree,
    HTTensor,
    KronTensor,
    STRTensor,
    STTTensor,
    STTuckerTensor,
)

__all__ += ["gkpd", "ht_svd", "kpd", "st_tucker", "str_als", "stt_svd", "DimensionTree"]
__all__ += ["HTTensor", "KronTensor", "STRTensor", "STTTensor", "STTuckerTensor"]
