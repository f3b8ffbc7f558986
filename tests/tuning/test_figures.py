"""The tuning figures' data: what the optimisation history says it leaves out."""

from __future__ import annotations

import numpy as np
import optuna
import pytest

from gdlab.tuning.figures import _history_title, study_figures


def _study() -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))

    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", -1, 1)
        if trial.number in (1, 3):
            raise optuna.TrialPruned()
        if trial.number == 4:
            raise RuntimeError("a failed trial")
        return x * x

    study.optimize(objective, n_trials=6, catch=(RuntimeError,))
    return study


def test_history_title_counts_the_trials_it_does_not_draw(tmp_path):
    study = _study()
    title = _history_title(study)
    assert title == "Optimization history: 3 complete trials (not drawn: 1 fail, 2 pruned)"
    drawn = study_figures(study, tmp_path, metric="loss")
    assert drawn["optimization_history"].read_bytes()[:4] == b"\x89PNG"


def test_importances_title_counts_the_trials_they_rest_on(tmp_path, kept):
    """Optuna's importances use the complete trials only: 3 of 6 here, too few to rely on."""
    study_figures(_study(), tmp_path, metric="loss")
    titles = [f.axes[0].get_title() for f in kept]
    assert ("Hyperparameter importances from 3 complete trials (3 others left out)\n"
            "fewer than 10: indicative only") in titles


def test_study_figures_have_one_title_each(tmp_path, kept):
    """Optuna titles its importances chart on the left ("Hyperparameter Importances"): gdlab's
    title replaces it rather than being printed over it."""
    study_figures(_study(), tmp_path, metric="loss")
    assert len(kept) == 2
    for fig in kept:
        ax = fig.axes[0]
        titles = [ax.get_title(loc=loc) for loc in ("left", "center", "right")]
        assert [t for t in titles if t] == [titles[1]], titles


def test_lr_find_title_names_the_setting_and_says_when_the_sweep_never_descended(tmp_path,
                                                                                 kept):
    from gdlab.core.diagnostics import LRRangeResult
    from gdlab.tuning.figures import lr_find_figure

    rates = np.logspace(-6, 0, 40)
    falling = 1.0 / (1.0 + 50 * rates)
    flat = np.full(40, 0.7) + 0.01 * np.sin(np.arange(40))
    for losses in (falling, flat):
        lr_find_figure(LRRangeResult(rates, losses, losses, 0.003, False, 0.2),
                       tmp_path / "lr.png", setting="mlp, log_loss, sgd, batch 64")
    assert [f.axes[0].get_title() for f in kept] == [
        "LR range test: mlp, log_loss, sgd, batch 64 (end of sweep)",
        "LR range test: mlp, log_loss, sgd, batch 64 (end of sweep)\n"
        "no clear descent below the start loss: the suggestion is unreliable",
    ]


