"""The old home of the suite's strategies: a thin re-export of :mod:`tensornet.testing`.

The strategies live in :mod:`tensornet.testing.strategies` (one copy); import them from there.
This module keeps ``from tests.strategies import random_array, seeds, shapes`` working.
"""

from tensornet.testing.strategies import random_array, seeds, shapes

__all__ = ["random_array", "seeds", "shapes"]
