"""TT layers (nn/factorized/tt.py, engine _ttcore.py): identities, gradients, counts."""

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tensornet import TTMatrix
from tensornet.nn import Linear, ReLU, Sequential, conv2d, value_and_grad
from tensornet.nn.factorized import target_variance
from tensornet.nn.factorized._ttcore import TTPlan, merge_cost, tt_matmat, tt_plan
from tensornet.nn.factorized.tt import TTConv2d, TTLinear

from ..gradcheck import assert_grad_matches_fd

F64 = np.float64


def rel_err(a, b):
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)) / np.linalg.norm(np.asarray(b)))


def random_cores(ins, outs, ranks, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((ranks[k], m, n, ranks[k + 1])) for k, (m, n) in
            enumerate(zip(ins, outs, strict=True))]  # fmt: skip


def all_plans(d):
    for reverse in (False, True):
        for cuts in itertools.product((0, 1), repeat=d - 1):
            points = [0] + [i + 1 for i, c in enumerate(cuts) if c] + [d]
            yield TTPlan(tuple(zip(points[:-1], points[1:], strict=True)), reverse, 0)


def with_bias(layer, seed=1):
    rng = np.random.default_rng(seed)
    layer.params["bias"][...] = rng.standard_normal(layer.params["bias"].shape)
    return layer


# ------------------------------------------------------------------------------ the engine
@pytest.mark.parametrize(
    ("ins", "outs", "ranks"),
    [
        ((2, 3, 2, 3), (3, 2, 2, 2), (1, 3, 2, 4, 1)),
        ((5,), (3,), (1, 1)),
        ((2, 4), (3, 1), (1, 5, 1)),
    ],
)
def test_every_plan_computes_x_times_the_tt_matrix(ins, outs, ranks):
    cores = random_cores(ins, outs, ranks)
    w = TTMatrix(cores).full()
    x = np.random.default_rng(2).standard_normal((5, w.shape[0]))
    b = np.random.default_rng(3).standard_normal(w.shape[1])
    for plan in all_plans(len(ins)):
        y = tt_matmat(x, b, *cores, plan=plan, saved={})
        assert rel_err(y, x @ w + b) < 1e-12, plan
        y = tt_matmat(np.ascontiguousarray(x.T), b, *cores, plan=plan, saved={}, x_cols=True)
        assert rel_err(y, x @ w + b) < 1e-12, plan


@pytest.mark.parametrize("x_cols", [False, True])
@pytest.mark.parametrize("plan", list(all_plans(3)))
def test_every_plan_gradient_matches_finite_differences(plan, x_cols):
    ins, outs, ranks = (2, 3, 2), (3, 1, 2), (1, 3, 2, 1)
    cores = random_cores(ins, outs, ranks, seed=4)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((12, 4) if x_cols else (4, 12))
    params = {"x": x, "b": rng.standard_normal(6)}
    params.update({f"c{k}": c for k, c in enumerate(cores)})
    probe = rng.standard_normal((4, 6))

    def loss(p):
        cs = [p[f"c{k}"] for k in range(3)]
        y = tt_matmat(p["x"], p["b"], *cs, plan=plan, saved={}, x_cols=x_cols)
        return (y * probe).sum()

    for key in params:  # every argument on its own
        others = {k: v for k, v in params.items() if k != key}
        assert_grad_matches_fd(lambda q, o=others: loss({**o, **q}), {key: params[key]})


@given(
    st.lists(st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4)), min_size=1,
             max_size=5),
    st.integers(1, 64),
)  # fmt: skip
@settings(max_examples=60, deadline=None)
def test_tt_plan_is_the_cheapest_grouping(spec, batch):
    ins = tuple(s[0] for s in spec)
    outs = tuple(s[1] for s in spec)
    ranks = (1,) + tuple(s[2] for s in spec[:-1]) + (1,)
    plan = tt_plan(batch, ins, outs, ranks, True)
    best = math.inf
    for cand in all_plans(len(ins)):
        total = 0
        for a, b in cand.groups:
            core = math.prod(ins[a:b]) * math.prod(outs[a:b]) * ranks[a] * ranks[b]
            if cand.reverse:
                total += batch * math.prod(ins[:a]) * math.prod(outs[b:]) * core
            else:
                total += batch * math.prod(ins[b:]) * math.prod(outs[:a]) * core
            total += merge_cost(ins, outs, ranks, a, b)
        best = min(best, total)
    assert plan.flops == best


