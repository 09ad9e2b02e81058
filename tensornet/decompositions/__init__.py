"""Decomposition algorithms: one module per family, each returning a format object."""

__all__: list[str] = []
