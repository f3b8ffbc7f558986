"""The constant prediction evaluate scores and register's baseline gate: its test scores are
scikit-learn's DummyClassifier / DummyRegressor scored with sklearn.metrics (and the log loss of
the training prior, computed by hand), and the gate compares the point estimates in the
metric's direction."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.dummy import DummyClassifier, DummyRegressor

from gdlab.experiment.baseline import (
    baseline_document,
    baseline_gate,
    baseline_scores,
    shortfall,
)
from gdlab.experiment.cv import _baseline_scores
from gdlab.experiment.folds import make_folds


def _labels(n: int, share: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.where(rng.random(n) < share, "fraud", "legit").astype(object)


def test_binary_scores_are_the_dummy_classifiers():
    y_train, y_test = _labels(300, 0.1, 0), _labels(120, 0.1, 1)
    got = baseline_scores(y_train, y_test, "classification", positive="fraud")

    dummy = DummyClassifier(strategy="prior").fit(np.zeros((300, 1)), y_train)
    proba = dummy.predict_proba(np.zeros((120, 1)))
    pred = dummy.predict(np.zeros((120, 1)))
    k = list(dummy.classes_).index("fraud")
    assert set(pred) == {"legit"}  # the prior predicts its majority class everywhere
    assert got == pytest.approx({
        "accuracy": skm.accuracy_score(y_test, pred),
        "balanced_accuracy": skm.balanced_accuracy_score(y_test, pred),
        "f1": skm.f1_score(y_test, pred, pos_label="fraud", zero_division=0),
        "average_precision": skm.average_precision_score(y_test == "fraud", proba[:, k]),
        "roc_auc": skm.roc_auc_score(y_test == "fraud", proba[:, k]),
        "log_loss": skm.log_loss(y_test, proba, labels=dummy.classes_),
    })
    # by hand: the training shares, scored on the test labels
    share = np.mean(y_train == "fraud")
    by_hand = -np.mean(np.where(y_test == "fraud", np.log(share), np.log(1 - share)))
    assert got["log_loss"] == pytest.approx(by_hand)
    assert got["roc_auc"] == 0.5 and got["f1"] == 0.0


def test_multiclass_scores_are_the_dummy_classifiers():
    rng = np.random.default_rng(2)
    tiers = np.array(["bronze", "gold", "silver"])
    y_train = rng.choice(tiers, 400, p=[0.6, 0.1, 0.3])
    y_test = rng.choice(tiers, 150, p=[0.6, 0.1, 0.3])
    got = baseline_scores(y_train, y_test, "classification")

    dummy = DummyClassifier(strategy="prior").fit(np.zeros((400, 1)), y_train)
    proba = dummy.predict_proba(np.zeros((150, 1)))
    pred = dummy.predict(np.zeros((150, 1)))
    assert got["accuracy"] == pytest.approx(skm.accuracy_score(y_test, pred))
    assert got["f1"] == pytest.approx(skm.f1_score(y_test, pred, average="macro",
                                                   zero_division=0))
    assert got["roc_auc"] == pytest.approx(skm.roc_auc_score(y_test, proba, multi_class="ovr"))
    assert got["log_loss"] == pytest.approx(skm.log_loss(y_test, proba, labels=tiers))


def test_regression_scores_are_the_dummy_regressors():
    rng = np.random.default_rng(3)
    y_train, y_test = rng.normal(5, 2, 200), rng.normal(5.5, 2, 80)
    got = baseline_scores(y_train, y_test, "regression")

    pred = DummyRegressor(strategy="mean").fit(np.zeros((200, 1)), y_train).predict(
        np.zeros((80, 1)))
    assert got == pytest.approx({
        "rmse": np.sqrt(skm.mean_squared_error(y_test, pred)),
        "mae": skm.mean_absolute_error(y_test, pred),
        "r2": skm.r2_score(y_test, pred),
    })
    assert got["rmse"] == pytest.approx(np.sqrt(np.mean((y_test - y_train.mean()) ** 2)))
    document = baseline_document(y_train, y_test, "regression")
    assert document["constant"] == "mean target"
    assert document["value"] == pytest.approx(y_train.mean())


def test_cross_validation_and_evaluate_fit_the_same_constant():
    y = _labels(200, 0.2, 4)
    X = np.random.default_rng(5).normal(size=(200, 2))
    fold = make_folds(y, 2, task="classification", seed=0)[0]
    rows = np.asarray(fold.train_idx)
    cv = _baseline_scores(X, y, fold, rows, "classification", positive="fraud")
    ours = baseline_scores(y[fold.train_idx], y[rows], "classification", positive="fraud")
    assert cv == pytest.approx({f"train_{k}": v for k, v in ours.items()})


def _metrics(test: dict, constant: dict, n_test: int = 80) -> dict:
    return {"test": test, "n_test": n_test,
            "baseline": {"constant": "class prior", "test": constant}}


def test_gate_fails_a_model_no_better_than_the_constant_naming_both_values_and_the_key():
    worse = _metrics({"log_loss": 0.09607}, {"log_loss": 0.0675})
    status, reason = baseline_gate(worse, "log_loss")
    assert status == "failed"
    assert reason.startswith(
        "test_log_loss 0.09607 does not beat a constant prediction's 0.0675 (class prior, "
        "fitted on the training rows; on the same 80 test rows)")
    assert "register.beat_baseline: false" in reason
    assert baseline_gate(worse, "log_loss", enabled=False) == ("off", None)
    # a tie is no improvement; a lower loss is
    assert baseline_gate(_metrics({"log_loss": 0.5}, {"log_loss": 0.5}), "log_loss")[0] == "failed"
    assert baseline_gate(_metrics({"log_loss": 0.06}, {"log_loss": 0.0675}),
                         "log_loss") == ("passed", None)


def test_gate_follows_the_metrics_direction():
    # accuracy: higher is better; the prior's majority-class accuracy is hard to beat
    assert baseline_gate(_metrics({"accuracy": 0.97}, {"accuracy": 0.98}), "accuracy")[0] \
        == "failed"
    assert baseline_gate(_metrics({"r2": 0.1}, {"r2": -0.01}), "r2")[0] == "passed"
    assert shortfall(_metrics({"rmse": 1.2}, {"rmse": 1.1}), "rmse").startswith(
        "test_rmse 1.2 does not beat a constant prediction's 1.1")


def test_gate_fails_closed_without_a_baseline_and_passes_an_undefined_one():
    old = {"test": {"log_loss": 0.3}}  # metrics.json of an evaluate before the baseline
    status, reason = baseline_gate(old, "log_loss")
    assert status == "not measured" and "run evaluate again" in reason
    # roc_auc of the constant undefined (metrics.json's null): nothing to beat
    assert baseline_gate(_metrics({"roc_auc": 0.7}, {"roc_auc": None}), "roc_auc") == (
        "passed", None)
