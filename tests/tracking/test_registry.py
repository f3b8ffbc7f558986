"""Logged skops model loads back; challenger always moves, champion only on improvement."""

import json
import sys
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import gdlab
from gdlab import GDRegressor
from gdlab.tracking import log_sklearn_model, pipeline_run, register_and_gate
from gdlab.tracking.registry import filter_literal, version_description


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(100, 3)), columns=["a", "b", "c"])
    y = X.to_numpy() @ [1.0, -2.0, 0.5]
    model = Pipeline(
        [("preprocess", StandardScaler()), ("model", GDRegressor(max_epochs=5, random_state=0))]
    )
    return model.fit(X, y), X


def test_model_is_skops_with_signature_and_registry_gate(session, fitted):
    model, X = fitted
    name = "gate-test"
    infos = []
    import_path = list(sys.path)
    for _ in range(3):
        with pipeline_run(experiment_id=session.experiment_id) as run:
            infos.append((log_sklearn_model(model, X.head(3)), run.info.run_id))
    # loading the model back (MLflow's input-example check, our own) left no copy of gdlab
    # in front of the installed package
    assert sys.path == import_path
    info, run_id = infos[0]
    flavor = info.flavors["sklearn"]
    assert flavor["serialization_format"] == "skops"
    assert any(t.startswith("gdlab.") for t in flavor["skops_trusted_types"])
    assert [c.name for c in info.signature.inputs] == ["a", "b", "c"]
    loaded = mlflow.pyfunc.load_model(info.model_uri)
    np.testing.assert_allclose(loaded.predict(X.head(4)), model.predict(X.head(4)))
    # gdlab's source ships with the model (it loads where gdlab is not installed), without
    # the byte-code and numba caches of this machine
    local = Path(mlflow.artifacts.download_artifacts(info.model_uri))
    shipped = {p.relative_to(local / "code").as_posix() for p in (local / "code").rglob("*")}
    source = Path(gdlab.__file__).parent
    assert {f"gdlab/{p.relative_to(source).as_posix()}" for p in source.rglob("*.py")} <= shipped
    assert "gdlab/estimators/regressor.py" in shipped
    assert not [p for p in shipped if "__pycache__" in p or p.endswith((".pyc", ".nbi", ".nbc"))]

    client = session.client
    first = register_and_gate(
        client, model_name=name, model_uri=info.model_uri, run_id=run_id, metric="rmse", value=1.0
    )
    assert first.promoted and first.champion == first.version == "1"
    worse = register_and_gate(
        client,
        model_name=name,
        model_uri=infos[1][0].model_uri,
        run_id=infos[1][1],
        metric="rmse",
        value=1.5,
    )
    assert not worse.promoted and worse.champion == "1" and worse.previous_value == 1.0
    assert str(client.get_model_version_by_alias(name, "challenger").version) == "2"
    assert str(client.get_model_version_by_alias(name, "champion").version) == "1"
    better = register_and_gate(
        client,
        model_name=name,
        model_uri=infos[2][0].model_uri,
        run_id=infos[2][1],
        metric="rmse",
        value=0.5,
    )
    assert better.promoted and better.previous_champion == "1"
    assert str(client.get_model_version_by_alias(name, "champion").version) == "3"
    json.dumps(better.to_dict())


def _logged(session, fitted, name: str) -> dict:
    """register_and_gate's arguments for a model logged in a new run, to register as ``name``."""
    model, X = fitted
    with pipeline_run(experiment_id=session.experiment_id) as run:
        info = log_sklearn_model(model, X.head(3), include_code=False, verify=False)
    return dict(model_name=name, model_uri=info.model_uri, run_id=run.info.run_id)


@pytest.mark.parametrize("name", ["rerun-test", "Bob's rerun-test"])
def test_registering_the_same_model_again_keeps_its_version(session, fitted, name):
    client, args = session.client, _logged(session, fitted, name)
    first = register_and_gate(client, metric="rmse", value=1.0, **args)
    again = register_and_gate(client, metric="rmse", value=0.9, **args)  # dvc repro -f register
    assert first.version == again.version == "1"
    assert again.promoted and again.reason == "already champion"
    versions = client.search_model_versions(f"name = {filter_literal(name)}")
    assert [str(v.version) for v in versions] == ["1"]
    assert versions[0].tags["test_rmse"] == repr(0.9)


