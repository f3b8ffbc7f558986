"""The path of the parameters during a fit, and the true training loss over a plane through it.

The engine's callbacks see the per-epoch record, not the parameters. :func:`record_trajectory`
therefore uses what the estimators offer: ``partial_fit`` epoch by epoch (the parameters after
every epoch), and a plug-in optimiser, :func:`recording`, that wraps the configured one and
copies the parameters it is handed at every step before updating them (the start θ₀, or every
step). The path ends at the fitted ``params_``.

:func:`loss_surface` evaluates the true objective (mean loss + penalty on the training rows,
as the optimiser sees it in full batch) on a grid over a plane:

* two parameters: the plane *is* the parameter space; the axes are the parameters themselves;
* more: the plane through the start θ₀ and the end θ_T, spanned by e₁ = (θ_T − θ₀)/‖θ_T − θ₀‖
  and e₂ = the main direction (first principal component) of the trajectory's deviation
  from the line start → end. The path is drawn as its projection on that plane;
  ``in_plane`` says how much of that deviation the plane holds (:func:`deviation_in_plane`:
  the start → end direction is in the plane by construction, so a share of the whole
  displacement would read ~100% for any path).

Above :data:`SURFACE_ROWS` training rows the grid and the path's losses are evaluated on a
seeded sample of that many rows (:func:`surface_rows`), not on all of them: one evaluation
costs a pass over the rows and a 41 × 41 grid is 1681 of them (202 s on 800 000 rows × 67
features). ``LossSurface.sample_rows`` says so, and the figure's title.
"""

from __future__ import annotations

import math
import uuid
import warnings
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.base import clone, is_classifier
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from gdlab.core.loop import DivergenceError
from gdlab.core.models import LinearModel, add_penalty, make_loss, objective
from gdlab.core.optim import GradientTransformation, make_optimizer
from gdlab.data.preprocessing import in_place
from gdlab.estimators.advice import ScheduleReachWarning
from gdlab.estimators.base import BatchSizeWarning
from gdlab.experiment.target import scales_target, split_target

RECORDING = "gdlab.experiment.trajectory:recording"


class _Recorded(Exception):
    """The recording optimiser has the points it was asked for: the fit stops there."""

SURFACE_ROWS = 50_000
"""Above this many training rows a loss surface is evaluated on a seeded sample of this size."""
SURFACE_SEED = 0
"""The seed of that sample (the same rows for every surface of the same data)."""
_SINKS: dict[str, list[np.ndarray]] = {}


def recording(
    inner: str = "adam",
    inner_params: dict[str, Any] | None = None,
    sink: str = "",
    stride: int = 1,
    stop_after: int = 0,
) -> GradientTransformation:
    """Plug-in optimiser: ``inner`` (any optimiser name or import path) that also appends a
    flat copy of the parameters to the sink ``sink`` every ``stride`` steps, before updating.
    ``stop_after`` > 0: ends the fit (:class:`_Recorded`) once that many points are in."""
    opt = make_optimizer(inner, inner_params)
    if sink not in _SINKS:
        raise ValueError(f"recording optimiser: no open sink {sink!r} (use record_trajectory)")
    points = _SINKS[sink]
    counter = [0]

    def init(params):
        return opt.init(params)

    def update(grads, state, params, learning_rate):
        if counter[0] % stride == 0:
            points.append(np.concatenate([np.ravel(p) for p in params]).astype(np.float64))
            if stop_after and len(points) >= stop_after:
                raise _Recorded
        counter[0] += 1
        return opt.update(grads, state, params, learning_rate)

    return GradientTransformation(init, update)


