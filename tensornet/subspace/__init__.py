"""tensornet.subspace (see the issue tracker for what lands here)."""
