"""Bad input never gets a wrong answer, a hang, a huge allocation or a traceback (issue 17).

One table: every public name of ``tensornet``, ``tensornet.nn``, ``tensornet.rank`` and
``tensornet.datasets`` against the kinds of bad input (non-finite data, string/object arrays,
wrong dimensions, bad ranks and caps, non-numeric scalars, bad seeds, integer overflow in sizes,
files that lie). Each row is a call, the exception type it must raise and a fragment of the
message, which names the argument. A coverage test checks that the table has rows for every
public callable, so a new public function without rows fails.
"""

from __future__ import annotations

import signal
import tempfile
from collections.abc import Callable
from contextlib import contextmanager

import numpy as np
import pytest

import tensornet as tn
import tensornet.nn as nn
from tensornet import datasets, rank
from tensornet.compress.decompose import decompose
from tensornet.nn.weights import load_weights, save_weights
from tensornet.rank import budget as rank_budget
from tests.bad_input import Row, extra_modules

RNG = np.random.default_rng(0)
X = RNG.standard_normal((4, 5, 6))
X446 = RNG.standard_normal((4, 4, 6))
M = RNG.standard_normal((6, 4))
NAN = X.copy()
NAN[1, 2, 3] = np.nan
INF = X.copy()
INF[0, 0, 0] = np.inf
STR = np.full((4, 5, 6), "a")
OBJ = X.astype(object)
STR2 = np.array([["a", "b"], ["c", "d"]])
OBJ2 = np.array([[1.0, "a"], [2.0, 3.0]], dtype=object)
U64_MAX = np.array([[2**64 - 1, 0, 0]], dtype=np.uint64)


def _tt():
    return tn.tt_svd(X, ranks=2)


def _model():
    return nn.Sequential(nn.Flatten(), nn.Linear(4, 3, random_state=0))


def _sgd(**kw):
    return nn.SGD(_model().params, **kw)


ROWS: list[Row] = []


def rows(name: str, *specs: tuple) -> None:
    for kind, call, exc, match in specs:
        ROWS.append(Row(name, kind, call, exc, match))


V, T = ValueError, TypeError

# ------------------------------------------------------------------------------ algebra
rows(
    "unfold",
    ("str_array", lambda: tn.unfold(STR, 0), T, "x must be a real numeric array"),
    ("object_array", lambda: tn.unfold(OBJ, 0), T, "x must be a real numeric array"),
    ("axis", lambda: tn.unfold(X, 3), V, "mode=3 is out of range"),
    ("axis", lambda: tn.unfold(X, 1.5), T, "mode must be an integer"),
)
rows(
    "fold",
    ("str_array", lambda: tn.fold(STR2, 0, (2, 2)), T, "m must be a real numeric array"),
    ("shape", lambda: tn.fold(M, 0, (6, -4)), V, r"shape\[1\]=-4 must be >= 1"),
    ("shape", lambda: tn.fold(M, 0, (6, 5)), V, "shape"),
    ("overflow", lambda: tn.fold(np.ones((4, 1)), 0, (4, 2**62 + 1, 4)), V, "not a mode-0"),
)
rows(
    "gram",
    ("str_array", lambda: tn.gram(STR2), T, "x must be a real numeric array"),
    ("ndim", lambda: tn.gram(X), V, r"x must be a matrix \(2-D\)"),
    ("nan", lambda: tn.gram(NAN[1], check_finite=True), V, "finite"),
)
rows(
    "khatri_rao",
    ("object_array", lambda: tn.khatri_rao([OBJ2, M]), T, r"matrices\[0\] must be a real"),
    ("ndim", lambda: tn.khatri_rao([X, M]), V, r"matrices\[0\] must be 2-D"),
    ("empty", lambda: tn.khatri_rao([]), V, "at least one"),
)
rows(
    "kron",
    ("str_array", lambda: tn.kron(STR2, STR2), T, r"matrices\[0\] must be a real"),
    ("object_array", lambda: tn.kron(M, OBJ2), T, r"matrices\[1\] must be a real"),
    ("ndim", lambda: tn.kron(X, M), V, r"matrices\[0\] must be 2-D"),
)
rows(
    "mkron",
    ("str_array", lambda: tn.mkron(STR2, M), T, "a must be a real numeric array"),
    ("object_array", lambda: tn.mkron(M, OBJ2), T, "b must be a real numeric array"),
)
rows(
    "mode_dot",
    ("str_array", lambda: tn.mode_dot(STR, M, 0), T, "x must be a real numeric array"),
    ("object_array", lambda: tn.mode_dot(X, OBJ2, 0), T, "matrix must be a real numeric"),
    ("axis", lambda: tn.mode_dot(X, M, 7), V, "mode=7 is out of range"),
    ("shape", lambda: tn.mode_dot(X, M, 2), V, "mode"),
)
rows(
    "multi_mode_dot",
    ("str_array", lambda: tn.multi_mode_dot(STR, [M]), T, "x must be a real numeric array"),
    ("object_array", lambda: tn.multi_mode_dot(X, [OBJ2]), T, r"matrices\[0\] must be a real"),
    ("length", lambda: tn.multi_mode_dot(X, [M], modes=[0, 1]), V, "modes has length 2"),
)
rows(
    "mttkrp",
    ("str_array", lambda: tn.mttkrp(STR, [M, M, M], 0), T, "real numeric"),
    (
        "nan",
        lambda: tn.mttkrp(NAN, [np.ones((4, 2)), np.ones((5, 2)), np.ones((6, 2))], 0),
        V,
        "finite",
    ),
    (
        "axis",
        lambda: tn.mttkrp(X, [np.ones((4, 2)), np.ones((5, 2)), np.ones((6, 2))], 3),
        V,
        "mode=3 is out of range",
    ),
)
rows(
    "outer",
    ("str_array", lambda: tn.outer([np.array(["a"]), np.ones(2)]), T, r"vectors\[0\] must be"),
    ("empty", lambda: tn.outer([]), V, "at least one"),
)
rows(
    "stp",
    ("str_array", lambda: tn.stp(STR2, M), T, "x must be a real numeric array"),
    ("nan", lambda: tn.stp(np.array([[np.nan, 1.0]]), np.ones((2, 2))), V, "finite"),
)
rows(
    "stp_mode_dot",
    ("str_array", lambda: tn.stp_mode_dot(STR, M, 0), T, "x must be a real numeric array"),
    ("nan", lambda: tn.stp_mode_dot(NAN, np.ones((2, 2)), 0), V, "x must be finite"),
    ("axis", lambda: tn.stp_mode_dot(X, np.ones((2, 2)), 5), V, "mode=5 is out of range"),
)
rows(
    "tensorize",
    ("str_array", lambda: tn.tensorize(np.array(["a"] * 4), (2, 2)), T, "x must be a real"),
    ("shape", lambda: tn.tensorize(np.ones(5), (2, 2)), V, "shape"),
    ("shape", lambda: tn.tensorize(np.ones(4), (2, 0)), V, r"shape\[1\]=0 must be >= 1"),
    ("overflow", lambda: tn.tensorize(np.ones(4), (2**62 + 1, 4)), V, "18446744073709551620"),
)
rows(
    "vectorize",
    ("str_array", lambda: tn.vectorize(STR), T, "x must be a real numeric array"),
    ("object_array", lambda: tn.vectorize(OBJ), T, "x must be a real numeric array"),
)

