"""What evaluate says of a classifier beside its scores: how f1 is averaged, each class's
recall, the classes it never predicts and those it never recalls, and the classes with too few
test rows to trust their intervals (console line, metrics.json, model card)."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from sklearn import metrics as skm

from gdlab.config import validate_params
from gdlab.experiment.per_class import ClassRecall
from gdlab.reporting import metrics as shown
from gdlab.reporting.fairness import disabled
from gdlab.reporting.metrics import class_document, never_recalled_text
from gdlab.reporting.model_card import CardInputs, model_card

CLASSES = ["bronze", "gold", "platinum", "silver"]


def _recalls() -> ClassRecall:
    """The reviewer's case: 'platinum' has 5 test rows and is never predicted."""
    y = np.array(["bronze"] * 40 + ["gold"] * 30 + ["platinum"] * 5 + ["silver"] * 25)
    pred = y.copy()
    pred[70:75] = "gold"  # every platinum row predicted gold
    pred[:4] = "silver"
    recall = skm.recall_score(y, pred, labels=CLASSES, average=None, zero_division=0)
    support = {c: int((y == c).sum()) for c in CLASSES}
    made = {c: int((pred == c).sum()) for c in CLASSES}
    return ClassRecall(support, made, dict(zip(CLASSES, map(float, recall), strict=True)))


def test_metrics_json_names_the_class_never_predicted_and_how_f1_is_averaged():
    document = class_document(_recalls(), np.array(CLASSES, dtype=object))
    json.dumps(document)  # a DVC metrics file: plain JSON
    assert document["f1_average"] == "macro" and "f1_pos_label" not in document
    assert document["never_predicted"] == ["platinum"] == document["never_recalled"]
    assert document["per_class"]["platinum"] == {"recall": 0.0, "support": 5, "predicted": 0}
    assert document["per_class"]["bronze"]["recall"] == 0.9
    binary = class_document(ClassRecall({0: 3, 1: 2}, {0: 3, 1: 2}, {0: 1.0, 1: 1.0}),
                            np.array([0, 1]))
    assert binary["f1_average"] == "binary" and binary["f1_pos_label"] == 1
    assert type(binary["f1_pos_label"]) is int and binary["never_predicted"] == []


def test_the_console_line_says_f1_is_macro_and_the_warning_names_the_class():
    """The line said 'f1 0.604', leaving the reader to guess the average; nothing named a
    class the model never predicts."""
    document = class_document(_recalls(), CLASSES)
    line = shown.test_line({"accuracy": 0.906, "f1": 0.604}, {}, document)
    assert line == "accuracy 0.906, f1 (macro) 0.604"
    binary = {"f1_average": "binary", "f1_pos_label": "yes"}
    assert shown.test_line({"f1": 0.5}, {}, binary) == "f1 (class 'yes') 0.5"
    assert shown.test_line({"rmse": 1.0}, {}) == "rmse 1"
    assert never_recalled_text(document) == (
        "the model predicts no test row as class 'platinum' (5 test rows, recall 0); "
        "accuracy and the averaged scores hide it")
    assert never_recalled_text({**document, "never_recalled": []}) is None
    # a metrics.json written before never_recalled: its never_predicted
    old = {k: v for k, v in document.items() if k != "never_recalled"}
    assert never_recalled_text(old) == never_recalled_text(document)


def test_the_model_card_names_the_class_never_predicted_and_the_f1_average():
    params = validate_params({})
    metrics = {"test": {"accuracy": 0.906, "f1": 0.604},
               "cv": {"accuracy": {"mean": 0.9, "std": 0.01}, "f1": {"mean": 0.6, "std": 0.02}},
               **class_document(_recalls(), CLASSES)}
    meta = {"source": "csv", "path": "d.csv", "n_train": 400, "n_test": 100, "target": "tier",
            "feature_names": ["a"], "classes": CLASSES}
    card = model_card(CardInputs(params, meta, metrics,
                                 disabled("classification", "no sensitive column")))
    parts = re.split(r"^## \d\. (.+)$", card, flags=re.M)
    sections = dict(zip(parts[1::2], parts[2::2], strict=True))
    assert ("F1 and average precision (macro: the unweighted mean over the classes"
            in sections["Metrics"])
    quantitative = sections["Quantitative Analyses"]
    assert "| f1 (macro) | 0.604 |" in quantitative
    assert "| `platinum` (never predicted) | 5 | 0 | 0 |" in quantitative
    assert "| `bronze` | 40 | 36 | 0.9 |" in quantitative
    assert ("- Classes never recalled: the model predicts no test row as class 'platinum' "
            "(5 test rows, recall 0)") in sections["Caveats and Recommendations"]


