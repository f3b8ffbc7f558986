"""The parameters each built-in learning-rate schedule accepts (``schedule.params``).

Names and defaults follow ``torch.optim.lr_scheduler`` (StepLR, MultiStepLR, ExponentialLR,
CosineAnnealingLR, LinearLR warm-up, ReduceLROnPlateau) and scikit-learn's ``invscaling``.
Schedules are stepped once per epoch. The allowed values are the engine's rules
(:data:`gdlab.core.rules.SCHEDULE_RULES`), so ``validate`` refuses exactly what a fit would.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, ValidationInfo, field_validator, model_validator

from gdlab.config.base import (
    StrictModel,
    TupleAsList,
    check_import_path,
    is_import_path,
    non_finite_paths,
)
from gdlab.config.convert import normalised_part
from gdlab.config.errors import Problem, did_you_mean, raise_problems
from gdlab.core.rules import SCHEDULE_RULES
from gdlab.core.schedules import epoch_defaults, epochs_after_warmup

_GAMMA = "multiplicative factor of learning-rate decay"


def _ruled(schedule: str, key: str, default: Any, description: str) -> Any:
    """The ``Field`` of the schedule's ``key``, bounded by the engine's rule for it."""
    return Field(default, description=description, **SCHEDULE_RULES[schedule][key].bounds())


_MILESTONES = SCHEDULE_RULES["multistep"]["milestones"]
_NOT_AFTER_WARMUP = {
    "warmup": "warmup cannot follow itself (one warm-up phase per schedule)",
    "plateau": "plateau cannot follow warmup (it reacts to the loss, not to the epoch; the "
    "warm-up chains epoch schedules only)",
}
"""Known schedules that ``warmup.then`` refuses -> why."""


class ConstantParams(StrictModel):
    """constant: the learning rate never changes (no parameters)."""


class StepParams(StrictModel):
    """step: multiply by gamma every step_size epochs (StepLR)."""

    step_size: int = _ruled(
        "step", "step_size", 30, "period of learning-rate decay, in epochs (below "
        "train.max_epochs; train.tol may stop the fit first: train warns when no fold lowered "
        "the rate)"
    )
    gamma: float = _ruled("step", "gamma", 0.1, _GAMMA)


class MultiStepParams(StrictModel):
    """multistep: multiply by gamma at each milestone epoch (MultiStepLR)."""

    milestones: Annotated[
        list[Annotated[int, Field(**_MILESTONES.item.bounds())]], TupleAsList
    ] = Field(
        default_factory=lambda: [30, 80],
        min_length=_MILESTONES.min_length,
        description="epochs at which the learning rate is multiplied by gamma (increasing, "
        "at least one below train.max_epochs; train.tol may stop the fit first: train warns "
        "when no fold lowered the rate)",
    )
    gamma: float = _ruled("multistep", "gamma", 0.1, _GAMMA)

    @model_validator(mode="after")
    def _increasing(self) -> MultiStepParams:
        raise_problems(
            Problem(
                f"milestones[{i + 1}]",
                f"must be greater than {a} (the milestone before it)",
                "strictly increasing epochs >= 0",
            )
            for i, (a, b) in enumerate(zip(self.milestones, self.milestones[1:], strict=False))
            if b <= a
        )
        return self


class ExponentialParams(StrictModel):
    """exponential: multiply by gamma every epoch (ExponentialLR)."""

    gamma: float = _ruled("exponential", "gamma", 0.95, _GAMMA)


class CosineParams(StrictModel):
    """cosine: cosine annealing from the learning rate to eta_min over T_max epochs."""

    T_max: int | None = _ruled(
        "cosine", "T_max", None, "epochs of one half cosine period; null = train.max_epochs"
    )
    eta_min: float = _ruled(
        "cosine", "eta_min", 0.0, "minimum learning rate (below optimizer.learning_rate)"
    )


class InvScalingParams(StrictModel):
    """invscaling: η = η₀ / t^power_t (scikit-learn's invscaling)."""

    power_t: float = _ruled("invscaling", "power_t", 0.25, "exponent of the inverse scaling")


class PlateauParams(StrictModel):
    """plateau: multiply by factor when the loss stops improving (ReduceLROnPlateau, mode min)."""

    factor: float = _ruled("plateau", "factor", 0.1, "factor by which the learning rate shrinks")
    patience: int = _ruled(
        "plateau", "patience", 10, "epochs without improvement before shrinking; with "
        "train.tol set keep it below train.n_iter_no_change - 1 (e.g. 5): the stopping rule "
        "counts every epoch plateau counts (for a loss below tol / threshold) and would end "
        "training first (validate warns)"
    )
    threshold: float = _ruled("plateau", "threshold", 1e-4, "relative improvement that counts")
    cooldown: int = _ruled("plateau", "cooldown", 0, "epochs to wait after a reduction")
    min_lr: float = _ruled("plateau", "min_lr", 0.0, "lower bound on the learning rate")


class WarmupParams(StrictModel):
    """warmup: linear warm-up (LinearLR from start_factor to 1), then another schedule."""

    warmup_epochs: int = _ruled(
        "warmup", "warmup_epochs", 5, "epochs of linear warm-up (fewer than train.max_epochs)"
    )
    start_factor: float = _ruled(
        "warmup", "start_factor", 1 / 3, "fraction of the learning rate in the first epoch"
    )
    then: str = Field(
        "constant",
        min_length=1,
        description="schedule after the warm-up (its epochs count from the end of the warm-up)",
        json_schema_extra={
            "x-allowed": "any schedule but warmup and plateau, or 'package.module:factory'"
        },
    )
    then_params: dict[str, Any] = Field(
        default_factory=dict,
        description="parameters of the schedule named by `then`",
        json_schema_extra={"x-allowed": "the keys of the schedule named by `then`"},
    )

    @field_validator("then")
    @classmethod
    def _known_then(cls, name: str) -> str:
        if is_import_path(name):
            problem = check_import_path(name, "schedule")
            if problem:
                raise_problems([Problem("", problem, "a callable 'package.module:factory'")])
        elif name not in SCHEDULE_PARAMS or name in _NOT_AFTER_WARMUP:
            names = [n for n in SCHEDULE_PARAMS if n not in _NOT_AFTER_WARMUP]
            allowed = " | ".join(names) + " | 'package.module:factory'"
            why = _NOT_AFTER_WARMUP.get(name)
            if why is None:
                why = f"unknown schedule {name!r}{did_you_mean(name, names)}"
            raise_problems([Problem("", why, allowed)])
        return name

    @field_validator("then_params")
    @classmethod
    def _then_params_fit(cls, params: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        then = info.data.get("then")  # absent when `then` itself is wrong
        if then in SCHEDULE_PARAMS:
            return normalised_part(SCHEDULE_PARAMS[then], params, f"schedule {then}")
        if then:
            raise_problems(_non_finite(params))
        return params


SCHEDULE_PARAMS: dict[str, type[StrictModel]] = {
    "constant": ConstantParams,
    "step": StepParams,
    "multistep": MultiStepParams,
    "exponential": ExponentialParams,
    "cosine": CosineParams,
    "warmup": WarmupParams,
    "invscaling": InvScalingParams,
    "plateau": PlateauParams,
}
"""Built-in schedule name -> the model of its ``schedule.params``."""


def _non_finite(params: dict[str, Any]) -> list[Problem]:
    return [
        Problem(p, "must be a finite number", "finite numbers") for p in non_finite_paths(params)
    ]


def resolve_schedule_params(name: str, params: dict[str, Any], max_epochs: int) -> dict[str, Any]:
    """The schedule's parameters with every default filled in (``T_max: null`` -> max_epochs)."""
    model = SCHEDULE_PARAMS.get(name)
    if model is None:
        return dict(params)
    full = model.model_validate(params).model_dump()
    if name == "warmup":
        remaining = epochs_after_warmup(full["warmup_epochs"], max_epochs)
        full["then_params"] = resolve_schedule_params(full["then"], full["then_params"], remaining)
        return full
    return epoch_defaults(name, full, max_epochs)
