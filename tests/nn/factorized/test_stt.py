"""STTLinear (tensornet/nn/factorized/stt.py): STP chain semantics, paths, conversion, init."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tensornet.algebra import stp
from tensornet.decompositions import stt_svd
from tensornet.nn.factorized._network import interleave
from tensornet.nn.factorized.base import target_variance
from tensornet.nn.factorized.stt import STTLinear

from .layer_checks import (
    assert_layer_gradients,
    assert_paths_match_dense,
    mean_square_over_seeds,
    randomize_bias,
)


def weight_by_stp_chain(layer):
    """W from the definition: entry s of G_1[i'_1] ⋉ G_2[i_2] ⋉ ... ⋉ G_d[i_d] (a 1 x t row)."""
    p, ins, outs, t = layer.params, layer.in_modes, layer.out_modes, layer.t
    sizes = [m * n for m, n in zip(ins, outs)]
    d = len(ins)
    cores = [p[f"core_{k}"].reshape(p[f"core_{k}"].shape[0], sizes[k], -1) for k in range(1, d)]
    t_full = np.zeros(sizes)
    for idx in np.ndindex(sizes[0] // t, *sizes[1:]):
        row = p["core_0"][idx[0]][None, :]
        for k in range(1, d):
            row = stp(row, cores[k - 1][:, idx[k], :])
        for s in range(t):
            t_full[(idx[0] * t + s, *idx[1:])] = row[0, s]
    order = [2 * k for k in range(d)] + [2 * k + 1 for k in range(d)]
    split = [v for m, n in zip(ins, outs) for v in (m, n)]
    return t_full.reshape(split).transpose(order).reshape(math.prod(ins), math.prod(outs))


@pytest.mark.parametrize(
    ("ins", "outs", "ranks", "t"),
    [
        ((2, 3, 2), (2, 2, 3), 4, 2),
        ((4, 3), (3, 2), 6, 3),
        ((2, 2, 2, 2), (3, 1, 2, 2), (4, 8, 4), 2),
        ((3, 3), (2, 2), 3, 1),
    ],
)
def test_weight_is_the_semi_tensor_product_chain(ins, outs, ranks, t):
    layer = STTLinear(
        math.prod(ins),
        math.prod(outs),
        ranks,
        in_modes=ins,
        out_modes=outs,
        t=t,
        random_state=0,
        dtype=np.float64,
    )
    np.testing.assert_allclose(layer.weight(), weight_by_stp_chain(layer), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(
        interleave(layer.weight(), ins, outs), layer.to_format().full(), rtol=1e-12, atol=1e-13
    )


@pytest.mark.parametrize(
    ("ins", "outs", "ranks", "t"),
    [
        ((2, 3, 2), (2, 2, 3), 4, 2),
        ((4, 7, 4, 7), (5, 5, 5, 5), 8, 4),
        ((4, 3), (3, 2), 6, 3),
    ],
)
def test_factor_and_dense_paths_equal_linear_with_weight(ins, outs, ranks, t):
    layer = STTLinear(
        math.prod(ins),
        math.prod(outs),
        ranks,
        in_modes=ins,
        out_modes=outs,
        t=t,
        random_state=1,
        dtype=np.float64,
    )
    randomize_bias(layer)
    x = np.random.default_rng(2).standard_normal((6, math.prod(ins)))
    assert_paths_match_dense(layer, x)


@settings(max_examples=20, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 4), st.integers(1, 4)), min_size=2, max_size=4),
    st.sampled_from([1, 2]),
    st.integers(1, 3),
    st.integers(1, 7),
    st.integers(0, 2**31),
)
def test_factor_path_equals_dense_product_for_random_shapes(pairs, t, q, batch, seed):
    ins, outs = [p[0] for p in pairs], [p[1] for p in pairs]
    if (ins[0] * outs[0]) % t:
        ins[0] *= t
    layer = STTLinear(
        math.prod(ins),
        math.prod(outs),
        t * q,
        in_modes=ins,
        out_modes=outs,
        t=t,
        random_state=seed,
        dtype=np.float64,
        mode="factors",
    )
    x = np.random.default_rng(seed + 1).standard_normal((batch, math.prod(ins)))
    ref = x @ layer.weight()
    np.testing.assert_allclose(layer(x), ref, rtol=1e-5, atol=1e-5 * np.max(np.abs(ref)))


def test_gradients_match_finite_differences():
    layer = STTLinear(
        12,
        12,
        in_modes=(2, 3, 2),
        out_modes=(2, 2, 3),
        ranks=4,
        t=2,
        random_state=3,
        dtype=np.float64,
    )
    randomize_bias(layer, 4)
    assert_layer_gradients(layer, np.random.default_rng(5).standard_normal((3, 12)))


