"""Scores of a fitted pipeline on a labelled split, and which direction is better.

Regression: rmse, mae, r2. Classification: accuracy, balanced_accuracy (the mean recall of
the classes), f1 and average_precision (of the positive class for two classes,
:mod:`gdlab.data.positive`; macro-averaged over the classes, one-vs-rest, for more:
:func:`f1_average`), roc_auc (of the positive class's probability for two classes; for more,
scikit-learn's ``roc_auc_score(multi_class="ovr", average="macro")``: the unweighted mean of
each class's area against the rest, :data:`ROC_AUC_MULTI_CLASS`), log_loss.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn import metrics as skm

from gdlab.config import DEFAULT_METRIC, METRICS
from gdlab.data.positive import default_positive, positive_index

REGRESSION_METRICS = tuple(METRICS["regression"])
CLASSIFICATION_METRICS = tuple(METRICS["classification"])
GREATER_IS_BETTER = {name: up for task in METRICS.values() for name, up in task.items()}
POSITIVE_CLASS_METRICS = ("f1", "average_precision")
"""The metrics of one class, the positive one, for two classes (macro averages for more)."""
ROC_AUC_MULTI_CLASS = {"roc_auc_average": "macro", "roc_auc_multi_class": "ovr"}
"""How ``roc_auc`` is averaged over more than two classes, as scikit-learn's
``roc_auc_score(average=..., multi_class=...)`` names it: each class's probability against the
rest (one-vs-rest), the unweighted mean over the classes (macro); one-vs-one or a
support-weighted mean give other values on the same predictions."""
ROC_AUC_WORDS = {"ovr": "one-vs-rest", "ovo": "one-vs-one"}


def metric_names(task: str) -> tuple[str, ...]:
    """The metric names computed for ``task``."""
    return REGRESSION_METRICS if task == "regression" else CLASSIFICATION_METRICS


def resolve_metric(task: str, metric: str) -> str:
    """``"auto"`` becomes the task's default metric; other names are checked against the task."""
    name = DEFAULT_METRIC[task] if metric == "auto" else metric
    if name not in metric_names(task):
        raise ValueError(
            f"register.metric={metric!r} does not fit task {task!r}; "
            f"allowed: auto, {', '.join(metric_names(task))}"
        )
    return name


def is_better(candidate: float, reference: float, metric: str) -> bool:
    """True when ``candidate`` strictly beats ``reference`` on ``metric``."""
    if not np.isfinite(candidate):
        return False
    if not np.isfinite(reference):
        return True
    return candidate > reference if GREATER_IS_BETTER[metric] else candidate < reference


def predictions(model: Any, X: Any, task: str) -> np.ndarray:
    """What the metrics of ``model`` on ``X`` are computed from, as the model returns it:
    ``predict`` (regression) or ``predict_proba`` (classification)."""
    return np.asarray(model.predict(X) if task == "regression" else model.predict_proba(X))


def score(
    model: Any, X: Any, y: np.ndarray, task: str, *, predicted: np.ndarray | None = None,
    positive: Any = None,
) -> dict[str, float]:
    """Score ``model`` (anything with ``predict`` and, for classifiers, ``predict_proba``) on
    ``(X, y)``; ``predicted``: its :func:`predictions` on ``X`` when already made;
    ``positive``: the positive class of two (:func:`gdlab.data.positive.positive_class`
    of the training labels; None: :func:`~gdlab.data.positive.default_positive` of
    ``y``)."""
    y = np.asarray(y)
    out = predictions(model, X, task) if predicted is None else predicted
    if task == "regression":
        return _regression_scores(y, np.asarray(out, dtype=float))
    return _classification_scores(model, y, _as_float64_proba(out), positive)


def score_rows(
    model: Any, X: Any, y: np.ndarray, rows: np.ndarray, task: str, chunk: int | None = None,
    *, positive: Any = None,
) -> dict[str, float]:
    """``score(model, X[rows], y[rows], task, positive=positive)`` predicting ``chunk`` rows at
    a time (None: a few MB, :func:`gdlab.core.loop.chunk_rows`), so the rows of ``X`` are never
    copied at once (only the predictions are kept)."""
    from gdlab.core.loop import chunk_rows

    chunk = chunk or chunk_rows(np.asarray(X[:1]))
    y = np.asarray(y)[rows]
    method = model.predict if task == "regression" else model.predict_proba
    parts = []
    for start in range(0, len(rows), chunk):
        idx = rows[start : start + chunk]
        block = X.iloc[idx] if hasattr(X, "iloc") else X[idx]
        parts.append(np.asarray(method(block)))
    out = np.concatenate(parts)
    if task == "regression":
        return _regression_scores(y, np.asarray(out, dtype=float))
    return _classification_scores(model, y, _as_float64_proba(out), positive)


