"""The decomposition tour (tensornet/demo.py): its table, its shape-adapted arguments, its rows."""

import numpy as np
import pytest

import tensornet.decompositions as dec
from tensornet.demo import TOUR, TourSkip, format_table, run_tour, synthetic_low_rank

_BY_NAME = {entry.name: entry for entry in TOUR}


def test_every_entry_is_the_public_decomposition_of_its_name():
    assert len(_BY_NAME) == len(TOUR)
    for entry in TOUR:
        assert entry.func is getattr(dec, entry.name)
        assert entry.description


# The arguments the tour used on its default 16^4 rank-3 tensor before the table moved here.
DEFAULT_ARGUMENTS = {
    "cp_als": {"rank": 3, "n_restarts": 2},
    "btd_als": {"n_terms": 3, "term_ranks": 1, "n_iter_max": 50},
    "tt_svd": {"ranks": 3},
    "tr_svd": {"eps": 1e-3},
    "tr_als": {"ranks": 3, "n_iter_max": 30},
    "ht_svd": {"ranks": 3},
    "gkpd": {"a_shape": (4, 4, 4, 4), "rank": 3},
    "st_tucker": {"ranks": (12, 12, 12, 12), "t": 2},
    "stt_svd": {"ranks": 6, "t": 2},
    "str_als": {"ranks": 6, "t": 2, "n_iter_max": 10},
    "hosvd": {"ranks": (3, 3, 3, 3)},
    "tucker_hooi": {"ranks": (3, 3, 3, 3)},
}


@pytest.mark.parametrize("name", sorted(DEFAULT_ARGUMENTS))
def test_default_tour_arguments_are_unchanged(name):
    assert _BY_NAME[name].arguments((16, 16, 16, 16), 3) == DEFAULT_ARGUMENTS[name]


@pytest.mark.parametrize(
    "name, shape, rank, expected",
    [
        ("gkpd", (6, 6, 6), 3, {"a_shape": (2, 2, 2), "rank": 3}),
        ("gkpd", (2, 9), 5, {"a_shape": (1, 3), "rank": 3}),
        ("st_tucker", (6, 6, 6), 3, {"ranks": (6, 6, 6), "t": 2}),
        ("st_tucker", (9, 15), 1, {"ranks": (3, 3), "t": 3}),
        ("stt_svd", (9, 4), 2, {"ranks": 6, "t": 3}),
    ],
)
def test_arguments_adapt_to_the_shape(name, shape, rank, expected):
    assert _BY_NAME[name].arguments(shape, rank) == expected


@pytest.mark.parametrize(
    "name, shape, note",
    [
        ("gkpd", (5, 7), "no mode size of (5, 7) splits into two factors >= 2"),
        ("st_tucker", (4, 6, 9), "no factor t >= 2 divides every mode size of (4, 6, 9)"),
        ("stt_svd", (1, 4), "a factor t >= 2 of I_1; shape (1, 4)"),
    ],
)
def test_unsuitable_shape_skips_with_a_note(name, shape, note):
    with pytest.raises(TourSkip, match=note.replace("(", r"\(").replace(")", r"\)")):
        _BY_NAME[name].arguments(shape, 2)


def test_run_tour_rows_report_the_achieved_error_and_skips():
    x = synthetic_low_rank((5, 7), rank=2, noise=0.0, random_state=0)
    rows = {r["method"]: r for r in run_tour(x, rank=2, random_state=0)}
    assert set(rows) == set(_BY_NAME)
    assert "skipped" in rows["gkpd"] and "skipped" in rows["st_tucker"]
    assert rows["tt_svd"]["rel_error"] < 1e-12 and rows["tt_svd"]["ranks"] == (1, 2, 1)
    table = format_table(list(rows.values()))
    assert "skipped: no mode size of (5, 7)" in table and "FAILED" not in table


def test_failing_method_becomes_a_failed_row_and_the_tour_goes_on():
    x = synthetic_low_rank((4, 4), rank=2, random_state=0)
    x[0, 0] = np.nan
    rows = run_tour(x, rank=2)
    assert len(rows) == len(TOUR) and all("error" in r or "skipped" in r for r in rows)
    assert "FAILED: ValueError" in format_table(rows)


def test_synthetic_tensor_has_the_requested_relative_noise():
    clean = synthetic_low_rank((6, 7, 8), rank=2, noise=0.0, random_state=3)
    noisy = synthetic_low_rank((6, 7, 8), rank=2, noise=0.1, random_state=3)
    assert np.linalg.norm(noisy - clean) == pytest.approx(0.1 * np.linalg.norm(clean))