def test_a_name_holding_models_of_another_task_is_refused(session, fitted):
    name = "task-test"
    client, args = session.client, _logged(session, fitted, name)
    register_and_gate(client, metric="rmse", value=1.0, task="regression", **args)
    with pytest.raises(ValueError, match="'task-test' holds regression models .*another name"):
        register_and_gate(client, metric="log_loss", value=0.3, task="classification", **args)
    assert [str(v.version) for v in client.search_model_versions(f"name = '{name}'")] == ["1"]
    assert str(client.get_model_version_by_alias(name, "champion").version) == "1"


class _FlakyClient:
    """The store's client, but the methods named in ``failing`` fail as a busy or unreachable
    store makes them fail."""

    def __init__(self, client, error_code: str, *failing: str):
        self._client, self._code, self._failing = client, error_code, failing

    def __getattr__(self, name):
        if name in self._failing:
            from mlflow.exceptions import MlflowException

            def fail(*args, **kwargs):
                raise MlflowException("database is locked", error_code=self._code)

            return fail
        return getattr(self._client, name)


@pytest.mark.parametrize("code", ["INTERNAL_ERROR", "TEMPORARILY_UNAVAILABLE"])
def test_a_failed_champion_lookup_does_not_steal_champion(session, fitted, code):
    name = f"flaky-{code.lower()}"
    client = session.client
    first = register_and_gate(client, metric="rmse", value=1.0, **_logged(session, fitted, name))
    worse = _logged(session, fitted, name)
    with pytest.raises(Exception, match="database is locked"):
        flaky = _FlakyClient(client, code, "get_model_version_by_alias")
        register_and_gate(flaky, metric="rmse", value=9.0, **worse)
    assert str(client.get_model_version_by_alias(name, "champion").version) == first.version
    assert [str(v.version) for v in client.search_model_versions(f"name = '{name}'")] == ["1"]
    # no alias and no such name yet are what "no champion" means
    decision = register_and_gate(
        client, metric="rmse", value=2.0, **_logged(session, fitted, f"{name}-new")
    )
    assert decision.promoted and decision.reason == "first version: no champion yet"


def test_a_failed_read_of_the_champions_run_does_not_steal_champion(session, fitted):
    name = "flaky-run"
    client = session.client
    register_and_gate(client, metric="rmse", value=1.0, **_logged(session, fitted, name))
    # register.metric changed: the champion has no test_mae tag, so its run is read
    with pytest.raises(Exception, match="database is locked"):
        register_and_gate(
            _FlakyClient(client, "INTERNAL_ERROR", "get_run"),
            metric="mae",
            value=9.0,
            **_logged(session, fitted, name),
        )
    assert str(client.get_model_version_by_alias(name, "champion").version) == "1"


def test_a_champion_failing_a_tightened_fairness_gate_is_flagged_and_kept(session, fitted):
    from gdlab.tracking.registry import REVIEW_TAG, review_champion

    name = "review-test"
    client = session.client
    champion_args = _logged(session, fitted, name)
    client.log_metric(champion_args["run_id"], "fairness_equalized_odds_difference", 0.08)
    first = register_and_gate(client, metric="rmse", value=1.0, **champion_args)
    assert review_champion(client, first, {"equalized_odds_difference": 0.2}) is None  # promoted
    # the gate tightened to 0.05: the new version fails it, and so does the champion
    blocked = register_and_gate(client, metric="rmse", value=0.5, blocked="fairness gate failed",
                                **_logged(session, fitted, name))
    assert not blocked.promoted and blocked.champion == "1"
    review = review_champion(client, blocked, {"equalized_odds_difference": 0.05,
                                               "demographic_parity_difference": 0.3})
    assert review == ("champion v1 fails today's fairness gate too: equalized_odds_difference "
                      "0.08 > 0.05; demographic_parity_difference not measured; it keeps the "
                      "alias until a version passes")
    assert client.get_model_version(name, "1").tags[REVIEW_TAG] == review
    assert str(client.get_model_version_by_alias(name, "champion").version) == "1"
    # loosened again: the champion passes, the tag goes
    worse = register_and_gate(client, metric="rmse", value=2.0, **_logged(session, fitted, name))
    assert review_champion(client, worse, {"equalized_odds_difference": 0.1}) is None
    assert REVIEW_TAG not in client.get_model_version(name, "1").tags


