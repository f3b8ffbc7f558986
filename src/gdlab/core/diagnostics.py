"""Diagnostics: finite-difference gradient check, smoothness constant, LR range test.

* :func:`check_grad` compares a model's analytic gradient with central differences
  (torch.autograd.gradcheck's tolerances: atol 1e-5, rtol 1e-3, ε = 1e-6 in float64).
* :func:`smoothness_constant` estimates L = λ_max(X̃ᵀX̃)/n (X̃ with an intercept column)
  by power iteration, scaled for the loss (½ logistic bound ¼, softmax ½), plus α.
* :func:`lr_range_test` is Smith's (2015) exponential sweep as fastai's ``lr_find``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gdlab.core.models.base import objective


@dataclass
class GradCheck:
    """Result of :func:`check_grad`."""

    ok: bool
    max_abs_error: float
    max_rel_error: float
    analytic: list[np.ndarray]
    numeric: list[np.ndarray]


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
    or a fitted/unfitted GDRegressor/GDClassifier. ``y`` holds targets (regression) or
    class indices 0..K-1 (classification); ``loss`` defaults to squared_error for float
    targets and log_loss for integer targets.
    """
    from gdlab.core.models.losses import make_loss

    est_model = getattr(model, "model_", None)
    if est_model is None and hasattr(model, "_build_model"):
        est_model = model._build_model()
    if est_model is not None:
        if params is None and hasattr(model, "params_"):
            params = model.params_
        model = est_model
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    classification = np.issubdtype(y.dtype, np.integer)
    if loss is None:
        loss = "log_loss" if classification else "squared_error"
    n_outputs = 1
    if loss == "log_loss":
        k = int(y.max()) + 1
        n_outputs = 1 if k <= 2 else k
    loss_fn = make_loss(loss, n_outputs)
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
    abs_err = max(float(np.max(np.abs(a - n))) for a, n in zip(grads, numeric, strict=True))
    rel_err = max(
        float(np.max(np.abs(a - n) / np.maximum(np.abs(n), 1e-12)))
        for a, n in zip(grads, numeric, strict=True)
    )
    ok = all(
        np.allclose(a, n, atol=atol, rtol=rtol) for a, n in zip(grads, numeric, strict=True)
    )
    return GradCheck(ok, abs_err, rel_err, grads, numeric)


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
    """Upper bound of the smoothness constant L of the mean loss of a linear model.

    λ_max(X̃ᵀX̃)/n by power iteration (X̃ = [X, 1] with the intercept), times ¼ for
    binary log-loss, ½ for multinomial log-loss, 1 for squared error and huber,
    plus α(1 − l1_ratio) for the L2 part of the penalty.
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


@dataclass
class LRRangeResult:
    """Learning rates tried, raw and smoothed losses, and the suggestion."""

    learning_rates: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray
    suggestion: float
    diverged: bool


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
) -> LRRangeResult:
    """Smith's LR range test: one step per learning rate on an exponential sweep.

    The learning rate grows geometrically from ``start_lr`` to ``end_lr`` over
    ``num_steps`` optimiser steps (mini-batches of the estimator's ``batch_size``, cycling
    over the data); the loss of each batch is smoothed with an exponential moving average
    (bias-corrected, β = 0.98, as fastai); the sweep stops once the smoothed loss exceeds
    ``diverge_factor`` × its minimum. The suggestion is the learning rate at the steepest
    descent of the smoothed loss against log(lr).
    """
    from sklearn.base import clone

    from gdlab.core.loop import LoopState, Problem
    from gdlab.core.models.losses import make_loss
    from gdlab.core.optim import apply_updates
    from gdlab.core.schedules import constant

    est = clone(estimator)
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
    m = len(smoothed)
    lr_used = lrs[:m]
    sm = np.asarray(smoothed)
    if m >= 3:
        slopes = np.gradient(sm, np.log(lr_used))
        # ignore the last few points where the loss is already blowing up
        suggestion = float(lr_used[int(np.argmin(slopes))])
    else:
        suggestion = float(lr_used[0]) if m else start_lr
    return LRRangeResult(lr_used, np.asarray(losses), sm, suggestion, diverged)
