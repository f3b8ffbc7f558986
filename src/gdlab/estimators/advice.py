"""What the estimators say when a fit ends badly or a schedule cannot act, and why.

* :func:`unconverged_message`: the ConvergenceWarning of a fit that reached ``max_epochs``
  before the ``tol`` rule stopped it, naming the likely cause when the data show one: a
  regression target far from unit scale (with the reason its numbers support: a linear
  model's weights start at 0 and adam, rmsprop and adagrad move each by about
  ``learning_rate`` per step, too few steps to get there; else the absolute ``tol`` on a loss
  that grows with the target; scale it with ``TransformedTargetRegressor``), or features on
  large or far-apart scales (``StandardScaler`` in a Pipeline).
* :func:`divergence_advice`: the advice of a fit's :class:`~gdlab.core.loop.DivergenceError`,
  naming the likely cause from the data: unscaled features, a regression target far from
  unit scale (an MLP's), else the learning rate.
* :func:`oscillation_message`: the ConvergenceWarning of a fit the ``tol`` rule stopped
  while its training loss oscillated (:func:`oscillated`).
* :func:`schedule_reach_message`: the :class:`ScheduleReachWarning` of a schedule that can
  never change the rate before the fit stops (:mod:`gdlab.core.schedule_reach`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from gdlab.core.schedule_reach import PLATEAU_PATIENCE, plateau_outwaited, unreachable_parameter
from gdlab.core.schedules import epochs_after_warmup
from gdlab.core.sparse import issparse

OSCILLATING_RATIO = 2.0
"""A fit the ``tol`` rule stops with its training loss above this many times its lowest (and
:data:`GIVEN_BACK` of its descent given back) oscillated, as did one that ends above its first
epoch's loss. Measured (``tol`` stops of 360 fits: breast-cancer and iris raw and
standardised, standardised diabetes and a synthetic regression; sgd, momentum, adagrad,
rmsprop, adam, nadam; learning rates 10⁻³–10; full batch and batches of 32): of the 131
whose returned model's training loss was within 1.5× (+0.02) of the best fit's, none ended
above its first loss, and 3 (mini-batch regressions at a loss ~0.01, 2.6–18× their lowest
0.003) passed this rule; of the 79 worse ones it flags 40, among them every fit that ended
above its first loss (18). At 1.5× the rule flagged a recovering full-batch fit too."""
GIVEN_BACK = 0.05
"""The share of its descent (first loss − lowest) a fit must have given back, besides
ending above :data:`OSCILLATING_RATIO` × its lowest, to count as oscillating: a fit that fell
a thousandfold and ends at noise level just above its lowest has not."""
FAR_FROM_UNIT = 10.0
"""A regression target whose standard deviation or absolute mean exceeds this is far from
unit scale."""
FEATURE_SPREAD = 100.0
"""Features whose largest column standard deviation exceeds this, or this many times the
smallest (non-zero) one, are on scales one learning rate cannot suit: the first, on one
large scale, not the rate that suits standardised features; the second (far-apart), not
any one rate."""
COMMON_SCALE = 10.0
"""Columns whose standard deviations are within this factor of each other share one scale."""


def oscillated(losses: Sequence[float]) -> bool:
    """Whether a training-loss curve that the ``tol`` rule ended oscillated: it ends above
    its first value, or above :data:`OSCILLATING_RATIO` times its lowest having given back
    more than :data:`GIVEN_BACK` of its descent."""
    if len(losses) < 2:
        return False
    first, final, lowest = losses[0], losses[-1], min(losses)
    if final > first:
        return True
    return final > OSCILLATING_RATIO * lowest and final - lowest > GIVEN_BACK * (first - lowest)


SAMPLED_ROWS = 10_000
"""The rows (evenly spaced) whose column scales :func:`feature_scale_cause` reads: the advice
needs their order of magnitude, and a float64 copy of a 10M-row float32 memmap would not fit
beside it."""


def _column_std(X) -> np.ndarray:
    """Each column's standard deviation over at most :data:`SAMPLED_ROWS` evenly spaced rows."""
    rows = np.linspace(0, X.shape[0] - 1, min(X.shape[0], SAMPLED_ROWS)).astype(np.intp)
    if issparse(X):
        from sklearn.utils.sparsefuncs import mean_variance_axis

        return np.sqrt(mean_variance_axis(X.tocsr()[rows], axis=0)[1])
    return np.asarray(X[rows], dtype=np.float64).std(axis=0)


