"""CP-ALS (survey Sec. II-A.3; Kolda & Bader 2009): monotone error, exact recovery, safeguards."""

import warnings

import numpy as np
import pytest
from hypothesis import Phase, assume, example, given, settings
from hypothesis import strategies as st

from tensornet.algebra import khatri_rao
from tensornet.decompositions import CPDegeneracyWarning, cp_als
from tensornet.decompositions.cp import max_cp_rank
from tensornet.formats import CPTensor
from tensornet.testing import random_array, seeds, shapes

FEW = max(5, settings().max_examples // 5)
NO_SHRINK = [Phase.explicit, Phase.reuse, Phase.generate]  # do not re-run long fits to shrink
# Random (not low-rank) data with a rank above the mode sizes can be genuinely degenerate; the
# warning itself is tested below.
pytestmark = pytest.mark.filterwarnings("ignore::tensornet.decompositions.cp.CPDegeneracyWarning")


def _accepted(rank, shape):
    """``rank`` lowered to the largest CP rank of ``shape`` (cp_als refuses more)."""
    return min(rank, max_cp_rank(shape))


def _assert_monotone(cp):
    # ALS never increases the squared residual. The cheap formula ||X||^2 - 2<X, Xh> + ||Xh||^2
    # carries a round-off of a few ulps of its largest term, (1 + weight ratio)^2 in relative
    # units; near an exact fit the square root magnifies it (1e-12 -> 1e-6), so compare squares.
    squared = np.asarray(cp.info["history"]) ** 2
    assert np.all(np.diff(squared) <= 1e-13 * (1 + cp.info["weight_ratio"]) ** 2)


def _exact_cp(shape, rank, seed):
    rng = np.random.default_rng(seed)
    factors = [rng.standard_normal((n, rank)) for n in shape]
    return (khatri_rao(factors).sum(axis=1)).reshape(shape)


@given(shapes(2, 4, 2, 5), st.integers(1, 4), seeds())
def test_cp_als_error_history_never_increases(shape, rank, seed):
    x = random_array(shape, seed)
    cp = cp_als(x, _accepted(rank, shape), n_iter_max=30, tol=0, init="random", random_state=seed)
    assert len(cp.info["history"]) == 30
    _assert_monotone(cp)


# Ranks above a mode size make the normal equations V singular; an LU solve amplified
# round-off into the factors and the reported error jumped (e.g. 1e-10 -> 1e-6 -> 1e-14).
@example(shape=(2, 3), extra=1, seed=267)
@example(shape=(3, 2), extra=2, seed=9)
@example(shape=(2, 3, 4), extra=4, seed=0)
@given(shapes(2, 3, 2, 4), st.integers(1, 3), seeds())
def test_cp_als_error_history_never_increases_when_rank_exceeds_a_mode_size(shape, extra, seed):
    rank = _accepted(min(shape) + extra, shape)
    x = random_array(shape, seed)
    cp = cp_als(x, rank, n_iter_max=30, tol=0, init="random", random_state=seed)
    _assert_monotone(cp)
    assert cp.info["rel_error"] == pytest.approx(cp.relative_error(x), abs=1e-9)


@given(shapes(2, 4, 2, 5), st.integers(1, 4), seeds())
def test_cp_als_reported_error_is_the_true_error(shape, rank, seed):
    x = random_array(shape, seed)
    cp = cp_als(x, _accepted(rank, shape), n_iter_max=10, random_state=seed)
    assert cp.info["rel_error"] == pytest.approx(cp.relative_error(x), abs=1e-7)


@settings(max_examples=FEW, phases=NO_SHRINK)
@given(st.lists(st.integers(4, 6), min_size=3, max_size=4).map(tuple), st.integers(1, 3), seeds())
def test_cp_als_recovers_exact_rank_r_tensor(shape, rank, seed):
    # Generic factors with R < min(I_k); ALS can crawl through a swamp from one start, hence
    # the best of a few starts. Nearly collinear columns in a mode make a swamp from every
    # start (Kolda & Bader 2009, Sec. 3.6: shape (4, 5, 4), rank 2 with |cos| = 0.991 in one
    # mode still had 1e-5 after 4 x 1000 sweeps), so such draws are left out.
    rng = np.random.default_rng(seed)
    for n in shape:
        a = rng.standard_normal((n, rank))
        a /= np.linalg.norm(a, axis=0)
        assume(np.all(np.abs(a.T @ a - np.eye(rank)) <= 0.95))
    x = _exact_cp(shape, rank, seed)
    cp = cp_als(x, rank, n_iter_max=1000, tol=1e-14, n_restarts=4, random_state=seed)
    assert cp.relative_error(x) < 1e-6


@given(shapes(2, 4, 2, 5), st.integers(1, 3), seeds())
def test_cp_als_columns_have_unit_norm(shape, rank, seed):
    cp = cp_als(random_array(shape, seed), _accepted(rank, shape), n_iter_max=5, random_state=seed)
    for f in cp.factors:
        norms = np.linalg.norm(f, axis=0)
        assert np.all((np.abs(norms - 1) < 1e-10) | (norms == 0))


@given(shapes(2, 4, 2, 5), st.integers(1, 3), seeds())
def test_cp_als_dimtree_and_mttkrp_schedules_give_same_iterates(shape, rank, seed):
    x, rank = random_array(shape, seed), _accepted(rank, shape)
    a = cp_als(x, rank, n_iter_max=8, tol=0, init="random", random_state=seed)
    b = cp_als(x, rank, n_iter_max=8, tol=0, init="random", random_state=seed, method="mttkrp")
    np.testing.assert_allclose(a.info["history"], b.info["history"], rtol=1e-6, atol=1e-9)


def test_cp_als_rank_one_tensor_is_exact():
    x = _exact_cp((4, 5, 6), 1, 3)
    cp = cp_als(x, 1, tol=0, n_iter_max=5)
    assert cp.relative_error(x) < 1e-12


def test_cp_als_same_seed_same_result():
    x = random_array((4, 5, 6), 0)
    a = cp_als(x, 2, n_iter_max=20, init="random", random_state=5)
    b = cp_als(x, 2, n_iter_max=20, init="random", random_state=5)
    np.testing.assert_array_equal(a.full(), b.full())


def test_cp_als_best_of_restarts_is_the_smallest_error():
    x = random_array((4, 5, 6), 1)
    cp = cp_als(x, 3, n_iter_max=20, n_restarts=4, random_state=0)
    assert cp.info["rel_error"] == min(cp.info["restart_errors"])
    assert len(cp.info["restart_errors"]) == 4


def test_cp_als_warm_start_continues_the_fit():
    x = random_array((4, 5, 6), 2)
    first = cp_als(x, 2, n_iter_max=5, random_state=0)
    second = cp_als(x, 2, n_iter_max=5, init=first)
    assert second.info["rel_error"] <= first.info["rel_error"] + 1e-12


def test_cp_als_warns_on_degenerate_border_rank_tensor():
    # a∘a∘b + a∘b∘a + b∘a∘a has rank 3 but border rank 2: rank-2 fits diverge and cancel.
    rng = np.random.default_rng(0)
    a, b = np.linalg.qr(rng.standard_normal((4, 2)))[0].T
    x = (
        np.einsum("i,j,k->ijk", a, a, b)
        + np.einsum("i,j,k->ijk", a, b, a)
        + np.einsum("i,j,k->ijk", b, a, a)
    )
    with pytest.warns(CPDegeneracyWarning, match="degenerate"):
        cp = cp_als(x, 2, n_iter_max=1000, tol=0, init="random", random_state=0)
    assert cp.info["degenerate"]
    assert cp.info["weight_ratio"] > 2 and cp.info["min_congruence"] < -0.9


def test_cp_als_does_not_warn_on_well_posed_problem():
    x = _exact_cp((5, 6, 7), 2, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("error", CPDegeneracyWarning)
        cp = cp_als(x, 2, random_state=0)
    assert not cp.info["degenerate"]
    assert isinstance(cp, CPTensor)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"rank": 0}, ValueError, "rank=0"),
        ({"rank": -2}, ValueError, "rank=-2"),
        ({"rank": 2.5}, TypeError, "rank"),
        ({"rank": 2, "init": "nope"}, ValueError, "init='nope'"),
        ({"rank": 2, "n_iter_max": 0}, ValueError, "n_iter_max=0"),
        ({"rank": 2, "tol": -1}, ValueError, "tol=-1.0 must be >= 0"),
        ({"rank": 2, "tol": "1e-3"}, TypeError, "tol must be a real number"),
        ({"rank": 21, "tol": 0}, ValueError, r"rank=21 exceeds the largest possible CP rank 20"),
        ({"rank": 10**40}, ValueError, "largest possible CP rank 20 for shape"),
        ({"rank": 2, "n_restarts": 0}, ValueError, "n_restarts=0"),
        ({"rank": 2, "method": "fast"}, ValueError, "method='fast'"),
        ({"rank": 2, "quantize": 1}, ValueError, "quantize=1 must be >= 2"),
        ({"rank": 2, "quantize": 4.5}, TypeError, "quantize must be an integer"),
    ],
)
def test_cp_als_bad_arguments_raise(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        cp_als(random_array((4, 5, 6), 0), **kwargs)


@pytest.mark.parametrize(
    "x, match",
    [
        (np.ones(5), "ndim >= 2"),
        (np.full((3, 3), np.nan), "finite"),
        (np.zeros((3, 3)), "all zeros"),
    ],
)
def test_cp_als_bad_tensor_raises(x, match):
    with pytest.raises(ValueError, match=match):
        cp_als(x, 1)


# --------------------------------------------------------------------------- quantized CP-ALS
def _on_grid(cp, bits):
    q = 2 ** (bits - 1) - 1
    for f, s in zip(cp.factors, cp.info["quantization"]["scales"], strict=True):
        codes = f / s
        np.testing.assert_allclose(codes, np.round(codes), atol=1e-9)
        assert np.max(np.abs(np.round(codes))) <= q


@settings(max_examples=FEW, phases=NO_SHRINK)
@given(shapes(2, 3, 2, 6), st.integers(1, 3), st.integers(2, 8), seeds())
def test_quantized_cp_als_factors_lie_on_their_b_bit_grids(shape, rank, bits, seed):
    x = random_array(shape, seed)
    cp = cp_als(x, _accepted(rank, shape), quantize=bits, n_iter_max=15, random_state=seed)
    assert cp.info["quantization"]["bits"] == bits
    _on_grid(cp, bits)


@settings(max_examples=FEW, phases=NO_SHRINK)
@given(shapes(2, 3, 2, 6), st.integers(1, 3), st.integers(2, 8), seeds())
def test_quantized_cp_als_reports_the_true_error_of_its_best_sweep(shape, rank, bits, seed):
    x = random_array(shape, seed)
    cp = cp_als(x, _accepted(rank, shape), quantize=bits, n_iter_max=15, random_state=seed)
    true = np.linalg.norm(cp.full() - x) / np.linalg.norm(x)
    assert cp.info["rel_error"] == pytest.approx(true, rel=1e-6, abs=1e-9)
    assert cp.info["rel_error"] == min(cp.info["history"])


def test_quantized_cp_als_grid_is_the_symmetric_affine_quantizers():
    from tensornet.compress.quantize import quantize_affine

    cp = cp_als(_exact_cp((5, 6, 7), 2, 0), 2, quantize=4, random_state=0)
    for f in cp.factors:
        np.testing.assert_allclose(quantize_affine(f, 4, symmetric=True).dequantize(), f,
                                   atol=1e-12)  # fmt: skip


def test_quantized_cp_als_error_falls_with_the_bit_width():
    x = _exact_cp((8, 9, 10), 3, 1)
    errors = [cp_als(x, 3, quantize=b, random_state=0).info["rel_error"] for b in (2, 4, 8, 12)]
    assert errors == sorted(errors, reverse=True)
    assert errors[-1] < 1e-2


@pytest.mark.parametrize("bits", [3, 4, 6])
def test_quantized_cp_als_beats_quantizing_the_float_fit_afterwards(bits):
    # Nekooei & Safari (2022): fitting with the quantizer in the loop lets the other factors
    # compensate the rounding; quantizing a converged float fit cannot.
    from tensornet.compress.quantize import quantize_affine

    rng = np.random.default_rng(0)
    x = _exact_cp((8, 9, 10), 3, 0) + 0.01 * rng.standard_normal((8, 9, 10))
    ref = cp_als(x, 3, random_state=0)
    post = CPTensor(ref.weights, [quantize_affine(f, bits, symmetric=True).dequantize()
                                  for f in ref.factors])  # fmt: skip
    post_err = np.linalg.norm(post.full() - x) / np.linalg.norm(x)
    assert cp_als(x, 3, quantize=bits, random_state=0).info["rel_error"] < post_err


def test_quantized_cp_als_same_seed_same_result():
    x = random_array((4, 5, 6), 3)
    a = cp_als(x, 2, quantize=3, init="random", random_state=5)
    b = cp_als(x, 2, quantize=3, init="random", random_state=5)
    for fa, fb in zip(a.factors, b.factors, strict=True):
        np.testing.assert_array_equal(fa, fb)


def test_cp_als_first_run_starts_from_a_given_cp_tensor():
    # started at the exact decomposition, one sweep stays exact; a first run that ignored the
    # given start would begin at an SVD or random start and be far off after one sweep
    from tensornet.formats import CPTensor

    rng = np.random.default_rng(6)
    factors = [rng.standard_normal((n, 3)) for n in (5, 6, 7)]
    exact = CPTensor(np.ones(3), factors)
    x = exact.full()
    warm = cp_als(x, 3, init=exact, n_iter_max=1, tol=0.0, random_state=0)
    cold = cp_als(x, 3, init="random", n_iter_max=1, tol=0.0, random_state=0)
    assert warm.info["rel_error"] < 1e-10
    assert cold.info["rel_error"] > 1e-4
