"""Above ``SURFACE_ROWS`` training rows the loss surface is the objective on a documented
seeded sample of the rows (the figure says so); up to it, on all of them, as before."""

from __future__ import annotations

import types

import numpy as np
import pytest
from sklearn.metrics import log_loss
from sklearn.pipeline import Pipeline

from gdlab import GDClassifier, GDRegressor
from gdlab.core.optim import GradientTransformation, make_optimizer
from gdlab.experiment import progress
from gdlab.experiment import trajectory as trajectory_module
from gdlab.experiment.trajectory import loss_surface, record_trajectory
from gdlab.reporting.compare import comparison_trajectories_figure
from gdlab.reporting.figure_sets import training_figures
from gdlab.reporting.landscape import trajectory_figure

N_ROWS, BOUND = 400, 150


@pytest.fixture
def data(monkeypatch):
    monkeypatch.setenv("GDLAB_JIT", "0")  # the compiled kernel is slow for a few rows
    rng = np.random.default_rng(1)
    X = rng.normal(size=(N_ROWS, 3))
    y = X @ np.array([1.5, -2.0, 0.5]) + 0.7 + rng.normal(0.0, 0.3, size=N_ROWS)
    return X, y


def _pipeline(est):
    return Pipeline([("preprocess", "passthrough"), ("model", est)])


def _regressor():
    return _pipeline(GDRegressor(optimizer="sgd", learning_rate=0.05, batch_size=None,
                                 max_epochs=30, tol=None, alpha=0.0, random_state=0))


def _documented_rows(n, size):
    """The sample the docs describe: ``size`` rows without replacement, seed 0, sorted."""
    return np.sort(np.random.default_rng(0).choice(n, size=size, replace=False))


def _squared_error(theta, X, y):
    return 0.5 * np.mean((X @ theta[:-1] + theta[-1] - y) ** 2)


def test_above_the_bound_the_surface_is_the_loss_on_the_seeded_sample(
    data, monkeypatch, tmp_path
):
    monkeypatch.setattr(trajectory_module, "SURFACE_ROWS", BOUND)
    X, y = data
    trajectory = record_trajectory(_regressor(), X, y)
    surface = loss_surface(trajectory, resolution=9)
    assert (surface.sample_rows, surface.n_rows) == (BOUND, N_ROWS)
    rows = _documented_rows(N_ROWS, BOUND)
    Xs, ys = X[rows], y[rows]
    expected = np.array([[_squared_error(surface.point(a, b), Xs, ys) for a in surface.a]
                         for b in surface.b])
    np.testing.assert_allclose(surface.values, expected, rtol=1e-10, atol=0)
    full = np.array([[_squared_error(surface.point(a, b), X, y) for a in surface.a]
                     for b in surface.b])
    assert np.abs(surface.values - full).max() > 1e-6  # not the loss on every row
    # the start and end markers: the same sample as the contours they sit on
    np.testing.assert_allclose(
        surface.path_loss, [_squared_error(p, Xs, ys) for p in trajectory.points], rtol=1e-12
    )
    figure = trajectory_figure(surface, tmp_path / "t.png")
    assert "(loss on a 150-row sample of the 400 training rows)" in figure.data["title"]
    assert f"end (loss {surface.path_loss[-1]:.3g})" in figure.data["legend"]


def test_a_classifier_above_the_bound_is_drawn_on_the_log_loss_of_the_sample(
    data, monkeypatch
):
    monkeypatch.setattr(trajectory_module, "SURFACE_ROWS", BOUND)
    X, y = data
    labels = np.where(y > np.median(y), "high", "low")
    est = GDClassifier(optimizer="sgd", learning_rate=0.1, batch_size=None, max_epochs=20,
                       tol=None, alpha=0.0, random_state=0)
    trajectory = record_trajectory(_pipeline(est), X, labels)
    surface = loss_surface(trajectory, resolution=5)
    rows = _documented_rows(N_ROWS, BOUND)
    positive = (labels[rows] == "low").astype(float)  # classes_ sorted: "high", "low"

    def sample_log_loss(theta):
        p = 1.0 / (1.0 + np.exp(-(X[rows] @ theta[:-1] + theta[-1])))
        return log_loss(positive, p, labels=[0.0, 1.0])

    expected = np.array([[sample_log_loss(surface.point(a, b)) for a in surface.a]
                         for b in surface.b])
    np.testing.assert_allclose(surface.values, expected, rtol=1e-9)


