"""The sections of ``params.yaml``, one class each (see :class:`gdlab.config.base.Section`)."""

from gdlab.config.sections.data import DataConfig, SyntheticConfig
from gdlab.config.sections.model import ModelConfig, PreprocessConfig
from gdlab.config.sections.optimizer import OptimizerConfig, ScheduleConfig
from gdlab.config.sections.tracking import RegisterConfig, TrackingConfig
from gdlab.config.sections.train import CVConfig, TrainConfig

__all__ = [
    "CVConfig",
    "DataConfig",
    "ModelConfig",
    "OptimizerConfig",
    "PreprocessConfig",
    "RegisterConfig",
    "ScheduleConfig",
    "SyntheticConfig",
    "TrackingConfig",
    "TrainConfig",
]
