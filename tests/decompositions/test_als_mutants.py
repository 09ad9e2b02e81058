"""The ALS driver's solve and loop where the mutation run found them weakly pinned down."""

import numpy as np
import pytest

from tensornet.decompositions.als import als, pinv_solve


@pytest.mark.parametrize("scale", [1e-3, 1.0, 1e3])
@pytest.mark.parametrize("two_d", [False, True])
def test_pinv_solve_keeps_small_true_eigenvalues_and_drops_round_off_ones(scale, two_d):
    """``Z`` of rank 3 with singular values ``scale * (1, 1e-2, 1e-3)``: the eigenvalues of
    ``Z Z^T`` near ``1e-6 scale^2`` are real directions and are kept, the round-off ones
    (``~ u scale^2``) are dropped; the result is the minimum-norm least-squares solution,
    for one right-hand side or several."""
    rng = np.random.default_rng(5)
    u, _ = np.linalg.qr(rng.standard_normal((6, 3)))
    v, _ = np.linalg.qr(rng.standard_normal((40, 3)))
    z = scale * (u * np.array([1.0, 1e-2, 1e-3])) @ v.T  # (6, 40), rank 3
    y = rng.standard_normal((40, 2)) if two_d else rng.standard_normal(40)
    got = pinv_solve(z @ z.T, z @ y, inner=40)
    want = np.linalg.lstsq(z.T, y, rcond=None)[0]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-8 * np.abs(want).max())
    assert got.shape == want.shape


def test_run_stops_at_the_first_sweep_that_meets_the_rule_not_later():
    errors = [0.5, 0.5, 0.4, 0.4, 0.3]

    def sweep(i):
        return i + 1, errors[i]

    run = als(lambda _: 0, sweep, n_iter_max=5, tol=1e-9)
    assert run.history == [0.5, 0.5] and run.converged and run.state == 2


def test_without_keep_best_the_last_sweep_is_returned_even_when_an_earlier_one_was_better():
    errors = [0.5, 0.2, 0.25]

    def sweep(i):
        return i + 1, errors[i]

    run = als(lambda _: 0, sweep, n_iter_max=3, tol=0.0)
    assert run.state == 3 and run.rel_error == 0.25 and run.restart_errors == [0.25]
