"""The shared parts of the factorized layers: mode splitting and the init variance rule."""

import inspect
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tensornet.formats import (
    BTDTensor,
    CPTensor,
    HTTensor,
    KronTensor,
    STTTensor,
    TRTensor,
    TTMatrix,
    TTTensor,
    TuckerTensor,
)
from tensornet.nn.factorized import (
    BTConv2d,
    BTLinear,
    CPConv2d,
    GKPConv2d,
    HTLinear,
    KPLinear,
    LowRankConv2d,
    LowRankLinear,
    STTLinear,
    TRConv2d,
    TRLinear,
    TTConv2d,
    TTLinear,
    TuckerConv2d,
    node_std,
    rescale_to_variance,
    suggest_modes,
    target_variance,
)

LINEAR_FAMILIES = [LowRankLinear, BTLinear, TTLinear, TRLinear, HTLinear, KPLinear, STTLinear]
CONV_FAMILIES = [LowRankConv2d, CPConv2d, TuckerConv2d, BTConv2d, TTConv2d, TRConv2d, GKPConv2d]


@given(st.integers(1, 5000), st.integers(1, 6))
def test_suggest_modes_multiply_to_n(n, d):
    modes = suggest_modes(n, d)
    assert len(modes) == d
    assert math.prod(modes) == n
    assert list(modes) == sorted(modes, reverse=True)


def test_suggest_modes_balances_powers():
    assert suggest_modes(4096, 4) == (8, 8, 8, 8)
    assert suggest_modes(784, 4) == (7, 7, 4, 4)


@pytest.mark.parametrize(("n", "d"), [(0, 2), (4, 0), (2.5, 2)])
def test_suggest_modes_refuses_bad_input(n, d):
    with pytest.raises((ValueError, TypeError)):
        suggest_modes(n, d)


@given(st.floats(1e-6, 10.0), st.integers(1, 4096), st.integers(1, 8))
def test_node_std_solves_the_variance_of_a_contraction(var, bonds, nodes):
    sigma = node_std(var, bonds, nodes)
    assert math.isclose(bonds * sigma ** (2 * nodes), var, rel_tol=1e-9)


def test_tt_matrix_node_std_matches_the_survey_formula():
    # TT cores of rank R, d cores: sigma^2 = (2/N)^(1/d) R^(1/d - 1) (survey Section II-B.2).
    n, d, r = 784, 4, 8
    sigma = node_std(target_variance("he", n, 625), r ** (d - 1), d)
    assert math.isclose(sigma**2, (2 / n) ** (1 / d) * r ** (1 / d - 1), rel_tol=1e-12)


def test_target_variances():
    assert target_variance("he", 100, 10) == 0.02
    assert target_variance("glorot", 100, 300) == 0.005
    assert target_variance("lecun", 50, 1) == 0.02
    with pytest.raises(ValueError, match="init"):
        target_variance("kaiming", 10, 10)


def test_rescale_to_variance_is_exact_for_a_linear_map():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((20, 3)), rng.standard_normal((3, 30))
    a2 = rescale_to_variance(a, a @ b, 0.01)
    assert math.isclose(float(np.mean((a2 @ b) ** 2)), 0.01, rel_tol=1e-12)


# ------------------------------------------------------------------ the common API of the layers
F64 = np.float64


def _paired_to_matrix(t, ins, outs):
    """``T[(i_1 n_1 + j_1), ...]`` back to ``W[(i_1..i_d), (j_1..j_d)]`` (written out here)."""
    d = len(ins)
    axes = [2 * k for k in range(d)] + [2 * k + 1 for k in range(d)]
    pairs = [size for m, n in zip(ins, outs, strict=True) for size in (m, n)]
    return t.reshape(pairs).transpose(axes).reshape(math.prod(ins), math.prod(outs))


def _spatial_paired_to_kernel(t, layer):
    """``(KH KW, c_1 o_1, ..., c_d o_d)`` back to the ``(O, C, KH, KW)`` kernel."""
    d, (kh, kw) = len(layer.in_modes), layer.kernel_size
    pairs = [size for c, o in zip(layer.in_modes, layer.out_modes, strict=True) for size in (c, o)]
    axes = [3 + 2 * k for k in range(d)] + [2 + 2 * k for k in range(d)] + [0, 1]
    return t.reshape([kh, kw, *pairs]).transpose(axes).reshape(layer.weight_shape)


