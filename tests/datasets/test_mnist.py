"""Tests of tensornet.datasets.mnist against tiny IDX files written here (and the real MNIST
when ``../shared/data/mnist`` exists next to the checkout)."""

import gzip
import hashlib
import importlib.util
import json
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tensornet.datasets import (
    DownloadError,
    download_mnist,
    find_mnist,
    load_mnist,
    load_mnist_subset,
    read_idx,
    subset_provenance,
)
from tensornet.datasets import mnist as mnist_mod
from tensornet.testing import seeds, shapes

REPO = Path(__file__).resolve().parents[2]
REAL_MNIST = REPO.parent / "shared" / "data" / "mnist"
BUNDLED = REPO / "tensornet" / "datasets" / "data"
NAMES = mnist_mod.MNIST_FILES
REAL_URLOPEN = urllib.request.urlopen  # saved before any test replaces it

# IDX type codes and the big-endian dtypes they denote, written independently of the reader.
TYPE_CODES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


# --------------------------------------------------------------------------------------------
# helpers writing IDX files
# --------------------------------------------------------------------------------------------


def idx_content(data, type_code=0x08, dims=None):
    """IDX bytes for ``data``: magic 0x0000TTNN, big-endian dims, big-endian elements."""
    data = np.asarray(data)
    dims = data.shape if dims is None else dims
    header = bytes([0, 0, type_code, len(dims)])
    header += b"".join(int(d).to_bytes(4, "big") for d in dims)
    return header + data.astype(TYPE_CODES[type_code]).tobytes()


def write(path, content, gz=False):
    """Write ``content`` to ``path`` (gzip-compressed when ``gz``); return the path."""
    path = Path(path)
    path.write_bytes(gzip.compress(content) if gz else content)
    return path


