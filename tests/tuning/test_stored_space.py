"""A kept study (``tune.study_name``) whose trials searched another ``tune.space`` is refused
before any trial runs, naming each dimension that changed, then and now; the same space is
reused as before."""

from __future__ import annotations

import json

import optuna
import pytest

from gdlab.tuning import plan_search, run_search

from .conftest import make_params

LR = "optimizer.learning_rate"
FAST = {"train": {"max_epochs": 3}}


def tune(journal, data, space, *, n_trials=1, name="mystudy", **extra):
    params = make_params(**FAST, tune={"study_name": name, "n_trials": n_trials,
                                       "pruner": "none", "space": space, **extra})
    return run_search(plan_search(params, *data, storage=str(journal)))


def trials(journal, name="mystudy"):
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    storage = JournalStorage(JournalFileBackend(str(journal)))
    return optuna.load_study(study_name=name, storage=storage).get_trials()


def test_a_narrower_learning_rate_range_is_refused_naming_then_and_now(
    tmp_path, classification_data
):
    """The reviewer's case: the best trial's lr 0.164 of {0.1, 0.3} went to train although
    tune.space now said {1e-4, 1e-3}, with no word."""
    journal = tmp_path / "tune.journal"
    tune(journal, classification_data, {LR: {"low": 0.1, "high": 0.3, "log": True}},
         n_trials=2)
    before = journal.read_bytes()
    with pytest.raises(ValueError) as caught:
        tune(journal, classification_data, {LR: {"low": 1e-4, "high": 1e-3, "log": True}},
             n_trials=2)
    assert type(caught.value).__name__ == "SpaceChanged"
    message = str(caught.value)
    assert message.startswith(
        "study mystudy (tune.study_name) holds 2 trials searched over another tune.space: "
        "optimizer.learning_rate was {low: 0.1, high: 0.3, log: true}, is now "
        "{low: 0.0001, high: 0.001, log: true}. "
    ), message
    assert "set tune.study_name to a new name" in message
    assert message.endswith(
        f"optuna delete-study --storage {journal} --storage-class JournalFileBackend "
        "--study-name mystudy"
    ), message
    assert "\n" not in message
    assert journal.read_bytes() == before  # no trial ran, nothing written


def test_changed_choices_are_refused_before_any_trial_fails(tmp_path, classification_data):
    """Optuna failed each new trial ('CategoricalDistribution does not support dynamic value
    space'), the failures ate the budget and train got batch size 32, not a choice."""
    journal = tmp_path / "tune.journal"
    tune(journal, classification_data, {"train.batch_size": {"choices": [32, 64]}})
    with pytest.raises(ValueError, match=r"train\.batch_size was \{choices: \[32, 64\]\}, is "
                       r"now \{choices: \[16, 128\]\}"):
        tune(journal, classification_data, {"train.batch_size": {"choices": [16, 128]}},
             n_trials=3)
    assert [t.state.name for t in trials(journal)] == ["COMPLETE"]


def test_an_added_or_dropped_dimension_is_refused(tmp_path, classification_data):
    journal = tmp_path / "tune.journal"
    lr = {LR: {"low": 1e-3, "high": 0.1, "log": True}}
    batch = {"train.batch_size": {"choices": [32, 64]}}
    tune(journal, classification_data, lr)
    with pytest.raises(ValueError, match=r"train\.batch_size was not searched, is now "
                       r"\{choices: \[32, 64\]\}"):
        tune(journal, classification_data, {**lr, **batch}, n_trials=2)
    with pytest.raises(ValueError, match=r"optimizer\.learning_rate was \{low: 0\.001, high: "
                       r"0\.1, log: true\}, is now not searched"):
        tune(journal, classification_data, batch, n_trials=2)
    assert len(trials(journal)) == 1


