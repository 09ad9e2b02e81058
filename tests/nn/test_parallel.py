"""Batch parts on threads (tensornet/nn/_parallel.py) and the conv kernels run in parts."""

import threading
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tensornet.nn import _parallel
from tensornet.nn import conv as cv

from .test_conv import conv_loop


@pytest.fixture
def parts3():
    """Force up to three parts of at least one byte each, then restore the defaults."""
    saved = _parallel.BUDGET, _parallel.MIN_PART_BYTES
    _parallel.BUDGET, _parallel.MIN_PART_BYTES = 3, 1
    try:
        yield
    finally:
        _parallel.BUDGET, _parallel.MIN_PART_BYTES = saved


@given(st.integers(0, 40), st.integers(1, 4), st.integers(1, 100), st.integers(1, 300))
def test_split_parts_tile_the_range_in_order_with_sizes_differing_by_at_most_one(
    n, budget, item_bytes, min_bytes
):
    saved = _parallel.BUDGET, _parallel.MIN_PART_BYTES
    _parallel.BUDGET, _parallel.MIN_PART_BYTES = budget, min_bytes
    try:
        parts = _parallel.split(n, item_bytes)
    finally:
        _parallel.BUDGET, _parallel.MIN_PART_BYTES = saved
    assert parts[0][0] == 0 and parts[-1][1] == n
    assert all(a[1] == b[0] for a, b in zip(parts, parts[1:]))
    sizes = [e - s for s, e in parts]
    assert max(sizes) - min(sizes) <= 1 and len(parts) <= budget
    if len(parts) > 1:  # every part carries at least the minimum work
        assert min(sizes) * item_bytes >= min_bytes


def test_scratch_is_reused_by_a_thread_and_private_to_it():
    a = _parallel.scratch((4, 5), np.float32)
    b = _parallel.scratch((2, 3), np.float64)
    assert np.shares_memory(a, b)  # the same thread's buffer, reused
    other = []
    t = threading.Thread(target=lambda: other.append(_parallel.scratch((4, 5), np.float32)))
    t.start()
    t.join()
    assert not np.shares_memory(a, other[0])
    big = _parallel.scratch((_parallel.SCRATCH_MAX_BYTES // 4 + 1,), np.float32)
    assert not np.shares_memory(big, _parallel.scratch((4, 5), np.float32))  # not kept


batch_geometry = st.tuples(
    st.integers(3, 7),  # batch: several parts
    st.integers(1, 3),  # in channels
    st.integers(1, 3),  # out channels
    st.integers(1, 3),  # kernel
    st.integers(1, 2),  # stride
    st.integers(0, 1),  # padding
    st.integers(3, 6),  # height
    st.integers(3, 6),  # width
    st.integers(0, 2**31),
)


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batch_geometry)
def test_conv_rows_in_parts_equals_loop_definition_and_its_vjp_is_the_adjoint(parts3, g):
    n, c, o, k, s, p, h, w, seed = g
    rng = np.random.default_rng(seed)
    x, wt, b = rng.standard_normal((n, c, h, w)), rng.standard_normal((o, c, k, k)), None
    if seed % 2:
        b = rng.standard_normal(o)
    y = cv.conv_rows(x, wt, b, (s, s), (p, p))
    np.testing.assert_allclose(y, conv_loop(x, wt, b, s, p), atol=1e-12)
    gy = rng.standard_normal(y.shape)
    dx, dw = cv._conv_rows_vjp([0, 1], y, (x, wt, b, (s, s), (p, p)), {})(gy)
    lhs = np.vdot(y - conv_loop(x, 0 * wt, b, s, p), gy)  # the bilinear part of y
    tol = 1e-10 * max(1.0, abs(lhs))
    assert abs(lhs - np.vdot(x, dx)) <= tol and abs(lhs - np.vdot(wt, dw)) <= tol


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.integers(3, 7), st.integers(1, 2), st.integers(1, 3), st.integers(0, 2**31))
def test_conv_direct_in_parts_equals_loop_definition_and_its_weight_vjp_is_the_adjoint(
    parts3, n, c, o, seed
):
    rng = np.random.default_rng(seed)
    x, wt = rng.standard_normal((n, c, 7, 6)), rng.standard_normal((o, c, 5, 5))
    y = cv.conv_direct(x, wt, None, (2, 2))
    np.testing.assert_allclose(y, conv_loop(x, wt, None, 1, 2), atol=1e-12)
    gy = rng.standard_normal(y.shape)
    (dw,) = cv._conv_direct_vjp([1], y, (x, wt, None, (2, 2)), {})(gy)
    lhs = np.vdot(y, gy)
    assert abs(lhs - np.vdot(wt, dw)) <= 1e-10 * max(1.0, abs(lhs))