def _layers_and_their_format():
    """``(layer, format class, full() -> weight())`` for every family."""
    ins, outs = {"in_modes": (3, 4), "out_modes": (2, 5)}, {}
    return [
        (LowRankLinear(12, 10, 3, dtype=F64, random_state=0), CPTensor, lambda t, _: t),
        (LowRankLinear(12, 10, 3, diag=True, dtype=F64, random_state=0), CPTensor, lambda t, _: t),
        (
            LowRankConv2d(4, 6, 3, 2, dtype=F64, random_state=0),
            CPTensor,
            lambda t, lay: t.reshape(lay.weight_shape),
        ),
        (
            LowRankConv2d(4, 6, 3, 2, scheme="spatial", dtype=F64, random_state=0),
            CPTensor,
            lambda t, _: t.reshape(4, 3, 6, 3).transpose(2, 0, 1, 3),
        ),
        (CPConv2d(4, 6, 3, 2, dtype=F64, random_state=0), CPTensor, lambda t, _: t),
        (TuckerConv2d(4, 6, 3, (2, 3), dtype=F64, random_state=0), TuckerTensor, lambda t, _: t),
        (
            BTLinear(12, 10, 2, n_blocks=2, **ins, dtype=F64, random_state=0),
            BTDTensor,
            lambda t, lay: _paired_to_matrix(t, lay.in_modes, lay.out_modes),
        ),
        (
            BTConv2d(4, 6, 3, 2, in_modes=(2, 2), out_modes=(2, 3), dtype=F64, random_state=0),
            BTDTensor,
            _spatial_paired_to_kernel,
        ),
        (TTLinear(12, 10, 2, **ins, dtype=F64, random_state=0), TTMatrix, lambda t, _: t),
        (
            TTConv2d(4, 6, 3, 2, in_modes=(2, 2), out_modes=(2, 3), dtype=F64, random_state=0),
            TTTensor,
            _spatial_paired_to_kernel,
        ),
        (
            TRLinear(12, 10, 2, **ins, dtype=F64, random_state=0),
            TRTensor,
            lambda t, _: t.reshape(12, 10),
        ),
        (
            TRConv2d(4, 6, 3, 2, in_modes=(2, 2), out_modes=(2, 3), dtype=F64, random_state=0),
            TRTensor,
            lambda t, _: t.reshape(4, 3, 3, 6).transpose(3, 0, 1, 2),
        ),
        (
            HTLinear(12, 10, 2, **ins, dtype=F64, random_state=0),
            HTTensor,
            lambda t, lay: _paired_to_matrix(t, lay.in_modes, lay.out_modes),
        ),
        (
            KPLinear(12, 10, 2, a_shape=(3, 5), dtype=F64, random_state=0),
            KronTensor,
            lambda t, _: t,
        ),
        (GKPConv2d(4, 6, 3, 1, dtype=F64, random_state=0, **outs), KronTensor, lambda t, _: t),
        (
            STTLinear(12, 10, 2, t=2, **ins, dtype=F64, random_state=0),
            STTTensor,
            lambda t, lay: _paired_to_matrix(t, lay.in_modes, lay.out_modes),
        ),
    ]


@pytest.mark.parametrize(
    ("layer", "fmt", "to_weight"),
    _layers_and_their_format(),
    ids=lambda v: type(v).__name__ if not callable(v) or isinstance(v, type) else "",
)
def test_to_format_full_rearranged_equals_weight(layer, fmt, to_weight):
    t = layer.to_format()
    assert isinstance(t, fmt)
    np.testing.assert_allclose(to_weight(t.full(), layer), layer.weight(), rtol=1e-12, atol=1e-14)


def test_to_format_hands_out_copies():
    layer = TTLinear(12, 10, 2, in_modes=(3, 4), out_modes=(2, 5), dtype=F64, random_state=0)
    before = layer.weight().copy()
    layer.to_format().cores[0][...] = 0.0
    np.testing.assert_array_equal(layer.weight(), before)


def test_every_layer_has_the_dense_layers_sizes_first_then_its_ranks():
    for cls in LINEAR_FAMILIES:
        names = list(inspect.signature(cls.__init__).parameters)[1:4]
        assert names[:2] == ["in_features", "out_features"], cls.__name__
        assert names[2] in ("rank", "ranks"), cls.__name__
    for cls in CONV_FAMILIES:
        names = list(inspect.signature(cls.__init__).parameters)[1:5]
        assert names[:3] == ["in_channels", "out_channels", "kernel_size"], cls.__name__
        assert names[3] in ("rank", "ranks"), cls.__name__
    for cls in LINEAR_FAMILIES + CONV_FAMILIES:
        params = inspect.signature(cls.__init__).parameters
        positional = [p for p in params.values() if p.kind is p.POSITIONAL_OR_KEYWORD]
        assert len(positional) == (4 if cls in LINEAR_FAMILIES else 5), cls.__name__


