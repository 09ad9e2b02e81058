"""TR layers (tensornet/nn/factorized/tr.py): identities, gradients, conversion, counts."""

import itertools

import numpy as np
import pytest

from tensornet import TRTensor
from tensornet.nn import conv2d
from tensornet.nn.factorized import target_variance
from tensornet.nn.factorized.tr import TRConv2d, TRLinear, conv1x1

from ..gradcheck import assert_grad_matches_fd

F64 = np.float64


def rel_err(a, b):
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)) / np.linalg.norm(np.asarray(b)))


def with_bias(layer, seed=1):
    rng = np.random.default_rng(seed)
    layer.params["bias"][...] = rng.standard_normal(layer.params["bias"].shape)
    return layer


def check_every_gradient(layer, x, out_shape):
    rng = np.random.default_rng(3)
    probe = rng.standard_normal(out_shape)
    params = {**layer.params, "x": x}

    def loss(p):
        own = {k: v for k, v in p.items() if k != "x"}
        return (layer.forward(own, p["x"]) * probe).sum()

    for key in params:
        others = {k: v for k, v in params.items() if k != key}
        assert_grad_matches_fd(lambda q, o=others: loss({**o, **q}), {key: params[key]})


# ------------------------------------------------------------------------------ TRLinear
def tr_linear(**kw):
    kw.setdefault("dtype", F64)
    kw.setdefault("random_state", 0)
    return with_bias(TRLinear(**kw))


def test_tr_linear_weight_is_the_ring_of_its_cores():
    layer = tr_linear(in_features=12, out_features=10, ranks=(2, 3, 4, 3), in_modes=(3, 4),
                      out_modes=(2, 5))  # fmt: skip
    cores = [layer.params[k] for k in ("in_core_0", "in_core_1", "out_core_0", "out_core_1")]
    full = TRTensor(cores).full()  # (3, 4, 2, 5), trace of the ring
    np.testing.assert_allclose(layer.weight(), full.reshape(12, 10), rtol=1e-12)


@pytest.mark.parametrize("batch", [1, 9, 300])
def test_tr_linear_forward_equals_x_at_weight(batch):
    layer = tr_linear(in_features=784, out_features=625, ranks=5, in_modes=(4, 7, 4, 7),
                      out_modes=(5, 5, 5, 5))  # fmt: skip
    x = np.random.default_rng(1).standard_normal((batch, 784))
    dense = x @ layer.weight() + layer.params["bias"]
    assert rel_err(layer.forward_factors(layer.params, x), dense) < 1e-5
    assert rel_err(layer(x), dense) < 1e-5


def test_tr_linear_paths_agree_and_rank_is_at_most_r0_rp():
    x = np.random.default_rng(2).standard_normal((6, 60))
    kw = {"in_features": 60, "out_features": 24, "ranks": (2, 3, 2, 4, 3), "in_modes": (3, 4, 5),
          "out_modes": (4, 6)}  # fmt: skip
    factors, dense = tr_linear(mode="factors", **kw), tr_linear(mode="dense", **kw)
    assert rel_err(factors(x), dense(x)) < 1e-12
    assert np.linalg.matrix_rank(factors.weight()) <= 2 * 4  # r_0 r_p (Wang et al.)


def test_tr_linear_gradient_of_every_core_and_the_input():
    for mode in ("factors", "dense"):
        layer = tr_linear(in_features=12, out_features=6, ranks=(2, 3, 2, 2), in_modes=(3, 4),
                          out_modes=(2, 3), mode=mode)  # fmt: skip
        x = np.random.default_rng(4).standard_normal((4, 12))
        check_every_gradient(layer, x, (4, 6))


def test_tr_linear_full_rank_conversion_is_exact():
    w = np.random.default_rng(4).standard_normal((24, 30))
    b = np.random.default_rng(5).standard_normal(30)
    layer = TRLinear.from_weight(w, b, in_modes=(2, 3, 4), out_modes=(5, 6))
    assert rel_err(layer.weight(), w) < 1e-12
    x = np.random.default_rng(6).standard_normal((3, 24))
    assert rel_err(layer(x), x @ w + b) < 1e-12
    capped = TRLinear.from_weight(w, in_modes=(2, 3, 4), out_modes=(5, 6), ranks=2)
    assert max(capped.ranks) <= 2
    info = capped.decomposition_info
    assert info["rel_error"] == pytest.approx(rel_err(capped.weight(), w), rel=1e-6)
    loose = TRLinear.from_weight(w, in_modes=(2, 3, 4), out_modes=(5, 6), eps=0.5)
    assert rel_err(loose.weight(), w) <= 0.5 + 1e-9