def test_a_champion_exactly_at_the_gates_maximum_passes_its_review(session, fitted):
    """The review reads the thresholds as maxima, as the gate does: a champion whose
    difference equals one passes; the next float below it as the maximum fails it."""
    import math

    from gdlab.tracking.registry import REVIEW_TAG, review_champion

    name = "review-boundary"
    client = session.client
    champion_args = _logged(session, fitted, name)
    client.log_metric(champion_args["run_id"], "fairness_equalized_odds_difference", 0.125)
    register_and_gate(client, metric="rmse", value=1.0, **champion_args)
    kept = register_and_gate(client, metric="rmse", value=2.0, **_logged(session, fitted, name))
    assert not kept.promoted and kept.champion == "1"
    assert review_champion(client, kept, {"equalized_odds_difference": 0.125}) is None
    assert REVIEW_TAG not in client.get_model_version(name, "1").tags
    review = review_champion(
        client, kept, {"equalized_odds_difference": math.nextafter(0.125, 0.0)}
    )
    assert review.startswith("champion v1 fails today's fairness gate too: "
                             "equalized_odds_difference 0.125 > 0.125")


def test_reviewing_a_champion_whose_run_is_gone_says_not_measured(session, fitted):
    from gdlab.tracking.registry import review_champion

    name = "review-gone"
    client = session.client
    champion_args = _logged(session, fitted, name)
    register_and_gate(client, metric="rmse", value=1.0, **champion_args)
    client.delete_run(champion_args["run_id"])
    store = client._tracking_client.store  # purge it for good, as `mlflow gc` does
    store._hard_delete_run(champion_args["run_id"])
    kept = register_and_gate(client, metric="rmse", value=2.0, **_logged(session, fitted, name))
    review = review_champion(client, kept, {"equalized_odds_difference": 0.1})
    assert review.startswith("champion v1 fails today's fairness gate too: "
                             "equalized_odds_difference not measured")


def _evaluated_in_an_evaluation_run(session, fitted, name: str, metrics: dict) -> dict:
    """A version's arguments whose train run logged no test or fairness metric and whose
    evaluation run (a child of it, named by the version's ``gdlab.evaluation_run_id``, as
    register tags it) logged ``metrics``; returns the arguments and the evaluation run's id."""
    from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

    args = _logged(session, fitted, name)
    client = session.client
    evaluation = client.create_run(session.experiment_id,
                                   tags={MLFLOW_PARENT_RUN_ID: args["run_id"]}).info.run_id
    for key, value in metrics.items():
        client.log_metric(evaluation, key, value)
    client.set_terminated(evaluation)
    return {**args, "evaluation_run_id": evaluation}


def test_a_champion_evaluated_in_an_evaluation_run_is_reviewed_on_its_metrics(session, fitted):
    """The champion's fairness was measured in its evaluation run, not its train run: the
    review reads it there and passes it, instead of "not measured" on the train run."""
    from gdlab.tracking.evaluation_run import EVALUATION_RUN_TAG
    from gdlab.tracking.registry import REVIEW_TAG, review_champion

    name = "review-evaluation-run"
    client = session.client
    args = _evaluated_in_an_evaluation_run(
        session, fitted, name, {"fairness_equalized_odds_difference": 0.08})
    evaluation = args.pop("evaluation_run_id")
    first = register_and_gate(client, metric="rmse", value=1.0, **args)
    client.set_model_version_tag(name, first.version, EVALUATION_RUN_TAG, evaluation)
    kept = register_and_gate(client, metric="rmse", value=2.0, **_logged(session, fitted, name))
    assert not kept.promoted and kept.champion == "1"
    assert review_champion(client, kept, {"equalized_odds_difference": 0.1}) is None
    assert REVIEW_TAG not in client.get_model_version(name, "1").tags
    review = review_champion(client, kept, {"equalized_odds_difference": 0.05})
    assert review.startswith("champion v1 fails today's fairness gate too: "
                             "equalized_odds_difference 0.08 > 0.05")


