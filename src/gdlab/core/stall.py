"""Whether a fit the ``tol`` rule stopped had stalled rather than converged.

The ``tol`` rule (scikit-learn's) counts an epoch as no improvement when the training loss
fell by less than ``tol``, an absolute amount. Steps too small to change the loss by that
much (features or a target far below unit scale, a tiny learning rate) end a fit after
``n_iter_no_change + 1`` epochs with the model barely trained: measured, a classifier on
features of standard deviation 0.01 stopped at epoch 13 with accuracy 0.508
(LogisticRegression: 0.99), sgd at ``learning_rate=1e-12`` at epoch 11 with R² -0.01.

:func:`probe_stall` tells the two apart after the fact, from where the fit stopped: it
searches along the gradient there (and, for a linear model, along the gradient with each
weight divided by its column's mean square, the diagonal of the curvature, which finds the
descent that features far below unit scale hide) for a lower training loss. A fit
*stalled* when such a step lowers the loss by more than ``tol`` and the fit itself covered
less than :data:`STALLED_PROGRESS` of the way from its start loss to that lower one. A
converged fit has nothing left to find along its gradient; so has one that stopped near
the optimum of data with no signal (pure noise), however little its loss fell.

Measured (``tol=1e-4``, default ``alpha=1e-4``; "covered": the share of the way from the
start loss to the probe's that the fit went): the stalls above, features of std 0.01
(classifier) and 0.001 (regressor), a target of std 0.063 with sgd at 0.01, sgd at 1e-12
(float64 and float32), adam at 1e-10 and an MLP at 1e-7 covered 0-21% with 15-22 000
``tol`` left. Silent: 80 fits of standardised make_regression / make_classification
(linear and MLP; adam, sgd, rmsprop; full batch and 32) and standardised breast-cancer,
iris and diabetes fits covered over 90% or had under 10 ``tol`` left, as did warm-start
refits and 39 of 40 pure-noise fits (n=200 and 20000, regression and classification, five
optimiser settings, full batch and 32); the 40th, a classifier (n=200) with sgd at 0.01,
covered 12% of 29 ``tol`` and ended with its full gradient 0.97 times the start's: it had
not converged, and is warned about. A classifier on features of std 0.001 is not: with
``alpha=1e-4`` the penalty's curvature outweighs the features' (10⁻⁶), so the objective is
near its optimum (7.8 ``tol`` left) although the accuracy is 0.51.

The probe costs a few forward passes over at most twice :data:`PROBE_ROWS` evenly spaced
training rows (the step found on one half, its loss measured on the other), and runs only
for a fit the ``tol`` rule stopped whose loss fell by less than half and did not rise
(:func:`may_have_stalled`): most fits pay nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gdlab.core.models.base import objective
from gdlab.core.sparse import issparse

STALLED_PROGRESS = 0.5
"""A fit stalled when it covered less than this share of the way from its start loss to the
lower loss the probe finds (the measured stalls: at most 0.21; converged fits: over 0.6)."""
FOUND_TOLS = 10
"""A fit stalled only when the probe lowers its loss by more than this many ``tol``: what
the ``tol`` rule asked of its ``n_iter_no_change`` (default 10) epochs together. Below it,
the measured pure-noise fits (n=20000, full batch: 3-3.4 ``tol`` left, their start near the
optimum) and a classifier whose L2 penalty outweighs its features' curvature (std 0.001,
``alpha=1e-4``: 7.8 ``tol``) pass."""
PROBE_ROWS = 10_000
"""The most training rows (evenly spaced) the probe evaluates the loss on."""
PROBE_CELLS = 4_000_000
"""The most values (rows × features) of the probe's copy of the rows."""
STEPS = tuple(10.0 ** k for k in range(-12, 13))
"""The step sizes the line search may try, from 1 outwards by factors of 10."""


@dataclass(frozen=True)
class Stall:
    """What :func:`probe_stall` measured: the training loss at the fit's start and end
    parameters, and the lowest one step from the end reaches."""

    start_loss: float
    end_loss: float
    probe_loss: float

    def stalled(self, tol: float) -> bool:
        """The fit stopped short: the probe lowers the loss by more than :data:`FOUND_TOLS`
        times ``tol``, and the fit covered less than :data:`STALLED_PROGRESS` of the way
        there from its start (a fit that ended above its start did not stall: a mini-batch
        fit in the noise around the optimum of data with no signal)."""
        found = self.end_loss - self.probe_loss
        covered = self.start_loss - self.end_loss
        return (found > FOUND_TOLS * tol and covered >= 0
                and covered < STALLED_PROGRESS * (self.start_loss - self.probe_loss))


def may_have_stalled(losses, n_iter_no_change: int) -> bool:
    """The probe's cheap pre-check on a training-loss curve the ``tol`` rule ended: it
    ended above half its first value (a fit whose loss halved moved) and no higher than
    ``n_iter_no_change`` epochs before (a stalled fit's loss still falls, if slowly; one
    that rose was diverging, e.g. sgd just above 2/L: not a stall)."""
    if not len(losses):
        return False
    before = losses[max(0, len(losses) - 1 - n_iter_no_change)]
    return 0.5 * losses[0] < losses[-1] <= before


