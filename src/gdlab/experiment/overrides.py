"""Apply tuned values (``reports/tuning/best_params.json``) on top of validated params.

The file holds dotted parameter paths, either flat (``{"optimizer.learning_rate": 0.003}``) or
under a ``"params"`` key (``{"params": {...}, "score": ...}``). Values are re-validated by the
params schema, so a tuned value is held to the same rules as one in params.yaml.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def load_overrides(path: str | Path) -> dict[str, Any]:
    """Dotted-path overrides from ``path``; ``{}`` when the file does not exist."""
    path = Path(path)
    if not path.exists():
        return {}
    document = json.loads(path.read_text())
    if not isinstance(document, dict):
        raise ValueError(f"{path}: expected a JSON object of dotted parameter paths")
    overrides = document.get("params", document)
    if not isinstance(overrides, dict):
        raise ValueError(f"{path}: 'params' must be a JSON object")
    return dict(overrides)


def apply_overrides(params: Any, overrides: dict[str, Any]) -> Any:
    """A new params object with each ``"a.b.c": value`` set, validated by the same schema."""
    if not overrides:
        return params
    data = params.model_dump()
    for dotted, value in overrides.items():
        node = data
        *parents, leaf = dotted.split(".")
        for key in parents:
            if not isinstance(node.get(key), dict):
                raise ValueError(f"tuned parameter {dotted!r}: {key!r} is not a section")
            node = node[key]
        if leaf not in node:
            raise ValueError(f"tuned parameter {dotted!r} is not a known parameter")
        node[leaf] = value
    return type(params).model_validate(data)
