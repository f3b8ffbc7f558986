"""The served model's answer to a request it cannot predict on: HTTP 400 naming the columns
and request rows (MLflow's scoring server otherwise says only "Encountered an unexpected
error"). Requests go through ``scoring_server.invocations``, what ``mlflow models serve``
runs per request, in this process; the status is the one its app answers with."""

import json

import mlflow.pyfunc
import numpy as np
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException
from mlflow.pyfunc import scoring_server
from sklearn.pipeline import Pipeline

from gdlab import GDClassifier, served
from gdlab.data.preprocessing import build_preprocessor
from gdlab.experiment.persist import trusted_types
from gdlab.tracking.model import model_signature, one_hot_metadata

COLUMNS = ["x0", "x1", "x2", "x3"]
GOOD = [[0.1, 0.2, 0.3, 0.4], [2.0, 0.0, -2.0, 0.0], [-2.0, 0.0, 2.0, 0.0]]


def saved(tmp_path_factory, missing: str) -> tuple[mlflow.pyfunc.PyFuncModel, str]:
    """A preprocessing + GDClassifier pipeline saved as gdlab logs it, loaded as a server
    does, and its directory."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.standard_normal((60, 4)), columns=COLUMNS)
    y = (X["x0"] > X["x2"]).to_numpy()
    model = Pipeline([
        ("preprocess", build_preprocessor(missing=missing)),
        ("model", GDClassifier(max_epochs=5, tol=None, random_state=0)),
    ]).fit(X, y)
    path = str(tmp_path_factory.mktemp("served") / "model")
    served.save_model(
        model, path, signature=model_signature(model, X.head(3)), serialization_format="skops",
        skops_trusted_types=trusted_types(model), pip_requirements=["mlflow"],
    )
    return mlflow.pyfunc.load_model(path), path


@pytest.fixture(scope="module")
def refusing(tmp_path_factory):
    return saved(tmp_path_factory, "refuse")[0]


@pytest.fixture(scope="module")
def imputing(tmp_path_factory):
    return saved(tmp_path_factory, "mean")[0]


def invoke(model, body: str) -> tuple[int, dict]:
    """Status and JSON body of the scoring app's answer to a JSON request."""
    schema = model.metadata.get_input_schema()
    try:
        answer = scoring_server.invocations(body, "application/json", model, schema)
    except MlflowException as exc:  # what the app's handler turns into the response
        return exc.get_http_status_code(), json.loads(exc.serialize_as_json())
    return answer.status, json.loads(answer.response)


def body_with(value: str, *, row: int = 1, column: int = 2) -> str:
    """The GOOD request with the JSON literal ``value`` at (row, column)."""
    rows = [[json.dumps(v) for v in r] for r in GOOD]
    rows[row][column] = value
    data = "[" + ", ".join("[" + ", ".join(r) + "]" for r in rows) + "]"
    return json.dumps({"dataframe_split": {"columns": COLUMNS, "data": []}}).replace("[]", data)


@pytest.mark.parametrize(
    "value, kind", [("NaN", "NaN"), ("null", "NaN"), ("Infinity", "infinity"),
                    ("-Infinity", "infinity")]
)
def test_a_missing_or_infinite_value_is_refused_naming_column_and_row(refusing, value, kind):
    status, answer = invoke(refusing, body_with(value))
    assert status == 400, answer
    assert answer["error_code"] == "INVALID_PARAMETER_VALUE"
    message = answer["message"]
    assert f"column 'x2' holds {kind} in row 1 (rows count from 0" in message
    assert "send finite numbers in every column" in message
    assert "unexpected error" not in message
    status, answer = invoke(refusing, body_with("0.5"))  # and the model goes on answering
    assert status == 200 and len(answer["predictions"]) == len(GOOD)