def test_a_champion_evaluated_in_an_evaluation_run_is_compared_on_its_test_metric(
    session, fitted
):
    """register.metric changed to mae: the champion has no test_mae tag, so its value is read
    from the run that measured it, its evaluation run; a challenger with a worse mae is
    not promoted over it (read from the train run, it had no mae and lost the alias)."""
    from gdlab.tracking.evaluation_run import EVALUATION_RUN_TAG

    name = "compare-evaluation-run"
    client = session.client
    args = _evaluated_in_an_evaluation_run(session, fitted, name, {"test_mae": 0.5})
    evaluation = args.pop("evaluation_run_id")
    first = register_and_gate(client, metric="rmse", value=1.0, **args)
    client.set_model_version_tag(name, first.version, EVALUATION_RUN_TAG, evaluation)
    challenger = register_and_gate(client, metric="mae", value=0.9,
                                   **_logged(session, fitted, name))
    assert not challenger.promoted and challenger.champion == "1"
    assert challenger.previous_value == 0.5


@pytest.mark.parametrize("name", ["identical-test", "Bob's identical-test"])
def test_the_same_model_trained_again_keeps_its_version(session, fitted, name):
    """Back to earlier params after experiments, train ran again and wrote the same
    model.skops (same bytes, same commit, same data; params.yaml and dvc.lock differ from the
    commit, the code not): register made v3, v4 ... of the very model. It reuses that
    version unless the code may differ (uncommitted changes to anything else)."""
    from gdlab.tracking.registry import MODEL_DIGEST_TAG

    client = session.client
    lineage = {MODEL_DIGEST_TAG: "ab" * 32, "mlflow.source.git.commit": "c0ffee",
               "gdlab.git_dirty": "true", "gdlab.code_dirty": "false", "gdlab.data_digest": "d1"}
    first = register_and_gate(client, metric="rmse", value=1.0, tags=dict(lineage),
                              description="first", **_logged(session, fitted, name))
    again = register_and_gate(client, metric="rmse", value=1.0, tags=dict(lineage),
                              description="again", **_logged(session, fitted, name))
    assert again.version == first.version == "1" and again.promoted
    assert again.reason == "already champion: v1 is this very model"  # no nested (...)
    found = client.search_model_versions(f"name = {filter_literal(name)}")
    assert [str(v.version) for v in found] == ["1"]
    assert client.get_model_version(name, "1").description == "first"
    # the gate tightened since: the same model fails it; its gate tag says so, as its reason
    gated = register_and_gate(client, metric="rmse", value=1.0,
                              tags={**lineage, "gdlab.fairness_gate": "failed"},
                              blocked="fairness gate failed on 'g'",
                              **_logged(session, fitted, name))
    tags = client.get_model_version(name, "1").tags
    assert gated.version == "1" and tags["gdlab.fairness_gate"] == "failed"
    assert tags["gdlab.promotion_reason"] == "fairness gate failed on 'g'"
    for changed in ({"gdlab.code_dirty": "true"}, {MODEL_DIGEST_TAG: "cd" * 32},
                    {"mlflow.source.git.commit": "beef"}, {"gdlab.data_digest": "d2"}):
        other = register_and_gate(client, metric="rmse", value=1.0,
                                  tags={**lineage, **changed}, **_logged(session, fitted, name))
        assert other.version != "1", changed
    assert len(client.search_model_versions(f"name = {filter_literal(name)}")) == 5


