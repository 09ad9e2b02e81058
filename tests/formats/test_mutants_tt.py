"""Mutation-found gaps of ``tensornet.formats.tt``: the compiled gather kernel stays inside its
arrays (Numba does not check bounds unless asked, so an off-by-one read passes silently)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_SCRIPT = """
import numpy as np
from tensornet.formats.tr import TRTensor
from tensornet.formats.tt import TTTensor

rng = np.random.default_rng(0)
tt = TTTensor([rng.standard_normal(s) for s in [(1, 3, 2), (2, 4, 3), (3, 2, 1)]])
tr = TRTensor([rng.standard_normal(s) for s in [(2, 3, 3), (3, 4, 1), (1, 2, 2)]])
for x in (tt, tr):
    idx = np.array([[i, j, k] for i in range(3) for j in range(4) for k in range(2)])
    np.testing.assert_allclose(x.gather(idx), x.full()[tuple(idx.T)], rtol=1e-12, atol=1e-12)
print("ok")
"""


def test_gather_kernel_reads_only_inside_its_arrays_under_numba_bounds_checking(tmp_path):
    env = {
        **os.environ,
        "NUMBA_BOUNDSCHECK": "1",  # compiled index errors raise IndexError
        "NUMBA_CACHE_DIR": str(tmp_path),  # never reuse machine code compiled without checks
        "PYTHONPATH": str(ROOT),
    }
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