def test_without_any_blas_control_every_operation_stays_on_the_calling_thread(monkeypatch):
    # OpenBLAS's thread count cannot then be held at one, and its spinning workers would take
    # the second part's core
    monkeypatch.setattr(_parallel, "_BLAS", None)
    monkeypatch.setattr(_parallel, "BUDGET", None)
    monkeypatch.setitem(__import__("sys").modules, "threadpoolctl", None)
    monkeypatch.setattr(_parallel, "_openblas_of_maps", lambda: None)
    assert _parallel.thread_budget() == 1
    assert _parallel.split(10_000, 1 << 20) == [(0, 10_000)]
    with _parallel.one_blas_thread():  # a no-op
        pass


def test_matmul_equals_the_product_and_holds_openblas_only_after_a_split(monkeypatch):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((6, 5)), rng.standard_normal((5, 4))
    held = []
    monkeypatch.setattr(_parallel, "one_blas_thread", lambda: held.append(1) or _null())
    monkeypatch.setattr(_parallel, "_PARTS_RAN", False)
    np.testing.assert_array_equal(_parallel.matmul(a, b), a @ b)
    assert held == []  # a dense network keeps OpenBLAS's threads
    monkeypatch.setattr(_parallel, "BUDGET", 2)
    assert _parallel.n_parts(4, _parallel.MIN_PART_BYTES) == 2
    np.testing.assert_array_equal(_parallel.matmul(a, b), a @ b)
    assert held == [1]


def _null():
    import contextlib

    return contextlib.nullcontext()


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="reads Linux's library list")
def test_without_threadpoolctl_openblas_is_held_through_its_own_functions(monkeypatch):
    found = _parallel._openblas_of_maps()
    if found is None:
        pytest.skip("this NumPy's BLAS is not an OpenBLAS")
    monkeypatch.setattr(_parallel, "_BLAS", None)
    monkeypatch.setitem(__import__("sys").modules, "threadpoolctl", None)
    libs = _parallel._blas_controllers()
    assert len(libs) == len(found) >= 1
    before = [get() for get, _ in libs]
    for _, set_ in libs:
        set_(2)
    try:
        with _parallel.one_blas_thread():
            assert [get() for get, _ in libs] == [1] * len(libs)
        assert [get() for get, _ in libs] == [2] * len(libs)
    finally:
        for (_, set_), n in zip(libs, before, strict=True):
            set_(n)


def test_a_library_list_naming_another_blas_or_unreadable_gives_no_control(tmp_path):
    maps = tmp_path / "maps"
    maps.write_text("7f00-7f01 r-xp 0 08:01 1 /usr/lib/libmkl_rt.so.2\n")
    assert _parallel._openblas_of_maps(str(maps)) is None
    assert _parallel._openblas_of_maps(str(tmp_path / "missing")) is None
    maps.write_text("7f00-7f01 r-xp 0 08:01 1 /usr/lib/libc.so.6\n")
    assert _parallel._openblas_of_maps(str(maps)) is None