def test_up_to_the_bound_the_surface_is_the_full_objective_as_before(data, monkeypatch):
    X, y = data
    trajectory = record_trajectory(_regressor(), X, y)
    monkeypatch.setattr(trajectory_module, "SURFACE_ROWS", N_ROWS)  # exactly at the bound
    surface = loss_surface(trajectory, resolution=7)
    assert surface.sample_rows is None and surface.n_rows == N_ROWS
    for j, i in [(0, 0), (3, 4), (6, 2)]:
        theta = surface.point(surface.a[i], surface.b[j])
        assert surface.values[j, i] == trajectory.objective(theta)  # bit for bit
        assert surface.values[j, i] == pytest.approx(_squared_error(theta, X, y), rel=1e-12)
    assert surface.path_loss[-1] == trajectory.objective(trajectory.points[-1])


def _lines(capsys):
    return [line for line in capsys.readouterr().err.splitlines() if "loss surface" in line]


def test_a_long_surface_says_so_first(data, monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(trajectory_module, "SURFACE_ROWS", BOUND)
    monkeypatch.setattr(trajectory_module, "LONG_SURFACE", 1000)
    monkeypatch.delenv("GDLAB_PROGRESS", raising=False)
    monkeypatch.setattr(progress, "_printer", None)
    X, y = data
    trajectory = record_trajectory(_regressor(), X, y)
    variants = [types.SimpleNamespace(label=label, trajectory=trajectory)
                for label in ("sgd", "adam")]
    comparison_trajectories_figure(types.SimpleNamespace(variants=variants, vary="optimizer"),
                                   tmp_path / "c.png")
    points = len(trajectory.points)
    assert _lines(capsys) == [
        f"compare: variant {k}/2 {label}: loss surface: 31 x 31 grid + {points} path points, "
        f"{31 * 31 + points} evaluations of the loss on a 150-row sample of the 400 training "
        "rows"
        for k, label in ((1, "sgd"), (2, "adam"))
    ]
    cv = types.SimpleNamespace()
    monkeypatch.setattr("gdlab.reporting.figure_sets.loss_band_figure", lambda *a: None)
    monkeypatch.setattr("gdlab.reporting.figure_sets.lr_grad_figure", lambda *a: None)
    training_figures(cv, tmp_path, trajectory)
    assert _lines(capsys) == [
        f"train: loss surface: 41 x 41 grid + {points} path points, {41 * 41 + points} "
        "evaluations of the loss on a 150-row sample of the 400 training rows"
    ]
    monkeypatch.setattr(trajectory_module, "LONG_SURFACE", 10**7)  # a short one: no line
    training_figures(cv, tmp_path, trajectory)
    assert _lines(capsys) == []


def test_the_epoch_path_takes_its_start_from_one_step_not_a_whole_epoch(data, monkeypatch):
    """record_trajectory(every="epoch") reads θ₀ off the recording optimiser's first step;
    the rest of that fit's first epoch (on a million rows, a third of the train stage's
    extra refit) is not run."""
    X, y = data
    made = []

    def counting(name, params=None):
        opt = make_optimizer(name, params)
        calls = [0]
        made.append(calls)

        def update(*args):
            calls[0] += 1
            return opt.update(*args)

        return GradientTransformation(opt.init, update)

    monkeypatch.setattr(trajectory_module, "make_optimizer", counting)
    est = GDRegressor(optimizer="sgd", learning_rate=0.05, batch_size=50, max_epochs=3,
                      tol=None, alpha=0.0, random_state=0)
    trajectory = record_trajectory(_pipeline(est), X, y)
    assert [calls[0] for calls in made] == [0]  # stopped before its first update
    assert len(trajectory.points) == 4 and trajectory.steps.tolist() == [0, 8, 16, 24]
    np.testing.assert_array_equal(trajectory.points[0], np.zeros(4))  # the linear model's θ₀
    fitted = _pipeline(GDRegressor(**est.get_params())).fit(X, y).named_steps["model"]
    np.testing.assert_allclose(
        trajectory.points[-1], np.r_[fitted.params_[0].ravel(), fitted.params_[1]], rtol=1e-12
    )
