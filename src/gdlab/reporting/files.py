"""JSON documents DVC can read (sorted keys, non-finite numbers as null) and one-line SVG
notices standing in for figures a disabled stage did not draw, written atomically
(:mod:`gdlab.atomic`)."""

from __future__ import annotations

import json
import math
from html import escape
from pathlib import Path
from typing import Any

from gdlab.atomic import write_text_atomic


def finite(value: Any) -> Any:
    """``value`` with NaN/inf floats (also nested in dicts and lists) replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalar
        return finite(value.item())
    return value


def write_json(path: str | Path, document: Any, sort_keys: bool = True) -> Path:
    """Write ``document`` to ``path`` (parents created) atomically (:mod:`gdlab.atomic`), its
    keys sorted unless ``sort_keys`` is false (the order DVC shows a metrics file's columns)."""
    text = json.dumps(finite(document), indent=2, sort_keys=sort_keys, allow_nan=False) + "\n"
    return write_text_atomic(path, text)


def read_json(path: str | Path) -> Any:
    return json.loads(Path(path).read_text())


def write_notice_svg(path: str | Path, message: str) -> Path:
    """An SVG image of the one line ``message`` at ``path`` (parents created), for an output
    directory a disabled stage leaves without figures or curves, so that it is not empty: DVC
    renders an SVG in a ``plots:`` directory as an image, where a ``.gitkeep`` fails to load
    and a header-only CSV is an empty chart."""
    width = 20 + 9 * len(message)  # ~9 px per character of 16 px sans-serif
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="60">'
        '<text x="10" y="35" font-family="sans-serif" font-size="16">'
        f"{escape(message, quote=False)}</text></svg>\n"
    )
    return write_text_atomic(path, svg)
