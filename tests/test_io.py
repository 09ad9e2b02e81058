"""Safe storage (tensornet/_io.py): exact round trip, atomic write, no pickle, clear errors."""

import json
import re
import zipfile

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tensornet._io import load_npz, save_npz
from tensornet.formats import StructuredTensor
from tensornet.testing import random_array, seeds, shapes


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


def test_metadata_record_is_utf8_bytes_one_byte_per_ascii_character(tmp_path):
    meta = {"kind": "K", "note": "x" * 1000, "name": "Tür"}
    path = save_npz(tmp_path / "a.npz", {"a": np.ones(2)}, meta)
    with np.load(path) as data:
        record = data["__tensornet_meta__"]
    text = json.dumps(dict(meta, file_version=1), sort_keys=True)
    assert record.dtype == np.uint8
    assert record.nbytes == len(text.encode("utf-8")) < 4 * len(text)
    assert load_npz(path)[1]["name"] == "Tür"


def test_file_with_a_unicode_scalar_record_still_loads(tmp_path):
    path = _raw_file(
        tmp_path / "old.npz", json.dumps({"kind": "K", "file_version": 1}), a=np.ones(3)
    )
    arrays, meta = load_npz(path, kind="K")
    assert meta["kind"] == "K" and np.array_equal(arrays["a"], np.ones(3))


def test_record_of_another_dtype_is_a_value_error_naming_it(tmp_path):
    path = tmp_path / "odd.npz"
    np.savez(path, __tensornet_meta__=np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"odd\.npz.*metadata record has dtype float64"):
        load_npz(path)


# --------------------------------------------------------------------------------------------
# files that claim sizes, types and versions they do not have (built here)
# --------------------------------------------------------------------------------------------


def _raw_file(path, meta_text, **arrays):
    """A tensornet-looking npz whose metadata record is ``meta_text`` verbatim."""
    np.savez(path, __tensornet_meta__=np.array(meta_text), **arrays)
    return path


def _meta(**fields):
    return json.dumps({"kind": "TTTensor", "file_version": 1, **fields})


def test_npz_member_announcing_a_huge_shape_is_refused_before_allocating(tmp_path):
    import io
    import zipfile

    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (1, 2**45, 1)}
    )
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("core_0.npy", header.getvalue() + bytes(8))
        meta = io.BytesIO()
        np.save(meta, np.array(_meta(n_cores=1, shape=[2**45])))
        archive.writestr("__tensornet_meta__.npy", meta.getvalue())
    for load in (load_npz, StructuredTensor.load):
        with pytest.raises(ValueError, match=r"bomb\.npz.*core_0\.npy.*declares shape"):
            load(path)


def test_deeply_nested_metadata_is_a_value_error_naming_the_file(tmp_path):
    deep = '{"kind": "TTTensor", "file_version": 1, "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    path = _raw_file(tmp_path / "deep.npz", deep)
    with pytest.raises(ValueError, match=r"deep\.npz"):
        load_npz(path)


@pytest.mark.parametrize("version", [None, 0, 2, "1", 1.0, True])
def test_file_version_is_checked(tmp_path, version):
    fields = {"kind": "Thing"} if version is None else {"kind": "Thing", "file_version": version}
    path = _raw_file(tmp_path / "v.npz", json.dumps(fields))
    with pytest.raises(ValueError, match=r"v\.npz has file_version"):
        load_npz(path)


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"n_cores": 1e999, "shape": [2, 2]}, "corrupt TTTensor"),
        ({"n_cores": "two", "shape": [2, 2]}, "corrupt TTTensor"),
        ({"n_cores": 2, "shape": 5}, "shape=5"),
        ({"n_cores": 2, "shape": [2, -2]}, "corrupt TTTensor"),
        ({"kind": ["TTTensor"], "n_cores": 2, "shape": [2, 2]}, "no 'kind' name"),
        ({"kind": "NoSuchFormat", "shape": [2, 2]}, "unknown tensor format"),
    ],
)
def test_structured_tensor_load_refuses_bad_metadata_naming_the_file(tmp_path, fields, fragment):
    meta = {"kind": "TTTensor", "file_version": 1, **fields}
    path = _raw_file(
        tmp_path / "m.npz",
        json.dumps(meta),
        core_0=np.ones((1, 2, 1)),
        core_1=np.ones((1, 2, 1)),
    )
    with pytest.raises(ValueError, match=rf"m\.npz.*{re.escape(fragment)}"):
        StructuredTensor.load(path)


def test_ht_file_claiming_orthonormal_bases_is_verified(tmp_path):
    from tensornet import HTTensor, ht_svd

    x = np.random.default_rng(0).standard_normal((3, 4, 5))
    good = ht_svd(x, ranks=2)
    assert good.orthonormal
    assert HTTensor.load(good.save(tmp_path / "good")).norm() == pytest.approx(good.norm())
    fake = HTTensor(good.tree, [2.0 * u for u in good.leaves], good.transfers, orthonormal=False)
    arrays, meta = fake._arrays(), {**fake._metadata(), "orthonormal": True}
    path = save_npz(tmp_path / "fake", arrays, {"kind": "HTTensor", "shape": [3, 4, 5], **meta})
    with pytest.raises(ValueError, match=r"fake\.npz.*claims orthonormal=true"):
        StructuredTensor.load(path)
