"""Bad-input rows of the streamed (Dask) decompositions, tensornet/decompositions/out_of_core.py.

The names are the public ones (``tucker_hooi`` given a Dask array runs the streamed HOOI); the
rows are empty when the optional ``dask`` extra is not installed.
"""

from __future__ import annotations

import importlib.util

import numpy as np

from . import Row

T, V = TypeError, ValueError
MODULES: list = []
ROWS: list[Row] = []

if importlib.util.find_spec("dask") is not None:
    import dask.array as da

    import tensornet as tn

    _X = np.random.default_rng(0).standard_normal((4, 5, 6))
    _NAN = _X.copy()
    _NAN[1, 2, 3] = np.nan

    def _dx(x: np.ndarray = _X) -> da.Array:
        return da.from_array(x, chunks=(2, 5, 3))

    ROWS += [
        Row("tucker_hooi", "dask non-finite", lambda: tn.tucker_hooi(_dx(_NAN), 2), V, "finite"),
        Row(
            "tucker_hooi",
            "dask non-finite, random start",
            lambda: tn.tucker_hooi(_dx(_NAN), 2, init="random", random_state=0),
            V,
            "finite",
        ),
        Row(
            "tucker_hooi",
            "dask complex",
            lambda: tn.tucker_hooi(da.from_array(_X.astype(complex), chunks=2), 2),
            T,
            "real numbers",
        ),
        Row(
            "tucker_hooi",
            "dask 1-D",
            lambda: tn.tucker_hooi(da.ones(5, chunks=2), 2),
            V,
            "at least 2 dimension",
        ),
        Row(
            "tucker_hooi",
            "dask rank above the mode size",
            lambda: tn.tucker_hooi(_dx(), (2, 6, 2)),
            V,
            r"ranks\[1\]=6 exceeds the size 5",
        ),
        Row(
            "tucker_hooi",
            "dask init of other ranks",
            lambda: tn.tucker_hooi(_dx(), 2, init=tn.hosvd(_X, ranks=3)),
            V,
            "init has ranks",
        ),
        Row(
            "tucker_hooi",
            "dask unknown method",
            lambda: tn.tucker_hooi(_dx(), 2, method="qr"),
            V,
            "method",
        ),
        Row(
            "tucker_hooi",
            "dask n_iter_max 0",
            lambda: tn.tucker_hooi(_dx(), 2, n_iter_max=0),
            V,
            "n_iter_max",
        ),
    ]