@pytest.mark.parametrize(("class_weight", "advised"), [(None, True), ("balanced", False),
                                                     ({"platinum": 5.0}, False)])
def test_the_card_points_to_class_weight_for_a_class_never_recalled(class_weight, advised):
    """A class the model never recalls: the card said only "collect more rows of them, or do
    not use the model", not that model.class_weight (unset, every row weighing the same) could
    weigh the rare class up."""
    params = validate_params({"model": {"class_weight": class_weight}})
    metrics = {"test": {"accuracy": 0.906}, "cv": {"accuracy": {"mean": 0.9, "std": 0.01}},
               **class_document(_recalls(), CLASSES)}
    meta = {"source": "csv", "path": "d.csv", "n_train": 400, "n_test": 100, "target": "tier",
            "feature_names": ["a"], "classes": CLASSES}
    card = model_card(CardInputs(params, meta, metrics,
                                 disabled("classification", "no sensitive column")))
    line = next(x for x in card.splitlines() if x.startswith("- Classes never recalled"))
    assert ("set model.class_weight: balanced" in line) is advised
    assert line.endswith("or do not use the model where telling them apart matters.")


FRAUD = ["fraud", "legit"]


def _fraud_recalls() -> tuple[ClassRecall, np.ndarray, np.ndarray]:
    """The imbalanced-classification reviewer's case: 'fraud' (12 test rows) predicted for 2
    rows, both legitimate: recall 0, though predicted."""
    y = np.array(["fraud"] * 12 + ["legit"] * 588)
    pred = np.array(["legit"] * 600)
    pred[[100, 400]] = "fraud"
    recall = skm.recall_score(y, pred, labels=FRAUD, average=None, zero_division=0)
    support = {c: int((y == c).sum()) for c in FRAUD}
    made = {c: int((pred == c).sum()) for c in FRAUD}
    return ClassRecall(support, made, dict(zip(FRAUD, map(float, recall), strict=True))), y, pred


def test_a_class_predicted_only_wrong_is_warned_about_in_metrics_json_and_the_model_card():
    """metrics.json said never_predicted: [] and neither the console nor the model card said
    that no fraud was caught; now never_recalled names it and the warning and the card's
    caveat give its test rows and the rows predicted as it (scikit-learn's confusion
    matrix)."""
    recalls, y, pred = _fraud_recalls()
    (tn_fraud, fn), (fp, _) = skm.confusion_matrix(y, pred, labels=FRAUD)
    assert tn_fraud == 0 and fn == 12 and fp == 2  # no fraud caught, 2 legit rows flagged
    document = class_document(recalls, np.array(FRAUD, dtype=object))
    assert document["never_predicted"] == [] and document["never_recalled"] == ["fraud"]
    text = ("the model predicts class 'fraud' for 2 test rows, none of them 'fraud' (12 test "
            "rows, recall 0); accuracy and the averaged scores hide it")
    assert never_recalled_text(document) == text
    params = validate_params({})
    metrics = {"test": {"accuracy": 0.977}, "cv": {"accuracy": {"mean": 0.98, "std": 0.01}},
               **document}
    meta = {"source": "csv", "path": "d.csv", "n_train": 2400, "n_test": 600,
            "target": "label", "feature_names": ["a"], "classes": FRAUD}
    card = model_card(CardInputs(params, meta, metrics,
                                 disabled("classification", "no sensitive column")))
    assert "| `fraud` (never predicted right) | 12 | 2 | 0 |" in card
    assert f"- Classes never recalled: {text}." in card


def test_never_predicted_and_predicted_wrong_classes_are_both_named():
    """Each with its counts ('1 test row': the warning said '1 test rows')."""
    document = {"never_predicted": ["platinum"], "never_recalled": ["platinum", "gold"],
                "per_class": {"platinum": {"support": 1, "predicted": 0, "recall": 0.0},
                              "gold": {"support": 3, "predicted": 1, "recall": 0.0}}}
    assert never_recalled_text(document) == (
        "the model predicts no test row as class 'platinum' (1 test row, recall 0); the "
        "model predicts class 'gold' for 1 test row, none of them 'gold' (3 test rows, recall "
        "0); accuracy and the averaged scores hide it")


