"""Resolve a user's plug-in named by import path ``"package.module:attribute"``, build it, and
check what it built against the contract of docs/plugins.md, naming the plug-in."""

from __future__ import annotations

import importlib
import inspect
import traceback
from collections.abc import Callable
from typing import Any

MODEL_METHODS = ("init_params", "forward", "backward", "penalized")
"""What a plug-in model object must have (see gdlab/core/models/base.py)."""

KEYS = {"model": "model.kind", "optimizer": "optimizer.name", "schedule": "schedule.name"}
"""The params.yaml key that names a plug-in of each kind (errors name it)."""


class PluginContractError(ValueError):
    """A plug-in that breaks the contract of docs/plugins.md; ``key`` is the params.yaml key
    naming it (``schedule.name``), where validate reports it."""

    def __init__(self, message: str, key: str) -> None:
        super().__init__(message)
        self.key = key


def named(path: str, what: str, key: str | None = None) -> str:
    """How errors name a plug-in: ``schedule 'my_schedules:halving' (schedule.name)``."""
    return f"{what} {path!r} ({key or KEYS.get(what, what)})"


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
    except Exception as exc:  # the module itself fails: a NameError, a SyntaxError...
        raise ValueError(
            f"{named(path, what)}: importing module {module_name!r} raised "
            f"{type(exc).__name__}: {exc}{_where(exc)}; expected a module that imports "
            "cleanly"
        ) from exc
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


def _where(exc: BaseException) -> str:
    """`` (at file.py, line 3)``: where in the plug-in's module ``exc`` was raised."""
    frames = traceback.extract_tb(exc.__traceback__)
    if isinstance(exc, SyntaxError) or not frames:
        return ""  # a SyntaxError's text names its file and line
    return f" (at {frames[-1].filename}, line {frames[-1].lineno})"


RATE_TOKENS = frozenset({"lr", "lr0", "eta", "eta0"})
"""Words of a parameter name (split at ``_``) that say "a learning rate", as do names holding
``learning_rate``: ``lr``, ``base_lr``, ``min_lr``, ``max_lr``, ``lr_start``, ``eta0``,
``initial_learning_rate``. A schedule factory whose first positional parameter has none of
them while a later one has receives the rate in the wrong parameter."""


def rate_named(name: str) -> bool:
    """Whether parameter ``name`` is named like a learning rate (:data:`RATE_TOKENS`)."""
    lowered = name.lower()
    return "learning_rate" in lowered or not RATE_TOKENS.isdisjoint(lowered.split("_"))


def schedule_factory_problem(
    factory: Callable[..., Any], path: str, key: str
) -> PluginContractError | None:
    """What is wrong with a schedule factory that takes the base learning rate in the wrong
    parameter as it is called (``factory(base_lr, **schedule.params)``), or None: its first
    positional parameter is not named like a learning rate (:func:`rate_named`) while a later
    one is (``halving(every=10, base_lr=0.5)``: ``every`` receives the rate, not ``base_lr``).
    Defaults play no part: ``halving(base_lr=0.1, every=10)`` receives the rate in
    ``base_lr``, ``cyclic(min_lr, max_lr=0.1)`` in ``min_lr``, and a factory whose names say
    nothing (``f(x, y=2)``) passes."""
    try:
        parameters = list(inspect.signature(factory).parameters.values())
    except (TypeError, ValueError):
        return None  # unknowable: the call says what is wrong
    first = parameters[0] if parameters else None
    if first is None or first.kind not in (first.POSITIONAL_ONLY, first.POSITIONAL_OR_KEYWORD):
        return None  # *args, or no positional parameter: the call says what is wrong
    if rate_named(first.name):
        return None
    rate = next((p for p in parameters[1:] if rate_named(p.name)
                 and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)), None)
    if rate is None:
        return None
    return PluginContractError(
        f"{named(path, 'schedule', key)}: the factory's first parameter {first.name!r} "
        f"receives the base learning rate (gdlab calls factory(base_lr, **schedule.params)), "
        f"while its parameter {rate.name!r}, named like a learning rate, never receives "
        f"it; expected the parameter receiving the base learning rate first: "
        f"factory({rate.name}, {first.name}, ...)", key)


