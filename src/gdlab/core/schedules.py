"""Learning-rate schedules, stepped once per epoch, named and parametrised as torch's schedulers.

A schedule is an object with a ``learning_rate`` attribute (the value to use in the
current epoch) and a ``step(metric)`` method called once at the end of every epoch
(``metric`` is the validation loss when there is one, else the training loss; only
``plateau`` reads it). The learning rate used in epoch ``e`` (from 0) is the value
after ``e`` steps, as ``torch.optim.lr_scheduler``.

=============  ====================================================================
name           learning rate in epoch e (γ₀ = the base learning rate)
=============  ====================================================================
constant       γ₀
step           γ₀ · gamma^⌊e / step_size⌋                       (StepLR, gamma=0.1)
multistep      γ₀ · gamma^(number of milestones ≤ e)             (MultiStepLR, gamma=0.1)
exponential    γ₀ · gamma^e                                      (ExponentialLR)
cosine         η_min + ½ (γ₀ − η_min)(1 + cos(π e / T_max))      (CosineAnnealingLR)
warmup         γ₀ · (start_factor + (1 − start_factor) e / warmup_epochs) for e < warmup_epochs
               (LinearLR), then the ``then`` schedule restarted at 0 (SequentialLR)
invscaling     γ₀ / (e + 1)^power_t                              (scikit-learn's invscaling)
plateau        γ ← max(γ · factor, min_lr) after ``patience`` epochs without a relative
               improvement of ``threshold``, then ``cooldown`` epochs of rest (ReduceLROnPlateau)
=============  ====================================================================
"""

from __future__ import annotations

import contextlib
import inspect
import math
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

from gdlab.core.plugins import (
    build,
    check_epoch_function,
    is_import_path,
    resolve,
    schedule_factory_problem,
)
from gdlab.core.rules import LEARNING_RATE, SCHEDULE_RULES, check_schedule_params


class EpochSchedule:
    """A schedule whose learning rate is a function of the epoch index only.

    ``fn`` must be picklable (a module-level function or a ``functools.partial`` of one),
    so that fitted estimators can be pickled with their schedule.
    """

    def __init__(self, base_lr: float, fn: Callable[[int], float]):
        self.base_lr = float(base_lr)
        self.fn = fn
        self.epoch = 0
        self.learning_rate = float(fn(0))

    def step(self, metric: float | None = None) -> None:
        """Advance one epoch."""
        self.epoch += 1
        self.learning_rate = float(self.fn(self.epoch))


def _constant_lr(base_lr: float, e: int) -> float:
    return base_lr


