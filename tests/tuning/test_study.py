"""Recovering a study left by a killed search (gdlab.tuning.study.recover_interrupted)."""

from __future__ import annotations

import itertools

import optuna
import pytest

from gdlab.tuning.study import INTERRUPTED, RETRY_OF, recover_interrupted

GRID = {"lr": [0.1, 0.01, 0.001], "batch": [16, 64]}


def _objective(trial: optuna.Trial) -> float:
    return trial.suggest_float("lr", 1e-4, 1.0, log=True) * trial.suggest_int("batch", 1, 128)


def _grid_study() -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.create_study(sampler=optuna.samplers.GridSampler(GRID, seed=3))


@pytest.mark.parametrize("sampled", [True, False], ids=["after-sampling", "before-sampling"])
def test_grid_stays_whole_when_a_trial_was_killed(sampled):
    """A kill leaves a trial RUNNING, with its parameters or (killed before it asked for any)
    with only the grid point the sampler gave it. Recovery reruns that point: every point of
    the grid is evaluated exactly once by a trial that was not interrupted."""
    study = _grid_study()
    study.optimize(_objective, n_trials=2)
    killed = study.ask()  # the sampler assigns it a grid point
    if sampled:
        killed.suggest_float("lr", 1e-4, 1.0, log=True)
        killed.suggest_int("batch", 1, 128)
    assert recover_interrupted(study) == [killed.number]
    study.optimize(_objective, n_trials=4)  # the queued retry first, then the rest

    trials = study.get_trials()
    (interrupted,) = [t for t in trials if t.user_attrs.get(INTERRUPTED)]
    assert interrupted.number == killed.number and interrupted.state.name == "FAIL"
    (retry,) = [t for t in trials if t.user_attrs.get(RETRY_OF) == killed.number]
    assert retry.state.name == "COMPLETE"
    done = sorted(
        (t.params["batch"], t.params["lr"]) for t in trials
        if t.state.name == "COMPLETE" and not t.user_attrs.get(INTERRUPTED)
    )
    assert done == sorted(itertools.product(GRID["batch"], GRID["lr"]))
    assert study.sampler.is_exhausted(study)


def test_bayes_trial_killed_before_sampling_is_retried_afresh():
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0))
    study.optimize(_objective, n_trials=2)
    killed = study.ask()
    assert recover_interrupted(study) == [killed.number]
    study.optimize(_objective, n_trials=1)
    (retry,) = [t for t in study.get_trials() if t.user_attrs.get(RETRY_OF) == killed.number]
    assert retry.state.name == "COMPLETE" and set(retry.params) == {"lr", "batch"}


def test_only_the_trials_of_this_hosts_searches_are_taken_for_interrupted(monkeypatch):
    """A study on a shared RDB storage is searched from several hosts at once: the search
    starting on one host must not fail the trials another host is running (its objective
    could then not report, and the stage crashed with "Cannot tell a FAIL trial")."""
    from datetime import datetime, timedelta

    from gdlab.tuning import study as study_module
    from gdlab.tuning.study import OWNER, OWNERLESS_GRACE

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0))
    study.optimize(_objective, n_trials=1)
    ours, theirs, starting = (study.ask() for _ in range(3))
    ours.set_user_attr(OWNER, "here")
    theirs.set_user_attr(OWNER, "there")

    assert recover_interrupted(study, "here") == [ours.number]
    states = {t.number: t.state.name for t in study.get_trials()}
    assert states[ours.number] == "FAIL"
    assert states[theirs.number] == states[starting.number] == "RUNNING"
    study.tell(theirs, 1.0)  # the other host's trial still reports its result

    class Later(datetime):  # an ownerless trial this old is one left before owners existed
        @classmethod
        def now(cls, tz=None):
            return datetime.now(tz) + timedelta(seconds=OWNERLESS_GRACE + 1)

    monkeypatch.setattr(study_module, "datetime", Later)
    assert recover_interrupted(study, "here") == [starting.number]
    later = study.ask()
    later.set_user_attr(OWNER, "there")
    assert recover_interrupted(study) == [later.number]  # no owner given: every RUNNING one


def test_a_database_studys_lock_is_in_a_directory_of_this_user_only(tmp_path, monkeypatch):
    """It was /tmp/gdlab-optuna-<key>.lock: a name any local user could create first (the
    search then failed to open it) or hold (the search waited forever)."""
    import os
    import stat

    from gdlab.tuning.study import StudySpec, study_lock

    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    spec = StudySpec(storage="postgresql://db.example/optuna", name="gdlab-abc",
                     direction="minimize", strategy="bayes", seed=0, n_startup_trials=5,
                     pruner="median")
    with study_lock(spec):
        (lock,) = (tmp_path / "run" / "gdlab").iterdir()
    assert lock.name.startswith("optuna-") and lock.suffix == ".lock"
    assert stat.S_IMODE(os.stat(lock.parent).st_mode) == 0o700
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with study_lock(spec):
        assert [p.name for p in (tmp_path / "home/.cache/gdlab/locks").iterdir()] == [lock.name]