def test_every_bad_column_and_row_is_named(refusing):
    body = json.dumps({"dataframe_records": [
        {"x0": 1.0, "x1": None, "x2": 0.0, "x3": 0.0},
        {"x0": 1.0, "x1": 2.0, "x2": 0.0, "x3": 0.0},
        {"x0": 1.0, "x1": None, "x2": 0.0, "x3": 0.0},
    ]}).replace('"x3": 0.0}]', '"x3": Infinity}]')
    status, answer = invoke(refusing, body)
    assert status == 400
    assert "column 'x1' holds NaN in rows 0, 2" in answer["message"]
    assert "column 'x3' holds infinity in row 2" in answer["message"]
    assert "'x0'" not in answer["message"].split("Error: ")[-1]


def test_a_model_that_imputes_answers_null_and_names_infinity(imputing):
    status, answer = invoke(imputing, body_with("null"))
    assert status == 200 and len(answer["predictions"]) == len(GOOD)
    status, answer = invoke(imputing, body_with("-Infinity", row=0, column=3))
    assert status == 400
    assert "column 'x3' holds infinity in row 0" in answer["message"]
    assert "send finite numbers in every column" in answer["message"]
    both = body_with("-Infinity", row=0, column=3).replace("2.0", "null", 1)
    status, answer = invoke(imputing, both)  # the null it takes is not blamed
    assert status == 400 and "NaN" not in answer["message"].split("Error: ")[-1]
    assert "column 'x3' holds infinity in row 0" in answer["message"]
    assert "send finite numbers or null in every column" in answer["message"]


def test_the_scikit_learn_flavour_is_the_pipeline_itself(tmp_path_factory):
    """Only the pyfunc flavour loads through gdlab; mlflow.sklearn.load_model is unchanged."""
    import mlflow.sklearn

    refusing, path = saved(tmp_path_factory, "refuse")
    assert refusing.loader_module == "gdlab.served"
    pipeline = mlflow.sklearn.load_model(path)
    assert isinstance(pipeline, Pipeline)
    frame = pd.DataFrame(GOOD, columns=COLUMNS)
    np.testing.assert_array_equal(refusing.predict(frame), pipeline.predict(frame))


def test_the_loader_module_imports_only_what_the_model_requires():
    # MLflow imports the pyfunc loader module wherever the model is served, in an environment
    # built from the model's pip requirements (mlflow, numpy, pandas, scikit-learn, scipy,
    # skops) plus gdlab's source: as gdlab.tracking.served it imported the whole tracking
    # package, and with it dask, skops and the params schema (gdlab.running_code, the digest
    # of gdlab's source that `import gdlab` takes for the Dask worker check, is stdlib only)
    import os
    import subprocess
    import sys
    from pathlib import Path

    import gdlab
    from gdlab.tracking.model import pip_requirements

    assert [r.split("==")[0] for r in pip_requirements()] == [
        "mlflow", "numpy", "pandas", "scikit-learn", "scipy", "skops"]
    code = (
        "import sys\n"
        "import gdlab.served\n"
        "tops = {m.split('.')[0] for m in sys.modules}\n"
        "gd = sorted(m for m in sys.modules if m.startswith('gdlab.'))\n"
        "print(sorted(tops & {'dask', 'distributed', 'optuna', 'matplotlib', 'dvc', 'skops',"
        " 'fairlearn', 'numba'}))\n"
        "own = ('core', 'estimators', 'lazy', 'running_code', 'served', 'text')\n"
        "print([m for m in gd if m.split('.')[1] not in own])\n"
    )
    src = str(Path(gdlab.__file__).resolve().parents[1])
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": src}, timeout=120, check=True)
    assert proc.stdout.splitlines() == ["[]", "[]"], proc.stdout


def test_only_predict_is_served(tmp_path):
    # RequestChecked answers for predict; pyfunc_predict_fn="predict_proba" would reach the
    # model past it and a NaN would get MLflow's generic error again
    model = GDClassifier(max_epochs=2, tol=None).fit(np.eye(4), [0, 1, 0, 1])
    with pytest.raises(ValueError, match="pyfunc_predict_fn='predict_proba': gdlab's served"):
        served.save_model(model, str(tmp_path / "m"), pyfunc_predict_fn="predict_proba")
    assert not (tmp_path / "m").exists()


