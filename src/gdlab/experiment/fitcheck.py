"""Over- or under-fitting, read from a cross-validation: gap, best epoch, verdict.

Per fold: the generalisation gap per metric (how much worse the fold's model scores on its
held-out rows than on its own training rows, both scored the same way: scikit-learn's
``cross_validate(return_train_score=True)``), the epoch of the lowest validation loss and how
far above that lowest value the returned model's validation loss is. Over the folds: their
mean and standard deviation, and a verdict by three stated rules, each needing more than
half of the folds (one noisy fold decides nothing):

* **over-fitting**: the model's validation loss is ``OVERFIT_RISE`` (10%) or more above the
  fold's lowest (the curve turned up while training went on). With ``early_stopping`` the
  model holds the weights of its lowest validation loss, so this cannot fire;
* **under-fitting**: on its *own training rows* the model's loss (log_loss, rmse) is still
  ``UNDERFIT_SHARE`` (90%) or more of a constant prediction's (the class prior, the mean):
  it barely learned anything, so a gap cannot be the issue;
* **under-trained**: the fold ran all ``max_epochs``, its validation loss was lowest at the
  last epoch and still fell ``STILL_FALLING`` (1%) or more over the last tenth of the epochs
  (at least 2).

Otherwise: no sign of either. A verdict is a pointer for a person, not a test: a fit can
over-fit slightly without the curve turning up by 10%.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gdlab.experiment.cv import CVResult, FoldResult
from gdlab.experiment.metrics import GREATER_IS_BETTER

OVERFIT_RISE = 0.10
UNDERFIT_SHARE = 0.90
STILL_FALLING = 0.01
LOSS_METRIC = {"regression": "rmse", "classification": "log_loss"}
"""The score the under-fitting rule compares with a constant prediction's."""

OVER, UNDER, UNDER_TRAINED, FINE = (
    "over-fitting", "under-fitting", "under-trained", "no sign of over- or under-fitting"
)


@dataclass
class FoldFit:
    """One fold's fit: ``gap[metric]`` (validation minus training, signed so that positive
    is worse on validation), ``best_epoch`` (from 1; None without a finite validation loss),
    ``model_epoch`` (whose weights the model holds), ``rise`` (the model's validation loss
    over the lowest, minus 1) and ``falling`` (relative drop of the validation loss over the
    last tenth of the epochs)."""

    fold: int
    gap: dict[str, float]
    best_epoch: int | None
    model_epoch: int
    rise: float
    falling: float
    loss_share: float  # training-row loss over a constant prediction's


@dataclass
class FitDiagnosis:
    """The folds' fits and the verdict (``OVER``, ``UNDER``, ``UNDER_TRAINED`` or ``FINE``)
    with the reasons that gave it, in words a person can check in the figures."""

    verdict: str
    reasons: list[str]
    folds: list[FoldFit] = field(default_factory=list)
    loss_metric: str = ""

    def gap(self) -> dict[str, dict[str, float]]:
        """Per metric: mean and std (ddof 0) of the folds' gap."""
        names = {name for f in self.folds for name in f.gap}
        return {name: _spread([f.gap.get(name, math.nan) for f in self.folds])
                for name in sorted(names)}

    def best_epoch(self) -> dict[str, float]:
        """Mean and std of the folds' best epochs."""
        return _spread([math.nan if f.best_epoch is None else f.best_epoch for f in self.folds])

    def line(self) -> str:
        """``over-fitting: <reasons>; gap log_loss 0.64 ± 0.26, best epoch 3 ± 1``."""
        parts = [f"{self.verdict}: " + "; ".join(self.reasons)]
        gap = self.gap().get(self.loss_metric)
        if gap and math.isfinite(gap["mean"]):
            parts.append(f"validation-minus-training {self.loss_metric} {gap['mean']:.3g} ± "
                         f"{gap['std']:.2g}")
        best = self.best_epoch()
        if math.isfinite(best["mean"]):
            parts.append(f"lowest validation loss at epoch {best['mean']:.3g} ± "
                         f"{best['std']:.2g}")
        return "; ".join(parts)

    def document(self) -> dict[str, Any]:
        """The verdict, the gap and best epoch (mean and std) for cv.json and metrics.json,
        DVC metrics files. The reasons, sentences, are in :meth:`line` (train's output, its
        MLflow run's ``gdlab.fit`` tag): ``dvc metrics diff`` pads every row to its widest
        value."""
        return {"verdict": self.verdict, "gap": self.gap(), "best_epoch": self.best_epoch()}