# ------------------------------------------------------------------------------ TTLinear
def tt_linear(**kw):
    kw.setdefault("dtype", F64)
    kw.setdefault("random_state", 0)
    return with_bias(TTLinear(**kw))


@pytest.mark.parametrize("batch", [1, 7, 300])
def test_tt_linear_forward_equals_x_at_weight(batch):
    layer = tt_linear(in_features=784, out_features=625, ranks=8, in_modes=(4, 7, 4, 7),
                      out_modes=(5, 5, 5, 5))  # fmt: skip
    x = np.random.default_rng(1).standard_normal((batch, 784))
    dense = x @ layer.weight() + layer.params["bias"]
    assert rel_err(layer.forward_factors(layer.params, x), dense) < 1e-5
    assert rel_err(layer(x), dense) < 1e-5


def test_tt_linear_weight_is_the_ttmatrix_of_its_cores():
    layer = tt_linear(in_features=24, out_features=30, ranks=(3, 2), in_modes=(2, 3, 4),
                      out_modes=(5, 3, 2))  # fmt: skip
    cores = [layer.params[f"core_{k}"] for k in range(3)]
    np.testing.assert_allclose(layer.weight(), TTMatrix(cores).full(), rtol=1e-12)


def test_tt_linear_paths_agree():
    x = np.random.default_rng(2).standard_normal((6, 60))
    outs = []
    for mode in ("factors", "dense", "auto"):
        layer = tt_linear(in_features=60, out_features=24, ranks=3, in_modes=(3, 4, 5),
                          out_modes=(2, 3, 4), mode=mode)  # fmt: skip
        if mode != "auto":
            assert layer.path(x.shape) == mode
        outs.append(layer(x))
    assert rel_err(outs[0], outs[1]) < 1e-12
    assert rel_err(outs[2], outs[1]) < 1e-12


def test_tt_linear_auto_path_takes_the_cheaper_count():
    layer = tt_linear(in_features=16, out_features=16, ranks=4, in_modes=(4, 4),
                      out_modes=(4, 4))  # fmt: skip
    for batch in (1, 10, 1000, 100000):
        shape = (batch, 16)
        dense = layer.reconstruction_flops() + batch * 16 * 16
        want = "factors" if layer.factor_flops(shape) <= dense else "dense"
        assert layer.path(shape) == want
        assert layer.flops(shape) == min(layer.factor_flops(shape), dense)


@pytest.mark.parametrize("mode", ["factors", "dense"])
def test_tt_linear_gradient_of_every_core_and_the_input(mode):
    layer = tt_linear(in_features=12, out_features=6, ranks=(2, 3), in_modes=(2, 3, 2),
                      out_modes=(1, 3, 2), mode=mode)  # fmt: skip
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 12))
    probe = rng.standard_normal((4, 6))
    params = {**layer.params, "x": x}

    def loss(p):
        own = {k: v for k, v in p.items() if k != "x"}
        return (layer.forward(own, p["x"]) * probe).sum()

    for key in params:
        others = {k: v for k, v in params.items() if k != key}
        assert_grad_matches_fd(lambda q, o=others: loss({**o, **q}), {key: params[key]})


def test_tt_linear_full_rank_conversion_is_exact():
    w = np.random.default_rng(4).standard_normal((24, 30))
    b = np.random.default_rng(5).standard_normal(30)
    layer = TTLinear.from_weight(w, b, in_modes=(2, 3, 4), out_modes=(5, 3, 2))
    assert layer.params["core_0"].dtype == F64
    assert rel_err(layer.weight(), w) < 1e-12
    np.testing.assert_array_equal(layer.params["bias"], b)
    x = np.random.default_rng(6).standard_normal((3, 24))
    assert rel_err(layer(x), x @ w + b) < 1e-12


