"""A plug-in optimiser's state must not keep the arrays gdlab hands it: the engine refills one
set of gradient arrays at every step and updates the parameters in place. An optax-style
Rprop keeping ``g`` as its previous gradient trained silently to coef [7.47 -4.64 -3.72]
(loss 66.9) where torch.optim.Rprop reaches [1.0013 1.9948 3.0010]; it is now refused,
naming the plug-in. A plug-in update that is NaN for finite gradients was reported as a
learning-rate overflow ("Try a smaller learning rate"); the error now names the plug-in."""

from __future__ import annotations

import pickle
import sys
import types

import numpy as np
import pytest

from gdlab import DivergenceError, GDRegressor
from gdlab.core.optim import GradientTransformation, make_optimizer


def rprop(etaminus: float = 0.5, etaplus: float = 1.2, step_min: float = 1e-6,
          step_max: float = 50.0, copy: bool = False) -> GradientTransformation:
    """torch.optim.Rprop's rule; ``copy=False`` keeps the gradient array itself."""

    def init(params):
        return ([np.zeros_like(p) for p in params], None)

    def update(grads, state, params, learning_rate):
        prev, steps = state
        if steps is None:
            steps = [np.full_like(p, learning_rate) for p in params]
        out, new_prev = [], []
        for g, pg, s in zip(grads, prev, steps, strict=True):
            sign = np.sign(g * pg)
            s[sign > 0] *= etaplus
            s[sign < 0] *= etaminus
            np.clip(s, step_min, step_max, out=s)
            g[sign < 0] = 0
            out.append(-s * np.sign(g))
            new_prev.append(g.copy() if copy else g)
        return out, (new_prev, steps)

    return GradientTransformation(init, update)


def keeps_params() -> GradientTransformation:
    """Lookahead-style 'slow weights' that are the live parameters, not a copy."""
    return GradientTransformation(
        lambda params: (list(params),),
        lambda grads, state, params, lr: ([-lr * g for g in grads], state),
    )


def nan_at(step: int = 3) -> GradientTransformation:
    """SGD whose ``step``-th update (from 1) divides by zero."""

    def update(grads, state, params, learning_rate):
        (count,) = state
        count = count + 1
        scale = 0.0 if int(count) == step else 1.0
        return [-learning_rate * g / scale for g in grads], (count,)

    return GradientTransformation(lambda params: (np.zeros((), np.int64),), update)


CALLS: list[tuple] = []


def spy() -> GradientTransformation:
    """SGD recording what each update is given (copies of grads and params, the rate)."""

    def update(grads, state, params, learning_rate):
        CALLS.append(([g.copy() for g in grads], [p.copy() for p in params], learning_rate))
        return [-learning_rate * g for g in grads], state

    return GradientTransformation(lambda params: (), update)


def plain_sgd() -> GradientTransformation:
    return GradientTransformation(
        lambda params: (), lambda grads, state, params, lr: ([-lr * g for g in grads], state)
    )


@pytest.fixture(autouse=True)
def buffer_plugins(monkeypatch):
    module = types.ModuleType("buffer_plugins")
    module.__dict__.update(rprop=rprop, keeps_params=keeps_params, nan_at=nan_at,
                           plain_sgd=plain_sgd, spy=spy)
    CALLS.clear()
    monkeypatch.setitem(sys.modules, "buffer_plugins", module)
    monkeypatch.setenv("GDLAB_JIT", "0")


def _data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    return X, X @ [1.0, 2.0, 3.0] + 0.5


FIT = dict(batch_size=None, max_epochs=40, tol=None, learning_rate=0.01, alpha=0.0,
           random_state=0)