def tiny_split(n, seed):
    """``n`` random 28 x 28 uint8 images and labels 0-9."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n, np.uint8)


def write_mnist(folder, n_train=12, n_test=5, seed=0, gz=True):
    """Write a complete tiny MNIST (four IDX files) into ``folder``; return the raw arrays."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (xtr, ytr), (xte, yte) = tiny_split(n_train, seed), tiny_split(n_test, seed + 1)
    suffix = ".gz" if gz else ""
    for name, arr in zip(NAMES.values(), (xtr, ytr, xte, yte)):
        write(folder / f"{name}{suffix}", idx_content(arr), gz=gz)
    return (xtr, ytr), (xte, yte)


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """An empty HOME, no TENSORNET_DATA/TENSORNET_OFFLINE, and a network that must not be used."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("TENSORNET_DATA", raising=False)
    monkeypatch.delenv("TENSORNET_OFFLINE", raising=False)

    def no_network(url, timeout=None):
        raise AssertionError(f"unexpected network access to {url}")

    monkeypatch.setattr(mnist_mod.urllib.request, "urlopen", no_network)
    return tmp_path


# --------------------------------------------------------------------------------------------
# read_idx
# --------------------------------------------------------------------------------------------


@given(
    shape=shapes(min_dims=1, max_dims=4, max_side=5),
    type_code=st.sampled_from(sorted(TYPE_CODES)),
    gz=st.booleans(),
    seed=seeds(),
)
def test_read_idx_round_trips_every_type_raw_and_gzip(tmp_path_factory, shape, type_code, gz, seed):
    rng = np.random.default_rng(seed)
    data = rng.integers(-100, 100, shape).astype(TYPE_CODES[type_code])
    if type_code == 0x08:
        data = rng.integers(0, 256, shape).astype(np.uint8)
    path = write(tmp_path_factory.mktemp("idx") / "a.idx", idx_content(data, type_code), gz=gz)
    out = read_idx(path)
    assert out.shape == data.shape and out.dtype.isnative and out.flags.writeable
    assert out.dtype.kind == data.dtype.kind and out.dtype.itemsize == data.dtype.itemsize
    np.testing.assert_array_equal(out, data)


def test_read_idx_detects_gzip_from_content_not_name(tmp_path):
    data = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    np.testing.assert_array_equal(read_idx(write(tmp_path / "x", idx_content(data), gz=True)), data)
    np.testing.assert_array_equal(read_idx(write(tmp_path / "y.gz", idx_content(data))), data)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"", r"only 0 byte"),
        (b"\x00\x00", r"only 2 byte"),
        (b"PK\x03\x04" + bytes(20), r"not an IDX file: magic number"),  # a zip archive
        (bytes([0, 0, 0x07, 1]) + bytes(8), r"not an IDX file"),  # unknown type code
        (bytes([0, 0, 0x08, 0]), r"not an IDX file"),  # zero dimensions
        (bytes([0, 0, 0x08, 3]) + bytes(6), r"truncated IDX header: 3 dimensions need 12"),
    ],
)
def test_read_idx_refuses_foreign_or_broken_headers_naming_the_file(tmp_path, content, match):
    path = write(tmp_path / "bad-file", content)
    with pytest.raises(ValueError, match=match) as info:
        read_idx(path)
    assert "bad-file" in str(info.value)


GZ_SIZE_MISMATCH = r"truncated or corrupt file: the IDX header announces dimensions"


@pytest.mark.parametrize(
    ("gz", "match"),
    [
        (False, r"short: truncated IDX data: .* need 2352 bytes, found 2351"),
        (True, r"short\.gz: " + GZ_SIZE_MISMATCH + r" \(3, 28, 28\) \(2368 bytes .* 2367 bytes"),
    ],
)
def test_read_idx_refuses_truncated_data(tmp_path, gz, match):
    content = idx_content(np.zeros((3, 28, 28), np.uint8))
    path = write(tmp_path / ("short.gz" if gz else "short"), content[:-1], gz=gz)
    with pytest.raises(ValueError, match=match):
        read_idx(path)


@pytest.mark.parametrize(
    ("gz", "match"),
    [(False, r"long: IDX file has bytes after the 8 data bytes"), (True, GZ_SIZE_MISMATCH)],
)
def test_read_idx_refuses_trailing_bytes(tmp_path, gz, match):
    content = idx_content(np.zeros((2, 4), np.uint8)) + b"\x00"
    with pytest.raises(ValueError, match=match):
        read_idx(write(tmp_path / "long", content, gz=gz))


@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_refuses_absurd_dimensions_without_allocating(tmp_path, gz):
    # a header announcing 4 x 2**32-1 x 2**32-1 bytes (about 7e19) followed by a few bytes
    content = bytes([0, 0, 0x08, 3]) + (4).to_bytes(4, "big") + b"\xff" * 8 + bytes(10)
    with pytest.raises(ValueError, match=r"truncated"):
        read_idx(write(tmp_path / "huge", content, gz=gz))


def test_read_idx_refuses_a_cut_gzip_stream(tmp_path):
    packed = gzip.compress(idx_content(np.arange(4000, dtype=np.uint8).reshape(40, 100) % 7))
    path = tmp_path / "cut.gz"
    path.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(ValueError, match=r"cut\.gz"):
        read_idx(path)


def test_idx_magic_reads_the_header_only(tmp_path):
    images = write(tmp_path / "i", idx_content(np.zeros((2, 28, 28), np.uint8)), gz=True)
    labels = write(tmp_path / "l", idx_content(np.zeros(2, np.uint8)))
    assert (mnist_mod.idx_magic(images), mnist_mod.idx_magic(labels)) == (2051, 2049)
    with pytest.raises(ValueError, match="not an IDX file"):
        mnist_mod.idx_magic(write(tmp_path / "t", b"hello world"))


def test_read_idx_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "nothing")


# --------------------------------------------------------------------------------------------
# load_mnist on tiny folders
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("gz", [True, False])
def test_load_mnist_scales_images_to_unit_interval_exactly(isolated, gz):
    (xtr, ytr), (xte, yte) = write_mnist(isolated / "d", gz=gz)
    (x_train, y_train), (x_test, y_test) = load_mnist(isolated / "d")
    for x, raw in ((x_train, xtr), (x_test, xte)):
        assert x.dtype == np.float32 and x.shape == (len(raw), 1, 28, 28)
        np.testing.assert_array_equal(x[:, 0], raw.astype(np.float32) / np.float32(255))
        assert 0.0 <= x.min() and x.max() <= 1.0
    for y, raw in ((y_train, ytr), (y_test, yte)):
        assert y.dtype == np.int64
        np.testing.assert_array_equal(y, raw)


def test_load_mnist_accepts_mixed_compressed_and_raw_names(isolated):
    folder = isolated / "mixed"
    (xtr, _), _ = write_mnist(folder, gz=True)
    raw = folder / NAMES["train_images"]
    raw.write_bytes(gzip.decompress((folder / f"{NAMES['train_images']}.gz").read_bytes()))
    (folder / f"{NAMES['train_images']}.gz").unlink()
    (x_train, _), _ = load_mnist(folder)
    np.testing.assert_array_equal(np.rint(x_train[:, 0] * 255).astype(np.uint8), xtr)


def _replace(folder, role, content):
    """Overwrite one of the four files of a tiny MNIST folder with raw ``content``."""
    (folder / f"{NAMES[role]}.gz").unlink()
    write(folder / NAMES[role], content)
    return NAMES[role]


@pytest.mark.parametrize(
    ("role", "content", "match"),
    [
        # a label file where images belong: magic 2049 instead of 2051
        ("train_images", idx_content(np.zeros(12, np.uint8)), r"magic number 2049 is not 2051"),
        ("test_labels", idx_content(np.zeros((5, 28, 28), np.uint8)), r"2051 is not 2049"),
        ("train_images", idx_content(np.zeros((12, 27, 28), np.uint8)), r"must be 28 x 28"),
        (
            "train_images",
            idx_content(np.zeros((12, 28, 28), np.uint8), type_code=0x0C),
            r"magic number 3075 is not 2051",
        ),
        ("test_labels", idx_content(np.full(5, 10, np.uint8)), r"label\[0\]=10 is outside 0-9"),
        ("test_images", idx_content(np.zeros((5, 28, 28), np.uint8))[:-10], r"truncated"),
    ],
)
def test_load_mnist_refuses_invalid_files_naming_them(isolated, role, content, match):
    folder = isolated / "bad"
    write_mnist(folder)
    name = _replace(folder, role, content)
    with pytest.raises(ValueError, match=match) as info:
        load_mnist(folder, download=False)
    assert name in str(info.value)


def test_load_mnist_refuses_mismatched_image_and_label_counts(isolated):
    folder = isolated / "counts"
    write_mnist(folder, n_train=12)
    _replace(folder, "train_labels", idx_content(np.zeros(11, np.uint8)))
    with pytest.raises(ValueError, match=r"holds 12 images but .* holds 11 labels"):
        load_mnist(folder, download=False)


# --------------------------------------------------------------------------------------------
# search order and fallback
# --------------------------------------------------------------------------------------------


def _n_train(data):
    return len(data[0][0])


def test_search_order_is_root_then_env_then_cache(isolated, monkeypatch):
    root, env = isolated / "root", isolated / "env"
    cache = isolated / "home" / ".cache" / "tensornet" / "mnist"
    write_mnist(root, n_train=3)
    write_mnist(env, n_train=4)
    write_mnist(cache, n_train=5)
    monkeypatch.setenv("TENSORNET_DATA", str(env))
    assert _n_train(load_mnist(root)) == 3
    assert _n_train(load_mnist()) == 4
    monkeypatch.delenv("TENSORNET_DATA")
    assert _n_train(load_mnist()) == 5
    assert find_mnist() == cache


def test_incomplete_folder_is_skipped(isolated, monkeypatch):
    root, env = isolated / "root", isolated / "env"
    write_mnist(root, n_train=3)
    (root / f"{NAMES['test_labels']}.gz").unlink()
    write_mnist(env, n_train=4)
    monkeypatch.setenv("TENSORNET_DATA", str(env))
    assert find_mnist(root) == env
    assert _n_train(load_mnist(root)) == 4


def _notice_lines(capsys):
    return [line for line in capsys.readouterr().err.splitlines() if line]


def test_fallback_to_bundled_subset_says_so_in_one_line(isolated, capsys):
    (x_train, y_train), (x_test, y_test) = load_mnist(download=False)
    assert x_train.shape == (6000, 1, 28, 28) and x_test.shape == (1000, 1, 28, 28)
    lines = _notice_lines(capsys)
    assert len(lines) == 1
    assert "bundled subset" in lines[0] and ".cache" in lines[0] and "download=False" in lines[0]


def test_explicit_root_without_the_files_is_an_error_not_the_subset(isolated, capsys):
    with pytest.raises(FileNotFoundError, match="nowhere.*only used when no root is given"):
        load_mnist(isolated / "nowhere", download=False)
    assert "bundled subset" not in capsys.readouterr().err


def test_explicit_root_with_failed_download_is_an_error(isolated, monkeypatch):
    def unreachable(url, timeout=None):
        raise OSError("Name or service not known")

    monkeypatch.setattr(mnist_mod.urllib.request, "urlopen", unreachable)
    with pytest.raises(FileNotFoundError, match="download failed"):
        load_mnist(isolated / "nowhere", verbose=False)


def test_gzip_idx_header_announcing_more_than_the_file_can_hold_is_refused(tmp_path):
    """A 30-byte gzip whose IDX header claims 65536**3 images (256 TiB): refused unallocated."""
    content = bytes([0, 0, 8, 3]) + (65536).to_bytes(4, "big") * 3
    path = write(tmp_path / "bomb.gz", content, gz=True)
    assert path.stat().st_size < 64
    with pytest.raises(ValueError, match="bomb.gz.*cannot hold"):
        read_idx(path)
    folder = tmp_path / "mnist"
    write_mnist(folder)
    write(folder / f"{NAMES['train_images']}.gz", content, gz=True)
    with pytest.raises(ValueError, match="cannot hold"):
        load_mnist(folder, download=False)


def test_download_deadline_stops_a_trickling_server(isolated, monkeypatch):
    """A loopback server that sends one byte every 0.05 s: the overall deadline ends it."""
    import socket
    import threading
    import time

    monkeypatch.setattr(mnist_mod.urllib.request, "urlopen", REAL_URLOPEN)
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    server.settimeout(5.0)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                conn.recv(4096)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
                try:
                    while not stop.is_set():
                        conn.sendall(b"x")
                        time.sleep(0.05)
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.getsockname()[1]}/"
    start = time.monotonic()
    try:
        with pytest.raises(DownloadError, match="deadline"):
            download_mnist(isolated / "slow", mirrors=[url], timeout=1.0, verbose=False)
    finally:
        stop.set()
        server.close()
    assert time.monotonic() - start < 4.0


@pytest.mark.parametrize("timeout", ["5", None, float("nan"), 0.0, -1.0])
def test_download_timeout_must_be_a_positive_number(isolated, timeout):
    with pytest.raises((TypeError, ValueError), match="timeout"):
        download_mnist(isolated / "x", timeout=timeout)


def test_fallback_is_silent_when_not_verbose(isolated, capsys):
    load_mnist(download=False, verbose=False)
    assert _notice_lines(capsys) == []


def test_offline_variable_prevents_any_download(isolated, monkeypatch, capsys):
    monkeypatch.setenv("TENSORNET_OFFLINE", "1")
    (x_train, _), _ = load_mnist()  # urlopen would raise AssertionError (fixture)
    assert x_train.shape[0] == 6000
    lines = _notice_lines(capsys)
    assert len(lines) == 1 and "TENSORNET_OFFLINE" in lines[0]


def test_failed_download_falls_back_in_one_line(isolated, monkeypatch, capsys):
    calls = []

    def unreachable(url, timeout=None):
        calls.append((url, timeout))
        raise OSError("Name or service not known")

    monkeypatch.setattr(mnist_mod.urllib.request, "urlopen", unreachable)
    (x_train, _), _ = load_mnist()
    assert x_train.shape[0] == 6000
    # fail fast: one attempt per mirror for the first file, then stop; a short timeout
    assert len(calls) == len(mnist_mod.MIRRORS)
    assert all(t is not None and t <= 10 for _, t in calls)
    lines = _notice_lines(capsys)
    assert len(lines) == 1 and "download failed" in lines[0] and "bundled subset" in lines[0]


def test_corrupt_data_is_an_error_not_a_fallback(isolated):
    folder = isolated / "corrupt"
    write_mnist(folder)
    _replace(folder, "train_labels", b"garbage!")
    with pytest.raises(ValueError, match="not an IDX file"):
        load_mnist(folder)


# --------------------------------------------------------------------------------------------
# download (file:// mirrors, tiny files with their checksums patched in)
# --------------------------------------------------------------------------------------------


@pytest.fixture
def mirror(isolated, monkeypatch):
    """A file:// mirror of a tiny MNIST whose checksums replace the official ones."""
    folder = isolated / "mirror"
    arrays = write_mnist(folder, n_train=7, n_test=3, seed=11)
    table = {}
    for name in NAMES.values():
        content = gzip.decompress((folder / f"{name}.gz").read_bytes())
        table[name] = (hashlib.sha256(content).hexdigest(), len(content))
    monkeypatch.setattr(mnist_mod, "MNIST_SHA256", table)
    monkeypatch.setattr(mnist_mod.urllib.request, "urlopen", REAL_URLOPEN)  # file:// URLs only
    return folder, arrays


