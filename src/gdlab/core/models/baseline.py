"""The starting output bias of a model: the optimum of the intercept-only model.

A model whose weights start at zero (linear) or small (an MLP's Glorot weights) predicts
its output bias for every row at first. Starting that bias at the constant the loss is
lowest for makes the first prediction the best constant one (the class prior, the mean),
so the steps go to the features, not to walking the bias there (Karpathy's "init well";
scikit-learn's gradient boosting starts from the same ``DummyClassifier(strategy="prior")``
/ ``DummyRegressor()`` baseline):

* ``"prior"``, the optimum of ``log_loss``: for two classes (one logit)
  b = log(p / (1 − p)), p the weighted share of class 1 (the logistic regression of y on
  a column of zeros); for K classes (K logits) b_k = log p_k (a constant shift of every
  logit changes nothing: the softmax is the same);
* ``"mean"``, the optimum of ``squared_error``:  b = Σ wᵢ yᵢ / Σ wᵢ;
* ``"median"``, the weighted median: huber's optimum as ε → 0, nearer its optimum than the
  mean when outliers pull the mean (which huber's bounded gradient resists; scikit-learn's
  gradient boosting starts huber at the median too).

A class without weight (absent from the rows, or weighted 0) would start at log 0 = −∞:
its share is floored at half a row's, 0.5 / n (n rows with weight), a finite start the
gradient can leave.
"""

from __future__ import annotations

import numpy as np


def class_shares(y: np.ndarray, w: np.ndarray, n_classes: int) -> np.ndarray:
    """Weighted share of each class index 0..n_classes-1 in ``y``, floored at 0.5 / n."""
    counted = w > 0
    n = max(int(np.count_nonzero(counted)), 1)
    totals = np.bincount(y.astype(np.intp, copy=False), weights=w, minlength=n_classes)
    shares = totals / totals.sum()
    return np.maximum(shares, 0.5 / n)


def weighted_median(y: np.ndarray, w: np.ndarray) -> float:
    """The smallest value of ``y`` with at least half the weight at or below it."""
    order = np.argsort(y, kind="stable")
    cumulative = np.cumsum(w[order])
    return float(y[order][np.searchsorted(cumulative, 0.5 * cumulative[-1])])


START_STATISTICS = ("prior", "mean", "median")
"""The constants an output bias can start at (see the module docstring)."""


def baseline_bias(statistic: str, y: np.ndarray, w: np.ndarray, n_outputs: int) -> np.ndarray:
    """The output bias (shape ``(n_outputs,)``) of the constant model ``statistic`` names
    (one of :data:`START_STATISTICS`) on targets ``y`` (class indices for ``"prior"``)
    with sample weights ``w`` (≥ 0, not all zero; their scale does not matter)."""
    y = np.asarray(y)
    w = np.asarray(w, dtype=np.float64)
    if statistic == "prior":
        shares = class_shares(y, w, max(n_outputs, 2))
        if n_outputs == 1:
            return np.array([np.log(shares[1]) - np.log(shares[0])])
        return np.log(shares)
    if statistic == "mean":
        return np.full(n_outputs, float(w @ y.astype(np.float64) / w.sum()))
    if statistic == "median":
        return np.full(n_outputs, weighted_median(y.astype(np.float64), w))
    raise ValueError(f"statistic {statistic!r} is unknown; use one of {START_STATISTICS}")
