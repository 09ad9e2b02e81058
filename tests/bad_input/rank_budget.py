"""Bad-input rows of ``tensornet.rank.budget`` beyond the main table: eps, rho, ranks, tol."""

import numpy as np

from tensornet.rank import budget

from . import Row

V, T = ValueError, TypeError
_W = np.arange(12.0).reshape(3, 4) + np.eye(3, 4)


def _profile():
    return budget.rank_profile(_W, "svd")


ROWS = [
    Row("RankProfile", "negative", lambda: _profile().ranks_for_eps(-0.1), V, "eps=-0.1 must be"),
    Row("RankProfile", "nan", lambda: _profile().ranks_for_eps(float("nan")), V, "eps=nan"),
    Row("RankProfile", "type", lambda: _profile().ranks_for_eps("a"), T, "eps must be a real"),
    Row("RankProfile", "fraction", lambda: _profile().ranks_for_fraction(2.0), V, "rho=2.0"),
    Row("RankProfile", "rank", lambda: _profile().error_bound((0,)), V, r"ranks\[0\]=0"),
    Row("RankProfile", "length", lambda: _profile().n_params((1, 2)), V, "one rank per"),
    Row("RankProfile", "shape", lambda: _profile().flops((1,), (0, 3)), V, r"input_shape\[0\]"),
    Row(
        "rank_profile", "stride", lambda: budget.rank_profile(_W, "svd", stride=(0, 1)), V, "stride"
    ),
    Row("minimax_eps", "tol", lambda: budget.minimax_eps([len], 3, tol=0.0), V, "tol=0.0"),
    Row("minimax_eps", "nan", lambda: budget.minimax_eps([len], 3, eps_max=np.nan), V, "eps_max"),
    Row("minimax_eps", "callable", lambda: budget.minimax_eps([1], 3), T, r"costs\[0\]"),
    Row("largest_fraction", "tol", lambda: budget.largest_fraction([len], 3, tol=-1), V, "tol=-1"),
    Row("Budget", "shape", lambda: budget.Budget(9, "flops", (0, 1)), V, "input_shape"),
]
MODULES = [budget]
