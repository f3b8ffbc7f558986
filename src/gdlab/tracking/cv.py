"""Log a cross-validation result: one nested run per fold, summaries and refit on the parent.

Workers never log (SQLite does not like several writers); the parent process logs everything
here after the folds return. Every run carries its curves under the same keys
(``train_loss``, ``val_loss``, ``learning_rate``, ``grad_norm``, ``step=epoch``) so the MLflow
UI overlays them.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from mlflow.entities import RunStatus
from mlflow.tracking import MlflowClient
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID, MLFLOW_RUN_NAME

from gdlab.experiment import CVResult, FitOutcome, FoldResult
from gdlab.tracking.batching import curve_metrics, log_metrics, log_params, log_tags, scalar_metrics


def fold_metrics(fold: FoldResult) -> dict[str, float]:
    """Final values of a fold run: validation scores (``val_<metric>``), epochs, fit time."""
    values = {f"val_{name}": value for name, value in fold.scores.items()}
    values.update({"n_iter": fold.n_iter, "fit_time_s": fold.fit_time})
    return values


def cv_summary_metrics(cv: CVResult) -> dict[str, float]:
    """Parent-run summaries: ``cv_<metric>_mean`` / ``cv_<metric>_std`` and mean epochs."""
    values: dict[str, float] = {}
    for name, mean in cv.mean().items():
        values[f"cv_{name}_mean"] = mean
        values[f"cv_{name}_std"] = cv.std()[name]
    values["cv_n_iter_mean"] = sum(f.n_iter for f in cv.folds) / max(len(cv.folds), 1)
    return values


def log_fold_runs(
    client: MlflowClient,
    experiment_id: str,
    parent_run_id: str,
    cv: CVResult,
    params: Mapping[str, Any],
    tags: Mapping[str, str] | None = None,
) -> list[str]:
    """Create one finished child run per fold under ``parent_run_id``; returns their ids."""
    run_ids = []
    for fold in cv.folds:
        end = int(time.time() * 1000)
        run = client.create_run(
            experiment_id,
            start_time=end - int(fold.fit_time * 1000),
            tags={
                MLFLOW_PARENT_RUN_ID: parent_run_id,
                MLFLOW_RUN_NAME: f"fold-{fold.fold}",
                "gdlab.fold": str(fold.fold),
            },
        )
        run_id = run.info.run_id
        try:
            log_tags(client, run_id, dict(tags or {}))
            log_params(client, run_id, {**params, "cv.fold": fold.fold, "cv.n_train": fold.n_train})
            log_metrics(
                client,
                run_id,
                curve_metrics(fold.curves, end) + scalar_metrics(fold_metrics(fold), 0, end),
            )
        except BaseException:
            client.set_terminated(run_id, RunStatus.to_string(RunStatus.FAILED))
            raise
        client.set_terminated(run_id, RunStatus.to_string(RunStatus.FINISHED), end_time=end)
        run_ids.append(run_id)
    return run_ids


def log_training(client: MlflowClient, parent_run_id: str, cv: CVResult, refit: FitOutcome) -> None:
    """Parent run: CV summaries, and the refit's curves (same keys as the folds) and epochs."""
    now = int(time.time() * 1000)
    finals = {**cv_summary_metrics(cv), "n_iter": refit.n_iter, "fit_time_s": refit.fit_time}
    log_metrics(
        client,
        parent_run_id,
        curve_metrics(refit.curves, now) + scalar_metrics(finals, 0, now),
    )
