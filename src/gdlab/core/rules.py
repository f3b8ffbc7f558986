"""The allowed values of the built-in optimisers' and schedules' hyper-parameters: one rule each.

The engine checks them when it builds an optimiser or a schedule by name
(:func:`gdlab.core.optim.make_optimizer`, :func:`gdlab.core.schedules.make_schedule`), so a
fit with ``optimizer_params={"eps": -1.0}`` fails at once naming the key and the range
instead of training on garbage; the params schema (:mod:`gdlab.config`) turns the same rules
into its bounds (``rule.bounds()``), so ``validate`` and ``fit`` apply the same ranges (the
schema adds checks of its own on top, e.g. strictly increasing ``milestones``, which the
engine's torch-like ``multistep`` sorts).

The ranges are at least torch.optim's own checks (``if not 0.0 <= eps: raise ValueError``),
tightened where a value torch accepts cannot train: ``eps > 0`` (a zero denominator), moving
averages' coefficients (``betas``, ``alpha``, ``momentum``) below 1, decay factors in (0, 1].

Standard library only: the params schema imports it without loading numpy.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


def _num(x: float) -> str:
    return f"{x:g}"


def _got(value: Any) -> str:
    return f"got {value!r} ({type(value).__name__})"


def _is_bool(value: Any) -> bool:
    """``True``/``False`` or numpy's bool scalar (not a number here: ``True`` is no rate)."""
    kind = type(value)
    return isinstance(value, bool) or (kind.__module__ == "numpy" and kind.__name__ in
                                       ("bool_", "bool"))


@dataclass(frozen=True)
class Number:
    """A finite real number (an integer when ``integer``) within the given bounds; a bool or a
    string is refused, never converted."""

    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    integer: bool = False

    def allowed(self) -> str:
        """``"a real number >= 0 and < 1"``."""
        parts = [f"{op} {_num(v)}" for op, v in
                 ((">=", self.ge), (">", self.gt), ("<=", self.le), ("<", self.lt))
                 if v is not None]
        kind = "an integer" if self.integer else "a finite real number"
        return kind + (" " + " and ".join(parts) if parts else "")

    def bounds(self) -> dict[str, float]:
        """The bounds as pydantic ``Field`` keywords (``{"ge": 0, "lt": 1}``)."""
        pairs = (("ge", self.ge), ("gt", self.gt), ("le", self.le), ("lt", self.lt))
        return {k: v for k, v in pairs if v is not None}

    def check(self, name: str, value: Any) -> Any:
        """``value`` when allowed, else a ValueError naming ``name`` and the allowed values."""
        kind = numbers.Integral if self.integer else numbers.Real
        ok = not _is_bool(value) and isinstance(value, kind) and math.isfinite(value)
        if ok:
            ok = ((self.ge is None or value >= self.ge) and (self.gt is None or value > self.gt)
                  and (self.le is None or value <= self.le)
                  and (self.lt is None or value < self.lt))
        if not ok:
            raise ValueError(f"{name} must be {self.allowed()}, {_got(value)}")
        return value


@dataclass(frozen=True)
class Flag:
    """``True`` or ``False`` (numpy's bool too); ``"yes"``, ``1`` and ``None`` are refused."""

    def allowed(self) -> str:
        return "True or False"

    def check(self, name: str, value: Any) -> Any:
        if not _is_bool(value):
            raise ValueError(f"{name} must be {self.allowed()}, {_got(value)}")
        return value


@dataclass(frozen=True)
class Text:
    """A non-empty string."""

    def allowed(self) -> str:
        return "a non-empty string"

    def check(self, name: str, value: Any) -> Any:
        if not (isinstance(value, str) and value):
            raise ValueError(f"{name} must be {self.allowed()}, {_got(value)}")
        return value


@dataclass(frozen=True)
class Table:
    """A mapping of names to values, or None."""

    def allowed(self) -> str:
        return "a dict or None"

    def check(self, name: str, value: Any) -> Any:
        if value is not None and not isinstance(value, Mapping):
            raise ValueError(f"{name} must be {self.allowed()}, {_got(value)}")
        return value


@dataclass(frozen=True)
class Items:
    """A list or tuple (not a string) of ``min_length`` to ``max_length`` items, each allowed
    by ``item``."""

    item: Number
    min_length: int = 1
    max_length: int | None = None

    def allowed(self) -> str:
        if self.max_length == self.min_length:
            size = f"{self.min_length}"
        else:
            size = f"{self.min_length} or more" if self.max_length is None else (
                f"{self.min_length} to {self.max_length}")
        return f"a list of {size} items, each {self.item.allowed()}"

    def check(self, name: str, value: Any) -> Any:
        n = len(value) if isinstance(value, Sequence) and not isinstance(value, str | bytes) \
            else None
        if n is None or n < self.min_length or (self.max_length is not None
                                                and n > self.max_length):
            raise ValueError(f"{name} must be {self.allowed()}, {_got(value)}")
        for i, item in enumerate(value):
            self.item.check(f"{name}[{i}]", item)
        return value


Rule = Number | Flag | Text | Table | Items

# ------------------------------------------------------------------ optimisers
LEARNING_RATE = Number(gt=0)
"""The base learning rate γ₀ (torch: ``0.0 <= lr``; a zero rate never moves)."""

_WEIGHT_DECAY = Number(ge=0)
_EPS = Number(gt=0)
_MOMENTUM = Number(ge=0, lt=1)
_DAMPENING = Number(ge=0, le=1)
_NON_NEGATIVE = Number(ge=0)
_BETAS = Items(Number(ge=0, lt=1), min_length=2, max_length=2)

