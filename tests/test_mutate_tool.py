"""tools/mutate.py: the mutants it makes are single-token changes that are valid Python."""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parent.parent / "tools" / "mutate.py"
spec = importlib.util.spec_from_file_location("mutate_tool", TOOL)
mutate = importlib.util.module_from_spec(spec)
sys.modules["mutate_tool"] = mutate  # dataclasses look their module up
spec.loader.exec_module(mutate)

SOURCE = '''"""A docstring with + and 3 in it."""


def f(a, b):
    # a comment: a < b
    if a < b and not b == 2:
        return -a + b.T * 3
    return a / b
'''


@pytest.fixture
def module(tmp_path):
    path = tmp_path / "toy.py"
    path.write_text(SOURCE)
    return path


def test_mutants_change_one_code_token_and_leave_docstrings_and_comments(module):
    found = {(m.line, m.original, m.mutated) for m in mutate.mutants(module)}
    assert (6, "<", "<=") in found
    assert (6, "and", "or") in found
    assert (6, "not ", "") in found
    assert (6, "==", "!=") in found
    assert (6, "2", "3") in found and (6, "2", "1") in found
    assert (7, "-", "") in found  # unary minus dropped, not turned into a plus
    assert (7, "+", "-") in found
    assert (7, ".T", "") in found
    assert (7, "*", "/") in found
    assert (8, "/", "*") in found
    assert all(line >= 4 for line, _, _ in found)  # nothing from the docstring
    assert not any(line == 5 for line, _, _ in found)  # nor from the comment


def test_stars_of_signatures_and_unpacking_are_not_mutated(tmp_path):
    path = tmp_path / "stars.py"
    path.write_text("def f(\n    a,\n    *,\n    b=2,\n    **kw\n):\n    return g(*a, **kw) * b\n")
    found = {(m.line, m.original) for m in mutate.mutants(path)}
    assert (7, "*") in found  # the product
    assert not any(orig in ("*", "**") and line != 7 for line, orig in found)
    assert sum(orig in ("*", "**") for _, orig in found) == 1  # not the unpacking stars


def test_every_mutant_differs_from_the_source_in_one_place_and_compiles(module):
    for m in mutate.mutants(module):
        text = mutate.apply(SOURCE, m)
        changed = [
            (a, b) for a, b in zip(SOURCE.splitlines(), text.splitlines(), strict=True) if a != b
        ]
        assert len(changed) == 1 and changed[0][0].strip() == m.source_line
        assert mutate._compiles(text)


def test_tests_are_found_by_the_mirror_rule():
    assert mutate.tests_for(Path("tensornet/formats/tt.py")) == ["tests/formats/test_tt.py"]


TOY_MODULE = '''"""Toy module."""

import functools

LIMIT = 3


def wrap(f):
    @functools.wraps(f)
    def wrapper(*args):
        return f(*args)

    wrapper.fun = f
    return wrapper


@wrap
def scale(x, factor=2):
    return x * factor


class Box:
    def __init__(self, v):
        self.v = v

    @property
    def double(self):
        return self.v + self.v

    @staticmethod
    def below(x):
        return x < LIMIT
'''