def feature_scale_cause(X, estimator: str) -> str | None:
    """The sentence naming features on large or far-apart scales (and the fix), or None:
    far-apart ones (their standard deviations spread over more than :data:`FEATURE_SPREAD`
    times) cannot share one learning rate; ones on one large scale can, but not the rate
    that suits standardised features. The fix for a sparse ``X`` is
    ``StandardScaler(with_mean=False)``: the default one refuses it ("Cannot center sparse
    matrices"), and centring would make it dense."""
    if X is None or X.shape[0] < 2:
        return None
    std = _column_std(X)
    std = std[np.isfinite(std) & (std > 0)]
    if not std.size:
        return None
    low, high = float(std.min()), float(std.max())
    if not (high > FEATURE_SPREAD or high > FEATURE_SPREAD * low):
        return None
    scaler = ("StandardScaler(with_mean=False)" if issparse(X)  # scales, keeps it sparse
              else "StandardScaler()")
    if high > FEATURE_SPREAD * low:
        why = "one learning rate cannot suit them all"
    elif high > COMMON_SCALE * low:
        why = ("a learning rate that suits standardised features takes steps far too large "
               "on the largest")
    else:
        why = ("they share one scale, far from 1: a learning rate that suits standardised "
               "features takes steps far too large on it")
    span = (f"all {high:.3g}" if f"{low:.3g}" == f"{high:.3g}" else
            f"from {low:.3g} to {high:.3g}")
    return (f"The features are unscaled (column standard deviations {span}): {why}. "
            f"Standardise them: make_pipeline({scaler}, {estimator}(...)).")


def _target_moments(y) -> tuple[float, float] | None:
    """``(mean, std)`` of a regression target far from unit scale (:data:`FAR_FROM_UNIT`),
    else None."""
    y = np.asarray(y, dtype=np.float64)
    if y.size < 2:
        return None
    mean, std = float(y.mean()), float(y.std())
    if not (std > FAR_FROM_UNIT or abs(mean) > FAR_FROM_UNIT):
        return None
    return mean, std


_SCALE_TARGET = ("Scale the target: TransformedTargetRegressor(regressor=GDRegressor(...), "
                 "transformer=StandardScaler()) (sklearn.compose)")


BOUNDED_STEP = ("adam", "adamw", "nadam", "rmsprop", "adagrad")
"""The built-in optimisers whose step moves each weight by about ``learning_rate`` (at most
about that while the gradient keeps its sign), whatever the gradient's size."""


