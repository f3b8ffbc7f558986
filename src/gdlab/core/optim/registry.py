"""Build an optimiser from its name (or a plug-in import path) and its parameters."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from gdlab.core.optim.alias import OPTIMIZERS
from gdlab.core.optim.base import GradientTransformation
from gdlab.core.plugins import is_import_path, resolve


def optimizer_factory(name: str):
    """The factory for a built-in name or a ``"module:factory"`` plug-in."""
    if is_import_path(name):
        return resolve(name, "optimizer")
    try:
        return OPTIMIZERS[name]
    except KeyError:
        allowed = ", ".join(sorted(OPTIMIZERS))
        raise ValueError(
            f"optimizer {name!r} is unknown; use one of {allowed} or 'package.module:factory'"
        ) from None


def make_optimizer(name: str, params: Mapping[str, Any] | None = None) -> GradientTransformation:
    """Build the named optimiser; unknown parameters are refused with the allowed names."""
    factory = optimizer_factory(name)
    params = dict(params or {})
    if not is_import_path(name):
        allowed = set(inspect.signature(factory).parameters)
        unknown = sorted(set(params) - allowed)
        if unknown:
            raise ValueError(
                f"optimizer {name!r} has no parameter {', '.join(map(repr, unknown))}; "
                f"allowed: {', '.join(sorted(allowed))}"
            )
    transform = factory(**params)
    if not isinstance(transform, GradientTransformation):
        if hasattr(transform, "init") and hasattr(transform, "update"):
            transform = GradientTransformation(transform.init, transform.update)
        else:
            raise ValueError(
                f"optimizer {name!r} returned {type(transform).__name__}, "
                "expected an object with init(params) and update(grads, state, params, lr)"
            )
    return transform
