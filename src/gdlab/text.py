"""How a message lists what it names: the first few, then how many are left."""

from __future__ import annotations

from collections.abc import Sequence


def listed(parts: Sequence[str], limit: int, sep: str = ", ") -> str:
    """The first ``limit`` of ``parts`` joined by ``sep``, then "and k more" (``"a, b, c and 7
    more"``; after any other separator, ``"a; b; and 7 more"``)."""
    text = sep.join(parts[:limit])
    if len(parts) > limit:
        text += (" " if sep == ", " else sep) + f"and {len(parts) - limit} more"
    return text