def target_scale_cause(y, optimizer: Any, learning_rate: float, model: str, steps: int,
                       epochs: int, tol: float, warm: bool = False) -> str | None:
    """The sentence naming a regression target far from unit scale (and the fix), or None,
    for a fit that ended unconverged after ``steps`` optimiser steps over ``epochs`` epochs.
    ``model``: ``"linear"`` (its weights start at 0), ``"mlp"`` (small random weights, zero
    biases) or another (a plug-in's); ``warm``: the fit started from a previous fit's
    weights (``warm_start``), not fresh ones. The reason given is the one the numbers
    support:

    * a linear model whose optimiser steps by about ``learning_rate`` (:data:`BOUNDED_STEP`)
      needs at least some max(|mean|, std) / ``learning_rate`` steps to reach the target's
      scale from 0: a step budget named short only when that exceeds the ``steps`` the fit
      had. When it does not, the steps shrank on the way: they are divided by the root of
      the squared gradients averaged so far, which the huge first ones dominate (measured:
      adam at learning_rate=1000 on y of mean 2.9e5, 480 full-batch steps, standardised
      features: the intercept covered 2.2e5 in its first 290 steps, moved ~200 a step at
      the end and stood at 2.7e5; it got there in 1391);
    * a linear model trained by sgd or momentum: its steps and weights scale with y, so the
      reason is the loss, which grows with the target's scale: the absolute ``tol`` asks for
      a far finer fit than on a unit-scale target;
    * an MLP's (or a plug-in model's) output can grow faster than its weights move, and a
      warm-started fit's weights start elsewhere, so no step count is claimed: its bounded
      steps approach a target that large slowly, and an unbounded optimiser's gradients
      grow with it."""
    moments = _target_moments(y)
    if moments is None:
        return None
    mean, std = moments
    bounded = optimizer in BOUNDED_STEP
    if model == "linear" and not (warm and bounded):
        scale = max(abs(mean), std)
        needed = int(np.ceil(scale / learning_rate))
        batches = steps // epochs if epochs else 0
        if bounded and needed > steps:
            why = (f"the weights start at 0 and {optimizer} moves each by at most about "
                   f"learning_rate={learning_rate:g} per step: reaching the target's scale "
                   f"({scale:.3g}) takes at least some {needed:,} steps, more than the "
                   f"{steps:,} this fit had ({epochs} epochs of {batches} "
                   f"batch{'es' if batches > 1 else ''})")
        elif bounded:
            why = (f"{optimizer}'s steps of about learning_rate={learning_rate:g} would cover "
                   f"the target's scale ({scale:.3g}) in some {needed:,} of the fit's "
                   f"{steps:,} steps, but they shrink as the gradients fall below the far "
                   f"larger ones {optimizer} averaged on the way (a target that large makes "
                   "the first ones huge), so the fit slows well before it gets there")
        else:
            why = ("the loss grows with the target's scale, so the absolute "
                   f"tol={tol:g} asks for a far finer fit than on a unit-scale target")
    elif bounded:
        start = ("an MLP's weights start small and random (its output near 0) and "
                 if model == "mlp" and not warm else "")
        why = (f"{start}{optimizer} moves each weight by about "
               f"learning_rate={learning_rate:g} per step, so the fit approaches a target "
               "that large slowly")
    else:
        why = "the gradients grow with it, so one learning rate cannot suit it and the features"
    return (f"The target is far from unit scale (y mean {mean:.4g}, std {std:.4g}): {why}. "
            f"{_SCALE_TARGET}, as the pipeline's preprocess.scale_target does.")


def target_divergence_cause(y) -> str | None:
    """The sentence naming a regression target far from unit scale as the likely cause of a
    divergence (and the fix), or None. Only for a model whose training is not scale-free in
    the target (an MLP): a linear model's residuals, gradients and weights all scale with
    the target, so whether it diverges does not depend on the target's scale."""
    moments = _target_moments(y)
    if moments is None:
        return None
    mean, std = moments
    return (f"The target is far from unit scale (y mean {mean:.4g}, std {std:.4g}): the "
            "gradients grow with it, so a learning rate that suits a unit-scale target takes "
            f"steps far too large. {_SCALE_TARGET}.")


def divergence_advice(overflow: str | None, learning_rate: float, causes: Sequence[str],
                      checked: str) -> str | None:
    """What to try after a divergence, from the data the estimator was given: ``causes``
    (sentences of :func:`feature_scale_cause` and :func:`target_divergence_cause`) when the
    data show one (then a smaller learning rate only if scaling is not enough), else the
    learning rate (``checked``: what was found on moderate scales,
    e.g. "the features"). None keeps the engine's advice: a plug-in's non-finite update
    (``"update"``), an outlier in the validation rows (``"validation"``), and a gradient
    overflow with no cause found (values too large for floating point that no column
    standard deviation shows, e.g. a constant column of 1e300: the engine's advice covers
    both)."""
    if overflow in ("update", "validation"):
        return None
    if causes:
        return (f"{' '.join(causes)} If it still diverges once scaled, try a smaller learning "
                f"rate (e.g. {learning_rate / 10:.3g}).")
    if overflow == "gradient":
        return None
    return (f"The learning rate is the likely cause: {checked} are on moderate, comparable "
            f"scales already. Try a smaller learning rate (e.g. {learning_rate / 10:.3g}), "
            "gradient clipping (clip_norm), or "
            "gdlab.lr_range_test(estimator, X, y) to find one that trains.")


def unconverged_message(owner: str, max_epochs: int, tol: float, n_iter_no_change: int,
                        causes: Sequence[str], oscillation: str | None) -> str:
    """The ConvergenceWarning of a fit that reached ``max_epochs`` before the ``tol`` rule
    stopped it: the causes found (``causes``, the loss's ``oscillation``), else the old
    advice (more epochs or a larger learning rate)."""
    head = (f"{owner}: max_epochs={max_epochs} reached before the loss improved by less "
            f"than tol={tol} for {n_iter_no_change} epochs")
    if oscillation:
        return f"{head}; {oscillation} {' '.join(causes)}".rstrip()
    if causes:
        return f"{head}. {' '.join(causes)}"
    return f"{head}; increase max_epochs or the learning rate."


