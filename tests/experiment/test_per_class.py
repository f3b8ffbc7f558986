"""Per-class recall and the classes a classifier never predicts on a split, against
scikit-learn's recall_score and f1_score."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from gdlab.experiment import fit_pipeline, score
from gdlab.experiment.metrics import f1_average
from gdlab.experiment.per_class import class_recalls

from .conftest import make_pipeline


def rare_class_rows(n: int = 600, n_rare: int = 15, seed: int = 0):
    """Three classes the features separate and a rare fourth ('platinum') they say nothing
    about: a linear model never predicts it."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = np.where(X[:, 0] > 0.3, "gold", np.where(X[:, 1] > 0, "silver", "bronze")).astype(object)
    y[rng.choice(n, n_rare, replace=False)] = "platinum"
    return X, y


@pytest.fixture(scope="module")
def fitted():
    X, y = rare_class_rows()
    return fit_pipeline(make_pipeline("classification", 30), X, y).model, X, y


def test_per_class_recall_is_scikit_learns_and_names_the_class_never_predicted(fitted):
    model, X, y = fitted
    recalls = class_recalls(model, X, y)
    pred = model.predict(X)
    labels = list(model.classes_)
    expected = skm.recall_score(y, pred, labels=labels, average=None, zero_division=0)
    assert list(recalls.recall) == labels
    assert list(recalls.recall.values()) == pytest.approx(expected)
    assert recalls.support == {c: int((y == c).sum()) for c in labels}
    assert recalls.predicted == {c: int((pred == c).sum()) for c in labels}
    assert recalls.never_predicted == ["platinum"]
    assert recalls.recall["platinum"] == 0.0 and recalls.support["platinum"] == 15
    document = recalls.document()
    assert document["never_predicted"] == ["platinum"]
    assert document["per_class"]["platinum"] == {"recall": 0.0, "support": 15, "predicted": 0}


def test_f1_is_macro_averaged_for_more_than_two_classes(fitted):
    model, X, y = fitted
    pred = model.predict(X)
    f1 = score(model, X, y, "classification")["f1"]
    assert f1_average(len(model.classes_)) == "macro"
    assert f1 == pytest.approx(skm.f1_score(y, pred, average="macro"))
    assert f1 != pytest.approx(skm.f1_score(y, pred, average="weighted"))


def test_f1_of_two_classes_is_the_second_class_f1(classification_data):
    X, y = classification_data
    model = fit_pipeline(make_pipeline("classification"), X, y).model
    pred = model.predict(X)
    assert f1_average(2) == "binary"
    assert score(model, X, y, "classification")["f1"] == pytest.approx(
        skm.f1_score(y, pred, pos_label=model.classes_[1], average="binary"))


def test_a_class_without_rows_is_left_out_and_every_predicted_class_is_not_listed(fitted):
    model, X, y = fitted
    kept = y != "bronze"
    recalls = class_recalls(model, X[kept], y[kept])
    assert "bronze" not in recalls.recall
    common = class_recalls(model, X[y != "platinum"], y[y != "platinum"])
    assert common.never_predicted == []


class _Fixed:
    """A classifier whose probabilities are given."""

    def __init__(self, proba, classes):
        self.proba, self.classes_ = proba, np.asarray(classes)

    def predict_proba(self, X):
        return self.proba


def test_a_class_predicted_only_for_other_classes_rows_is_never_recalled():
    """The reviewer's 2%-fraud case: 'fraud' predicted for 2 test rows, both legitimate, none
    of its 12: recall 0, yet it was not named (never_predicted only held classes predicted
    for no row)."""
    y = np.array(["fraud"] * 12 + ["legit"] * 588, dtype=object)
    p_fraud = np.full(len(y), 0.1)
    p_fraud[[100, 400]] = 0.9  # two legitimate rows flagged
    model = _Fixed(np.c_[p_fraud, 1 - p_fraud], ["fraud", "legit"])
    recalls = class_recalls(model, None, y)
    pred = model.classes_[np.argmax(model.proba, axis=1)]
    confusion = skm.confusion_matrix(y, pred, labels=["fraud", "legit"])
    assert confusion[0].tolist() == [0, 12] and confusion[:, 0].tolist() == [0, 2]
    assert recalls.recall["fraud"] == skm.recall_score(y, pred, pos_label="fraud") == 0.0
    assert recalls.predicted["fraud"] == confusion[:, 0].sum() == 2
    assert recalls.support["fraud"] == confusion[0].sum() == 12
    assert recalls.never_predicted == []
    assert recalls.never_recalled == ["fraud"]
    document = recalls.document()
    assert document["never_predicted"] == [] and document["never_recalled"] == ["fraud"]


def test_never_recalled_holds_the_never_predicted_classes_and_only_those_of_recall_0(fitted):
    model, X, y = fitted
    recalls = class_recalls(model, X, y)
    labels = list(model.classes_)
    recall = skm.recall_score(y, model.predict(X), labels=labels, average=None, zero_division=0)
    assert recalls.never_recalled == [c for c, r in zip(labels, recall, strict=True) if r == 0]
    assert recalls.never_recalled == ["platinum"] == recalls.never_predicted
