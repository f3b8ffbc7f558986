"""The one exception of the data layer, and how its messages list what they name."""

from __future__ import annotations

from gdlab.text import listed

__all__ = ["SHOWN_CLASSES", "DataError", "listed"]

SHOWN_CLASSES = 10
"""Classes a message lists by name (a target with hundreds of rare labels gave kilobytes)."""


class DataError(ValueError):
    """The data cannot be used as configured; the message names the key, column and rows."""
