"""Compiled fast path for linear models with the built-in losses and optimisers.

When numba is importable and ``GDLAB_JIT`` is not ``"0"``, a linear model trained with a
built-in optimiser runs each epoch in :mod:`gdlab.core.fast.kernels` instead of the
generic numpy loop, without holding the GIL. Both paths implement the same update rules
and are tested against the same torch trajectories; ``GDLAB_JIT=0`` forces the generic path.

Row views (:class:`gdlab.core.loop.Problem` with ``rows`` / ``center`` / ``scale``) run on
the shared ``X`` directly: full batch passes the row numbers to the kernel and standardises
through the linear identity (effective weights ``s·W`` and intercept ``b − (c·s)·W``, the
gradient mapped back with ``g = s·(G − c·R)``); mini-batch epochs visit
``rows[epoch_order(...)]`` (composed into a reused buffer) and standardise while gathering.
"""

from __future__ import annotations

import importlib.util
import inspect
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from gdlab.core.models.linear import LinearModel
from gdlab.core.models.losses import BinaryLogLoss, Huber, MultinomialLogLoss, SquaredError
from gdlab.core.optim.alias import OPTIMIZERS

if TYPE_CHECKING:
    from gdlab.core.loop import LoopConfig, LoopState, Problem, Weighting
    from gdlab.core.models.base import Model

_OPT_IDS = {"sgd": 0, "momentum": 0, "nesterov": 0, "adagrad": 1, "rmsprop": 2, "adam": 3,
            "adamw": 4, "nadam": 5}
_HP_ORDER = {
    0: ("momentum", "dampening", "nesterov", "weight_decay"),
    1: ("lr_decay", "weight_decay", "initial_accumulator_value", "eps"),
    2: ("alpha", "eps", "weight_decay", "momentum", "centered"),
    3: ("b1", "b2", "eps", "weight_decay", "amsgrad"),
    4: ("b1", "b2", "eps", "weight_decay", "amsgrad"),
    5: ("b1", "b2", "eps", "weight_decay", "momentum_decay"),
}


# Full batches of at most this many values run serially (as one batch of the mini-batch
# kernel); larger ones use the chunked parallel kernel.
SMALL_FULL_BATCH = 1 << 20


def trains_compiled(model: Any, optimizer: Any, loss: Any) -> bool:
    """True when an estimator with these ``model``, ``optimizer`` and ``loss`` parameters
    runs its epochs in compiled code, which releases the GIL (so folds can share one process
    as threads)."""
    return (
        enabled()
        and model == "linear"
        and isinstance(optimizer, str)
        and optimizer in _OPT_IDS
        and loss in (None, "squared_error", "huber", "log_loss")
    )


def enabled() -> bool:
    """True when the compiled path may be used (numba present, GDLAB_JIT not '0')."""
    if os.environ.get("GDLAB_JIT", "1") == "0":
        return False
    return importlib.util.find_spec("numba") is not None


@dataclass
class FastOptState:
    """Optimiser state of the compiled path: codes, hyper-parameters, buffers, counters."""

    opt_id: int
    hp: np.ndarray
    S: np.ndarray
    scal: np.ndarray
    clip: float
    loss_id: int
    epsilon: float


def _loss_id(loss) -> tuple[int, float] | None:
    if type(loss) is SquaredError:
        return 0, 0.0
    if type(loss) is Huber:
        return 1, loss.epsilon
    if type(loss) is BinaryLogLoss:
        return 2, 0.0
    if type(loss) is MultinomialLogLoss:
        return 3, 0.0
    return None


def _resolved_params(name: str, params: dict[str, Any]) -> dict[str, Any]:
    sig = inspect.signature(OPTIMIZERS[name])
    values = {k: v.default for k, v in sig.parameters.items()}
    values.update(params)
    if name == "momentum":
        values.setdefault("nesterov", False)
    if name == "nesterov":
        values["nesterov"] = True
        values.setdefault("dampening", 0.0)
    if "betas" in values:
        values["b1"], values["b2"] = (float(b) for b in values.pop("betas"))
    return values


