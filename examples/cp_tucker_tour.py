"""A tour of the SVD, CP, Tucker, Tucker-2, BTD and rank-selection tools of tensornet.

Run: ``python examples/cp_tucker_tour.py``. Every step prints what it found and the guarantee
it checks (survey Sec. II-A.1-4 and II-B.1).
"""

from __future__ import annotations

import numpy as np

import tensornet as tn
from tensornet.formats import BTDTensor
from tensornet.rank import evbmf, select_ranks


def low_rank_tensor(
    shape: tuple[int, ...], rank: int, noise: float, random_state: int
) -> np.ndarray:
    """A random CP tensor of rank ``rank`` plus Gaussian noise of relative size ``noise``.

    Parameters
    ----------
    shape : tuple of int
        Tensor shape.
    rank : int
        CP rank of the signal.
    noise : float
        Relative Frobenius size of the noise.
    random_state : int
        Seed.

    Returns
    -------
    numpy.ndarray
    """
    rng = np.random.default_rng(random_state)
    factors = [rng.standard_normal((n, rank)) for n in shape]
    x = tn.khatri_rao(factors).sum(axis=1).reshape(shape)
    e = rng.standard_normal(shape)
    return x + noise * np.linalg.norm(x) / np.linalg.norm(e) * e


def main() -> None:
    """Run the tour and print one line per step."""
    x = low_rank_tensor((30, 35, 40), rank=4, noise=0.01, random_state=0)
    norm = np.linalg.norm(x)

    u, s, vt = tn.truncated_svd(tn.unfold(x, 0), eps=0.05)
    print(f"truncated_svd(eps=0.05) of X_(0): rank {len(s)}")

    evb, energy = select_ranks(x), select_ranks(x, "energy", 0.999)
    print(f"select_ranks: EVBMF {evb}, 99.9 % energy {energy}")

    cp = tn.cp_als(x, 4, n_restarts=2, random_state=0)
    print(
        f"cp_als rank 4: rel. error {cp.info['rel_error']:.2e} after {cp.info['n_iter']} sweeps, "
        f"norm {cp.norm():.4f} vs {norm:.4f}, {cp.n_params} parameters"
    )

    h = tn.hosvd(x, eps=0.02)
    print(
        f"hosvd(eps=0.02): ranks {h.ranks}, error {h.info['rel_error']:.2e} "
        f"<= bound {h.info['error_bound']:.2e} <= 0.02"
    )
    t = tn.tucker_hooi(x, h.ranks)
    print(f"tucker_hooi: error {t.info['rel_error']:.2e} (never worse than HOSVD)")

    kernel = np.random.default_rng(1).standard_normal((64, 32, 3, 3))
    k2 = tn.tucker2(kernel, (16, 8))
    print(
        f"tucker2 of a 64x32x3x3 kernel at ranks (16, 8): {k2.n_params} of {kernel.size} "
        f"parameters, rel. error {k2.relative_error(kernel):.3f}"
    )

    rng = np.random.default_rng(2)
    terms = [
        (rng.standard_normal((2, 2, 2)), [rng.standard_normal((8, 2)) for _ in range(3)])
        for _ in range(2)
    ]
    y = BTDTensor(terms).full()
    btd = tn.btd_als(y, 2, (2, 2, 2), n_iter_max=300, tol=1e-12, n_restarts=4, random_state=0)
    print(f"btd_als on an exact 2-term BTD: rel. error {btd.info['rel_error']:.1e}")

    noise = np.random.default_rng(3).standard_normal((50, 80))
    print("evbmf on pure noise: rank", evbmf(noise).rank)


if __name__ == "__main__":
    main()
