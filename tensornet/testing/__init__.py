"""Property-test tools: Hypothesis strategies, guarantee checkers and :func:`verify`.

Install with ``pip install 'tensornet[testing]'`` (Hypothesis is an optional dependency: the rest
of tensornet never imports this package).

* :mod:`tensornet.testing.strategies`: shapes, valid rank tuples and exact low-rank tensors of
  every format, as Hypothesis strategies;
* :mod:`tensornet.testing.checks`: ``assert_*`` functions for the guarantees of the
  decompositions (error bounds, exactness, orthonormality, optimality, equivariance), each
  raising :class:`AssertionError` with the values, the bound and the margin;
* :mod:`tensornet.testing.verify`: :func:`verify` runs the whole battery of properties of a
  decomposition kind against any function with tensornet's calling convention.
"""

from . import checks, strategies
from .checks import (
    assert_deterministic,
    assert_eckart_young,
    assert_eps_bound,
    assert_exact_at_full_rank,
    assert_left_orthonormal,
    assert_orthonormal_columns,
    assert_quasi_optimal,
    assert_ranks_at_most,
    assert_scale_equivariant,
    best_error_lower_bound,
    dense,
)
from .strategies import (
    Noisy,
    btd_tensors,
    cp_tensors,
    dense_tensors,
    dimension_trees,
    ht_tensors,
    kron_tensors,
    layer_shapes,
    matrices_with_decay,
    random_array,
    rank_tuples,
    seeds,
    shapes,
    tr_tensors,
    tt_matrices,
    tt_tensors,
    tucker_tensors,
)
from .verify import KINDS, PropertyResult, VerifyReport, verify

__all__ = [
    # strategies
    "Noisy",
    "btd_tensors",
    "cp_tensors",
    "dense_tensors",
    "dimension_trees",
    "ht_tensors",
    "kron_tensors",
    "layer_shapes",
    "matrices_with_decay",
    "random_array",
    "rank_tuples",
    "seeds",
    "shapes",
    "tr_tensors",
    "tt_matrices",
    "tt_tensors",
    "tucker_tensors",
    # checks
    "assert_deterministic",
    "assert_eckart_young",
    "assert_eps_bound",
    "assert_exact_at_full_rank",
    "assert_left_orthonormal",
    "assert_orthonormal_columns",
    "assert_quasi_optimal",
    "assert_ranks_at_most",
    "assert_scale_equivariant",
    "best_error_lower_bound",
    "dense",
    # verify
    "KINDS",
    "PropertyResult",
    "VerifyReport",
    "verify",
    # modules
    "checks",
    "strategies",
]
