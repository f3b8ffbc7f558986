"""What every source returns: one frame with the target (and sensitive) column, before checks."""

from __future__ import annotations

from collections.abc import Callable, Sequence
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
    """File line of row 0 (CSV: 2, after the header), to name rows by line too, when
    ``row_lines`` does not say."""
    row_lines: Callable[[], Sequence[int]] | None = None
    """The file line each row starts on (a CSV: blank lines and quoted line breaks counted),
    computed when a message first names a row."""
    written: Callable[[Sequence[str], int], pd.DataFrame] | None = None
    """``written(names, n)``: the first ``n`` rows of the named columns as the file wrote them
    (a CSV's text: ``+447700900123`` and ``07700900123``, which pandas reads as whole numbers),
    for the personal-data scan; None when the source holds no text behind its numbers."""
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    """One-line warnings from reading the source (a CSV's row labels left out)."""

    def where(self, rows: Sequence[int], limit: int = 5) -> str:
        """``"rows 3, 17 (file lines 5, 19)"`` for the first ``limit`` of ``rows`` (0-based)."""
        rows = list(rows)
        text = f"row{'s' if len(rows) > 1 else ''} {listed([str(r) for r in rows], limit)}"
        lines = self._file_lines(rows[:limit])
        if lines is not None:
            text += f" (file line{'s' if len(rows) > 1 else ''} {', '.join(map(str, lines))})"
        return text

    def _file_lines(self, rows: Sequence[int]) -> list[int] | None:
        if self.row_lines is not None:
            starts = self.row_lines()
            if len(starts) == len(self.frame):  # the csv module split the rows as pandas did
                return [starts[r] for r in rows]
        if self.first_line is None:
            return None
        return [r + self.first_line for r in rows]