def test_patch_gives_every_reference_the_mutated_code(tmp_path, monkeypatch):
    (tmp_path / "mut_toy_pkg").mkdir()
    (tmp_path / "mut_toy_pkg" / "__init__.py").write_text("")
    (tmp_path / "mut_toy_pkg" / "toy.py").write_text(TOY_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    import mut_toy_pkg.toy as toy
    from mut_toy_pkg.toy import Box, scale  # references taken before the patch

    try:
        mutated = TOY_MODULE.replace("x * factor", "x + factor").replace("v + self", "v - self")
        mutated = mutated.replace("x < LIMIT", "x <= LIMIT")
        assert mutate.patch("mut_toy_pkg.toy", mutated)
        assert scale(5) == 7 and toy.scale(5) == 7
        assert Box(4).double == 0
        assert Box.below(3) is True
        assert not mutate.patch("mut_toy_pkg.toy", "raise ImportError\n")
        assert not mutate.patch("not_loaded_module_xyz", TOY_MODULE)
    finally:
        for name in ("mut_toy_pkg", "mut_toy_pkg.toy"):
            sys.modules.pop(name, None)


def test_body_lines_are_inside_functions_and_signatures_map_to_bodies(tmp_path):
    path = tmp_path / "toy.py"
    path.write_text(TOY_MODULE)
    body = mutate._body_lines(path)
    assert 19 in body and 5 not in body and 18 not in body  # LIMIT and the def line are not
    assert mutate._body_lines(path, jit=True) == set()
    assert mutate._nested_lines(path) == set(range(9, 12))  # wrap's wrapper: a fresh import
    signature = mutate._signature_lines(path)
    assert 19 in signature[18]  # the defaults of scale are judged by the tests that call it
    assert 17 in signature and 30 in signature  # decorator lines
    path.write_text("import numba\n\n\n@numba.njit(cache=True)\ndef f(x):\n    return x + 1\n")
    assert mutate._body_lines(path, jit=True) == {6}


def test_selector_picks_the_tests_of_a_line_fastest_first_and_leaves_failing_ones_out(
    monkeypatch,
):
    module = Path("tensornet/toy.py")
    cmap = {
        "tests": ["tests/test_toy.py::a", "tests/test_toy.py::b", "tests/test_x.py::c"],
        "durations": [2.0, 0.5, 1.0],
        "failed": ["tests/test_x.py::c"],
        "modules": {
            "tensornet/toy.py": {"hash": "h", "lines": {"3": [], "7": [0, 1, 2], "20": [1]}}
        },
    }
    monkeypatch.setattr(mutate, "_signature_lines", lambda path: {6: range(7, 8)})
    monkeypatch.setattr(mutate, "_body_lines", lambda path, jit=False: {30})
    select = mutate.Selector(cmap, module, ["tests/test_toy.py"])
    ids, seconds = select(7)
    assert ids == ["tests/test_toy.py::b", "tests/test_toy.py::a"] and seconds == 2.5
    # a def line: the tests of its body, then the module's own test files whole (a test may
    # read the defaults without calling the function)
    monkeypatch.setattr(mutate, "own_test_files", lambda module: ["tests/test_toy.py"])
    assert select(6)[0] == ["tests/test_toy.py"]
    monkeypatch.setattr(mutate, "own_test_files", lambda module: ["tests/test_mutants_toy.py"])
    assert select(6)[0] == [*ids, "tests/test_mutants_toy.py"]
    assert select(3)[0] == ids  # import-time only: the module's tests in its mirror file
    assert select(11) == ([], 0.0)  # no test executes it: uncovered
    assert select(30)[0] == ids  # inside a compiled function, which coverage cannot see


def test_a_child_that_outlives_its_timeout_is_killed_and_statuses_are_judged():
    server = mutate.ForkServer.__new__(mutate.ForkServer)  # no chdir, no environment change
    assert server.run(lambda: time.sleep(30), timeout=0.5) == "timeout"

    def spin():
        while True:
            pass

    assert server.run(spin, timeout=600, cpu_limit=0) == "timeout"  # stopped by its CPU time
    assert server.cpu >= 0.5  # about its 1 s limit (rusage is sampled at the scheduler's ticks)
    assert server.run(lambda: 4, timeout=10) == 4
    assert server.run(lambda: 1 / 0, timeout=10) == 3
    assert [mutate.judge(s) for s in (0, 1, 2, 3, "timeout", 5)] == [
        "survived",
        "killed",
        "killed",
        "killed",
        "killed",
        "no-tests",
    ]


def test_default_scope_maps_mirror_folders_files_doctests_and_the_bad_input_table():
    scope = mutate.default_scope(["tensornet/formats", "tensornet/nn/optim.py"])
    assert scope == [
        "tests/formats",
        "tensornet/formats",
        "tests/nn/test_optim.py",
        "tensornet/nn/optim.py",
        "tests/test_bad_input.py",
    ]


def test_survivors_text_lists_each_survivor_with_its_equivalence_reason():
    rec = {
        "module": "tensornet/toy.py",
        "killed": 8,
        "mutants": 10,
        "score": 0.8,
        "score_non_equivalent": 8 / 9,
        "uncovered": 1,
        "survivors": [
            {
                "status": "survived",
                "id": "t:1:0:<-><=",
                "source_line": "a < b",
                "equivalent": "a != b",
            },
            {"status": "uncovered", "id": "t:2:0:+->-", "source_line": "c + d", "equivalent": None},
        ],
    }
    text = mutate.survivors_text(rec).splitlines()
    assert text[0].startswith("# tensornet/toy.py: 8/10 killed (80.0%, 88.9%")
    assert text[1].endswith("# equivalent: a != b") and text[2].startswith("uncovered")


def test_rejudge_reads_equivalence_reasons_afresh_and_rescores():
    rec = {
        "mutants": 10,
        "killed": 8,
        "survivors": [{"id": "a", "equivalent": None}, {"id": "b", "equivalent": "old"}],
    }
    mutate.rejudge(rec, {"a": "a reason"})
    assert [s["equivalent"] for s in rec["survivors"]] == ["a reason", None]
    assert rec["equivalent"] == 1 and rec["score_non_equivalent"] == 8 / 9


def test_the_sample_of_n_is_a_prefix_of_the_sample_of_a_larger_n_and_reproducible(module):
    todo = mutate.mutants(module)
    order = mutate.sample_order(Path("tensornet/toy.py"), todo, seed=3)
    again = mutate.sample_order(Path("tensornet/toy.py"), list(reversed(todo)), seed=3)
    assert [m.id for m in order] == [m.id for m in again]
    assert sorted(m.id for m in order) == sorted(m.id for m in todo)
    other = mutate.sample_order(Path("tensornet/toy.py"), todo, seed=4)
    assert [m.id for m in other] != [m.id for m in order]


def _entry(mid, status, module_hash="m1", tests_hash="t1", **extra):
    return {
        "id": mid,
        "module": "tensornet/toy.py",
        "module_hash": module_hash,
        "tests_hash": tests_hash,
        "status": status,
        "killer": None,
        "cpu": 1.0,
        **extra,
    }


def test_outcomes_survive_a_cut_line_and_hold_while_module_and_tests_are_unchanged(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(mutate, "ROOT", tmp_path)
    mutate._FILE_HASHES.clear()
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_k.py").write_text("def test_k(): pass\n")
    cache = tmp_path / "outcomes.jsonl"
    out = mutate.Outcomes(cache)
    out.add(_entry("a", "survived"))
    killer_hash = mutate._file_hash(["tests/test_k.py"])
    out.add(_entry("b", "killed", killer="tests/test_k.py::test_k", killer_hash=killer_hash))
    with open(cache, "a") as f:
        f.write('{"id": "c", "stat')  # a run killed in the middle of a write
    again = mutate.Outcomes(cache)
    assert again.valid("a", "m1", "t1")["status"] == "survived"
    assert again.valid("a", "m1", "t2") is None  # its tests changed: run it again
    assert again.valid("a", "m2", "t1") is None  # its module changed
    assert again.valid("b", "m1", "t2")["status"] == "killed"  # the killer is unchanged
    (tmp_path / "tests" / "test_k.py").write_text("def test_k(): assert 0\n")
    mutate._FILE_HASHES.clear()
    assert again.valid("b", "m1", "t1") is None  # the killing test changed
    again.add(_entry("a", "killed", tests_hash="t2"))
    assert again.first("a", "m1")["status"] == "survived"  # the "before"
    mutate._FILE_HASHES.clear()


def test_merge_maps_reindexes_the_new_modules_and_keeps_the_old():
    old = {
        "tests": ["t::a", "t::b"],
        "durations": [1.0, 2.0],
        "failed": ["t::b"],
        "modules": {"m1": {"hash": "x", "lines": {"3": [0, 1]}}},
    }
    new = {
        "tests": ["t::b", "t::c"],
        "durations": [5.0, 0.5],
        "failed": [],
        "modules": {"m2": {"hash": "y", "lines": {"4": [0, 1]}}},
    }
    merged = mutate.merge_maps(old, new)
    names = merged["tests"]
    assert names == ["t::a", "t::b", "t::c"] and merged["durations"] == [1.0, 5.0, 0.5]
    assert merged["failed"] == []  # t::b passed in the newer run
    assert [names[i] for i in merged["modules"]["m1"]["lines"]["3"]] == ["t::a", "t::b"]
    assert [names[i] for i in merged["modules"]["m2"]["lines"]["4"]] == ["t::b", "t::c"]


def test_tests_that_killed_a_nearby_mutant_run_first_then_the_fastest(monkeypatch):
    cmap = {
        "tests": ["tests/test_toy.py::a", "tests/test_toy.py::b", "tests/test_toy.py::c"],
        "durations": [0.1, 0.5, 9.0],
        "failed": [],
        "modules": {"tensornet/toy.py": {"hash": "h", "lines": {"7": [0, 1, 2]}}},
    }
    monkeypatch.setattr(mutate, "_signature_lines", lambda path: {})
    monkeypatch.setattr(mutate, "_body_lines", lambda path, jit=False: set())
    select = mutate.Selector(cmap, Path("tensornet/toy.py"), ["tests/test_toy.py"])
    select.extras = ["tests/test_mutants_toy.py"]  # written after the map: run last
    assert select(7)[0] == [
        "tests/test_toy.py::a",
        "tests/test_toy.py::b",
        "tests/test_toy.py::c",
        "tests/test_mutants_toy.py",
    ]
    select.extras = []
    select.killed("tests/test_toy.py::c", 9)
    select.killed("tests/test_toy.py::b", 500)  # too far away to count
    assert select(7)[0] == ["tests/test_toy.py::c", "tests/test_toy.py::a", "tests/test_toy.py::b"]


def test_new_test_files_naming_a_module_run_for_its_mutants(tmp_path, monkeypatch):
    monkeypatch.setattr(mutate, "ROOT", tmp_path)
    folder = tmp_path / "tests" / "formats"
    folder.mkdir(parents=True)
    for name in ("test_tt.py", "test_mutants_tt.py", "test_mutants_tt_matrix.py", "test_cp.py"):
        (folder / name).write_text("")
    found = mutate.new_test_files(Path("tensornet/formats/tt.py"), {"tests/formats/test_tt.py"})
    assert found == ["tests/formats/test_mutants_tt.py"]


def test_wilson_interval_contains_the_proportion_and_narrows_with_n():
    lo, hi = mutate.wilson(9, 10)
    assert lo < 0.9 < hi <= 1.0
    lo2, hi2 = mutate.wilson(90, 100)
    assert lo < lo2 < 0.9 < hi2 < hi
    assert mutate.wilson(10, 10)[1] == 1.0 and mutate.wilson(0, 0) == [0.0, 1.0]


def test_a_module_left_mutated_by_a_killed_run_is_restored_at_the_next_start(tmp_path, monkeypatch):
    monkeypatch.setattr(mutate, "ROOT", tmp_path)
    (tmp_path / "pkg").mkdir()
    target = tmp_path / "pkg" / "m.py"
    target.write_text("x = 1\n")
    restorer = mutate.Restorer(tmp_path / ".mutation")
    restorer.write(Path("pkg/m.py"), "x = 1\n", "x = 2\n")
    assert target.read_text() == "x = 2\n"
    mutate.Restorer(tmp_path / ".mutation").repair()  # what the next run does first
    assert target.read_text() == "x = 1\n"
    assert not (tmp_path / ".mutation" / "mutated.json").exists()


def test_the_report_sample_is_the_longest_prefix_of_the_order_with_cached_outcomes(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(mutate, "ROOT", tmp_path)
    monkeypatch.setattr(mutate, "_equivalent", lambda: {})
    mutate._FILE_HASHES.clear()
    (tmp_path / "tensornet").mkdir()
    (tmp_path / "tensornet" / "toy.py").write_text(SOURCE)
    module = Path("tensornet/toy.py")
    _, todo = mutate.module_mutants(module)
    order = mutate.sample_order(module, todo, seed=0)
    module_hash = mutate.hashlib.sha256(SOURCE.encode()).hexdigest()[:16]
    tests_hash = mutate._file_hash(["tests/test_toy.py"])
    out = mutate.Outcomes(tmp_path / "o.jsonl")
    for k, m in enumerate(order[:5]):
        if k != 3:  # the fourth is missing: the sample stops before it
            status = "survived" if k == 1 else "killed"
            out.add(_entry(m.id, status, module_hash=module_hash, tests_hash=tests_hash))
    rec = mutate.report(module, 0, None, out, tests=["tests/test_toy.py"])
    assert rec["mutants"] == 3 and rec["killed"] == 2 and rec["sampled"]
    assert rec["total"] == len(todo)
    assert [s["id"] for s in rec["survivors"]] == [order[1].id]
    assert rec["interval95"][0] < 2 / 3 < rec["interval95"][1]
    mutate._FILE_HASHES.clear()


def test_a_kill_by_a_test_file_written_after_the_map_is_a_survivor_before_it():
    mapped = {"tests/formats/test_tt.py"}
    new = {"status": "killed", "killer": "tests/formats/test_mutants_tt.py::test_x"}
    old = {"status": "killed", "killer": "tests/formats/test_tt.py::test_y"}
    assert mutate.first_status(new, mapped) == "survived"
    assert mutate.first_status(old, mapped) == "killed"
    assert mutate.first_status({"status": "uncovered", "killer": None}, mapped) == "uncovered"
