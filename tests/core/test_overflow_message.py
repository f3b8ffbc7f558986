"""A divergence caused by overflowing features says so: ``fit(X * 1e300, y)`` raised
"Training diverged at epoch 1 (loss=6.065) with learning_rate=0.01. Try a smaller learning
rate ...", quoting a finite loss and blaming the learning rate, while the gradient had
overflowed (scikit-learn's SGD: "Floating-point under-/overflow occurred ... Scaling input
data ... might help"). A non-finite or exploding loss keeps the learning-rate advice."""

import pickle

import numpy as np
import pytest
from sklearn.linear_model import SGDRegressor

from gdlab import DivergenceError, GDClassifier, GDRegressor

JIT = pytest.mark.parametrize("jit", ["1", "0"], ids=["compiled", "numpy"])


def _data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 3))
    return X, X @ [1.0, 2.0, 3.0] + 0.1 * rng.standard_normal(50)


def _finite(est) -> bool:
    return bool(np.isfinite(est.coef_).all() and np.isfinite(est.intercept_).all())


@JIT
@pytest.mark.parametrize("batch_size", [None, 1])
def test_huge_features_say_the_gradient_overflowed_and_to_scale_them(monkeypatch, jit,
                                                                     batch_size):
    monkeypatch.setenv("GDLAB_JIT", jit)
    X, y = _data()
    # what scikit-learn's SGD says on the same data: an overflow, scale the inputs
    with pytest.raises(ValueError, match="overflow.*Scaling input data"):
        SGDRegressor(random_state=0).fit(X * 1e300, y)
    est = GDRegressor(batch_size=batch_size, random_state=0)
    with pytest.raises(DivergenceError) as info:
        est.fit(X * 1e300, y)
    msg = str(info.value)
    assert msg.startswith("Training diverged at epoch 1: the gradient overflowed"), msg
    assert "while the loss was finite" in msg and np.isfinite(info.value.loss)
    assert info.value.overflow == "gradient"
    assert msg.index("Scale the features") < msg.index("smaller learning rate")
    assert info.value.advice in msg and _finite(est)


@JIT
def test_partial_fit_and_the_classifier_say_it_too(monkeypatch, jit):
    monkeypatch.setenv("GDLAB_JIT", jit)
    X, y = _data()
    with pytest.raises(DivergenceError, match="the gradient overflowed.*Scale the features"):
        GDRegressor(random_state=0).partial_fit(X * 1e300, y)
    with pytest.raises(DivergenceError, match="the gradient overflowed.*Scale the features"):
        GDClassifier(random_state=0).fit(X * 1e300, y > 0)


@JIT
def test_an_update_overflowing_the_parameters_names_the_step(monkeypatch, jit):
    """Finite loss and gradient, but learning_rate × gradient overflows: the step, not the
    loss, overflowed (the parameters are restored to finite ones)."""
    monkeypatch.setenv("GDLAB_JIT", jit)
    X, y = _data()
    est = GDRegressor(optimizer="sgd", learning_rate=1e300, random_state=0)
    with pytest.raises(DivergenceError) as info:
        est.fit(X * 1e10, y)
    msg = str(info.value)
    assert msg.startswith("Training diverged at epoch 1: the parameter update overflowed"), msg
    assert info.value.overflow == "parameters" and "smaller learning rate (e.g. 1e+299)" in msg
    assert _finite(est)


@JIT
def test_a_loss_that_blows_up_keeps_the_learning_rate_advice(monkeypatch, jit):
    monkeypatch.setenv("GDLAB_JIT", jit)
    X, y = _data()
    with pytest.raises(DivergenceError) as info:
        GDRegressor(optimizer="sgd", learning_rate=50.0, random_state=0, tol=None).fit(X, y)
    msg = str(info.value)
    assert info.value.overflow is None and msg.startswith("Training diverged at epoch")
    assert "overflowed" not in msg and "Try a smaller learning rate (e.g. 5)" in msg


@JIT
@pytest.mark.parametrize("batch_size", [None, 8])
def test_an_outlier_in_the_validation_rows_is_named_not_the_learning_rate(monkeypatch, jit,
                                                                          batch_size):
    """Training rows fine, one eval_set row at 1e200: its squared error overflows. The fit said
    "Training diverged at epoch 1 (loss=6.312) ... Try a smaller learning rate", quoting a
    finite training loss; sklearn's own mean_squared_error on that row is inf too."""
    from sklearn.metrics import mean_squared_error

    monkeypatch.setenv("GDLAB_JIT", jit)
    X, y = _data()
    X_val = X[:10].copy()
    X_val[3, 0] = 1e200
    est = GDRegressor(batch_size=batch_size, random_state=0)
    with np.errstate(over="ignore"):
        reference = mean_squared_error(y[:10], GDRegressor(max_epochs=1, random_state=0)
                                       .fit(X, y).predict(X_val))
    assert not np.isfinite(reference)
    with pytest.raises(DivergenceError) as info:
        est.fit(X, y, eval_set=(X_val, y[:10]))
    msg = str(info.value)
    assert info.value.overflow == "validation" and np.isfinite(info.value.loss)
    assert msg.startswith("Training stopped at epoch 1: the loss on the validation rows"), msg
    assert "the learning rate is not the cause" in msg and "Try a smaller" not in msg
    assert _finite(est)


@JIT
@pytest.mark.parametrize("case", ["sgd eval_set", "nesterov eval_set", "nesterov early stop"])
def test_a_divergence_that_overflows_the_validation_loss_first_is_a_divergence(monkeypatch,
                                                                               jit, case):
    """Clean data, a learning rate far too large: the training loss grows 1e70, 1e148, ...
    and the validation loss (measured after the step) overflows first. That was called an
    outlier in the validation rows ("the learning rate is not the cause")."""
    from sklearn.datasets import load_diabetes

    monkeypatch.setenv("GDLAB_JIT", jit)
    X, y = load_diabetes(return_X_y=True)
    Xs = (X - X.mean(0)) / X.std(0)
    fit = {
        "sgd eval_set": (Xs, dict(optimizer="sgd", learning_rate=31622.78), True),
        "nesterov eval_set": (Xs, dict(optimizer="nesterov", learning_rate=1000.0), True),
        "nesterov early stop": (X * 1000, dict(optimizer="nesterov", learning_rate=31.62,
                                               early_stopping=True), False),
    }
    XX, kw, eval_set = fit[case]
    est = GDRegressor(max_epochs=100, tol=None, random_state=0, batch_size=32, **kw)
    with pytest.raises(DivergenceError) as info:
        est.fit(XX[:300], y[:300], **({"eval_set": (XX[300:], y[300:])} if eval_set else {}))
    assert info.value.overflow is None, str(info.value)
    assert "smaller learning rate" in str(info.value).lower()
    assert "not the cause" not in str(info.value)


def test_the_overflow_survives_pickling():
    for overflow in (None, "gradient", "parameters", "validation"):
        err = DivergenceError(1, 0.01, 6.065, overflow)
        back = pickle.loads(pickle.dumps(err))
        assert (str(back), back.overflow, back.advice) == (str(err), overflow, err.advice)
