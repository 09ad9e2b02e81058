"""Scale equivariance of every decomposition: ``f(c x) = c f(x)`` at ``c = 1e-150`` and ``1e150``.

Sums of squares of data near ``1e±150`` underflow or overflow in float64; the decompositions run
on ``x * 2**-k`` (exact) and fold ``2**k`` back into one factor (``_validation.scale_equivariant``),
so the result for ``c x`` is ``c`` times the result for ``x`` up to rounding, with the same ranks
and the same relative error.
"""

import warnings

import numpy as np
import pytest

import tensornet as tn
from tensornet._validation import power_of_two_scale, scaled_norm
from tensornet.rank.evbmf import evbmf

RNG = np.random.default_rng(0)
X3 = RNG.standard_normal((4, 5, 6))
X446 = RNG.standard_normal((4, 4, 6))
X4 = RNG.standard_normal((4, 5, 3, 3))
M = RNG.standard_normal((12, 10))

CASES = {
    "tt_svd": (X3, lambda x: tn.tt_svd(x, ranks=2)),
    "tt_svd_eps": (X3, lambda x: tn.tt_svd(x, eps=0.5)),
    "tr_svd": (X3, lambda x: tn.tr_svd(x, ranks=2)),
    "tr_svd_eps": (X3, lambda x: tn.tr_svd(x, eps=0.5)),
    "hosvd": (X3, lambda x: tn.hosvd(x, ranks=2)),
    "hosvd_eps": (X3, lambda x: tn.hosvd(x, eps=0.5)),
    "tucker_hooi": (X3, lambda x: tn.tucker_hooi(x, ranks=2, random_state=0)),
    "tucker2": (X4, lambda x: tn.tucker2(x, ranks=2)),
    "stt_svd": (X446, lambda x: tn.stt_svd(x, ranks=2, t=2)),
    "st_tucker": (X446, lambda x: tn.st_tucker(x, 2, t=2)),
    "tt_matrix_svd": (X446.reshape(16, 6), lambda w: tn.tt_matrix_svd(w, (4, 4), (2, 3), ranks=2)),
    "ht_svd": (X3, lambda x: tn.ht_svd(x, ranks=2)),
    "ht_svd_eps": (X3, lambda x: tn.ht_svd(x, eps=0.5)),
    "gkpd": (X446, lambda x: tn.gkpd(x, (2, 2, 3), rank=2)),
    "kpd": (M, lambda m: tn.kpd(m, (3, 2), rank=2)),
    "cp_als": (X3, lambda x: tn.cp_als(x, 2, random_state=0)),
    "tr_als": (X3, lambda x: tn.tr_als(x, 2, random_state=0)),
    "btd_als": (X3, lambda x: tn.btd_als(x, 2, 1, random_state=0)),
    "str_als": (X446, lambda x: tn.str_als(x, 2, t=2, random_state=0)),
}
SCALES = [1e-150, 1e150, 1e-170, 1e200]


def _run(f, x):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return f(x)


#: Exact powers of two as well as ordinary scales: the prescale must be exact for both.
POWERS_OF_TWO = [2.0**-500, 2.0**500]


def _cases():
    for name in sorted(CASES):
        for c in SCALES + POWERS_OF_TWO:
            yield name, c


@pytest.mark.parametrize(("name", "c"), list(_cases()))
def test_decomposition_of_c_x_is_c_times_decomposition_of_x(name, c):
    x, f = CASES[name]
    base, scaled = _run(f, x), _run(f, x * c)
    assert scaled.ranks == base.ranks
    ref = base.full()
    diff = scaled_norm(scaled.full() / c - ref) / scaled_norm(ref)
    assert diff < 1e-9
    assert scaled.relative_error(x * c) == pytest.approx(base.relative_error(x), rel=1e-9)
    assert scaled.norm() / c == pytest.approx(base.norm(), rel=1e-9)
    if "rel_error" in base.info:
        assert scaled.info["rel_error"] == pytest.approx(base.info["rel_error"], rel=1e-9)


@pytest.mark.parametrize("c", SCALES)
@pytest.mark.parametrize("svd", ["truncated", "randomized"])
def test_singular_values_of_c_m_are_c_times_those_of_m(svd, c):
    if svd == "truncated":
        _, s0, _ = tn.truncated_svd(M, rank=3)
        _, s, _ = tn.truncated_svd(M * c, rank=3)
    else:
        _, s0, _ = tn.randomized_svd(M, 3, random_state=0)
        _, s, _ = tn.randomized_svd(M * c, 3, random_state=0)
    np.testing.assert_allclose(s / c, s0, rtol=1e-9)


