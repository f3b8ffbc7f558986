"""Scores per task (equal to scikit-learn's metrics: f1 and average precision of the positive
class for two classes, macro f1, macro one-vs-rest average precision and AUC for more), metric
resolution and direction."""

import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.preprocessing import label_binarize

from gdlab.experiment import fit_pipeline, is_better, resolve_metric, score

from .conftest import make_pipeline


def test_regression_scores_are_sklearns(regression_data):
    X, y = regression_data
    model = fit_pipeline(make_pipeline("regression", 30, learning_rate=0.1), X, y).model
    scores = score(model, X, y, "regression")
    pred = model.predict(X)
    assert scores == pytest.approx({
        "rmse": np.sqrt(skm.mean_squared_error(y, pred)),
        "mae": skm.mean_absolute_error(y, pred),
        "r2": skm.r2_score(y, pred),
    }, rel=1e-12)
    assert scores["rmse"] == pytest.approx(np.sqrt(np.mean((pred - y) ** 2)))
    assert scores["r2"] > 0.9


def test_binary_scores_with_string_labels_are_sklearns(classification_data):
    X, y = classification_data
    model = fit_pipeline(make_pipeline("classification"), X, y).model
    scores = score(model, X, y, "classification")
    pred, proba = model.predict(X), model.predict_proba(X)
    # the positive class, none configured and no label 1: the rarer class of the labels
    assert list(model.classes_) == ["no", "yes"]
    rare = "no" if np.sum(y == "no") < np.sum(y == "yes") else "yes"
    k = list(model.classes_).index(rare)
    f1_yes, f1_no = (skm.f1_score(y, pred, pos_label=c) for c in ("yes", "no"))
    assert abs(f1_yes - f1_no) > 1e-3  # which class is positive shows
    assert scores == pytest.approx({
        "accuracy": skm.accuracy_score(y, pred),
        "balanced_accuracy": skm.balanced_accuracy_score(y, pred),
        "f1": skm.f1_score(y, pred, pos_label=rare),
        "average_precision": skm.average_precision_score(y == rare, proba[:, k]),
        "roc_auc": skm.roc_auc_score(y == rare, proba[:, k]),
        "log_loss": skm.log_loss(y, proba),
    }, rel=1e-12)
    assert scores["accuracy"] > 0.8 and scores["roc_auc"] > 0.9


class Fixed:
    """A fitted classifier's face: its classes and the probabilities it gave."""

    def __init__(self, classes, proba):
        self.classes_, self.proba = np.asarray(classes), np.asarray(proba, dtype=float)

    def predict_proba(self, X):
        return self.proba


def fraud_rows(n: int = 600, rate: float = 0.05, seed: int = 0):
    """'fraud' (a few %) / 'legit' labels and a model's probabilities of each, columns in
    sorted order ('fraud' first): scores that rank fraud well, but never above 0.5."""
    rng = np.random.default_rng(seed)
    y = np.where(rng.random(n) < rate, "fraud", "legit")
    p_fraud = np.clip(0.05 + 0.3 * (y == "fraud") * rng.random(n) + 0.1 * rng.random(n), 0, 0.45)
    return y, np.column_stack([p_fraud, 1 - p_fraud])


