"""The training loop: batching, stopping rules, divergence guard, callbacks, history.

One epoch is one pass over the training rows, in batches of ``batch_size`` (``None``:
the whole set, one step per epoch). Rows are visited in a fresh permutation each epoch
when ``shuffle`` is set (:func:`gdlab.core.sampling.epoch_order`, the same on every engine
path); a mini-batch is gathered with ``np.take(..., out=buffer)`` into one reusable buffer,
so the data are never copied per epoch. The last partial batch is
used, not dropped.

Sample weights: the objective is the weighted mean loss Σ wᵢ ℓᵢ / Σ wᵢ (plus the penalty).
A mini-batch B steps on Σ_{i∈B} wᵢ ∇ℓᵢ / (|B|·w̄), w̄ = Σ w / n the mean weight of the n
training rows: an unbiased estimate of the objective's gradient, so a row's weight counts
against the other batches' rows too (a batch normalised by its own weight total would drop
every weight at ``batch_size=1``). With unit weights it is the batch's mean gradient; with
full batch, the exact gradient. A batch of zero total weight still steps (on the penalty
alone). Integer weights k equal rows repeated k times exactly for full batch, and in
expectation for mini-batches.

``partial_fit`` (``LoopConfig.incremental``): w̄ is the running mean weight of every row
``partial_fit`` has trained on since the training state was built, this call's rows included
(``LoopState.seen_weight / seen_rows``; ``fit`` starts a new state), not the call's own mean:
otherwise a call's weights would only count relative to each other within the call, and a
one-row call, or a chunk whose rows all weigh 100, would train exactly as unweighted. The
full batch of a call is its one batch (|B| = its rows). The loss recorded for a call stays
its rows' weighted mean (Σ wᵢ ℓᵢ / Σ wᵢ over the call, plus the penalty).

Row views: a :class:`Problem` may train on a subset of the rows of ``X`` (``rows``) and see
them standardised on the fly (``center``/``scale``), so that cross-validation folds share
one ``X`` without copying their rows (see :class:`Problem`).

After every epoch the loop records the mean training loss (the sample-weighted mean of the
epoch's batch losses; it includes the penalty), the validation loss (data loss, no penalty)
when a validation set is given, the learning rate used, the mean gradient norm (before
clipping) and the elapsed time, steps the schedule, calls the callbacks and applies the
stopping rules:

* ``tol`` / ``n_iter_no_change`` (scikit-learn's rule): the monitored loss (validation
  loss with ``early_stopping``, else training loss) counts as no improvement when it is
  above ``best − tol``; training stops after ``n_iter_no_change`` such epochs in a row.
  ``tol=None`` disables the rule. With ``early_stopping`` the best weights are restored.
* The schedule steps on the validation loss when there is a validation set (what
  ``plateau`` watches), else on the training loss. ``LoopConfig.monitor_eval=False``: the
  validation set is only scored and recorded, never monitored (the schedule and the ``tol``
  rule read the training loss), for held-out rows that are scored afterwards (a
  cross-validation fold's: watching them would tune the fit to the rows it is judged on).
* Divergence guard: a non-finite loss or parameter, or a *runaway* training loss (risen
  three epochs in a row to above both :data:`RUNAWAY` (10⁶) times the lowest training loss
  so far and the first epoch's; the validation loss is not compared: it may be on another
  scale), or an *exploded* loss (below) stops at once with :class:`DivergenceError`; the
  parameters are restored to the best finite ones:
  those the lowest training loss was measured at (an epoch's start), or with
  ``early_stopping`` those after the epoch of the lowest validation loss; the diverged
  epoch's start when there is no best yet. A ``warm_start`` fit keeps the first fit's first
  loss as the scale of "exploding". The ``tol`` rule does not end a fit as converged on a
  training loss above :data:`STALLED_HIGH` (10) times the lowest and above the first: a
  divergence too slow for the runaway rule, or the middle of a spike (``tol=None`` lets a
  spike run on), raises :class:`DivergenceError` with the lowest-loss parameters restored.
  ``partial_fit`` (``LoopConfig.incremental``): every call brings other rows, so losses of
  different calls are not compared (a drifting stream's rising loss is no divergence): the
  "exploding" rule looks only within the call, which for ``partial_fit``'s one epoch per
  call means it never fires; only a non-finite loss or parameter stops the call, restoring
  the parameters it started from.
  When the loss was finite but the gradient (its norm) or the updated parameters were not,
  the error says that this overflowed and to scale the features (``DivergenceError.overflow``).
* Exploded loss (``fit`` only): an epoch's training loss above :data:`EXPLODED` (10⁴) times
  the *start loss*, the training loss (with the penalty) at the parameters the fit started
  from, counts as exploded; a fit that stops (the ``tol`` rule, or its last epoch) on one
  raises :class:`DivergenceError`. This catches the runs the rules above miss: with
  bounded steps (adam, rmsprop, adagrad, ``clip_norm``) an ill-scaled fit may blow the
  loss up to 1e35 inside its first mini-batch epoch and stay there, finite, never rising
  three epochs in a row, until the ``tol`` rule stops it as if it had converged; the first
  epoch's loss cannot be the scale then, as a mini-batch epoch's loss is the mean over
  batches measured while training (already exploded).
  The start loss is that epoch's loss for full batch (measured before the step); for
  mini-batches one forward pass before the first epoch over the training rows, or over
  :data:`START_ROWS` of them evenly spaced when there are more (no noisy single batch sets
  the scale, and the pass costs little next to an epoch whatever the data's size). Why 10⁴
  and only where a fit stops: a converging fit ends at or below its start loss, while an
  exploded one ends 10⁶–10³⁵ above it; but mid-fit, rmsprop/adagrad can recover from a
  spike of 10⁵–10³⁷ on unscaled features (their accumulator then damps the steps) and end
  at the optimum, and a classifier on raw features (scikit-learn's breast-cancer data,
  values up to ~4 000) may spend its first epochs 10⁴ above log 2 while its loss falls, so
  no epoch mid-fit decides.
  A ``warm_start`` fit's start loss is the larger of its own and the first fit's (a
  converged model's loss is tiny, and a fresh optimiser's first steps raise it). A start
  loss of zero (a perfect fit already) disables the rule. scikit-learn's SGD only stops on
  a non-finite value ("Floating-point under-/overflow occurred"); torch has no guard.
* Why a runaway needs 10⁶ × the lowest loss (it was 10×): a spike that recovers rises
  several epochs in a row by far more than 10×. rmsprop (and adam) near the optimum
  shrink their accumulators as the gradient fades, until the effective step passes 2/L:
  the loss then grows geometrically for up to ~20 epochs, 10²–10⁵ × its lowest, before
  the grown gradient refills the accumulator and the fit returns to the optimum (torch's
  RMSprop and Adam trace the same curves). Measured, with the rule off, on scikit-learn's
  breast-cancer (raw and standardised) and diabetes data and a synthetic regression, 8
  optimisers × learning rates 10⁻³–10, full and mini-batch, 300 epochs: in the 374 fits
  that ended without error, a loss risen three epochs in a row (and above the first)
  reached up to 5.5 × 10⁵ × the lowest before it (nadam, learning rate 10, batch 32;
  standardised diabetes with rmsprop at learning rate 10: 9.4 × 10⁴, then the
  least-squares optimum). The old 10× stopped 57 of those fits, 10⁴× 11, 10⁵× 4, 10⁶×
  none (a margin of ~2, not a proof: a bounded step's spike grows with the learning
  rate). A genuine divergence of plain gradient descent (a step above 2/L, or momentum)
  grows by the same factor g > 1 every epoch without end, so it passes 10⁶ × its lowest
  ln(10⁶)/ln g epochs after its lowest instead of ln 10/ln g: every run of the survey
  that overflowed was still stopped at epoch 4-5 (before: 4), and a step of 2.5/L (g ≈
  2.25) at epoch 25 instead of 10, some 850 epochs before overflowing. Bounded steps
  (adam, rmsprop, adagrad, ``clip_norm``: a step moves a parameter by at most a multiple
  of the learning rate) cannot grow the loss geometrically without end; what they blow up
  is left to the exploded-loss rule. ``partial_fit`` is unchanged: one epoch per call, so
  the rule never fires there.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from gdlab.core.fast import FastOptState, run_fast_epoch
from gdlab.core.history import pack_history, unpack_history
from gdlab.core.models.base import objective
from gdlab.core.models.penalty import add_penalty
from gdlab.core.optim.base import GradientTransformation, apply_updates, global_norm
from gdlab.core.sampling import epoch_order
from gdlab.core.sparse import issparse

HISTORY_KEYS = ("loss", "val_loss", "learning_rate", "grad_norm", "time")

EXPLODED = 1e4
"""An epoch's training loss above this many times the start loss counts as exploded (see
the module docstring's divergence guard)."""
START_ROWS = 10_000
"""The most training rows (evenly spaced) a mini-batch fit's start loss is measured on."""
RUNAWAY = 1e6
"""A training loss that has risen three epochs in a row to above this many times the lowest
so far (and above the first epoch's) stops the fit mid-way (see the module docstring's
divergence guard for why 10⁶, measured)."""
STALLED_HIGH = 10.0
"""The ``tol`` rule does not end a fit as converged on a training loss above this many times
the lowest so far (and above the first epoch's): that fit diverged (:class:`DivergenceError`),
although no rule stopped it mid-way; ``tol=None`` lets a spike that recovers run on."""


