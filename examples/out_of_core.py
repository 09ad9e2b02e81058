"""Decompose a tensor stored on disk by streaming passes, as one larger than memory would be.

Run ``python examples/out_of_core.py`` (needs the ``dask`` extra: ``pip install -e ".[dask]"``;
``--cluster`` also runs TT-SVD on a ``distributed.LocalCluster`` of 2 worker processes). It

1. writes a float32 ``16^6`` tensor of TT rank 4 plus noise to a Zarr store one chunk at a time
   (one chunk per index of the first two modes), never holding it whole;
2. decomposes the lazy ``dask.array`` by TT-SVD with an error bound (Oseledets 2011, Alg. 1;
   survey eq. 8): a Gram pass and a projection pass over the data, the remainder written to disk
   because the in-memory limit is set to a sixteenth of the tensor, as for data larger than
   memory; then by HOSVD (De Lathauwer et al. 2000): the Gram passes and the core pass;
3. checks both against the in-memory functions on the same data (the tensor is small enough to
   load here) and the errors against ``eps``;
4. runs the same decomposition from the command line, ``tensornet decompose``, and loads its
   result back.

See ``docs/guide/out-of-core.md`` for the passes each method makes and what stays in memory.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

import tensornet as tn

SHAPE = (16,) * 6
RANK = 4
NOISE = 1e-3
EPS = 1e-2


def write_store(path: Path, random_state: int = 0) -> None:
    """Write a TT-rank-``RANK`` tensor plus relative ``NOISE`` to ``path``, chunk by chunk.

    Parameters
    ----------
    path : Path
        The Zarr store to create.
    random_state : int
        Seed of the cores and the noise.
    """
    import zarr

    rng = np.random.default_rng(random_state)
    ranks = [1] + [RANK] * (len(SHAPE) - 1) + [1]
    cores = [
        rng.standard_normal((ranks[k], n, ranks[k + 1])) / np.sqrt(n) for k, n in enumerate(SHAPE)
    ]
    tail = cores[2]  # the cores from the third on, contracted: (r_2, n_3 ... n_d)
    for core in cores[3:]:
        tail = np.tensordot(tail, core, axes=(-1, 0))
    tail = tail.reshape(RANK, -1)
    store = zarr.create_array(
        str(path), shape=SHAPE, chunks=(1, 1) + SHAPE[2:], dtype="float32", compressors=None
    )
    for i in range(SHAPE[0]):
        for j in range(SHAPE[1]):
            block = (cores[0][0, i] @ cores[1][:, j] @ tail).reshape(SHAPE[2:])
            block += (
                NOISE
                * np.linalg.norm(block)
                / np.sqrt(block.size)
                * rng.standard_normal(block.shape)
            )
            store[i, j] = block.astype(np.float32)


def streamed(store: Path) -> None:
    """TT-SVD and HOSVD of the store by passes, checked against the in-memory functions."""
    import dask.array as da

    from tensornet.decompositions.out_of_core import in_memory_limit

    x = da.from_zarr(str(store))
    with in_memory_limit(x.nbytes // 16):  # as if the tensor were 16 times the memory we allow
        t0 = time.perf_counter()
        tt = tn.tt_svd(x, eps=EPS)
        seconds = time.perf_counter() - t0
    info = tt.info
    print(
        f"tt_svd: ranks {tt.ranks}, {info['passes']} passes over the data, "
        f"{info['remainder_passes']} over the remainder on disk, "
        f"{info['out_of_core_steps']} streamed steps, error {info['rel_error']:.3e} "
        f"({seconds:.2f} s)"
    )
    dense = np.asarray(x, dtype=np.float64)  # small enough here, to check the streamed results
    direct = tn.tt_svd(dense, eps=EPS)
    assert tt.ranks == direct.ranks and info["rel_error"] <= EPS
    # the remainder was kept on disk in float32, the input's dtype: a relative 2^-24 per entry
    gap = np.linalg.norm(tt.full() - direct.full()) / np.linalg.norm(direct.full())
    print(f"        same as in memory to {gap:.1e}")
    assert gap < 1e-5

    tucker = tn.hosvd(x, eps=EPS)
    direct = tn.hosvd(dense, eps=EPS)
    gap = np.linalg.norm(tucker.full() - direct.full()) / np.linalg.norm(direct.full())
    print(
        f"hosvd:  ranks {tucker.ranks}, {tucker.info['passes']} passes, "
        f"error {tucker.info['rel_error']:.3e}, same as in memory to {gap:.1e}"
    )
    assert tucker.info["rel_error"] <= EPS and gap < 1e-10


def on_cluster(store: Path) -> None:
    """The same TT-SVD with the passes' tasks on two worker processes."""
    import dask.array as da
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster:
        with Client(cluster):
            tt = tn.tt_svd(da.from_zarr(str(store)), eps=EPS)
    print(f"tt_svd on a LocalCluster: ranks {tt.ranks}, error {tt.info['rel_error']:.3e}")


def command_line(store: Path, out: Path) -> None:
    """``tensornet decompose`` on the store (its entry point, called here), loaded back."""
    from tensornet.cli import main as tensornet_command

    args = ["decompose", str(store), "--method", "tt", "--eps", str(EPS), "--out", str(out)]
    print("$ tensornet", " ".join(args))
    assert tensornet_command([*args, "--no-progress"]) == 0
    loaded = tn.StructuredTensor.load(out)
    print(f"loaded back: {type(loaded).__name__} with ranks {loaded.ranks}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cluster", action="store_true", help="also run on a LocalCluster")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "tensor.zarr"
        write_store(store)
        print(f"wrote a float32 tensor of shape {SHAPE} ({np.prod(SHAPE) * 4 / 2**20:.0f} MiB)")
        streamed(store)
        if args.cluster:
            on_cluster(store)
        command_line(store, Path(tmp) / "tensor-tt.npz")


if __name__ == "__main__":
    main()
