"""The tuning figures' data: what the optimisation history says it leaves out."""

from __future__ import annotations

import optuna

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
    assert wall.get_title() == "CV wall time in seconds (all folds)"
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
