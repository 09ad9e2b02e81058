"""HTLinear (tensornet/nn/factorized/ht.py): dense equivalence, gradients, conversion, init."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tensornet.decompositions import ht_svd
from tensornet.nn import Linear, ReLU, Sequential, value_and_grad
from tensornet.nn.factorized._network import interleave
from tensornet.nn.factorized.base import target_variance
from tensornet.nn.factorized.ht import HTLinear

from .layer_checks import (
    assert_layer_gradients,
    assert_paths_match_dense,
    mean_square_over_seeds,
    randomize_bias,
)

TREES = [None, ((0, 2), (1, 3)), (0, (1, (2, 3)))]


@pytest.mark.parametrize("tree", TREES)
def test_factor_and_dense_paths_equal_linear_with_weight(tree):
    layer = HTLinear(
        36,
        24,
        in_modes=(2, 3, 2, 3),
        out_modes=(3, 2, 2, 2),
        ranks=3,
        tree=tree,
        random_state=0,
        dtype=np.float64,
    )
    randomize_bias(layer)
    x = np.random.default_rng(1).standard_normal((5, 36))
    assert_paths_match_dense(layer, x)


@settings(max_examples=20, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 4), st.integers(1, 4)), min_size=2, max_size=5),
    st.integers(1, 5),
    st.integers(1, 9),
    st.integers(0, 2**31),
)
def test_factor_path_equals_dense_product_for_random_shapes(pairs, rank, batch, seed):
    ins, outs = [p[0] for p in pairs], [p[1] for p in pairs]
    layer = HTLinear(
        math.prod(ins),
        math.prod(outs),
        in_modes=ins,
        out_modes=outs,
        ranks=rank,
        random_state=seed,
        dtype=np.float64,
        mode="factors",
    )
    x = np.random.default_rng(seed + 1).standard_normal((batch, math.prod(ins)))
    ref = x @ layer.weight()
    np.testing.assert_allclose(layer(x), ref, rtol=1e-5, atol=1e-5 * np.max(np.abs(ref)))


@pytest.mark.parametrize("tree", [None, (0, (1, 2))])
def test_gradients_match_finite_differences(tree):
    layer = HTLinear(
        12,
        12,
        in_modes=(2, 3, 2),
        out_modes=(2, 2, 3),
        ranks=2,
        tree=tree,
        random_state=3,
        dtype=np.float64,
    )
    randomize_bias(layer, 4)
    x = np.random.default_rng(5).standard_normal((3, 12))
    assert_layer_gradients(layer, x)


@pytest.mark.parametrize("tree", TREES)
def test_full_rank_conversion_is_exact(tree):
    rng = np.random.default_rng(6)
    w, b = rng.standard_normal((36, 24)), rng.standard_normal(24)
    layer = HTLinear.from_weight(w, b, in_modes=(2, 3, 2, 3), out_modes=(2, 3, 2, 2), tree=tree)
    assert layer.weight().dtype == np.float64
    np.testing.assert_allclose(layer.weight(), w, atol=1e-10 * np.abs(w).max())
    np.testing.assert_array_equal(layer.params["bias"], b)
    x = rng.standard_normal((4, 36))
    np.testing.assert_allclose(layer(x), x @ w + b, rtol=1e-9, atol=1e-9)


def test_truncated_conversion_reports_the_weight_error_of_the_layer():
    rng = np.random.default_rng(7)
    w = rng.standard_normal((64, 36))
    layer = HTLinear.from_weight(w, in_modes=(4, 4, 4), out_modes=(3, 3, 4), ranks=3)
    err = np.linalg.norm(layer.weight() - w) / np.linalg.norm(w)
    assert 0 < err < 1
    assert math.isclose(err, layer.decomposition_info["rel_error"], rel_tol=1e-8)
    assert max(layer.ranks) <= 3


def test_conversion_keeps_float32_and_matches_ht_svd():
    w = np.random.default_rng(8).standard_normal((24, 24)).astype(np.float32)
    layer = HTLinear.from_weight(w, in_modes=(2, 3, 4), out_modes=(4, 3, 2), eps=0.3)
    assert all(p.dtype == np.float32 for p in layer.params.values())
    h = ht_svd(interleave(w.astype(np.float64), (2, 3, 4), (4, 3, 2)), eps=0.3)
    assert layer.ranks == h.ranks[1:]
    np.testing.assert_allclose(
        interleave(layer.weight(), (2, 3, 4), (4, 3, 2)), h.full(), rtol=1e-5, atol=1e-5
    )
    np.testing.assert_allclose(layer.to_format().full(), h.full(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("init", ["he", "glorot"])
def test_init_variance_over_seeds_within_ten_percent(init):
    # 784 -> 625, ranks 8: Var(W) = P sigma^(2(2d-1)) with P = 8^6 (six non-root nodes)
    target = target_variance(init, 784, 625)

    def make(seed):
        return HTLinear(
            784,
            625,
            in_modes=(4, 7, 4, 7),
            out_modes=(5, 5, 5, 5),
            ranks=8,
            init=init,
            random_state=seed,
        )

    assert abs(mean_square_over_seeds(make, 40) / target - 1) < 0.10


def test_rescale_makes_the_realized_variance_exact():
    layer = HTLinear(
        784,
        625,
        in_modes=(4, 7, 4, 7),
        out_modes=(5, 5, 5, 5),
        ranks=2,
        rescale=True,
        random_state=0,
    )
    target = 2 / 784
    assert math.isclose(
        float(np.mean(np.square(layer.weight(), dtype=np.float64))), target, rel_tol=1e-4
    )


def test_same_seed_same_factors():
    a = HTLinear(20, 9, in_modes=(4, 5), out_modes=(3, 3), ranks=2, random_state=11)
    b = HTLinear(20, 9, in_modes=(4, 5), out_modes=(3, 3), ranks=2, random_state=11)
    assert all(np.array_equal(a.params[k], b.params[k]) for k in a.params)
    assert all(v.dtype == np.float32 for v in a.params.values())


def test_parameter_count_formula_balanced_tree():
    # HT storage (survey Table III, HT row, exact form): leaves sum_k m_k n_k r, transfer
    # tensors (d - 2) r^3 for the interior non-root nodes, root r^2; d = 4, r = 8.
    ins, outs, r = (4, 7, 4, 7), (5, 5, 5, 5), 8
    layer = HTLinear(
        math.prod(ins), math.prod(outs), in_modes=ins, out_modes=outs, ranks=r, bias=False
    )
    expected = sum(m * n * r for m, n in zip(ins, outs)) + (4 - 2) * r**3 + r**2
    assert layer.n_params == expected == 880 + 1024 + 64
    assert layer.to_format().n_params == expected


def test_flops_two_mode_layer_matches_the_cheapest_order_written_out():
    # d = 2: x (B, m1, m2), leaves U1 (m1, n1, r1), U2 (m2, n2, r2), root R (r1, r2).
    b, (m1, m2), (n1, n2), r = 16, (6, 5), (4, 3), 2
    layer = HTLinear(
        math.prod((m1, m2)),
        math.prod((n1, n2)),
        in_modes=(m1, m2),
        out_modes=(n1, n2),
        ranks=r,
        bias=False,
    )
    orders = [
        # x.U1, .R, .U2
        b * m1 * m2 * n1 * r + b * m2 * n1 * r * r + b * m2 * n1 * r * n2,
        # x.U2, .R, .U1
        b * m1 * m2 * n2 * r + b * m1 * n2 * r * r + b * m1 * n2 * r * n1,
        # (U2.R) first, then x.U1, then .(U2 R)
        m2 * n2 * r * r + b * m1 * m2 * n1 * r + b * m2 * n1 * r * n2,
        # (U1.R) first, then x.U2, then .(U1 R)
        m1 * n1 * r * r + b * m1 * m2 * n2 * r + b * m1 * n2 * r * n1,
        # x.(U1.R) then .U2 / x.(U2.R) then .U1
        m1 * n1 * r * r + b * m1 * m2 * n1 * r + b * m2 * n1 * r * n2,
        m2 * n2 * r * r + b * m1 * m2 * n2 * r + b * m1 * n2 * r * n1,
    ]
    assert layer.flops((b, m1 * m2), path="factors") == min(orders)
    recon = min(m1 * n1 * r * r + m1 * n1 * r * m2 * n2, m2 * n2 * r * r + m2 * n2 * r * m1 * n1)
    assert layer.reconstruction_flops() == recon
    assert layer.flops((b, 30), path="dense") == recon + b * 30 * 12


def test_auto_path_follows_the_flop_rule():
    layer = HTLinear(784, 625, in_modes=(4, 7, 4, 7), out_modes=(5, 5, 5, 5), ranks=8)
    for batch in (1, 128, 100_000):
        shape = (batch, 784)
        factors = layer.factor_flops(shape)
        dense = layer.reconstruction_flops() + layer.dense_product_flops(shape)
        assert layer.path(shape) == ("factors" if factors <= dense else "dense")
    assert layer.path((1, 784)) == "factors"


def test_trains_inside_a_sequential_model():
    rng = np.random.default_rng(12)
    model = Sequential(
        HTLinear(16, 8, in_modes=(4, 4), out_modes=(4, 2), ranks=3, random_state=0),
        ReLU(),
        Linear(8, 2, random_state=1),
    )
    x, y = rng.standard_normal((32, 16)).astype(np.float32), rng.standard_normal((32, 2))

    def loss(p):
        return ((model.apply(p, x) - y) ** 2).mean()

    params = model.params
    first, _ = value_and_grad(loss)(params)
    for _ in range(50):
        _, grads = value_and_grad(loss)(params)
        for k in params:
            params[k] -= 0.05 * grads[k]
    assert float(loss(params)) < 0.8 * float(first)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"out_features": 125, "in_modes": (4, 7), "out_modes": (5, 5, 5)}, "has length 3"),
        ({"in_modes": (28,), "out_modes": (25,)}, "at least 2"),
        ({"in_modes": (4, 0), "out_modes": (5, 5)}, "in_modes"),
        ({"in_modes": (4, 7), "out_modes": (5, 5), "ranks": 0}, "ranks"),
        ({"in_modes": (4, 7), "out_modes": (5, 5), "ranks": (2,)}, "ranks"),
        ({"in_modes": (4, 7), "out_modes": (5, 5), "ranks": (2, 99)}, "ranks\\[1\\]=99"),
        (
            {"in_features": 56, "in_modes": (4, 7, 2), "out_modes": (5, 5, 1), "tree": (0, 1)},
            "tree",
        ),
        ({"in_modes": (4, 7), "out_modes": (5, 5), "mode": "fast"}, "mode"),
        ({"in_modes": (4, 7), "out_modes": (5, 5), "init": "xavier"}, "init"),
    ],
)
def test_bad_configurations_name_the_argument(kwargs, match):
    sizes = {"in_features": 28, "out_features": 25}
    with pytest.raises(ValueError, match=match):
        HTLinear(**(sizes | kwargs))


def test_from_weight_refuses_a_weight_of_the_wrong_shape():
    with pytest.raises(ValueError, match="weight has shape"):
        HTLinear.from_weight(np.ones((10, 6)), in_modes=(2, 3), out_modes=(2, 5))
    with pytest.raises(ValueError, match="bias"):
        HTLinear.from_weight(np.ones((6, 10)), np.ones(3), in_modes=(2, 3), out_modes=(2, 5))
    with pytest.raises(ValueError, match="finite"):
        HTLinear.from_weight(np.full((6, 10), np.nan), in_modes=(2, 3), out_modes=(2, 5))


def test_ranks_attribute_is_accepted_back_as_the_ranks_argument():
    layer = HTLinear(
        784,
        625,
        in_modes=(4, 7, 4, 7),
        out_modes=(5, 5, 5, 5),
        ranks=(3, 4, 2, 5, 6, 7),
        random_state=0,
    )
    assert layer.ranks == (3, 4, 2, 5, 6, 7)
    again = HTLinear(
        784, 625, in_modes=(4, 7, 4, 7), out_modes=(5, 5, 5, 5), ranks=layer.ranks, random_state=0
    )
    assert all(np.array_equal(again.params[k], layer.params[k]) for k in layer.params)


@settings(max_examples=15, deadline=None)
@given(st.integers(2, 5), st.integers(1, 4), st.integers(0, 2**31))
def test_factor_path_equals_dense_product_on_linear_trees(d, rank, seed):
    from tensornet.formats.ht import DimensionTree

    rng = np.random.default_rng(seed)
    ins = [int(v) for v in rng.integers(1, 4, size=d)]
    outs = [int(v) for v in rng.integers(1, 4, size=d)]
    layer = HTLinear(
        math.prod(ins),
        math.prod(outs),
        in_modes=ins,
        out_modes=outs,
        ranks=rank,
        tree=DimensionTree.linear(d),
        random_state=seed,
        dtype=np.float64,
        mode="factors",
    )
    x = rng.standard_normal((3, math.prod(ins)))
    ref = x @ layer.weight() + layer.params["bias"]
    np.testing.assert_allclose(
        layer(x), ref, rtol=1e-5, atol=1e-5 * max(np.max(np.abs(ref)), 1e-30)
    )
