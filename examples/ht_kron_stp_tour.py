"""A tour of hierarchical Tucker, Kronecker (GKPD) and semi-tensor-product formats.

Run ``python examples/ht_kron_stp_tour.py``. It

1. decomposes a 6-way tensor with known structure by the hierarchical SVD (Grasedyck 2010) on
   the balanced and on a custom dimension tree, checks the eps guarantee and uses the HT
   "chain computation" (survey Fig. 3) as a layer would;
2. fits a weight matrix by KPD / GKPD (Van Loan-Pitsianis rearrangement, survey eq. 11-13) at
   several Kronecker ranks and shows that the reported error is the singular-value tail;
3. fits STTucker / STT / STR (survey eq. 14-16) through the exact reductions derived in
   ``docs/guide/stp-formats.md`` and shows the equivalent ordinary formats.
"""

from __future__ import annotations

import numpy as np

from tensornet.algebra import mkron
from tensornet.decompositions import gkpd, ht_svd, kpd, st_tucker, str_als, stt_svd
from tensornet.formats import DimensionTree


def tt_tensor(shape: tuple[int, ...], rank: int, random_state: int) -> np.ndarray:
    """A random tensor with all TT ranks equal to ``rank`` (unit norm).

    Parameters
    ----------
    shape : tuple of int
        The shape.
    rank : int
        The TT rank.
    random_state : int
        Seed.

    Returns
    -------
    numpy.ndarray
    """
    rng = np.random.default_rng(random_state)
    ranks = [1] + [rank] * (len(shape) - 1) + [1]
    x = np.ones((1, 1))
    for k, n in enumerate(shape):
        x = (x @ rng.standard_normal((ranks[k], n * ranks[k + 1]))).reshape(-1, ranks[k + 1])
    x = x.reshape(shape)
    return x / np.linalg.norm(x)


def hierarchical_tucker() -> None:
    """Part 1: HT-SVD on two trees, the eps bound, and the batch contraction."""
    print("== Hierarchical Tucker ==")
    x = tt_tensor((4, 5, 4, 5, 4, 5), rank=3, random_state=0)
    noise = np.random.default_rng(1).standard_normal(x.shape)
    x += 1e-3 * noise / np.linalg.norm(noise)  # relative noise 1e-3 (x has unit norm)
    for tree in (None, DimensionTree.linear(6), ((0, 3), ((1, 4), (2, 5)))):
        h = ht_svd(x, eps=1e-2, tree=tree)
        print(
            f"tree {h.tree.spec}: ranks {h.ranks}, {h.n_params} params "
            f"({h.compression_ratio:.0f}x), error {h.relative_error(x):.2e} <= 1e-2, "
            f"reported {h.info['rel_error']:.2e}"
        )
    # The HT layer's product: read x's axes as pairs (i_k, j_k), i.e. a 3-way tensor with
    # modes i_k * 5 + j_k, which is the (4·4·4) x (5·5·5) matrix W with interleaved modes.
    # contract() multiplies a batch of tensorized inputs by W without forming W.
    w = x.transpose(0, 2, 4, 1, 3, 5).reshape(64, 125)
    h = ht_svd(x.reshape(20, 20, 20), eps=1e-2)
    batch = np.random.default_rng(2).standard_normal((8, 64))
    y = h.contract(batch.reshape(8, 4, 4, 4), in_modes=(4, 4, 4), out_modes=(5, 5, 5))
    dense = batch @ w
    print(
        f"chain computation: output {y.shape}, relative deviation from the dense product "
        f"{np.linalg.norm(y.reshape(8, -1) - dense) / np.linalg.norm(dense):.2e}"
    )


def kronecker() -> None:
    """Part 2: KPD of a matrix and GKPD of a 4-way tensor."""
    print("\n== Kronecker product decomposition ==")
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((28, 15)), rng.standard_normal((28, 20))
    m = np.kron(a, b) + 0.05 * rng.standard_normal((784, 300))
    for rank in (1, 2, 8):
        k = kpd(m, a_shape=(28, 15), rank=rank)
        print(
            f"KPD rank {rank}: {k.n_params} params ({k.compression_ratio:.0f}x), error "
            f"{k.relative_error(m):.3e} = reported {k.info['rel_error']:.3e}"
        )
    x = mkron(rng.standard_normal((4, 4, 4, 4)), rng.standard_normal((4, 4, 4, 4)))
    k = gkpd(x, a_shape=(4, 4, 4, 4), rank=1)
    print(f"GKPD of an exact 4-way Kronecker product: rank 1, error {k.relative_error(x):.1e}")


def semi_tensor() -> None:
    """Part 3: STP formats fitted through their ordinary counterparts."""
    print("\n== Semi-tensor-product formats (fitting is our derivation) ==")
    x = tt_tensor((8, 8, 8, 8), rank=2, random_state=4)
    stt = stt_svd(x, ranks=4, t=2)
    tt = stt.to_tt()
    print(
        f"STT ranks {stt.ranks} ({stt.n_params} params) = TT ranks {tt.ranks} "
        f"({tt.n_params} params); error {stt.relative_error(x):.1e}"
    )
    stu = st_tucker(x, ranks=4, t=2)
    print(
        f"STTucker ranks {stu.ranks}: {stu.n_params} params (Tucker with A ⊗ I_2 factors "
        f"would store {stu.to_tucker().n_params}); error {stu.relative_error(x):.3f}"
    )
    strr = str_als(x, ranks=4, t=2, n_iter_max=30, random_state=0)
    print(
        f"STR ranks {strr.ranks}: {strr.n_params} params; the equivalent TR {strr.to_tr().ranks} "
        f"stores {strr.to_tr().n_params}; error {strr.relative_error(x):.1e}"
    )


if __name__ == "__main__":
    hierarchical_tucker()
    kronecker()
    semi_tensor()
