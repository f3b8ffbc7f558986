"""Resolve a user's plug-in named by import path ``"package.module:attribute"``, build it, and
check what it built against the contract of docs/plugins.md, naming the plug-in."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from typing import Any

MODEL_METHODS = ("init_params", "forward", "backward", "penalized")
"""What a plug-in model object must have (see gdlab/core/models/base.py)."""


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


def build(path: str, what: str, *args: Any, **kwargs: Any) -> Any:
    """Resolve the factory ``path`` and call it; an exception it raises becomes a ValueError
    naming the plug-in and the keyword arguments it was given."""
    factory = resolve(path, what)
    try:
        return factory(*args, **kwargs)
    except Exception as exc:
        raise ValueError(
            f"{what} {path!r}: the factory raised {type(exc).__name__}: {exc} "
            f"(called with {kwargs!r})"
        ) from exc


def accepts_positional(fn: Callable[..., Any], n: int) -> bool:
    """Whether ``fn`` can be called with ``n`` positional arguments (True when unknowable)."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return True
    try:
        signature.bind(*([None] * n))
    except TypeError:
        return False
    return True


def check_model(model: Any, path: str) -> Any:
    """``model`` when it has the four methods of a model, else a ValueError naming them."""
    missing = [m for m in MODEL_METHODS if not callable(getattr(model, m, None))]
    if missing:
        raise ValueError(
            f"model {path!r} returned {type(model).__name__} without "
            f"{', '.join(missing)}: a model needs init_params(n_features, n_outputs, rng, "
            "dtype), forward(params, X), backward(params, cache, dZ, grads) and "
            "penalized(params) (docs/plugins.md)"
        )
    return model


def make_model(path: str, params: dict[str, Any] | None = None) -> Any:
    """Build the plug-in model ``path`` as ``factory(**params)`` and check its methods."""
    return check_model(build(path, "model", **dict(params or {})), path)
