"""The ``tensornet`` command (tensornet/cli.py): version, help and the demo tour."""

import subprocess
import sys

import pytest

import tensornet
from tensornet.cli import build_parser, main


def test_version_flag_prints_package_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"tensornet {tensornet.__version__}"


def test_no_command_prints_help_and_returns_zero(capsys):
    assert main([]) == 0
    assert "usage: tensornet" in capsys.readouterr().out


def test_demo_tour_runs_every_registered_method_and_returns_zero(capsys):
    assert main(["demo", "--tour"]) == 0
    out = capsys.readouterr().out
    assert "Decomposition tour: rank-3 CP tensor of shape (16, 16, 16, 16)" in out
    assert "FAILED" not in out


def test_demo_options_are_parsed():
    args = build_parser().parse_args(["demo", "--shape", "4", "5", "--rank", "2", "--seed", "3"])
    assert args.shape == [4, 5] and args.rank == 2 and args.seed == 3


def test_unknown_option_exits_with_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["demo", "--no-such-flag"])
    assert exc.value.code == 2
    assert "unrecognized arguments" in capsys.readouterr().err


def test_console_module_runs_as_a_process():
    done = subprocess.run(
        [sys.executable, "-m", "tensornet.cli", "--version"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0
    assert done.stdout.strip() == f"tensornet {tensornet.__version__}"


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["demo", "--epochs", "0"], "argument --epochs: 0 is not >= 1"),
        (["demo", "--epochs", "two"], "argument --epochs: 'two' is not an integer"),
        (["demo", "--batch-size", "0"], "argument --batch-size: 0 is not >= 1"),
        (["demo", "--lr", "nan"], "argument --lr: nan is not a finite number > 0.0"),
        (["demo", "--lr", "inf"], "argument --lr: inf is not a finite number > 0.0"),
        (["demo", "--lr", "0"], "argument --lr: 0 is not a finite number > 0.0"),
        (["demo", "--seed", "-1"], "argument --seed: -1 is not >= 0"),
        (["demo", "--tour", "--rank", "0"], "argument --rank: 0 is not in [1, 1000]"),
        (
            ["demo", "--tour", "--rank", "17"],
            "argument --rank: 17 exceeds the largest mode size 16",
        ),
        (["demo", "--tour", "--noise", "-1"], "argument --noise: -1 is not a finite number >= 0.0"),
        (["demo", "--tour", "--shape", "-3", "4"], "argument --shape: -3 is not >= 1"),
        (["demo", "--tour", "--shape", "5"], "argument --shape: needs at least 2 mode sizes"),
        (
            ["demo", "--tour", "--shape", "1000", "1000", "1000"],
            "argument --shape: [1000, 1000, 1000] has 1000000000 elements, more than the tour's",
        ),
        (["demo", "--data", "/nonexistent"], "argument --data: '/nonexistent' is not a folder"),
        (["demo", "--no-such-flag"], "unrecognized arguments: --no-such-flag"),
    ],
)
def test_bad_argument_prints_one_error_line_and_exits_2(argv, fragment, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("tensornet: error: ")
    assert fragment in lines[0]


def test_data_folder_without_the_mnist_files_is_refused(tmp_path, capsys):
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(b"")
    with pytest.raises(SystemExit) as exc:
        main(["demo", "--data", str(tmp_path)])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "lacks the MNIST files train-labels-idx1-ubyte, t10k-images-idx3-ubyte" in err


def test_tour_on_a_small_shape_adapts_or_skips_every_method(capsys):
    assert main(["demo", "--tour", "--shape", "6", "6", "6"]) == 0
    out = capsys.readouterr().out
    assert "FAILED" not in out
    rows = {line.split()[0]: line for line in out.splitlines()[3:]}
    assert set(rows) == {
        "cp_als",
        "hosvd",
        "tucker_hooi",
        "btd_als",
        "tt_svd",
        "tr_svd",
        "tr_als",
        "ht_svd",
        "gkpd",
        "st_tucker",
        "stt_svd",
        "str_als",
    }
    assert "KronTensor" in rows["gkpd"] and "STTuckerTensor" in rows["st_tucker"]


def test_tour_skips_with_a_note_when_the_shape_does_not_suit_a_method(capsys):
    assert main(["demo", "--tour", "--shape", "5", "7", "--rank", "2"]) == 0
    out = capsys.readouterr().out
    assert "FAILED" not in out
    assert "skipped: no mode size of (5, 7) splits into two factors >= 2" in out
    assert "skipped: no factor t >= 2 divides every mode size of (5, 7)" in out


# ------------------------------------------------------------------------------ compress
def _compress_inputs(tmp_path, steps):
    import json

    from tensornet import nn
    from tensornet.nn.weights import save_weights

    weights = save_weights(nn.lenet300_100(random_state=0), tmp_path / "lenet.npz")
    spec = tmp_path / "pipeline.json"
    spec.write_text(json.dumps(steps))
    return str(weights), str(spec)


def test_compress_writes_an_artifact_and_prints_its_report(tmp_path, capsys):
    import numpy as np

    from tensornet import nn
    from tensornet.compress.artifact import CompressedModel

    steps = [
        {"step": "prune", "sparsity": {"fc1.weight": 0.9, "fc2.weight": 0.9}},
        {"step": "quantize", "method": "kmeans", "bits": 5},
        {"step": "encode", "coding": "huffman"},
    ]
    weights, spec = _compress_inputs(tmp_path, steps)
    out = tmp_path / "small.npz"
    assert main(["compress", weights, "--pipeline", spec, "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "dense float32 1,066,440 bytes / payload" in text
    assert "encode huffman" in text and f"wrote {out}" in text
    art = CompressedModel.load(out)
    model = art.to_module()
    w = model.params["fc1.weight"]
    assert np.count_nonzero(w) == round(0.1 * w.size) and len(np.unique(w)) <= 32
    dense = nn.load_weights(nn.lenet300_100(random_state=1), weights)
    np.testing.assert_array_equal(model.params["fc3.weight"] != 0, True)  # fc3 not pruned
    assert np.abs(model.params["fc3.weight"] - dense.params["fc3.weight"]).max() < 0.1


def test_compress_accepts_steps_with_fine_tune_defaults_and_an_arch_file(tmp_path, capsys):
    import json

    from tensornet import nn
    from tensornet.compress.artifact import architecture
    from tensornet.nn.weights import save_weights

    model = nn.Sequential(("flatten", nn.Flatten()), ("fc", nn.Linear(784, 10, random_state=0)))
    weights = save_weights(model, tmp_path / "w.npz")
    (tmp_path / "arch.json").write_text(json.dumps(architecture(model)))
    (tmp_path / "p.json").write_text(
        json.dumps({"steps": [{"step": "quantize", "bits": 4}], "fine_tune": None})
    )
    argv = ["compress", str(weights), "--pipeline", str(tmp_path / "p.json")]
    argv += ["--arch", str(tmp_path / "arch.json"), "-o", str(tmp_path / "q.npz")]
    assert main(argv) == 0
    assert "quantize kmeans 4 bits" in capsys.readouterr().out


@pytest.mark.parametrize(
    "steps, extra, fragment",
    [
        ("not a list", [], "argument --pipeline: must hold a list of steps"),
        ([{"step": "shrink"}], [], "argument --pipeline: steps[0]['step']='shrink'"),
        ([{"step": "quantize"}], ["--model", "lenet5"], "argument weights: "),
        ([{"step": "quantize"}], ["--arch", "missing.json"], "argument --arch: 'missing.json'"),
    ],
)
def test_compress_bad_input_is_one_error_line(tmp_path, capsys, steps, extra, fragment):
    weights, spec = _compress_inputs(tmp_path, steps)
    with pytest.raises(SystemExit) as exc:
        main(["compress", weights, "--pipeline", spec, "-o", str(tmp_path / "o.npz"), *extra])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert fragment in err and err.count("\n") == 1


def test_compress_refuses_a_missing_or_invalid_pipeline_file(tmp_path, capsys):
    weights, _ = _compress_inputs(tmp_path, [])
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    for spec, fragment in ((str(tmp_path / "none.json"), "is not a file"), (str(bad), "JSON")):
        with pytest.raises(SystemExit):
            main(["compress", weights, "--pipeline", spec])
        assert fragment in capsys.readouterr().err
