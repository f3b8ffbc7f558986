"""scipy.sparse X: the built-in models train and predict on CSR (other formats converted)
exactly as on the dense X, without ever densifying it."""

import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder
from sklearn.utils import get_tags

from gdlab import GDClassifier, GDRegressor


def _data(n=240, d=6, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    X[np.abs(X) < 0.7] = 0.0  # about half the cells zero
    w = rng.normal(size=d)
    y = X @ w + 0.3 + 0.1 * rng.normal(size=n)
    return X, y


def _same_fit(make, X, y, monkeypatch, **fit_kw):
    """Fit on X and on csr_matrix(X): sparse X trains on the numpy loop, so it must give the
    dense numpy fit (GDLAB_JIT=0) to rounding; the default dense fit (compiled kernels when
    numba is there, summing in another order) agrees to rounding amplified over the epochs."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        default = make().fit(X, y, **fit_kw)
        with monkeypatch.context() as m:
            m.setenv("GDLAB_JIT", "0")
            dense = make().fit(X, y, **fit_kw)
        sparse = make().fit(sp.csr_matrix(X), y, **fit_kw)
    assert sparse.n_iter_ == dense.n_iter_
    for a, b, c in zip(dense.params_, sparse.params_, default.params_, strict=True):
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-12)
        np.testing.assert_allclose(b, c, rtol=0, atol=1e-8)
    return dense, sparse


def _targets(kind, y):
    if kind == "regression":
        return y
    if kind == "binary":
        return (y > np.median(y)).astype(int)
    return np.digitize(y, np.quantile(y, [1 / 3, 2 / 3]))  # three classes: softmax


@pytest.mark.parametrize("batch_size", [None, 16])
@pytest.mark.parametrize("kind", ["regression", "binary", "softmax"])
def test_csr_fit_equals_the_dense_fit(kind, batch_size, monkeypatch):
    X, y = _data()
    y = _targets(kind, y)
    cls = GDRegressor if kind == "regression" else GDClassifier
    Xv, yv = X[:60], y[:60]
    dense, sparse = _same_fit(
        lambda: cls(batch_size=batch_size, max_epochs=40, random_state=0, learning_rate=0.05),
        X, y, monkeypatch, eval_set=(Xv, yv),
    )
    np.testing.assert_allclose(sparse.history_["val_loss"], dense.history_["val_loss"],
                               rtol=1e-12)
    Xs = sp.csr_matrix(X)
    np.testing.assert_allclose(sparse.predict(Xs), dense.predict(X), rtol=1e-12, atol=1e-12)
    assert sparse.score(Xs, y) == pytest.approx(dense.score(X, y), rel=1e-12)
    if kind != "regression":
        np.testing.assert_allclose(sparse.predict_proba(Xs), dense.predict_proba(X), atol=1e-12)
        np.testing.assert_allclose(sparse.decision_function(Xs), dense.decision_function(X),
                                   atol=1e-12)


@pytest.mark.parametrize("batch_size", [None, 32])
def test_mlp_takes_csr(batch_size, monkeypatch):
    X, y = _data()
    _same_fit(lambda: GDRegressor(model="mlp", hidden_layer_sizes=(8,), max_epochs=20,
                                  batch_size=batch_size, random_state=0), X, y, monkeypatch)


def test_other_formats_are_converted_and_early_stopping_splits_sparse_rows():
    X, y = _data()
    yc = _targets("binary", y)
    make = lambda: GDClassifier(early_stopping=True, max_epochs=30, random_state=1)  # noqa: E731
    ref = make().fit(sp.csr_matrix(X), yc)
    for fmt in (sp.csc_matrix, sp.coo_matrix, sp.csr_array, sp.lil_matrix):
        est = make().fit(fmt(X), yc)
        np.testing.assert_array_equal(est.coef_, ref.coef_)
        np.testing.assert_array_equal(est.predict(fmt(X)), ref.predict(sp.csr_matrix(X)))


def test_sparse_converges_to_least_squares_and_logistic_regression():
    X, y = _data()
    n = X.shape[0]
    Xs = sp.csr_matrix(X)
    reg = GDRegressor(optimizer="sgd", learning_rate=0.3, alpha=0.0, tol=None,
                      max_epochs=3000).fit(Xs, y)
    A = np.column_stack([X, np.ones(n)])
    ref = np.linalg.lstsq(A, y, rcond=None)[0]
    np.testing.assert_allclose(np.r_[reg.coef_, reg.intercept_], ref, atol=1e-8)

    yc = _targets("binary", y)
    alpha = 0.01  # mean log-loss + alpha/2 |w|²  <=>  LogisticRegression(C=1/(alpha n))
    clf = GDClassifier(optimizer="sgd", learning_rate=1.0, alpha=alpha, tol=None,
                       max_epochs=3000).fit(Xs, yc)
    lr = LogisticRegression(C=1 / (alpha * n), tol=1e-12, max_iter=10_000).fit(X, yc)
    np.testing.assert_allclose(clf.coef_, lr.coef_, atol=1e-6)
    np.testing.assert_allclose(clf.intercept_, lr.intercept_, atol=1e-6)


def test_onehot_and_tfidf_pipelines_fit_and_predict():
    rng = np.random.default_rng(0)
    cats = rng.choice(["a", "b", "c", "d"], size=(300, 3))
    y = ((cats[:, 0] == "a") | (cats[:, 1] == "b")).astype(int)
    sparse = make_pipeline(OneHotEncoder(), GDClassifier(random_state=0)).fit(cats, y)
    assert sp.issparse(sparse[0].transform(cats[:2]))
    dense = make_pipeline(OneHotEncoder(sparse_output=False), GDClassifier(random_state=0))
    dense.fit(cats, y)
    np.testing.assert_allclose(sparse[-1].coef_, dense[-1].coef_, rtol=0, atol=1e-8)
    np.testing.assert_array_equal(sparse.predict(cats), dense.predict(cats))
    assert sparse.score(cats, y) > 0.9

    words = np.array(["good great fine", "bad awful poor", "great good", "poor bad"] * 25)
    labels = np.array([1, 0, 1, 0] * 25)
    text = make_pipeline(TfidfVectorizer(), GDClassifier(batch_size=8, random_state=0))
    text.fit(words, labels)
    sgd = make_pipeline(TfidfVectorizer(), SGDClassifier(random_state=0)).fit(words, labels)
    np.testing.assert_array_equal(text.predict(["good fine", "awful"]), [1, 0])
    np.testing.assert_array_equal(text.predict(words), sgd.predict(words))


@pytest.mark.parametrize("batch_size", [None, 4096])
def test_a_large_sparse_x_is_never_densified(batch_size):
    n, d, per_row = 100_000, 50_000, 50  # 0.1% density; dense it would be 40 GB
    rng = np.random.default_rng(0)
    indptr = np.arange(0, n * per_row + 1, per_row, dtype=np.int32)
    indices = np.sort(rng.integers(0, d, size=(n, per_row), dtype=np.int32), axis=1).ravel()
    X = sp.csr_matrix((rng.random(n * per_row), indices, indptr), shape=(n, d))
    y = (rng.random(n) < 0.5).astype(int)
    tracemalloc.start()
    try:
        est = GDClassifier(max_epochs=2, tol=None, batch_size=batch_size).fit(X, y)
        est.predict(X)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 300e6, peak  # X itself is 60 MB; one dense row block of n x d: 40 GB


def test_partial_fit_takes_sparse_chunks():
    X, y = _data()
    yc = _targets("binary", y)
    dense, sparse = GDClassifier(random_state=0), GDClassifier(random_state=0)
    for part in np.array_split(np.arange(X.shape[0]), 3):
        dense.partial_fit(X[part], yc[part], classes=[0, 1])
        sparse.partial_fit(sp.csr_matrix(X[part]), yc[part], classes=[0, 1])
    np.testing.assert_allclose(sparse.coef_, dense.coef_, rtol=0, atol=1e-10)
    sparse.partial_fit(X[:10], yc[:10])  # a sparse-started state takes dense chunks too


def test_partial_fit_on_a_compiled_state_refuses_sparse_naming_what_works(monkeypatch):
    monkeypatch.setattr("gdlab.core.fast.enabled", lambda: True)
    pytest.importorskip("numba")
    X, y = _data()
    est = GDRegressor().partial_fit(X[:100], y[:100])
    with pytest.raises(TypeError, match=r"X\.toarray\(\).*GDLAB_JIT=0"):
        est.partial_fit(sp.csr_matrix(X[100:]), y[100:])


def test_plug_in_model_refuses_sparse_naming_the_built_in_models():
    X, y = _data()
    est = GDRegressor(model="tests.core.plugin_recording:recording_linear",
                      model_params={"log": []})
    with pytest.raises(TypeError, match="model='linear' or 'mlp'.*toarray"):
        est.fit(sp.csr_matrix(X), y)
    assert get_tags(est).input_tags.sparse is False
    assert get_tags(GDClassifier()).input_tags.sparse is True
    assert get_tags(GDRegressor(model="mlp")).input_tags.sparse is True


def test_sparse_x_holding_nan_is_refused_naming_the_cell():
    X, y = _data()
    est = GDRegressor(max_epochs=5).fit(sp.csr_matrix(X), y)
    bad = sp.csr_matrix(X[:5])
    bad.data[bad.indptr[3]] = np.nan  # row 3's first stored value
    col = bad.indices[bad.indptr[3]]
    with pytest.raises(ValueError, match=f"column {col} holds NaN in row 3"):
        est.predict(bad)
