"""Hyper-parameter search and learning-rate guidance (no MLflow here: see
:mod:`gdlab.tuning.tracking` for the adapter the tune stage uses).

plan = plan_search(params, X, y, storage=resolve_storage(params.tune.storage, root))
outcome = run_search(plan, on_trial=print)     # resumes the study when it exists
outcome.best_params()                          # {"optimizer.learning_rate": 0.0123, ...}

The names are imported on first use (:mod:`gdlab.lazy`): the tune stage with
``tune.enabled: false`` imports :mod:`gdlab.tuning.report` without Optuna or the search.
"""

from typing import TYPE_CHECKING

from gdlab.lazy import lazy_exports

if TYPE_CHECKING:  # the real imports, for type checkers and IDEs
    from gdlab.tuning.objective import CVObjective, TrialRecord
    from gdlab.tuning.search import (
        SearchOutcome,
        SearchPlan,
        plan_heatmap,
        plan_search,
        run_one_trial,
        run_search,
        trials_table,
    )
    from gdlab.tuning.space import Space, config_key, grid_values
    from gdlab.tuning.study import StudySpec, open_storage, recover_interrupted, resolve_storage

__all__ = [
    "CVObjective",
    "SearchOutcome",
    "SearchPlan",
    "Space",
    "StudySpec",
    "TrialRecord",
    "config_key",
    "grid_values",
    "open_storage",
    "plan_heatmap",
    "plan_search",
    "recover_interrupted",
    "resolve_storage",
    "run_one_trial",
    "run_search",
    "trials_table",
]

__getattr__, __dir__ = lazy_exports(__name__, {
    "CVObjective": "gdlab.tuning.objective",
    "TrialRecord": "gdlab.tuning.objective",
    "SearchOutcome": "gdlab.tuning.search",
    "SearchPlan": "gdlab.tuning.search",
    "plan_heatmap": "gdlab.tuning.search",
    "plan_search": "gdlab.tuning.search",
    "run_one_trial": "gdlab.tuning.search",
    "run_search": "gdlab.tuning.search",
    "trials_table": "gdlab.tuning.search",
    "Space": "gdlab.tuning.space",
    "config_key": "gdlab.tuning.space",
    "grid_values": "gdlab.tuning.space",
    "StudySpec": "gdlab.tuning.study",
    "open_storage": "gdlab.tuning.study",
    "recover_interrupted": "gdlab.tuning.study",
    "resolve_storage": "gdlab.tuning.study",
})