class DivergenceError(ValueError):
    """Training diverged: the loss became non-finite or exploded. ``epoch`` counts from 1,
    as the progress lines do (``history_`` and MLflow steps count from 0).

    ``overflow``: what overflowed while the loss was still finite, ``"gradient"`` (its norm),
    ``"parameters"`` (the update) or ``"validation"`` (the loss on the validation rows, with
    training finite: an outlier there, not a divergence), else None. A gradient that
    overflows at a finite loss is the mark of features too large for floating point
    (x ~ 1e300 gives a finite loss at zero weights but an overflowing ∂ℓ/∂W = r·x): the
    message says so and to scale the features first, instead of blaming the learning rate.
    ``"update"``: the plug-in optimiser ``optimizer`` (its import path) returned non-finite
    updates for finite gradients, at update ``step`` of the epoch (None: not known).

    ``advice``: the message's last sentences, what to try, from a caller that knows the
    data (the estimators name unscaled features, a target far from unit scale or the
    learning rate, :mod:`gdlab.estimators.advice`); None: the engine's own, which cannot
    tell."""

    def __init__(self, epoch: int, learning_rate: float, loss: float,
                 overflow: str | None = None, optimizer: str | None = None,
                 step: int | None = None, advice: str | None = None):
        self.epoch, self.learning_rate, self.loss = epoch, learning_rate, loss
        self.overflow, self.optimizer, self.step = overflow, optimizer, step
        smaller = f"e.g. {learning_rate / 10:.3g}"
        if overflow == "update":
            self.advice = (
                "Check its update for a division by zero, a log or sqrt of a negative "
                "number or an overflow; if the learning rate scales its step, try a smaller "
                f"one ({smaller})."
            )
            where = f"step {step} of epoch {epoch}" if step is not None else f"epoch {epoch}"
            head = (f"Training diverged: optimizer {optimizer!r} returned non-finite updates "
                    f"for finite gradients ({where}; loss={loss:.4g}, "
                    f"learning_rate={learning_rate:.4g}).")
        elif overflow is None:
            self.advice = (
                f"Try a smaller learning rate ({smaller}), gradient clipping "
                "(clip_norm), or scale the features (standardize)."
            )
            head = (f"Training diverged at epoch {epoch} (loss={loss:.4g}) with "
                    f"learning_rate={learning_rate:.4g}.")
        elif overflow == "validation":
            self.advice = (
                "A validation row has values far beyond the training rows' (an outlier: "
                "scaling with the training rows' statistics leaves it huge): look for "
                "extreme values in those rows, or clip or transform the feature (e.g. its "
                "logarithm); the learning rate is not the cause."
            )
            head = (f"Training stopped at epoch {epoch}: the loss on the validation rows "
                    f"(eval_set, the early-stopping split or a fold's held-out rows) is not "
                    f"finite (floating-point overflow) while the training loss was finite "
                    f"(loss={loss:.4g}, learning_rate={learning_rate:.4g}).")
        elif overflow == "gradient":
            self.advice = (
                "Scale the features (standardize): values this large overflow the gradient; "
                f"if they are scaled already, try a smaller learning rate ({smaller})."
            )
            head = (f"Training diverged at epoch {epoch}: the gradient overflowed "
                    f"(floating-point overflow: its norm is not finite) while the loss was "
                    f"finite (loss={loss:.4g}), with learning_rate={learning_rate:.4g}.")
        else:
            self.advice = (
                f"Try a smaller learning rate ({smaller}) or scale the features "
                "(standardize): the step learning_rate × gradient is too large for "
                "floating point."
            )
            head = (f"Training diverged at epoch {epoch}: the parameter update overflowed "
                    f"(floating-point overflow: the parameters are not finite) while the "
                    f"loss and the gradient were finite (loss={loss:.4g}), with "
                    f"learning_rate={learning_rate:.4g}.")
        if advice is not None:
            self.advice = advice
        # self.advice: the message's last sentence, what to try (a caller that knows more,
        # gdlab.experiment.faults, may replace it)
        super().__init__(f"{head} {self.advice}")

    def __reduce__(self):
        """Pickle by constructor arguments, so the error crosses process boundaries."""
        return (type(self), (self.epoch, self.learning_rate, self.loss, self.overflow,
                             self.optimizer, self.step, self.advice))