def test_download_writes_verified_files_into_the_cache(mirror, isolated, monkeypatch, capsys):
    folder, ((xtr, ytr), _) = mirror
    monkeypatch.setattr(mnist_mod, "MIRRORS", (folder.as_uri() + "/",))
    (x_train, y_train), _ = load_mnist()
    np.testing.assert_array_equal(y_train, ytr)
    np.testing.assert_array_equal(np.rint(x_train[:, 0] * 255).astype(np.uint8), xtr)
    cache = isolated / "home" / ".cache" / "tensornet" / "mnist"
    assert sorted(p.name for p in cache.iterdir()) == sorted(f"{n}.gz" for n in NAMES.values())
    assert "bundled subset" not in capsys.readouterr().err
    # once cached, nothing is fetched again
    monkeypatch.setattr(mnist_mod, "MIRRORS", ("file:///does/not/exist/",))
    assert _n_train(load_mnist()) == 7


def test_download_rejects_checksum_mismatch_and_leaves_nothing(mirror, isolated):
    folder, _ = mirror
    bad = isolated / "bad-mirror"
    bad.mkdir()
    for name in NAMES.values():
        content = bytearray(gzip.decompress((folder / f"{name}.gz").read_bytes()))
        content[-1] ^= 1  # one flipped bit in the data
        write(bad / f"{name}.gz", bytes(content), gz=True)
    target = isolated / "target"
    with pytest.raises(DownloadError, match=r"checksum mismatch") as info:
        download_mnist(target, mirrors=[bad.as_uri()], verbose=False)
    assert len(info.value.attempts) == 1
    assert list(target.iterdir()) == []  # no partial or temporary file left behind


