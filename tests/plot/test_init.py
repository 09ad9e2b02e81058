"""tensornet.plot is optional: the core never imports matplotlib, and importing tensornet.plot
without it names the extra to install."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# one fresh interpreter for both checks (importing the package is the slow part)
CODE = """
import sys
import tensornet, tensornet.nn, tensornet.compress, tensornet.decompositions
print("core imports matplotlib:", "matplotlib" in sys.modules)
sys.modules["matplotlib"] = None
try:
    import tensornet.plot
except ImportError as exc:
    print("ImportError:", exc)
"""


def test_core_never_imports_matplotlib_and_plot_without_it_names_the_extra():
    done = subprocess.run(
        [sys.executable, "-c", CODE], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "core imports matplotlib: False" in done.stdout
    assert "ImportError: tensornet.plot needs matplotlib" in done.stdout
    assert 'pip install "tensornet[plot]"' in done.stdout


def test_public_names():
    import tensornet.plot as plot

    assert plot.__all__ == ["draw", "plot_spectrum", "plot_history", "plot_tradeoff"]
