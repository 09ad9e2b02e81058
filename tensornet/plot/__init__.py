"""Figures of tensornet objects with matplotlib (the ``plot`` extra).

* :func:`draw`: a format object as a tensor-network diagram (the graphical notation of the
  survey, Fig. 2): cores as nodes, open legs labelled with the mode sizes, bonds labelled with
  the ranks;
* :func:`plot_spectrum`: the singular values of an unfolding, with the kept rank marked;
* :func:`plot_history`: training curves of the :class:`~tensornet.nn.History` of
  :func:`tensornet.nn.fit`;
* :func:`plot_tradeoff`: accuracy against compression ratio, one curve per method, from the
  results of the compression experiments.

Every function returns the :class:`matplotlib.figure.Figure` it drew on. The figures are built
without :mod:`matplotlib.pyplot`, so they use no global state and no interactive backend; show
one in a notebook by leaving it as the cell's value, or save it with ``fig.savefig(path)``.
The core of tensornet never imports this package.
"""

from __future__ import annotations

try:
    import matplotlib  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(
        "tensornet.plot needs matplotlib, which is not installed; install the plot extra: "
        'pip install "tensornet[plot]"'
    ) from exc

from .curves import plot_history, plot_spectrum, plot_tradeoff
from .diagram import draw

__all__ = ["draw", "plot_spectrum", "plot_history", "plot_tradeoff"]
