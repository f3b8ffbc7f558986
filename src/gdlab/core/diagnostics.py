"""Diagnostics: finite-difference gradient check, smoothness constant, LR range test.

* :func:`check_grad` compares a model's analytic gradient with central differences
  (torch.autograd.gradcheck's tolerances: atol 1e-5, rtol 1e-3, ε = 1e-6 in float64).
* :func:`smoothness_constant` estimates L = λ_max(X̃ᵀX̃)/n (X̃ with an intercept column)
  by power iteration, scaled for the loss (½ logistic bound ¼, softmax ½), plus α.
* :func:`lr_range_test` is Smith's (2015) exponential sweep as fastai's ``lr_find``; the
  suggestion is the steepest descent of a zero-lag smoothed log-loss before its valley, the
  single-batch outliers of the sweep removed first by a running median.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gdlab.core.models.base import objective


@dataclass
class GradCheck:
    """Result of :func:`check_grad`; ``str()`` of it is a one-line report."""

    ok: bool
    max_abs_error: float
    max_rel_error: float
    analytic: list[np.ndarray]
    numeric: list[np.ndarray]
    loss: str = ""
    worst: tuple[int, tuple[int, ...]] = (0, ())
    """Where the analytic and numeric gradients differ most: ``(i, index)`` of
    ``params[i][index]``."""

    def __str__(self) -> str:
        i, index = self.worst
        where = f"params[{i}][{', '.join(map(str, index))}]" if index else f"params[{i}]"
        sizes = sum(a.size for a in self.analytic)
        return (
            f"gradient check {'passed' if self.ok else 'FAILED'} ({self.loss}, {sizes} "
            f"parameters in {len(self.analytic)} arrays): max abs error "
            f"{self.max_abs_error:.3g}, max rel error {self.max_rel_error:.3g}; largest at "
            f"{where}: analytic {self.analytic[i][index]:.6g}, numeric "
            f"{self.numeric[i][index]:.6g}"
        )


def numeric_gradient(fn, params: list[np.ndarray], eps: float = 1e-6) -> list[np.ndarray]:
    """Central differences (f(θ + εeᵢ) − f(θ − εeᵢ)) / 2ε of a scalar function of params."""
    out = []
    for p in params:
        g = np.zeros_like(p, dtype=np.float64)
        flat, gflat = p.reshape(-1), g.reshape(-1)
        for i in range(flat.size):
            old = flat[i]
            flat[i] = old + eps
            f_plus = fn(params)
            flat[i] = old - eps
            f_minus = fn(params)
            flat[i] = old
            gflat[i] = (f_plus - f_minus) / (2 * eps)
        out.append(g)
    return out


def check_grad(
    model,
    X: np.ndarray,
    y: np.ndarray,
    *,
    loss: str | None = None,
    params: list[np.ndarray] | None = None,
    sample_weight: np.ndarray | None = None,
    alpha: float = 0.0,
    l1_ratio: float = 0.0,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    random_state: int = 0,
) -> GradCheck:
    """Check ``model``'s analytic gradient of the full objective against central differences.

    ``model`` is a model object (``init_params``, ``forward``, ``backward``, ``penalized``)
    or a fitted/unfitted GDRegressor/GDClassifier. For an estimator, ``loss`` defaults to
    the estimator's (its ``loss``, else squared_error for a regressor and log_loss for a
    classifier, whose labels ``y`` may be any it accepts). For a model object, ``y`` holds
    targets (regression) or class indices 0..K-1 (classification) and ``loss`` defaults to
    squared_error for float targets and log_loss for integer targets: pass ``loss`` for
    integer regression targets. ``str()`` of the result reports where the gradients differ
    most.
    """
    from gdlab.core.models.losses import make_loss

    epsilon = 1.0
    est_model = getattr(model, "model_", None)
    if est_model is None and hasattr(model, "_build_model"):
        est_model = model._build_model()
    if est_model is not None:
        if params is None and hasattr(model, "params_"):
            params = model.params_
        if loss is None and hasattr(model, "_loss_name"):
            loss = model._loss_name()
        epsilon = float(getattr(model, "epsilon", epsilon))
        model = est_model
    elif not all(callable(getattr(model, name, None)) for name in ("forward", "backward")):
        raise TypeError(
            "check_grad takes a model object (init_params, forward, backward) or a "
            f"GDRegressor/GDClassifier, got {type(model).__name__}; for a fitted pipeline pass "
            "its gdlab estimator (a TransformedTargetRegressor's regressor_, which trains on "
            "the standardised target)"
        )
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    if loss is None:
        loss = "log_loss" if np.issubdtype(y.dtype, np.integer) else "squared_error"
    n_outputs = 1
    if loss == "log_loss":
        if est_model is not None:  # an estimator's labels, as its fit encodes them
            y = np.unique(y, return_inverse=True)[1]
        elif not np.issubdtype(y.dtype, np.integer) or y.min() < 0:
            raise ValueError(
                f"check_grad: log_loss takes y as class indices 0..K-1, got {y.dtype} values "
                f"from {y.min()} to {y.max()}; pass loss='squared_error' (or another) for a "
                "regression target"
            )
        k = int(y.max()) + 1
        n_outputs = 1 if k <= 2 else k
    loss_fn = make_loss(loss, n_outputs, epsilon)
    rng = np.random.default_rng(random_state)
    if params is None:
        params = model.init_params(X.shape[1], n_outputs, rng, np.float64)
        params = [p + 0.1 * rng.standard_normal(p.shape) for p in params]
    params = [np.array(p, dtype=np.float64, copy=True) for p in params]
    w = np.ones(X.shape[0]) if sample_weight is None else np.asarray(sample_weight, float)
    w = w / w.sum()
    grads = [np.zeros_like(p) for p in params]
    objective(model, loss_fn, params, X, y, w, alpha, l1_ratio, grads)

    def fn(ps):
        return objective(model, loss_fn, ps, X, y, w, alpha, l1_ratio)

    numeric = numeric_gradient(fn, params, eps)
    gaps = [np.abs(a - n) for a, n in zip(grads, numeric, strict=True)]
    abs_err = max(float(np.max(g)) for g in gaps)
    worst_array = int(np.argmax([np.max(g) for g in gaps]))
    worst = (worst_array, tuple(int(i) for i in np.unravel_index(
        int(np.argmax(gaps[worst_array])), gaps[worst_array].shape)))
    rel_err = max(
        float(np.max(np.abs(a - n) / np.maximum(np.abs(n), 1e-12)))
        for a, n in zip(grads, numeric, strict=True)
    )
    ok = all(
        np.allclose(a, n, atol=atol, rtol=rtol) for a, n in zip(grads, numeric, strict=True)
    )
    return GradCheck(ok, abs_err, rel_err, grads, numeric, loss, worst)


def smoothness_constant(
    X: np.ndarray,
    *,
    loss: str = "squared_error",
    n_classes: int = 2,
    alpha: float = 0.0,
    l1_ratio: float = 0.0,
    fit_intercept: bool = True,
    n_iter: int = 500,
    tol: float = 1e-10,
    random_state: int = 0,
) -> float:
    """Smoothness constant L of the mean loss of a linear model, estimated by power iteration.

    λ_max(X̃ᵀX̃)/n (X̃ = [X, 1] with the intercept), times ¼ for binary log-loss, ½ for
    multinomial log-loss, 1 for squared error and huber, plus α(1 − l1_ratio) for the L2
    part of the penalty: L itself for squared error, the usual upper bound of L for huber
    and log-loss.

    λ_max is estimated by power iteration, whose iterates ‖X̃ᵀX̃v‖/n (v of unit norm)
    approach it from below: the value is not an upper bound but a slight underestimate of
    that formula, to a relative error of about tol / (1 − (λ₂/λ_max)²) (λ₂ the next
    eigenvalue) once successive iterates differ by less than ``tol`` relative, more if
    ``n_iter`` iterations run out first.
    """
    X = np.asarray(X, dtype=np.float64)
    n, d = X.shape
    rng = np.random.default_rng(random_state)
    v = rng.standard_normal(d + int(fit_intercept))
    v /= np.linalg.norm(v)
    lam = 0.0
    for _ in range(n_iter):
        Xv = X @ v[:d] + (v[d] if fit_intercept else 0.0)
        w = np.empty_like(v)
        w[:d] = X.T @ Xv
        if fit_intercept:
            w[d] = Xv.sum()
        new = float(np.linalg.norm(w)) / n
        v = w / np.linalg.norm(w)
        if abs(new - lam) <= tol * new:
            lam = new
            break
        lam = new
    factor = {"squared_error": 1.0, "huber": 1.0}.get(loss)
    if factor is None:
        factor = 0.25 if n_classes <= 2 else 0.5
    return factor * lam + alpha * (1.0 - l1_ratio)


OUTLIER_WINDOW = 9
"""Points of the running median that clears a range test's losses of single-batch outliers
(runs of up to four unusually easy or hard mini-batches) before they are smoothed."""

MIN_DESCENT = 0.05
"""The relative drop of the loss below its start that counts as a descent."""


@dataclass
class LRRangeResult:
    """Learning rates tried, raw and smoothed losses, and the suggestion.

    ``smoothed`` is the smoothed loss the suggestion is read from (a running median, then a
    zero-lag moving average); ``valley`` the
    learning rate at its minimum (the suggestion lies below it); ``stopped_at`` the last
    learning rate tried.
    """

    learning_rates: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray
    suggestion: float
    diverged: bool
    valley: float = float("nan")

    @property
    def stopped_at(self) -> float:
        return float(self.learning_rates[-1]) if len(self.learning_rates) else float("nan")

    @property
    def descended(self) -> bool:
        """Whether the loss just before the valley (the last tenth of the sweep's points up
        to the smoothed loss's minimum) is below the loss at the sweep's start (its first
        tenth, where the rate is too small to move anything) by at least ``MIN_DESCENT`` (5%)
        and by three standard errors of those two medians (mini-batch losses are noisy); if
        not, the suggestion reads a slope in noise and means little. The window ends at the
        valley: past it the loss blows up, and a window reaching there would hide the descent.
        Medians and their standard errors from the median absolute deviation, not means and
        variances: near the valley a few batches already blow up (losses of 1.5 among 0.01s
        at the end of a sweep that never stopped), and a mean's variance made an obvious
        descent look like noise."""
        raw = np.asarray(self.losses, dtype=np.float64)
        ok = np.isfinite(self.smoothed) & np.isfinite(raw)
        if ok.sum() < 4:
            return False
        k = max(2, int(ok.sum()) // 10)
        early = raw[ok][:k]
        centre = int(np.nanargmin(np.where(ok, self.smoothed, np.nan)))
        late = raw[max(0, centre - k + 1): centre + 1]
        late = late[np.isfinite(late)]
        (early_centre, early_se), (late_centre, late_se) = _median_se(early), _median_se(late)
        drop = early_centre - late_centre
        noise = float(np.hypot(early_se, late_se))
        return drop >= max(MIN_DESCENT * abs(early_centre), 3.0 * noise)


def _median_se(values: np.ndarray) -> tuple[float, float]:
    """The median of ``values`` and its standard error: 1.2533 σ / √n (the median of normal
    samples), σ estimated by 1.4826 × the median absolute deviation, which a few outliers do
    not move."""
    centre = float(np.median(values))
    sigma = 1.4826 * float(np.median(np.abs(values - centre)))
    return centre, 1.2533 * sigma / np.sqrt(values.size)


def lr_range_test(
    estimator,
    X: np.ndarray,
    y: np.ndarray,
    *,
    start_lr: float = 1e-7,
    end_lr: float = 10.0,
    num_steps: int = 100,
    beta: float = 0.98,
    diverge_factor: float = 4.0,
    suggestion_beta: float = 0.7,
    skip_start: int = 5,
) -> LRRangeResult:
    """Smith's LR range test: one step per learning rate on an exponential sweep.

    The learning rate grows geometrically from ``start_lr`` to ``end_lr`` over
    ``num_steps`` optimiser steps (mini-batches of the estimator's ``batch_size``, cycling
    over the data); the loss of each batch is smoothed with an exponential moving average
    (bias-corrected, β = 0.98, as fastai); the sweep stops once the smoothed loss exceeds
    ``diverge_factor`` × its minimum (or a loss is not finite).

    The suggestion is the learning rate at the steepest descent, against log(lr), of the
    loss smoothed without lag (on log(loss) when every loss is positive: a running median
    of ``OUTLIER_WINDOW`` (9) points, then a forward and backward EMA, β =
    ``suggestion_beta``), searched between the ``skip_start``-th point and the smoothed
    loss's minimum (the "valley"): the causal β = 0.98 average used for stopping lags dozens
    of steps behind, so its slope points past the valley or into the noise of the first
    steps. The median comes first because each point is one mini-batch: a single unusually
    easy batch past the descent would otherwise be the valley (the same batch for every
    optimiser, as the sweep's batch order is seeded), and a hard one among the first steps
    a false descent; the few points of the blow-up that stopped a diverged sweep are kept.
    The suggestion is capped at a quarter of the valley: instability in the
    stiffest direction shows in the loss only some steps after the step size passed 2/L.
    On least squares with plain SGD (full or mini-batch) this lands within [0.1/L, 2/L]
    unless the problem is badly conditioned (the loss is then dominated by flat directions
    that still improve beyond 2/L: compare with :func:`smoothness_constant`).

    ``estimator``: a ``GDRegressor`` or ``GDClassifier``, or a scikit-learn ``Pipeline`` whose
    last step is one: its other steps are fitted on ``(X, y)`` and transform ``X``, as the
    pipeline's ``fit`` does, and the sweep trains the last step on the result (as
    ``gdlab lr-find`` sweeps the model on the preprocessed data). A
    ``TransformedTargetRegressor`` of either (a Pipeline's last step, or ``estimator``) is
    swept on the target its transformer, fitted on ``y``, gives its regressor. None is
    modified.
    """
    from sklearn.base import clone

    from gdlab.core.loop import LoopState, Problem
    from gdlab.core.models.losses import make_loss
    from gdlab.core.optim import apply_updates
    from gdlab.core.schedules import constant

    swept, X, y = _swept_estimator(estimator, X, y)
    est = clone(swept)
    est._validate_hyperparameters()
    Xv, yv, sw = est._validate_X_y(X, y, None, reset=True)
    y_enc = est._prepare_targets(yv, fitting=True)
    dtype = Xv.dtype
    model = est._build_model()
    n_out = est._n_outputs()
    loss_fn = make_loss(est._loss_name(), n_out, est.epsilon)
    opt = est._build_optimizer()
    rng = est._rng()
    params = model.init_params(Xv.shape[1], n_out, rng, dtype)
    state = LoopState(params, opt.init(params), constant(start_lr), rng)
    problem = Problem(model, loss_fn, Xv, y_enc, sw)
    n = Xv.shape[0]
    bs = n if est.batch_size is None else min(est.batch_size, n)
    lrs = start_lr * (end_lr / start_lr) ** (np.arange(num_steps) / max(num_steps - 1, 1))
    order = rng.permutation(n)
    grads = [np.empty_like(p) for p in params]
    losses, smoothed = [], []
    avg, best, diverged = 0.0, np.inf, False
    pos = 0
    for k, lr in enumerate(lrs):
        if pos + bs > n:
            order, pos = rng.permutation(n), 0
        idx = order[pos : pos + bs]
        pos += bs
        w = sw[idx] / sw[idx].sum()
        with np.errstate(over="ignore", invalid="ignore"):
            value = objective(
                problem.model, loss_fn, state.params, Xv[idx], y_enc[idx], w,
                float(est.alpha), float(est.l1_ratio), grads,
            )
        if not np.isfinite(value):
            diverged = True
            break
        avg = beta * avg + (1 - beta) * value
        s = avg / (1 - beta ** (k + 1))
        losses.append(value)
        smoothed.append(s)
        best = min(best, s)
        if s > diverge_factor * best:
            diverged = True
            break
        updates, state.opt_state = opt.update(grads, state.opt_state, state.params, float(lr))
        apply_updates(state.params, updates)
    raw = np.asarray(losses, dtype=np.float64)
    lr_used = lrs[: len(raw)]
    suggestion, valley, sm = _steepest_descent(lr_used, raw, suggestion_beta, skip_start,
                                               diverged=diverged)
    if not len(raw):
        suggestion = valley = start_lr
    return LRRangeResult(lr_used, raw, sm, suggestion, diverged, valley)


_TRAINING_PARTS = ("_validate_hyperparameters", "_validate_X_y", "_build_model",
                   "_build_optimizer")
"""What :func:`lr_range_test` builds its sweep from: the methods of gdlab's estimators."""


def _swept_estimator(estimator, X, y):
    """The gdlab estimator the sweep trains, the ``X`` and the ``y`` it trains on: ``estimator``
    on ``(X, y)``, or a Pipeline's last step on ``X`` transformed by clones of its other steps
    fitted on ``(X, y)``. A ``TransformedTargetRegressor`` (the Pipeline's last step or
    ``estimator`` itself) is swept as its own ``fit`` trains it: its regressor on ``y``
    transformed by a clone of its transformer fitted on ``y``. Anything else is a TypeError
    saying what is accepted."""
    from sklearn.base import clone
    from sklearn.pipeline import Pipeline

    def trains_here(step) -> bool:
        return all(callable(getattr(step, part, None)) for part in _TRAINING_PARTS)

    if isinstance(estimator, Pipeline):
        last, y = _unwrapped_target(estimator.steps[-1][1], y)
        if trains_here(last):
            if len(estimator.steps) > 1:
                X = clone(estimator[:-1]).fit_transform(X, y)
            return last, X, y
        got = f"a Pipeline whose last step is {type(estimator.steps[-1][1]).__name__}"
    else:
        inner, y = _unwrapped_target(estimator, y)
        if isinstance(inner, Pipeline):  # TransformedTargetRegressor(regressor=a Pipeline)
            return _swept_estimator(inner, X, y)
        if trains_here(inner):
            return inner, X, y
        got = type(estimator).__name__
    raise TypeError(
        "estimator: lr_range_test sweeps a gdlab estimator (GDRegressor or GDClassifier), a "
        "scikit-learn Pipeline whose last step is one, or a TransformedTargetRegressor of "
        f"either; got {got}"
    )


def _unwrapped_target(step, y):
    """``(step's regressor, y transformed by a clone of its transformer fitted on y)`` for a
    ``TransformedTargetRegressor`` (as its ``fit``, and ``gdlab.experiment.target.
    split_target``, do); else ``(step, y)``."""
    from sklearn.base import clone
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.preprocessing import FunctionTransformer

    if not isinstance(step, TransformedTargetRegressor):
        return step, y
    transformer = (clone(step.transformer) if step.transformer is not None
                   else FunctionTransformer(step.func, step.inverse_func, validate=True))
    y_inner = transformer.fit_transform(np.asarray(y, dtype=np.float64).reshape(-1, 1))
    return step.regressor, np.asarray(y_inner).reshape(-1)


def _running_median(values: np.ndarray, window: int, *, hold_end: bool = False) -> np.ndarray:
    """Median of each point's ``window`` neighbours, centred: a run of fewer than
    ``window // 2 + 1`` outliers leaves no trace, and a monotone stretch is left as it is.

    The window is cut short at the start (a hard first batch is an outlier like any other),
    and at the end unless ``hold_end``: then the last value continues past the end, so that
    the few points of a blow-up that stopped the sweep are kept, not taken for outliers."""
    half = window // 2
    if half < 1 or len(values) < 3:
        return values
    end = np.full(half, values[-1] if hold_end else np.nan)
    padded = np.concatenate([np.full(half, np.nan), values, end])
    return np.nanmedian(np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1), axis=1)


def _zero_lag_ema(values: np.ndarray, beta: float) -> np.ndarray:
    """Mean of a bias-corrected EMA run forwards and one run backwards (no phase lag)."""

    def ema(v: np.ndarray) -> np.ndarray:
        out, avg = np.empty_like(v), 0.0
        for i, value in enumerate(v):
            avg = beta * avg + (1 - beta) * value
            out[i] = avg / (1 - beta ** (i + 1))
        return out

    return 0.5 * (ema(values) + ema(values[::-1])[::-1])


def _steepest_descent(
    lrs: np.ndarray,
    losses: np.ndarray,
    beta: float,
    skip_start: int,
    valley_divisor: float = 4.0,
    *,
    diverged: bool = False,
) -> tuple[float, float, np.ndarray]:
    """(suggestion, valley, smoothed losses) of a range test's raw losses; ``diverged``: the
    sweep stopped on its blow-up, which the outlier filter keeps."""
    m = len(losses)
    if m == 0:
        return float("nan"), float("nan"), losses
    log_scale = bool(np.all(losses > 0))
    curve = np.log(losses) if log_scale else losses
    robust = _running_median(curve, OUTLIER_WINDOW, hold_end=diverged)
    smooth = _zero_lag_ema(robust, beta) if m > 1 else curve
    end = int(np.argmin(smooth))
    valley = float(lrs[end])
    if end < 2:
        suggestion = float(lrs[0])
    else:
        slopes = np.gradient(smooth[: end + 1], np.log(lrs[: end + 1]))
        start = min(skip_start, end // 2)
        steepest = float(lrs[start + int(np.argmin(slopes[start:]))])
        suggestion = min(steepest, valley / valley_divisor)
    return suggestion, valley, np.exp(smooth) if log_scale else smooth
