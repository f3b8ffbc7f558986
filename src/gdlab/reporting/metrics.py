"""DVC metrics documents: ``reports/cv.json`` (per fold) and ``reports/metrics.json`` (test
scores with the CV mean and std). ``dvc metrics show`` flattens them to ``test.rmse``,
``cv.rmse.mean``, ... Both carry ``fit``: the over-/under-fitting verdict, the
validation-minus-training gap and the best epoch (:mod:`gdlab.experiment.fitcheck`)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from gdlab.experiment import CVResult
from gdlab.experiment.fitcheck import diagnose_fit


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


def cv_line(cv: CVResult) -> str:
    """``rmse 0.512 ± 0.031, mae ...``: each metric's mean over the folds with its std (the
    train stage's summary line)."""
    mean, std = cv.mean(), cv.std()
    return ", ".join(
        f"{name} {value:.4g}" + (f" ± {std[name]:.2g}" if math.isfinite(value) else "")
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


def test_line(
    scores: Mapping[str, float], intervals: Mapping[str, tuple[float, float]]
) -> str:
    """``accuracy 0.9 [95% CI 0.83, 0.94], f1 ...``: each test metric with its interval
    (the evaluate stage's summary line)."""
    shown = []
    for name, value in scores.items():
        low, high = intervals.get(name, (math.nan, math.nan))
        known = math.isfinite(low) and math.isfinite(high)
        ci = f" [95% CI {low:.3g}, {high:.3g}]" if known else ""
        shown.append(f"{name} {value:.4g}{ci}")
    return ", ".join(shown)
