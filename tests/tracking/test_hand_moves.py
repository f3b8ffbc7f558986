"""A person moving the champion alias: a rollback by hand sticks, a deleted alias is said."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from gdlab import GDRegressor
from gdlab.tracking import log_sklearn_model, pipeline_run, register_and_gate
from gdlab.tracking.hand_moves import ROLLED_BACK_TAG
from gdlab.tracking.registry import MODEL_DIGEST_TAG, registered_model_description


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(60, 3)), columns=["a", "b", "c"])
    model = Pipeline([("preprocess", StandardScaler()),
                      ("model", GDRegressor(max_epochs=3, random_state=0))])
    return model.fit(X, X.to_numpy() @ [1.0, -2.0, 0.5]), X


def _register(session, fitted, name: str, value: float, model: str) -> object:
    """Train ran (a new run) and register registers its model, whose file is ``model`` (the
    same ``model`` again: the same bytes from the same code and data)."""
    estimator, X = fitted
    with pipeline_run(experiment_id=session.experiment_id) as run:
        info = log_sklearn_model(estimator, X.head(3), include_code=False, verify=False)
    lineage = {MODEL_DIGEST_TAG: model * 64, "mlflow.source.git.commit": "c0ffee",
               "gdlab.code_dirty": "false", "gdlab.data_digest": "d1"}
    return register_and_gate(session.client, model_name=name, model_uri=info.model_uri,
                             run_id=run.info.run_id, metric="rmse", value=value, tags=lineage)


def _champion(client, name: str) -> str:
    return str(client.get_model_version_by_alias(name, "champion").version)


def test_a_rollback_by_hand_is_not_undone_by_the_next_register(session, fitted):
    """The reviewer's case: v2 beat v1, a person moved champion back to v1, and the next
    ``dvc repro`` (the same model trained again keeps v2) promoted v2 again."""
    client, name = session.client, "rollback-test"
    assert _register(session, fitted, name, 1.0, "a").version == "1"
    assert _register(session, fitted, name, 0.5, "b").promoted
    client.set_registered_model_alias(name, "champion", "1")  # the README's rollback
    again = _register(session, fitted, name, 0.5, "b")  # dvc repro: the same model again
    assert again.version == "2" and not again.promoted and again.champion == "1"
    assert again.reason.startswith("v2 was rolled back by hand to v1, noticed by register on ")
    assert again.reason.endswith("not promoted again (to promote it anyway, move the alias to "
                                 "it by hand: set_registered_model_alias('rollback-test', "
                                 "'champion', '2')): test_rmse 0.5 beats 1")
    assert _champion(client, name) == "1"
    assert client.get_model_version(name, "2").tags[ROLLED_BACK_TAG].startswith("by hand to v1")
    # and the time after: still not promoted
    assert not _register(session, fitted, name, 0.5, "b").promoted
    assert _champion(client, name) == "1"
    # a better model is promoted as ever; a person undoing the rollback lifts the mark
    assert _register(session, fitted, name, 0.3, "c").promoted
    client.set_registered_model_alias(name, "champion", "2")
    kept = _register(session, fitted, name, 0.5, "b")
    assert kept.promoted and kept.reason == "already champion: v2 is this very model"
    assert ROLLED_BACK_TAG not in client.get_model_version(name, "2").tags
    # ... and that person's move away from v3 marked v3 (register had left it champion)
    assert client.get_model_version(name, "3").tags[ROLLED_BACK_TAG].startswith("by hand to v2")


def test_a_hand_promotion_of_a_challenger_is_no_rollback(session, fitted):
    """A reviewer's case: v2 stayed challenger, a person promoted it by hand (register's own
    "promote it anyway" advice; or a register of an older gdlab, or another host's, moved the
    alias forward), and the next register tagged v1 rolled back: the same model as v1 trained
    again then beat the champion and was refused as 'rolled back by hand to v2'. Only a move
    to an older version is a rollback."""
    client, name = session.client, "hand-promotion-test"
    assert _register(session, fitted, name, 0.5, "a").promoted
    assert not _register(session, fitted, name, 0.7, "b").promoted
    client.set_registered_model_alias(name, "champion", "2")  # promoted by hand
    assert not _register(session, fitted, name, 0.9, "c").promoted
    assert ROLLED_BACK_TAG not in client.get_model_version(name, "1").tags
    again = _register(session, fitted, name, 0.5, "a")  # the same model as v1
    assert again.version == "1" and again.promoted and _champion(client, name) == "1"
    assert again.reason == "test_rmse 0.5 beats 0.7"


def test_a_deleted_champion_alias_is_not_called_a_first_version(session, fitted):
    client, name = session.client, "deleted-alias-test"
    first = _register(session, fitted, name, 1.0, "a")
    assert first.reason == "first version: no champion yet"
    _register(session, fitted, name, 2.0, "b")
    client.delete_registered_model_alias(name, "champion")
    third = _register(session, fitted, name, 3.0, "c")
    assert third.promoted and third.version == "3" and _champion(client, name) == "3"
    assert third.reason == ("no champion alias though 2 other versions exist (v1–v2; register "
                            "had left it on v1: deleted by hand)")
    # a deleted alias is no rollback: nothing is marked
    assert not any(ROLLED_BACK_TAG in v.tags for v in client.search_model_versions(
        f"name = '{name}'"))
    # a first version kept from champion (a failed fairness gate): no alias, none deleted
    kept = "gated-alias-test"
    estimator, X = fitted
    for blocked in ("fairness gate failed on 'g'", None):
        with pipeline_run(experiment_id=session.experiment_id) as run:
            info = log_sklearn_model(estimator, X.head(3), include_code=False, verify=False)
        second = register_and_gate(client, model_name=kept, model_uri=info.model_uri,
                                   run_id=run.info.run_id, metric="rmse", value=1.0,
                                   blocked=blocked)
    assert second.promoted
    assert second.reason == "no champion alias though 1 other version exists (v1)"


def test_the_registered_models_description_says_champion_may_be_moved_by_hand():
    text = registered_model_description("regression", "rmse")
    assert "or the one a person moved it to by hand" in text
    assert "reports/registry.json, which a move by hand does not change" in text
