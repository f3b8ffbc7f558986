"""End to end on a real regression data set: ``dvc repro`` of every stage (tune, train,
evaluate, register, compare) on diabetes (target mean ~150, std ~77) with the default
``preprocess.scale_target: true``. The model is a TransformedTargetRegressor around the gdlab
estimator: its test metrics are in target units and near least squares', it is saved,
logged and registered like any other, and the registered model predicts what the file does."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import sklearn.metrics as skm
from sklearn.compose import TransformedTargetRegressor

from gdlab.experiment.persist import load_model

from .conftest import Project

pytestmark = pytest.mark.slow

MODEL = "gdlab-diabetes"


@pytest.fixture(scope="module")
def diabetes_project(tmp_path_factory) -> Project:
    project = Project.copied(tmp_path_factory.mktemp("diabetes"), {
        "data": {"source": "diabetes", "synthetic": {"sensitive_group": False}},
        "model": {"task": "regression"},
        "cv": {"folds": 3, "n_jobs": 1},
        "tune": {"n_trials": 2, "n_startup_trials": 2,
                 "heatmap": {"learning_rates": [0.01, 0.1], "batch_sizes": [64]}},
        "compare": {"values": ["sgd", "adam"]},
        "register": {"model_name": MODEL},
    })
    params = project.params()
    # the search keeps adam (params.yaml's) and tries learning rates around its default
    params["tune"]["space"] = {"optimizer.learning_rate": {"low": 0.005, "high": 0.05, "log": True}}
    project.write_params(params)
    project.commit_all()
    project.dvc("repro", timeout=900)
    return project


def _split(project: Project, name: str) -> tuple[pd.DataFrame, np.ndarray]:
    meta = json.loads((project.root / "data/prepared/meta.json").read_text())
    frame = pd.read_parquet(project.root / f"data/prepared/{name}.parquet")
    return frame[meta["feature_names"]], frame["target"].to_numpy(dtype=float)


def test_test_metrics_are_in_target_units_and_near_least_squares(diabetes_project):
    X_train, y_train = _split(diabetes_project, "train")
    X_test, y_test = _split(diabetes_project, "test")
    model = load_model(diabetes_project.root / "models/model.skops")
    predictions = model.predict(X_test)
    test = json.loads((diabetes_project.root / "reports/metrics.json").read_text())["test"]
    rmse = float(np.sqrt(skm.mean_squared_error(y_test, predictions)))
    assert test["rmse"] == pytest.approx(rmse)
    assert test["mae"] == pytest.approx(skm.mean_absolute_error(y_test, predictions))
    assert test["r2"] == pytest.approx(skm.r2_score(y_test, predictions))
    w = np.linalg.lstsq(np.c_[np.ones(len(X_train)), X_train], y_train, rcond=None)[0]
    reference = float(np.sqrt(np.mean((np.c_[np.ones(len(X_test)), X_test] @ w - y_test) ** 2)))
    assert rmse < 1.1 * reference
    assert isinstance(model.named_steps["model"], TransformedTargetRegressor)


def test_every_stage_wrote_its_outputs(diabetes_project):
    root = diabetes_project.root
    for path in ("reports/tuning/guidance.json", "reports/cv.json",
                 "reports/figures/train/trajectory.png", "reports/figures/train/loss_band.png",
                 "reports/compare/summary.json", "reports/registry.json"):
        assert (root / path).exists(), path
    guidance = json.loads((root / "reports/tuning/guidance.json").read_text())
    assert guidance["range_test_suggestion"] is not None
    registry = json.loads((root / "reports/registry.json").read_text())
    assert registry["registered"] and registry["model_name"] == MODEL


def test_evaluate_draws_the_residuals_and_logs_them_under_the_training_run(diabetes_project):
    """A regression's evaluate figures are the residual plot and predicted against actual
    (ROC, precision-recall, calibration and the confusion matrix are classification's),
    written for DVC and logged under the run that evaluate resumes (models/run.json)."""
    from mlflow.tracking import MlflowClient

    root = diabetes_project.root
    drawn = {"residuals.png", "predicted_actual.png"}
    assert {p.name for p in (root / "reports/figures/evaluate").iterdir()} == drawn
    run_id = json.loads((root / "models/run.json").read_text())["run_id"]
    logged = {a.path for a in MlflowClient(diabetes_project.store).list_artifacts(
        run_id, "figures")}
    assert {f"figures/{name}" for name in drawn} <= logged
    classification = {"roc.png", "confusion_matrix.png", "calibration.png"}
    assert not {f"figures/{name}" for name in classification} & logged


def test_the_registered_model_predicts_what_the_file_does(diabetes_project):
    import mlflow.pyfunc

    X_test, _ = _split(diabetes_project, "test")
    mlflow.set_tracking_uri(diabetes_project.store)
    served = mlflow.pyfunc.load_model(f"models:/{MODEL}@champion")  # what `serve` loads
    assert served.metadata.get_input_schema().input_names() == list(X_test.columns)
    expected = load_model(diabetes_project.root / "models/model.skops").predict(X_test)
    np.testing.assert_array_equal(np.asarray(served.predict(X_test)).ravel(), expected)


def test_the_train_run_says_its_losses_are_on_the_standardised_target(diabetes_project):
    from mlflow.tracking import MlflowClient

    run_id = json.loads((diabetes_project.root / "models/run.json").read_text())["run_id"]
    run = MlflowClient(diabetes_project.store).get_run(run_id)
    assert run.data.tags["gdlab.loss_units"] == "standardised target"
    assert run.data.params["preprocess.scale_target"] == "True"