# ---------------------------------------------------------------- one-hot columns
# prepare one-hot encodes a text column `city` into city=a, city=b, city=c outside the model;
# MLflow's signature check drops a column the signature lacks (an unseen level, city=d) with a
# warning in the server's log only, and the model scored the row as if it were valid

CITY = ["x0", "x1", "city=a", "city=b", "city=c"]


def prepared_model(tmp_path_factory, raw: pd.DataFrame, y, missing: str):
    """A pipeline fitted on what prepare makes of ``raw`` (its checks and encoding; text
    columns one-hot encoded), saved as train logs it with the one-hot groups prepare recorded;
    the pipeline, the prepared features and the loaded pyfunc."""
    from gdlab.data.build import one_hot_encoding
    from gdlab.data.checks import check_table
    from gdlab.data.table import RawTable

    checked = check_table(RawTable(raw.assign(y=y), "y", "test"), task="classification",
                          missing=missing)
    X = checked.features
    model = Pipeline([
        ("preprocess", build_preprocessor(missing=missing)),
        ("model", GDClassifier(max_epochs=5, tol=None, random_state=0)),
    ]).fit(X, checked.target)
    path = str(tmp_path_factory.mktemp("prepared") / "model")
    served.save_model(
        model, path, signature=model_signature(model, X.head(3)), serialization_format="skops",
        skops_trusted_types=trusted_types(model), pip_requirements=["mlflow"],
        metadata=one_hot_metadata(one_hot_encoding(checked, missing), X.head(3)),
    )
    return model, X, mlflow.pyfunc.load_model(path)


def city_model(tmp_path_factory, missing: str):
    """A pipeline on two numbers and a text column city that prepare one-hot encodes, saved
    as train logs it; the pipeline and the loaded pyfunc."""
    rng = np.random.default_rng(1)
    city = rng.integers(0, 3, 90)
    raw = pd.DataFrame(rng.standard_normal((90, 2)), columns=["x0", "x1"])
    raw["city"] = np.array(["a", "b", "c"])[city]
    pipeline, X, loaded = prepared_model(tmp_path_factory, raw, raw["x0"] + city > 1.5, missing)
    assert list(X.columns) == CITY
    return pipeline, loaded


def city_request(rows: list[list[float]], columns: list[str] = CITY) -> str:
    return json.dumps({"dataframe_split": {"columns": columns, "data": rows}})


def test_a_level_the_model_was_not_trained_on_is_refused_naming_the_column(tmp_path_factory):
    pipeline, loaded = city_model(tmp_path_factory, "refuse")
    good = [[0.5, 1.0, 0, 1, 0], [0.1, -1.0, 1, 0, 0], [2.0, 0.0, 0, 0, 1]]
    status, answer = invoke(loaded, city_request(good))
    assert status == 200
    expected = pipeline.predict(pd.DataFrame(good, columns=CITY, dtype=float))
    assert answer["predictions"] == expected.tolist()
    # city=d: MLflow drops the column, the row's city=a/b/c are all 0
    unseen = [[0.5, 1.0, 0, 1, 0, 0], [0.5, 1.0, 0, 0, 0, 1]]
    status, answer = invoke(loaded, city_request(unseen, [*CITY, "city=d"]))
    assert status == 400, answer
    message = answer["message"]
    assert "column 'city' sets no level in row 1 (rows count from 0" in message
    assert "'city' as 'city=a', 'city=b', 'city=c'" in message
    assert "row 0" not in message
    # two levels at once, and a value that is no 0/1
    status, answer = invoke(loaded, city_request([[0.5, 1.0, 1, 1, 0], [0.5, 1.0, 0, 0.5, 0],
                                                  [0.5, 1.0, 1, 1, 0]]))
    assert status == 400
    assert "column 'city' sets several levels in rows 0, 2" in answer["message"]
    assert "column 'city' holds a value other than 0 and 1 in row 1" in answer["message"]
    status, answer = invoke(loaded, city_request(good))  # and the model goes on answering
    assert status == 200


