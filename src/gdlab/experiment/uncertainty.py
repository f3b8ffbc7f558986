"""How uncertain a test metric is: a 95 % confidence interval for each of
:func:`gdlab.experiment.metrics.score`'s metrics on a held-out split.

Accuracy (a proportion of rows predicted right) gets Wilson's score interval, the standard
interval for a binomial proportion: it stays honest at the edges (4 of 4 right gives
[0.51, 1], where a bootstrap collapses to [1, 1]). Every other metric gets a seeded
percentile bootstrap over the test rows: :data:`N_RESAMPLES` resamples of the rows with
replacement, each scored again from the model's predictions (made once), and the 2.5th and
97.5th percentiles of the resampled metric. A resample is a row-count vector (how often each
row is drawn), so each metric is computed with those counts as row weights, as
scikit-learn's ``sample_weight`` would. A classifier's resamples are stratified by class (as
pROC's AUC intervals are by default): each draws every class's rows from that class's test
rows only, as many as it holds, so no resample lacks a class. Unstratified, a resample of 80
test rows with 1 positive lacks it 37% of the time (e^-1), where roc_auc is undefined; those
resamples were dropped, leaving an interval conditional on the positive being drawn.

Above :data:`FULL_RESAMPLES_ROWS` test rows fewer resamples are drawn (as many as keep
resamples × rows at :data:`N_RESAMPLES` × that, and at least :data:`MIN_RESAMPLES`), each
still of every row: a sample of the rows would lose a rare class or a few gross errors (an
interval of a fraud model's roc_auc from 5 000 of 57 000 rows, 108 positives, came out 45
times too narrow), and the resamples' count only sets how finely the percentiles are read.

On fewer than :data:`MIN_RANKED_ROWS` test rows a metric is mostly noise (its standard error
grows as 1/sqrt(rows): one row moves an accuracy by more than 3 points) and the intervals of
two models overlap whatever they are: such a test set cannot rank models.

A class with fewer than :data:`MIN_CLASS_ROWS` test rows makes the intervals of the metrics
that depend on it (such as f1, roc_auc and its recall) unreliable, whatever the split's size:
every resample redraws the same few rows of it (1 positive: the same row in each), so the
interval's width comes mostly from the other classes' rows, and a percentile bootstrap of so
few rows is known to come out too narrow. At 10 rows the class's recall alone (k + 1 possible
values on k rows) has a 95% interval about half the range wide (Wilson's, 5 of 10 right:
0.24 – 0.76), wider below (5 of 9: 0.27 – 0.81; 1 of 1: 0.21 – 1): the class's metrics cannot
tell models apart."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from scipy.sparse import csr_array
from scipy.stats import binomtest

from gdlab.experiment.metrics import binary_positive, predictions, score

CONFIDENCE = 0.95
N_RESAMPLES = 1000
FULL_RESAMPLES_ROWS = 20_000
"""Up to this many test rows the bootstrap draws :data:`N_RESAMPLES` resamples."""
MIN_RESAMPLES = 200
"""The fewest resamples the bootstrap draws, whatever the test split's size."""
MIN_RANKED_ROWS = 30
"""The fewest test rows on which gdlab ranks two models by a test metric (the registry gate's
:data:`gdlab.tracking.champion.MIN_COMPARED_ROWS`)."""


MIN_CLASS_ROWS = 10
"""The fewest test rows of a class whose class-dependent metrics' intervals gdlab trusts."""


def wilson_interval(
    correct: int, total: int, confidence: float = CONFIDENCE
) -> tuple[float, float]:
    """Wilson's score interval of the proportion ``correct / total``."""
    ci = binomtest(int(correct), int(total)).proportion_ci(confidence, method="wilson")
    return float(ci.low), float(ci.high)


