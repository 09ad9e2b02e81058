"""Property-test your own TT-SVD: the worked example of docs/guide/property-testing.md.

Run ``python examples/verify_my_tt_svd.py``. It

1. writes a 15-line TT-SVD (Oseledets 2011, Alg. 1; survey eq. 8) with a classic bug: every
   step may discard ``eps ||X||`` instead of ``eps ||X|| / sqrt(d - 1)``;
2. runs :func:`tensornet.testing.verify` on it, which finds the eps bound violated and shrinks
   the failure to a small tensor;
3. replays the counterexample by hand, to read what went wrong;
4. fixes the budget and verifies again: every property passes.

``--max-examples`` sets the examples per property (more finds subtler bugs, and takes longer).
"""

from __future__ import annotations

import argparse

import numpy as np

from tensornet.formats import TTTensor
from tensornet.testing import verify


def my_tt_svd(x: np.ndarray, eps: float = 0.0) -> TTTensor:
    """TT-SVD with a bug: the truncation budget of each step is the whole ``eps ||X||``."""
    delta = eps * np.linalg.norm(x)
    cores, c, r = [], x, 1
    for n in x.shape[:-1]:
        u, s, vt = np.linalg.svd(c.reshape(r * n, -1), full_matrices=False)
        tails = np.sqrt(np.cumsum(s[::-1] ** 2))[::-1]  # tails[k] = ||s[k:]||
        rank = max(1, int(np.sum(tails > delta)))
        cores.append(u[:, :rank].reshape(r, n, rank))
        c, r = s[:rank, None] * vt[:rank], rank
    cores.append(c.reshape(r, x.shape[-1], 1))
    return TTTensor(cores)


def my_fixed_tt_svd(x: np.ndarray, eps: float = 0.0) -> TTTensor:
    """TT-SVD: ``d - 1`` truncations whose errors add in squares share ``eps ||X||``."""
    delta = eps * np.linalg.norm(x) / np.sqrt(x.ndim - 1)
    cores, c, r = [], x, 1
    for n in x.shape[:-1]:
        u, s, vt = np.linalg.svd(c.reshape(r * n, -1), full_matrices=False)
        tails = np.sqrt(np.cumsum(s[::-1] ** 2))[::-1]
        rank = max(1, int(np.sum(tails > delta)))
        cores.append(u[:, :rank].reshape(r, n, rank))
        c, r = s[:rank, None] * vt[:rank], rank
    cores.append(c.reshape(r, x.shape[-1], 1))
    return TTTensor(cores)


def main(max_examples: int) -> None:
    """Verify the buggy TT-SVD, read its counterexample, verify the fixed one."""
    report = verify(my_tt_svd, "tt_svd", max_examples=max_examples)
    failure = report.failures[0]
    x, eps = failure.inputs["x"], failure.inputs["eps"]
    tt = my_tt_svd(x, eps=eps)
    error = np.linalg.norm(x - tt.full()) / np.linalg.norm(x)
    print(f"\nreplayed: shape {x.shape}, eps={eps}, ranks {tt.ranks}, relative error {error:.4f}")
    print(f"the bound allows {eps}; each of the {x.ndim - 1} steps discarded up to eps ||X||\n")
    fixed = verify(my_fixed_tt_svd, "tt_svd", max_examples=max_examples)
    fixed.assert_passed()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=50)
    main(parser.parse_args().max_examples)
