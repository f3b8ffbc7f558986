"""Cross-validation of gdlab's estimator pipeline: folds, parallel fits, scores, refit.

Returns plain dataclasses (histories and scores); logging and file output live in
``gdlab.tracking`` and ``gdlab.reporting``.
"""

from gdlab.experiment.cv import CVResult, FoldResult, cross_validate
from gdlab.experiment.example import input_example
from gdlab.experiment.folds import Fold, make_folds
from gdlab.experiment.metrics import is_better, metric_names, resolve_metric, score, score_rows
from gdlab.experiment.model import (
    CURVE_KEYS,
    FitOutcome,
    build_pipeline,
    fit_pipeline,
    fit_pipeline_rows,
)
from gdlab.experiment.overrides import (
    describe_tuned,
    load_overrides,
    trained_params,
    trained_values,
)
from gdlab.experiment.training import (
    TrainingResult,
    as_frame,
    decode_target,
    run_training,
)

__all__ = [
    "CURVE_KEYS",
    "CVResult",
    "FitOutcome",
    "Fold",
    "FoldResult",
    "TrainingResult",
    "as_frame",
    "build_pipeline",
    "cross_validate",
    "decode_target",
    "describe_tuned",
    "fit_pipeline",
    "fit_pipeline_rows",
    "input_example",
    "is_better",
    "load_overrides",
    "make_folds",
    "metric_names",
    "resolve_metric",
    "run_training",
    "score",
    "score_rows",
    "trained_params",
    "trained_values",
]