def test_heat_map_wall_times_keep_their_significant_digits(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    from gdlab.tuning.figures import HeatCell, heatmap_figure

    closed: list = []
    monkeypatch.setattr(plt, "close", closed.append)
    times = {(0.01, 16): 0.031, (0.01, 64): 0.045, (0.1, 16): 0.049, (0.1, 64): 4.93}
    cells = [HeatCell(lr, bs, 0.5, t, "COMPLETE") for (lr, bs), t in times.items()]
    heatmap_figure(cells, [0.01, 0.1], [16, 64], tmp_path / "h.png", metric="rmse", n_folds=5)
    (fig,) = closed
    wall = fig.axes[1]
    assert wall.get_title() == ("CV wall time in seconds (all folds)\n"
                                "one timing per cell: other load on the machine shows")
    # with two decimals they read 0.03, 0.04, 0.05 under clearly different colours
    assert sorted(t.get_text() for t in wall.texts) == ["0.031s", "0.045s", "0.049s", "4.9s"]
    plt.close(fig)


def test_history_trial_axis_has_whole_trial_numbers(tmp_path, monkeypatch):
    """Four trials were ticked 0.0, 0.5, 1.0, ... 3.0: there is no trial 0.5."""
    import matplotlib.pyplot as plt

    closed: list = []
    monkeypatch.setattr(plt, "close", closed.append)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(lambda t: t.suggest_float("x", -1, 1) ** 2, n_trials=4)
    study_figures(study, tmp_path, metric="rmse")
    history = next(f for f in closed if f.axes[0].get_xlabel() == "Trial")
    history.canvas.draw()
    ax = history.axes[0]
    low, high = ax.get_xlim()
    ticks = [x for x in ax.get_xticks() if low <= x <= high]
    assert ticks == [0, 1, 2, 3]
    assert [t.get_text() for t in ax.get_xticklabels() if low <= t.get_position()[0] <= high] == [
        "0", "1", "2", "3"]
    for fig in closed:
        fig.clf()


def test_study_figures_leave_matplotlib_style_as_it_was(tmp_path):
    """Optuna's plots call plt.style.use("ggplot"): every figure drawn after them in the same
    process (a notebook, the tests, a later stage run in-process) came out grey."""
    import matplotlib

    keys = ("axes.facecolor", "axes.grid", "font.size")
    with matplotlib.rc_context():  # this test's own defaults, whatever ran before it
        matplotlib.rcdefaults()
        before = {k: matplotlib.rcParams[k] for k in keys}
        study_figures(_study(), tmp_path, metric="loss")
        assert {k: matplotlib.rcParams[k] for k in keys} == before


def test_heat_map_draws_each_cell_at_its_learning_rate_and_batch_size(kept, tmp_path):
    """The data behind lr_batch_heatmap.png: each drawn cell (colour and text) sits in the row
    of its learning rate and the column of its batch size, on both panels; the red box is on
    the best cell and a diverged cell reads "diverged". Only the wall-time texts (as a sorted
    set) were checked: rows flipped against their tick labels, or the box on another cell,
    went unnoticed."""
    from matplotlib.patches import Rectangle

    from gdlab.tuning.figures import HeatCell, heatmap_figure

    lrs = [0.001, 0.01, 0.1]  # rows, smallest at the bottom (row 0)
    sizes = [16, 64, None]  # columns; None (full batch) last
    # an independent table: (lr, batch) -> (CV loss, seconds); (0.1, 16) diverged
    table = {
        (0.001, 16): (0.91, 1.5), (0.001, 64): (0.95, 0.7), (0.001, None): (0.99, 0.3),
        (0.01, 16): (0.42, 1.6), (0.01, 64): (0.61, 0.8), (0.01, None): (0.83, 0.2),
        (0.1, 16): (None, 1.7), (0.1, 64): (0.37, 0.9), (0.1, None): (0.52, 0.4),
    }
    cells = [HeatCell(lr, bs, v, t, "COMPLETE" if v is not None else "PRUNED")
             for (lr, bs), (v, t) in table.items()]
    # given in another order than drawn: the figure sorts them itself
    heatmap_figure(cells[::-1], [0.1, 0.001, 0.01], [None, 64, 16], tmp_path / "h.png",
                   metric="log_loss", n_folds=3)
    (fig,) = kept
    score, wall = fig.axes[:2]  # then their colour bars
    assert score.get_title().startswith("mean CV log_loss (3 folds, lower is better)")
    assert wall.get_title() == ("CV wall time in seconds (all folds)\n"
                                "one timing per cell: other load on the machine shows")
    for ax in (score, wall):
        assert [t.get_text() for t in ax.get_yticklabels()] == ["0.001", "0.01", "0.1"]
        assert [t.get_text() for t in ax.get_xticklabels()] == ["16", "64", "full"]
        assert ax.get_ylabel() == "learning rate" and ax.get_xlabel() == "batch size"
    drawn_score = score.images[0].get_array()
    drawn_wall = wall.images[0].get_array()
    texts = {ax: {tuple(map(round, t.get_position())): t.get_text() for t in ax.texts}
             for ax in (score, wall)}
    for i, lr in enumerate(lrs):
        for j, bs in enumerate(sizes):
            value, seconds = table[(lr, bs)]
            if value is None:
                assert drawn_score.mask[i, j]
                assert texts[score][(j, i)] == "diverged"
            else:
                assert drawn_score[i, j] == pytest.approx(value)
                assert texts[score][(j, i)] == f"{value:.3g}"
            assert drawn_wall[i, j] == pytest.approx(seconds)
            assert texts[wall][(j, i)] == f"{seconds}s"  # 1.5s, 0.7s...
    (box,) = [p for p in score.patches if isinstance(p, Rectangle) and p.get_edgecolor()[0] == 1]
    best_lr, best_bs = min((k for k in table if table[k][0] is not None), key=lambda k: table[k][0])
    assert box.get_xy() == (sizes.index(best_bs) - 0.5, lrs.index(best_lr) - 0.5)


def test_lr_find_figure_draws_the_sweep_the_suggestion_and_the_bounds(kept, tmp_path):
    """The data behind lr_find.png: the raw and smoothed losses over the swept rates, and the
    vertical lines at the suggestion, the valley, 1/L and 2/L."""
    from gdlab.core.diagnostics import LRRangeResult
    from gdlab.tuning.figures import lr_find_figure

    rates = np.logspace(-6, 0, 40)
    losses = 1.0 / (1.0 + 50 * rates) + 0.01 * np.sin(np.arange(40))
    smoothed = 1.0 / (1.0 + 50 * rates)
    result = LRRangeResult(rates, losses, smoothed, 0.003, True, 0.2)
    lr_find_figure(result, tmp_path / "lr.png", smoothness=40.0)
    (fig,) = kept
    (ax,) = fig.axes
    lines = {line.get_label(): line for line in ax.get_lines()}
    np.testing.assert_allclose(lines["batch loss"].get_xdata(), rates)
    np.testing.assert_allclose(lines["batch loss"].get_ydata(), losses)
    np.testing.assert_allclose(lines["smoothed loss"].get_ydata(), smoothed)
    verticals = {label: line.get_xdata()[0] for label, line in lines.items()
                 if label not in ("batch loss", "smoothed loss")}
    assert verticals == {
        "suggestion 0.003": pytest.approx(0.003),
        "valley 0.2": pytest.approx(0.2),
        "1/L = 0.025 (gradient descent)": pytest.approx(1 / 40),
        "2/L = 0.05 (GD divergence bound)": pytest.approx(2 / 40),
    }
    assert ax.get_xscale() == "log" and ax.get_title() == "LR range test (stopped on divergence)"


def test_history_draws_each_complete_trials_value_and_the_best_so_far(tmp_path, kept):
    """The data behind optimization_history.png: one point per complete trial at (number,
    value), and the best-so-far line is the running minimum of those values."""
    study = _study()
    study_figures(study, tmp_path, metric="loss")
    history = next(f for f in kept if f.axes[0].get_xlabel() == "Trial").axes[0]
    complete = [(t.number, t.value) for t in study.trials if t.state.name == "COMPLETE"]
    points = history.collections[0].get_offsets()
    np.testing.assert_allclose(points, complete)
    (best,) = [line for line in history.get_lines() if line.get_label() == "Best Value"]
    running = {}
    low = np.inf
    for number, value in complete:
        low = min(low, value)
        running[number] = low
    drawn = dict(best.get_xydata().tolist())
    for number, value in running.items():
        assert drawn[number] == pytest.approx(value)


def test_heat_map_loss_panel_does_not_move_with_the_wall_time_labels(tmp_path):
    """Two tune runs with one seed drew different lr_batch_heatmap.png: the wall-time colour
    bar's tick labels ("0.4" or "16") changed width, and tight_layout moved every panel, the
    loss panel with them. Now the loss half of the image is the same pixels."""
    import matplotlib.image as mpimg

    from gdlab.tuning.figures import HeatCell, heatmap_figure

    lrs, sizes = [0.001, 0.01, 0.1, 1.0], [16, 64, 256]
    loss = [[0.325, 0.325, 0.364], [0.325, 0.325, 0.325], [0.367, 0.34, 0.326],
            [1.29, 0.676, 0.404]]
    images = []
    for k, scale in enumerate((1.0, 20.0)):  # wall times 0.3 .. 0.9 s, or 6 .. 18 s
        cells = [HeatCell(lr, bs, loss[i][j], scale * (0.3 + 0.1 * (i + j)), "COMPLETE")
                 for i, lr in enumerate(lrs) for j, bs in enumerate(sizes)]
        path = heatmap_figure(cells, lrs, sizes, tmp_path / f"h{k}.png", metric="log_loss",
                              n_folds=5)
        images.append(mpimg.imread(path))
    first, second = images
    assert first.shape == second.shape
    half = first.shape[1] // 2  # the loss panel and its colour bar
    assert np.array_equal(first[:, :half], second[:, :half])
    assert not np.array_equal(first[:, half:], second[:, half:])  # the wall times differ
