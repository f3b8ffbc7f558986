"""Recovering a study left by a killed search (gdlab.tuning.study.recover_interrupted)."""

from __future__ import annotations

import itertools

import optuna
import pytest

from gdlab.tuning.study import (
    INTERRUPTED,
    RETRY_OF,
    StudySpec,
    pruner_warning,
    recover_interrupted,
    wilcoxon_min_folds,
)

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


def _first_pruned_step(fold_scores_best: list[float], fold_scores_worse: list[float]) -> int | None:
    """The number of folds scored when Optuna's own WilcoxonPruner (as gdlab builds it) first
    prunes a trial whose every fold is worse than the best trial's."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    spec = StudySpec(storage="", name="s", direction="minimize", strategy="bayes", seed=0,
                     n_startup_trials=0, pruner="wilcoxon")
    study = optuna.create_study(direction="minimize", pruner=spec.make_pruner())
    best = study.ask()
    for step, value in enumerate(fold_scores_best):
        best.report(value, step)
    study.tell(best, sum(fold_scores_best) / len(fold_scores_best))
    trial = study.ask()
    for step, value in enumerate(fold_scores_worse):
        trial.report(value, step)
        if trial.should_prune():
            return step + 1
    return None


def test_wilcoxon_min_folds_is_where_optunas_pruner_first_prunes():
    """Independent reference: Optuna's WilcoxonPruner itself, fed a trial worse than the best
    on every fold, prunes first after exactly wilcoxon_min_folds() folds (4 at p < 0.1)."""
    best = [0.30, 0.32, 0.31, 0.29, 0.33, 0.30, 0.31]
    worse = [v + 0.05 + 0.01 * i for i, v in enumerate(best)]
    assert _first_pruned_step(best, worse) == wilcoxon_min_folds() == 4


@pytest.mark.parametrize(("pruner", "folds", "warned"), [
    ("wilcoxon", 3, True), ("wilcoxon", 4, True), ("wilcoxon", 5, False),
    ("median", 3, False), ("none", 3, False),
])
def test_pruner_warning_when_wilcoxon_cannot_stop_a_trial_early(pruner, folds, warned):
    """With cv.folds <= 4 the Wilcoxon pruner can prune at best after the last fold (it saves
    nothing); the warning names the key, why, and what to change."""
    message = pruner_warning(pruner, folds)
    assert (message is not None) == warned
    if warned:
        assert message.startswith("tune.pruner: wilcoxon can prune a trial only once 4 folds")
        assert f"cv.folds: {folds} it never stops a trial early" in message
        assert "tune.pruner: median" in message and "cv.folds: 5 or more" in message


def test_an_unreachable_database_storage_is_one_line_naming_tune_storage_without_its_password():
    from gdlab.tuning.study import StorageUnavailable, check_storage

    with pytest.raises(StorageUnavailable) as caught:
        check_storage("postgresql://pgadmin:S3cretPW@127.0.0.1:1/optuna")  # port 1 refuses
    message = str(caught.value)
    assert message.startswith("tune.storage postgresql://pgadmin:***@127.0.0.1:1/optuna: "
                              "cannot connect (")
    assert "Connection refused" in message and "S3cretPW" not in message
    assert "\n" not in message
    assert message.endswith("; start it, or fix tune.storage or PGPASSWORD/~/.pgpass")


def test_a_directory_as_journal_storage_is_one_line_naming_tune_storage(tmp_path):
    from gdlab.tuning.study import StorageUnavailable, check_storage

    (tmp_path / "prepared").mkdir()
    (tmp_path / "prepared" / "X.npy").write_bytes(b"kept")
    with pytest.raises(StorageUnavailable) as caught:  # was IsADirectoryError's traceback
        check_storage(str(tmp_path / "prepared"))
    message = str(caught.value)
    assert message == (f"tune.storage {tmp_path / 'prepared'} is a directory: name a journal "
                       f"file (e.g. {tmp_path / 'prepared' / 'optuna.journal'}) or a database URL")
    assert [p.name for p in (tmp_path / "prepared").iterdir()] == ["X.npy"]  # nothing written
    assert (tmp_path / "prepared" / "X.npy").read_bytes() == b"kept"
