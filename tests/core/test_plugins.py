"""A broken plug-in is refused at its first use by the engine (the estimators and the train
stage) with one line naming it ("module:factory"), the key naming it (``schedule.name``,
``model.kind``), what is wrong and what the contract of docs/plugins.md expects; before, it
raised an error naming neither (a TypeError from gdlab's schedule code, a NameError from the
module, a broadcast error from the penalty) or trained silently wrong."""

from __future__ import annotations

import sys
import textwrap
import uuid

import numpy as np
import pytest

from gdlab import GDRegressor

MODEL = '''
import numpy as np


class Linear:
    def init_params(self, n_features, n_outputs, rng, dtype):
        return [np.zeros((n_features, n_outputs), dtype), np.zeros(n_outputs, dtype)]

    def forward(self, params, X):
        w, b = params
        return X @ w + b, X

    def backward(self, params, cache, dZ, grads):
        grads[0][...] = cache.T @ dZ
        grads[1][...] = dZ.sum(axis=0)

    def penalized(self, params):
        return [True, False]


class FlatGradient(Linear):
    def backward(self, params, cache, dZ, grads):
        grads[0] = (cache.T @ dZ).ravel()  # (n_features,) for a (n_features, 1) weight
        grads[1][...] = dZ.sum(axis=0)


class ReturnsGradients(Linear):
    def backward(self, params, cache, dZ, grads):
        return [cache.T @ dZ, dZ.sum(axis=0)]  # grads left as they were


class Float64Only(Linear):
    def init_params(self, n_features, n_outputs, rng, dtype):
        return [np.zeros((n_features, n_outputs)), np.zeros(n_outputs)]


def linear():
    return Linear()


def flat_gradient():
    return FlatGradient()


def returns_gradients():
    return ReturnsGradients()


def float64_only():
    return Float64Only()
'''

SCHEDULES = '''
from functools import partial


def _fixed_rate():
    return 0.1


def _halving(base_lr, every, epoch):
    return base_lr * 0.5 ** (epoch // every)


def no_epoch(base_lr):
    return _fixed_rate


def rate_second(every=10, base_lr=0.5):
    return partial(_halving, base_lr, every)


def halving(base_lr, every=10):
    return partial(_halving, base_lr, every)
'''


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    """Write ``source`` as a fresh module in ``tmp_path`` and return its name."""

    def write(source: str) -> str:
        name = f"plugin_{uuid.uuid4().hex[:8]}"
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
        monkeypatch.syspath_prepend(str(tmp_path))
        monkeypatch.delitem(sys.modules, name, raising=False)
        return name

    return write


def _data(dtype=np.float64):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3)).astype(dtype)
    return X, (X @ np.array([1.0, -2.0, 0.5]) + 0.3).astype(dtype)


def _refused(**estimator):
    X, y = _data(np.float32 if estimator.get("dtype") == "float32" else np.float64)
    with pytest.raises(ValueError) as caught:
        GDRegressor(max_epochs=3, **estimator).fit(X, y)
    return str(caught.value)


def test_schedule_returning_a_function_without_epoch_is_refused(plugin):
    name = f"{plugin(SCHEDULES)}:no_epoch"
    text = _refused(schedule=name)
    assert f"schedule '{name}' (schedule.name)" in text
    assert "a function that takes no epoch argument" in text
    assert "expected a function epoch -> learning rate" in text


def test_module_raising_at_import_is_named(plugin):
    module = plugin("x = undefined_name + 1\n\ndef factory(base_lr):\n    pass\n")
    text = _refused(schedule=f"{module}:factory")
    assert f"schedule '{module}:factory' (schedule.name)" in text
    assert f"importing module '{module}' raised NameError" in text
    assert "undefined_name" in text
    assert f"{module}.py, line 1" in text


def test_backward_leaving_a_gradient_of_another_shape_is_refused(plugin):
    name = f"{plugin(MODEL)}:flat_gradient"
    text = _refused(model=name)
    assert f"model '{name}' (model.kind)" in text
    assert "backward left grads[0] of shape (3,)" in text
    assert "params[0] of shape (3, 1)" in text


def test_backward_returning_new_gradients_is_refused(plugin):
    name = f"{plugin(MODEL)}:returns_gradients"
    text = _refused(model=name)
    assert f"model '{name}' (model.kind)" in text
    assert "backward returned list instead of writing the gradients into grads" in text


def test_init_params_ignoring_the_dtype_is_refused(plugin):
    name = f"{plugin(MODEL)}:float64_only"
    text = _refused(model=name, dtype="float32")
    assert f"model '{name}' (model.kind)" in text
    assert "init_params returned params[0] of dtype float64 when asked for float32" in text


def test_schedule_factory_whose_first_parameter_has_a_default_is_refused(plugin):
    name = f"{plugin(SCHEDULES)}:rate_second"
    text = _refused(schedule=name)
    assert f"schedule '{name}' (schedule.name)" in text
    assert "first parameter 'every' has a default (10)" in text
    assert "factory(base_lr, **schedule.params)" in text


def test_plugins_that_keep_the_contract_train_as_the_builtins(plugin):
    """The checks refuse nothing that keeps the contract: the plug-in linear model with the
    plug-in halving schedule (every=100: constant over 3 epochs) fits as the built-in linear
    model with a constant schedule, in both dtypes."""
    models, schedules = plugin(MODEL), plugin(SCHEDULES)
    for dtype in ("float64", "float32"):
        X, y = _data(np.dtype(dtype))
        common = {"max_epochs": 3, "dtype": dtype, "random_state": 0, "optimizer": "sgd",
                  "tol": None}
        mine = GDRegressor(model=f"{models}:linear", schedule=f"{schedules}:halving",
                           schedule_params={"every": 100}, **common).fit(X, y)
        builtin = GDRegressor(**common).fit(X, y)
        np.testing.assert_allclose(mine.predict(X), builtin.predict(X), rtol=1e-5, atol=1e-5)
