"""Child runs (folds, trials, compared variants) carry their parent's lineage: git commit,
data digest, stage; set when the run is created, not by calls of their own."""

from __future__ import annotations

import collections

import pytest

from gdlab.experiment.compare import Comparison, Variant, VariantFold
from gdlab.tracking import child_tags, log_fold_runs, pipeline_run
from gdlab.tracking.compare import log_comparison
from gdlab.tracking.live import live_fold_runs
from gdlab.tuning.objective import TrialRecord
from gdlab.tuning.tracking import TrialLogger

from .test_runs import _cv

PARENT = {"mlflow.source.git.commit": "c0ffee", "gdlab.code_dirty": "false",
          "gdlab.params_dirty": "true", "gdlab.git_dirty": "true", "gdlab.data_digest": "d" * 64,
          "gdlab.task": "regression", "gdlab.parallel": "loky", "dvc.exp_name": None}
LINEAGE = {"mlflow.source.git.commit": "c0ffee", "gdlab.code_dirty": "false",
           "gdlab.params_dirty": "true", "gdlab.data_digest": "d" * 64}


class _Counting:
    """A client counting the calls that write to the store."""

    WRITES = ("create_run", "log_batch", "set_tag", "log_param", "log_metric", "set_terminated")

    def __init__(self, client):
        self._client, self.calls = client, collections.Counter()

    def __getattr__(self, name):
        if name in self.WRITES:
            self.calls[name] += 1
        return getattr(self._client, name)


def test_child_tags_are_the_parents_lineage_and_stage():
    tags = child_tags({**PARENT, "gdlab.stage": "train"})
    assert tags == {**LINEAGE, "gdlab.stage": "train"}


def _children(client, experiment_id, parent):
    return client.search_runs([experiment_id], f"tags.mlflow.parentRunId = '{parent}'")


@pytest.mark.parametrize("live", [True, False], ids=["made-before-training", "made-at-the-end"])
def test_fold_runs_carry_the_parents_lineage(session, live):
    client = _Counting(session.client)
    parent_tags = {**PARENT, "gdlab.stage": "train"}
    cv = _cv(n_folds=2, n_iter=3)
    with pipeline_run(experiment_id=session.experiment_id, tags=parent_tags) as run:
        parent = run.info.run_id
        if live:
            with live_fold_runs(client, session.experiment_id, parent, [1, 2], interval=None,
                                tags=child_tags(parent_tags)) as training:
                pass
            log_fold_runs(client, session.experiment_id, parent, cv, {},
                          run_ids=training.fold_run_ids, tags=child_tags(parent_tags))
        else:
            log_fold_runs(client, session.experiment_id, parent, cv, {},
                          tags=child_tags(parent_tags))
    children = _children(session.client, session.experiment_id, parent)
    assert len(children) == 2
    for child in children:
        assert {k: child.data.tags.get(k) for k in (*LINEAGE, "gdlab.stage")} == {
            **LINEAGE, "gdlab.stage": "train"}
        assert child.data.tags["gdlab.fold"] in {"1", "2"}
        assert child.data.tags["gdlab.run_kind"] == "fold"  # not the parent's (a filter's)
    # one create_run, one log_batch and one set_terminated per fold: no call for the tags
    assert client.calls == {"create_run": 2, "log_batch": 2, "set_terminated": 2}


def test_trial_and_variant_runs_carry_the_parents_lineage(session):
    client = _Counting(session.client)
    with pipeline_run(experiment_id=session.experiment_id,
                      tags={**PARENT, "gdlab.stage": "tune"}) as run:
        parent = run.info.run_id
        logger = TrialLogger(client, session.experiment_id, parent, "study", f"uid-{parent}",
                             "rmse", tags=child_tags({**PARENT, "gdlab.stage": "tune"}))
        before = collections.Counter(client.calls)
        logger.log(TrialRecord(number=0, state="COMPLETE", value=0.5, params={"lr": 0.1},
                               fold_scores=[0.5], curves={"train_loss": [1.0, 0.5]}))
        trial_calls = client.calls - before
        fold = VariantFold(1, {"train_loss": [1.0, 0.5], "time_s": [0.1, 0.2]}, False, 0.2)
        comparison = Comparison("optimizer.name", [Variant("sgd", "sgd", None, [fold])])
        before = collections.Counter(client.calls)
        log_comparison(client, session.experiment_id, parent, comparison,
                       flat_params={"sgd": {"a": 1}},
                       tags=child_tags({**PARENT, "gdlab.stage": "compare"}))
        variant_calls = client.calls - before
    children = {r.info.run_name: r for r in _children(session.client, session.experiment_id,
                                                        parent)}
    for name, stage, kind in (("trial-0", "tune", "trial"), ("sgd", "compare", "variant")):
        tags = children[name].data.tags
        assert tags["gdlab.run_kind"] == kind
        assert {k: tags.get(k) for k in (*LINEAGE, "gdlab.stage")} == {**LINEAGE,
                                                                       "gdlab.stage": stage}
    assert trial_calls["create_run"] == 1 and trial_calls["set_tag"] == 0
    # the variant's tags ride on create_run: its params and metrics are the only batches
    assert variant_calls["create_run"] == 1 and variant_calls["log_batch"] <= 3