@pytest.mark.parametrize("t", [1, 2, 4])
def test_full_rank_conversion_is_exact(t):
    rng = np.random.default_rng(6)
    w, b = rng.standard_normal((16, 12)), rng.standard_normal(12)
    layer = STTLinear.from_weight(w, b, in_modes=(4, 2, 2), out_modes=(2, 3, 2), t=t)
    np.testing.assert_allclose(layer.weight(), w, atol=1e-10 * np.abs(w).max())
    x = rng.standard_normal((3, 16))
    np.testing.assert_allclose(layer(x), x @ w + b, rtol=1e-9, atol=1e-9)


def test_truncated_conversion_matches_stt_svd_and_its_error():
    w = np.random.default_rng(7).standard_normal((64, 36)).astype(np.float32)
    layer = STTLinear.from_weight(w, in_modes=(4, 4, 4), out_modes=(3, 3, 4), t=2, ranks=4)
    assert layer.ranks == (4, 4) and layer.params["core_0"].dtype == np.float32
    s = stt_svd(interleave(w.astype(np.float64), (4, 4, 4), (3, 3, 4)), ranks=4, t=2)
    np.testing.assert_allclose(
        interleave(layer.weight(), (4, 4, 4), (3, 3, 4)), s.full(), rtol=1e-4, atol=1e-5
    )
    err = np.linalg.norm(layer.weight().astype(np.float64) - w) / np.linalg.norm(w)
    assert math.isclose(err, layer.decomposition_info["rel_error"], rel_tol=1e-4)


@pytest.mark.parametrize(("init", "t"), [("he", 2), ("glorot", 2), ("he", 4)])
def test_init_variance_over_seeds_within_ten_percent(init, t):
    # Var(W) = P sigma^(2d) with P = prod_k r_k / t (the t index is fixed by the entry)
    target = target_variance(init, 784, 625)

    def make(seed):
        return STTLinear(
            784,
            625,
            16,
            in_modes=(4, 7, 4, 7),
            out_modes=(5, 5, 5, 5),
            t=t,
            init=init,
            random_state=seed,
        )

    assert abs(mean_square_over_seeds(make, 40) / target - 1) < 0.10


def test_rescale_makes_the_realized_variance_exact():
    layer = STTLinear(
        784,
        625,
        4,
        in_modes=(4, 7, 4, 7),
        out_modes=(5, 5, 5, 5),
        t=2,
        rescale=True,
        random_state=0,
    )
    assert math.isclose(
        float(np.mean(np.square(layer.weight(), dtype=np.float64))), 2 / 784, rel_tol=1e-4
    )


def test_parameter_and_flop_counts():
    # STT (our reading of Zhao et al.): m1 n1 r1 / t + sum_{k>=2} m_k n_k r_{k-1} r_k / t^2,
    # r_d = t; 784 -> 625, ranks 8, t = 2: 80 + 560 + 320 + 140 = 1100.
    ins, outs, r, t = (4, 7, 4, 7), (5, 5, 5, 5), 8, 2
    layer = STTLinear(
        math.prod(ins), math.prod(outs), r, in_modes=ins, out_modes=outs, t=t, bias=False
    )
    ranks = [r] * 3 + [t]
    expected = ins[0] * outs[0] * r // t + sum(
        ins[k] * outs[k] * ranks[k - 1] * ranks[k] // t**2 for k in range(1, 4)
    )
    assert layer.n_params == expected == 1100 == layer.to_format().n_params
    # d = 2, TT of ranks q = r/t: x.G1 then .G2 (B m1 m2 n1 q + B m2 n1 q n2) or the reverse
    b, (m1, m2), (n1, n2), q = 32, (6, 4), (2, 5), 3
    two = STTLinear(
        math.prod((m1, m2)),
        math.prod((n1, n2)),
        q * 2,
        in_modes=(m1, m2),
        out_modes=(n1, n2),
        t=2,
        bias=False,
    )
    first = b * m1 * m2 * n1 * q + b * m2 * n1 * q * n2
    second = b * m1 * m2 * n2 * q + b * m1 * n2 * q * n1
    assert two.flops((b, m1 * m2), path="factors") == min(first, second)
    assert two.reconstruction_flops() == m1 * n1 * q * m2 * n2


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"ranks": 5, "t": 2}, "ranks=5 must be a multiple of t=2"),
        ({"ranks": (4, 6), "t": 4}, "ranks\\[1\\]=6"),
        ({"ranks": (4, 4, 4), "t": 2}, "ranks"),
        ({"ranks": 4, "t": 0}, "t=0"),
        ({"ranks": 6, "t": 3, "out_features": 8, "out_modes": (2, 2, 2)}, "t=3 must divide"),
        ({"ranks": (4, 400), "t": 2}, "ranks\\[1\\]=400"),
    ],
)
def test_bad_configurations_name_the_argument(kwargs, match):
    args = {"in_features": 12, "out_features": 12, "in_modes": (2, 3, 2), "out_modes": (2, 2, 3)}
    args |= kwargs
    with pytest.raises(ValueError, match=match):
        STTLinear(**args)