def _weighted_regression(w: np.ndarray, y: np.ndarray, pred: np.ndarray) -> dict[str, np.ndarray]:
    """rmse, mae, r2 for each row-weight vector in ``w`` (resamples × rows)."""
    total = w.sum(axis=1)
    err = y - pred
    mse = w @ err**2 / total
    mean_y = w @ y / total
    sst = w @ y**2 - total * mean_y**2
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(sst > 0, 1.0 - mse * total / np.where(sst > 0, sst, 1.0), np.nan)
    return {"rmse": np.sqrt(mse), "mae": w @ np.abs(err) / total, "r2": r2}


def _as_counts(w: np.ndarray) -> np.ndarray:
    """``w`` as 32-bit integers when it holds row counts (a bootstrap's resamples: their sums
    are then exact, and numpy's cumulative sums of integers several times faster than of
    floats), else as it is."""
    counts = w.astype(np.int32)
    return counts if np.array_equal(counts, w) else np.asarray(w, dtype=np.float64)


def _changes(values: np.ndarray) -> np.ndarray:
    """Where each run of equal ``values`` starts (True at the first of each run)."""
    new = np.ones(len(values), dtype=bool)
    new[1:] = values[1:] != values[:-1]
    return new


class _Ranking:
    """One class's rows in ascending order of its score, tied scores grouped: what its
    row-weighted roc_auc and average precision share. Both need, at each score a row of the
    class has, the weight of the rows scored below it and of the class's rows scored below
    it: one cumulative sum over all the rows (in that order) and one over the class's rows."""

    def __init__(self, score: np.ndarray, positive: np.ndarray):
        if np.all(score[1:] >= score[:-1]):  # sorted already (binary: the rows were): no gather
            self.order: np.ndarray | slice | None = None
        elif np.all(score[1:] <= score[:-1]):  # the other class of two: the sort reversed
            self.order = slice(None, None, -1)
        else:
            self.order = np.argsort(score, kind="stable")
        s = score if self.order is None else score[self.order]
        pos = positive if self.order is None else positive[self.order]
        new = _changes(s)
        self.starts = None if new.all() else np.flatnonzero(new)  # ties: a group per score
        self.pos_rows = np.flatnonzero(pos)
        pos_group = (np.cumsum(new) - 1)[self.pos_rows]
        first = _changes(pos_group)
        self.pos_starts = None if first.all() else np.flatnonzero(first)
        self.pos_groups = pos_group[first]

    def auc_and_average_precision(
        self, counts: np.ndarray, auc: bool = True, average_precision: bool = True
    ) -> tuple[np.ndarray | None, np.ndarray | None]:
        """ROC AUC (ties count one half; NaN without both kinds of row) and average precision
        (NaN without a row of the class) per row-count vector in ``counts`` (resamples ×
        rows, :func:`_as_counts`); None for the one not asked for."""
        if self.order is None:
            ordered = counts
        elif isinstance(self.order, slice):
            ordered = np.ascontiguousarray(counts[:, self.order])
        else:
            ordered = np.take(counts, self.order, axis=1)
        grouped = ordered if self.starts is None else np.add.reduceat(ordered, self.starts,
                                                                      axis=1)
        upto = np.cumsum(grouped, axis=1, dtype=counts.dtype)  # int32: rows < 2**31
        total = upto[:, -1].astype(np.float64) if upto.shape[1] else np.zeros(len(counts))
        pos = ordered[:, self.pos_rows]
        if self.pos_starts is not None:
            pos = np.add.reduceat(pos, self.pos_starts, axis=1)
        pos = pos.astype(np.float64)  # exact: integer sums below 2**53
        pos_below = np.cumsum(pos, axis=1) - pos
        n_pos = pos_below[:, -1] + pos[:, -1] if pos.shape[1] else np.zeros(len(counts))
        below = (upto[:, self.pos_groups] - grouped[:, self.pos_groups]).astype(np.float64)
        auc_values = ap_values = None
        with np.errstate(divide="ignore", invalid="ignore"):
            if auc:
                n_neg = total - n_pos
                tied_neg = grouped[:, self.pos_groups] - pos
                wins = np.einsum("ij,ij->i", pos, 2 * (below - pos_below) + tied_neg)
                auc_values = np.where(n_pos * n_neg > 0, wins / (2 * n_pos * n_neg), np.nan)
            if average_precision:
                hits = n_pos[:, None] - pos_below  # the class's rows scored at least this
                precision = np.divide(hits, total[:, None] - below, where=pos > 0,
                                      out=np.zeros_like(pos))
                ap_values = np.where(n_pos > 0, np.einsum("ij,ij->i", pos, precision) / n_pos,
                                     np.nan)
        return auc_values, ap_values


