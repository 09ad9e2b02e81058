"""A tour of the tensor-train and tensor-ring formats and their decompositions.

Run ``python examples/tt_tr_tour.py``. It

1. builds a ``16^5`` tensor of TT rank 6 plus noise and decomposes it by TT-SVD with an error
   bound and with a rank cap (survey eq. 8; Oseledets 2011), checking the reported error;
2. does TT arithmetic without densifying: sums, Hadamard products, inner products, rounding;
3. compresses a ``512 x 1024`` matrix to a TT-matrix and applies it to a batch core by core, as
   a TT layer's forward pass would;
4. fits a tensor built from random TR cores by TR-SVD (with ``eps``) and by TR-ALS (survey
   eq. 9; Zhao et al. 2016).
"""

from __future__ import annotations

import numpy as np

from tensornet.decompositions import tr_als, tr_svd, tt_matrix_svd, tt_svd
from tensornet.formats import TRTensor, TTTensor


def random_tt(shape: tuple[int, ...], rank: int, random_state: int) -> TTTensor:
    """A TT tensor with Gaussian cores of rank ``rank``.

    Parameters
    ----------
    shape : tuple of int
        The shape.
    rank : int
        The inner TT ranks.
    random_state : int
        Seed.

    Returns
    -------
    TTTensor
    """
    rng = np.random.default_rng(random_state)
    ranks = [1] + [rank] * (len(shape) - 1) + [1]
    return TTTensor([rng.standard_normal((ranks[k], n, ranks[k + 1])) for k, n in enumerate(shape)])


def tt_svd_part() -> None:
    """TT-SVD with an error bound and with a rank cap."""
    print("== TT-SVD (Oseledets 2011, survey eq. 8)")
    rng = np.random.default_rng(0)
    x = random_tt((16,) * 5, 6, random_state=1).full()
    x /= np.linalg.norm(x)
    x += 1e-6 * rng.standard_normal(x.shape) / np.sqrt(x.size)
    for eps in (1e-2, 1e-8):
        tt = tt_svd(x, eps=eps)
        print(
            f"eps={eps:g}: ranks {tt.ranks}, reported error {tt.info['rel_error']:.3e}, "
            f"measured {tt.relative_error(x):.3e}, compression {tt.compression_ratio:.0f}x"
        )
    tt = tt_svd(x, ranks=6)
    print(f"ranks=6: ranks {tt.ranks}, error {tt.relative_error(x):.3e} (the noise level)")
    g = tt.cores[1].reshape(-1, tt.ranks[2])
    print(f"core 2 is left-orthonormal: ||G^T G - I|| = {np.linalg.norm(g.T @ g - np.eye(6)):.1e}")


def arithmetic_part() -> None:
    """Operations on the cores, checked against the dense tensors."""
    print("\n== TT arithmetic without densifying")
    a = random_tt((8, 9, 10, 11), 3, random_state=2)
    b = random_tt((8, 9, 10, 11), 2, random_state=3)
    da, db = a.full(), b.full()
    s = a + b
    h = a.hadamard(b)
    print(f"a + b ranks {s.ranks}; error vs dense {np.abs(s.full() - (da + db)).max():.1e}")
    print(f"a * b ranks {h.ranks}; error vs dense {np.abs(h.full() - da * db).max():.1e}")
    print(f"<a, b> = {a.dot(b):.6f} (dense {np.sum(da * db):.6f}); ||a|| = {a.norm():.6f}")
    r = (a + a).round(eps=1e-12)
    print(
        f"round(a + a): ranks {r.ranks} (a has {a.ranks}), equals 2a: "
        f"{np.allclose(r.full(), 2 * da)}"
    )
    idx = np.array([[0, 1, 2, 3], [7, 8, 9, 10]])
    print(f"gather {a.gather(idx)} = dense {da[tuple(idx.T)]}")


def tt_matrix_part() -> None:
    """A TT-matrix weight applied core by core."""
    print("\n== TT-matrix: y = x @ W with W never formed")
    rng = np.random.default_rng(4)
    w = random_tt((32, 32, 32, 16), 4, random_state=5).full().reshape(4, 8, 8, 4, 4, 8, 4, 4)
    w = w.transpose(0, 2, 4, 6, 1, 3, 5, 7).reshape(4 * 8 * 4 * 4, 8 * 4 * 8 * 4)
    ttm = tt_matrix_svd(w, in_modes=(4, 8, 4, 4), out_modes=(8, 4, 8, 4), eps=1e-10)
    x = rng.standard_normal((64, w.shape[0]))
    y = ttm.matmat(x)
    print(
        f"W {w.shape} -> TT-matrix ranks {ttm.ranks}, {ttm.n_params} parameters "
        f"({w.size / ttm.n_params:.0f}x smaller)"
    )
    print(
        f"|matmat(x) - x @ W| = {np.abs(y - x @ w).max():.1e}; "
        f"|rmatmat(y) - y @ W^T| = {np.abs(ttm.rmatmat(y) - y @ w.T).max():.1e}"
    )


def tr_part() -> None:
    """TR-SVD with eps and TR-ALS on a tensor with known TR ranks."""
    print("\n== Tensor ring (Zhao et al. 2016, survey eq. 9)")
    rng = np.random.default_rng(6)
    x = TRTensor([rng.standard_normal((3, n, 3)) for n in (6, 7, 8, 9)]).full()
    tr = tr_svd(x, eps=1e-10)
    print(f"TR-SVD eps=1e-10: ranks {tr.ranks}, error {tr.relative_error(x):.1e}")
    als = tr_als(x, ranks=3, n_restarts=3, random_state=0)
    print(
        f"TR-ALS ranks 3: error {als.info['rel_error']:.1e} after {als.info['n_iter']} sweeps; "
        f"{als.n_params} parameters vs {tr.n_params} for TR-SVD"
    )
    print(f"norm by transfer matrices {als.norm():.6f} vs dense {np.linalg.norm(als.full()):.6f}")


def main() -> None:
    """Run the tour."""
    tt_svd_part()
    arithmetic_part()
    tt_matrix_part()
    tr_part()


if __name__ == "__main__":
    main()
