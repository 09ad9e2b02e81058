"""Hypothesis is an optional extra: importing tensornet must not import it (or this package)."""

import subprocess
import sys


def test_importing_tensornet_imports_neither_hypothesis_nor_tensornet_testing():
    code = (
        "import sys, tensornet, tensornet.nn, tensornet.compress, tensornet.rank\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] == 'hypothesis'"
        " or m.startswith('tensornet.testing'))\n"
        "print(bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