def test_the_logged_model_names_the_cells_of_a_request_it_refuses(session, fitted):
    """Logged as train logs it, the model's pyfunc (what ``mlflow models serve`` runs) answers
    NaN with an HTTP 400 naming the column and row, not MLflow's "unexpected error"."""
    from mlflow.exceptions import MlflowException

    loaded = mlflow.pyfunc.load_model(_logged(session, fitted, "unused")["model_uri"])
    assert loaded.loader_module == "gdlab.served"
    request = fitted[1].head(3).reset_index(drop=True)
    request.loc[1, "b"] = np.nan
    with pytest.raises(MlflowException, match="column 'b' holds NaN in row 1 ") as info:
        loaded.predict(request)
    assert info.value.get_http_status_code() == 400


def test_register_creates_the_name_with_a_description_and_keeps_an_edited_one(session, fitted,
                                                                              capfd):
    from gdlab.tracking.registry import registered_model_description

    name = "described-test"
    client, args = session.client, _logged(session, fitted, name)
    capfd.readouterr()
    register_and_gate(client, metric="rmse", value=1.0, task="regression", **args)
    # MLflow's own words on a first registration (it said "already exists. Creating a new
    # version" when register had created the name just before)
    said = capfd.readouterr().err
    assert "Successfully registered model 'described-test'" in said
    assert "already exists" not in said
    described = client.get_registered_model(name).description
    assert described == registered_model_description("regression", "rmse")
    assert "regression models" in described and "test rmse" in described
    assert "'champion'" in described and "'challenger'" in described
    # a name that exists keeps its description (edited in the UI, say): only creation sets it
    client.update_registered_model(name, description="ours")
    client.delete_registered_model_alias(name, "champion")  # so register tries to create it
    register_and_gate(client, metric="rmse", value=0.5, task="regression",
                      **_logged(session, fitted, name))
    assert client.get_registered_model(name).description == "ours"
    versions = client.search_model_versions(f"name = '{name}'")
    assert sorted(str(v.version) for v in versions) == ["1", "2"]


@pytest.mark.parametrize(
    ("changed", "said"),
    [
        ({"gdlab.code_dirty": "true", "gdlab.params_dirty": "true"},
         "git commit c0ffee with uncommitted code changes;"),
        ({"gdlab.params_dirty": "true"},
         "git commit c0ffee with params.yaml changed since, code as committed;"),
        ({}, "git commit c0ffee;"),
    ],
)
def test_the_description_says_uncommitted_changes_only_when_the_code_differs(changed, said):
    """Every run rewrites dvc.lock and the reports git tracks: ``gdlab.git_dirty`` is always
    true, and every version said "with uncommitted changes"."""
    lineage = {"mlflow.source.git.commit": "c0ffee", "gdlab.git_dirty": "true",
               "gdlab.code_dirty": "false", "gdlab.params_dirty": "false",
               "gdlab.data_digest": "d1", **changed}
    text = version_description("r1", lineage, "runs:/r1/model_card.md")
    assert said in text
    assert "uncommitted" not in text or lineage["gdlab.code_dirty"] == "true"


class _Deciding:
    """The store's client; ``before`` and ``after`` run around its move of ``champion``."""

    def __init__(self, client, before=lambda: None, after=lambda: None):
        self._client, self._before, self._after = client, before, after

    def __getattr__(self, name):
        return getattr(self._client, name)

    def set_registered_model_alias(self, name, alias, version):
        if alias == "champion":
            self._before()
        self._client.set_registered_model_alias(name, alias, version)
        if alias == "champion":
            self._after()


