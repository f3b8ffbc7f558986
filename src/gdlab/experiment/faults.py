"""Failures of a fold that must survive the trip back from a joblib worker process.

The engine's :class:`~gdlab.core.loop.DivergenceError` takes three constructor arguments, so
pickle cannot rebuild it from its message and loky reports a confusing "A result has failed to
un-serialize" instead. Fold workers re-raise it as :class:`FoldDivergence`: still a
``DivergenceError`` (same attributes, same message, prefixed by the fold), but picklable.
:func:`explain_divergence` names the feature column most likely to blame.
"""

from __future__ import annotations

import numpy as np

from gdlab.core.loop import DivergenceError


class FoldDivergence(DivergenceError):
    """Training of one cross-validation fold diverged (``fold`` e.g. ``"fold 2/5"``)."""

    def __init__(self, fold: str, epoch: int, learning_rate: float, loss: float,
                 overflow: str | None = None, optimizer: str | None = None,
                 step: int | None = None):
        super().__init__(epoch, learning_rate, loss, overflow, optimizer, step)
        self.fold = fold
        self.args = (f"{fold}: {self.args[0]}",)

    def __reduce__(self):
        return (type(self), (self.fold, self.epoch, self.learning_rate, self.loss,
                             self.overflow, self.optimizer, self.step))


def explain_divergence(
    exc: DivergenceError,
    X: np.ndarray,
    feature_names: list[str] | None,
    standardize: bool,
    *,
    raw_target: np.ndarray | None = None,
) -> DivergenceError:
    """Add to ``exc``'s message the feature column with the largest magnitude as the model
    sees it (the usual culprit: raw values, or standardised ones with
    ``preprocess.standardize``, where the advice to scale the features is dropped), and
    whether standardisation was off; ``raw_target``: the regression target when it was
    trained on unscaled (``preprocess.scale_target: false``), whose magnitude is named too.
    A plug-in optimiser's non-finite update (``overflow == "update"``) is left as it is.
    Returns ``exc`` for ``raise``."""
    if getattr(exc, "overflow", None) == "update":  # a plug-in's update, not the data
        return exc
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.size == 0 or not exc.args:
        return exc
    message = str(exc.args[0])
    with np.errstate(invalid="ignore", divide="ignore"):
        if standardize:  # what the model saw: a raw peak says nothing once scaled
            # z is scale-free: divided by its peak first, a column holding 1e200 has a finite
            # variance (its square, 1e400, overflowed to inf and made every z 0)
            peak = np.nanmax(np.abs(X), axis=0)
            X = X / np.where(np.isfinite(peak) & (peak > 0), peak, 1.0)
            spread = np.nanstd(X, axis=0)
            X = (X - np.nanmean(X, axis=0)) / np.where(spread > 0, spread, 1.0)
        peaks = np.nanmax(np.abs(X), axis=0)
    j = int(np.nanargmax(peaks)) if np.isfinite(peaks).any() else 0
    name = feature_names[j] if feature_names else f"column {j}"
    if standardize:
        advice = getattr(exc, "advice", "")
        if advice and advice in message and getattr(exc, "overflow", None) != "validation":
            message = message.replace(advice, (
                f"Try a smaller learning rate (e.g. {exc.learning_rate / 10:.3g}) or gradient "
                "clipping (optimizer.clip_norm); the features are standardised already "
                "(preprocess.standardize)."
            ))
        hint = f" Largest standardised feature: {name!r} (|z| up to {peaks[j]:.3g})."
    else:
        hint = f" Largest feature: {name!r} (|x| up to {peaks[j]:.3g}); "
        hint += "preprocess.standardize is false."
    if raw_target is not None and np.size(raw_target):
        peak = float(np.nanmax(np.abs(np.asarray(raw_target, dtype=float))))
        hint += f" Target: |y| up to {peak:.3g}; preprocess.scale_target is false."
    exc.args = (message + hint, *exc.args[1:])
    return exc
