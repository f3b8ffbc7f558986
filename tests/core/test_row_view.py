"""Row views: training on rows of a shared X standardised on the fly (Problem.rows,
center, scale, val_rows) equals training on the materialised rows, on the compiled and
the numpy path, full batch and mini-batch, with sample weights."""

import numpy as np
import pytest

from gdlab.core.fast import FastOptState, make_fast_state
from gdlab.core.loop import LoopConfig, LoopState, Problem, run_epochs
from gdlab.core.models import LinearModel, make_loss
from gdlab.core.optim import make_optimizer
from gdlab.core.schedules import make_schedule


def _data(task, n=500, d=7, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * rng.uniform(0.1, 5.0, size=d) + rng.uniform(-3, 3, size=d)
    z = (X - X.mean(0)) / X.std(0) @ rng.normal(size=d)
    if task == "regression":
        y = z + 0.1 * rng.normal(size=n)
    elif task == "binary":
        y = (z + 0.5 * rng.normal(size=n) > 0).astype(np.intp)
    else:
        y = np.digitize(z, np.quantile(z, [0.3, 0.6])).astype(np.intp)
    w = rng.uniform(0.0, 2.0, size=n)
    return X, y, w


def _train(problem, n_outputs, jit, monkeypatch, *, batch_size, optimizer="adam",
           epochs=4, shuffle=True):
    monkeypatch.setenv("GDLAB_JIT", "1" if jit else "0")
    model, loss = problem.model, problem.loss
    rng = np.random.default_rng(11)
    params = model.init_params(problem.X.shape[1], n_outputs, rng, np.float64)
    opt = make_optimizer(optimizer, None)
    fast = make_fast_state(model, loss, optimizer, None, None, params)
    assert (fast is not None) == jit
    state = LoopState(params, fast if fast is not None else opt.init(params),
                      make_schedule("constant", 0.05, None), rng)
    cfg = LoopConfig(batch_size=batch_size, shuffle=shuffle, tol=None, alpha=0.01,
                     l1_ratio=0.2)
    run_epochs(problem, state, opt, cfg, epochs)
    assert isinstance(state.opt_state, FastOptState) == jit
    return state


def _pair(task, jit, monkeypatch, *, batch_size, scaled=True, shuffle=True, **kw):
    X, y, w = _data(task)
    n_outputs = {"regression": 1, "binary": 1, "multi": 3}[task]
    loss_name = "squared_error" if task == "regression" else "log_loss"
    perm = np.random.default_rng(3).permutation(len(X))
    rows, val_rows = np.sort(perm[:350]), perm[350:]
    mu, sd = X[rows].mean(0), X[rows].std(0)
    center, scale = (mu, 1.0 / sd) if scaled else (None, None)

    def transform(A):
        return (A - mu) * (1.0 / sd) if scaled else A.copy()

    def problem(view):
        loss = make_loss(loss_name, n_outputs, 1.0)
        m = len(val_rows)
        if view:
            return Problem(LinearModel(), loss, X, y, w, X, y[val_rows], np.full(m, 1 / m),
                           rows=rows, val_rows=val_rows, center=center, scale=scale)
        return Problem(LinearModel(), loss, transform(X[rows]), y[rows], w[rows],
                       transform(X[val_rows]), y[val_rows], np.full(m, 1 / m))

    a = _train(problem(True), n_outputs, jit, monkeypatch, batch_size=batch_size,
               shuffle=shuffle, **kw)
    b = _train(problem(False), n_outputs, jit, monkeypatch, batch_size=batch_size,
               shuffle=shuffle, **kw)
    return a, b


def _assert_same(a, b):
    for key in ("loss", "val_loss", "grad_norm"):
        x, z = a.history[key], b.history[key]
        if key == "val_loss" and x[0] is None:
            assert z == x
            continue
        np.testing.assert_allclose(x, z, rtol=1e-9)
    for p, q in zip(a.params, b.params, strict=True):
        np.testing.assert_allclose(p, q, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("jit", [True, False], ids=["fast", "numpy"])
@pytest.mark.parametrize("batch_size", [None, 32])
@pytest.mark.parametrize("task", ["regression", "binary", "multi"])
@pytest.mark.parametrize("scaled", [True, False], ids=["scaled", "raw"])
def test_view_equals_materialised_rows(monkeypatch, task, batch_size, jit, scaled):
    a, b = _pair(task, jit, monkeypatch, batch_size=batch_size, scaled=scaled)
    _assert_same(a, b)


@pytest.mark.parametrize("jit", [True, False], ids=["fast", "numpy"])
def test_view_without_shuffle(monkeypatch, jit):
    a, b = _pair("binary", jit, monkeypatch, batch_size=50, shuffle=False, optimizer="sgd")
    _assert_same(a, b)


def test_full_batch_parallel_kernel_on_a_view(monkeypatch):
    """Views above SMALL_FULL_BATCH values use the chunked parallel kernel with rows."""
    from gdlab.core.fast import SMALL_FULL_BATCH

    rng = np.random.default_rng(0)
    n, d = 40_000, 40
    X = rng.normal(size=(n, d)) * 2.0 + 1.5
    y = X @ rng.normal(size=d) / d
    w = rng.uniform(0.5, 1.5, size=n)
    rows = np.flatnonzero(rng.random(n) < 0.8)
    assert len(rows) * d > SMALL_FULL_BATCH
    mu, sd = X[rows].mean(0), X[rows].std(0)
    loss = make_loss("squared_error", 1, 1.0)
    view = Problem(LinearModel(), loss, X, y, w, rows=rows, center=mu, scale=1 / sd)
    dense = Problem(LinearModel(), loss, (X[rows] - mu) / sd, y[rows], w[rows])
    a = _train(view, 1, True, monkeypatch, batch_size=None, optimizer="momentum")
    b = _train(dense, 1, True, monkeypatch, batch_size=None, optimizer="momentum")
    _assert_same(a, b)


def test_numpy_full_batch_materialises_once(monkeypatch):
    import gdlab.core.loop as loop

    monkeypatch.setattr(loop, "VIEW_CHUNK_BYTES", 1)  # 64-row chunks
    X, y, w = _data("regression")
    rows = np.arange(0, 500, 2)
    problem = Problem(LinearModel(), make_loss("squared_error", 1, 1.0), X, y, w, rows=rows,
                      center=X.mean(0), scale=1 / X.std(0))
    _train(problem, 1, False, monkeypatch, batch_size=None)
    Xd, yd, wd = problem.cache["dense"]
    np.testing.assert_allclose(Xd, (X[rows] - X.mean(0)) / X.std(0), rtol=1e-14)
    assert np.array_equal(yd, y[rows]) and np.array_equal(wd, w[rows])


def test_validation_loss_in_chunks(monkeypatch):
    """The view's validation loss is summed over chunks of rows (here 64)."""
    import gdlab.core.loop as loop

    monkeypatch.setattr(loop, "VIEW_CHUNK_BYTES", 1)
    X, y, w = _data("multi")
    val_rows = np.arange(3, 500, 3)
    m = len(val_rows)
    loss = make_loss("log_loss", 3, 1.0)
    params = [np.random.default_rng(0).normal(size=(7, 3)), np.zeros(3)]
    center, scale = X.mean(0), 1 / X.std(0)
    view = Problem(LinearModel(), loss, X, y, w, X, y[val_rows], np.full(m, 1 / m),
                   val_rows=val_rows, center=center, scale=scale)
    dense = Problem(LinearModel(), loss, X, y, w, (X[val_rows] - center) * scale,
                    y[val_rows], np.full(m, 1 / m))
    assert view.validation_loss(params) == pytest.approx(dense.validation_loss(params),
                                                         rel=1e-12)
