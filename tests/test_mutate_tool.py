"""tools/mutate.py: the mutants it makes are single-token changes that are valid Python."""

from __future__ import annotations

import importlib.util
import sys
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
