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
