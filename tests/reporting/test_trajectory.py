"""The parameter trajectory and the loss surface it is drawn on: exact for two parameters."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from gdlab import GDClassifier, GDRegressor
from gdlab.experiment.model import fit_pipeline
from gdlab.experiment.trajectory import (
    LossSurface,
    loss_surface,
    plane_basis,
    record_trajectory,
)
from gdlab.reporting.landscape import trajectories_figure, trajectory_figure


@pytest.fixture
def line_data(monkeypatch):
    # the compiled full-batch kernel is multi-threaded: slow for 200 rows on a busy machine
    monkeypatch.setenv("GDLAB_JIT", "0")
    rng = np.random.default_rng(0)
    x = rng.normal(2.0, 1.5, size=200)
    y = 3.0 * x - 1.0 + rng.normal(0.0, 0.5, size=200)
    return x[:, None], y


def _least_squares(optimizer="sgd", learning_rate=0.1, **kw):
    est = GDRegressor(optimizer=optimizer, learning_rate=learning_rate, batch_size=None,
                      max_epochs=600, tol=None, alpha=0.0, random_state=0, **kw)
    return Pipeline([("preprocess", "passthrough"), ("model", est)])


def _true_loss(theta, X, y):
    """½ mean((w x + b − y)²): the squared-error objective, written out."""
    return 0.5 * np.mean((X[:, 0] * theta[0] + theta[1] - y) ** 2)


def test_two_parameter_trajectory_ends_at_lstsq_and_contours_are_the_true_loss(
    line_data, tmp_path
):
    X, y = line_data
    optimum = np.linalg.lstsq(np.column_stack([X[:, 0], np.ones(len(y))]), y, rcond=None)[0]
    trajectory = record_trajectory(_least_squares(), X, y)
    assert trajectory.names == ["coef[x0]", "intercept"]
    surface = loss_surface(trajectory)
    assert surface.exact and surface.axis_labels == ("coef[x0]", "intercept")
    figure = trajectory_figure(surface, tmp_path / "trajectory.png",
                               markers={"lstsq optimum": optimum})
    assert figure.path.stat().st_size > 10_000

    drawn = figure.data["path"]  # read back from the drawn line
    np.testing.assert_allclose(drawn[0], [0.0, 0.0])  # the linear model starts at zero
    np.testing.assert_allclose(drawn[-1], optimum, rtol=0, atol=1e-6)
    assert len(drawn) == trajectory.n_iter + 1 == 601

    a, b, values = figure.data["a"], figure.data["b"], figure.data["values"]
    rng = np.random.default_rng(1)
    for i, j in rng.integers(0, len(a), size=(25, 2)):
        assert values[j, i] == pytest.approx(_true_loss((a[i], b[j]), X, y), rel=1e-12)
    # the loss at every drawn point is the true loss, and (full batch) the engine's curve
    expected = [_true_loss(p, X, y) for p in drawn]
    np.testing.assert_allclose(figure.data["path_loss"], expected, rtol=1e-12)
    np.testing.assert_allclose(figure.data["path_loss"][:-1], trajectory.history["loss"],
                               rtol=1e-10)
    levels = figure.data["levels"]
    assert levels.min() == min(values.min(), figure.data["path_loss"][-1])
    assert levels.max() <= values.max()
    # the grid covers the path with a margin
    assert a.min() < drawn[:, 0].min() and drawn[:, 0].max() < a.max()
    assert b.min() < drawn[:, 1].min() and drawn[:, 1].max() < b.max()


def test_every_step_and_every_epoch_agree_in_full_batch(line_data):
    X, y = line_data
    pipe = _least_squares(optimizer="momentum", learning_rate=0.05)
    by_epoch = record_trajectory(pipe, X, y, every="epoch")
    by_step = record_trajectory(pipe, X, y, every="step")
    np.testing.assert_allclose(by_epoch.points, by_step.points, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(by_epoch.steps, by_step.steps)


def test_epoch_replay_ends_where_the_fit_ends():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 4))
    y = np.where(X @ [1.0, -2.0, 0.5, 0.0] + rng.normal(scale=0.5, size=300) > 0, "a", "b")
    est = GDClassifier(optimizer="adam", learning_rate=0.05, batch_size=32, max_epochs=200,
                       tol=1e-3, random_state=7)
    pipe = Pipeline([("preprocess", StandardScaler()), ("model", est)])
    fitted = fit_pipeline(pipe, X, y).model.named_steps["model"]
    trajectory = record_trajectory(pipe, X, y)
    assert trajectory.n_iter == fitted.n_iter_ < 200  # stopped by the tol rule
    assert len(trajectory.points) == fitted.n_iter_ + 1
    end = np.concatenate([p.ravel() for p in fitted.params_])
    np.testing.assert_allclose(trajectory.points[-1], end, rtol=1e-9, atol=1e-12)
    known = record_trajectory(pipe, X, y, n_iter=fitted.n_iter_)  # the train stage's way
    np.testing.assert_array_equal(known.points, trajectory.points)
    steps = record_trajectory(pipe, X, y, every="step")
    assert steps.steps_per_epoch == 10 and steps.steps[-1] == 10 * fitted.n_iter_
    np.testing.assert_allclose(steps.points[-1], end, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(steps.points[0], trajectory.points[0])


def test_in_plane_is_the_share_of_the_paths_bend_the_plane_shows():
    """A path from 0 to (10, 0, 0, 0) bending ±3 along axis 2 and ±1 along axis 3: the plane
    (start → end, then axis 2) holds 18 of the 20 units of squared deviation from the straight
    line. The share of the whole squared displacement (238 of 240) read ~100% for any path."""
    from gdlab.experiment.trajectory import deviation_in_plane, plane_basis

    points = np.array([[0, 0, 0, 0], [2, 3, 0, 0], [4, -3, 0, 0], [6, 0, 1, 0], [8, 0, -1, 0],
                       [10, 0, 0, 0]], dtype=float)
    basis = plane_basis(points)
    np.testing.assert_allclose(np.abs(basis), [[1, 0, 0, 0], [0, 1, 0, 0]], atol=1e-12)
    assert deviation_in_plane(points, basis) == pytest.approx(0.9)
    straight = np.outer(np.linspace(0, 1, 5), [1.0, 2.0, 0.0, -1.0])
    assert deviation_in_plane(straight, plane_basis(straight)) == 1.0


def test_plane_through_start_and_end_along_the_main_deviation(tmp_path):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(400, 6))
    y = (X @ rng.normal(size=6) + rng.normal(scale=1.0, size=400) > 0).astype(int)
    est = GDClassifier(optimizer="sgd", learning_rate=0.2, batch_size=16, max_epochs=15,
                       alpha=1e-3, random_state=0)
    pipe = Pipeline([("preprocess", "passthrough"), ("model", est)])
    trajectory = record_trajectory(pipe, X, y, every="step")
    surface = loss_surface(trajectory, resolution=15)
    # the second direction is the path's main deviation: at least its share of the P - 1
    # directions orthogonal to start → end (7 parameters here), and short of all of it
    assert not surface.exact and 1 / 6 <= surface.in_plane < 0.99
    basis = surface.basis
    np.testing.assert_allclose(basis @ basis.T, np.eye(2), atol=1e-12)
    chord = trajectory.points[-1] - trajectory.points[0]
    np.testing.assert_allclose(surface.path[0], [0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(surface.path[-1], [np.linalg.norm(chord), 0.0], atol=1e-9)
    # e2 is the first principal direction of the deviation from the start -> end line
    d = trajectory.points - trajectory.points[0]
    residual = d - np.outer(d @ basis[0], basis[0])
    top = np.linalg.svd(residual, full_matrices=False)[2][0]
    assert abs(top @ basis[1]) == pytest.approx(1.0, abs=1e-9)

    figure = trajectory_figure(surface, tmp_path / "t.png")
    values = figure.data["values"]
    for i, j in [(0, 0), (3, 11), (7, 7), (14, 2)]:
        theta = surface.point(surface.a[i], surface.b[j])
        w, b = theta[:6], theta[6]
        z = X @ w + b
        expected = np.mean(np.logaddexp(0.0, z) - y * z) + 0.5e-3 * np.sum(w**2)
        assert values[j, i] == pytest.approx(expected, rel=1e-10)


def test_plane_of_a_straight_path_is_still_a_plane():
    points = np.outer(np.linspace(0, 1, 5), [1.0, 2.0, 2.0])
    basis = plane_basis(points)
    np.testing.assert_allclose(basis @ basis.T, np.eye(2), atol=1e-12)
    np.testing.assert_allclose(basis[0], [1 / 3, 2 / 3, 2 / 3])


def _bowl(scale: float, floor: float) -> LossSurface:
    """A quadratic bowl ``floor + scale·(a² + b²)`` on a 21 × 21 grid, with a straight path."""
    a = b = np.linspace(-1.0, 1.0, 21)
    values = floor + scale * (a[None, :] ** 2 + b[:, None] ** 2)
    path = np.column_stack([np.linspace(-1.0, 0.0, 5), np.zeros(5)])
    return LossSurface(np.zeros(2), np.eye(2), a, b, values, path,
                       floor + scale * path[:, 0] ** 2, ("w0", "w1"), True, 1.0)


def test_side_by_side_trajectories_share_one_colour_scale(tmp_path):
    surfaces = {"slow": _bowl(1.0, 0.5), "fast": _bowl(4.0, 0.2), "none": None}
    figure = trajectories_figure(surfaces, tmp_path / "t.png")
    slow, fast = figure.data["slow"], figure.data["fast"]
    np.testing.assert_array_equal(slow["levels"], fast["levels"])
    assert slow["colour_range"] == fast["colour_range"]
    # the levels span both panels' values: above the slow bowl's largest value (2.5), below
    # the fast bowl's (8.2)
    pooled = np.concatenate([slow["values"].ravel(), fast["values"].ravel()])
    assert slow["values"].max() < slow["levels"][-1] < fast["values"].max()
    assert pooled.min() <= slow["levels"][0] and slow["levels"][-1] <= pooled.max()
    assert slow["colour_range"] == (slow["levels"][0], slow["levels"][-1])


def test_losses_in_the_thousands_are_labelled_as_whole_numbers(tmp_path):
    surface = _bowl(8000.0, 1450.0)  # a squared error in the thousands (diabetes)
    data = trajectory_figure(surface, tmp_path / "t.png").data
    labels = data["contour_labels"]
    assert labels and all(label.isdigit() for label in labels), labels
    shown = {float(label) for label in labels}
    assert shown <= {round(level) for level in data["levels"]}
    assert data["legend"][1:] == ["start (loss 9450)", "end (loss 1450)"]


def test_drawn_contours_are_the_true_loss_where_they_are_drawn(line_data, tmp_path, kept):
    """The contour lines and the filled bands as matplotlib drew them (not the grid handed to
    it): every vertex of a level's line has the true loss of that level, every vertex of a
    band's outline a true loss within the band, up to the linear interpolation between grid
    points (3.2e-4 of the level range here). The grid's values were checked, but a grid drawn
    transposed, or the band under the top level drawn from values clipped just above it (its
    edge then sat where the true loss was 6.6% of the range higher), passed."""
    X, y = line_data
    surface = loss_surface(record_trajectory(_least_squares(), X, y))
    trajectory_figure(surface, tmp_path / "trajectory.png")
    (fig,) = kept
    ax = fig.axes[0]
    filled, lines = ax.collections[:2]
    assert filled.filled and not lines.filled
    levels = np.asarray(lines.levels)
    tol = 1e-3 * (levels[-1] - levels[0])
    drawn = 0
    for level, path in zip(levels, lines.get_paths(), strict=True):
        losses = np.array([_true_loss(p, X, y) for p in path.vertices])
        np.testing.assert_allclose(losses, level, rtol=0, atol=tol)
        drawn += len(losses)
    # the bands: below the first level, between levels, above the last (extend="both")
    bounds = [-np.inf, *levels, np.inf]
    assert len(filled.get_paths()) == len(bounds) - 1
    for k, path in enumerate(filled.get_paths()):
        losses = np.array([_true_loss(p, X, y) for p in path.vertices])
        assert np.all(losses >= bounds[k] - tol), (k, losses.min(), bounds[k])
        assert np.all(losses <= bounds[k + 1] + tol), (k, losses.max(), bounds[k + 1])
        drawn += len(losses)
    assert drawn > 1000


def test_a_diverged_panel_with_losses_to_1e300_is_drawn_and_does_not_set_the_scale(tmp_path):
    """A compare of learning rates with one that diverged: its surface reaches 1e300, past
    the ±1e250 matplotlib extends the filled contours to, and the compare stage failed with
    "upper_level must be larger than lower_level". Now it is drawn, and the colour scale is
    the settled panel's alone (the diverged one's losses took half the levels)."""
    from gdlab.reporting.landscape import contour_levels

    a = b = np.linspace(-1.0, 1.0, 21)
    path = np.column_stack([np.linspace(-1.0, 1.0, 5), np.zeros(5)])
    settled = _bowl(1.0, 0.5)
    diverged = LossSurface(np.zeros(2), np.eye(2), a, b,
                           0.5 + 10.0 ** (150 * (a[None, :] + 1)) + b[:, None] ** 2, path,
                           10.0 ** np.linspace(0, 300, 5), ("w0", "w1"), True, 1.0)
    figure = trajectories_figure({"lr 0.01": settled, "lr 1000 (diverged)": diverged},
                                 tmp_path / "t.png")
    ours = contour_levels(settled.values, floor=settled.path_loss[-1])
    for label in ("lr 0.01", "lr 1000 (diverged)"):
        np.testing.assert_array_equal(figure.data[label]["levels"], ours)
        assert figure.data[label]["colour_range"] == (ours[0], ours[-1])


def test_an_overflowing_region_beside_losses_near_the_float_limit_is_painted_finite():
    """Next to a region where the loss overflows to +inf the finite loss can be ~1e308; the
    stand-in for +inf, and any loss past matplotlib's top band (which ends at 1e250), is a
    finite value in that band (2·1e308 + 1 is inf again, which contourf cannot place in a
    band; 1.5e308 is above the band and was left unpainted)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from gdlab.experiment.trajectory import LossSurface
    from gdlab.reporting.landscape import draw_surface

    a = np.linspace(-1.0, 1.0, 9)
    b = np.linspace(-1.0, 1.0, 7)
    values = np.add.outer(b**2, a**2)
    values[:, -3] = 1.5e308  # the edge of the overflow
    values[:, -2:] = np.inf
    surface = LossSurface(
        origin=np.zeros(2), basis=np.eye(2), a=a, b=b, values=values,
        path=np.array([[-1.0, 0.0], [0.0, 0.0]]), path_loss=np.array([1.0, 0.0]),
        axis_labels=("a", "b"), exact=True, in_plane=1.0,
    )
    fig, ax = plt.subplots()
    seen = []
    original = ax.contourf

    def recording_contourf(x, y, z, *args, **kwargs):
        seen.append(np.asarray(z))
        return original(x, y, z, *args, **kwargs)

    ax.contourf = recording_contourf
    try:
        draw_surface(fig, ax, surface, title="overflow", levels=np.linspace(0.0, 2.0, 6))
    finally:
        plt.close(fig)
    (painted,) = seen
    assert np.isfinite(painted).all()
    top = painted[:, -3:]  # in the top band: above every level, within matplotlib's 1e250
    assert ((top > 2.0) & (top < 1e250)).all()
    assert (top >= painted[:, :-3].max()).all()  # above every loss the band holds as it is
    np.testing.assert_array_equal(painted[:, :-3], values[:, :-3])  # the rest untouched


