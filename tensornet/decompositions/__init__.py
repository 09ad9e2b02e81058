# ruff: noqa: I001  (imports in the survey's order, not alphabetical)
"""Decomposition algorithms: one module per family, each returning a format object.

Modules are imported in the survey's order (Section II-A), which is also the order in which
``tensornet demo --tour`` lists them.
"""

from .svd import randomized_svd, rank_for_error, truncated_svd
from .cp import CPDegeneracyWarning, cp_als
from .tucker import hosvd, tucker2, tucker_hooi
from .btd import btd_als
from .tt import tt_matrix_svd, tt_svd
from .tr import balanced_split, tr_als, tr_svd
from .ht import ht_max_ranks, ht_svd
from .kron import gkpd, kpd, kron_rearrange
from .stp import st_tucker, stp_split, str_als, stt_svd

__all__ = [
    "randomized_svd",
    "rank_for_error",
    "truncated_svd",
    "CPDegeneracyWarning",
    "cp_als",
    "hosvd",
    "tucker2",
    "tucker_hooi",
    "btd_als",
    "tt_matrix_svd",
    "tt_svd",
    "balanced_split",
    "tr_als",
    "tr_svd",
    "ht_max_ranks",
    "ht_svd",
    "gkpd",
    "kpd",
    "kron_rearrange",
    "st_tucker",
    "stp_split",
    "str_als",
    "stt_svd",
]
