"""The Python code blocks of README.md and docs/ run as written (they are the code users copy).

Every ```python block of a page runs, in order, in one namespace per page, from the repository
root. A block that only shows an error message or a sketch belongs in a ```text or ```pycon
block instead.
"""

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = sorted([README, *(ROOT / "docs").rglob("*.md")])
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def python_blocks(page: Path) -> list[str]:
    """The ```python blocks of ``page``, in order."""
    return _BLOCK.findall(page.read_text(encoding="utf-8"))


def run_page(page: Path) -> dict:
    """Run every block of ``page`` in one namespace (cwd: the repository root)."""
    namespace: dict = {"__name__": f"snippets_of_{page.stem}"}
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        for n, block in enumerate(python_blocks(page)):
            exec(compile(block, f"{page.relative_to(ROOT)}[block {n}]", "exec"), namespace)
    finally:
        os.chdir(cwd)
    return namespace


@pytest.mark.parametrize(
    "page",
    [p for p in PAGES if p != README and python_blocks(p)],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_python_blocks_of_the_page_run(page, capsys):
    run_page(page)


def test_readme_blocks_run_and_print_the_documented_ranks(capsys):
    namespace = run_page(README)
    printed = capsys.readouterr().out
    assert "(1, 3, 3, 3, 1) 192" in printed
    assert namespace["tt"].relative_error(namespace["x"]) < 1e-12


def test_readme_has_at_least_the_two_quickstart_blocks():
    assert len(python_blocks(README)) >= 2
