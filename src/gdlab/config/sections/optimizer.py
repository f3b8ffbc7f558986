"""``optimizer:`` and ``schedule:`` — how each step is taken and how the step size changes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field, ValidationInfo, field_validator

from gdlab.config.base import (
    Section,
    check_import_path,
    is_import_path,
    non_finite_paths,
    plugin_build_problem,
)
from gdlab.config.convert import normalised_part
from gdlab.config.errors import Problem, did_you_mean, raise_problems
from gdlab.config.optimizers import OPTIMIZER_PARAMS
from gdlab.config.schedule_reach import schedule_reach_problems
from gdlab.config.schedules import SCHEDULE_PARAMS, resolve_schedule_params
from gdlab.core.rules import LEARNING_RATE, dampening_problem

if TYPE_CHECKING:
    from gdlab.config.schema import Params

_PLUGIN = "'package.module:factory'"


def _check_name(name: str, known: dict[str, Any], what: str) -> str:
    if is_import_path(name):
        problem = check_import_path(name, what)
        if problem:
            raise_problems([Problem("", problem, f"a callable {_PLUGIN}")])
    elif name not in known:
        raise_problems(
            [
                Problem(
                    "",
                    f"unknown {what} {name!r}{did_you_mean(name, known)}",
                    " | ".join([*known, _PLUGIN]),
                )
            ]
        )
    return name


def _plugin_param_problems(params: dict[str, Any]) -> list[Problem]:
    return [
        Problem(p, "must be a finite number", "finite numbers") for p in non_finite_paths(params)
    ]


class OptimizerConfig(Section):
    """Optimiser (torch.optim's algorithms), its step size and gradient clipping."""

    name: str = Field(
        "adam",
        min_length=1,
        description="optimiser, or a plug-in factory 'package.module:factory'",
        json_schema_extra={"x-allowed": " | ".join([*OPTIMIZER_PARAMS, _PLUGIN])},
    )
    learning_rate: float = Field(
        0.01, description="step size γ (the schedule's start)", **LEARNING_RATE.bounds()
    )
    params: dict[str, Any] = Field(
        default_factory=dict,
        description="the optimiser's own hyper-parameters (see optimizer.params.* below)",
        json_schema_extra={"x-allowed": "the chosen optimiser's keys (below); plug-ins: any"},
    )
    clip_norm: float | None = Field(
        None, gt=0, description="clip the global gradient norm to this; null = no clipping"
    )

    @field_validator("name")
    @classmethod
    def _known_name(cls, name: str) -> str:
        return _check_name(name, OPTIMIZER_PARAMS, "optimizer")

    @field_validator("params")
    @classmethod
    def _params_fit(cls, params: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        name = info.data.get("name")  # absent when the name itself is wrong
        model = OPTIMIZER_PARAMS.get(name) if name else None
        if model is not None:
            return normalised_part(model, params, f"optimizer {name}")
        if name:
            raise_problems(_plugin_param_problems(params))
            from gdlab.core.optim import make_optimizer

            problem = plugin_build_problem("", make_optimizer, name, params)
            if problem:
                raise_problems([problem])
        return params

    def resolved_params(self) -> dict[str, Any]:
        """``params`` with the optimiser's defaults filled in (plug-ins: as given)."""
        model = OPTIMIZER_PARAMS.get(self.name)
        return model.model_validate(self.params).model_dump() if model else dict(self.params)

    def cross_checks(self, params: Params) -> list[Problem]:
        """sgd / momentum's dampening with momentum 0: inert (torch and the engine ignore
        it; in params.yaml most likely a forgotten momentum), so refused in params.yaml and
        accepted in a variant, e.g. the momentum-0 baseline of a momentum sweep."""
        if self.name not in ("sgd", "momentum"):
            return []
        full = self.resolved_params()
        problem = dampening_problem(full["momentum"], full["dampening"])
        if not problem:
            return []
        fix = "0, or set momentum > 0 (e.g. 0.9) for dampening to act"
        return [Problem("optimizer.params.dampening", problem, fix, inert=True)]


class ScheduleConfig(Section):
    """Learning-rate schedule (torch.optim.lr_scheduler's), stepped once per epoch."""

    name: str = Field(
        "constant",
        min_length=1,
        description="schedule, or a plug-in factory 'package.module:factory'",
        json_schema_extra={"x-allowed": " | ".join([*SCHEDULE_PARAMS, _PLUGIN])},
    )
    params: dict[str, Any] = Field(
        default_factory=dict,
        description="the schedule's own parameters (see schedule.params.* below)",
        json_schema_extra={"x-allowed": "the chosen schedule's keys (below); plug-ins: any"},
    )

    @field_validator("name")
    @classmethod
    def _known_name(cls, name: str) -> str:
        return _check_name(name, SCHEDULE_PARAMS, "schedule")

    @field_validator("params")
    @classmethod
    def _params_fit(cls, params: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        name = info.data.get("name")  # absent when the name itself is wrong
        if name in SCHEDULE_PARAMS:
            return normalised_part(SCHEDULE_PARAMS[name], params, f"schedule {name}")
        if name:
            raise_problems(_plugin_param_problems(params))
        return params

    def resolved_params(self, max_epochs: int) -> dict[str, Any]:
        """``params`` with defaults filled in (cosine's ``T_max: null`` becomes max_epochs)."""
        return resolve_schedule_params(self.name, self.params, max_epochs)

    def cross_checks(self, params: Params) -> list[Problem]:
        lr = params.optimizer.learning_rate
        full = self.resolved_params(params.train.max_epochs)
        floors = [("schedule.params", self.name, full)]
        if self.name == "warmup":
            floors.append(("schedule.params.then_params", full["then"], full["then_params"]))
        problems = []
        for prefix, name, values in floors:
            key = {"cosine": "eta_min", "plateau": "min_lr"}.get(name)
            if key and values[key] >= lr:
                problems.append(
                    Problem(
                        f"{prefix}.{key}",
                        f"{values[key]} is not below optimizer.learning_rate ({lr})",
                        f">= 0 and < optimizer.learning_rate ({lr})",
                    )
                )
        if is_import_path(self.name) or is_import_path(str(full.get("then", ""))):
            from gdlab.core.schedules import make_schedule

            plugin, key = ((self.name, "schedule.name") if is_import_path(self.name)
                           else (str(full["then"]), "schedule.params.then"))
            problem = plugin_build_problem("schedule.params", make_schedule, self.name, lr, full,
                                           origin=(plugin, "schedule", key))
            if problem:
                problems.append(problem)
        max_epochs = params.train.max_epochs
        if self.name == "warmup" and full["warmup_epochs"] >= max_epochs:
            problems.append(
                Problem(
                    "schedule.params.warmup_epochs",
                    f"{full['warmup_epochs']} is not below train.max_epochs ({max_epochs}): "
                    f"training would end inside the warm-up and never reach the learning rate "
                    f"or the {full['then']!r} schedule after it",
                    f"1 to {max_epochs - 1} (< train.max_epochs)",
                )
            )
        problems += schedule_reach_problems(params, full)
        return problems
