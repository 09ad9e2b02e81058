"""Bad-input rows of tensornet.subspace (trajectory sampling, DLDR, P-SGD/P-BFGS, analysis)."""

from __future__ import annotations

import numpy as np

from tensornet import nn
from tensornet import subspace as sp

from . import Row

T, V = TypeError, ValueError
MODULES = [sp]

_RNG = np.random.default_rng(0)
_W = _RNG.normal(size=(5, 8))
_W_NAN = _W.copy()
_W_NAN[1, 2] = np.nan
_P = np.linalg.qr(_RNG.normal(size=(8, 3)))[0].T.copy()
_X = _RNG.normal(size=(12, 2)).astype(np.float32)
_Y = _RNG.integers(0, 3, 12)


def _model() -> nn.Sequential:
    return nn.Sequential(("fc", nn.Linear(2, 2, random_state=0)))  # D = 6


def _params() -> dict:
    return _model().params


def _basis6() -> np.ndarray:
    return np.linalg.qr(_RNG.normal(size=(6, 2)))[0].T.copy()


ROWS: list[Row] = []


def rows(name: str, *specs: tuple) -> None:
    for kind, call, exc, match in specs:
        ROWS.append(Row(name, kind, call, exc, match))


rows(
    "TrajectorySampler",
    ("every", lambda: sp.TrajectorySampler(every=0), V, "every=0 must be >= 1"),
    ("every", lambda: sp.TrajectorySampler(every=1.5), T, "every must be an integer"),
    ("dtype", lambda: sp.TrajectorySampler(dtype=np.int32), T, "dtype must be a floating"),
    (
        "include_initial",
        lambda: sp.TrajectorySampler(include_initial="yes"),
        T,
        "include_initial must be a bool",
    ),
    ("warn_bytes", lambda: sp.TrajectorySampler(warn_bytes=-1), V, "warn_bytes=-1 must be >= 0"),
)
rows(
    "flatten_params",
    ("not_dict", lambda: sp.flatten_params([np.ones(2)]), T, "params must be a non-empty dict"),
    ("empty", lambda: sp.flatten_params({}), T, "params must be a non-empty dict"),
)
rows(
    "unflatten_params",
    (
        "length",
        lambda: sp.unflatten_params(np.ones(5), _params()),
        V,
        "vector has 5 entries, but the parameters hold 6",
    ),
    (
        "non-finite",
        lambda: sp.unflatten_params(np.full(6, np.inf), _params()),
        V,
        "vector must be finite",
    ),
    ("ndim", lambda: sp.unflatten_params(np.ones((2, 3)), _params()), V, "vector must have ndim=1"),
)
rows(
    "dldr",
    ("non-finite", lambda: sp.dldr(_W_NAN, 2), V, "samples must be finite"),
    ("str_array", lambda: sp.dldr(np.full((3, 2), "a"), 1), T, "samples must be a real numeric"),
    ("ndim", lambda: sp.dldr(np.ones(4), 1), V, "samples must have ndim=2"),
    ("one_sample", lambda: sp.dldr(_W[:1], 1), V, "at least 2 rows"),
    ("n_components", lambda: sp.dldr(_W, 5), V, "n_components=5 must be <= 4"),
    ("n_components", lambda: sp.dldr(_W, 0), V, "n_components=0 must be >= 1"),
    ("n_components", lambda: sp.dldr(_W, 2.5), T, "n_components must be an integer"),
    ("rank", lambda: sp.dldr(np.ones((4, 3)), 1), V, "exceeds the 0 directions"),
    ("dtype", lambda: sp.dldr(_W, 2, dtype=np.int64), T, "dtype must be a floating"),
)
rows(
    "DLDRBasis",
    (
        "centre",
        lambda: sp.DLDRBasis(_P, np.ones(3), np.ones(3), np.ones(3), np.ones(7)),
        V,
        r"centre has shape \(7,\), expected \(8,\)",
    ),
    (
        "non-finite",
        lambda: sp.DLDRBasis(_P * np.nan, np.ones(3), np.ones(3), np.ones(3), np.ones(8)),
        V,
        "basis must be finite",
    ),
    (
        "variance",
        lambda: sp.DLDRBasis(_P, np.ones(2), np.ones(3), np.ones(3), np.ones(8)),
        V,
        r"explained_variance has shape \(2,\), expected \(3,\)",
    ),
)
rows(
    "SubspaceProjection",
    (
        "width",
        lambda: sp.SubspaceProjection(_P, _params()),
        V,
        r"basis has shape \(3, 8\), but the parameters hold D=6",
    ),
    (
        "non-finite",
        lambda: sp.SubspaceProjection(np.full((2, 6), np.nan), _params()),
        V,
        "basis must be finite",
    ),
    (
        "wide",
        lambda: sp.SubspaceProjection(np.ones((7, 6)), _params()),
        V,
        "d=7 directions exceed D=6",
    ),
    ("params", lambda: sp.SubspaceProjection(_basis6(), None), T, "params must be a non-empty"),
    (
        "not_orthonormal",
        lambda: sp.SubspaceProjection(2 * _basis6(), _params()),
        V,
        "basis must have orthonormal rows",
    ),
)
rows(
    "PSGD",
    ("width", lambda: sp.PSGD(_params(), _P), V, "but the parameters hold D=6"),
    ("lr", lambda: sp.PSGD(_params(), _basis6(), lr=0.0), V, r"lr=0.0 must be > 0"),
    (
        "momentum",
        lambda: sp.PSGD(_params(), _basis6(), momentum=1.0),
        V,
        r"momentum=1.0 must lie in \[0, 1\)",
    ),
    ("weight_decay", lambda: sp.PSGD(_params(), _basis6(), weight_decay=0.1), V, "weight_decay"),
)
rows(
    "PBFGS",
    ("width", lambda: sp.PBFGS(_params(), _P), V, "but the parameters hold D=6"),
    ("sigma", lambda: sp.PBFGS(_params(), _basis6(), sigma=0.0), V, r"sigma=0.0 must be > 0"),
    ("sigma", lambda: sp.PBFGS(_params(), _basis6(), sigma=1.0), V, r"must lie in \(0, 1\)"),
    (
        "shrink",
        lambda: sp.PBFGS(_params(), _basis6(), shrink=np.nan),
        V,
        "shrink=nan must be a finite",
    ),
    (
        "max_tries",
        lambda: sp.PBFGS(_params(), _basis6(), max_tries=0),
        V,
        "max_tries=0 must be >= 1",
    ),
    ("line_search", lambda: sp.PBFGS(_params(), _basis6(), line_search="wolfe"), V, "line_search"),
    ("closure", lambda: sp.PBFGS(_params(), _basis6(), closure=3), T, "closure must be callable"),
    ("no_closure", lambda: _pbfgs_step_without_closure(), V, "needs a closure"),
)


