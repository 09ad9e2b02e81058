"""Curves: singular-value spectra, training histories, accuracy against compression."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .._validation import check_array, check_axis, check_eps, check_int
from ..algebra import unfold
from ..algebra.truncation import rank_for_error

__all__ = ["plot_spectrum", "plot_history", "plot_tradeoff"]


def _figure(n_panels: int = 1, width: float = 4.8, height: float = 3.4) -> tuple[Figure, list]:
    fig = Figure(figsize=(width * n_panels, height), layout="constrained")
    axes = [fig.add_subplot(1, n_panels, i + 1) for i in range(n_panels)]
    return fig, axes


def _modes(mode: Any, ndim: int) -> list[int]:
    if mode is None:
        return list(range(ndim))
    if isinstance(mode, (Sequence, np.ndarray)) and not isinstance(mode, str):
        if len(mode) == 0:
            raise ValueError("mode must name at least one mode, got an empty sequence")
        return [check_axis(m, ndim, f"mode[{i}]") for i, m in enumerate(mode)]
    return [check_axis(mode, ndim, "mode")]


def _kept_ranks(
    spectra: list[np.ndarray], rank: Any, eps: float | None, modes: list[int], norm: float
) -> list[int | None]:
    """The rank marked on each spectrum: given (``rank``) or the smallest within ``eps``."""
    if rank is not None and eps is not None:
        raise ValueError("give rank or eps, not both")
    if eps is not None:
        return [rank_for_error(s, eps * norm) for s in spectra]
    if rank is None:
        return [None] * len(spectra)
    if isinstance(rank, (Sequence, np.ndarray)) and not isinstance(rank, str):
        if len(rank) != len(modes):
            raise ValueError(
                f"rank has {len(rank)} entries but {len(modes)} modes are plotted ({modes})"
            )
        ranks = [check_int(r, f"rank[{i}]", minimum=1) for i, r in enumerate(rank)]
    else:
        ranks = [check_int(rank, "rank", minimum=1)] * len(modes)
    for i, (r, s) in enumerate(zip(ranks, spectra, strict=True)):
        if r > len(s):
            raise ValueError(
                f"rank={r} exceeds the {len(s)} singular values of the mode-{modes[i]} unfolding"
            )
    return ranks


def plot_spectrum(
    x: np.ndarray,
    mode: int | Sequence[int] | None = 0,
    *,
    rank: int | Sequence[int] | None = None,
    eps: float | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Singular values of the mode-``n`` unfolding ``X_(n)``, with the kept rank marked.

    By Eckart-Young (survey Sec. II-A.1) keeping the ``r`` largest singular values of an
    unfolding costs ``sqrt(sum_{i>r} s_i^2)`` in Frobenius norm: the spectrum shows how fast
    that tail falls, i.e. which rank a truncated HOSVD or TT-SVD step can afford. The values
    are drawn on a log scale against their index ``1, 2, ...``; the kept rank ``r`` is a
    vertical dashed line between ``s_r`` and ``s_{r+1}``, its legend entry giving the relative
    error ``sqrt(sum_{i>r} s_i^2) / ||X||_F`` of that one truncation.

    Parameters
    ----------
    x : array_like
        A real tensor with at least 2 modes (a matrix is its own mode-0 unfolding).
    mode : int, sequence of int or None
        The unfolding(s) to plot, one curve each; ``None`` plots every mode.
    rank : int or sequence of int, optional
        The kept rank, one for all plotted modes or one per mode.
    eps : float, optional
        Instead of ``rank``: mark on each curve the smallest rank whose tail is within
        ``eps ||X||_F`` (the δ-truncation of :func:`~tensornet.algebra.truncation.rank_for_error`).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; by default a new figure.

    Returns
    -------
    matplotlib.figure.Figure
        One line per mode (``gid`` ``spectrum-n``) and one vertical line per marked rank
        (``gid`` ``kept-rank-n``).

    Raises
    ------
    ValueError
        If ``x`` is not finite or has fewer than 2 modes, a mode is out of range, a rank
        exceeds the number of singular values, or both ``rank`` and ``eps`` are given.

    Examples
    --------
    >>> import numpy as np
    >>> fig = plot_spectrum(np.diag([3.0, 2.0, 1.0]), rank=2)
    >>> [line.get_gid() for line in fig.axes[0].lines]
    ['spectrum-0', 'kept-rank-0']
    """
    x = check_array(x, "x", min_ndim=2)
    modes = _modes(mode, x.ndim)
    eps = check_eps(eps)
    spectra = [np.linalg.svd(unfold(x, m), compute_uv=False) for m in modes]
    norm = float(np.linalg.norm(x))
    kept = _kept_ranks(spectra, rank, eps, modes, norm)
    if ax is None:
        fig, (ax,) = _figure()
    else:
        fig = ax.figure
    for m, s, r in zip(modes, spectra, kept, strict=True):
        index = np.arange(1, len(s) + 1)
        (line,) = ax.semilogy(
            index,
            np.maximum(s, np.finfo(float).tiny),
            "o-",
            markersize=3,
            label=f"mode {m}",
            gid=f"spectrum-{m}",
        )
        if r is not None:
            tail = float(np.sqrt(np.sum(s[r:] ** 2))) / norm if norm else 0.0
            ax.axvline(
                r + 0.5,
                color=line.get_color(),
                linestyle="--",
                linewidth=1,
                label=f"mode {m}: rank {r}, rel. error {tail:.2g}",
                gid=f"kept-rank-{m}",
            )
    ax.set_xlabel("index i")
    ax.set_ylabel("singular value $s_i$")
    ax.set_title(
        "spectrum of the unfolding" + ("s" if len(modes) > 1 else f" $X_{{({modes[0]})}}$")
    )
    ax.legend(fontsize=8)
    return fig


