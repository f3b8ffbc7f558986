"""Estimator parameters refused at fit with a message naming them and what is allowed, and the
values that are accepted (an int hidden_layer_sizes, numpy dtypes, one callable)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_regression
from sklearn.neural_network import MLPRegressor

from gdlab import BatchSizeWarning, GDClassifier, GDRegressor


@pytest.fixture
def data():
    X, y = make_regression(n_samples=120, n_features=5, noise=1.0, random_state=0)
    return (X - X.mean(0)) / X.std(0), (y - y.mean()) / y.std()


def _reg(**params):
    return GDRegressor(**{"max_epochs": 30, "tol": None, "random_state": 0, **params})


REFUSED = [
    # optimiser values (were trained on silently, or failed with a divergence or a
    # ZeroDivisionError)
    ({"optimizer_params": {"eps": -1.0}}, r"optimizer_params\['eps'\] must be a finite real "
     r"number > 0, got -1.0"),
    ({"optimizer_params": {"weight_decay": -5.0}}, r"optimizer_params\['weight_decay'\] must be "
     r"a finite real number >= 0"),
    ({"optimizer": "sgd", "optimizer_params": {"momentum": -1.0}},
     r"optimizer_params\['momentum'\] must be a finite real number >= 0 and < 1"),
    ({"optimizer": "rmsprop", "optimizer_params": {"alpha": 2.0}},
     r"optimizer_params\['alpha'\] must be a finite real number >= 0 and < 1, got 2.0"),
    ({"optimizer": "adagrad", "optimizer_params": {"lr_decay": -1.0}},
     r"optimizer_params\['lr_decay'\] must be a finite real number >= 0, got -1.0"),
    ({"optimizer_params": {"weight_decay": "0.1"}},
     r"optimizer_params\['weight_decay'\] must be a finite real number >= 0, got '0.1' \(str\)"),
    # schedule values
    ({"schedule": "multistep", "schedule_params": {"milestones": "12"}},
     r"schedule_params\['milestones'\] must be a list of 1 or more items, each an integer >= 0"),
    ({"schedule": "cosine", "schedule_params": {"T_max": "10"}},
     r"schedule_params\['T_max'\] must be an integer > 0, got '10'"),
    ({"schedule": "step", "schedule_params": {"step_size": 1, "gamma": -1}},
     r"schedule_params\['gamma'\] must be a finite real number > 0 and <= 1, got -1"),
    # hidden_layer_sizes: no truncation of 10.5, no "10"
    ({"model": "mlp", "hidden_layer_sizes": (10.5,)},
     r"hidden_layer_sizes\[0\] must be an integer >= 1, got 10.5"),
    ({"model": "mlp", "hidden_layer_sizes": ("10",)},
     r"hidden_layer_sizes\[0\] must be an integer >= 1, got '10'"),
    ({"model": "mlp", "hidden_layer_sizes": ()},
     r"hidden_layer_sizes must be an integer >= 1 or a non-empty tuple of them"),
    # flags that were taken as truthy
    ({"shuffle": "no"}, r"shuffle must be True or False, got 'no' \(str\)"),
    ({"early_stopping": "yes"}, r"early_stopping must be True or False, got 'yes'"),
    ({"warm_start": 1}, r"warm_start must be True or False, got 1"),
    ({"verbose": "yes"}, r"verbose must be an integer"),
    ({"callbacks": 5}, r"callbacks must be None, a callable or a list of callables"),
    ({"callbacks": [print, "x"]}, r"callbacks\[1\] must be callable"),
    # model_params were ignored by the built-in models
    ({"model_params": {"depth": 3}}, r"model_params are the keyword arguments of a plug-in "
     r"model factory \('package.module:factory'\); model='linear' takes none"),
    ({"model": "mlp", "model_params": {"depth": 3}}, r"model='mlp' takes none"),
    ({"dtype": "float16"}, r"dtype must be 'float32' or 'float64'"),
    ({"dtype": np.float16}, r"dtype must be 'float32' or 'float64'"),
    ({"dtype": None}, r"dtype must be 'float32' or 'float64'"),
]


@pytest.mark.parametrize(("params", "match"), REFUSED,
                         ids=[f"{i}-{next(iter(p))}" for i, (p, _) in enumerate(REFUSED)])
def test_bad_values_are_refused_at_fit_naming_the_parameter(data, params, match):
    X, y = data
    with pytest.raises(ValueError, match=match):
        _reg(**params).fit(X, y)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_an_int_hidden_layer_sizes_is_one_layer_as_in_mlpregressor(data):
    X, y = data
    est = _reg(model="mlp", hidden_layer_sizes=10).fit(X, y)
    same = _reg(model="mlp", hidden_layer_sizes=(10,)).fit(X, y)
    assert [w.shape for w in est.coefs_] == [(5, 10), (10, 1)]
    np.testing.assert_array_equal(est.predict(X), same.predict(X))
    sk = MLPRegressor(hidden_layer_sizes=10, max_iter=2).fit(X, y)  # the reference
    assert [w.shape for w in sk.coefs_] == [w.shape for w in est.coefs_]


def test_negative_verbose_prints_nothing(data, capsys):
    X, y = data
    _reg(verbose=-1).fit(X, y)
    assert capsys.readouterr().out == ""
    _reg(verbose=1, max_epochs=2).fit(X, y)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and lines[-1].startswith("lowest training loss")  # 2 epochs, best


def test_a_single_callable_is_a_callback(data):
    X, y = data
    seen = []
    _reg(callbacks=lambda info: seen.append(info["epoch"])).fit(X, y)
    assert len(seen) == 30


@pytest.mark.parametrize("dtype", [np.float32, np.dtype("float32"), "float32"])
def test_numpy_dtypes_are_accepted_and_clone(data, dtype):
    X, y = data
    est = _reg(dtype=dtype).fit(X, y)
    assert est.coef_.dtype == np.float32
    reference = _reg(dtype="float32").fit(X, y)
    np.testing.assert_array_equal(est.coef_, reference.coef_)
    assert clone(est).get_params()["dtype"] == dtype


def test_partial_fit_with_the_same_dtype_spelt_differently_continues(data):
    X, y = data
    est = _reg(dtype=np.float32).partial_fit(X, y)
    est.set_params(dtype="float32").partial_fit(X, y)  # one dtype, not a changed one
    assert est.n_iter_ == 2


def test_batch_size_above_the_rows_warns_once_and_clips(data):
    X, y = data
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est = _reg(batch_size=500).fit(X, y)
    said = [w for w in caught if "batch_size" in str(w.message)]
    assert [str(w.message) for w in said] == [
        "GDRegressor: Got batch_size=500 > n_samples=120 (the training rows); clipping: every "
        "epoch is one full-batch step"
    ]
    # a class of its own (to filter it), still a UserWarning to whoever filters those
    assert said[0].category is BatchSizeWarning and issubclass(BatchSizeWarning, UserWarning)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", category=BatchSizeWarning)
        _reg(batch_size=500).fit(X, y)
    full = _reg().fit(X, y)
    np.testing.assert_array_equal(est.coef_, full.coef_)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _reg(batch_size=120).fit(X, y)
    # partial_fit on chunks smaller than batch_size: said once, on the first call
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        stream = _reg(batch_size=50)
        for start in range(0, 120, 30):
            stream.partial_fit(X[start:start + 30], y[start:start + 30])
    assert sum("batch_size=50" in str(w.message) for w in caught) == 1


def test_partial_fit_classes_with_one_label_is_named(data):
    X, y = data
    with pytest.raises(ValueError, match=r"classes must hold every label \(at least 2\), got "
                                         r"\[0\]"):
        GDClassifier().partial_fit(X, (y > 0).astype(int), classes=[0])


def test_partial_fit_labels_outside_classes_are_listed(data):
    X, y = data
    with pytest.raises(ValueError) as info:
        GDClassifier().partial_fit(X, (y > 0).astype(int), classes=["0", "1"])
    text = str(info.value)
    assert text.startswith("y holds labels that are not in classes=['0', '1']: [0, 1]")
    assert "pass classes of the same type as y" in text
    with pytest.raises(ValueError, match=r"not in classes=\[0, 1\]: \[2\]"):
        GDClassifier().partial_fit(X, np.arange(len(y)) % 3, classes=[0, 1])


def test_labels_unseen_by_fit_name_the_classes(data):
    X, y = data
    est = GDClassifier(max_epochs=2, tol=None).fit(X, (y > 0).astype(int))
    with pytest.raises(ValueError, match=r"not seen in training \(classes_=\[0, 1\]\): \[5\]"):
        est.partial_fit(X, np.full(len(y), 5))


def test_plateau_monitors_eval_set_without_early_stopping(data):
    # what the docs now say: an eval_set is the plateau schedule's metric even when
    # early_stopping is off (a validation loss that never improves halves the rate; the
    # falling training loss alone would not)
    X, y = data
    X_val, y_val = X[:40], -y[:40]  # learning y makes this loss worse every epoch
    params = {"schedule": "plateau", "schedule_params": {"factor": 0.5, "patience": 0},
              "optimizer": "sgd", "learning_rate": 0.05, "max_epochs": 10}
    own = _reg(**params).fit(X, y)
    assert own.history_["learning_rate"][-1] == 0.05  # the training loss keeps falling
    watched = _reg(**params).fit(X, y, eval_set=(X_val, y_val))
    assert watched.history_["learning_rate"][-1] < 0.05
