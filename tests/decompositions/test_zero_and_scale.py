"""Every public decomposition on an all-zero tensor and on ``1e-3 * x``.

* All-zero input: exact zeros out (finite factors, ``full() == 0`` exactly, ``rel_error = 0``,
  the smallest ranks wherever ``eps`` chooses them), or the documented ``ValueError`` for the
  ALS fits whose relative error is undefined (``cp_als``, ``btd_als``).
* ``1e-3 * x`` (a moderate scale, which the power-of-two prescale of
  ``_validation.scale_equivariant`` leaves alone, so the algorithms themselves must be scale
  invariant): the same ranks, the reconstruction scaled by ``1e-3``, the same ``rel_error``,
  and every absolute ``info`` entry scaled by ``1e-3``.
"""

import warnings

import numpy as np
import pytest

import tensornet as tn

RNG = np.random.default_rng(7)
X3 = RNG.standard_normal((4, 5, 6))
X446 = RNG.standard_normal((4, 4, 6))
X4 = RNG.standard_normal((5, 4, 3, 3))
M = RNG.standard_normal((12, 10))
BIG = RNG.standard_normal((40, 30, 30))  # the randomized TT step needs > 2**16 entries

#: name -> (input, call, ranks chosen by ``eps`` alone: all 1 on zeros)
CASES = {
    "tt_svd": (X3, lambda x: tn.tt_svd(x), True),
    "tt_svd_ranks": (X3, lambda x: tn.tt_svd(x, ranks=2), False),
    "tt_svd_eps": (X3, lambda x: tn.tt_svd(x, eps=0.4), True),
    "tt_svd_randomized": (
        BIG,
        lambda x: tn.tt_svd(x, ranks=3, method="randomized", random_state=0),
        False,
    ),
    "tt_matrix_svd": (X446.reshape(16, 6), lambda w: tn.tt_matrix_svd(w, (4, 4), (2, 3)), True),
    "tr_svd": (X3, lambda x: tn.tr_svd(x), True),
    "tr_svd_ranks": (X3, lambda x: tn.tr_svd(x, ranks=2), False),
    "tr_svd_eps": (X3, lambda x: tn.tr_svd(x, eps=0.4), True),
    "hosvd_ranks": (X3, lambda x: tn.hosvd(x, ranks=2), False),
    "hosvd_eps": (X3, lambda x: tn.hosvd(x, eps=0.4), True),
    "hosvd_eps0": (X3, lambda x: tn.hosvd(x, eps=0.0), True),
    "tucker_hooi": (X3, lambda x: tn.tucker_hooi(x, (2, 3, 2), n_iter_max=5), False),
    "tucker2": (X4, lambda x: tn.tucker2(x, (3, 2), n_iter_max=5), False),
    "ht_svd": (X3, lambda x: tn.ht_svd(x, eps=0.0), True),
    "ht_svd_ranks": (X3, lambda x: tn.ht_svd(x, ranks=2), False),
    "ht_svd_eps": (X3, lambda x: tn.ht_svd(x, eps=0.4), True),
    "gkpd": (X446, lambda x: tn.gkpd(x, (2, 2, 3), rank=2), False),
    "gkpd_eps": (X446, lambda x: tn.gkpd(x, (2, 2, 3), rank=None, eps=0.4), True),
    "kpd": (M, lambda m: tn.kpd(m, (3, 2), rank=2), False),
    "tr_als": (X3, lambda x: tn.tr_als(x, 2, n_iter_max=5, random_state=0), False),
    "str_als": (X446, lambda x: tn.str_als(x, 2, t=2, n_iter_max=5, random_state=0), False),
    "stt_svd": (X446, lambda x: tn.stt_svd(x, ranks=2, t=2), False),
    "stt_svd_eps": (X446, lambda x: tn.stt_svd(x, eps=0.4, t=2), True),
    "st_tucker": (X446, lambda x: tn.st_tucker(x, 2, t=2), False),
    "st_tucker_hooi": (X446, lambda x: tn.st_tucker(x, 2, t=2, method="hooi", n_iter_max=3), False),
}
REFUSE_ZEROS = {
    "cp_als": (X3, lambda x: tn.cp_als(x, 2, random_state=0)),
    "btd_als": (X3, lambda x: tn.btd_als(x, 2, 1, random_state=0)),
}


def _arrays(obj):
    return [a for a in obj._arrays() if isinstance(a, np.ndarray)]