# ------------------------------------------------------------------------------ decompositions
NONFINITE = [("nan", NAN, "x must be finite"), ("inf", INF, "x must be finite")]


def data_rows(name, call, first="x"):
    rows(
        name,
        ("nan", lambda: call(NAN), V, f"{first} must be finite"),
        ("inf", lambda: call(INF), V, f"{first} must be finite"),
        ("str_array", lambda: call(STR), T, f"{first} must be a real numeric array"),
        ("object_array", lambda: call(OBJ), T, f"{first} must be a real numeric array"),
    )


data_rows("tt_svd", lambda x: tn.tt_svd(x, ranks=2))
rows(
    "tt_svd",
    ("rank", lambda: tn.tt_svd(X, ranks=0), V, "ranks=0 must be >= 1"),
    ("rank", lambda: tn.tt_svd(X, ranks=2.5), T, "ranks must be an integer, got 2.5"),
    ("rank", lambda: tn.tt_svd(X, ranks=True), T, "ranks must be an int"),
    ("rank", lambda: tn.tt_svd(X, ranks="2"), T, "ranks must be an int"),
    ("eps", lambda: tn.tt_svd(X, eps="0.1"), T, "eps must be a real number"),
    ("eps", lambda: tn.tt_svd(X, eps=1.5), V, r"eps=1.5 must lie in \[0, 1\)"),
    ("option", lambda: tn.tt_svd(X, method="fast"), V, "method='fast' is not one of"),
    (
        "random_state",
        lambda: tn.tt_svd(X, 2, method="randomized", random_state="s"),
        T,
        "random_state must be None, an int",
    ),
)
data_rows("tr_svd", lambda x: tn.tr_svd(x, ranks=2))
rows(
    "tr_svd",
    ("rank", lambda: tn.tr_svd(X, ranks=0), V, "ranks=0 must be >= 1"),
    ("rank", lambda: tn.tr_svd(X, ranks=[2, 2]), V, "ranks must have length 3"),
    ("rank", lambda: tn.tr_svd(X, ranks=[2, 2, 2, 3]), V, "must be equal: a ring closes"),
    ("eps", lambda: tn.tr_svd(X, eps=-0.1), V, "eps=-0.1 must lie"),
)
data_rows("hosvd", lambda x: tn.hosvd(x, ranks=2))
rows(
    "hosvd",
    ("rank", lambda: tn.hosvd(X, ranks=[2, 2]), V, "ranks must have length 3"),
    ("rank", lambda: tn.hosvd(X, ranks=-1), V, "ranks=-1 must be >= 1"),
    ("eps", lambda: tn.hosvd(X, eps=float("nan")), V, "eps=nan must lie"),
)
data_rows("tucker_hooi", lambda x: tn.tucker_hooi(x, 2))
rows(
    "tucker_hooi",
    ("tol", lambda: tn.tucker_hooi(X, 2, tol="a"), T, "tol must be a real number"),
    ("tol", lambda: tn.tucker_hooi(X, 2, tol=-1.0), V, "tol=-1.0 must be >= 0"),
    ("count", lambda: tn.tucker_hooi(X, 2, n_iter_max=0), V, "n_iter_max=0 must be >= 1"),
    ("option", lambda: tn.tucker_hooi(X, 2, method="magic"), V, "method='magic' is not one"),
)
rows(
    "tucker2",
    ("nan", lambda: tn.tucker2(NAN.reshape(4, 5, 3, 2), 2), V, "kernel must be finite"),
    ("str_array", lambda: tn.tucker2(STR.reshape(4, 5, 3, 2), 2), T, "kernel must be a real"),
    ("ndim", lambda: tn.tucker2(X, 2), V, "kernel must have ndim=4"),
    ("tol", lambda: tn.tucker2(X.reshape(4, 5, 3, 2), 2, tol="a"), T, "tol must be a real"),
)
data_rows("cp_als", lambda x: tn.cp_als(x, 2))
rows(
    "cp_als",
    ("rank", lambda: tn.cp_als(X, 0), V, "rank=0 must be >= 1"),
    ("rank", lambda: tn.cp_als(X, "2"), T, "rank must be an integer"),
    ("tol", lambda: tn.cp_als(X, 2, tol="a"), T, "tol must be a real number"),
    ("tol", lambda: tn.cp_als(X, 2, tol=float("inf")), V, "tol=inf must be a finite"),
    ("random_state", lambda: tn.cp_als(X, 2, random_state=-1), V, "random_state=-1"),
    (
        "random_state",
        lambda: tn.cp_als(X, 2, random_state=np.random.RandomState(0)),
        T,
        "random_state must be None",
    ),
    ("option", lambda: tn.cp_als(X, 2, method="fast"), V, "method='fast' is not one"),
    ("zeros", lambda: tn.cp_als(np.zeros((3, 3, 3)), 1), V, "all zeros"),
)
data_rows("btd_als", lambda x: tn.btd_als(x, 2, 1))
rows(
    "btd_als",
    ("tol", lambda: tn.btd_als(X, 2, 1, tol="a"), T, "tol must be a real number"),
    ("rank", lambda: tn.btd_als(X, 0, 1), V, "n_terms=0 must be >= 1"),
    ("rank", lambda: tn.btd_als(X, 2, 0), V, "term_ranks"),
)
data_rows("tr_als", lambda x: tn.tr_als(x, 2))
rows(
    "tr_als",
    ("tol", lambda: tn.tr_als(X, 2, tol="a"), T, "tol must be a real number"),
    ("tol", lambda: tn.tr_als(X, 2, tol=-1), V, "tol=-1.0 must be >= 0"),
    ("rank", lambda: tn.tr_als(X, 0), V, "ranks=0 must be >= 1"),
)
data_rows("str_als", lambda x: tn.str_als(x, 2, t=2), first="x")
rows(
    "str_als",
    ("tol", lambda: tn.str_als(X446, 2, t=2, tol="a"), T, "tol must be a real number"),
    ("t", lambda: tn.str_als(X446, 2, t=0), V, "t=0 must be >= 1"),
)
data_rows("stt_svd", lambda x: tn.stt_svd(x, ranks=2, t=2))
rows(
    "stt_svd",
    ("t", lambda: tn.stt_svd(X446, ranks=2, t=3), V, "t=3"),
    ("t", lambda: tn.stt_svd(X446, ranks=2, t=2.5), T, "t must be an integer"),
)
data_rows("st_tucker", lambda x: tn.st_tucker(x, 2, t=2))
rows(
    "st_tucker",
    ("t", lambda: tn.st_tucker(X446, 2, t=3), V, "t=3"),
    ("option", lambda: tn.st_tucker(X446, 2, t=2, method="x"), V, "method='x' is not one"),
)
data_rows("ht_svd", lambda x: tn.ht_svd(x, ranks=2))
rows(
    "ht_svd",
    ("rank", lambda: tn.ht_svd(X, ranks=2.5), T, "ranks must be an integer, got 2.5"),
    ("rank", lambda: tn.ht_svd(X, ranks=[2, 2]), V, "ranks must be an int or a sequence of 4"),
    ("rank", lambda: tn.ht_svd(X, ranks=[2, 2, 99, 2]), V, r"ranks\[2\]=99 exceeds"),
    ("eps", lambda: tn.ht_svd(X, eps=2.0), V, "eps=2.0 must lie"),
)
rows(
    "tt_matrix_svd",
    ("nan", lambda: tn.tt_matrix_svd(NAN.reshape(20, 6), (4, 5), (2, 3)), V, "w must be finite"),
    (
        "str_array",
        lambda: tn.tt_matrix_svd(STR.reshape(20, 6), (4, 5), (2, 3)),
        T,
        "w must be a real",
    ),
    ("shape", lambda: tn.tt_matrix_svd(X.reshape(20, 6), (4, 4), (2, 3)), V, "in_modes"),
    (
        "overflow",
        lambda: tn.tt_matrix_svd(M, (2**62 + 1, 4), (2, 2)),
        V,
        r"multiply to \(18446744073709551620, 4\)",
    ),
    (
        "rank",
        lambda: tn.tt_matrix_svd(X.reshape(20, 6), (4, 5), (2, 3), ranks=0),
        V,
        "ranks=0 must be >= 1",
    ),
)
rows(
    "gkpd",
    ("nan", lambda: tn.gkpd(NAN, (2, 5, 3)), V, "x must be finite"),
    ("str_array", lambda: tn.gkpd(STR, (2, 5, 3)), T, "x must be a real numeric array"),
    ("shape", lambda: tn.gkpd(X, (3, 5, 3)), V, "a_shape"),
    ("rank", lambda: tn.gkpd(X, (2, 5, 3), rank=0), V, "rank=0 must be >= 1"),
)
rows(
    "kpd",
    ("nan", lambda: tn.kpd(NAN.reshape(20, 6), (4, 2)), V, "must be finite"),
    ("str_array", lambda: tn.kpd(STR.reshape(20, 6), (4, 2)), T, "must be a real numeric"),
    ("shape", lambda: tn.kpd(M, (4, 2)), V, "a_shape"),
)
rows(
    "truncated_svd",
    ("nan", lambda: tn.truncated_svd(np.array([[np.nan, 1.0]])), V, "m must be finite"),
    ("str_array", lambda: tn.truncated_svd(STR2), T, "m must be a real numeric array"),
    ("ndim", lambda: tn.truncated_svd(X), V, "m must have ndim=2"),
    ("rank", lambda: tn.truncated_svd(M, rank=0), V, "rank=0 must be >= 1"),
)
rows(
    "randomized_svd",
    ("nan", lambda: tn.randomized_svd(np.array([[np.nan, 1.0]]), 1), V, "m must be finite"),
    ("str_array", lambda: tn.randomized_svd(STR2, 1), T, "m must be a real numeric array"),
    ("rank", lambda: tn.randomized_svd(M, 0), V, "rank=0 must be >= 1"),
    ("random_state", lambda: tn.randomized_svd(M, 2, random_state=1.5), T, "random_state"),
)

