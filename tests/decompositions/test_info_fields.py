"""Every ``info`` field of every public decomposition equals its definition, computed here.

Each field is recomputed from the input and the returned object only (dense residuals, SVDs of
unfoldings, the documented formulas), never from the decomposition's own internals. The data
is drawn at scale 1 and at scale ``1e-3``, so that relative errors of tensors whose norm is
below 1 are covered (an error divided by ``||X||^2`` instead of ``||X||`` would show there).
"""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tensornet as tn
from tensornet.algebra import unfold
from tensornet.algebra.truncation import NUMERICAL_ZERO
from tensornet.decompositions.cp import CPDegeneracyWarning
from tensornet.decompositions.kron import kron_rearrange

#: These properties run decompositions on small tensors; the thorough profile's 400 examples
#: would add little, so they stay at the profile's count when it is lower.
CAP = settings(max_examples=min(settings().max_examples, 25))
CAP_ALS = settings(max_examples=min(settings().max_examples, 12))

SCALES = st.sampled_from([1.0, 1e-3])
SEEDS = st.integers(0, 2**16)


def _data(seed, shape, scale):
    return scale * np.random.default_rng(seed).standard_normal(shape)


def _rel(x, approx):
    return float(np.linalg.norm((x - approx).ravel()) / np.linalg.norm(x.ravel()))


def _history_fields_hold(info, n_iter_max, tol):
    """``n_iter``, ``converged`` and ``history`` against the stopping rule of ``als``."""
    history = info["history"]
    assert info["n_iter"] == len(history)
    assert 1 <= len(history) <= n_iter_max
    stopped = len(history) > 1 and abs(history[-2] - history[-1]) < tol
    for k in range(1, len(history) - 1):  # no earlier sweep met the rule: the run stops at once
        assert abs(history[k - 1] - history[k]) >= tol
    assert info["converged"] == stopped
    if not stopped:
        assert len(history) == n_iter_max


shapes_2_to_4 = st.lists(st.integers(2, 5), min_size=2, max_size=4).map(tuple)


# ------------------------------------------------------------------------------ TT-SVD
@CAP
@given(
    seed=SEEDS,
    shape=shapes_2_to_4,
    scale=SCALES,
    option=st.sampled_from([{"ranks": 2}, {"ranks": 3}, {"eps": 0.3}, {"eps": 0.0}, {}]),
)
def test_tt_svd_info_norm_rel_error_ranks_and_step_errors_equal_their_definitions(
    seed, shape, scale, option
):
    x = _data(seed, shape, scale)
    tt = tn.tt_svd(x, **option)
    info = tt.info
    assert info["norm"] == pytest.approx(np.linalg.norm(x.ravel()), rel=1e-12)
    assert info["ranks"] == tt.ranks
    assert info["error_exact"] is True  # small unfoldings: LAPACK tails, measured exactly
    assert info["rel_error"] == pytest.approx(_rel(x, tt.full()), rel=1e-7, abs=1e-13)
    # one entry per step; the first k+1 of them are the error of projecting X_<k> onto the
    # range of the (orthonormal) left interface of cores 1..k+1
    steps = np.array(info["step_errors"])
    assert len(steps) == x.ndim - 1
    left = np.ones((1, 1))
    for k in range(x.ndim - 1):
        g = tt.cores[k]
        left = (left @ g.reshape(g.shape[0], -1)).reshape(-1, g.shape[2])
        xk = x.reshape(left.shape[0], -1)
        proj_err = np.linalg.norm(xk - left @ (left.T @ xk))
        assert np.sqrt(np.sum(steps[: k + 1] ** 2)) == pytest.approx(
            proj_err, rel=1e-6, abs=1e-12 * info["norm"]
        )


@CAP
@given(seed=SEEDS, scale=SCALES, option=st.sampled_from([{"ranks": 2}, {"eps": 0.4}, {}]))
def test_tt_matrix_svd_info_rel_error_and_ranks_equal_their_definitions(seed, scale, option):
    w = _data(seed, (12, 10), scale)
    ttm = tn.tt_matrix_svd(w, (3, 4), (5, 2), **option)
    assert ttm.info["ranks"] == ttm.ranks
    assert ttm.info["norm"] == pytest.approx(np.linalg.norm(w), rel=1e-12)
    assert ttm.info["rel_error"] == pytest.approx(_rel(w, ttm.full()), rel=1e-7, abs=1e-13)
    assert len(ttm.info["step_errors"]) == 1


