"""The documented defaults of the iterative decompositions, observed through ``info``.

With ``tol=0`` a run stops only at ``n_iter_max``, so ``info["n_iter"]`` shows the default
sweep count; ``info["restart_errors"]`` shows the default number of starts.
"""

import numpy as np
import pytest

import tensornet as tn

X = np.random.default_rng(41).standard_normal((3, 4, 4))

#: name -> (call with tol=0 and every other option at its default, documented n_iter_max)
ITERATIVE = {
    "cp_als": (lambda x: tn.cp_als(x, 2, tol=0, random_state=0), 200),
    "tr_als": (lambda x: tn.tr_als(x, 2, tol=0, random_state=0), 100),
    "btd_als": (lambda x: tn.btd_als(x, 2, 1, tol=0, random_state=0), 100),
    "tucker_hooi": (lambda x: tn.tucker_hooi(x, 2, tol=0), 100),
    "tucker2": (lambda x: tn.tucker2(x.reshape(3, 4, 2, 2), 2, tol=0), 100),
    "str_als": (lambda x: tn.str_als(x.reshape(4, 4, 3), 2, t=2, tol=0, random_state=0), 100),
}


@pytest.mark.parametrize("name", sorted(ITERATIVE))
def test_default_n_iter_max_and_restarts_are_the_documented_ones(name):
    call, n_iter_max = ITERATIVE[name]
    out = call(X)
    assert out.info["n_iter"] == n_iter_max
    assert out.info["converged"] is False
    if "restart_errors" in out.info:
        assert len(out.info["restart_errors"]) == 1


def test_stt_svd_needs_t_to_divide_the_first_mode_only():
    x = np.random.default_rng(42).standard_normal((6, 4, 5))
    out = tn.stt_svd(x, t=3)  # 3 divides I_1 = 6, not the other modes
    assert out.relative_error(x) < 1e-12
    with pytest.raises(ValueError, match="t=3 does not divide the first mode size I_1=4"):
        tn.stt_svd(np.random.default_rng(43).standard_normal((4, 6, 6)), t=3)
