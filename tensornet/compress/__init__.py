"""tensornet.compress: compression workflows built on the factorized layers.

* :func:`decompose` (pre-train, survey Section II-B.1): replace the chosen layers of a trained
  model by factorized layers initialized from the decomposition of their weights, with ranks
  given, bounded by an error, or selected under a parameter/FLOP budget;
* :func:`compare_methods`: decompose with several formats, fine-tune each, tabulate;
* compression-aware training (:mod:`~tensornet.compress.aware`, survey Sec. II-B.3 and II-C):
  low-rank regularizers from any sparsity measure, SVD training, proximal maps, truncation;
* the techniques of survey Section III that combine with low rank: pruning
  (:mod:`~tensornet.compress.prune`), sparse storage (:mod:`~tensornet.compress.sparse`), weight
  sharing (:mod:`~tensornet.compress.sharing`) and quantization
  (:mod:`~tensornet.compress.quantize`);
* entropy coding (:mod:`~tensornet.compress.entropy`), distillation
  (:mod:`~tensornet.compress.distill`), and :func:`pipeline`, which chains the steps into one
  :class:`CompressedModel` artifact with exact byte accounting.
"""

from .artifact import CompressedModel, architecture, build_architecture, dense_bytes
from .aware import (
    PENALTIES,
    L1Prox,
    LowRankRegularizer,
    NuclearFrankWolfe,
    NuclearNormProx,
    SVDConv2d,
    SVDLinear,
    SVDRegularizer,
    TruncatedLayer,
    TruncationResult,
    orthogonality_penalty,
    singular_value_threshold,
    soft_threshold,
    sparsity_penalty,
    spectral_rank,
    svd_parameterize,
    truncate,
    weight_matrix,
)
from .compare import DEMO_CONFIGS, MethodConfig, compare_methods, format_comparison
from .decompose import METHODS, DecompositionReport, LayerReport, decompose
from .distill import TeacherBatches, distill
from .entropy import (
    HuffmanStream,
    HuffmanTable,
    TunstallDictionary,
    TunstallStream,
    empirical_entropy,
    huffman_decode,
    huffman_encode,
    huffman_table,
    tunstall_decode,
    tunstall_dictionary,
    tunstall_encode,
)
from .pipeline import pipeline
from .prune import (
    FilterPruneResult,
    PruneMasks,
    factor_param_names,
    filter_prune,
    magnitude_prune,
    prune_factors,
)
from .quantize import (
    QuantizationAwareTraining,
    QuantizedTensor,
    code_dtype,
    dequantize,
    fake_quantize,
    kmeans_quantize,
    pack_bits,
    quantize_affine,
    unpack_bits,
)
from .sharing import (
    SharedBasis,
    SharedBasisSequential,
    SharedWeights,
    share_basis,
    share_weights,
    shared_basis,
)
from .sparse import SparseLinear, SparseMatrix, pointer_dtype, sparse_linear, to_sparse

__all__ = [
    "decompose",
    "DecompositionReport",
    "LayerReport",
    "METHODS",
    "compare_methods",
    "format_comparison",
    "MethodConfig",
    "DEMO_CONFIGS",
    # compression-aware training
    "PENALTIES",
    "LowRankRegularizer",
    "SVDLinear",
    "SVDConv2d",
    "svd_parameterize",
    "SVDRegularizer",
    "NuclearNormProx",
    "L1Prox",
    "NuclearFrankWolfe",
    "singular_value_threshold",
    "soft_threshold",
    "spectral_rank",
    "truncate",
    "TruncationResult",
    "TruncatedLayer",
    "sparsity_penalty",
    "orthogonality_penalty",
    "weight_matrix",
    # pruning
    "PruneMasks",
    "magnitude_prune",
    "prune_factors",
    "factor_param_names",
    "filter_prune",
    "FilterPruneResult",
    # sparse storage
    "SparseMatrix",
    "to_sparse",
    "sparse_linear",
    "SparseLinear",
    "pointer_dtype",
    # weight sharing
    "SharedWeights",
    "share_weights",
    "SharedBasis",
    "shared_basis",
    "share_basis",
    "SharedBasisSequential",
    # quantization
    "QuantizedTensor",
    "quantize_affine",
    "kmeans_quantize",
    "dequantize",
    "fake_quantize",
    "QuantizationAwareTraining",
    "pack_bits",
    "unpack_bits",
    "code_dtype",
    # entropy coding
    "empirical_entropy",
    "huffman_table",
    "huffman_encode",
    "huffman_decode",
    "HuffmanTable",
    "HuffmanStream",
    "tunstall_dictionary",
    "tunstall_encode",
    "tunstall_decode",
    "TunstallDictionary",
    "TunstallStream",
    # distillation, pipeline, artifact
    "distill",
    "TeacherBatches",
    "pipeline",
    "CompressedModel",
    "architecture",
    "build_architecture",
    "dense_bytes",
]