def test_download_tries_the_next_mirror_after_a_bad_one(mirror, isolated):
    folder, _ = mirror
    html = isolated / "html-mirror"
    html.mkdir()
    for name in NAMES.values():
        write(html / f"{name}.gz", b"<html>moved</html>")
    target = download_mnist(isolated / "t", mirrors=[html.as_uri(), folder.as_uri()], verbose=False)
    assert find_mnist(target) == target
    assert _n_train(load_mnist(target)) == 7


def test_download_with_a_custom_opener_and_a_size_cap(mirror, isolated):
    folder, _ = mirror
    seen = []

    class Response:
        def __init__(self, data):
            self.data, self.pos = data, 0

        def read(self, n):
            chunk = self.data[self.pos : self.pos + n]
            self.pos += len(chunk)
            return chunk

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    def opener(url, timeout):
        seen.append(url)
        return Response(bytes(10**6))  # far more than twice the tiny files

    with pytest.raises(DownloadError, match=r"sent more than"):
        download_mnist(
            isolated / "cap", mirrors=["https://example.invalid/m"], opener=opener, verbose=False
        )
    assert seen == ["https://example.invalid/m/train-images-idx3-ubyte.gz"]


def test_download_keeps_valid_files_and_replaces_corrupt_ones(mirror, isolated):
    folder, _ = mirror
    target = download_mnist(isolated / "c", mirrors=[folder.as_uri()], verbose=False)
    stale = target / f"{NAMES['test_labels']}.gz"
    stale.write_bytes(gzip.compress(b"stale"))
    fetched = []

    def opener(url, timeout):
        fetched.append(url.rsplit("/", 1)[-1])
        return REAL_URLOPEN(url, timeout=timeout)

    download_mnist(target, mirrors=[folder.as_uri()], opener=opener, verbose=False)
    assert fetched == [stale.name]
    assert stale.read_bytes() == (folder / stale.name).read_bytes()


