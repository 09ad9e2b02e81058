"""Mutation-found gaps of ``tensornet.decompositions.stp``: argument checks and integer ranks."""

import numpy as np
import pytest

from tensornet.decompositions.stp import st_tucker, stp_split, str_als, stt_svd

X = np.random.default_rng(0).standard_normal((4, 4, 6))


@pytest.mark.parametrize(
    "call",
    [
        lambda: stp_split(X, 0),
        lambda: st_tucker(X, 2, t=0),
        lambda: stt_svd(X, ranks=2, t=0),
        lambda: str_als(X, 2, t=0),
    ],
    ids=["stp_split", "st_tucker", "stt_svd", "str_als"],
)
def test_t_zero_is_refused_by_name(call):
    with pytest.raises(ValueError, match="t=0 must be >= 1"):
        call()


@pytest.mark.parametrize(
    "call",
    [lambda: stt_svd(np.ones(4), ranks=2, t=2), lambda: str_als(np.ones(4), 4, t=2)],
    ids=["stt_svd", "str_als"],
)
def test_a_vector_is_refused_for_its_ndim(call):
    with pytest.raises(ValueError, match=r"x must have ndim >= 2, got ndim=1"):
        call()


def test_str_als_of_a_matrix_is_tr_als_of_the_matrix():
    # d = 2 is the smallest ring: an exact rank-2 matrix is recovered with STR ranks (2, 2), t=1
    rng = np.random.default_rng(1)
    m = rng.standard_normal((5, 2)) @ rng.standard_normal((2, 6))
    s = str_als(m, (2, 1), t=1, n_iter_max=20, random_state=0)
    assert s.info["rel_error"] < 1e-8
    np.testing.assert_allclose(s.full(), m, atol=1e-8 * np.linalg.norm(m))


def test_st_tucker_reports_integer_split_ranks():
    st = st_tucker(X, (2, 4, 6), t=2)
    assert st.info["split_ranks"] == (1, 2, 2, 2, 3, 2)
    assert all(type(r) is int for r in st.info["split_ranks"])


def test_str_als_names_the_integer_tr_ranks_it_refuses():
    # STR ranks 10 with t = 2 are the TR ranks 5: 5 * 5 = 25 unknowns exceed the 4 * 6 = 24
    # equations of core 0, and the message names the reduced ranks as integers
    with pytest.raises(ValueError, match=r"give the TR ranks \[5, 5, 5\]"):
        str_als(X, 10, t=2)
