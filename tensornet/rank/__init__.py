"""Rank selection: analytic EVBMF and energy thresholds, per matrix or per tensor mode."""

from .evbmf import EVBMFResult, evbmf
from .select import energy_rank, select_ranks

__all__ = ["EVBMFResult", "energy_rank", "evbmf", "select_ranks"]