class TrainingObjective:
    """The objective a fitted estimator minimised, as a function of a flat parameter vector:
    mean loss on ``(X, y)`` (already preprocessed) plus the elastic-net penalty."""

    def __init__(self, estimator: Any, X: np.ndarray, y: np.ndarray):
        self.model = estimator.model_
        self.shapes = [p.shape for p in estimator.params_]
        params = estimator.get_params()
        self.X = np.asarray(X, dtype=np.float64)
        if is_classifier(estimator):
            self.y = np.searchsorted(estimator.classes_, np.asarray(y)).astype(np.intp)
            n_outputs = 1 if len(estimator.classes_) == 2 else len(estimator.classes_)
            name = params.get("loss") or "log_loss"
        else:
            self.y = np.asarray(y, dtype=np.float64)
            n_outputs = 1
            name = params.get("loss") or "squared_error"
        self.loss = make_loss(name, n_outputs, params.get("epsilon", 1.0))
        self.w = np.full(self.X.shape[0], 1.0 / self.X.shape[0])
        if is_classifier(estimator) and params.get("class_weight") is not None:
            # the weighted mean the classifier minimised (class_weight times unit weights)
            from sklearn.utils.class_weight import compute_sample_weight

            cw = compute_sample_weight(params["class_weight"], np.asarray(y))
            self.w = cw / cw.sum()
        self.alpha = float(params.get("alpha") or 0.0)
        self.l1_ratio = float(params.get("l1_ratio") or 0.0)

    @property
    def n_rows(self) -> int:
        return int(self.X.shape[0])

    def on_rows(self, rows: np.ndarray) -> TrainingObjective:
        """The same objective on the rows ``rows`` only (their mean loss + the penalty)."""
        sub = object.__new__(TrainingObjective)
        sub.__dict__.update(self.__dict__)
        sub.X, sub.y = self.X[rows], self.y[rows]
        w = self.w[rows]  # uniform, or class-weighted: renormalised over the rows
        sub.w = w / w.sum()
        return sub

    def unflatten(self, theta: np.ndarray) -> list[np.ndarray]:
        out, start = [], 0
        for shape in self.shapes:
            size = math.prod(shape)
            out.append(np.array(theta[start : start + size], dtype=np.float64).reshape(shape))
            start += size
        return out

    def on_plane(self, origin: np.ndarray, basis: np.ndarray) -> Callable[[float, float], float]:
        """``f(a, b) = self(origin + a·basis[0] + b·basis[1])``. For the linear model the
        outputs are ``Z₀ + a·Z₁ + b·Z₂`` with the three products ``X @ W`` computed once, so
        a point costs O(rows × outputs), not a product with ``X`` (equal to rounding)."""
        if type(self.model) is not LinearModel:
            return lambda a, b: self(origin + a * basis[0] + b * basis[1])
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            Z0, Z1, Z2 = (self.model.forward(self.unflatten(t), self.X)[0]
                          for t in (origin, basis[0], basis[1]))

        def value(a: float, b: float) -> float:
            params = self.unflatten(origin + a * basis[0] + b * basis[1])
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                loss, _ = self.loss.value_grad(Z0 + a * Z1 + b * Z2, self.y, self.w, grad=False)
                mask = self.model.penalized(params)
                return float(loss + add_penalty(params, mask, self.alpha, self.l1_ratio))

        return value

    def __call__(self, theta: np.ndarray) -> float:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return float(
                objective(
                    self.model, self.loss, self.unflatten(theta), self.X, self.y, self.w,
                    self.alpha, self.l1_ratio,
                )
            )


@dataclass
class Trajectory:
    """Flat parameter vectors along one fit (row 0 = start, last row = fitted ``params_``)."""

    points: np.ndarray
    steps: np.ndarray
    steps_per_epoch: int
    n_iter: int
    names: list[str]
    objective: TrainingObjective
    diverged: bool = False
    history: dict[str, list] = field(default_factory=dict)
    target_scaled: bool = False  # the objective is on the standardised target

    @property
    def n_params(self) -> int:
        return int(self.points.shape[1])

    def losses(self) -> np.ndarray:
        """The true objective at every recorded point."""
        return np.array([self.objective(p) for p in self.points])


def parameter_names(estimator: Any, feature_names: list[str] | None = None) -> list[str]:
    """Readable names of the flat parameters: ``coef[feature]`` / ``intercept`` for linear
    models (``coef[class, feature]`` with several outputs), ``p<k>[i]`` otherwise."""
    shapes = [p.shape for p in estimator.params_]
    if len(shapes) == 2 and len(shapes[0]) == 2 and shapes[1] == (shapes[0][1],):
        n_features, n_outputs = shapes[0]
        features = list(feature_names or [f"x{i}" for i in range(n_features)])
        if n_outputs == 1:
            return [f"coef[{f}]" for f in features] + ["intercept"]
        classes = list(getattr(estimator, "classes_", range(n_outputs)))
        coef = [f"coef[{classes[k]}, {f}]" for f in features for k in range(n_outputs)]
        return coef + [f"intercept[{c}]" for c in classes]
    return [f"p{t}[{i}]" for t, shape in enumerate(shapes) for i in range(math.prod(shape))]


