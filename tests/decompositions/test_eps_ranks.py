"""The rank an ``eps`` chooses is the smallest that meets the documented per-truncation budget.

Each decomposition splits ``eps ||X||`` over its truncations (TT-SVD: ``d - 1``; HOSVD: ``d``;
HT-SVD: ``2d - 3``; TR-SVD: ``sqrt(2)`` times ``eps ||X|| / sqrt(d)`` for the first step;
KPD/GKPD and the truncated SVD: one). The first truncation of each acts on an unfolding of
``X`` itself, so its rank is recomputed here from that unfolding's singular values: the
smallest ``r`` with ``sqrt(sum_{i >= r} s_i^2) <= budget``.
"""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import tensornet as tn
from tensornet.algebra import unfold
from tensornet.decompositions.kron import kron_rearrange
from tensornet.decompositions.tr import balanced_split

CAP = settings(max_examples=min(settings().max_examples, 20))
EPS = st.sampled_from([0.05, 0.2, 0.35, 0.5, 0.7])
SEEDS = st.integers(0, 2**16)
SHAPES = st.lists(st.integers(2, 5), min_size=3, max_size=4).map(tuple)


def _smallest_rank(s, budget):
    tails = np.sqrt(np.concatenate([np.cumsum((s**2)[::-1])[::-1], [0.0]]))
    return max(1, int(np.flatnonzero(tails <= budget)[0]))


def _data(seed, shape):
    """Gaussian data with decaying mode spectra, so that ranks between 1 and full occur."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    for n, size in enumerate(shape):
        x = np.moveaxis(np.tensordot(np.diag(0.6 ** np.arange(size)), x, axes=(1, n)), 0, n)
    return x


@CAP
@given(seed=SEEDS, eps=EPS, shape=st.tuples(st.integers(2, 8), st.integers(2, 8)))
def test_truncated_svd_eps_keeps_the_smallest_rank_within_eps_norm(seed, eps, shape):
    m = _data(seed, shape)
    _, s, _ = tn.truncated_svd(m, eps=eps)
    full = np.linalg.svd(m, compute_uv=False)
    assert len(s) == _smallest_rank(full, eps * np.linalg.norm(m))


@CAP
@given(seed=SEEDS, eps=EPS, shape=SHAPES)
def test_tt_svd_first_rank_is_the_smallest_within_eps_norm_over_sqrt_d_minus_1(seed, eps, shape):
    x = _data(seed, shape)
    tt = tn.tt_svd(x, eps=eps)
    s = np.linalg.svd(x.reshape(shape[0], -1), compute_uv=False)
    budget = eps * np.linalg.norm(x) / np.sqrt(x.ndim - 1)
    assert tt.ranks[1] == _smallest_rank(s, budget)
    assert tt.relative_error(x) <= eps * (1 + 1e-9)


@CAP
@given(seed=SEEDS, eps=EPS, shape=st.tuples(st.integers(2, 8), st.integers(2, 8)))
def test_tt_svd_of_a_matrix_spends_the_whole_budget_on_its_one_step(seed, eps, shape):
    m = _data(seed, shape)
    tt = tn.tt_svd(m, eps=eps)
    s = np.linalg.svd(m, compute_uv=False)
    assert tt.ranks[1] == _smallest_rank(s, eps * np.linalg.norm(m))


@CAP
@given(seed=SEEDS, eps=EPS, shape=SHAPES)
def test_hosvd_every_mode_rank_is_the_smallest_within_eps_norm_over_sqrt_d(seed, eps, shape):
    x = _data(seed, shape)
    t = tn.hosvd(x, eps=eps)
    budget = eps * np.linalg.norm(x) / np.sqrt(x.ndim)
    for n in range(x.ndim):
        s = np.linalg.svd(unfold(x, n), compute_uv=False)
        assert t.ranks[n] == _smallest_rank(s, budget)
    assert t.relative_error(x) <= eps * (1 + 1e-9)


@CAP
@given(seed=SEEDS, eps=EPS, shape=SHAPES)
def test_ht_svd_first_leaf_rank_is_the_smallest_within_eps_norm_over_sqrt_2d_minus_3(
    seed, eps, shape
):
    x = _data(seed, shape)
    h = tn.ht_svd(x, eps=eps)
    free = h.tree.children[0][1]  # the root's second child is kept whole (module notes)
    first = next(t for t in h.tree.leaves if t != free)  # reduced first, on X itself
    mode = h.tree.nodes[first][0]
    s = np.linalg.svd(unfold(x, mode), compute_uv=False)
    budget = eps * np.linalg.norm(x) / np.sqrt(2 * x.ndim - 3)
    assert h.ranks[first] == _smallest_rank(s, budget)
    assert h.relative_error(x) <= eps * (1 + 1e-9)


@CAP
@given(seed=SEEDS, eps=EPS, shape=SHAPES)
def test_tr_svd_first_rank_is_the_smallest_within_sqrt_2_eps_norm_over_sqrt_d(seed, eps, shape):
    x = _data(seed, shape)
    tr = tn.tr_svd(x, eps=eps)
    s = np.linalg.svd(x.reshape(shape[0], -1), compute_uv=False)
    budget = np.sqrt(2.0) * eps * np.linalg.norm(x) / np.sqrt(x.ndim)
    big = _smallest_rank(s, budget)
    assert tr.ranks[0] * tr.ranks[1] == big
    assert (tr.ranks[0], tr.ranks[1]) == balanced_split(big)
    assert tr.relative_error(x) <= eps * (1 + 1e-9)


@CAP
@given(seed=SEEDS, eps=EPS, a_shape=st.sampled_from([(2, 2, 3), (4, 2, 2), (2, 4, 6)]))
def test_gkpd_eps_keeps_the_smallest_kronecker_rank_within_eps_norm(seed, eps, a_shape):
    x = _data(seed, (4, 4, 6))
    k = tn.gkpd(x, a_shape, rank=None, eps=eps)
    s = np.linalg.svd(kron_rearrange(x, a_shape), compute_uv=False)
    assert k.ranks == (_smallest_rank(s, eps * np.linalg.norm(x)),)
