"""Tests of tensornet/compress/quantize.py: affine and k-means quantizers, packing, STE."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tensornet.compress.quantize import (
    QuantizationAwareTraining,
    QuantizedTensor,
    code_dtype,
    dequantize,
    fake_quantize,
    kmeans_quantize,
    pack_bits,
    quantize_affine,
    unpack_bits,
)
from tensornet.nn import SGD, Linear, cross_entropy, fit, value_and_grad

from ..strategies import random_array, seeds, shapes

#: Examples per property: the profile's count, capped so the thorough profile stays cheap.
CAP = min(settings().max_examples, 30)
#: The central identities (round trips, the half-step bound) get more in the thorough profile.
KEY = min(settings().max_examples, 100)


# ------------------------------------------------------------------------------ packing
@settings(max_examples=KEY)
@given(st.integers(1, 32), st.integers(0, 40), seeds())
def test_unpack_bits_inverts_pack_bits(bits, count, seed):
    codes = np.random.default_rng(seed).integers(0, 2**bits, size=count, dtype=np.int64)
    packed = pack_bits(codes, bits)
    assert packed.dtype == np.uint8 and packed.size == math.ceil(count * bits / 8)
    back = unpack_bits(packed, bits, count)
    assert back.dtype == code_dtype(bits)
    np.testing.assert_array_equal(back, codes)


def test_pack_bits_is_most_significant_first():
    assert pack_bits([1, 2, 3], 2).tolist() == [0b01101100]
    assert pack_bits([5], 3).tolist() == [0b10100000]


def test_pack_bits_refuses_codes_wider_than_bits():
    with pytest.raises(ValueError, match=r"codes must lie in \[0, 2\*\*bits\)"):
        pack_bits([0, 4], 2)


# ------------------------------------------------------------------------------ affine
@settings(max_examples=KEY)
@given(shapes(1, 3, 1, 6), st.integers(1, 12), st.booleans(), seeds())
def test_affine_dequantize_error_within_half_step(shape, bits, symmetric, seed):
    bits = max(bits, 2) if symmetric else bits
    x = random_array(shape, seed) * 3.0
    q = quantize_affine(x, bits, symmetric=symmetric)
    err = np.abs(q.dequantize() - x)
    assert np.all(err <= q.step / 2 * (1 + 1e-9))
    assert q.codes.min() >= (1 if symmetric else 0) and q.codes.max() < 2**bits


@settings(max_examples=CAP)
@given(shapes(2, 3, 1, 5), st.integers(2, 10), st.booleans(), seeds(), st.data())
def test_per_channel_error_within_each_channels_half_step(shape, bits, symmetric, seed, data):
    axis = data.draw(st.integers(0, len(shape) - 1))
    x = random_array(shape, seed) * np.arange(1, shape[axis] + 1).reshape(
        [-1 if k == axis else 1 for k in range(len(shape))]
    )
    q = quantize_affine(x, bits, symmetric=symmetric, axis=axis)
    assert q.scale.shape == (shape[axis],)
    assert np.all(np.abs(q.dequantize() - x) <= q.step / 2 * (1 + 1e-9))


@settings(max_examples=CAP)
@given(shapes(1, 3, 1, 6), st.integers(1, 10), st.booleans(), seeds())
def test_affine_represents_zero_exactly(shape, bits, symmetric, seed):
    bits = max(bits, 2) if symmetric else bits
    x = random_array(shape, seed)
    x.reshape(-1)[::2] = 0.0
    q = quantize_affine(x, bits, symmetric=symmetric)
    assert np.all(q.dequantize()[x == 0] == 0.0)


def test_affine_is_exact_on_its_own_grid():
    x = 0.25 * np.arange(-3, 5, dtype=np.float64)  # 8 levels = 3 bits
    np.testing.assert_array_equal(quantize_affine(x, 3).dequantize(), x)


def test_symmetric_codes_are_centred():
    q = quantize_affine(np.array([-3.0, -1.0, 0.0, 1.0, 3.0]), 3, symmetric=True)
    assert q.zero_point == 4 and q.codes.tolist() == [1, 3, 4, 5, 7]


def test_dequantize_keeps_dtype():
    x = np.linspace(-1, 1, 11, dtype=np.float32)
    assert quantize_affine(x, 4).dequantize().dtype == np.float32
    assert dequantize(kmeans_quantize(x, 2)).dtype == np.float32


@settings(max_examples=CAP)
@given(st.integers(2, 8), seeds())
def test_affine_error_halves_with_each_bit_in_the_worst_case(bits, seed):
    x = random_array(200, seed)
    coarse, fine = quantize_affine(x, bits), quantize_affine(x, bits + 1)
    # scale = range / (2**b - 1): one more bit shrinks the step by (2**b - 1) / (2**(b+1) - 1)
    assert fine.scale / coarse.scale == pytest.approx((2**bits - 1) / (2 ** (bits + 1) - 1))


def test_affine_nbytes_counts_packed_codes_and_side_arrays():
    q = quantize_affine(np.ones((3, 5)), 3, axis=0)
    assert q.nbytes() == {"codes": 6, "scale": 24, "zero_point": 24, "total": 54}  # 45 bits


# ------------------------------------------------------------------------------ k-means
@settings(max_examples=CAP)
@given(st.integers(1, 6), st.integers(2, 400), seeds())
def test_kmeans_uniform_start_never_worse_than_affine_at_same_bits(bits, n, seed):
    x = random_array(n, seed)
    mse_k = np.mean((kmeans_quantize(x, bits, init="uniform").dequantize() - x) ** 2)
    for symmetric in (False, True) if bits > 1 else (False,):
        mse_u = np.mean((quantize_affine(x, bits, symmetric=symmetric).dequantize() - x) ** 2)
        assert mse_k <= mse_u * (1 + 1e-12) + 1e-15


@settings(max_examples=min(CAP, 10))
@given(st.integers(1, 5), seeds())
def test_kmeans_linear_start_beats_affine_on_a_large_gaussian_sample(bits, seed):
    x = random_array(4000, seed)
    mse_k = np.mean((kmeans_quantize(x, bits).dequantize() - x) ** 2)
    mse_u = np.mean((quantize_affine(x, bits).dequantize() - x) ** 2)
    assert mse_k <= mse_u


@settings(max_examples=CAP)
@given(st.integers(1, 5), st.integers(0, 6), st.sampled_from(["linear", "density", "random"]),
       seeds())  # fmt: skip
def test_lloyd_iterations_never_increase_the_error(bits, n_iter, init, seed):
    x = random_array(60, seed)
    before = kmeans_quantize(x, bits, init=init, n_iter=n_iter, random_state=1).info["mse"]
    after = kmeans_quantize(x, bits, init=init, n_iter=n_iter + 3, random_state=1).info["mse"]
    assert after <= before * (1 + 1e-12) + 1e-15


@settings(max_examples=CAP)
@given(st.integers(1, 4), seeds())
def test_kmeans_codes_point_to_the_nearest_centroid(bits, seed):
    x = random_array(50, seed)
    q = kmeans_quantize(x, bits)
    dist = np.abs(x[:, None] - q.codebook[None, :])
    assert np.allclose(dist[np.arange(50), q.codes], dist.min(axis=1))


@settings(max_examples=CAP)
@given(st.integers(1, 4), seeds())
def test_kmeans_centroids_are_the_means_of_their_clusters_at_convergence(bits, seed):
    x = random_array(80, seed)
    q = kmeans_quantize(x, bits, n_iter=1000)
    assert q.info["n_iter"] < 1000
    for j in np.unique(q.codes):
        assert q.codebook[j] == pytest.approx(x[q.codes == j].mean(), rel=1e-9, abs=1e-12)


def test_kmeans_is_exact_with_as_many_clusters_as_distinct_values():
    x = np.array([0.5, -1.0, 0.5, 2.0, -1.0])
    np.testing.assert_array_equal(kmeans_quantize(x, n_clusters=3).dequantize(), x)


@settings(max_examples=CAP)
@given(st.integers(2, 4), seeds())
def test_kmeans_mask_reserves_code_zero_for_pruned_entries(bits, seed):
    x = random_array((6, 7), seed)
    mask = np.abs(x) > 0.5
    q = kmeans_quantize(x, bits, mask=mask)
    assert q.keep_zero and q.codebook[0] == 0.0 and q.codebook.size == 2**bits
    assert np.all(q.codes[~mask] == 0) and np.all(q.codes[mask] > 0)
    assert np.all(q.dequantize()[~mask] == 0.0)


def test_kmeans_n_clusters_sets_the_bit_width():
    q = kmeans_quantize(np.arange(10.0), n_clusters=5)
    assert q.bits == 3 and q.codebook.size == 5
    assert q.nbytes() == {"codes": 4, "codebook": 40, "total": 44}


def test_kmeans_random_init_is_reproducible():
    x = random_array(100, 3)
    a = kmeans_quantize(x, 3, init="random", random_state=7)
    b = kmeans_quantize(x, 3, init="random", random_state=7)
    np.testing.assert_array_equal(a.codebook, b.codebook)


# ------------------------------------------------------------------------------ serialization
@settings(max_examples=CAP)
@given(st.sampled_from(["affine", "affine-ch", "kmeans", "kmeans-mask"]), st.booleans(), seeds())
def test_from_arrays_inverts_to_arrays(kind, packed, seed):
    x = random_array((4, 5), seed).astype(np.float32)
    if kind == "affine":
        q = quantize_affine(x, 5)
    elif kind == "affine-ch":
        q = quantize_affine(x, 6, symmetric=True, axis=1)
    elif kind == "kmeans":
        q = kmeans_quantize(x, 3)
    else:
        q = kmeans_quantize(x, 3, mask=np.abs(x) > 1)
    back = QuantizedTensor.from_arrays(q.to_arrays(packed), q.to_meta(packed))
    np.testing.assert_array_equal(back.codes, q.codes)
    np.testing.assert_array_equal(back.dequantize(), q.dequantize())
    assert back.dequantize().dtype == np.float32
    if packed:
        assert back.to_arrays()["codes"].nbytes == q.nbytes()["codes"]


def test_from_arrays_refuses_a_truncated_code_stream():
    q = quantize_affine(np.arange(12.0), 4)
    arrays = q.to_arrays()
    arrays["codes"] = arrays["codes"][:-1]
    with pytest.raises(ValueError, match="need exactly 6"):
        QuantizedTensor.from_arrays(arrays, q.to_meta())


def test_from_arrays_refuses_codes_beyond_the_codebook():
    q = kmeans_quantize(np.arange(8.0), n_clusters=3)
    arrays = q.to_arrays()
    arrays["codebook"] = arrays["codebook"][:2]
    with pytest.raises(ValueError, match="exceeds the codebook size"):
        QuantizedTensor.from_arrays(arrays, q.to_meta())


# ------------------------------------------------------------------------------ straight-through
@settings(max_examples=CAP)
@given(st.integers(2, 8), seeds())
def test_fake_quantize_gradient_is_the_identity(bits, seed):
    x = random_array((3, 4), seed)
    v = random_array((3, 4), seed + 1)

    def f(p):
        return (fake_quantize(p["x"], bits) * v).sum()

    value, grads = value_and_grad(f)({"x": x})
    np.testing.assert_allclose(value, (quantize_affine(x, bits).dequantize() * v).sum())
    np.testing.assert_array_equal(grads["x"], v)


def test_quantization_aware_training_keeps_live_weights_on_the_grid():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 6)).astype(np.float32)
    y = rng.integers(0, 3, 64)
    layer = Linear(6, 3, random_state=0)
    opt = SGD(layer.params, lr=0.5)
    qat = QuantizationAwareTraining(layer.params, bits=3)
    qat.attach(opt)
    start = qat.shadow["weight"].copy()
    fit(layer, cross_entropy, opt, (x, y), epochs=2, batch_size=16, random_state=0)
    w = layer.params["weight"]
    q = qat.quantized()["weight"]
    np.testing.assert_array_equal(q.dequantize(), w)
    assert len(np.unique(w)) <= 2**3 - 1
    assert not np.array_equal(qat.shadow["weight"], start)  # the shadow moved
    assert np.all(np.abs(qat.shadow["weight"] - w) <= q.step / 2 * (1 + 1e-6))


def test_quantization_aware_training_moves_the_shadow_by_the_sgd_step():
    layer = Linear(3, 2, bias=False, random_state=1, dtype=np.float64)
    opt = SGD(layer.params, lr=0.1)
    qat = QuantizationAwareTraining(layer.params, bits=4)
    qat.attach(opt)
    shadow = qat.shadow["weight"].copy()
    g = np.full((3, 2), 0.3)
    opt.step({"weight": g})
    np.testing.assert_allclose(qat.shadow["weight"], shadow - 0.1 * g, atol=1e-12)
