"""Mutation-found gaps of ``tensornet.decompositions.tt``."""

import numpy as np
import pytest

from tensornet.decompositions import tt_svd


def test_randomized_tt_svd_counts_the_sketch_residual_against_eps():
    # singular values halving per term; the rank cap 8 alone leaves a relative error 0.0043,
    # so for eps >= 0.0065 the sketch residual of each step fits in its budget
    # eps ||X|| / sqrt(d - 1), and the eps truncation that follows must stay within eps overall
    rng = np.random.default_rng(0)
    n = 48  # 48 x 2304 = 110592 entries: above SMALL_SIZE, so the first step is sketched
    x = sum(
        0.5**k * np.einsum("i,j,k->ijk", *(rng.standard_normal(n) for _ in range(3)))
        for k in range(14)
    )
    for eps in np.geomspace(4.5e-3, 2e-2, 12)[3:]:
        tt = tt_svd(x, ranks=8, eps=eps, method="randomized", random_state=0)
        err = np.linalg.norm(tt.full() - x) / np.linalg.norm(x)
        assert err <= eps, eps
        assert abs(err - tt.info["rel_error"]) <= 1e-9


def test_tt_svd_refuses_a_scalar_by_its_ndim():
    with pytest.raises(ValueError, match=r"x must have ndim >= 1, got ndim=0"):
        tt_svd(np.array(3.0))
