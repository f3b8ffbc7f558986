"""GDRegressor / GDClassifier behaviour beyond scikit-learn's generic checks."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from gdlab import GDClassifier, GDRegressor


@pytest.fixture
def regression():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((150, 4))
    return X, X @ np.array([1.0, -2.0, 0.5, 0.0]) + 0.3 + 0.1 * rng.standard_normal(150)


@pytest.fixture
def multiclass():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((240, 3))
    y = np.array(["a", "b", "c"])[(X @ rng.standard_normal((3, 3))).argmax(1)]
    return X, y


def test_classifier_shapes_follow_logistic_regression(multiclass):
    X, y = multiclass
    est = GDClassifier(max_epochs=50, tol=None).fit(X, y)
    assert est.coef_.shape == (3, 3) and est.intercept_.shape == (3,)
    assert list(est.classes_) == ["a", "b", "c"]
    proba = est.predict_proba(X)
    np.testing.assert_allclose(proba.sum(1), 1.0)
    assert set(est.predict(X)) <= set(est.classes_)
    binary = GDClassifier(max_epochs=50, tol=None).fit(X, y == "a")
    assert binary.coef_.shape == (1, 3) and binary.intercept_.shape == (1,)
    assert binary.decision_function(X).shape == (240,)


def test_history_records_every_epoch(regression):
    X, y = regression
    est = GDRegressor(max_epochs=12, tol=None, schedule="step",
                      schedule_params={"step_size": 5, "gamma": 0.5})
    est.fit(X[:100], y[:100], eval_set=(X[100:], y[100:]))
    h = est.history_
    assert all(len(h[k]) == 12 for k in ("loss", "val_loss", "learning_rate", "grad_norm", "time"))
    assert h["learning_rate"][:6] == [0.01] * 5 + [0.005]
    assert all(v is not None and v > 0 for v in h["val_loss"])
    assert np.all(np.diff(h["time"]) >= 0)
    # the validation loss is the data loss at the end of each epoch: ½·mean squared error
    pred = est.predict(X[100:])
    assert h["val_loss"][-1] == pytest.approx(0.5 * np.mean((pred - y[100:]) ** 2), rel=1e-12)
    assert est.loss_curve_ == h["loss"]


def test_callbacks_see_each_epoch_and_can_abort(regression):
    X, y = regression
    seen = []

    class Stop(Exception):
        pass

    def cb(record):
        seen.append(record["epoch"])
        if record["epoch"] == 4:
            raise Stop

    with pytest.raises(Stop):
        GDRegressor(callbacks=[cb], tol=None, max_epochs=50).fit(X, y)
    assert seen == [0, 1, 2, 3, 4]


def test_partial_fit_equals_fit_epoch_by_epoch(regression):
    X, y = regression
    kw = dict(batch_size=16, random_state=3, tol=None, optimizer="adam")
    full = GDRegressor(max_epochs=5, **kw).fit(X, y)
    inc = GDRegressor(**kw)
    for _ in range(5):
        inc.partial_fit(X, y)
    np.testing.assert_array_equal(inc.coef_, full.coef_)
    assert inc.n_iter_ == 5 and inc.loss_curve_ == full.loss_curve_


def test_partial_fit_classifier_needs_classes(multiclass):
    X, y = multiclass
    with pytest.raises(ValueError, match="classes must be passed"):
        GDClassifier().partial_fit(X, y)
    est = GDClassifier().partial_fit(X[:10], y[:10], classes=["a", "b", "c"])
    assert est.coef_.shape == (3, 3)


def test_warm_start_continues_from_previous_solution(regression):
    X, y = regression
    est = GDRegressor(optimizer="sgd", learning_rate=0.1, max_epochs=5, tol=None,
                      warm_start=True).fit(X, y)
    first_end = est.loss_curve_[-1]
    est.fit(X, y)
    assert est.loss_curve_[0] <= first_end + 1e-12
    cold = GDRegressor(optimizer="sgd", learning_rate=0.1, max_epochs=5, tol=None).fit(X, y)
    cold.fit(X, y)
    assert cold.loss_curve_[0] > est.loss_curve_[0]


def test_sample_weight_equals_repetition(regression):
    X, y = regression
    w = np.random.default_rng(0).integers(0, 3, size=len(X))
    kw = dict(max_epochs=30, tol=None, optimizer="momentum", learning_rate=0.05)
    a = GDRegressor(**kw).fit(X, y, sample_weight=w)
    b = GDRegressor(**kw).fit(np.repeat(X, w, axis=0), np.repeat(y, w))
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-10)


def test_works_in_pipeline_gridsearch_and_cross_validate(multiclass):
    X, y = multiclass
    pipe = make_pipeline(StandardScaler(), GDClassifier(max_epochs=30, tol=None, random_state=0))
    grid = GridSearchCV(pipe, {"gdclassifier__learning_rate": [0.01, 0.1],
                               "gdclassifier__optimizer": ["sgd", "adam"]}, cv=3)
    grid.fit(X, y)
    assert grid.best_score_ > 0.7
    res = cross_validate(clone(pipe), X, y, cv=3)
    assert res["test_score"].mean() > 0.7


def test_pickle_round_trip_keeps_training_state(regression):
    X, y = regression
    est = GDRegressor(batch_size=32, max_epochs=3, random_state=0, tol=None,
                      schedule="plateau").fit(X, y)
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.predict(X), est.predict(X))
    again.partial_fit(X, y)
    assert again.n_iter_ == 4


def test_user_optimizer_by_import_path(regression):
    X, y = regression
    steps = []
    est = GDRegressor(optimizer="tests.core.plugin_counting:counting_sgd",
                      optimizer_params={"log": steps}, max_epochs=4, tol=None).fit(X, y)
    assert len(steps) == 4 and est.loss_curve_[-1] < est.loss_curve_[0]


@pytest.mark.parametrize("param,value,match", [
    ("learning_rate", -0.1, "learning_rate must be a finite real number > 0, got -0.1"),
    ("learning_rate", float("nan"), "learning_rate must be a finite real number > 0, got nan"),
    ("batch_size", 0, "batch_size must be >= 1"),
    ("max_epochs", 0, "max_epochs must be >= 1"),
    ("tol", -1.0, "tol must be >= 0"),
    ("alpha", float("inf"), "alpha must be finite"),
    ("l1_ratio", 1.5, "l1_ratio must be <= 1"),
    ("validation_fraction", 1.0, r"validation_fraction must be > 0 and < 1 \(in the open range"),
    ("validation_fraction", 1.5, r"validation_fraction must be > 0 and < 1 \(in the open range"),
    ("validation_fraction", 0.0, r"validation_fraction must be > 0 and < 1 \(in the open range"),
    ("clip_norm", 0.0, "clip_norm must be > 0"),
    ("dtype", "float16", "dtype must be 'float32' or 'float64'"),
    ("optimizer", "adamm", "optimizer 'adamm' is unknown"),
    ("optimizer", "nope.module:thing", "cannot import module 'nope.module'"),
    ("optimizer_params", {"betas": (0.9, 0.999), "momentum": 0.9}, "has no parameter 'momentum'"),
    ("schedule", "cosin", "schedule 'cosin' is unknown"),
    ("loss", "log_loss", "does not fit GDRegressor"),
    ("model", "tree", "model must be 'linear', 'mlp'"),
])
def test_bad_hyperparameters_name_the_parameter(regression, param, value, match):
    X, y = regression
    with pytest.raises(ValueError, match=match):
        GDRegressor(**{param: value}).fit(X, y)


def test_single_class_is_refused_with_a_clear_message(regression):
    X, _ = regression
    with pytest.raises(ValueError, match="only one class"):
        GDClassifier().fit(X, np.zeros(len(X)))


def test_nan_input_is_refused(regression):
    X, y = regression
    X = X.copy()
    X[3, 1] = np.nan
    with pytest.raises(ValueError, match="needs finite numbers in X: column 1 holds NaN in row 3"):
        GDRegressor().fit(X, y)


def test_huber_is_robust_to_outliers(regression):
    X, y = regression
    y = y.copy()
    y[:5] += 100.0
    kw = dict(optimizer="sgd", learning_rate=0.1, alpha=0.0, max_epochs=2000, tol=None)
    huber = GDRegressor(loss="huber", epsilon=0.5, **kw).fit(X, y)
    squared = GDRegressor(**kw).fit(X, y)
    truth = np.array([1.0, -2.0, 0.5, 0.0])
    assert np.abs(huber.coef_ - truth).max() < np.abs(squared.coef_ - truth).max()


def test_callback_params_give_the_trajectory(regression):
    X, y = regression
    path = []
    est = GDRegressor(optimizer="sgd", learning_rate=0.1, max_epochs=6, tol=None,
                      callbacks=[lambda r: path.append(np.r_[r["params"][0].ravel(),
                                                             r["params"][1]])]).fit(X, y)
    assert len(path) == 6
    np.testing.assert_array_equal(path[-1], np.r_[est.coef_, est.intercept_])
    assert not np.array_equal(path[0], path[1])


def test_partial_fit_refuses_a_changed_training_state_parameter(regression, multiclass):
    X, y = regression
    est = GDRegressor(random_state=0).partial_fit(X, y)
    est.set_params(learning_rate=0.5, optimizer="sgd")
    with pytest.raises(ValueError, match=r"optimizer \('adam' -> 'sgd'\), learning_rate "
                                         r"\(0\.01 -> 0\.5\).*call fit\(\)"):
        est.partial_fit(X, y)
    est.set_params(learning_rate=0.01, optimizer="adam", alpha=0.1)  # read on every call
    est.partial_fit(X, y)
    assert est.n_iter_ == 2
    Xc, yc = multiclass
    clf = GDClassifier().partial_fit(Xc, yc, classes=["a", "b", "c"])
    with pytest.raises(ValueError, match=r"classes=\['a', 'b', 'c', 'd'\] is not the same"):
        clf.partial_fit(Xc, yc, classes=["a", "b", "c", "d"])
    clf.partial_fit(Xc, yc, classes=["c", "b", "a"])  # the same set, in any order


def test_eval_set_targets_are_checked_before_training(regression):
    X, y = regression
    y_val = y[:20].copy()
    y_val[3] = np.nan
    with pytest.raises(ValueError, match="Input y contains NaN"):
        GDRegressor().fit(X, y, eval_set=(X[:20], y_val))
    with pytest.raises(ValueError, match="eval_set: y has 19 rows, X has 20"):
        GDRegressor().fit(X, y, eval_set=(X[:20], y[:19]))


def test_early_stopping_split_without_weight_is_a_clear_error():
    X, y = np.arange(10.0)[:, None], np.arange(10.0)
    weights = np.r_[np.zeros(5), np.ones(5)]
    est = GDRegressor(early_stopping=True, validation_fraction=0.2, random_state=0)
    with pytest.raises(ValueError, match="sample weights of the (validation|training) split"):
        est.fit(X, y, sample_weight=weights)


def test_refit_as_another_model_family_drops_the_old_attributes(regression):
    X, y = regression
    est = GDRegressor(max_epochs=5).fit(X, y)
    assert hasattr(est, "coef_")
    est.set_params(model="mlp", hidden_layer_sizes=(2,)).fit(X, y)
    assert not hasattr(est, "coef_") and not hasattr(est, "intercept_")
    assert [w.shape for w in est.coefs_] == [(4, 2), (2, 1)]
    est.set_params(model="linear").fit(X, y)
    assert not hasattr(est, "coefs_") and est.coef_.shape == (4,)


@pytest.mark.parametrize("batch_size", [None, 32])
@pytest.mark.parametrize("estimator", [GDRegressor, GDClassifier])
def test_a_column_major_X_trains_exactly_as_a_row_major_one(estimator, batch_size):
    # StandardScaler hands a DataFrame's rows on column-major: full-batch sums came out in
    # another order (last-bit differences) and mini-batches gathered strided rows
    rng = np.random.default_rng(3)
    X = rng.standard_normal((3000, 8))
    y = X @ rng.standard_normal(8) + 0.1 * rng.standard_normal(3000)
    if estimator is GDClassifier:
        y = (y > 0).astype(int)
    settings = dict(batch_size=batch_size, max_epochs=20, tol=None, random_state=3)
    row_major = estimator(**settings).fit(X, y)
    column_major = estimator(**settings).fit(np.asfortranarray(X), y)
    assert np.array_equal(row_major.coef_, column_major.coef_)
    assert np.array_equal(row_major.intercept_, column_major.intercept_)


@pytest.mark.parametrize("activation,factor", [("relu", 6.0), ("tanh", 6.0), ("logistic", 2.0)])
def test_mlp_starts_from_seeded_glorot_uniform_weights_and_zero_biases(activation, factor):
    # Glorot & Bengio (2010) as scikit-learn's MLP: U(±√(f/(fan_in + fan_out))), f = 6, or 2
    # for the logistic activation. A rate of 1e-300 leaves the weights as initialised.
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((50, 10)), rng.standard_normal(50)

    def initial(seed):
        est = GDRegressor(model="mlp", hidden_layer_sizes=(64, 32), activation=activation,
                          optimizer="sgd", learning_rate=1e-300, alpha=0.0, max_epochs=1,
                          tol=None, random_state=seed).fit(X, y)
        return est.coefs_, est.intercepts_

    coefs, intercepts = initial(3)
    assert [W.shape for W in coefs] == [(10, 64), (64, 32), (32, 1)]
    for W in coefs:
        bound = np.sqrt(factor / sum(W.shape))
        assert np.abs(W).max() <= bound
        if W.size > 500:  # uniform over the whole interval: its extremes and its spread
            assert np.abs(W).max() > 0.97 * bound
            assert W.std() == pytest.approx(bound / np.sqrt(3), rel=0.08)
            assert abs(W.mean()) < 0.1 * bound
    assert all(np.abs(b).max() < 1e-290 for b in intercepts)  # zero, moved by 1e-300·g
    again, _ = initial(3)
    assert all(np.array_equal(W, V) for W, V in zip(coefs, again, strict=True))
    other, _ = initial(4)
    assert not np.array_equal(coefs[0], other[0])


@pytest.mark.parametrize("jit", ["1", "0"])
@pytest.mark.parametrize("kind", ["binary", "multiclass", "mlp"])
def test_sample_weight_equals_repetition_for_classifiers_and_the_mlp(monkeypatch, jit, kind):
    # full batch: integer weights give the same objective, gradient and steps as the rows
    # repeated that many times (weight 0: the row left out). From the zero intercept: at the
    # class prior the intercept's gradient is 0 up to rounding, which adam's g / (√v + eps)
    # turns into steps of ~1e-9 that differ between the two (the prior start's equivalence:
    # test_intercept_init.py::test_weighted_prior_is_the_prior_of_the_repeated_rows)
    monkeypatch.setenv("GDLAB_JIT", jit)
    rng = np.random.default_rng(2)
    X = rng.standard_normal((90, 4))
    w = rng.integers(0, 4, size=90)
    kw = dict(max_epochs=25, tol=None, optimizer="adam", learning_rate=0.05, random_state=0,
              intercept_init="zero")
    if kind == "mlp":
        est, y = GDRegressor(model="mlp", hidden_layer_sizes=(5,), **kw), X @ [1.0, -1, 2, 0]
    else:
        k = 2 if kind == "binary" else 3
        est, y = GDClassifier(**kw), (X @ rng.standard_normal((4, k))).argmax(axis=1)
    a = clone(est).fit(X, y, sample_weight=w)
    b = clone(est).fit(np.repeat(X, w, axis=0), np.repeat(y, w))
    for p, q in zip(a.params_, b.params_, strict=True):
        np.testing.assert_allclose(p, q, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(a.loss_curve_, b.loss_curve_, rtol=1e-10)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_predict_log_proba_is_scipys_log_softmax_of_the_logits_and_finite(n_classes):
    """It was np.log(predict_proba): -inf wherever a probability rounded to 0."""
    from scipy.special import log_expit, log_softmax
    from sklearn.datasets import make_classification

    X, y = make_classification(200, 4, n_informative=3, n_redundant=0, n_classes=n_classes,
                               n_clusters_per_class=1, random_state=0)
    est = GDClassifier(max_epochs=20, random_state=0).fit(X, y)
    far = np.vstack([X, 1e3 * X[:5]])  # logits in the hundreds: probabilities round to 0 / 1
    logp, z = est.predict_log_proba(far), est.decision_function(far)
    expected = (np.column_stack([log_expit(-z), log_expit(z)]) if n_classes == 2
                else log_softmax(z, axis=1))
    assert np.isfinite(logp).all()
    np.testing.assert_allclose(logp, expected, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(np.exp(logp[:200]), est.predict_proba(X), rtol=1e-12)


def test_cosine_without_t_max_anneals_over_max_epochs_as_params_yaml_does():
    """GDRegressor(schedule="cosine") failed with 'needs schedule_params['T_max']', which
    params.yaml fills with train.max_epochs; so does a warm-up's cosine, over what is left."""
    import math

    from sklearn.datasets import make_regression

    from gdlab.config.schedules import resolve_schedule_params

    X, y = make_regression(60, 3, noise=1.0, random_state=0)
    y = (y - y.mean()) / y.std()
    lr, epochs = 0.05, 10
    cosine = GDRegressor(schedule="cosine", learning_rate=lr, max_epochs=epochs, tol=None,
                         random_state=0).fit(X, y)
    expected = [0.5 * lr * (1 + math.cos(math.pi * e / epochs)) for e in range(epochs)]
    np.testing.assert_allclose(cosine.history_["learning_rate"], expected, rtol=1e-12)
    warm = {"warmup_epochs": 4, "start_factor": 0.5, "then": "cosine"}
    fitted = GDRegressor(schedule="warmup", schedule_params=warm, learning_rate=lr,
                         max_epochs=epochs, tol=None, random_state=0).fit(X, y)
    after = [0.5 * lr * (1 + math.cos(math.pi * e / (epochs - 4))) for e in range(epochs - 4)]
    np.testing.assert_allclose(fitted.history_["learning_rate"][4:], after, rtol=1e-12)
    # ... as params.yaml's resolution gives it
    assert resolve_schedule_params("warmup", warm, epochs)["then_params"]["T_max"] == 6
    assert resolve_schedule_params("cosine", {}, epochs)["T_max"] == epochs


def test_the_documented_target_scaling_fixes_an_unscaled_target():
    """The docstring's advice, as written, against scikit-learn's least squares."""
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.datasets import make_regression
    from sklearn.linear_model import LinearRegression

    X, y = make_regression(300, 5, noise=1.0, random_state=0)  # |y| in the hundreds
    assert "TransformedTargetRegressor(GDRegressor()," in GDRegressor.__doc__
    scaled = TransformedTargetRegressor(GDRegressor(random_state=0),
                                        transformer=StandardScaler()).fit(X, y)
    best = LinearRegression().fit(X, y).score(X, y)
    assert scaled.score(X, y) > best - 1e-3
