"""fit/partial_fit's input checks as scikit-learn's estimators do them: eval_set refusals
name eval_set, a refused fit leaves a fitted estimator as it was, warm_start refuses another
width (as SGDRegressor), NaN/infinity in fit's X is located like predict's, a float32 model
says "too large for float32" for a finite 1e39, and huge sample weights do not overflow."""

import re
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import SGDRegressor

from gdlab import GDClassifier, GDRegressor


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 3))
    return X, X @ np.array([1.0, 2.0, 3.0]), (X[:, 0] > 0).astype(int)


FAST = {"max_epochs": 3, "tol": None}


def test_eval_set_refusals_name_eval_set(data):
    X, _, y = data
    clf = GDClassifier(**FAST)
    Xv = X[:10].copy()
    Xv[1, 1] = np.nan  # the training X is clean
    with pytest.raises(ValueError, match=re.escape(
            "eval_set: GDClassifier needs finite numbers in X_val: column 1 holds NaN in row 1")):
        clf.fit(X, y, eval_set=(Xv, y[:10]))
    with pytest.raises(ValueError, match=re.escape(
            "eval_set: X has 2 features, but GDClassifier is expecting 3 features as input.")):
        clf.fit(X, y, eval_set=(X[:10, :2], y[:10]))
    with pytest.raises(ValueError, match=re.escape(
            "eval_set: y contains labels not seen in training")):
        clf.fit(X, y, eval_set=(X[:10], y[:10] + 5))
    for bad, said in (([(X[:10], y[:10])] * 2, "got a list of 2 pairs"),
                      ((X[:10],), "got tuple of length 1"), (X[:10], "got ndarray")):
        with pytest.raises(ValueError, match=re.escape(
                "eval_set: a single (X_val, y_val) pair is expected") + ".*" + said):
            clf.fit(X, y, eval_set=bad)


def test_eval_set_as_a_list_holding_one_pair_is_the_pair(data):
    # XGBoost's and LightGBM's form, eval_set=[(X_val, y_val)]
    X, _, y = data
    pair = GDClassifier(**FAST).fit(X, y, eval_set=(X[:10], y[:10]))
    listed = GDClassifier(**FAST).fit(X, y, eval_set=[(X[:10], y[:10])])
    assert listed.history_["val_loss"] == pair.history_["val_loss"]
    assert None not in listed.history_["val_loss"]


def test_a_refused_fit_leaves_the_fitted_estimator_as_it_was(data):
    X, _, y = data
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    clf = GDClassifier(**FAST).fit(frame, y)
    before = clf.predict_proba(frame)
    y3 = np.arange(50) % 3
    for eval_set in ((X[:10, :1], y3[:10]), (X[:10, :2], y3[:10] + 7), [(1, 2), (3, 4)]):
        with pytest.raises(ValueError, match="^eval_set: "):
            clf.fit(X[:, :2], y3, eval_set=eval_set)  # would reset width, names, classes
        assert clf.n_features_in_ == 3
        assert list(clf.feature_names_in_) == ["a", "b", "c"]
        assert clf.classes_.tolist() == [0, 1]
        np.testing.assert_array_equal(clf.predict_proba(frame), before)
    with pytest.raises(ValueError, match="needs finite numbers"):
        clf.fit(np.full((50, 2), np.nan), y3)
    assert clf.n_features_in_ == 3 and list(clf.feature_names_in_) == ["a", "b", "c"]


def test_warm_start_refuses_another_width_as_sgd_regressor_does(data):
    X, yr, _ = data
    sgd = SGDRegressor(warm_start=True, max_iter=5, tol=None).fit(X, yr)
    with pytest.raises(ValueError) as want:
        sgd.fit(X[:, :2], yr)
    est = GDRegressor(warm_start=True, **FAST).fit(X, yr)
    coef = est.coef_.copy()
    with pytest.raises(ValueError) as got:
        est.fit(X[:, :2], yr)
    assert str(got.value) == str(want.value).replace("SGDRegressor", "GDRegressor")
    assert est.n_features_in_ == 3
    np.testing.assert_array_equal(est.coef_, coef)
    # without warm_start another width is a fresh fit
    GDRegressor(**FAST).fit(X, yr).fit(X[:, :2], yr)


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_fit_and_partial_fit_name_the_columns_and_rows_of_nan_and_infinity(data, method):
    X, yr, _ = data
    bad = pd.DataFrame(X, columns=["age", "income", "score"])
    bad.iloc[4, 2] = np.nan
    bad.iloc[[6, 9], 0] = [np.inf, -np.inf]
    est = GDRegressor(**FAST)
    if method == "partial_fit":
        est.partial_fit(X, yr)  # a later call: no reset
    with pytest.raises(ValueError) as info:
        getattr(est, method)(bad, yr)
    message = str(info.value)
    assert message.startswith("GDRegressor needs finite numbers in X: ")
    assert "column 'score' holds NaN in row 4" in message
    assert "column 'age' holds infinity in rows 6, 9" in message
    assert "'income'" not in message and "cannot be fitted on" in message
    # NaN in y keeps scikit-learn's message
    y_bad = yr.copy()
    y_bad[2] = np.nan
    with pytest.raises(ValueError, match="Input y contains NaN"):
        GDRegressor(**FAST).fit(X, y_bad)


