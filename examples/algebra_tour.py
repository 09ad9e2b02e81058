"""A tour of tensornet's tensor algebra, checking a few identities along the way.

Run with ``python examples/algebra_tour.py``. Every printed "check" compares two independent
computations of the same quantity (survey Table II, eq. 11 and eq. 14-16).
"""

from __future__ import annotations

import numpy as np

import tensornet as tn


def check(name: str, left: np.ndarray, right: np.ndarray) -> None:
    """Print whether two arrays agree to round-off, and fail loudly if they do not.

    Parameters
    ----------
    name : str
        The identity being checked.
    left, right : numpy.ndarray
        Its two sides.
    """
    err = float(np.max(np.abs(np.asarray(left) - np.asarray(right))))
    print(f"  check {name:<48} max |difference| = {err:.1e}")
    if err > 1e-10:
        raise AssertionError(f"{name} does not hold (difference {err})")


def main() -> None:
    """Walk through unfoldings, mode products, Kronecker-type products, MTTKRP and the STP."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4, 5))

    print("Unfolding (C order: remaining modes keep their order, the last varies fastest)")
    x1 = tn.unfold(x, 1)
    print(f"  x.shape = {x.shape}, unfold(x, 1).shape = {x1.shape}")
    check("fold(unfold(x, 1)) = x", tn.fold(x1, 1, x.shape), x)

    print("Mode-n product")
    a = rng.standard_normal((2, 4))
    y = tn.mode_dot(x, a, 1)
    print(f"  mode_dot(x, A (2x4), 1).shape = {y.shape}")
    check("unfold(x ×_1 A, 1) = A · x_(1)", tn.unfold(y, 1), a @ x1)
    b = rng.standard_normal((6, 5))
    check(
        "(x ×_1 A) ×_2 B = (x ×_2 B) ×_1 A",
        tn.mode_dot(tn.mode_dot(x, a, 1), b, 2),
        tn.mode_dot(tn.mode_dot(x, b, 2), a, 1),
    )

    print("Kronecker, Khatri-Rao, outer, multidimensional Kronecker")
    c, d = rng.standard_normal((3, 2)), rng.standard_normal((4, 2))
    m = rng.standard_normal((2, 2))
    check("vec(C M D^T) = (C ⊗ D) vec(M)", (c @ m @ d.T).ravel(), tn.kron(c, d) @ m.ravel())
    check("column r of C ⊙ D = c_r ⊗ d_r", tn.khatri_rao([c, d])[:, 1], np.kron(c[:, 1], d[:, 1]))
    check("sum_r c_r ∘ d_r = C D^T", sum(tn.outer([c[:, r], d[:, r]]) for r in range(2)), c @ d.T)
    check("(C ⊙ D) 1 = vec(C D^T)", tn.khatri_rao([c, d]).sum(axis=1), (c @ d.T).ravel())
    g, h = rng.standard_normal((2, 3, 2)), rng.standard_normal((2, 2, 3))
    k = tn.mkron(g, h)
    print(f"  mkron of {g.shape} and {h.shape} has shape {k.shape} (eq. 11)")
    check("mkron index rule at (3, 4, 5)", k[3, 4, 5], g[1, 2, 1] * h[1, 0, 2])

    print("MTTKRP (the CP-ALS hot spot)")
    factors = [rng.standard_normal((n, 3)) for n in x.shape]
    check(
        "mttkrp(x, A, 1) = x_(1) · (A_0 ⊙ A_2)",
        tn.mttkrp(x, factors, 1),
        x1 @ tn.khatri_rao(factors, skip=1),
    )

    print("Semi-tensor product (eq. 14-15) and semi-tensor mode product (eq. 16)")
    p = np.array([[1, 0, 0, 0], [0, 1, 1, 1]])
    q = np.array([[1, 1, 0, 1], [0, 0, 1, 0]])
    print("  [[1,0,0,0],[0,1,1,1]] ⋉ [[1,1,0,1],[0,0,1,0]] =")
    print("  " + str(tn.stp(p, q).astype(int)).replace("\n", "\n  "))
    u, w, z = (rng.standard_normal(s) for s in [(2, 6), (4, 3), (9, 2)])
    check("(U ⋉ W) ⋉ Z = U ⋉ (W ⋉ Z)", tn.stp(tn.stp(u, w), z), tn.stp(u, tn.stp(w, z)))
    check("(U ⋉ W)^T = W^T ⋉ U^T", tn.stp(u, w).T, tn.stp(w.T, u.T))
    check(
        "U ⋉ W = (U ⊗ I_2)(W ⊗ I_3), t = lcm(6, 4)",
        tn.stp(u, w),
        np.kron(u, np.eye(2)) @ np.kron(w, np.eye(3)),
    )
    v = rng.standard_normal((5, 2))
    s = tn.stp_mode_dot(x, v, 1)  # mode 1 has size 4 = 2 · t with t = 2
    print(f"  stp_mode_dot(x, V (5x2), 1).shape = {s.shape}")
    check("stp_mode_dot(x, V, 1) = x ×_1 (V ⊗ I_2)", s, tn.mode_dot(x, np.kron(v, np.eye(2)), 1))

    print("\n== The Gram matrix of a short, wide unfolding (Numba kernel up to 32 rows)")
    big = rng.standard_normal((16, 8, 8, 8, 8, 8))  # first unfolding 16 x 32768
    x1 = tn.unfold(big, 0)
    check("gram(X_(0)) = X_(0) X_(0)^T", tn.gram(x1), x1 @ x1.T)
    print("All identities hold.")


if __name__ == "__main__":
    main()