def test_the_model_card_names_a_class_with_too_few_test_rows_beside_the_small_split():
    params = validate_params({})
    warning = "class 'fraud' (1 test row) has fewer than the 10 test rows a class needs"
    metrics = {"test": {"accuracy": 0.98}, "cv": {"accuracy": {"mean": 0.98, "std": 0.01}},
               "class_warning": warning}
    meta = {"source": "csv", "path": "d.csv", "n_train": 320, "n_test": 80,
            "target": "label", "feature_names": ["a"], "classes": FRAUD}
    card = model_card(CardInputs(params, meta, metrics,
                                 disabled("classification", "no sensitive column")))
    assert f"- Too few test rows of a class: {warning}." in card


def test_two_string_classes_name_the_positive_class_everywhere_not_the_last_sorted():
    """'fraud' < 'legit': metrics.json, the console line and the model card named
    "f1 (class 'legit')", the majority class; with the positive class 'fraud' (the rarer,
    metrics.positive_label's default) they name fraud, for average_precision too."""
    recalls = ClassRecall({"fraud": 12, "legit": 588}, {"fraud": 0, "legit": 600},
                          {"fraud": 0.0, "legit": 1.0})
    document = class_document(recalls, np.array(["fraud", "legit"]), np.str_("fraud"))
    json.dumps(document)
    assert document["f1_average"] == "binary" and document["f1_pos_label"] == "fraud"
    line = shown.test_line({"f1": 0.0, "average_precision": 0.41, "balanced_accuracy": 0.5},
                           {}, document)
    assert line == ("f1 (class 'fraud') 0, average_precision (class 'fraud') 0.41, "
                    "balanced_accuracy 0.5")
    params = validate_params({})
    metrics = {"test": {"f1": 0.0, "average_precision": 0.41},
               "cv": {"f1": {"mean": 0.0, "std": 0.0},
                      "average_precision": {"mean": 0.4, "std": 0.02}}, **document}
    meta = {"source": "csv", "path": "d.csv", "n_train": 2400, "n_test": 600,
            "target": "label", "feature_names": ["a"], "classes": ["fraud", "legit"]}
    card = model_card(CardInputs(params, meta, metrics,
                                 disabled("classification", "no sensitive column")))
    assert "F1 and average precision of the positive class `fraud`" in card
    assert "| f1 (class 'fraud') | 0 |" in card
    assert "| average_precision (class 'fraud') | 0.41 |" in card
    assert "legit'" not in card


def test_multiclass_roc_auc_says_its_average_in_metrics_json_the_console_and_the_card():
    """metrics.json recorded f1_average but nothing of roc_auc, and the console and the card
    showed plain 'roc_auc' beside 'f1 (macro)': it is scikit-learn's macro one-vs-rest
    mean, which metrics.json now records under scikit-learn's names and every label says."""
    y = np.array([0] * 50 + [1] * 30 + [2] * 20)
    proba = np.random.default_rng(0).dirichlet([1, 1, 1], size=100)
    proba[np.arange(100), y] += 0.5
    proba /= proba.sum(axis=1, keepdims=True)
    document = class_document(_recalls(), CLASSES)
    json.dumps(document)
    expected = skm.roc_auc_score(y, proba, average=document["roc_auc_average"],
                                 multi_class=document["roc_auc_multi_class"])
    assert expected == skm.roc_auc_score(y, proba, average="macro", multi_class="ovr")
    assert expected != skm.roc_auc_score(y, proba, multi_class="ovo")
    line = shown.test_line({"f1": 0.604, "roc_auc": 0.848}, {}, document)
    assert line == "f1 (macro) 0.604, roc_auc (macro one-vs-rest) 0.848"
    binary = class_document(ClassRecall({0: 3, 1: 2}, {0: 3, 1: 2}, {0: 1.0, 1: 1.0}),
                            np.array([0, 1]))
    assert "roc_auc_multi_class" not in binary
    assert shown.test_line({"roc_auc": 0.9}, {}, binary) == "roc_auc 0.9"
    params = validate_params({})
    metrics = {"test": {"roc_auc": 0.848}, "cv": {"roc_auc": {"mean": 0.88, "std": 0.01}},
               **document}
    meta = {"source": "csv", "path": "d.csv", "n_train": 400, "n_test": 100, "target": "tier",
            "feature_names": ["a"], "classes": CLASSES}
    card = model_card(CardInputs(params, meta, metrics,
                                 disabled("classification", "no sensitive column")))
    assert "| roc_auc (macro one-vs-rest) | 0.848 |" in card
    assert "ROC AUC (macro one-vs-rest: " in card
