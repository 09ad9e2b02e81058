"""Artists of a figure by role: the ``gid`` prefixes set by :mod:`tensornet.plot`."""

from __future__ import annotations

import re
from collections import Counter


def roles(fig) -> Counter:
    """How many artists of each role (``node``, ``bond-label``, ...) the figure holds."""
    found: Counter = Counter()
    for ax in fig.axes:
        for artist in [*ax.patches, *ax.lines, *ax.texts]:
            gid = artist.get_gid()
            if gid:
                found[re.sub(r"-\d+$", "", gid)] += 1
    return found


def labels(fig, role: str) -> list[str]:
    """The texts of the labels of one role, in drawing order."""
    pattern = re.compile(rf"{role}-\d+$")
    return [t.get_text() for ax in fig.axes for t in ax.texts if pattern.match(t.get_gid() or "")]


def lines(fig) -> list[str]:
    """The gids of every line of every axes."""
    return [line.get_gid() for ax in fig.axes for line in ax.lines]
