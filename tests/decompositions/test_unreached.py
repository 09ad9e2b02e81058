"""Branches of the decompositions that no other test reached (found by a line-coverage run).

Each is a documented behaviour: closed ``d + 1`` TR ranks, a Tucker warm start for HOOI and its
checks, the refusal of a CP warm start of the wrong shape, of a ``b_shape`` of the wrong
length, and of a ``term_ranks`` of the wrong type.
"""

import numpy as np
import pytest

import tensornet as tn
from tensornet.decompositions.kron import kron_rearrange

RNG = np.random.default_rng(31)
X = RNG.standard_normal((4, 5, 6))


# ---------------------------------------------------------------------------- TR: d + 1 ranks
def test_tr_ranks_given_closed_with_r_d_equal_r_0_are_the_d_ranks():
    np.testing.assert_array_equal(
        tn.tr_svd(X, ranks=[2, 3, 2, 2]).full(), tn.tr_svd(X, ranks=[2, 3, 2]).full()
    )
    a = tn.tr_als(X, [2, 3, 2, 2], n_iter_max=3, random_state=0)
    b = tn.tr_als(X, [2, 3, 2], n_iter_max=3, random_state=0)
    assert a.ranks == b.ranks == (2, 3, 2, 2)
    np.testing.assert_array_equal(a.full(), b.full())
    with pytest.raises(ValueError, match=r"ranks\[0\]=2 and ranks\[3\]=3 must be equal"):
        tn.tr_svd(X, ranks=[2, 3, 2, 3])


# ---------------------------------------------------------------------------- HOOI warm start
def test_tucker_hooi_from_the_hosvd_as_a_tucker_tensor_equals_the_default_hosvd_start():
    """With exact subspace updates the first update of mode 0 ignores its starting factor, so a
    HOSVD start given as a TuckerTensor runs the same iterates as ``init="hosvd"``."""
    ranks = (2, 3, 2)
    start = tn.hosvd(X, ranks)
    a = tn.tucker_hooi(X, ranks, init=start, method="eigh", n_iter_max=4, tol=0)
    b = tn.tucker_hooi(X, ranks, method="eigh", n_iter_max=4, tol=0)
    np.testing.assert_allclose(a.info["history"], b.info["history"], rtol=1e-10)
    np.testing.assert_allclose(a.full(), b.full(), atol=1e-10)


def test_tucker_hooi_warm_start_factors_are_orthonormalized_and_honoured():
    ranks = (2, 3, 2)
    start = tn.tucker_hooi(X, ranks, init="random", random_state=3, n_iter_max=1)
    scaled = tn.TuckerTensor(start.core, [3.0 * start.factor(n) for n in range(3)])
    a = tn.tucker_hooi(X, ranks, init=scaled, n_iter_max=1)
    b = tn.tucker_hooi(X, ranks, init=start, n_iter_max=1)
    np.testing.assert_allclose(a.full(), b.full(), atol=1e-10)  # only the spans matter
    for n in range(3):
        u = a.factor(n)
        np.testing.assert_allclose(u.T @ u, np.eye(ranks[n]), atol=1e-12)
    # the first sweep starts from the given factors, not from the HOSVD
    hosvd_start = tn.tucker_hooi(X, ranks, n_iter_max=1)
    assert a.info["history"][0] != pytest.approx(hosvd_start.info["history"][0], rel=1e-9)


def test_tucker_hooi_refuses_a_warm_start_of_another_shape_or_ranks():
    start = tn.hosvd(X, (2, 3, 2))
    with pytest.raises(ValueError, match=r"init has shape \(4, 5, 6\), expected \(4, 5, 7\)"):
        tn.tucker_hooi(RNG.standard_normal((4, 5, 7)), (2, 3, 2), init=start)
    with pytest.raises(ValueError, match=r"init has ranks \(2, 3, 2\), expected"):
        tn.tucker_hooi(X, (2, 2, 2), init=start)


# ---------------------------------------------------------------------------- refusals
def test_cp_als_refuses_a_warm_start_of_another_shape_or_rank():
    start = tn.cp_als(X, 2, n_iter_max=2, random_state=0)
    with pytest.raises(ValueError, match=r"init has shape \(4, 5, 6\) and rank 2, expected"):
        tn.cp_als(X, 3, init=start)
    with pytest.raises(ValueError, match="init has shape"):
        tn.cp_als(RNG.standard_normal((4, 5, 7)), 2, init=start)


def test_gkpd_refuses_a_b_shape_of_the_wrong_length():
    with pytest.raises(ValueError, match=r"b_shape=\(2, 5\) has 2 entries but the tensor"):
        tn.gkpd(X, (2, 1, 2), (2, 5))


@pytest.mark.parametrize("term_ranks", [1.5, None, {"a": 1}])
def test_btd_als_refuses_term_ranks_of_the_wrong_type(term_ranks):
    with pytest.raises(TypeError, match="term_ranks must be an int, a sequence of ints"):
        tn.btd_als(X, 2, term_ranks)


def test_gkpd_and_kpd_default_to_one_kronecker_term():
    """``rank=1`` is the documented default: the nearest Kronecker product (Van Loan)."""
    x = RNG.standard_normal((4, 4, 6))
    assert tn.gkpd(x, (2, 2, 3)).ranks == (1,)
    m = RNG.standard_normal((6, 10))
    k = tn.kpd(m, (3, 2))
    assert k.ranks == (1,)
    s = np.linalg.svd(kron_rearrange(m, (3, 2)), compute_uv=False)
    assert k.info["error"] == pytest.approx(np.sqrt(np.sum(s[1:] ** 2)), rel=1e-10)