def test_download_refuses_empty_mirror_list(isolated):
    with pytest.raises(ValueError, match="mirrors must name at least one"):
        download_mnist(isolated / "x", mirrors=[])


# --------------------------------------------------------------------------------------------
# the bundled subset
# --------------------------------------------------------------------------------------------


def test_bundled_subset_is_class_balanced_and_small():
    (x_train, y_train), (x_test, y_test) = load_mnist_subset()
    assert x_train.shape == (6000, 1, 28, 28) and x_test.shape == (1000, 1, 28, 28)
    assert x_train.dtype == np.float32 and y_train.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(y_train, minlength=10), np.full(10, 600))
    np.testing.assert_array_equal(np.bincount(y_test, minlength=10), np.full(10, 100))
    assert 0.0 == x_train.min() and x_train.max() == 1.0
    assert sum(p.stat().st_size for p in BUNDLED.iterdir()) <= 2 * 1024 * 1024


def test_bundled_files_match_their_recorded_checksums():
    record = subset_provenance()
    assert record["license"] == "CC BY-SA 3.0"
    assert set(record["files"]) == {f"{n}.gz" for n in NAMES.values()}
    for name, info in record["files"].items():
        packed = (BUNDLED / name).read_bytes()
        assert hashlib.sha256(packed).hexdigest() == info["sha256"]
        assert hashlib.sha256(gzip.decompress(packed)).hexdigest() == info["sha256_uncompressed"]
    for split, n in (("train", 6000), ("test", 1000)):
        idx = np.array(record["splits"][split]["indices"])
        assert idx.size == n and np.all(np.diff(idx) > 0)


