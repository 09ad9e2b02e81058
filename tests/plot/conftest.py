"""The plot tests need matplotlib (the ``plot`` extra); they draw with the Agg backend."""

import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
