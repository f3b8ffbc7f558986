"""The one exception of the data layer, and how its messages list what they name."""

from __future__ import annotations

from collections.abc import Sequence

SHOWN_CLASSES = 10
"""Classes a message lists by name (a target with hundreds of rare labels gave kilobytes)."""


def listed(parts: Sequence[str], limit: int) -> str:
    """``"a, b, c and 7 more"``: the first ``limit`` of ``parts``, then how many are left."""
    more = f" and {len(parts) - limit} more" if len(parts) > limit else ""
    return ", ".join(parts[:limit]) + more


class DataError(ValueError):
    """The data cannot be used as configured; the message names the key, column and rows."""