def test_the_objective_of_a_class_weighted_classifier_is_the_one_it_minimised():
    """The loss surface ignored class_weight: 0.739 where the fit's last loss was 0.503."""
    from gdlab.experiment.trajectory import TrainingObjective

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    y = (X[:, 0] + rng.normal(scale=1.0, size=300) > 0.8).astype(int)
    est = GDClassifier(class_weight={1: 10.0}, max_epochs=30, tol=None, alpha=0.0,
                       optimizer="sgd", learning_rate=0.1, random_state=0).fit(X, y)
    theta = np.concatenate([p.ravel() for p in est.params_])
    # the full-batch loss the last epoch recorded was measured before its step: recompute
    # at the final parameters with scikit-learn's weighted log-loss instead
    from sklearn.metrics import log_loss
    from sklearn.utils.class_weight import compute_sample_weight

    expected = log_loss(y, est.predict_proba(X), sample_weight=compute_sample_weight({1: 10.0}, y))
    assert TrainingObjective(est, X, y)(theta) == pytest.approx(expected, rel=1e-9)


def test_a_balanced_classifier_is_replayed_with_the_weights_its_fit_used(monkeypatch):
    """record_trajectory replays the epochs with partial_fit, which refuses class_weight
    'balanced': train failed after its refit on model.class_weight: balanced. The replay is
    now the one of the same weights given as a mapping (scikit-learn's compute_class_weight),
    and ends at the fitted parameters."""
    from sklearn.utils.class_weight import compute_class_weight

    monkeypatch.setenv("GDLAB_JIT", "0")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    y = np.where(X[:, 0] + rng.normal(scale=1.0, size=300) > 1.2, "rare", "common")
    weights = compute_class_weight("balanced", classes=np.unique(y), y=y)
    assert weights.max() > 2 * weights.min()  # the case at hand: unequal classes

    def pipeline(class_weight):
        est = GDClassifier(class_weight=class_weight, max_epochs=8, tol=None, batch_size=32,
                           optimizer="adam", learning_rate=0.05, random_state=0)
        return Pipeline([("preprocess", StandardScaler()), ("model", est)])

    balanced = record_trajectory(pipeline("balanced"), X, y)
    mapping = record_trajectory(pipeline(dict(zip(np.unique(y), weights, strict=True))), X, y)
    np.testing.assert_allclose(balanced.points, mapping.points, rtol=1e-12, atol=1e-14)
    fitted = fit_pipeline(pipeline("balanced"), X, y).model.named_steps["model"]
    np.testing.assert_allclose(balanced.points[-1],
                               np.concatenate([p.ravel() for p in fitted.params_]), rtol=1e-9)


