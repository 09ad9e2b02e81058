"""Analytic EVBMF (Nakajima et al., JMLR 2013) and per-mode rank selection."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tensornet.algebra import multi_mode_dot
from tensornet.rank import energy_rank, evbmf, select_ranks
from tests.strategies import seeds

dims = st.integers(20, 60)

#: The thorough profile's 400 examples of these SVD-heavy properties cost most of its CI time;
#: they stay at the profile's count when it is lower (the default profile's 25).
CAP = settings(max_examples=min(settings().max_examples, 100))
CAP_TUCKER = settings(max_examples=min(settings().max_examples, 60))


def _signal_plus_noise(n_rows, n_cols, rank, seed, strength=None):
    """Rank-``rank`` signal with singular values well above the EVB threshold, plus N(0, 1)."""
    rng = np.random.default_rng(seed)
    u = np.linalg.qr(rng.standard_normal((n_rows, rank)))[0]
    v = np.linalg.qr(rng.standard_normal((n_cols, rank)))[0]
    big = np.sqrt(max(n_rows, n_cols)) * 6.0 if strength is None else strength
    s = big * np.linspace(2.0, 1.0, rank)
    return (u * s) @ v.T + rng.standard_normal((n_rows, n_cols))


@CAP
@given(dims, dims, seeds())
def test_evbmf_pure_noise_gives_rank_zero(n_rows, n_cols, seed):
    noise = np.random.default_rng(seed).standard_normal((n_rows, n_cols))
    result = evbmf(noise)
    assert result.rank == 0
    assert result.U.shape == (n_rows, 0) and result.Vt.shape == (0, n_cols)
    assert result.denoised.shape == (n_rows, n_cols) and not np.any(result.denoised)


@CAP
@given(dims, dims, st.integers(1, 5), seeds())
def test_evbmf_strong_signal_plus_noise_gives_true_rank(n_rows, n_cols, rank, seed):
    result = evbmf(_signal_plus_noise(n_rows, n_cols, rank, seed))
    assert result.rank == rank
    assert 0.5 < result.sigma2 < 2.0  # the noise variance is 1


@CAP
@given(dims, dims, st.integers(0, 4), seeds(), st.floats(1e-3, 1e3))
def test_evbmf_rank_invariant_to_scaling_and_sigma2_scales(n_rows, n_cols, rank, seed, c):
    v = (
        _signal_plus_noise(n_rows, n_cols, rank, seed)
        if rank
        else np.random.default_rng(seed).standard_normal((n_rows, n_cols))
    )
    base, scaled = evbmf(v), evbmf(c * v)
    assert scaled.rank == base.rank
    assert scaled.sigma2 == pytest.approx(c**2 * base.sigma2, rel=1e-4)
    np.testing.assert_allclose(scaled.s, c * base.s, rtol=1e-4)


@CAP
@given(dims, dims, st.integers(0, 4), seeds())
def test_evbmf_invariant_to_transposition(n_rows, n_cols, rank, seed):
    v = (
        _signal_plus_noise(n_rows, n_cols, rank, seed)
        if rank
        else np.random.default_rng(seed).standard_normal((n_rows, n_cols))
    )
    a, b = evbmf(v), evbmf(v.T)
    assert a.rank == b.rank
    assert a.sigma2 == pytest.approx(b.sigma2, rel=1e-6)
    np.testing.assert_allclose(a.denoised, b.denoised.T, atol=1e-6 * np.abs(v).max())


@CAP
@given(dims, dims, st.integers(1, 4), seeds())
def test_evbmf_shrinks_kept_values_above_threshold(n_rows, n_cols, rank, seed):
    v = _signal_plus_noise(n_rows, n_cols, rank, seed)
    r = evbmf(v)
    kept = r.singular_values[: r.rank]
    assert np.all(kept > r.threshold)
    assert np.all(r.singular_values[r.rank :] <= r.threshold)
    assert np.all(r.s < kept) and np.all(r.s > 0)
    # the kept vectors are the leading singular vectors of v
    u, _, _ = np.linalg.svd(v)
    np.testing.assert_allclose(np.abs(r.U.T @ u[:, : r.rank]), np.eye(r.rank), atol=1e-8)


def test_evbmf_with_known_sigma2_uses_it():
    v = _signal_plus_noise(30, 40, 2, 0)
    r = evbmf(v, sigma2=1.0)
    assert r.sigma2 == 1.0 and r.rank == 2
    assert evbmf(v, sigma2=1e6).rank == 0


def test_evbmf_zero_matrix_gives_rank_zero():
    r = evbmf(np.zeros((4, 6)))
    assert r.rank == 0 and r.sigma2 == 0.0


@pytest.mark.parametrize(
    "matrix, kwargs, exc, match",
    [
        (np.ones(4), {}, ValueError, "ndim=2"),
        (np.ones((2, 2, 2)), {}, ValueError, "ndim=2"),
        (np.array([[1.0, np.nan]]), {}, ValueError, "finite"),
        (np.ones((3, 3)), {"sigma2": -1.0}, ValueError, "sigma2"),
        ("abc", {}, TypeError, "matrix"),
    ],
)
def test_evbmf_bad_input_raises(matrix, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        evbmf(matrix, **kwargs)


@given(st.lists(st.floats(0, 10), min_size=1, max_size=8), st.floats(0.01, 1.0))
def test_energy_rank_is_smallest_rank_holding_the_energy(values, energy):
    s = np.sort(np.asarray(values))[::-1]
    r = energy_rank(s, energy)
    if s[0] == 0:
        assert r == 0
        return
    s = s / s[0]  # energies are scale invariant; this keeps tiny values from underflowing
    total = np.sum(s**2)
    assert np.sum(s[:r] ** 2) >= energy * total * (1 - 1e-12)
    assert r == 1 or np.sum(s[: r - 1] ** 2) < energy * total


@CAP_TUCKER
@given(st.integers(1, 3), seeds())
def test_select_ranks_finds_multilinear_rank_of_noisy_tucker_tensor(rank, seed):
    rng = np.random.default_rng(seed)
    shape = (20, 24, 28)
    factors = [np.linalg.qr(rng.standard_normal((n, rank)))[0] for n in shape]
    core = np.zeros((rank,) * 3)
    core[np.arange(rank), np.arange(rank), np.arange(rank)] = 500.0  # every σ_i(X_(n)) = 500
    x = multi_mode_dot(core, factors) + rng.standard_normal(shape)
    assert select_ranks(x, "evbmf") == (rank, rank, rank)
    assert select_ranks(x, "energy", energy=0.9) == (rank, rank, rank)
    assert select_ranks(x, modes=(0, 1)) == (rank, rank)


def test_select_ranks_bad_input_raises():
    with pytest.raises(ValueError, match="method='svd'"):
        select_ranks(np.ones((3, 3)), method="svd")
    with pytest.raises(ValueError, match="energy"):
        select_ranks(np.ones((3, 3)), method="energy", energy=0.0)
    with pytest.raises(ValueError, match="ndim >= 2"):
        select_ranks(np.ones(3))
