"""Dotted overrides applied to a params mapping: the one rule a tuning trial, a compare variant
and the check of a search space all build their parameters with.

``{"optimizer.name": "sgd", "optimizer.params.momentum": 0.9}`` sets those keys; changing
``optimizer.name`` or ``schedule.name`` to another name without giving the whole ``params``
mapping starts its params from ``{}`` (the old optimiser's parameters would not fit the new
one), while the same name keeps params.yaml's.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

NAMED_SECTIONS = ("optimizer", "schedule")
"""Sections whose ``params`` belong to their ``name``."""


def apply_overrides(data: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of the params mapping ``data`` with the dotted ``overrides`` set (see the
    module's docstring); the result is not validated."""
    result = copy.deepcopy(dict(data))
    for section in NAMED_SECTIONS:
        current = result.get(section)
        if not isinstance(current, dict) or f"{section}.params" in overrides:
            continue
        if overrides.get(f"{section}.name", current.get("name")) != current.get("name"):
            current["params"] = {}
    for key, value in overrides.items():
        *parents, leaf = key.split(".")
        node = result
        for part in parents:
            child = node.get(part) if isinstance(node, dict) else None
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[leaf] = value
    return result
