"""Properties of the TT format: every operation agrees with the dense tensor it represents."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tensornet.formats import StructuredTensor, TTTensor
from tensornet.formats.tt import tt_max_ranks, tt_rank_caps
from tensornet.testing import seeds


@st.composite
def tt_tensors(draw, min_dims=1, max_dims=4, max_side=4, max_rank=3):
    """Random TT cores (shape and ranks drawn, entries Gaussian from a seed)."""
    d = draw(st.integers(min_dims, max_dims))
    shape = [draw(st.integers(1, max_side)) for _ in range(d)]
    ranks = [1] + [draw(st.integers(1, max_rank)) for _ in range(d - 1)] + [1]
    rng = np.random.default_rng(draw(seeds()))
    return TTTensor([rng.standard_normal((ranks[k], shape[k], ranks[k + 1])) for k in range(d)])


def dense_by_definition(cores):
    """X[i] = G_1[:, i_1, :] ... G_d[:, i_d, :], one element at a time."""
    shape = tuple(g.shape[1] for g in cores)
    out = np.empty(shape)
    for idx in np.ndindex(*shape):
        m = np.eye(1)
        for g, i in zip(cores, idx):
            m = m @ g[:, i, :]
        out[idx] = m[0, 0]
    return out


@given(tt_tensors())
def test_full_equals_product_of_core_slices(t):
    np.testing.assert_allclose(t.full(), dense_by_definition(t.cores), atol=1e-12)


@given(tt_tensors(), seeds())
def test_gather_and_getitem_equal_dense_elements(t, seed):
    rng = np.random.default_rng(seed)
    dense = t.full()
    idx = np.stack([rng.integers(0, n, size=7) for n in t.shape], axis=1)
    np.testing.assert_allclose(t.gather(idx), dense[tuple(idx.T)], atol=1e-12)
    first = tuple(int(i) for i in idx[0])
    assert t[first] == pytest.approx(dense[first], abs=1e-12)
    neg = tuple(i - n for i, n in zip(first, t.shape))
    assert t[neg] == pytest.approx(dense[first], abs=1e-12)


@given(tt_tensors(), seeds(), st.floats(-3, 3))
def test_linear_operations_equal_dense_and_ranks_add(t, seed, alpha):
    rng = np.random.default_rng(seed)
    u = TTTensor([rng.standard_normal(g.shape) for g in t.cores])
    a, b = t.full(), u.full()
    np.testing.assert_allclose((t + u).full(), a + b, atol=1e-10)
    np.testing.assert_allclose((t - u).full(), a - b, atol=1e-10)
    np.testing.assert_allclose((alpha * t).full(), alpha * a, atol=1e-10)
    np.testing.assert_allclose((t * alpha).full(), alpha * a, atol=1e-10)
    if t.ndim > 1:
        inner = [p + q for p, q in zip(t.ranks[1:-1], u.ranks[1:-1])]
        assert list((t + u).ranks[1:-1]) == inner


@given(tt_tensors(), seeds())
def test_hadamard_dot_norm_equal_dense(t, seed):
    rng = np.random.default_rng(seed)
    u = TTTensor([rng.standard_normal(g.shape) for g in t.cores])
    a, b = t.full(), u.full()
    h = t.hadamard(u)
    np.testing.assert_allclose(h.full(), a * b, atol=1e-10)
    assert list(h.ranks) == [p * q for p, q in zip(t.ranks, u.ranks)]
    assert t.dot(u) == pytest.approx(float(np.sum(a * b)), rel=1e-10, abs=1e-10)
    assert t.inner(u) == pytest.approx(float(np.sum(a * b)), rel=1e-10, abs=1e-10)
    assert t.norm() == pytest.approx(float(np.linalg.norm(a)), rel=1e-10, abs=1e-12)


@given(tt_tensors(min_dims=2))
def test_left_orthogonalized_cores_are_orthonormal(t):
    o = t.orthogonalize("left")
    for g in o.cores[:-1]:
        m = g.reshape(-1, g.shape[2])
        np.testing.assert_allclose(m.T @ m, np.eye(m.shape[1]), atol=1e-12)
    np.testing.assert_allclose(o.full(), t.full(), atol=1e-10)
    assert np.linalg.norm(o.cores[-1]) == pytest.approx(np.linalg.norm(t.full()), rel=1e-10)


@given(tt_tensors(min_dims=2))
def test_right_orthogonalized_cores_are_orthonormal(t):
    o = t.orthogonalize("right")
    for g in o.cores[1:]:
        m = g.reshape(g.shape[0], -1)
        np.testing.assert_allclose(m @ m.T, np.eye(m.shape[0]), atol=1e-12)
    np.testing.assert_allclose(o.full(), t.full(), atol=1e-10)


@given(tt_tensors(min_dims=2))
def test_rounding_x_plus_x_gives_ranks_of_x_and_2x(t):
    x = t.round(eps=1e-13)  # minimal ranks
    y = (x + x).round(eps=1e-10)
    assert y.ranks == x.ranks
    np.testing.assert_allclose(y.full(), 2 * t.full(), atol=1e-8 * max(1, t.norm()))


@given(tt_tensors(min_dims=2, max_rank=4), st.floats(0.01, 0.9))
def test_round_meets_eps_bound_and_reports_its_error(t, eps):
    dense = t.full()
    r = t.round(eps=eps)
    err = np.linalg.norm(r.full() - dense) / np.linalg.norm(dense)
    assert err <= eps * (1 + 1e-9)
    assert r.info["rel_error"] == pytest.approx(err, rel=1e-6, abs=1e-12)
    assert all(a <= b for a, b in zip(r.ranks, t.ranks))


@given(tt_tensors(min_dims=2, max_rank=4), st.integers(1, 3))
def test_round_respects_rank_caps(t, cap):
    r = t.round(ranks=cap)
    assert max(r.ranks) <= cap


def test_tt_max_ranks_example_and_caps():
    assert tt_max_ranks((4, 5, 6, 3)) == (4, 18, 3)
    assert tt_rank_caps(100, (4, 5, 6, 3)) == (4, 18, 3)
    assert tt_rank_caps([1, 2, 3, 1, 1], (4, 5, 6, 3)) == (2, 3, 1)


def test_save_load_roundtrip(tmp_path):
    rng = np.random.default_rng(0)
    t = TTTensor([rng.standard_normal(s) for s in [(1, 3, 2), (2, 4, 1)]])
    back = StructuredTensor.load(t.save(tmp_path / "t"))
    assert isinstance(back, TTTensor)
    np.testing.assert_array_equal(back.full(), t.full())


_RNG = np.random.default_rng(0)
_GOOD = [_RNG.standard_normal((1, 2, 2)), _RNG.standard_normal((2, 3, 1))]
_T = TTTensor(_GOOD)


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: TTTensor([np.ones((2, 2, 1))]), ValueError, "boundary ranks must be 1"),
        (
            lambda: TTTensor([_GOOD[0], np.ones((3, 3, 1))]),
            ValueError,
            "right rank 2 but cores\\[1\\] has left rank 3",
        ),
        (lambda: TTTensor([np.ones((2, 2))]), ValueError, "ndim=3"),
        (lambda: TTTensor([]), TypeError, "non-empty sequence"),
        (lambda: TTTensor([np.full((1, 2, 1), np.nan)]), ValueError, "finite"),
        (lambda: _T.gather([[0, 5]]), IndexError, "out of range"),
        (lambda: _T.gather([[0, 1, 2]]), ValueError, "shape \\(B, 2\\)"),
        (lambda: _T[0], TypeError, "tuple of 2 integers"),
        (lambda: _T + TTTensor([np.ones((1, 3, 1))]), ValueError, "has shape"),
        (lambda: _T * "a", TypeError, None),
        (lambda: _T.orthogonalize("up"), ValueError, "direction"),
        (lambda: _T.round(ranks=[0]), ValueError, "ranks\\[0\\]=0 must be >= 1"),
        (lambda: _T.round(ranks=[2, 1, 1]), ValueError, "boundary ranks"),
        (lambda: _T.full(max_elements=2), ValueError, "full\\(\\) of a tensor"),
    ],
)
def test_bad_input_raises_clear_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def _noisy_tt(seed: int, shape=(4, 5, 3, 6), rank=3, noise=1e-2) -> TTTensor:
    rng = np.random.default_rng(seed)
    d = len(shape)
    cores = [
        rng.standard_normal((1 if k == 0 else rank, n, 1 if k == d - 1 else rank))
        for k, n in enumerate(shape)
    ]
    dense = TTTensor(cores).full() + noise * rng.standard_normal(shape)
    return TTTensor([c for c in _exact_tt(dense)])


def _exact_tt(dense: np.ndarray) -> list[np.ndarray]:
    from tensornet.decompositions import tt_svd

    return tt_svd(dense).cores


def test_round_without_arguments_keeps_the_tensor_and_only_drops_redundant_ranks():
    t = _noisy_tt(0, noise=0.0)
    doubled = t + t  # ranks doubled, the tensor 2 t
    rounded = doubled.round()
    assert rounded.ranks == t.round().ranks
    assert max(rounded.ranks) > 1
    np.testing.assert_allclose(rounded.full(), 2 * t.full(), atol=1e-10 * t.norm())
    again = doubled.round(eps=0)
    assert again.ranks == rounded.ranks


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("eps", [0.02, 0.1, 0.4])
def test_round_eps_chooses_the_ranks_of_tt_svd_of_the_full_tensor(seed, eps):
    # TT rounding is TT-SVD of the represented tensor (Oseledets 2011): the same per-step budget
    # eps ||X|| / sqrt(d - 1) gives the same ranks (d = 4 here, so a whole-budget step differs)
    from tensornet.decompositions import tt_svd

    t = _noisy_tt(seed)
    assert t.round(eps=eps).ranks == tt_svd(t.full(), eps=eps).ranks


# The compiled gather kernel stays inside its arrays (Numba does not check bounds unless asked,
# so an off-by-one read passes silently); kept in this mirror file, which the mutation tool runs
# for compiled kernels.
_ROOT = Path(__file__).resolve().parents[2]

_SCRIPT = """
import numpy as np
from tensornet.formats.tr import TRTensor
from tensornet.formats.tt import TTTensor

rng = np.random.default_rng(0)
tt = TTTensor([rng.standard_normal(s) for s in [(1, 3, 2), (2, 4, 3), (3, 2, 1)]])
tr = TRTensor([rng.standard_normal(s) for s in [(2, 3, 3), (3, 4, 1), (1, 2, 2)]])
for x in (tt, tr):
    idx = np.array([[i, j, k] for i in range(3) for j in range(4) for k in range(2)])
    np.testing.assert_allclose(x.gather(idx), x.full()[tuple(idx.T)], rtol=1e-12, atol=1e-12)
print("ok")
"""


def test_gather_kernel_reads_only_inside_its_arrays_under_numba_bounds_checking(tmp_path):
    env = {
        **os.environ,
        "NUMBA_BOUNDSCHECK": "1",  # compiled index errors raise IndexError
        "NUMBA_CACHE_DIR": str(tmp_path),  # never reuse machine code compiled without checks
        "PYTHONPATH": str(_ROOT),
    }
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT], cwd=_ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