# --------------------------------------------------------------------------- history
def _history_dict(history: Any) -> dict[str, list[float]]:
    data = history.as_dict() if hasattr(history, "as_dict") else history
    if not isinstance(data, Mapping):
        raise TypeError(
            f"history must be a History of nn.fit or a dict of metric lists, got "
            f"{type(history).__name__}"
        )
    out = {}
    for key, values in data.items():
        arr = check_array(values, f"history[{key!r}]", ndim=1, allow_empty=True)
        out[str(key)] = arr
    if not out or max(len(v) for v in out.values()) == 0:
        raise ValueError("history holds no epoch")
    return out


def plot_history(
    history: Any,
    metrics: Sequence[str] | None = None,
    *,
    ax: Axes | Sequence[Axes] | None = None,
) -> Figure:
    """Training curves of :func:`tensornet.nn.fit`: one panel per metric, training and validation.

    Parameters
    ----------
    history : History or dict of str to list of float
        The :class:`~tensornet.nn.History` returned by :func:`~tensornet.nn.fit`, or its
        :meth:`~tensornet.nn.History.as_dict` (for instance read back from JSON).
    metrics : sequence of str, optional
        Metric names, one panel each (``"loss"``, ``"accuracy"``, ``"lr"``, ...); the panel of
        ``m`` draws ``m`` (training) and ``val_m`` (validation) when present. By default
        ``"loss"`` and ``"accuracy"``, those recorded.
    ax : Axes or sequence of Axes, optional
        One Axes per panel; by default a new figure.

    Returns
    -------
    matplotlib.figure.Figure
        One line per recorded series (``gid`` the series' name, e.g. ``val_loss``), against the
        epoch ``1, 2, ...``.

    Raises
    ------
    TypeError
        If ``history`` is neither a History nor a mapping.
    ValueError
        If it holds no epoch or a value is not finite, a metric is not recorded, or ``ax``
        does not hold one Axes per panel.

    Examples
    --------
    >>> h = {"loss": [0.9, 0.5, 0.3], "val_loss": [0.8, 0.6, 0.5], "accuracy": [0.7, 0.8, 0.9]}
    >>> fig = plot_history(h)
    >>> [[line.get_gid() for line in a.lines] for a in fig.axes]
    [['loss', 'val_loss'], ['accuracy']]
    """
    data = _history_dict(history)
    if metrics is None:
        metrics = [m for m in ("loss", "accuracy") if m in data or f"val_{m}" in data]
        if not metrics:
            raise ValueError(
                f"history records no loss or accuracy (keys {sorted(data)}); pass metrics="
            )
    elif isinstance(metrics, str) or len(metrics) == 0:
        raise ValueError(f"metrics must be a non-empty sequence of names, got {metrics!r}")
    for m in metrics:
        if m not in data and f"val_{m}" not in data:
            raise ValueError(f"metrics: {m!r} is not recorded (keys {sorted(data)})")
    if ax is None:
        fig, axes = _figure(len(metrics), width=4.2, height=3.2)
    else:
        axes = [ax] if isinstance(ax, Axes) else list(ax)
        if len(axes) != len(metrics):
            raise ValueError(f"ax holds {len(axes)} Axes, expected one per metric {metrics}")
        fig = axes[0].figure
    for a, metric in zip(axes, metrics, strict=True):
        for key, label in ((metric, "training"), (f"val_{metric}", "validation")):
            if key in data and len(data[key]):
                epochs = np.arange(1, len(data[key]) + 1)
                a.plot(epochs, data[key], "o-", markersize=3, label=label, gid=key)
        a.set_xlabel("epoch")
        a.set_ylabel(metric)
        a.legend(fontsize=8)
    return fig


# --------------------------------------------------------------------------- tradeoff
Key = str | Callable[[Mapping[str, Any]], Any]


def _get(row: Mapping[str, Any], key: Key, what: str, i: int) -> Any:
    if callable(key):
        try:
            return key(row)
        except KeyError as exc:
            raise ValueError(
                f"results row {i} has no {what} key {exc} (keys {sorted(row)})"
            ) from None
    if key not in row:
        raise ValueError(f"results row {i} has no {what} key {key!r} (keys {sorted(row)})")
    return row[key]


def _pretrain_ratio(row: Mapping[str, Any]) -> float:
    return row["model_params_before"] / row["model_params_after"]


