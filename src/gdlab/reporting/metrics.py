"""DVC metrics documents: ``reports/cv.json`` (per fold) and ``reports/metrics.json`` (test
scores with the CV mean and std). ``dvc metrics show`` flattens them to ``test.rmse``,
``cv.rmse.mean``, ...; (what the model trained with is ``reports/trained.json``'s). Both
carry ``fit``: the over-/under-fitting verdict, the
validation-minus-training gap and the best epoch (:mod:`gdlab.experiment.fitcheck`). A
classifier's ``metrics.json`` also says how ``f1`` (and ``roc_auc``) is averaged, each class's
test recall and the classes it never predicts or never recalls (:func:`class_document`). Its
``baseline`` holds the test scores of a constant prediction fitted on the training rows, what
the model has to beat (:func:`baseline_line`)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from gdlab.experiment import CVResult
from gdlab.experiment.fitcheck import diagnose_fit
from gdlab.experiment.metrics import (
    POSITIVE_CLASS_METRICS,
    ROC_AUC_MULTI_CLASS,
    f1_average,
    roc_auc_name,
)
from gdlab.experiment.per_class import ClassRecall


def cv_document(cv: CVResult) -> dict[str, Any]:
    """Per-fold validation scores, epochs, the scores on the fold's training rows
    (``train``) and the epoch of its lowest validation loss; their mean and std; ``fit``."""
    diagnosis = diagnose_fit(cv)
    doc: dict[str, Any] = {
        f"fold_{f.fold}": {**f.scores, "n_iter": f.n_iter, "n_val": f.n_val,
                           "best_epoch": fit.best_epoch, "train": dict(f.train_scores)}
        for f, fit in zip(cv.folds, diagnosis.folds, strict=True)
    }
    doc["mean"] = cv.mean()
    doc["std"] = cv.std()
    doc["folds"] = len(cv.folds)
    doc["fit"] = diagnosis.document()
    return doc


def cv_line(cv: CVResult, classes: Sequence[Any] | None = None) -> str:
    """``rmse 0.512 ± 0.031, mae ...``: each metric's mean over the folds with its std (the
    train stage's summary line); ``classes``: a classifier's ``classes_``, to say how f1 and
    average_precision are averaged (of ``cv.positive`` for two)."""
    mean, std = cv.mean(), cv.std()
    known = classes is not None and len(classes)
    labels = f1_document(classes, getattr(cv, "positive", None)) if known else {}
    return ", ".join(
        f"{metric_label(name, labels)} {value:.4g}"
        + (f" ± {std[name]:.2g}" if math.isfinite(value) else "")
        for name, value in mean.items()
    )


def cv_summary(cv_doc: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    """``{metric: {"mean": ., "std": .}}`` from a ``cv_document`` (as read back from disk)."""
    return {
        name: {"mean": mean, "std": cv_doc["std"].get(name)}
        for name, mean in cv_doc["mean"].items()
    }


def metrics_document(
    test_scores: Mapping[str, float], cv_doc: Mapping[str, Any], **extra: Any
) -> dict[str, Any]:
    """The evaluate stage's metrics: ``test`` scores, ``cv`` mean/std per metric and the CV's
    ``fit`` verdict (when the cv document has one)."""
    fit = {"fit": dict(cv_doc["fit"])} if "fit" in cv_doc else {}
    return {"test": dict(test_scores), "cv": cv_summary(cv_doc), **fit, **extra}


def interval_document(intervals: Mapping[str, tuple[float, float]]) -> dict[str, dict[str, float]]:
    """``{metric: {"low": ., "high": .}}``: the 95% intervals of the test metrics
    (:func:`gdlab.experiment.uncertainty.metric_intervals`), as ``reports/metrics.json``'s
    ``test_ci95`` (``dvc metrics show``: ``test_ci95.accuracy.low``, ...)."""
    return {name: {"low": low, "high": high} for name, (low, high) in intervals.items()}


def interval_metrics(intervals: Mapping[str, tuple[float, float]]) -> dict[str, float]:
    """``{"test_<metric>_ci95_low": ., "test_<metric>_ci95_high": .}`` for MLflow (finite
    bounds only: MLflow stores no NaN the UI can show)."""
    out = {}
    for name, (low, high) in intervals.items():
        if math.isfinite(low) and math.isfinite(high):
            out[f"test_{name}_ci95_low"] = low
            out[f"test_{name}_ci95_high"] = high
    return out


def class_document(
    recalls: ClassRecall, classes: Sequence[Any], positive: Any = None
) -> dict[str, Any]:
    """What ``reports/metrics.json`` says of a classifier beside its scores: how ``f1`` and
    ``average_precision`` are averaged (``f1_average``, scikit-learn's name; ``f1_pos_label``,
    the positive class both score, for two classes) and, for more than two classes, ``roc_auc``
    (``roc_auc_average``, ``roc_auc_multi_class``: scikit-learn's names), each test class's
    recall, rows and rows predicted as it (``per_class``) and the classes no test row is
    predicted as (``never_predicted``, their recall 0) and those whose recall is 0
    (``never_recalled``: those, and the ones predicted only for other classes' rows)."""
    return {**f1_document(classes, positive), **recalls.document()}


def f1_document(classes: Sequence[Any], positive: Any = None) -> dict[str, Any]:
    """``{"f1_average": "macro", "roc_auc_average": "macro", "roc_auc_multi_class": "ovr"}``
    for more than two ``classes`` (the model's ``classes_``), or ``{"f1_average": "binary",
    "f1_pos_label": <the positive class>}`` for two (``positive``:
    :func:`gdlab.data.positive.positive_class`, None: the last class): how ``f1``,
    ``average_precision`` and ``roc_auc`` are computed."""
    labels = np.asarray(classes).tolist()  # numpy scalars as JSON's
    average = f1_average(len(labels))
    if average != "binary":
        return {"f1_average": average, **ROC_AUC_MULTI_CLASS}
    pos = labels[-1] if positive is None else np.asarray([positive]).tolist()[0]
    return {"f1_average": average, "f1_pos_label": pos}


def metric_label(name: str, document: Mapping[str, Any]) -> str:
    """``name`` as shown to people: ``f1 (macro)`` or ``f1 (class 'yes')`` (and so
    ``average_precision``), ``roc_auc (macro one-vs-rest)``, when the metrics document says how
    they are averaged, else ``name``."""
    if name == "roc_auc" and "roc_auc_multi_class" in document:
        return roc_auc_name(document.get("roc_auc_average", "macro"),
                            document["roc_auc_multi_class"])
    if name not in POSITIVE_CLASS_METRICS or "f1_average" not in document:
        return name
    if document["f1_average"] == "binary" and "f1_pos_label" in document:
        return f"{name} (class {document['f1_pos_label']!r})"
    return f"{name} ({document['f1_average']})"


def _rows(n: int) -> str:
    return f"{n} test row" + ("" if n == 1 else "s")


def never_recalled_text(document: Mapping[str, Any]) -> str | None:
    """What the warning says of the test classes the model never recalls (``never_recalled``,
    or ``never_predicted`` in a document written before it), or None when it recalls each:
    ``the model predicts no test row as class 'platinum' (5 test rows, recall 0)`` and
    ``the model predicts class 'fraud' for 2 test rows, none of them 'fraud' (12 test rows,
    recall 0)``, then ``; accuracy and the averaged scores hide it``."""
    missed = document.get("never_recalled", document.get("never_predicted")) or []
    if not missed:
        return None
    per_class = document.get("per_class", {})

    def count(label: Any, key: str) -> int:
        return int(per_class.get(str(label), {}).get(key, 0))

    unpredicted = [label for label in missed if count(label, "predicted") == 0]
    parts = []
    if unpredicted:
        rows = sum(count(label, "support") for label in unpredicted)
        named = ", ".join(repr(label) for label in unpredicted)
        word = "class" if len(unpredicted) == 1 else "classes"
        parts.append(f"the model predicts no test row as {word} {named} ({_rows(rows)}, "
                     "recall 0)")
    for label in missed:
        if label not in unpredicted:
            parts.append(f"the model predicts class {label!r} for "
                         f"{_rows(count(label, 'predicted'))}, none of them {label!r} "
                         f"({_rows(count(label, 'support'))}, recall 0)")
    return "; ".join(parts) + "; accuracy and the averaged scores hide it"


def never_recalled_advice(class_weight: Any) -> str:
    """What to do about classes the model never recalls: collect more rows of them, or, when
    ``model.class_weight`` is not set (every row weighs the same, so a rare class counts for
    little in the loss), weight them up with ``model.class_weight: balanced``."""
    weigh = ("set model.class_weight: balanced (not set: every row weighs the same, so a rare "
             "class counts for little in the loss), " if class_weight is None else "")
    return (f"collect more rows of them, {weigh}or do not use the model where telling them "
            "apart matters")


def test_line(
    scores: Mapping[str, float],
    intervals: Mapping[str, tuple[float, float]],
    document: Mapping[str, Any] | None = None,
) -> str:
    """``accuracy 0.9 [95% CI 0.83, 0.94], f1 (macro) ...``: each test metric with its
    interval (the evaluate stage's summary line); ``document``: the metrics document, which
    says how f1 is averaged."""
    shown = []
    for name, value in scores.items():
        low, high = intervals.get(name, (math.nan, math.nan))
        known = math.isfinite(low) and math.isfinite(high)
        ci = f" [95% CI {low:.3g}, {high:.3g}]" if known else ""
        shown.append(f"{metric_label(name, document or {})} {value:.4g}{ci}")
    return ", ".join(shown)


def baseline_line(document: Mapping[str, Any]) -> str | None:
    """``constant prediction (class prior): accuracy 0.98, ..., log_loss 0.0675``: the test
    scores of the constant prediction fitted on the training rows (``metrics.json``'s
    ``baseline``, :mod:`gdlab.experiment.baseline`), what a model has to beat; None without
    one."""
    baseline = document.get("baseline")
    if not baseline:
        return None
    shown = ", ".join(f"{metric_label(name, document)} {value:.4g}"
                      for name, value in baseline["test"].items())
    return f"constant prediction ({baseline['constant']}): {shown}"
