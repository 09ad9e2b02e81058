"""tensornet.compress (see the issue tracker for what lands here)."""
