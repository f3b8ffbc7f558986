"""The gradient norm of a float32 fit is summed in float64 (numpy and compiled paths).

``GDRegressor(dtype="float32").fit(X * 1e20, y)`` stopped at epoch 1 with "the gradient
overflowed (its norm is not finite)" although every component was finite (~1e20): the
squares were summed in float32, which overflows from 1.8e19 on. ``clip_norm`` read the same
norm, so clipping could not rescue such a gradient although the message suggests it."""

import numpy as np
import pytest

from gdlab import GDRegressor
from gdlab.core.optim.base import global_norm

JIT = pytest.mark.parametrize("jit", ["1", "0"], ids=["compiled", "numpy"])


def test_global_norm_of_float32_arrays_is_numpys_float64_norm():
    a = np.full((4, 2), 1e20, dtype=np.float32)
    b = np.array([3e20], dtype=np.float32)
    expected = np.linalg.norm(np.r_[a.ravel(), b].astype(np.float64))
    assert np.isfinite(expected) and global_norm([a, b]) == pytest.approx(expected, rel=1e-12)
    assert a.dtype == np.float32  # the arrays are read, not converted


def test_the_kernels_squared_norm_is_summed_in_float64():
    pytest.importorskip("numba")
    from gdlab.core.fast import kernels

    a = np.full(5, 1e20, dtype=np.float32)
    expected = float(np.sum(a.astype(np.float64) ** 2))
    assert kernels._sq_norm(a) == pytest.approx(expected, rel=1e-12)


@JIT
@pytest.mark.parametrize("batch_size", [None, 20])
def test_clip_norm_rescues_a_finite_but_huge_float32_gradient(monkeypatch, jit, batch_size):
    monkeypatch.setenv("GDLAB_JIT", jit)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = (X @ [1.0, 2.0, 3.0]).astype(np.float32)
    X32 = (X * 1e20).astype(np.float32)  # gradient components ~1e20: finite in float32
    # clipped to norm 1, a 1e-21 step moves the predictions by ~0.1 an epoch
    est = GDRegressor(dtype="float32", optimizer="sgd", learning_rate=1e-21, clip_norm=1.0,
                      batch_size=batch_size, max_epochs=60, tol=None, random_state=0)
    est.fit(X32, y)
    assert est.coef_.dtype == np.float32  # float32 end to end
    if batch_size is None:  # the first epoch's norm: of -Xᵀy/n, -mean(y) at zero weights
        Xd, yd = X32.astype(np.float64), y.astype(np.float64)
        expected = np.linalg.norm(np.r_[Xd.T @ yd / len(yd), yd.mean()])
        assert est.history_["grad_norm"][0] == pytest.approx(expected, rel=1e-5)
    assert np.isfinite(est.history_["grad_norm"]).all()
    # it trains: the least-squares coefficients (of X, here × 1e20) to the step's resolution
    coef = np.linalg.lstsq(np.c_[X32.astype(np.float64), np.ones(200)], y, rcond=None)[0]
    np.testing.assert_allclose(est.coef_ * 1e20, coef[:3] * 1e20, atol=0.1)
    assert est.loss_curve_[-1] < 1e-3 * est.loss_curve_[0]
