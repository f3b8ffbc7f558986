"""What kind of run a gdlab run is: the tag ``gdlab.run_kind`` every run gdlab makes carries.

``gdlab.stage`` says which stage made a run, and a stage makes several kinds (train: the run
of the model and one per fold); ``params.optimizer.name = 'adam'`` matches folds, trials and
the tune and compare runs too. One filter finds each kind, e.g. the training run of every
experiment: ``mlflow.search_runs(filter_string="tags.gdlab.run_kind = 'model'")``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

RUN_KIND_TAG = "gdlab.run_kind"
MODEL = "model"
"""The train stage's run: the refit on every training row, its model (evaluate and register
reopen it: its test metrics, its registered version)."""
FOLD = "fold"
"""One cross-validation fold, nested in the :data:`MODEL` run."""
TUNE = "tune"
"""The tune stage's run: the search, its best trial and figures."""
TRIAL = "trial"
"""One trial of the search, nested in the :data:`TUNE` run."""
COMPARE = "compare"
"""The compare stage's run: the comparison's summary and figures."""
VARIANT = "variant"
"""One compared variant, nested in the :data:`COMPARE` run."""
EVALUATION = "evaluation"
"""evaluate's and register's run when train's run records another DVC experiment or other
evaluate-stage params (:mod:`gdlab.tracking.evaluation_run`), nested in the :data:`MODEL`
run."""
RUN_KINDS = (MODEL, FOLD, TUNE, TRIAL, COMPARE, VARIANT, EVALUATION)


def without_keys(flat: Mapping[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    """``flat`` (dotted params) without ``keys`` and what lies under them (``optimizer``
    drops ``optimizer.name`` too): a tune or compare run tried several values of the keys it
    searched or compared, so it does not log params.yaml's single one as its own."""
    dropped = tuple(keys)
    return {
        k: v for k, v in flat.items()
        if not any(k == key or k.startswith(f"{key}.") for key in dropped)
    }