def make_fast_state(
    model: Model,
    loss: Any,
    optimizer: Any,
    optimizer_params: Mapping[str, Any] | None,
    clip_norm: float | None,
    params: Sequence[np.ndarray],
) -> FastOptState | None:
    """The compiled path's optimiser state, or None when this configuration has no kernel."""
    if not enabled() or type(model) is not LinearModel or not isinstance(optimizer, str):
        return None
    if optimizer not in _OPT_IDS:
        return None
    ids = _loss_id(loss)
    if ids is None:
        return None
    opt_id = _OPT_IDS[optimizer]
    values = _resolved_params(optimizer, dict(optimizer_params or {}))
    hp = np.array([float(values.get(k, 0.0)) for k in _HP_ORDER[opt_id]], dtype=np.float64)
    dtype = params[0].dtype
    size = sum(p.size for p in params)
    S = np.zeros((3, size), dtype=dtype)
    if opt_id == 1:
        S[0] = values["initial_accumulator_value"]
    scal = np.array([0.0, 1.0])
    clip = 0.0 if clip_norm is None else float(clip_norm)
    return FastOptState(opt_id, hp, S, scal, clip, ids[0], ids[1])


_NO_SCALING = np.empty(0)

BLOCK_ROWS = 4096
"""Rows gathered per block of a mini-batch epoch (whole batches; at least one batch)."""


def _buffers(cache: dict, X: np.ndarray, y: np.ndarray, sw: np.ndarray, block: int):
    """The reused gather buffers: two blocks of ``block`` rows, one stepped on while the other
    fills (allocated once per fit)."""
    key = ("blocks", block)
    if key not in cache:
        cache[key] = (
            np.empty((2, block, X.shape[1]), dtype=X.dtype),
            np.empty((2, block), dtype=y.dtype),
            np.empty((2, block), dtype=sw.dtype),
        )
    return cache[key]


def _scaling(problem) -> tuple[np.ndarray, np.ndarray]:
    """(center, scale) as float64 arrays for the kernels; empty arrays when not scaled."""
    if problem.center is None:
        return _NO_SCALING, _NO_SCALING
    cache = problem.cache
    if "center" not in cache:
        cache["center"] = np.ascontiguousarray(problem.center, dtype=np.float64)
        cache["scale"] = np.ascontiguousarray(problem.scale, dtype=np.float64)
    return cache["center"], cache["scale"]


def _full_batch_sums(kernel, problem, X, y, sw, W, b, fs, gW, gb) -> float:
    """Σ wᵢ ℓᵢ over the training rows, with Σ wᵢ ∂ℓᵢ/∂W, ∂ℓᵢ/∂b written into gW, gb.

    Standardised views use z = x·(s·W) + (b − (c·s)·W), exact in real arithmetic, so the
    kernel reads raw rows of X; the raw-X gradient G = Σ r x maps back to
    g = s·(G − c·R), R = Σ r = gb."""
    rows = _rows(problem)
    if problem.center is None:
        return kernel(X, y, sw, rows, W, b, fs.loss_id, fs.epsilon, gW, gb)
    center, scale = _scaling(problem)
    cache = problem.cache
    if "W_eff" not in cache:
        cache["W_eff"] = np.empty_like(W)
        cache["b_eff"] = np.empty_like(b)
        cache["cs"] = center * scale
    W_eff, b_eff = cache["W_eff"], cache["b_eff"]
    np.multiply(W, scale[:, None], out=W_eff)
    np.subtract(b, cache["cs"] @ W, out=b_eff)
    value = kernel(X, y, sw, rows, W_eff, b_eff, fs.loss_id, fs.epsilon, gW, gb)
    gW -= center[:, None] * gb[None, :]
    gW *= scale[:, None]
    return value


def _threads() -> int:
    from numba import get_num_threads

    return get_num_threads()


