"""Issue 6, point 1: every bad input gets one clear message naming the parameter, column or
row — and leaves the stage outputs, the MLflow runs and the registry as they were.

Each test breaks params.yaml or the data file of a project that has already run the whole
pipeline, runs the stages in DVC's order (validate first; a later stage runs only if the one
before succeeded) and checks the message; the ``untouched`` fixture then compares every output
file's hash, every run's status and every model version and alias with the state before.
Served-model requests go to MLflow's real scoring app serving the champion.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request

import pytest

from tests.reliability.harness import Project, free_port

# ---------------------------------------------------------------- helpers


def refused(project: Project, changes: dict, *needles: str, stage: str = "validate"):
    """Write ``changes`` into params.yaml, run the pipeline, and check it stops at ``stage``
    with one message (no traceback) containing every needle."""
    project.write_params(changes)
    results = project.repro()
    last = results[-1]
    assert last.stage == stage and last.code == 1, f"{last.stage} exit {last.code}:\n{last.text}"
    assert "Traceback" not in last.err, last.err
    for needle in needles:
        assert needle in last.err, f"{needle!r} not in:\n{last.err}"
    return last


HEADER = "x1,x2,x3,group,y"


def rows(n: int = 40) -> list[str]:
    """``n`` clean CSV rows (two balanced classes, a group column)."""
    return [f"{i * 0.1:.1f},{(i % 7) - 3},{(i * 13) % 5},{'ab'[i % 2]},{i % 2}" for i in range(n)]


def write_csv(project: Project, lines: list[str], name: str = "data.csv", enc: str = "utf-8"):
    path = project.root / "raw" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(("\n".join(lines) + "\n").encode(enc) if lines else b"")
    return {"data": {"source": "csv", "path": f"raw/{name}", "target": "y", "sensitive": "group"}}


# ---------------------------------------------------------------- params


def test_param_wrong_type(untouched):
    refused(untouched, {"optimizer": {"learning_rate": "fast"}}, "optimizer.learning_rate")


def test_param_zero(untouched):
    refused(untouched, {"train": {"max_epochs": 0}}, "train.max_epochs")


def test_param_negative(untouched):
    refused(untouched, {"optimizer": {"learning_rate": -0.1}}, "optimizer.learning_rate")


def test_param_nan(untouched):
    refused(untouched, {"optimizer": {"learning_rate": float("nan")}}, "optimizer.learning_rate")


def test_param_inf(untouched):
    refused(untouched, {"data": {"test_size": float("inf")}}, "data.test_size")


def test_param_unknown_name(untouched):
    refused(untouched, {"optimizer": {"name": "adamx"}}, "optimizer.name", "adamx")


def test_param_unknown_key(untouched):
    refused(untouched, {"train": {"max_epoch": 5}}, "train.max_epoch")


def test_param_incompatible_combination(untouched):
    refused(untouched, {"model": {"task": "regression", "loss": "log_loss"}}, "model.loss")


def test_param_credentials_refused_and_not_echoed(untouched):
    result = refused(
        untouched, {"tracking": {"uri": "http://alice:s3cret@127.0.0.1:5000"}}, "tracking.uri"
    )
    assert "s3cret" not in result.text


# ---------------------------------------------------------------- data


def test_data_nan(untouched):
    lines = [HEADER, *rows()]
    lines[4] = "0.3,,2,b,1"  # row 3 (file line 5)
    refused(untouched, write_csv(untouched, lines), "data.missing", "'x2'", "row 3", "line 5")


def test_data_inf(untouched):
    lines = [HEADER, *rows()]
    lines[8] = "inf,1,2,a,1"  # row 7
    refused(untouched, write_csv(untouched, lines), "'x1'", "row 7", "line 9")


def test_data_non_numeric(untouched):
    lines = [HEADER, *rows()]
    lines[5] = "0.4,1,abc,a,0"  # row 4: a typo in a numeric column
    refused(untouched, write_csv(untouched, lines), "'x3'", "row 4", "'abc'")


def test_data_non_numeric_refused_by_config(untouched):
    lines = [HEADER.replace("x3", "colour"), *(r.replace(",", ",c", 2) for r in rows())]
    changes = write_csv(untouched, lines)
    changes["data"]["categorical"] = "refuse"
    refused(untouched, changes, "data.categorical", "'x2'")


def test_data_empty_file(untouched):
    refused(untouched, write_csv(untouched, []), "data.path", "is empty")


def test_data_missing_target(untouched):
    changes = write_csv(untouched, [HEADER.replace(",y", ",Y"), *rows()])
    refused(untouched, changes, "data.target", "'y'", "did you mean 'Y'")


def test_data_single_class(untouched):
    lines = [HEADER, *(r[:-1] + "1" for r in rows())]
    refused(untouched, write_csv(untouched, lines), "data.target", "single class")


def test_data_single_row(untouched):
    refused(untouched, write_csv(untouched, [HEADER, rows()[0]]), "single row")


def test_data_duplicated_column_names(untouched):
    lines = [HEADER.replace("x3", "x1"), *rows()]
    refused(untouched, write_csv(untouched, lines), "duplicated column names", "'x1'")


def test_data_values_so_large_training_overflows(untouched):
    lines = [HEADER, *rows()]
    lines[6] = "0.5,1e200,2,b,1"  # row 5
    refused(untouched, write_csv(untouched, lines), "'x2'", "row 5", "overflows")


def test_data_wrong_delimiter(untouched):
    lines = [line.replace(",", ";") for line in [HEADER, *rows()]]
    refused(untouched, write_csv(untouched, lines), "data.delimiter", "';'")


def test_data_wrong_encoding(untouched):
    lines = [HEADER, *rows()]
    lines[10] = lines[10].replace(",a,", ",caf\u00e9,").replace(",b,", ",caf\u00e9,")
    changes = write_csv(untouched, lines, enc="latin-1")  # data.encoding stays utf-8
    refused(untouched, changes, "data.encoding", "line 11", "latin-1")


def test_data_class_in_test_never_seen_in_train(untouched):
    # 19 + 19 rows of classes 0 and 1 and two rows of class 2; with 90 % held out the
    # stratified split puts no row of class 2 into the 4 training rows
    body = [r for r in rows(38)] + ["5.0,1,1,a,2", "5.1,2,2,b,2"]
    changes = write_csv(untouched, [HEADER, *body])
    changes["data"].update(test_size=0.9, min_rows_per_class=2)
    refused(untouched, changes, "data.test_size", "class 2 (2 rows)", "never saw", "rows 38, 39",
            "lower data.test_size")


# ---------------------------------------------------------------- served model


@pytest.fixture(scope="module")
def server(baseline):
    """MLflow's scoring app (what ``mlflow models serve`` runs) for the champion, on
    127.0.0.1 in a thread."""
    import mlflow.pyfunc
    import uvicorn
    from mlflow.pyfunc import scoring_server

    with baseline.inside():
        mlflow.set_tracking_uri(baseline.store)
        model = mlflow.pyfunc.load_model("models:/gdlab-rel@champion")
    port = free_port()
    config = uvicorn.Config(
        scoring_server.init(model), host="127.0.0.1", port=port, log_level="error"
    )
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not instance.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert instance.started
    yield f"http://127.0.0.1:{port}/invocations"
    instance.should_exit = True
    thread.join(10)


def post(url: str, columns: list[str], data: list[list]) -> tuple[int, dict]:
    body = json.dumps({"dataframe_split": {"columns": columns, "data": data}}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_request_with_good_columns_is_answered(server, untouched):
    import sys

    import mlflow.sklearn
    import numpy as np
    import pandas as pd

    columns = ["x0", "x1", "x2", "x3"]
    # rows whose class depends on which value sits in which column
    data = [[0.1, 0.2, 0.3, 0.4], [2.0, 0.0, -2.0, 0.0], [-2.0, 0.0, 2.0, 0.0],
            [0.0, 2.0, -2.0, 0.0], [0.0, -2.0, 2.0, 0.0], [0.0, 0.0, -2.0, 2.0],
            [0.0, 0.0, 2.0, -2.0]]
    status, answer = post(server, columns, data)
    assert status == 200 and len(answer["predictions"]) == len(data)
    # the champion's own predictions, from its scikit-learn flavour loaded here (not through
    # the pyfunc wrapper or the scoring app)
    saved = list(sys.path)  # a load prepends the model's code directory
    try:
        with untouched.inside():
            mlflow.set_tracking_uri(untouched.store)
            model = mlflow.sklearn.load_model("models:/gdlab-rel@champion")
    finally:
        sys.path[:] = saved
    expected = np.asarray(model.predict(pd.DataFrame(data, columns=columns, dtype=float)))
    assert len(set(expected.tolist())) > 1  # the rows tell the classes apart
    np.testing.assert_array_equal(np.asarray(answer["predictions"]), expected)


def test_request_missing_column(server, untouched):
    status, answer = post(server, ["x0", "x1", "x3"], [[0.1, 0.2, 0.4]])
    assert status == 400
    assert "missing inputs ['x2']" in answer["message"]


def test_request_wrong_type(server, untouched):
    status, answer = post(server, ["x0", "x1", "x2", "x3"], [[0.1, "abc", 0.3, 0.4]])
    assert status == 400
    assert "column x1" in answer["message"] and "abc" in answer["message"]


GOOD = [[0.1, 0.2, 0.3, 0.4], [2.0, 0.0, -2.0, 0.0], [-2.0, 0.0, 2.0, 0.0],
        [0.0, 2.0, -2.0, 0.0], [0.0, -2.0, 2.0, 0.0], [0.0, 0.0, -2.0, 2.0],
        [0.0, 0.0, 2.0, -2.0]]
"""Rows whose class depends on which value sits in which column."""


def post_raw(url: str, body: str) -> tuple[int, dict]:
    request = urllib.request.Request(
        url, data=body.encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "null"])
def test_request_with_a_missing_or_infinite_value_is_refused_and_serving_goes_on(
    server, untouched, value
):
    """README, When things go wrong: NaN, ±Infinity or null get HTTP 400 naming the column
    and row, and the server keeps serving."""
    columns = ["x0", "x1", "x2", "x3"]
    body = json.dumps({"dataframe_split": {"columns": columns, "data": GOOD}})
    broken = body.replace("0.2", value, 1)
    assert broken != body
    status, answer = post_raw(server, broken)
    assert status == 400, answer
    kind = "infinity" if "Infinity" in value else "NaN"
    assert f"column 'x1' holds {kind} in row 0 (rows count from 0" in answer["message"]
    assert "Encountered an unexpected error" not in answer["message"]
    status, answer = post(server, columns, GOOD)
    assert status == 200 and len(answer["predictions"]) == len(GOOD)


def test_request_columns_are_matched_by_name_extra_ones_dropped_numeric_strings_read(
    server, untouched
):
    """README, When things go wrong: extra columns are dropped, numeric strings converted and
    columns matched by name (MLflow's signature enforcement)."""
    columns = ["x0", "x1", "x2", "x3"]
    status, plain = post(server, columns, GOOD)
    assert status == 200 and len(set(plain["predictions"])) > 1  # a mix-up would show
    order = [2, 0, 3, 1]
    status, reordered = post(
        server, [columns[i] for i in order], [[row[i] for i in order] for row in GOOD]
    )
    assert status == 200 and reordered["predictions"] == plain["predictions"]
    status, extra = post(server, [*columns, "note"], [[*row, 99.0] for row in GOOD])
    assert status == 200 and extra["predictions"] == plain["predictions"]
    status, strings = post(server, columns, [[str(v) for v in row] for row in GOOD])
    assert status == 200 and strings["predictions"] == plain["predictions"]
