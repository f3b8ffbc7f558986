"""The registry gate compares the champion and the new model on the same test rows: a champion
tested on other data is scored again, with the new model, on the new model's test rows that
neither trained on (too few: not compared); one logged without the fingerprint of its
training rows on every test row, the reason saying they are unknown; one taking other input
columns is not compared (the new version stays challenger); a champion that cannot be scored
leaves the registry as it was."""

import ast
import os
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification
from sklearn.metrics import log_loss, mean_squared_error
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from gdlab import GDClassifier, GDRegressor
from gdlab.data.fingerprint import fingerprint
from gdlab.data.split import split_indices
from gdlab.tracking import log_sklearn_model, pipeline_run, register_and_gate
from gdlab.tracking.champion import (
    CHALLENGER_REMEDY,
    ChampionNotComparable,
    TestSet,
    input_difference,
    promote_by_hand,
)
from gdlab.tracking.registry import COMPARED_TAG, TOO_FEW_ROWS, TOO_SMALL_TEST, UNSEEN_ROWS


def _data(columns, coef, seed, noise=0.0, n=200):
    """A train and a test split of ``y = X @ coef + noise`` (a different ``coef``: a data set
    on which a model fitted to another one is poor)."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, len(columns))), columns=columns)
    y = X.to_numpy() @ np.asarray(coef, dtype=float) + noise * rng.normal(size=n)
    return (X[: n // 2], y[: n // 2]), (X[n // 2 :].reset_index(drop=True), y[n // 2 :])


def _fit(train, estimator=None):
    X, y = train
    estimator = estimator or GDRegressor(max_epochs=30, random_state=0)
    return Pipeline([("preprocess", StandardScaler()), ("model", estimator)]).fit(X, y)


def _rmse(model, test) -> float:
    X, y = test
    return float(np.sqrt(mean_squared_error(y, model.predict(X))))


def _register(session, name, model, test, digest, value, task="regression", metric="rmse",
              train=None, old_layout=False):
    """Log ``model`` in a new run and register it as the pipeline's register stage does:
    its test ``value`` measured on ``test``, that test set given to the gate; with ``train``
    (its training rows, ``(X, y)``), their fingerprint logged with it as train does (with
    ``old_layout``, as an earlier gdlab did: in the model's directory, named in its MLmodel)."""
    X, y = test
    rows = None if train is None else fingerprint(train[0], np.asarray(train[1]))
    with pipeline_run(experiment_id=session.experiment_id) as run:
        info = log_sklearn_model(model, X.head(3), include_code=False, verify=False,
                                 training_rows=None if old_layout else rows)
    if old_layout and rows is not None:
        _save_beside_model(session.client, info.model_id, rows)
    return register_and_gate(
        session.client, model_name=name, model_uri=info.model_uri, run_id=run.info.run_id,
        metric=metric, value=value, task=task, tags={"gdlab.data_digest": digest},
        test_set=TestSet(X, np.asarray(y), task, digest),
    )


def _save_beside_model(client, model_id, rows):
    """The layout of a model logged before the fingerprint moved to the run: the file in the
    logged model's directory, named in its MLmodel metadata, and no run tag."""
    from mlflow.models import Model

    from gdlab.data.fingerprint import save_fingerprint
    from gdlab.served import TRAINING_ROWS_KEY

    directory = client.get_logged_model(model_id).artifact_location.removeprefix("file://")
    mlmodel = Model.load(directory)
    mlmodel.metadata = {**(mlmodel.metadata or {}),
                        TRAINING_ROWS_KEY: save_fingerprint(directory, rows)}
    mlmodel.save(str(Path(directory, "MLmodel")))


def _alias(client, name, alias):
    return str(client.get_model_version_by_alias(name, alias).version)


def test_a_champion_without_a_fingerprint_is_scored_on_every_test_row(session):
    """Champion fitted and tested on data A (a low rmse there), logged without the fingerprint
    of its training rows (as before gdlab kept it); the new model on data B with the same
    columns. On A's rows the champion looked unbeatable; on B's it is poor, and the new
    model beats it there. The gate's champion value is sklearn's RMSE of the champion's
    predictions on all of B's test rows, and the reason says its training rows are unknown
    and may include them."""
    name, columns = "rescored", ["a", "b", "c"]
    train_a, test_a = _data(columns, [1.0, -2.0, 0.5], seed=0)
    train_b, test_b = _data(columns, [-1.0, 2.0, 3.0], seed=1, noise=0.5)
    champion, challenger = _fit(train_a), _fit(train_b)
    first = _register(session, name, champion, test_a, "digest-a", _rmse(champion, test_a))
    assert first.promoted

    value = _rmse(challenger, test_b)
    decision = _register(session, name, challenger, test_b, "digest-b", value)

    on_b = _rmse(champion, test_b)  # independent: sklearn on the champion's own predictions
    assert _rmse(champion, test_a) < value < on_b
    assert decision.champion_evaluation == "re-evaluated on this test set"
    assert decision.previous_value == pytest.approx(on_b, rel=1e-12)
    assert decision.promoted and _alias(session.client, name, "champion") == decision.version
    assert decision.reason == (
        f"test_rmse {value:.6g} beats champion v1's {on_b:.6g} on the same test rows "
        f"(re-evaluated; it recorded {_rmse(champion, test_a):.6g} on its own test data; its "
        "training rows are unknown (it was logged without the fingerprint of its training "
        "rows) and may include these test rows)"
    )
    assert (decision.test_rows, decision.compared_rows) == (100, 100)
    assert decision.champion_training_rows is None and decision.compared_value == value
    tags = session.client.get_model_version(name, decision.version).tags
    assert float(tags["gdlab.champion_test_rmse"]) == pytest.approx(on_b, rel=1e-12)
    assert tags[COMPARED_TAG] == "v1, re-evaluated on this test set"
    assert tags["gdlab.compared_rows"] == "100"
    assert tags["gdlab.promotion_reason"] == decision.reason


def test_a_classifier_champion_is_scored_with_the_same_log_loss(session):
    """The same for classification: the champion's log loss on the new test rows, as
    scikit-learn computes it from the champion's probabilities, decides (string labels)."""
    name, columns = "rescored-clf", ["a", "b"]
    (Xa, ya), test_a = _data(columns, [2.0, -1.0], seed=2)
    (Xb, yb), (Xtb, ytb) = _data(columns, [-2.0, -1.0], seed=3)
    labels = np.array(["no", "yes"])
    train_a, test_a = (Xa, labels[(ya > 0).astype(int)]), (test_a[0], labels[(test_a[1] > 0) * 1])
    train_b, test_b = (Xb, labels[(yb > 0).astype(int)]), (Xtb, labels[(ytb > 0).astype(int)])
    fit = lambda train: _fit(train, GDClassifier(max_epochs=30, random_state=0))  # noqa: E731
    champion, challenger = fit(train_a), fit(train_b)
    loss = lambda model, test: log_loss(test[1], model.predict_proba(test[0]),  # noqa: E731
                                        labels=model.classes_)
    _register(session, name, champion, test_a, "digest-a", loss(champion, test_a),
              task="classification", metric="log_loss")
    value = loss(challenger, test_b)
    decision = _register(session, name, challenger, test_b, "digest-b", value,
                         task="classification", metric="log_loss")
    assert decision.previous_value == pytest.approx(loss(champion, test_b), rel=1e-9)
    assert decision.promoted and loss(champion, test_a) < value < decision.previous_value


def test_a_champion_taking_other_columns_is_not_compared(session):
    """The new model takes columns the champion does not: however its score, it stays
    challenger (promoted, models:/<name>@champion consumers sending the champion's columns
    would break), and the reason names the columns and how to promote it by hand."""
    name = "other-columns"
    train_a, test_a = _data(["a", "b", "c"], [1.0, -2.0, 0.5], seed=0, noise=3.0)
    train_b, test_b = _data(["a", "b", "d", "e"], [1.0, -2.0, 0.5, 1.0], seed=1)
    champion, challenger = _fit(train_a), _fit(train_b)
    _register(session, name, champion, test_a, "digest-a", _rmse(champion, test_a))
    value = _rmse(challenger, test_b)
    assert value < _rmse(champion, test_a)  # "better" on its own rows
    decision = _register(session, name, challenger, test_b, "digest-b", value)

    assert not decision.promoted and decision.champion == "1" and decision.version == "2"
    assert decision.champion_evaluation == "not compared: inputs differ"
    assert decision.previous_value is None
    assert ("whose inputs differ: champion takes 3 features, this model 4: added d, e; "
            "removed c; ") in decision.reason
    client = session.client
    assert _alias(client, name, "champion") == "1" and _alias(client, name, "challenger") == "2"
    assert client.get_model_version(name, "2").tags["gdlab.promotion_reason"] == decision.reason

    # the hand-promotion command the reason gives does it, run as given in the project's root
    argv = _promotion_command(decision.reason)
    done = subprocess.run([sys.executable, *argv[1:]], cwd=Path.cwd(), capture_output=True,
                          text=True, env={k: v for k, v in os.environ.items()
                                          if k != "MLFLOW_TRACKING_URI"}, timeout=120)
    assert done.returncode == 0, done.stderr
    assert argv[0] == "python" and _alias(client, name, "champion") == "2"


def test_a_champion_that_never_predicts_a_test_class_is_not_compared(session):
    """A class added to the data since the champion was trained (it predicts no, yes; the
    test rows hold maybe too): its log loss there is undefined (scikit-learn refuses it), so
    the new version is registered as challenger, not compared, and the reason names the
    class; before, register failed and registered nothing."""
    name, columns = "new-class", ["a", "b"]
    (Xa, ya), test_a = _data(columns, [2.0, -1.0], seed=4)
    (Xb, yb), (Xtb, ytb) = _data(columns, [2.0, -1.0], seed=5)
    two, three = np.array(["no", "yes"]), np.array(["maybe", "no", "yes"])
    bins = lambda y: np.digitize(y, [-0.5, 0.5])  # noqa: E731
    champion = _fit((Xa, two[(ya > 0).astype(int)]), GDClassifier(max_epochs=30, random_state=0))
    challenger = _fit((Xb, three[bins(yb)]), GDClassifier(max_epochs=30, random_state=0))
    test_b = (Xtb, three[bins(ytb)])
    with pytest.raises(ValueError):  # the reference: log loss of the champion on these rows
        log_loss(test_b[1], champion.predict_proba(Xtb), labels=champion.classes_)
    _register(session, name, champion, (test_a[0], two[(test_a[1] > 0) * 1]), "digest-a",
              0.3, task="classification", metric="log_loss")
    value = log_loss(test_b[1], challenger.predict_proba(Xtb), labels=challenger.classes_)
    decision = _register(session, name, challenger, test_b, "digest-b", value,
                         task="classification", metric="log_loss")

    assert not decision.promoted and decision.version == "2"
    assert decision.reason.startswith(
        "not compared with champion v1, which never predicts the test rows' class maybe "
        "(it predicts no, yes); to promote it anyway: ")
    assert decision.champion_evaluation == "not compared: classes differ"
    client = session.client
    assert _alias(client, name, "champion") == "1" and _alias(client, name, "challenger") == "2"


def _promotion_command(reason: str) -> list[str]:
    """The ``python -c ...`` command of a reason's "to promote it anyway: ..." as a shell
    would split it."""
    command = reason.split("to promote it anyway: ", 1)[1].split(" (models:/", 1)[0]
    return shlex.split(command)


@pytest.mark.parametrize("name", ["plain", "it's", 'say "hi"', "back\\slash $HOME `x`"])
def test_the_hand_promotion_command_survives_any_model_name(name):
    """The shell reads the command to the Python call that names the model as it is (quotes,
    backslashes and shell characters in the name included)."""
    argv = _promotion_command(promote_by_hand(name, "7") + " (models:/<name>@champion ...)")
    assert argv[:2] == ["python", "-c"] and len(argv) == 3
    call = ast.parse(argv[2]).body[1].value
    assert call.func.attr == "set_registered_model_alias"
    assert [ast.literal_eval(a) for a in call.args] == [name, "champion", "7"]


def test_the_same_data_compares_the_recorded_metrics_as_before(session):
    """Champion and new model from the same prepared data (same digest): the champion's
    recorded test metric is the one compared (not scored again), and the reason reads as it
    always did."""
    name, columns = "same-data", ["a", "b", "c"]
    train, test = _data(columns, [1.0, -2.0, 0.5], seed=0, noise=0.5)
    champion = _fit(train)
    _register(session, name, champion, test, "digest-a", 0.75)  # recorded: not its real rmse
    worse = _register(session, name, _fit(train), test, "digest-a", 0.8)
    assert not worse.promoted and worse.previous_value == 0.75
    assert worse.reason == "test_rmse 0.8 does not beat 0.75"
    assert worse.champion_evaluation == "recorded"
    better = _register(session, name, _fit(train), test, "digest-a", 0.5)
    assert better.promoted and better.reason == "test_rmse 0.5 beats 0.75"
    assert _alias(session.client, name, "champion") == better.version == "3"


def test_a_champion_that_cannot_be_scored_leaves_the_registry_as_it_was(session):
    """The champion's model file is gone from the artifact store: nothing is registered, no
    alias moves, and the error says in one line which champion could not be scored."""
    name, columns = "unloadable", ["a", "b", "c"]
    train_a, test_a = _data(columns, [1.0, -2.0, 0.5], seed=0)
    train_b, test_b = _data(columns, [-1.0, 2.0, 3.0], seed=1, noise=0.5)
    _register(session, name, _fit(train_a), test_a, "digest-a", 0.01)
    client = session.client
    source = client.get_model_version(name, "1").source  # models:/m-...
    logged = client.get_logged_model(source.removeprefix("models:/"))
    Path(logged.artifact_location.removeprefix("file://"), "model.skops").unlink()

    with pytest.raises(ChampionNotComparable) as error:
        _register(session, name, _fit(train_b), test_b, "digest-b", 0.5)
    message = str(error.value)
    assert message.startswith(
        "champion v1 of 'unloadable' could not be re-evaluated on this test set: "
    )
    assert "\n" not in message and "registered champion in the MLflow store" in error.value.remedy
    assert f'set_registered_model_alias("{name}", "champion"' in error.value.remedy
    assert [str(v.version) for v in client.search_model_versions(f"name = '{name}'")] == ["1"]
    assert _alias(client, name, "champion") == "1" and _alias(client, name, "challenger") == "1"


def test_a_damaged_champion_is_named_in_the_store_with_how_to_move_its_alias(session):
    """The champion's model file in the MLflow store is cut short: the error names the
    registered version and its file in the store, and the remedy moves or deletes the
    champion alias (dvc checkout and training again restore only models/model.skops); the
    commands it gives work: run, the alias goes where they say."""
    name, columns = "damaged-champion", ["a", "b", "c"]
    train_a, test_a = _data(columns, [1.0, -2.0, 0.5], seed=0)
    train_b, test_b = _data(columns, [-1.0, 2.0, 3.0], seed=1, noise=0.5)
    _register(session, name, _fit(train_a), test_a, "digest-a", 0.01, train=train_a)
    _register(session, name, _fit(train_a), test_a, "digest-a", 0.02, train=train_a)
    client = session.client
    logged = client.get_logged_model(client.get_model_version(name, "1").source[len("models:/"):])
    stored = Path(logged.artifact_location.removeprefix("file://"), "model.skops")
    stored.write_bytes(stored.read_bytes()[:1000])

    with pytest.raises(ChampionNotComparable) as error:
        _register(session, name, _fit(train_b), test_b, "digest-b", 0.5, train=train_b)
    message, remedy = str(error.value), error.value.remedy
    assert message.startswith(
        f"champion v1 of {name!r} could not be re-evaluated on this test set: its artifact in "
        f"the MLflow store is damaged: models:/{name}/1 ({logged.artifact_location}/model.skops)"
        " is not a readable skops model file (")
    assert "dvc checkout" not in message and "dvc repro" not in message
    assert "registered champion in the MLflow store" in remedy
    assert "\n" not in message + remedy
    assert _alias(client, name, "champion") == "1"
    [move, delete] = [shlex.split(part)[0] for part in remedy.split("python -c ")[1:]]
    env = {**os.environ, "MLFLOW_TRACKING_URI": str(client.tracking_uri)}
    subprocess.run([sys.executable, "-c", move.replace("<version>", "2")], env=env, check=True)
    assert _alias(client, name, "champion") == "2"
    subprocess.run([sys.executable, "-c", delete], env=env, check=True)
    assert [a for v in client.search_model_versions(f"name = '{name}'")
            for a in v.aliases if a == "champion"] == []


def test_a_new_model_whose_fingerprint_is_damaged_is_blamed_not_the_champion(session):
    """The champion is sound; the new model's own fingerprint file in the artifact store is
    damaged: the error names the new model and says to run train again, not to repair the
    champion; nothing is registered and no alias moves."""
    name, columns = "damaged-challenger", ["a", "b", "c"]
    train_a, test_a = _data(columns, [1.0, -2.0, 0.5], seed=0)
    train_b, test_b = _data(columns, [-1.0, 2.0, 3.0], seed=1, noise=0.5)
    _register(session, name, _fit(train_a), test_a, "digest-a", 0.01, train=train_a)
    X, y = test_b
    with pipeline_run(experiment_id=session.experiment_id) as run:
        info = log_sklearn_model(_fit(train_b), X.head(3), include_code=False, verify=False,
                                 training_rows=fingerprint(train_b[0], np.asarray(train_b[1])))
    kept = session.client.get_run(run.info.run_id).info.artifact_uri.removeprefix("file://")
    Path(kept, "fingerprints", "training_rows.npy").write_bytes(b"not a fingerprint")

    with pytest.raises(ChampionNotComparable) as error:
        register_and_gate(
            session.client, model_name=name, model_uri=info.model_uri, run_id=run.info.run_id,
            metric="rmse", value=0.5, task="regression", tags={"gdlab.data_digest": "digest-b"},
            test_set=TestSet(X, np.asarray(y), "regression", "digest-b"),
        )
    assert str(error.value).startswith(
        f"the fingerprint of this model's training rows ({info.model_uri}) could not be read: ")
    assert error.value.remedy == CHALLENGER_REMEDY and "train again" in CHALLENGER_REMEDY
    versions = session.client.search_model_versions(f"name = '{name}'")
    assert [str(v.version) for v in versions] == ["1"]
    assert _alias(session.client, name, "champion") == "1"


def test_input_difference_names_added_removed_and_retyped_columns():
    champion = {"a": "double", "b": "double", "c": "long"}
    assert input_difference(champion, dict(reversed(champion.items()))) is None  # by name
    assert input_difference(champion, {"a": "double", "b": "long", "d": "double"}) == (
        "champion takes 3 features, this model 3: added d; removed c; "
        "type changed: b double → long"
    )
    assert input_difference(champion, {**champion, "x": "double"}) == (
        "champion takes 3 features, this model 4: added x; removed —"
    )
    assert input_difference(None, champion) == "the champion was logged without an input signature"


def _mlp(X, y):
    """A classifier that memorises its training rows (no penalty, 300 epochs): scored on them,
    its log loss is near 0; on rows it never saw, far higher."""
    model = GDClassifier(model="mlp", hidden_layer_sizes=(64,), max_epochs=300, tol=None,
                         alpha=0.0, random_state=0)
    return Pipeline([("preprocess", StandardScaler()), ("model", model)]).fit(X, y)


def test_a_champion_is_not_scored_on_the_rows_it_was_trained_on(session):
    """The reviewer's case: the same 700 rows split with data.seed 42 (the champion) and then
    43 (the new model). Most of seed 43's test rows were seed 42's training rows: on all of
    them the memorising champion's log loss beats the new model's recorded one (the gate
    used to keep the champion). The gate now scores both on the test rows the champion never
    saw (the new model never trained on its test rows), exactly those numpy finds by row
    identity, with scikit-learn's log loss there, and the new model wins."""
    name = "split-changed"
    X, y = make_classification(700, 20, n_informative=5, flip_y=0.2, random_state=0)
    X = pd.DataFrame(X, columns=[f"x{i}" for i in range(20)])
    tr42, te42 = split_indices(len(y), y, test_size=0.25, seed=42, stratify=True)
    tr43, te43 = split_indices(len(y), y, test_size=0.25, seed=43, stratify=True)
    part = lambda rows: (X.iloc[rows].reset_index(drop=True), y[rows])  # noqa: E731
    loss = lambda model, rows: log_loss(y[rows], model.predict_proba(X.iloc[rows]))  # noqa: E731
    champion, challenger = _mlp(*part(tr42)), _mlp(*part(tr43))
    _register(session, name, champion, part(te42), "seed-42", loss(champion, te42),
              task="classification", metric="log_loss", train=part(tr42))
    value = loss(challenger, te43)
    assert loss(champion, te43) < value  # the leak: scored on its training rows, it wins

    decision = _register(session, name, challenger, part(te43), "seed-43", value,
                         task="classification", metric="log_loss", train=part(tr43))

    unseen = te43[~np.isin(te43, tr42)]  # independent: the rows' identities, not hashes
    values = np.column_stack([X.to_numpy(), y])  # and by value: rows as bytes
    as_bytes = lambda a: np.ascontiguousarray(a).view(f"V{a.shape[1] * 8}").ravel()  # noqa: E731
    assert np.array_equal(~np.isin(as_bytes(values[te43]), as_bytes(values[tr42])),
                          ~np.isin(te43, tr42))
    champion_there, challenger_there = loss(champion, unseen), loss(challenger, unseen)
    assert challenger_there < champion_there  # on rows neither saw, the new model is better
    assert decision.promoted and _alias(session.client, name, "champion") == decision.version
    assert decision.champion_evaluation == UNSEEN_ROWS
    assert (decision.test_rows, decision.compared_rows) == (len(te43), len(unseen))
    assert decision.champion_training_rows == len(te43) - len(unseen) > len(te43) // 2
    assert decision.previous_value == pytest.approx(champion_there, rel=1e-9)
    assert decision.compared_value == pytest.approx(challenger_there, rel=1e-9)
    assert decision.value == value  # its recorded metric, on all its test rows, is kept
    assert decision.reason == (
        f"test_log_loss {decision.compared_value:.6g} beats champion v1's "
        f"{decision.previous_value:.6g} on the {len(unseen)} test rows neither trained on "
        f"(of {len(te43)}; {len(te43) - len(unseen)} were champion training rows; on all "
        f"{len(te43)} this model has {value:.6g})"
    )
    tags = session.client.get_model_version(name, decision.version).tags
    assert float(tags["gdlab.champion_test_log_loss"]) == decision.previous_value
    assert float(tags["gdlab.compared_test_log_loss"]) == decision.compared_value
    assert tags["gdlab.compared_rows"] == str(len(unseen))
    assert tags[COMPARED_TAG] == f"v1, {UNSEEN_ROWS}"


def test_a_champion_logged_with_its_fingerprint_in_the_model_is_still_read(session):
    """A champion logged before the fingerprint moved to the run (the file beside the model,
    named in its MLmodel metadata) still has its training rows left out: 40 of the new test
    rows are its training rows, counted by their positions, and both are scored on the rest."""
    name, columns = "old-layout", ["a", "b", "c"]
    train_a, test_a = _data(columns, [1.0, -2.0, 0.5], seed=0)
    train_b, test_b = _data(columns, [-1.0, 2.0, 3.0], seed=1, noise=0.5)
    champion, challenger = _fit(train_a), _fit(train_b)
    _register(session, name, champion, test_a, "digest-a", _rmse(champion, test_a),
              train=train_a, old_layout=True)
    mixed = (pd.concat([train_a[0][:40], test_b[0]], ignore_index=True),
             np.concatenate([train_a[1][:40], test_b[1]]))
    decision = _register(session, name, challenger, mixed, "digest-b", _rmse(challenger, mixed),
                         train=train_b)

    assert (decision.test_rows, decision.compared_rows, decision.champion_training_rows) == (
        140, 100, 40)
    assert decision.previous_value == pytest.approx(_rmse(champion, test_b), rel=1e-12)
    assert decision.compared_value == pytest.approx(_rmse(challenger, test_b), rel=1e-12)


def test_a_champion_from_disjoint_data_is_compared_on_every_test_row(session):
    """Champion and new model from two data sets sharing no row: no test row is left out,
    and both values are scikit-learn's RMSE on all of the new test rows."""
    name, columns = "disjoint", ["a", "b", "c"]
    train_a, test_a = _data(columns, [1.0, -2.0, 0.5], seed=0)
    train_b, test_b = _data(columns, [-1.0, 2.0, 3.0], seed=1, noise=0.5)
    champion, challenger = _fit(train_a), _fit(train_b)
    _register(session, name, champion, test_a, "digest-a", _rmse(champion, test_a),
              train=train_a)
    value = _rmse(challenger, test_b)
    decision = _register(session, name, challenger, test_b, "digest-b", value, train=train_b)

    assert (decision.test_rows, decision.compared_rows, decision.champion_training_rows) == (
        100, 100, 0)
    assert decision.previous_value == pytest.approx(_rmse(champion, test_b), rel=1e-12)
    assert decision.compared_value == pytest.approx(value, rel=1e-12)
    assert decision.promoted and decision.reason == (
        f"test_rmse {decision.compared_value:.6g} beats champion v1's "
        f"{decision.previous_value:.6g} on the 100 test rows neither trained on (of 100; "
        "none was a champion training row)"
    )


def test_too_few_test_rows_neither_trained_on_are_not_compared(session):
    """The champion was trained on 90 of the new model's 100 test rows: the 10 left are too
    few to compare the two on, so the new version stays challenger, whatever its score, and
    the reason gives the counts and how to promote it by hand."""
    name, columns = "too-few", ["a", "b", "c"]
    (X, y), (Xt, yt) = _data(columns, [1.0, -2.0, 0.5], seed=0, noise=0.5)
    seen_rows = (pd.concat([X, Xt[:90]], ignore_index=True), np.concatenate([y, yt[:90]]))
    champion = _fit(seen_rows)
    _register(session, name, champion, (Xt[90:].reset_index(drop=True), yt[90:]), "digest-a",
              0.01, train=seen_rows)
    challenger = _fit((X, y))
    decision = _register(session, name, challenger, (Xt, yt), "digest-b", 0.001,
                         train=(X, y))

    assert not decision.promoted and decision.version == "2"
    assert decision.champion_evaluation == TOO_FEW_ROWS and decision.previous_value is None
    assert (decision.test_rows, decision.compared_rows, decision.champion_training_rows) == (
        100, 10, 90)
    assert decision.reason.startswith(
        "not compared with champion v1, whose training rows hold 90 of the 100 test rows: "
        "10 are in neither model's training data, fewer than the 30 a comparison needs; "
        "to promote it anyway: python -c ")
    client = session.client
    assert _alias(client, name, "champion") == "1" and _alias(client, name, "challenger") == "2"
    assert "gdlab.compared_rows" not in client.get_model_version(name, "2").tags


def test_a_tiny_test_set_does_not_decide_the_champion(session):
    """A 20-row CSV with data.test_size 0.2 tests on 4 rows: a perfect score there is mostly
    luck (accuracy 4/4 has a 95% Wilson interval from 0.51 to 1). The first version still
    becomes champion, its reason saying how few rows tested it; a later one tested on 4 rows
    is not compared with the champion, stays challenger, and the reason names the count and
    how to promote it by hand."""
    name, columns = "tiny-test", ["a", "b", "c"]
    (X, y), (Xt, yt) = _data(columns, [1.0, -2.0, 0.5], seed=0)
    tiny = (Xt[:4].reset_index(drop=True), yt[:4])
    first = _register(session, name, _fit((X, y)), tiny, "digest-a", 0.5, train=(X, y))
    assert first.promoted
    assert first.reason == ("first version: no champion yet (tested on only 4 rows: too few to "
                            "rank it against a later version)")

    (X2, y2), _ = _data(columns, [1.0, -2.0, 0.5], seed=5)
    decision = _register(session, name, _fit((X2, y2)), tiny, "digest-b", 0.0001, train=(X2, y2))
    assert not decision.promoted and decision.version == "2"
    assert decision.champion_evaluation == TOO_SMALL_TEST and decision.previous_value is None
    assert decision.reason.startswith(
        "not compared with champion v1, as this model was tested on only 4 rows, fewer than "
        "the 30 a comparison needs (its test metric is mostly noise: use more rows or raise "
        "data.test_size); to promote it anyway: python -c ")
    client = session.client
    assert _alias(client, name, "champion") == "1" and _alias(client, name, "challenger") == "2"


def test_scoring_the_champion_draws_no_download_progress_bar(session, capfd, monkeypatch):
    """register reads the champion's model and fingerprint files between its own lines; MLflow
    would draw a progress bar for each download ("Downloading artifacts: 100%|...")."""
    monkeypatch.delenv("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", raising=False)
    name, columns = "quiet", ["a", "b"]
    train_a, test_a = _data(columns, [1.0, -2.0], seed=0)
    train_b, test_b = _data(columns, [-1.0, 2.0], seed=1, noise=0.5)
    champion, challenger = _fit(train_a), _fit(train_b)
    assert _register(session, name, champion, test_a, "digest-a", _rmse(champion, test_a),
                     train=train_a).promoted
    capfd.readouterr()
    decision = _register(session, name, challenger, test_b, "digest-b",
                         _rmse(challenger, test_b), train=train_b)
    assert decision.champion_evaluation == "re-evaluated on the test rows neither trained on"
    err = capfd.readouterr().err
    assert "Downloading artifacts" not in err, err
    assert "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR" not in os.environ


@pytest.mark.parametrize("name", ["../../../etc/hostname", "/etc/hostname", "sub/model.skops",
                                  "..", "C:\\model.skops"])
def test_a_model_file_the_mlmodel_names_outside_the_model_directory_is_never_read(
    monkeypatch, tmp_path, name
):
    from types import SimpleNamespace

    from gdlab.served import TRAINING_ROWS_KEY
    from gdlab.tracking import champion

    asked = []
    monkeypatch.setattr(champion, "download_model_file",
                        lambda uri, path, directory: asked.append(path) or path)
    monkeypatch.setattr(champion, "download_run_file",
                        lambda run_id, path, directory: asked.append(path) or path)
    flavors = {"sklearn": {"serialization_format": "skops", "pickled_model": name}}
    entry = {"file": name, "scheme": champion.SCHEME}
    metadata = {TRAINING_ROWS_KEY: entry}
    monkeypatch.setattr(champion, "_model_info",
                        lambda uri: SimpleNamespace(flavors=flavors, metadata=metadata))
    monkeypatch.setattr(champion, "_source_run", lambda uri: None)  # an old-layout model
    with pytest.raises(ValueError, match="not a file of the model's own directory"):
        champion._load_registered("models:/m/1", str(tmp_path), ())
    with pytest.raises(ValueError, match="not a file of the model's own directory"):
        champion._training_rows("models:/m/1", str(tmp_path))
    monkeypatch.setattr(champion, "_source_run", lambda uri: "run-1")  # the train run's tag
    monkeypatch.setattr(champion, "_run_entry", lambda run_id: entry)
    with pytest.raises(ValueError, match="not a file of the run's fingerprints directory"):
        champion._training_rows("models:/m/1", str(tmp_path))
    assert asked == []  # nothing downloaded, nothing read


def test_the_model_file_names_train_logs_are_plain_names():
    from gdlab.tracking.champion import _plain_file_name

    assert _plain_file_name("model.skops") and _plain_file_name("training_rows.npy")