def test_tr_linear_init_variance_over_seeds_matches_he_target():
    target = target_variance("he", 784, 625)
    realized = [
        np.mean(
            TRLinear(
                784,
                625,
                6,
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


def test_tr_linear_init_std_is_the_survey_formula_and_rescale_is_exact():
    n, r, nodes = 784, 6, 8
    layer = TRLinear(n, 625, r, in_modes=(4, 7, 4, 7), out_modes=(5, 5, 5, 5), random_state=0)
    assert layer.init_std**2 == pytest.approx((2 / n) ** (1 / nodes) / r, rel=1e-12)
    for seed in range(3):
        exact = TRLinear(
            n,
            625,
            2,
            in_modes=(4, 7, 4, 7),
            out_modes=(5, 5, 5, 5),
            rescale=True,
            random_state=seed,
            dtype=F64,
        )
        assert np.mean(exact.weight() ** 2) == pytest.approx(2 / n, rel=1e-10)


def test_tr_linear_parameter_and_flop_counts():
    # TRN (Wang et al. 2018): sum_k r_{k-1} d_k r_k = R^2 (sum m_k + sum n_l) for equal ranks
    layer = TRLinear(784, 625, 6, in_modes=(4, 7, 4, 7), out_modes=(5, 5, 5, 5), bias=False)
    assert layer.n_params == 36 * (4 + 7 + 4 + 7 + 5 + 5 + 5 + 5)
    b = 128
    # merges: F_in chain r_0 (m_1..m_j) r_j m_{j+1} r_{j+1}, same for F_out; then B r_0 r_p (N + M)
    merge_in = 6 * 4 * 6 * 7 * 6 + 6 * 28 * 6 * 4 * 6 + 6 * 112 * 6 * 7 * 6
    merge_out = 6 * 5 * 6 * 5 * 6 + 6 * 25 * 6 * 5 * 6 + 6 * 125 * 6 * 5 * 6
    assert layer.factor_flops((b, 784)) == b * 36 * (784 + 625) + merge_in + merge_out
    assert layer.reconstruction_flops() == merge_in + merge_out + 784 * 36 * 625


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"in_modes": (4, 7, 4, 8)}, "in_modes"),
        ({"out_modes": (5, 5, 26)}, "out_modes"),
        ({"ranks": 0}, "ranks"),
        ({"ranks": (2, 2, 2)}, "ranks"),
        ({"ranks": (2, 2, 2, 0, 2, 2, 2, 2)}, "ranks\\[3\\]"),
        ({"ranks": (2, 2, 2, 2, 2, 2, 2, 2, 3)}, "ranks"),
    ],
)
def test_tr_linear_bad_configurations_name_the_argument(kwargs, name):
    base = {"in_modes": (4, 7, 4, 7), "out_modes": (5, 5, 5, 5), "ranks": 4}
    with pytest.raises(ValueError, match=name):
        TRLinear(784, 625, **{**base, **kwargs})


# ------------------------------------------------------------------------------ TRConv2d
def tr_conv(**kw):
    kw.setdefault("dtype", F64)
    kw.setdefault("random_state", 0)
    return with_bias(TRConv2d(**kw))


def test_tr_conv_weight_matches_its_definition():
    layer = tr_conv(in_channels=6, out_channels=4, kernel_size=(2, 3), ranks=(2, 3, 2, 3),
                    in_modes=(2, 3), out_modes=(4,))  # fmt: skip
    u0, u1, g, v0 = (layer.params[k] for k in ("in_core_0", "in_core_1", "spatial", "out_core_0"))
    want = np.zeros((4, 6, 2, 3))
    for s, c1, c2, p, q in itertools.product(range(4), range(2), range(3), range(2), range(3)):
        want[s, c1 * 3 + c2, p, q] = np.trace(u0[:, c1] @ u1[:, c2] @ g[:, p, q] @ v0[:, s])
    np.testing.assert_allclose(layer.weight(), want, rtol=1e-12)


@pytest.mark.parametrize(("stride", "padding"), [(1, 0), (2, 1), ((1, 2), (2, 0))])
def test_tr_conv_forward_equals_dense_conv(stride, padding):
    kw = {"in_channels": 12, "out_channels": 20, "kernel_size": (3, 2), "ranks": (2, 3, 4, 2, 3)}
    kw.update(in_modes=(3, 4), out_modes=(4, 5), stride=stride, padding=padding)
    layer = tr_conv(**kw)
    x = np.random.default_rng(1).standard_normal((3, 12, 7, 8))
    dense = conv2d(x, layer.weight(), layer.params["bias"], stride, padding)
    assert rel_err(layer.forward_factors(layer.params, x), dense) < 1e-5
    assert rel_err(tr_conv(mode="dense", **kw)(x), dense) < 1e-12


