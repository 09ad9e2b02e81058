"""BTLinear and BTConv2d: sweep == dense, gradients, conversion, init, parameter and FLOP counts."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tensornet.nn.factorized.btd import (
    BTConv2d,
    BTLinear,
    sweep_activations,
    sweep_flops,
    tucker_blocks_full,
    tucker_blocks_sum,
    tucker_full_flops,
)

from .layer_checks import (
    assert_auto_path_takes_the_cheaper,
    assert_factors_match_dense,
    assert_gradients_match_fd,
    assert_trains_in_float32,
    he_target,
    mean_square_over_seeds,
)

F64 = np.float64
GEOMETRIES = [(1, 0), (2, 1), ((2, 1), (0, 2))]


def _x(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def _bt_linear_reference(layer):
    """``W`` entry by entry from the definition, with einsum over the paired modes (d = 2)."""
    p = layer.params
    w = np.einsum("nab,nija,nklb->ikjl", p["core"], p["factor_0"], p["factor_1"])
    m1, m2 = layer.in_modes
    n1, n2 = layer.out_modes
    return w.reshape(m1 * m2, n1 * n2)


# ---------------------------------------------------------------------------- forward == dense
def test_bt_linear_weight_matches_the_definition():
    layer = BTLinear(
        12, 10, (2, 3), n_blocks=3, in_modes=(3, 4), out_modes=(2, 5), dtype=F64, random_state=0
    )
    np.testing.assert_allclose(layer.weight(), _bt_linear_reference(layer), rtol=1e-12)


@pytest.mark.parametrize(
    ("in_modes", "out_modes", "ranks", "n_blocks"),
    [((3, 4), (2, 5), (2, 3), 3), ((2, 3, 4), (5, 3, 2), (2, 1, 3), 2), ((6,), (4,), (5,), 2)],
)
def test_bt_linear_sweep_equals_x_times_weight(in_modes, out_modes, ranks, n_blocks):
    layer = BTLinear(
        math.prod(in_modes),
        math.prod(out_modes),
        ranks,
        n_blocks=n_blocks,
        in_modes=in_modes,
        out_modes=out_modes,
        dtype=F64,
        random_state=1,
    )
    assert_factors_match_dense(layer, _x((5, math.prod(in_modes))))


@settings(max_examples=15, deadline=None)
@given(
    st.lists(st.integers(1, 4), min_size=1, max_size=3),
    st.lists(st.integers(1, 4), min_size=3, max_size=3),
    st.integers(1, 3),
    st.integers(0, 2**16),
)
def test_bt_linear_sweep_equals_dense_for_any_modes(in_modes, out_all, n_blocks, seed):
    d = len(in_modes)
    out_modes = out_all[:d]
    ranks = [1 + (seed >> k) % (m * n) for k, (m, n) in enumerate(zip(in_modes, out_modes))]
    layer = BTLinear(
        math.prod(in_modes),
        math.prod(out_modes),
        ranks,
        n_blocks=n_blocks,
        in_modes=in_modes,
        out_modes=out_modes,
        dtype=F64,
        random_state=seed,
    )
    assert_factors_match_dense(layer, _x((3, math.prod(in_modes)), seed))


@pytest.mark.parametrize(("stride", "padding"), GEOMETRIES)
def test_bt_conv_equals_dense_conv_with_weight(stride, padding):
    layer = BTConv2d(
        6,
        4,
        (3, 2),
        (2, 3),
        stride=stride,
        padding=padding,
        n_blocks=2,
        spatial_rank=4,
        in_modes=(3, 2),
        out_modes=(2, 2),
        dtype=F64,
        random_state=1,
    )
    assert_factors_match_dense(layer, _x((2, 6, 9, 8)))


def test_bt_conv_weight_matches_the_definition():
    layer = BTConv2d(
        6,
        4,
        (3, 2),
        (2, 3),
        n_blocks=2,
        spatial_rank=4,
        in_modes=(3, 2),
        out_modes=(2, 2),
        dtype=F64,
        random_state=3,
    )
    p = layer.params
    # K[(o1, o2), (c1, c2), p, q] = sum G[n,e,a,b] S[n,e,p,q] A1[n,c1,o1,a] A2[n,c2,o2,b]
    k = np.einsum(
        "neab,nepq,nxya,nzwb->ywxzpq", p["core"], p["spatial"], p["factor_0"], p["factor_1"]
    )
    np.testing.assert_allclose(layer.weight(), k.reshape(4, 6, 3, 2), rtol=1e-12)


def test_tucker_blocks_full_is_the_multilinear_product():
    rng = np.random.default_rng(2)
    core = rng.standard_normal((2, 3, 2, 4))
    mats = [rng.standard_normal((2, n, r)) for n, r in [(5, 3), (4, 2), (3, 4)]]
    ref = np.einsum("nabc,nia,njb,nkc->nijk", core, *mats)
    np.testing.assert_allclose(tucker_blocks_full(core, mats), ref, rtol=1e-12)


def test_tucker_blocks_sum_is_the_block_sum_with_the_last_mode_first():
    rng = np.random.default_rng(4)
    core = rng.standard_normal((3, 2, 3, 2))
    mats = [rng.standard_normal((3, n, r)) for n, r in [(4, 2), (5, 3), (2, 2)]]
    ref = np.einsum("nabc,nia,njb,nkc->kij", core, *mats)
    np.testing.assert_allclose(tucker_blocks_sum(core, mats), ref, rtol=1e-12)


# ---------------------------------------------------------------------------- gradients
def test_bt_linear_gradient_matches_finite_differences():
    layer = BTLinear(
        12, 10, (2, 3), n_blocks=2, in_modes=(3, 4), out_modes=(2, 5), dtype=F64, random_state=2
    )
    assert_gradients_match_fd(layer, _x((3, 12)))


@pytest.mark.parametrize(("stride", "padding"), GEOMETRIES)
def test_bt_conv_gradient_matches_finite_differences(stride, padding):
    layer = BTConv2d(
        4,
        6,
        (2, 3),
        (2, 2),
        stride=stride,
        padding=padding,
        n_blocks=2,
        spatial_rank=3,
        in_modes=(2, 2),
        out_modes=(3, 2),
        dtype=F64,
        random_state=2,
    )
    assert_gradients_match_fd(layer, _x((2, 4, 6, 7)))


def test_bt_trains_in_float32():
    assert_trains_in_float32(BTLinear(24, 30, 2, n_blocks=2, random_state=0), (16, 24))
    layer = BTConv2d(
        4,
        6,
        3,
        2,
        stride=2,
        padding=1,
        n_blocks=2,
        in_modes=(2, 2),
        out_modes=(3, 2),
        random_state=0,
    )
    assert_trains_in_float32(layer, (4, 4, 9, 9))


# ---------------------------------------------------------------------------- conversion
def test_bt_linear_full_rank_conversion_of_a_random_weight_is_exact():
    w, b = _x((12, 10)), _x(10, 1)
    layer = BTLinear.from_weight(
        w, b, ranks=(6, 20), in_modes=(3, 4), out_modes=(2, 5), random_state=0
    )
    np.testing.assert_allclose(layer.weight(), w, rtol=0, atol=1e-10)
    np.testing.assert_array_equal(layer.params["bias"], b)
    assert layer.decomposition_info["weight_rel_error"] <= 1e-10


def test_bt_conv_full_rank_conversion_of_a_random_kernel_is_exact():
    w = _x((4, 6, 3, 2))
    layer = BTConv2d.from_weight(
        w, ranks=(6, 4), in_modes=(3, 2), out_modes=(2, 2), padding=1, random_state=0
    )
    assert layer.spatial_rank == 6
    np.testing.assert_allclose(layer.weight(), w, rtol=0, atol=1e-10)


def test_bt_linear_conversion_recovers_a_block_term_weight():
    source = BTLinear(
        16, 9, (2, 2), n_blocks=2, in_modes=(4, 4), out_modes=(3, 3), dtype=F64, random_state=7
    )
    w = source.weight()
    layer = BTLinear.from_weight(
        w,
        ranks=(2, 2),
        n_blocks=2,
        in_modes=(4, 4),
        out_modes=(3, 3),
        n_iter_max=2000,
        tol=1e-14,
        n_restarts=3,
        random_state=0,
    )
    assert np.linalg.norm(layer.weight() - w) <= 1e-6 * np.linalg.norm(w)


# ---------------------------------------------------------------------------- initialization
def test_bt_linear_variance_over_seeds_is_he():
    def make(seed):
        return BTLinear(
            256,
            256,
            4,
            n_blocks=4,
            in_modes=(4, 8, 8),
            out_modes=(8, 8, 4),
            rescale=False,
            random_state=seed,
        )

    assert abs(mean_square_over_seeds(make, range(200)) / he_target(make(0)) - 1) <= 0.1


def test_bt_conv_variance_over_seeds_is_he():
    def make(seed):
        return BTConv2d(
            32,
            32,
            3,
            4,
            n_blocks=4,
            in_modes=(4, 8),
            out_modes=(8, 4),
            rescale=False,
            random_state=seed,
        )

    assert abs(mean_square_over_seeds(make, range(200)) / he_target(make(0)) - 1) <= 0.1


def test_bt_rescale_makes_the_variance_exact():
    lin = BTLinear(24, 30, 2, n_blocks=2, rescale=True, dtype=F64, random_state=5)
    conv = BTConv2d(8, 6, 3, 2, n_blocks=2, rescale=True, dtype=F64, random_state=5)
    for layer in (lin, conv):
        assert math.isclose(np.mean(layer.weight() ** 2), he_target(layer), rel_tol=1e-12)


def test_bt_default_modes_come_from_suggest_modes():
    layer = BTLinear(784, 300, (2, 2, 2, 2))
    assert layer.in_modes == (7, 7, 4, 4) and layer.out_modes == (5, 5, 4, 3)
    assert BTLinear(784, 300, 2).order == 3


# ---------------------------------------------------------------------------- counts
def test_bt_linear_param_and_flop_formulas():
    m, n, r, nb, b = (4, 7, 4, 7), (3, 4, 5, 5), (2, 3, 2, 2), 3, 16
    layer = BTLinear(784, 300, r, n_blocks=nb, in_modes=m, out_modes=n, bias=False)
    # N_b (prod_k R_k + sum_k m_k n_k R_k)
    assert layer.n_params == nb * (2 * 3 * 2 * 2 + 4 * 3 * 2 + 7 * 4 * 3 + 4 * 5 * 2 + 7 * 5 * 2)
    # sweep, N = 784, L = B, E = 1: A_1: n_1 R_1 N L E; core: E R_1 prod_{l>1} R_l (N/m_1) L n_1;
    # A_k: n_k m_k R_k (prod_{l>k} m_l) L (prod_{l<k} n_l) (prod_{l>k} R_l)
    expected = nb * (
        3 * 2 * 784 * b
        + 2 * (3 * 2 * 2) * 196 * b * 3
        + 4 * 7 * 3 * (4 * 7) * b * 3 * (2 * 2)
        + 5 * 4 * 2 * 7 * b * (3 * 4) * 2
        + 5 * 7 * 2 * b * (3 * 4 * 5)
    )
    assert layer.factor_flops((b, 784)) == expected
    assert sweep_flops(m, n, r, nb, b, 1) == expected
    sizes = [mk * nk for mk, nk in zip(m, n, strict=True)]
    assert layer.reconstruction_flops() == tucker_full_flops(sizes, r, nb)
    assert_auto_path_takes_the_cheaper(layer, (b, 784))


@pytest.mark.parametrize("conv", [False, True])
def test_bt_factor_flops_equal_the_gemms_that_run(monkeypatch, conv):
    import tensornet.nn.factorized.btd as btd

    count = []
    original = btd.contract_step

    def counting(t, f, perm, n_contracted, new_shape):
        out = original(t, f, perm, n_contracted, new_shape)
        count.append(f.shape[0] * f.shape[1] * f.shape[2] * (out[0].size // f.shape[1]))
        return out

    monkeypatch.setattr(btd, "contract_step", counting)
    if conv:
        layer = BTConv2d(
            6,
            8,
            3,
            (2, 3),
            stride=2,
            padding=1,
            n_blocks=3,
            spatial_rank=4,
            in_modes=(3, 2),
            out_modes=(2, 4),
        )
        shape = (2, 6, 7, 9)
        oh, ow = layer.output_size(shape)
        # spatial conv B C N_b R_s OH OW KH KW, plus the weight-only product H = A^(1) x core
        # (m_1 n_1 R_1 E prod_{l>1} R_l per block) of the merged order taken here
        assert btd.merge_first((3, 2), (2, 4), (2, 3), 4)
        spatial = 2 * 6 * 3 * 4 * oh * ow * 9 + 3 * (3 * 2 * 2 * 4 * 3)
    else:
        layer = BTLinear(60, 24, (2, 3, 2), n_blocks=2, in_modes=(3, 4, 5), out_modes=(2, 3, 4))
        shape, spatial = (5, 60), 0
    layer.forward_factors(layer.params, np.ones(shape, np.float32))
    assert layer.factor_flops(shape) == spatial + sum(count)


@pytest.mark.parametrize("merged", [False, True])
def test_bt_both_contraction_orders_equal_the_dense_layer(monkeypatch, merged):
    import tensornet.nn.factorized.btd as btd

    monkeypatch.setattr(btd, "merge_first", lambda *args: merged)
    lin = BTLinear(
        24,
        30,
        (2, 3, 2),
        n_blocks=2,
        in_modes=(2, 3, 4),
        out_modes=(5, 3, 2),
        dtype=F64,
        random_state=3,
    )
    assert_factors_match_dense(lin, _x((4, 24)))
    conv = BTConv2d(
        6,
        4,
        (3, 2),
        (2, 3),
        stride=2,
        padding=1,
        n_blocks=2,
        spatial_rank=4,
        in_modes=(3, 2),
        out_modes=(2, 2),
        dtype=F64,
        random_state=1,
    )
    assert_factors_match_dense(conv, _x((2, 6, 9, 8)))
    assert_gradients_match_fd(conv, _x((2, 6, 5, 4)))


def test_tucker_full_flops_formula():
    # N_b sum_k I_k R_k prod_{l<k} I_l prod_{l>k} R_l
    assert tucker_full_flops([5, 4, 3], [3, 2, 4], 2) == 2 * (
        5 * 3 * 2 * 4 + 4 * 2 * 5 * 4 + 3 * 4 * 5 * 4
    )


def test_bt_conv_param_and_flop_formulas():
    c, o, kh, kw, nb, rs, b, h, w = 8, 6, 3, 3, 2, 4, 4, 10, 9
    layer = BTConv2d(
        c,
        o,
        (kh, kw),
        (2, 3),
        stride=1,
        padding=1,
        n_blocks=nb,
        spatial_rank=rs,
        in_modes=(2, 4),
        out_modes=(3, 2),
        bias=False,
    )
    # N_b (R_s KH KW + R_s prod_k R_k + sum_k c_k o_k R_k)
    assert layer.n_params == nb * (rs * kh * kw + rs * 2 * 3 + 2 * 3 * 2 + 4 * 2 * 3)
    oh, ow = h, w
    spatial = b * c * nb * rs * oh * ow * kh * kw
    assert layer.factor_flops((b, c, h, w)) == spatial + sweep_flops(
        (2, 4), (3, 2), (2, 3), nb, b * oh * ow, rs
    )
    assert_auto_path_takes_the_cheaper(layer, (b, c, h, w))


# ---------------------------------------------------------------------------- bad configurations
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"ranks": 0}, "ranks"),
        ({"ranks": (2, 10), "in_modes": (4, 3), "out_modes": (2, 3)}, r"ranks\[1\]=10 exceeds"),
        ({"ranks": 2, "in_modes": (4, 4), "out_modes": (2, 3)}, "in_modes=.* multiply to 16"),
        ({"ranks": 2, "in_modes": (4, 3), "out_modes": (2, 2)}, "out_modes=.* multiply to 4"),
        ({"ranks": (2, 2, 2), "in_modes": (4, 3)}, "out_modes|in_modes|ranks"),
        ({"ranks": 2, "n_blocks": 0}, "n_blocks"),
    ],
)
def test_bt_linear_bad_configurations(kwargs, match):
    with pytest.raises(ValueError, match=match):
        BTLinear(12, 6, **kwargs)


def test_bt_conv_bad_configurations():
    with pytest.raises(ValueError, match="spatial_rank=10 exceeds the largest possible rank 9"):
        BTConv2d(4, 4, 3, 2, spatial_rank=10, in_modes=(2, 2), out_modes=(2, 2))
    with pytest.raises(ValueError, match="in_modes"):
        BTConv2d(4, 4, 3, 2, in_modes=(2, 3), out_modes=(2, 2))
    with pytest.raises(ValueError, match="weight"):
        BTConv2d.from_weight(np.ones((4, 4)), ranks=2)
    with pytest.raises(ValueError, match="weight"):
        BTLinear.from_weight(np.ones((4, 4, 1)), ranks=2)
    with pytest.raises(ValueError, match=r"ranks\[0\]=7 exceeds"):
        BTLinear.from_weight(_x((6, 4)), ranks=(7, 2), in_modes=(3, 2), out_modes=(2, 2))


BT_784_300 = {"n_blocks": 2, "in_modes": (4, 7, 4, 7), "out_modes": (3, 4, 5, 5)}


@pytest.mark.parametrize(
    "args, kwargs, batch, expected",
    [
        # the factor path has 58x fewer multiply-adds and small states: factors
        (
            (4096, 4096, 2),
            {"n_blocks": 1, "in_modes": (8,) * 4, "out_modes": (8,) * 4},
            2,
            "factors",
        ),
        # 2.8x fewer multiply-adds, but 2.1M state elements copied (3.7x slower measured): dense
        ((784, 300, 2), BT_784_300, 128, "dense"),
        # 2.7x more multiply-adds on the factor path: dense
        ((784, 300, 4), BT_784_300, 128, "dense"),
    ],
)
def test_bt_linear_auto_takes_the_path_of_fewer_flops_and_state_copies(
    args, kwargs, batch, expected
):
    layer = BTLinear(*args, random_state=0, **kwargs)
    shape = (batch, args[0])
    assert layer.path(shape) == expected
    assert_auto_path_takes_the_cheaper(layer, shape)
    # the state bytes are the sweep's intermediates at the parameters' itemsize
    states = sweep_activations(
        layer.in_modes, layer.out_modes, layer.ranks, layer.n_blocks, batch, 1
    )
    assert layer.bytes_moved(shape, "factors") == 4 * states
    assert layer.bytes_moved(shape, "dense") == 0
