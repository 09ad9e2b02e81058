"""Mutation-found gaps of ``tensornet.formats.tucker``: the inner product with a format that
has its own structured one."""

import numpy as np
import pytest

from tensornet.formats.btd import BTDTensor
from tensornet.formats.tucker import TuckerTensor


def test_inner_with_a_btd_tensor_too_large_to_densify_is_the_sum_over_its_terms():
    # 1024 * 1024 * 130 elements exceed DEFAULT_MAX_ELEMENTS: only the structured products work
    rng = np.random.default_rng(3)
    shape = (1024, 1024, 130)

    def term():
        return TuckerTensor(
            rng.standard_normal((2, 2, 2)), [rng.standard_normal((n, 2)) for n in shape]
        )

    x, terms = term(), [term(), term()]
    expected = sum(
        np.einsum(
            "abc,ai,bj,ck,ijk->",
            x.core,
            *(u.T @ v for u, v in zip(x.factors, t.factors, strict=True)),
            t.core,
        )
        for t in terms
    )
    assert x.inner(BTDTensor(terms)) == pytest.approx(expected, rel=1e-10)
