"""Collection of the package's doctests: modules of optional engines are skipped when the
engine is not installed (``tensornet.decompositions.out_of_core`` needs the ``dask`` extra,
``tensornet.plot`` the ``plot`` extra)."""

import importlib.util

collect_ignore = []
if importlib.util.find_spec("dask") is None:
    collect_ignore.append("tensornet/decompositions/out_of_core.py")
if importlib.util.find_spec("matplotlib") is None:
    collect_ignore.append("tensornet/plot")