@pytest.mark.parametrize("c", [1e-170, 1e-150, 1e100, 1e150])
def test_evbmf_rank_of_c_m_equals_rank_of_m_and_sigma2_scales_by_c_squared(c):
    rng = np.random.default_rng(1)
    signal = 10 * rng.standard_normal((30, 2)) @ rng.standard_normal((2, 40))
    m = signal + rng.standard_normal((30, 40))
    base, scaled = evbmf(m), evbmf(m * c)
    assert scaled.rank == base.rank == 2
    # sigma2 is a minimizer's location: fixed to about sqrt(machine epsilon) relative
    assert scaled.sigma2 == pytest.approx(base.sigma2 * c * c, rel=1e-6)
    np.testing.assert_allclose(scaled.s / c, base.s, rtol=1e-9)
    np.testing.assert_allclose(scaled.denoised / c, base.denoised, rtol=1e-7, atol=1e-9)


def test_evbmf_given_sigma2_is_scaled_with_the_data():
    m = np.random.default_rng(2).standard_normal((20, 15))
    base = evbmf(m, sigma2=0.5)
    scaled = evbmf(m * 1e150, sigma2=0.5 * 1e300)
    assert scaled.rank == base.rank
    assert scaled.threshold == pytest.approx(base.threshold * 1e150, rel=1e-9)


def test_power_of_two_scale_is_exact_and_leaves_moderate_data_alone():
    x = X3 * 1e-200
    scaled, scale = power_of_two_scale(x)
    assert np.array_equal(scaled * scale, x)
    assert 0.5 <= np.max(np.abs(scaled)) < 1.0
    same, one = power_of_two_scale(X3)
    assert same is X3 and one == 1.0


@pytest.mark.parametrize("c", [1e-200, 1.0, 1e200])
def test_scaled_norm_equals_c_times_norm(c):
    assert scaled_norm(X3 * c) == pytest.approx(c * np.linalg.norm(X3.ravel()), rel=1e-12)


@pytest.mark.parametrize("c", [1e-150, 1e150])
def test_absolute_info_entries_scale_with_the_data(c):
    """``info`` entries in the data's units (norms, errors, singular values) scale by ``c``."""
    base, scaled = tn.tt_svd(X3, ranks=2), tn.tt_svd(X3 * c, ranks=2)
    assert scaled.info["norm"] / c == pytest.approx(base.info["norm"], rel=1e-12)
    np.testing.assert_allclose(
        np.array(scaled.info["step_errors"]) / c, base.info["step_errors"], rtol=1e-9
    )
    base, scaled = tn.ht_svd(X3, eps=0.5), tn.ht_svd(X3 * c, eps=0.5)
    assert scaled.info["error"] / c == pytest.approx(base.info["error"], rel=1e-9)
    base, scaled = tn.gkpd(X446, (2, 2, 3)), tn.gkpd(X446 * c, (2, 2, 3))
    np.testing.assert_allclose(
        scaled.info["singular_values"] / c, base.info["singular_values"], rtol=1e-9
    )


@pytest.mark.parametrize("c", [1e-200, 1e200])
def test_a_starting_point_in_the_data_units_is_scaled_with_the_data(c):
    """``cp_als(c x, init=c cp0)`` is ``c`` times ``cp_als(x, init=cp0)``."""
    start = _run(lambda x: tn.cp_als(x, 2, random_state=0, n_iter_max=3), X3)
    base = _run(lambda x: tn.cp_als(x, 2, init=start), X3)
    init = tn.CPTensor(start.weights * c, start.factors)
    scaled = _run(lambda x: tn.cp_als(x, 2, init=init), X3 * c)
    np.testing.assert_allclose(scaled.full() / c, base.full(), rtol=1e-7, atol=1e-9)
    np.testing.assert_array_equal(init.weights, start.weights * c)  # the caller's init untouched


@pytest.mark.parametrize("c", [1e-200, 1e200])
def test_energy_rank_and_select_ranks_of_c_x_equal_those_of_x(c):
    from tensornet.rank import energy_rank, select_ranks

    s = np.array([5.0, 3.0, 1.0, 0.5, 0.1])
    assert energy_rank(s * c, 0.9) == energy_rank(s, 0.9) == 2
    y = np.random.default_rng(4).standard_normal((6, 7, 8))
    assert select_ranks(y * c, method="energy", energy=0.5) == select_ranks(
        y, method="energy", energy=0.5
    )
    assert select_ranks(y * c) == select_ranks(y)


def test_warnings_of_a_wrapped_decomposition_point_at_the_caller():
    start = _run(lambda x: tn.cp_als(x, 2, random_state=0, n_iter_max=3), X3)
    with pytest.warns(tn.decompositions.CPDegeneracyWarning) as record:
        tn.cp_als(X3, 2, init=start)
    assert record[0].filename == __file__