# ------------------------------------------------------------------------------ formats
G3 = [np.ones((1, 2, 2)), np.ones((2, 3, 1))]
BIG = [np.ones((1, 65536, 1))] * 4
rows(
    "TTTensor",
    ("nan", lambda: tn.TTTensor([np.full((1, 2, 1), np.nan)]), V, r"cores\[0\] must be finite"),
    ("str_array", lambda: tn.TTTensor([np.full((1, 2, 1), "a")]), T, r"cores\[0\] must be"),
    ("ndim", lambda: tn.TTTensor([np.ones((2, 2))]), V, r"cores\[0\] must have ndim=3"),
    ("chain", lambda: tn.TTTensor([np.ones((1, 2, 2)), np.ones((3, 3, 1))]), V, "rank"),
    ("overflow", lambda: tn.TTTensor(BIG).full(), V, "18446744073709551616 elements"),
    ("index", lambda: _tt().gather(U64_MAX), IndexError, r"index\[0, 0\]=18446744073709551615"),
    ("index", lambda: _tt().gather(np.array([[0.0, 0, 0]])), T, "index must hold integers"),
    ("index", lambda: _tt()[4, 0, 0], IndexError, r"index\[0\]=4 is out of range"),
)
rows(
    "TRTensor",
    ("nan", lambda: tn.TRTensor([np.full((2, 2, 2), np.nan)]), V, r"cores\[0\] must be finite"),
    ("chain", lambda: tn.TRTensor([np.ones((2, 2, 3))]), V, "ring"),
    (
        "overflow",
        lambda: tn.TRTensor([np.ones((1, 65536, 1))] * 4).full(),
        V,
        "18446744073709551616 elements",
    ),
)
rows(
    "TTMatrix",
    ("nan", lambda: tn.TTMatrix([np.full((1, 2, 2, 1), np.nan)]), V, r"cores\[0\] must be"),
    ("ndim", lambda: tn.TTMatrix([np.ones((1, 2, 1))]), V, r"cores\[0\] must have ndim=4"),
    (
        "overflow",
        lambda: tn.TTMatrix([np.zeros((1, 10, 10, 1))] * 20).full(),
        V,
        "more than max_elements",
    ),
)
rows(
    "CPTensor",
    ("nan", lambda: tn.CPTensor(None, [np.full((2, 1), np.nan)]), V, r"factors\[0\] must be"),
    ("object_array", lambda: tn.CPTensor(None, [OBJ2]), T, r"factors\[0\] must be a real"),
    ("type", lambda: tn.CPTensor(None, np.ones((2, 2))), T, "factors must be a sequence"),
    (
        "overflow",
        lambda: tn.CPTensor(None, [np.ones((65536, 1))] * 4).full(),
        V,
        "18446744073709551616 elements",
    ),
)
rows(
    "TuckerTensor",
    ("nan", lambda: tn.TuckerTensor(np.full((2, 2), np.nan), [None, None]), V, "core must be"),
    ("str_array", lambda: tn.TuckerTensor(STR2, [None, None]), T, "core must be a real"),
    (
        "overflow",
        lambda: tn.TuckerTensor(np.ones((1,) * 4), [np.ones((65536, 1))] * 4).full(),
        V,
        "18446744073709551616 elements",
    ),
)
rows(
    "BTDTensor",
    ("type", lambda: tn.BTDTensor([]), V, "terms must be a non-empty sequence"),
    (
        "nan",
        lambda: tn.BTDTensor([(np.full((1, 1), np.nan), [np.ones((2, 1))] * 2)]),
        V,
        "core must be finite",
    ),
)
rows(
    "KronTensor",
    (
        "nan",
        lambda: tn.KronTensor(np.full((1, 2, 2), np.nan), np.ones((1, 2, 2))),
        V,
        "a_factors must be finite",
    ),
    ("ndim", lambda: tn.KronTensor(np.ones((1, 2)), np.ones((1, 2, 2))), V, "same ndim"),
)
rows(
    "HTTensor",
    (
        "count",
        lambda: tn.HTTensor(2, [np.ones((2, 1))], [np.ones((1, 1, 1))]),
        V,
        "leaves must hold 2",
    ),
    (
        "nan",
        lambda: tn.HTTensor(2, [np.full((2, 1), np.nan)] * 2, [np.ones((1, 1, 1))]),
        V,
        r"leaves\[0\] must be finite",
    ),
    (
        "index",
        lambda: tn.ht_svd(X, ranks=2).gather(np.array([[9, 0, 0]])),
        (V, IndexError),
        "out of range",
    ),
)
rows(
    "DimensionTree",
    ("type", lambda: tn.DimensionTree("ab"), (T, V), "tree|spec|d"),
    ("count", lambda: tn.DimensionTree(1), V, "d=1 must be >= 2"),
)
rows(
    "STTuckerTensor",
    (
        "nan",
        lambda: tn.STTuckerTensor(np.full((1, 1), np.nan), [np.ones((2, 1))] * 2, 1),
        V,
        "core must be finite",
    ),
    ("t", lambda: tn.STTuckerTensor(np.ones((1, 1)), [np.ones((2, 1))] * 2, 0), V, "t=0"),
)
rows(
    "STTTensor",
    (
        "nan",
        lambda: tn.STTTensor([np.full((1, 2, 2), np.nan), np.ones((2, 2, 1))], 1),
        V,
        r"cores\[0\] must be finite",
    ),
    ("t", lambda: tn.STTTensor([np.ones((1, 2, 2)), np.ones((2, 2, 1))], -1), V, "t=-1"),
)
rows(
    "STRTensor",
    (
        "nan",
        lambda: tn.STRTensor([np.full((2, 2, 2), np.nan)] * 2, 1),
        V,
        r"cores\[0\] must be finite",
    ),
    ("t", lambda: tn.STRTensor([np.ones((3, 2, 3))] * 2, 2), V, "t=2 does not divide"),
)
rows(
    "StructuredTensor",
    (
        "file",
        lambda: tn.StructuredTensor.load("/nonexistent/t.npz"),
        FileNotFoundError,
        "no such file",
    ),
    ("abstract", lambda: tn.StructuredTensor(), T, "abstract"),
)

