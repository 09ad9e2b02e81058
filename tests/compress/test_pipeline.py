"""pipeline(): steps in order, constraints kept through fine-tuning, the artifact it returns."""

from __future__ import annotations

import numpy as np
import pytest

from tensornet import nn
from tensornet.compress.artifact import CompressedModel
from tensornet.compress.pipeline import pipeline

RNG = np.random.default_rng(0)
X = RNG.standard_normal((240, 1, 4, 4)).astype(np.float32)
Y = (X.reshape(240, -1)[:, :4].argmax(axis=1)).astype(np.int64)  # a learnable rule
DATA = (X[:200], Y[:200])
TEST = (X[200:], Y[200:])
FT = {"epochs": 2, "lr": 0.01, "batch_size": 50}


def _net(seed=0):
    return nn.Sequential(
        ("flatten", nn.Flatten()),
        ("fc1", nn.Linear(16, 24, random_state=seed)),
        ("relu", nn.ReLU()),
        ("fc2", nn.Linear(24, 4, random_state=seed + 1)),
    )


def _trained():
    model = _net()
    opt = nn.Adam(model.params, lr=0.01)
    nn.fit(model, nn.cross_entropy, opt, DATA, epochs=5, batch_size=50, random_state=0)
    return model


MODEL = _trained()


def test_pruned_weights_stay_zero_through_fine_tuning_and_the_input_model_is_unchanged():
    before = MODEL.state_dict()
    steps = [
        {"step": "prune", "sparsity": 0.5},
        {"step": "prune", "sparsity": 0.8},
        {"step": "fine_tune", "epochs": 2, "lr": 0.05},
    ]
    art = pipeline(MODEL, steps, fine_tune=FT, data=DATA, random_state=0)
    for name in ("fc1.weight", "fc2.weight"):
        w = art.module.params[name]
        assert np.count_nonzero(w) == round(0.2 * w.size)
        # the second prune only removes survivors of the first: zero where the dense was small
        small = np.abs(before[name]) <= np.quantile(np.abs(before[name]), 0.5)
        assert not w[small].any()
    for key, value in MODEL.state_dict().items():
        np.testing.assert_array_equal(value, before[key])


def test_kmeans_fine_tuning_moves_the_centroids_and_keeps_the_codes():
    steps = [
        {"step": "prune", "sparsity": 0.5, "fine_tune": False},
        {"step": "quantize", "method": "kmeans", "bits": 3, "fine_tune": False},
    ]
    fixed = pipeline(MODEL, steps, random_state=0)
    tuned_steps = [dict(s) for s in steps]
    tuned_steps[1]["fine_tune"] = {"epochs": 2, "lr": 0.01}
    tuned = pipeline(MODEL, tuned_steps, data=DATA, random_state=0)
    for name in ("fc1.weight", "fc2.weight"):
        w0, w1 = fixed.module.params[name], tuned.module.params[name]
        np.testing.assert_array_equal(w0 == 0, w1 == 0)  # same pruned set
        assert len(np.unique(w1)) <= 2**3  # codebook values only (zero included)
        assert not np.array_equal(np.unique(w0), np.unique(w1))  # the centroids moved
        # same clustering: entries sharing a centroid before still share one after
        _, c0 = np.unique(w0, return_inverse=True)
        _, c1 = np.unique(w1, return_inverse=True)
        pairs = set(zip(c0.ravel().tolist(), c1.ravel().tolist(), strict=True))
        assert len(pairs) == len(np.unique(c0))


def test_affine_quantization_with_qat_keeps_values_on_the_grid():
    steps = [{"step": "quantize", "method": "affine", "bits": 4, "bias_bits": 8}]
    art = pipeline(MODEL, steps, fine_tune=FT, data=DATA, random_state=0)
    for name, w in art.module.params.items():
        assert len(np.unique(w)) <= (2**4 if w.ndim == 2 else 2**8)
    kinds = {r.name: r.values for r in art.records}
    assert kinds == dict.fromkeys(kinds, "affine")


def test_full_pipeline_artifact_reloads_with_identical_predictions(tmp_path):
    steps = [
        {"step": "decompose", "method": "svd", "ranks": {"fc1": 4}},
        {"step": "prune", "sparsity": 0.5},
        {"step": "quantize", "method": "kmeans", "bits": 4, "bias_bits": 8},
        {"step": "encode", "coding": "huffman", "index_bits": "auto"},
    ]
    ft = dict(FT, distill=True, temperature=2.0, alpha=0.5)
    art = pipeline(MODEL, steps, fine_tune=ft, data=DATA, eval_data=TEST, random_state=0)
    assert [s["step"].split()[0] for s in art.stages] == [
        "dense",
        "decompose",
        "prune",
        "quantize",
        "encode",
    ]
    assert "distill 2 ep" in art.stages[1]["step"]
    ratios = [s["ratio"] for s in art.stages]
    assert ratios[0] == 1.0 and ratios == sorted(ratios)  # every stage shrinks the payload
    assert all(0 <= s["error"] <= 1 for s in art.stages)
    assert art.stages[-1]["payload_bytes"] == art.payload_bytes
    loaded = CompressedModel.load(art.save(tmp_path / "p.npz"))
    assert loaded.stages == art.stages
    np.testing.assert_array_equal(
        nn.predict(loaded.to_module(), TEST[0]), nn.predict(art.module, TEST[0])
    )
    assert "factors" in loaded.report() and "ratio" in loaded.report()


def test_the_same_seed_gives_the_same_artifact():
    steps = [
        {"step": "prune", "quality": 0.5},
        {"step": "quantize", "bits": 3},
        {"step": "encode"},
    ]
    a = pipeline(MODEL, steps, fine_tune=FT, data=DATA, random_state=3)
    b = pipeline(MODEL, steps, fine_tune=FT, data=DATA, random_state=3)
    assert a.arrays.keys() == b.arrays.keys()
    for key in a.arrays:
        np.testing.assert_array_equal(a.arrays[key], b.arrays[key])


@pytest.mark.parametrize(
    "steps, exc, match",
    [
        ("prune", TypeError, "steps must be a list of dicts"),
        ([{"step": "shrink"}], ValueError, r"steps\[0\]\['step'\]='shrink' must be one of"),
        ([{"step": "prune", "amount": 1}], ValueError, r"unknown keys \['amount'\]"),
        (
            [{"step": "quantize"}, {"step": "prune", "sparsity": 0.5}],
            ValueError,
            "prune must come before quantize",
        ),
        (
            [{"step": "prune", "sparsity": 0.5}, {"step": "decompose", "method": "svd"}],
            ValueError,
            "decompose must come before",
        ),
        ([{"step": "encode"}, {"step": "quantize"}], ValueError, "encode must be the last"),
        ([{"step": "encode", "coding": "zip"}], ValueError, "coding'\\]='zip' must be one of"),
        ([{"step": "fine_tune", "epochs": 1}], ValueError, "data=\\(x, y\\)"),
        ([{"step": "quantize", "bits": 40}], ValueError, "bits"),
    ],
)
def test_bad_pipelines_are_refused_with_a_named_reason(steps, exc, match):
    with pytest.raises(exc, match=match):
        pipeline(MODEL, steps)
