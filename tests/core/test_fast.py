"""The compiled fast path equals the generic numpy path in every batch mode and option."""

import numpy as np
import pytest

from gdlab import GDClassifier, GDRegressor
from gdlab.core.fast import FastOptState

CASES = [
    ("sgd", {}), ("momentum", {"dampening": 0.3}), ("nesterov", {}),
    ("sgd", {"weight_decay": 0.1}), ("adagrad", {"lr_decay": 0.01,
                                                 "initial_accumulator_value": 0.1}),
    ("rmsprop", {"centered": True, "momentum": 0.5}), ("adam", {"amsgrad": True}),
    ("adamw", {}), ("nadam", {"weight_decay": 0.01}),
]


def _data(seed=0, n=203, d=6):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = X @ rng.standard_normal(d) + 0.2 * rng.standard_normal(n)
    return X, y


def _pair(monkeypatch, make, X, y, **fit_kw):
    monkeypatch.setenv("GDLAB_JIT", "1")
    fast = make().fit(X, y, **fit_kw)
    monkeypatch.setenv("GDLAB_JIT", "0")
    slow = make().fit(X, y, **fit_kw)
    assert isinstance(fast._state.opt_state, FastOptState)
    assert not isinstance(slow._state.opt_state, FastOptState)
    return fast, slow