def test_modes_are_suggested_when_omitted():
    for cls in (TTLinear, TRLinear, HTLinear, STTLinear, BTLinear):
        layer = cls(784, 625, 2)
        assert layer.in_modes == suggest_modes(784, 3), cls.__name__
        assert layer.out_modes == suggest_modes(625, 3), cls.__name__
    assert HTLinear(784, 625, 2, n_cores=4).in_modes == suggest_modes(784, 4)


def _same_layer(a, b):
    assert type(a) is type(b) and a.extra_repr() == b.extra_repr()
    assert list(a.params) == list(b.params)
    for key, value in a.params.items():
        np.testing.assert_array_equal(value, b.params[key])


#: (old spelling, its new spelling): each old call still builds the same layer, with a warning.
LEGACY_CALLS = [
    (
        lambda: HTLinear((4, 6), (5, 6), 2, random_state=0),
        lambda: HTLinear(24, 30, 2, in_modes=(4, 6), out_modes=(5, 6), random_state=0),
    ),
    (
        lambda: HTLinear(in_modes=(4, 6), out_modes=(5, 6), ranks=2, random_state=0),
        lambda: HTLinear(24, 30, 2, in_modes=(4, 6), out_modes=(5, 6), random_state=0),
    ),
    (
        lambda: STTLinear(in_modes=(4, 6), out_modes=(5, 6), ranks=4, t=2, random_state=0),
        lambda: STTLinear(24, 30, 4, t=2, in_modes=(4, 6), out_modes=(5, 6), random_state=0),
    ),
    (
        lambda: STTLinear((4, 6), (5, 6), 4, 2, random_state=0),
        lambda: STTLinear(24, 30, 4, t=2, in_modes=(4, 6), out_modes=(5, 6), random_state=0),
    ),
    (
        lambda: KPLinear(24, 30, (4, 5), 2, random_state=0),
        lambda: KPLinear(24, 30, 2, a_shape=(4, 5), random_state=0),
    ),
    (
        lambda: GKPConv2d(4, 6, 3, (2, 2, 3, 1), 1, 2, 1, random_state=0),
        lambda: GKPConv2d(4, 6, 3, 1, a_shape=(2, 2, 3, 1), stride=2, padding=1, random_state=0),
    ),
    (
        lambda: TTLinear(24, 30, 2, (4, 6), (5, 6), None, False, random_state=0),
        lambda: TTLinear(24, 30, 2, in_modes=(4, 6), out_modes=(5, 6), bias=False, random_state=0),
    ),
    (
        lambda: TRLinear(24, 30, 2, (4, 6), (5, 6), random_state=1),
        lambda: TRLinear(24, 30, 2, in_modes=(4, 6), out_modes=(5, 6), random_state=1),
    ),
    (
        lambda: TTConv2d(4, 6, 3, 2, (2, 2), (2, 3), None, 2, 1, random_state=0),
        lambda: TTConv2d(
            4, 6, 3, 2, in_modes=(2, 2), out_modes=(2, 3), stride=2, padding=1, random_state=0
        ),
    ),
    (
        lambda: TRConv2d(4, 6, 3, 2, (2, 2), (2, 3), random_state=0),
        lambda: TRConv2d(4, 6, 3, 2, in_modes=(2, 2), out_modes=(2, 3), random_state=0),
    ),
    (
        lambda: TuckerConv2d(4, 6, 3, (2, 2), 2, 1, random_state=0),
        lambda: TuckerConv2d(4, 6, 3, (2, 2), stride=2, padding=1, random_state=0),
    ),
    (
        lambda: CPConv2d(4, 6, 3, 2, 2, random_state=0),
        lambda: CPConv2d(4, 6, 3, 2, stride=2, random_state=0),
    ),
    (
        lambda: LowRankConv2d(4, 6, 3, 2, 1, 1, random_state=0),
        lambda: LowRankConv2d(4, 6, 3, 2, padding=1, random_state=0),
    ),
    (
        lambda: BTConv2d(4, 6, 3, 2, 1, 1, in_modes=(2, 2), out_modes=(2, 3), random_state=0),
        lambda: BTConv2d(
            4, 6, 3, 2, stride=1, padding=1, in_modes=(2, 2), out_modes=(2, 3), random_state=0
        ),
    ),
]


