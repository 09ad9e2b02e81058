"""Mutation-found gaps of ``tensornet.formats.btd``: the balanced norm with mixed terms."""

import numpy as np
import pytest

from tensornet.formats.btd import BTDTensor
from tensornet.formats.tucker import TuckerTensor


@pytest.mark.parametrize("shift", [40, -40, 60])
def test_norm_equals_the_dense_norm_when_only_one_term_needs_rebalancing(shift):
    # term 0 stores a core scaled by 2**shift and a factor by 2**-shift (its arrays lie outside
    # the exponent window, its tensor does not); term 1 is ordinary: both must count in full
    rng = np.random.default_rng(0)
    core0, core1 = rng.standard_normal((2, 2, 2)), rng.standard_normal((2, 2, 2))
    f0 = [rng.standard_normal((3, 2)) for _ in range(3)]
    f1 = [rng.standard_normal((3, 2)) for _ in range(3)]
    scaled = TuckerTensor(np.ldexp(core0, shift), [np.ldexp(f0[0], -shift), *f0[1:]])
    x = BTDTensor([scaled, TuckerTensor(core1, f1)])
    assert x._balanced() is not None and x.terms[1]._balanced() is None
    assert x.norm() == pytest.approx(np.linalg.norm(x.full()), rel=1e-12)


@pytest.mark.parametrize("scale", [1e200, 1e-200])
def test_norm_of_a_btd_whose_every_term_is_huge_or_tiny_scales_exactly(scale):
    # every term lies outside the exponent window: squares would overflow (underflow) unscaled
    rng = np.random.default_rng(1)
    cores = [rng.standard_normal((2, 2, 2)) for _ in range(2)]
    factors = [[rng.standard_normal((3, 2)) for _ in range(3)] for _ in range(2)]
    plain = BTDTensor([TuckerTensor(c, f) for c, f in zip(cores, factors, strict=True)])
    scaled = BTDTensor([TuckerTensor(c * scale, f) for c, f in zip(cores, factors, strict=True)])
    assert scaled.norm() == pytest.approx(scale * plain.norm(), rel=1e-12)
