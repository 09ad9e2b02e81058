"""Bad-input rows for ``tensornet.measures`` and ``tensornet.compress.aware``."""

from __future__ import annotations

import numpy as np

import tensornet.compress.aware as aware
import tensornet.measures as measures
import tensornet.nn as nn
from tests.bad_input import Row

MODULES = [measures, aware]

V, T = ValueError, TypeError
VEC = np.array([1.0, -2.0, 3.0])
MAT = np.arange(6.0).reshape(3, 2)
NAN = np.array([1.0, np.nan, 2.0])
INF = np.array([[1.0, np.inf], [0.0, 1.0]])
STR = np.array(["a", "b"])
CUBE = np.ones((2, 2, 2))
ZERO = np.zeros(4)

ROWS: list[Row] = []


def rows(name: str, *specs: tuple) -> None:
    for kind, call, exc, match in specs:
        ROWS.append(Row(name, kind, call, exc, match))


def _model():
    return nn.Sequential(("flatten", nn.Flatten()), ("fc", nn.Linear(4, 3, random_state=0)))


def _svd_model():
    return aware.svd_parameterize(_model())


# ------------------------------------------------------------------------------ measures
rows(
    "singular_values",
    ("non_finite", lambda: measures.singular_values(INF), V, "a must be finite"),
    ("ndim", lambda: measures.singular_values(VEC), V, "a must have ndim=2"),
    ("str_array", lambda: measures.singular_values(STR), T, "a must be a real numeric array"),
)
rows(
    "l0_norm",
    ("non_finite", lambda: measures.l0_norm(NAN), V, "x must be finite"),
    ("ndim", lambda: measures.l0_norm(CUBE), V, "x must be a vector"),
    ("tol", lambda: measures.l0_norm(VEC, tol=-0.1), V, "tol=-0.1 must be >= 0"),
    ("tol", lambda: measures.l0_norm(VEC, tol=1.0), V, "tol=1.0 must be < 1"),
    ("tol_type", lambda: measures.l0_norm(VEC, tol="0"), T, "tol must be a real number"),
)
rows(
    "lp_norm",
    ("non_finite", lambda: measures.lp_norm(NAN), V, "x must be finite"),
    ("p", lambda: measures.lp_norm(VEC, p=0.0), V, "p=0.0 must be > 0"),
    ("p", lambda: measures.lp_norm(VEC, p=2.0), V, "p=2.0 must be <= 1"),
    ("p_nan", lambda: measures.lp_norm(VEC, p=float("nan")), V, "p=nan must be a finite"),
)
rows(
    "l1_norm",
    ("non_finite", lambda: measures.l1_norm(INF), V, "x must be finite"),
    ("str_array", lambda: measures.l1_norm(STR), T, "x must be a real numeric array"),
    ("ndim", lambda: measures.l1_norm(CUBE), V, "x must be a vector"),
)
rows(
    "nuclear_norm",
    ("ndim", lambda: measures.nuclear_norm(VEC), V, "a must be a matrix"),
    ("non_finite", lambda: measures.nuclear_norm(INF), V, "a must be finite"),
)
rows(
    "sorted_l1",
    ("weights_len", lambda: measures.sorted_l1(VEC, weights=[1.0]), V, "weights has 1 entries"),
    ("weights_order", lambda: measures.sorted_l1(VEC, [1.0, 2.0, 0.0]), V, "non-increasing"),
    ("weights_nan", lambda: measures.sorted_l1(VEC, [np.nan, 1.0, 0.0]), V, "weights must be"),
    ("non_finite", lambda: measures.sorted_l1(NAN), V, "x must be finite"),
)
rows(
    "two_level_l1",
    ("k", lambda: measures.two_level_l1(VEC, k=4), V, "k=4 must be <= 3"),
    ("k_type", lambda: measures.two_level_l1(VEC, k=1.5), T, "k must be an integer"),
    ("rho", lambda: measures.two_level_l1(VEC, k=1, rho=1.5), V, "rho=1.5 must be <= 1"),
    ("non_finite", lambda: measures.two_level_l1(NAN, k=1), V, "x must be finite"),
)
rows(
    "gini_index",
    ("zero", lambda: measures.gini_index(ZERO), V, "x is zero"),
    ("non_finite", lambda: measures.gini_index(NAN), V, "x must be finite"),
    ("empty", lambda: measures.gini_index(np.array([])), V, "x must not be empty"),
)
rows(
    "hoyer",
    ("zero", lambda: measures.hoyer(ZERO), V, "x is zero"),
    ("zero_matrix", lambda: measures.hoyer(np.zeros((2, 3))), V, "x is zero"),
    ("str_array", lambda: measures.hoyer(STR), T, "x must be a real numeric array"),
)
rows(
    "effective_rank",
    ("zero", lambda: measures.effective_rank(ZERO), V, "x is zero"),
    ("non_finite", lambda: measures.effective_rank(INF), V, "x must be finite"),
    ("ndim", lambda: measures.effective_rank(CUBE), V, "x must be a vector"),
)
rows(
    "lorenz_curve",
    ("zero", lambda: measures.lorenz_curve(ZERO), V, "x is zero"),
    ("non_finite", lambda: measures.lorenz_curve(NAN), V, "x must be finite"),
)