def fold_fit(fold: FoldResult, task: str, early_stopping: bool) -> FoldFit:
    """One fold's gap, best epoch, rise and fall of its validation loss."""
    gap = {}
    for name, val in fold.scores.items():
        train = fold.train_scores.get(name, math.nan)
        gap[name] = (train - val) if GREATER_IS_BETTER.get(name) else (val - train)
    val = np.array([np.nan if v is None else v for v in fold.curves.get("val_loss", [])],
                   dtype=float)[: fold.n_iter]
    finite = np.isfinite(val)
    best = int(np.nanargmin(val)) + 1 if finite.any() else None
    model_epoch = best if (early_stopping and best is not None) else fold.n_iter
    rise = falling = math.nan
    if best is not None and 0 < model_epoch <= val.size and math.isfinite(val[model_epoch - 1]):
        low = float(val[best - 1])
        rise = (float(val[model_epoch - 1]) - low) / abs(low) if low else math.inf
        window = max(2, val.size // 10)
        start = float(val[max(val.size - 1 - window, 0)])
        falling = (start - float(val[-1])) / abs(start) if start else 0.0
    metric = LOSS_METRIC[task]
    constant = fold.baseline_scores.get(f"train_{metric}", math.nan)
    own = fold.train_scores.get(metric, math.nan)
    share = own / constant if constant and math.isfinite(constant) else math.nan
    return FoldFit(fold.fold, gap, best, model_epoch, rise, falling, share)


def diagnose_fit(cv: CVResult) -> FitDiagnosis:
    """The verdict on ``cv``'s folds (see the module's rules)."""
    metric = LOSS_METRIC[cv.task]
    fits = [fold_fit(f, cv.task, cv.early_stopping) for f in cv.folds]
    k = len(fits)
    if not k:
        return FitDiagnosis(FINE, ["no folds"], fits, metric)
    most = k // 2 + 1
    risen = [f for f in fits if f.rise >= OVERFIT_RISE]
    flat = [f for f in fits if f.loss_share >= UNDERFIT_SHARE]
    ran_out = [
        f for f, r in zip(fits, cv.folds, strict=True)
        if cv.max_epochs and r.n_iter >= cv.max_epochs and f.best_epoch == r.n_iter
        and f.falling >= STILL_FALLING
    ]
    if len(risen) >= most:
        rises = np.array([f.rise for f in fits])
        best = np.array([f.best_epoch or np.nan for f in fits], dtype=float)
        return FitDiagnosis(OVER, [
            f"in {len(risen)} of {k} folds the model's validation loss is {OVERFIT_RISE:.0%} "
            f"or more above its lowest (mean +{np.nanmean(rises):.0%}, lowest at epoch "
            f"{np.nanmean(best):.3g} of {np.mean([r.n_iter for r in cv.folds]):.3g}): "
            "train.early_stopping, fewer epochs (train.max_epochs), more regularisation "
            "(model.alpha) or a smaller model"
        ], fits, metric)
    reasons = []
    if len(flat) >= most:
        shares = np.array([f.loss_share for f in fits])
        constant = "the mean target" if cv.task == "regression" else "the class prior"
        reasons.append(
            f"in {len(flat)} of {k} folds the {metric} on the model's own training rows is "
            f"{np.nanmean(shares):.0%} of a constant prediction's ({constant}): "
            "it barely learned; more capacity (model.kind, features) or training "
            "(learning rate, epochs), or the features carry little signal"
        )
    if len(ran_out) >= most:
        drops = np.array([f.falling for f in ran_out])
        reasons.append(
            f"in {len(ran_out)} of {k} folds max_epochs={cv.max_epochs} stopped a validation "
            f"loss still falling ({np.mean(drops):.1%} over the last tenth of the epochs): "
            "more epochs or a larger learning rate"
        )
    if reasons:
        return FitDiagnosis(UNDER if len(flat) >= most else UNDER_TRAINED, reasons, fits, metric)
    return FitDiagnosis(FINE, [
        f"validation loss within {OVERFIT_RISE:.0%} of its lowest and training {metric} "
        f"below {UNDERFIT_SHARE:.0%} of a constant prediction's in at least "
        f"{k - max(len(risen), len(flat))} of {k} folds"
    ], fits, metric)


def refit_line(cv: CVResult, refit_epochs: int) -> str:
    """How the refit's epochs relate to the folds': the same stopping rule ran again on every
    training row (it does not train to the folds' best epoch)."""
    epochs = [f.n_iter for f in cv.folds]
    folds = f"the folds ran {min(epochs)}-{max(epochs)}" if epochs else "no folds"
    if cv.early_stopping:
        rule = ("stopped early on its own validation_fraction of the training rows, "
                "weights of its lowest validation loss")
    else:
        rule = "the same max_epochs/tol rule as the folds, on every training row"
    return f"refit {refit_epochs} epochs ({rule}; {folds})"


def _spread(values: list[float]) -> dict[str, float]:
    array = np.asarray(values, dtype=float)
    if not np.isfinite(array).any():
        return {"mean": math.nan, "std": math.nan}
    return {"mean": float(np.nanmean(array)), "std": float(np.nanstd(array))}