OPTIMIZER_RULES: dict[str, dict[str, Rule]] = {
    "sgd": {"momentum": _MOMENTUM, "dampening": _DAMPENING, "nesterov": Flag(),
            "weight_decay": _WEIGHT_DECAY},
    "momentum": {"momentum": _MOMENTUM, "dampening": _DAMPENING, "weight_decay": _WEIGHT_DECAY},
    "nesterov": {"momentum": Number(gt=0, lt=1), "weight_decay": _WEIGHT_DECAY},
    "adagrad": {"lr_decay": _NON_NEGATIVE, "weight_decay": _WEIGHT_DECAY,
                "initial_accumulator_value": _NON_NEGATIVE, "eps": _EPS},
    "rmsprop": {"alpha": Number(ge=0, lt=1), "eps": _EPS, "weight_decay": _WEIGHT_DECAY,
                "momentum": _MOMENTUM, "centered": Flag()},
    "adam": {"betas": _BETAS, "eps": _EPS, "weight_decay": _WEIGHT_DECAY, "amsgrad": Flag()},
    "adamw": {"betas": _BETAS, "eps": _EPS, "weight_decay": _WEIGHT_DECAY, "amsgrad": Flag()},
    "nadam": {"betas": _BETAS, "eps": _EPS, "weight_decay": _WEIGHT_DECAY,
              "momentum_decay": _NON_NEGATIVE},
}
"""Built-in optimiser -> its hyper-parameters' rules (every parameter of its factory)."""

NESTEROV = "Nesterov momentum needs momentum > 0 and dampening 0"


def nesterov_problem(nesterov: Any, momentum: Any, dampening: Any) -> str | None:
    """What is wrong with SGD's ``nesterov`` given its momentum and dampening (torch's
    check), or None."""
    if nesterov and (momentum <= 0 or dampening != 0):
        return f"{NESTEROV} (got momentum={momentum!r}, dampening={dampening!r})"
    return None


DAMPENING = "dampening only scales the momentum buffer: with momentum 0 it does nothing"


def dampening_problem(momentum: Any, dampening: Any) -> str | None:
    """What is wrong with SGD's ``dampening`` given its momentum, or None: a dampening
    other than 0 with momentum 0 can never act (a forgotten momentum?). The engine accepts
    it and ignores it, as torch.optim.SGD does (a momentum sweep's momentum-0 point keeps the
    sweep's dampening); validation refuses it in params.yaml only."""
    if dampening != 0 and momentum == 0:
        return f"{DAMPENING} (got momentum={momentum!r}, dampening={dampening!r})"
    return None


def check_optimizer_params(name: str, params: Mapping[str, Any],
                           prefix: str = "optimizer_params") -> None:
    """Raise a ValueError naming ``{prefix}['key']`` and its allowed values when a value of
    the built-in optimiser ``name``'s ``params`` is not allowed (names are checked elsewhere)."""
    try:
        _check_each(OPTIMIZER_RULES.get(name, {}), params, prefix)
    except ValueError as exc:
        raise ValueError(f"optimizer {name!r}: {exc}") from None
    if name == "sgd":
        problem = nesterov_problem(params.get("nesterov", False), params.get("momentum", 0.0),
                                   params.get("dampening", 0.0))
        if problem:
            raise ValueError(f"optimizer 'sgd': {prefix}['nesterov']: {problem}")


# ------------------------------------------------------------------ schedules
_GAMMA = Number(gt=0, le=1)
_EPOCHS = Number(gt=0, integer=True)
_COUNT = Number(ge=0, integer=True)

SCHEDULE_RULES: dict[str, dict[str, Rule]] = {
    "constant": {},
    "step": {"step_size": _EPOCHS, "gamma": _GAMMA},
    # milestone 0 is torch's too: after a warm-up it applies gamma from the hand-over on
    "multistep": {"milestones": Items(_COUNT), "gamma": _GAMMA},
    "exponential": {"gamma": _GAMMA},
    "cosine": {"T_max": _EPOCHS, "eta_min": _NON_NEGATIVE},
    "warmup": {"warmup_epochs": Number(ge=1, integer=True), "start_factor": Number(gt=0, le=1),
               "then": Text(), "then_params": Table()},
    "invscaling": {"power_t": _NON_NEGATIVE},
    "plateau": {"factor": Number(gt=0, lt=1), "patience": _COUNT, "threshold": _NON_NEGATIVE,
                "cooldown": _COUNT, "min_lr": _NON_NEGATIVE, "eps": _NON_NEGATIVE},
}
"""Built-in schedule -> its parameters' rules (every parameter of its factory but base_lr)."""


def check_schedule_params(name: str, params: Mapping[str, Any],
                          prefix: str = "schedule_params") -> None:
    """Raise a ValueError naming ``{prefix}['key']`` and its allowed values when a value of
    the built-in schedule ``name``'s ``params`` is not allowed; a warm-up's ``then_params``
    are checked against its ``then`` schedule's rules."""
    try:
        _check_each(SCHEDULE_RULES.get(name, {}), params, prefix)
        then = params.get("then")
        if name == "warmup" and then in SCHEDULE_RULES:
            _check_each(SCHEDULE_RULES[then], params.get("then_params") or {},
                        f"{prefix}['then_params']")
    except ValueError as exc:
        raise ValueError(f"schedule {name!r}: {exc}") from None


def _check_each(rules: Mapping[str, Rule], params: Mapping[str, Any], prefix: str) -> None:
    for key, value in params.items():
        if key in rules:
            rules[key].check(f"{prefix}[{key!r}]", value)