def test_float32_names_a_finite_value_too_large_for_it(data):
    X, yr, _ = data
    big = X.copy()
    big[1, 0] = 1e39  # finite, beyond float32's 3.4e38
    big[2, 2] = np.inf
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # numpy's overflow in the cast
        with pytest.raises(ValueError) as fitted:
            GDRegressor(dtype="float32", **FAST).fit(big, yr)
        est = GDRegressor(dtype="float32", **FAST).fit(X, yr)
        with pytest.raises(ValueError) as predicted:
            est.predict(big[:3])
        with pytest.raises(ValueError) as only_big:
            est.predict(big[:2])
    for info in (fitted, predicted):
        message = str(info.value)
        assert "column 0 holds a value too large for float32 in row 1" in message
        assert "column 0 holds infinity" not in message
        assert "column 2 holds infinity in row 2" in message
    assert "do not fit dtype float32" in str(only_big.value)
    # another width is said first (scikit-learn checks the values before the width)
    with pytest.raises(ValueError, match="X has 2 features, but GDRegressor is expecting 3"):
        est.predict(np.full((2, 2), np.nan))
    assert "NaN" not in str(only_big.value)  # nothing missing: no advice to impute
    # a float64 model takes 1e39 (with a step small enough for it: adam's default 0.01 would
    # blow that row's loss up to 1e72, a divergence, not a refusal of the input)
    est = GDRegressor(learning_rate=1e-45, **FAST).fit(np.where(np.isinf(big), 0.0, big), yr)
    assert np.isfinite(est.loss_curve_).all()


def test_sample_weights_whose_sum_overflows_fit_as_their_scale_free_objective(data):
    # the objective divides by the weights' sum: scaling them changes nothing, and weights
    # of 1e308 (sum: inf) gave coefficients of zero or a DivergenceError
    X, yr, _ = data
    for sw in (np.r_[1e308, 1e308, np.ones(48)], np.full(50, 1e307)):
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            got = GDRegressor(max_epochs=50, tol=None).fit(X, yr, sample_weight=sw)
        want = GDRegressor(max_epochs=50, tol=None).fit(X, yr, sample_weight=sw / sw.max())
        np.testing.assert_array_equal(got.coef_, want.coef_)
        assert np.abs(got.coef_).sum() > 1
    # unit weights stay bit-identical to none
    a = GDRegressor(max_epochs=20, tol=None).fit(X, yr, sample_weight=np.ones(50))
    b = GDRegressor(max_epochs=20, tol=None).fit(X, yr)
    np.testing.assert_array_equal(a.coef_, b.coef_)


def test_float32_names_a_target_weight_or_eval_target_too_large_for_it(data):
    # X's 1e39 was named, y's became inf in the cast and was reported as a divergence
    # ("Training diverged at epoch 1 (loss=inf) ... Try a smaller learning rate")
    X, yr, _ = data
    big_y = np.r_[yr[:-1], 1e39]
    too_large = "holds a value too large for float32 in row 49 (rows count from 0)"
    cases = [
        ("fit", {"y": big_y}, "GDRegressor needs finite numbers in y: y " + too_large),
        ("partial_fit", {"y": big_y}, "GDRegressor needs finite numbers in y: y " + too_large),
        ("fit", {"y": yr, "sample_weight": np.r_[np.ones(49), 1e39]},
         "GDRegressor needs finite numbers in sample_weight: sample_weight " + too_large),
        ("fit", {"y": yr, "eval_set": (X, big_y)},
         "eval_set: GDRegressor needs finite numbers in y_val: y_val " + too_large),
    ]
    for method, kwargs, said in cases:
        est = GDRegressor(dtype="float32", **FAST)
        with pytest.raises(ValueError) as info:
            getattr(est, method)(X, **kwargs)
        assert str(info.value).startswith(said)
        assert "dtype='float64'" in str(info.value)
        assert "learning rate" not in str(info.value)
    # a fold's rows are named by their row in y, not their position in the fold
    rows = np.arange(10, 50)
    est = GDRegressor(dtype="float32", **FAST)
    with pytest.raises(ValueError, match=re.escape("y holds a value too large for float32 in "
                                                   "row 49 (rows count")):
        est._fit_view(X.astype(np.float32), big_y, rows)
    with pytest.raises(ValueError, match=re.escape("sample_weight holds NaN in rows 3, 7")):
        GDRegressor(**FAST).fit(X, yr, sample_weight=np.where(np.isin(np.arange(50), [3, 7]),
                                                               np.nan, 1.0))
    # float64 takes them
    assert np.isfinite(GDRegressor(learning_rate=1e-45, **FAST).fit(X, big_y).coef_).all()
