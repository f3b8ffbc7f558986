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
