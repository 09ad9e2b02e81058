"""plot_spectrum, plot_history and plot_tradeoff: one line per series, the kept rank where the
truncation rule puts it, the results JSON of the compression experiments read as recorded."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tensornet.algebra import unfold
from tensornet.nn.train import History
from tensornet.plot.curves import plot_history, plot_spectrum, plot_tradeoff
from tests.plot.artists import lines

RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results"


# ------------------------------------------------------------------------------ spectrum
def test_spectrum_line_holds_the_singular_values_of_the_unfolding():
    x = np.random.default_rng(0).standard_normal((3, 4, 5))
    fig = plot_spectrum(x, mode=1)
    (line,) = fig.axes[0].lines
    assert line.get_gid() == "spectrum-1"
    np.testing.assert_allclose(line.get_ydata(), np.linalg.svd(unfold(x, 1), compute_uv=False))
    np.testing.assert_array_equal(line.get_xdata(), [1, 2, 3, 4])


def test_spectrum_marks_the_given_rank_between_s_r_and_s_r_plus_1():
    fig = plot_spectrum(np.diag([4.0, 3.0, 2.0, 1.0]), rank=2)
    assert lines(fig) == ["spectrum-0", "kept-rank-0"]
    assert fig.axes[0].lines[1].get_xdata()[0] == 2.5
    # the legend reports the relative error sqrt(2^2 + 1^2) / sqrt(30)
    assert f"{np.sqrt(5 / 30):.2g}" in fig.axes[0].get_legend().texts[1].get_text()


def test_spectrum_eps_marks_the_smallest_rank_within_eps():
    # tails: r=1 -> sqrt(9+4+1)/sqrt(30) = 0.68, r=2 -> 0.41, r=3 -> 0.18
    fig = plot_spectrum(np.diag([4.0, 3.0, 2.0, 1.0]), eps=0.3)
    assert fig.axes[0].lines[1].get_xdata()[0] == 3.5


def test_spectrum_of_every_mode_one_curve_and_one_mark_each():
    x = np.random.default_rng(1).standard_normal((3, 4, 5))
    fig = plot_spectrum(x, mode=None, rank=[1, 2, 3])
    assert sorted(lines(fig)) == sorted(
        ["spectrum-0", "spectrum-1", "spectrum-2", "kept-rank-0", "kept-rank-1", "kept-rank-2"]
    )


def test_spectrum_refuses_rank_beyond_the_singular_values_and_rank_with_eps():
    with pytest.raises(ValueError, match="rank=4 exceeds the 3 singular values"):
        plot_spectrum(np.ones((3, 5)), rank=4)
    with pytest.raises(ValueError, match="rank or eps, not both"):
        plot_spectrum(np.ones((3, 5)), rank=1, eps=0.1)


# ------------------------------------------------------------------------------ history
def test_history_of_fit_one_line_per_series_per_panel():
    h = History()
    for e in range(3):
        h.append(
            {
                "loss": 1.0 / (e + 1),
                "accuracy": 0.5 + 0.1 * e,
                "val_loss": 0.9 - 0.1 * e,
                "val_accuracy": 0.6 + 0.1 * e,
                "lr": 0.1,
                "seconds": 1.0,
            }
        )
    fig = plot_history(h)
    assert [[line.get_gid() for line in a.lines] for a in fig.axes] == [
        ["loss", "val_loss"],
        ["accuracy", "val_accuracy"],
    ]
    np.testing.assert_allclose(fig.axes[0].lines[0].get_ydata(), h["loss"])
    np.testing.assert_array_equal(fig.axes[0].lines[0].get_xdata(), [1, 2, 3])


def test_history_metrics_select_the_panels():
    fig = plot_history({"loss": [1.0, 0.5], "lr": [0.1, 0.05]}, metrics=["lr"])
    assert lines(fig) == ["lr"]


def test_history_refuses_unrecorded_metric():
    with pytest.raises(ValueError, match="'accuracy' is not recorded"):
        plot_history({"loss": [1.0]}, metrics=["accuracy"])


def test_history_of_the_train_lenet_page():
    path = Path(__file__).resolve().parents[2] / "docs" / "data"
    record = json.loads((path / "train_lenet300_100_history.json").read_text())
    fig = plot_history(record["history"])
    assert lines(fig) == ["loss", "val_loss", "accuracy", "val_accuracy"]
    assert len(fig.axes[1].lines[1].get_xdata()) == record["protocol"]["epochs"]


# ------------------------------------------------------------------------------ tradeoff
def test_tradeoff_of_method_points_one_sorted_line_per_method():
    fig = plot_tradeoff({"svd": [(30, 0.9), (10, 0.97)], "tt": [(10, 0.98)]})
    svd, tt = fig.axes[0].lines
    assert (svd.get_gid(), tt.get_gid()) == ("tradeoff-svd", "tradeoff-tt")
    np.testing.assert_array_equal(svd.get_xdata(), [10, 30])
    np.testing.assert_array_equal(svd.get_ydata(), [0.97, 0.9])


def test_tradeoff_of_rows_with_keys_and_callables():
    rows = [
        {"m": "a", "before": 100, "after": 10, "acc": 0.9},
        {"m": "a", "before": 100, "after": 50, "acc": 0.95},
        {"m": "b", "before": 100, "after": 20, "acc": 0.8},
    ]
    fig = plot_tradeoff(rows, method="m", ratio=lambda r: r["before"] / r["after"], accuracy="acc")
    assert lines(fig) == ["tradeoff-a", "tradeoff-b"]
    np.testing.assert_array_equal(fig.axes[0].lines[0].get_xdata(), [2.0, 10.0])


def test_tradeoff_of_the_pretrain_results_json():
    record = json.loads((RESULTS / "pretrain_lenet300_100.json").read_text())
    fig = plot_tradeoff(record)
    methods = list(dict.fromkeys(row["method"] for row in record["rows"]))
    assert lines(fig) == [f"tradeoff-{m}" for m in methods] + ["dense"]
    row = record["rows"][0]
    line = fig.axes[0].lines[methods.index(row["method"])]
    ratio = row["model_params_before"] / row["model_params_after"]
    assert (ratio, row["accuracy_after"]) in zip(line.get_xdata(), line.get_ydata(), strict=True)


def test_tradeoff_of_the_sparsity_measures_json_one_panel_per_network():
    record = json.loads((RESULTS / "sparsity_measures.json").read_text())
    fig = plot_tradeoff(record)
    assert [a.get_title() for a in fig.axes] == list(record["aggregate"])
    for ax, rows in zip(fig.axes, record["aggregate"].values(), strict=True):
        measures = list(dict.fromkeys(row["measure"] for row in rows))
        assert [line.get_gid() for line in ax.lines] == [f"tradeoff-{m}" for m in measures]


def test_tradeoff_refuses_a_row_without_the_key():
    with pytest.raises(ValueError, match="results row 0 has no accuracy key 'accuracy'"):
        plot_tradeoff([{"method": "a", "ratio": 2.0}])
