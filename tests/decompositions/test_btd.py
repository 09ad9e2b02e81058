"""BTD-ALS (survey Sec. II-A.4, eq. 5): monotone error, CP and Tucker special cases, recovery."""

import numpy as np
import pytest
from hypothesis import Phase, assume, example, given, settings
from hypothesis import strategies as st

from tensornet.algebra import khatri_rao, kron
from tensornet.decompositions import btd_als, tucker_hooi
from tensornet.decompositions.btd import _solve_one_term
from tensornet.formats import BTDTensor, CPTensor
from tensornet.testing import random_array, seeds, shapes

FEW = max(5, settings().max_examples // 5)
# ALS tests whose failures would be shrunk by re-running long fits: report the example as found.
NO_SHRINK = [Phase.explicit, Phase.reuse, Phase.generate]


def _exact_btd(shape, n_terms, rank, seed):
    rng = np.random.default_rng(seed)
    terms = [
        (rng.standard_normal((rank,) * len(shape)), [rng.standard_normal((n, rank)) for n in shape])
        for _ in range(n_terms)
    ]
    return BTDTensor(terms).full()


@settings(max_examples=FEW)
@given(shapes(2, 4, 2, 4), st.integers(1, 3), st.integers(1, 2), seeds())
def test_btd_als_error_history_never_increases(shape, n_terms, rank, seed):
    # Well-posed block least-squares problems: the blocks of a mode fit in it (sum L <= I).
    x = random_array(shape, seed)
    n_terms = max(1, min(n_terms, min(shape) // rank))
    ranks = [min(rank, n) for n in shape]
    btd = btd_als(x, n_terms, ranks, n_iter_max=15, tol=0, random_state=seed)
    assert np.all(np.diff(btd.info["history"]) <= 1e-10)
    assert btd.info["rel_error"] == pytest.approx(btd.relative_error(x), abs=1e-7)


# More blocks than a mode has rows (sum_r L_r > I_k) make the factor and core normal equations
# singular; they are solved in the least-squares sense, and the error formula knows its
# round-off (it reported 1e-6 for a true 4e-13 before).
@settings(max_examples=FEW)
@example(shape=(2, 2), n_terms=3, rank=1, seed=15)
@example(shape=(2, 3), n_terms=3, rank=1, seed=3)
@given(shapes(2, 3, 2, 3), st.integers(2, 4), st.integers(1, 2), seeds())
def test_btd_als_error_history_never_increases_when_blocks_outnumber_a_mode_size(
    shape, n_terms, rank, seed
):
    x = random_array(shape, seed)
    ranks = [min(rank, n) for n in shape]
    n_terms = min(max(n_terms, min(shape) // min(ranks) + 1), x.size // int(np.prod(ranks)))
    btd = btd_als(x, n_terms, ranks, n_iter_max=15, tol=0, random_state=seed)
    squared = np.asarray(btd.info["history"]) ** 2
    assert np.all(np.diff(squared) <= 1e-13)
    assert btd.info["rel_error"] == pytest.approx(btd.relative_error(x), abs=1e-9)


@settings(max_examples=FEW)
@given(shapes(2, 4, 2, 4), st.integers(1, 3), seeds())
def test_btd_als_factor_blocks_are_orthonormal(shape, n_terms, seed):
    btd = btd_als(random_array(shape, seed), n_terms, 1, n_iter_max=3, random_state=seed)
    for term in btd.terms:
        for f in term.factors:
            np.testing.assert_allclose(f.T @ f, np.eye(f.shape[1]), atol=1e-10)


@settings(max_examples=min(FEW, 15), phases=NO_SHRINK)  # up to 4 ALS runs of 1000 sweeps
@given(st.lists(st.integers(4, 6), min_size=3, max_size=3).map(tuple), st.integers(1, 2), seeds())
def test_btd_with_rank_one_terms_fits_exact_cp_tensor_like_cp(shape, rank, seed):
    rng = np.random.default_rng(seed)
    x = khatri_rao([rng.standard_normal((n, rank)) for n in shape]).sum(axis=1).reshape(shape)
    btd = btd_als(x, rank, 1, n_iter_max=1000, tol=1e-14, n_restarts=4, random_state=seed)
    assert btd.relative_error(x) < 1e-6
    cp = CPTensor(
        np.array([t.core.item() for t in btd.terms]),
        [np.hstack([t.factors[k] for t in btd.terms]) for k in range(3)],
    )
    np.testing.assert_allclose(cp.full(), btd.full(), atol=1e-10 * np.abs(x).max())


@settings(max_examples=FEW)
@given(st.lists(st.integers(3, 5), min_size=3, max_size=3).map(tuple), st.integers(1, 2), seeds())
def test_btd_with_one_term_matches_tucker_error(shape, rank, seed):
    rng = np.random.default_rng(seed)
    ranks = (rank, rank, rank)
    x = _exact_btd(shape, 1, rank, seed) + 0.05 * rng.standard_normal(shape)
    hooi = tucker_hooi(x, ranks, n_iter_max=500, tol=1e-13, method="eigh")
    btd = btd_als(x, 1, ranks, n_iter_max=500, tol=1e-13, n_restarts=3, random_state=seed)
    assert btd.relative_error(x) == pytest.approx(hooi.relative_error(x), rel=1e-5, abs=1e-8)


@settings(max_examples=FEW)
@given(shapes(2, 4, 2, 5), seeds())
def test_btd_one_term_kronecker_core_solve_equals_joint_normal_equations(shape, seed):
    # One term: the Gram matrix is kron(M_0, M_1, ...), M_k = A_k^T A_k, so solving mode by mode
    # must give the joint solution (here with non-orthonormal A_k, so the M_k are not I).
    rng = np.random.default_rng(seed)
    ranks = tuple(rng.integers(1, n + 1) for n in shape)
    factors = [rng.standard_normal((n, r)) for n, r in zip(shape, ranks, strict=True)]
    rhs = rng.standard_normal(ranks)
    solved = _solve_one_term(rhs, factors, 1.0)
    assume(solved is not None)  # ill-conditioned M_k go to the joint solve
    gram = kron(*[a.T @ a for a in factors])
    expected = np.linalg.solve(gram, rhs.ravel())
    core, err_sq, _ = solved
    np.testing.assert_allclose(
        core.ravel(), expected, rtol=1e-7, atol=1e-7 * np.abs(expected).max()
    )
    assert err_sq == pytest.approx(1.0 - float(expected @ rhs.ravel()), rel=1e-7, abs=1e-7)


# A fixed, small number of examples in every profile: plain ALS (no line search) stalls in a
# swamp on a small fraction of random instances (about 1 in 80, e.g. shape (7, 7, 7) with
# seed 46 creeps from 4e-3 to 3.5e-3 in 3000 sweeps from every start). The examples are
# derandomized in every profile so that the thorough run is reproducible, not flaky.
@settings(max_examples=3, phases=NO_SHRINK, derandomize=True, database=None)
@given(st.lists(st.integers(7, 8), min_size=3, max_size=3).map(tuple), seeds())
def test_btd_als_recovers_exact_btd_tensor(shape, seed):
    # Two generic rank-(2, 2, 2) terms (I >= R L in every mode); ALS can stall in a local
    # minimum or a swamp from a given start, hence the best of a few starts.
    x = _exact_btd(shape, 2, 2, seed)
    btd = btd_als(x, 2, 2, n_iter_max=1000, tol=1e-12, n_restarts=3, random_state=seed)
    assert btd.relative_error(x) < 1e-6


def test_btd_als_term_ranks_forms_and_per_term_ranks():
    x = random_array((4, 5, 6), 0)
    a = btd_als(x, 2, [(1, 2, 2), (2, 1, 1)], n_iter_max=3, random_state=0)
    assert a.term_ranks == ((1, 2, 2), (2, 1, 1))
    b = btd_als(x, 2, (2, 2, 3), n_iter_max=3, random_state=0)
    assert b.term_ranks == ((2, 2, 3), (2, 2, 3))
    assert b.n_params == 2 * (4 * 2 + 5 * 2 + 6 * 3 + 2 * 2 * 3)


def test_btd_als_best_of_restarts_and_seed_reproducible():
    x = random_array((4, 5, 6), 1)
    a = btd_als(x, 2, 2, n_iter_max=10, n_restarts=3, random_state=4)
    b = btd_als(x, 2, 2, n_iter_max=10, n_restarts=3, random_state=4)
    assert a.info["rel_error"] == min(a.info["restart_errors"])
    np.testing.assert_array_equal(a.full(), b.full())


@pytest.mark.parametrize(
    "args, exc, match",
    [
        ((0, 1), ValueError, "n_terms=0"),
        ((2, 0), ValueError, "term_ranks=0"),
        ((2, (2, 2)), ValueError, "one rank per mode"),
        ((2, (2, 9, 2)), ValueError, r"term_ranks\[0\]\[1\]=9 exceeds the size 4"),
        ((2, [(1, 1, 1)]), ValueError, "one per term"),
        ((2, "abc"), TypeError, "term_ranks"),
        ((100000, 1), ValueError, r"n_terms=100000 exceeds the 60 entries of x"),
        ((10**40, 1), ValueError, "exceeds the 60 entries of x"),
        ((4, (2, 3, 3)), ValueError, r"give 72 core entries in all, more than the 60 entries"),
        ((2, 1, {"tol": -1.0}), ValueError, "tol=-1.0 must be >= 0"),
        ((2, 1, {"tol": "0"}), TypeError, "tol must be a real number"),
    ],
)
def test_btd_als_bad_arguments_raise(args, exc, match):
    options = args[-1] if isinstance(args[-1], dict) else {}
    positional = args[:-1] if options else args
    with pytest.raises(exc, match=match):
        btd_als(random_array((3, 4, 5), 0), *positional, **options)


@pytest.mark.parametrize(
    "x, match",
    [
        (np.ones(4), "ndim >= 2"),
        (np.zeros((2, 2)), "all zeros"),
        (np.full((2, 2), np.nan), "finite"),
    ],
)
def test_btd_als_bad_tensor_raises(x, match):
    with pytest.raises(ValueError, match=match):
        btd_als(x, 1, 1)