def test_a_model_that_imputes_takes_a_row_of_no_level_as_a_missing_text_value(
        tmp_path_factory):
    # prepare encodes a missing text value as no level: a model that imputes was trained on it
    pipeline, loaded = city_model(tmp_path_factory, "mean")
    none = [[0.5, 1.0, 0, 0, 0]]
    status, answer = invoke(loaded, city_request(none))
    assert status == 200
    expected = pipeline.predict(pd.DataFrame(none, columns=CITY, dtype=float))
    assert answer["predictions"] == expected.tolist()
    status, answer = invoke(loaded, city_request([[0.5, 1.0, 0, 1, 1]]))
    assert status == 400 and "column 'city' sets several levels in row 0" in answer["message"]


def test_a_users_own_multi_hot_columns_are_no_one_hot_group(tmp_path_factory):
    # 0/1 columns named a=1, a=2 in the data itself (both 1 in some rows): prepare encodes no
    # text column, so they are no group; they were taken for one by their names, and training
    # rows were refused ("column 'a' sets several levels", "sets no level")
    rng = np.random.default_rng(3)
    raw = pd.DataFrame({"x0": rng.standard_normal(120), "a=1": (rng.random(120) < 0.6) * 1.0,
                        "a=2": (rng.random(120) < 0.3) * 1.0})
    pipeline, X, loaded = prepared_model(tmp_path_factory, raw, raw["x0"] + raw["a=1"] > 0.7,
                                         "refuse")
    assert loaded.metadata.metadata is None  # nothing prepare one-hot encoded
    both, neither = X[(X["a=1"] == 1) & (X["a=2"] == 1)], X[(X["a=1"] == 0) & (X["a=2"] == 0)]
    rows = pd.concat([both.head(2), neither.head(2)]).to_numpy().tolist()
    status, answer = invoke(loaded, city_request(rows, list(X.columns)))
    assert status == 200, answer
    expected = pipeline.predict(pd.DataFrame(rows, columns=X.columns))
    assert answer["predictions"] == expected.tolist()


def test_a_users_own_drop_first_encoding_is_not_checked_beside_prepares_groups(
        tmp_path_factory):
    # the data holds city=b, city=c (city a: both 0) as numbers, and a text column shop that
    # prepare one-hot encodes: every city-a row was refused ("column 'city' sets no level");
    # now only shop's levels are checked
    rng = np.random.default_rng(4)
    city = rng.integers(0, 3, 120)
    raw = pd.DataFrame({"x0": rng.standard_normal(120), "city=b": (city == 1) * 1.0,
                        "city=c": (city == 2) * 1.0,
                        "shop": np.array(["north", "south"])[rng.integers(0, 2, 120)]})
    pipeline, X, loaded = prepared_model(tmp_path_factory, raw, raw["x0"] + city > 1.0,
                                         "refuse")
    assert loaded.metadata.metadata[served.ONE_HOT_KEY] == {
        "groups": {"shop": ["shop=north", "shop=south"]}, "none_allowed": False}
    rows = X[city == 0].head(3).to_numpy().tolist()  # city a, as the data holds it
    status, answer = invoke(loaded, city_request(rows, list(X.columns)))
    assert status == 200, answer
    expected = pipeline.predict(pd.DataFrame(rows, columns=X.columns))
    assert answer["predictions"] == expected.tolist()
    # a shop the model was not trained on (shop=east, dropped by MLflow): refused
    unseen = [[*rows[0][:3], 0.0, 0.0, 1.0]]
    status, answer = invoke(loaded, city_request(unseen, [*X.columns, "shop=east"]))
    assert status == 400
    assert "column 'shop' sets no level in row 0 " in answer["message"]
    assert "column 'city'" not in answer["message"]


