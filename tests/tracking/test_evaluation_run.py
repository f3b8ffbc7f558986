"""Where evaluate logs: train's run only when it records this experiment and these evaluate
params; else an evaluation run found again by the experiment and those params."""

from __future__ import annotations

from pathlib import Path

import yaml

from gdlab.config import flatten_params, load_params
from gdlab.tracking import log_params
from gdlab.tracking.evaluation_run import (
    EVALUATE_SECTIONS,
    current_evaluation,
    handle_document,
    logged_target,
    new_run_tags,
    tag_evaluation_run,
    target,
)

REPO = Path(__file__).resolve().parents[2]


def test_the_sections_are_the_ones_dvc_reruns_evaluate_for():
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    [validated] = [entry["reports/validated_params.json"] for entry in stages["evaluate"]["params"]
                   if isinstance(entry, dict) and "reports/validated_params.json" in entry]
    assert tuple(validated) == EVALUATE_SECTIONS


def _train_run(session, flat, exp_name=None):
    tags = {"dvc.exp_name": exp_name} if exp_name else {}
    run = session.client.create_run(session.experiment_id, tags=tags)
    log_params(session.client, run.info.run_id, flat)
    session.client.set_terminated(run.info.run_id)
    return run.info.run_id


def test_train_run_is_the_target_only_under_its_experiment_and_params(session, monkeypatch):
    flat = flatten_params(load_params(REPO / "params.yaml"))
    run_id = _train_run(session, flat, exp_name="a")
    monkeypatch.setenv("DVC_EXP_NAME", "a")
    assert target(session.client, run_id, current_evaluation(flat)).run_id == run_id
    # a train-only param is not the evaluation's business (DVC reran train for it anyway)
    other_train = {**flat, "optimizer.learning_rate": 123.0}
    assert target(session.client, run_id, current_evaluation(other_train)).run_id == run_id

    changed = {**flat, "fairness.min_group_size": 31}
    found = target(session.client, run_id, current_evaluation(changed))
    assert found.run_id is None and found.separate
    monkeypatch.setenv("DVC_EXP_NAME", "b")
    assert target(session.client, run_id, current_evaluation(flat)).run_id is None
    monkeypatch.delenv("DVC_EXP_NAME")  # plain `dvc repro` on another experiment's run
    assert target(session.client, run_id, current_evaluation(flat)).run_id is None


def test_an_evaluation_run_is_found_again_by_experiment_and_params(session, monkeypatch):
    flat = flatten_params(load_params(REPO / "params.yaml"))
    run_id = _train_run(session, flat, exp_name="a")
    monkeypatch.setenv("DVC_EXP_NAME", "b")
    evaluation = current_evaluation(flat)
    train = session.client.get_run(run_id)
    tags = new_run_tags(train, evaluation)
    assert tags["dvc.exp_name"] == "b" and tags["gdlab.train_run_id"] == run_id
    assert tags["mlflow.parentRunId"] == run_id
    made = session.client.create_run(session.experiment_id, tags=tags).info.run_id
    assert target(session.client, run_id, current_evaluation(flat)).run_id is None  # RUNNING
    session.client.set_terminated(made)

    assert target(session.client, run_id, current_evaluation(flat)).run_id == made
    changed = current_evaluation({**flat, "fairness.min_group_size": 31})
    assert target(session.client, run_id, changed).run_id is None


def test_a_reused_version_keeps_its_own_evaluation_pointer(session):
    """A byte-identical model reuses an earlier train run's version: tagging it with this
    run's evaluation run (or dropping that tag) rewrote the pointer of another run's version,
    whose gdlab.model_card still named its own evaluation. It is left as it was."""
    from types import SimpleNamespace

    client = session.client
    client.create_registered_model("m")
    run = client.create_run(session.experiment_id)
    version = client.create_model_version("m", "runs:/x/model", run_id=run.info.run_id)
    client.set_model_version_tag("m", version.version, "gdlab.evaluation_run_id", "A-eval")
    decision = SimpleNamespace(model_name="m", version=version.version)

    tag_evaluation_run(client, decision, None, reused=True)
    tag_evaluation_run(client, decision, "B-eval", reused=True)
    tags = client.get_model_version("m", version.version).tags
    assert tags["gdlab.evaluation_run_id"] == "A-eval"
    tag_evaluation_run(client, decision, "B-eval")  # registered from this run: it moves
    assert client.get_model_version("m", version.version).tags[
        "gdlab.evaluation_run_id"] == "B-eval"
    tag_evaluation_run(client, decision, None)
    assert "gdlab.evaluation_run_id" not in client.get_model_version("m", version.version).tags


def test_the_handle_names_the_run_to_reopen_unless_it_was_deleted(session, monkeypatch,
                                                                  tmp_path):
    """register reopens the run evaluate's reports/evaluation_run.json names, whatever
    experiment it runs under now; one deleted since (in the MLflow UI: still readable, but
    it cannot be reopened: register crashed) is not, nor one of other evaluate params."""
    import json

    flat = flatten_params(load_params(REPO / "params.yaml"))
    run_id = _train_run(session, flat, exp_name="a")
    monkeypatch.setenv("DVC_EXP_NAME", "b")
    evaluation = current_evaluation(flat)
    train = session.client.get_run(run_id)
    made = session.client.create_run(session.experiment_id,
                                     tags=new_run_tags(train, evaluation)).info.run_id
    log_params(session.client, made, flat)  # as evaluate logs a new evaluation run's
    session.client.set_terminated(made)
    handle = tmp_path / "evaluation_run.json"
    where = target(session.client, run_id, evaluation)
    handle.write_text(json.dumps(handle_document(where, made)))
    monkeypatch.setenv("DVC_EXP_NAME", "c")  # a retry under a new experiment name
    assert logged_target(session.client, run_id, handle, current_evaluation(flat)).run_id == made
    changed = current_evaluation({**flat, "fairness.min_group_size": 31})
    assert logged_target(session.client, run_id, handle, changed).run_id is None
    session.client.delete_run(made)
    assert logged_target(session.client, run_id, handle, current_evaluation(flat)).run_id is None
