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
