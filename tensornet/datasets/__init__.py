"""tensornet.datasets (see the issue tracker for what lands here)."""