def test_tt_linear_from_weight_respects_caps_and_eps():
    w = np.random.default_rng(7).standard_normal((64, 64)).astype(np.float32)
    capped = TTLinear.from_weight(w, in_modes=(4, 4, 4), out_modes=(4, 4, 4), ranks=3)
    assert max(capped.ranks) <= 3 and capped.params["core_0"].dtype == np.float32
    info = capped.decomposition_info
    assert info["rel_error"] == pytest.approx(rel_err(capped.weight(), w), rel=1e-3)
    loose = TTLinear.from_weight(w.astype(F64), in_modes=(4, 4, 4), out_modes=(4, 4, 4), eps=0.5)
    assert rel_err(loose.weight(), w) <= 0.5 + 1e-9
    default = TTLinear.from_weight(w.astype(F64))  # modes from suggest_modes, 3 cores
    assert default.in_modes == (4, 4, 4) and rel_err(default.weight(), w) < 1e-12


def test_tt_linear_init_variance_over_seeds_matches_he_target():
    target = target_variance("he", 784, 625)
    realized = [
        np.mean(
            TTLinear(
                784,
                625,
                8,
                in_modes=(4, 7, 4, 7),
                out_modes=(5, 5, 5, 5),
                random_state=s,
                dtype=F64,
            ).weight()
            ** 2
        )  # fmt: skip
        for s in range(100)
    ]
    assert abs(np.mean(realized) / target - 1) < 0.1


def test_tt_linear_init_std_is_the_survey_formula_and_rescale_is_exact():
    n, d, r = 784, 4, 8
    layer = TTLinear(
        n, 625, r, in_modes=(4, 7, 4, 7), out_modes=(5, 5, 5, 5), random_state=0, init="glorot"
    )
    glorot = 2 / (784 + 625)
    assert layer.init_std**2 == pytest.approx(glorot ** (1 / d) * r ** (1 / d - 1), rel=1e-12)
    he = TTLinear(n, 625, r, in_modes=(4, 7, 4, 7), out_modes=(5, 5, 5, 5), random_state=0)
    assert he.init_std**2 == pytest.approx((2 / n) ** (1 / d) * r ** (1 / d - 1), rel=1e-12)
    for seed in range(3):
        exact = TTLinear(
            n,
            625,
            (2, 3, 2),
            in_modes=(4, 7, 4, 7),
            out_modes=(5, 5, 5, 5),
            rescale=True,
            random_state=seed,
            dtype=F64,
        )
        assert np.mean(exact.weight() ** 2) == pytest.approx(2 / n, rel=1e-10)


def test_tt_linear_parameter_count_table_iii():
    # uniform modes m, n and rank R: d m n R^2 up to the boundary cores,
    # exactly m n (2 R + (d - 2) R^2) weights (survey Table III, TT row)
    m, n, d, r = 4, 5, 4, 8
    layer = TTLinear(m**d, n**d, r, in_modes=(m,) * d, out_modes=(n,) * d, bias=False)
    assert layer.n_params == m * n * (2 * r + (d - 2) * r * r) == 2880
    layer = TTLinear(784, 625, 8, in_modes=(4, 7, 4, 7), out_modes=(5, 5, 5, 5))
    assert layer.n_params == 1 * 4 * 5 * 8 + 8 * 7 * 5 * 8 + 8 * 4 * 5 * 8 + 8 * 7 * 5 * 1 + 625


def test_tt_linear_flop_count_table_iv():
    # core-by-core sweep (Novikov et al. 2015): step k costs
    # B prod(m_{>k}) prod(n_{<k}) r_{k-1} m_k n_k r_k; the cheaper of the two directions
    layer = TTLinear(784, 625, 8, in_modes=(4, 7, 4, 7), out_modes=(5, 5, 5, 5))
    b = 256
    ltr = b * (7 * 4 * 7 * 1 * 4 * 5 * 8 + 4 * 7 * 5 * 8 * 7 * 5 * 8 + 7 * 25 * 8 * 4 * 5 * 8
               + 125 * 8 * 7 * 5 * 1)  # fmt: skip
    rtl = b * (1 * 4 * 5 * 8 * 125 + 4 * 25 * 8 * 7 * 5 * 8 + 28 * 5 * 8 * 4 * 5 * 8
               + 112 * 8 * 7 * 5)  # fmt: skip
    assert layer.contraction_plan(b, merge=False).flops == min(ltr, rtl)
    # the planned path merges (G1 G2) and (G3 G4): 256 * (28*1*28*25*8 + 25*8*28*25*1) + merges
    plan = layer.contraction_plan(b)
    merges = 4 * 5 * 8 * 7 * 5 * 8 + 8 * 4 * 5 * 8 * 7 * 5
    assert plan.groups == ((0, 2), (2, 4))
    assert plan.flops == b * (28 * 28 * 25 * 8 + 25 * 8 * 28 * 25) + merges
    assert layer.flops((b, 784), path="factors") == plan.flops
    assert layer.flops((b, 784), path="dense") == layer.reconstruction_flops() + b * 784 * 625


