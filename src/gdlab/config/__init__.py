"""gdlab.config: the one pydantic schema of ``params.yaml``, validated once.

p = load_params("params.yaml")        # ConfigError lists every problem as "key.path: ..."
p.optimizer.learning_rate             # attribute names are the YAML keys
estimator_kwargs(p)                   # GDRegressor / GDClassifier arguments
flatten_params(p)                     # {"optimizer.learning_rate": 0.01, ...} for MLflow
"""

from gdlab.config.base import Section, StrictModel, section_field
from gdlab.config.docs import iter_fields, json_schema, parameter_table_markdown
from gdlab.config.errors import ConfigError, Problem
from gdlab.config.export import estimator_kwargs, flatten_params, resolved_dump
from gdlab.config.loader import (
    empty_params_warning,
    load_params,
    read_yaml,
    validate_params,
    with_overrides,
)
from gdlab.config.optimizers import OPTIMIZER_PARAMS
from gdlab.config.schedules import SCHEDULE_PARAMS
from gdlab.config.schema import Params
from gdlab.config.sections.data import BUNDLED_TASKS, SYNTHETIC_GROUP
from gdlab.config.sections.model import LOSSES
from gdlab.config.sections.tracking import DEFAULT_METRIC, METRICS

__all__ = [
    "BUNDLED_TASKS",
    "DEFAULT_METRIC",
    "LOSSES",
    "METRICS",
    "OPTIMIZER_PARAMS",
    "SCHEDULE_PARAMS",
    "SYNTHETIC_GROUP",
    "ConfigError",
    "Params",
    "Problem",
    "Section",
    "StrictModel",
    "empty_params_warning",
    "estimator_kwargs",
    "flatten_params",
    "iter_fields",
    "json_schema",
    "load_params",
    "parameter_table_markdown",
    "read_yaml",
    "resolved_dump",
    "section_field",
    "validate_params",
    "with_overrides",
]
