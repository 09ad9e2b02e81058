"""Decomposition algorithms: one module per family, each returning a format object."""

from .svd import get_svd, randomized_svd, rank_for_error, truncated_svd

__all__: list[str] = ["get_svd", "randomized_svd", "rank_for_error", "truncated_svd"]

from .ht import ht_max_ranks, ht_svd  # noqa: E402
from .kron import gkpd, kpd, kron_rearrange  # noqa: E402
from .stp import st_tucker, stp_split, str_als, stt_svd  # noqa: E402

__all__ += ["gkpd", "ht_max_ranks", "ht_svd", "kpd", "kron_rearrange"]
__all__ += ["st_tucker", "stp_split", "str_als", "stt_svd"]

from .tr import balanced_split, tr_als, tr_svd  # noqa: E402
from .tt import tt_matrix_svd, tt_svd  # noqa: E402

__all__ += ["balanced_split", "tr_als", "tr_svd", "tt_matrix_svd", "tt_svd"]

from .btd import btd_als  # noqa: E402
from .cp import CPDegeneracyWarning, cp_als  # noqa: E402
from .tucker import hosvd, tucker2, tucker_hooi  # noqa: E402

__all__ += ["CPDegeneracyWarning", "btd_als", "cp_als", "hosvd", "tucker2", "tucker_hooi"]
