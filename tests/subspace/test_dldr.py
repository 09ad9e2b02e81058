"""Tests of tensornet/subspace/dldr.py: the Gram-matrix PCA of a trajectory."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tensornet.subspace.dldr import dldr

from ._tiny import orthonormal_rows


def _sign_fixed(rows):
    """Scale each row so that its largest-magnitude entry is positive (dldr's convention)."""
    idx = np.argmax(np.abs(rows), axis=1)
    return rows * np.sign(rows[np.arange(len(rows)), idx])[:, None]


@st.composite
def trajectories(draw):
    """Samples ``c + U diag(sigma) V^T`` with centred ``U`` and separated ``sigma``."""
    n = draw(st.integers(3, 9))
    rank = draw(st.integers(1, n - 1))
    big_d = draw(st.integers(rank, 40))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    centred_basis = np.linalg.qr(np.c_[np.ones(n), rng.normal(size=(n, rank))])[0][:, 1:]
    sigma = 3.0 * 0.5 ** np.arange(rank)
    v = orthonormal_rows(rank, big_d, seed=seed % 1000)
    centre = rng.normal(size=big_d)
    return centre + (centred_basis * sigma) @ v, sigma, v, centre


@given(trajectories(), st.data())
def test_gram_trick_pca_equals_svd_of_centred_samples(traj, data):
    samples, sigma, v, centre = traj
    d = data.draw(st.integers(1, len(sigma)))
    result = dldr(samples, d)
    centred = samples - samples.mean(axis=0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    np.testing.assert_allclose(result.basis, _sign_fixed(vt[:d]), atol=1e-9)
    np.testing.assert_allclose(result.basis, _sign_fixed(v[:d]), atol=1e-9)
    np.testing.assert_allclose(result.singular_values, s[:d], rtol=1e-10)
    np.testing.assert_allclose(result.singular_values, sigma[:d], rtol=1e-10)
    np.testing.assert_allclose(result.centre, centre, atol=1e-12)
    n = len(samples)
    np.testing.assert_allclose(result.explained_variance, s[:d] ** 2 / (n - 1), rtol=1e-10)
    np.testing.assert_allclose(
        result.explained_variance_ratio, s[:d] ** 2 / np.sum(s**2), rtol=1e-10
    )


@given(trajectories())
def test_basis_rows_are_orthonormal_and_full_rank_ratio_sums_to_one(traj):
    samples, sigma, _, _ = traj
    result = dldr(samples, len(sigma))
    np.testing.assert_allclose(result.basis @ result.basis.T, np.eye(len(sigma)), atol=1e-10)
    assert result.explained_variance_ratio.sum() == pytest.approx(1.0, rel=1e-12)


def test_coordinates_then_reconstruct_returns_a_sample_of_the_subspace():
    samples, sigma, _, _ = _fixed_trajectory()
    result = dldr(samples, len(sigma))
    np.testing.assert_allclose(result.reconstruct(result.coordinates(samples)), samples, atol=1e-10)


def _fixed_trajectory():
    rng = np.random.default_rng(1)
    n, rank, big_d = 6, 3, 20
    u = np.linalg.qr(np.c_[np.ones(n), rng.normal(size=(n, rank))])[0][:, 1:]
    sigma = np.array([4.0, 2.0, 1.0])
    return rng.normal(size=big_d) + (u * sigma) @ orthonormal_rows(rank, big_d), sigma, None, None


def test_float32_samples_give_a_float32_basis_close_to_float64():
    samples = _fixed_trajectory()[0]
    r32 = dldr(samples.astype(np.float32), 2)
    r64 = dldr(samples, 2)
    assert r32.basis.dtype == np.float32 and r32.centre.dtype == np.float32
    np.testing.assert_allclose(r32.basis, r64.basis, atol=1e-5)


def test_more_components_than_the_trajectory_spans_is_refused():
    samples = _fixed_trajectory()[0]  # 6 samples spanning 3 directions
    with pytest.raises(ValueError, match="n_components=4 exceeds the 3 directions"):
        dldr(samples, 4)
