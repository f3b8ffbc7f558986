"""Analytic gradients of every model, loss and penalty against central finite differences.

Property-based: hypothesis draws the shapes, the data, the weights and the penalty.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gdlab import check_grad
from gdlab.core.models import MLP, LinearModel

shapes = st.tuples(st.integers(2, 12), st.integers(1, 5))
seeds = st.integers(0, 2**31 - 1)
alphas = st.sampled_from([0.0, 0.05, 0.7])
SETTINGS = settings(max_examples=25, deadline=None)
# Tighter than check_grad's defaults (rtol=1e-3, atol=1e-5, which accept a gradient off by
# 5e-4 relative): central differences with ε = 1e-6 agree with the analytic gradients to
# about 1e-9 absolute here (measured worst over 8000 draws: 2e-8, a tenth of this bound).
TOL = dict(rtol=1e-6, atol=1e-7)


def _data(seed, n, d, loss, n_classes=2):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) * rng.uniform(0.3, 3.0)
    if loss == "log_loss":
        y = rng.integers(0, n_classes, size=n)
    else:
        y = rng.standard_normal(n) * 3.0
    w = rng.uniform(0.1, 2.0, size=n)
    return X, y, w


def _assert_ok(result):
    assert result.ok, (result.max_abs_error, result.max_rel_error)


@SETTINGS
@given(shape=shapes, seed=seeds, alpha=alphas, loss=st.sampled_from(["squared_error", "huber"]))
def test_linear_regression_gradient(shape, seed, alpha, loss):
    X, y, w = _data(seed, *shape, loss)
    _assert_ok(check_grad(LinearModel(), X, y, loss=loss, sample_weight=w, alpha=alpha,
                          random_state=seed, **TOL))


@SETTINGS
@given(shape=shapes, seed=seeds, alpha=alphas, n_classes=st.integers(2, 4))
def test_linear_classification_gradient(shape, seed, alpha, n_classes):
    X, y, w = _data(seed, *shape, "log_loss", n_classes)
    _assert_ok(check_grad(LinearModel(), X, y, loss="log_loss", sample_weight=w, alpha=alpha,
                          random_state=seed, **TOL))


@SETTINGS
@given(
    shape=shapes, seed=seeds, alpha=alphas,
    activation=st.sampled_from(["tanh", "logistic", "relu"]),
    hidden=st.lists(st.integers(1, 6), min_size=1, max_size=2),
    task=st.sampled_from(["squared_error", "huber", "log2", "log3"]),
    l1_ratio=st.sampled_from([0.0, 0.5, 1.0]),
)
def test_mlp_gradient(shape, seed, alpha, activation, hidden, task, l1_ratio):
    loss = "log_loss" if task.startswith("log") else task
    n_classes = int(task[-1]) if task.startswith("log") else 2
    X, y, w = _data(seed, *shape, loss, n_classes)
    _assert_ok(check_grad(MLP(hidden, activation), X, y, loss=loss, sample_weight=w,
                          alpha=alpha, l1_ratio=l1_ratio, random_state=seed, **TOL))


@SETTINGS
@given(shape=shapes, seed=seeds, l1_ratio=st.floats(0.0, 1.0), alpha=st.floats(0.01, 2.0))
def test_elastic_net_penalty_gradient(shape, seed, l1_ratio, alpha):
    """Away from w = 0 (where |w| has no derivative) the penalty gradient is exact."""
    X, y, w = _data(seed, *shape, "squared_error")
    rng = np.random.default_rng(seed)
    d = shape[1]
    W = rng.choice([-1.0, 1.0], size=(d, 1)) * rng.uniform(0.1, 2.0, size=(d, 1))
    params = [W, rng.standard_normal(1)]
    _assert_ok(check_grad(LinearModel(), X, y, params=params, alpha=alpha, l1_ratio=l1_ratio,
                          sample_weight=w, **TOL))


def test_check_grad_catches_a_wrong_gradient():
    class Broken(LinearModel):
        def backward(self, params, cache, dZ, grads):
            super().backward(params, cache, dZ, grads)
            grads[0] *= 1.01

    X, y, _ = _data(0, 10, 3, "squared_error")
    assert not check_grad(Broken(), X, y).ok


def _scaled_gradient(model_cls, factor):
    class Scaled(model_cls):
        def backward(self, params, cache, dZ, grads):
            super().backward(params, cache, dZ, grads)
            for g in grads:
                g *= factor

    return Scaled


@pytest.mark.parametrize("model_cls, args, loss", [
    (LinearModel, (), "squared_error"),
    (LinearModel, (), "log_loss"),
    (MLP, ((4,), "tanh"), "squared_error"),
])
def test_tight_tolerances_catch_a_gradient_off_by_1e_4(model_cls, args, loss):
    X, y, w = _data(3, 12, 4, loss, 3)
    exact = check_grad(_scaled_gradient(model_cls, 1.0)(*args), X, y, loss=loss,
                       sample_weight=w, **TOL)
    assert exact.ok, (exact.max_abs_error, exact.max_rel_error)
    for factor in (1 + 1e-4, 1 - 1e-4):
        off = check_grad(_scaled_gradient(model_cls, factor)(*args), X, y, loss=loss,
                         sample_weight=w, **TOL)
        assert not off.ok
        assert off.max_rel_error == pytest.approx(1e-4, rel=0.05)


def test_losses_are_stable_for_huge_logits():
    from gdlab.core.models.losses import BinaryLogLoss, MultinomialLogLoss

    z = np.array([[800.0], [-800.0]])
    y = np.array([0, 1])
    w = np.array([0.5, 0.5])
    value, g = BinaryLogLoss().value_grad(z, y, w)
    assert np.isclose(value, 800.0) and np.all(np.isfinite(g))
    Z = np.array([[1000.0, 0.0, -1000.0]])
    value, g = MultinomialLogLoss().value_grad(Z, np.array([2]), np.array([1.0]))
    assert np.isclose(value, 2000.0) and np.all(np.isfinite(g))


def test_check_grad_reports_where_a_wrong_gradient_is():
    class OneEntryOff(LinearModel):
        def backward(self, params, cache, dZ, grads):
            super().backward(params, cache, dZ, grads)
            grads[0][2, 0] += 0.5

    X, y, _ = _data(0, 10, 4, "squared_error")
    result = check_grad(OneEntryOff(), X, y)
    assert not result.ok and result.loss == "squared_error"
    assert result.worst == (0, (2, 0))
    assert result.max_abs_error == pytest.approx(0.5, rel=1e-4)
    report = str(result)
    assert report.startswith("gradient check FAILED (squared_error, 5 parameters in 2 arrays)")
    assert f"largest at params[0][2, 0]: analytic {result.analytic[0][2, 0]:.6g}" in report
    assert "passed" in str(check_grad(LinearModel(), X, y))


def test_check_grad_of_an_estimator_uses_its_loss_and_labels():
    from gdlab import GDClassifier, GDRegressor

    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 3))
    counts = rng.integers(0, 20, size=30)  # an integer regression target
    assert check_grad(GDRegressor(), X, counts).loss == "squared_error"  # was log_loss, 20 outputs
    huber = check_grad(GDRegressor(loss="huber", epsilon=0.5), X, counts.astype(float))
    assert huber.ok and huber.loss == "huber"
    labels = np.array(["cat", "dog", "eel"])[rng.integers(0, 3, size=30)]
    result = check_grad(GDClassifier(), X, labels)
    assert result.ok and result.loss == "log_loss" and result.analytic[0].shape == (3, 3)
    with pytest.raises(ValueError, match="class indices 0..K-1, got float64 values"):
        check_grad(LinearModel(), X, counts.astype(float), loss="log_loss")


def test_check_grad_names_what_it_takes_when_given_a_wrapper():
    # a regression pipeline's model step (preprocess.scale_target) wraps the gdlab estimator:
    # check_grad said only "'TransformedTargetRegressor' object has no attribute 'init_params'"
    from sklearn.compose import TransformedTargetRegressor

    from gdlab import GDRegressor

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(20, 3)), rng.normal(size=20)
    with pytest.raises(TypeError, match="got TransformedTargetRegressor; .*regressor_"):
        check_grad(TransformedTargetRegressor(regressor=GDRegressor()), X, y)


@pytest.mark.parametrize("model", [LinearModel(), MLP((4, 3), "tanh")], ids=["linear", "mlp"])
@pytest.mark.parametrize("l1_ratio", [0.0, 0.4, 1.0])
def test_penalty_applies_to_weights_only(model, l1_ratio):
    """Finite differences cannot see which tensors are penalised (value and gradient agree
    either way): the penalty's value and gradient are checked against its formula, on the
    weights W₁, W₂, … and never on the intercepts."""
    from gdlab.core.models import make_loss, objective

    rng = np.random.default_rng(0)
    X, y, w = _data(1, 20, 5, "squared_error")
    params = [p + rng.standard_normal(p.shape) for p in model.init_params(5, 1, rng, np.float64)]
    loss = make_loss("squared_error", 1)
    alpha = 0.3
    plain = [np.zeros_like(p) for p in params]
    penalised = [np.zeros_like(p) for p in params]
    base = objective(model, loss, params, X, y, w / w.sum(), 0.0, 0.0, plain)
    value = objective(model, loss, params, X, y, w / w.sum(), alpha, l1_ratio, penalised)
    weights = params[0::2]
    expected = alpha * sum(l1_ratio * np.abs(W).sum() + 0.5 * (1 - l1_ratio) * (W**2).sum()
                           for W in weights)
    assert value - base == pytest.approx(expected, rel=1e-12)
    for i, p in enumerate(params):
        extra = penalised[i] - plain[i]
        if i % 2:  # an intercept
            np.testing.assert_array_equal(extra, 0.0)
        else:
            np.testing.assert_allclose(
                extra, alpha * (l1_ratio * np.sign(p) + (1 - l1_ratio) * p), rtol=1e-10,
                atol=1e-14)