def _as_float64_proba(proba: Any) -> np.ndarray:
    """Probabilities as float64. Narrower ones (``train.dtype: float32``) are renormalised: widened,
    their rows sum to 1 only within float32's rounding, which scikit-learn's ``log_loss`` checks
    against float64's tolerance and warns about ("do not sum to one"). float64 ones pass as they
    are."""
    arr = np.asarray(proba)
    if arr.dtype == np.float64:
        return arr
    wide = arr.astype(np.float64)
    return wide / wide.sum(axis=1, keepdims=True)


def _regression_scores(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    return {
        "rmse": float(np.sqrt(skm.mean_squared_error(y, pred))),
        "mae": float(skm.mean_absolute_error(y, pred)),
        "r2": float(skm.r2_score(y, pred)),
    }


def f1_average(n_classes: int) -> str:
    """How ``f1`` (and ``average_precision``) is averaged, as scikit-learn's
    ``f1_score(average=...)`` names it: ``"binary"`` (of the positive class,
    :mod:`gdlab.data.positive`) for two classes, ``"macro"`` (the unweighted mean over
    the classes, each against the rest) for more."""
    return "binary" if n_classes == 2 else "macro"


def roc_auc_name(average: str, multi_class: str) -> str:
    """``roc_auc (macro one-vs-rest)``: ``roc_auc`` named with how it is averaged."""
    return f"roc_auc ({average} {ROC_AUC_WORDS.get(multi_class, multi_class)})"


def shown_name(name: str, n_classes: int, positive: Any = None) -> str:
    """``name`` as a progress line shows it: ``f1 (class 'fraud')`` for two classes whose
    ``positive`` class is known, ``f1 (macro)`` for more (and so ``average_precision``),
    ``roc_auc (macro one-vs-rest)`` for more than two classes, else ``name``."""
    if name == "roc_auc" and n_classes > 2:
        return roc_auc_name(ROC_AUC_MULTI_CLASS["roc_auc_average"],
                            ROC_AUC_MULTI_CLASS["roc_auc_multi_class"])
    if name not in POSITIVE_CLASS_METRICS or n_classes < 2:
        return name
    if f1_average(n_classes) != "binary":
        return f"{name} ({f1_average(n_classes)})"
    return name if positive is None else f"{name} (class {np.asarray([positive]).tolist()[0]!r})"


def predicted_labels(model: Any, proba: np.ndarray) -> np.ndarray:
    """The class each row is predicted as: the most probable one (what the metrics score)."""
    classes = np.asarray(model.classes_)
    return classes[np.argmax(np.asarray(proba), axis=1)]


def binary_positive(classes: np.ndarray, y: np.ndarray, positive: Any) -> tuple[Any, int]:
    """The positive class of two ``classes`` and its column in ``predict_proba``:
    ``positive``, or when None :func:`~gdlab.data.positive.default_positive` of ``y``."""
    chosen = default_positive(classes, y) if positive is None else positive
    k = positive_index(classes, chosen)
    return classes[k], k


def average_precision(y: np.ndarray, proba: np.ndarray, classes: np.ndarray,
                      positive: Any = None) -> float:
    """scikit-learn's ``average_precision_score``: of the positive class's probability for two
    classes (NaN when ``y`` has no row of it), else the mean over the classes present in ``y``
    of each one-vs-rest average precision (macro)."""
    if len(classes) == 2:
        pos, k = binary_positive(classes, y, positive)
        hit = y == pos
        return float(skm.average_precision_score(hit, proba[:, k])) if hit.any() else float("nan")
    values = [skm.average_precision_score(y == c, proba[:, k])
              for k, c in enumerate(classes) if np.any(y == c)]
    return float(np.mean(values)) if values else float("nan")


def _classification_scores(
    model: Any, y: np.ndarray, proba: np.ndarray, positive: Any = None
) -> dict[str, float]:
    classes = np.asarray(model.classes_)
    pred = predicted_labels(model, proba)
    binary = f1_average(len(classes)) == "binary"
    if binary:
        pos, k = binary_positive(classes, y, positive)
        f1 = skm.f1_score(y, pred, pos_label=pos, average="binary")
    else:
        f1 = skm.f1_score(y, pred, average="macro", labels=classes)
    present = np.unique(y)
    if len(present) < 2:
        roc_auc = float("nan")  # undefined with one class present
    elif binary:
        roc_auc = skm.roc_auc_score(y == pos, proba[:, k])
    else:
        roc_auc = skm.roc_auc_score(y, proba, labels=classes,
                                    multi_class=ROC_AUC_MULTI_CLASS["roc_auc_multi_class"],
                                    average=ROC_AUC_MULTI_CLASS["roc_auc_average"])
    return {
        "accuracy": float(skm.accuracy_score(y, pred)),
        "balanced_accuracy": float(skm.balanced_accuracy_score(y, pred)),
        "f1": float(f1),
        "average_precision": average_precision(y, proba, classes, positive),
        "roc_auc": float(roc_auc),
        "log_loss": float(skm.log_loss(y, proba, labels=classes)),
    }