def test_two_registrations_at_once_leave_the_best_model_champion(session, fitted, monkeypatch):
    """``dvc queue start -j 2``: two register stages decide at once, both better than the
    champion. The second must compare with the first's outcome: champion ends on the best
    model (rmse 0.5), not on the one that moved the alias last (0.8, which read the old 1.0)."""
    import threading

    from gdlab.tracking import registry

    name = "concurrent-test"
    client = session.client
    register_and_gate(client, metric="rmse", value=1.0, **_logged(session, fitted, name))
    best_args, good_args = _logged(session, fitted, name), _logged(session, fitted, name)
    first_read, best_moved = threading.Event(), threading.Event()
    both_read = threading.Barrier(2, timeout=3)
    read = registry.current_champion

    def read_together(client, model_name):
        champion = read(client, model_name)
        first_read.set()
        try:  # unlocked, both registrations hold the old champion past this point
            both_read.wait()
        except threading.BrokenBarrierError:  # locked: the other one waits for this decision
            pass
        return champion

    monkeypatch.setattr(registry, "current_champion", read_together)
    errors, decisions = [], {}

    def decide(key, deciding, value, args):
        try:
            decisions[key] = register_and_gate(deciding, metric="rmse", value=value, **args)
        except Exception as exc:  # noqa: BLE001 - re-raised in the test's thread below
            errors.append(exc)

    best = threading.Thread(
        target=decide, args=("best", _Deciding(client, after=best_moved.set), 0.5, best_args)
    )
    good = threading.Thread(
        target=decide,
        args=("good", _Deciding(client, before=lambda: best_moved.wait(10)), 0.8, good_args),
    )
    best.start()
    assert first_read.wait(10)
    good.start()
    best.join(30)
    good.join(30)
    assert not errors, errors
    champion = client.get_model_version_by_alias(name, "champion")
    assert str(champion.version) == decisions["best"].version
    assert not decisions["good"].promoted
    assert decisions["good"].reason == "test_rmse 0.8 does not beat 0.5"


def test_the_logged_model_refuses_a_city_level_it_was_not_trained_on(session):
    """Logged as train logs it (input example from prepare's one-hot columns, the groups prepare
    recorded in meta.json), the served model refuses a row whose one-hot city sets no level (an
    unseen city=d, which MLflow's signature check drops) instead of scoring it."""
    from mlflow.exceptions import MlflowException

    from gdlab import GDClassifier
    from gdlab.experiment import input_example

    rng = np.random.default_rng(0)
    city = rng.integers(0, 3, 60)
    names = ["x0", "city=a", "city=b", "city=c"]
    X = np.column_stack([rng.normal(size=60), np.eye(3)[city]])
    model = Pipeline([("preprocess", StandardScaler()),
                      ("model", GDClassifier(max_epochs=3, random_state=0))])
    model.fit(pd.DataFrame(X, columns=names), city == 1)
    prepared = {"groups": {"city": names[1:]}, "none_allowed": False}  # meta.json's one_hot
    with pipeline_run(experiment_id=session.experiment_id):
        info = log_sklearn_model(model, input_example(X, names), include_code=False,
                                 verify=False, one_hot=prepared)
    loaded = mlflow.pyfunc.load_model(info.model_uri)
    request = pd.DataFrame([[0.3, 0, 1, 0], [0.3, 0, 0, 0]], columns=names)
    with pytest.raises(MlflowException, match="column 'city' sets no level in row 1 ") as raised:
        loaded.predict(pd.DataFrame({**request, "city=d": [0, 1]}))
    assert raised.value.get_http_status_code() == 400
    assert loaded.predict(request.head(1)).tolist() == model.predict(request.head(1)).tolist()
    assert info.metadata["gdlab_one_hot"] == {
        "groups": {"city": ["city=a", "city=b", "city=c"]}, "none_allowed": False}


@pytest.mark.parametrize("kind", ["multi-hot", "drop-first"])
def test_a_users_own_encoded_columns_are_not_checked_by_the_logged_model(session, kind):
    """0/1 columns the data held itself, named like prepare's dummies (a=1, a=2 that can both
    be 1; a drop-first city=b, city=c whose city a is both 0), are no group prepare made: the
    logged model answers their training rows as the pipeline does, and its own serving input
    example (they were taken for a group by their names: HTTP 400 on those rows, and MLflow
    warned that the model refused its serving_input_example.json)."""
    from gdlab import GDClassifier
    from gdlab.experiment import input_example

    rng = np.random.default_rng(0)
    if kind == "multi-hot":
        names = ["x0", "a=1", "a=2"]
        levels = np.column_stack([rng.random(200) < 0.6, rng.random(200) < 0.3]) * 1.0
    else:
        names = ["x0", "city=b", "city=c"]
        levels = np.eye(3)[rng.integers(0, 3, 200)][:, 1:]
    X = np.column_stack([rng.normal(size=200), levels])
    model = Pipeline([("preprocess", StandardScaler()),
                      ("model", GDClassifier(max_epochs=3, random_state=0))])
    model.fit(pd.DataFrame(X, columns=names), X[:, 0] + X[:, 1] > 0.7)
    example = input_example(X, names)
    prepared = {"groups": {}, "none_allowed": False}  # meta.json's one_hot: no text column
    with pipeline_run(experiment_id=session.experiment_id):
        info = log_sklearn_model(model, example, include_code=False, verify=False,
                                 one_hot=prepared)
    assert not (info.metadata or {}).get("gdlab_one_hot")
    loaded = mlflow.pyfunc.load_model(info.model_uri)
    odd = X[(X[:, 1:] == 1).all(axis=1) | (X[:, 1:] == 0).all(axis=1)][:4]
    assert len(odd) == 4  # rows setting both or neither column
    for rows in (pd.DataFrame(odd, columns=names), example):
        assert loaded.predict(rows).tolist() == model.predict(rows).tolist()