@pytest.mark.parametrize(("old", "new"), LEGACY_CALLS)
def test_former_positional_layouts_build_the_same_layer_with_a_warning(old, new):
    with pytest.warns(DeprecationWarning, match="is deprecated and will be removed"):
        legacy = old()
    _same_layer(legacy, new())


def test_a_former_layout_names_the_new_spelling():
    with pytest.warns(DeprecationWarning, match=r"use HTLinear\(in_features, out_features, ranks"):
        HTLinear((4, 6), (5, 6), 2)


def test_too_many_positional_arguments_are_refused():
    with pytest.raises(TypeError, match="positional arguments"):
        CPConv2d(4, 6, 3, 2, 1, 0, True)
    with pytest.raises(TypeError, match="multiple values"):
        CPConv2d(4, 6, 3, 2, 1, stride=1)


# ------------------------------------------------------------------ the path cost model
def test_linear_layers_choose_by_multiply_adds_alone():
    layer = TTLinear(784, 625, 8, in_modes=(4, 7, 4, 7), out_modes=(5, 5, 5, 5))
    assert layer.BYTE_COST == 0
    for batch in (1, 128, 100_000):
        shape = (batch, 784)
        flops_rule = layer.flops(shape, "factors") <= layer.flops(shape, "dense")
        assert layer.path(shape) == ("factors" if flops_rule else "dense")


def test_conv_path_cost_is_flops_plus_byte_cost_times_bytes():
    layer = TuckerConv2d(16, 32, 3, (4, 8), padding=1)
    shape = (8, 16, 10, 10)
    assert layer.BYTE_COST > 0
    for path in ("factors", "dense"):
        want = layer.flops(shape, path) + layer.BYTE_COST * layer.bytes_moved(shape, path)
        assert math.isclose(layer.path_cost(shape, path), want, rel_tol=1e-12)


def test_dense_path_moves_the_patch_matrix_and_the_output():
    layer = CPConv2d(6, 16, 5, 4, dtype=F64)
    b, oh = 3, 10  # 14x14 input, 5x5 kernel, no padding
    elements = b * oh * oh * 6 * 5 * 5 + b * oh * oh * 16
    assert layer.activation_elements((b, 6, 14, 14), "dense") == elements
    assert layer.bytes_moved((b, 6, 14, 14), "dense") == 8 * elements


def test_tucker_factor_path_moves_its_three_activations():
    layer = TuckerConv2d(6, 16, 5, (3, 8))
    b, h, oh = 2, 14, 10
    elements = b * h * h * 3 + b * oh * oh * (3 * 25 + 8) + b * oh * oh * 16
    assert layer.activation_elements((b, 6, h, h), "factors") == elements


def test_fewer_flops_but_far_more_traffic_picks_the_dense_path():
    # r_0 = 32 spatial filters on each of the 64 input channels: half the dense multiply-adds in
    # the spatial step, but 64 * (9 + 2 * 32) activations per output position against 64 * 9 + 64
    layer = TTConv2d(64, 64, 3, (32, 1), in_modes=(8, 8), out_modes=(8, 8), padding=1)
    shape = (128, 64, 16, 16)
    assert layer.flops(shape, "factors") < layer.flops(shape, "dense")
    assert layer.bytes_moved(shape, "factors") > 5 * layer.bytes_moved(shape, "dense")
    assert layer.path(shape) == "dense"
    layer.BYTE_COST = 0.0  # the flop-only rule on this instance
    assert layer.path(shape) == "factors"


def test_fewer_flops_and_less_traffic_picks_the_factor_path():
    layer = TuckerConv2d(64, 64, 3, (8, 8), padding=1)
    shape = (128, 64, 16, 16)
    assert layer.flops(shape, "factors") < layer.flops(shape, "dense") / 10
    assert layer.bytes_moved(shape, "factors") < layer.bytes_moved(shape, "dense")
    assert layer.path(shape) == "factors"


def test_more_flops_and_more_traffic_picks_the_dense_path():
    layer = BTConv2d(16, 16, 3, (16, 16), n_blocks=4, in_modes=(4, 4), out_modes=(4, 4))
    shape = (16, 16, 12, 12)
    assert layer.flops(shape, "factors") > layer.flops(shape, "dense")
    assert layer.bytes_moved(shape, "factors") > layer.bytes_moved(shape, "dense")
    assert layer.path(shape) == "dense"
