"""tensornet: low-rank tensor decompositions and low-rank deep learning in plain NumPy.

The survey *Low Rank Optimization for Efficient Deep Learning* (Ou, Chen, Zhu, Liu) maps the
field; tensornet makes its methods runnable. The public names of the subpackages are
re-exported here:

* :mod:`tensornet.algebra`: unfold/fold, mode products, Kronecker-type products, the STP;
* :mod:`tensornet.formats`: structured tensors (CP, Tucker, BTD, TT, TT-matrix, TR, HT, Kron, STP);
* :mod:`tensornet.decompositions`: the algorithms that fit them;
* :mod:`tensornet.rank`: rank selection (EVBMF, energy, budgets);
* :mod:`tensornet.nn` and :mod:`tensornet.datasets`: the neural-net framework, its factorized
  layers, and MNIST;
* :mod:`tensornet.compress`: decompose a trained network (pre-train), compare formats, and
  combine low rank with pruning, quantization, entropy coding and distillation;
* :mod:`tensornet.measures`: sparsity measures of vectors and of matrices through their singular
  values (Gini, Hoyer, effective rank, ...), differentiable with autograd;
* :mod:`tensornet.subspace`: DLDR subspace training (trajectory sampling, P-SGD, P-BFGS);
* :mod:`tensornet.testing` (the ``testing`` extra, not imported here): Hypothesis strategies and
  guarantee checkers for property tests of decompositions.
"""

__version__ = "0.1.0"

from . import (  # noqa: E402
    algebra,
    compress,
    datasets,
    decompositions,
    formats,
    measures,
    nn,
    rank,
    subspace,
)
from .algebra import (  # noqa: E402
    fold,
    gram,
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
from .decompositions import (  # noqa: E402
    btd_als,
    cp_als,
    gkpd,
    hosvd,
    ht_svd,
    kpd,
    randomized_svd,
    st_tucker,
    str_als,
    stt_svd,
    tr_als,
    tr_svd,
    truncated_svd,
    tt_matrix_svd,
    tt_svd,
    tucker2,
    tucker_hooi,
)
from .formats import (  # noqa: E402
    BTDTensor,
    CPTensor,
    DimensionTree,
    HTTensor,
    KronTensor,
    STRTensor,
    StructuredTensor,
    STTTensor,
    STTuckerTensor,
    TRTensor,
    TTMatrix,
    TTTensor,
    TuckerTensor,
)

__all__ = [
    "__version__",
    # subpackages
    "algebra",
    "compress",
    "datasets",
    "decompositions",
    "formats",
    "measures",
    "nn",
    "rank",
    "subspace",
    # algebra
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
    # decompositions
    "btd_als",
    "cp_als",
    "gkpd",
    "hosvd",
    "ht_svd",
    "kpd",
    "randomized_svd",
    "st_tucker",
    "str_als",
    "stt_svd",
    "tr_als",
    "tr_svd",
    "truncated_svd",
    "tt_matrix_svd",
    "tt_svd",
    "tucker2",
    "tucker_hooi",
    # formats
    "BTDTensor",
    "CPTensor",
    "DimensionTree",
    "HTTensor",
    "KronTensor",
    "StructuredTensor",
    "STRTensor",
    "STTTensor",
    "STTuckerTensor",
    "TRTensor",
    "TTMatrix",
    "TTTensor",
    "TuckerTensor",
]
