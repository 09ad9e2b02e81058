"""Bad-input rows of tensornet.compress.{prune, sparse, sharing, quantize} and quantized CP-ALS."""

from __future__ import annotations

import numpy as np

import tensornet as tn
from tensornet.compress import prune, quantize, sharing, sparse
from tensornet.compress.prune import (
    FilterPruneResult,
    PruneMasks,
    factor_param_names,
    filter_prune,
    magnitude_prune,
    prune_factors,
)
from tensornet.compress.quantize import (
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
from tensornet.compress.sharing import (
    SharedBasis,
    SharedBasisSequential,
    SharedWeights,
    share_basis,
    share_weights,
    shared_basis,
)
from tensornet.compress.sparse import (
    SparseLinear,
    SparseMatrix,
    pointer_dtype,
    sparse_linear,
    to_sparse,
)
from tensornet.nn import Linear, ReLU, Sequential

from . import Row

MODULES = [prune, sparse, sharing, quantize]

V, T = ValueError, TypeError
W = np.random.default_rng(0).standard_normal((4, 5))
NAN = W.copy()
NAN[1, 1] = np.nan
STR = np.full((2, 2), "a")


def _net():
    return Sequential(("fc1", Linear(4, 3, random_state=0)), ("act", ReLU()),
                      ("fc2", Linear(3, 2, random_state=1)))  # fmt: skip


def _q():
    return quantize_affine(W, 4)


def _corrupt(record, key, value):
    arrays = record.to_arrays()
    arrays[key] = value
    return arrays


ROWS: list[Row] = []


def rows(name: str, *specs: tuple) -> None:
    for kind, call, exc, match in specs:
        ROWS.append(Row(name, kind, call, exc, match))


# ------------------------------------------------------------------------------ quantize
rows(
    "code_dtype",
    ("range", lambda: code_dtype(0), V, "bits=0 must be >= 1"),
    ("type", lambda: code_dtype(2.5), T, "bits must be an integer"),
)
rows(
    "pack_bits",
    ("range", lambda: pack_bits([0, 4], 2), V, r"codes must lie in \[0, 2\*\*bits\)"),
    ("negative", lambda: pack_bits([-1], 3), V, "codes must lie in"),
    ("dtype", lambda: pack_bits([0.5], 3), T, "codes must be an integer array"),
    ("str_array", lambda: pack_bits(STR, 3), T, "codes must be a real numeric array"),
    ("bits", lambda: pack_bits([1], 33), V, "bits=33 must be <= 32"),
)
rows(
    "unpack_bits",
    ("length", lambda: unpack_bits(np.zeros(1, np.uint8), 3, 5), V, "need exactly 2"),
    ("dtype", lambda: unpack_bits(np.zeros(2), 3, 5), T, "packed must be a uint8 array"),
    ("count", lambda: unpack_bits(np.zeros(1, np.uint8), 3, -1), V, "count=-1 must be >= 0"),
)
rows(
    "quantize_affine",
    ("nan", lambda: quantize_affine(NAN), V, "x must be finite"),
    ("str_array", lambda: quantize_affine(STR), T, "x must be a real numeric array"),
    ("bits", lambda: quantize_affine(W, 0), V, "bits=0 must be >= 1"),
    ("bits", lambda: quantize_affine(W, 1, symmetric=True), V, "bits=1 must be >= 2"),
    ("bits", lambda: quantize_affine(W, 17), V, "bits=17 must be <= 16"),
    ("axis", lambda: quantize_affine(W, 4, axis=2), V, "axis=2 is out of range"),
    ("empty", lambda: quantize_affine(np.zeros((0, 3))), V, "x must not be empty"),
)
rows(
    "kmeans_quantize",
    ("nan", lambda: kmeans_quantize(NAN, 2), V, "x must be finite"),
    ("missing", lambda: kmeans_quantize(W), V, "give bits or n_clusters"),
    ("clusters", lambda: kmeans_quantize(W, 1, n_clusters=5), V, "n_clusters=5 needs bits >= 3"),
    ("init", lambda: kmeans_quantize(W, 2, init="kmeans++"), V, "init='kmeans\\+\\+'"),
    ("n_iter", lambda: kmeans_quantize(W, 2, n_iter=-1), V, "n_iter=-1 must be >= 0"),
    ("mask", lambda: kmeans_quantize(W, 2, mask=np.ones(3, bool)), V, "mask has shape"),
    ("mask", lambda: kmeans_quantize(W, 2, mask=np.ones((4, 5))), T, "mask must be a boolean"),
    ("keep_zero", lambda: kmeans_quantize(W, n_clusters=1, keep_zero=True), V, "must be >= 2"),
    ("seed", lambda: kmeans_quantize(W, 2, init="random", random_state=-1), V, "random_state"),
)
rows(
    "dequantize",
    ("type", lambda: dequantize(W), T, "q must be a QuantizedTensor"),
)
rows(
    "fake_quantize",
    ("nan", lambda: fake_quantize(NAN, 4), V, "x must be finite"),
    ("bits", lambda: fake_quantize(W, 0), V, "bits=0 must be >= 1"),
)
rows(
    "QuantizationAwareTraining",
    ("type", lambda: QuantizationAwareTraining(W), T, "params must be a non-empty dict"),
    ("names", lambda: QuantizationAwareTraining({"w": W}, ["v"]), V, "'v', which is not"),
    ("names", lambda: QuantizationAwareTraining({"w": W}, "w"), T, "not a string|the string"),
    ("bits", lambda: QuantizationAwareTraining({"w": W.copy()}, bits=1), V, "bits=1 must be"),
    ("axis", lambda: QuantizationAwareTraining({"w": W.copy()}, axis=5), V, "axis=5 is out"),
)
rows(
    "QuantizedTensor",
    ("scheme", lambda: QuantizedTensor(np.zeros(3, np.uint8), 2, "log", "float32"), V,
     "scheme='log'"),
    ("codes", lambda: QuantizedTensor(np.zeros(3), 2, "kmeans", "float32", codebook=np.ones(2)),
     T, "codes must be an integer array"),
    ("missing", lambda: QuantizedTensor(np.zeros(3, np.uint8), 2, "affine", "float32"), V,
     "needs scale, zero_point"),
    ("corrupt", lambda: QuantizedTensor.from_arrays(
        _corrupt(_q(), "codes", np.zeros(2, np.uint8)), _q().to_meta()), V, "need exactly 10"),
    ("corrupt", lambda: QuantizedTensor.from_arrays(
        _corrupt(_q(), "scale", np.array(np.nan)), _q().to_meta()), V, "scale must be a finite"),
    ("missing", lambda: QuantizedTensor.from_arrays({}, _q().to_meta()), V, "lacks 'codes'"),
)  # fmt: skip

# ------------------------------------------------------------------------------ prune
rows(
    "magnitude_prune",
    ("type", lambda: magnitude_prune(W, quality=1.0), T, "model_or_params must be a"),
    ("rule", lambda: magnitude_prune({"w": W.copy()}), V, "exactly one of quality and sparsity"),
    ("rule", lambda: magnitude_prune({"w": W.copy()}, quality=1, sparsity=0.5), V, "exactly one"),
    ("range", lambda: magnitude_prune({"w": W.copy()}, sparsity=1.0), V, r"must lie in \[0, 1\)"),
    ("range", lambda: magnitude_prune({"w": W.copy()}, quality=-1.0), V, "quality=-1.0 must be"),
    ("nan", lambda: magnitude_prune({"w": W.copy()}, quality=float("nan")), V, "quality=nan"),
    ("names", lambda: magnitude_prune({"w": W.copy()}, sparsity=0.5, names=["v"]), V, "'v'"),
    ("names", lambda: magnitude_prune({"w": W.copy()}, sparsity={"v": 0.5}), V, r"\['v'\]"),
    ("dtype", lambda: magnitude_prune({"w": np.ones((2, 2), int)}, sparsity=0.5), T,
     "floating-point"),
)  # fmt: skip
rows(
    "prune_factors",
    ("no_factors", lambda: prune_factors(_net(), sparsity=0.5), V, "no factorized layer"),
    ("type", lambda: prune_factors({"w": W}, sparsity=0.5), T, "model must be a"),
)
rows(
    "factor_param_names",
    ("type", lambda: factor_param_names(W), T, "model must be a tensornet.nn.Module"),
)
rows(
    "filter_prune",
    ("type", lambda: filter_prune(Linear(3, 2), "fc1", keep=1), T, "must be a tensornet.nn.Seq"),
    ("layer", lambda: filter_prune(_net(), "fc9", keep=1), V, "layer='fc9' is not a layer"),
    ("last", lambda: filter_prune(_net(), "fc2", keep=1), V, "no following Conv2d or Linear"),
    ("keep", lambda: filter_prune(_net(), "fc1", keep=4), V, "keep=4 must be <= 3"),
    ("keep", lambda: filter_prune(_net(), "fc1", keep=[2, 1]), V, "strictly increasing"),
    ("keep", lambda: filter_prune(_net(), "fc1", keep=[0, 7]), V, "strictly increasing"),
    ("rule", lambda: filter_prune(_net(), "fc1"), V, "exactly one of keep and amount"),
    ("amount", lambda: filter_prune(_net(), "fc1", amount=1.5), V, r"amount=1.5 must lie"),
    ("criterion", lambda: filter_prune(_net(), "fc1", keep=1, criterion="l0"), V, "criterion"),
)
rows(
    "PruneMasks",
    ("type", lambda: PruneMasks({"w": np.ones(3)}), T, r"masks\['w'\] must be a boolean"),
    ("corrupt", lambda: PruneMasks.from_arrays({"w": np.zeros(1, np.uint8)},
                                               {"shapes": {"w": [4, 5]}}), V, "bitmap of 'w'"),
    ("missing", lambda: PruneMasks.from_arrays({}, {"shapes": {"w": [4, 5]}}), V, "lacks"),
    ("shape", lambda: PruneMasks({"w": np.ones((2, 2), bool)}).apply({"w": W}), V, "shape"),
)  # fmt: skip
rows(
    "FilterPruneResult",
    ("type", lambda: FilterPruneResult(Linear(2, 2), {}, "fc", []), T, "model must be a"),
)

# ------------------------------------------------------------------------------ sparse
rows(
    "to_sparse",
    ("nan", lambda: to_sparse(NAN), V, "w must be finite"),
    ("str_array", lambda: to_sparse(STR), T, "w must be a real numeric array"),
    ("scalar", lambda: to_sparse(3.0), V, "ndim >= 1"),
    ("bool", lambda: to_sparse(np.ones((2, 2), bool)), T, "dtype bool"),
    ("bits", lambda: to_sparse(W, 0), V, "index_bits=0 must be >= 1"),
    ("format", lambda: to_sparse(W, format="coo"), V, "format='coo'"),
)
rows(
    "pointer_dtype",
    ("range", lambda: pointer_dtype(-1), V, "n_stored=-1 must be >= 0"),
)
rows(
    "sparse_linear",
    ("type", lambda: sparse_linear(W, W), T, "s must be a SparseMatrix"),
    ("shape", lambda: sparse_linear(np.ones((2, 3)), to_sparse(W)), V, "x has 3 features"),
    ("nan", lambda: sparse_linear(np.full((2, 4), np.nan), to_sparse(W)), V, "x must be finite"),
    ("codebook", lambda: sparse_linear(np.ones((2, 4)), to_sparse(W), codebook=[1.0]), T,
     "integer codes"),
)  # fmt: skip
rows(
    "SparseMatrix",
    ("format", lambda: SparseMatrix("coo", (1, 1), (1, 1), np.ones(1), np.zeros(1), np.zeros(2),
                                    2, 0), V, "format='coo'"),
    ("length", lambda: SparseMatrix("csr", (1, 1), (1, 1), np.ones(2), np.zeros(1), np.zeros(2),
                                    2, 0), V, "equal length"),
    ("corrupt", lambda: SparseMatrix.from_arrays(
        _corrupt(to_sparse(W, 2), "gaps", np.zeros(1, np.uint8)), to_sparse(W, 2).to_meta()), V,
     "need exactly"),
    ("missing", lambda: SparseMatrix.from_arrays({}, to_sparse(W).to_meta()), V, "lacks"),
)  # fmt: skip
rows(
    "SparseLinear",
    ("type", lambda: SparseLinear(W), T, "weight must be a SparseMatrix"),
    ("bias", lambda: SparseLinear(to_sparse(W), bias=np.ones(3)), V, "bias has 3 entries"),
    ("type", lambda: SparseLinear.from_linear(W), T, "layer must be a tensornet.nn.Linear"),
)

# ------------------------------------------------------------------------------ sharing
rows(
    "share_weights",
    ("type", lambda: share_weights(W), T, "model_or_params must be a"),
    ("bits", lambda: share_weights({"w": W.copy()}, 0), V, "bits=0 must be >= 1"),
    ("bits", lambda: share_weights({"w": W.copy()}, {"v": 2}), V, r"no width for \['w'\]"),
    ("masks", lambda: share_weights({"w": W.copy()}, 2, masks={"w": 1}), T, "PruneMasks"),
    ("init", lambda: share_weights({"w": W.copy()}, 2, init="forgy"), V, "init='forgy'"),
)
rows(
    "SharedWeights",
    ("type", lambda: SharedWeights({"w": _q()}), T, "k-means QuantizedTensor"),
    ("type", lambda: SharedWeights([1]), T, "quantized must be a dict"),
)
rows(
    "shared_basis",
    ("type", lambda: shared_basis(W, 1), T, "weights must be a non-empty dict"),
    ("nan", lambda: shared_basis({"a": NAN}, 1), V, r"weights\['a'\] must be finite"),
    ("ndim", lambda: shared_basis({"a": np.ones(3)}, 1), V, "ndim=2"),
    ("shape", lambda: shared_basis({"a": W, "b": W.T}, 1), V, "equal numbers of rows"),
    ("rank", lambda: shared_basis({"a": W}, 9), V, "rank=9 must be <= 4"),
    ("rank", lambda: shared_basis({"a": W}), V, "exactly one of rank and eps"),
    ("eps", lambda: shared_basis({"a": W}, eps=-0.1), V, "eps"),
    ("side", lambda: shared_basis({"a": W}, 1, side="up"), V, "side='up'"),
)
rows(
    "SharedBasis",
    ("side", lambda: SharedBasis("up", W, {}), V, "side='up'"),
    ("missing", lambda: SharedBasis.from_arrays({}, {"side": "left"}), V, "lacks 'basis'"),
    ("nan", lambda: SharedBasis("left", NAN, {}), V, "basis must be finite"),
)

rows(
    "share_basis",
    ("type", lambda: share_basis(Linear(3, 2), ["fc1"], 1), T, "must be a tensornet.nn.Sequential"),
    ("layers", lambda: share_basis(_net(), "fc1", 1), T, "layers must be a non-empty sequence"),
    ("layers", lambda: share_basis(_net(), ["act"], 1), V, "'act', which is not a Linear"),
    ("shape", lambda: share_basis(_net(), ["fc1", "fc2"], 1), V, "equal numbers of rows"),
    ("rank", lambda: share_basis(_net(), ["fc1"], 0), V, "rank=0 must be >= 1"),
)
rows(
    "SharedBasisSequential",
    ("type", lambda: SharedBasisSequential(Linear(3, 2), shared_basis({"a": W}, 1)), T,
     "must be a tensornet.nn.Sequential"),
    ("type", lambda: SharedBasisSequential(_net(), W), T, "shared must be a SharedBasis"),
    ("layers", lambda: SharedBasisSequential(_net(), shared_basis({"zz": W}, 1)), V,
     r"\['zz'\] are not layers"),
)  # fmt: skip

# ------------------------------------------------------------------------------ quantized CP
rows(
    "cp_als",
    ("quantize", lambda: tn.cp_als(np.ones((3, 3, 3)), 1, quantize=1), V, "quantize=1 must be"),
    ("quantize", lambda: tn.cp_als(np.ones((3, 3, 3)), 1, quantize="8"), T, "quantize must be"),
)