def _step_lr(base_lr: float, step_size: int, gamma: float, e: int) -> float:
    return base_lr * gamma ** (e // step_size)


def _multistep_lr(base_lr: float, milestones: tuple[int, ...], gamma: float, e: int) -> float:
    return base_lr * gamma ** sum(1 for m in milestones if m <= e)


def _exponential_lr(base_lr: float, gamma: float, e: int) -> float:
    return base_lr * gamma**e


def _cosine_lr(base_lr: float, T_max: int, eta_min: float, e: int) -> float:  # noqa: N803
    return eta_min + 0.5 * (base_lr - eta_min) * (1.0 + math.cos(math.pi * e / T_max))


def _invscaling_lr(base_lr: float, power_t: float, e: int) -> float:
    return base_lr / (e + 1) ** power_t


def _warmup_lr(
    base_lr: float, warmup_epochs: int, start_factor: float, after: Callable[[int], float], e: int
) -> float:
    if e < warmup_epochs:
        return base_lr * (start_factor + (1.0 - start_factor) * e / warmup_epochs)
    return after(e - warmup_epochs)


def constant(base_lr: float) -> EpochSchedule:
    """γ = γ₀ in every epoch."""
    return EpochSchedule(base_lr, partial(_constant_lr, base_lr))


def step(base_lr: float, step_size: int, gamma: float = 0.1) -> EpochSchedule:
    """StepLR: γ₀ · gamma^⌊e / step_size⌋."""
    check_schedule_params("step", {"step_size": step_size, "gamma": gamma})
    return EpochSchedule(base_lr, partial(_step_lr, base_lr, int(step_size), gamma))


def multistep(base_lr: float, milestones: Sequence[int], gamma: float = 0.1) -> EpochSchedule:
    """MultiStepLR: γ₀ · gamma^(number of milestones reached)."""
    check_schedule_params("multistep", {"milestones": milestones, "gamma": gamma})
    ms = tuple(sorted(int(m) for m in milestones))
    return EpochSchedule(base_lr, partial(_multistep_lr, base_lr, ms, gamma))


def exponential(base_lr: float, gamma: float) -> EpochSchedule:
    """ExponentialLR: γ₀ · gamma^e."""
    check_schedule_params("exponential", {"gamma": gamma})
    return EpochSchedule(base_lr, partial(_exponential_lr, base_lr, gamma))


def cosine(base_lr: float, T_max: int, eta_min: float = 0.0) -> EpochSchedule:  # noqa: N803
    """CosineAnnealingLR: η_min + ½(γ₀ − η_min)(1 + cos(π e / T_max))."""
    check_schedule_params("cosine", {"T_max": T_max, "eta_min": eta_min})
    return EpochSchedule(base_lr, partial(_cosine_lr, base_lr, int(T_max), eta_min))


def invscaling(base_lr: float, power_t: float = 0.25) -> EpochSchedule:
    """scikit-learn's invscaling, per epoch: γ₀ / (e + 1)^power_t."""
    check_schedule_params("invscaling", {"power_t": power_t})
    return EpochSchedule(base_lr, partial(_invscaling_lr, base_lr, power_t))


def warmup(
    base_lr: float,
    warmup_epochs: int = 5,
    start_factor: float = 1.0 / 3.0,
    then: str = "constant",
    then_params: Mapping[str, Any] | None = None,
) -> EpochSchedule:
    """Linear warm-up (LinearLR) for ``warmup_epochs``, then ``then`` from its epoch 0:
    γ₀ · (start_factor + (1 − start_factor) · e / warmup_epochs) for e < warmup_epochs, then
    the ``then`` schedule's rate of epoch e − warmup_epochs (SequentialLR)."""
    check_schedule_params("warmup", {"warmup_epochs": warmup_epochs,
                                     "start_factor": start_factor, "then": then,
                                     "then_params": then_params})
    if then in ("warmup", "plateau"):
        raise ValueError(f"schedule 'warmup': then={then!r} is not allowed")
    after = make_schedule(then, base_lr, then_params, key="schedule.params.then")
    if not isinstance(after, EpochSchedule):
        raise ValueError(f"schedule 'warmup': then={then!r} must be an epoch schedule")
    return EpochSchedule(
        base_lr, partial(_warmup_lr, base_lr, int(warmup_epochs), start_factor, after.fn)
    )


class Plateau:
    """ReduceLROnPlateau (mode='min', threshold_mode='rel'), as torch.

    .. code-block:: text

        improved ← metric < best · (1 − threshold)        (then best ← metric)
        after more than ``patience`` epochs in a row without improvement (none counted
        during ``cooldown`` epochs after a reduction):
            γ ← max(γ · factor, min_lr)    unless that lowers γ by no more than ``eps``
    """

    def __init__(
        self,
        base_lr: float,
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        cooldown: int = 0,
        min_lr: float = 0.0,
        eps: float = 1e-8,
    ):
        check_schedule_params("plateau", {"factor": factor, "patience": patience,
                                          "threshold": threshold, "cooldown": cooldown,
                                          "min_lr": min_lr, "eps": eps})
        self.learning_rate = float(base_lr)
        self.factor, self.patience, self.threshold = factor, int(patience), threshold
        self.cooldown, self.min_lr, self.eps = int(cooldown), min_lr, eps
        self.best = math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0

    def step(self, metric: float | None = None) -> None:
        """Record the epoch's metric; reduce the rate after ``patience`` bad epochs."""
        if metric is None:
            raise ValueError("schedule 'plateau' needs a loss to monitor")
        if metric < self.best * (1.0 - self.threshold):
            self.best = metric
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            new_lr = max(self.learning_rate * self.factor, self.min_lr)
            if self.learning_rate - new_lr > self.eps:
                self.learning_rate = new_lr
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0


SCHEDULES: dict[str, Callable[..., Any]] = {
    "constant": constant,
    "step": step,
    "multistep": multistep,
    "exponential": exponential,
    "cosine": cosine,
    "warmup": warmup,
    "invscaling": invscaling,
    "plateau": Plateau,
}


def epochs_after_warmup(warmup_epochs: int, max_epochs: int) -> int:
    """The epochs a warm-up's ``then`` schedule runs for (at least 1)."""
    return max(1, max_epochs - warmup_epochs)


def epoch_defaults(
    name: str, params: Mapping[str, Any] | None, max_epochs: int
) -> dict[str, Any]:
    """``params`` with the defaults that depend on the training's length filled in, as
    params.yaml's ``T_max: null`` is: cosine's ``T_max`` (left out or None) is ``max_epochs``,
    and a warm-up's ``then`` schedule gets the epochs left after the warm-up."""
    full = dict(params or {})
    if name == "cosine" and full.get("T_max") is None:
        full["T_max"] = max_epochs
    if name == "warmup":
        warm = full.get("warmup_epochs", inspect.signature(warmup).parameters[
            "warmup_epochs"].default)
        if isinstance(warm, int) and not isinstance(warm, bool):  # else make_schedule says why
            then = full.get("then", "constant")
            full["then_params"] = epoch_defaults(
                then, full.get("then_params"), epochs_after_warmup(warm, max_epochs)
            )
    return full


def make_schedule(
    name: str,
    base_lr: float,
    params: Mapping[str, Any] | None = None,
    key: str = "schedule.name",
):
    """Build a schedule by name (or ``"module:factory"``) with its torch-named parameters.

    A plug-in factory is called as ``factory(base_lr, **params)`` and may return a schedule
    object (``learning_rate`` attribute and ``step(metric)``) or a function ``epoch -> lr``;
    one that cannot be called so is refused naming it and ``key``, the parameter naming it
    (a warm-up's ``then`` plug-in: ``schedule.params.then``).
    """
    params = dict(params or {})
    LEARNING_RATE.check("learning_rate", base_lr)
    if is_import_path(name):
        return _plugin_schedule(name, base_lr, params, key)
    try:
        factory = SCHEDULES[name]
    except KeyError:
        allowed = ", ".join(SCHEDULES)
        raise ValueError(f"schedule {name!r} is unknown; use one of {allowed}") from None
    check_schedule_params(name, params)
    _check_names(name, factory, params)
    return factory(base_lr, **params)


def _plugin_schedule(name: str, base_lr: float, params: dict[str, Any], key: str) -> Any:
    """Build the plug-in schedule ``name`` as ``factory(base_lr, **params)`` and refuse what
    breaks the contract, naming it: what is not a schedule, a factory taking the rate in the
    wrong parameter (a first parameter not named like a learning rate before one that is:
    said when the call fails too, as it explains the failure), a function that takes no
    epoch."""
    misbound = schedule_factory_problem(resolve(name, "schedule"), name, key)
    try:
        obj = build(name, "schedule", base_lr, **params)
    except ValueError as exc:
        if misbound is not None:
            raise misbound from exc
        raise
    is_schedule = hasattr(obj, "learning_rate") and callable(getattr(obj, "step", None))
    if not (is_schedule or (callable(obj) and not hasattr(obj, "step"))):
        raise ValueError(
            f"schedule {name!r} returned {type(obj).__name__}, expected a function epoch -> "
            "learning rate or an object with a learning_rate attribute and step(metric)"
        )
    if misbound is not None:
        raise misbound
    check_epoch_function(obj, name, key)
    if not is_schedule:
        obj = EpochSchedule(base_lr, obj)
    with contextlib.suppress(AttributeError, TypeError):  # e.g. __slots__: not named then
        obj.plugin = name  # the loop names it when it gives a learning rate it refuses
    return obj


def _check_names(name: str, factory: Callable[..., Any], params: Mapping[str, Any]) -> None:
    """Refuse a key the schedule does not take, or a missing one it needs, naming them."""
    signature = dict(inspect.signature(factory).parameters)
    signature.pop(next(iter(signature)))  # base_lr
    unknown = sorted(set(params) - set(signature))
    if unknown:
        raise ValueError(
            f"schedule {name!r} has no parameter {', '.join(map(repr, unknown))} in "
            f"schedule_params; allowed: {', '.join(signature) or 'none'}"
        )
    rules = SCHEDULE_RULES[name]
    for key, p in signature.items():
        if p.default is inspect.Parameter.empty and key not in params:
            raise ValueError(
                f"schedule {name!r} needs schedule_params[{key!r}] ({rules[key].allowed()})"
            )
