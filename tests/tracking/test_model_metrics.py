"""What MLflow links to the refit's logged model (its Models tab): the final point of each
curve and the summaries, not the first epoch's values."""

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from gdlab import GDRegressor
from gdlab.experiment import CVResult, FitOutcome, FoldResult
from gdlab.tracking import log_sklearn_model, log_training, pipeline_run


def _refit(n_iter: int) -> tuple[FitOutcome, CVResult]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(60, 2)), columns=["a", "b"])
    model = Pipeline([("preprocess", StandardScaler()),
                      ("model", GDRegressor(max_epochs=3, random_state=0))])
    model.fit(X, X.to_numpy() @ [1.0, -1.0])
    curves = {
        "train_loss": list(np.linspace(2.0, 0.25, n_iter)),
        "learning_rate": list(np.linspace(0.1, 0.01, n_iter)),
        "grad_norm": list(np.linspace(5.0, 0.5, n_iter)),
    }
    fold = FoldResult(fold=1, n_train=40, n_val=20, n_iter=n_iter, curves=curves,
                      scores={"rmse": 0.7}, fit_time=0.1)
    refit = FitOutcome(model=model, n_iter=n_iter, curves=curves, fit_time=0.2)
    return refit, CVResult(task="regression", folds=[fold])


def test_the_logged_model_carries_the_refits_final_values_and_summaries(session):
    refit, cv = _refit(n_iter=6)
    X = pd.DataFrame(np.zeros((2, 2)), columns=["a", "b"])
    client = session.client
    with pipeline_run(experiment_id=session.experiment_id) as run:
        step = log_training(client, run.info.run_id, cv, refit)
        info = log_sklearn_model(refit.model, X, include_code=False, verify=False, step=step)
    assert step == 5
    linked = {m.key: m for m in client.get_logged_model(info.model_id).metrics}
    assert linked["train_loss"].value == pytest.approx(0.25)  # the last epoch, not 2.0
    assert linked["grad_norm"].value == pytest.approx(0.5)
    assert {m.step for m in linked.values()} == {5}
    # the summaries stay linked too
    assert linked["cv_rmse_mean"].value == pytest.approx(0.7)
    assert linked["n_iter"].value == 6
