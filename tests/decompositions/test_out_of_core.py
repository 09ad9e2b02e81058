"""Streaming decompositions of Dask arrays (tensornet/decompositions/out_of_core.py).

The streamed algorithms must give the in-memory results on the same data (to 1e-10 relative,
whatever the chunking, also with chunks that split a mode), keep the same guarantees (the eps
bound, exactness at full rank), count their passes, refuse bad data without computing it, run
on a ``dask.distributed`` cluster, and stay within a fraction of the data in memory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import dask
import numpy as np
import pytest

import tensornet as tn
from tensornet.decompositions._engines import is_dask_array

da = pytest.importorskip("dask.array")
ooc = pytest.importorskip("tensornet.decompositions.out_of_core")

RNG = np.random.default_rng(7)
SHAPE = (6, 5, 7, 8, 9)
CORES = [RNG.standard_normal(s) for s in [(1, 6, 3), (3, 5, 4), (4, 7, 3), (3, 8, 2), (2, 9, 1)]]
X = tn.TTTensor(CORES).full() + 1e-6 * RNG.standard_normal(SHAPE)
#: whole, split along the first mode, split along every mode (unevenly)
CHUNKINGS = [SHAPE, (2, 5, 7, 8, 9), (4, 2, 3, 5, 4)]
CALLS = [{}, {"eps": 1e-3}, {"ranks": (3, 6, 5, 2)}]


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def test_a_dask_array_is_recognized_without_importing_dask_in_the_core():
    assert is_dask_array(da.zeros((2, 2)))
    assert not is_dask_array(np.zeros((2, 2)))


@pytest.mark.parametrize("chunks", CHUNKINGS)
@pytest.mark.parametrize("kwargs", CALLS)
@pytest.mark.parametrize("limit", [None, 0])
def test_streamed_tt_svd_equals_in_memory_tt_svd(chunks, kwargs, limit):
    dx = da.from_array(X, chunks=chunks)
    if limit is None:
        streamed = tn.tt_svd(dx, **kwargs)
    else:
        with ooc.in_memory_limit(limit):
            streamed = tn.tt_svd(dx, **kwargs)
    direct = tn.tt_svd(X, **kwargs)
    assert streamed.ranks == direct.ranks
    assert _rel(streamed.full(), direct.full()) < 1e-10
    assert abs(streamed.info["rel_error"] - direct.info["rel_error"]) < 1e-9


@pytest.mark.parametrize("eps", [0.3, 1e-5, 1e-9])
def test_streamed_tt_svd_meets_the_eps_bound_with_every_step_streamed(eps):
    with ooc.in_memory_limit(0):
        tt = tn.tt_svd(da.from_array(X, chunks=(4, 2, 3, 5, 4)), eps=eps)
    err = _rel(tt.full(), X)
    assert err <= eps * (1 + 1e-9)
    assert abs(err - tt.info["rel_error"]) < 1e-7


def test_streamed_tt_svd_is_exact_at_full_rank_and_left_orthonormal():
    with ooc.in_memory_limit(0):
        tt = tn.tt_svd(da.from_array(X, chunks=(2, 3, 7, 4, 9)))
    assert _rel(tt.full(), X) < 1e-12
    for core in tt.cores[:-1]:
        q = core.reshape(-1, core.shape[-1])
        assert np.allclose(q.T @ q, np.eye(q.shape[1]), atol=1e-12)


def test_passes_are_counted():
    dx = da.from_array(X, chunks=(3, 5, 7, 8, 9))
    # eigenvalues decide at a large eps: the Gram pass, then the remainder computed
    assert tn.tt_svd(dx, eps=0.1).info["passes"] == 2
    # a tiny eps needs the exact row norms of the first projection: one pass more
    assert tn.tt_svd(dx, eps=1e-12).info["passes"] == 3
    assert tn.tt_svd(dx, eps=0.1).info["out_of_core_steps"] == 1
    long = da.from_array(RNG.standard_normal((4, 16, 8, 60)), chunks=(2, 8, 8, 30))
    with ooc.in_memory_limit(0):
        info = tn.tt_svd(long, ranks=4).info
    # over the data: the Gram pass and the projection, written to disk; over that remainder
    # (its unfolding, 64 x 480, is still wide): its Gram pass and its projection into memory
    assert (info["out_of_core_steps"], info["passes"], info["remainder_passes"]) == (2, 2, 2)


@pytest.mark.parametrize("chunks", CHUNKINGS)
@pytest.mark.parametrize("kwargs", [{}, {"eps": 1e-3}, {"ranks": (3, 4, 5, 2, 2)}])
def test_streamed_hosvd_equals_in_memory_hosvd(chunks, kwargs):
    streamed = tn.hosvd(da.from_array(X, chunks=chunks), **kwargs)
    direct = tn.hosvd(X, **kwargs)
    assert streamed.ranks == direct.ranks
    assert _rel(streamed.full(), direct.full()) < 1e-10
    assert abs(streamed.info["rel_error"] - direct.info["rel_error"]) < 1e-9
    assert streamed.info["error_bound"] == pytest.approx(direct.info["error_bound"], abs=1e-9)
    assert streamed.info["passes"] in (2, 3, 4)


def test_streamed_hosvd_needs_two_passes_at_a_large_eps():
    t = tn.hosvd(da.from_array(X, chunks=(3, 5, 7, 8, 9)), eps=0.2)
    assert t.info["passes"] == 2
    assert _rel(t.full(), X) <= 0.2


#: the multilinear pass's cases: whole, split along the first mode, uneven blocks thinner than
#: the ranks along modes 1-3, blocks of one index of the first two modes
ML_CHUNKS = [SHAPE, (2, 5, 7, 8, 9), (4, 2, 3, 5, 4), (1, 1, 7, 8, 9)]


@pytest.mark.parametrize("chunks", ML_CHUNKS)
@pytest.mark.parametrize("keep", [None, 1, 3])
def test_multilinear_pass_equals_the_dense_mode_products(monkeypatch, chunks, keep):
    # pieces of at most 8 kB: many folds, every accumulator update cut into pieces
    monkeypatch.setattr(ooc, "PIECE_BYTES", 8_000)
    rng = np.random.default_rng(2)
    factors = [
        None if k == keep else rng.standard_normal((n, r))
        for k, (n, r) in enumerate(zip(SHAPE, (3, 5, 7, 6, 4), strict=True))
    ]
    expected = X
    for k, u in enumerate(factors):
        if u is not None:
            expected = np.moveaxis(np.tensordot(expected, u, axes=(k, 0)), -1, k)
    (got,) = dask.compute(ooc._multilinear(da.from_array(X, chunks=chunks), factors))
    assert _rel(got, expected) < 1e-13


def test_multilinear_pass_multiplies_out_only_the_modes_cut_finer_than_the_rank():
    factors = [np.ones((n, r)) for n, r in zip(SHAPE, (3, 5, 7, 6, 4), strict=True)]
    assert ooc._multilinear_plan(da.from_array(X, chunks=(1, 1, 7, 8, 9)), factors) == [0, 1]
    # the thinnest first, while a block's Kronecker product (2 x 5, then 6 x 35) stays within
    # the result's 2520 entries (30 x 210 would not)
    assert ooc._multilinear_plan(da.from_array(X, chunks=(4, 2, 3, 5, 4)), factors) == [1, 2]
    assert ooc._multilinear_plan(da.from_array(X, chunks=SHAPE), factors) == []


XH = tn.TTTensor(CORES).full() + 1e-2 * np.random.default_rng(11).standard_normal(SHAPE)
HOOI_RANKS = (3, 4, 3, 3, 2)


@pytest.mark.parametrize(
    ("chunks", "kwargs"),
    [
        ((4, 2, 3, 5, 4), {}),
        ((2, 5, 7, 8, 9), {"method": "eigh"}),
        ((1, 1, 7, 8, 9), {}),
        ((1, 1, 7, 8, 9), {"init": "random", "random_state": 3}),
    ],
)
def test_streamed_tucker_hooi_takes_the_in_memory_iterates(chunks, kwargs):
    kw = {"n_iter_max": 2, "tol": 0.0, **kwargs}
    streamed = tn.tucker_hooi(da.from_array(XH, chunks=chunks), HOOI_RANKS, **kw)
    direct = tn.tucker_hooi(XH, HOOI_RANKS, **kw)
    assert streamed.ranks == direct.ranks
    assert _rel(streamed.full(), direct.full()) < 1e-10
    assert np.allclose(streamed.info["history"], direct.info["history"], rtol=1e-10, atol=0)
    # the start (a Gram pass per split mode beyond the first unless the data fit, or a norm
    # pass for a random start), then one pass per mode and sweep
    start = 1 if "init" in kwargs else len(ooc._mode_groups(da.from_array(XH, chunks=chunks)))
    assert streamed.info["passes"] == start + 2 * XH.ndim


def test_streamed_tucker_hooi_converges_to_the_in_memory_result():
    dx = da.from_array(XH, chunks=(3, 5, 7, 8, 9))
    streamed = tn.tucker_hooi(dx, HOOI_RANKS, method="eigh")
    direct = tn.tucker_hooi(XH, HOOI_RANKS, method="eigh")
    assert streamed.info["n_iter"] == direct.info["n_iter"]
    assert _rel(streamed.full(), direct.full()) < 1e-10
    assert abs(streamed.info["rel_error"] - _rel(streamed.full(), XH)) < 1e-12
    assert streamed.info["rel_error"] <= tn.hosvd(XH, ranks=HOOI_RANKS).info["rel_error"]


def test_streamed_tucker_hooi_error_from_a_residual_pass_at_exact_ranks():
    # exact multilinear ranks: ||X||^2 - ||G||^2 has lost its digits, a residual pass decides
    exact = tn.TuckerTensor(
        np.random.default_rng(4).standard_normal((2, 3, 2)),
        [
            np.linalg.qr(np.random.default_rng(k).standard_normal((n, r)))[0]
            for k, (n, r) in enumerate([(5, 2), (6, 3), (7, 2)])
        ],
    ).full()
    t = tn.tucker_hooi(da.from_array(exact, chunks=(2, 3, 7)), (2, 3, 2), n_iter_max=2, tol=0)
    assert t.info["rel_error"] < 1e-13
    assert t.info["passes"] > 1 + 2 * 3  # the residual passes


@pytest.mark.parametrize("chunks", [(300, 200), (70, 50)])
@pytest.mark.parametrize("n_iter", [0, 2])
def test_streamed_randomized_svd_equals_in_memory_with_the_same_seed(chunks, n_iter):
    m = RNG.standard_normal((300, 20)) @ RNG.standard_normal((20, 200))
    m += 1e-3 * RNG.standard_normal(m.shape)
    kw = {"n_iter": n_iter, "random_state": 3}
    u, s, vt = tn.randomized_svd(da.from_array(m, chunks=chunks), 5, **kw)
    u2, s2, vt2 = tn.randomized_svd(m, 5, **kw)
    assert np.allclose(s, s2, rtol=1e-10)
    assert _rel((u * s) @ vt, (u2 * s2) @ vt2) < 1e-10
    assert np.allclose(u.T @ u, np.eye(5), atol=1e-12)


@pytest.mark.parametrize(
    ("data", "exc", "match"),
    [
        (np.full((3, 4, 5), np.nan), ValueError, "x must be finite"),
        (np.array([[[1.0, np.inf]]]), ValueError, "x must be finite"),
        (np.ones((3, 4), dtype=complex), TypeError, "real numbers"),
        (np.zeros((0, 4)), ValueError, "must not be empty"),
    ],
)
@pytest.mark.parametrize("method", [tn.tt_svd, tn.hosvd])
def test_bad_dask_data_gives_a_named_error(data, exc, match, method):
    with pytest.raises(exc, match=match):
        method(da.from_array(data, chunks=2))


def test_streamed_randomized_svd_refuses_nan_and_a_tensor():
    bad = np.ones((30, 20))
    bad[3, 4] = np.nan
    with pytest.raises(ValueError, match="m must be finite"):
        tn.randomized_svd(da.from_array(bad, chunks=10), 2)
    with pytest.raises(ValueError, match="2-D"):
        tn.randomized_svd(da.ones((3, 4, 5)), 2)
    with pytest.raises(ValueError, match="method='exact'"):
        tn.tt_svd(da.ones((3, 4, 5)), ranks=2, method="randomized")


def test_in_memory_limit_refuses_a_negative_size_and_restores_the_previous_value():
    before = ooc.get_in_memory_limit()
    with pytest.raises(ValueError, match="nbytes"):
        with ooc.in_memory_limit(-1):
            pass
    with ooc.in_memory_limit(5):
        assert ooc.get_in_memory_limit() == 5
    assert ooc.get_in_memory_limit() == before


def test_streamed_tt_svd_runs_on_a_distributed_cluster_of_two_worker_processes():
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        dx = da.from_array(X, chunks=(3, 5, 7, 4, 9))
        tt = tn.tt_svd(dx, eps=1e-3)
        t = tn.hosvd(dx, eps=1e-3)
        # modes 1-4 whole: their Gram matrices come block by block from the slab's readers
        t_whole = tn.hosvd(da.from_array(X, chunks=(3, 5, 7, 8, 9)), eps=1e-3)
        assert len(client.scheduler_info()["workers"]) == 2
    assert _rel(tt.full(), tn.tt_svd(X, eps=1e-3).full()) < 1e-10
    assert _rel(t.full(), tn.hosvd(X, eps=1e-3).full()) < 1e-10
    assert _rel(t_whole.full(), tn.hosvd(X, eps=1e-3).full()) < 1e-10


RING = tn.TRTensor([RNG.standard_normal(s) for s in [(2, 6, 3), (3, 5, 2), (2, 7, 2), (2, 8, 2)]])
XR = RING.full() + 1e-6 * RNG.standard_normal(RING.shape)


@pytest.mark.parametrize("chunks", [XR.shape, (2, 3, 4, 5)])
@pytest.mark.parametrize("kwargs", [{}, {"eps": 1e-3}, {"eps": 0.2}, {"ranks": (2, 3, 2, 2)}])
def test_streamed_tr_svd_keeps_the_ranks_and_the_eps_bound_of_in_memory_tr_svd(chunks, kwargs):
    # TR-SVD's later truncations depend on the basis of its first step (a sign per column,
    # LAPACK's for the in-memory SVD, the eigensolver's here), so the rings may differ by that
    # choice; the ranks, the bound and the first step's error do not.
    streamed = tn.tr_svd(da.from_array(XR, chunks=chunks), **kwargs)
    direct = tn.tr_svd(XR, **kwargs)
    assert streamed.ranks == direct.ranks
    err = _rel(streamed.full(), XR)
    assert abs(err - streamed.info["rel_error"]) < 1e-7
    if "eps" in kwargs:
        assert err <= kwargs["eps"] * (1 + 1e-9)
    assert streamed.info["passes"] in (2, 3)


def test_streamed_tr_svd_is_exact_at_full_rank():
    tr = tn.tr_svd(da.from_array(XR, chunks=(2, 3, 4, 5)))
    assert _rel(tr.full(), XR) < 1e-12


FACTORS = [RNG.standard_normal((n, 3)) for n in (6, 7, 8)]
XC = np.einsum("ir,jr,kr->ijk", *FACTORS)


@pytest.mark.parametrize("chunks", [XC.shape, (2, 3, 5)])
@pytest.mark.parametrize("noise", [0.0, 0.1])
def test_streamed_cp_als_takes_the_in_memory_iterates(chunks, noise):
    x = XC + noise * np.random.default_rng(1).standard_normal(XC.shape)
    kw = {"n_iter_max": 25, "tol": 1e-12, "random_state": 0}
    streamed = tn.cp_als(da.from_array(x, chunks=chunks), 3, **kw)
    direct = tn.cp_als(x, 3, **kw)
    assert streamed.info["n_iter"] == direct.info["n_iter"]
    assert np.allclose(streamed.info["history"], direct.info["history"], rtol=1e-8, atol=1e-9)
    assert _rel(streamed.full(), direct.full()) < 1e-10
    # one pass for the Gram matrices, then one MTTKRP pass per mode and sweep (plus residual
    # passes where the error formula has lost its digits)
    assert streamed.info["passes"] >= 1 + 3 * streamed.info["n_iter"]


def test_streamed_cp_als_refuses_an_all_zero_tensor():
    with pytest.raises(ValueError, match="all zeros"):
        tn.cp_als(da.zeros((3, 4, 5), chunks=2), 2)


#: long enough that two steps stream (the second remainder's unfolding, 8 r_1 x 5120, is wide)
XL = tn.TTTensor(
    [RNG.standard_normal(s) for s in [(1, 4, 3), (3, 8, 4), (4, 8, 3), (3, 16, 2), (2, 40, 1)]]
).full()
XL += 1e-6 * np.linalg.norm(XL) / np.sqrt(XL.size) * RNG.standard_normal(XL.shape)


@pytest.mark.parametrize("kwargs", [{"eps": 1e-3}, {"ranks": (3, 4, 3, 2)}])
def test_slabs_cut_into_small_pieces_give_the_in_memory_tt_svd(monkeypatch, tmp_path, kwargs):
    # pieces of at most 40 kB: every slab is cut along several axes, every remainder is
    # written to disk in blocks whose next-step slabs are that small
    monkeypatch.setattr(ooc, "PIECE_BYTES", 40_000)
    written = []
    write = ooc._Spill.write
    monkeypatch.setattr(
        ooc._Spill, "write", lambda self, at, b: (written.append(b.nbytes), write(self, at, b))
    )
    with ooc.in_memory_limit(0, spill_dir=tmp_path):
        streamed = tn.tt_svd(da.from_array(XL, chunks=(1, 4, 8, 16, 40)), **kwargs)
    direct = tn.tt_svd(XL, **kwargs)
    assert streamed.ranks == direct.ranks
    assert _rel(streamed.full(), direct.full()) < 1e-10
    assert streamed.info["out_of_core_steps"] >= 2 and len(written) > 10
    assert list(tmp_path.iterdir()) == []  # the remainders are removed


def test_a_float32_input_keeps_float32_remainders_on_disk(monkeypatch):
    x32 = XL.astype(np.float32)
    dtypes = []
    read = ooc._SpillBlock.read
    monkeypatch.setattr(
        ooc._SpillBlock, "read", lambda self: (dtypes.append((out := read(self)).dtype), out)[1]
    )
    with ooc.in_memory_limit(0):
        streamed = tn.tt_svd(da.from_array(x32, chunks=(2, 4, 8, 16, 40)), eps=1e-3)
    direct = tn.tt_svd(x32.astype(np.float64), eps=1e-3)
    assert dtypes and set(dtypes) == {np.dtype(np.float32)}
    assert streamed.ranks == direct.ranks
    # the float32 remainder rounds each entry to a relative 2**-24, as the stored data are
    assert _rel(streamed.full(), direct.full()) < 1e-6


def test_a_remainder_on_disk_is_one_file_per_projection_task(monkeypatch, tmp_path):
    # the first projection's tasks are the slabs of x[None] along its first two axes: one per
    # block of x's modes 1.. (here 8 / 4 = 2), each writing several blocks (pieces of 40 kB)
    monkeypatch.setattr(ooc, "PIECE_BYTES", 40_000)
    files, blocks, sizes, nbytes = [], [], [], []
    remove = ooc._Spill.remove

    def listed(self):
        files.append(sorted(os.listdir(self.root)))
        blocks.append(self.refs().size)
        sizes.append(sum(os.path.getsize(os.path.join(self.root, f)) for f in files[-1]))
        nbytes.append(self.nbytes)
        remove(self)

    monkeypatch.setattr(ooc._Spill, "remove", listed)
    with ooc.in_memory_limit(0, spill_dir=tmp_path):
        streamed = tn.tt_svd(da.from_array(XL, chunks=(1, 4, 8, 16, 40)), eps=1e-3)
    assert files[0] == ["s0_0_0_0.raw", "s1_0_0_0.raw"] and blocks[0] > 2
    assert sizes == nbytes  # the blocks side by side, nothing between them
    assert _rel(streamed.full(), tn.tt_svd(XL, eps=1e-3).full()) < 1e-10
    assert list(tmp_path.iterdir()) == []


def test_a_remainder_on_disk_has_blocks_whose_next_step_slabs_fit_their_bound(monkeypatch):
    # a projection of (1, 4, 12, 10, 10) to r = 3 rows: its pieces (float64, at most 1000 B) are
    # (1, 4, 1, 3, 10); a next-step slab (whole along r and the 12) of one piece's tail would be
    # 8 * 3 * 12 * 30 = 8640 B > 8 pieces, so the remainder's blocks are cut further, and no more
    # than needed
    monkeypatch.setattr(ooc, "PIECE_BYTES", 1000)
    src = da.zeros((1, 4, 12, 10, 10), chunks=(1, 4, 12, 10, 10))
    steps = ooc._project_steps(src, 3, spill=True)
    bound = ooc.SPILL_SLAB_PIECES * ooc.PIECE_BYTES

    def next_slab(s):
        return 8 * 3 * 12 * s[3] * s[4]

    assert 8 * 4 * np.prod(steps[2:]) <= 1000
    assert next_slab(steps) <= bound < next_slab([*steps[:3], steps[3] + 1, steps[4]])
    assert ooc._project_steps(src, 3, spill=False) == [1, 4, 1, 3, 10]


def test_a_remainder_block_cut_short_on_disk_is_an_error(tmp_path):
    spill = ooc._Spill(str(tmp_path / "r"), (2, 3), ((2,), (1, 2)), ((3,),), np.float32)
    first = RNG.standard_normal((2, 1)).astype(np.float32)
    spill.write((0, 0), first)
    with open(spill.refs()[0, 1].path, "r+b") as f:  # the file holds the first block only
        f.truncate(8)
    assert spill.refs()[0, 0].read().tobytes() == first.tobytes()
    with pytest.raises(OSError, match="ends early"):
        spill.refs()[0, 1].read()


def test_remainder_blocks_written_and_read_in_short_pieces_are_whole(monkeypatch, tmp_path):
    # the system may write or read fewer bytes than asked: the rest follows at the right offset
    pwrite, preadv = os.pwrite, os.preadv
    monkeypatch.setattr(ooc.os, "pwrite", lambda fd, data, at: pwrite(fd, data[:7], at))
    monkeypatch.setattr(ooc.os, "preadv", lambda fd, views, at: preadv(fd, [views[0][:5]], at))
    spill = ooc._Spill(str(tmp_path / "r"), (3, 5), ((3,), (2, 3)), ((5,),), np.float64)
    blocks = [RNG.standard_normal((3, 2)), RNG.standard_normal((3, 3))]
    spill.write((0, 2), blocks[1])
    spill.write((0, 0), blocks[0])
    got = [b.read() for b in spill.refs()[0]]
    assert [g.tobytes() for g in got] == [b.tobytes() for b in blocks]


def test_the_pieces_of_a_slab_share_one_buffer():
    # a recording op: every piece of the slab (4 x 5 x 6 cut into 4 x 1 x 6 pieces, the last
    # one the same size) lands in the memory of the first
    class Record:
        reduces = True

        def __init__(self):
            self.addresses = []

        def __call__(self, piece, start):
            self.addresses.append(piece.__array_interface__["data"][0])
            return np.zeros(1)

    op = Record()
    block = RNG.standard_normal((4, 5, 6))
    ooc._on_slab(op, (0,), [4, 1, 6], (0, 0, 0), [block])
    assert len(op.addresses) == 5 and len(set(op.addresses)) == 1


def test_in_memory_limit_refuses_a_spill_dir_that_is_not_a_directory(tmp_path):
    with pytest.raises(ValueError, match="spill_dir=.*not an existing directory"):
        with ooc.in_memory_limit(0, spill_dir=tmp_path / "missing"):
            pass


def test_hosvd_gives_each_split_mode_a_gram_pass_when_the_data_exceed_the_limit():
    dx = da.from_array(X, chunks=(3, 5, 7, 4, 9))  # modes 0 and 3 split
    with ooc.in_memory_limit(0):
        t = tn.hosvd(dx, eps=1e-3)
    assert t.info["passes"] == tn.hosvd(dx, eps=1e-3).info["passes"] + 1
    assert _rel(t.full(), tn.hosvd(X, eps=1e-3).full()) < 1e-10


#: Run in a fresh interpreter: the streamed decomposition argv[3] (keywords argv[4], JSON) of
#: the Zarr store argv[1] (intermediates above argv[2] bytes on disk, pieces of argv[5] bytes)
#: on 2 threads; prints the peak resident set size above the baseline of the interpreter, its
#: imports and a warm-up call, sampled every 2 ms by a thread.
PEAK_SCRIPT = """
import json, sys, threading, time
import dask, dask.array as da, numpy as np
import tensornet as tn
from tensornet.decompositions import out_of_core
from tensornet.decompositions.out_of_core import in_memory_limit