def test_tt_linear_trains_in_a_network():
    net = Sequential(TTLinear(16, 9, 2, in_modes=(4, 4), out_modes=(3, 3), random_state=0), ReLU(),
                     Linear(9, 2, random_state=0))  # fmt: skip
    x = np.random.default_rng(0).standard_normal((8, 16)).astype(np.float32)
    _, grads = value_and_grad(lambda p: net.apply(p, x).sum())(net.params)
    assert all(g.dtype == np.float32 and np.all(np.isfinite(g)) for g in grads.values())
    assert np.any(grads["0.core_0"] != 0)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"in_modes": (4, 7, 4, 8)}, "in_modes"),
        ({"out_modes": (5, 5, 25)}, "out_modes"),
        ({"in_modes": (28, 28), "out_modes": (5, 5, 5, 5)}, "out_modes"),
        ({"ranks": 0}, "ranks"),
        ({"ranks": (2, 0, 2)}, "ranks\\[1\\]"),
        ({"ranks": (2, 2)}, "ranks"),
        ({"ranks": (2, 2, 2, 2, 2)}, "ranks"),
        ({"in_modes": (4, 0, 4, 7)}, "in_modes\\[1\\]"),
        ({"mode": "fast"}, "mode"),
        ({"init": "xavier"}, "init"),
    ],
)
def test_tt_linear_bad_configurations_name_the_argument(kwargs, name):
    base = {"in_modes": (4, 7, 4, 7), "out_modes": (5, 5, 5, 5), "ranks": 8}
    with pytest.raises(ValueError, match=name):
        TTLinear(784, 625, **{**base, **kwargs})


def test_tt_linear_from_weight_bad_modes():
    with pytest.raises(ValueError, match="in_modes"):
        TTLinear.from_weight(np.ones((12, 6)), in_modes=(2, 5), out_modes=(2, 3))


# ------------------------------------------------------------------------------ TTConv2d
def tt_conv(**kw):
    kw.setdefault("dtype", F64)
    kw.setdefault("random_state", 0)
    return with_bias(TTConv2d(**kw))


@pytest.mark.parametrize(("stride", "padding"), [(1, 0), (2, 1), ((1, 2), (2, 0))])
def test_tt_conv_forward_equals_dense_conv(stride, padding):
    layer = tt_conv(in_channels=12, out_channels=20, kernel_size=(3, 2), ranks=(3, 4),
                    in_modes=(3, 4), out_modes=(4, 5), stride=stride, padding=padding)  # fmt: skip
    x = np.random.default_rng(1).standard_normal((3, 12, 7, 8))
    dense = conv2d(x, layer.weight(), layer.params["bias"], stride, padding)
    assert rel_err(layer.forward_factors(layer.params, x), dense) < 1e-5
    dense_layer = tt_conv(in_channels=12, out_channels=20, kernel_size=(3, 2), ranks=(3, 4),
                          in_modes=(3, 4), out_modes=(4, 5), stride=stride, padding=padding,
                          mode="dense")  # fmt: skip
    assert rel_err(dense_layer(x), dense) < 1e-12


def test_tt_conv_weight_matches_its_definition():
    layer = tt_conv(in_channels=6, out_channels=4, kernel_size=3, ranks=(2, 3), in_modes=(2, 3),
                    out_modes=(2, 2))  # fmt: skip
    g0, g1, g2 = (layer.params[k] for k in ("spatial", "core_0", "core_1"))
    want = np.zeros((4, 6, 3, 3))
    for s1, s2, c1, c2 in itertools.product(range(2), range(2), range(2), range(3)):
        chain = g1[:, c1, s1, :] @ g2[:, c2, s2, :]  # (r_0, 1)
        want[s1 * 2 + s2, c1 * 3 + c2] = np.tensordot(g0, chain[:, 0], axes=(2, 0))
    np.testing.assert_allclose(layer.weight(), want, rtol=1e-12)


