"""JSON documents DVC can read (sorted keys, non-finite numbers as null), written atomically
(:mod:`gdlab.atomic`)."""

from __future__ import annotations

import json
import math
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


def write_json(path: str | Path, document: Any) -> Path:
    """Write ``document`` to ``path`` (parents created) atomically (:mod:`gdlab.atomic`)."""
    text = json.dumps(finite(document), indent=2, sort_keys=True, allow_nan=False) + "\n"
    return write_text_atomic(path, text)


def read_json(path: str | Path) -> Any:
    return json.loads(Path(path).read_text())
