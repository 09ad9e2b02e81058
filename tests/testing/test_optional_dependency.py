"""Hypothesis is an optional extra: importing tensornet must not import it (or this package),
and importing tensornet.testing without it says how to install it."""

import subprocess
import sys

CODE = """
import sys
import tensornet, tensornet.nn, tensornet.compress, tensornet.rank
print(sorted(m for m in sys.modules
             if m.split('.')[0] == 'hypothesis' or m.startswith('tensornet.testing')))
sys.modules['hypothesis'] = None  # as if Hypothesis were not installed
try:
    import tensornet.testing
except ImportError as exc:
    print(exc)
"""


def test_tensornet_imports_no_hypothesis_and_tensornet_testing_names_the_extra():
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, check=True)
    loaded, message = out.stdout.strip().splitlines()
    assert loaded == "[]"
    assert "pip install 'tensornet[testing]'" in message