# ---------------------------------------------------------------- class probabilities
# the champion is chosen on log loss, a score of the probabilities: a request asks for them
# with "params": {"predict_method": "predict_proba"} (MLflow ignored params the signature
# did not declare, and answered labels with HTTP 200)

def request_for(rows: list[list[float]], columns: list[str] = COLUMNS, **params: str) -> str:
    body: dict = {"dataframe_split": {"columns": columns, "data": rows}}
    if params:
        body["params"] = params
    return json.dumps(body)


def probabilities_of(pipeline, rows: list[list[float]], columns: list[str] = COLUMNS) -> dict:
    """The pipeline's own predict_proba, keyed as the served model names its columns."""
    proba = pipeline.predict_proba(pd.DataFrame(rows, columns=columns, dtype=float))
    return {str(c): proba[:, k].tolist() for k, c in enumerate(pipeline.classes_)}


def served_classifier(tmp_path_factory, y_of, missing: str = "refuse"):
    """A pipeline fitted on labels ``y_of(X)``, saved as gdlab logs it; it and its pyfunc."""
    rng = np.random.default_rng(2)
    X = pd.DataFrame(rng.standard_normal((90, 4)), columns=COLUMNS)
    model = Pipeline([
        ("preprocess", build_preprocessor(missing=missing)),
        ("model", GDClassifier(max_epochs=5, tol=None, random_state=0)),
    ]).fit(X, y_of(X))
    path = str(tmp_path_factory.mktemp("proba") / "model")
    served.save_model(
        model, path, signature=model_signature(model, X.head(3)), serialization_format="skops",
        skops_trusted_types=trusted_types(model), pip_requirements=["mlflow"],
    )
    return model, mlflow.pyfunc.load_model(path)


def three_cities(X: pd.DataFrame) -> np.ndarray:
    """String labels in no sorted order: classes_ sorts them (lima, oslo, pune)."""
    return np.where(X["x0"] > 0.5, "pune", np.where(X["x2"] > 0.0, "lima", "oslo"))


@pytest.mark.parametrize("labels", ["boolean", "three strings"])
def test_a_classifier_answers_its_class_probabilities_when_asked(tmp_path_factory, labels):
    y_of = (lambda X: (X["x0"] > X["x2"]).to_numpy()) if labels == "boolean" else three_cities
    pipeline, loaded = served_classifier(tmp_path_factory, y_of)
    status, answer = invoke(loaded, request_for(GOOD, predict_method="predict_proba"))
    assert status == 200, answer
    expected = probabilities_of(pipeline, GOOD)
    names = [str(c) for c in pipeline.classes_]
    assert names == (["False", "True"] if labels == "boolean" else ["lima", "oslo", "pune"])
    # one record per request row, keyed by the class labels in the order of classes_
    assert [list(record) for record in answer["predictions"]] == [names] * len(GOOD)
    for name in names:
        got = [record[name] for record in answer["predictions"]]
        np.testing.assert_allclose(got, expected[name], rtol=0, atol=1e-12)
    totals = [sum(record.values()) for record in answer["predictions"]]
    np.testing.assert_allclose(totals, 1.0, rtol=0, atol=1e-12)
    # the default, and "predict" asked for, stay the labels
    labels_expected = pipeline.predict(pd.DataFrame(GOOD, columns=COLUMNS)).tolist()
    for body in (request_for(GOOD), request_for(GOOD, predict_method="predict")):
        status, answer = invoke(loaded, body)
        assert status == 200 and answer["predictions"] == labels_expected
    # in Python, the same through the loaded pyfunc
    frame = pd.DataFrame(GOOD, columns=COLUMNS)
    proba = loaded.predict(frame, params={"predict_method": "predict_proba"})
    assert list(proba.columns) == names
    np.testing.assert_allclose(proba.to_numpy(), pipeline.predict_proba(frame), rtol=0,
                               atol=1e-12)


