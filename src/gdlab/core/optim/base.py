"""Gradient transformations: the optax shape in numpy.

An optimiser is a :class:`GradientTransformation`, a pair of functions

* ``init(params) -> state``
* ``update(grads, state, params, learning_rate) -> (updates, state)``

``params`` and ``grads`` are lists of numpy arrays (one per parameter tensor).
``update`` may overwrite ``grads`` in place and return it as ``updates``: the
training loop owns the gradient buffers and never reads them after the update, but
refills the same arrays at the next step (and updates ``params`` in place), so a state
keeps copies of them, never the arrays themselves.
The returned ``updates`` are *added* to the parameters (``params[i] += updates[i]``),
so the final transformation of a chain is usually :func:`scale_by_learning_rate`,
which multiplies by ``-learning_rate``.

``learning_rate`` is the value the schedule gives for the current epoch; it is
passed to every transformation of a chain so that the ones that depend on it
(decoupled weight decay, Adagrad's ``lr_decay``) see the scheduled value, as
torch's optimisers read ``group['lr']``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

Params = list[np.ndarray]
Updates = list[np.ndarray]
State = Any


class GradientTransformation(NamedTuple):
    """A pair of functions ``init`` and ``update`` (see the module docstring)."""

    init: Callable[[Params], State]
    update: Callable[[Updates, State, Params, float], tuple[Updates, State]]


def identity() -> GradientTransformation:
    """The transformation that leaves gradients unchanged."""

    def init(params: Params) -> State:
        return ()

    def update(grads: Updates, state: State, params: Params, learning_rate: float):
        return grads, state

    return GradientTransformation(init, update)


def chain(*transforms: GradientTransformation) -> GradientTransformation:
    """Compose transformations: the output updates of one are the input of the next."""

    def init(params: Params) -> State:
        return tuple(t.init(params) for t in transforms)

    def update(grads: Updates, state: State, params: Params, learning_rate: float):
        new_state = []
        for t, s in zip(transforms, state, strict=True):
            grads, s = t.update(grads, s, params, learning_rate)
            new_state.append(s)
        return grads, tuple(new_state)

    return GradientTransformation(init, update)


def zeros_like(params: Sequence[np.ndarray]) -> list[np.ndarray]:
    """One zero buffer per parameter, same shape and dtype."""
    return [np.zeros_like(p) for p in params]


def global_norm(arrays: Sequence[np.ndarray]) -> float:
    """‖(a_1, …, a_k)‖₂ over every array, summed in float64 whatever their dtype (as torch's
    CPU norms accumulate float32 in double): float32 squares overflow from 1.8e19 on, so a
    float32 gradient of finite components ~1e20 would otherwise have an infinite norm."""
    total = 0.0
    for a in arrays:
        if a.dtype != np.float64:
            a = a.astype(np.float64)
        total += float(np.vdot(a, a))
    return math.sqrt(total)


def apply_updates(params: Params, updates: Updates) -> None:
    """``params[i] += updates[i]`` in place."""
    for p, u in zip(params, updates, strict=True):
        p += u