def _reference_rprop(X, y, epochs=40, lr=0.01):
    """torch.optim.Rprop on gdlab's objective (½ mean squared error), full batch; a numpy
    transcription of torch's rule where torch is not installed."""
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        Xt, yt = torch.tensor(X), torch.tensor(y)
        w = torch.zeros(X.shape[1], 1, dtype=torch.float64, requires_grad=True)
        b = torch.zeros(1, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.Rprop([w, b], lr=lr)
        for _ in range(epochs):
            opt.zero_grad()
            loss = 0.5 * ((Xt @ w).squeeze(1) + b - yt).pow(2).mean()
            loss.backward()
            opt.step()
        return w.detach().numpy().ravel(), b.detach().numpy()
    theta = [np.zeros(X.shape[1]), np.zeros(1)]
    prev = [np.zeros_like(t) for t in theta]
    size = [np.full_like(t, lr) for t in theta]
    for _ in range(epochs):
        r = X @ theta[0] + theta[1] - y
        grads = [X.T @ r / len(y), np.array([r.mean()])]
        for t, g, p, s in zip(theta, grads, prev, size, strict=True):
            sign = np.sign(g * p)
            s[:] = np.clip(np.where(sign > 0, s * 1.2, np.where(sign < 0, s * 0.5, s)),
                           1e-6, 50.0)
            g = np.where(sign < 0, 0.0, g)
            t -= s * np.sign(g)
            p[:] = g
    return theta[0], theta[1]


@pytest.mark.parametrize("batch_size", [None, 16])
def test_an_optimizer_keeping_the_gradient_arrays_is_refused_naming_it(batch_size):
    X, y = _data()
    with pytest.raises(ValueError) as refused:
        GDRegressor(optimizer="buffer_plugins:rprop", **{**FIT, "batch_size": batch_size}
                    ).fit(X, y)
    msg = str(refused.value)
    assert msg.startswith("optimizer 'buffer_plugins:rprop': the state its update returned "
                          "keeps grads[0]"), msg
    assert "keep a copy" in msg


def test_an_optimizer_keeping_the_parameter_arrays_is_refused_naming_it():
    X, y = _data()
    with pytest.raises(ValueError, match="optimizer 'buffer_plugins:keeps_params': the state "
                                         r"its init returned keeps params\[0\]"):
        GDRegressor(optimizer="buffer_plugins:keeps_params", **FIT).fit(X, y)


def test_a_copying_rprop_matches_torch_rprop():
    X, y = _data()
    est = GDRegressor(optimizer="buffer_plugins:rprop", optimizer_params={"copy": True},
                      **FIT).fit(X, y)
    coef, intercept = _reference_rprop(X, y)
    np.testing.assert_allclose(est.coef_.ravel(), coef, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(np.ravel(est.intercept_), intercept, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(est.coef_.ravel(), [1.0, 2.0, 3.0], atol=0.01)


def test_the_check_watches_only_the_first_steps():
    """After the first updates the wrapper checks shapes only (the mini-batch loop is timed):
    a state that starts keeping the gradient later is not looked for."""
    from gdlab.core.optim.registry import WATCHED_STEPS

    opt = make_optimizer("buffer_plugins:rprop", {"copy": True})
    params = [np.zeros(3)]
    state = opt.init(params)
    for _ in range(WATCHED_STEPS):
        _, state = opt.update([np.ones(3)], state, params, 0.1)
    kept = [np.ones(3)]
    state = (kept, state[1])  # a kept array from now on goes unchecked
    opt.update(kept, state, params, 0.1)


@pytest.mark.parametrize(("batch_size", "where"), [(None, "step 1 of epoch 3"),
                                                   (50, "step 3 of epoch 1")])
def test_a_nan_update_for_finite_gradients_names_the_plugin(batch_size, where):
    X, y = _data()
    est = GDRegressor(optimizer="buffer_plugins:nan_at", **{**FIT, "batch_size": batch_size})
    with pytest.raises(DivergenceError) as caught:
        est.fit(X, y)
    msg = str(caught.value)
    assert msg.startswith("Training diverged: optimizer 'buffer_plugins:nan_at' returned "
                          f"non-finite updates for finite gradients ({where};"), msg
    assert caught.value.overflow == "update" and caught.value.optimizer == "buffer_plugins:nan_at"
    assert np.isfinite(est.coef_).all()
    back = pickle.loads(pickle.dumps(caught.value))
    assert (str(back), back.optimizer, back.step) == (msg, "buffer_plugins:nan_at",
                                                       caught.value.step)


def test_a_plugin_diverging_through_its_loss_keeps_the_learning_rate_advice():
    """Too large a learning rate: the loss overflows at finite parameters, not the update."""
    X, y = _data()
    with pytest.raises(DivergenceError) as caught:
        GDRegressor(optimizer="buffer_plugins:plain_sgd", **{**FIT, "learning_rate": 50.0}
                    ).fit(X, y)
    assert caught.value.overflow is None and "Try a smaller learning rate" in str(caught.value)


def test_a_fold_keeps_the_plugin_named():
    from gdlab.experiment.faults import FoldDivergence, explain_divergence

    err = FoldDivergence("fold 2/5", 3, 0.01, 1.5, "update", "buffer_plugins:nan_at", 4)
    back = pickle.loads(pickle.dumps(err))
    assert str(back) == str(err) and str(err).startswith(
        "fold 2/5: Training diverged: optimizer 'buffer_plugins:nan_at' returned non-finite")
    assert str(explain_divergence(back, np.ones((3, 2)), None, True)) == str(err)


def test_update_gets_what_docs_plugins_md_says():
    """Once per mini-batch; float32 arrays in a float32 fit, a Python float rate; the batch
    mean gradient with the alpha penalty added, then clipped to clip_norm (as
    torch.nn.utils.clip_grad_norm_)."""
    X, y = _data()
    GDRegressor(optimizer="buffer_plugins:spy", batch_size=64, max_epochs=2, tol=None,
                dtype="float32", random_state=0).fit(X, y)
    assert len(CALLS) == 2 * 4  # ceil(200 / 64) mini-batches per epoch
    for grads, params, lr in CALLS:
        assert type(lr) is float
        assert [g.dtype for g in grads] == [p.dtype for p in params] == [np.float32] * 2

    CALLS.clear()
    alpha, clip = 0.5, 1.0
    GDRegressor(optimizer="buffer_plugins:spy", batch_size=None, max_epochs=3, tol=None,
                alpha=alpha, clip_norm=clip, learning_rate=0.1, random_state=0).fit(X, y)
    assert len(CALLS) == 3
    for grads, (w, b), _ in CALLS:
        r = X @ w.ravel() + b - y
        expected = [X.T @ r / len(y) + alpha * w.ravel(), np.array([r.mean()])]
        norm = np.sqrt(sum(float(e @ e) for e in expected))
        expected = [e * min(1.0, clip / (norm + 1e-6)) for e in expected]  # torch's 1e-6
        np.testing.assert_allclose(grads[0].ravel(), expected[0], rtol=1e-10)
        np.testing.assert_allclose(grads[1], expected[1], rtol=1e-10)
