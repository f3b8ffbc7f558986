"""Nested runs (fold, trial and variant runs) end with their parent run.

A stage creates its nested runs RUNNING (the train stage's fold runs before training, so their
curves stream live) and finishes them when their data is logged. Whatever stops the stage in
between (an exception, Ctrl-C, SIGTERM) reaches :func:`~gdlab.tracking.runs.pipeline_run`,
which ends the nested runs still RUNNING with the parent's own status
(:func:`end_running_children`) before it ends the parent. Runs a crashed or older process left
RUNNING under a parent that has ended are found by :func:`end_abandoned_children`, which
:func:`~gdlab.tracking.orphans.end_orphans` calls whenever a stage starts a new run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from mlflow.entities import Run, RunStatus
from mlflow.tracking import MlflowClient

from gdlab.tracking.batching import log_tags

PARENT_TAG = "mlflow.parentRunId"
_ENDED = {RunStatus.to_string(s) for s in (RunStatus.FINISHED, RunStatus.FAILED, RunStatus.KILLED)}


def stopped_status(exc: BaseException) -> str:
    """The status of a run that ``exc`` stopped, as :func:`~gdlab.tracking.runs.pipeline_run`
    ends the parent: ``KILLED`` for an interrupt (Ctrl-C, or SIGINT/SIGTERM raised as
    :class:`~gdlab.tracking.runs.RunInterrupted`), ``FAILED`` for anything else."""
    return RunStatus.to_string(
        RunStatus.KILLED if isinstance(exc, KeyboardInterrupt) else RunStatus.FAILED
    )


def running_children(client: MlflowClient, experiment_id: str, parent_run_id: str) -> list[str]:
    """Ids of the RUNNING runs of ``experiment_id`` nested under ``parent_run_id``."""
    found = client.search_runs(
        [experiment_id],
        f"attributes.status = 'RUNNING' and tags.{PARENT_TAG} = '{parent_run_id}'",
        max_results=1000,
    )
    return [run.info.run_id for run in found]


def end_running_children(
    client: MlflowClient,
    experiment_id: str,
    parent_run_id: str,
    status: str,
    tags: Mapping[str, str] | None = None,
) -> list[str]:
    """End the nested runs of ``parent_run_id`` still RUNNING with ``status`` (``tags`` set on
    each first); their ids."""
    ended = running_children(client, experiment_id, parent_run_id)
    for run_id in ended:
        if tags:
            log_tags(client, run_id, dict(tags))
        client.set_terminated(run_id, status)
    return ended


def end_abandoned_children(
    client: MlflowClient, experiment_id: str, *, running: Sequence[Run] | None = None
) -> list[str]:
    """End the RUNNING nested runs of ``experiment_id`` whose parent run has ended: with the
    parent's status when it failed or was killed, KILLED when it finished (a nested run still
    RUNNING then was never finished), tagged ``gdlab.failure_kind: lost`` with the reason;
    their ids. Nested runs of a parent still RUNNING, or of one the store no longer holds, are
    left alone. ``running``: the experiment's RUNNING runs when the caller has searched them
    already (:func:`~gdlab.tracking.orphans.end_orphans`); a parent among them is running,
    and only the parent of a nested run outside them is read."""
    from gdlab.tracking.orphans import LOST
    from gdlab.tracking.runs import FAILURE_KIND_TAG, FAILURE_TAG

    if running is None:
        running = client.search_runs(
            [experiment_id], "attributes.status = 'RUNNING'", max_results=1000
        )
    running_status = RunStatus.to_string(RunStatus.RUNNING)
    parents: dict[str, str | None] = dict.fromkeys(
        (r.info.run_id for r in running), running_status
    )
    nested = [r for r in running if r.data.tags.get(PARENT_TAG)]
    ended = []
    for run in nested:
        parent_id = run.data.tags[PARENT_TAG]
        if parent_id not in parents:
            try:
                parents[parent_id] = client.get_run(parent_id).info.status
            except Exception:  # noqa: BLE001 - deleted for good, or unreadable: leave it
                parents[parent_id] = None
        parent_status = parents[parent_id]
        if parent_status not in _ENDED:
            continue
        reason = (
            f"its parent run {parent_id} ended {parent_status} and left it RUNNING (its stage "
            "was stopped before it could end it); nothing it had not finished was kept"
        )
        log_tags(client, run.info.run_id, {FAILURE_TAG: reason, FAILURE_KIND_TAG: LOST})
        finished = parent_status == RunStatus.to_string(RunStatus.FINISHED)
        client.set_terminated(
            run.info.run_id,
            RunStatus.to_string(RunStatus.KILLED) if finished else parent_status,
        )
        ended.append(run.info.run_id)
    return ended
