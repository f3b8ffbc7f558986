"""What the estimators say when a fit ends badly or a schedule cannot act, and why.

* :func:`unconverged_message`: the ConvergenceWarning of a fit that reached ``max_epochs``
  before the ``tol`` rule stopped it, naming the likely cause when the data show one: a
  regression target far from unit scale (with the reason its numbers support: a linear
  model's weights start at 0 and adam, rmsprop and adagrad move each by about
  ``learning_rate`` per step, too few steps to get there; else the absolute ``tol`` on a loss
  that grows with the target; scale it with ``TransformedTargetRegressor``), or features on
  large or far-apart scales, or dense ones far from 0 or constant (``StandardScaler`` in a
  Pipeline).
* :func:`divergence_advice`: the advice of a fit's :class:`~gdlab.core.loop.DivergenceError`,
  naming the likely cause from the data: unscaled features (large, far-apart, off-centre or
  constant columns), a regression target far from unit scale (an MLP's) or small under
  steps of about the learning rate (adam's), else the learning rate.
* :func:`oscillation_message`: the ConvergenceWarning of a fit the ``tol`` rule stopped
  while its training loss oscillated (:func:`oscillated`).
* :func:`stall_message`: the ConvergenceWarning of a fit the ``tol`` rule stopped before it
  trained (:mod:`gdlab.core.stall`), naming the cause: features far below unit scale
  (:func:`small_features_cause`), a regression target far below it
  (:func:`small_target_cause`), else the learning rate.
* :func:`schedule_reach_message`: the :class:`ScheduleReachWarning` of a schedule that can
  never change the rate before the fit stops (:mod:`gdlab.core.schedule_reach`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
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
RISING_EPOCHS = 5
"""A fit the ``tol`` rule stops whose training loss rose in each of its last this many epochs,
ending :data:`RISEN` times its lowest or more, diverged slowly: full-batch sgd on standardised
diabetes at learning_rate 0.5, just above 2/L (0.497), fell to 0.4111 in epoch 4 and rose
in each of the next 10 epochs to 0.454 (R² 0.08), below both rules above."""
RISEN = 1.05
"""How far above its lowest a loss that kept rising must end to count (5%): noise around an
optimum does not climb five epochs in a row by that much."""
FAR_FROM_UNIT = 10.0
"""A regression target whose standard deviation or absolute mean exceeds this is far from
unit scale."""
LARGE_SCALE = 10.0
"""Features whose largest column standard deviation reaches this are on a large scale: not
the learning rate that suits standardised features. The loss's curvature along a column
grows with its variance (the Hessian of the squared error is XᵀX/n; the log-loss's, at the
start, XᵀX/4n), so a column of std 10 brings 100 times a standardised column's: the largest
stable rate (2/L for sgd) falls a hundredfold, further than the 10 times smaller rate the
learning-rate advice proposes. Measured (standardised diabetes × s, standardised target,
sgd, 1000 epochs): at s = 3 and 5 learning_rate=0.1 diverged and 0.01 trained (R² 0.514,
as at s = 1); from s = 10 on both diverged, linear and MLP alike; at s = 48 (diabetes ×
1000) an MLP diverged at 0.01 and 0.001, and at 0.0001 ended at R² −0.03, where
StandardScaler at 0.01 reaches 0.53."""
FEATURE_SPREAD = 100.0
"""Features whose largest column standard deviation exceeds this many times the smallest
(non-zero) one are far apart: their curvatures differ 10⁴-fold, and no one learning rate
suits them all."""
COMMON_SCALE = 10.0
"""Columns whose standard deviations are within this factor of each other share one scale."""
OFF_CENTRE = 3.0
"""A dense column whose absolute mean exceeds this, and this many times its standard
deviation, lies far from 0: its uncentred scale, not its spread, sets the learning rate it
needs (see :func:`off_centre_cause`). 0/1 and one-hot columns (|mean| ≤ 1) never do."""
CONSTANT_SPREAD = 1e-8
"""A column whose standard deviation is at most this times its absolute mean is constant
(the rounding of its mean leaves a spread of ~1e-16 times it)."""


def oscillated(losses: Sequence[float]) -> bool:
    """Whether a training-loss curve that the ``tol`` rule ended oscillated: it ends above
    its first value, or above :data:`OSCILLATING_RATIO` times its lowest having given back
    more than :data:`GIVEN_BACK` of its descent, or it rose in each of its last
    :data:`RISING_EPOCHS` epochs to :data:`RISEN` times its lowest or more (a slow
    divergence)."""
    if len(losses) < 2:
        return False
    first, final, lowest = losses[0], losses[-1], min(losses)
    if final > first or rising_epochs(losses) >= RISING_EPOCHS and final >= RISEN * lowest:
        return True
    return final > OSCILLATING_RATIO * lowest and final - lowest > GIVEN_BACK * (first - lowest)


def rising_epochs(losses: Sequence[float]) -> int:
    """How many of the last epochs in a row each ended with a higher loss than the one
    before."""
    count = 0
    for before, after in zip(reversed(losses[:-1]), reversed(losses[1:]), strict=True):
        if not after > before:
            break
        count += 1
    return count


SAMPLED_ROWS = 10_000
"""The rows (evenly spaced) whose column scales :func:`feature_scale_cause` reads: the advice
needs their order of magnitude, and a float64 copy of a 10M-row float32 memmap would not fit
beside it."""


def _column_moments(X) -> tuple[np.ndarray, np.ndarray]:
    """Each column's mean and standard deviation over at most :data:`SAMPLED_ROWS` evenly
    spaced rows."""
    rows = np.linspace(0, X.shape[0] - 1, min(X.shape[0], SAMPLED_ROWS)).astype(np.intp)
    if issparse(X):
        from sklearn.utils.sparsefuncs import mean_variance_axis

        mean, var = mean_variance_axis(X.tocsr()[rows], axis=0)
        return np.asarray(mean, dtype=np.float64), np.sqrt(var)
    sample = np.asarray(X[rows], dtype=np.float64)
    return sample.mean(axis=0), sample.std(axis=0)


def feature_scale_cause(X, estimator: str, columns: Sequence[str] | None = None, *,
                        large: bool = True) -> str | None:
    """The sentence naming features on large or far-apart scales, or off-centre ones (and
    the fix), or None: far-apart ones (their standard deviations spread over more than
    :data:`FEATURE_SPREAD` times) cannot share one learning rate; ones on one large scale
    (a column of std :data:`LARGE_SCALE` or more) can, but not the rate that suits
    standardised features. The fix for a sparse ``X`` is
    ``StandardScaler(with_mean=False)``: the default one refuses it ("Cannot center sparse
    matrices"), and centring would make it dense. A dense ``X`` whose spreads are moderate
    may still hold columns far from 0 (:func:`off_centre_cause`). ``columns``: the column
    names (``feature_names_in_``), else they are numbered. ``large=False`` leaves one large
    scale unnamed (far-apart and off-centre columns are still named): the cause of a fit
    that diverged or ran out of epochs, not of one that stalled, which a larger scale
    would move faster (:func:`stall_message`)."""
    if X is None or X.shape[0] < 2:
        return None
    mean, std = _column_moments(X)
    if columns is not None and len(columns) != len(mean):
        columns = None  # numbered, rather than misnamed
    spread = _spread_cause(std, issparse(X), estimator, large)
    if spread is not None or issparse(X):
        # a sparse column is judged by its standard deviation: mostly zeros, its mean is
        # small next to it and its uncentred second moment is about its variance
        return spread
    return off_centre_cause(mean, std, estimator, columns)


def _spread_cause(std: np.ndarray, sparse: bool, estimator: str,
                  large: bool = True) -> str | None:
    """:func:`feature_scale_cause`'s sentence for columns of standard deviations ``std``
    on large (when ``large``) or far-apart scales, or None."""
    std = std[np.isfinite(std) & (std > 0)]
    if not std.size:
        return None
    low, high = float(std.min()), float(std.max())
    if not (large and high >= LARGE_SCALE or high > FEATURE_SPREAD * low):
        return None
    scaler = ("StandardScaler(with_mean=False)" if sparse  # scales, keeps it sparse
              else "StandardScaler()")
    if high > FEATURE_SPREAD * low:
        why = "one learning rate cannot suit them all"
    elif high > COMMON_SCALE * low:
        why = ("a learning rate that suits standardised features takes steps far too large "
               "on the largest")
    else:
        why = ("they share one scale, far from 1: a learning rate that suits standardised "
               "features takes steps far too large on it")
    return (f"The features are unscaled (column standard deviations {_span(low, high)}): {why}. "
            f"Standardise them: make_pipeline({scaler}, {estimator}(...)).")


def _span(low: float, high: float) -> str:
    """Column standard deviations from ``low`` to ``high``, as a phrase."""
    return (f"all {high:.3g}" if f"{low:.3g}" == f"{high:.3g}" else
            f"from {low:.3g} to {high:.3g}")


NAMED_COLUMNS = 3
"""The most off-centre or constant columns :func:`off_centre_cause` names (the farthest)."""


def _named(which: np.ndarray, order: np.ndarray, columns: Sequence[str] | None,
           describe: Callable[[int], str]) -> str:
    """The columns ``which`` (indices), farthest first by ``order``, as a phrase: at most
    :data:`NAMED_COLUMNS` described by ``describe(j)``, then how many more."""
    which = which[np.argsort(-order[which], kind="stable")]
    names = [f"{columns[j]!r}" if columns is not None else f"{j}" for j in which]
    said = [f"{name} ({describe(j)})" for name, j in
            zip(names[:NAMED_COLUMNS], which[:NAMED_COLUMNS], strict=False)]
    more = len(which) - len(said)
    noun = "column" if len(which) == 1 else "columns"
    return f"{noun} {', '.join(said)}" + (f" and {more} more" if more else "")


def off_centre_cause(mean: np.ndarray, std: np.ndarray, estimator: str,
                     columns: Sequence[str] | None = None) -> str | None:
    """The sentence naming dense columns far from 0 (|mean| above :data:`OFF_CENTRE` and
    :data:`OFF_CENTRE` times the standard deviation ``std``), constant ones apart, and the
    fix (``StandardScaler()``), or None. Their scale is the uncentred one, √(mean² + std²),
    not the standard deviation: the loss's curvature along such a column grows with
    mean² + std², so steps that suit centred features are far too large on it, and its
    weight and the intercept nearly cancel (a narrow valley whose floor a smaller rate
    crawls along). Measured (three N(0, 1) columns shifted by an offset, full-batch sgd,
    1000 epochs): learning_rate=0.1 diverged from offset 3 on; learning_rate=0.01 from 10
    on (R² 0.981, not 0.998, at 5); offset 2000 diverged at every rate down to 10⁻⁴, and
    adam reached R² −0.69; StandardScaler first: R² 0.998 at 0.1. A constant column (one
    value, e.g. 5) adds nothing the intercept does not but its square to the curvature:
    sgd at 0.1 diverged on one of 5, not on one of 3. 0/1 columns (|mean| ≤ 1) are never
    named."""
    with np.errstate(divide="ignore", invalid="ignore"):
        far = (np.isfinite(mean) & np.isfinite(std) & (np.abs(mean) > OFF_CENTRE)
               & (np.abs(mean) > OFF_CENTRE * std))
    if not far.any():
        return None
    size = np.abs(mean)
    constant = np.flatnonzero(far & (std <= CONSTANT_SPREAD * size))
    shifted = np.flatnonzero(far & (std > CONSTANT_SPREAD * size))
    sentences = []
    if shifted.size:
        listed = _named(shifted, size / np.maximum(std, 1e-300), columns,
                        lambda j: f"mean {mean[j]:.4g}, std {std[j]:.3g}")
        one = shifted.size == 1
        sentences.append(
            f"The features are unscaled: {listed} {'lies' if one else 'lie'} far from 0 "
            f"next to {'its' if one else 'their'} spread: a learning rate that suits "
            f"centred features takes steps far too large on {'it' if one else 'them'} (the "
            "curvature grows with mean² + std²), and a smaller one crawls (the weight of such "
            "a column and the intercept nearly cancel).")
    if constant.size:
        one = constant.size == 1
        listed = _named(constant, size, columns,
                        lambda j: f"always {mean[j]:.4g}, square {mean[j] ** 2:.3g}")
        sentences.append(
            f"The features hold {'a constant' if one else 'constant'} {listed}: the "
            "intercept already fits a constant, and its square adds to the curvature, so a "
            "learning rate that suits centred features takes steps too large on "
            f"{'it' if one else 'them'}. Drop {'it' if one else 'them'}, or")
    recipe = f"make_pipeline(StandardScaler(), {estimator}(...))"
    if constant.size:
        return (" ".join(sentences) + f" standardise the features: {recipe} (it centres "
                "each column and maps a constant one to 0).")
    return f"{sentences[0]} Standardise them: {recipe} (it centres each column)."


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


SMALL_TARGET = 1.0 / FAR_FROM_UNIT
"""A regression target whose root mean square is below this is small: steps of about the
learning rate (adam's, :data:`BOUNDED_STEP`) overshoot it."""

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


def target_divergence_cause(y, optimizer: Any = None, learning_rate: float | None = None,
                            linear: bool = False, tol: float | None = None) -> str | None:
    """The sentence naming a regression target's scale as the likely cause of a divergence
    (and the fix), or None:

    * a target far from unit scale (:data:`FAR_FROM_UNIT`), only for a model whose training
      is not scale-free in the target (an MLP, ``linear=False``): a linear model's
      residuals, gradients and weights all scale with the target, so whether sgd diverges
      does not depend on the target's scale;
    * a small one (root mean square below :data:`SMALL_TARGET`) for any model trained by an
      ``optimizer`` that moves each weight by about ``learning_rate`` per step whatever the
      gradient's size (:data:`BOUNDED_STEP`): those steps overshoot a target that small.
      Measured (linear model, standardised features, y of std 0.0021, the defaults): adam
      at 0.01 diverged; at 10⁻⁴ the absolute ``tol`` (1e-4, above the whole loss) stopped
      it in 11 epochs at R² 0.84; with the target standardised
      (``TransformedTargetRegressor``) R² 0.996, as at y of std 2.1e-8."""
    y = np.asarray(y, dtype=np.float64)
    if y.size < 2:
        return None
    moments = _target_moments(y)
    if moments is not None:
        if linear:
            return None
        mean, std = moments
        return (f"The target is far from unit scale (y mean {mean:.4g}, std {std:.4g}): the "
                "gradients grow with it, so a learning rate that suits a unit-scale target "
                f"takes steps far too large. {_SCALE_TARGET}.")
    rms = float(np.sqrt(np.mean(np.square(y))))
    if not (np.isfinite(rms) and rms < SMALL_TARGET and optimizer in BOUNDED_STEP
            and learning_rate is not None):
        return None
    mean, std = float(y.mean()), float(y.std())
    size = ("more than the target's whole scale" if learning_rate >= rms else
            "a large step next to the target's scale")
    tol_note = (f" (a smaller learning rate alone is not enough: the loss of a target this "
                f"small, ~{rms * rms / 2:.2g} at the start, is below the absolute "
                f"tol={tol:g}, so the tol rule stops the fit within n_iter_no_change "
                "epochs)" if tol is not None and rms * rms / 2 < tol else "")
    return (f"The target is small (y mean {mean:.4g}, std {std:.4g}, root mean square "
            f"{rms:.3g}): {optimizer} moves each weight by about "
            f"learning_rate={learning_rate:g} per step whatever the gradient's size, {size}, "
            f"so its steps overshoot. {_SCALE_TARGET}, as the pipeline's "
            f"preprocess.scale_target does{tol_note}.")


def checked_scales(X, y=None) -> str:
    """What the data the divergence advice found no cause in are (for "The learning rate is
    the likely cause: ..."), with their numbers: features on moderate, comparable scales
    (every column std from :data:`SMALL_SCALE` to below :data:`LARGE_SCALE`, within
    :data:`COMMON_SCALE` times of each other), else on moderate or small ones, none large;
    and, given ``y`` (an MLP regressor's target), that it is not on a large scale
    (:data:`FAR_FROM_UNIT`)."""
    said = "the features show no large, far-apart or off-centre columns"
    if X is not None and X.shape[0] >= 2:
        std = _column_moments(X)[1]
        std = std[np.isfinite(std) & (std > 0)]
        if std.size:
            low, high = float(std.min()), float(std.max())
            numbers = f"(column standard deviations {_span(low, high)})"
            if high < SMALL_SCALE:
                said = f"the features are small {numbers}, none on a large scale"
            elif high > COMMON_SCALE * low:
                said = f"the features are on moderate scales {numbers}, none large"
            else:
                said = f"the features are on moderate, comparable scales already {numbers}"
    if y is None:
        return said
    y = np.asarray(y, dtype=np.float64)
    return (f"{said}, and the target is not on a large scale (y mean {y.mean():.3g}, "
            f"std {y.std():.3g})")


def divergence_advice(overflow: str | None, learning_rate: float, causes: Sequence[str],
                      checked: str) -> str | None:
    """What to try after a divergence, from the data the estimator was given: ``causes``
    (sentences of :func:`feature_scale_cause` and :func:`target_divergence_cause`) when the
    data show one (then a smaller learning rate only if scaling is not enough), else the
    learning rate (``checked``: what the data were found to be, :func:`checked_scales`).
    None keeps the engine's advice: a plug-in's non-finite update
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
    return (f"The learning rate is the likely cause: {checked}. Try a smaller learning rate "
            f"(e.g. {learning_rate / 10:.3g}), gradient clipping (clip_norm), or "
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
    rose = rising_epochs(losses)
    climbed = rose >= RISING_EPOCHS and first >= final and final <= OSCILLATING_RATIO * lowest
    what = f"rose in each of its last {rose} epochs" if climbed else "oscillates"
    return (f"the training loss {what}: it ended at {final:.4g} in epoch {len(losses)}, "
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



SMALL_SCALE = SMALL_TARGET
"""Features whose largest column standard deviation, or a regression target whose standard
deviation and absolute mean, are below this are far below unit scale: the loss moves so
little per step that the absolute ``tol`` ends the fit (see :mod:`gdlab.core.stall`). The
same 1 / :data:`FAR_FROM_UNIT` (0.1) as a small target of the divergence advice."""


def small_features_cause(X, estimator: str) -> str | None:
    """The sentence naming features far below unit scale (every column's standard deviation
    below :data:`SMALL_SCALE`) as the cause of a stalled fit (and the fix), or None."""
    if X is None or X.shape[0] < 2:
        return None
    std = _column_moments(X)[1]
    std = std[np.isfinite(std) & (std > 0)]
    if not std.size or not float(std.max()) < SMALL_SCALE:
        return None
    scaler = "StandardScaler(with_mean=False)" if issparse(X) else "StandardScaler()"
    return (f"The features are far below unit scale (column standard deviations up to "
            f"{float(std.max()):.3g}): the weights they need are large and each step moves "
            f"the loss by little. Standardise them: make_pipeline({scaler}, "
            f"{estimator}(...)).")


def small_target_cause(y) -> str | None:
    """The sentence naming a regression target far below unit scale (its standard deviation
    and absolute mean below :data:`SMALL_SCALE`) as the cause of a stalled fit, or None."""
    y = np.asarray(y, dtype=np.float64)
    if y.size < 2:
        return None
    mean, std = float(y.mean()), float(y.std())
    if not (0 < std < SMALL_SCALE and abs(mean) < SMALL_SCALE):
        return None
    return (f"The target is far below unit scale (y mean {mean:.3g}, std {std:.3g}): its "
            f"loss is small, and so are its changes against the absolute tol. "
            f"{_SCALE_TARGET}.")


def stall_message(owner: str, tol: float, n_iter_no_change: int, epochs: int,
                  start_loss: float, end_loss: float, probe_loss: float,
                  causes: Sequence[str], learning_rate: float) -> str:
    """The ConvergenceWarning of a fit the ``tol`` rule stopped before it trained
    (:func:`gdlab.core.stall.probe_stall`): its numbers, that ``tol`` is an absolute change
    in the loss, the ``causes`` the data show, else a learning rate too small."""
    head = (f"{owner}: the tol rule (tol={tol:g}, n_iter_no_change={n_iter_no_change}) "
            f"stopped the fit after {epochs} epochs, but it had barely trained: the training "
            f"loss went from {start_loss:.4g} to {end_loss:.4g}, while one step along the "
            f"gradient from there reaches {probe_loss:.4g}. tol is an absolute change in the "
            "loss: steps that change it by less than tol per epoch end the fit before it "
            "trains.")
    fix = (" ".join(causes) if causes else
           f"The learning rate is the likely cause: try a larger one (e.g. "
           f"{learning_rate * 10:.3g}), or gdlab.lr_range_test(estimator, X, y) to find one "
           "that trains.")
    return f"{head} {fix} Or set a smaller tol."
