"""CompressedModel: exact reload, exact byte accounting, relative indices, corrupted files."""

from __future__ import annotations

import json
import math
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tensornet import nn
from tensornet._io import load_npz, save_npz
from tensornet.compress.artifact import (
    COMPONENTS,
    CompressedModel,
    architecture,
    build_architecture,
    dense_bytes,
)
from tensornet.compress.quantize import kmeans_quantize, quantize_affine
from tensornet.nn.factorized import LowRankConv2d, LowRankLinear, TTLinear

RNG = np.random.default_rng(0)


def _mlp(seed=0):
    return nn.Sequential(
        ("flatten", nn.Flatten()),
        ("fc1", nn.Linear(64, 32, random_state=seed)),
        ("relu", nn.ReLU()),
        ("fc2", nn.Linear(32, 10, random_state=seed + 1)),
    )


def _prune_and_share(model, keep=0.2, bits=4, seed=0):
    """Masks keeping the largest `keep` fraction, k-means codes on the kept entries."""
    masks, quantized = {}, {}
    for name, w in model.params.items():
        if w.ndim < 2:
            continue
        t = np.quantile(np.abs(w), 1 - keep)
        masks[name] = np.abs(w) > t
        q = kmeans_quantize(w, bits, mask=masks[name], random_state=seed)
        quantized[name] = q
        w[...] = q.dequantize()
    return masks, quantized


def _x(n=20, shape=(1, 8, 8)):
    return RNG.standard_normal((n, *shape)).astype(np.float32)


@pytest.mark.parametrize("coding", ["fixed", "huffman"])
@pytest.mark.parametrize("index_bits", [2, 5, "auto"])
def test_saved_artifact_reproduces_predictions_exactly(tmp_path, coding, index_bits):
    model = _mlp()
    masks, quantized = _prune_and_share(model)
    art = CompressedModel.from_model(model, masks, quantized, coding, index_bits)
    loaded = CompressedModel.load(art.save(tmp_path / "m.npz")).to_module()
    x = _x()
    np.testing.assert_array_equal(nn.predict(loaded, x), nn.predict(model, x))
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(loaded.state_dict()[name], value)


def test_affine_per_channel_biases_and_a_conv_net_reload_exactly(tmp_path):
    model = nn.Sequential(
        ("conv", nn.Conv2d(1, 4, 3, padding=1, random_state=0)),
        ("pool", nn.AvgPool2d(2)),
        ("flatten", nn.Flatten()),
        ("fc", nn.Linear(64, 10, random_state=1)),
    )
    quantized = {}
    for name, w in model.params.items():
        q = quantize_affine(w, 6, symmetric=True, axis=0 if w.ndim > 1 else None)
        quantized[name] = q
        w[...] = q.dequantize()
    art = CompressedModel.from_model(model, quantized=quantized, coding="huffman")
    loaded = CompressedModel.load(art.save(tmp_path / "c")).to_module()
    x = _x(4)
    np.testing.assert_array_equal(nn.predict(loaded, x), nn.predict(model, x))


def test_factorized_layers_and_batchnorm_reload_exactly(tmp_path):
    model = nn.Sequential(
        ("conv", LowRankConv2d(1, 4, 3, 2, padding=1, random_state=0)),
        ("bn", nn.BatchNorm2d(4)),
        ("relu", nn.ReLU()),
        ("pool", nn.MaxPool2d(2)),
        ("flatten", nn.Flatten()),
        ("fc1", TTLinear(64, 24, ranks=3, in_modes=(4, 4, 4), out_modes=(2, 3, 4), random_state=1)),
        ("drop", nn.Dropout(0.3)),
        ("fc2", LowRankLinear(24, 10, 4, random_state=2)),
    )
    model.buffers["bn.running_mean"][...] = RNG.standard_normal(4)
    art = CompressedModel.from_model(model, coding="fixed")
    assert art.bytes_per_component()["factors"] > 0
    assert art.bytes_per_component()["other"] > 0  # BatchNorm parameters and statistics
    loaded = CompressedModel.load(art.save(tmp_path / "f")).to_module()
    x = _x(6)
    np.testing.assert_array_equal(nn.predict(loaded, x), nn.predict(model, x))


def test_payload_is_exactly_the_stored_array_bytes_and_components_add_up(tmp_path):
    model = _mlp()
    masks, quantized = _prune_and_share(model)
    art = CompressedModel.from_model(model, masks, quantized, "huffman")
    path = art.save(tmp_path / "m.npz")
    stored, meta = load_npz(path, kind="CompressedModel")
    assert stored["payload"].nbytes == art.payload_bytes == meta["payload_bytes"]
    comp = art.bytes_per_component()
    assert set(COMPONENTS) <= set(comp)
    assert sum(comp[c] for c in COMPONENTS) == comp["total"] == art.payload_bytes
    layers = art.bytes_per_layer()
    assert sorted(layers) == ["fc1", "fc2"]
    assert sum(e["total"] for e in layers.values()) == art.payload_bytes
    assert art.dense_bytes == 4 * (64 * 32 + 32 + 32 * 10 + 10) == dense_bytes(model)
    assert art.compression_ratio == art.dense_bytes / art.payload_bytes


