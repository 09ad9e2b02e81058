"""Tests of tensornet/rank/budget.py: rank profiles, eps/energy/proportional ranks, budgets."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tensornet.algebra import unfold
from tensornet.rank.budget import (
    Budget,
    evbmf_ranks,
    largest_fraction,
    minimax_eps,
    rank_profile,
)


def _low_rank(shape, rank, seed=0, noise=0.0):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((shape[0], rank)) @ rng.standard_normal((rank, shape[1]))
    return w + noise * rng.standard_normal(shape)


@given(seed=st.integers(0, 10_000), eps=st.floats(0.0, 0.99))
def test_svd_eps_ranks_meet_the_bound_and_one_less_does_not(seed, eps):
    w = np.random.default_rng(seed).standard_normal((12, 9))
    prof = rank_profile(w, "svd")
    (r,) = prof.ranks_for_eps(eps)
    u, s, vt = np.linalg.svd(w, full_matrices=False)
    err = np.linalg.norm(w - (u[:, :r] * s[:r]) @ vt[:r]) / np.linalg.norm(w)
    assert err <= eps + 1e-12
    assert math.isclose(prof.error_bound((r,)), err, rel_tol=1e-9, abs_tol=1e-12)
    if r > 1:
        assert prof.error_bound((r - 1,)) > eps


@given(seed=st.integers(0, 10_000), eps=st.floats(0.01, 0.9))
def test_tucker2_eps_ranks_hosvd_error_within_eps(seed, eps):
    w = np.random.default_rng(seed).standard_normal((6, 5, 3, 3))
    prof = rank_profile(w, "tucker2")
    r_out, r_in = prof.ranks_for_eps(eps)
    uo = np.linalg.svd(unfold(w, 0), full_matrices=False)[0][:, :r_out]
    ui = np.linalg.svd(unfold(w, 1), full_matrices=False)[0][:, :r_in]
    approx = np.einsum("oa,pa,cb,qb,pqhw->ochw", uo, uo, ui, ui, w)
    err = np.linalg.norm(w - approx) / np.linalg.norm(w)
    assert err <= prof.error_bound((r_out, r_in)) + 1e-12
    assert prof.error_bound((r_out, r_in)) <= eps + 1e-12


def test_parameter_and_flop_counts_follow_the_survey_tables():
    w = np.ones((8, 6, 3, 3))
    svd = rank_profile(w, "svd", bias=8, padding=(1, 1))
    assert svd.n_params((2,)) == 2 * (6 * 3 * 3 + 8) + 8
    assert svd.flops((2,), (4, 6, 10, 10)) == 4 * 10 * 10 * 2 * (6 * 9 + 8)
    tk = rank_profile(w, "tucker2", stride=(2, 2))
    # 1x1 C->r_in on 10x10, 3x3 r_in->r_out stride 2 (4x4 out), 1x1 r_out->O
    assert tk.n_params((3, 2)) == 6 * 2 + 2 * 3 * 9 + 3 * 8
    assert tk.flops((3, 2), (1, 6, 10, 10)) == 100 * 6 * 2 + 16 * (2 * 3 * 9 + 3 * 8)
    lin = rank_profile(np.ones((10, 4)), "svd", bias=4)
    assert lin.n_params((3,)) == 3 * 14 + 4 and lin.flops((3,), (5, 10)) == 5 * 3 * 14


def test_energy_and_proportional_ranks():
    s = np.array([3.0, 2.0, 1.0])
    w = np.diag(s)
    prof = rank_profile(w, "svd")
    assert prof.ranks_for_energy(9 / 14) == (1,)
    assert prof.ranks_for_energy(13 / 14 + 1e-9) == (3,)
    assert prof.ranks_for_fraction(0.5) == (2,) and prof.ranks_for_fraction(0.0) == (1,)
    tk = rank_profile(np.ones((8, 6, 3, 3)), "tucker2")
    assert tk.ranks_for_fraction(0.5) == (4, 3)


def test_evbmf_finds_the_planted_rank():
    w = _low_rank((60, 40), 5, noise=0.01)
    assert evbmf_ranks(w, "svd") == (5,)
    assert evbmf_ranks(np.random.default_rng(0).standard_normal((8, 6, 3, 3)), "tucker2")[0] >= 1


@given(seed=st.integers(0, 10_000), frac=st.floats(0.05, 0.9))
def test_minimax_eps_fits_budget_and_is_the_smallest_that_does(seed, frac):
    rng = np.random.default_rng(seed)
    profs = [rank_profile(rng.standard_normal(s), "svd") for s in [(20, 15), (15, 10), (10, 4)]]
    dense = sum(p.n_params(p.max_ranks) for p in profs)
    floor = sum(p.n_params((1,)) for p in profs)
    budget = max(int(frac * dense), floor)
    costs = [lambda e, p=p: p.n_params(p.ranks_for_eps(e)) for p in profs]
    points = np.concatenate([p.breakpoints() for p in profs])
    eps = minimax_eps(costs, budget, candidates=points)
    assert sum(c(eps) for c in costs) <= budget
    smaller = points[points < eps]
    if smaller.size:  # the next smaller candidate does not fit: eps is minimal
        assert sum(c(float(smaller.max())) for c in costs) > budget
    bisected = minimax_eps(costs, budget, tol=1e-7)
    assert sum(c(bisected) for c in costs) <= budget
    assert abs(bisected - eps) <= 1e-6


def test_minimax_eps_names_layers_when_the_budget_is_impossible():
    profs = [rank_profile(np.ones((20, 15)), "svd"), rank_profile(np.ones((5, 4)), "svd")]
    costs = [lambda e, p=p: p.n_params(p.ranks_for_eps(e)) for p in profs]
    with pytest.raises(ValueError, match=r"budget of 30 params.*need 44 \(fc1: 35, fc2: 9\)"):
        minimax_eps(costs, 30, names=["fc1", "fc2"])
    with pytest.raises(ValueError, match="fc2: 9"):
        largest_fraction(
            [lambda r, p=p: p.n_params(p.ranks_for_fraction(r)) for p in profs],
            30,
            names=["fc1", "fc2"],
        )


def test_largest_fraction_fits_and_a_bit_more_does_not():
    profs = [
        rank_profile(np.random.default_rng(i).standard_normal((30, 20)), "svd") for i in (0, 1)
    ]
    costs = [lambda r, p=p: p.n_params(p.ranks_for_fraction(r)) for p in profs]
    rho = largest_fraction(costs, 400, tol=1e-6)
    assert sum(c(rho) for c in costs) <= 400 < sum(c(rho + 1e-5) for c in costs)


def test_budget_checks_its_arguments():
    assert Budget(0.5).limit(1000) == 500 and Budget(300).limit(1000) == 300
    assert Budget.coerce(10).kind == "params"
    with pytest.raises(ValueError, match="budget=-1"):
        Budget(-1)
    with pytest.raises(ValueError, match="count"):
        Budget(2.5)
    with pytest.raises(ValueError, match="input_shape"):
        Budget(100, kind="flops")
    with pytest.raises(ValueError, match="budget.kind"):
        Budget(100, kind="bytes")
    with pytest.raises(ValueError, match="Tucker-2 needs a 4-D"):
        rank_profile(np.ones((3, 4)), "tucker2")


W_SVD = np.arange(12.0).reshape(3, 4) + np.eye(3, 4)


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda p: p.ranks_for_eps(-0.1), ValueError, r"eps=-0.1 must be >= 0"),
        (lambda p: p.ranks_for_eps(float("nan")), ValueError, "eps=nan must be a finite number"),
        (lambda p: p.ranks_for_eps(float("inf")), ValueError, "eps=inf must be a finite number"),
        (lambda p: p.ranks_for_eps("0.1"), TypeError, "eps must be a real number"),
        (lambda p: p.ranks_for_energy(float("nan")), ValueError, "energy=nan"),
        (lambda p: p.ranks_for_fraction(-0.5), ValueError, r"rho=-0.5 must be >= 0"),
        (lambda p: p.ranks_for_fraction(1.5), ValueError, r"rho=1.5 must be <= 1"),
        (lambda p: p.ranks_for_fraction(float("nan")), ValueError, "rho=nan"),
        (lambda p: p.error_bound((0,)), ValueError, r"ranks\[0\]=0 must be >= 1"),
        (lambda p: p.error_bound((1, 1)), ValueError, "one rank per unfolding"),
        (lambda p: p.n_params((-1,)), ValueError, r"ranks\[0\]=-1 must be >= 1"),
        (lambda p: p.flops((1,), (0, 3)), ValueError, r"input_shape\[0\]=0 must be >= 1"),
        (lambda p: p.flops((1,), (2, 3, 1, 1)), ValueError, "input_shape=.* must have 2 axes"),
    ],
)
def test_rank_profile_methods_refuse_bad_arguments_by_name(call, exc, match):
    with pytest.raises(exc, match=match):
        call(rank_profile(W_SVD, "svd"))


def test_eps_of_one_and_more_is_allowed_and_gives_rank_one():
    prof = rank_profile(W_SVD, "svd")
    assert prof.ranks_for_eps(1.0) == (1,)
    assert prof.ranks_for_eps(5.0) == (1,)
    assert prof.ranks_for_eps(0.0) == (3,)


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: minimax_eps([lambda e: 1], 5, tol=0.0), ValueError, r"tol=0.0 must be > 0"),
        (lambda: minimax_eps([lambda e: 1], 5, tol=float("nan")), ValueError, "tol=nan"),
        (lambda: minimax_eps([lambda e: 1], 5, eps_max=float("nan")), ValueError, "eps_max=nan"),
        (lambda: minimax_eps([1], 5), TypeError, r"costs\[0\] must be a callable"),
        (lambda: minimax_eps([lambda e: 1], 5, names=["a", "b"]), ValueError, "names has 2"),
        (
            lambda: minimax_eps([lambda e: 1], 5, candidates=[0.1, float("nan")]),
            ValueError,
            "candidates must be finite",
        ),
        (lambda: largest_fraction([lambda r: 1], 5, tol=-1.0), ValueError, r"tol=-1.0 must be > 0"),
        (lambda: Budget(10, kind="flops", input_shape=(0, 3)), ValueError, "input_shape"),
        (lambda: Budget(0.5).limit(-3), ValueError, "dense_total=-3 must be >= 0"),
        (lambda: rank_profile(W_SVD, "svd", stride=(0, 1)), ValueError, r"stride\[0\]=0"),
        (lambda: rank_profile(W_SVD, "svd", padding=(1,)), ValueError, "padding=.* a pair"),
    ],
)
def test_budget_searches_refuse_bad_arguments_by_name(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