# ------------------------------------------------------------------------------ TR-SVD
@CAP
@given(
    seed=SEEDS,
    shape=st.lists(st.integers(2, 5), min_size=2, max_size=4).map(tuple),
    scale=SCALES,
    option=st.sampled_from([{"ranks": 2}, {"eps": 0.3}, {"eps": 0.0}, {}]),
)
def test_tr_svd_info_rel_error_and_ranks_equal_their_definitions(seed, shape, scale, option):
    x = _data(seed, shape, scale)
    tr = tn.tr_svd(x, **option)
    assert tr.info["ranks"] == tr.ranks
    assert tr.info["error_exact"] is True
    assert tr.info["rel_error"] == pytest.approx(_rel(x, tr.full()), rel=1e-7, abs=1e-13)


# ------------------------------------------------------------------------------ HOSVD
@CAP
@given(
    seed=SEEDS,
    shape=shapes_2_to_4,
    scale=SCALES,
    option=st.sampled_from([{"ranks": 2}, {"eps": 0.3}, {"eps": 0.0}, {}]),
)
def test_hosvd_singular_values_descend_and_error_bound_is_the_discarded_energy(
    seed, shape, scale, option
):
    x = _data(seed, shape, scale)
    t = tn.hosvd(x, **option)
    norm = np.linalg.norm(x.ravel())
    discarded = 0.0
    for n, s in enumerate(t.info["singular_values"]):
        want = np.linalg.svd(unfold(x, n), compute_uv=False)
        assert np.all(np.diff(s) <= 0)  # non-increasing
        np.testing.assert_allclose(s, want[: len(s)], rtol=1e-10, atol=1e-12 * norm)
        assert len(s) == len(want)  # small unfoldings: every singular value is reported
        discarded += np.sum(want[t.ranks[n] :] ** 2)
    assert t.info["error_bound"] == pytest.approx(np.sqrt(discarded) / norm, rel=1e-8, abs=1e-13)
    assert t.info["rel_error"] == pytest.approx(_rel(x, t.full()), rel=1e-7, abs=1e-13)
    assert t.info["rel_error"] <= t.info["error_bound"] * (1 + 1e-9) + 1e-13


# ------------------------------------------------------------------------------ HOOI, Tucker-2
@CAP_ALS
@given(
    seed=SEEDS,
    scale=SCALES,
    n_iter_max=st.integers(1, 6),
    tol=st.sampled_from([0.0, 1e-3, 1e-8]),
    method=st.sampled_from(["power", "eigh"]),
)
def test_tucker_hooi_info_rel_error_history_n_iter_and_converged_equal_their_definitions(
    seed, scale, n_iter_max, tol, method
):
    x = _data(seed, (4, 5, 6), scale)
    t = tn.tucker_hooi(x, (2, 3, 2), n_iter_max=n_iter_max, tol=tol, method=method)
    info = t.info
    assert info["rel_error"] == pytest.approx(_rel(x, t.full()), rel=1e-7, abs=1e-13)
    assert info["rel_error"] == pytest.approx(min(info["history"]), rel=1e-12)  # best sweep
    _history_fields_hold(info, n_iter_max, tol)
    assert "restart_errors" not in info


@CAP_ALS
@given(seed=SEEDS, scale=SCALES, n_iter_max=st.integers(1, 5))
def test_tucker2_info_rel_error_history_and_counts_equal_their_definitions(seed, scale, n_iter_max):
    k = _data(seed, (5, 4, 3, 3), scale)
    t = tn.tucker2(k, (3, 2), n_iter_max=n_iter_max, tol=0.0)
    assert t.info["rel_error"] == pytest.approx(_rel(k, t.full()), rel=1e-7, abs=1e-13)
    _history_fields_hold(t.info, n_iter_max, 0.0)
    assert t.info["n_iter"] == n_iter_max


