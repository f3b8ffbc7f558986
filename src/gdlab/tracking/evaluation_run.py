"""Which MLflow run evaluate and register write to: train's run, or an evaluation run of its own.

evaluate and register reopen train's run (``models/run.json``) when they run under what that
run records: the same DVC experiment (``DVC_EXP_NAME``, the run's ``dvc.exp_name`` tag; none
for ``dvc repro``) and the same evaluate-stage parameters (:data:`EVALUATE_SECTIONS`, the
``params`` dvc.yaml lists for evaluate, as the run logged them). When DVC reuses a cached
train for another experiment, or reruns only evaluate after an evaluate-stage parameter
changed, appending to that run would mix two evaluations in one metric history under params
and an experiment name that are not this evaluation's. They then write to an evaluation run
instead: a child of the train run (``mlflow.parentRunId``), tagged :data:`TRAIN_RUN_TAG` with
its id, named and tagged after the current experiment, with the current params logged as
train's run logs them, found again by :data:`EVALUATION_KEY_TAG` (the experiment and the
evaluate-stage params) so that the same experiment and params evaluated again reuse it.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlflow.entities import Run
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

from gdlab.tracking.batching import _param_value
from gdlab.tracking.lineage import child_tags
from gdlab.tracking.run_kind import EVALUATION, RUN_KIND_TAG

EVALUATE_SECTIONS = ("tracking", "metrics", "fairness", "model_card", "register", "data.pii")
"""The parameters evaluate depends on (dvc.yaml's evaluate ``params``): a change of one of them
reruns evaluate and register without train."""
TRAIN_RUN_TAG = "gdlab.train_run_id"
"""On an evaluation run: the id of the train run that holds the model it evaluated."""
EVALUATION_KEY_TAG = "gdlab.evaluation_key"
"""On an evaluation run: sha256 of the DVC experiment and the evaluate-stage params."""
EVALUATION_RUN_TAG = "gdlab.evaluation_run_id"
"""On a model version registered after an evaluation run: that run's id (its test metrics,
model card and the registration's decision)."""
EXP_NAME_TAG = "dvc.exp_name"


@dataclass(frozen=True)
class Evaluation:
    """What an evaluation runs under: the DVC experiment (None outside one) and the
    evaluate-stage params as MLflow logs them (strings)."""

    exp_name: str | None
    params: dict[str, str]

    @property
    def key(self) -> str:
        text = json.dumps({"exp_name": self.exp_name, "params": self.params}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()


def _in_sections(key: str) -> bool:
    return any(key == s or key.startswith(f"{s}.") for s in EVALUATE_SECTIONS)


def current_evaluation(flat_params: dict[str, Any]) -> Evaluation:
    """The evaluation of this process: ``DVC_EXP_NAME`` and the evaluate-stage entries of
    ``flat_params`` (:func:`gdlab.config.flatten_params` of the params evaluate read)."""
    params = {k: _param_value(v) for k, v in flat_params.items() if _in_sections(k)}
    return Evaluation(os.environ.get("DVC_EXP_NAME") or None, params)


def records(run: Run, evaluation: Evaluation) -> bool:
    """Whether train run ``run`` records ``evaluation``: its experiment tag and its params of
    the evaluate stage are the evaluation's (a param it lacks is a difference)."""
    if (run.data.tags.get(EXP_NAME_TAG) or None) != evaluation.exp_name:
        return False
    return _records_params(run, evaluation)


def find_evaluation_run(client: MlflowClient, train_run: Run, evaluation: Evaluation) -> str | None:
    """The id of the latest FINISHED evaluation run of ``train_run`` made under ``evaluation``,
    or None (one a failed or interrupted attempt left is not reopened: a new one is made)."""
    found = client.search_runs(
        [train_run.info.experiment_id],
        f"tags.`{TRAIN_RUN_TAG}` = '{train_run.info.run_id}' and "
        f"tags.`{EVALUATION_KEY_TAG}` = '{evaluation.key}' and attributes.status = 'FINISHED'",
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    return found[0].info.run_id if found else None


@dataclass(frozen=True)
class Target:
    """Where evaluate logs: ``run_id`` to reopen (train's or an earlier evaluation run), or
    None: a new evaluation run is to be made (:func:`new_run_tags`, :func:`new_run_name`)."""

    run_id: str | None
    train_run: Run
    evaluation: Evaluation

    @property
    def separate(self) -> bool:
        """Whether the evaluation is not logged to the train run."""
        return self.run_id != self.train_run.info.run_id


def target(client: MlflowClient, train_run_id: str, evaluation: Evaluation) -> Target:
    """The run ``evaluation`` of train run ``train_run_id`` goes to: the train run when it
    :func:`records` the evaluation, else its evaluation run made under it (None if none yet)."""
    train_run = client.get_run(train_run_id)
    if records(train_run, evaluation):
        return Target(train_run_id, train_run, evaluation)
    return Target(find_evaluation_run(client, train_run, evaluation), train_run, evaluation)


HANDLE_FILE = "evaluation_run.json"
"""evaluate's record, in ``reports/``, of the run it logged to (register's dependency)."""


def handle_document(where: Target, run_id: str) -> dict[str, str]:
    """What evaluate writes to :data:`HANDLE_FILE`: the train run and the run ``run_id`` it
    logged this evaluation to (the train run's own, or its evaluation run)."""
    return {"train_run_id": where.train_run.info.run_id, "run_id": run_id}


def _records_params(run: Run, evaluation: Evaluation) -> bool:
    logged = run.data.params
    return all(logged.get(k) == v for k, v in evaluation.params.items())


def logged_target(client: MlflowClient, train_run_id: str, handle: Path,
                  evaluation: Evaluation) -> Target:
    """The run evaluate logged this evaluation to, as its ``handle`` (:data:`HANDLE_FILE`)
    names it when that is train run ``train_run_id`` or one of its evaluation runs and
    records the same evaluate-stage params: register reopens it whatever DVC experiment it
    runs under now (a register retried after it failed, under a new ``dvc exp run`` name or
    by ``dvc repro``, reruns alone; :func:`target` would look for an evaluation of the new
    name, which none made). Else :func:`target` (a handle of another train run, or none)."""
    try:
        named = json.loads(Path(handle).read_text())
        run_id = str(named["run_id"]) if named.get("train_run_id") == train_run_id else None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        run_id = None
    if run_id is None:
        return target(client, train_run_id, evaluation)
    train_run = client.get_run(train_run_id)
    try:
        run = train_run if run_id == train_run_id else client.get_run(run_id)
    except MlflowException:  # deleted since
        return target(client, train_run_id, evaluation)
    ours = run is train_run or run.data.tags.get(TRAIN_RUN_TAG) == train_run_id
    active = run.info.lifecycle_stage == "active"  # one deleted in the UI cannot be reopened
    if ours and active and run.info.status == "FINISHED" and _records_params(run, evaluation):
        return Target(run_id, train_run, evaluation)
    return target(client, train_run_id, evaluation)


def new_run_name(train_run: Run, evaluation: Evaluation) -> str:
    """The DVC experiment's name, else ``<train run's name>-evaluate``."""
    if evaluation.exp_name:
        return evaluation.exp_name
    return f"{train_run.info.run_name or train_run.info.run_id}-evaluate"


def new_run_tags(train_run: Run, evaluation: Evaluation) -> dict[str, str]:
    """The tags of a new evaluation run: the train run's lineage (commit, data) without its
    DVC experiment, this one's, the stage, the link to the train run and the evaluation key."""
    tags = {k: v for k, v in child_tags(train_run.data.tags).items() if not k.startswith("dvc.")}
    for env, tag in (("DVC_EXP_NAME", EXP_NAME_TAG),
                     ("DVC_EXP_BASELINE_REV", "dvc.exp_baseline_rev")):
        if os.environ.get(env):
            tags[tag] = os.environ[env]
    for key in ("gdlab.task", "gdlab.model_id"):
        if train_run.data.tags.get(key):
            tags[key] = train_run.data.tags[key]
    tags.update({
        "gdlab.stage": "evaluate",
        RUN_KIND_TAG: EVALUATION,
        TRAIN_RUN_TAG: train_run.info.run_id,
        EVALUATION_KEY_TAG: evaluation.key,
        MLFLOW_PARENT_RUN_ID: train_run.info.run_id,
    })
    return tags


def tag_evaluation_run(client: MlflowClient, decision: Any, run_id: str | None, *,
                       reused: bool = False) -> None:
    """Tag the version ``decision`` registered (or kept) with the evaluation run ``run_id``
    its test metric and decision come from; None (train's run): drop such a tag an earlier
    registration left. ``reused``: the version was registered from another train run (a
    byte-identical model): it keeps that run's evaluation, card and tags, untouched."""
    if reused:
        return
    name, version = decision.model_name, decision.version
    if run_id is not None:
        client.set_model_version_tag(name, version, EVALUATION_RUN_TAG, run_id)
    elif EVALUATION_RUN_TAG in (client.get_model_version(name, version).tags or {}):
        client.delete_model_version_tag(name, version, EVALUATION_RUN_TAG)
