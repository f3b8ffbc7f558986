"""The estimators' warnings about unscaled data, an oscillating loss and a schedule that
cannot act, and the best epoch they report (:mod:`gdlab.estimators.advice`)."""

import warnings

import numpy as np
import pytest
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from gdlab import GDClassifier, GDRegressor
from gdlab.estimators.advice import ScheduleReachWarning, oscillated


def _convergence_messages(est, X, y) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(X, y)
    return [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]


def test_unscaled_target_is_named_as_the_cause_with_the_fix():
    """Default GDRegressor on diabetes (y mean 152, std 77) ends at R² < 0: the warning said
    'increase max_epochs or the learning rate', which does not help; it names the target's
    scale and TransformedTargetRegressor, which brings the fit to LinearRegression's."""
    X, y = load_diabetes(return_X_y=True)
    messages = _convergence_messages(GDRegressor(random_state=0), X, y)
    assert len(messages) == 1
    assert "y mean 152.1, std 77.01" in messages[0]
    assert "TransformedTargetRegressor(regressor=GDRegressor(...)" in messages[0]
    assert "increase max_epochs" not in messages[0]
    fixed = TransformedTargetRegressor(
        regressor=make_pipeline(StandardScaler(), GDRegressor(random_state=0)),
        transformer=StandardScaler(),
    ).fit(X, y)
    reference = LinearRegression().fit(X, y).score(X, y)
    assert fixed.score(X, y) == pytest.approx(reference, abs=0.01)


def test_scaled_target_unconverged_keeps_the_old_advice():
    X, y = load_diabetes(return_X_y=True)
    y = (y - y.mean()) / y.std()
    messages = _convergence_messages(GDRegressor(random_state=0, max_epochs=5), X, y)
    assert len(messages) == 1 and "increase max_epochs" in messages[0]
    assert "target" not in messages[0]


def test_oscillating_loss_on_raw_features_is_not_called_converged():
    """Raw breast-cancer: the loss swings 0.69, 5.1, 0.55, 5.8, ... and the tol rule stopped
    the fit at epoch 13 silently, at a loss above the start (accuracy = the majority share)."""
    X, y = load_breast_cancer(return_X_y=True)
    # from the zero intercept (the prior start's raw-feature trajectory is another chaotic
    # one, which happens to settle: 0.95 accuracy in 434 epochs)
    est = GDClassifier(random_state=0, intercept_init="zero")
    messages = _convergence_messages(est, X, y)
    assert est.n_iter_ < est.max_epochs  # the tol rule stopped it
    assert est.loss_curve_[-1] > est.loss_curve_[0]
    assert len(messages) == 1 and "the training loss oscillates" in messages[0]
    assert f"{est.loss_curve_[-1]:.4g}" in messages[0]
    assert "Lower learning_rate" in messages[0]
    assert "make_pipeline(StandardScaler(), GDClassifier(...))" in messages[0]


def test_oscillating_loss_on_standardised_features_does_not_say_scale_them():
    """The remedy named scaling the features (StandardScaler in a Pipeline) for a fit that
    was in one: only the learning rate can help there."""
    X, y = load_breast_cancer(return_X_y=True)
    model = make_pipeline(StandardScaler(), GDClassifier(learning_rate=3.0, batch_size=None,
                                                         random_state=0))
    messages = _convergence_messages(model, X, y)
    assert len(messages) == 1 and "the training loss oscillates" in messages[0]
    assert "Lower learning_rate (e.g. 0.3)" in messages[0]
    assert "scale" not in messages[0] and "StandardScaler" not in messages[0]


def test_converging_fit_on_scaled_features_says_nothing():
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    assert _convergence_messages(GDClassifier(random_state=0, max_epochs=2000), X, y) == []


@pytest.mark.parametrize("curve,expected", [
    ([0.69, 5.1, 0.55, 5.8, 2.1], True),  # ends above its start
    ([1.0, 0.2, 0.1, 0.35], True),  # more than twice its lowest, a quarter of the descent back
    ([1.0, 50.0, 400.0, 0.1, 0.1001], False),  # a spike that recovered
    ([1.0, 0.001, 0.0025], False),  # 2.5x the lowest, but noise next to the descent
    ([1.0], False),
])
def test_oscillated(curve, expected):
    assert oscillated(curve) is expected


def test_best_epoch_with_early_stopping_is_the_restored_one(capsys):
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    est = GDClassifier(early_stopping=True, learning_rate=0.1, random_state=0, verbose=1)
    est.fit(X, y)
    val = est.history_["val_loss"]
    assert est.best_epoch_ == int(np.argmin(val)) + 1 < est.n_iter_
    assert est.best_loss_ == val[est.best_epoch_ - 1]
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith(f"early stopping: restored the weights of epoch {est.best_epoch_} ")