@pytest.mark.parametrize("batch_size", [None, 16, 1])
@pytest.mark.parametrize("name,params", CASES, ids=[f"{n}-{p}" for n, p in CASES])
def test_regression_paths_agree(monkeypatch, name, params, batch_size):
    X, y = _data()
    w = np.random.default_rng(1).uniform(0, 2, size=len(X))

    def make():
        return GDRegressor(optimizer=name, optimizer_params=params, learning_rate=0.01,
                           batch_size=batch_size, max_epochs=4, tol=None, random_state=3,
                           alpha=0.01, l1_ratio=0.3, clip_norm=5.0)

    fast, slow = _pair(monkeypatch, make, X, y, sample_weight=w)
    np.testing.assert_allclose(fast.loss_curve_, slow.loss_curve_, rtol=1e-9)
    np.testing.assert_allclose(fast.coef_, slow.coef_, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(fast.history_["grad_norm"], slow.history_["grad_norm"],
                               rtol=1e-9)


@pytest.mark.parametrize("loss", ["huber", "squared_error"])
def test_huber_paths_agree(monkeypatch, loss):
    X, y = _data()

    def make():
        return GDRegressor(loss=loss, epsilon=0.3, batch_size=8, max_epochs=3, tol=None,
                           random_state=0)

    fast, slow = _pair(monkeypatch, make, X, y)
    np.testing.assert_allclose(fast.loss_curve_, slow.loss_curve_, rtol=1e-9)
    np.testing.assert_allclose(fast.coef_, slow.coef_, rtol=1e-9)


@pytest.mark.parametrize("n_classes", [2, 4])
@pytest.mark.parametrize("batch_size", [None, 10])
def test_classification_paths_agree(monkeypatch, n_classes, batch_size):
    X, y = _data()
    labels = np.digitize(y, np.quantile(y, np.linspace(0, 1, n_classes + 1)[1:-1]))

    def make():
        return GDClassifier(optimizer="adam", batch_size=batch_size, max_epochs=5, tol=None,
                            random_state=0)

    fast, slow = _pair(monkeypatch, make, X, labels)
    np.testing.assert_allclose(fast.loss_curve_, slow.loss_curve_, rtol=1e-9)
    np.testing.assert_allclose(fast.coef_, slow.coef_, rtol=1e-8, atol=1e-12)


def test_fast_path_float32_stays_float32(monkeypatch):
    X, y = _data()
    monkeypatch.setenv("GDLAB_JIT", "1")
    est = GDRegressor(dtype="float32", batch_size=16, max_epochs=3, tol=None).fit(X, y)
    assert isinstance(est._state.opt_state, FastOptState)
    assert all(p.dtype == np.float32 for p in est.params_)
    assert est._state.opt_state.S.dtype == np.float32


@pytest.mark.parametrize("n_classes", [0, 3])
def test_large_full_batch_parallel_kernel_agrees(monkeypatch, n_classes):
    """Above SMALL_FULL_BATCH values the chunked parallel kernel runs; it equals numpy."""
    from gdlab.core.fast import SMALL_FULL_BATCH

    X, y = _data(n=30000, d=40)
    assert X.size > SMALL_FULL_BATCH
    if n_classes:
        y = np.digitize(y, np.quantile(y, [1 / 3, 2 / 3]))

        def make():
            return GDClassifier(optimizer="nadam", max_epochs=3, tol=None, alpha=0.01)
    else:

        def make():
            return GDRegressor(optimizer="momentum", max_epochs=3, tol=None, clip_norm=1.0)

    fast, slow = _pair(monkeypatch, make, X, y)
    np.testing.assert_allclose(fast.loss_curve_, slow.loss_curve_, rtol=1e-9)
    # 30 000-row sums in another order: agreement to rounding (coefficients are O(1))
    np.testing.assert_allclose(fast.coef_, slow.coef_, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("n_classes", [0, 2, 3])
def test_large_minibatch_epoch_with_parallel_gather_agrees(monkeypatch, n_classes):
    """Blocks of at least PARALLEL_GATHER values are gathered by all threads (with prefetch
    ahead in the order); the steps equal numpy's on the same shuffled batches, including the
    last partial block and batch, with sample weights."""
    from gdlab.core.fast import BLOCK_ROWS
    from gdlab.core.fast.kernels import PARALLEL_GATHER

    X, y = _data(n=3 * BLOCK_ROWS + 77, d=12)
    assert BLOCK_ROWS * X.shape[1] >= PARALLEL_GATHER
    w = np.random.default_rng(5).uniform(0, 2, size=len(X))
    if n_classes:
        y = np.digitize(y, np.quantile(y, np.linspace(0, 1, n_classes + 1)[1:-1]))

        def make():
            return GDClassifier(optimizer="adam", batch_size=100, max_epochs=3, tol=None,
                                random_state=4, learning_rate=0.01)
    else:

        def make():
            return GDRegressor(optimizer="sgd", batch_size=100, max_epochs=3, tol=None,
                               random_state=4, learning_rate=0.01, alpha=0.001)

    fast, slow = _pair(monkeypatch, make, X, y, sample_weight=w)
    np.testing.assert_allclose(fast.loss_curve_, slow.loss_curve_, rtol=1e-9)
    np.testing.assert_allclose(fast.coef_, slow.coef_, rtol=1e-8, atol=1e-10)


def _large_regression():
    from gdlab.core.fast import BLOCK_ROWS
    from gdlab.core.fast.kernels import PARALLEL_GATHER

    X, y = _data(n=5 * BLOCK_ROWS + 33, d=12)
    assert BLOCK_ROWS * X.shape[1] >= PARALLEL_GATHER  # the gather is shared by the threads
    return X, y


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_minibatch_result_does_not_depend_on_the_number_of_threads(dtype):
    """With several threads the steps on one block overlap the gather of the next (threads
    claim its rows chunk by chunk); with one, gather and steps alternate. Same bits."""
    from numba import get_num_threads, set_num_threads

    X, y = _large_regression()
    kw = dict(optimizer="adam", batch_size=64, max_epochs=3, tol=None, random_state=2,
              learning_rate=0.01, dtype=dtype)
    threads = get_num_threads()
    try:
        set_num_threads(1)
        serial = GDRegressor(**kw).fit(X, y)
    finally:
        set_num_threads(threads)
    parallel = GDRegressor(**kw).fit(X, y)
    assert isinstance(parallel._state.opt_state, FastOptState)
    assert np.array_equal(serial.coef_, parallel.coef_)
    assert np.array_equal(serial.loss_curve_, parallel.loss_curve_)


def test_divergence_inside_an_overlapped_block_stops_with_finite_coefficients():
    from gdlab import DivergenceError

    X, y = _large_regression()
    est = GDRegressor(optimizer="sgd", learning_rate=50.0, batch_size=64, max_epochs=3,
                      tol=None, random_state=0)  # the loss overflows within the first epoch
    with pytest.raises(DivergenceError) as info:
        est.fit(X, y)
    assert info.value.epoch == 1  # the first epoch
    assert np.isfinite(est.coef_).all() and np.isfinite(est.intercept_).all()
