"""The estimators' defaults fit the standard small data sets to convergence: no
ConvergenceWarning, and scores within 0.01 of scikit-learn's closed-form or L-BFGS fit.

With ``max_epochs=200`` full-batch adam (learning rate 0.01) stopped unconverged on
breast-cancer (it converges in ~220 epochs) and iris (~700), with a ConvergenceWarning in
every fold of a 5-fold CV; scikit-learn's SGD estimators allow ``max_iter=1000``."""

import warnings

import pytest
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from gdlab import GDClassifier, GDRegressor


def _fit_warnings(model, X, y) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(X, y)
    return [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]


@pytest.mark.parametrize("load", [load_breast_cancer, load_iris])
def test_default_classifier_converges_to_logistic_regressions_accuracy(load):
    X, y = load(return_X_y=True)
    model = make_pipeline(StandardScaler(), GDClassifier(random_state=0))
    assert _fit_warnings(model, X, y) == []
    assert model[-1].n_iter_ < model[-1].max_epochs  # the tol rule stopped it
    reference = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    assert model.score(X, y) == pytest.approx(reference.score(X, y), abs=0.01)


def test_default_regressor_on_a_scaled_target_converges_to_least_squares():
    X, y = load_diabetes(return_X_y=True)
    model = TransformedTargetRegressor(
        regressor=make_pipeline(StandardScaler(), GDRegressor(random_state=0)),
        transformer=StandardScaler(),
    )
    assert _fit_warnings(model, X, y) == []
    reference = LinearRegression().fit(X, y)
    assert model.score(X, y) == pytest.approx(reference.score(X, y), abs=0.01)