def _panels(
    results: Any, method: Key, ratio: Key, accuracy: Key
) -> dict[str, tuple[dict[str, list[tuple[float, float]]], float | None]]:
    """``{panel title: ({method: [(ratio, accuracy), ...]}, dense accuracy or None)}``."""
    if isinstance(results, Mapping) and "aggregate" in results:  # sparsity_measures.json
        panels = {}
        for net, rows in results["aggregate"].items():
            curves, _ = _panels(rows, "measure", "compression_mean", "test_mean")[""]
            panels[str(net)] = (curves, None)
        return panels
    if isinstance(results, Mapping) and "rows" in results:  # pretrain_<model>.json
        rows = results["rows"]
        title = str(rows[0].get("model", "")) if rows else ""
        curves, _ = _panels(rows, "method", _pretrain_ratio, "accuracy_after")[""]
        dense = rows[0].get("dense_accuracy") if rows else None
        return {title: (curves, dense)}
    if isinstance(results, Mapping):  # {method: [(ratio, accuracy), ...]}
        curves = {}
        for name, points in results.items():
            arr = check_array(points, f"results[{name!r}]", ndim=2)
            if arr.shape[1] != 2:
                raise ValueError(
                    f"results[{name!r}] must hold (ratio, accuracy) pairs, got shape {arr.shape}"
                )
            curves[str(name)] = [(float(r), float(a)) for r, a in arr]
        return {"": (curves, None)}
    if isinstance(results, Sequence) and not isinstance(results, str):
        curves = {}
        for i, row in enumerate(results):
            if not isinstance(row, Mapping):
                raise TypeError(f"results[{i}] must be a mapping, got {type(row).__name__}")
            point = [_get(row, ratio, "ratio", i), _get(row, accuracy, "accuracy", i)]
            r, a = check_array(point, f"results[{i}] (ratio, accuracy)", ndim=1)
            curves.setdefault(str(_get(row, method, "method", i)), []).append((r, a))
        return {"": (curves, None)}
    raise TypeError(
        "results must be a results JSON (with 'rows' or 'aggregate'), a list of rows or a dict "
        f"of method -> (ratio, accuracy) pairs, got {type(results).__name__}"
    )


def plot_tradeoff(
    results: Any,
    *,
    method: Key = "method",
    ratio: Key = "ratio",
    accuracy: Key = "accuracy",
    ax: Axes | None = None,
) -> Figure:
    """Accuracy against compression ratio, one curve per method (the survey's trade-off curves).

    Parameters
    ----------
    results : dict or list
        One of

        * a results JSON of the compression experiments, as loaded by :func:`json.load`:
          ``benchmarks/results/pretrain_<model>.json`` (``rows`` with ``method``,
          ``model_params_before / model_params_after`` as the ratio and ``accuracy_after``; the
          dense accuracy drawn as a horizontal line) or
          ``benchmarks/results/sparsity_measures.json`` (``aggregate``: one panel per network,
          one curve per ``measure``, ``compression_mean`` against ``test_mean``);
        * a list of rows (mappings), read with the keys ``method``, ``ratio`` and ``accuracy``,
          e.g. the ``rows`` of ``deep_compression.json`` with ``method="pipeline"`` and
          ``accuracy=lambda row: 1 - row["final_error"]``;
        * a dict ``{method: [(ratio, accuracy), ...]}``.
    method, ratio, accuracy : str or callable
        The row keys (or functions of a row) for a list of rows.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on (a single panel only); by default a new figure.

    Returns
    -------
    matplotlib.figure.Figure
        One line per method and panel (``gid`` ``tradeoff-<method>``), points sorted by ratio,
        on a logarithmic ratio axis; the dense accuracy (when known) has ``gid`` ``dense``.

    Raises
    ------
    TypeError
        If ``results`` has none of the layouts above.
    ValueError
        If a row lacks a key, a value is not finite, or ``ax`` is given for several panels.

    Examples
    --------
    >>> fig = plot_tradeoff({"svd": [(10, 0.97), (30, 0.95)], "tt": [(10, 0.98), (30, 0.97)]})
    >>> [line.get_gid() for line in fig.axes[0].lines]
    ['tradeoff-svd', 'tradeoff-tt']
    """
    panels = _panels(results, method, ratio, accuracy)
    if ax is not None and len(panels) != 1:
        raise ValueError(f"ax: results hold {len(panels)} panels ({sorted(panels)}); omit ax")
    if ax is None:
        fig, axes = _figure(len(panels))
    else:
        fig, axes = ax.figure, [ax]
    for a, (title, (curves, dense)) in zip(axes, panels.items(), strict=True):
        for name, points in curves.items():
            pts = sorted(set(points))
            a.plot(
                [p[0] for p in pts],
                [p[1] for p in pts],
                "o-",
                markersize=4,
                label=name,
                gid=f"tradeoff-{name}",
            )
        if dense is not None:
            a.axhline(dense, color="0.4", linestyle=":", label="dense", gid="dense")
        a.set_xscale("log")
        a.set_xlabel("compression ratio")
        a.set_ylabel("accuracy")
        if title:
            a.set_title(title)
        a.legend(fontsize=8)
    return fig
