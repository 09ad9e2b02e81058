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
        "lines": {"tensornet/toy.py": {"3": [], "7": [0, 1, 2], "20": [1]}},
    }
    monkeypatch.setattr(mutate, "_signature_lines", lambda path: {6: range(7, 8)})
    monkeypatch.setattr(mutate, "_body_lines", lambda path, jit=False: {30})
    select = mutate.Selector(cmap, module, ["tests/test_toy.py"])
    ids, seconds = select(7)
    assert ids == ["tests/test_toy.py::b", "tests/test_toy.py::a"] and seconds == 2.5
    assert select(6)[0] == ids  # a def line: the tests of its body
    assert select(3)[0] == ids  # import-time only: the module's tests in its mirror file
    assert select(11) == ([], 0.0)  # no test executes it: uncovered
    assert select(30)[0] == ids  # inside a compiled function, which coverage cannot see


def test_a_child_that_outlives_its_timeout_is_killed_and_statuses_are_judged():
    server = mutate.ForkServer.__new__(mutate.ForkServer)  # no chdir, no environment change
    assert server.run(lambda: time.sleep(30), timeout=0.5) == "timeout"
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
