"""Golden outputs of every public decomposition on fixed inputs.

Refactors of the decompositions must not change their results: each case below recomputes a
decomposition and compares it with the values recorded in ``golden.npz`` to 1e-12 relative.
A change of result that is intended (a bug fix) regenerates the file with
``python tests/decompositions/test_golden.py --regenerate`` and says why in its commit.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import tensornet as tn
from tensornet.rank import evbmf, select_ranks

GOLDEN = Path(__file__).with_name("golden.npz")
RTOL = 1e-12
#: values that are a minimizer's location, not an algebraic result: a smooth minimum fixes its
#: argument only to about sqrt(machine epsilon) relative, and the bounded Brent search's
#: arithmetic differs between SciPy releases
RTOL_MINIMIZER = {"evbmf/sigma2": 1e-6}


def _tt_data(shape, rank, seed, noise=1e-3):
    rng = np.random.default_rng(seed)
    ranks = [1] + [rank] * (len(shape) - 1) + [1]
    cores = [rng.standard_normal((ranks[k], n, ranks[k + 1])) for k, n in enumerate(shape)]
    x = tn.TTTensor(cores).full()
    return x + noise * np.linalg.norm(x) / np.sqrt(x.size) * rng.standard_normal(shape)


def _cp_data(shape, rank, seed, noise=1e-3):
    rng = np.random.default_rng(seed)
    factors = [rng.standard_normal((n, rank)) for n in shape]
    x = tn.CPTensor(None, factors).full()
    return x + noise * np.linalg.norm(x) / np.sqrt(x.size) * rng.standard_normal(shape)


def _matrix(m, n, seed):
    rng = np.random.default_rng(seed)
    u, _ = np.linalg.qr(rng.standard_normal((m, min(m, n))))
    v, _ = np.linalg.qr(rng.standard_normal((n, min(m, n))))
    s = 2.0 ** -np.arange(min(m, n))
    return (u * s) @ v.T


def _svd_out(usv):
    u, s, vt = usv
    return {"s": s, "full": (u * s) @ vt}


def _fmt(result):
    out = {"full": result.full(), "ranks": np.asarray(result.ranks, dtype=float)}
    return out


def _case_truncated_svd_rank():
    return _svd_out(tn.truncated_svd(_matrix(30, 20, 0), rank=5))


def _case_truncated_svd_eps():
    return _svd_out(tn.truncated_svd(_matrix(30, 20, 1), eps=1e-3))


def _case_randomized_svd():
    return _svd_out(tn.randomized_svd(_matrix(60, 40, 2), rank=6, random_state=3))


def _case_rank_for_error():
    s = 2.0 ** -np.arange(12)
    return {"r": np.array([tn.decompositions.rank_for_error(s, d) for d in (0.0, 1e-3, 0.1, 1.0)])}


def _case_cp_als_svd():
    return _fmt(tn.cp_als(_cp_data((6, 7, 8), 3, 4), 3, n_iter_max=50, random_state=0))


def _case_cp_als_random():
    x = _cp_data((5, 6, 7), 2, 5)
    return _fmt(tn.cp_als(x, 2, n_iter_max=30, init="random", n_restarts=2, random_state=1))


def _case_cp_als_dimtree_4d():
    return _fmt(tn.cp_als(_cp_data((4, 5, 3, 6), 3, 6), 3, n_iter_max=40, random_state=2))


def _case_hosvd_ranks():
    return _fmt(tn.hosvd(_tt_data((6, 7, 8), 3, 7), ranks=(3, 4, 3)))


def _case_hosvd_eps():
    return _fmt(tn.hosvd(_tt_data((6, 7, 8), 3, 8), eps=1e-2))


def _case_tucker_hooi():
    return _fmt(tn.tucker_hooi(_tt_data((6, 7, 8), 3, 9), ranks=(3, 3, 3), n_iter_max=10))


def _case_tucker2():
    kernel = _tt_data((8, 6, 3, 3), 3, 10)
    return _fmt(tn.tucker2(kernel, ranks=(4, 3), n_iter_max=10))


def _case_btd_als():
    x = _cp_data((6, 6, 6), 4, 11)
    return _fmt(tn.btd_als(x, 2, 2, n_iter_max=20, random_state=0))


def _case_tt_svd_ranks():
    return _fmt(tn.tt_svd(_tt_data((4, 5, 6, 5), 3, 12), ranks=3))


def _case_tt_svd_eps():
    return _fmt(tn.tt_svd(_tt_data((4, 5, 6, 5), 3, 13), eps=1e-2))


def _case_tt_round():
    tt = tn.tt_svd(_tt_data((4, 5, 6, 5), 4, 14), eps=1e-12)
    return _fmt(tt.round(eps=1e-2))


def _case_tt_round_ranks():
    tt = tn.tt_svd(_tt_data((4, 5, 6, 5), 4, 15), eps=1e-12)
    return _fmt(tt.round(ranks=2))


def _case_tt_matrix_svd():
    w = _matrix(24, 20, 16)
    return _fmt(tn.tt_matrix_svd(w, (2, 3, 4), (4, 5, 1), ranks=4))


def _case_tr_svd():
    return _fmt(tn.tr_svd(_tt_data((4, 5, 6, 5), 2, 17), eps=1e-2))


def _case_tr_als():
    return _fmt(tn.tr_als(_tt_data((4, 5, 6), 2, 18), 2, n_iter_max=20, random_state=0))


def _case_ht_svd():
    return _fmt(tn.ht_svd(_tt_data((4, 5, 6, 5), 3, 19), eps=1e-2))


def _case_ht_svd_ranks():
    return _fmt(tn.ht_svd(_tt_data((4, 5, 6, 5), 3, 20), ranks=3))


def _case_kpd():
    return _fmt(tn.kpd(_matrix(12, 20, 21), (3, 4), (4, 5), rank=3))


def _case_gkpd():
    return _fmt(tn.gkpd(_tt_data((4, 6, 4, 6), 3, 22), (2, 3, 2, 2), rank=2))


def _case_st_tucker():
    return _fmt(tn.st_tucker(_tt_data((4, 8, 6), 2, 23), ranks=2, t=2))


def _case_stt_svd():
    return _fmt(tn.stt_svd(_tt_data((4, 8, 6, 4), 2, 24), ranks=2, t=2))


def _case_str_als():
    x = _tt_data((4, 8, 6), 2, 25)
    return _fmt(tn.str_als(x, 2, t=2, n_iter_max=10, random_state=0))


def _case_evbmf():
    rng = np.random.default_rng(26)
    m = _matrix(40, 30, 26) * 10 + 0.01 * rng.standard_normal((40, 30))
    res = evbmf(m)
    return {"rank": np.array([res.rank], dtype=float), "sigma2": np.array([res.sigma2])}


def _case_select_ranks():
    return {"ranks": np.array(select_ranks(_tt_data((6, 7, 8), 3, 27), "energy", 0.999))}


CASES = {name[6:]: fun for name, fun in sorted(globals().items()) if name.startswith("_case_")}


def _compute_all() -> dict[str, np.ndarray]:
    out = {}
    for name, fun in CASES.items():
        for key, value in fun().items():
            out[f"{name}/{key}"] = np.asarray(value, dtype=float)
    return out


@pytest.mark.parametrize("name", sorted(CASES))
def test_decomposition_matches_golden_output(name):
    golden = np.load(GOLDEN, allow_pickle=False)
    got = CASES[name]()
    keys = sorted(k for k in golden.files if k.split("/")[0] == name)
    assert keys, f"no golden values recorded for {name}"
    assert sorted(f"{name}/{k}" for k in got) == keys
    for key, value in got.items():
        want = golden[f"{name}/{key}"]
        value = np.asarray(value, dtype=float)
        assert value.shape == want.shape, (key, value.shape, want.shape)
        scale = max(float(np.linalg.norm(want)), np.finfo(float).tiny)
        err = float(np.linalg.norm(value - want)) / scale
        rtol = RTOL_MINIMIZER.get(f"{name}/{key}", RTOL)
        assert err <= rtol, f"{name}/{key}: relative change {err:.3e} > {rtol}"


if __name__ == "__main__" and "--regenerate" in sys.argv:
    np.savez(GOLDEN, **_compute_all())
    print(f"wrote {GOLDEN} with {len(CASES)} cases")
