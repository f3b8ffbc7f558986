"""What every source returns: one frame with the target (and sensitive) column, before checks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from gdlab.data.errors import listed


@dataclass
class RawTable:
    """Rows as a source delivered them: features, target and optional sensitive column."""

    frame: pd.DataFrame
    target: str
    source: str
    sensitive: str | None = None
    path: str | None = None
    label_names: dict[Any, Any] | None = None
    """For classification: label value -> name to record in ``meta.json`` (bundled sets)."""
    first_line: int | None = None
    """File line of row 0 (CSV: 2, after the header), to name rows by line too."""
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    """One-line warnings from reading the source (a CSV's row labels left out)."""

    def where(self, rows: Sequence[int], limit: int = 5) -> str:
        """``"rows 3, 17 (file lines 5, 19)"`` for the first ``limit`` of ``rows`` (0-based)."""
        rows = list(rows)
        text = f"row{'s' if len(rows) > 1 else ''} {listed([str(r) for r in rows], limit)}"
        if self.first_line is not None:
            lines = ", ".join(str(r + self.first_line) for r in rows[:limit])
            text += f" (file line{'s' if len(rows) > 1 else ''} {lines})"
        return text