@pytest.mark.parametrize("mode", ["factors", "dense"])
def test_tr_conv_gradient_of_every_core_and_the_input(mode):
    layer = tr_conv(in_channels=4, out_channels=6, kernel_size=2, ranks=(2, 3, 2, 2, 3),
                    in_modes=(2, 2), out_modes=(3, 2), padding=1, mode=mode)  # fmt: skip
    x = np.random.default_rng(3).standard_normal((2, 4, 4, 3))
    check_every_gradient(layer, x, (2, 6, 5, 4))


def test_tr_conv_full_rank_conversion_is_exact():
    k = np.random.default_rng(4).standard_normal((20, 12, 3, 3))
    b = np.random.default_rng(5).standard_normal(20)
    layer = TRConv2d.from_weight(k, b, in_modes=(3, 4), out_modes=(4, 5), padding=1)
    assert rel_err(layer.weight(), k) < 1e-12
    x = np.random.default_rng(6).standard_normal((2, 12, 5, 5))
    assert rel_err(layer(x), conv2d(x, k, b, 1, 1)) < 1e-12
    capped = TRConv2d.from_weight(k, in_modes=(3, 4), out_modes=(4, 5), ranks=3)
    assert max(capped.ranks) <= 3
    info = capped.decomposition_info
    assert info["rel_error"] == pytest.approx(rel_err(capped.weight(), k), rel=1e-6)


def test_tr_conv_init_variance_over_seeds_matches_he_target():
    target = target_variance("he", 64 * 9, 64 * 9)
    realized = [
        np.mean(
            TRConv2d(
                64, 64, 3, 5, in_modes=(8, 8), out_modes=(8, 8), random_state=s, dtype=F64
            ).weight()
            ** 2
        )
        for s in range(100)
    ]
    assert abs(np.mean(realized) / target - 1) < 0.1
    exact = TRConv2d(
        64, 64, 3, 2, in_modes=(8, 8), out_modes=(8, 8), rescale=True, random_state=0, dtype=F64
    )
    assert np.mean(exact.weight() ** 2) == pytest.approx(2 / (64 * 9), rel=1e-10)


def test_tr_conv_parameter_and_flop_counts():
    # TRN conv: sum of the ring cores, the spatial core r_P kh kw r_{P+1}
    layer = TRConv2d(20, 50, 5, 6, in_modes=(4, 5), out_modes=(5, 10), bias=False)
    assert layer.n_params == 36 * (4 + 5) + 6 * 25 * 6 + 36 * (5 + 10)
    b, h, w = 2, 12, 12
    oh = ow = 8
    merges = 6 * 4 * 6 * 5 * 6 + 6 * 5 * 6 * 10 * 6
    # B (H W C r_0 r_P + r_0 OH OW r_P r_{P+1} kh kw + OH OW r_0 r_{P+1} S) + merges
    want = b * (h * w * 20 * 36 + 6 * oh * ow * 36 * 25 + oh * ow * 36 * 50) + merges
    assert layer.factor_flops((b, 20, h, w)) == want
    assert layer.dense_product_flops((b, 20, h, w)) == b * oh * ow * 50 * 20 * 25


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"in_modes": (4, 4)}, "in_modes"),
        ({"out_modes": (7, 7)}, "out_modes"),
        ({"ranks": (2, 2, 2, 2)}, "ranks"),
        ({"ranks": (2, 2, 0, 2, 2)}, "ranks\\[2\\]"),
    ],
)
def test_tr_conv_bad_configurations_name_the_argument(kwargs, name):
    base = {"in_modes": (4, 5), "out_modes": (5, 10), "ranks": 3, "kernel_size": 5}
    with pytest.raises(ValueError, match=name):
        TRConv2d(20, 50, **{**base, **kwargs})


def test_conv1x1_equals_conv2d_with_a_1x1_kernel_and_passes_finite_differences():
    rng = np.random.default_rng(7)
    x, w, b = rng.standard_normal((2, 5, 3, 4)), rng.standard_normal((6, 5)), rng.standard_normal(6)
    np.testing.assert_allclose(conv1x1(x, w, b), conv2d(x, w[:, :, None, None], b), rtol=1e-12)
    probe = rng.standard_normal((2, 6, 3, 4))
    params = {"x": x, "w": w, "b": b}
    for key in params:
        others = {k: v for k, v in params.items() if k != key}

        def loss(q, o=others):
            p = {**o, **q}
            return (conv1x1(p["x"], p["w"], p["b"]) * probe).sum()

        assert_grad_matches_fd(loss, {key: params[key]})