def test_the_end_points_basin_is_resolved_and_the_plane_axes_have_units(kept, tmp_path,
                                                                        monkeypatch):
    """The refit's trajectory.png: the lowest contour level was 0.3243, the end point's loss
    0.318, so the whole basin around the ★ was one flat colour; and its horizontal axis read
    "direction start → end", without a unit."""
    monkeypatch.setenv("GDLAB_JIT", "0")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    y = X @ np.array([1.5, -2.0, 0.5]) + 1.0 + rng.normal(0.0, 0.3, size=300)
    est = GDRegressor(optimizer="sgd", learning_rate=0.05, batch_size=None, max_epochs=300,
                      tol=None, alpha=0.0, random_state=0)
    trajectory = record_trajectory(Pipeline([("preprocess", "passthrough"), ("model", est)]),
                                   X, y)
    surface = loss_surface(trajectory)
    figure = trajectory_figure(surface, tmp_path / "trajectory.png")
    levels, end = figure.data["levels"], float(surface.path_loss[-1])
    assert levels.min() <= end
    # the grid points around the end point (within a tenth of each axis) lie in several bands
    a, b, values = figure.data["a"], figure.data["b"], figure.data["values"]
    ea, eb = figure.data["path"][-1]
    near = values[np.ix_(np.abs(b - eb) <= 0.1 * np.ptp(b), np.abs(a - ea) <= 0.1 * np.ptp(a))]
    assert len(np.unique(np.digitize(near.ravel(), levels))) >= 3
    # the horizontal axis is the distance from the start in parameter units: the end sits at
    # ‖θ_T − θ₀‖
    (fig,) = kept
    ax = fig.axes[0]
    assert "parameter units" in ax.get_xlabel() and "same units" in ax.get_ylabel()
    points = trajectory.points
    assert ea == pytest.approx(np.linalg.norm(points[-1] - points[0]))


def test_side_by_side_levels_reach_the_lowest_end_loss(tmp_path):
    surfaces = {"slow": _bowl(1.0, 0.5), "fast": _bowl(4.0, 0.2)}
    figure = trajectories_figure(surfaces, tmp_path / "t.png")
    for label in surfaces:
        assert figure.data[label]["levels"].min() <= 0.2  # the fast bowl's end loss