def oscillation_text(losses: Sequence[float], learning_rate: float,
                     suggest_scaling: bool) -> str:
    """What the oscillating curve ``losses`` did (its numbers) and the remedy; scaling the
    features among them when ``suggest_scaling`` (their scales are unknown: a sentence of
    :func:`feature_scale_cause` names unscaled ones, standardised ones need none)."""
    first, final = losses[0], losses[-1]
    lowest = min(losses)
    at = int(np.argmin(losses)) + 1
    where = (f"above its first epoch's {first:.4g}" if final > first else
             f"{final / lowest:.3g} times its lowest")
    scale = " or scale the features (StandardScaler in a Pipeline)" if suggest_scaling else ""
    return (f"the training loss oscillates: it ended at {final:.4g} in epoch {len(losses)}, "
            f"{where} ({lowest:.4g} in epoch {at}); the weights returned are the last "
            f"epoch's, not a converged fit. Lower learning_rate (e.g. "
            f"{learning_rate / 10:.3g}){scale}.")


def oscillation_message(owner: str, n_iter_no_change: int, tol: float, text: str,
                        causes: Sequence[str]) -> str:
    """The ConvergenceWarning of a fit the ``tol`` rule stopped on an oscillating loss."""
    return (f"{owner}: the tol rule (tol={tol}, n_iter_no_change={n_iter_no_change}) "
            f"stopped the fit, but {text} {' '.join(causes)}").rstrip()


class ScheduleReachWarning(UserWarning):
    """The learning-rate schedule can never change the rate before the fit stops
    (``step_size`` or every milestone at or after ``max_epochs``; ``plateau``'s patience not
    below ``n_iter_no_change - 1``): the fit equals ``schedule="constant"``."""


def schedule_reach_message(schedule: Any, params: Mapping[str, Any] | None, max_epochs: int,
                           tol: float | None, n_iter_no_change: int) -> str | None:
    """Why the built-in ``schedule`` (its ``params``) can never change the learning rate
    before a fit of ``max_epochs`` epochs stops, naming the parameters; None when it can."""
    if not isinstance(schedule, str):
        return None
    params = dict(params or {})
    name, prefix, epochs = schedule, "schedule_params", max_epochs
    if name == "warmup":
        warm = params.get("warmup_epochs", 5)
        if not isinstance(warm, int) or warm >= max_epochs:
            return None
        name, prefix = params.get("then", "constant"), "schedule_params['then_params']"
        params = dict(params.get("then_params") or {})
        epochs = epochs_after_warmup(warm, max_epochs)
    which = unreachable_parameter(name, params, epochs)
    span = (f"max_epochs={max_epochs}" if epochs == max_epochs else
            f"the {epochs} epochs after the warm-up")
    if which == "step_size":
        return (f"schedule={name!r}: {prefix}['step_size']={params['step_size']} is not "
                f"below {span}: the rate would first change in epoch "
                f"{params['step_size'] + 1}, which the fit never reaches (it equals "
                f"schedule='constant'); use a step_size below {epochs}")
    if which == "milestones":
        return (f"schedule={name!r}: every milestone of {prefix}['milestones']="
                f"{list(params['milestones'])} is at or after {span}: the rate never "
                "changes (the fit equals schedule='constant'); put a milestone below "
                f"{epochs}")
    if name == "plateau" and tol is not None:
        patience = params.get("patience", PLATEAU_PATIENCE)
        if isinstance(patience, int) and plateau_outwaited(patience, n_iter_no_change):
            fix = (f"set {prefix}['patience'] to {n_iter_no_change - 2} or less"
                   if n_iter_no_change >= 2 else
                   f"raise n_iter_no_change above {patience + 1}")
            return (f"schedule='plateau': its patience ({patience}) is not below "
                    f"n_iter_no_change ({n_iter_no_change}) - 1, so the tol rule "
                    f"(tol={tol}) ends the fit before plateau can lower the learning rate "
                    f"(the fit equals schedule='constant'); {fix}, raise n_iter_no_change, "
                    "or set tol=None")
    return None

