"""The one exception of the data layer."""

from __future__ import annotations


class DataError(ValueError):
    """The data cannot be used as configured; the message names the key, column and rows."""