# ------------------------------------------------------------------------------ nn
PARAMS = {"w": np.ones((2, 2), dtype=np.float32)}
IMG = np.ones((1, 1, 4, 4), dtype=np.float32)
rows(
    "Module",
    ("str_array", lambda: _model()(np.full((2, 4), "a")), T, "x must be a real numeric array"),
    ("object_array", lambda: _model().apply(_model().params, OBJ2), T, "x must be a real"),
)
rows(
    "Sequential",
    ("type", lambda: nn.Sequential(3), T, "Module"),
)
rows(
    "value_and_grad",
    ("type", lambda: nn.value_and_grad(3), T, "callable"),
)
rows(
    "Linear",
    ("str_array", lambda: nn.Linear(2, 2)(STR2), T, "x must be a real numeric array"),
    ("object_array", lambda: nn.Linear(2, 2)(OBJ2), T, "x must be a real numeric array"),
    ("count", lambda: nn.Linear(0, 2), V, "in_features=0 must be >= 1"),
    ("option", lambda: nn.Linear(2, 2, init="zeros!"), V, "init='zeros!' is not one"),
)
rows(
    "linear",
    ("str_array", lambda: nn.linear(STR2, np.ones((2, 2))), T, "x must be a real numeric"),
)
rows(
    "Conv2d",
    ("str_array", lambda: nn.Conv2d(1, 1, 1)(np.full((1, 1, 2, 2), "a")), T, "x must be a real"),
    ("object_array", lambda: nn.Conv2d(1, 1, 1)(IMG.astype(object)), T, "x must be a real"),
    ("count", lambda: nn.Conv2d(1, 0, 3), V, "out_channels=0 must be >= 1"),
    ("shape", lambda: nn.Conv2d(2, 1, 3)(IMG), V, "conv2d expects x of shape"),
)
rows(
    "conv2d",
    (
        "str_array",
        lambda: nn.conv2d(np.full((1, 1, 2, 2), "a"), np.ones((1, 1, 1, 1))),
        T,
        "x must be a real numeric array",
    ),
    ("stride", lambda: nn.conv2d(IMG, np.ones((1, 1, 1, 1)), stride=0), V, "stride"),
)
rows("Flatten", ("str_array", lambda: nn.Flatten()(STR2), T, "x must be a real numeric array"))
rows("ReLU", ("str_array", lambda: nn.ReLU()(STR2), T, "x must be a real numeric array"))
rows("Tanh", ("str_array", lambda: nn.Tanh()(STR2), T, "x must be a real numeric array"))
rows("Sigmoid", ("str_array", lambda: nn.Sigmoid()(STR2), T, "x must be a real numeric array"))
rows(
    "Dropout",
    ("range", lambda: nn.Dropout(1.5), V, "p=1.5"),
    ("str_array", lambda: nn.Dropout(0.5)(STR2), T, "x must be a real numeric array"),
)
rows(
    "BatchNorm1d",
    ("count", lambda: nn.BatchNorm1d(0), V, "num_features=0 must be >= 1"),
    ("str_array", lambda: nn.BatchNorm1d(2)(STR2), T, "x must be a real numeric array"),
)
rows(
    "BatchNorm2d",
    ("count", lambda: nn.BatchNorm2d(-1), V, "num_features=-1 must be >= 1"),
    ("str_array", lambda: nn.BatchNorm2d(1)(np.full((1, 1, 2, 2), "a")), T, "x must be a real"),
)
rows("relu", ("str_array", lambda: nn.relu(STR2), T, "x must be a real numeric array"))
rows("sigmoid", ("str_array", lambda: nn.sigmoid(STR2), T, "x must be a real numeric array"))
rows(
    "MaxPool2d",
    ("count", lambda: nn.MaxPool2d(0), V, "kernel_size"),
    ("str_array", lambda: nn.MaxPool2d(2)(np.full((1, 1, 2, 2), "a")), T, "x must be a real"),
)
rows(
    "AvgPool2d",
    ("count", lambda: nn.AvgPool2d(-2), V, "kernel_size"),
    ("str_array", lambda: nn.AvgPool2d(2)(np.full((1, 1, 2, 2), "a")), T, "x must be a real"),
)
rows(
    "im2col",
    (
        "str_array",
        lambda: nn.im2col(np.full((1, 1, 2, 2), "a"), (1, 1), (1, 1), (0, 0)),
        T,
        "x must be a real numeric array",
    ),
)
rows(
    "col2im",
    (
        "str_array",
        lambda: nn.col2im(STR2, (1, 1, 2, 2), (1, 1), (1, 1), (0, 0)),
        T,
        "cols must be a real numeric array",
    ),
)
rows(
    "max_pool2d",
    (
        "str_array",
        lambda: nn.max_pool2d(np.full((1, 1, 2, 2), "a"), (2, 2), (2, 2), (0, 0)),
        T,
        "x must be a real",
    ),
)
rows(
    "avg_pool2d",
    (
        "str_array",
        lambda: nn.avg_pool2d(np.full((1, 1, 2, 2), "a"), (2, 2), (2, 2), (0, 0)),
        T,
        "x must be a real",
    ),
)
rows(
    "conv_output_size",
    ("count", lambda: nn.conv_output_size(2, 5, 1, 0), V, "kernel 5 is larger"),
    ("type", lambda: nn.conv_output_size(2.5, 1, 1, 0), T, "size must be an integer"),
    ("count", lambda: nn.conv_output_size(4, 2, 0, 0), V, "stride=0 must be >= 1"),
)
LOGITS = np.zeros((2, 3), dtype=np.float32)
rows(
    "cross_entropy",
    ("labels", lambda: nn.cross_entropy(LOGITS, np.array([0, 5])), V, "labels"),
    (
        "str_array",
        lambda: nn.cross_entropy(np.full((2, 3), "a"), np.array([0, 1])),
        T,
        "logits must be a real numeric array",
    ),
)
rows(
    "soft_cross_entropy",
    (
        "str_array",
        lambda: nn.soft_cross_entropy(np.full((2, 3), "a"), LOGITS),
        T,
        "logits must be a real numeric array",
    ),
)
rows(
    "mse",
    ("shape", lambda: nn.mse(np.zeros((2, 3)), np.zeros((3, 2))), V, "shape"),
    ("str_array", lambda: nn.mse(STR2, np.zeros((2, 2))), T, "pred must be a real numeric"),
)
rows(
    "distillation_loss",
    ("range", lambda: nn.distillation_loss(LOGITS, LOGITS, temperature=0), V, "temperature"),
    ("range", lambda: nn.distillation_loss(LOGITS, LOGITS, alpha=2.0), V, "alpha"),
)
rows(
    "distillation_targets",
    ("shape", lambda: nn.distillation_targets(np.array([0, 1, 2]), LOGITS), V, "labels"),
)
rows(
    "DistillationLoss",
    ("range", lambda: nn.DistillationLoss(temperature=-1.0), V, "temperature"),
    ("type", lambda: nn.DistillationLoss(alpha="a"), T, "alpha must be a real number"),
)
rows(
    "log_softmax",
    ("str_array", lambda: nn.log_softmax(STR2), T, "z must be a real numeric array"),
)
rows(
    "softmax",
    ("str_array", lambda: nn.softmax(STR2), T, "z must be a real numeric array"),
)
rows(
    "Optimizer",
    ("type", lambda: nn.Optimizer({}, 0.1), T, "params must be a non-empty dict"),
)
rows(
    "SGD",
    ("lr", lambda: _sgd(lr="a"), T, "lr must be a real number"),
    ("lr", lambda: _sgd(lr=np.nan), V, "lr=nan must be a finite number"),
    ("lr", lambda: _sgd(lr=0.0), V, r"lr=0.0 must be > 0"),
    ("momentum", lambda: _sgd(momentum="a"), T, "momentum must be a real number"),
    ("momentum", lambda: _sgd(momentum=1.0), V, r"momentum=1.0 must lie in \[0, 1\)"),
)
rows(
    "Adam",
    ("lr", lambda: nn.Adam(_model().params, lr="a"), T, "lr must be a real number"),
    ("lr", lambda: nn.Adam(_model().params, lr=-1.0), V, "lr=-1.0 must be > 0"),
)
rows(
    "AdamW",
    ("lr", lambda: nn.AdamW(_model().params, lr="a"), T, "lr must be a real number"),
)
rows(
    "StepLR",
    ("count", lambda: nn.StepLR(0), V, "step_size=0 must be >= 1"),
)
rows(
    "MultiStepLR",
    ("type", lambda: nn.MultiStepLR(["a"]), T, r"milestones\[0\] must be an integer"),
    ("type", lambda: nn.MultiStepLR(5), T, "milestones must be a sequence"),
)
rows(
    "CosineLR",
    ("range", lambda: nn.CosineLR(0), V, "total_epochs"),
)
rows(
    "clip_grad_norm",
    ("range", lambda: nn.clip_grad_norm({"w": np.ones(2)}, 0.0), V, "max_norm"),
    ("type", lambda: nn.clip_grad_norm({"w": np.ones(2)}, "a"), T, "max_norm must be a real"),
)
DATA = (np.ones((4, 4), dtype=np.float32), np.array([0, 1, 2, 0]))
rows(
    "fit",
    (
        "count",
        lambda: nn.fit(_model(), nn.cross_entropy, _sgd(lr=0.1), DATA, epochs=0),
        V,
        "epochs=0 must be >= 1",
    ),
    (
        "count",
        lambda: nn.fit(_model(), nn.cross_entropy, _sgd(lr=0.1), DATA, batch_size=0),
        V,
        "batch_size=0 must be >= 1",
    ),
)
rows(
    "evaluate",
    (
        "str_array",
        lambda: nn.evaluate(_model(), (np.full((2, 4), "a"), np.array([0, 1]))),
        T,
        "x must be a real numeric array",
    ),
)
rows(
    "predict",
    ("count", lambda: nn.predict(_model(), DATA[0], batch_size=-1), V, "batch_size=-1 must be"),
    ("str_array", lambda: nn.predict(_model(), np.full((2, 4), "a")), T, "x must be a real"),
)
rows(
    "History",
    ("type", lambda: nn.History()("x"), T, "not callable"),
)
rows(
    "Callback",
    ("type", lambda: nn.Callback(3), T, "argument"),
)
rows(
    "LambdaCallback",
    ("type", lambda: nn.LambdaCallback(on_epoch_end=3), T, "on_epoch_end"),
)
rows(
    "Checkpoint",
    ("count", lambda: nn.Checkpoint("/tmp/c.npz", _model(), every=0), V, "every=0 must be"),
)
rows(
    "save_checkpoint",
    ("type", lambda: nn.save_checkpoint("/tmp/x.npz", "model"), T, "model"),
)
rows(
    "load_checkpoint",
    (
        "file",
        lambda: nn.load_checkpoint("/nonexistent/c.npz", _model()),
        FileNotFoundError,
        "no such file",
    ),
)
rows(
    "lenet300_100",
    ("random_state", lambda: nn.lenet300_100(random_state="x"), T, "random_state must be"),
)
rows(
    "lenet5",
    ("random_state", lambda: nn.lenet5(random_state=-3), V, "random_state=-3"),
)

