"""The parent runs' descriptions (mlflow.note.content): what each run is, on which data."""

from __future__ import annotations

from gdlab.config import Params
from gdlab.tracking.notes import compare_note, data_line, model_line, train_note, tune_note


def _params(**sections):
    return Params.model_validate(sections)


def test_train_note_names_the_model_the_data_and_the_tuned_values():
    params = _params(
        model={"kind": "mlp", "task": "regression", "hidden_layer_sizes": [16, 8]},
        optimizer={"name": "examples.lion:lion", "learning_rate": 0.003},
        schedule={"name": "cosine"},
        train={"batch_size": 64, "max_epochs": 40},
        cv={"folds": 4},
        data={"source": "diabetes"},
    )
    tuned = {"optimizer.learning_rate": (0.01, 0.003), "train.batch_size": (32, 64)}
    note = train_note(params, rows=353, n_features=10, tuned=tuned, study="gdlab-abc",
                      tuning_run_id="r123")
    assert note == (
        "gdlab train run: 4-fold cross-validation, then a refit on every training row, of a "
        "mlp [16, 8] (relu) regression model (squared_error), optimiser examples.lion:lion "
        "(learning rate 0.003), schedule cosine; batch size 64, up to 40 epochs.\n\n"
        "Data: 353 training rows × 10 features of scikit-learn's diabetes data set.\n\n"
        "Tuned values from study gdlab-abc (tune run r123): optimizer.learning_rate=0.003, "
        "train.batch_size=64."
    )


def test_data_line_names_a_file_without_its_credentials():
    params = _params(data={"source": "csv", "path": "s3://user:secret@bucket/rows.csv",
                           "target": "y"})
    line = data_line(params, 10, 2)
    assert line.startswith("10 training rows × 2 features of csv file s3://")
    assert "secret" not in line and "rows.csv" in line
    assert "synthetic data (make_classification)" in data_line(_params(), 5, 1)


def test_tune_and_compare_notes():
    params = _params(tune={"n_trials": 12, "space": {
        "optimizer.learning_rate": {"low": 1e-3, "high": 0.3, "log": True}}})
    start = tune_note(params, rows=800, n_features=20, metric="log_loss")
    assert start == (
        f"gdlab tune run: bayes search (12 trials) of optimizer.learning_rate, each trial a "
        f"5-fold CV scored by log_loss, around a {model_line(params)}.\n\n"
        "Data: 800 training rows × 20 features of synthetic data (make_classification)."
    )
    end = tune_note(params, rows=800, n_features=20, metric="log_loss",
                    best=(7, 0.31234, {"optimizer.learning_rate": 0.0421}),
                    counts={"COMPLETE": 9, "PRUNED": 3, "FAIL": 0})
    assert end == start + ("\n\nBest: trial 7, CV log_loss 0.3123 with "
                           "optimizer.learning_rate=0.0421 (9 complete, 3 pruned).")
    note = compare_note(params, rows=800, n_features=20, ranking=["adam", "sgd"])
    assert note.startswith("gdlab compare run: optimizer.name varied over 2 values")
    assert note.endswith("Ranking by final mean training loss: adam > sgd.")
    chosen = _params(compare={"rank_by": "val_metric", "metric": "balanced_accuracy"})
    note = compare_note(chosen, rows=800, n_features=20, ranking=["adam", "sgd"])
    assert note.endswith("Ranking by mean held-out balanced_accuracy: adam > sgd.")


def test_a_full_batch_training_says_so_not_batch_size_none():
    note = train_note(_params(train={"batch_size": None}), rows=10, n_features=2)
    assert "; full batch, up to" in note and "None" not in note


def test_the_tune_note_states_the_budget_the_search_has():
    """A bayes search with n_trials: null and a timeout was described as 'a full grid'."""
    from gdlab.tracking.notes import search_budget

    timed = _params(tune={"strategy": "bayes", "n_trials": None, "timeout": 600})
    assert search_budget(timed.tune) == "trials until 600 s"
    assert "bayes search (trials until 600 s)" in tune_note(timed, rows=8, n_features=2,
                                                             metric="log_loss")
    grid = _params(tune={"strategy": "grid", "n_trials": None})
    assert search_budget(grid.tune) == "the whole grid"
    both = _params(tune={"n_trials": 12, "timeout": 60})
    assert search_budget(both.tune) == "12 trials, at most 60 s"
