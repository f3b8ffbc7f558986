"""The sections of ``params.yaml``, one class each (see :class:`gdlab.config.base.Section`)."""

from gdlab.config.sections.compare import CompareConfig
from gdlab.config.sections.data import DataConfig, SyntheticConfig
from gdlab.config.sections.live import LiveConfig
from gdlab.config.sections.model import ModelConfig, PreprocessConfig
from gdlab.config.sections.optimizer import OptimizerConfig, ScheduleConfig
from gdlab.config.sections.tracking import RegisterConfig, TrackingConfig
from gdlab.config.sections.train import CVConfig, TrainConfig
from gdlab.config.sections.tune import HeatmapConfig, SearchDimension, TuneConfig

__all__ = [
    "CVConfig",
    "CompareConfig",
    "DataConfig",
    "LiveConfig",
    "HeatmapConfig",
    "ModelConfig",
    "OptimizerConfig",
    "PreprocessConfig",
    "RegisterConfig",
    "ScheduleConfig",
    "SearchDimension",
    "SyntheticConfig",
    "TrackingConfig",
    "TrainConfig",
    "TuneConfig",
]