@dataclass
class LoopConfig:
    """Static settings of a training run."""

    batch_size: int | None = None
    shuffle: bool = True
    tol: float | None = 1e-4
    n_iter_no_change: int = 10
    early_stopping: bool = False
    alpha: float = 0.0
    l1_ratio: float = 0.0
    callbacks: Sequence[Callable[[dict], None]] = ()
    verbose: int = 0
    incremental: bool = False
    """A ``partial_fit`` call: its rows differ from the other calls', so the divergence
    guard compares losses only within the call (one epoch: only a non-finite loss or
    parameter counts) and restores the call's starting parameters."""
    monitor_eval: bool = True
    """The validation set steers the fit: ``plateau`` (any schedule's ``step``) reads its loss,
    and so does ``early_stopping``. False: its loss is only recorded (``val_loss``); the
    schedule and the ``tol`` rule monitor the training loss, as without a validation set."""
    optimizer_plugin: str | None = None
    """The plug-in optimiser's import path (None: a built-in): parameters made non-finite by
    a step from finite gradients are then blamed on its update (``DivergenceError``'s
    ``"update"``), not on the learning rate."""


@dataclass
class LoopState:
    """Everything that carries over between epochs (and between ``partial_fit`` calls)."""

    params: list[np.ndarray]
    opt_state: object
    schedule: object
    rng: np.random.Generator
    epoch: int = 0
    best_loss: float = math.inf
    lowest_loss: float = math.inf  # lowest training loss, for the divergence guard
    first_loss: float | None = None
    start_loss: float | None = None
    """The training loss at the parameters the fit started from (a ``warm_start`` fit: the
    larger of its own and the first fit's), the scale of an exploded loss; None: not
    measured yet (or not usable: non-finite, zero)."""
    exploded: bool = False  # the last epoch's loss > EXPLODED × start_loss
    no_improvement_count: int = 0
    rising: int = 0
    best_params: list[np.ndarray] | None = None
    best_epoch: int = 0
    """The epoch (from 1, as ``epoch`` counts) whose monitored loss is ``best_loss``; 0: none
    yet. With ``early_stopping`` its weights are ``best_params``."""
    history: dict[str, list] = field(default_factory=lambda: {k: [] for k in HISTORY_KEYS})
    elapsed: float = 0.0
    seen_weight: float = 0.0
    """Summed sample weight of the rows ``partial_fit`` calls have trained on (a call counts
    once it has run an epoch); with ``seen_rows``, their running mean weight w̄."""
    seen_rows: int = 0

    def __getstate__(self) -> dict:
        """Stored with the history as arrays (see :mod:`gdlab.core.history`)."""
        state = dict(self.__dict__)
        state["history"] = pack_history(self.history)
        return state

    def __setstate__(self, state: dict) -> None:
        state = dict(state)
        state["history"] = unpack_history(state.get("history") or {})
        self.__dict__.update(state)


