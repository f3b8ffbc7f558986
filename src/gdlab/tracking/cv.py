"""Log a cross-validation result: one nested run per fold, summaries and refit on the parent.

Workers never log (SQLite does not like several writers); the parent process logs everything
here after the folds return. Every run carries its curves under the same keys
(``train_loss``, ``val_loss``, ``learning_rate``, ``grad_norm``, ``step=epoch`` counted from 0,
each point stamped with the time its epoch ended) so the MLflow UI overlays them.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping, Sequence
from typing import Any

from mlflow.entities import RunStatus
from mlflow.tracking import MlflowClient
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID, MLFLOW_RUN_NAME

from gdlab.experiment import CVResult, FitOutcome, FoldResult
from gdlab.experiment.fitcheck import diagnose_fit, fold_fit
from gdlab.tracking.batching import (
    curve_metrics,
    log_run_data,
    scalar_metrics,
)
from gdlab.tracking.children import stopped_status
from gdlab.tracking.run_kind import FOLD, RUN_KIND_TAG


def fold_metrics(
    fold: FoldResult, task: str = "", early_stopping: bool = False
) -> dict[str, float]:
    """Final values of a fold run: validation scores (``val_<metric>``), scores on its own
    training rows (``train_<metric>``), epochs, fit time and, given the ``task``, the epoch
    of its lowest validation loss (``best_epoch``, counted from 1)."""
    values = {f"val_{name}": value for name, value in fold.scores.items()}
    values.update({f"train_{name}": value for name, value in fold.train_scores.items()})
    values.update({"n_iter": fold.n_iter, "fit_time_s": fold.fit_time})
    best = fold_fit(fold, task, early_stopping).best_epoch if task else None
    if best is not None:
        values["best_epoch"] = best
    return values


def cv_summary_metrics(cv: CVResult) -> dict[str, float]:
    """Parent-run summaries: ``cv_<metric>_mean`` / ``cv_<metric>_std`` and mean epochs."""
    values: dict[str, float] = {}
    for name, mean in cv.mean().items():
        values[f"cv_{name}_mean"] = mean
        values[f"cv_{name}_std"] = cv.std()[name]
    values["cv_n_iter_mean"] = sum(f.n_iter for f in cv.folds) / max(len(cv.folds), 1)
    if any(f.train_scores for f in cv.folds):  # the over-/under-fitting diagnosis's numbers
        diagnosis = diagnose_fit(cv)
        for name, spread in diagnosis.gap().items():
            values[f"cv_gap_{name}_mean"] = spread["mean"]
            values[f"cv_gap_{name}_std"] = spread["std"]
        best = diagnosis.best_epoch()
        values["cv_best_epoch_mean"], values["cv_best_epoch_std"] = best["mean"], best["std"]
    return values


def fold_run_tags(
    parent_run_id: str, fold: int, tags: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Tags of fold ``fold``'s child run: ``tags`` (the parent's lineage,
    :func:`~gdlab.tracking.lineage.child_tags`), its parent, name, fold number and kind
    (``gdlab.run_kind: fold``)."""
    return {**(tags or {}), MLFLOW_PARENT_RUN_ID: parent_run_id, MLFLOW_RUN_NAME: f"fold-{fold}",
            "gdlab.fold": str(fold), RUN_KIND_TAG: FOLD}


def start_fold_runs(
    client: MlflowClient,
    experiment_id: str,
    parent_run_id: str,
    folds: Sequence[int],
    tags: Mapping[str, str] | None = None,
) -> dict[int, str]:
    """Create the fold runs before training (RUNNING, for live curves), tagged with ``tags``
    too; ``{fold: run_id}`` to pass to :func:`log_fold_runs` as ``run_ids``."""
    return {
        k: client.create_run(experiment_id, tags=fold_run_tags(parent_run_id, k, tags)).info.run_id
        for k in folds
    }


