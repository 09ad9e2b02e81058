"""Rank selection: analytic EVBMF and energy thresholds, and per-layer ranks under a budget."""

from .budget import (
    Budget,
    RankProfile,
    evbmf_ranks,
    largest_fraction,
    minimax_eps,
    rank_profile,
)
from .evbmf import EVBMFResult, evbmf
from .select import energy_rank, select_ranks

__all__ = [
    "EVBMFResult",
    "energy_rank",
    "evbmf",
    "select_ranks",
    "Budget",
    "RankProfile",
    "rank_profile",
    "evbmf_ranks",
    "minimax_eps",
    "largest_fraction",
]