def _replay_weights(estimator: Any, y: np.ndarray) -> dict[str, Any]:
    """``{"class_weight": {label: weight}}`` for a classifier of ``class_weight="balanced"``,
    else ``{}``: partial_fit refuses "balanced" (one call's class frequencies are not the
    data's), but every call of the replay sees all of ``y``, so the weights ``fit`` computed
    from ``y`` are given as the mapping they are (before, train failed after the refit on
    ``model.class_weight: balanced``)."""
    class_weight = estimator.get_params().get("class_weight")
    if not isinstance(class_weight, str):
        return {}
    from sklearn.utils.class_weight import compute_class_weight

    classes = np.unique(y)
    weights = compute_class_weight(class_weight, classes=classes, y=y)
    return {"class_weight": dict(zip(classes.tolist(), weights.tolist(), strict=True))}


def _flat(params: list[np.ndarray]) -> np.ndarray:
    return np.concatenate([np.ravel(p) for p in params]).astype(np.float64)


def _recorded_fit(
    estimator: Any, X: np.ndarray, y: np.ndarray, stride: int, max_epochs: int | None = None,
    stop_after: int = 0,
) -> tuple[list[np.ndarray], bool]:
    """Fit ``estimator`` with the recording optimiser; returns (recorded points, diverged).
    ``stop_after`` > 0: the fit ends once that many points are recorded (``estimator`` is
    then left part-way, not fitted)."""
    settings = estimator.get_params()
    key = uuid.uuid4().hex
    _SINKS[key] = []
    changes: dict[str, Any] = {
        "optimizer": RECORDING,
        "optimizer_params": {
            "inner": settings["optimizer"],
            "inner_params": dict(settings.get("optimizer_params") or {}),
            "sink": key,
            "stride": stride,
            **({"stop_after": stop_after} if stop_after else {}),
        },
        "callbacks": None,
    }
    if max_epochs is not None:  # the start of a partial_fit replay: initialised the same way
        changes.update(max_epochs=max_epochs, tol=None, early_stopping=False)
    estimator.set_params(**changes)
    diverged = False
    try:
        with warnings.catch_warnings():
            _quiet_fit_warnings()
            estimator.fit(X, y)
    except DivergenceError:
        diverged = True
    except _Recorded:
        pass
    finally:
        recorded = _SINKS.pop(key)
        estimator.set_params(**{k: settings[k] for k in changes})
    return recorded, diverged


def _quiet_fit_warnings() -> None:
    """Inside a ``warnings.catch_warnings`` block: no ConvergenceWarning, BatchSizeWarning or
    ScheduleReachWarning from the fits here. They repeat a fit the caller ran and reported
    (the stage says the batch size and the schedule once), and the start's one-epoch fit
    would call any ``step`` schedule one that "never changes the rate before max_epochs=1"."""
    warnings.simplefilter("ignore", ConvergenceWarning)
    warnings.simplefilter("ignore", BatchSizeWarning)
    warnings.simplefilter("ignore", ScheduleReachWarning)


def _fit_quietly(estimator: Any, X: np.ndarray, y: np.ndarray) -> bool:
    """``fit``; returns whether it diverged."""
    with warnings.catch_warnings():
        _quiet_fit_warnings()
        try:
            estimator.set_params(callbacks=None).fit(X, y)
        except DivergenceError:
            return True
    return False