# ------------------------------------------------------------------------------ HT-SVD
@CAP
@given(
    seed=SEEDS,
    shape=st.lists(st.integers(2, 4), min_size=2, max_size=4).map(tuple),
    scale=SCALES,
    option=st.sampled_from([{"ranks": 2}, {"eps": 0.3}, {"eps": 0.0}, {}]),
)
def test_ht_svd_info_error_node_errors_and_delta_equal_their_definitions(
    seed, shape, scale, option
):
    x = _data(seed, shape, scale)
    h = tn.ht_svd(x, **option)
    norm = np.linalg.norm(x.ravel())
    dense = np.linalg.norm((x - h.full()).ravel())
    info = h.info
    assert info["error"] == pytest.approx(dense, rel=1e-6, abs=1e-12 * norm)
    assert info["rel_error"] == pytest.approx(dense / norm, rel=1e-6, abs=1e-12)
    errs = np.array(list(info["node_errors"].values()))
    assert np.sqrt(np.sum(errs**2)) == pytest.approx(info["error"], rel=1e-12, abs=1e-300)
    assert set(info["node_errors"]) <= set(range(1, h.tree.n_nodes))
    d = x.ndim
    if "eps" not in option:
        assert info["delta"] is None
    elif option["eps"] == 0.0:
        assert info["delta"] == pytest.approx(NUMERICAL_ZERO * norm, rel=1e-12)
    else:
        assert info["delta"] == pytest.approx(option["eps"] * norm / np.sqrt(2 * d - 3), rel=1e-12)


# ------------------------------------------------------------------------------ KPD, GKPD
@CAP
@given(
    seed=SEEDS,
    scale=SCALES,
    a_shape=st.sampled_from([(2, 2, 3), (1, 4, 2), (4, 2, 1), (2, 1, 6)]),
    rank=st.integers(1, 3),
)
def test_gkpd_info_singular_values_max_rank_and_errors_equal_their_definitions(
    seed, scale, a_shape, rank
):
    x = _data(seed, (4, 4, 6), scale)
    k = tn.gkpd(x, a_shape, rank=rank)
    b_shape = tuple(i // j for i, j in zip(x.shape, a_shape, strict=True))
    s = np.linalg.svd(kron_rearrange(x, a_shape), compute_uv=False)
    info = k.info
    assert info["max_rank"] == min(np.prod(a_shape), np.prod(b_shape))
    assert len(info["singular_values"]) == info["max_rank"]
    np.testing.assert_allclose(info["singular_values"], s, rtol=1e-10, atol=1e-14 * s[0])
    assert np.all(np.diff(info["singular_values"]) <= 0)
    dense = np.linalg.norm((x - k.full()).ravel())
    assert info["error"] == pytest.approx(np.sqrt(np.sum(s[rank:] ** 2)), rel=1e-8, abs=1e-13)
    assert info["error"] == pytest.approx(dense, rel=1e-7, abs=1e-12 * s[0])
    assert info["rel_error"] == pytest.approx(dense / np.linalg.norm(x), rel=1e-7, abs=1e-13)


@CAP
@given(
    seed=SEEDS,
    scale=SCALES,
    shapes=st.sampled_from([((2, 3), (3, 2)), ((3, 2), (2, 5)), ((6, 1), (1, 10))]),
    rank=st.integers(1, 2),
)
def test_kpd_info_singular_values_max_rank_and_errors_equal_their_definitions(
    seed, scale, shapes, rank
):
    a_shape, b_shape = shapes
    m = _data(seed, (a_shape[0] * b_shape[0], a_shape[1] * b_shape[1]), scale)
    k = tn.kpd(m, a_shape, b_shape, rank=rank)
    s = np.linalg.svd(kron_rearrange(m, a_shape, b_shape), compute_uv=False)
    assert k.info["max_rank"] == min(np.prod(a_shape), np.prod(b_shape))
    np.testing.assert_allclose(k.info["singular_values"], s, rtol=1e-10, atol=1e-14 * s[0])
    r = k.ranks[0]
    assert r == min(rank, k.info["max_rank"])
    assert k.info["error"] == pytest.approx(np.sqrt(np.sum(s[r:] ** 2)), rel=1e-8, abs=1e-13)
    assert k.info["rel_error"] == pytest.approx(_rel(m, k.full()), rel=1e-7, abs=1e-13)


# ------------------------------------------------------------------------------ CP-ALS
def _congruence(cp):
    """``min_{r != s} sign(w_r w_s) prod_k cos(a_r^(k), a_s^(k))`` from the factors."""
    cos = np.ones((cp.rank, cp.rank))
    for a in cp.factors:
        unit = a / np.linalg.norm(a, axis=0)
        cos = cos * (unit.T @ unit)
    cos = cos * np.outer(np.sign(cp.weights), np.sign(cp.weights))
    off = ~np.eye(cp.rank, dtype=bool)
    return float(np.min(cos[off])) if cp.rank > 1 else 0.0


@CAP_ALS
@given(
    seed=SEEDS,
    scale=SCALES,
    rank=st.integers(1, 4),
    n_iter_max=st.integers(1, 8),
    n_restarts=st.integers(1, 2),
    tol=st.sampled_from([0.0, 1e-4]),
)
def test_cp_als_info_fields_equal_their_definitions(seed, scale, rank, n_iter_max, n_restarts, tol):
    x = _data(seed, (3, 4, 5), scale)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CPDegeneracyWarning)
        cp = tn.cp_als(
            x, rank, n_iter_max=n_iter_max, tol=tol, n_restarts=n_restarts, random_state=seed
        )
    info = cp.info
    norm = np.linalg.norm(x)
    assert info["rel_error"] == pytest.approx(_rel(x, cp.full()), rel=1e-6, abs=1e-12)
    assert info["rel_error"] == info["history"][-1]  # the last sweep of the kept run
    _history_fields_hold(info, n_iter_max, tol)
    assert len(info["restart_errors"]) == n_restarts
    assert info["rel_error"] == min(info["restart_errors"])
    assert info["weight_ratio"] == pytest.approx(np.max(np.abs(cp.weights)) / norm, rel=1e-12)
    assert info["min_congruence"] == pytest.approx(_congruence(cp), abs=1e-10)
    ratio, cong = info["weight_ratio"], info["min_congruence"]
    assert info["degenerate"] == (ratio > 1e3 or (ratio > 2 and cong < -0.9))
    assert "quantization" not in info