def test_string_labels_score_the_rare_class_not_the_last_in_sorted_order():
    """'fraud' < 'legit': the F1 of classes_[1] was legit's, 0.99 for a model that finds no
    fraud at all. The positive class is now the rarer one: fraud's F1 is 0, and
    average_precision, balanced_accuracy and roc_auc are scikit-learn's of fraud."""
    y, proba = fraud_rows()
    model = Fixed(["fraud", "legit"], proba)
    scores = score(model, None, y, "classification")
    pred = np.full(len(y), "legit")  # never above 0.5: no row is called fraud
    assert skm.f1_score(y, pred, pos_label="legit") > 0.95  # what was shown
    assert scores["f1"] == skm.f1_score(y, pred, pos_label="fraud") == 0.0
    assert scores["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y, pred))
    assert scores["balanced_accuracy"] == pytest.approx(0.5)
    assert scores["average_precision"] == pytest.approx(
        skm.average_precision_score(y == "fraud", proba[:, 0]), rel=1e-12)
    assert scores["average_precision"] > 0.5 > np.mean(y == "fraud")  # it ranks fraud well
    assert scores["roc_auc"] == pytest.approx(skm.roc_auc_score(y == "fraud", proba[:, 0]))
    # configured: legit
    legit = score(model, None, y, "classification", positive="legit")
    assert legit["f1"] == pytest.approx(skm.f1_score(y, pred, pos_label="legit"))
    assert legit["average_precision"] == pytest.approx(
        skm.average_precision_score(y == "legit", proba[:, 1]), rel=1e-12)


@pytest.mark.parametrize("labels", [(0, 1), (False, True), (-1, 1)])
def test_label_one_stays_positive_even_when_it_is_the_common_class(labels):
    """0/1 (and False/True, -1/1) labels keep 1 positive, scikit-learn's pos_label=1, even
    when 1 is the majority."""
    y_rare, proba = fraud_rows(seed=1)
    neg, pos = labels
    y = np.where(y_rare == "fraud", neg, pos)  # 1 is the common class here
    model = Fixed([neg, pos], proba)
    scores = score(model, None, y, "classification")
    pred = np.where(proba[:, 1] > 0.5, pos, neg)
    assert scores["f1"] == pytest.approx(skm.f1_score(y, pred, pos_label=pos), rel=1e-12)
    assert scores["average_precision"] == pytest.approx(
        skm.average_precision_score(y == pos, proba[:, 1]), rel=1e-12)
    if labels == (0, 1):  # scikit-learn's default pos_label
        assert scores["f1"] == pytest.approx(skm.f1_score(y, pred), rel=1e-12)
        assert scores["average_precision"] == pytest.approx(
            skm.average_precision_score(y, proba[:, 1]), rel=1e-12)


def test_multiclass_scores_are_sklearns_macro_averages():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = np.argmax(X + [0.8, 0.0, -0.8], axis=1)  # unbalanced classes, unequal per-class AUCs
    model = fit_pipeline(make_pipeline("classification", 30), X, y).model
    scores = score(model, X, y, "classification")
    pred, proba = model.predict(X), model.predict_proba(X)
    macro = skm.roc_auc_score(y, proba, multi_class="ovr")
    weighted = skm.roc_auc_score(y, proba, multi_class="ovr", average="weighted")
    assert abs(macro - weighted) > 1e-4  # which average is taken shows
    assert scores == pytest.approx({
        "accuracy": skm.accuracy_score(y, pred),
        "balanced_accuracy": skm.balanced_accuracy_score(y, pred),
        "f1": skm.f1_score(y, pred, average="macro"),
        "average_precision": skm.average_precision_score(
            label_binarize(y, classes=[0, 1, 2]), proba, average="macro"),
        "roc_auc": macro,
        "log_loss": skm.log_loss(y, proba),
    }, rel=1e-12)
    assert scores["accuracy"] > 0.8


def test_resolve_metric_and_direction():
    assert resolve_metric("regression", "auto") == "rmse"
    assert resolve_metric("classification", "auto") == "log_loss"
    assert resolve_metric("classification", "roc_auc") == "roc_auc"
    assert resolve_metric("classification", "average_precision") == "average_precision"
    assert resolve_metric("classification", "balanced_accuracy") == "balanced_accuracy"
    assert is_better(0.6, 0.5, "average_precision") and is_better(0.6, 0.5, "balanced_accuracy")
    with pytest.raises(ValueError, match="does not fit task"):
        resolve_metric("regression", "average_precision")
    with pytest.raises(ValueError, match="does not fit task"):
        resolve_metric("regression", "accuracy")
    assert is_better(0.1, 0.2, "rmse") and not is_better(0.2, 0.1, "rmse")
    assert is_better(0.9, 0.8, "accuracy") and not is_better(0.8, 0.8, "accuracy")
    assert not is_better(float("nan"), 0.2, "rmse") and is_better(0.3, float("nan"), "rmse")


@pytest.mark.parametrize("n_classes", [2, 3])
def test_float32_probabilities_score_without_sum_warning(n_classes):
    """train.dtype: float32 gives float32 probabilities; widened to float64 their rows sum to 1
    only within float32's rounding, and scikit-learn's log_loss then warned "The y_prob values
    do not sum to one" on every fold and in evaluate. The scores must come without it, with the
    log loss of the probabilities renormalised in float64."""
    import warnings

    from sklearn.datasets import make_classification
    from sklearn.metrics import log_loss

    from gdlab import GDClassifier
    from gdlab.experiment.metrics import score_rows

    X, y = make_classification(
        n_samples=600, n_features=8, n_informative=5, n_classes=n_classes, random_state=0
    )
    model = GDClassifier(dtype="float32", max_epochs=20, tol=None, random_state=0).fit(X, y)
    proba32 = model.predict_proba(X)
    assert proba32.dtype == np.float32
    wide = proba32.astype(np.float64)
    assert not np.allclose(wide.sum(axis=1), 1.0, rtol=np.sqrt(np.finfo(np.float64).eps), atol=0)
    reference = log_loss(y, wide / wide.sum(axis=1, keepdims=True))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scores = score(model, X, y, "classification")
        by_rows = score_rows(model, X, y, np.arange(len(y)), "classification", chunk=128)
    assert scores["log_loss"] == pytest.approx(reference, rel=1e-12)
    assert by_rows["log_loss"] == pytest.approx(reference, rel=1e-12)


def test_multiclass_roc_auc_is_named_by_how_scikit_learn_averages_it():
    """A fold's progress line said plain 'roc_auc 0.88' beside 'f1 (macro)'; one-vs-one or a
    weighted one-vs-rest mean are other numbers on the same predictions."""
    from gdlab.experiment.metrics import ROC_AUC_MULTI_CLASS, shown_name

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = np.argmax(X + [0.8, 0.0, -0.8], axis=1)
    model = fit_pipeline(make_pipeline("classification", 30), X, y).model
    proba = model.predict_proba(X)
    value = score(model, X, y, "classification")["roc_auc"]
    named = skm.roc_auc_score(y, proba, average=ROC_AUC_MULTI_CLASS["roc_auc_average"],
                              multi_class=ROC_AUC_MULTI_CLASS["roc_auc_multi_class"])
    assert value == pytest.approx(named, rel=1e-12)
    assert ROC_AUC_MULTI_CLASS == {"roc_auc_average": "macro", "roc_auc_multi_class": "ovr"}
    for other in (dict(multi_class="ovo"), dict(multi_class="ovr", average="weighted")):
        assert abs(skm.roc_auc_score(y, proba, **other) - value) > 1e-4
    assert shown_name("roc_auc", 3) == "roc_auc (macro one-vs-rest)"
    assert shown_name("roc_auc", 2, "yes") == "roc_auc"  # of the positive class: no average
