"""Tests of tensornet/compress/compare.py: decompose, fine-tune and tabulate."""

import numpy as np

from tensornet.compress.compare import MethodConfig, compare_methods, format_comparison
from tensornet.nn import SGD, cross_entropy, fit, lenet300_100
from tests.compress.fakes import TwoFactorLinear


def _blobs(n, seed):
    """Ten well separated classes in 784 dimensions (a task a linear model solves)."""
    rng = np.random.default_rng(seed)
    centers = np.random.default_rng(123).standard_normal((10, 784)).astype(np.float32)
    y = rng.integers(0, 10, n)
    x = centers[y] + 0.5 * rng.standard_normal((n, 784)).astype(np.float32)
    return x.reshape(n, 1, 28, 28), y


def test_compare_methods_rows_and_table():
    train, test = _blobs(512, 0), _blobs(256, 1)
    model = lenet300_100(random_state=0)
    fit(model, cross_entropy, SGD(model.params, lr=0.05), train, epochs=2, progress=False)
    configs = [
        MethodConfig("lowrank", TwoFactorLinear, {"ranks": 8, "layers": ["fc1", "fc2"]}),
        MethodConfig("tiny", TwoFactorLinear, {"budget": 0.05, "layers": ["fc1"]}),
    ]
    rows = compare_methods(model, train, test, configs=configs, epochs=1)
    assert [r["method"] for r in rows] == ["dense", "lowrank", "tiny"]
    dense, low, tiny = rows
    assert dense["accuracy_before"] > 0.9
    assert low["params"] == model.n_params - (784 * 300 + 300 * 100) + 8 * (784 + 300 + 300 + 100)
    assert np.isclose(low["compression"], model.n_params / low["params"])
    assert low["ranks"] == "fc1:8 fc2:8"
    assert tiny["report"]["layers"][0]["params_after"] <= 0.05 * (784 * 300 + 300)
    assert low["accuracy_after"] >= low["accuracy_before"] - 0.05
    table = format_comparison(rows + [{"method": "tt", "skipped": "no TTLinear"}])
    assert "lowrank" in table and "fc1:8 fc2:8" in table
    assert "not available in this install: tt" in table