# ------------------------------------------------------------------------------ rank
rows(
    "evbmf",
    ("nan", lambda: rank.evbmf(np.array([[np.nan, 1.0]])), V, "matrix must be finite"),
    ("str_array", lambda: rank.evbmf(STR2), T, "matrix must be a real numeric array"),
    ("sigma2", lambda: rank.evbmf(M, sigma2="a"), T, "sigma2 must be a real number"),
    ("sigma2", lambda: rank.evbmf(M, sigma2=0.0), V, "sigma2=0.0 must be > 0"),
)
rows(
    "EVBMFResult",
    ("type", lambda: rank.EVBMFResult(1), T, "missing"),
)
rows(
    "energy_rank",
    ("nan", lambda: rank.energy_rank(np.array([np.nan])), V, "s must be finite"),
    ("energy", lambda: rank.energy_rank(np.ones(2), energy="a"), T, "energy must be a real"),
    ("energy", lambda: rank.energy_rank(np.ones(2), energy=0.0), V, r"energy=0.0 must lie"),
)
rows(
    "select_ranks",
    ("str_array", lambda: rank.select_ranks(STR), T, "x must be a real numeric array"),
    ("option", lambda: rank.select_ranks(X, method="svd"), V, "method='svd' is not one of"),
    ("axis", lambda: rank.select_ranks(X, modes=[5]), V, "modes=5 is out of range"),
)

