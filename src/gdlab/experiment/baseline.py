"""The constant prediction a model has to beat: what "learned nothing" scores.

Fitted on the training targets without looking at a feature: scikit-learn's
``DummyClassifier(strategy="prior")`` (every row gets the training split's class frequencies,
and is predicted as its most frequent class) or ``DummyRegressor(strategy="mean")`` (the mean
training target). Unweighted, as the pipeline fits its model (``model.class_weight`` weighs
the model's loss, not the rows the metrics score). Cross-validation scores it on each fold's
training rows (:mod:`gdlab.experiment.cv`), evaluate on the test split, and register refuses to
promote a model whose test ``register.metric`` does not beat it.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from gdlab.experiment.metrics import is_better, score

PRIOR = "class prior"
MEAN = "mean target"


def constant_model(y_train: Any, task: str) -> Any:
    """The constant prediction fitted on ``y_train`` (the class prior, or the mean target)."""
    from sklearn.dummy import DummyClassifier, DummyRegressor

    dummy = (DummyRegressor(strategy="mean") if task == "regression"
             else DummyClassifier(strategy="prior"))
    y = np.asarray(y_train)
    return dummy.fit(np.zeros((len(y), 1)), y)


def constant_name(task: str) -> str:
    """``class prior`` or ``mean target``: which constant :func:`constant_model` predicts."""
    return MEAN if task == "regression" else PRIOR


def constant_value(dummy: Any, task: str) -> Any:
    """What the constant is, as JSON: the mean target, or ``{class: training share}``."""
    if task == "regression":
        return float(np.ravel(dummy.constant_)[0])
    return {str(label): float(share)
            for label, share in zip(np.asarray(dummy.classes_).tolist(), dummy.class_prior_,
                                    strict=True)}


def baseline_scores(
    y_train: Any, y_test: Any, task: str, *, positive: Any = None
) -> dict[str, float]:
    """Every metric of ``task`` of the constant prediction fitted on ``y_train``, scored on the
    ``y_test`` rows (their features play no part), as the model's test scores are
    (:func:`gdlab.experiment.metrics.score`, of the same ``positive`` class)."""
    dummy = constant_model(y_train, task)
    rows = np.zeros((len(np.asarray(y_test)), 1))
    with warnings.catch_warnings():  # the prior predicts no minority row: f1's precision 0/0
        warnings.simplefilter("ignore")
        return score(dummy, rows, np.asarray(y_test), task, positive=positive)


def baseline_document(y_train: Any, y_test: Any, task: str, *,
                      positive: Any = None) -> dict[str, Any]:
    """``reports/metrics.json``'s ``baseline``: which constant (``constant``: class prior or
    mean target), its value fitted on the training rows (``value``) and its ``test`` scores."""
    return {
        "constant": constant_name(task),
        "value": constant_value(constant_model(y_train, task), task),
        "test": baseline_scores(y_train, y_test, task, positive=positive),
    }


KEY = "register.beat_baseline"


def shortfall(document: Mapping[str, Any], metric: str) -> str | None:
    """What evaluate's ``reports/metrics.json`` (``document``) says when the model's test
    ``metric`` does not strictly beat the constant prediction's on the same rows (the point
    estimates: no margin, no bootstrap), naming both values: ``test_log_loss 0.09607 does not
    beat a constant prediction's 0.0675 (class prior, fitted on the training rows; on the same
    80 test rows)``. None when it beats it, or the constant's score is undefined (null)."""
    constant = ((document.get("baseline") or {}).get("test") or {}).get(metric)
    value = document["test"].get(metric)
    if constant is None or (value is not None and is_better(value, constant, metric)):
        return None
    if value is None:
        return f"test_{metric} is not finite"
    n = document.get("n_test")
    rows = "test rows" if n is None else f"{n} test row" + ("" if n == 1 else "s")
    return (f"test_{metric} {value:.4g} does not beat a constant prediction's {constant:.4g} "
            f"({document['baseline']['constant']}, fitted on the training rows; on the same "
            f"{rows})")


def baseline_gate(document: Mapping[str, Any], metric: str,
                  enabled: bool = True) -> tuple[str, str | None]:
    """``(status, reason)`` of the baseline gate on evaluate's ``reports/metrics.json``
    (``document``): the status as the version's ``gdlab.baseline_gate`` tag spells it
    (``off``: ``enabled`` false, :data:`KEY`; ``not measured``: a document without
    ``baseline``, which fails closed; ``passed``; ``failed``: :func:`shortfall`) and, when not
    passed or off, the reason the model may not be champion, naming :data:`KEY`."""
    if not enabled:
        return "off", None
    if metric not in ((document.get("baseline") or {}).get("test") or {}):
        return "not measured", (f"reports/metrics.json has no constant prediction's test "
                                f"{metric} (written by an older evaluate): run evaluate again, "
                                f"or set {KEY}: false")
    short = shortfall(document, metric)
    if short is None:
        return "passed", None
    return "failed", (f"{short}: a model no better than none is not promoted ({KEY}: false "
                      "promotes it anyway)")
