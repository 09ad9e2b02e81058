"""Tests of tensornet/subspace/analysis.py: projection error and the sweeps."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tensornet.subspace.analysis import compression_sweep, dimension_sweep, projection_error
from tensornet.subspace.dldr import dldr

from ._tiny import orthonormal_rows, tiny_data, tiny_model


@given(st.integers(1, 5), st.integers(0, 6), st.integers(0, 2**32 - 1))
def test_projection_of_a_vector_in_the_subspace_has_zero_error(d, extra, seed):
    big_d = d + extra
    rng = np.random.default_rng(seed)
    basis = orthonormal_rows(d, big_d, seed=seed % 991)
    centre = rng.normal(size=big_d)
    w = centre + rng.normal(size=d) @ basis
    assert projection_error(w, basis, centre) <= 1e-12 * max(
        1.0, np.linalg.norm(centre) / np.linalg.norm(w)
    )


@given(st.integers(1, 4), st.integers(1, 5), st.integers(0, 2**32 - 1))
def test_projection_error_is_the_orthogonal_residual_over_the_norm(d, extra, seed):
    big_d = d + extra
    rng = np.random.default_rng(seed)
    q = orthonormal_rows(big_d, big_d, seed=seed % 991)
    basis, rest = q[:d], q[d:]
    centre = rng.normal(size=big_d)
    residual = rng.normal(size=big_d - d) @ rest
    w = centre + rng.normal(size=d) @ basis + residual
    expected = np.linalg.norm(residual) / np.linalg.norm(w)
    assert projection_error(w, basis, centre) == pytest.approx(expected, rel=1e-9, abs=1e-15)
    rows = projection_error(np.stack([w, 2 * centre]), basis, centre)
    assert rows.shape == (2,) and rows[0] == pytest.approx(expected, rel=1e-9, abs=1e-15)


def test_dimension_sweep_is_non_increasing_and_zero_at_n_minus_one():
    rng = np.random.default_rng(0)
    samples = rng.normal(size=(7, 30)) + 5.0
    errors = dimension_sweep(samples, [1, 2, 3, 4, 5, 6])
    assert np.all(np.diff(errors) <= 1e-15)
    assert errors[-1] < 1e-12 and errors[0] > 1e-2
    sub = dldr(samples, 3)
    assert errors[2] == pytest.approx(np.mean(projection_error(samples, sub)), rel=1e-12)


def test_compression_sweep_is_deterministic_and_reports_each_rank():
    data = tiny_data(80, n_in=6)
    model = tiny_model(n_in=6, hidden=6)
    kwargs = dict(
        method="svd",
        layers=["fc1"],
        n_components=[2, 3],
        epochs=1,
        every=1,
        batch_size=20,
        val_data=data,
        random_state=0,
    )
    first = compression_sweep(model, data, [None, 2], **kwargs)
    again = compression_sweep(model, data, [None, 2], **kwargs)
    assert [r["rank"] for r in first] == [None, 2]
    assert first[1]["n_params"] < first[0]["n_params"]
    for a, b in zip(first, again):
        assert a["errors"] == b["errors"] and a["accuracy"] == b["accuracy"]
        assert a["n_samples"] == 5 and a["errors"][3] <= a["errors"][2] + 1e-15