def _pbfgs_step_without_closure():
    params = _params()
    opt = sp.PBFGS(params, _basis6())
    return opt.step({k: np.ones_like(v) for k, v in params.items()})


rows(
    "train_in_subspace",
    (
        "model",
        lambda: sp.train_in_subspace("net", _basis6(), "psgd", (_X, _Y), 1),
        T,
        "model must be a tensornet.nn.Module",
    ),
    (
        "width",
        lambda: sp.train_in_subspace(_model(), _P, "psgd", (_X, _Y), 1),
        V,
        "but the parameters hold D=6",
    ),
    (
        "optimizer",
        lambda: sp.train_in_subspace(_model(), _basis6(), "adam", (_X, _Y), 1),
        V,
        "optimizer='adam' must be one of",
    ),
    (
        "optimizer",
        lambda: sp.train_in_subspace(_model(), _basis6(), 3, (_X, _Y), 1),
        T,
        "optimizer must be 'psgd', 'pbfgs'",
    ),
    (
        "epochs",
        lambda: sp.train_in_subspace(_model(), _basis6(), "psgd", (_X, _Y), 0),
        V,
        "epochs=0 must be >= 1",
    ),
    (
        "data",
        lambda: sp.train_in_subspace(_model(), _basis6(), "psgd", _X, 1),
        T,
        r"data must be an \(x, y\) tuple",
    ),
    (
        "start",
        lambda: sp.train_in_subspace(_model(), _basis6(), "psgd", (_X, _Y), 1, start=np.ones(5)),
        V,
        "start has 5 entries",
    ),
    (
        "start",
        lambda: sp.train_in_subspace(
            _model(), _basis6(), "psgd", (_X, _Y), 1, start=np.full(6, np.nan)
        ),
        V,
        "start must be finite",
    ),
    (
        "other_params",
        lambda: sp.train_in_subspace(
            _model(), _basis6(), sp.PSGD(_params(), _basis6()), (_X, _Y), 1
        ),
        V,
        "must be built on model.params",
    ),
)
rows(
    "projection_error",
    ("width", lambda: sp.projection_error(np.ones(5), _P), V, r"w has shape \(5,\)"),
    ("zero", lambda: sp.projection_error(np.zeros(8), _P), V, "w must be nonzero"),
    (
        "not_orthonormal",
        lambda: sp.projection_error(np.ones(8), np.ones((2, 8))),
        V,
        "basis must have orthonormal rows",
    ),
    ("non-finite", lambda: sp.projection_error(np.full(8, np.nan), _P), V, "w must be finite"),
    (
        "centre",
        lambda: sp.projection_error(np.ones(8), _P, np.ones(3)),
        V,
        r"centre has shape \(3,\)",
    ),
    ("str_array", lambda: sp.projection_error(np.full(8, "a"), _P), T, "w must be a real numeric"),
)
rows(
    "dimension_sweep",
    ("dims", lambda: sp.dimension_sweep(_W, []), T, "dims must be a non-empty sequence"),
    ("dims", lambda: sp.dimension_sweep(_W, [2, 5]), V, r"dims\[1\]=5 must be <= 4"),
    ("non-finite", lambda: sp.dimension_sweep(_W_NAN, [1]), V, "samples must be finite"),
)
rows(
    "compression_sweep",
    (
        "data",
        lambda: sp.compression_sweep(_model(), _X, [None]),
        T,
        r"data must be an \(x, y\) tuple",
    ),
    (
        "n_components",
        lambda: sp.compression_sweep(_model(), (_X, _Y), [None], every=100, n_components=2),
        V,
        r"n_components\[0\]=2 must be <= 0",
    ),
    (
        "lr",
        lambda: sp.compression_sweep(_model(), (_X, _Y), [None], lr=-1.0),
        V,
        r"lr=-1.0 must be > 0",
    ),
)
