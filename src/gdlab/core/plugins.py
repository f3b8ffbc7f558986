"""Resolve a user's plug-in named by import path ``"package.module:attribute"``."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def is_import_path(name: str) -> bool:
    """True when ``name`` looks like ``"module:attribute"``."""
    return isinstance(name, str) and ":" in name


def resolve(path: str, what: str) -> Callable[..., Any]:
    """Import ``module:attribute`` and return the attribute, or raise a ValueError naming it."""
    module_name, _, attr = path.partition(":")
    if not module_name or not attr:
        raise ValueError(f"{what} {path!r}: expected 'package.module:factory'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"{what} {path!r}: cannot import module {module_name!r} ({exc})") from exc
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ValueError(
                f"{what} {path!r}: module {module_name!r} has no attribute {attr!r}"
            ) from None
    if not callable(obj):
        raise ValueError(f"{what} {path!r} is not callable")
    return obj
