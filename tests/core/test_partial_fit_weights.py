"""Sample weights across ``partial_fit`` calls: a batch steps on Σ_B wᵢ ∇ℓᵢ / (|B|·w̄) with
w̄ the running mean weight of every row partial_fit has seen (this call's included), not the
call's own mean. With the call's own mean a call's weights only counted relative to each
other: one-row calls trained exactly as unweighted, and a chunk whose rows all weigh 100
trained exactly as one weighing 1. Both engine paths (compiled, numpy) are checked."""

import numpy as np
import pytest
from sklearn.utils import check_random_state

from gdlab import DivergenceError, GDClassifier, GDRegressor
from gdlab.core.fast import FastOptState
from gdlab.core.sampling import epoch_order

from .weighted_sgd import start_intercept, weighted_step

JIT = pytest.mark.parametrize("jit", ["1", "0"], ids=["compiled", "numpy"])

# (rows, weight of every row or None for varied weights in 0.5..3) of the stream's calls:
# one-row calls, chunks weighing 1 and chunks weighing 100, one with a zero-weight row
CALLS = [(1, 1.0), (1, 3.0), (5, 1.0), (6, 100.0), (1, 0.5), (9, None), (1, 100.0), (7, 1.0),
         (12, None), (4, 100.0)]


def _stream(kind, seed=0):
    rng = np.random.default_rng(seed)
    n = sum(rows for rows, _ in CALLS)
    X = rng.standard_normal((n, 3))
    z = X @ [1.0, -2.0, 0.5] + 0.3
    y = z + 0.3 * rng.standard_normal(n) if kind == "regression" else (
        (z + rng.standard_normal(n) > 0).astype(float)
    )
    chunks, start = [], 0
    for rows, weight in CALLS:
        w = rng.uniform(0.5, 3.0, rows) if weight is None else np.full(rows, weight)
        if weight is None:
            w[0] = 0.0
        chunks.append((X[start:start + rows], y[start:start + rows], w))
        start += rows
    return chunks


def _reference(chunks, *, kind, batch_size, lr, alpha, random_state):
    """partial_fit's intended rule in plain numpy: one epoch per call over the call's rows
    in the estimator's order (one generator seeded as BaseGD._rng; an order is drawn only
    when the call has more rows than a batch), w̄ the mean weight of all rows seen so far,
    this call's included; the recorded loss is the call's weighted mean (plus penalty). The
    intercept starts at the first call's weighted class prior (binary; its one row's class
    against the other's floor, 0.5 / 1), at 0 (regression)."""
    seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
    rng = np.random.default_rng(seed)
    X0, y0, w0 = chunks[0]
    coef, intercept = np.zeros(X0.shape[1]), start_intercept(y0, w0, kind=kind)
    seen_w = seen_n = 0.0
    curve = []
    for X, y, w in chunks:
        n = len(y)
        seen_w, seen_n = seen_w + w.sum(), seen_n + n
        w_bar = seen_w / seen_n
        bs = n if batch_size is None or batch_size >= n else batch_size
        order = epoch_order(rng, n) if bs < n else np.arange(n)
        call_loss = 0.0
        for start in range(0, n, bs):
            B = order[start:start + bs]
            penalty = 0.5 * alpha * coef @ coef
            scale = w[B] / (len(B) * w_bar)
            losses, coef, intercept = weighted_step(X[B], y[B], coef, intercept, scale,
                                                    kind=kind, alpha=alpha, lr=lr)
            call_loss += w[B] @ losses / w.sum() + penalty * len(B) / n
        curve.append(call_loss)
    return coef, intercept, curve