def _from(curves: Mapping[str, Any], epoch: int) -> dict[str, list]:
    """``curves`` without the first ``epoch`` points (already logged live), as ``None``."""
    return {k: [None] * min(epoch, len(v)) + list(v)[epoch:] for k, v in curves.items()}


def log_fold_runs(
    client: MlflowClient,
    experiment_id: str,
    parent_run_id: str,
    cv: CVResult,
    params: Mapping[str, Any],
    tags: Mapping[str, str] | None = None,
    *,
    run_ids: Mapping[int, str] | None = None,
    logged: Mapping[str, int] | None = None,
) -> list[str]:
    """Create one finished child run per fold under ``parent_run_id``, tagged with ``tags``
    (or finish the runs ``run_ids[fold]`` made by :func:`start_fold_runs`, with ``tags`` in
    their final batch); returns their ids. ``logged[run_id]`` epochs of a run's curves
    already reached MLflow (live) and are not logged again."""
    finished: list[str] = []
    run_id: str | None = None
    try:
        for fold in cv.folds:
            end = int(time.time() * 1000)
            run_id = None
            late_tags = dict(tags or {})  # in create_run when the run is made here
            if run_ids and fold.fold in run_ids:
                run_id = run_ids[fold.fold]
            else:
                late_tags = {}
                fit_end = int(fold.epoch_ends[-1] * 1000) if fold.epoch_ends else end
                run_id = client.create_run(
                    experiment_id,
                    start_time=min(fit_end, end) - int(fold.fit_time * 1000),
                    tags=fold_run_tags(parent_run_id, fold.fold, tags),
                ).info.run_id
            curves = _from(fold.curves, (logged or {}).get(run_id, 0))
            # one log_batch for the fold's tags, params and metrics (unless beyond limits)
            log_run_data(
                client,
                run_id,
                tags=late_tags,
                params={**params, "cv.fold": fold.fold, "cv.n_train": fold.n_train},
                metrics=curve_metrics(curves, end, fold.epoch_ends)
                + scalar_metrics(fold_metrics(fold, cv.task, cv.early_stopping), 0, end),
            )
            client.set_terminated(run_id, RunStatus.to_string(RunStatus.FINISHED), end_time=end)
            finished.append(run_id)
    except BaseException as exc:  # the fold being logged and those not logged yet end too
        pending = [r for r in (run_id, *(run_ids or {}).values()) if r and r not in finished]
        for stopped in dict.fromkeys(pending):
            with contextlib.suppress(Exception):  # the store may be what failed
                client.set_terminated(stopped, stopped_status(exc))
        raise
    return finished


def log_training(
    client: MlflowClient,
    parent_run_id: str,
    cv: CVResult,
    refit: FitOutcome,
    *,
    logged: int = 0,
    tags: Mapping[str, Any] | None = None,
) -> int:
    """Parent run: CV summaries, and the refit's curves (same keys as the folds) and epochs;
    the first ``logged`` epochs of the curves already reached MLflow (live). ``tags`` (e.g. the
    run's description with the CV score) go in the same ``log_batch`` calls.

    The summaries are logged at the refit's last epoch, which is returned: the step to log the
    refit's model at (:func:`~gdlab.tracking.model.log_sklearn_model`), so that MLflow links
    to the model the final point of each curve and the summaries, not the first epoch's."""
    now = int(time.time() * 1000)
    step = final_step(refit)
    finals = {**cv_summary_metrics(cv), "n_iter": refit.n_iter, "fit_time_s": refit.fit_time}
    log_run_data(
        client,
        parent_run_id,
        tags=tags,
        metrics=curve_metrics(_from(refit.curves, logged), now, refit.epoch_ends)
        + scalar_metrics(finals, step, now),
    )
    return step


def final_step(refit: FitOutcome) -> int:
    """The refit's last epoch as an MLflow step (epochs count from 0)."""
    return max(refit.n_iter - 1, 0)
