"""Hyper-parameter search and learning-rate guidance (no MLflow here: see
:mod:`gdlab.tuning.tracking` for the adapter the tune stage uses).

plan = plan_search(params, X, y, storage=resolve_storage(params.tune.storage, root))
outcome = run_search(plan, on_trial=print)     # resumes the study when it exists
outcome.best_params()                          # {"optimizer.learning_rate": 0.0123, ...}
"""

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
