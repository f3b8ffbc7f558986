"""A ``train.batch_size`` above the fits' training rows is said once by the cross-validation
and the train step, whether the folds run here, as threads or in joblib's worker processes
(which printed the estimator's warning once per fold, with its source line), and names the
fewest and most training rows of the fits it applied to."""

import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import gdlab
from gdlab import BatchSizeWarning, GDClassifier
from gdlab.config import Params
from gdlab.experiment import cross_validate, make_folds
from gdlab.experiment.training import run_training
from gdlab.experiment.trajectory import refit_trajectory

SRC = Path(gdlab.__file__).resolve().parents[1]  # the gdlab under test, in the subprocess too


def _tiny(n=52):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 3))
    return X, (X[:, 0] + 0.3 * rng.normal(size=n) > 0).astype(np.int64)


def _pipeline(**settings):
    estimator = GDClassifier(**{"batch_size": 64, "max_epochs": 3, "tol": None,
                                "random_state": 0, **settings})
    return Pipeline([("preprocess", StandardScaler()), ("model", estimator)])


def _batch_warnings(caught):
    return [str(w.message) for w in caught if issubclass(w.category, BatchSizeWarning)]


@pytest.mark.parametrize(("n_jobs", "jit"), [(1, "0"), (2, "1")])
def test_cross_validation_says_the_batch_size_once(monkeypatch, capfd, n_jobs, jit):
    """Here and as threads (compiled kernels); in loky worker processes: the next test."""
    monkeypatch.setenv("GDLAB_JIT", jit)
    X, y = _tiny()
    folds = make_folds(y, 5, task="classification", seed=0)
    rows = sorted(len(f.train_idx) for f in folds)
    assert rows[0] < rows[-1]  # the folds train on different row counts
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # every fit's warning would count, not only the first
        cross_validate(_pipeline(), X, y, folds, task="classification", n_jobs=n_jobs,
                       progress=False)
    assert _batch_warnings(caught) == [
        f"train.batch_size: 64 is above the training rows of the fits ({rows[0]} to "
        f"{rows[-1]} rows): every epoch is one full-batch step, not mini-batches; lower "
        f"train.batch_size below {rows[0]}, or set it to null for full batch"
    ]
    assert "batch_size" not in capfd.readouterr().err  # no worker printed its own


def test_a_stage_with_fold_processes_prints_one_line_about_the_batch_size(tmp_path):
    """What the user saw: the estimator's UserWarning once per fold and warm-up, with the
    file path and source line a worker process prints; now one line in the stage's format."""
    script = tmp_path / "stage.py"
    script.write_text(textwrap.dedent("""
        import numpy as np
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import StandardScaler
        from gdlab import GDClassifier
        from gdlab.experiment import cross_validate, make_folds
        from gdlab.tracking.safety import stage_exit

        def main():
            rng = np.random.default_rng(0)
            X = rng.normal(size=(52, 3))
            y = (X[:, 0] > 0).astype(int)
            model = GDClassifier(batch_size=64, max_epochs=3, tol=None, random_state=0)
            pipe = Pipeline([("preprocess", StandardScaler()), ("model", model)])
            folds = make_folds(y, 5, task="classification", seed=0)
            cross_validate(pipe, X, y, folds, task="classification", n_jobs=2, progress=False)
            return 0

        if __name__ == "__main__":
            raise SystemExit(stage_exit("train", main))
    """))
    env = {**os.environ, "GDLAB_JIT": "0", "CI": "1", "PYTHONPATH": str(SRC)}
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    about = [line for line in done.stderr.splitlines() if "batch_size" in line]
    assert len(about) == 1, done.stderr
    assert about[0].startswith("train: BatchSizeWarning: train.batch_size: 64 is above the "
                               "training rows of the fits (41 to 42 rows)")


def test_the_train_step_says_it_once_for_folds_refit_and_trajectory(monkeypatch):
    monkeypatch.setenv("GDLAB_JIT", "0")
    X, y = _tiny(n=60)
    params = Params.model_validate({
        "model": {"task": "classification"},
        "train": {"max_epochs": 3, "tol": None, "batch_size": 55},
        "cv": {"folds": 3, "n_jobs": 2},
    })
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = run_training(params, X, y, progress=False)
        refit_trajectory(params, X, y, n_iter=result.refit.n_iter)
    # the folds train on 40 rows, the refit on 60: 55 is above the folds' only
    assert _batch_warnings(caught) == [
        "train.batch_size: 55 is above the training rows of the fits (40 rows): every epoch "
        "is one full-batch step, not mini-batches; lower train.batch_size below 40, or set "
        "it to null for full batch"
    ]
    params = params.model_copy(update={"train": params.train.model_copy(
        update={"batch_size": 80})})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = run_training(params, X, y, progress=False)
        refit_trajectory(params, X, y, n_iter=result.refit.n_iter)
    [said] = _batch_warnings(caught)
    assert said.startswith("train.batch_size: 80 is above the training rows of the fits "
                           "(40 to 60 rows)")


@pytest.mark.parametrize("n", [41, 42, 60, 97])
def test_the_rows_counted_are_those_the_estimator_says_it_trains_on(n):
    """With early stopping the estimator holds out validation_fraction of the rows: the
    count the stage checks is the n_samples of the estimator's own warning."""
    from gdlab.experiment.full_batch import fit_rows, full_batch_fits

    X, y = _tiny(n=n)
    pipeline = _pipeline(batch_size=500, early_stopping=True, validation_fraction=0.15)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pipeline.fit(X, y)
    [own] = _batch_warnings(caught)
    assert f"n_samples={fit_rows(pipeline, n)} " in own
    assert full_batch_fits(pipeline, [n]).fewest == fit_rows(pipeline, n)
    assert full_batch_fits(_pipeline(batch_size=fit_rows(pipeline, n)), [n]) is None
    assert full_batch_fits(_pipeline(batch_size=None), [n]) is None
