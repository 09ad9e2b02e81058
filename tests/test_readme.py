"""The README's Python snippets run as written (they are the first code a user copies)."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_snippets_run(capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert len(blocks) >= 2
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)
    printed = capsys.readouterr().out
    assert "(1, 3, 3, 3, 1) 192" in printed
    assert namespace["tt"].relative_error(namespace["x"]) < 1e-12
