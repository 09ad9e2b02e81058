"""``tensornet decompose`` (tensornet/decompose_command.py): inputs, report, output, errors."""

from __future__ import annotations

import numpy as np
import pytest

import tensornet as tn
from tensornet.cli import main
from tensornet.formats import StructuredTensor

RNG = np.random.default_rng(3)
X = tn.TTTensor([RNG.standard_normal(s) for s in [(1, 6, 2), (2, 5, 3), (3, 7, 1)]]).full()


@pytest.fixture
def npy(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, X.astype(np.float32))
    return str(path)


@pytest.mark.parametrize(
    ("method", "extra"),
    [
        ("tt", ["--eps", "1e-5"]),
        ("tr", ["--eps", "1e-5"]),
        ("tucker", ["--eps", "1e-5"]),
        ("ht", ["--eps", "1e-5"]),
        ("cp", ["--ranks", "6"]),
    ],
)
def test_decompose_writes_a_loadable_format_and_reports_it(npy, tmp_path, capsys, method, extra):
    out = tmp_path / f"{method}.npz"
    status = main(
        ["decompose", npy, "--method", method, *extra, "--out", str(out), "--no-progress"]
    )
    assert status == 0
    report = capsys.readouterr().out
    for field in ("ranks", "parameters", "compression ratio", "relative error", "time"):
        assert field in report
    fmt = StructuredTensor.load(out)
    err = np.linalg.norm(fmt.full() - X) / np.linalg.norm(X)
    assert err < (1e-5 if method != "cp" else 1e-2)


def test_decompose_reads_an_npz_member_and_a_zarr_store(tmp_path, capsys):
    archive = tmp_path / "a.npz"
    np.savez(archive, x=X, y=X[:2])
    assert (
        main(
            [
                "decompose",
                f"{archive}:x",
                "--method",
                "tt",
                "--ranks",
                "3",
                "--out",
                str(tmp_path / "m.npz"),
                "--no-progress",
            ]
        )
        == 0
    )
    zarr = pytest.importorskip("zarr")
    store = zarr.open_array(
        str(tmp_path / "s.zarr"), mode="w", shape=X.shape, chunks=(2, 5, 7), dtype="float64"
    )
    store[:] = X
    assert (
        main(
            [
                "decompose",
                str(tmp_path / "s.zarr"),
                "--method",
                "tt",
                "--eps",
                "1e-8",
                "--out",
                str(tmp_path / "z.npz"),
                "--no-progress",
            ]
        )
        == 0
    )
    assert "passes" in capsys.readouterr().out
    assert np.allclose(StructuredTensor.load(tmp_path / "z.npz").full(), X)


def test_decompose_gives_clear_errors(tmp_path, npy, capsys):
    def err(*argv):
        assert main(["decompose", *argv, "--out", str(tmp_path / "o.npz"), "--no-progress"]) == 2
        return capsys.readouterr().err

    assert "does not exist" in err(str(tmp_path / "missing.npy"), "--method", "tt", "--eps", "0.1")
    complex_path = tmp_path / "c.npy"
    np.save(complex_path, X.astype(complex))
    assert "real-valued" in err(str(complex_path), "--method", "tt", "--eps", "0.1")
    archive = tmp_path / "two.npz"
    np.savez(archive, a=X, b=X)
    assert "name one" in err(str(archive), "--method", "tt", "--eps", "0.1")
    assert "no member 'z'" in err(f"{archive}:z", "--method", "tt", "--eps", "0.1")
    assert "exceeds" in err(npy, "--method", "tucker", "--ranks", "9,9,9")
    assert "needs one integer" in err(npy, "--method", "cp", "--ranks", "2,3")
    zarr = pytest.importorskip("zarr")
    zarr.open_group(str(tmp_path / "g.zarr"), mode="w")
    assert "group, not an array" in err(str(tmp_path / "g.zarr"), "--method", "tt", "--eps", "0.1")
