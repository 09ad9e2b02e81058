"""Tests of tensornet/compress/sharing.py: per-layer codebooks and a shared basis."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tensornet.compress.prune import magnitude_prune
from tensornet.compress.sharing import (
    SharedBasis,
    SharedWeights,
    share_basis,
    share_weights,
    shared_basis,
)
from tensornet.nn import SGD, Adam, Linear, ReLU, Sequential, cross_entropy, fit, value_and_grad

from ..strategies import random_array, seeds

#: Examples per property: the profile's count, capped so the thorough profile stays cheap.
CAP = min(settings().max_examples, 30)


def _net(seed=0):
    return Sequential(("fc1", Linear(8, 6, random_state=seed)), ("act", ReLU()),
                      ("fc2", Linear(6, 3, random_state=seed + 1)))  # fmt: skip


def _data(n=96, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 8)).astype(np.float32), rng.integers(0, 3, n)


# ------------------------------------------------------------------------------ codebooks
@settings(max_examples=CAP)
@given(st.integers(1, 4), seeds())
def test_shared_parameters_take_at_most_two_to_the_bits_values(bits, seed):
    net = _net(seed % 100)
    shared = share_weights(net, bits)
    for name in ("fc1.weight", "fc2.weight"):
        assert len(np.unique(net.params[name])) <= 2**bits
        np.testing.assert_array_equal(net.params[name], shared.quantized[name].dequantize())


@settings(max_examples=CAP)
@given(st.integers(1, 3), seeds())
def test_centroid_gradient_is_the_gradient_with_respect_to_the_codebook(bits, seed):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((5, 4))
    x, t = rng.standard_normal((3, 5)), rng.standard_normal((3, 4))
    shared = share_weights({"w": w}, bits)
    q = shared.quantized["w"]

    def loss_w(p):
        return ((x @ p["w"] - t) ** 2).sum()

    def loss_c(p):
        return ((x @ p["c"][q.codes.astype(np.intp)] - t) ** 2).sum()

    _, gw = value_and_grad(loss_w)({"w": w})
    _, gc = value_and_grad(loss_c)({"c": q.codebook})
    np.testing.assert_allclose(shared.centroid_grad("w", gw["w"]), gc["c"], atol=1e-10)
    moved = shared.grad_transform({"w": gw["w"]}, {"w": w})["w"]
    np.testing.assert_allclose(moved, gc["c"][q.codes.astype(np.intp)], atol=1e-10)


@pytest.mark.parametrize("opt_cls", [SGD, Adam])
def test_fine_tuning_moves_the_centroids_and_keeps_the_weights_shared(opt_cls):
    x, y = _data()
    net = _net()
    masks = magnitude_prune(net, sparsity=0.5)
    shared = share_weights(net, 2, masks=masks)
    before = {k: v.copy() for k, v in shared.codebooks().items()}
    opt = opt_cls(net.params, lr=0.05)
    shared.attach(opt)
    fit(net, cross_entropy, opt, (x, y), epochs=2, batch_size=16, random_state=0)
    for name, q in shared.quantized.items():
        w = net.params[name]
        np.testing.assert_array_equal(w, q.dequantize())
        assert len(np.unique(w)) <= 4
        assert np.all(w[~masks.masks[name]] == 0.0)  # pruned stay zero
        assert q.codebook[0] == 0.0
        assert not np.array_equal(q.codebook, before[name])


def test_shared_weights_from_arrays_inverts_to_arrays():
    net = _net()
    shared = share_weights(net, 3, masks=magnitude_prune(net, quality=0.5))
    back = SharedWeights.from_arrays(shared.to_arrays(), shared.to_meta())
    for name, q in shared.quantized.items():
        np.testing.assert_array_equal(back.quantized[name].dequantize(), q.dequantize())
    assert shared.nbytes()["total"] == sum(a.nbytes for a in shared.to_arrays().values())


def test_share_weights_accepts_a_width_per_parameter():
    net = _net()
    shared = share_weights(net, {"fc1.weight": 3, "fc2.weight": 1})
    assert shared.quantized["fc1.weight"].bits == 3 and shared.quantized["fc2.weight"].bits == 1


# ------------------------------------------------------------------------------ shared basis
def _family(seed, m=7, widths=(3, 5, 4)):
    rng = np.random.default_rng(seed)
    return {f"w{i}": rng.standard_normal((m, n)) for i, n in enumerate(widths)}


@settings(max_examples=CAP)
@given(seeds(), st.integers(1, 7), st.sampled_from(["left", "right"]))
def test_shared_basis_error_is_the_tail_of_the_concatenations_spectrum(seed, rank, side):
    ws = _family(seed)
    if side == "right":
        ws = {k: v.T for k, v in ws.items()}
    sb = shared_basis(ws, rank, side=side)
    total_sq = sum(float(np.linalg.norm(sb.reconstruct(k) - w) ** 2) for k, w in ws.items())
    norm_sq = sum(float(np.linalg.norm(w) ** 2) for w in ws.values())
    assert np.sqrt(total_sq / norm_sq) == pytest.approx(sb.rel_errors["total"], rel=1e-9, abs=1e-12)
    np.testing.assert_allclose(sb.basis.T @ sb.basis, np.eye(rank), atol=1e-12)


@settings(max_examples=CAP)
@given(seeds(), st.integers(1, 3))
def test_each_layers_own_svd_is_never_worse_than_the_shared_basis(seed, rank):
    ws = _family(seed)
    sb = shared_basis(ws, rank)
    for k, w in ws.items():
        s = np.linalg.svd(w, compute_uv=False)
        own = np.sqrt(np.sum(s[rank:] ** 2)) / np.linalg.norm(w)
        assert own <= sb.rel_errors[k] + 1e-12


@settings(max_examples=CAP)
@given(seeds(), st.integers(1, 2))
def test_shared_basis_of_summed_rank_is_never_worse_than_separate_bases(seed, rank):
    ws = _family(seed)
    sb = shared_basis(ws, rank * len(ws))
    separate_sq = sum(np.sum(np.linalg.svd(w, compute_uv=False)[rank:] ** 2) for w in ws.values())
    shared_sq = sum(float(np.linalg.norm(sb.reconstruct(k) - w) ** 2) for k, w in ws.items())
    assert shared_sq <= separate_sq * (1 + 1e-10) + 1e-12


@settings(max_examples=min(CAP, 10))
@given(seeds(), st.floats(0.05, 0.9))
def test_shared_basis_eps_picks_the_smallest_rank_meeting_it(seed, eps):
    ws = _family(seed)
    sb = shared_basis(ws, eps=eps)
    assert sb.rel_errors["total"] <= eps + 1e-12
    if sb.rank > 1:
        assert shared_basis(ws, sb.rank - 1).rel_errors["total"] > eps


def test_shared_basis_from_arrays_inverts_to_arrays():
    sb = shared_basis(_family(0), 3)
    back = SharedBasis.from_arrays(sb.to_arrays(), sb.to_meta())
    for k in sb.coefficients:
        np.testing.assert_array_equal(back.reconstruct(k), sb.reconstruct(k))
    assert sb.n_params == 7 * 3 + 3 * (3 + 5 + 4)


def test_shared_basis_refuses_unequal_shared_dimensions():
    with pytest.raises(ValueError, match="equal numbers of rows"):
        shared_basis({"a": random_array((3, 2), 0), "b": random_array((4, 2), 1)}, 1)


@pytest.mark.parametrize("opt_cls", [SGD, Adam])
def test_cluster_members_move_together_under_the_grad_transform_alone(opt_cls):
    rng = np.random.default_rng(0)
    params = {"w": rng.standard_normal((6, 5)).astype(np.float32)}
    shared = share_weights(params, 2)
    opt = opt_cls(params, lr=0.1, grad_transforms=[shared.grad_transform])
    for _ in range(3):
        opt.step({"w": rng.standard_normal((6, 5)).astype(np.float32)})
    codes = shared.quantized["w"].codes
    for k in np.unique(codes):
        assert len(np.unique(params["w"][codes == k])) == 1


# ------------------------------------------------------------------------------ in a network
def _branchy(seed=0, dtype=np.float32):
    return Sequential(
        ("fc1", Linear(6, 6, random_state=seed, dtype=dtype)),
        ("act1", ReLU()),
        ("fc2", Linear(6, 6, random_state=seed + 1, dtype=dtype)),
        ("act2", ReLU()),
        ("fc3", Linear(6, 3, random_state=seed + 2, dtype=dtype)),
    )


@pytest.mark.parametrize("side", ["left", "right"])
def test_share_basis_at_full_rank_computes_the_same_function(side):
    net = _branchy(dtype=np.float64)
    net["fc1"].params["bias"][:] = 0.1
    small, sb = share_basis(net, ["fc1", "fc2"], 6, side=side)
    x = random_array((4, 6), 0)
    np.testing.assert_allclose(small(x), net(x), atol=1e-12)
    assert small.n_params == net.n_params - 2 * 36 + 36 + 2 * 36


def test_share_basis_stores_the_basis_once():
    net = _branchy()
    small, sb = share_basis(net, ["fc1", "fc2"], 2)
    assert sorted(small.params) == ["basis", "fc1.bias", "fc1.coef", "fc2.bias", "fc2.coef",
                                    "fc3.bias", "fc3.weight"]  # fmt: skip
    assert small.params["basis"].shape == (6, 2) and small.params["fc1.coef"].shape == (2, 6)
    assert small.n_params == 12 + 2 * 12 + 2 * 6 + 21


@pytest.mark.parametrize("side", ["left", "right"])
def test_share_basis_gradient_matches_finite_differences(side):
    from ..nn.gradcheck import assert_grad_matches_fd

    net = _branchy(dtype=np.float64)
    small, _ = share_basis(net, ["fc1", "fc2"], 3, side=side)
    x, t = random_array((5, 6), 1), random_array((5, 3), 2)

    def loss(p):
        return ((small.apply(p, x) - t) ** 2).sum()

    assert_grad_matches_fd(loss, {k: v.copy() for k, v in small.params.items()})


def test_fine_tuning_trains_the_shared_basis():
    x, y = _data(seed=3)
    x = x[:, :6]
    small, _ = share_basis(_branchy(), ["fc1", "fc2"], 3)
    basis = small.params["basis"].copy()
    opt = SGD(small.params, lr=0.05)
    fit(small, cross_entropy, opt, (x, y), epochs=1, batch_size=16, random_state=0)
    assert not np.array_equal(small.params["basis"], basis)
