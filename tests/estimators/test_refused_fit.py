"""A refused ``fit``/``partial_fit`` leaves a fitted estimator exactly as it was: every fitted
attribute (coef_, intercept_, classes_, n_features_in_, feature_names_in_, params_, history_,
loss_curve_, n_iter_, the carried training state), whichever check refuses it (the data, or an
optimiser/schedule parameter only read when the training is built), as scikit-learn's
estimators, which validate their parameters before anything is fitted."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from gdlab import GDClassifier, GDRegressor

FAST = {"max_epochs": 5, "tol": None, "random_state": 0}
REFUSED_PARAMS = [
    ({"optimizer_params": {"beta": (0.9, 0.99)}}, "has no parameter 'beta'"),
    ({"schedule": "step"}, "step_size"),
    ({"optimizer": "nope"}, "nope"),
    ({"schedule_params": {"gamma": 0.5}}, "gamma"),  # constant takes none
]


def fitted(est) -> bytes:
    """Every fitted attribute of ``est``, as bytes (equal bytes: the same values, shapes,
    dtypes and sharing)."""
    attrs = {k: v for k, v in sorted(vars(est).items())
             if (k.endswith("_") and not k.startswith("__")) or k in ("_state", "_built_with")}
    return pickle.dumps(attrs)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(90, 3)), columns=["a", "b", "c"])
    return X, np.repeat([0, 1, 2], 30)


def _fitted_pair(kind, model, data):
    X, y = data
    extra = {"hidden_layer_sizes": (4,)} if model == "mlp" else {}
    if kind == "classifier":
        return GDClassifier(model=model, **extra, **FAST).fit(X, y), X, y
    return GDRegressor(model=model, **extra, **FAST).fit(X, y.astype(float)), X, y


@pytest.mark.parametrize("model", ["linear", "mlp"])
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
@pytest.mark.parametrize(("params", "said"), REFUSED_PARAMS)
def test_a_fit_refused_for_a_parameter_leaves_every_fitted_attribute(kind, model, params, said,
                                                                     data):
    est, X, y = _fitted_pair(kind, model, data)
    before, predicted = fitted(est), est.predict(X)
    names = np.array(["cat", "dog", "eel"])[y] if kind == "classifier" else y * 2.0
    for X_new in (X.to_numpy(), X.to_numpy()[:, :2]):  # other labels; another width too
        with pytest.raises(ValueError, match=said):
            est.set_params(**params).fit(X_new, names)
        assert fitted(est) == before
        np.testing.assert_array_equal(est.predict(X), predicted)
        assert list(est.feature_names_in_) == ["a", "b", "c"]
        if kind == "classifier":
            assert est.classes_.tolist() == [0, 1, 2]


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_a_first_partial_fit_refused_for_a_parameter_fits_nothing(kind, data):
    X, y = data
    est = (GDClassifier if kind == "classifier" else GDRegressor)(optimizer="nope")
    extra = {"classes": [0, 1, 2]} if kind == "classifier" else {}
    with pytest.raises(ValueError, match="nope"):
        est.partial_fit(X, y, **extra)
    assert fitted(est) == fitted(GDClassifier() if kind == "classifier" else GDRegressor())
    assert not hasattr(est, "n_features_in_") and not hasattr(est, "classes_")


def test_a_refused_partial_fit_leaves_the_carried_state(data):
    X, y = data
    est = GDClassifier(**FAST).partial_fit(X, y, classes=[0, 1, 2])
    est.partial_fit(X, y)
    before = fitted(est)
    with pytest.raises(ValueError, match="partial_fit takes weights up to"):
        est.partial_fit(X, y, sample_weight=np.full(90, 1e200))
    with pytest.raises(TypeError):  # a dense compiled state takes no sparse chunk
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.partial_fit(sparse.csr_matrix(X.to_numpy()), y)
    with pytest.raises(ValueError, match="optimizer"):
        est.set_params(optimizer="sgd").partial_fit(X, y)
    assert fitted(est) == before


def test_an_early_stopping_split_refused_leaves_the_fitted_estimator(data):
    # the split is drawn when the training is built, after the inputs are checked
    X, y = data
    est = GDRegressor(**FAST).fit(X, y.astype(float))
    before = fitted(est)
    with pytest.raises(ValueError, match="validation split"):
        est.set_params(early_stopping=True).fit(
            X.to_numpy()[:, :2], y * 1.0, sample_weight=np.r_[1.0, np.zeros(89)])
    assert fitted(est) == before


@pytest.mark.parametrize("rate", ["nan", "-0.1"])
def test_a_plug_in_schedules_refused_first_rate_leaves_every_fitted_attribute(
        tmp_path, monkeypatch, data, rate):
    """A plug-in schedule giving NaN (or a negative rate) for epoch 1 was refused inside the
    loop, after the new training state was published: the estimator was left with the new
    classes and zero weights."""
    (tmp_path / "bad_schedules.py").write_text(
        f"def bad(base_lr):\n    return lambda epoch: float({rate!r})\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    est, X, y = _fitted_pair("classifier", "linear", data)
    before, predicted = fitted(est), est.predict(X)
    with pytest.raises(ValueError, match="'bad_schedules:bad' gave the learning rate"):
        est.set_params(schedule="bad_schedules:bad").fit(X, np.array(["cat", "dog", "eel"])[y])
    assert fitted(est) == before
    np.testing.assert_array_equal(est.predict(X), predicted)