def record_trajectory(
    pipeline: Any,
    X: Any,
    y: np.ndarray,
    *,
    feature_names: list[str] | None = None,
    every: str = "epoch",
    max_points: int = 2000,
    n_iter: int | None = None,
    private_rows: bool = False,
) -> Trajectory:
    """Fit a clone of ``pipeline`` (``preprocess`` + ``model`` steps) on ``(X, y)`` and record
    its parameters, starting with the initial ones and ending with the fitted ``params_``.

    ``every="epoch"``: the parameters after each epoch. The fit runs as usual (the engine's
    fastest path), then again epoch by epoch with ``partial_fit`` for as many epochs (the same
    seed gives the same initialisation, shuffles and schedule, so the same path); the start
    comes from the recording optimiser's first step. Not with ``early_stopping``, whose
    held-out rows ``partial_fit`` does not set aside.
    ``every="step"``: every optimiser step (at most about ``max_points`` of them, evenly
    strided), all from one fit with the recording optimiser on the generic loop.

    ``n_iter`` (epoch mode): the number of epochs when it is known (the fit was already run,
    e.g. the train stage's refit), which saves running it once more.

    ``private_rows``: ``X`` is a copy nobody else reads, which the imputer and scaler may
    overwrite instead of copying it (:func:`gdlab.data.preprocessing.in_place`).

    A diverging fit is recorded up to the divergence (``diverged=True``). Its fits show no
    ConvergenceWarning, BatchSizeWarning or ScheduleReachWarning: they repeat a fit the
    caller has run or reported.
    """
    if every not in ("epoch", "step"):
        raise ValueError(f"every must be 'epoch' or 'step', got {every!r}")
    model = clone(pipeline)
    preprocess = model.named_steps["preprocess"]
    # the inner estimator on the target it trains on (standardised with scale_target)
    estimator, y, _ = split_target(model.named_steps["model"], y)
    if preprocess is None or preprocess == "passthrough":
        Xt = np.asarray(X, dtype=np.float64)
    else:
        with in_place(preprocess) if private_rows else nullcontext():
            Xt = np.asarray(preprocess.fit_transform(X, y), dtype=np.float64)
    settings = estimator.get_params()
    n = Xt.shape[0]
    batch = settings.get("batch_size")
    steps_per_epoch = 1 if batch is None or batch >= n else math.ceil(n / batch)

    if every == "step":
        stride = max(1, math.ceil(settings["max_epochs"] * steps_per_epoch / max_points))
        recorded, diverged = _recorded_fit(estimator, Xt, y, stride)
        points = [*recorded, _flat(estimator.params_)]
        steps = [*(np.arange(len(recorded)) * stride), estimator.n_iter_ * steps_per_epoch]
        n_iter, history = int(estimator.n_iter_), estimator.history_
    else:
        if n_iter is None:  # how many epochs the fit runs (the tol rule, divergence)
            diverged = _fit_quietly(estimator, Xt, y)
            n_iter = int(estimator.n_iter_)
        else:
            diverged = False
        # the start θ₀: the recording optimiser's first step, which ends that fit (it ran
        # a whole epoch, on 800 000 rows a third of this replay's time)
        start, _ = _recorded_fit(
            clone(estimator), Xt, y, stride=10**12, max_epochs=1, stop_after=1
        )
        replay = clone(estimator).set_params(callbacks=None, **_replay_weights(estimator, y))
        extra = {"classes": np.unique(y)} if is_classifier(estimator) else {}
        points, steps = start[:1], [0]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", BatchSizeWarning)  # the stage says it once
            for epoch in range(n_iter):
                try:
                    replay.partial_fit(Xt, y, **extra)
                except DivergenceError:
                    diverged = True
                    break
                extra = {}
                points.append(_flat(replay.params_))
                steps.append((epoch + 1) * steps_per_epoch)
        if hasattr(replay, "params_"):  # a diverged path ends at its last finite epoch
            estimator = replay
        history = getattr(estimator, "history_", {})
    points_arr = np.vstack(points)
    steps_arr = np.asarray(steps, dtype=np.int64)
    finite = np.isfinite(points_arr).all(axis=1)
    return Trajectory(
        points=points_arr[finite],
        steps=steps_arr[finite],
        steps_per_epoch=steps_per_epoch,
        n_iter=n_iter,
        names=parameter_names(estimator, feature_names),
        objective=TrainingObjective(estimator, Xt, y),
        diverged=diverged,
        history={k: list(v) for k, v in history.items()},
        target_scaled=scales_target(model),
    )


