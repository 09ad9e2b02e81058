"""Data sets and mini-batching: MNIST (IDX files, search path, bundled subset) and DataLoader.

* `load_mnist` finds MNIST in ``root``, ``$TENSORNET_DATA`` or ``~/.cache/tensornet/mnist``,
  downloads it (verified) when possible, and otherwise falls back to a small bundled subset.
* `read_idx` reads any IDX file, gzipped or not, with strict size checks.
* `DataLoader` yields seeded, shuffled mini-batches.
"""

from .loader import DataLoader
from .mnist import (
    DownloadError,
    download_mnist,
    find_mnist,
    load_mnist,
    load_mnist_subset,
    read_idx,
    subset_provenance,
)

__all__ = [
    "DataLoader",
    "DownloadError",
    "download_mnist",
    "find_mnist",
    "load_mnist",
    "load_mnist_subset",
    "read_idx",
    "subset_provenance",
]