def test_a_predict_method_the_model_does_not_answer_is_refused_naming_it(refusing):
    for method in ("decision_function", "predict_log_proba", "PREDICT_PROBA", ""):
        status, answer = invoke(refusing, request_for(GOOD, predict_method=method))
        assert status == 400, answer
        assert answer["error_code"] == "INVALID_PARAMETER_VALUE"
        assert (f"params: predict_method={method!r} is not a method this model answers: "
                "send 'predict' (the class labels, the default) or 'predict_proba'"
                in answer["message"])
    with pytest.raises(MlflowException, match="predict_method='score'") as raised:
        refusing.predict(pd.DataFrame(GOOD, columns=COLUMNS), params={"predict_method": "score"})
    assert raised.value.get_http_status_code() == 400


def test_the_probabilities_are_refused_on_the_cells_labels_are_refused_on(refusing, imputing):
    status, answer = invoke(refusing, body_with("NaN").replace(
        "}}", '}, "params": {"predict_method": "predict_proba"}}'))
    assert status == 400, answer
    assert "column 'x2' holds NaN in row 1 (rows count from 0" in answer["message"]
    assert "send finite numbers in every column" in answer["message"]
    # a model that imputes answers null, and names infinity, for probabilities too
    proba = '}, "params": {"predict_method": "predict_proba"}}'
    status, answer = invoke(imputing, body_with("null").replace("}}", proba))
    assert status == 200
    assert [list(record) for record in answer["predictions"]] == [["False", "True"]] * len(GOOD)
    # the probe of whether the model takes the null rows asks for probabilities too
    both = body_with("-Infinity", row=0, column=3).replace("2.0", "null", 1)
    status, answer = invoke(imputing, both.replace("}}", proba))
    assert status == 400 and "NaN" not in answer["message"].split("Error: ")[-1]
    assert "column 'x3' holds infinity in row 0" in answer["message"]
    assert "send finite numbers or null in every column" in answer["message"]


def test_the_probabilities_are_refused_on_a_city_level_the_model_was_not_trained_on(
        tmp_path_factory):
    pipeline, loaded = city_model(tmp_path_factory, "refuse")
    unseen = [[0.5, 1.0, 0, 1, 0, 0], [0.5, 1.0, 0, 0, 0, 1]]
    body = request_for(unseen, [*CITY, "city=d"], predict_method="predict_proba")
    status, answer = invoke(loaded, body)
    assert status == 400, answer
    assert "column 'city' sets no level in row 1 (rows count from 0" in answer["message"]
    good = [[0.5, 1.0, 0, 1, 0]]
    status, answer = invoke(loaded, request_for(good, CITY, predict_method="predict_proba"))
    assert status == 200
    assert answer["predictions"] == [
        {name: column[0] for name, column in probabilities_of(pipeline, good, CITY).items()}]


def test_a_regressor_answers_predict_only(tmp_path):
    from gdlab import GDRegressor

    X = pd.DataFrame(np.random.default_rng(3).standard_normal((40, 4)), columns=COLUMNS)
    model = GDRegressor(max_epochs=3, tol=None, random_state=0).fit(X, X["x0"] - X["x1"])
    served.save_model(model, str(tmp_path / "m"), signature=model_signature(model, X.head(3)),
                      serialization_format="skops", skops_trusted_types=trusted_types(model),
                      pip_requirements=["mlflow"])
    loaded = mlflow.pyfunc.load_model(str(tmp_path / "m"))
    status, answer = invoke(loaded, request_for(GOOD, predict_method="predict_proba"))
    assert status == 400, answer
    assert ("params: predict_method='predict_proba' is not a method this model answers: send "
            "'predict' (the default: this model gives no class probabilities)" in answer["message"])
    status, answer = invoke(loaded, request_for(GOOD))
    assert status == 200
    np.testing.assert_allclose(answer["predictions"],
                               model.predict(pd.DataFrame(GOOD, columns=COLUMNS)))
