"""The regression target's standardisation (``preprocess.scale_target``) and the one way to
reach the gdlab estimator at the end of a pipeline.

With ``scale_target`` the pipeline's ``model`` step is scikit-learn's
``TransformedTargetRegressor(regressor=GDRegressor(...), transformer=StandardScaler())``: the
gradient-descent estimator then trains on ``(y - mean) / std`` of the training rows and
``predict`` returns original units. Gradient descent needs this on real targets (diabetes: mean
~150, std ~77), whose intercept and weights would otherwise have to travel hundreds of units
at about ``learning_rate`` per step.

Everything that needs the gdlab estimator itself (its ``history_``, ``n_iter_``,
``params_``, its settings) goes through :func:`final_estimator`. The stages fit the pipeline
step by step (validation rows as ``eval_set``, row views of a shared ``X``), so they fit
the wrapper's pieces themselves: :func:`split_target` fits the target scaler on the training
targets and gives the inner estimator and the targets it trains on, :func:`join_target`
makes the wrapper a fitted ``TransformedTargetRegressor`` equal to what its own ``fit``
gives (the tests check that).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.compose import TransformedTargetRegressor
from sklearn.preprocessing import StandardScaler

STANDARDISED = "standardised target"
"""What the loss curves and surfaces are measured on when the target is scaled: the inner
estimator's loss on ``(y - mean) / std``, not in the target's units (the mean squared error
is ``std**2`` times smaller, the penalty is not rescaled; huber's has no conversion). Figures
say so in their axis labels rather than converting."""


def loss_units(scaled: bool) -> str:
    """``" (standardised target)"`` for a label when the target was scaled, else ``""``."""
    return f" ({STANDARDISED})" if scaled else ""


def wrap_target(estimator: Any, scale: bool) -> Any:
    """``estimator`` behind a target StandardScaler when ``scale``, else as it is."""
    if not scale:
        return estimator
    return TransformedTargetRegressor(regressor=estimator, transformer=StandardScaler())


def _step(model: Any) -> Any:
    """The pipeline's last step (``model``), or ``model`` itself when it is no pipeline."""
    steps = getattr(model, "steps", None)
    return steps[-1][1] if steps else model


def final_estimator(model: Any) -> Any:
    """The estimator doing the gradient descent: the pipeline's last step, unwrapped from a
    ``TransformedTargetRegressor`` (its fitted ``regressor_`` once fitted, else its
    ``regressor``). Works on a pipeline or on its last step."""
    step = _step(model)
    if isinstance(step, TransformedTargetRegressor):
        return getattr(step, "regressor_", step.regressor)
    return step


def with_estimator_params(pipeline: Any, **params: Any) -> Any:
    """A clone of ``pipeline`` whose gdlab estimator has ``params`` set (wrapped or not)."""
    model = clone(pipeline)
    final_estimator(model).set_params(**params)
    return model


def scales_target(model: Any) -> bool:
    """Whether the pipeline (or step) standardises the target before its estimator sees it."""
    return isinstance(_step(model), TransformedTargetRegressor)


def split_target(step: Any, y: np.ndarray) -> tuple[Any, np.ndarray, Any]:
    """``(estimator, y_inner, transformer)`` for fitting ``step`` on targets ``y``: for a
    ``TransformedTargetRegressor``, a clone of its regressor, ``y`` transformed by a clone
    of its transformer fitted on ``y`` (the training targets only) and that fitted
    transformer (``y_inner`` 1-d); else ``(step, y, None)``."""
    if not isinstance(step, TransformedTargetRegressor):
        return step, y, None
    if step.transformer is None:
        raise ValueError("a TransformedTargetRegressor in a gdlab pipeline needs a transformer")
    transformer = clone(step.transformer)
    y_inner = transformer.fit_transform(np.asarray(y, dtype=np.float64).reshape(-1, 1))
    return clone(step.regressor), np.asarray(y_inner).reshape(-1), transformer


def transform_target(transformer: Any, y: np.ndarray) -> np.ndarray:
    """``y`` (1-d) in the units the inner estimator trains in (as is without a transformer)."""
    if transformer is None:
        return y
    return transformer.transform(np.asarray(y, dtype=np.float64).reshape(-1, 1)).reshape(-1)


def join_target(step: Any, estimator: Any, transformer: Any) -> Any:
    """``step`` fitted: for a ``TransformedTargetRegressor``, set the fitted state its own
    ``fit`` sets (``transformer_``, ``regressor_``, the 1-d target); else ``estimator``."""
    if not isinstance(step, TransformedTargetRegressor):
        return estimator
    step.transformer_ = transformer
    step.regressor_ = estimator
    step._training_dim = 1  # what fit records for a 1-d y: predict returns 1-d
    if hasattr(estimator, "feature_names_in_"):
        step.feature_names_in_ = estimator.feature_names_in_
    return step
