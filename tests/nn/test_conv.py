"""Conv2d and pooling (tensornet/nn/conv.py): loop definitions and finite differences."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tensornet.nn import AvgPool2d, Conv2d, MaxPool2d, col2im, conv2d, im2col
from tensornet.nn.conv import avg_pool2d, max_pool2d

from .gradcheck import assert_grad_matches_fd, random_weights


def conv_loop(x, w, b, stride, padding):
    """y[n, o, i, j] = b[o] + sum_{c, u, v} xpad[n, c, i*s + u, j*s + v] w[o, c, u, v]."""
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    oh = (h + 2 * padding - kh) // stride + 1
    ow = (wd + 2 * padding - kw) // stride + 1
    y = np.zeros((n, o, oh, ow))
    for b_ in range(n):
        for o_ in range(o):
            for i in range(oh):
                for j in range(ow):
                    patch = xp[b_, :, i * stride : i * stride + kh, j * stride : j * stride + kw]
                    y[b_, o_, i, j] = np.sum(patch * w[o_]) + (0 if b is None else b[o_])
    return y


def pool_loop(x, k, s, p, mode):
    n, c, h, w = x.shape
    fill = -np.inf if mode == "max" else 0.0
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=fill)
    oh, ow = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    y = np.zeros((n, c, oh, ow))
    for i in range(oh):
        for j in range(ow):
            win = xp[:, :, i * s : i * s + k, j * s : j * s + k]
            y[:, :, i, j] = win.max(axis=(2, 3)) if mode == "max" else win.mean(axis=(2, 3))
    return y


geometry = st.tuples(
    st.integers(1, 2),  # batch
    st.integers(1, 3),  # in channels
    st.integers(1, 3),  # out channels
    st.integers(1, 3),  # kernel
    st.integers(1, 3),  # stride
    st.integers(0, 2),  # padding
    st.integers(3, 7),  # height
    st.integers(3, 7),  # width
    st.integers(0, 2**31),
)


@given(geometry)
def test_conv2d_equals_direct_loop_definition(g):
    n, c, o, k, s, p, h, w, seed = g
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, w))
    wt = rng.standard_normal((o, c, k, k))
    b = rng.standard_normal(o)
    np.testing.assert_allclose(conv2d(x, wt, b, s, p), conv_loop(x, wt, b, s, p), atol=1e-12)


@given(geometry)
def test_col2im_is_the_adjoint_of_im2col(g):
    n, c, _, k, s, p, h, w, seed = g
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, w))
    cols = im2col(x, (k, k), (s, s), (p, p))
    r = rng.standard_normal(cols.shape)
    lhs = np.vdot(cols, r)
    rhs = np.vdot(x, col2im(r, x.shape, (k, k), (s, s), (p, p)))
    assert abs(lhs - rhs) <= 1e-10 * max(1.0, abs(lhs))


@pytest.mark.parametrize("stride,padding", [(1, 0), (2, 1), (1, 2)])
def test_conv2d_layer_gradient_matches_finite_differences(stride, padding):
    layer = Conv2d(2, 3, (3, 2), stride=stride, padding=padding, random_state=0, dtype=np.float64)
    params = {k: v + 0.1 * random_weights(v.shape, 1) for k, v in layer.params.items()}
    x = random_weights((2, 2, 6, 5), 2)
    probe = random_weights(layer(x).shape, 3)

    def f(p, x):
        return (layer.apply(p, x) * probe).sum()

    assert_grad_matches_fd(f, params, x)

    def f_input(p):
        return (layer.apply(params, p["x"]) * probe).sum()

    assert_grad_matches_fd(f_input, {"x": x})


@given(st.integers(1, 3), st.integers(1, 3), st.integers(0, 1), st.integers(0, 2**31))
def test_pooling_equals_direct_loop_definition(k, s, p, seed):
    p = min(p, k // 2)
    x = np.random.default_rng(seed).standard_normal((2, 3, 6, 7))
    np.testing.assert_allclose(
        max_pool2d(x, (k, k), (s, s), (p, p)), pool_loop(x, k, s, p, "max"), atol=1e-12
    )
    np.testing.assert_allclose(
        avg_pool2d(x, (k, k), (s, s), (p, p)), pool_loop(x, k, s, p, "avg"), atol=1e-12
    )


@pytest.mark.parametrize("layer_cls", [MaxPool2d, AvgPool2d])
@pytest.mark.parametrize("k,s,p", [(2, 2, 0), (3, 1, 1), (3, 2, 1)])
@pytest.mark.parametrize("shape", [(2, 2, 6, 5), (2, 2, 6, 6)])
def test_pooling_gradient_matches_finite_differences(layer_cls, k, s, p, shape):
    layer = layer_cls(k, s, p)
    x = random_weights(shape, 4)
    probe = random_weights(layer(x).shape, 5)
    assert_grad_matches_fd(lambda q: (layer.apply({}, q["x"]) * probe).sum(), {"x": x})


def test_max_pool_routes_gradient_of_a_tie_to_one_entry():
    x = np.zeros((1, 1, 2, 2))
    from tensornet.nn import value_and_grad

    _, g = value_and_grad(lambda q: max_pool2d(q["x"], (2, 2), (2, 2), (0, 0)).sum())({"x": x})
    assert g["x"].sum() == 1.0 and np.count_nonzero(g["x"]) == 1


def test_conv2d_keeps_float32():
    layer = Conv2d(1, 4, 3, padding=1, random_state=0)
    x = np.ones((2, 1, 5, 5), dtype=np.float32)
    assert layer(x).dtype == np.float32
    assert MaxPool2d(2)(layer(x)).dtype == np.float32


def test_conv2d_rejects_wrong_channel_count_with_clear_message():
    layer = Conv2d(3, 4, 3, random_state=0)
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        layer(np.ones((1, 2, 5, 5), dtype=np.float32))


def test_kernel_larger_than_padded_input_is_refused():
    with pytest.raises(ValueError, match="larger than the padded input"):
        conv2d(np.ones((1, 1, 2, 2)), np.ones((1, 1, 3, 3)))


def test_pool_padding_above_half_kernel_is_refused():
    with pytest.raises(ValueError, match="at most half"):
        MaxPool2d(2, padding=2)


def test_conv_pool_chain_gradient_matches_finite_differences():
    # the conv output is a channel-major buffer seen as NCHW: exercises the pooling layouts
    from tensornet.nn import ReLU, Sequential

    net = Sequential(
        ("conv", Conv2d(2, 3, 3, padding=1, random_state=0, dtype=np.float64)),
        ("pool", MaxPool2d(2)),
        ("act", ReLU()),
        ("conv2", Conv2d(3, 2, 2, random_state=1, dtype=np.float64)),
    )
    x = random_weights((2, 2, 6, 6), 6)
    probe = random_weights(net(x).shape, 7)
    params = {k: v + 0.1 * random_weights(v.shape, 8) for k, v in net.params.items()}
    assert_grad_matches_fd(lambda p, x: (net.apply(p, x) * probe).sum(), params, x)


@given(
    st.integers(0, 2**31),
    st.sampled_from([(4, 6), (6, 4), (5, 7)]),
    st.sampled_from(["nchw", "channel_major", "channels_last"]),
)
def test_max_pool_2x2_kernels_equal_generic_kernels_with_ties(seed, hw, layout):
    # the 2x2 fast path against the generic window loop (the reference), on small integers so
    # that windows hold ties: the gradient must go to the same (first, row-major) entry
    from tensornet.nn import conv as cv

    rng = np.random.default_rng(seed)
    x = rng.integers(-2, 3, size=(2, 3) + hw).astype(np.float32)
    if layout == "channel_major":  # the (O, B, H, W) buffer seen as NCHW that conv_gemm returns
        x = np.ascontiguousarray(x.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)
    elif layout == "channels_last":  # the (B, H, W, C) buffer seen as NCHW that conv_rows returns
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    y, oh, ow = max_pool2d(x, (2, 2), (2, 2), (0, 0)), hw[0] // 2, hw[1] // 2
    planes = np.ascontiguousarray(x).reshape(6, *hw)
    ref = np.empty((6, oh, ow), np.float32)
    cv._max_pool_kernel(planes, 2, 2, 2, 2, ref)
    np.testing.assert_array_equal(y, ref.reshape(2, 3, oh, ow))
    g = rng.standard_normal((2, 3, oh, ow)).astype(np.float32)
    dx = cv._max_pool_vjp(y, x, (2, 2), (2, 2), (0, 0))(g)
    dref = np.zeros_like(planes)
    cv._max_pool_grad_kernel(planes, g.reshape(6, oh, ow), 2, 2, 2, 2, dref)
    np.testing.assert_array_equal(dx, dref.reshape(x.shape))


@settings(max_examples=25, deadline=None)
@given(geometry, st.sampled_from([1, 1 << 20]))
def test_conv_rows_in_any_chunks_equals_direct_loop_definition(g, chunk_bytes):
    # chunk_bytes=1: one image per chunk, so the chunk boundaries are crossed
    from tensornet.nn import conv as cv

    n, c, o, k, s, p, h, w, seed = g
    rng = np.random.default_rng(seed)
    x, wt, b = rng.standard_normal((n, c, h, w)), rng.standard_normal((o, c, k, k)), None
    if seed % 2:
        b = rng.standard_normal(o)
    saved, cv._CHUNK_BYTES = cv._CHUNK_BYTES, chunk_bytes
    try:
        y = cv.conv_rows(x, wt, b, (s, s), (p, p))
    finally:
        cv._CHUNK_BYTES = saved
    np.testing.assert_allclose(y, conv_loop(x, wt, b, s, p), atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(geometry, st.sampled_from([1, 1 << 20]))
def test_conv_rows_vjp_is_the_adjoint_of_each_linear_argument(g, chunk_bytes):
    # conv(x, w) is bilinear: <conv(x, w), G> = <x, dx> = <w, dw>, and db = sum of G
    from tensornet.nn import conv as cv

    n, c, o, k, s, p, h, w, seed = g
    rng = np.random.default_rng(seed)
    x, wt, b = rng.standard_normal((n, c, h, w)), rng.standard_normal((o, c, k, k)), np.zeros(o)
    saved, cv._CHUNK_BYTES = cv._CHUNK_BYTES, chunk_bytes
    try:
        y = cv.conv_rows(x, wt, b, (s, s), (p, p))
        gy = rng.standard_normal(y.shape)
        dx, dw, db = cv._conv_rows_vjp([0, 1, 2], y, (x, wt, b, (s, s), (p, p)), {})(gy)
    finally:
        cv._CHUNK_BYTES = saved
    lhs = np.vdot(y, gy)
    tol = 1e-10 * max(1.0, abs(lhs))
    assert abs(lhs - np.vdot(x, dx)) <= tol
    assert abs(lhs - np.vdot(wt, dw)) <= tol
    np.testing.assert_allclose(db, gy.sum(axis=(0, 2, 3)), atol=1e-12)
    assert dx.shape == x.shape and dw.shape == wt.shape


@settings(max_examples=25, deadline=None)
@given(geometry)
def test_row2im_is_the_adjoint_of_im2row(g):
    from tensornet.nn import conv as cv

    n, c, _, k, s, p, h, w, seed = g
    rng = np.random.default_rng(seed)
    xh = rng.standard_normal((n, h + 2 * p, w + 2 * p, c))
    oh, ow = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    rows = np.empty((n * oh * ow, k * k * c))
    cv._im2row_kernel(xh, k, k, s, s, oh, ow, rows)
    r = rng.standard_normal(rows.shape)
    back = np.zeros_like(xh)
    cv._row2im_kernel(r, k, k, s, s, oh, ow, back)
    lhs = np.vdot(rows, r)
    assert abs(lhs - np.vdot(xh, back)) <= 1e-10 * max(1.0, abs(lhs))


direct_geometry = st.tuples(
    st.integers(1, 2),  # batch
    st.integers(1, 2),  # in channels
    st.integers(1, 3),  # out channels
    st.sampled_from([(5, 5), (3, 5), (5, 3), (2, 2)]),  # kernel (5 wide: the unrolled rows)
    st.integers(0, 2),  # padding
    st.integers(5, 8),  # height
    st.integers(5, 8),  # width
    st.integers(0, 2**31),
)


@settings(max_examples=25, deadline=None)
@given(direct_geometry)
def test_conv_direct_and_its_weight_vjp_equal_the_loop_definition_and_its_adjoint(g):
    # forward against the loop definition; the kernel gradient through <conv(x, w), G> = <w, dw>
    from tensornet.nn import conv as cv

    n, c, o, (kh, kw), p, h, w, seed = g
    rng = np.random.default_rng(seed)
    x, wt, b = rng.standard_normal((n, c, h, w)), rng.standard_normal((o, c, kh, kw)), None
    y = cv.conv_direct(x, wt, b, (p, p))
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    ref = np.zeros(y.shape)
    for i in range(kh):
        for j in range(kw):
            ref += np.einsum("bchw,oc->bohw", xp[:, :, i : i + y.shape[2], j : j + y.shape[3]],
                             wt[:, :, i, j])  # fmt: skip
    np.testing.assert_allclose(y, ref, atol=1e-12)
    gy = rng.standard_normal(y.shape)
    (dw,) = cv._conv_direct_vjp([1], y, (x, wt, b, (p, p)), {})(gy)
    lhs = np.vdot(y, gy)
    assert abs(lhs - np.vdot(wt, dw)) <= 1e-10 * max(1.0, abs(lhs))