@CAP_ALS
@given(seed=SEEDS, scale=SCALES, bits=st.integers(2, 8))
def test_cp_als_quantization_scales_put_every_factor_on_its_grid(seed, scale, bits):
    x = _data(seed, (3, 4, 5), scale)
    cp = tn.cp_als(x, 2, n_iter_max=4, quantize=bits, random_state=seed)
    q = 2 ** (bits - 1) - 1
    quant = cp.info["quantization"]
    assert quant["bits"] == bits
    assert len(quant["scales"]) == x.ndim
    for a, s in zip(cp.factors, quant["scales"], strict=True):
        assert s == pytest.approx(np.max(np.abs(a)) / q, rel=1e-12)
        codes = a / s
        np.testing.assert_allclose(codes, np.round(codes), atol=1e-9)
        assert np.max(np.abs(np.round(codes))) == q
    # the best sweep is kept
    assert cp.info["rel_error"] == pytest.approx(min(cp.info["history"]), rel=1e-12)
    assert cp.info["rel_error"] == pytest.approx(_rel(x, cp.full()), rel=1e-6, abs=1e-12)


def test_cp_als_weight_ratio_of_a_tensor_with_norm_below_one_divides_by_the_norm():
    """At ``||X|| = 1e-3 ||x||`` a ratio divided by ``||X||^2`` or multiplied by it is far off."""
    x = 1e-3 * _data(3, (3, 4, 5), 1.0)
    cp = tn.cp_als(x, 1, random_state=0)
    assert cp.info["weight_ratio"] == pytest.approx(cp.weights[0] / np.linalg.norm(x), rel=1e-12)
    assert 0.1 < cp.info["weight_ratio"] <= 1.0 + 1e-12  # a best rank-1 term: w <= ||X||


