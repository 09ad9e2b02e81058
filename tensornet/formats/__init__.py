"""Structured tensor formats: one module per format, all subclasses of StructuredTensor."""

from .base import DEFAULT_MAX_ELEMENTS, StructuredTensor, format_class

__all__ = ["DEFAULT_MAX_ELEMENTS", "StructuredTensor", "format_class"]