def _gaps_by_hand(mask_flat, bits):
    """Deep Compression's relative indices, one entry at a time (with filler entries)."""
    gaps, last = [], -1
    top = 2**bits - 1
    for pos in np.flatnonzero(mask_flat):
        gap = pos - last - 1
        while gap > top:
            gaps.append(top)
            gap -= top + 1
        gaps.append(gap)
        last = pos
    return gaps


@settings(max_examples=30)
@given(st.integers(1, 6), st.floats(0.01, 0.9), st.integers(0, 2**16))
def test_fixed_width_bytes_equal_the_deep_compression_count(bits, keep, seed):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((13, 11)).astype(np.float32)
    mask = rng.random(w.shape) < keep
    w[~mask] = 0
    model = nn.Sequential(("fc", nn.Linear(13, 11, random_state=0)))
    model.params["fc.weight"][...] = w
    q = kmeans_quantize(w, 3, mask=mask)
    model.params["fc.weight"][...] = q.dequantize()
    art = CompressedModel.from_model(model, {"fc.weight": mask}, {"fc.weight": q}, "fixed", bits)
    n_entries = len(_gaps_by_hand(mask.reshape(-1), bits))
    parts = art.bytes_per_array()["fc.weight"]
    assert parts.get("indices", 0) == math.ceil(n_entries * bits / 8)
    assert parts["weights"] == math.ceil(n_entries * 3 / 8)
    assert parts["codebooks"] == 4 * q.codebook.size
    rec = art.records[1] if art.records[1].name == "fc.weight" else art.records[0]
    assert rec.n_entries == n_entries and rec.n_filler == n_entries - int(mask.sum())
    np.testing.assert_array_equal(art.state_dict()["fc.weight"], model.params["fc.weight"])


def test_overflowing_gaps_use_fillers_and_round_trip():
    model = nn.Sequential(("fc", nn.Linear(40, 30, random_state=0)))
    w = model.params["fc.weight"]
    mask = np.zeros(w.shape, dtype=bool)
    mask.reshape(-1)[[0, 1, 500, 1199]] = True  # gaps 0, 0, 498, 698
    w[~mask] = 0
    art = CompressedModel.from_model(model, {"fc.weight": mask}, coding="fixed", index_bits=3)
    rec = next(r for r in art.records if r.name == "fc.weight")
    assert rec.n_filler == 498 // 8 + 698 // 8
    np.testing.assert_array_equal(art.state_dict()["fc.weight"], w)


def test_architecture_round_trip_and_unsupported_layer():
    model = nn.lenet5(random_state=0)
    desc = architecture(model)
    json.dumps(desc)
    rebuilt = build_architecture(desc)
    assert {k: v.shape for k, v in rebuilt.params.items()} == {
        k: v.shape for k, v in model.params.items()
    }

    class Custom(nn.Module):
        pass

    with pytest.raises(TypeError, match=r"model\.odd is a Custom, which a CompressedModel"):
        architecture(nn.Sequential(("odd", Custom())))


# ------------------------------------------------------------------------------ bad files
def _saved(tmp_path):
    model = _mlp()
    masks, quantized = _prune_and_share(model)
    return CompressedModel.from_model(model, masks, quantized, "huffman").save(tmp_path / "m.npz")


def test_a_flipped_payload_byte_is_reported_as_corruption(tmp_path):
    path = _saved(tmp_path)
    arrays, meta = load_npz(path)
    payload = arrays["payload"].copy()
    payload[len(payload) // 2] ^= 0x10
    save_npz(path, {"payload": payload}, meta)
    with pytest.raises(ValueError, match="payload is corrupted"):
        CompressedModel.load(path)


def test_a_truncated_file_is_refused(tmp_path):
    path = _saved(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="not a readable tensornet file"):
        CompressedModel.load(path)


def test_a_lying_header_is_refused(tmp_path):
    path = _saved(tmp_path)
    arrays, meta = load_npz(path)
    meta["arrays"][0][3] = 7  # an offset that leaves a hole
    save_npz(path, arrays, meta)
    with pytest.raises(ValueError, match="malformed payload table"):
        CompressedModel.load(path)
    arrays, meta = load_npz(_saved(tmp_path))
    rec = next(r for r in meta["records"] if r["streams"].get("codes"))
    rec["streams"]["codes"]["n_symbols"] += 3
    save_npz(path, arrays, meta)
    with pytest.raises(ValueError, match="does not parse|inconsistent|codes for"):
        CompressedModel.load(path)


def test_another_kind_of_file_is_refused(tmp_path):
    path = nn.save_checkpoint(tmp_path / "ck.npz", _mlp())
    with pytest.raises(ValueError, match="not a 'CompressedModel'"):
        CompressedModel.load(path)
    with zipfile.ZipFile(tmp_path / "z.npz", "w") as z:
        z.writestr("junk.txt", "hello")
    with pytest.raises(ValueError, match="not a readable tensornet file"):
        CompressedModel.load(tmp_path / "z.npz")
