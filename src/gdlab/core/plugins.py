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


def factory_defaults(path: str, what: str, skip: int = 0) -> dict[str, Any]:
    """The keyword defaults of the factory ``path`` (its signature's parameters with a
    default, after the first ``skip`` positional ones, e.g. a schedule's ``base_lr``): what it
    runs with for every key the user leaves out. Only plain values are kept (numbers,
    strings, booleans, None, and lists or tuples of those, tuples as lists), since they are
    recorded as parameters; an unknowable signature gives ``{}``."""
    factory = resolve(path, what)
    try:
        parameters = list(inspect.signature(factory).parameters.values())
    except (TypeError, ValueError):
        return {}
    defaults: dict[str, Any] = {}
    for parameter in parameters[skip:]:
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        value = parameter.default
        if value is parameter.empty or not _plain(value):
            continue
        defaults[parameter.name] = list(value) if isinstance(value, tuple) else value
    return defaults


def _plain(value: Any) -> bool:
    if isinstance(value, list | tuple):
        return all(_plain(v) and not isinstance(v, list | tuple) for v in value)
    return value is None or isinstance(value, bool | int | float | str)


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


def make_model(path: str, params: dict[str, Any] | None = None) -> CheckedModel:
    """Build the plug-in model ``path`` as ``factory(**params)``, check its methods, and wrap
    it so that its forward pass is checked at every call (:class:`CheckedModel`)."""
    return CheckedModel(check_model(build(path, "model", **dict(params or {})), path), path)


class CheckedModel:
    """The plug-in model ``path`` with a forward pass that must return ``(Z, cache)`` with
    ``Z`` of shape (rows of X, n_outputs), n_outputs as ``init_params`` was last given; else a
    ValueError names the plug-in and both shapes. Unchecked, a wrong shape failed deep inside
    the loss (an einsum or reshape error) or, as (n, 2) for a binary classifier, trained on
    silently. The other methods are the plug-in's own."""

    def __init__(self, model: Any, path: str) -> None:
        self.model = model
        self.path = path
        self.n_outputs: int | None = None

    def init_params(self, n_features: int, n_outputs: int, rng: Any, dtype: Any) -> Any:
        self.n_outputs = n_outputs
        return self.model.init_params(n_features, n_outputs, rng, dtype)

    def forward(self, params: Any, X: Any) -> Any:
        out = self.model.forward(params, X)
        if not (isinstance(out, tuple) and len(out) == 2):
            raise ValueError(
                f"model {self.path!r}: forward returned {type(out).__name__}, expected the pair "
                "(Z, cache) (docs/plugins.md)"
            )
        expected = (X.shape[0], "n_outputs" if self.n_outputs is None else self.n_outputs)
        shape = getattr(out[0], "shape", None)
        if shape is None or len(shape) != 2 or shape[0] != expected[0] or (
            self.n_outputs is not None and shape[1] != self.n_outputs
        ):
            raise ValueError(
                f"model {self.path!r}: forward returned Z of shape {shape} for X of shape "
                f"{X.shape}, expected {expected}: one row per row of X and one column per "
                "output (docs/plugins.md)"
            )
        return out

    def backward(self, params: Any, cache: Any, dZ: Any, grads: Any) -> Any:
        return self.model.backward(params, cache, dZ, grads)

    def penalized(self, params: Any) -> Any:
        return self.model.penalized(params)

    def __getattr__(self, name: str) -> Any:
        """Anything else is the plug-in's (``est.model_.width`` reads the plug-in's width)."""
        if name.startswith("__") or name in ("model", "path", "n_outputs"):
            raise AttributeError(name)  # not set yet (a copy or a load in progress)
        return getattr(self.model, name)
