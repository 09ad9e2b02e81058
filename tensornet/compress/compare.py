"""Decompose one trained model with several formats, fine-tune each, and tabulate the outcome.

The workflow of survey Sec. II-A ("pre-train"): a trained network is factorized layer by layer
(:func:`~tensornet.compress.decompose.decompose`), which costs accuracy, and a short fine-tuning
recovers most of it. :func:`compare_methods` runs that for a list of formats on the same
trained model and :func:`format_comparison` prints the table the ``tensornet demo`` shows:
method, ranks, parameters, compression ratio, accuracy before and after fine-tuning.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..nn.losses import cross_entropy
from ..nn.module import Module
from ..nn.optim import Adam, CosineLR
from ..nn.train import evaluate, fit
from .decompose import decompose

__all__ = ["MethodConfig", "DEMO_CONFIGS", "compare_methods", "format_comparison"]


@dataclass(frozen=True)
class MethodConfig:
    """One row of the comparison: a label, a format, and the :func:`decompose` arguments.

    Attributes
    ----------
    label : str
        Row name in the table.
    method : str or type
        The ``method`` of :func:`~tensornet.compress.decompose.decompose`.
    options : dict
        Further keyword arguments of ``decompose`` (``budget``, ``ranks``, ``layers``, ...).
    """

    label: str
    method: Any
    options: dict[str, Any] = field(default_factory=dict)


#: The formats ``tensornet demo`` tries on LeNet-300-100: every one at the same budget of 1/10 of
#: the parameters of ``fc1`` and ``fc2`` (``fc3``, 1,010 parameters, stays dense), ranks chosen
#: by the budget minimax so no layer carries most of the error. BTD is left out: its ALS conversion
#: is too slow at the ranks this budget allows.
DEMO_CONFIGS: tuple[MethodConfig, ...] = tuple(
    MethodConfig(name, name, {"budget": 0.1, "layers": ["fc1", "fc2"]})
    for name in ("svd", "tt", "tr", "ht", "kpd")
)


def _ranks_text(report: Any) -> str:
    parts = []
    for layer in report.layers:
        r = layer.ranks
        text = str(int(r)) if np.ndim(r) == 0 else "-".join(str(int(v)) for v in np.ravel(r))
        parts.append(f"{layer.name}:{text}")
    return " ".join(parts)


def compare_methods(
    model: Module,
    train_data: tuple[np.ndarray, np.ndarray],
    test_data: tuple[np.ndarray, np.ndarray],
    configs: Sequence[MethodConfig] = DEMO_CONFIGS,
    epochs: int = 2,
    batch_size: int = 128,
    lr: float = 5e-3,
    random_state: int = 0,
    echo: Callable[[str], Any] | None = None,
) -> list[dict[str, Any]]:
    """Decompose ``model`` with each config, fine-tune briefly, and measure test accuracy.

    Parameters
    ----------
    model : Module
        The trained dense model (left unchanged).
    train_data, test_data : (x, y)
        Fine-tuning and evaluation data.
    configs : sequence of MethodConfig
        The formats to try. A format whose layer classes this install lacks is skipped (noted
        in the returned rows with ``"skipped"``).
    epochs : int
        Fine-tuning epochs (Adam with a cosine schedule: a TT-SVD leaves orthonormal cores next
        to one core holding the whole norm, a scaling plain SGD handles badly).
    batch_size : int
        Fine-tuning batch size.
    lr : float
        Peak learning rate of the fine-tuning.
    random_state : int
        Seeds the decompositions and the batch order.
    echo : callable, optional
        Receives one progress line per format.

    Returns
    -------
    list of dict
        One dict per config: ``method``, ``ranks``, ``params``, ``compression`` (whole model),
        ``accuracy_before``, ``accuracy_after``, ``seconds``, ``report`` (the
        :class:`~tensornet.compress.decompose.DecompositionReport` as a dict); the first row
        describes the dense model. Skipped formats carry ``skipped`` (the reason).
    """
    import time

    dense_acc = evaluate(model, test_data)["accuracy"]
    rows: list[dict[str, Any]] = [
        {
            "method": "dense",
            "ranks": "-",
            "params": model.n_params,
            "compression": 1.0,
            "accuracy_before": dense_acc,
            "accuracy_after": dense_acc,
        }
    ]
    for config in configs:
        start = time.perf_counter()
        try:
            small, report = decompose(
                model, config.method, random_state=random_state, **config.options
            )
        except ImportError as exc:
            rows.append({"method": config.label, "skipped": str(exc)})
            continue
        before = evaluate(small, test_data)["accuracy"]
        optimizer = Adam(small.params, lr=lr, schedule=CosineLR(epochs))
        fit(
            small,
            cross_entropy,
            optimizer,
            train_data,
            epochs=epochs,
            batch_size=batch_size,
            random_state=random_state,
            progress=False,
        )
        after = evaluate(small, test_data)["accuracy"]
        row = {
            "method": config.label,
            "ranks": _ranks_text(report),
            "params": small.n_params,
            "compression": model.n_params / small.n_params,
            "accuracy_before": before,
            "accuracy_after": after,
            "seconds": time.perf_counter() - start,
            "report": report.as_dict(),
        }
        rows.append(row)
        if echo is not None:
            echo(
                f"  {config.label}: {row['params']:,} parameters, "
                f"{100 * before:.2f}% -> {100 * after:.2f}% after {epochs} epoch(s)"
            )
    return rows


def format_comparison(rows: Sequence[dict[str, Any]]) -> str:
    """The table of :func:`compare_methods` rows as plain text.

    Parameters
    ----------
    rows : sequence of dict
        As returned by :func:`compare_methods`.

    Returns
    -------
    str
    """
    done = [r for r in rows if "skipped" not in r]
    width = max([len("ranks")] + [len(str(r["ranks"])) for r in done])
    head = (
        f"{'method':<8} {'ranks':<{width}} {'params':>9} {'ratio':>6} "
        f"{'acc before':>10} {'acc after':>10}"
    )
    lines = [head, "-" * len(head)]
    for r in done:
        lines.append(
            f"{r['method']:<8} {r['ranks']:<{width}} {r['params']:>9,} "
            f"{r['compression']:>5.1f}x {100 * r['accuracy_before']:>9.2f}% "
            f"{100 * r['accuracy_after']:>9.2f}%"
        )
    skipped = [r["method"] for r in rows if "skipped" in r]
    if skipped:
        lines.append(f"(not available in this install: {', '.join(skipped)})")
    return "\n".join(lines)