def test_the_same_space_is_reused_and_a_new_name_starts_over(tmp_path, classification_data):
    """Conditional dimensions whose condition never held in a trial are not taken for new."""
    journal = tmp_path / "tune.journal"
    space = {
        LR: {"low": 1e-3, "high": 0.1, "log": True},
        "train.batch_size": {"choices": [32, 64]},
        "optimizer.name": {"choices": ["adam", "momentum"]},
        "optimizer.params.momentum": {"low": 0.5, "high": 0.95,
                                      "when": {"optimizer.name": ["momentum"]}},
    }
    first = tune(journal, classification_data, space, n_trials=3)
    assert len(first.records) == 3
    searched = {tuple(sorted(t.params)) for t in trials(journal)}
    assert len(searched) == 2, "pick a seed whose trials take both optimisers"
    more = tune(journal, classification_data, space, n_trials=4)
    assert len(more.records) == 1 and len(trials(journal)) == 4
    for key, value in more.best_params().items():  # every value within today's space
        if isinstance(value, float):
            assert space[key]["low"] <= value <= space[key]["high"]
        elif key in space and "choices" in space[key]:
            assert value in space[key]["choices"]
    other = tune(journal, classification_data, {LR: {"low": 1e-4, "high": 1e-3, "log": True}},
                 name="another")
    assert len(other.records) == 1
    assert 1e-4 <= other.best_params()[LR] <= 1e-3


def test_the_delete_command_the_message_gives_deletes_the_study(tmp_path, classification_data):
    import shlex
    import subprocess
    import sys
    from pathlib import Path

    from gdlab.tuning.stored_space import delete_command

    journal = tmp_path / "tune.journal"
    tune(journal, classification_data, {"train.batch_size": {"choices": [32, 64]}})
    command = shlex.split(delete_command(str(journal), "mystudy"))
    assert command[0] == "optuna"
    optuna_cli = str(Path(sys.executable).parent / "optuna")  # the venv's, as on its PATH
    done = subprocess.run([optuna_cli, *command[1:]], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    again = tune(journal, classification_data, {"train.batch_size": {"choices": [16, 128]}})
    assert len(again.records) == 1
    assert json.dumps(again.best_params()["train.batch_size"]) in {"16", "128"}


def test_a_centred_learning_rate_range_that_moved_is_refused_saying_it_is_centred(
    tmp_path, classification_data
):
    """tune.center_learning_rate with a kept tune.study_name: changing only optimizer.name
    moved the LR range test's suggestion, and the refusal named ranges the user never wrote
    ('was {low: 0.007288, ...}, is now {low: 0.25, ...}') with no word of where they came
    from. Still refused, saying the range is centred and moves with the params and data;
    another dimension's change says nothing of it."""
    journal = tmp_path / "tune.journal"
    space = {LR: {"low": 1e-4, "high": 1.0, "log": True},
             "train.batch_size": {"choices": [16, 32]}}

    def run(suggestion, batch_sizes=(16, 32)):
        params = make_params(**FAST, tune={
            "study_name": "centred", "n_trials": 1, "pruner": "none",
            "center_learning_rate": True, "center_decades": 1.0,
            "space": {**space, "train.batch_size": {"choices": list(batch_sizes)}}})
        plan = plan_search(params, *classification_data, storage=str(journal),
                           lr_suggestion=suggestion)
        return run_search(plan)

    run(0.01)
    with pytest.raises(ValueError) as caught:
        run(0.5)
    message = str(caught.value)
    assert type(caught.value).__name__ == "SpaceChanged"
    assert ("holds 1 trial searched over another tune.space: optimizer.learning_rate was "
            "{low: 0.001, high: 0.1, log: true}, is now {low: 0.05, high: 5, log: true} "
            "(centred on the LR range test's suggestion, tune.center_learning_rate: it moves "
            "with the params and data). ") in message, message
    with pytest.raises(ValueError) as caught:
        run(0.01, batch_sizes=(16, 64))
    message = str(caught.value)
    assert "train.batch_size was {choices: [16, 32]}, is now {choices: [16, 64]}. " in message
    assert "LR range test" not in message
