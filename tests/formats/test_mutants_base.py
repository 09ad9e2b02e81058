"""Mutation-found gaps of ``tensornet.formats.base``: long values in messages are cut."""

from tensornet.formats.base import _short


def test_a_value_longer_than_60_characters_is_cut_to_57_and_an_ellipsis():
    assert _short("a" * 10) == repr("a" * 10)
    long = list(range(100))
    assert _short(long) == repr(long)[:57] + "..." and len(_short(long)) == 60
    edge = "b" * 58  # repr adds two quotes: exactly 60 characters, kept whole
    assert _short(edge) == repr(edge)
