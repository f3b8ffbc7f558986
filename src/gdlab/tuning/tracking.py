"""MLflow adapter of a search: one nested run per trial under the tuning parent run.

Only the parent process calls this (trials run in workers return records), so one process
writes the SQLite store. A trial run carries its searched parameters, per-fold scores
(``fold_<metric>``, step = fold), mean per-epoch curves (``train_loss`` / ``val_loss``, step =
epoch, one ``log_batch``), its CV score under the train run's names (``cv_<metric>_mean`` and
``cv_<metric>_std``, :func:`trial_cv_metrics`), and its state: status FINISHED
(complete), KILLED (pruned) or FAILED, with the tag ``gdlab.trial_state`` = COMPLETE / PRUNED /
FAIL. Trials finished by an earlier, killed run of the stage are logged on the next run; a
trial already logged by any search of the study (its uid and number tags) is not logged again.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
from mlflow.entities import RunStatus
from mlflow.tracking import MlflowClient
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID, MLFLOW_RUN_NAME

from gdlab.tracking import curve_metrics, log_metrics, log_params, log_tags
from gdlab.tracking.batching import scalar_metrics
from gdlab.tracking.children import stopped_status
from gdlab.tracking.run_kind import RUN_KIND_TAG, TRIAL
from gdlab.tuning.objective import TrialRecord, record_from_trial

STUDY_TAG = "gdlab.study"
UID_TAG = "gdlab.study_uid"
NUMBER_TAG = "gdlab.trial_number"
STATE_TAG = "gdlab.trial_state"
BEST_TAG = "gdlab.best_trial"
RUN_STATUS = {
    "COMPLETE": RunStatus.FINISHED,
    "PRUNED": RunStatus.KILLED,
    "FAIL": RunStatus.FAILED,
}


class TrialLogger:
    """Logs trials of one study (``study_name``, told apart from an older study of the same
    name by ``study_uid``) as children of ``parent_run_id``, each trial once, tagged with
    ``tags`` too (the parent's lineage, :func:`gdlab.tracking.lineage.child_tags`)."""

    def __init__(
        self,
        client: MlflowClient,
        experiment_id: str,
        parent_run_id: str,
        study_name: str,
        study_uid: str,
        metric: str,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        self.client, self.experiment_id = client, experiment_id
        self.tags = dict(tags or {})  # the parent's lineage, on every trial run
        self.parent_run_id, self.study_name, self.metric = parent_run_id, study_name, metric
        self.study_uid = study_uid
        self.run_ids: dict[int, str] = logged_trials(client, experiment_id, study_uid)

    def log(self, record: TrialRecord) -> str:
        """Create the finished run of one trial (no-op when that trial is already logged)."""
        if record.number in self.run_ids:
            return self.run_ids[record.number]
        end = int(time.time() * 1000)
        tags = {
            **self.tags,
            MLFLOW_PARENT_RUN_ID: self.parent_run_id,
            MLFLOW_RUN_NAME: f"trial-{record.number}",
            STUDY_TAG: self.study_name,
            UID_TAG: self.study_uid,
            NUMBER_TAG: str(record.number),
            STATE_TAG: record.state,
            RUN_KIND_TAG: TRIAL,
        }
        run = self.client.create_run(
            self.experiment_id, start_time=end - int(record.duration * 1000), tags=tags
        )
        run_id = run.info.run_id
        status = RUN_STATUS.get(record.state, RunStatus.FAILED)
        try:
            extra = {
                "gdlab.stopped_by": record.stopped_by,
                "gdlab.reason": record.reason,
                "gdlab.duplicate_of": record.duplicate_of,
            }
            log_tags(self.client, run_id, extra)
            log_params(self.client, run_id, {**record.params, "trial.number": record.number})
            values: dict[str, float] = {
                "fit_time_s": record.fit_time,
                "duration_s": record.duration,
                "n_folds_run": len(record.fold_scores),
            }
            values.update(trial_cv_metrics(self.metric, record))
            metrics = curve_metrics(record.curves, end) + scalar_metrics(values, 0, end)
            metrics += curve_metrics({f"fold_{self.metric}": record.fold_scores}, end)
            log_metrics(self.client, run_id, metrics)
        except BaseException as exc:  # KILLED on an interrupt, as the parent run
            with contextlib.suppress(Exception):  # the store may be what failed
                self.client.set_terminated(run_id, stopped_status(exc))
            raise
        self.client.set_terminated(run_id, RunStatus.to_string(status), end_time=end)
        self.run_ids[record.number] = run_id
        return run_id

    def log_missing(self, trials: list[Any], owner: str | None = None) -> list[str]:
        """Log finished trials no run holds yet (an earlier stage run was killed first).

        MLflow is read again first: searches on other hosts sharing the study log their own
        trials meanwhile, and those are not logged twice. With ``owner`` (this host), the
        trials another host's search ran (user attribute ``gdlab.owner``) are left to it even
        when not logged yet: it logs each as it finishes, or on its next run if it was
        killed first; logged here, its run would hold no curves."""
        from gdlab.tuning.study import OWNER

        self.refresh()
        return [
            self.log(record_from_trial(t, self.study_name))
            for t in trials
            if t.state.is_finished()
            and t.number not in self.run_ids
            and (owner is None or t.user_attrs.get(OWNER, owner) == owner)
        ]

    def refresh(self) -> None:
        """Take in the trial runs logged since (by searches of the study on other hosts)."""
        for number, run_id in logged_trials(
            self.client, self.experiment_id, self.study_uid
        ).items():
            self.run_ids.setdefault(number, run_id)

    def mark_best(self, number: int | None) -> str | None:
        """Tag trial ``number``'s run ``gdlab.best_trial=true`` (the tag moves off any run of
        the study that had it); returns that run's id, wherever it is (under another host's
        tuning run for its trials), or None when no run holds the trial yet."""
        found = self.client.search_runs(
            [self.experiment_id],
            filter_string=f"tags.{UID_TAG} = '{self.study_uid}' and tags.{BEST_TAG} = 'true'",
        )
        for run in found:
            self.client.set_tag(run.info.run_id, BEST_TAG, "false")
        if number is not None and number not in self.run_ids:  # another host's trial
            self.refresh()
        run_id = self.run_ids.get(number) if number is not None else None
        if run_id is not None:
            self.client.set_tag(run_id, BEST_TAG, "true")
        return run_id


def trial_cv_metrics(metric: str, record: TrialRecord) -> dict[str, float]:
    """A scored trial's CV score under the names the train run logs the same quantity
    (:func:`gdlab.tracking.cv.cv_summary_metrics`): ``cv_<metric>_mean`` (the trial's value)
    and, from its per-fold scores, ``cv_<metric>_std`` (ddof 0, as train's), so one MLflow
    column or chart holds trials and train runs. Nothing for a trial with no value (pruned,
    failed)."""
    if record.value is None:
        return {}
    values = {f"cv_{metric}_mean": float(record.value)}
    if record.fold_scores:
        values[f"cv_{metric}_std"] = float(np.std(record.fold_scores))
    return values


def logged_trials(client: MlflowClient, experiment_id: str, study_uid: str) -> dict[int, str]:
    """Trial number -> run id of the trials of study ``study_uid`` already in MLflow."""
    out: dict[int, str] = {}
    token = None
    while True:
        page = client.search_runs(
            [experiment_id],
            filter_string=f"tags.{UID_TAG} = '{study_uid}'",
            max_results=1000,
            page_token=token,
        )
        for run in page:
            number = run.data.tags.get(NUMBER_TAG)
            if number is not None:
                out.setdefault(int(number), run.info.run_id)
        token = page.token
        if not token:
            return out


def log_search_summary(
    client: MlflowClient,
    run_id: str,
    *,
    metric: str,
    counts: Mapping[str, int],
    best_value: float | None,
    best_params: Mapping[str, Any],
    extra_metrics: Mapping[str, float | None] | None = None,
    tags: Mapping[str, Any] | None = None,
) -> None:
    """The tuning parent run: trial counts per state, the best score and parameters
    (``best.<path>`` params), guidance numbers and tags."""
    values: dict[str, float] = {f"n_trials_{k.lower()}": v for k, v in counts.items()}
    values["n_trials"] = sum(counts.values())
    if best_value is not None:
        values[f"best_cv_{metric}"] = best_value
    values.update({k: v for k, v in (extra_metrics or {}).items() if v is not None})
    log_metrics(client, run_id, scalar_metrics(values))
    log_params(client, run_id, {f"best.{k}": v for k, v in best_params.items()})
    log_tags(client, run_id, dict(tags or {}))
