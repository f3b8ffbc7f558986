"""``warm_start=True`` continues the previous solution or refuses, never silently starts again
from zeros: other classes are refused as scikit-learn's SGDClassifier and MLPClassifier refuse
them, another ``model`` or ``hidden_layer_sizes`` naming the change; a refusal leaves the
fitted estimator as it was."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDClassifier
from sklearn.neural_network import MLPClassifier

from gdlab import GDClassifier, GDRegressor

FAST = {"max_epochs": 20, "tol": None, "random_state": 0}


def fitted(est) -> bytes:
    return pickle.dumps({k: v for k, v in sorted(vars(est).items())
                         if k.endswith("_") or k in ("_state", "_built_with")})


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 3))
    return X, np.repeat([0, 1, 2], 30)


@pytest.mark.parametrize("model", ["linear", "mlp"])
@pytest.mark.parametrize("other", ["fewer", "relabelled"])
def test_other_classes_are_refused_as_scikit_learn_refuses_them(data, model, other):
    X, y = data
    X_new, y_new = (X[:60], y[:60]) if other == "fewer" else (X, y + 1)
    reference = MLPClassifier if model == "mlp" else SGDClassifier
    if other == "fewer" or model == "mlp":  # SGDClassifier checks the count only
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            ref = reference(warm_start=True, max_iter=5, random_state=0).fit(X, y)
            with pytest.raises(ValueError):
                ref.fit(X_new, y_new)
    est = GDClassifier(model=model, hidden_layer_sizes=(4,), warm_start=True, **FAST).fit(X, y)
    before, proba = fitted(est), est.predict_proba(X)
    with pytest.raises(ValueError) as info:
        est.fit(X_new, y_new)
    message = str(info.value)
    assert "whose classes were [0, 1, 2], but y has the classes" in message
    assert str(np.unique(y_new).tolist()) in message and "warm_start=False" in message
    assert fitted(est) == before
    np.testing.assert_array_equal(est.predict_proba(X), proba)
    # starting afresh, as the message says, fits the new classes
    est.set_params(warm_start=False).fit(X_new, y_new)
    assert est.classes_.tolist() == np.unique(y_new).tolist()


def test_the_same_classes_continue_the_previous_solution(data):
    X, y = data
    est = GDClassifier(warm_start=True, **FAST).fit(X, y)
    last = est.loss_curve_[-1]
    est.fit(X[::-1], y[::-1].astype(float))  # same labels, other order and dtype
    assert est.loss_curve_[0] < np.log(3) and est.loss_curve_[0] == pytest.approx(last, rel=0.1)


@pytest.mark.parametrize("estimator", [GDClassifier, GDRegressor])
def test_other_hidden_layer_sizes_or_model_are_refused_naming_the_change(data, estimator):
    X, y = data
    yy = y if estimator is GDClassifier else y * 1.0
    est = estimator(model="mlp", hidden_layer_sizes=(5,), warm_start=True, **FAST).fit(X, yy)
    before = fitted(est)
    for change, said in (({"hidden_layer_sizes": (3, 2)}, "hidden_layer_sizes ((5,) -> (3, 2))"),
                         ({"model": "linear"}, "model ('mlp' -> 'linear')")):
        with pytest.raises(ValueError) as info:
            est.set_params(**change).fit(X, yy)
        assert f"warm_start=True continues the previous fit, but {said} changed" in str(
            info.value)
        assert "set warm_start=False" in str(info.value)
        assert fitted(est) == before
        est.set_params(hidden_layer_sizes=(5,), model="mlp")
    # a change that keeps the shapes continues (the activation): not refused
    est.set_params(activation="tanh").fit(X, yy)
    # the linear model ignores hidden_layer_sizes: a change there continues its solution
    lin = estimator(warm_start=True, **FAST).fit(X, yy)
    last = lin.loss_curve_[-1]
    lin.set_params(hidden_layer_sizes=(7,)).fit(X, yy)
    assert lin.loss_curve_[0] == pytest.approx(last, rel=0.1)