# ------------------------------------------------------------------------------ TR-ALS, BTD, STR
@CAP_ALS
@given(
    seed=SEEDS,
    scale=SCALES,
    n_iter_max=st.integers(1, 5),
    n_restarts=st.integers(1, 2),
    init=st.sampled_from(["svd", "random"]),
)
def test_tr_als_info_fields_equal_their_definitions(seed, scale, n_iter_max, n_restarts, init):
    x = _data(seed, (3, 4, 3), scale)
    tr = tn.tr_als(
        x, 2, n_iter_max=n_iter_max, tol=1e-6, n_restarts=n_restarts, init=init, random_state=seed
    )
    info = tr.info
    assert info["ranks"] == tr.ranks
    assert info["rel_error"] == pytest.approx(_rel(x, tr.full()), rel=1e-6, abs=1e-12)
    assert info["rel_error"] == info["history"][-1]
    _history_fields_hold(info, n_iter_max, 1e-6)
    assert len(info["restart_errors"]) == n_restarts
    assert info["rel_error"] == min(info["restart_errors"])


@CAP_ALS
@given(seed=SEEDS, scale=SCALES, n_iter_max=st.integers(1, 4), n_restarts=st.integers(1, 2))
def test_btd_als_info_fields_equal_their_definitions(seed, scale, n_iter_max, n_restarts):
    x = _data(seed, (4, 4, 3), scale)
    btd = tn.btd_als(
        x, 2, (2, 2, 1), n_iter_max=n_iter_max, tol=1e-6, n_restarts=n_restarts, random_state=seed
    )
    info = btd.info
    assert info["rel_error"] == pytest.approx(_rel(x, btd.full()), rel=1e-6, abs=1e-12)
    assert info["rel_error"] == info["history"][-1]
    _history_fields_hold(info, n_iter_max, 1e-6)
    assert len(info["restart_errors"]) == n_restarts
    assert info["rel_error"] == min(info["restart_errors"])


@CAP_ALS
@given(seed=SEEDS, scale=SCALES, ranks=st.sampled_from([(2, 2, 2), (2, 4, 2), (4, 2, 2)]))
def test_str_als_info_ranks_tr_ranks_and_rel_error_equal_their_definitions(seed, scale, ranks):
    x = _data(seed, (4, 4, 6), scale)
    s = tn.str_als(x, ranks, t=2, n_iter_max=3, random_state=seed)
    assert s.info["ranks"] == s.ranks
    assert s.info["tr_ranks"] == tuple(r // 2 for r in ranks) + (ranks[0] // 2,)
    assert s.info["rel_error"] == pytest.approx(_rel(x, s.full()), rel=1e-6, abs=1e-12)
    _history_fields_hold(s.info, 3, 1e-8)


# ------------------------------------------------------------------------------ STT, STTucker
@CAP
@given(seed=SEEDS, scale=SCALES, option=st.sampled_from([{"ranks": 2}, {"ranks": (4, 2)}, {}]))
def test_stt_svd_info_ranks_tt_ranks_and_rel_error_equal_their_definitions(seed, scale, option):
    x = _data(seed, (4, 4, 6), scale)
    s = tn.stt_svd(x, t=2, **option)
    assert s.info["ranks"] == s.ranks
    assert s.info["tt_ranks"] == s.to_tt().ranks
    assert s.info["norm"] == pytest.approx(np.linalg.norm(x), rel=1e-12)
    assert s.info["rel_error"] == pytest.approx(_rel(x, s.full()), rel=1e-7, abs=1e-13)


@CAP
@given(
    seed=SEEDS,
    scale=SCALES,
    ranks=st.sampled_from([(2, 2, 2), (4, 2, 6), (2, 4, 4)]),
    method=st.sampled_from(["hosvd", "hooi"]),
)
def test_st_tucker_info_split_ranks_method_and_rel_error_equal_their_definitions(
    seed, scale, ranks, method
):
    x = _data(seed, (4, 4, 6), scale)
    s = tn.st_tucker(x, ranks, t=2, method=method)
    assert s.info["split_ranks"] == tuple(v for r in ranks for v in (r // 2, 2))
    assert s.info["method"] == method
    assert s.info["rel_error"] == pytest.approx(_rel(x, s.full()), rel=1e-7, abs=1e-13)
