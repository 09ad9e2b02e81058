"""The shared ALS driver (tensornet/decompositions/als.py): restarts, stopping rule, history,
error near an exact fit, and the pseudo-inverse solve."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tensornet.decompositions.als import als, has_converged, pinv_solve, relative_error
from tensornet.testing import seeds


def _scripted(errors_per_run):
    """A start/sweep pair replaying fixed error sequences, one per restart."""

    def start(i):
        return {"run": i, "sweep": 0}

    def sweep(state):
        err = errors_per_run[state["run"]][state["sweep"]]
        return {"run": state["run"], "sweep": state["sweep"] + 1}, err

    return start, sweep


def test_stopping_rule_is_the_absolute_change_of_the_error_below_tol():
    assert not has_converged([0.5], 1.0)
    assert has_converged([0.5, 0.5 - 1e-9], 1e-8)
    assert has_converged([0.5, 0.5 + 1e-9], 1e-8)  # an increase counts the same way
    assert not has_converged([0.5, 0.4], 1e-8)
    assert not has_converged([0.5, 0.5], 0.0)  # tol = 0 never stops


def test_tol_zero_runs_every_sweep_and_history_records_each():
    start, sweep = _scripted([[0.3] * 7])
    run = als(start, sweep, n_iter_max=7, tol=0.0)
    assert run.history == [0.3] * 7 and not run.converged and run.state["sweep"] == 7


def test_run_stops_after_the_sweep_that_meets_the_rule():
    start, sweep = _scripted([[0.5, 0.4, 0.4 - 1e-12, 0.1, 0.0]])
    run = als(start, sweep, n_iter_max=5, tol=1e-9)
    assert run.history == [0.5, 0.4, 0.4 - 1e-12] and run.converged
    assert run.info()["n_iter"] == 3


def test_restarts_keep_the_smallest_final_error_and_the_first_on_a_tie():
    start, sweep = _scripted([[0.5, 0.3], [0.5, 0.2], [0.5, 0.2]])
    run = als(start, sweep, n_iter_max=2, tol=0.0, n_restarts=3)
    assert run.state["run"] == 1
    assert run.rel_error == 0.2 and run.restart_errors == [0.3, 0.2, 0.2]


def test_keep_best_returns_the_best_sweep_not_the_last():
    start, sweep = _scripted([[0.5, 0.2, 0.25]])
    run = als(start, sweep, n_iter_max=3, tol=0.0, keep_best=True)
    assert run.rel_error == 0.2 and run.state["sweep"] == 2 and run.history == [0.5, 0.2, 0.25]


def test_relative_error_uses_the_exact_value_where_the_formula_lost_its_digits():
    def exact():
        return -1.0  # a marker: the callable was used

    assert relative_error(0.25, 1.0, exact) == pytest.approx(0.5)
    assert relative_error(1e-14, 1.0, exact) == -1.0  # below 1e-6 relative
    assert relative_error(1e-10, 1.0, exact, scale_sq=1e4) == -1.0  # below 1e-12 of the scale
    assert relative_error(-1e-20, 1.0, exact) == -1.0  # cancellation made it negative
    assert relative_error(5.0, 0.0, exact) == 0.0  # ||X|| = 0


@given(st.integers(1, 6), st.integers(1, 6), seeds())
def test_pinv_solve_is_the_minimum_norm_least_squares_solution(n, rank, seed):
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, min(rank, n))) @ rng.standard_normal((min(rank, n), 8))
    y = rng.standard_normal(8)
    got = pinv_solve(z @ z.T, z @ y, inner=8)
    want = np.linalg.lstsq(z.T, y, rcond=None)[0]  # minimum-norm minimizer of ||y - Z^T w||
    # The same fit (to round-off squared by the normal equations) and no larger norm.
    fit_got, fit_want = np.linalg.norm(y - z.T @ got), np.linalg.norm(y - z.T @ want)
    assert fit_got == pytest.approx(fit_want, abs=1e-7 * np.linalg.norm(y))
    assert np.linalg.norm(got) <= np.linalg.norm(want) * (1 + 1e-6) + 1e-9