def test_the_logged_classifier_serves_its_probabilities_when_asked(session):
    """Logged as train logs it, the signature declares the inference param predict_method (so
    MLflow passes it on instead of ignoring it) and the pyfunc answers the pipeline's own
    predict_proba, one column per class named by its label; labels stay the default."""
    from mlflow.exceptions import MlflowException
    from mlflow.types import ParamSchema, ParamSpec

    from gdlab import GDClassifier

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(80, 3)), columns=["a", "b", "c"])
    y = np.where(X["a"] > 0.4, 2, np.where(X["b"] > 0, 0, 1))
    model = Pipeline([("preprocess", StandardScaler()),
                      ("model", GDClassifier(max_epochs=5, random_state=0))]).fit(X, y)
    with pipeline_run(experiment_id=session.experiment_id):
        info = log_sklearn_model(model, X.head(3), include_code=False)
    assert info.signature.params == ParamSchema([ParamSpec("predict_method", "string",
                                                           "predict")])
    loaded = mlflow.pyfunc.load_model(info.model_uri)
    request = X.iloc[10:16]
    proba = loaded.predict(request, params={"predict_method": "predict_proba"})
    assert list(proba.columns) == ["0", "1", "2"]
    np.testing.assert_allclose(proba.to_numpy(), model.predict_proba(request), rtol=0,
                               atol=1e-12)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert loaded.predict(request).tolist() == model.predict(request).tolist()
    with pytest.raises(MlflowException, match="predict_method='proba' is not a method") as bad:
        loaded.predict(request, params={"predict_method": "proba"})
    assert bad.value.get_http_status_code() == 400


def test_the_logged_regressor_declares_predict_only(session, fitted):
    from mlflow.exceptions import MlflowException

    model, X = fitted
    loaded = mlflow.pyfunc.load_model(_logged(session, fitted, "unused")["model_uri"])
    assert [p.name for p in loaded.metadata.signature.params] == ["predict_method"]
    np.testing.assert_allclose(loaded.predict(X.head(4)), model.predict(X.head(4)))
    with pytest.raises(MlflowException, match="predict_method='predict_proba' is not a method"):
        loaded.predict(X.head(4), params={"predict_method": "predict_proba"})


