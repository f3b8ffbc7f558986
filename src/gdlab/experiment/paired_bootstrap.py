"""Whether one model beats another beyond the noise of the test rows both were scored on: a
seeded paired bootstrap of the difference in a test metric.

Two models scored on the *same* rows share those rows' noise: a row that is hard for one is
usually hard for the other, so each model's own interval (evaluate's, ±0.05 on a log loss of
300 rows) says little about their difference, and a difference of a few ten-thousandths is
within it. The paired bootstrap resamples the rows (the same resample for both models, drawn
as :func:`gdlab.experiment.uncertainty.bootstrap` draws evaluate's, seeded alike, a
classifier's within each class), scores each
model on it (a per-row mean for log_loss, rmse, mae, accuracy; roc_auc, f1 and r2 recomputed
on the resample) and keeps the gain, how much better the challenger is than the champion in
the metric's own units (positive: better, whichever way the metric points). The confidence
that the challenger is better is the share of resamples on which the gain is positive, a
resample with no gain at all counting one half (two models predicting the same: 0.5).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from gdlab.experiment.metrics import GREATER_IS_BETTER, metric_names
from gdlab.experiment.uncertainty import (
    CONFIDENCE,
    N_RESAMPLES,
    _ClassificationRows,
    _weighted_regression,
    bootstrap,
    class_strata,
)


@dataclass(frozen=True)
class PairedGain:
    """The challenger's gain over the champion on the rows both were scored on."""

    metric: str
    gain: float
    """How much better the challenger is on those rows, in the metric's units (positive:
    better; for a lower-is-better metric, the champion's value minus the challenger's)."""
    low: float
    """Lower bound of the gain's :data:`~gdlab.experiment.uncertainty.CONFIDENCE` percentile
    interval over the resamples."""
    high: float
    """Its upper bound."""
    confidence: float
    """Share of resamples on which the challenger is better (no gain counts one half); NaN
    when the metric is undefined on most resamples (roc_auc of a one-class resample)."""
    rows: int
    resamples: int
    seed: int

    def to_dict(self) -> dict[str, Any]:
        return {k: (None if isinstance(v, float) and not np.isfinite(v) else v)
                for k, v in asdict(self).items()}


def weighted_scores(
    y: np.ndarray, predicted: np.ndarray, task: str, classes: Any = None, positive: Any = None,
    names: Sequence[str] | None = None,
) -> Callable[[np.ndarray], dict[str, np.ndarray]]:
    """Row-weights (resamples × rows) to each of :func:`gdlab.experiment.metrics.score`'s
    metrics per weight vector (``names``: only those; None: all), for a model's ``predicted``
    values on the rows labelled ``y`` (``predict`` for regression; ``predict_proba``, its
    columns in ``classes`` order, for classification; ``positive``: the positive class of two,
    :func:`gdlab.data.positive.positive_class`)."""
    y = np.asarray(y)
    wanted = tuple(metric_names(task) if names is None else names)
    if task == "regression":
        pred, target = np.asarray(predicted, dtype=float), y.astype(float)
        return lambda w: {name: value for name, value in _weighted_regression(w, target, pred)
                          .items() if name in wanted}
    rows = _ClassificationRows(y, np.asarray(predicted, dtype=np.float64), np.asarray(classes),
                               positive)
    return lambda w: rows.weighted(w, wanted)


def paired_gain(
    y: Any, champion: np.ndarray, challenger: np.ndarray, task: str, metric: str, *,
    seed: int, champion_classes: Any = None, challenger_classes: Any = None,
    n_resamples: int = N_RESAMPLES, positive: Any = None,
) -> PairedGain:
    """The gain on ``metric`` of the ``challenger``'s predictions over the ``champion``'s on
    the rows labelled ``y`` (each model's classes for its probabilities' columns), with its
    percentile interval and the confidence that it is positive, from the paired bootstrap
    seeded with ``seed`` (:func:`gdlab.experiment.uncertainty.bootstrap`, stratified by class
    for a classifier as evaluate's intervals are: the same rows, predictions and seed give the
    same result); ``positive``: the positive class of two, the
    same for both models."""
    y = np.asarray(y)
    ours = weighted_scores(y, challenger, task, challenger_classes, positive, [metric])
    theirs = weighted_scores(y, champion, task, champion_classes, positive, [metric])
    sign = 1.0 if GREATER_IS_BETTER[metric] else -1.0

    def gained(w: np.ndarray) -> dict[str, np.ndarray]:
        return {"gain": sign * (ours(w)[metric] - theirs(w)[metric])}

    point = float(gained(np.ones((1, len(y))))["gain"][0])
    strata = None if task == "regression" else class_strata(y)  # as evaluate's intervals
    gains = bootstrap(len(y), gained, seed=seed, n_resamples=n_resamples, strata=strata)["gain"]
    finite = gains[np.isfinite(gains)]
    if len(finite) < len(gains) / 2:
        nan = float("nan")
        return PairedGain(metric, point, nan, nan, nan, len(y), len(gains), seed)
    tail = 100 * (1 - CONFIDENCE) / 2
    low, high = np.percentile(finite, [tail, 100 - tail])
    confidence = (np.sum(finite > 0) + 0.5 * np.sum(finite == 0)) / len(finite)
    return PairedGain(metric, point, float(low), float(high), float(confidence), len(y),
                      len(gains), seed)