def _probe_samples(problem) -> tuple[tuple, tuple]:
    """``(search, check)``: the rows the line search runs on and the rows its result is
    measured on, each :func:`_probe_rows`. Every training row when they fit in
    :data:`PROBE_ROWS` / :data:`PROBE_CELLS` (both the same: the training loss itself);
    else two disjoint sets of evenly spaced rows of that size at most. A search on a sample
    of few rows per feature (2 000 rows of 2 000 features) fits that sample's noise: it found
    a loss 0.47 below a converged fit's 0.64 that no other rows shared, and the fit was
    called stalled; the loss the search's step gives on rows it never saw is not fooled."""
    n, d = problem.n_rows, problem.X.shape[1]
    m = max(1, min(PROBE_ROWS, PROBE_CELLS // max(d, 1)))
    if n <= m:
        rows = _probe_rows(problem, np.arange(n))
        return rows, rows
    k = max(1, min(m, n // 2))
    pos = np.linspace(0, n - 1, 2 * k).astype(np.intp)
    return _probe_rows(problem, pos[0::2]), _probe_rows(problem, pos[1::2])


def _probe_rows(problem, pos: np.ndarray) -> tuple:
    """``(X, y, w)``: the training rows at positions ``pos`` (a view's standardised),
    weights summing to one."""
    idx = pos if problem.rows is None else problem.rows[pos]
    X = problem.gather(problem.X, idx) if problem.is_view or issparse(problem.X) else \
        problem.X[idx]
    w = np.asarray(problem.sample_weight[idx], dtype=np.float64)
    total = w.sum()
    w = w / total if total > 0 else np.full(len(idx), 1.0 / len(idx))
    return X, problem.y[idx], w.astype(X.dtype)


def _column_mean_square(X) -> np.ndarray:
    if issparse(X):
        return np.asarray(X.multiply(X).mean(axis=0), dtype=np.float64).ravel()
    return np.mean(np.square(X, dtype=np.float64), axis=0)


def _line_search(value, params, direction, start: float) -> tuple[float, float | None]:
    """``(lowest, t)``: the lowest ``value(params - t·direction)`` over the step sizes
    :data:`STEPS` (going from 1 up while it keeps falling, else down until it falls below
    ``start``) and its step; ``(start, None)`` when no step is lower."""
    def at(t):
        with np.errstate(all="ignore"):
            v = value(_stepped(params, direction, t))
        return v if math.isfinite(v) else math.inf

    best, best_t = start, None
    first = at(1.0)
    if first < best:
        best, best_t = first, 1.0
    ts = ([t for t in STEPS if t > 1.0] if best < start else
          [t for t in reversed(STEPS) if t < 1.0])
    for t in ts:
        v = at(t)
        if v < best:
            best, best_t = v, t
        elif best < start:
            break  # past the best step along this direction
    return best, best_t


def _stepped(params, direction, t: float) -> list:
    return [p - t * d for p, d in zip(params, direction, strict=True)]


def probe_stall(problem, start_params, end_params, alpha: float, l1_ratio: float,
                linear: bool, earlier_start: float | None = None) -> Stall:
    """The training loss (with the penalty) at ``start_params`` and ``end_params`` and the
    lowest a line search from ``end_params`` finds along the gradient, and for a ``linear``
    model (parameters ``[W, b]``) along the gradient with each weight divided by its
    column's mean square plus the L2 penalty's ``alpha·(1 - l1_ratio)``; on at most
    :data:`PROBE_ROWS` rows (see the module docstring; the step is found on one sample of
    rows and its loss measured on another, :func:`_probe_samples`). ``earlier_start``: a
    warm-started fit's first fit's first loss, the start it is measured from when larger (a
    refit near the optimum barely moves, having little left to do)."""
    search, check = _probe_samples(problem)
    model, loss = problem.model, problem.loss

    def on(rows):
        X, y, w = rows

        def value(params, grads=None):
            return float(objective(model, loss, params, X, y, w, alpha, l1_ratio, grads))
        return value

    value = on(search)
    grads = [np.zeros_like(p) for p in end_params]
    end = value(end_params, grads)
    directions = [grads]
    if linear:
        ms = _column_mean_square(search[0])
        ms = ms + alpha * (1.0 - l1_ratio)
        ms = np.where(ms > 0, ms, 1.0).astype(grads[0].dtype)
        directions.append([grads[0] / ms[:, None], grads[1]])
    found = [(*_line_search(value, end_params, d, end), d) for d in directions]
    lowest, t, direction = min(found, key=lambda f: f[0])
    if check is not search:  # the search's step, on rows it never saw
        value = on(check)
        end = value(end_params)
        lowest = end if t is None else min(end, value(_stepped(end_params, direction, t)))
    start = value(start_params)
    if earlier_start is not None and math.isfinite(earlier_start):
        start = max(start, earlier_start)
    return Stall(start, end, lowest)
