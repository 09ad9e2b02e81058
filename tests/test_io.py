"""Safe storage (tensornet/_io.py): exact round trip, atomic write, no pickle, clear errors."""

import json
import zipfile

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tensornet._io import load_npz, save_npz
from tests.strategies import random_array, seeds, shapes


@given(shapes(), seeds(), st.sampled_from([np.float64, np.float32, np.int64]))
def test_save_load_round_trip_is_exact(tmp_path_factory, shape, seed, dtype):
    path = tmp_path_factory.mktemp("io") / "t.npz"
    arrays = {"a": random_array(shape, seed).astype(dtype), "b": np.arange(3)}
    meta = {"kind": "Thing", "ranks": [1, 2], "note": "é"}
    save_npz(path, arrays, meta)
    loaded, got_meta = load_npz(path, kind="Thing")
    assert set(loaded) == {"a", "b"}
    for k, v in arrays.items():
        assert loaded[k].dtype == v.dtype
        np.testing.assert_array_equal(loaded[k], v)
    assert got_meta["ranks"] == [1, 2] and got_meta["note"] == "é"
    assert got_meta["file_version"] == 1


def test_save_appends_suffix_and_leaves_no_temporary_file(tmp_path):
    written = save_npz(tmp_path / "model", {"a": np.ones(2)}, {"kind": "K"})
    assert written == tmp_path / "model.npz"
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]


def test_save_overwrites_atomically(tmp_path):
    path = tmp_path / "m.npz"
    save_npz(path, {"a": np.ones(2)}, {"kind": "K"})
    save_npz(path, {"a": np.zeros(3)}, {"kind": "K"})
    arrays, _ = load_npz(path)
    np.testing.assert_array_equal(arrays["a"], np.zeros(3))


def test_save_refuses_bad_payloads(tmp_path):
    with pytest.raises(ValueError, match="must name the stored object under 'kind'"):
        save_npz(tmp_path / "a.npz", {"a": np.ones(2)}, {})
    with pytest.raises(TypeError, match="array 'a' has dtype object"):
        save_npz(tmp_path / "a.npz", {"a": np.array([{}, 1], dtype=object)}, {"kind": "K"})
    with pytest.raises(ValueError, match="is reserved"):
        save_npz(tmp_path / "a.npz", {"__tensornet_meta__": np.ones(1)}, {"kind": "K"})
    assert list(tmp_path.iterdir()) == []


def test_load_refuses_wrong_kind(tmp_path):
    path = save_npz(tmp_path / "a.npz", {"a": np.ones(2)}, {"kind": "TTTensor"})
    with pytest.raises(ValueError, match="holds a 'TTTensor', not a 'CPTensor'"):
        load_npz(path, kind="CPTensor")


def test_load_refuses_truncated_file(tmp_path):
    path = save_npz(tmp_path / "a.npz", {"a": np.ones(1000)}, {"kind": "K"})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="is not a readable tensornet file"):
        load_npz(path)


def test_load_refuses_foreign_npz_and_non_npz_files(tmp_path):
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, a=np.ones(2))
    with pytest.raises(ValueError, match="no tensornet metadata record"):
        load_npz(foreign)
    npy = tmp_path / "plain.npz"
    with open(npy, "wb") as fh:
        np.save(fh, np.ones(3))
    with pytest.raises(ValueError, match="not an npz archive"):
        load_npz(npy)
    text = tmp_path / "text.npz"
    text.write_text("hello")
    with pytest.raises(ValueError, match="is not a readable tensornet file"):
        load_npz(text)


def test_load_never_unpickles(tmp_path):
    path = tmp_path / "pickled.npz"
    meta = json.dumps({"kind": "K"})
    np.savez(path, a=np.array([{"x": 1}], dtype=object), __tensornet_meta__=np.array(meta))
    with pytest.raises(ValueError, match="is not a readable tensornet file"):
        load_npz(path)


def test_load_refuses_metadata_without_kind(tmp_path):
    path = tmp_path / "nokind.npz"
    np.savez(path, a=np.ones(2), __tensornet_meta__=np.array(json.dumps({"x": 1})))
    with pytest.raises(ValueError, match="metadata has no 'kind'"):
        load_npz(path)
    bad_json = tmp_path / "badjson.npz"
    np.savez(bad_json, __tensornet_meta__=np.array("{not json"))
    with pytest.raises(ValueError, match="is not a readable tensornet file"):
        load_npz(bad_json)


def test_load_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_npz(tmp_path / "missing.npz")


def test_saved_file_is_a_plain_zip_with_json_record(tmp_path):
    path = save_npz(tmp_path / "a.npz", {"a": np.ones(2)}, {"kind": "K"})
    with zipfile.ZipFile(path) as zf:
        assert sorted(zf.namelist()) == ["__tensornet_meta__.npy", "a.npy"]
