"""The fair-comparison harness of the benchmarks (benchmarks/_fair.py): rotation of the sides,
the peer measured alone after the alternating rounds, summaries and load flags."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import _fair  # noqa: E402


def test_stats_median_min_max_and_relative_spread():
    s = _fair.stats([4.0, 1.0, 3.0, 2.0])
    assert (s["median"], s["min"], s["max"], s["n"]) == (2.5, 1.0, 4.0, 4)
    assert s["spread"] == pytest.approx(3.0 / 2.5)


def test_alternate_rotates_the_order_each_round_then_runs_the_peer_alone(monkeypatch):
    calls = []

    def fake_spawn(script, spec, threads, timeout=0):
        calls.append(spec["name"])
        return {"ms": {"a": 1.0, "b": 2.0, "c": 4.0}[spec["name"]], "loadavg": [0.5, 0, 0]}

    monkeypatch.setattr(_fair, "spawn", fake_spawn)
    sides = {n: {"name": n} for n in "abc"}
    res = _fair.alternate("x.py", sides, 3, 1, alone=("c",), alone_rounds=2, key="ms", log=id)
    assert calls == list("abcbcacabcc")
    assert res["c"]["alone_over_alternating"] == 1.0
    assert res["b"]["ms"]["median"] == 2.0 and len(res["b"]["processes"]) == 3
    assert res["a"]["loaded"] is False


def test_a_side_that_saw_a_loaded_machine_flags_the_record(monkeypatch):
    loads = iter([0.5, 9.0])

    def fake_spawn(script, spec, threads, timeout=0):
        return {"ms": 1.0, "loadavg": [next(loads), 0, 0]}

    monkeypatch.setattr(_fair, "spawn", fake_spawn)
    res = _fair.alternate("x.py", {"a": {}, "b": {}}, 1, 1, log=id)
    assert res["a"]["loaded"] is False and res["b"]["loaded"] is True
    monkeypatch.setattr(_fair.os, "getloadavg", lambda: (0.1, 0.1, 0.1))
    record = {"loadavg_before": [0.1, 0, 0], "part": {"sides": res}}
    _fair.finish_record(record)
    assert record["loaded"] is True
    quiet = {"loadavg_before": [0.1, 0, 0], "part": {"sides": {"a": res["a"]}}}
    _fair.finish_record(quiet)
    assert quiet["loaded"] is False


def test_worker_env_sets_every_thread_limit():
    env = _fair.worker_env(3)
    assert all(env[var] == "3" for var in _fair.THREAD_VARS)
    assert env["PYTHONPATH"].split(":")[0] == str(_fair.ROOT)