def test_the_same_model_from_a_commit_that_changed_no_code_keeps_its_version(session, fitted):
    """The README's workflow: a run, commit dvc.lock and reports, an experiment, back to the
    original params, ``dvc repro``: the same model.skops from the same data and code, but
    another commit, was registered as a new version. The code's digest decides now; versions
    tagged without one keep the commit rule."""
    from gdlab.tracking.lineage import CODE_DIGEST_TAG
    from gdlab.tracking.registry import MODEL_DIGEST_TAG

    name, client = "code-digest-test", session.client
    lineage = {MODEL_DIGEST_TAG: "ab" * 32, "mlflow.source.git.commit": "c0ffee",
               CODE_DIGEST_TAG: "c1", "gdlab.code_dirty": "false", "gdlab.data_digest": "d1"}
    first = register_and_gate(client, metric="rmse", value=1.0, tags=dict(lineage),
                              **_logged(session, fitted, name))
    committed = {**lineage, "mlflow.source.git.commit": "beef"}  # only dvc.lock etc. changed
    again = register_and_gate(client, metric="rmse", value=1.0, tags=committed,
                              **_logged(session, fitted, name))
    assert first.version == again.version == "1"
    assert client.get_model_version(name, "1").tags[CODE_DIGEST_TAG] == "c1"
    other_code = {**committed, CODE_DIGEST_TAG: "c2"}
    assert register_and_gate(client, metric="rmse", value=1.0, tags=other_code,
                             **_logged(session, fitted, name)).version == "2"
    # a version registered before gdlab kept the digest: the same commit only
    legacy = "code-digest-legacy-test"
    old = {k: v for k, v in lineage.items() if k != CODE_DIGEST_TAG}
    register_and_gate(client, metric="rmse", value=1.0, tags=old,
                      **_logged(session, fitted, legacy))
    assert register_and_gate(client, metric="rmse", value=1.0, tags=dict(lineage),
                             **_logged(session, fitted, legacy)).version == "1"
    assert register_and_gate(client, metric="rmse", value=1.0, tags=committed,
                             **_logged(session, fitted, legacy)).version == "2"


def test_a_reused_version_whose_file_is_damaged_is_not_made_champion(session, fitted, tmp_path):
    """The same model trained again keeps its earlier version, and the aliases moved to that
    version without its own file in the store ever being read: cut short, it became champion
    again. Now its file is checked first; damaged, register refuses before anything is
    written and says to delete that version (training again would reuse it again)."""
    from pathlib import Path

    from mlflow import MlflowClient

    from gdlab.experiment.persist import model_bytes
    from gdlab.tracking.lineage import CODE_DIGEST_TAG
    from gdlab.tracking.logged_model import LoggedModelDiffers, check_reused_version
    from gdlab.tracking.registry import MODEL_DIGEST_TAG

    name, client = "reused-damaged-test", session.client
    tested = tmp_path / "model.skops"  # what train writes to models/ and logs
    tested.write_bytes(model_bytes(fitted[0]))
    lineage = {MODEL_DIGEST_TAG: "cd" * 32, CODE_DIGEST_TAG: "c1", "gdlab.code_dirty": "false",
               "gdlab.data_digest": "d1", "mlflow.source.git.commit": "c0ffee"}

    def verify(model_name, version):
        return check_reused_version(model_name, version, tested)

    first = register_and_gate(client, metric="rmse", value=1.0, tags=dict(lineage),
                              verify_reused=verify, **_logged(session, fitted, name))
    sound = register_and_gate(client, metric="rmse", value=1.0, tags=dict(lineage),
                              verify_reused=verify, **_logged(session, fitted, name))
    assert first.version == sound.version == "1" and sound.promoted  # sound: reused
    source = client.get_model_version(name, "1").source
    logged = client.get_logged_model(source.removeprefix("models:/"))
    stored = Path(logged.artifact_location.removeprefix("file://"), "model.skops")
    assert stored.read_bytes() == tested.read_bytes()
    stored.write_bytes(stored.read_bytes()[:500])
    before = ([v.version for v in client.search_model_versions(f"name='{name}'")],
              client.get_registered_model(name).aliases,
              client.get_model_version(name, "1").tags)
    with pytest.raises(LoggedModelDiffers) as refused:
        register_and_gate(client, metric="rmse", value=0.5, tags=dict(lineage),
                          verify_reused=verify, **_logged(session, fitted, name))
    message = str(refused.value)
    assert f"models:/{name}/1" in message and "is damaged" in message
    assert "nothing registered, no alias moved" in message
    assert f'delete_model_version("{name}", "1")' in message
    after = ([v.version for v in client.search_model_versions(f"name='{name}'")],
             client.get_registered_model(name).aliases,
             client.get_model_version(name, "1").tags)
    assert after == before
    # the command the message gives, then register again: the model is registered anew
    MlflowClient().delete_model_version(name, "1")
    again = register_and_gate(client, metric="rmse", value=1.0, tags=dict(lineage),
                              verify_reused=verify, **_logged(session, fitted, name))
    assert again.version == "2" and again.promoted