RESAMPLED_CLASSIFICATION = ("balanced_accuracy", "f1", "average_precision", "roc_auc",
                            "log_loss")
"""The classification metrics whose intervals come from the bootstrap (accuracy's is
Wilson's)."""


def _weighted_classification(
    w: np.ndarray, y: np.ndarray, proba: np.ndarray, classes: np.ndarray, positive: Any = None
) -> dict[str, np.ndarray]:
    """f1, average_precision, balanced_accuracy, roc_auc, log_loss per weight vector, as
    :mod:`gdlab.experiment.metrics` defines them (binary: of the ``positive`` class; more
    classes: macro averages, one-vs-rest)."""
    return _ClassificationRows(y, proba, classes, positive).weighted(w)


class _ClassificationRows:
    """What every resample of a classifier's test rows shares, computed once: each row's cell
    of the confusion matrix, its log loss and the rows' order by each scored column."""

    def __init__(self, y: np.ndarray, proba: np.ndarray, classes: np.ndarray,
                 positive: Any = None):
        self.classes = classes
        n, n_classes = len(y), len(classes)
        predicted = np.argmax(proba, axis=1)
        self.pred = classes[predicted]
        index = {c: k for k, c in enumerate(classes.tolist())}
        y_idx = np.array([index.get(v, -1) for v in y.tolist()], dtype=np.int64)
        eps = np.finfo(proba.dtype).eps
        clipped = np.clip(proba / proba.sum(axis=1, keepdims=True), eps, 1 - eps)
        own = np.where(y_idx >= 0, clipped[np.arange(n), np.maximum(y_idx, 0)], eps)
        self.row_loss = -np.log(own)
        known = np.flatnonzero(y_idx >= 0)  # a label outside classes: in no cell, all wrong
        self.cells = csr_array(
            (np.ones(len(known)), (known, y_idx[known] * n_classes + predicted[known])),
            shape=(n, n_classes * n_classes))
        if n_classes == 2:
            pos, k = binary_positive(classes, y, positive)
            self.scored = [(pos, k)]
        else:
            self.scored = list(zip(classes, range(n_classes), strict=True))
        self.ranked = {k: _Ranking(proba[:, k], y == c) for c, k in self.scored}

    def weighted(
        self, w: np.ndarray, names: Sequence[str] = RESAMPLED_CLASSIFICATION
    ) -> dict[str, np.ndarray]:
        """``names`` (of :data:`RESAMPLED_CLASSIFICATION` and accuracy) per row-count vector
        in ``w`` (resamples × rows), each computed only when asked for."""
        n_classes = len(self.classes)
        total = w.sum(axis=1)
        out: dict[str, np.ndarray] = {}
        if {"accuracy", "balanced_accuracy", "f1"} & set(names):
            confusion = np.asarray(w @ self.cells).reshape(len(w), n_classes, n_classes)
            right = np.diagonal(confusion, axis1=1, axis2=2)  # resamples × classes
            rows, flagged = confusion.sum(axis=2), confusion.sum(axis=1)
            with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # a resample with no class
                recall = np.where(rows > 0, right / rows, np.nan)
                out["accuracy"] = right.sum(axis=1) / total
                out["balanced_accuracy"] = np.nanmean(recall, axis=1)
                f1 = np.where(rows + flagged > 0, 2 * right / (rows + flagged), 0.0)
            if n_classes == 2:
                (_, k), = self.scored
                out["f1"] = f1[:, k]
            else:
                out["f1"] = f1.mean(axis=1)
        want_auc, want_ap = "roc_auc" in names, "average_precision" in names
        if want_auc or want_ap:
            counts = _as_counts(w)
            per_class = [self.ranked[k].auc_and_average_precision(counts, want_auc, want_ap)
                         for _, k in self.scored]
            if want_auc:
                out["roc_auc"] = np.mean([auc for auc, _ in per_class], axis=0)
            if want_ap:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)  # no row of a class: NaN
                    out["average_precision"] = np.nanmean([ap for _, ap in per_class], axis=0)
        if "log_loss" in names:
            out["log_loss"] = w @ self.row_loss / total
        return {name: out[name] for name in names}


