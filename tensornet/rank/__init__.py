"""tensornet.rank (see the issue tracker for what lands here)."""
