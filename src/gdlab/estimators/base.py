"""Shared machinery of GDRegressor and GDClassifier: validation, set-up and the fit loop.

``__init__`` only stores parameters (scikit-learn's rule); ``fit`` validates them and
the data, builds the model, loss, optimiser chain and schedule from their names, and
runs :func:`gdlab.core.loop.run_epochs`. Everything learned lives in attributes ending
in ``_`` (and the private ``_state``), so estimators clone, pickle and refit cleanly.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import assert_all_finite, check_random_state
from sklearn.utils.validation import (
    _check_sample_weight,
    _get_feature_names,
    check_array,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from gdlab.core.dtypes import DTYPES
from gdlab.core.fast import make_fast_state, trains_compiled
from gdlab.core.history import pack_curve, pack_history, unpack_curve, unpack_history
from gdlab.core.loop import (
    DivergenceError,
    LoopConfig,
    LoopState,
    Problem,
    checked_learning_rate,
    chunk_rows,
    run_epochs,
)
from gdlab.core.models import MLP, LinearModel, make_loss
from gdlab.core.models.baseline import baseline_bias
from gdlab.core.optim import chain, clip_by_global_norm, make_optimizer
from gdlab.core.plugins import is_import_path, make_model
from gdlab.core.rules import LEARNING_RATE
from gdlab.core.schedules import epoch_defaults, make_schedule
from gdlab.core.sparse import accept_sparse, check_state, issparse, supports_sparse
from gdlab.core.stall import may_have_stalled, probe_stall
from gdlab.estimators.advice import (
    ScheduleReachWarning,
    checked_scales,
    divergence_advice,
    feature_scale_cause,
    oscillated,
    oscillation_message,
    oscillation_text,
    schedule_reach_message,
    small_features_cause,
    small_target_cause,
    stall_message,
    target_divergence_cause,
    target_scale_cause,
    unconverged_message,
)
from gdlab.estimators.non_numeric import non_numeric_refusal
from gdlab.estimators.nonfinite import (
    kinds_named,
    nonfinite_cells,
    nonfinite_message,
    vector_refusal,
)

_FITTED_PRIVATE = ("_state", "_built_with")
"""The private fitted attributes (the carried training state and what it was built from);
the public ones end in ``_`` (scikit-learn's rule)."""
STATE_PARAMS = ("model", "hidden_layer_sizes", "activation", "model_params", "optimizer",
                "optimizer_params", "learning_rate", "schedule", "schedule_params", "clip_norm",
                "dtype")
"""What the training state ``partial_fit`` carries was built from (shapes, optimiser state,
schedule): these may not change between its calls."""


class BatchSizeWarning(UserWarning):
    """``batch_size`` exceeds the rows a fit trains on: every epoch is then one full-batch
    step. Filter it as any warning (``warnings.filterwarnings("ignore",
    category=BatchSizeWarning)``); the pipeline's stages say it once for all their fits."""


def _check_number(name, value, *, low=None, high=None, low_open=False, integer=False,
                  allow_none=False):
    """Raise a ValueError naming ``name`` unless ``value`` is a finite number in range."""
    if value is None and allow_none:
        return
    kind = numbers.Integral if integer else numbers.Real
    if isinstance(value, bool) or not isinstance(value, kind):
        what = "an integer" if integer else "a number"
        raise ValueError(f"{name} must be {what}{' or None' if allow_none else ''}, "
                         f"got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if low is not None and (value <= low if low_open else value < low):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low}, got {value!r}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be <= {high}, got {value!r}")


def dtype_name(value: Any) -> str | None:
    """``"float32"``/``"float64"`` for ``dtype`` given as that name, ``np.float32`` or
    ``np.dtype("float32")`` (likewise float64); None for anything else."""
    if isinstance(value, str):
        return value if value in DTYPES else None
    if value is None or isinstance(value, bool):
        return None  # np.dtype(None) would be float64
    try:
        name = np.dtype(value).name
    except TypeError:
        return None
    return name if name in DTYPES else None


def _check_flag(name: str, value: Any) -> None:
    """Refuse a flag that is not a bool: ``shuffle="no"`` is truthy and was taken as True."""
    if not isinstance(value, bool | np.bool_):
        raise ValueError(f"{name} must be True or False, got {value!r} ({type(value).__name__})")


def hidden_sizes(value: Any) -> tuple[int, ...]:
    """``hidden_layer_sizes`` as a tuple of layer widths: an int is one layer (as
    MLPRegressor takes it); every width must be an integer >= 1 (``10.5`` and ``"10"`` are
    refused, not truncated or converted)."""
    sizes = (value,) if isinstance(value, numbers.Integral | str) else value
    try:
        sizes = tuple(sizes)
    except TypeError:
        sizes = None
    allowed = "an integer >= 1 or a non-empty tuple of them"
    if not sizes:
        raise ValueError(f"hidden_layer_sizes must be {allowed}, got {value!r}")
    for i, size in enumerate(sizes):
        if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 1:
            raise ValueError(
                f"hidden_layer_sizes[{i}] must be an integer >= 1, got {size!r} "
                f"({type(size).__name__}) in {value!r}"
            )
    return tuple(int(h) for h in sizes)


def callback_list(value: Any) -> tuple[Callable[[dict], None], ...]:
    """``callbacks`` as a tuple: None, one callable, or a list/tuple of callables."""
    if value is None:
        return ()
    if callable(value):
        return (value,)
    if isinstance(value, list | tuple):
        for i, cb in enumerate(value):
            if not callable(cb):
                raise ValueError(
                    f"callbacks[{i}] must be callable (called with a dict after every epoch), "
                    f"got {cb!r} ({type(cb).__name__})"
                )
        return tuple(value)
    raise ValueError(
        "callbacks must be None, a callable or a list of callables (each called with a dict "
        f"after every epoch), got {value!r} ({type(value).__name__})"
    )


def _as_rows(rows, n: int, name: str) -> np.ndarray:
    """Row numbers as a contiguous int64 array (no copy when they already are), in range."""
    rows = np.ascontiguousarray(rows, dtype=np.int64)
    if rows.ndim != 1 or rows.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array of row numbers")
    if rows.min() < 0 or rows.max() >= n:
        raise ValueError(f"{name} must be row numbers in [0, {n})")
    return rows


def _as_vector(values, d: int, name: str) -> np.ndarray:
    values = np.ascontiguousarray(values, dtype=np.float64)
    if values.shape != (d,) or not np.isfinite(values).all():
        raise ValueError(f"{name} must be {d} finite numbers")
    return values


def _check_finite_rows(X: np.ndarray, rows: np.ndarray) -> None:
    """Raise as scikit-learn does when a row of X[rows] holds NaN or infinity (in chunks)."""
    chunk = chunk_rows(X)
    for start in range(0, rows.shape[0], chunk):
        assert_all_finite(X[rows[start : start + chunk]], input_name="X")


def _check_split_weights(train: np.ndarray, validation: np.ndarray, fraction: float) -> None:
    """The early-stopping split must leave weight on both sides (as scikit-learn checks)."""
    for part, weights in (("validation", validation), ("training", train)):
        if not weights.sum() > 0:
            raise ValueError(
                f"early_stopping: the sample weights of the {part} split "
                f"(validation_fraction={fraction}) are all zero; give those rows weight, "
                "change validation_fraction or random_state, or pass eval_set"
            )


def _feature_names(X) -> np.ndarray | None:
    """``X``'s string column names (a DataFrame's), as scikit-learn reads them; else None."""
    try:
        return _get_feature_names(X)
    except (TypeError, ValueError):  # mixed-type column names: scikit-learn refuses them
        return None


def nonfinite_refusal(owner: str, exc: Exception, X, dtype, columns=None, *,
                      action: str, name: str = "X", n_features: int | None = None) -> str | None:
    """The message refusing ``X`` naming its cells that hold NaN, infinity or (``dtype``
    float32) a finite value too large for float32, when ``exc`` is scikit-learn's refusal of
    such a value; else None (the caller re-raises ``exc``).

    The cells are located in ``X`` read as float64, not in the array cast to ``dtype``: the
    cast turns a finite 1e39 into infinity. ``columns`` names the columns (else numbers);
    ``n_features``: the width the caller expects (another width is refused as
    scikit-learn words it)."""
    if not kinds_named(str(exc)):
        return None
    try:
        values = check_array(X, accept_sparse=True, dtype=np.float64, ensure_all_finite=False,
                             input_name=name)
    except (TypeError, ValueError):
        return None
    if n_features is not None and values.shape[1] != n_features:
        # scikit-learn checks the values before the width: say the width first, as
        # fixing the missing values would only lead to this refusal
        return (f"X has {values.shape[1]} features, but {owner} is expecting {n_features} "
                "features as input.")
    if columns is not None and len(columns) != values.shape[1]:
        columns = None
    cells = nonfinite_cells(values, columns, dtype=dtype)
    return nonfinite_message(owner, cells, action=action, name=name) if cells else None


@contextmanager
def nonfinite_located(owner: str, X, dtype, *, action: str, name: str = "X",
                      n_features: int | None = None, columns=None) -> Iterator[None]:
    """Around scikit-learn's check of ``X``: its refusal of a NaN, an infinity or a value too
    large for float32 is raised again as :func:`nonfinite_refusal`'s message naming the cells
    (``columns``, else ``X``'s own column names, looked up only then), a DataFrame's column
    of text or dates as :func:`~gdlab.estimators.non_numeric.non_numeric_refusal`'s naming
    the columns; any other error as it was."""
    try:
        yield
    except (ValueError, TypeError) as exc:  # numpy's DTypePromotionError: a datetime column
        message = None
        if isinstance(exc, ValueError):
            if columns is None:
                columns = _feature_names(X)
            message = nonfinite_refusal(owner, exc, X, dtype, columns, action=action,
                                        name=name, n_features=n_features)
        if message is None:  # a DataFrame's text column: scikit-learn names no column
            message = non_numeric_refusal(owner, X, name=name)
        if message is None:
            raise
        raise ValueError(message) from exc


def eval_pair(eval_set) -> tuple[Any, Any]:
    """``eval_set`` as its (X_val, y_val): the pair itself, or XGBoost's and LightGBM's
    list holding one pair, ``[(X_val, y_val)]``; anything else is refused naming it."""
    if (isinstance(eval_set, list) and eval_set
            and all(isinstance(e, tuple) and len(e) == 2 for e in eval_set)):
        if len(eval_set) != 1:
            raise ValueError(
                f"eval_set: a single (X_val, y_val) pair is expected, got a list of "
                f"{len(eval_set)} pairs (one validation set is monitored)"
            )
        eval_set = eval_set[0]
    if not isinstance(eval_set, tuple | list) or len(eval_set) != 2:
        size = f" of length {len(eval_set)}" if hasattr(eval_set, "__len__") else ""
        raise ValueError(
            "eval_set: a single (X_val, y_val) pair is expected (or a list holding one, "
            f"[(X_val, y_val)]), got {type(eval_set).__name__}{size}"
        )
    return eval_set[0], eval_set[1]


def _checked_targets(y: np.ndarray) -> np.ndarray:
    """1-D targets; numeric ones must be finite (scikit-learn's checks on ``fit``'s y)."""
    y = column_or_1d(y, warn=True)
    if y.dtype.kind in "fc":
        assert_all_finite(y, input_name="y")
    return y


PARTIAL_FIT_MAX_WEIGHT = {"float64": 1e100, "float32": 1e15}
"""The largest sample weight ``partial_fit`` takes (its weights are not rescaled: their scale
counts across calls), so that sums of weights times losses over a call stay finite."""


@dataclass
class _Parts:
    """What :meth:`BaseGD._build_parts` builds from the parameters alone."""

    model: Any
    optimizer: Any
    schedule: Any  # None: partial_fit's later calls carry their schedule in the state


@dataclass
class _Run:
    """A training ready to run (:meth:`BaseGD._start`): nothing fitted is changed yet."""

    problem: Problem
    state: LoopState
    optimizer: Any
    config: LoopConfig
    model: Any
    epochs: int
    incremental: bool
    warm: bool = False
    """The parameters started from the previous fit's (``warm_start``), not fresh ones."""
    start_params: list | None = None
    """A copy of the parameters ``fit`` started from (None for ``partial_fit``): what a
    stalled fit's start loss is measured at (:mod:`gdlab.core.stall`)."""


def _fitted_attributes(est: BaseEstimator) -> dict[str, Any]:
    """``est``'s fitted attributes: the public ones (ending in ``_``) and the private
    training state (:data:`_FITTED_PRIVATE`)."""
    return {k: v for k, v in vars(est).items()
            if (k.endswith("_") and not k.startswith("__")) or k in _FITTED_PRIVATE}


@contextmanager
def kept_on_refusal(est: BaseEstimator) -> Iterator[dict[str, Any]]:
    """Around the checks and set-up of a ``fit``/``partial_fit``: when they raise, every
    fitted attribute is put back as it was (none set since is left); yields them as they
    were. (``validate_data(reset=True)`` sets ``n_features_in_``/``feature_names_in_`` and
    the classes are set before the later inputs and parameters are checked.)"""
    saved = _fitted_attributes(est)
    try:
        yield dict(saved)
    except BaseException:
        for k in _fitted_attributes(est):
            del est.__dict__[k]
        est.__dict__.update(saved)
        raise


class BaseGD(BaseEstimator):
    """Common parameters and fit logic (see GDRegressor / GDClassifier for the docs)."""

    _default_loss = "squared_error"
    _allowed_losses: tuple[str, ...] = ()
    _advises_target_scale = False
    """Whether an unconverged fit's warning looks at the target's scale (a regressor's)."""
    _intercept_inits: tuple[str, ...] = ("zero",)
    """The accepted ``intercept_init`` values; every one but ``"zero"`` starts the output
    bias at :func:`gdlab.core.models.baseline.baseline_bias`."""

    def __getstate__(self) -> dict:
        """Stored (pickle, skops) with the per-epoch curves as arrays: compact and fast to
        save; :meth:`__setstate__` gives the lists back (see :mod:`gdlab.core.history`)."""
        state = dict(super().__getstate__())  # Python 3.11 hands out __dict__ itself
        if isinstance(state.get("history_"), dict):
            state["history_"] = pack_history(state["history_"])
        if isinstance(state.get("loss_curve_"), list):
            state["loss_curve_"] = pack_curve(state["loss_curve_"])
        return state

    def __setstate__(self, state: dict) -> None:
        state = dict(state)
        if isinstance(state.get("history_"), dict):
            state["history_"] = unpack_history(state["history_"])
        if "loss_curve_" in state:
            state["loss_curve_"] = unpack_curve(state["loss_curve_"])
        super().__setstate__(state)

    def __init__(
        self,
        *,
        model="linear",
        loss=None,
        epsilon=1.0,
        optimizer="adam",
        optimizer_params=None,
        learning_rate=0.01,
        schedule="constant",
        schedule_params=None,
        batch_size=None,
        max_epochs=1000,
        tol=1e-4,
        n_iter_no_change=10,
        early_stopping=False,
        validation_fraction=0.1,
        alpha=1e-4,
        l1_ratio=0.0,
        clip_norm=None,
        hidden_layer_sizes=(100,),
        activation="relu",
        model_params=None,
        shuffle=True,
        random_state=None,
        warm_start=False,
        dtype="float64",
        verbose=0,
        callbacks=None,
        intercept_init="zero",
    ):
        self.model = model
        self.loss = loss
        self.epsilon = epsilon
        self.optimizer = optimizer
        self.optimizer_params = optimizer_params
        self.learning_rate = learning_rate
        self.schedule = schedule
        self.schedule_params = schedule_params
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.clip_norm = clip_norm
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.model_params = model_params
        self.shuffle = shuffle
        self.random_state = random_state
        self.warm_start = warm_start
        self.dtype = dtype
        self.verbose = verbose
        self.callbacks = callbacks
        self.intercept_init = intercept_init

    def __sklearn_tags__(self):
        """scipy.sparse X is taken by the built-in models (see :mod:`gdlab.core.sparse`)."""
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = supports_sparse(self.model)
        return tags

    # ----------------------------------------------------------------- validation
    def _validate_hyperparameters(self) -> None:
        LEARNING_RATE.check("learning_rate", self.learning_rate)
        _check_number("batch_size", self.batch_size, low=1, integer=True, allow_none=True)
        _check_number("max_epochs", self.max_epochs, low=1, integer=True)
        _check_number("tol", self.tol, low=0, allow_none=True)
        _check_number("n_iter_no_change", self.n_iter_no_change, low=1, integer=True)
        _check_number("validation_fraction", self.validation_fraction)
        if not 0 < self.validation_fraction < 1:
            raise ValueError(
                "validation_fraction must be > 0 and < 1 (in the open range (0, 1)), got "
                f"{self.validation_fraction!r}"
            )
        _check_number("alpha", self.alpha, low=0)
        _check_number("l1_ratio", self.l1_ratio, low=0, high=1)
        _check_number("epsilon", self.epsilon, low=0, low_open=True)
        _check_number("clip_norm", self.clip_norm, low=0, low_open=True, allow_none=True)
        if dtype_name(self.dtype) is None:
            raise ValueError(
                f"dtype must be 'float32' or 'float64' (a name, np.float32/np.float64 or a "
                f"numpy dtype of one), got {self.dtype!r}"
            )
        for flag in ("shuffle", "early_stopping", "warm_start"):
            _check_flag(flag, getattr(self, flag))
        if not isinstance(self.verbose, bool | np.bool_):
            _check_number("verbose", self.verbose, integer=True)
        callback_list(self.callbacks)
        if not (isinstance(self.intercept_init, str)
                and self.intercept_init in self._intercept_inits):
            raise ValueError(
                f"intercept_init must be one of {', '.join(map(repr, self._intercept_inits))}, "
                f"got {self.intercept_init!r}"
            )
        if self.model == "mlp":
            hidden_sizes(self.hidden_layer_sizes)
        loss = self._loss_name()
        if loss not in self._allowed_losses:
            raise ValueError(
                f"loss {loss!r} does not fit {type(self).__name__}; "
                f"use one of {', '.join(self._allowed_losses)}"
            )
        for name in ("optimizer_params", "schedule_params", "model_params"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Mapping):
                raise ValueError(f"{name} must be a dict or None, got {type(value).__name__}")
        if self.model_params and not (isinstance(self.model, str)
                                      and is_import_path(self.model)):
            raise ValueError(
                f"model_params are the keyword arguments of a plug-in model factory "
                f"('package.module:factory'); model={self.model!r} takes none, got "
                f"{dict(self.model_params)!r}"
            )

    def _dtype(self) -> type:
        """The numpy floating type of ``dtype`` (validated)."""
        return DTYPES[dtype_name(self.dtype)]

    def _trains_compiled(self) -> bool:
        """True when this configuration runs its epochs in compiled code without the GIL."""
        return trains_compiled(self.model, self.optimizer, self.loss)

    def _loss_name(self) -> str:
        return self._default_loss if self.loss is None else self.loss

    # ----------------------------------------------------------------- builders
    def _build_model(self):
        if self.model == "linear":
            return LinearModel()
        if self.model == "mlp":
            return MLP(hidden_sizes(self.hidden_layer_sizes), self.activation)
        if is_import_path(self.model):
            return make_model(self.model, self.model_params)
        raise ValueError(
            f"model must be 'linear', 'mlp' or 'package.module:factory', got {self.model!r}"
        )

    def _build_optimizer(self):
        opt = make_optimizer(self.optimizer, self.optimizer_params)
        if self.clip_norm is not None:
            opt = chain(clip_by_global_norm(self.clip_norm), opt)
        return opt

    def _build_parts(self, *, first: bool) -> _Parts:
        """The model, optimiser and (for a new training state) schedule, built from their
        names and parameters before the data is read: a misspelt optimiser or schedule
        parameter is refused before anything fitted is touched (and before a large X is
        checked)."""
        schedule = None
        if first:
            schedule = make_schedule(
                self.schedule, self.learning_rate,
                epoch_defaults(self.schedule, self.schedule_params, self.max_epochs),
            )
        return _Parts(self._build_model(), self._build_optimizer(), schedule)

    def _rng(self) -> np.random.Generator:
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        return np.random.default_rng(seed)

    # ----------------------------------------------------------------- data hooks
    def _prepare_targets(self, y, *, fitting: bool, classes=None, name: str = "y",
                         rows=None):  # pragma: no cover - abstract
        """``y`` encoded for the model (``name``, ``rows``: how a refusal names it)."""
        raise NotImplementedError

    def _n_outputs(self) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    def _split_validation(self, n: int, y, rng):
        """Indices (train, validation) for early stopping's held-out fraction."""
        n_val = self._held_out(n)
        if n - n_val < 1:
            raise ValueError(
                f"early_stopping needs at least 2 samples; got {n} "
                f"(validation_fraction={self.validation_fraction})"
            )
        perm = rng.permutation(n)
        return perm[n_val:], perm[:n_val]

    def _held_out(self, n: int) -> int:
        """Rows of ``n`` that early stopping holds out (its validation set) when it splits."""
        return max(1, int(math.ceil(self.validation_fraction * n)))

    # ----------------------------------------------------------------- fitting
    def _validate_X_y(self, X, y, sample_weight, reset: bool):
        dtype = self._dtype()
        # rows contiguous (as scikit-learn's SGD takes them): a mini-batch gathers whole rows,
        # and a column-major X (what StandardScaler returns for a DataFrame) made every
        # gather strided (~4x slower) and full-batch sums depend on the layout
        with nonfinite_located(type(self).__name__, X, dtype, action="fitted on"):
            X, y = validate_data(self, X, y, dtype=dtype, reset=reset, y_numeric=False,
                                 order="C", accept_sparse=accept_sparse(self.model, X))
        sw = self._checked_sample_weight(sample_weight, X, dtype)
        if np.any(sw < 0):
            raise ValueError("sample_weight must be non-negative")
        return X, y, sw

    def _checked_sample_weight(self, sample_weight, X, dtype) -> np.ndarray:
        """scikit-learn's ``_check_sample_weight``; its refusal of a NaN, an infinity or a
        value too large for float32 is raised again naming the rows of ``sample_weight``."""
        try:
            return _check_sample_weight(sample_weight, X, dtype=dtype)
        except ValueError as exc:
            message = None
            if kinds_named(str(exc)) and np.ndim(sample_weight) == 1:
                message = vector_refusal(type(self).__name__, sample_weight,
                                         name="sample_weight", dtype=dtype)
            if message is None:
                raise
            raise ValueError(message) from exc

    def _class_weights(self, y_enc: np.ndarray, *, incremental: bool) -> np.ndarray | None:
        """Weight per class (indexed by the encoded targets), or None: GDClassifier's
        ``class_weight``; a regressor has none."""
        return None

    def _scaled_weights(self, sw: np.ndarray, y_enc: np.ndarray, *, incremental: bool,
                        rows: np.ndarray | None = None) -> np.ndarray:
        """``sw`` times the class weights, divided by its largest value (over ``rows``; not in
        ``partial_fit``, where the scale counts across calls).

        The objective divides by the weights' sum, so their scale is no part of it; dividing
        by the maximum (exact for unit weights, which stay bit-identical) keeps the sums of
        weights like 1e308 from overflowing to inf (coefficients of zero, or a
        DivergenceError blaming the learning rate)."""
        cw = self._class_weights(y_enc if rows is None else y_enc[rows], incremental=incremental)
        if cw is not None:
            sw = (sw * cw[y_enc]).astype(sw.dtype, copy=False)
        top = (sw if rows is None else sw[rows]).max()
        if not top > 0:
            times = " times class_weight" if cw is not None else ""
            raise ValueError(f"sample_weight{times} must not sum to zero")
        if incremental:  # their scale counts across calls (the running mean weight): as given
            limit = PARTIAL_FIT_MAX_WEIGHT[np.dtype(sw.dtype).name]
            if not top <= limit:
                raise ValueError(
                    f"sample_weight: partial_fit takes weights up to {limit:g} for a "
                    f"{np.dtype(sw.dtype).name} model (got {top:g}): it counts their scale "
                    "across calls, and sums beyond that overflow; divide every call's weights "
                    "by one same factor"
                )
            return sw
        return sw if top == 1 else sw / top

    def _fit(self, X, y, sample_weight=None, eval_set=None, *, incremental=False,
             n_epochs=None, classes=None, monitor_eval=True):
        """``fit``/``partial_fit``. ``monitor_eval=False`` (internal, for
        :mod:`gdlab.experiment`): ``eval_set`` is scored and recorded every epoch but not
        monitored (see :meth:`_fit_view`)."""
        self._validate_hyperparameters()
        first = not (incremental and hasattr(self, "_state"))
        if not first:
            self._check_state_config()
        parts = self._build_parts(first=first)
        # a refused call leaves a fitted estimator as it was: validate_data(reset=True) and
        # the classes are set before the later inputs (eval_set, ...) are checked
        with kept_on_refusal(self) as previous:
            X, y_enc, sw, val = self._validated_inputs(
                X, y, sample_weight, eval_set, first=first, incremental=incremental,
                classes=classes, previous=previous,
            )
            run = self._start(X, y_enc, sw, val, parts, previous, first=first,
                              incremental=incremental, n_epochs=n_epochs,
                              monitor_eval=monitor_eval)
        return self._run(run)

    def _validated_inputs(self, X, y, sample_weight, eval_set, *, first, incremental,
                          classes, previous):
        """``fit``/``partial_fit``'s inputs, checked: (X, encoded y, weights, validation
        set or None). ``previous``: the fitted attributes before this call."""
        X, y, sw = self._validate_X_y(X, y, sample_weight, reset=first)
        previous_width = previous.get("n_features_in_")
        if (first and not incremental and self.warm_start and "params_" in previous
                and previous_width is not None and X.shape[1] != previous_width):
            # as SGDRegressor: warm_start continues the previous solution, which has
            # another width (a silent fresh start hid the mistake)
            raise ValueError(
                f"X has {X.shape[1]} features, but {type(self).__name__} is expecting "
                f"{previous_width} features as input."
            )
        y_enc = self._prepare_targets(y, fitting=first, classes=classes)
        if (first and not incremental and self.warm_start and "params_" in previous
                and "classes_" in previous
                and not np.array_equal(previous["classes_"], self.classes_)):
            # as MLPClassifier (SGDClassifier: "coef_init does not match"): the previous
            # solution's outputs are its classes' (a silent fresh start hid the mistake)
            raise ValueError(
                f"warm_start=True continues the previous fit, whose classes were "
                f"{previous['classes_'].tolist()!r}, but y has the classes "
                f"{self.classes_.tolist()!r}: warm_start needs y holding the same classes; "
                "set warm_start=False to start afresh on these"
            )
        sw = self._scaled_weights(sw, y_enc, incremental=incremental)
        val = None if eval_set is None else self._validated_eval_set(eval_set)
        return X, y_enc, sw, val

    def _validated_eval_set(self, eval_set):
        """``(X_val, y_val, w_val, None)`` from ``eval_set``; every refusal starts with
        "eval_set: " (the training X may be clean)."""
        dtype = self._dtype()
        Xv, yv = eval_pair(eval_set)
        try:
            with nonfinite_located(type(self).__name__, Xv, dtype, action="fitted on",
                                   name="X_val", n_features=self.n_features_in_):
                Xv_checked = validate_data(self, Xv, reset=False, dtype=dtype,
                                           accept_sparse=accept_sparse(self.model, Xv))
            yv = _checked_targets(np.asarray(yv))
            if yv.shape[0] != Xv_checked.shape[0]:
                raise ValueError(f"y has {yv.shape[0]} rows, X has "
                                 f"{Xv_checked.shape[0]}")
            yv = self._prepare_targets(yv, fitting=False, name="y_val")
        except ValueError as exc:
            if str(exc).startswith("eval_set: "):
                raise
            raise ValueError(f"eval_set: {exc}") from exc
        m = Xv_checked.shape[0]
        return (Xv_checked, yv, np.full(m, 1.0 / m, dtype=dtype), None)

    def _state_config(self) -> dict[str, str]:
        """The parameters the carried training state (parameters' shapes, optimiser state,
        schedule) was built from, as text."""
        values = {name: getattr(self, name) for name in STATE_PARAMS}
        values["dtype"] = dtype_name(self.dtype)  # np.float32 and "float32" are one dtype
        return {name: repr(value) for name, value in values.items()}

    def _check_state_config(self) -> None:
        """``partial_fit`` continues the state the first call built: a parameter it was
        built from must not have changed since (ValueError naming it)."""
        built = getattr(self, "_built_with", None)
        if built is None:  # a model saved before this check existed
            return
        now = self._state_config()
        changed = [k for k, v in now.items() if built.get(k) != v]
        if changed:
            shown = ", ".join(f"{k} ({built.get(k)} -> {now[k]})" for k in changed)
            raise ValueError(
                f"partial_fit continues the training state built by the first call, but "
                f"{shown} changed since; call fit() to start again with the new values"
            )

    def _fit_view(self, X, y, rows, *, center=None, scale=None, eval_rows=None,
                  sample_weight=None, monitor_eval=True):
        """Fit on rows ``rows`` of ``X`` standardised on the fly, without copying them.

        The same fit as ``fit((X[rows] - center) * scale, y[rows], sample_weight[rows],
        eval_set=((X[eval_rows] - center) * scale, y[eval_rows]))`` (to rounding), for
        cross-validation folds sharing one (possibly memory-mapped) ``X``: ``X`` must be a
        2-D ndarray of the estimator's ``dtype`` (it is neither copied nor converted);
        ``y`` and ``sample_weight`` (None: ones) are indexed like ``X`` (full length);
        ``rows``/``eval_rows`` are row numbers; ``center``/``scale`` (float64, one per
        feature, or None) standardise every row the model sees. Internal API of
        :mod:`gdlab.experiment`; ``fit`` is unchanged.

        ``monitor_eval=False``: the ``eval_rows`` are held-out rows scored afterwards (a
        cross-validation fold's): their loss is recorded every epoch (``val_loss``) but
        nothing reads it to decide: ``schedule="plateau"`` steps on the training loss, as in
        a fit without them (refused with ``early_stopping``, which monitors its own
        ``validation_fraction`` split: give no ``eval_rows`` then).
        """
        self._validate_hyperparameters()
        parts = self._build_parts(first=True)
        with kept_on_refusal(self) as previous:
            run = self._start_view(X, y, rows, parts, previous, center=center, scale=scale,
                                   eval_rows=eval_rows, sample_weight=sample_weight,
                                   monitor_eval=monitor_eval)
        return self._run(run)

    def _start_view(self, X, y, rows, parts, previous, *, center, scale, eval_rows,
                    sample_weight, monitor_eval) -> _Run:
        """:meth:`_fit_view`'s checks and set-up (nothing fitted is kept when they raise)."""
        dtype = self._dtype()
        if not (isinstance(X, np.ndarray) and X.ndim == 2 and X.dtype == dtype):
            raise TypeError(
                f"_fit_view needs X as a 2-D ndarray of dtype {dtype_name(self.dtype)}, got "
                f"{type(X).__name__} {getattr(X, 'dtype', '')}"
            )
        n = X.shape[0]
        rows = _as_rows(rows, n, "rows")
        eval_rows = None if eval_rows is None else _as_rows(eval_rows, n, "eval_rows")
        if (center is None) != (scale is None):
            raise ValueError("center and scale go together (both or neither)")
        if center is not None:
            center = _as_vector(center, X.shape[1], "center")
            scale = _as_vector(scale, X.shape[1], "scale")
        # scikit-learn's bookkeeping (n_features_in_, no feature names) from one row
        validate_data(self, X[rows[:1]], reset=True, dtype=dtype)
        for idx in (rows, eval_rows):
            if idx is not None:
                _check_finite_rows(X, idx)
        y = np.asarray(y)
        if y.shape[0] != n:
            raise ValueError(f"y has {y.shape[0]} rows, X has {n}")
        y_train = self._prepare_targets(_checked_targets(y[rows]), fitting=True, rows=rows)
        y_enc = np.zeros(n, dtype=y_train.dtype)  # only the training rows are ever read
        y_enc[rows] = y_train
        del y_train  # fold-length temporaries are not kept during training
        sw = self._checked_sample_weight(sample_weight, X, dtype)
        if np.any(sw[rows] < 0):
            raise ValueError("sample_weight must be non-negative")
        sw = self._scaled_weights(sw, y_enc, incremental=False, rows=rows)
        val = None
        if eval_rows is not None:
            yv = self._prepare_targets(_checked_targets(y[eval_rows]), fitting=False,
                                       rows=eval_rows)
            m = eval_rows.shape[0]
            val = (X, yv, np.full(m, 1.0 / m, dtype=dtype), eval_rows)
        return self._start(X, y_enc, sw, val, parts, previous, first=True, incremental=False,
                           n_epochs=None, rows=rows, center=center, scale=scale,
                           monitor_eval=monitor_eval)

    def _start(self, X, y_enc, sw, val, parts: _Parts, previous: dict[str, Any], *, first,
               incremental, n_epochs, rows=None, center=None, scale=None,
               monitor_eval=True) -> _Run:
        """Build the loss and the training state (or take the carried one) for the checked
        inputs; nothing fitted but ``_built_with`` is set (the caller restores it when this
        raises). ``val``: ``(X_val, y_val, w_val, val_rows)`` or None;
        ``rows``/``center``/``scale``: a row view of X (see
        :class:`gdlab.core.loop.Problem`); ``monitor_eval=False``: ``val`` is only recorded
        (:attr:`gdlab.core.loop.LoopConfig.monitor_eval`); ``previous``: the fitted
        attributes before this call."""
        if not monitor_eval and val is not None and self.early_stopping:
            raise ValueError(
                "early_stopping monitors its own validation_fraction split; held-out rows "
                "that are only recorded (monitor_eval=False) cannot be given with it: pass "
                "no eval rows (gdlab.experiment.model.watched_rows)"
            )
        monitor_eval = monitor_eval or val is None  # early stopping's own split: monitored
        dtype = self._dtype()
        n_outputs = self._n_outputs()
        model, opt = parts.model, parts.optimizer
        loss = make_loss(self._loss_name(), n_outputs, self.epsilon)
        X_val, y_val, w_val, val_rows = val if val is not None else (None, None, None, None)
        reuse = False  # warm_start: this fit starts from the previous fit's parameters

        if first:
            rng = self._rng()
            if self.early_stopping and val is None and not incremental:
                if rows is None:
                    tr, va = self._split_validation(X.shape[0], y_enc, rng)
                    _check_split_weights(sw[tr], sw[va], self.validation_fraction)
                    X_val, y_val = X[va], y_enc[va]
                    w_val = sw[va] / sw[va].sum()
                    X, y_enc, sw = X[tr], y_enc[tr], sw[tr]
                else:  # the same split of the view's positions, as row numbers
                    tr, va = self._split_validation(rows.shape[0], y_enc[rows], rng)
                    val_rows, rows = rows[va], rows[tr]
                    _check_split_weights(sw[rows], sw[val_rows], self.validation_fraction)
                    X_val, y_val = X, y_enc[val_rows]
                    w_val = sw[val_rows] / sw[val_rows].sum()
            reuse = self.warm_start and "params_" in previous and not incremental
            first_loss = start_loss = None
            if reuse:
                fresh = model.init_params(X.shape[1], n_outputs, rng, dtype)
                then = [p.shape for p in previous["params_"]]
                if then != [p.shape for p in fresh]:
                    raise ValueError(self._warm_start_mismatch(previous, then, fresh))
                params = [p.astype(dtype, copy=True) for p in previous["params_"]]
                # the scale of "exploding" stays the first fit's: a converged model's loss is
                # tiny, and a fresh optimiser's first steps raise it without diverging (the
                # start loss: the larger of the first fit's and this one's, see the loop)
                carried = previous.get("_state")
                if carried is not None:
                    first_loss = carried.first_loss
                    start_loss = getattr(carried, "start_loss", None)  # older pickles: None
            else:
                params = model.init_params(X.shape[1], n_outputs, rng, dtype)
                self._start_bias(model, params, y_enc, sw, rows)
            fast = None if issparse(X) else make_fast_state(  # the kernels read dense rows
                model, loss, self.optimizer, self.optimizer_params, self.clip_norm, params
            )
            # a plug-in schedule's first rate refused now, before anything fitted changes
            checked_learning_rate(parts.schedule, 0)
            state = LoopState(
                params=params,
                opt_state=fast if fast is not None else opt.init(params),
                schedule=parts.schedule,
                rng=rng,
                first_loss=first_loss,
                start_loss=start_loss,
            )
            self._built_with = self._state_config()
            # once per training state: partial_fit's later calls would repeat it per chunk
            self._warn_batch_size(X.shape[0] if rows is None else rows.shape[0])
            if not incremental:
                self._warn_schedule_reach()
        else:
            state = self._state
            check_state(type(self).__name__, state.opt_state, X)

        problem = Problem(model, loss, X, y_enc, sw, X_val, y_val, w_val, rows=rows,
                          val_rows=val_rows, center=center, scale=scale)
        cfg = LoopConfig(
            batch_size=self.batch_size,
            shuffle=self.shuffle,
            tol=None if incremental else self.tol,
            n_iter_no_change=self.n_iter_no_change,
            early_stopping=self.early_stopping and X_val is not None,
            alpha=float(self.alpha),
            l1_ratio=float(self.l1_ratio),
            callbacks=callback_list(self.callbacks),
            verbose=int(self.verbose > 0),  # "when > 0": verbose=-1 is silent
            incremental=incremental,
            monitor_eval=monitor_eval,
            optimizer_plugin=self.optimizer if is_import_path(self.optimizer) else None,
        )
        epochs = n_epochs if n_epochs is not None else self.max_epochs
        start_params = None if incremental else [p.copy() for p in state.params]
        return _Run(problem, state, opt, cfg, model, epochs, incremental, reuse, start_params)

    def _start_bias(self, model, params: list[np.ndarray], y_enc: np.ndarray, sw: np.ndarray,
                    rows: np.ndarray | None) -> None:
        """Set a fresh built-in model's output bias (its last parameter) as
        ``intercept_init`` says, from the training rows (``rows`` of ``y_enc``/``sw`` in a
        row view); ``"zero"`` and plug-in models keep the model's own start."""
        statistic = self._start_statistic()
        if statistic is None or type(model) not in (LinearModel, MLP):
            return
        if rows is not None:
            y_enc, sw = y_enc[rows], sw[rows]
        params[-1][...] = baseline_bias(statistic, y_enc, sw, params[-1].shape[0])

    def _start_statistic(self) -> str | None:
        """The constant ``intercept_init`` starts the output bias at (a
        :data:`~gdlab.core.models.baseline.START_STATISTICS` name), None for ``"zero"``."""
        return None if self.intercept_init == "zero" else self.intercept_init

    def _warm_start_mismatch(self, previous: dict[str, Any], then: list, fresh: list) -> str:
        """Why ``warm_start`` cannot continue the previous solution (its parameters, shaped
        ``then``, are not this fit's, ``fresh``): the parameters that changed, named."""
        built = previous.get("_built_with") or {}
        now = self._state_config()
        changed = [k for k in ("model", "hidden_layer_sizes", "model_params")
                   if k in built and built[k] != now[k]]
        if built.get("model") == now["model"] and now["model"] != repr("mlp"):
            changed = [k for k in changed if k != "hidden_layer_sizes"]  # unused: no cause
        shown = ", ".join(f"{k} ({built[k]} -> {now[k]})" for k in changed)
        width = previous.get("n_features_in_")
        if width is not None and width != self.n_features_in_:  # _fit_view's X
            shown = ", ".join(filter(None, [f"the features ({width} -> "
                                            f"{self.n_features_in_})", shown]))
        why = (f"{shown} changed since" if shown else
               f"its parameters are shaped {[tuple(s) for s in then]}, this fit's "
               f"{[p.shape for p in fresh]}")
        return (f"warm_start=True continues the previous fit, but {why}: its parameters "
                "cannot start this fit; set warm_start=False to start afresh with the new "
                "values")

    def _run(self, run: _Run):
        """Run the epochs of :meth:`_start`'s training and publish what they learned (also
        when they raise: a divergence restores finite parameters, a callback may abort)."""
        state, cfg, model = run.state, run.config, run.model
        self._state = state
        try:
            converged = run_epochs(run.problem, state, run.optimizer, cfg, run.epochs)
        except DivergenceError as exc:
            better = self._divergence_advice(run, exc)
            if better is None:
                raise
            raise DivergenceError(  # the same error, advising from the data it was given
                exc.epoch, exc.learning_rate, exc.loss, exc.overflow, exc.optimizer, exc.step,
                advice=better,
            ).with_traceback(exc.__traceback__) from None
        finally:
            self._publish(state, model)
        restored = cfg.early_stopping and (converged or state.best_params is not None)
        if cfg.early_stopping and not converged and state.best_params is not None:
            for p, b in zip(state.params, state.best_params, strict=True):
                np.copyto(p, b)
            self._publish(state, model)
        if cfg.verbose and not run.incremental:
            self._say_best_epoch(restored)
        if not run.incremental and self.tol is not None:
            message = self._convergence_message(run, converged, restored)
            if message is not None:
                warnings.warn(message, ConvergenceWarning, stacklevel=4)
        return self

    def _say_best_epoch(self, restored: bool) -> None:
        """The verbose run's last line: the epoch of the best monitored loss and whether its
        weights are the ones returned."""
        if not self.best_epoch_:
            return
        if restored:
            print(f"early stopping: restored the weights of epoch {self.best_epoch_} "
                  f"(best val_loss={self.best_loss_:.6g}) of {self.n_iter_} epochs run",
                  flush=True)
        else:
            print(f"lowest training loss {self.best_loss_:.6g} in epoch {self.best_epoch_} "
                  f"of {self.n_iter_}; the weights returned are the last epoch's", flush=True)

    def _scale_causes(self, run: _Run, slow: bool = False) -> list[str]:
        """Sentences naming unscaled data as a fit's likely trouble (see
        :mod:`gdlab.estimators.advice`); none for a standardised row view (a CV fold's).
        ``slow``: the fit ran out of epochs without oscillating: one large scale is not
        named (whether its rate was small for it, sgd's, or its steps bounded, adam's, the
        same rate on standardised features trains slower still: R² 0.97 -> 0.02, 0.93 ->
        0.05); far-apart and off-centre features still are."""
        problem = run.problem
        if problem.is_view:
            return []
        causes = [feature_scale_cause(problem.X, type(self).__name__, self._column_names(),
                                      large=not slow)]
        if self._advises_target_scale:
            bs, n = run.config.batch_size, problem.n_rows
            batches = 1 if bs is None or bs >= n else -(-n // bs)  # the last one partial
            kind = ("linear" if isinstance(run.model, LinearModel) else
                    "mlp" if isinstance(run.model, MLP) else "plug-in")
            causes.insert(0, target_scale_cause(
                problem.y, self.optimizer, float(self.learning_rate), kind,
                steps=self.n_iter_ * batches, epochs=self.n_iter_, tol=self.tol,
                warm=run.warm))
        return [c for c in causes if c]

    def _column_names(self) -> list[str] | None:
        """The fitted columns' names (``feature_names_in_``) for the advice, else None."""
        names = getattr(self, "feature_names_in_", None)
        return None if names is None else [str(n) for n in names]

    def _divergence_advice(self, run: _Run, exc: DivergenceError) -> str | None:
        """The advice of the engine's divergence ``exc`` from the data this fit was given
        (:func:`gdlab.estimators.advice.divergence_advice`), or None to keep the engine's:
        a row view's (gdlab.experiment's folds: the pipeline's
        :func:`~gdlab.experiment.faults.explain_divergence` knows its preprocessing) or an
        error that is not the engine's own (a callback's subclass)."""
        if type(exc) is not DivergenceError or run.problem.is_view:
            return None
        causes = [feature_scale_cause(run.problem.X, type(self).__name__,
                                      self._column_names())]
        checked_y = None
        if self._advises_target_scale:
            # a linear model's divergence does not depend on a large target's scale (only
            # a small one's, under steps of about the learning rate): not named
            linear = isinstance(run.model, LinearModel)
            causes.insert(0, target_divergence_cause(
                run.problem.y, self.optimizer, exc.learning_rate, linear=linear, tol=self.tol))
            if not linear:
                checked_y = run.problem.y
        causes = [c for c in causes if c]
        checked = "" if causes else checked_scales(run.problem.X, checked_y)
        return divergence_advice(exc.overflow, exc.learning_rate, causes, checked)

    def _convergence_message(self, run: _Run, converged: bool, restored: bool) -> str | None:
        """The ConvergenceWarning of a finished ``fit``, or None: the ``tol`` rule never
        stopped it, or it stopped on an oscillating training loss (unless early stopping
        restored its best weights); with the likely cause when the data show one."""
        losses = self.loss_curve_
        oscillating = not restored and oscillated(losses)
        if converged and not oscillating:
            return None if restored else self._stall_message(run)
        causes = self._scale_causes(run, slow=not (converged or oscillating))
        # the features' scales are unknown only for a row view not standardised on the fly
        # (a checked X names unscaled ones in ``causes``; a standardised view needs nothing)
        unknown = run.problem.is_view and run.problem.center is None
        text = (oscillation_text(losses, float(self.learning_rate), unknown)
                if oscillating else None)
        owner = type(self).__name__
        if converged:
            return oscillation_message(owner, self.n_iter_no_change, self.tol, text, causes)
        return unconverged_message(owner, self.max_epochs, self.tol, self.n_iter_no_change,
                                   causes, text)

    def _stall_message(self, run: _Run) -> str | None:
        """The ConvergenceWarning of a fit the ``tol`` rule stopped on the training loss
        before it trained (:func:`gdlab.core.stall.probe_stall`), or None; probed only when
        its loss fell by less than half and did not rise
        (:func:`gdlab.core.stall.may_have_stalled`)."""
        if run.start_params is None or not may_have_stalled(self.loss_curve_,
                                                            self.n_iter_no_change):
            return None
        cfg = run.config
        linear = isinstance(run.model, LinearModel)
        stall = probe_stall(run.problem, run.start_params, self.params_, cfg.alpha,
                            cfg.l1_ratio, linear,
                            earlier_start=run.state.first_loss if run.warm else None)
        if not stall.stalled(self.tol):
            return None
        owner = type(self).__name__
        problem = run.problem
        causes = []
        if problem.center is None:  # a view standardised on the fly needs no scaling
            # one large scale is no stall's cause: larger features take larger steps
            causes.append(feature_scale_cause(problem.X, owner, large=False)
                          or small_features_cause(problem.X, owner))
        if self._advises_target_scale:  # a view's y holds its rows' targets only
            y = problem.y if problem.rows is None else problem.y[problem.rows]
            causes.insert(0, small_target_cause(y))
        return stall_message(owner, self.tol, self.n_iter_no_change, self.n_iter_,
                             stall.start_loss, stall.end_loss, stall.probe_loss,
                             [c for c in causes if c], float(self.learning_rate))

    def _warn_schedule_reach(self) -> None:
        """Warn when the schedule can never change the rate before the fit stops."""
        message = schedule_reach_message(self.schedule, self.schedule_params,
                                         self.max_epochs, self.tol, self.n_iter_no_change)
        if message is not None:
            warnings.warn(f"{type(self).__name__}: {message}", ScheduleReachWarning,
                          stacklevel=5)

    def _warn_batch_size(self, n_train: int) -> None:
        """Warn (as MLPRegressor does) when ``batch_size`` exceeds the training rows: each
        epoch is then one full-batch step, not the mini-batches asked for."""
        if self.batch_size is not None and self.batch_size > n_train:
            warnings.warn(
                f"{type(self).__name__}: Got batch_size={self.batch_size} > "
                f"n_samples={n_train} (the training rows); clipping: every epoch is one "
                "full-batch step",
                BatchSizeWarning,
                stacklevel=5,
            )

    def _publish(self, state: LoopState, model) -> None:
        """Expose the learned state under scikit-learn's attribute names."""
        self.params_ = state.params
        self.model_ = model
        self.n_iter_ = state.epoch
        self.history_ = {k: list(v) for k, v in state.history.items()}
        self.loss_curve_ = list(state.history["loss"])
        self.best_loss_ = state.best_loss
        self.best_epoch_ = getattr(state, "best_epoch", 0)
        for stale in ("coef_", "intercept_", "coefs_", "intercepts_"):
            self.__dict__.pop(stale, None)  # a refit as another model family
        if isinstance(model, LinearModel):
            self._publish_linear(state.params[0], state.params[1])
        elif isinstance(model, MLP):
            self.coefs_ = state.params[0::2]
            self.intercepts_ = state.params[1::2]

    def _publish_linear(self, W, b) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _checked_X(self, X) -> np.ndarray:
        """X for prediction, by scikit-learn's checks; one holding NaN or infinity is refused
        naming the columns (``feature_names_in_`` when fitted with names, else numbers) and
        rows (the check runs again, locating, only then)."""
        sparse = accept_sparse(self.model_, X)
        with nonfinite_located(type(self).__name__, X, self._dtype(), action="predicted on",
                               n_features=getattr(self, "n_features_in_", None),
                               columns=getattr(self, "feature_names_in_", None)):
            return validate_data(self, X, reset=False, dtype=self._dtype(), accept_sparse=sparse)

    def _raw(self, X) -> np.ndarray:
        check_is_fitted(self, "params_")
        X = self._checked_X(X)
        Z, _ = self.model_.forward(self.params_, X)
        return Z