# --------------------------------------------------------------------------------------------
# the real MNIST (only where ../shared/data/mnist exists)
# --------------------------------------------------------------------------------------------

needs_real = pytest.mark.skipif(not REAL_MNIST.is_dir(), reason=f"{REAL_MNIST} not present")


@needs_real
def test_real_mnist_has_official_sizes_and_label_histogram(isolated):
    (x_train, y_train), (x_test, y_test) = load_mnist(REAL_MNIST)
    assert x_train.shape == (60000, 1, 28, 28) and x_test.shape == (10000, 1, 28, 28)
    train_hist = np.bincount(y_train, minlength=10)
    test_hist = np.bincount(y_test, minlength=10)
    assert train_hist.sum() == 60000 and test_hist.sum() == 10000
    # published class counts of MNIST
    np.testing.assert_array_equal(
        train_hist, [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    )
    np.testing.assert_array_equal(
        test_hist, [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    )
    # the bundled subset is made of these very images, at the recorded indices
    (sx, sy), (tx, ty) = load_mnist_subset()
    record = subset_provenance()
    i_train = np.array(record["splits"]["train"]["indices"])
    i_test = np.array(record["splits"]["test"]["indices"])
    np.testing.assert_array_equal(sx, x_train[i_train])
    np.testing.assert_array_equal(sy, y_train[i_train])
    np.testing.assert_array_equal(tx, x_test[i_test])
    np.testing.assert_array_equal(ty, y_test[i_test])


@needs_real
def test_make_mnist_subset_reproduces_bundled_files_bit_for_bit(tmp_path):
    spec = importlib.util.spec_from_file_location(
        "make_mnist_subset", REPO / "examples" / "make_mnist_subset.py"
    )
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    record = script.make_subset(REAL_MNIST, tmp_path)
    bundled = json.loads((BUNDLED / "mnist_subset.json").read_text())
    assert record["splits"] == bundled["splits"] and record["seed"] == bundled["seed"]
    for name in record["files"]:
        assert gzip.decompress((tmp_path / name).read_bytes()) == gzip.decompress(
            (BUNDLED / name).read_bytes()
        )
    # The compressed bytes also depend on the zlib build; compare them when it is the same one.
    if record["zlib_version"] == bundled["zlib_version"]:
        assert script.compare(tmp_path, BUNDLED) == []
