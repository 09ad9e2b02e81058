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
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0
    assert done.stdout.strip() == f"tensornet {tensornet.__version__}"
