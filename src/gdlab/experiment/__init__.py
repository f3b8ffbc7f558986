"""Cross-validation of gdlab's estimator pipeline: folds, parallel fits, scores, refit.

Returns plain dataclasses (histories and scores); logging and file output live in
``gdlab.tracking`` and ``gdlab.reporting``.

The names are imported on first use (:mod:`gdlab.lazy`): the data stages import
:mod:`gdlab.experiment.progress` for their progress lines without the estimators or the
engine.
"""

from typing import TYPE_CHECKING

from gdlab.lazy import lazy_exports

if TYPE_CHECKING:  # the real imports, for type checkers and IDEs
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

__getattr__, __dir__ = lazy_exports(__name__, {
    "CVResult": "gdlab.experiment.cv",
    "FoldResult": "gdlab.experiment.cv",
    "cross_validate": "gdlab.experiment.cv",
    "input_example": "gdlab.experiment.example",
    "Fold": "gdlab.experiment.folds",
    "make_folds": "gdlab.experiment.folds",
    "is_better": "gdlab.experiment.metrics",
    "metric_names": "gdlab.experiment.metrics",
    "resolve_metric": "gdlab.experiment.metrics",
    "score": "gdlab.experiment.metrics",
    "score_rows": "gdlab.experiment.metrics",
    "CURVE_KEYS": "gdlab.experiment.model",
    "FitOutcome": "gdlab.experiment.model",
    "build_pipeline": "gdlab.experiment.model",
    "fit_pipeline": "gdlab.experiment.model",
    "fit_pipeline_rows": "gdlab.experiment.model",
    "describe_tuned": "gdlab.experiment.overrides",
    "load_overrides": "gdlab.experiment.overrides",
    "trained_params": "gdlab.experiment.overrides",
    "trained_values": "gdlab.experiment.overrides",
    "TrainingResult": "gdlab.experiment.training",
    "as_frame": "gdlab.experiment.training",
    "decode_target": "gdlab.experiment.training",
    "run_training": "gdlab.experiment.training",
})
