"""Bad-input rows of tensornet.testing: strategies check their arguments when built (not when
drawn), checkers raise ValueError/TypeError (never AssertionError) for bad arguments."""

import numpy as np

import tensornet as tn
import tensornet.testing as tt
from tests.bad_input import Row

MODULES = [tt]

X = np.random.default_rng(0).standard_normal((3, 4, 5))
M = X.reshape(12, 5)
NAN = X.copy()
NAN[0, 0, 0] = np.nan
TT = tn.tt_svd(X, ranks=2)
V, T = ValueError, TypeError

SPECS = {
    "Noisy": [("missing", lambda: tt.Noisy(X), T, "missing 2 required")],
    "PropertyResult": [("missing", lambda: tt.PropertyResult("p"), T, "missing 2 required")],
    "VerifyReport": [("missing", lambda: tt.VerifyReport(), T, "missing 2 required")],
    "seeds": [("extra_argument", lambda: tt.seeds(3), T, "positional argument")],
    "random_array": [
        ("shape", lambda: tt.random_array((2, -1), 0), V, r"shape\[1\]=-1 must be >= 0"),
        ("seed", lambda: tt.random_array((2, 3), -5), V, "seed=-5 must be >= 0"),
        ("seed", lambda: tt.random_array((2, 3), 1.5), T, "seed must be an integer"),
    ],
    "shapes": [
        ("bound", lambda: tt.shapes(min_dims=-1), V, "min_dims=-1 must be >= 0"),
        ("bound", lambda: tt.shapes(1, 2, 3, 2), V, "max_side=2 must be >= 3"),
        ("size", lambda: tt.shapes(2, 3, 2, 3, max_size=3), V, "max_size=3 admits no shape"),
        ("type", lambda: tt.shapes(max_dims=2.5), T, "max_dims must be an integer"),
    ],
    "dense_tensors": [("shape", lambda: tt.dense_tensors((2, 0)), V, r"shape\[1\]=0")],
    "dimension_trees": [("order", lambda: tt.dimension_trees(1), V, "d=1 must be >= 2")],
    "rank_tuples": [
        ("option", lambda: tt.rank_tuples((2, 3), "xyz"), V, "format='xyz' must be one of"),
        ("rank", lambda: tt.rank_tuples((2, 3), max_rank=0), V, "max_rank=0 must be >= 1"),
        ("shape", lambda: tt.rank_tuples(None), T, "shape must be a tuple"),
        ("shape", lambda: tt.rank_tuples((3,), "tr"), V, "at least 2 modes"),
    ],
    "tt_tensors": [
        ("shape", lambda: tt.tt_tensors("abc"), T, "shape must be a sequence of ints"),
        ("noise", lambda: tt.tt_tensors(noise=-1.0), V, "noise=-1.0 must be >= 0"),
        ("nan", lambda: tt.tt_tensors(noise=np.nan), V, "noise=nan must be a finite number"),
        ("rank", lambda: tt.tt_tensors(max_rank=0), V, "max_rank=0 must be >= 1"),
    ],
    "tr_tensors": [("shape", lambda: tt.tr_tensors((3,)), V, "at least 2 modes")],
    "tucker_tensors": [("rank", lambda: tt.tucker_tensors(max_rank=1.5), T, "max_rank must be")],
    "cp_tensors": [("rank", lambda: tt.cp_tensors(rank=0), V, "rank=0 must be >= 1")],
    "btd_tensors": [("count", lambda: tt.btd_tensors(n_terms=0), V, "n_terms=0 must be >= 1")],
    "ht_tensors": [("shape", lambda: tt.ht_tensors((2,)), V, "at least 2 modes")],
    "kron_tensors": [
        ("shape", lambda: tt.kron_tensors((2, 2), (2,)), V, "must have the same length"),
        ("rank", lambda: tt.kron_tensors(rank=-1), V, "rank=-1 must be >= 1"),
    ],
    "layer_shapes": [("bound", lambda: tt.layer_shapes(0), V, "min_dims=0 must be >= 1")],
    "tt_matrices": [
        ("missing", lambda: tt.tt_matrices((2, 3), None), V, "must be given together"),
        ("shape", lambda: tt.tt_matrices((2, 3), (2,)), V, "must have the same length"),
    ],
    "matrices_with_decay": [
        ("option", lambda: tt.matrices_with_decay(decay="x"), V, "decay='x' must be"),
        ("rate", lambda: tt.matrices_with_decay(rate=1.5), V, "rate=1.5 must satisfy 0 < rate"),
        ("shape", lambda: tt.matrices_with_decay((2, 3, 4)), V, "must have 2 entries"),
    ],
    "dense": [("type", lambda: tt.dense("abc"), T, "approx must be a format object")],
    "assert_eps_bound": [
        ("nan", lambda: tt.assert_eps_bound(NAN, X, 0.1), V, "finite"),
        ("eps", lambda: tt.assert_eps_bound(X, X, 1.5), V, "eps=1.5 must lie in"),
        ("shape", lambda: tt.assert_eps_bound(M, X, 0.1), V, r"approx has shape \(12, 5\)"),
        ("zero", lambda: tt.assert_eps_bound(X, 0 * X, 0.1), V, "x is all zeros"),
    ],
    "assert_exact_at_full_rank": [
        ("tol", lambda: tt.assert_exact_at_full_rank(X, X, tol=-1.0), V, "tol=-1.0 must be >= 0"),
        ("nan", lambda: tt.assert_exact_at_full_rank(X, NAN), V, "finite"),
    ],
    "assert_left_orthonormal": [
        ("type", lambda: tt.assert_left_orthonormal(5), T, "non-empty sequence"),
        ("empty", lambda: tt.assert_left_orthonormal([]), T, "non-empty sequence"),
        ("nan", lambda: tt.assert_left_orthonormal([NAN, X]), V, "finite"),
    ],
    "assert_orthonormal_columns": [
        ("ndim", lambda: tt.assert_orthonormal_columns(X), V, "matrix must have ndim=2"),
    ],
    "assert_ranks_at_most": [
        ("length", lambda: tt.assert_ranks_at_most(TT, [1, 2]), V, "bound has 2 entries"),
        ("bound", lambda: tt.assert_ranks_at_most(TT, -1), V, "bound=-1 must be >= 0"),
        ("type", lambda: tt.assert_ranks_at_most(X, 2), T, "has no ranks"),
    ],
    "assert_eckart_young": [
        ("ndim", lambda: tt.assert_eckart_young(X, X, 1), V, "x must be a matrix"),
        ("rank", lambda: tt.assert_eckart_young(M, M, 0), V, "rank=0 must be >= 1"),
    ],
    "assert_quasi_optimal": [
        ("factor", lambda: tt.assert_quasi_optimal(TT, X, 0.5), V, "factor=0.5 must be >= 1"),
        ("format", lambda: tt.assert_quasi_optimal(X, X, 2.0), T, "no lower bound for"),
    ],
    "best_error_lower_bound": [
        ("shape", lambda: tt.best_error_lower_bound(M, TT), V, "approx has shape"),
    ],
    "assert_scale_equivariant": [
        ("type", lambda: tt.assert_scale_equivariant(5, X), T, "method must be callable"),
        ("scale", lambda: tt.assert_scale_equivariant(tn.hosvd, X, scales=[0.0]), V, "non-zero"),
    ],
    "assert_deterministic": [
        ("type", lambda: tt.assert_deterministic("f", X), T, "method must be callable"),
        ("seed", lambda: tt.assert_deterministic(tn.cp_als, X, -1), V, "seed=-1 must be >= 0"),
    ],
    "verify": [
        ("type", lambda: tt.verify(5, "tt_svd"), T, "method must be callable"),
        ("option", lambda: tt.verify(tn.tt_svd, "svd"), V, "kind='svd' must be one of"),
        ("count", lambda: tt.verify(tn.tt_svd, "tt_svd", max_examples=0), V, "max_examples=0"),
        (
            "option",
            lambda: tt.verify(tn.tt_svd, "tt_svd", properties=["nope"]),
            V,
            "tt_svd has the properties",
        ),
    ],
}

ROWS = [Row(name, *spec) for name, specs in SPECS.items() for spec in specs]