rows(
    "Budget",
    ("value", lambda: rank_budget.Budget(-1), V, "budget=-1 must be a finite number > 0"),
    ("type", lambda: rank_budget.Budget("a"), T, "budget='a' must be a number"),
    ("count", lambda: rank_budget.Budget(2.5), V, "a count .an integer. or a fraction"),
    ("option", lambda: rank_budget.Budget(10, kind="bytes"), V, "budget.kind='bytes'"),
    ("flops", lambda: rank_budget.Budget(10, kind="flops"), V, "needs input_shape"),
)
rows(
    "rank_profile",
    ("option", lambda: rank_budget.rank_profile(M, "cp"), V, "method='cp' is not one of"),
    ("str_array", lambda: rank_budget.rank_profile(STR2, "svd"), T, "weight must be a real"),
    ("ndim", lambda: rank_budget.rank_profile(M, "tucker2"), V, "Tucker-2 needs a 4-D kernel"),
)
rows(
    "RankProfile",
    (
        "value",
        lambda: rank_budget.rank_profile(M, "svd").ranks_for_energy(2.0),
        V,
        r"energy=2.0 must lie in \(0, 1\]",
    ),
)
rows(
    "evbmf_ranks",
    ("option", lambda: rank_budget.evbmf_ranks(M, "tt"), V, "method='tt' is not one of"),
)
rows(
    "minimax_eps",
    ("budget", lambda: rank_budget.minimax_eps([lambda e: 5], 3), V, "budget of 3 params"),
    ("count", lambda: rank_budget.minimax_eps([lambda e: 5], -1), V, "budget=-1 must be >= 0"),
)
rows(
    "largest_fraction",
    ("budget", lambda: rank_budget.largest_fraction([lambda r: 5], 3), V, "budget of 3 params"),
)


def _lenet_file(tmp: str) -> str:
    return str(save_weights(nn.lenet300_100(random_state=0), f"{tmp}/w.npz"))


def _load_wrong_model():
    with tempfile.TemporaryDirectory() as tmp:
        load_weights(nn.lenet5(random_state=0), _lenet_file(tmp))


rows(
    "load_weights",
    ("suffix", lambda: load_weights(_model(), "w.pt"), V, r"must end in one of \('.npz'"),
    ("missing", lambda: load_weights(_model(), "/nonexistent/w.npz"), FileNotFoundError, "w.npz"),
    ("keys", _load_wrong_model, V, "does not match the model: missing keys"),
)
rows(
    "save_weights",
    ("suffix", lambda: save_weights(_model(), "w.pickle"), V, "must end in one of"),
)
rows(
    "decompose",
    ("option", lambda: decompose(_model(), "qr", ranks=2), V, "method='qr' is not one of"),
    ("ranks", lambda: decompose(nn.lenet300_100(), "svd", ranks=0), V, "ranks=0 must be"),
    (
        "layer",
        lambda: decompose(nn.lenet300_100(), "cp", ranks=2, layers=["fc1"]),
        V,
        "layer 'fc1' is a Linear",
    ),
    ("budget", lambda: decompose(nn.lenet300_100(), "svd", budget=10), V, "cannot be met"),
    ("choice", lambda: decompose(nn.lenet300_100(), "svd"), V, "give ranks, eps"),
)

# ------------------------------------------------------------------------------ datasets
rows(
    "DataLoader",
    ("str_array", lambda: datasets.DataLoader(STR2, np.arange(2), 1), T, "x must be a real"),
    ("object_array", lambda: datasets.DataLoader(M, OBJ, 1), T, "y must be a real numeric"),
    ("count", lambda: datasets.DataLoader(M, np.arange(6), 0), V, "batch_size=0 must be"),
    ("length", lambda: datasets.DataLoader(M, np.arange(5), 2), V, "same number of samples"),
)


def _download_from_a_closed_port():
    with tempfile.TemporaryDirectory() as folder:
        datasets.download_mnist(folder, mirrors=["http://127.0.0.1:9/"], verbose=False)


rows(
    "DownloadError",
    ("mirrors", _download_from_a_closed_port, datasets.DownloadError, "no mirror delivered"),
)
rows(
    "download_mnist",
    (
        "timeout",
        lambda: datasets.download_mnist("/tmp/none", timeout="5"),
        T,
        "timeout must be a real number",
    ),
    ("mirrors", lambda: datasets.download_mnist("/tmp/none", mirrors=[]), V, "mirrors must name"),
)
rows(
    "find_mnist",
    ("type", lambda: datasets.find_mnist(5), T, "str, bytes or os.PathLike"),
)
rows(
    "load_mnist_subset",
    ("type", lambda: datasets.load_mnist_subset(3), T, "positional argument"),
)
rows(
    "subset_provenance",
    ("type", lambda: datasets.subset_provenance(1), T, "positional argument"),
)
rows(
    "read_idx",
    ("file", lambda: datasets.read_idx("/nonexistent/idx"), FileNotFoundError, "/nonexistent"),
)
rows(
    "load_mnist",
    (
        "file",
        lambda: datasets.load_mnist("/nonexistent/mnist", download=False),
        FileNotFoundError,
        "/nonexistent/mnist",
    ),
)