@pytest.mark.parametrize("name", sorted(CASES))
def test_all_zero_tensor_gives_exact_zeros_finite_factors_and_zero_rel_error(name):
    x, f, eps_ranks = CASES[name]
    out = f(np.zeros_like(x))
    assert all(np.all(np.isfinite(a)) for a in _arrays(out))
    full = out.full()
    assert full.shape == x.shape
    assert not np.any(full)
    assert out.info["rel_error"] == 0.0
    for key in ("error", "norm"):
        if key in out.info:
            assert out.info[key] == 0.0
    if eps_ranks:
        inner = out.ranks[1:-1] if name.startswith(("tt", "tr")) else out.ranks
        if name.startswith("ht"):
            inner = out.ranks[1:]
        if name.startswith("stt"):
            inner = out.info["tt_ranks"]
        assert set(inner) == {1}, out.ranks


@pytest.mark.parametrize("name", sorted(REFUSE_ZEROS))
def test_als_fit_of_an_all_zero_tensor_is_refused_naming_the_zeros(name):
    x, f = REFUSE_ZEROS[name]
    with pytest.raises(ValueError, match="all zeros"):
        f(np.zeros_like(x))


@pytest.mark.parametrize("svd", ["truncated", "truncated_eps", "randomized"])
def test_svd_of_a_zero_matrix_has_zero_singular_values_and_orthonormal_factors(svd):
    z = np.zeros((40, 30))
    if svd == "truncated":
        u, s, vt = tn.truncated_svd(z, rank=3)
    elif svd == "truncated_eps":
        u, s, vt = tn.truncated_svd(z, eps=0.1)
        assert s.shape == (1,)  # documented: a zero matrix gives rank 1
    else:
        u, s, vt = tn.randomized_svd(z, 3, random_state=0)
    assert not np.any(s)
    np.testing.assert_allclose(u.T @ u, np.eye(len(s)), atol=1e-12)
    np.testing.assert_allclose(vt @ vt.T, np.eye(len(s)), atol=1e-12)


# ---------------------------------------------------------------------------- 1e-3 * x
SCALED = dict(CASES)
SCALED.update(
    {
        "cp_als": (X3, lambda x: tn.cp_als(x, 2, n_iter_max=10, random_state=0), False),
        "cp_als_quantized": (
            X3,
            lambda x: tn.cp_als(x, 2, n_iter_max=5, quantize=6, random_state=0),
            False,
        ),
        "btd_als": (X3, lambda x: tn.btd_als(x, 2, 1, n_iter_max=5, random_state=0), False),
        "hosvd": (X3, lambda x: tn.hosvd(x), False),
        "ht_svd_node_ranks": (X3, lambda x: tn.ht_svd(x, ranks=[3, 4, 2, 3]), False),
    }
)
#: ``info`` entries in the data's units
ABSOLUTE = ("norm", "error", "step_errors", "singular_values", "delta")


def _run(f, x):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return f(x)


@pytest.mark.parametrize("name", sorted(SCALED))
def test_decomposition_of_1e_minus_3_x_has_the_same_ranks_and_rel_error_and_scaled_factors(name):
    x, f, _ = SCALED[name]
    base, small = _run(f, x), _run(f, 1e-3 * x)
    assert small.ranks == base.ranks
    ref = base.full()
    np.testing.assert_allclose(small.full() / 1e-3, ref, rtol=0, atol=1e-8 * np.abs(ref).max())
    assert small.info["rel_error"] == pytest.approx(base.info["rel_error"], rel=1e-7, abs=1e-14)
    for key in ("n_iter", "converged", "ranks", "tt_ranks", "tr_ranks", "split_ranks", "max_rank"):
        if key in base.info:
            assert small.info[key] == base.info[key]
    for key in ABSOLUTE:
        if key not in base.info or base.info[key] is None:
            continue
        want, got = base.info[key], small.info[key]
        if isinstance(want, list) and want and isinstance(want[0], np.ndarray):  # HOSVD spectra
            for w, g in zip(want, got, strict=True):
                np.testing.assert_allclose(g / 1e-3, w, rtol=1e-9, atol=1e-12 * w.max())
        else:
            np.testing.assert_allclose(np.asarray(got) / 1e-3, want, rtol=1e-7, atol=1e-13)
    if "weight_ratio" in base.info:
        assert small.info["weight_ratio"] == pytest.approx(base.info["weight_ratio"], rel=1e-7)
