"""verify() passes on every tensornet method of each kind and fails, with a small shrunk
counterexample, on three deliberately broken implementations."""

import math

import numpy as np
import pytest

import tensornet as tn
from tensornet.formats import KronTensor, TTTensor, TuckerTensor
from tensornet.testing import KINDS, VerifyReport, verify

#: Few examples per property: the battery of each kind runs in well under a second.
FEW = 4
#: Enough examples for the broken variants to fail; the cost is in shrinking.
BROKEN = 12

TENSORNET = {
    "tt_svd": tn.tt_svd,
    "hosvd": tn.hosvd,
    "tr_svd": tn.tr_svd,
    "ht_svd": tn.ht_svd,
    "cp_als": tn.cp_als,
    "kpd": tn.kpd,
    "truncated_svd": tn.truncated_svd,
}


def _tail_rank(s, delta):
    """Smallest r with ||s[r:]|| <= delta (at least 1)."""
    tails = np.sqrt(np.cumsum(s[::-1] ** 2))[::-1]
    return max(1, int(np.sum(tails > delta)))


def tt_svd_whole_budget_per_step(x, eps=0.0):
    """Broken TT-SVD: every step may discard eps ||X||, not eps ||X|| / sqrt(d - 1)."""
    delta = eps * np.linalg.norm(x)
    cores, c, r = [], x, 1
    for n in x.shape[:-1]:
        u, s, vt = np.linalg.svd(c.reshape(r * n, -1), full_matrices=False)
        k = _tail_rank(s, delta)
        cores.append(u[:, :k].reshape(r, n, k))
        c, r = s[:k, None] * vt[:k], k
    cores.append(c.reshape(r, x.shape[-1], 1))
    return TTTensor(cores)


def hosvd_whole_budget_per_mode(x, ranks=None, eps=None):
    """Broken HOSVD: every mode may discard eps ||X||, not eps ||X|| / sqrt(d)."""
    delta = (eps or 0.0) * np.linalg.norm(x)
    factors = []
    for n in range(x.ndim):
        u, s, _ = np.linalg.svd(tn.unfold(x, n), full_matrices=False)
        k = _tail_rank(s, delta)
        cap = ranks if ranks is None or isinstance(ranks, int) else ranks[n]
        factors.append(u[:, : k if cap is None else min(k, cap)])
    core = tn.multi_mode_dot(x, [f.T for f in factors])
    return TuckerTensor(core, factors)


def kpd_plain_reshape(m, a_shape, b_shape=None, rank=1):
    """Broken KPD: a plain reshape instead of the block rearrangement of Van Loan-Pitsianis."""
    (m1, n1), (m2, n2) = a_shape, b_shape
    u, s, vt = np.linalg.svd(m.reshape(m1 * n1, m2 * n2), full_matrices=False)
    root = np.sqrt(s[:rank])
    a = (u[:, :rank] * root).T.reshape(rank, m1, n1)
    b = (vt[:rank] * root[:, None]).reshape(rank, m2, n2)
    return KronTensor(a, b)


CASES = [(kind, TENSORNET[kind]) for kind in sorted(KINDS)] + [("kpd", tn.gkpd)]


@pytest.mark.parametrize(("kind", "method"), CASES, ids=[f"{k}-{m.__name__}" for k, m in CASES])
def test_every_tensornet_method_passes_its_battery(kind, method):
    report = verify(method, kind, max_examples=FEW, verbose=False)
    assert isinstance(report, VerifyReport)
    assert report.passed, str(report)
    assert all(r.status == "passed" for r in report.results), str(report)


def test_broken_tt_svd_fails_the_eps_bound_with_a_small_counterexample():
    report = verify(tt_svd_whole_budget_per_step, "tt_svd", max_examples=BROKEN, verbose=False)
    assert not report.passed
    (failure,) = report.failures
    assert failure.name == "eps_bound"
    assert "eps bound violated" in failure.message
    shape, eps = failure.counterexample["shape"], failure.counterexample["eps"]
    assert len(shape) >= 3  # one step (d = 2) cannot exceed the budget
    assert math.prod(shape) <= 64 and 0 < eps < 1
    # the recorded inputs reproduce the failure
    x = failure.inputs["x"]
    err = np.linalg.norm(x - tt_svd_whole_budget_per_step(x, eps=eps).full())
    assert err > eps * np.linalg.norm(x)
    # the function takes no ranks: those properties are skipped, not failed
    skipped = {r.name for r in report.results if r.status == "skipped"}
    assert {"ranks_at_most_cap", "quasi_optimal"} <= skipped


def test_broken_hosvd_fails_the_eps_bound():
    report = verify(hosvd_whole_budget_per_mode, "hosvd", max_examples=BROKEN, verbose=False)
    assert [r.name for r in report.failures] == ["eps_bound"]
    shape = report.failures[0].counterexample["shape"]
    assert len(shape) >= 2 and math.prod(shape) <= 64


def test_broken_kpd_fails_eckart_young_and_recovery():
    report = verify(kpd_plain_reshape, "kpd", max_examples=BROKEN, verbose=False)
    failed = {r.name for r in report.failures}
    assert {"eckart_young", "recovers_exact_low_rank"} <= failed
    ey = next(r for r in report.failures if r.name == "eckart_young")
    a, b = ey.counterexample["a_shape"], ey.counterexample["b_shape"]
    assert math.prod(a) * math.prod(b) <= 16
    assert "not optimal" in ey.message or "Kronecker rank" in ey.message


def test_report_prints_the_counterexample_and_assert_passed_raises(capsys):
    report = verify(
        tt_svd_whole_budget_per_step, "tt_svd", max_examples=BROKEN, properties=["eps_bound"]
    )
    out = capsys.readouterr().out
    assert "0 passed, 1 failed, 0 skipped" in out and "counterexample: shape=" in out
    with pytest.raises(AssertionError, match="FAILED  eps_bound"):
        report.assert_passed()


def test_a_method_that_raises_is_reported_with_the_exception():
    def crashes(x, ranks=None, eps=None):
        raise ZeroDivisionError("boom")

    report = verify(crashes, "tt_svd", max_examples=2, properties=["eps_bound"], verbose=False)
    assert report.failures[0].message == "ZeroDivisionError: boom"