#: Public names that are not callables (the version string, subpackages, the init module).
# ------------------------------------------------------------------------ factorized layers
XL_STR = np.full((2, 24), "a")
XL_OBJ = RNG.standard_normal((2, 24)).astype(object)
XC_STR = np.full((1, 4, 6, 6), "a")
XC_OBJ = RNG.standard_normal((1, 4, 6, 6)).astype(object)
W_NAN = RNG.standard_normal((24, 30))
W_NAN[0, 0] = np.nan
W_OK = np.ones((24, 30))
K_NAN = RNG.standard_normal((6, 4, 3, 3))
K_NAN[0, 0, 0, 0] = np.nan
XL_BAD = np.ones((2, 5))
XC_BAD = np.ones((1, 3, 6, 6))
X_STR_MSG = "x must be a real numeric array"
NAN_MSG = "weight must be finite"
XL_MSG = r"x has shape \(2, 5\), expected \(B, 24\) for in_features=24"
XC_MSG = r"x has shape \(1, 3, 6, 6\), expected \(B, 4, H, W\) for in_channels=4"
BT = {"in_modes": (2, 2), "out_modes": (2, 3)}
GKP_A = (2, 2, 3, 1)


def _linear_rows(name: str, make: Callable[[], object]) -> None:
    """The forward of a factorized linear layer (24 -> 30) refuses string, object and
    wrongly-sized inputs."""
    rows(
        name,
        ("str_array", lambda: make()(XL_STR), T, X_STR_MSG),
        ("object_array", lambda: make()(XL_OBJ), T, X_STR_MSG),
        ("shape", lambda: make()(XL_BAD), V, XL_MSG),
    )


def _conv_rows(name: str, make: Callable[[], object]) -> None:
    """The forward of a factorized convolution (4 -> 6 channels, 3x3) refuses string, object
    and wrongly-shaped inputs."""
    rows(
        name,
        ("str_array", lambda: make()(XC_STR), T, X_STR_MSG),
        ("object_array", lambda: make()(XC_OBJ), T, X_STR_MSG),
        ("shape", lambda: make()(XC_BAD), V, XC_MSG),
    )


_linear_rows("LowRankLinear", lambda: nn.LowRankLinear(24, 30, 2))
rows(
    "LowRankLinear",
    ("rank", lambda: nn.LowRankLinear(24, 30, 0), V, "rank=0 must be >= 1"),
    ("rank", lambda: nn.LowRankLinear(24, 30, 25), V, "rank=25 exceeds the largest possible"),
    ("nan", lambda: nn.LowRankLinear.from_weight(W_NAN, rank=2), V, NAN_MSG),
    (
        "shape",
        lambda: nn.LowRankLinear.from_weight(np.ones((24, 3)), np.ones(4)),
        V,
        r"bias has shape \(4,\), expected \(3,\)",
    ),
)
_conv_rows("LowRankConv2d", lambda: nn.LowRankConv2d(4, 6, 3, 2))
rows(
    "LowRankConv2d",
    ("rank", lambda: nn.LowRankConv2d(4, 6, 3, 0), V, "rank=0 must be >= 1"),
    ("nan", lambda: nn.LowRankConv2d.from_weight(K_NAN, rank=2), V, NAN_MSG),
    ("option", lambda: nn.LowRankConv2d(4, 6, 3, 2, scheme="depth"), V, "scheme='depth'"),
)
_conv_rows("CPConv2d", lambda: nn.CPConv2d(4, 6, 3, 2))
rows(
    "CPConv2d",
    ("rank", lambda: nn.CPConv2d(4, 6, 3, 0), V, "rank=0 must be >= 1"),
    ("nan", lambda: nn.CPConv2d.from_weight(K_NAN, rank=2), V, NAN_MSG),
    ("ndim", lambda: nn.CPConv2d.from_weight(K_NAN[0], rank=2), V, "weight must have ndim=4"),
)
_conv_rows("TuckerConv2d", lambda: nn.TuckerConv2d(4, 6, 3, (2, 2)))
rows(
    "TuckerConv2d",
    ("rank", lambda: nn.TuckerConv2d(4, 6, 3, (0, 2)), V, r"ranks\[0\]=0 must be >= 1"),
    ("nan", lambda: nn.TuckerConv2d.from_weight(K_NAN, ranks=(2, 2)), V, NAN_MSG),
    ("length", lambda: nn.TuckerConv2d(4, 6, 3, (2, 2, 2)), V, "ranks must have length 2"),
)
_linear_rows("BTLinear", lambda: nn.BTLinear(24, 30, 2))
rows(
    "BTLinear",
    ("rank", lambda: nn.BTLinear(24, 30, 0), V, "ranks=0 must be >= 1"),
    ("nan", lambda: nn.BTLinear.from_weight(W_NAN, ranks=2), V, NAN_MSG),
    (
        "modes",
        lambda: nn.BTLinear(24, 30, 2, in_modes=(5, 5)),
        V,
        r"in_modes=\(5, 5\) multiply to 25, but in_features=24",
    ),
)
_conv_rows("BTConv2d", lambda: nn.BTConv2d(4, 6, 3, 2, **BT))
rows(
    "BTConv2d",
    ("rank", lambda: nn.BTConv2d(4, 6, 3, 0, **BT), V, "ranks=0 must be >= 1"),
    ("nan", lambda: nn.BTConv2d.from_weight(K_NAN, ranks=2, **BT), V, NAN_MSG),
    (
        "modes",
        lambda: nn.BTConv2d(4, 6, 3, 2, in_modes=(3, 3)),
        V,
        r"in_modes=\(3, 3\) multiply to 9, but in_channels=4",
    ),
)
_linear_rows("TTLinear", lambda: nn.TTLinear(24, 30, 2))
rows(
    "TTLinear",
    ("rank", lambda: nn.TTLinear(24, 30, 0), V, "ranks=0 must be >= 1"),
    ("nan", lambda: nn.TTLinear.from_weight(W_NAN, ranks=2), V, NAN_MSG),
    (
        "modes",
        lambda: nn.TTLinear(24, 30, 2, in_modes=(5, 5), out_modes=(5, 6)),
        V,
        r"in_modes=\(5, 5\) multiply to 25, but in_features=24",
    ),
)
_conv_rows("TTConv2d", lambda: nn.TTConv2d(4, 6, 3, 2))
rows(
    "TTConv2d",
    ("rank", lambda: nn.TTConv2d(4, 6, 3, 0), V, "ranks=0 must be >= 1"),
    ("nan", lambda: nn.TTConv2d.from_weight(K_NAN, ranks=2), V, NAN_MSG),
    (
        "modes",
        lambda: nn.TTConv2d(4, 6, 3, 2, in_modes=(3, 3), out_modes=(2, 3)),
        V,
        r"in_modes=\(3, 3\) multiply to 9, but in_channels=4",
    ),
)
_linear_rows("TRLinear", lambda: nn.TRLinear(24, 30, 2))
rows(
    "TRLinear",
    ("rank", lambda: nn.TRLinear(24, 30, 0), V, "ranks=0 must be >= 1"),
    ("nan", lambda: nn.TRLinear.from_weight(W_NAN, ranks=2), V, NAN_MSG),
    (
        "modes",
        lambda: nn.TRLinear(24, 30, 2, in_modes=(5, 5), out_modes=(5, 6)),
        V,
        r"in_modes=\(5, 5\) multiply to 25, but in_features=24",
    ),
)
_conv_rows("TRConv2d", lambda: nn.TRConv2d(4, 6, 3, 2))
rows(
    "TRConv2d",
    ("rank", lambda: nn.TRConv2d(4, 6, 3, 0), V, "ranks=0 must be >= 1"),
    ("nan", lambda: nn.TRConv2d.from_weight(K_NAN, ranks=2), V, NAN_MSG),
    (
        "modes",
        lambda: nn.TRConv2d(4, 6, 3, 2, in_modes=(3, 3), out_modes=(2, 3)),
        V,
        r"in_modes=\(3, 3\) multiply to 9, but in_channels=4",
    ),
)
_linear_rows("HTLinear", lambda: nn.HTLinear(24, 30, 2, in_modes=(4, 6), out_modes=(5, 6)))
rows(
    "HTLinear",
    (
        "rank",
        lambda: nn.HTLinear(24, 30, 0, in_modes=(4, 6), out_modes=(5, 6)),
        V,
        "ranks=0 must be >= 1",
    ),
    (
        "nan",
        lambda: nn.HTLinear.from_weight(W_NAN, in_modes=(4, 6), out_modes=(5, 6), ranks=2),
        V,
        NAN_MSG,
    ),
    (
        "modes",
        lambda: nn.HTLinear.from_weight(W_OK, in_modes=(5, 5), out_modes=(5, 6)),
        V,
        r"weight has shape \(24, 30\), expected \(prod\(in_modes\), prod\(out_modes\)\)",
    ),
)
_linear_rows("KPLinear", lambda: nn.KPLinear(24, 30, 2, a_shape=(4, 5)))
rows(
    "KPLinear",
    ("rank", lambda: nn.KPLinear(24, 30, 0, a_shape=(4, 5)), V, "rank=0 must be >= 1"),
    ("nan", lambda: nn.KPLinear.from_weight(W_NAN, a_shape=(4, 5), rank=2), V, NAN_MSG),
    (
        "modes",
        lambda: nn.KPLinear(24, 30, 1, a_shape=(5, 5)),
        V,
        r"a_shape\[0\]=5 does not divide the layer size 24",
    ),
)
_conv_rows("GKPConv2d", lambda: nn.GKPConv2d(4, 6, 3, 1, a_shape=GKP_A))
rows(
    "GKPConv2d",
    ("rank", lambda: nn.GKPConv2d(4, 6, 3, 0, a_shape=GKP_A), V, "rank=0 must be >= 1"),
    ("nan", lambda: nn.GKPConv2d.from_weight(K_NAN, a_shape=GKP_A, rank=1), V, NAN_MSG),
    (
        "modes",
        lambda: nn.GKPConv2d(4, 6, 3, 1, a_shape=(4, 2, 3, 1)),
        V,
        r"a_shape\[0\]=4 does not divide the layer size 6",
    ),
)
_linear_rows("STTLinear", lambda: nn.STTLinear(24, 30, 2, in_modes=(4, 6), out_modes=(5, 6)))
rows(
    "STTLinear",
    (
        "rank",
        lambda: nn.STTLinear(24, 30, 0, in_modes=(4, 6), out_modes=(5, 6)),
        V,
        "ranks=0 must be >= 1",
    ),
    (
        "nan",
        lambda: nn.STTLinear.from_weight(W_NAN, in_modes=(4, 6), out_modes=(5, 6), ranks=2),
        V,
        NAN_MSG,
    ),
    (
        "modes",
        lambda: nn.STTLinear.from_weight(W_OK, in_modes=(5, 5), out_modes=(5, 6)),
        V,
        r"weight has shape \(24, 30\), expected \(prod\(in_modes\), prod\(out_modes\)\)",
    ),
)

