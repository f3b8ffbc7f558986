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