def test_best_epoch_without_early_stopping_is_the_lowest_training_loss():
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    est = GDClassifier(random_state=0, max_epochs=30, tol=None).fit(X, y)
    assert est.best_epoch_ == int(np.argmin(est.loss_curve_)) + 1
    assert est.best_loss_ == min(est.loss_curve_)


def _schedule_warnings(**params) -> tuple[list[str], list[float]]:
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est = GDClassifier(random_state=0, batch_size=32, **params).fit(X, y)
    return ([str(w.message) for w in caught if issubclass(w.category, ScheduleReachWarning)],
            est.history_["learning_rate"])


def test_plateau_outwaited_by_the_tol_rule_is_said():
    messages, rates = _schedule_warnings(schedule="plateau")
    assert len(set(rates)) == 1  # what the warning says: the rate never changed
    assert len(messages) == 1
    assert "patience (10) is not below n_iter_no_change (10) - 1" in messages[0]
    messages, _ = _schedule_warnings(schedule="plateau", schedule_params={"patience": 3})
    assert messages == []


def test_step_beyond_max_epochs_is_said():
    messages, rates = _schedule_warnings(schedule="step", schedule_params={"step_size": 300},
                                         max_epochs=200)
    assert len(set(rates)) == 1
    assert len(messages) == 1 and "schedule_params['step_size']=300" in messages[0]
    assert "max_epochs=200" in messages[0]
    messages, _ = _schedule_warnings(schedule="warmup", schedule_params={
        "warmup_epochs": 50, "then": "multistep", "then_params": {"milestones": [160]}},
        max_epochs=200)
    assert len(messages) == 1 and "the 150 epochs after the warm-up" in messages[0]
    messages, _ = _schedule_warnings(schedule="step", schedule_params={"step_size": 5})
    assert messages == []


def test_the_feature_scale_advice_reads_a_sample_of_rows_not_a_float64_copy_of_x():
    import tracemalloc

    from gdlab.estimators.advice import feature_scale_cause

    rng = np.random.default_rng(0)
    X = rng.standard_normal((200_000, 50), dtype=np.float32)
    X[:, 0] *= 1000.0  # one column on a far larger scale: the advice names it
    tracemalloc.start()
    try:
        cause = feature_scale_cause(X, "GDRegressor")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert cause is not None and "StandardScaler" in cause
    assert peak < 0.25 * X.nbytes  # a float64 copy of X alone is 2 x X.nbytes (was 4 x)
    high = float(cause.split(" to ")[1].split(")")[0])
    assert high == pytest.approx(float(X[:, 0].std(dtype=np.float64)), rel=0.05)


def test_the_feature_scale_advice_for_sparse_counts_is_a_recipe_that_fits():
    """On a sparse count matrix the advice said ``make_pipeline(StandardScaler(),
    GDRegressor(...))``, which refuses it ("Cannot center sparse matrices"); it names
    ``StandardScaler(with_mean=False)``, and its recipe, followed literally, fits."""
    import re

    from scipy import sparse

    from gdlab.estimators.advice import feature_scale_cause

    rng = np.random.default_rng(0)
    rates = np.geomspace(0.05, 500.0, 8)  # word counts: some rare, some frequent
    dense = rng.poisson(rates, size=(300, 8)) * (rng.random((300, 8)) < 0.3)
    X = sparse.csr_matrix(dense.astype(np.float64))
    y = dense @ (1.0 / rates) + rng.normal(scale=0.1, size=300)
    cause = feature_scale_cause(X, "GDRegressor")
    assert cause is not None
    (recipe,) = re.findall(r"make_pipeline\(.*\(\.\.\.\)\)", cause)
    assert "StandardScaler(with_mean=False)" in recipe
    model = eval(recipe.replace("(...)", "()"), {  # noqa: S307 - the advice's own text
        "make_pipeline": make_pipeline, "StandardScaler": StandardScaler,
        "GDRegressor": GDRegressor})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    assert model.score(X, y) > 0.9
    assert "with_mean" not in feature_scale_cause(dense.astype(np.float64), "GDRegressor")


def _far_target():
    """Standardised features, a target of mean 2.9e5 and std 1e5 (house prices)."""
    from sklearn.datasets import make_regression

    X, y = make_regression(1000, 5, noise=1.0, random_state=0)
    return StandardScaler().fit_transform(X), 2.9e5 + 1e5 * y / y.std()


