"""Build an optimiser from its name (or a plug-in import path) and its parameters."""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from gdlab.core.optim.alias import OPTIMIZERS
from gdlab.core.optim.base import GradientTransformation
from gdlab.core.plugins import accepts_positional, build, is_import_path, resolve
from gdlab.core.rules import check_optimizer_params


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
    """Build the named optimiser; unknown parameters are refused with the allowed names, and
    values outside their rule (:data:`gdlab.core.rules.OPTIMIZER_RULES`: ``eps`` > 0, ...)
    with the key and its allowed values. A plug-in's transformation is checked against the
    contract (init, update with four arguments) and its updates are checked at every step
    (see :func:`checked`); its state must not keep the gradient or parameter arrays gdlab
    hands it (see :func:`refuse_kept_buffers`)."""
    params = dict(params or {})
    if is_import_path(name):
        return checked(name, build(name, "optimizer", **params))
    factory = optimizer_factory(name)
    allowed = set(inspect.signature(factory).parameters)
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ValueError(
            f"optimizer {name!r} has no parameter {', '.join(map(repr, unknown))}; "
            f"allowed: {', '.join(sorted(allowed))}"
        )
    check_optimizer_params(name, params)
    return factory(**params)


_CONTRACT = "an object with init(params) and update(grads, state, params, learning_rate)"

WATCHED_STEPS = 2
"""The first updates whose state is checked for kept gradient or parameter arrays (after
these, a plug-in's update costs only the shape check)."""


def _state_arrays(state: Any, path: str = "state") -> Iterator[tuple[str, np.ndarray]]:
    """Every numpy array in ``state`` (nested tuples, lists and dicts), with where it is."""
    if isinstance(state, np.ndarray):
        yield path, state
    elif isinstance(state, tuple | list):
        for i, item in enumerate(state):
            yield from _state_arrays(item, f"{path}[{i}]")
    elif isinstance(state, dict):
        for key, item in state.items():
            yield from _state_arrays(item, f"{path}[{key!r}]")


def refuse_kept_buffers(name: str, where: str, state: Any,
                        buffers: Mapping[str, Sequence[np.ndarray]]) -> None:
    """ValueError naming the plug-in optimiser ``name`` when an array of its ``state`` (as
    ``where``, its init or update, returned it) shares memory with one of ``buffers``
    (``{"grads": [...], "params": [...]}``): gdlab refills the one set of gradient arrays at
    every step and updates the parameters in place, so a kept reference changes under the
    optimiser, which trains wrongly without an error (an optax-style Rprop keeping ``g`` as
    its previous gradient compares each gradient with itself)."""
    for path, array in _state_arrays(state):
        for label, arrays in buffers.items():
            for i, buffer in enumerate(arrays):
                if np.may_share_memory(array, buffer) and np.shares_memory(array, buffer):
                    raise ValueError(
                        f"optimizer {name!r}: the state its {where} returned keeps {label}[{i}] "
                        f"({path} shares its memory); gdlab reuses the gradient arrays at every "
                        "step and updates the parameters in place, so a kept one changes under "
                        "the optimiser: keep a copy (g.copy(), p.copy())"
                    )


def checked(name: str, transform: Any) -> GradientTransformation:
    """The plug-in optimiser ``name``'s transformation, with an update that names the plug-in
    when it fails and refuses updates that are not one array per parameter of its shape (numpy
    would broadcast a wrong shape into the parameters without a word)."""
    init, update = getattr(transform, "init", None), getattr(transform, "update", None)
    if not (callable(init) and callable(update)):
        raise ValueError(
            f"optimizer {name!r} returned {type(transform).__name__}, expected {_CONTRACT}"
        )
    if not accepts_positional(update, 4):
        raise ValueError(
            f"optimizer {name!r}: its update{inspect.signature(update)} cannot be called as "
            "update(grads, state, params, learning_rate)"
        )
    if not accepts_positional(init, 1):
        raise ValueError(
            f"optimizer {name!r}: its init{inspect.signature(init)} cannot be called as "
            "init(params)"
        )

    def checked_init(params):
        state = init(params)
        refuse_kept_buffers(name, "init", state, {"params": params})
        return state

    watched = [WATCHED_STEPS]  # updates still to check for kept buffers

    def checked_update(grads, state, params, learning_rate):
        if watched[0]:
            watched[0] -= 1
            given = list(grads)  # update may return new lists; the arrays are what it keeps
            out = checked_update_shapes(given, state, params, learning_rate)
            refuse_kept_buffers(name, "update", out[1], {"grads": given, "params": params})
            return out
        return checked_update_shapes(grads, state, params, learning_rate)

    def checked_update_shapes(grads, state, params, learning_rate):
        try:
            out = update(grads, state, params, learning_rate)
        except Exception as exc:
            exc.add_note(f"raised in the update of the plug-in optimizer {name!r}")
            raise
        if not (isinstance(out, tuple) and len(out) == 2):
            raise ValueError(
                f"optimizer {name!r}: update returned {type(out).__name__}, expected the pair "
                "(updates, state)"
            )
        updates = out[0]
        shapes = [getattr(u, "shape", None) for u in updates] if isinstance(
            updates, list | tuple) else None
        if shapes != [p.shape for p in params]:
            raise ValueError(
                f"optimizer {name!r}: update returned updates of shapes {shapes}, expected one "
                f"array per parameter of shapes {[p.shape for p in params]}"
            )
        return out

    return GradientTransformation(checked_init, checked_update)
