"""The train stage's trajectory refits (:mod:`gdlab.experiment.trajectory`) show no
warning of their own: they repeat the refit the stage ran and reported."""

import warnings

import numpy as np
import pytest

from gdlab import ScheduleReachWarning
from gdlab.config import Params
from gdlab.experiment.training import run_training
from gdlab.experiment.trajectory import refit_trajectory


def _data(n=60):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 3))
    return X, (X[:, 0] + 0.3 * rng.normal(size=n) > 0).astype(np.int64)


@pytest.mark.parametrize("n_iter", ["refit", None])
def test_a_step_schedule_that_acts_draws_no_schedule_warning(monkeypatch, n_iter):
    """step_size 30 within max_epochs 40 changes the rate in epoch 31 of every fit; the
    trajectory's one-epoch start fit said 'step_size=30 is not below max_epochs=1 ... use a
    step_size below 1' under every train stage with a step schedule."""
    monkeypatch.setenv("GDLAB_JIT", "0")
    X, y = _data()
    params = Params.model_validate({
        "model": {"task": "classification"},
        "schedule": {"name": "step", "params": {"step_size": 30}},
        "train": {"max_epochs": 40, "tol": None, "batch_size": 16},
        "cv": {"folds": 2, "n_jobs": 1},
    })
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = run_training(params, X, y, progress=False)
        assert result.cv.folds[0].curves["learning_rate"][30] < params.optimizer.learning_rate
        epochs = result.refit.n_iter if n_iter == "refit" else None
        trajectory = refit_trajectory(params, X, y, n_iter=epochs)
    assert len(trajectory.steps) == 41
    said = [str(w.message) for w in caught if issubclass(w.category, ScheduleReachWarning)]
    assert said == []