VIEW_CHUNK_BYTES = 4 << 20
"""Bytes of rows gathered at a time when rows of a shared X are read in chunks (a view's
validation loss, its materialisation, a scaler fitted on rows, chunked scoring)."""


def chunk_rows(X) -> int:
    """Rows per chunk when rows of ``X`` are gathered: about :data:`VIEW_CHUNK_BYTES`
    (small enough that a chunk and its temporaries stay a few MB, large enough to amortise
    the per-chunk overhead), at least 64."""
    row_bytes = max(1, int(np.prod(X.shape[1:], dtype=np.int64)) * X.dtype.itemsize)
    return max(64, VIEW_CHUNK_BYTES // row_bytes)


@dataclass
class Problem:
    """Training data (and optional validation data) with sample weights.

    By default every row of ``X`` is a training row, ``y`` and ``sample_weight`` are aligned
    with them, and ``X_val``/``y_val``/``w_val`` (weights summing to one) are the validation
    set. A *row view* trains on rows of a larger, shared ``X`` without copying them:

    * ``rows``: int64 row numbers of ``X`` forming the training set, in that order.
      ``y`` and ``sample_weight`` are then indexed like ``X`` (full length, the same row
      numbers); entries of rows outside ``rows`` are never read.
    * ``val_rows``: row numbers of ``X_val`` (usually the same ``X``) forming the
      validation set; ``y_val`` and ``w_val`` are aligned with ``val_rows`` (its length).
    * ``center``/``scale`` (float64, one entry per feature): the model sees
      ``(x - center) * scale`` for every row, training and validation.

    The compiled path reads the view directly (full batch through the linear identity
    ``(x - c)·s·W = x·(s·W) − (c·s)·W``, mini-batches standardised while gathered); the
    generic numpy path gathers and scales each mini-batch, and materialises the standardised
    training rows once per fit for full batch (its fallback; see :meth:`dense`). The
    validation loss is computed in chunks (:func:`chunk_rows`).
    """

    model: object
    loss: object
    X: np.ndarray
    y: np.ndarray
    sample_weight: np.ndarray
    X_val: np.ndarray | None = None
    y_val: np.ndarray | None = None
    w_val: np.ndarray | None = None
    rows: np.ndarray | None = None
    val_rows: np.ndarray | None = None
    center: np.ndarray | None = None
    scale: np.ndarray | None = None
    cache: dict = field(default_factory=dict)

    @property
    def n_rows(self) -> int:
        """Number of training rows."""
        return self.X.shape[0] if self.rows is None else self.rows.shape[0]

    @property
    def is_view(self) -> bool:
        """True when the training rows are a subset of ``X`` or standardised on the fly."""
        return self.rows is not None or self.center is not None

    def gather(self, X: np.ndarray, idx, out: np.ndarray | None = None) -> np.ndarray:
        """Rows ``idx`` of ``X`` (row numbers or a slice), standardised when the problem
        has ``center``/``scale``; written into ``out`` (a buffer of at least that many rows)
        when given. A scipy.sparse ``X`` (CSR, never a view) gives its rows as CSR."""
        if issparse(X):
            return X[idx]
        if isinstance(idx, slice):
            block = X[idx]
            if out is not None:
                out = out[: block.shape[0]]
                np.copyto(out, block)
                block = out
            elif self.center is not None:
                block = block.copy()
        else:
            block = np.take(X, idx, axis=0, out=None if out is None else out[: len(idx)])
        if self.center is not None:
            block -= self.center
            block *= self.scale
        return block

    def dense(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(X, y, sample_weight)`` of the training rows as ordinary arrays. For a row view
        (the numpy path's full-batch fallback) the standardised rows are built once per fit
        (one copy of the training rows) and kept in ``cache``."""
        if not self.is_view:
            return self.X, self.y, self.sample_weight
        if "dense" not in self.cache:
            rows = slice(None) if self.rows is None else self.rows
            n, d = self.n_rows, self.X.shape[1]
            Xd = np.empty((n, d), dtype=self.X.dtype)
            step = chunk_rows(self.X)
            for start in range(0, n, step):
                stop = min(n, start + step)
                idx = (slice(start, stop) if self.rows is None else self.rows[start:stop])
                self.gather(self.X, idx, out=Xd[start:stop])
            self.cache["dense"] = (Xd, self.y[rows], self.sample_weight[rows])
        return self.cache["dense"]

    def validation_loss(self, params: list[np.ndarray]) -> float:
        """Data loss (no penalty) on the validation set; a view in chunks of rows."""
        if self.val_rows is None and self.center is None:
            return objective(self.model, self.loss, params, self.X_val, self.y_val, self.w_val)
        n = self.X_val.shape[0] if self.val_rows is None else self.val_rows.shape[0]
        step = min(n, chunk_rows(self.X_val))
        key = ("val_buffer", step)
        if key not in self.cache:
            self.cache[key] = np.empty((step, *self.X_val.shape[1:]), dtype=self.X_val.dtype)
        buf = self.cache[key]
        total = 0.0
        for start in range(0, n, step):
            stop = min(n, start + step)
            idx = slice(start, stop) if self.val_rows is None else self.val_rows[start:stop]
            Xc = self.gather(self.X_val, idx, out=buf)
            total += objective(
                self.model, self.loss, params, Xc, self.y_val[start:stop],
                self.w_val[start:stop],
            )
        return total


def _all_finite(params: Sequence[np.ndarray]) -> bool:
    return all(np.isfinite(p).all() for p in params)


def _start_loss(problem: Problem, params: list[np.ndarray], cfg: LoopConfig) -> float:
    """The training objective (weighted mean loss plus penalty) at ``params`` over the
    training rows, or :data:`START_ROWS` of them evenly spaced when there are more, read in
    chunks of rows (:func:`chunk_rows`; a view standardised while gathered): one forward
    pass, no gradient. NaN when the rows weigh nothing."""
    X, n = problem.X, problem.n_rows
    every = -(-n // START_ROWS)  # ceil: 1 up to START_ROWS rows (every row)
    picked = None
    if every > 1:
        picked = np.arange(0, n, every) if problem.rows is None else problem.rows[::every]
        total_w = float(problem.sample_weight[picked].sum(dtype=np.float64))
        n = len(picked)
    else:
        total_w = _training_weight(problem)
    if not total_w > 0:
        return math.nan
    step = min(n, chunk_rows(X)) if not issparse(X) else min(n, 4096)
    if picked is not None:  # gathered rows are copies: a small block at a time
        step = min(step, 2048)
    buf = None if issparse(X) or not problem.is_view else np.empty(
        (step, *X.shape[1:]), dtype=X.dtype)
    value = 0.0
    for start in range(0, n, step):
        stop = min(n, start + step)
        if picked is not None:
            idx = picked[start:stop]
        else:
            idx = slice(start, stop) if problem.rows is None else problem.rows[start:stop]
        Xc = problem.gather(X, idx, out=buf) if problem.is_view or issparse(X) else X[idx]
        w = problem.sample_weight[idx] / total_w
        value += objective(problem.model, problem.loss, params, Xc, problem.y[idx], w)
    mask = problem.model.penalized(params)
    return value + add_penalty(params, mask, cfg.alpha, cfg.l1_ratio)


def _note_start_loss(state: LoopState, measured: float) -> None:
    """Keep ``measured`` as the start loss (a warm start's: the larger of it and the carried
    one); a non-finite or zero value leaves the rule off (a non-finite loss stops anyway)."""
    if math.isfinite(measured):
        carried = state.start_loss
        scale = measured if carried is None else max(carried, measured)
        state.start_loss = scale if scale > 0 else None


def _unexploded(state: LoopState, fallback, fit_start):
    """What an exploded fit restores: ``fallback`` (the best parameters) unless the best
    loss is itself exploded, then the parameters the fit started from (when this call
    started it)."""
    if fit_start is not None and not state.best_loss <= EXPLODED * state.start_loss:
        return fit_start
    return fallback


def _overflow(loss: float, gnorm: float, params: Sequence[np.ndarray],
              val_loss: float | None = None) -> str | None:
    """What overflowed while the loss was finite (see :class:`DivergenceError`): "gradient",
    "parameters" (read before they are restored), "validation" (only the validation loss),
    or None (the loss itself)."""
    if not math.isfinite(loss):
        return None
    if not math.isfinite(gnorm):
        return "gradient"
    if not _all_finite(params):
        return "parameters"
    return "validation" if val_loss is not None and not math.isfinite(val_loss) else None


def _blamed_update(cfg: LoopConfig, overflow: str | None, params: Sequence[np.ndarray],
                   full_batch: bool, steps: int | None) -> int | None:
    """For a plug-in optimiser whose step made the parameters non-finite: the number of that
    step in the epoch (0: not known), else None. Every step ran on a finite gradient (the
    epoch stops before stepping on another) from finite parameters, so non-finite ones come
    from its update. Read on the failure path only: nothing is checked per step."""
    if cfg.optimizer_plugin is None or overflow not in (None, "parameters") or not steps:
        return None
    if _all_finite(params):  # the loss overflowed at finite parameters: a divergence
        return None
    # mini-batch: a non-finite loss stopped the epoch right after the step that broke them;
    # found at the epoch's end (a finite loss on non-finite parameters), the step is unknown
    return steps if full_batch or overflow is None else 0


def checked_learning_rate(schedule: object, epoch: int) -> float:
    """The learning rate ``schedule`` gives for epoch ``epoch`` (from 0); ValueError naming
    the schedule when it is not a finite number >= 0 (a plug-in schedule's: a negative rate
    would ascend)."""
    lr = float(schedule.learning_rate)
    if not (math.isfinite(lr) and lr >= 0.0):
        plugin = getattr(schedule, "plugin", None)
        which = f"the schedule {plugin!r}" if isinstance(plugin, str) else "the schedule"
        raise ValueError(
            f"{which} gave the learning rate {lr!r} for epoch {epoch + 1}; a learning "
            "rate must be a finite number >= 0"
        )
    return lr


def _training_ran_away(problem: Problem, state: LoopState, cfg: LoopConfig, loss: float,
                       lowest_loss: float) -> bool:
    """Whether the training itself was blowing up when only the validation loss overflowed:
    the epoch's loss above :data:`STALLED_HIGH` times the lowest before it (or the start
    loss), or the training loss at the updated parameters not finite or above that many
    times the epoch's (the validation loss is measured after the step, the full-batch
    training loss before it). Then the validation rows are no outliers: the fit diverged.
    Measured on the error path only (one forward pass over at most :data:`START_ROWS`
    rows)."""
    before = [v for v in (lowest_loss, state.start_loss) if v is not None and math.isfinite(v)]
    if before and loss > STALLED_HIGH * min(before):
        return True
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        after = _start_loss(problem, state.params, cfg)
    return not math.isfinite(after) or after > STALLED_HIGH * loss


def _copy(params: Sequence[np.ndarray]) -> list[np.ndarray]:
    return [p.copy() for p in params]


def _restore(state: LoopState, source: list[np.ndarray] | None) -> None:
    if source is not None:
        for p, s in zip(state.params, source, strict=True):
            np.copyto(p, s)


@dataclass(frozen=True)
class Weighting:
    """How a ``partial_fit`` call normalises its weights (None for ``fit``: by its own rows).

    ``mean_w``: w̄ of the step rule, the running mean weight of the rows seen so far;
    ``loss_scale``: ``mean_w`` over the call's own mean weight, so that the recorded loss is
    the call's weighted mean (its data part, normalised by ``mean_w``, times this)."""

    mean_w: float
    loss_scale: float


def _training_weight(problem) -> float:
    """Summed sample weight of the training rows."""
    sw = problem.sample_weight
    if problem.rows is not None:
        sw = sw[problem.rows]
    return float(sw.sum(dtype=np.float64))


def _weighting(problem, state) -> tuple[Weighting, float, int]:
    """The weighting of a ``partial_fit`` call, and the running totals once it has run."""
    n = problem.n_rows
    call_w = _training_weight(problem)
    seen_w, seen_n = state.seen_weight + call_w, state.seen_rows + n
    # no weight seen at all: every data gradient is zero whatever w̄ (penalty steps only)
    mean_w = seen_w / seen_n if seen_w > 0 else 1.0
    call_mean = call_w / n
    return Weighting(mean_w, mean_w / call_mean if call_mean > 0 else 1.0), seen_w, seen_n


def _split_objective(problem, params, X, y, w, cfg, grads) -> tuple[float, float]:
    """(data loss, penalty) of :func:`objective`, the same sums, kept apart."""
    data = objective(problem.model, problem.loss, params, X, y, w, 0.0, 0.0, grads)
    mask = problem.model.penalized(params)
    return data, add_penalty(params, mask, cfg.alpha, cfg.l1_ratio, grads)


def _full_batch_epoch(problem, state, opt, opt_state, cfg, lr, grads, weighting=None):
    X, y, sw = problem.dense()
    if weighting is None:
        w = sw / sw.sum()
        loss = objective(
            problem.model, problem.loss, state.params, X, y, w, cfg.alpha, cfg.l1_ratio, grads,
        )
        report = loss
    else:  # the call's rows are its one batch: Σ wᵢ ∇ℓᵢ / (n·w̄), w̄ the running mean
        w = sw / (X.shape[0] * weighting.mean_w)
        data, pen = _split_objective(problem, state.params, X, y, w, cfg, grads)
        loss, report = data + pen, data * weighting.loss_scale + pen
    gnorm = global_norm(grads)
    if not math.isfinite(loss) or not math.isfinite(gnorm):
        return loss, gnorm, opt_state, 0
    updates, opt_state = opt.update(grads, opt_state, state.params, lr)
    apply_updates(state.params, updates)
    return report, gnorm, opt_state, 1


def _mini_batch_epoch(problem, state, opt, opt_state, cfg, lr, grads, buffers, weighting=None):
    X, y, sw = problem.X, problem.y, problem.sample_weight
    rows = problem.rows
    n = problem.n_rows
    bs = cfg.batch_size
    order = epoch_order(state.rng, n) if cfg.shuffle else np.arange(n)
    if rows is not None:  # positions in the view -> row numbers of X (and of y, sw)
        order = np.take(rows, order, out=order) if cfg.shuffle else rows
    xbuf, ybuf = buffers
    if weighting is None:
        mean_w = _training_weight(problem) / n  # w̄: a batch's weights are over |B|·w̄
    else:
        mean_w = weighting.mean_w
    epoch_loss, norm_sum, n_steps = 0.0, 0.0, 0
    for start in range(0, n, bs):
        idx = order[start : start + bs]
        m = idx.shape[0]
        Xb = problem.gather(X, idx, out=xbuf)
        yb = np.take(y, idx, axis=0, out=ybuf[:m])
        wb = sw[idx]
        wb /= m * mean_w
        if weighting is None:
            loss = objective(
                problem.model, problem.loss, state.params, Xb, yb, wb, cfg.alpha, cfg.l1_ratio,
                grads,
            )
            report = loss
        else:  # the recorded loss: the call's weighted mean, not over the running w̄
            data, pen = _split_objective(problem, state.params, Xb, yb, wb, cfg, grads)
            loss, report = data + pen, data * weighting.loss_scale + pen
        gnorm = global_norm(grads)
        if not math.isfinite(loss) or not math.isfinite(gnorm):
            return loss, gnorm, opt_state, n_steps
        epoch_loss += report * (m / n)  # data part: Σ_B wᵢ ℓᵢ / Σ_all w
        norm_sum += gnorm
        n_steps += 1
        updates, opt_state = opt.update(grads, opt_state, state.params, lr)
        apply_updates(state.params, updates)
    return epoch_loss, norm_sum / max(n_steps, 1), opt_state, n_steps


def run_epochs(
    problem: Problem,
    state: LoopState,
    opt: GradientTransformation,
    cfg: LoopConfig,
    n_epochs: int,
) -> bool:
    """Train for up to ``n_epochs`` more epochs; return True when the ``tol`` rule stopped it.

    Raises :class:`DivergenceError` (parameters restored to the best finite ones) on divergence.
    Mini-batch epochs run with BLAS limited to one thread: on small matrices the threads'
    synchronisation costs more than it saves (measured 12× on an MLP step).
    """
    n = problem.n_rows
    if cfg.batch_size is not None and cfg.batch_size < n:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1, user_api="blas"):
            return _run_epochs(problem, state, opt, cfg, n_epochs)
    return _run_epochs(problem, state, opt, cfg, n_epochs)