def rss():
    with open("/proc/self/status") as f:
        return next(int(s.split()[1]) * 1024 for s in f if s.startswith("VmRSS"))

dask.config.set(scheduler="threads", num_workers=2)
x = da.from_zarr(sys.argv[1])
method, kwargs = getattr(tn, sys.argv[3]), json.loads(sys.argv[4])
out_of_core.PIECE_BYTES = int(sys.argv[5])
method(da.from_array(np.ones((4, 4, 4), np.float32), chunks=2), ranks=2)
base = peak = rss()
done = threading.Event()

def sample():
    global peak
    while not done.wait(0.002):
        peak = max(peak, rss())

thread = threading.Thread(target=sample)
thread.start()
with in_memory_limit(int(sys.argv[2])):
    t = method(x, **kwargs)
done.set()
thread.join()
info = {k: t.info[k] for k in ("passes", "remainder_passes", "out_of_core_steps") if k in t.info}
print(json.dumps({"peak": max(peak, rss()) - base, "ranks": list(t.ranks), "info": info}))
"""


def _peak(path, limit: int, method: str, kwargs: dict, piece_bytes: int) -> dict:
    # a fixed mmap threshold: glibc's dynamic one keeps freed slabs in its heap for reuse, so
    # the resident size would count memory the allocator holds besides what the algorithm does
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(sys.path),
        "MALLOC_MMAP_THRESHOLD_": "131072",
    }
    args = [str(path), str(limit), method, json.dumps(kwargs), str(piece_bytes)]
    out = subprocess.run(
        [sys.executable, "-c", PEAK_SCRIPT, *args],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=600,
    )
    return json.loads(out.stdout)


def _store(path, shape: tuple[int, ...]):
    """A float32 Zarr store of ``shape`` in chunks of one index of the first two modes, written
    one index of the first mode at a time."""
    zarr = pytest.importorskip("zarr")
    store = zarr.create_array(
        path, shape=shape, chunks=(1, 1) + shape[2:], dtype="float32", compressors=None
    )
    base = np.random.default_rng(0).random(shape[1:], dtype=np.float32)
    for i in range(shape[0]):
        store[i] = np.roll(base, i)
    return store


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_streamed_hosvd_of_a_128_mb_store_peaks_below_a_quarter_of_its_size(tmp_path):
    # 32^2 x 16^3 x 8 float32 (128 MiB) in 128 kB chunks, slabs of 1/32 of the data, pieces of
    # 1 MiB (the data and the pieces scaled down together); the core (8, 8, 16, 16, 8, 8) is
    # 1/16 of the data, and the blocks are thinner than its ranks along the first two modes,
    # so every block contributes to all of it: one result-sized partial per block would be
    # 1024 of them
    shape = (32, 32, 16, 16, 16, 8)
    _store(tmp_path / "x.zarr", shape)
    size = 4 * int(np.prod(shape))
    ranks = [8, 8, 16, 16, 8, 8]
    result = _peak(tmp_path / "x.zarr", size // 16, "hosvd", {"ranks": ranks}, 1 << 20)
    assert result["ranks"] == ranks
    # a Gram pass for modes 0 and 2-5 (one task per slab along mode 0), one for mode 1, the core
    assert result["info"]["passes"] == 3
    assert result["peak"] < 0.25 * size, result["peak"] / size


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_streamed_tt_svd_of_a_256_mb_store_peaks_below_a_quarter_of_its_size(tmp_path):
    # 16^6 x 4 float32 (256 MiB) stored in 1 MiB chunks (one per index of the first two
    # modes); the remainders (r_1 / n_1 of the data and less) exceed the in-memory limit, so
    # they go to disk. The 2 GB case is in benchmarks/bench_out_of_core.py.
    shape = (16,) * 6 + (4,)
    _store(tmp_path / "x.zarr", shape)
    size = 4 * int(np.prod(shape))
    result = _peak(tmp_path / "x.zarr", size // 16, "tt_svd", {"ranks": 4}, ooc.PIECE_BYTES)
    assert result["ranks"] == [1, 4, 4, 4, 4, 4, 4, 1]
    assert result["info"]["passes"] == 2 and result["info"]["out_of_core_steps"] >= 2
    assert result["peak"] < 0.25 * size, result["peak"] / size


def test_a_pass_on_several_threaded_workers_holds_openblas_at_one_thread():
    """Two Dask worker threads each calling a two-thread OpenBLAS contend for the cores: a pass
    holds it at one thread while it runs and restores it; one worker or the synchronous
    scheduler leave it alone."""
    from tensornet.nn import _parallel

    libs = _parallel._blas_controllers()
    if not libs:
        pytest.skip("no OpenBLAS whose thread count can be set in this process")
    saved = [int(get()) for get, _ in libs]

    def counts(_=None):
        return [int(get()) for get, _ in libs]

    try:
        for _, set_ in libs:
            set_(2)
        task = dask.delayed(counts)(0)
        with dask.config.set(scheduler="threads", num_workers=2):
            assert ooc._Passes().compute(task) == ([1] * len(libs),)
        assert counts() == [2] * len(libs)
        with dask.config.set(scheduler="threads", num_workers=1):
            assert ooc._Passes().compute(task) == ([2] * len(libs),)
        with dask.config.set(scheduler="sync"):
            assert ooc._Passes().compute(task) == ([2] * len(libs),)
    finally:
        for (_, set_), n in zip(libs, saved, strict=True):
            set_(n)