# ------------------------------------------------------------------------------ compress.aware
rows(
    "weight_matrix",
    ("ndim", lambda: aware.weight_matrix(VEC), V, "weight must be a Linear weight"),
    ("non_finite", lambda: aware.weight_matrix(INF), V, "weight must be finite"),
)
rows(
    "sparsity_penalty",
    ("measure", lambda: aware.sparsity_penalty("l7", VEC), V, "measure='l7' must be one of"),
    ("ndim", lambda: aware.sparsity_penalty("erank", MAT), V, "values must have ndim=1"),
    ("non_finite", lambda: aware.sparsity_penalty("gini", NAN), V, "values must be finite"),
)
rows(
    "orthogonality_penalty",
    ("ndim", lambda: aware.orthogonality_penalty(VEC), V, "a must have ndim=2"),
    ("non_finite", lambda: aware.orthogonality_penalty(INF), V, "a must be finite"),
)
rows(
    "LowRankRegularizer",
    ("model", lambda: aware.LowRankRegularizer("net"), T, "model must be a tensornet.nn.Module"),
    ("measure", lambda: aware.LowRankRegularizer(_model(), "l7"), V, "measure='l7'"),
    ("lam", lambda: aware.LowRankRegularizer(_model(), lam=-1.0), V, "lam=-1.0 must be >= 0"),
    ("lam_nan", lambda: aware.LowRankRegularizer(_model(), lam=np.nan), V, "lam=nan"),
    ("layers", lambda: aware.LowRankRegularizer(_model(), layers=["fc9"]), V, "no layer 'fc9'"),
    ("layers_kind", lambda: aware.LowRankRegularizer(_model(), layers="flatten"), V, "Flatten"),
    ("no_layers", lambda: aware.LowRankRegularizer(nn.Sequential(nn.ReLU())), V, "has no Linear"),
)
rows(
    "SVDLinear",
    ("rank", lambda: aware.SVDLinear(np.ones((4, 2)), np.ones(3), np.ones((3, 2))), V, "share"),
    ("non_finite", lambda: aware.SVDLinear(np.ones((4, 2)), NAN[:2], np.ones((3, 2))), V, "s must"),
    ("bias", lambda: aware.SVDLinear.from_weight(MAT, bias=np.ones(5)), V, "bias has shape"),
    ("weight_ndim", lambda: aware.SVDLinear.from_weight(VEC), V, "weight must have ndim=2"),
)
rows(
    "SVDConv2d",
    (
        "kernel_shape",
        lambda: aware.SVDConv2d(np.ones((4, 2)), np.ones(2), np.ones((9, 2)), (4, 2, 3, 3)),
        V,
        "kernel_shape",
    ),
    ("weight_ndim", lambda: aware.SVDConv2d.from_weight(MAT), V, "weight must have ndim=4"),
    ("non_finite", lambda: aware.SVDConv2d.from_weight(np.full((2, 1, 3, 3), np.inf)), V, "finite"),
)
rows(
    "svd_parameterize",
    ("model", lambda: aware.svd_parameterize(3), T, "model must be a tensornet.nn.Module"),
    ("layers", lambda: aware.svd_parameterize(_model(), layers=["fc2"]), V, "no layer 'fc2'"),
)
rows(
    "SVDRegularizer",
    ("no_svd_layers", lambda: aware.SVDRegularizer(_model()), V, "has no SVDLinear"),
    ("orth", lambda: aware.SVDRegularizer(_svd_model(), orth=-1.0), V, "orth=-1.0 must be >= 0"),
    ("orth_every", lambda: aware.SVDRegularizer(_svd_model(), orth_every=0), V, "orth_every=0"),
    ("measure", lambda: aware.SVDRegularizer(_svd_model(), measure=3), V, "measure=3"),
)
rows(
    "soft_threshold",
    ("threshold", lambda: aware.soft_threshold(VEC, -1.0), V, "threshold=-1.0 must be >= 0"),
    ("non_finite", lambda: aware.soft_threshold(NAN, 1.0), V, "x must be finite"),
)
rows(
    "singular_value_threshold",
    ("ndim", lambda: aware.singular_value_threshold(VEC, 1.0), V, "a must have ndim=2"),
    ("threshold", lambda: aware.singular_value_threshold(MAT, np.inf), V, "threshold=inf"),
    ("non_finite", lambda: aware.singular_value_threshold(INF, 1.0), V, "a must be finite"),
)
rows(
    "NuclearNormProx",
    ("lam", lambda: aware.NuclearNormProx(-0.5), V, "lam=-0.5 must be >= 0"),
    ("keys", lambda: aware.NuclearNormProx(0.1, keys=[1]), T, "keys\\[0\\]=1 must be"),
    ("missing_key", lambda: aware.NuclearNormProx(0.1, ["w"])({"v": MAT}, 0.1), KeyError, "'w'"),
    ("lr", lambda: aware.NuclearNormProx(0.1)({"weight": MAT}, -1.0), V, "lr=-1.0 must be >= 0"),
)
rows(
    "L1Prox",
    ("lam", lambda: aware.L1Prox("big"), T, "lam must be a real number"),
    ("lr", lambda: aware.L1Prox(0.1)({"weight": MAT}, np.nan), V, "lr=nan"),
)
rows(
    "spectral_rank",
    ("tau", lambda: aware.spectral_rank(np.abs(VEC), 1.0), V, "tau=1.0 must be < 1"),
    ("negative", lambda: aware.spectral_rank(np.array([1.0, -1.0]), 0.1), V, "non-negative"),
    ("non_finite", lambda: aware.spectral_rank(NAN, 0.1), V, "s must be finite"),
)
rows(
    "truncate",
    ("both", lambda: aware.truncate(_model(), tau=0.1, energy=0.9), V, "exactly one of tau"),
    ("neither", lambda: aware.truncate(_model()), V, "exactly one of tau"),
    ("tau", lambda: aware.truncate(_model(), tau=-0.1), V, "tau=-0.1 must be >= 0"),
    ("energy", lambda: aware.truncate(_model(), energy=1.5), V, "energy=1.5 must lie in"),
    ("model", lambda: aware.truncate("net", tau=0.1), T, "model must be a tensornet.nn.Module"),
)
rows(
    "TruncatedLayer",
    ("rank", lambda: aware.TruncatedLayer("fc", -1, 3, True, 10, 5), V, "rank=-1 must be >= 0"),
    ("rank_bound", lambda: aware.TruncatedLayer("fc", 4, 3, True, 10, 5), V, "exceeds full_rank"),
    ("name", lambda: aware.TruncatedLayer(3, 1, 3, True, 10, 5), T, "name must be a str"),
)
rows(
    "TruncationResult",
    ("model", lambda: aware.TruncationResult("net", 10, 10, []), T, "model must be"),
    ("n_params", lambda: aware.TruncationResult(_model(), 0, 10, []), V, "n_params=0 must be"),
)
rows(
    "NuclearFrankWolfe",
    ("radius", lambda: aware.NuclearFrankWolfe({"weight": MAT}, radius=0.0), V, "must be > 0"),
    ("radius_key", lambda: aware.NuclearFrankWolfe({"weight": MAT}, radius={}), V, "no entry"),
    (
        "momentum",
        lambda: aware.NuclearFrankWolfe({"weight": MAT}, 1.0, momentum=1.0),
        V,
        "must lie in",
    ),
    ("lr", lambda: aware.NuclearFrankWolfe({"weight": MAT}, 1.0, lr=-1.0), V, "lr=-1.0 must be"),
    ("params", lambda: aware.NuclearFrankWolfe({}, 1.0), T, "params must be a non-empty dict"),
)
