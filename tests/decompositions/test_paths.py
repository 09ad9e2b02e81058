"""Code paths of the decompositions that small random tests do not reach, each stated as a property.

* TT-SVD on unfoldings large enough for the Gram-matrix step (rank cap alone, with the next
  step's Gram matrix formed from ``B``; error budget chosen by eigenvalues or by exact row norms)
  and for the randomized range finder (``method="randomized"``): a rank-capped TT-SVD of an
  exact TT tensor of that rank, with many rows per step, is exact.
* Two or more leading TT-SVD steps whose cap is the full row count (skipped as identity cores):
  the result is the best approximation of the first truncating unfolding.
* HT-SVD with one rank per node; KPD/GKPD at and above the full Kronecker rank with
  ``prod a_shape != prod b_shape``.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tensornet as tn
from tensornet.algebra.truncation import SMALL_SIZE, uses_gram_path
from tensornet.decompositions.ht import ht_max_ranks
from tensornet.formats.ht import _as_tree
from tensornet.testing.strategies import ht_tensors

CAP = settings(max_examples=min(settings().max_examples, 15))

#: steps (24, 36000) and (3 * 40, 900), both large and wide (Gram path; randomized sketch); the
#: unequal mode sizes make a next-step Gram matrix formed for the wrong mode fail loudly
SHAPE = (24, 40, 30, 30)


def _exact_tt(rank, seed, shape=SHAPE):
    rng = np.random.default_rng(seed)
    ranks = [1] + [rank] * (len(shape) - 1) + [1]
    return tn.TTTensor(
        [rng.standard_normal((ranks[k], n, ranks[k + 1])) for k, n in enumerate(shape)]
    )


def test_the_large_steps_take_the_gram_and_sketch_paths():
    """Guard for the tests below: their unfoldings really are on the large paths."""
    assert uses_gram_path((24, 36000)) and uses_gram_path((120, 900))
    assert 24 * 36000 > SMALL_SIZE and 120 * 900 > SMALL_SIZE


@pytest.mark.parametrize("method", ["exact", "randomized"])
@pytest.mark.parametrize("rank", [1, 3])
def test_rank_capped_tt_svd_of_an_exact_tt_tensor_with_many_rows_per_step_is_exact(method, rank):
    tt = _exact_tt(rank, seed=rank)
    x = tt.full()
    out = tn.tt_svd(x, ranks=rank, method=method, random_state=0)
    assert out.ranks == (1, rank, rank, rank, 1)
    assert out.relative_error(x) < 1e-10
    assert out.info["rel_error"] < 1e-6  # Gram-path tails are accurate to about 1e-7
    # left-orthonormal cores, the TT-SVD convention on every path
    for g in out.cores[:-1]:
        m = g.reshape(-1, g.shape[2])
        np.testing.assert_allclose(m.T @ m, np.eye(g.shape[2]), atol=1e-10)


@pytest.mark.parametrize("method", ["exact", "randomized"])
def test_rank_capped_tt_svd_above_the_tt_rank_is_still_exact_and_reports_the_step_errors(method):
    tt = _exact_tt(2, seed=5)
    x = tt.full()
    out = tn.tt_svd(x, ranks=4, method=method, random_state=1)
    assert out.ranks == (1, 4, 4, 4, 1)  # a cap alone keeps that many (no eps: nothing dropped)
    assert out.relative_error(x) < 1e-10
    assert len(out.info["step_errors"]) == 3
    assert np.sqrt(np.sum(np.square(out.info["step_errors"]))) <= 1e-6 * np.linalg.norm(x)


@pytest.mark.parametrize("eps", [1e-3, 1e-9])  # eigenvalues choose the rank / exact row norms do
def test_tt_svd_with_an_error_budget_on_large_steps_finds_the_exact_tt_ranks(eps):
    tt = _exact_tt(3, seed=9)
    x = tt.full() + 1e-12 * np.random.default_rng(0).standard_normal(SHAPE)
    out = tn.tt_svd(x, eps=eps)
    assert out.ranks == (1, 3, 3, 3, 1)
    err = out.relative_error(x)
    assert err <= eps
    assert out.info["rel_error"] == pytest.approx(err, rel=1e-3, abs=1e-7)


def test_randomized_tt_svd_with_eps_truncates_below_the_sketch_width():
    """The sketch of width 5 finds the rank-2 subspace; ``eps`` then drops the rest."""
    tt = _exact_tt(2, seed=11)
    x = tt.full()
    out = tn.tt_svd(x, ranks=5, eps=1e-8, method="randomized", random_state=0)
    assert out.ranks == (1, 2, 2, 2, 1)
    assert out.relative_error(x) < 1e-10
    assert out.info["error_exact"] is False


def _graded_tt(seed):
    """A TT tensor of ranks 4 whose singular values at every bond fall by 10 per direction."""
    rng = np.random.default_rng(seed)
    grade = 10.0 ** -np.arange(4)
    cores = []
    for k, n in enumerate(SHAPE):
        left = 1 if k == 0 else 4
        right = 1 if k == len(SHAPE) - 1 else 4
        q, _ = np.linalg.qr(rng.standard_normal((left * n, right)))
        g = q.reshape(left, n, right)
        cores.append(g * grade if right == 4 else g)
    return tn.TTTensor(cores)


@pytest.mark.parametrize(("eps", "rank"), [(0.3, 1), (0.05, 2), (0.01, 3), (1e-4, 4)])
def test_randomized_tt_svd_chooses_the_ranks_of_the_exact_tt_svd_when_the_sketch_is_exact(
    eps, rank
):
    """A sketch of width 4 spans the whole range of a rank-4 tensor, so ``eps`` must truncate
    its exact singular values to the ranks the exact method chooses, in absolute terms."""
    x = _graded_tt(13).full()
    x = x * (1e3 / np.linalg.norm(x))  # a budget in units of ||X||, not absolute
    exact = tn.tt_svd(x, ranks=4, eps=eps)
    sketch = tn.tt_svd(x, ranks=4, eps=eps, method="randomized", random_state=2)
    assert sketch.ranks == exact.ranks == (1, rank, rank, rank, 1)
    assert sketch.relative_error(x) == pytest.approx(exact.relative_error(x), rel=1e-6)
    assert sketch.info["rel_error"] == pytest.approx(sketch.relative_error(x), rel=1e-4, abs=1e-7)


def test_randomized_tt_svd_of_a_generic_tensor_reports_its_true_error():
    """With a residual the sketch cannot capture, ``rel_error`` still equals the dense error."""
    x = np.random.default_rng(17).standard_normal(SHAPE)
    out = tn.tt_svd(x, ranks=3, method="randomized", random_state=0)
    assert out.info["error_exact"] is False
    assert out.info["rel_error"] == pytest.approx(out.relative_error(x), rel=1e-6)
    assert len(out.info["step_errors"]) == 3
    dense = np.linalg.norm((x - out.full()).ravel())
    assert np.sqrt(np.sum(np.square(out.info["step_errors"]))) == pytest.approx(dense, rel=1e-6)
    with_eps = tn.tt_svd(x, ranks=3, eps=0.999, method="randomized", random_state=0)
    assert with_eps.info["rel_error"] == pytest.approx(with_eps.relative_error(x), rel=1e-6)


@pytest.mark.parametrize("shape", [(300, 300), (20, 4000), (70, 40, 30)])
def test_tt_svd_of_a_large_tensor_holding_nan_is_refused_on_every_first_step(shape):
    """Large arrays skip the up-front scan; the check rides on the first Gram matrix or on the
    first step's own check, whichever path that step takes."""
    x = np.random.default_rng(0).standard_normal(shape)
    x.flat[x.size // 3] = np.nan
    with pytest.raises(ValueError, match="x must be finite"):
        tn.tt_svd(x, ranks=3)


def test_randomized_tt_svd_steps_up_to_the_small_size_are_exact():
    """A step of at most ``SMALL_SIZE`` entries is the exact step even with ``"randomized"``
    (the sketch would only approximate it): the results agree with the exact method."""
    x = np.random.default_rng(21).standard_normal((64, 1024))
    assert x.size == SMALL_SIZE
    sketch = tn.tt_svd(x, ranks=5, method="randomized", random_state=0)
    exact = tn.tt_svd(x, ranks=5)
    np.testing.assert_allclose(sketch.full(), exact.full(), atol=1e-10)
    small = np.random.default_rng(22).standard_normal((6, 7, 8))
    np.testing.assert_allclose(
        tn.tt_svd(small, ranks=3, method="randomized", random_state=0).full(),
        tn.tt_svd(small, ranks=3).full(),
        atol=1e-10,
    )


def test_randomized_tt_svd_with_a_cap_at_the_full_rank_takes_the_exact_step():
    x = np.random.default_rng(23).standard_normal((64, 2048))
    out = tn.tt_svd(x, ranks=64, method="randomized", random_state=0)
    assert out.info["error_exact"] is True
    assert out.relative_error(x) < 1e-12


def test_tt_svd_accepts_nested_lists_like_arrays():
    x = np.random.default_rng(24).standard_normal((3, 4, 2))
    np.testing.assert_allclose(tn.tt_svd(x.tolist(), ranks=2).full(), tn.tt_svd(x, ranks=2).full())


# ---------------------------------------------------------------------------- leading full steps
@CAP
@given(
    seed=st.integers(0, 2**16),
    shape=st.lists(st.integers(2, 4), min_size=3, max_size=5).map(tuple),
    cap=st.integers(1, 3),
)
def test_tt_svd_with_full_caps_on_leading_steps_is_the_best_approximation_of_the_next_unfolding(
    seed, shape, cap
):
    """Caps equal to ``n_1 ... n_k`` on the first ``d - 2`` steps (all skipped: at least two for
    ``d >= 4``) and ``cap`` on the last: the error is the Eckart-Young tail of ``X_<d-1>``."""
    x = np.random.default_rng(seed).standard_normal(shape)
    d = len(shape)
    lead = [int(np.prod(shape[: k + 1])) for k in range(d - 2)]
    out = tn.tt_svd(x, ranks=[*lead, cap])  # caps above the largest TT rank are lowered to it
    rows = int(np.prod(shape[:-1]))
    s = np.linalg.svd(x.reshape(rows, -1), compute_uv=False)
    r = min(cap, len(s))
    want = np.sqrt(np.sum(s[r:] ** 2))
    got = np.linalg.norm((x - out.full()).ravel())
    assert got == pytest.approx(want, rel=1e-9, abs=1e-12 * s[0])
    assert out.ranks[-2] == r
    assert len(out.info["step_errors"]) == d - 1
    assert out.info["step_errors"][-1] == pytest.approx(want, rel=1e-9, abs=1e-12 * s[0])


def test_two_leading_full_steps_give_identity_cores():
    x = np.random.default_rng(3).standard_normal((2, 3, 7, 5))
    out = tn.tt_svd(x, ranks=(2, 6, 2))
    assert out.ranks == (1, 2, 6, 2, 1)
    np.testing.assert_array_equal(out.cores[0].reshape(2, 2), np.eye(2))
    np.testing.assert_array_equal(out.cores[1].reshape(6, 6), np.eye(6))
    assert out.info["step_errors"][:2] == [0.0, 0.0]
    s = np.linalg.svd(x.reshape(42, 5), compute_uv=False)
    assert out.info["step_errors"][2] == pytest.approx(np.sqrt(np.sum(s[2:] ** 2)), rel=1e-10)


def test_tt_svd_with_every_cap_at_the_full_row_count_is_x_with_identity_cores():
    x = np.random.default_rng(8).standard_normal((2, 3, 7))
    out = tn.tt_svd(x, ranks=100)  # caps lowered to (2, 6): both steps skipped
    assert out.ranks == (1, 2, 6, 1)
    np.testing.assert_array_equal(out.full(), x)
    assert out.info["step_errors"] == [0.0, 0.0]
    assert out.info["rel_error"] == 0.0


def test_rank_capped_tt_svd_keeps_the_cap_even_above_the_numerical_rank():
    """Without ``eps`` nothing is dropped: the caps alone decide (``truncate``'s rule)."""
    x = np.einsum("i,j,k->ijk", *np.random.default_rng(9).standard_normal((3, 5)))
    out = tn.tt_svd(x, ranks=2)
    assert out.ranks == (1, 2, 2, 1)
    assert tn.tt_svd(x).ranks == (1, 1, 1, 1)  # neither ranks nor eps: eps = 0


# ---------------------------------------------------------------------------- HT per-node ranks
@CAP
@given(h=ht_tensors(max_rank=3), data=st.data())
def test_ht_svd_with_one_rank_per_node_at_the_true_ranks_is_exact(h, data):
    x = h.full()
    true = tn.ht_svd(x, eps=1e-10).ranks
    per_node = list(true[1:])
    out = tn.ht_svd(x, ranks=per_node)
    assert out.relative_error(x) < 1e-8
    assert out.ranks == true
    # a lower rank on one node binds exactly there
    node = data.draw(st.integers(1, len(per_node)))
    if per_node[node - 1] > 1:
        lower = list(per_node)
        lower[node - 1] -= 1
        cut = tn.ht_svd(x, ranks=lower)
        assert cut.ranks[node] <= lower[node - 1]
        assert all(a <= b for a, b in zip(cut.ranks[1:], lower, strict=True))
        assert cut.info["error"] == pytest.approx(
            np.linalg.norm((x - cut.full()).ravel()), rel=1e-6, abs=1e-12
        )


def test_ht_svd_per_node_ranks_are_honoured_node_by_node():
    x = np.random.default_rng(4).standard_normal((3, 4, 5, 2))
    tree = _as_tree(None, 4)
    maximum = ht_max_ranks(x.shape, tree)
    ranks = [max(1, m - 1) for m in maximum[1:]]
    out = tn.ht_svd(x, ranks=ranks)
    assert all(a <= b for a, b in zip(out.ranks[1:], ranks, strict=True))
    for t in tree.leaves:  # leaves are truncated first, on generic data: the cap binds exactly
        assert out.ranks[t] == ranks[t - 1]
    assert out.info["rel_error"] == pytest.approx(out.relative_error(x), rel=1e-8)
    with pytest.raises(ValueError, match=r"ranks\[0\]=.* exceeds the largest possible rank"):
        tn.ht_svd(x, ranks=[maximum[1] + 1] + ranks[1:])
    with pytest.raises(ValueError, match="one per non-root node"):
        tn.ht_svd(x, ranks=ranks[:-1])
    with pytest.raises(ValueError, match=r"ranks\[1\]=0 must be >= 1"):
        tn.ht_svd(x, ranks=[1, 0] + ranks[2:])
    at_max = tn.ht_svd(x, ranks=list(maximum[1:]))  # every node at its largest rank: exact
    assert at_max.orthonormal
    assert at_max.relative_error(x) < 1e-12
    ones = tn.ht_svd(x, ranks=[1] * len(ranks))
    assert ones.ranks == (1,) * tree.n_nodes
    assert tn.ht_svd(x, ranks=1).ranks == ones.ranks


@pytest.mark.parametrize("shape", [(3, 4, 5, 2), (2, 6), (4, 3, 5)])
def test_ht_max_ranks_is_min_of_inside_and_outside_sizes_as_ints(shape):
    tree = _as_tree(None, len(shape))
    got = ht_max_ranks(shape, tree)
    assert got[0] == 1 and len(got) == tree.n_nodes
    for t, modes in enumerate(tree.nodes[1:], start=1):
        inside = int(np.prod([shape[k] for k in modes]))
        assert got[t] == min(inside, int(np.prod(shape)) // inside)
        assert type(got[t]) is int


# ---------------------------------------------------------------------------- KPD over-rank
@pytest.mark.parametrize(
    ("a_shape", "b_shape"), [((2, 3), (4, 2)), ((3, 4), (2, 1)), ((1, 2), (6, 5))]
)
def test_kpd_at_the_full_kronecker_rank_of_unequal_products_is_exact_and_above_it_refused(
    a_shape, b_shape
):
    m = np.random.default_rng(5).standard_normal((a_shape[0] * b_shape[0], a_shape[1] * b_shape[1]))
    full_rank = min(np.prod(a_shape), np.prod(b_shape))
    assert np.prod(a_shape) != np.prod(b_shape)
    k = tn.kpd(m, a_shape, b_shape, rank=full_rank)
    assert k.ranks == (full_rank,)
    np.testing.assert_allclose(k.full(), m, atol=1e-12)
    assert tn.kpd(m, a_shape, b_shape, rank=None).ranks == (full_rank,)
    with pytest.raises(ValueError, match=f"rank={full_rank + 1} exceeds the full Kronecker rank"):
        tn.kpd(m, a_shape, b_shape, rank=full_rank + 1)
    # swapping the roles of A and B keeps the full rank (min of the two products)
    m2 = np.random.default_rng(6).standard_normal(
        (b_shape[0] * a_shape[0], b_shape[1] * a_shape[1])
    )
    assert tn.kpd(m2, b_shape, a_shape, rank=None).info["max_rank"] == full_rank


# ---------------------------------------------------------------------------- TR-SVD capped split
def _expected_split(rank, c0, c1):
    """By brute force over every pair within the caps: the largest product a b <= rank, split
    as balanced as the caps allow (the larger a on a tie)."""
    pairs = [(a, b) for a in range(1, c0 + 1) for b in range(1, c1 + 1) if a * b <= rank]
    best = max(a * b for a, b in pairs)
    return min((p for p in pairs if p[0] * p[1] == best), key=lambda p: (abs(p[1] - p[0]), -p[0]))


@settings(max_examples=min(settings().max_examples, 25))
@given(
    seed=st.integers(0, 2**16),
    shape=st.lists(st.integers(2, 6), min_size=3, max_size=4).map(tuple),
    caps=st.lists(st.integers(1, 5), min_size=4, max_size=4),
)
def test_tr_svd_first_split_within_rank_caps_and_its_reported_error(seed, shape, caps):
    x = np.random.default_rng(seed).standard_normal(shape)
    caps = caps[: len(shape)]
    tr = tn.tr_svd(x, ranks=caps)
    first = min(shape[0], x.size // shape[0])  # rank of the first unfolding (generic data)
    c0, c1 = min(caps[0], first), min(caps[1], first)
    assert (tr.ranks[0], tr.ranks[1]) == _expected_split(min(c0 * c1, first), c0, c1)
    assert all(r <= c for r, c in zip(tr.ranks[2:-1], caps[2:], strict=True))
    assert tr.ranks[-1] == tr.ranks[0]
    assert tr.info["rel_error"] == pytest.approx(tr.relative_error(x), rel=1e-7, abs=1e-13)