@pytest.mark.parametrize("mode", ["factors", "dense"])
def test_tt_conv_gradient_of_every_core_and_the_input(mode):
    layer = tt_conv(in_channels=4, out_channels=6, kernel_size=2, ranks=(2, 3), in_modes=(2, 2),
                    out_modes=(3, 2), padding=1, mode=mode)  # fmt: skip
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 4, 4, 3))
    probe = rng.standard_normal((2, 6, 5, 4))
    params = {**layer.params, "x": x}

    def loss(p):
        own = {k: v for k, v in p.items() if k != "x"}
        return (layer.forward(own, p["x"]) * probe).sum()

    for key in params:
        others = {k: v for k, v in params.items() if k != key}
        assert_grad_matches_fd(lambda q, o=others: loss({**o, **q}), {key: params[key]})


def test_tt_conv_full_rank_conversion_is_exact():
    k = np.random.default_rng(4).standard_normal((20, 12, 3, 3))
    b = np.random.default_rng(5).standard_normal(20)
    layer = TTConv2d.from_weight(k, b, in_modes=(3, 4), out_modes=(4, 5), padding=1)
    assert rel_err(layer.weight(), k) < 1e-12
    x = np.random.default_rng(6).standard_normal((2, 12, 5, 5))
    assert rel_err(layer(x), conv2d(x, k, b, 1, 1)) < 1e-12
    capped = TTConv2d.from_weight(k, in_modes=(3, 4), out_modes=(4, 5), ranks=(4, 6))
    assert capped.ranks[0] <= 4 and capped.ranks[1] <= 6
    info = capped.decomposition_info
    assert info["rel_error"] == pytest.approx(rel_err(capped.weight(), k), rel=1e-6)


def test_tt_conv_init_variance_over_seeds_matches_he_target():
    target = target_variance("he", 64 * 9, 64 * 9)
    realized = [
        np.mean(
            TTConv2d(
                64, 64, 3, 6, in_modes=(4, 4, 4), out_modes=(4, 4, 4), random_state=s, dtype=F64
            ).weight()
            ** 2
        )  # fmt: skip
        for s in range(100)
    ]
    assert abs(np.mean(realized) / target - 1) < 0.1
    exact = TTConv2d(
        64,
        64,
        3,
        2,
        in_modes=(4, 4, 4),
        out_modes=(4, 4, 4),
        rescale=True,
        random_state=0,
        dtype=F64,
    )
    assert np.mean(exact.weight() ** 2) == pytest.approx(2 / (64 * 9), rel=1e-10)


def test_tt_conv_parameter_and_flop_counts():
    # Garipov et al.: kh kw r_0 + sum_k r_{k-1} c_k s_k r_k weights
    layer = TTConv2d(
        64, 64, 3, (4, 6, 6), in_modes=(4, 4, 4), out_modes=(4, 4, 4), padding=1, bias=False
    )
    assert layer.n_params == 3 * 3 * 4 + 4 * 4 * 4 * 6 + 6 * 4 * 4 * 6 + 6 * 4 * 4 * 1
    b, h, w = 2, 8, 8
    spatial = b * 64 * h * w * 4 * 9  # B C OH OW r_0 kh kw
    plan = layer.contraction_plan(b * h * w)
    assert layer.factor_flops((b, 64, h, w)) == spatial + plan.flops
    sweep = b * h * w * (16 * 16 * 4 * 6 + 4 * 4 * 6 * 4 * 4 * 6 + 16 * 6 * 4 * 4 * 1)
    rtl = b * h * w * (16 * 16 * 4 * 6 + 16 * 4 * 6 * 4 * 4 * 6 + 16 * 4 * 6 * 4 * 4)
    assert layer.contraction_plan(b * h * w, merge=False).flops == min(sweep, rtl)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"in_modes": (4, 4, 3)}, "in_modes"),
        ({"out_modes": (4, 16)}, "out_modes"),
        ({"ranks": (2, 0, 2)}, "ranks\\[1\\]"),
        ({"ranks": (2, 2)}, "ranks"),
        ({"kernel_size": 0}, "kernel_size"),
    ],
)
def test_tt_conv_bad_configurations_name_the_argument(kwargs, name):
    base = {"in_modes": (4, 4, 4), "out_modes": (4, 4, 4), "ranks": 4, "kernel_size": 3}
    with pytest.raises(ValueError, match=name):
        TTConv2d(64, 64, **{**base, **kwargs})