NOT_CALLABLE = {
    "__version__",
    "algebra",
    "compress",
    "factorized",
    "datasets",
    "decompositions",
    "formats",
    "nn",
    "rank",
    "subspace",
    "measures",
    "init",
    "factorized",
}


#: A bad call that has not answered by then is hanging (the issue's caps ran for minutes);
#: this guards against hangs, it measures no speed.
HANG_SECONDS = 30


@contextmanager
def no_hang(seconds: int = HANG_SECONDS):
    """Fail, instead of waiting, if the body runs for ``seconds``."""

    def _hung(signum, frame):
        raise TimeoutError(f"still running after {seconds} s: a hang")

    previous = signal.signal(signal.SIGALRM, _hung)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


EXTRA = extra_modules()
for _module in EXTRA:
    ROWS.extend(_module.ROWS)


@pytest.mark.parametrize("row", ROWS, ids=[f"{r.name}-{r.kind}-{i}" for i, r in enumerate(ROWS)])
def test_bad_input_raises_a_named_error(row):
    with no_hang(), pytest.raises(row.exc, match=row.match):
        row.call()


def test_table_covers_every_public_callable():
    covered = {r.name for r in ROWS}
    names = set(tn.__all__) | set(nn.__all__) | set(rank.__all__) | set(datasets.__all__)
    for module in EXTRA:
        for package in module.MODULES:
            names |= {n for n in package.__all__ if callable(getattr(package, n))}
    missing = sorted(n for n in names - NOT_CALLABLE if n not in covered)
    assert missing == []
    for n in NOT_CALLABLE:
        obj = getattr(tn, n, None) or getattr(nn, n)
        assert not callable(obj), n


def test_rank_caps_above_the_shape_cost_no_more_than_the_shape_allows():
    """Class 2: ``tr_svd(x, ranks=10**9)`` is lowered to what the shape allows, at once."""
    with no_hang():
        big = tn.tr_svd(X, ranks=10**9)
        huge = tn.tr_svd(X, ranks=10**100)
    assert big.ranks == tn.tr_svd(X).ranks
    assert huge.ranks == big.ranks


def test_accepted_edge_values():
    """Valid values of unusual types are accepted: NumPy scalars, 0-d arrays, integral floats,
    half precision."""
    assert tn.tr_als(X, 2, tol=np.float32(1e-6), n_iter_max=2).ranks[0] >= 1
    assert tn.tt_svd(X, ranks=np.array(2)).ranks == tn.tt_svd(X, ranks=2).ranks
    assert tn.ht_svd(X, ranks=2.0).ranks == tn.ht_svd(X, ranks=2).ranks
    assert tn.cp_als(X, np.int64(2), n_iter_max=2).rank == 2
    # half precision is accepted; like every decomposition, HT-SVD computes in float64
    half = tn.ht_svd(X.astype(np.float16), ranks=2)
    assert half.dtype == np.float64
    assert half.ranks == tn.ht_svd(X.astype(np.float16).astype(np.float64), ranks=2).ranks
    assert nn.SGD(_model().params, lr=np.float32(0.1)).lr == pytest.approx(0.1)