@dataclass
class LossSurface:
    """The true loss on a grid over a plane ``origin + a·basis[0] + b·basis[1]``.

    ``values[j, i]`` is the loss at ``(a[i], b[j])`` (matplotlib's ``contour(a, b, values)``
    order); ``path`` holds the trajectory's plane coordinates, ``path_loss`` the loss at the
    trajectory's actual points.
    """

    origin: np.ndarray
    basis: np.ndarray
    a: np.ndarray
    b: np.ndarray
    values: np.ndarray
    path: np.ndarray
    path_loss: np.ndarray
    axis_labels: tuple[str, str]
    exact: bool
    in_plane: float
    target_scaled: bool = False  # the loss is on the standardised target
    sample_rows: int | None = None  # evaluated on a sample of this many rows (None: all)
    n_rows: int | None = None  # the training rows the objective has

    def point(self, a: float, b: float) -> np.ndarray:
        """The parameter vector at plane coordinates ``(a, b)``."""
        return self.origin + a * self.basis[0] + b * self.basis[1]


PLANE_AXES = ("distance along start → end (‖Δθ‖, parameter units)",
              "main orthogonal direction (PCA), same units")
"""The plane's axes: coordinates on the orthonormal :func:`plane_basis` are Euclidean
distances in parameter space from the start θ₀ (the end sits at ‖θ_T − θ₀‖), in the units of
the model's parameters (coefficients of the preprocessed features, intercept). The axis said
"direction start → end", without a unit."""


def plane_basis(points: np.ndarray) -> np.ndarray:
    """Orthonormal (2, P) basis: start → end, then the first principal component of the
    path's deviation from that line (a fixed orthogonal direction if the path is straight)."""
    start, end = points[0], points[-1]
    n_params = points.shape[1]
    d = points - start
    chord = end - start
    norm = np.linalg.norm(chord)
    if norm > 0:
        e1 = chord / norm
    else:  # a closed path: its own main direction
        _, _, vt = np.linalg.svd(d, full_matrices=False)
        e1 = vt[0] if np.linalg.norm(d) > 0 else np.eye(n_params)[0]
    residual = d - np.outer(d @ e1, e1)
    scale = max(np.linalg.norm(d), 1e-300)
    e2 = None
    if np.linalg.norm(residual) > 1e-9 * scale:
        _, _, vt = np.linalg.svd(residual, full_matrices=False)
        e2 = vt[0] - (vt[0] @ e1) * e1
    if e2 is None or np.linalg.norm(e2) < 1e-9:
        rng = np.random.default_rng(0)
        e2 = rng.standard_normal(n_params)
        e2 -= (e2 @ e1) * e1
    return np.vstack([e1, e2 / np.linalg.norm(e2)])


def deviation_in_plane(points: np.ndarray, basis: np.ndarray) -> float:
    """The share of the path's squared deviation from the straight line start → end that lies
    in the plane of ``basis`` (its first row the start → end direction): 1.0 for a path in
    the plane, or a straight one; the rest of the deviation is out of the drawing."""
    d = points - points[0]
    residual = d - np.outer(d @ basis[0], basis[0])
    total = float(np.sum(residual**2))
    if total <= 1e-18 * max(float(np.sum(d**2)), 1e-300):
        return 1.0
    return min(float(np.sum((residual @ basis[1]) ** 2)) / total, 1.0)


def surface_rows(n_rows: int, limit: int | None = None) -> np.ndarray | None:
    """The rows a loss surface is evaluated on: ``None`` (all of them) up to ``limit``
    (default :data:`SURFACE_ROWS`) rows, else ``limit`` of them drawn without replacement with
    :data:`SURFACE_SEED`, in ascending order."""
    limit = SURFACE_ROWS if limit is None else limit
    if n_rows <= limit:
        return None
    rng = np.random.default_rng(SURFACE_SEED)
    return np.sort(rng.choice(n_rows, size=limit, replace=False))


def surface_work(trajectory: Trajectory, resolution: int = 41) -> tuple[int, int, int]:
    """(grid evaluations, rows each one reads, the training rows) of
    ``loss_surface(trajectory, resolution=resolution)``."""
    n_rows = trajectory.objective.n_rows
    rows = surface_rows(n_rows)
    evaluations = resolution * resolution + len(trajectory.points)
    return evaluations, n_rows if rows is None else len(rows), n_rows


LONG_SURFACE = 10**7
"""Evaluations × rows from which drawing a surface says so on a progress line (~1 s)."""