def _run_epochs(problem, state, opt, cfg, n_epochs) -> bool:
    n = problem.n_rows
    full_batch = cfg.batch_size is None or cfg.batch_size >= n
    grads = [np.empty_like(p) for p in state.params]
    buffers = None
    if not full_batch and not isinstance(state.opt_state, FastOptState):
        bs = cfg.batch_size
        buffers = (
            None if issparse(problem.X) else np.empty((bs, *problem.X.shape[1:]),
                                                      dtype=problem.X.dtype),
            np.empty((bs, *problem.y.shape[1:]), dtype=problem.y.dtype),
        )
    has_val = problem.X_val is not None
    watch_val = has_val and cfg.monitor_eval  # recorded only when not monitor_eval
    monitor_val = cfg.early_stopping and watch_val
    hist = state.history
    t_start = time.perf_counter() - state.elapsed
    # the "exploding loss" rule's memory: the whole fit's, or only this call's for partial_fit
    # (another call's loss was measured on other rows: a drifting stream is no divergence)
    local = cfg.incremental
    first_loss = None if local else state.first_loss
    lowest_loss = math.inf if local else state.lowest_loss
    rising = 0 if local else state.rising
    prev = hist["loss"][-1] if hist["loss"] and not local else math.inf
    call_start = None  # partial_fit's fallback: the parameters this call started from
    weighting, seen = None, None
    if local:  # w̄ over every row partial_fit has seen, this call's included
        weighting, *seen = _weighting(problem, state)
    # the start loss of the exploded-loss rule (fit only): full batch measures it as its
    # first epoch's loss; mini-batches with one forward pass before their first step
    measure_start = not local and state.epoch == 0
    fit_start = _copy(state.params) if measure_start else None  # restored if all exploded
    if measure_start and not full_batch:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            _note_start_loss(state, _start_loss(problem, state.params, cfg))
        measure_start = False
    for i in range(n_epochs):
        e = state.epoch
        lr = checked_learning_rate(state.schedule, e)
        # the parameters the epoch starts from: its training loss is measured at them (full
        # batch: before the step), and they are finite (the last epoch's check passed)
        start = _copy(state.params)
        if call_start is None:
            call_start = start
        fallback = call_start if local else (
            state.best_params if state.best_params is not None else start
        )
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            steps = None  # the updates the epoch applied (None: the compiled kernels')
            if isinstance(state.opt_state, FastOptState):
                loss, gnorm, _ = run_fast_epoch(problem, state, cfg, lr, full_batch, weighting)
            elif full_batch:
                loss, gnorm, state.opt_state, steps = _full_batch_epoch(
                    problem, state, opt, state.opt_state, cfg, lr, grads, weighting
                )
            else:
                loss, gnorm, state.opt_state, steps = _mini_batch_epoch(
                    problem, state, opt, state.opt_state, cfg, lr, grads, buffers, weighting
                )
            finite = math.isfinite(loss) and math.isfinite(gnorm) and _all_finite(state.params)
            val_loss = None
            if finite and has_val:
                val_loss = problem.validation_loss(state.params)
                finite = math.isfinite(val_loss)
        if not finite:
            overflow = _overflow(loss, gnorm, state.params, val_loss)  # before the restore
            if overflow == "validation" and _training_ran_away(problem, state, cfg, loss,
                                                               lowest_loss):
                overflow = None  # a divergence whose training loss was still finite
            blamed = _blamed_update(cfg, overflow, state.params, full_batch, steps)
            _restore(state, fallback)
            if blamed is not None:
                raise DivergenceError(e + 1, lr, loss, "update", cfg.optimizer_plugin,
                                      blamed or None)
            raise DivergenceError(e + 1, lr, loss, overflow)
        if first_loss is None:
            first_loss = loss
        if measure_start:  # full batch: the first epoch's loss is at the start parameters
            _note_start_loss(state, loss)
            measure_start = False
        rising = rising + 1 if loss > prev else 0
        if rising >= 3 and loss > RUNAWAY * lowest_loss and loss > first_loss:
            _restore(state, fallback)
            raise DivergenceError(e + 1, lr, loss)
        if not local and state.start_loss is not None:
            state.exploded = loss > EXPLODED * state.start_loss
        lowest_loss, prev = min(lowest_loss, loss), loss
        if not local:
            state.first_loss, state.lowest_loss, state.rising = first_loss, lowest_loss, rising

        state.epoch += 1
        if seen is not None:  # the call's rows count once, when it has trained on them
            state.seen_weight, state.seen_rows = seen
            seen = None
        state.elapsed = time.perf_counter() - t_start
        for key, value in zip(
            HISTORY_KEYS, (loss, val_loss, lr, gnorm, state.elapsed), strict=True
        ):
            hist[key].append(value)

        monitored = val_loss if monitor_val else loss
        if cfg.tol is not None:
            if monitored > state.best_loss - cfg.tol:
                state.no_improvement_count += 1
            else:
                state.no_improvement_count = 0
        if monitored < state.best_loss:  # the validation loss is measured after the epoch
            state.best_loss = monitored
            state.best_epoch = state.epoch
            state.best_params = _copy(state.params) if monitor_val else start

        state.schedule.step(val_loss if watch_val else loss)
        if cfg.verbose:
            val = f", val_loss={val_loss:.6g}" if val_loss is not None else ""
            print(f"epoch {e + 1}: loss={loss:.6g}{val}, lr={lr:.4g}", flush=True)
        record = {
            "epoch": e, "loss": loss, "val_loss": val_loss, "learning_rate": lr,
            "grad_norm": gnorm, "time": state.elapsed, "params": state.params,
        }
        for callback in cfg.callbacks:
            callback(record)
        last = i == n_epochs - 1 or (
            cfg.tol is not None and state.no_improvement_count >= cfg.n_iter_no_change)
        if last and state.exploded:  # a fit does not stop on an exploded loss
            _restore(state, _unexploded(state, fallback, fit_start))
            raise DivergenceError(e + 1, lr, loss)
        if cfg.tol is not None and state.no_improvement_count >= cfg.n_iter_no_change:
            if monitor_val:
                _restore(state, state.best_params)
            elif loss > STALLED_HIGH * lowest_loss and loss > first_loss:
                # not converged: the loss ran away and the tol rule ran out of patience
                # before the runaway rule's 10⁶ (a fit on the default tol returned R² -2310)
                _restore(state, fallback)
                raise DivergenceError(e + 1, lr, loss)
            return True
    return False
