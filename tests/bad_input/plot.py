"""Bad-input rows for ``tensornet.plot`` (none when matplotlib, the ``plot`` extra, is missing)."""

from __future__ import annotations

import numpy as np

from tests.bad_input import Row

try:
    import matplotlib

    matplotlib.use("Agg")
    import tensornet.plot as plot
except ImportError:  # pragma: no cover - the plot extra is not installed
    plot = None

MODULES = [] if plot is None else [plot]
ROWS: list[Row] = []
V, T = ValueError, TypeError

NAN = np.array([[1.0, np.nan], [0.0, 1.0]])
MAT = np.diag([3.0, 2.0, 1.0])
STR = np.array([["a", "b"], ["c", "d"]])


def rows(name: str, *specs: tuple) -> None:
    for kind, call, exc, match in specs:
        ROWS.append(Row(name, kind, call, exc, match))


if plot is not None:
    rows(
        "draw",
        ("type", lambda: plot.draw(MAT), T, "fmt must be a format object"),
        ("type", lambda: plot.draw("tt"), T, "got str"),
    )
    rows(
        "plot_spectrum",
        ("non_finite", lambda: plot.plot_spectrum(NAN), V, "x must be finite"),
        ("ndim", lambda: plot.plot_spectrum(np.ones(3)), V, "x must have ndim >= 2"),
        ("str_array", lambda: plot.plot_spectrum(STR), T, "x must be a real numeric array"),
        ("mode", lambda: plot.plot_spectrum(MAT, mode=2), V, "mode=2"),
        ("mode", lambda: plot.plot_spectrum(MAT, mode=[]), V, "mode must name at least one"),
        ("rank", lambda: plot.plot_spectrum(MAT, rank=0), V, "rank=0 must be >= 1"),
        ("rank", lambda: plot.plot_spectrum(MAT, rank=4), V, "rank=4 exceeds the 3"),
        ("rank", lambda: plot.plot_spectrum(MAT, rank=1.5), T, "rank must be an int"),
        ("rank_len", lambda: plot.plot_spectrum(MAT, mode=None, rank=[1]), V, "rank has 1"),
        ("eps", lambda: plot.plot_spectrum(MAT, eps=1.5), V, "eps=1.5"),
        ("eps", lambda: plot.plot_spectrum(MAT, eps=float("nan")), V, "eps=nan"),
        ("both", lambda: plot.plot_spectrum(MAT, rank=1, eps=0.1), V, "rank or eps, not both"),
    )
    rows(
        "plot_history",
        ("type", lambda: plot.plot_history([1.0, 2.0]), T, "history must be a History"),
        ("empty", lambda: plot.plot_history({}), V, "history holds no epoch"),
        ("non_finite", lambda: plot.plot_history({"loss": [1.0, np.nan]}), V, "must be finite"),
        ("metric", lambda: plot.plot_history({"loss": [1.0]}, ["acc"]), V, "'acc' is not"),
        ("metrics", lambda: plot.plot_history({"loss": [1.0]}, "loss"), V, "non-empty sequence"),
        ("keys", lambda: plot.plot_history({"lr": [0.1]}), V, "records no loss or accuracy"),
    )
    rows(
        "plot_tradeoff",
        ("type", lambda: plot.plot_tradeoff(3), T, "results must be a results JSON"),
        ("row_type", lambda: plot.plot_tradeoff([3]), T, r"results\[0\] must be a mapping"),
        ("key", lambda: plot.plot_tradeoff([{"method": "a"}]), V, "no ratio key 'ratio'"),
        (
            "non_finite",
            lambda: plot.plot_tradeoff({"svd": [(np.inf, 0.9)]}),
            V,
            r"results\['svd'\] must be finite",
        ),
        ("pairs", lambda: plot.plot_tradeoff({"svd": [(1.0, 2.0, 3.0)]}), V, "(ratio, accuracy)"),
        (
            "json_row",
            lambda: plot.plot_tradeoff({"rows": [{"method": "svd"}]}),
            V,
            "no ratio key 'model_params_before'",
        ),
    )