def surface_line(trajectory: Trajectory, resolution: int = 41) -> str | None:
    """What a progress line says before a long surface (``None`` for a short one)."""
    evaluations, rows, n_rows = surface_work(trajectory, resolution)
    if evaluations * rows < LONG_SURFACE:
        return None
    on = (f"a {rows:,}-row sample of the {n_rows:,} training rows" if rows < n_rows
          else f"all {n_rows:,} training rows").replace(",", " ")
    return (f"loss surface: {resolution} x {resolution} grid + {len(trajectory.points)} path "
            f"points, {evaluations} evaluations of the loss on {on}")


def loss_surface(
    trajectory: Trajectory, *, resolution: int = 41, margin: float = 0.3
) -> LossSurface:
    """Contour data of the true loss around ``trajectory`` (see the module docstring).

    Above :data:`SURFACE_ROWS` rows both the grid and ``path_loss`` (the start and end
    markers' losses) are the objective on the rows :func:`surface_rows` draws, so the end
    marker's loss is the one of the contour it sits on."""
    points = trajectory.points
    n_params = points.shape[1]
    if n_params < 2:
        raise ValueError("a loss surface needs at least two parameters")
    if n_params == 2:
        origin, basis = np.zeros(2), np.eye(2)
        labels = (trajectory.names[0], trajectory.names[1])
    else:
        origin, basis = points[0].copy(), plane_basis(points)
        labels = PLANE_AXES
    d = points - origin
    path = d @ basis.T
    in_plane = 1.0 if n_params == 2 else deviation_in_plane(points, basis)
    a = _axis(path[:, 0], margin, None)
    b = _axis(path[:, 1], margin, float(np.ptp(path[:, 0])) if n_params > 2 else None)
    a_grid, b_grid = np.linspace(*a, resolution), np.linspace(*b, resolution)
    objective_fn = trajectory.objective
    n_rows = objective_fn.n_rows
    rows = surface_rows(n_rows)
    if rows is not None:
        objective_fn = objective_fn.on_rows(rows)
    values = np.empty((resolution, resolution))
    if rows is None:  # all the rows: point by point, as the optimiser evaluates it
        at = lambda a, b: objective_fn(origin + a * basis[0] + b * basis[1])  # noqa: E731
    else:  # a sample: the linear model's outputs from three products computed once
        at = objective_fn.on_plane(origin, basis)
    # one thread for BLAS on a sample: its dot products of 50 000 rows split over threads
    # waited ~10 ms each for a busy core (a 41 × 41 grid took 14 s instead of 0.5 s)
    with nullcontext() if rows is None else threadpool_limits(1, user_api="blas"):
        for j, bj in enumerate(b_grid):
            for i, ai in enumerate(a_grid):
                values[j, i] = at(ai, bj)
        path_loss = np.array([objective_fn(p) for p in points])
    return LossSurface(
        origin, basis, a_grid, b_grid, values, path, path_loss, labels, n_params == 2, in_plane,
        trajectory.target_scaled, None if rows is None else len(rows), n_rows,
    )


def _axis(coords: np.ndarray, margin: float, other_span: float | None) -> tuple[float, float]:
    """Range covering ``coords`` with ``margin`` of its span on each side; at least half of
    ``other_span`` wide (so a nearly straight path still shows the valley around it)."""
    low, high = float(coords.min()), float(coords.max())
    span = high - low
    floor = 0.5 * other_span if other_span else 0.0
    if span < floor:
        mid = 0.5 * (low + high)
        low, high, span = mid - floor / 2, mid + floor / 2, floor
    if span == 0:
        span = max(abs(low), 1.0)
    return low - margin * span, high + margin * span


def refit_trajectory(
    params: Any,
    X: Any,
    y: np.ndarray,
    feature_names: list[str] | None = None,
    n_iter: int | None = None,
) -> Trajectory:
    """The trajectory of the train stage's refit (``n_iter`` epochs): the configured pipeline
    on all of ``(X, y)``, same seed, so it ends at the refitted model's parameters. Like
    the refit, it copies ``X`` once at most (:func:`gdlab.experiment.training.rows_to_fit`)."""
    from gdlab.experiment.model import build_pipeline
    from gdlab.experiment.training import rows_to_fit

    pipeline = build_pipeline(params)
    rows, private = rows_to_fit(X, feature_names, pipeline.named_steps["preprocess"])
    return record_trajectory(
        pipeline, rows, y, feature_names=feature_names, n_iter=n_iter, private_rows=private
    )