def _resample_counts(
    n: int, n_resamples: int, rng: np.random.Generator,
    strata: Sequence[np.ndarray] | None = None,
) -> np.ndarray:
    """How often each of ``n`` rows is drawn in each of ``n_resamples`` bootstrap resamples;
    ``strata``: the row indices of each stratum (a classifier's test rows of each class), each
    resampled from its own rows only, as many as it holds."""
    counts = np.zeros((n_resamples, n))
    for b in range(n_resamples):
        if strata is None:
            counts[b] = np.bincount(rng.integers(0, n, n), minlength=n)
            continue
        for rows in strata:
            counts[b, rows] = np.bincount(rng.integers(0, len(rows), len(rows)),
                                          minlength=len(rows))
    return counts


def class_strata(y: np.ndarray) -> list[np.ndarray]:
    """The row indices of each class of ``y``: the strata of a classifier's bootstrap."""
    _, inverse = np.unique(y, return_inverse=True)
    return [np.flatnonzero(inverse == k) for k in range(inverse.max() + 1)] if len(y) else []


def resample_count(n_rows: int, n_resamples: int = N_RESAMPLES) -> int:
    """How many bootstrap resamples of ``n_rows`` rows are drawn: ``n_resamples``, fewer above
    :data:`FULL_RESAMPLES_ROWS` rows (resamples × rows kept at ``n_resamples`` × that), at
    least :data:`MIN_RESAMPLES`."""
    if n_rows > FULL_RESAMPLES_ROWS:
        return min(n_resamples, max(MIN_RESAMPLES, n_resamples * FULL_RESAMPLES_ROWS // n_rows))
    return n_resamples


def bootstrap(
    n_rows: int, scored: Callable[[np.ndarray], dict[str, np.ndarray]], *, seed: int,
    n_resamples: int = N_RESAMPLES, strata: Sequence[np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """``{name: value per resample}``: ``scored`` (row-count vectors, resamples × rows, to
    ``{name: one value per vector}``) on :func:`resample_count` seeded bootstrap resamples of
    ``n_rows`` rows, drawn a few million counts at a time; ``strata`` (:func:`class_strata`):
    each resampled within itself. The same ``seed`` draws the same resamples, whatever
    ``scored`` computes from them."""
    n_resamples = resample_count(n_rows, n_resamples)
    rng = np.random.default_rng(seed)
    chunk = max(1, min(n_resamples, 4_000_000 // max(n_rows, 1)))  # resamples × rows at once
    parts: dict[str, list[np.ndarray]] = {}
    for start in range(0, n_resamples, chunk):
        counts = _resample_counts(n_rows, min(chunk, n_resamples - start), rng, strata=strata)
        for name, values in scored(counts).items():
            parts.setdefault(name, []).append(values)
    return {name: np.concatenate(chunks) for name, chunks in parts.items()}


def scores_with_intervals(
    model: Any, X: Any, y: Any, task: str, *, seed: int, predicted: np.ndarray | None = None,
    positive: Any = None,
) -> tuple[dict[str, float], dict[str, tuple[float, float]]]:
    """:func:`gdlab.experiment.metrics.score` and :func:`metric_intervals` of ``model`` on
    ``(X, y)``, from one prediction of the rows (``predicted``: the model's
    :func:`~gdlab.experiment.metrics.predictions` on ``X`` when already made; ``positive``:
    the positive class of two, :func:`gdlab.data.positive.positive_class`)."""
    if predicted is None:
        predicted = predictions(model, X, task)
    return (
        score(model, X, y, task, predicted=predicted, positive=positive),
        metric_intervals(model, X, y, task, seed=seed, predicted=predicted, positive=positive),
    )


def metric_intervals(
    model: Any, X: Any, y: Any, task: str, *, seed: int, n_resamples: int = N_RESAMPLES,
    confidence: float = CONFIDENCE, predicted: np.ndarray | None = None, positive: Any = None,
) -> dict[str, tuple[float, float]]:
    """``{metric: (low, high)}``: the ``confidence`` interval of each test metric of ``model``
    on ``(X, y)`` (Wilson's for accuracy, a percentile bootstrap seeded with ``seed`` for the
    others, stratified by class for a classifier, fewer resamples above
    :data:`FULL_RESAMPLES_ROWS` rows; NaN bounds when a metric is undefined on most
    resamples). ``predicted``: the model's
    :func:`~gdlab.experiment.metrics.predictions` on ``X`` when already made."""
    y = np.asarray(y)
    n = len(y)
    if predicted is None:
        predicted = predictions(model, X, task)
    strata = None
    if task == "regression":
        pred = np.asarray(predicted, dtype=float)
        y = y.astype(float)

        def scored(w: np.ndarray) -> dict[str, np.ndarray]:
            return _weighted_regression(w, y, pred)
    else:
        proba = np.asarray(predicted, dtype=np.float64)
        classes = np.asarray(model.classes_)
        if len(classes) == 2:  # rows in the order of the second column, whichever class is
            order = np.argsort(proba[:, 1], kind="stable")  # positive, so that the strata and
            proba, y = proba[order], y[order]  # draws do not depend on it; its ranking (or
            # the reverse, the first column's) needs no gather

        scored = _ClassificationRows(y, proba, classes, positive).weighted
        strata = class_strata(y)

    resampled = bootstrap(n, scored, seed=seed, n_resamples=n_resamples, strata=strata)
    tail = 100 * (1 - confidence) / 2
    out: dict[str, tuple[float, float]] = {}
    if task != "regression":
        correct = int(np.sum(np.asarray(model.classes_)[np.argmax(proba, axis=1)] == y))
        out["accuracy"] = wilson_interval(correct, n, confidence)
    for name, values in resampled.items():
        finite = values[np.isfinite(values)]
        if len(finite) < len(values) / 2:
            out[name] = (float("nan"), float("nan"))
            continue
        low, high = np.percentile(finite, [tail, 100 - tail])
        out[name] = (float(low), float(high))
    return out


def too_few_rows(n_rows: int, test_size: float) -> str | None:
    """The warning for a test split of ``n_rows`` too small to rank models (None: enough)."""
    if n_rows >= MIN_RANKED_ROWS:
        return None
    return (
        f"the test split has only {n_rows} rows (data.test_size={test_size:g}), fewer than the "
        f"{MIN_RANKED_ROWS} needed to rank models: its metrics are mostly noise (see their "
        "95% intervals) and the registry will not let it replace a champion; use more rows "
        "or raise data.test_size (before a first version becomes champion: only the rows a "
        "champion was not trained on can compare a later version with it, so a champion "
        "tested on fewer than 30 rows can only be replaced by hand)"
    )


def too_few_class_rows(support: Mapping[Any, int], test_size: float) -> str | None:
    """The warning for the classes with fewer than :data:`MIN_CLASS_ROWS` test rows
    (``support``: each test class's rows; None: every class has enough)."""
    few = {label: n for label, n in support.items() if n < MIN_CLASS_ROWS}
    if not few:
        return None
    named = ", ".join(f"{label!r} ({n} test row{'' if n == 1 else 's'})"
                      for label, n in few.items())
    which = f"class {named} has" if len(few) == 1 else f"classes {named} have"
    return (
        f"{which} fewer than the {MIN_CLASS_ROWS} test rows a class needs "
        f"(data.test_size={test_size:g}): the 95% intervals of the metrics that depend on "
        "each class (such as f1, roc_auc and its recall) are unreliable, as every bootstrap "
        "resample redraws the same few rows of it; collect more rows of it or raise "
        "data.test_size"
    )
