"""The one schema of ``params.yaml``: :class:`Params`, a section per top-level key.

Adding a section is one class: write ``class TuneConfig(Section)`` (every field with a default
and a description; rules between sections in ``cross_checks``) and add the line
``tune: TuneConfig = section_field(TuneConfig)`` below. Loading, errors, flattening for MLflow,
the JSON schema and the README table all walk the schema and need no change.
"""

from __future__ import annotations

import warnings

from pydantic import Field, ValidationInfo, model_validator

from gdlab.config.base import Section, StrictModel, section_field
from gdlab.config.errors import Problem, raise_problems
from gdlab.config.sections import (
    CompareConfig,
    CVConfig,
    DataConfig,
    LiveConfig,
    ModelConfig,
    OptimizerConfig,
    PreprocessConfig,
    RegisterConfig,
    ScheduleConfig,
    TrackingConfig,
    TrainConfig,
    TuneConfig,
)
from gdlab.config.sections.fairness import FairnessConfig, ModelCardConfig
from gdlab.config.sections.metrics import MetricsConfig
from gdlab.config.sections.parallel import ParallelConfig

# ``register`` is both a YAML key and ABCMeta.register (which a field may shadow): keep it quiet.
warnings.filterwarnings("ignore", message='Field name "register"', category=UserWarning)

VARIANT = "variant"
"""Validation context key: True when the parameters are a variant of params.yaml, whose inert
problems are accepted (:func:`gdlab.config.loader.validate_params`)."""


class Params(StrictModel):
    """Every parameter of the gdlab pipeline; attribute names are the keys of params.yaml."""

    seed: int = Field(
        42,
        ge=0,
        le=2**32 - 1,
        description="seed of every random choice: data, split, shuffling, initialisation",
    )
    data: DataConfig = section_field(DataConfig)
    preprocess: PreprocessConfig = section_field(PreprocessConfig)
    model: ModelConfig = section_field(ModelConfig)
    optimizer: OptimizerConfig = section_field(OptimizerConfig)
    schedule: ScheduleConfig = section_field(ScheduleConfig)
    train: TrainConfig = section_field(TrainConfig)
    cv: CVConfig = section_field(CVConfig)
    tracking: TrackingConfig = section_field(TrackingConfig)
    metrics: MetricsConfig = section_field(MetricsConfig)
    register: RegisterConfig = section_field(RegisterConfig)
    compare: CompareConfig = section_field(CompareConfig)
    live: LiveConfig = section_field(LiveConfig)
    fairness: FairnessConfig = section_field(FairnessConfig)
    model_card: ModelCardConfig = section_field(ModelCardConfig)
    tune: TuneConfig = section_field(TuneConfig)
    parallel: ParallelConfig = section_field(ParallelConfig)

    @model_validator(mode="after")
    def _sections_agree(self, info: ValidationInfo) -> Params:
        sections = [v for v in (getattr(self, n) for n in type(self).model_fields)
                    if isinstance(v, Section)]
        problems = [p for section in sections for p in section.cross_checks(self)]
        if info.context and info.context.get(VARIANT):
            problems = [p for p in problems if not p.inert]
        if not problems:
            problems = [p for section in sections for p in section.variant_checks(self)]
        raise_problems(problems)
        return self

    def inert_problems(self) -> list[Problem]:
        """The inert problems of these parameters (:attr:`Problem.inert`: values that do
        nothing, such as a step schedule that never fires): none for params.yaml itself (they
        are refused), possibly some for a variant (a tuning trial, a compare value)."""
        sections = [v for v in (getattr(self, n) for n in type(self).model_fields)
                    if isinstance(v, Section)]
        return [p for section in sections for p in section.cross_checks(self) if p.inert]

    @property
    def task(self) -> str:
        """``model.task``: regression or classification."""
        return self.model.task
