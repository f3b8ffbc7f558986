"""Learning-rate guidance for the configured model, before any search is paid for.

(a) For linear models (least squares, huber, logistic, softmax), the smoothness constant L of
    the mean loss, by power iteration on the *preprocessed* training data (with the intercept
    column): the classic step 1/L and the divergence bound 2/L of full-batch gradient descent.
(b) For any model, optimiser and batch size, Smith's LR range test: an exponential sweep of
    the learning rate, stopped on divergence, suggesting the steepest descent of the smoothed
    loss (see :func:`gdlab.core.diagnostics.lr_range_test`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import clone

from gdlab.core.diagnostics import LRRangeResult, lr_range_test, smoothness_constant
from gdlab.experiment import build_pipeline
from gdlab.experiment.target import split_target


@dataclass
class LRGuidance:
    """What ``gdlab lr-find`` prints and the tune stage records."""

    model: str
    loss: str
    optimizer: str
    batch_size: int | None
    n_rows: int
    n_features: int
    smoothness: float | None
    smoothness_note: str
    range_test: LRRangeResult | None
    target_scaled: bool = False  # the range test's losses are on the standardised target
    features_scaled: bool = False  # preprocess.standardize scaled every feature
    task: str = "regression"

    @property
    def setting(self) -> str:
        """What the range test swept, in a few words: model, loss, optimiser, batch."""
        batch = "full batch" if self.batch_size is None else f"batch {self.batch_size}"
        return f"{self.model}, {self.loss}, {self.optimizer}, {batch}"

    @property
    def step(self) -> float | None:
        """1/L: the step with the classic O(1/k) guarantee of gradient descent."""
        return None if not self.smoothness else 1.0 / self.smoothness

    @property
    def bound(self) -> float | None:
        """2/L: any larger constant step diverges on a quadratic."""
        return None if not self.smoothness else 2.0 / self.smoothness

    @property
    def suggestion(self) -> float | None:
        """The LR range test's suggestion."""
        return None if self.range_test is None else float(self.range_test.suggestion)

    def as_dict(self) -> dict[str, Any]:
        """Plain numbers for JSON / MLflow (``None`` where not applicable)."""
        rt = self.range_test
        return {
            "model": self.model,
            "loss": self.loss,
            "optimizer": self.optimizer,
            "batch_size": self.batch_size,
            "n_rows": self.n_rows,
            "n_features": self.n_features,
            "smoothness_L": self.smoothness,
            "step_1_over_L": self.step,
            "bound_2_over_L": self.bound,
            "range_test_suggestion": self.suggestion,
            "range_test_valley": None if rt is None else float(rt.valley),
            "range_test_stopped_at": None if rt is None else rt.stopped_at,
            "range_test_diverged": None if rt is None else bool(rt.diverged),
            "range_test_descended": None if rt is None else rt.descended,
            "target_scaled": self.target_scaled,
        }

    def lines(self) -> list[str]:
        """A human-readable report, one line each."""
        batch = "full batch" if self.batch_size is None else f"batch {self.batch_size}"
        out = [
            f"model {self.model}, loss {self.loss}, {self.n_rows} rows x {self.n_features} "
            "features after preprocessing (+ intercept)"
            + (", on the standardised target (preprocess.scale_target)" if self.target_scaled
               else "")
        ]
        if self.smoothness:
            out += [
                f"smoothness L = {self.smoothness:.6g} ({self.smoothness_note})",
                f"  step 1/L = {self.step:.4g}   divergence bound 2/L = {self.bound:.4g}   "
                "(full-batch gradient descent; plain SGD should stay below 2/L too)",
            ]
        else:
            out.append(f"smoothness L: not available ({self.smoothness_note})")
        rt = self.range_test
        if rt is not None:
            stop = "diverged" if rt.diverged else "end of sweep"
            out.append(
                f"LR range test ({self.optimizer}, {batch}, {len(rt.learning_rates)} steps from "
                f"{rt.learning_rates[0]:.0e}): suggestion {rt.suggestion:.4g} (steepest descent "
                f"of the smoothed loss), valley {rt.valley:.4g}, stopped at {rt.stopped_at:.4g} "
                f"({stop})"
            )
            if self.smoothness and self.optimizer == "sgd":
                out.append(f"  suggestion x L = {rt.suggestion * self.smoothness:.3g}")
            if not rt.descended:
                out.append(
                    "  no descent found: the loss never fell clearly (5%, beyond its noise) "
                    f"below its start, so the suggestion is unreliable ({self._remedies()})"
                )
        return out

    def _remedies(self) -> str:
        """What to try when the sweep found no descent: scaling only where the preprocessing
        leaves it undone (the features, a regression's target), then the optimiser and batch."""
        unscaled = []
        if not self.features_scaled:
            unscaled.append("the features (preprocess.standardize)")
        if self.task == "regression" and not self.target_scaled:
            unscaled.append("the target (preprocess.scale_target)")
        scale = f"scale {' and '.join(unscaled)}, or " if unscaled else ""
        return f"{scale}try another optimiser or batch size"


def lr_guidance(
    params: Any,
    X: np.ndarray,
    y: np.ndarray,
    *,
    range_test: bool = True,
    num_steps: int = 100,
    start_lr: float = 1e-7,
    end_lr: float = 10.0,
) -> LRGuidance:
    """L (linear models) and the LR range test for validated ``params`` on ``(X, y)`` (``y`` as
    the estimator takes it). The preprocessing is fitted on all of ``X``, as the refit does,
    and the range test runs on the target the estimator trains on (standardised with
    ``preprocess.scale_target``)."""
    pipeline = build_pipeline(params)
    preprocess = pipeline.named_steps["preprocess"]
    estimator, y, target = split_target(pipeline.named_steps["model"], y)
    Xt = np.asarray(clone(preprocess).fit_transform(X, y), dtype=np.float64)
    loss = params.model.resolved_loss
    smoothness, note = _smoothness(params, Xt, y, loss)
    result = None
    if range_test:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = lr_range_test(
                estimator, Xt, y, start_lr=start_lr, end_lr=end_lr, num_steps=num_steps
            )
    return LRGuidance(
        model=params.model.kind,
        loss=loss,
        optimizer=params.optimizer.name,
        batch_size=params.train.batch_size,
        n_rows=int(Xt.shape[0]),
        n_features=int(Xt.shape[1]),
        smoothness=smoothness,
        smoothness_note=note,
        range_test=result,
        target_scaled=target is not None,
        features_scaled=bool(params.preprocess.standardize),
        task=params.model.task,
    )


def _smoothness(params: Any, Xt: np.ndarray, y: np.ndarray, loss: str) -> tuple[float | None, str]:
    if params.model.kind != "linear":
        return None, f"{params.model.kind} models have no closed-form bound; use the range test"
    n_classes = int(len(np.unique(y))) if params.model.task == "classification" else 1
    L = smoothness_constant(
        Xt, loss=loss, n_classes=n_classes, alpha=params.model.alpha, l1_ratio=params.model.l1_ratio
    )
    if loss == "log_loss":
        kind = "lambda_max/4, binary logistic" if n_classes <= 2 else "lambda_max/2, softmax"
        note = f"upper bound {kind}, power iteration"
    else:
        note = "lambda_max(X~'X~)/n by power iteration"
    if params.model.alpha and params.model.l1_ratio < 1:
        note += " + alpha(1 - l1_ratio)"
    return float(L), note