def run_fast_epoch(
    problem: Problem, state: LoopState, cfg: LoopConfig, lr: float, full_batch: bool,
    weighting: Weighting | None = None,
) -> tuple[float, float, bool]:
    """One epoch in compiled code; returns (loss, grad_norm, finite). ``weighting``: a
    ``partial_fit`` call's w̄ (the running mean weight) and loss scale, see
    :class:`gdlab.core.loop.Weighting`; None: w̄ is the training rows' mean weight."""
    from gdlab.core.fast import kernels

    fs: FastOptState = state.opt_state
    W, b = state.params
    X = problem.X
    cache = problem.cache
    rows = problem.rows
    n = problem.n_rows
    if "y" not in cache:
        cache["y"] = np.ascontiguousarray(problem.y, dtype=X.dtype)
        cache["gW"] = np.empty_like(W)
        cache["gb"] = np.empty_like(b)
        cache["sw"] = np.ascontiguousarray(problem.sample_weight)
        cache["total_w"] = float(
            cache["sw"].sum() if rows is None else cache["sw"][rows].sum()
        )
    y, gW, gb, sw = cache["y"], cache["gW"], cache["gb"], cache["sw"]
    total_w = cache["total_w"]
    if full_batch:
        # large sets: chunks summed by all threads; small ones serially (threads cost more)
        kernel = kernels.full_value_grad if n * X.shape[1] > SMALL_FULL_BATCH else (
            kernels.full_value_grad_serial
        )
        value = _full_batch_sums(kernel, problem, X, y, sw, W, b, fs, gW, gb)
        value /= total_w  # recorded: the weighted mean loss of the rows
        norm = total_w if weighting is None else n * weighting.mean_w
        gW /= norm
        gb /= norm
        value += kernels._penalty(W, gW, cfg.alpha, cfg.l1_ratio)
        gnorm = math.sqrt(kernels._sq_norm(gW) + kernels._sq_norm(gb))
        if not (math.isfinite(value) and math.isfinite(gnorm)):
            return value, gnorm, False
        kernels._step(W, b, gW, gb, fs.S, fs.scal, fs.opt_id, fs.hp, lr, fs.clip)
        return value, gnorm, True
    order = _epoch_rows(problem, state, cfg, n)
    batch_size = int(cfg.batch_size)
    block = min(n, batch_size * max(1, BLOCK_ROWS // batch_size))
    xbuf, ybuf, wbuf = _buffers(cache, X, y, sw, block)
    center, scale = _scaling(problem)
    if weighting is None:
        mean_w, loss_scale = total_w / n, 1.0
    else:
        mean_w, loss_scale = weighting.mean_w, weighting.loss_scale
    value, gnorm, _, finite = kernels.minibatch_epoch(
        X, y, sw, mean_w, loss_scale, order, batch_size, xbuf, ybuf, wbuf, center, scale,
        W, b, gW, gb, fs.loss_id,
        fs.epsilon, float(cfg.alpha), float(cfg.l1_ratio), fs.clip, fs.opt_id, fs.hp, lr, fs.S,
        fs.scal, _threads(),
    )
    return value, gnorm, finite


def _epoch_rows(problem, state, cfg, n: int) -> np.ndarray:
    """Row numbers of X in this epoch's visiting order, in buffers reused across epochs:
    ``epoch_order`` (or ``range(n)``), composed with ``problem.rows`` for a view."""
    from gdlab.core.sampling import epoch_order

    cache = problem.cache
    rows = _rows(problem)
    if rows is not None and not cfg.shuffle:
        return rows
    if "order" not in cache:
        cache["order"] = np.arange(n, dtype=np.int64)
        if rows is not None:
            cache["view_order"] = np.empty(n, dtype=np.int64)
    order = cache["order"]
    if cfg.shuffle:
        epoch_order(state.rng, n, out=order)
    if rows is None:
        return order
    return np.take(rows, order, out=cache["view_order"])


def _rows(problem) -> np.ndarray | None:
    """The view's row numbers as a contiguous int64 array (no copy when they already are)."""
    if problem.rows is None:
        return None
    if "rows" not in problem.cache:
        problem.cache["rows"] = np.ascontiguousarray(problem.rows, dtype=np.int64)
    return problem.cache["rows"]