def test_an_mlps_target_warning_does_not_say_its_weights_start_at_0():
    """The warning said 'the weights start at 0 and adam moves each weight by at most about
    learning_rate=0.01 per step, so they need many more steps than max_epochs allows': an
    MLP's weights start random, and its output can grow faster than one weight's steps, so
    no step count is claimed. The fix it names (scale the target) is kept."""
    X, y = _far_target()
    est = GDRegressor(model="mlp", hidden_layer_sizes=[16], max_epochs=100, random_state=0)
    messages = _convergence_messages(est, X, y)
    assert len(messages) == 1
    assert "y mean 2.899e+05, std 1e+05" in messages[0]
    assert "start at 0" not in messages[0] and "steps than" not in messages[0]
    assert "an MLP's weights start small and random" in messages[0]
    assert "TransformedTargetRegressor(regressor=GDRegressor(...)" in messages[0]
    fresh = GDRegressor(model="mlp", hidden_layer_sizes=[16], max_epochs=1,
                        learning_rate=1e-12, tol=None, random_state=0).fit(X, y)
    assert np.all(fresh.coefs_[0] != 0)  # the first layer starts random, not at 0


def test_a_step_budget_that_covered_the_target_is_not_called_too_short():
    """Linear adam at learning_rate=1000, 480 full-batch steps: the warning said adam 'moves
    each weight by at most about learning_rate=1000 per step, so they need many more steps
    than max_epochs allows', but some 290 such steps cover 2.9e5. It gives the numbers and
    the reason the fit shows: adam's steps shrank on the way (the intercept moved under half
    a learning rate per step at the end and had not got there)."""
    X, y = _far_target()
    intercepts = []
    est = GDRegressor(optimizer="adam", learning_rate=1000.0, max_epochs=480, random_state=0,
                      callbacks=[lambda info: intercepts.append(float(info["params"][1][0]))])
    messages = _convergence_messages(est, X, y)
    assert len(intercepts) == 480 and intercepts[-1] < y.mean()
    assert intercepts[-1] - intercepts[-2] < 0.5 * 1000.0  # the steps shrank
    assert len(messages) == 1
    assert "more than the" not in messages[0] and "steps than" not in messages[0]
    assert ("adam's steps of about learning_rate=1000 would cover the target's scale "
            "(2.9e+05) in some 290 of the fit's 480 steps, but they shrink") in messages[0]


def test_a_step_budget_too_short_for_the_target_is_said_with_its_numbers():
    """adam at learning_rate=1, 20 epochs of 5 mini-batches (1000 rows, batch_size=200):
    100 steps of at most about 1 cannot carry the intercept from 0 to 2.9e5."""
    X, y = _far_target()
    est = GDRegressor(optimizer="adam", learning_rate=1.0, batch_size=200, max_epochs=20,
                      random_state=0)
    messages = _convergence_messages(est, X, y)
    assert abs(est.intercept_[0]) < 1.5 * 100  # what the warning says: it got nowhere near
    assert len(messages) == 1
    assert ("the weights start at 0 and adam moves each by at most about learning_rate=1 "
            "per step: reaching the target's scale (2.9e+05) takes at least some 289,923 "
            "steps, more than the 100 this fit had (20 epochs of 5 batches)") in messages[0]


def test_a_linear_sgd_fit_is_not_told_one_rate_cannot_suit_the_target():
    """sgd's linear fit scales with y (its steps grow with the gradient), so 'one learning
    rate cannot suit it and the features' was not the reason; the absolute tol is."""
    X, y = _far_target()
    messages = _convergence_messages(GDRegressor(optimizer="sgd", learning_rate=0.1,
                                                 max_epochs=5, random_state=0), X, y)
    assert len(messages) == 1 and "y mean 2.899e+05" in messages[0]
    assert "cannot suit" not in messages[0] and "start at 0" not in messages[0]
    assert "the absolute tol=0.0001 asks for a far finer fit" in messages[0]


@pytest.mark.parametrize("stds,said,unsaid", [
    ([100.0] * 5, "they share one scale, far from 1", "cannot suit them all"),
    ([0.01, 1.0, 500.0], "one learning rate cannot suit them all", "share one scale"),
    ([5.0, 50.0, 300.0], "takes steps far too large on the largest", "share one scale"),
])
def test_the_feature_advice_says_whether_the_columns_share_a_scale(stds, said, unsaid):
    """Columns all of std 100 were told 'one learning rate cannot suit them all': they share
    one, just not the rate that suits standardised features."""
    from gdlab.estimators.advice import feature_scale_cause

    X = np.random.default_rng(0).standard_normal((2000, len(stds)))
    X = StandardScaler().fit_transform(X) * np.asarray(stds)
    cause = feature_scale_cause(X, "GDClassifier")
    assert said in cause and unsaid not in cause


