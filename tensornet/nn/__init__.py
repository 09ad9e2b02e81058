"""tensornet.nn (see the issue tracker for what lands here)."""