def check_epoch_function(fn: Callable[..., Any], path: str, key: str) -> None:
    """Refuse what a schedule factory returned when it cannot be called as ``fn(epoch)``
    (a function) or ``step(metric)`` (a schedule object)."""
    stepper = getattr(fn, "step", None)
    if callable(stepper):
        if not accepts_positional(stepper, 1):
            raise PluginContractError(
                f"{named(path, 'schedule', key)}: the schedule it returned has a step method "
                "that takes no metric argument; expected step(metric), called after every "
                "epoch", key)
        return
    if not accepts_positional(fn, 1):
        raise PluginContractError(
            f"{named(path, 'schedule', key)}: the factory returned "
            f"{getattr(fn, '__name__', type(fn).__name__)}, a function that takes no epoch "
            "argument; expected a function epoch -> learning rate (called as fn(epoch), "
            "epochs from 0)", key)


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
        self.backward_checked = False

    def init_params(self, n_features: int, n_outputs: int, rng: Any, dtype: Any) -> Any:
        """The plug-in's parameters, refused unless a list of arrays of the dtype asked for
        (a float64 array in a float32 fit trains in float64 and casts every step)."""
        self.n_outputs = n_outputs
        self.backward_checked = False  # a new fit checks its first backward again
        params = self.model.init_params(n_features, n_outputs, rng, dtype)
        if not isinstance(params, list | tuple):
            raise PluginContractError(
                f"{named(self.path, 'model')}: init_params returned {type(params).__name__}, "
                "expected a list of numpy arrays (docs/plugins.md)", KEYS["model"])
        import numpy as np  # here: the params schema imports this module, not numpy

        want = np.dtype(dtype)
        for i, p in enumerate(params):
            got = getattr(p, "dtype", None)
            if not isinstance(p, np.ndarray) or got != want:
                what = f"of dtype {got}" if isinstance(p, np.ndarray) else type(p).__name__
                raise PluginContractError(
                    f"{named(self.path, 'model')}: init_params returned params[{i}] {what} "
                    f"when asked for {want}; expected numpy arrays of the dtype it is given "
                    "(np.zeros(shape, dtype))", KEYS["model"])
        return params

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
        """The plug-in's backward; the first call of a fit checks what it wrote (not every
        step: the check is the first step's only)."""
        if getattr(self, "backward_checked", False):  # False: pickled before the check
            return self.model.backward(params, cache, dZ, grads)
        buffers = list(grads)
        try:
            out = self.model.backward(params, cache, dZ, grads)
        except Exception as exc:
            exc.add_note(f"raised in the backward of the plug-in {named(self.path, 'model')}")
            raise
        self._check_gradients(params, grads, buffers, out)
        self.backward_checked = True
        return out

    def _check_gradients(self, params: Any, grads: Any, buffers: list[Any], out: Any) -> None:
        """Refuse a backward that returned gradients instead of writing them into ``grads``
        (gdlab reads ``grads`` only: the ones returned were lost and the step used whatever
        the buffers held), or that left a gradient of another shape or dtype than its
        parameter."""
        label = named(self.path, "model")
        if out is not None and out is not grads and not (
            isinstance(out, list | tuple) and len(out) == len(buffers)
            and all(o is b for o, b in zip(out, buffers, strict=True))
        ):
            raise PluginContractError(
                f"{label}: backward returned {type(out).__name__} instead of writing the "
                "gradients into grads, which is all gdlab reads; expected backward(params, "
                "cache, dZ, grads) to fill grads[i][...] = ∂loss/∂params[i] and return None",
                KEYS["model"])
        for i, (p, g) in enumerate(zip(params, grads, strict=False)):
            shape, dtype = getattr(g, "shape", None), getattr(g, "dtype", None)
            if shape != p.shape or dtype != p.dtype:
                raise PluginContractError(
                    f"{label}: backward left grads[{i}] of shape {shape} and dtype {dtype} for "
                    f"params[{i}] of shape {p.shape} and dtype {p.dtype}; expected the "
                    "gradient of each parameter in its shape and dtype, written in place "
                    "(grads[i][...] = ...)", KEYS["model"])

    def penalized(self, params: Any) -> Any:
        return self.model.penalized(params)

    def __getattr__(self, name: str) -> Any:
        """Anything else is the plug-in's (``est.model_.width`` reads the plug-in's width)."""
        if name.startswith("__") or name in ("model", "path", "n_outputs",
                                                  "backward_checked"):
            raise AttributeError(name)  # not set yet (a copy or a load in progress)
        return getattr(self.model, name)


def probe_model(model: CheckedModel, dtype: str, n_features: int = 3, n_rows: int = 4) -> None:
    """Run the plug-in model once on a tiny made-up problem (``init_params``, ``forward``,
    ``backward``) to find, before any data is read, the contract breaks its first fit would
    refuse: a :class:`PluginContractError` propagates. Any other exception (a model that
    needs its own number of features, say) is left to training, which names it.

    ``dtype``: ``train.dtype``'s name; ``init_params`` is given what a fit gives it, the
    numpy type (``np.float32``, :data:`gdlab.core.dtypes.DTYPES`), not the name."""
    import numpy as np

    from gdlab.core.dtypes import DTYPES

    dtype = DTYPES[dtype]
    rng = np.random.default_rng(0)
    try:
        params = model.init_params(n_features, 1, rng, dtype)
        Z, cache = model.forward(params, rng.normal(size=(n_rows, n_features)).astype(dtype))
        model.backward(params, cache, np.ones_like(Z), [np.empty_like(p) for p in params])
    except PluginContractError:
        raise
    except Exception:  # noqa: BLE001 - not a contract break this probe can tell
        return