def test_a_warm_started_fit_is_not_told_its_weights_start_at_0():
    """The second fit of warm_start=True starts from the first fit's weights: no 'start at 0'
    nor a step count from 0 for it."""
    X, y = _far_target()
    est = GDRegressor(optimizer="adam", learning_rate=1.0, max_epochs=20, warm_start=True,
                      random_state=0)
    first = _convergence_messages(est, X, y)
    assert len(first) == 1 and "the weights start at 0" in first[0]
    again = _convergence_messages(est, X, y)
    assert len(again) == 1 and "y mean 2.899e+05" in again[0]
    assert "start at 0" not in again[0] and "this fit had" not in again[0]
    assert "adam moves each weight by about learning_rate=1 per step" in again[0]


@pytest.mark.parametrize("share", [0.5, 0.9, 0.99, 0.01])
def test_zero_one_columns_are_never_called_off_centre(share):
    """A one-hot or 0/1 column of mean 0.5 (or 0.99) beside standardised ones: its mean is
    at most 1, no scale trouble; nothing is named."""
    from gdlab.estimators.advice import feature_scale_cause

    rng = np.random.default_rng(0)
    X = np.c_[rng.standard_normal((2000, 3)), rng.random(2000) < share]
    assert feature_scale_cause(X, "GDRegressor") is None


def test_a_bias_column_of_ones_is_not_named_but_one_of_five_is():
    """A hand-made bias column of 1 is harmless (curvature 2); a constant 5 adds 25 to it."""
    from gdlab.estimators.advice import feature_scale_cause

    X = np.random.default_rng(0).standard_normal((500, 3))
    assert feature_scale_cause(np.c_[X, np.ones(500)], "GDRegressor") is None
    cause = feature_scale_cause(np.c_[X, np.full(500, 5.0)], "GDRegressor", ["a", "b", "c", "k"])
    assert cause.startswith("The features hold a constant column 'k' (always 5, square 25)")


def test_a_sparse_column_is_judged_by_its_spread_as_before():
    """A sparse X keeps the advice StandardScaler(with_mean=False) can act on: a column of
    mean 2000 stored densely in it is not called off-centre (centring it would make X dense
    and with_mean=False does not centre)."""
    from scipy import sparse

    from gdlab.estimators.advice import feature_scale_cause

    X = np.random.default_rng(0).standard_normal((500, 3))
    X[:, 2] += 2000.0
    assert feature_scale_cause(sparse.csr_matrix(X), "GDRegressor") is None
    assert "column 2 (mean 2000, std 1.0" in feature_scale_cause(X, "GDRegressor")  # dense


def test_the_off_centre_advice_names_the_farthest_columns_first_and_counts_the_rest():
    from gdlab.estimators.advice import feature_scale_cause

    X = np.random.default_rng(0).standard_normal((500, 5)) + [10.0, 20.0, 30.0, 40.0, 50.0]
    cause = feature_scale_cause(X, "GDRegressor")
    assert cause.startswith("The features are unscaled: columns 4 (mean 50")
    assert ", 3 (mean 39.9" in cause and ", 2 (mean 30" in cause
    assert "and 2 more lie far from 0 next to their spread" in cause


@pytest.mark.parametrize(("scale", "optimizer", "rate", "epochs", "batch_size"), [
    (12.0, "sgd", 1e-5, 20, 32), (200.0, "sgd", 1e-5 * (12.0 / 200.0) ** 2, 20, 32),
    (50.0, "adam", 0.01, 5, None),
])
def test_a_slow_fit_on_one_large_scale_is_not_told_to_standardise(scale, optimizer, rate,
                                                                   epochs, batch_size):
    """A fit that ran out of epochs without oscillating on centred columns of one large
    scale (std 12, 200: sgd at a small rate; std 50: adam at its default 0.01, whose steps
    are bounded) was told 'a learning rate that suits standardised features takes steps far
    too large ... Standardise them': standardised, the same rate trains far worse (R² 0.97
    -> 0.02; adam 0.93 -> 0.05). It is told to raise max_epochs or the learning rate."""
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(2000, 5))
    y = Z @ [1.0, -2.0, 0.5, 3.0, 1.0] + 0.1 * rng.normal(size=2000)
    X = scale * Z
    settings = dict(optimizer=optimizer, learning_rate=rate, batch_size=batch_size,
                    max_epochs=epochs, random_state=0)
    raw = GDRegressor(**settings)
    messages = _convergence_messages(raw, X, y)
    assert len(messages) == 1 and "increase max_epochs or the learning rate" in messages[0]
    assert "Standardise" not in messages[0] and "unscaled" not in messages[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        same_rate = make_pipeline(StandardScaler(), GDRegressor(**settings)).fit(X, y)
        longer = GDRegressor(**{**settings, "max_epochs": 10 * epochs}).fit(X, y)
    assert same_rate.score(X, y) < 0.5 < raw.score(X, y)  # what the old advice led to
    assert longer.score(X, y) > raw.score(X, y)  # what the advice says helps