@JIT
@pytest.mark.filterwarnings("ignore:.*batch_size=4 > n_samples")  # one-row calls
@pytest.mark.parametrize("batch_size", [1, 4, None])
@pytest.mark.parametrize("kind", ["regression", "binary"])
def test_partial_fit_stream_matches_a_hand_written_running_mean_weight_loop(
    monkeypatch, jit, kind, batch_size
):
    monkeypatch.setenv("GDLAB_JIT", jit)
    chunks = _stream(kind)
    est = (GDRegressor if kind == "regression" else GDClassifier)(
        optimizer="sgd", learning_rate=0.05, batch_size=batch_size, alpha=0.01, random_state=3,
    )
    extra = {} if kind == "regression" else {"classes": [0.0, 1.0]}
    for X, y, w in chunks:
        est.partial_fit(X, y, sample_weight=w, **extra)
    assert isinstance(est._state.opt_state, FastOptState) == (jit == "1")
    assert est._state.seen_rows == sum(len(y) for _, y, _ in chunks)
    assert est._state.seen_weight == pytest.approx(sum(w.sum() for _, _, w in chunks))
    coef, intercept, curve = _reference(
        chunks, kind=kind, batch_size=batch_size, lr=0.05, alpha=0.01, random_state=3
    )
    np.testing.assert_allclose(np.ravel(est.coef_), coef, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(est.intercept_, [intercept], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(est.loss_curve_, curve, rtol=1e-10)


@JIT
def test_a_chunk_weighing_100_trains_otherwise_than_one_weighing_1(monkeypatch, jit):
    """The reviewer's case: two alternating streams, B's chunks weighted 1 or 100, gave
    identical coefficients; as fit() does on the same weights, the heavy B pulls the model
    toward B's relation."""
    monkeypatch.setenv("GDLAB_JIT", jit)
    rng = np.random.default_rng(0)
    XA, XB = rng.standard_normal((100, 2)), rng.standard_normal((100, 2))
    yA, yB = XA @ [1.0, 1.0], XB @ [3.0, -1.0]
    coefs = {}
    for weight in (1.0, 100.0):
        est = GDRegressor(optimizer="sgd", learning_rate=0.05, batch_size=10, random_state=0)
        for _ in range(10):
            for k in range(0, 100, 20):
                est.partial_fit(XA[k:k + 20], yA[k:k + 20])
                est.partial_fit(XB[k:k + 20], yB[k:k + 20], sample_weight=np.full(20, weight))
        coefs[weight] = est.coef_
    fitted = GDRegressor(optimizer="sgd", learning_rate=0.05, batch_size=10, random_state=0,
                         max_epochs=50, tol=None).fit(
        np.r_[XA, XB], np.r_[yA, yB], sample_weight=np.r_[np.ones(100), np.full(100, 100.0)])
    assert np.abs(coefs[100.0] - coefs[1.0]).max() > 0.5
    np.testing.assert_allclose(coefs[1.0], [2.0, 0.0], atol=0.2)  # A and B alike
    np.testing.assert_allclose(coefs[100.0], fitted.coef_, atol=0.1)  # B dominates
    np.testing.assert_allclose(coefs[100.0], [3.0, -1.0], atol=0.2)


@JIT
def test_the_running_weight_skips_a_diverged_call_and_restarts_with_fit(monkeypatch, jit):
    monkeypatch.setenv("GDLAB_JIT", jit)
    X, y, _ = _stream("regression")[7]
    est = GDRegressor(random_state=0)
    est.partial_fit(X, y, sample_weight=np.full(len(y), 5.0))
    assert (est._state.seen_weight, est._state.seen_rows) == (5.0 * len(y), len(y))
    with pytest.raises(DivergenceError):
        est.partial_fit(X * 1e300, y)  # restores the call's start: its rows did not count
    assert (est._state.seen_weight, est._state.seen_rows) == (5.0 * len(y), len(y))
    est.set_params(max_epochs=2, tol=None).fit(X, y)  # a new training state
    est.partial_fit(X[:3], y[:3])
    assert (est._state.seen_weight, est._state.seen_rows) == (3.0, 3)


def _weighted_rows(seed=1, n=200):
    """Regression data whose weighted least-squares solution (weights 0.25..3.25) is far from
    the unweighted one (as in test_weighted_batches, every weight positive: one-row calls)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3))
    w = rng.integers(0, 4, size=n)
    y = X @ [1.0, -1.0, 0.5] + (w - 1.5) * (1.0 + 2.0 * X[:, 0]) + 0.1 * rng.standard_normal(n)
    return X, y, w + 0.25


def _least_squares(X, y, w):
    A = np.c_[X, np.ones(len(X))] * np.sqrt(w)[:, None]
    return np.linalg.lstsq(A, y * np.sqrt(w), rcond=None)[0]


@JIT
def test_row_by_row_partial_fit_approaches_the_weighted_least_squares_solution(
    monkeypatch, jit
):
    """One row per call: the weights were ignored (weighted and unweighted coefficients
    differed by 2e-16); now the stream moves toward the weighted least-squares solution as
    the passes over the rows grow, away from the unweighted one."""
    monkeypatch.setenv("GDLAB_JIT", jit)
    X, y, w = _weighted_rows()
    target, unweighted = _least_squares(X, y, w), _least_squares(X, y, np.ones(len(y)))
    assert np.abs(target - unweighted).max() > 1.0  # the weights matter here
    kw = dict(optimizer="sgd", learning_rate=0.02, schedule="invscaling",
              schedule_params={"power_t": 0.25}, random_state=0)
    weighted, plain = GDRegressor(**kw), GDRegressor(**kw)
    rng = np.random.default_rng(0)
    errors = []
    for p in range(1, 10):
        for i in rng.permutation(len(y)):
            weighted.partial_fit(X[i:i + 1], y[i:i + 1], sample_weight=w[i:i + 1])
            if p == 1:
                plain.partial_fit(X[i:i + 1], y[i:i + 1])
        theta = np.r_[weighted.coef_, weighted.intercept_]
        if p == 1:
            assert np.abs(theta - np.r_[plain.coef_, plain.intercept_]).max() > 0.3
        if p in (1, 3, 9):
            errors.append(np.abs(theta - target).max())
    assert errors[0] > errors[1] > errors[2], errors
    assert errors[2] < 0.05, errors
    assert np.abs(theta - unweighted).max() > 1.0


@pytest.mark.parametrize(("dtype", "weight"), [("float64", 1e307), ("float32", 1e38)])
def test_partial_fit_refuses_weights_whose_sums_would_overflow(dtype, weight):
    """Weights of 1e307 (float64) trained one call, then the running sums overflowed into a
    DivergenceError blaming the learning rate (or, compiled, the features)."""
    from gdlab import GDRegressor

    rng = np.random.default_rng(0)
    X = rng.normal(size=(10, 3))
    y = X @ [1.0, 2.0, 3.0]
    model = GDRegressor(optimizer="sgd", learning_rate=0.1, dtype=dtype, random_state=0)
    with pytest.raises(ValueError, match=r"sample_weight: partial_fit takes weights up to"):
        model.partial_fit(X, y, sample_weight=np.full(10, weight))
    for _ in range(3):  # up to the bound it trains, call after call
        model.partial_fit(X, y, sample_weight=np.full(10, 1e15))
    assert np.isfinite(model.coef_).all()
