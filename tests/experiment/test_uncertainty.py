"""Confidence intervals of the test metrics: the row-weighted metrics a bootstrap resample
scores equal scikit-learn's with ``sample_weight`` (tied scores too: a tie counts one half in
the AUC); accuracy's Wilson interval matches its
closed form and stays wide on a tiny test set (where a bootstrap would collapse to a point);
the intervals are seeded and hold the point estimate; a test split too small to rank models
is named with its row count and ``data.test_size``, and a class with too few test rows with
its count; a classifier's resamples are stratified by class, so each holds every class."""

import numpy as np
import pytest
from scipy.stats import norm
from sklearn import metrics as skm
from sklearn.datasets import make_classification, make_regression
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.preprocessing import label_binarize

from gdlab.experiment.metrics import score
from gdlab.experiment.uncertainty import (
    MIN_CLASS_ROWS,
    MIN_RANKED_ROWS,
    _weighted_classification,
    _weighted_regression,
    metric_intervals,
    scores_with_intervals,
    too_few_class_rows,
    too_few_rows,
    wilson_interval,
)
from gdlab.tracking.champion import MIN_COMPARED_ROWS


@pytest.mark.parametrize(("n_classes", "positive"), [(2, "a"), (2, "b"), (3, None)])
def test_weighted_classification_metrics_equal_sklearn_with_sample_weight(n_classes, positive):
    """Every bootstrap metric, balanced_accuracy and average_precision too, is scikit-learn's
    with the resample's counts as sample_weight; for two classes, of the ``positive`` one."""
    X, y = make_classification(300, 5, n_informative=3, n_classes=n_classes, random_state=0)
    y = np.array(["a", "b", "c"])[y]
    model = LogisticRegression().fit(X, y)
    proba, pred, classes = model.predict_proba(X), model.predict(X), model.classes_
    weights = np.random.default_rng(0).integers(0, 3, (3, len(y))).astype(float)
    got = _weighted_classification(weights, y, proba, classes, positive)
    onehot = label_binarize(y, classes=classes)
    for k, w in enumerate(weights):
        if n_classes == 2:
            j = list(classes).index(positive)
            f1 = skm.f1_score(y, pred, pos_label=positive, sample_weight=w)
            auc = skm.roc_auc_score(y == positive, proba[:, j], sample_weight=w)
            ap = skm.average_precision_score(y == positive, proba[:, j], sample_weight=w)
        else:
            f1 = skm.f1_score(y, pred, average="macro", labels=classes, sample_weight=w)
            auc = skm.roc_auc_score(y, proba, multi_class="ovr", labels=classes, sample_weight=w)
            ap = skm.average_precision_score(onehot, proba, average="macro", sample_weight=w)
        assert got["f1"][k] == pytest.approx(f1, rel=1e-12)
        assert got["roc_auc"][k] == pytest.approx(auc, rel=1e-12)
        assert got["average_precision"][k] == pytest.approx(ap, rel=1e-12)
        assert got["balanced_accuracy"][k] == pytest.approx(
            skm.balanced_accuracy_score(y, pred, sample_weight=w), rel=1e-12)
        assert got["log_loss"][k] == pytest.approx(
            skm.log_loss(y, proba, labels=classes, sample_weight=w), rel=1e-12)


def tied_scores(n_classes: int, n: int = 400):
    """Labels and probabilities rounded to a tenth (about 11 distinct values per column):
    many rows share a score, as a model on a few binary features gives."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, n_classes, n)
    raw = np.eye(n_classes)[y] * 0.5 + rng.uniform(0, 0.6, (n, n_classes))
    proba = np.round(raw / raw.sum(axis=1, keepdims=True), 1)
    proba[:, -1] = np.round(1 - proba[:, :-1].sum(axis=1), 1)  # rows still sum to one
    return y, proba, np.arange(n_classes)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_tied_scores_in_the_weighted_auc_and_average_precision_are_sklearns(n_classes):
    y, proba, classes = tied_scores(n_classes)
    assert len(np.unique(proba[:, 1])) <= 11 < len(y)
    weights = np.vstack([np.ones(len(y)),
                         np.random.default_rng(2).integers(0, 3, (2, len(y))).astype(float)])
    got = _weighted_classification(weights, y, proba, classes)
    for k, w in enumerate(weights):
        if n_classes == 2:
            auc = skm.roc_auc_score(y, proba[:, 1], sample_weight=w)
            ap = skm.average_precision_score(y, proba[:, 1], sample_weight=w)
        else:
            auc = skm.roc_auc_score(y, proba, multi_class="ovr", labels=classes, sample_weight=w)
            ap = skm.average_precision_score(label_binarize(y, classes=classes), proba,
                                             average="macro", sample_weight=w)
        assert got["roc_auc"][k] == pytest.approx(auc, rel=1e-12)
        # tied scores are one threshold of the precision-recall curve, as scikit-learn's
        assert got["average_precision"][k] == pytest.approx(ap, rel=1e-12)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_the_bootstrap_auc_interval_of_tied_scores_holds_sklearns_auc(n_classes):
    y, proba, classes = tied_scores(n_classes)

    class Fixed:
        classes_ = classes

        def predict_proba(self, X):
            return proba

    low, high = metric_intervals(Fixed(), None, y, "classification", seed=0)["roc_auc"]
    auc = (skm.roc_auc_score(y, proba[:, 1]) if n_classes == 2 else
           skm.roc_auc_score(y, proba, multi_class="ovr", labels=classes))
    assert low < auc < high


def test_weighted_regression_metrics_equal_sklearn_with_sample_weight():
    X, y = make_regression(200, 4, noise=5.0, random_state=0)
    pred = LinearRegression().fit(X, y).predict(X)
    weights = np.random.default_rng(1).integers(0, 3, (3, len(y))).astype(float)
    got = _weighted_regression(weights, y, pred)
    for k, w in enumerate(weights):
        assert got["rmse"][k] == pytest.approx(
            np.sqrt(skm.mean_squared_error(y, pred, sample_weight=w)), rel=1e-12)
        assert got["mae"][k] == pytest.approx(
            skm.mean_absolute_error(y, pred, sample_weight=w), rel=1e-12)
        assert got["r2"][k] == pytest.approx(skm.r2_score(y, pred, sample_weight=w), rel=1e-10)


def test_a_perfect_score_on_four_rows_has_a_wide_accuracy_interval():
    """4 of 4 right: Wilson's lower bound is n / (n + z^2) = 0.51 (theory), not 1."""
    X, y = make_classification(200, 4, n_informative=3, n_redundant=0, class_sep=3.0,
                               random_state=0)
    model = LogisticRegression().fit(X, y)
    right = np.flatnonzero(model.predict(X) == y)[:4]
    intervals = metric_intervals(model, X[right], y[right], "classification", seed=0)
    z = norm.ppf(0.975)
    assert intervals["accuracy"] == pytest.approx((4 / (4 + z**2), 1.0), rel=1e-9)
    assert wilson_interval(45, 50) == pytest.approx(
        ((0.9 + z**2 / 100 - z * np.sqrt(0.9 * 0.1 / 50 + z**2 / 10000)) / (1 + z**2 / 50),
         (0.9 + z**2 / 100 + z * np.sqrt(0.9 * 0.1 / 50 + z**2 / 10000)) / (1 + z**2 / 50)),
        rel=1e-9)


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_intervals_are_seeded_and_hold_the_test_metric(task):
    if task == "regression":
        X, y = make_regression(400, 4, noise=20.0, random_state=0)
        model = LinearRegression().fit(X[:200], y[:200])
    else:
        X, y = make_classification(400, 5, flip_y=0.2, random_state=0)
        model = LogisticRegression().fit(X[:200], y[:200])
    Xt, yt = X[200:], y[200:]
    first = metric_intervals(model, Xt, yt, task, seed=3)
    assert first == metric_intervals(model, Xt, yt, task, seed=3)
    assert first != metric_intervals(model, Xt, yt, task, seed=4)
    scores = score(model, Xt, yt, task)
    assert list(first) == list(scores)
    for name, value in scores.items():
        low, high = first[name]
        assert low < value < high, name
        # a 95% interval of 200 rows: roughly +-2 standard errors, neither a point nor the range
        assert 0 < high - low < abs(value) + 1, name


def test_a_test_split_too_small_to_rank_models_is_named():
    assert MIN_RANKED_ROWS == MIN_COMPARED_ROWS == 30
    warning = too_few_rows(4, 0.2)
    assert warning.startswith("the test split has only 4 rows (data.test_size=0.2), fewer than "
                              "the 30 needed to rank models")
    assert too_few_rows(30, 0.2) is None


class _Fixed:
    """A model whose predictions are given (probabilities for a classifier)."""

    def __init__(self, answers, classes=None):
        self.answers, self.classes_ = answers, classes

    def predict(self, X):
        return self.answers

    def predict_proba(self, X):
        return self.answers


def test_a_large_test_split_with_a_rare_class_gets_the_theoretical_interval_width(
        monkeypatch):
    """40 000 test rows (above FULL_RESAMPLES_ROWS): fewer resamples, each of every row (a
    sample of the rows lost the rare class: a roc_auc interval 45 times too narrow). The
    width of roc_auc's interval with 80 positives matches DeLong's standard error, and
    mae's the normal theory's 2 × 1.96 × sd(|residual|) / sqrt(rows); both hold the metric
    on every row."""
    import gdlab.experiment.uncertainty as uncertainty

    drawn = []
    real = uncertainty._resample_counts
    monkeypatch.setattr(uncertainty, "_resample_counts",
                        lambda n, k, rng, **kw: drawn.append((n, k)) or real(n, k, rng, **kw))
    n, z = 40_000, norm.ppf(0.975)
    rng = np.random.default_rng(0)
    labels = (np.arange(n) < 80).astype(int)  # 80 positives
    score = np.where(labels == 1, rng.normal(1.5, 1.0, n), rng.normal(0.0, 1.0, n))
    p1 = 1 / (1 + np.exp(-(score - 4)))
    proba = np.c_[1 - p1, p1]
    got = metric_intervals(_Fixed(proba, np.array([0, 1])), None, labels, "classification",
                           seed=0)
    assert {rows for rows, _ in drawn} == {n}
    assert sum(k for _, k in drawn) == 1000 * 20_000 // n
    pos, neg = p1[labels == 1], p1[labels == 0]  # DeLong's placement values
    v10 = np.array([(neg < s).mean() for s in pos])
    v01 = (pos[None, :] > neg[:, None]).mean(axis=1)
    se = np.sqrt(v10.var(ddof=1) / len(pos) + v01.var(ddof=1) / len(neg))
    low, high = got["roc_auc"]
    assert low < skm.roc_auc_score(labels, p1) < high
    assert high - low == pytest.approx(2 * z * se, rel=0.2)

    drawn.clear()
    y = rng.normal(size=n)
    residual = rng.normal(size=n)
    got = metric_intervals(_Fixed(y + residual), None, y, "regression", seed=0)
    mae = np.abs(residual)
    low, high = got["mae"]
    assert low < mae.mean() < high
    assert high - low == pytest.approx(2 * z * mae.std() / np.sqrt(n), rel=0.2)


class _Counted:
    """A fitted model whose ``predict`` / ``predict_proba`` calls are counted; ``dtype``: what
    its probabilities come out as (float32 under ``train.dtype: float32``)."""

    def __init__(self, model, dtype=np.float64):
        self.model, self.dtype, self.calls = model, dtype, []
        self.classes_ = getattr(model, "classes_", None)

    def predict(self, X):
        self.calls.append("predict")
        return self.model.predict(X)

    def predict_proba(self, X):
        self.calls.append("predict_proba")
        return self.model.predict_proba(X).astype(self.dtype)


@pytest.mark.parametrize(
    ("task", "n_classes", "dtype"),
    [("regression", None, np.float64), ("classification", 2, np.float64),
     ("classification", 3, np.float64), ("classification", 2, np.float32)],
)
def test_evaluate_predicts_the_test_rows_once_for_metrics_and_intervals(task, n_classes, dtype):
    """evaluate predicted the test rows twice (score, then metric_intervals); now once. The
    metrics are scikit-learn's on that one prediction, and the intervals those that
    metric_intervals draws from its own prediction of the rows."""
    if task == "regression":
        X, y = make_regression(120, 4, noise=10.0, random_state=0)
        fitted = LinearRegression().fit(X[:60], y[:60])
    else:
        X, y = make_classification(120, 5, n_informative=3, n_classes=n_classes,
                                   random_state=0)
        y = np.array(["a", "b", "c"])[y]
        fitted = LogisticRegression().fit(X[:60], y[:60])
    X, y = X[60:], y[60:]
    model = _Counted(fitted, dtype)
    scores, intervals = scores_with_intervals(model, X, y, task, seed=3)
    assert model.calls == ["predict" if task == "regression" else "predict_proba"]
    assert intervals == metric_intervals(_Counted(fitted, dtype), X, y, task, seed=3)
    if task == "regression":
        pred = fitted.predict(X)
        expected = {"rmse": np.sqrt(skm.mean_squared_error(y, pred)),
                    "mae": skm.mean_absolute_error(y, pred), "r2": skm.r2_score(y, pred)}
    else:
        proba = fitted.predict_proba(X).astype(dtype).astype(np.float64)
        proba /= proba.sum(axis=1, keepdims=True)
        classes = fitted.classes_
        pred = classes[np.argmax(proba, axis=1)]
        binary = n_classes == 2
        # two classes, none configured: the rarer of the scored labels is the positive one
        counts = [int(np.sum(y == c)) for c in classes]
        k = int(np.argmin(counts)) if binary and counts[0] != counts[1] else len(classes) - 1
        onehot = label_binarize(y, classes=classes)
        expected = {
            "accuracy": skm.accuracy_score(y, pred),
            "balanced_accuracy": skm.balanced_accuracy_score(y, pred),
            "f1": (skm.f1_score(y, pred, pos_label=classes[k]) if binary
                   else skm.f1_score(y, pred, average="macro", labels=classes)),
            "average_precision": (
                skm.average_precision_score(y == classes[k], proba[:, k]) if binary
                else skm.average_precision_score(onehot, proba, average="macro")),
            "roc_auc": (skm.roc_auc_score(y == classes[k], proba[:, k]) if binary
                        else skm.roc_auc_score(y, proba, multi_class="ovr", labels=classes)),
            "log_loss": skm.log_loss(y, proba, labels=classes),
        }
    assert scores == pytest.approx(expected, rel=1e-12)


def test_a_class_with_too_few_test_rows_is_named_with_its_count():
    """1 positive in 80 test rows gave roc_auc 0.6456 [95% CI 0.532, 0.759] with no word that
    the interval rests on one row; only a split under 30 rows was warned about."""
    assert MIN_CLASS_ROWS == 10
    warning = too_few_class_rows({"legit": 79, "fraud": 1}, 0.2)
    assert warning.startswith(
        "class 'fraud' (1 test row) has fewer than the 10 test rows a class needs "
        "(data.test_size=0.2): the 95% intervals of the metrics that depend on each class")
    assert "unreliable" in warning and "'legit'" not in warning
    assert too_few_class_rows({"a": 9, "b": 3, "c": 10}, 0.25).startswith(
        "classes 'a' (9 test rows), 'b' (3 test rows) have fewer than the 10")
    assert too_few_class_rows({"a": 10, "b": 70}, 0.2) is None


def test_each_resample_of_a_classifiers_test_rows_holds_every_class_as_often():
    """Resampled without regard to class, 1 row of each of two rare classes among 80 lacked
    one of them in most resamples: the macro roc_auc, undefined there, got no interval (and
    with fewer such resamples, one conditional on the rare rows being drawn). Stratified by
    class, every resample holds each class's rows as many times as the split does, and the
    interval holds scikit-learn's roc_auc."""
    import gdlab.experiment.uncertainty as uncertainty

    rng = np.random.default_rng(0)
    y = np.array(["common"] * 78 + ["rare"] + ["rarer"])
    classes = np.array(["common", "rare", "rarer"])
    raw = np.eye(3)[np.searchsorted(classes, y)] + rng.uniform(0, 4.0, (80, 3))
    proba = raw / raw.sum(axis=1, keepdims=True)
    drawn = []
    real = uncertainty._resample_counts

    def recorded(n, k, generator, **kw):
        counts = real(n, k, generator, **kw)
        drawn.append(counts)
        return counts

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(uncertainty, "_resample_counts", recorded)
        low, high = metric_intervals(_Fixed(proba, classes), None, y, "classification",
                                     seed=0)["roc_auc"]
    counts = np.vstack(drawn)
    assert len(counts) == 1000
    for label in classes:
        assert (counts[:, y == label].sum(axis=1) == (y == label).sum()).all(), label
    auc = skm.roc_auc_score(y, proba, multi_class="ovr", labels=classes)
    assert low < auc < high
    rows = uncertainty._ClassificationRows(y, proba, classes)
    assert np.isfinite(rows.weighted(counts)["roc_auc"]).all()


def _dirichlet_rows(n: int, n_classes: int, ties: bool):
    """``n`` labels (15% positives for two classes) and probabilities leaning to them;
    ``ties``: rounded to hundredths (many rows share a score)."""
    rng = np.random.default_rng(0)
    y = (rng.integers(0, n_classes, n) if n_classes > 2 else
         (rng.random(n) < 0.15).astype(int))
    proba = rng.dirichlet(np.ones(n_classes), n)
    proba[np.arange(n), y] += 0.5
    proba /= proba.sum(axis=1, keepdims=True)
    if ties:
        proba = np.round(proba, 2)
        proba /= proba.sum(axis=1, keepdims=True)
    return y, proba


@pytest.mark.parametrize("order", ["ascending", "descending", "shuffled"])
@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("positive", [0, 1])
@pytest.mark.parametrize("weights", ["counts", "fractional"])
def test_every_ranking_path_of_the_weighted_auc_and_average_precision_is_sklearns(
        order, ties, positive, weights):
    """roc_auc and average_precision rank the rows by the positive class's score: rows already
    in that order (evaluate sorts a binary split by the second column), in the reverse order
    (the first class positive) or in neither, scored with integer resample counts (exact
    integer sums) or any other weights, equal scikit-learn's with ``sample_weight``; a
    resample without a positive row gives NaN, as without a negative one for roc_auc."""
    y, proba = _dirichlet_rows(500, 2, ties)
    rows = {"ascending": np.argsort(proba[:, 1], kind="stable"),
            "descending": np.argsort(-proba[:, 1], kind="stable"),
            "shuffled": np.random.default_rng(1).permutation(len(y))}[order]
    y, proba = y[rows], proba[rows]
    rng = np.random.default_rng(2)
    w = (rng.integers(0, 3, (3, len(y))).astype(float) if weights == "counts"
         else rng.uniform(0, 2, (3, len(y))))
    no_positive = np.where(y == positive, 0.0, w[0])
    no_negative = np.where(y == positive, w[0], 0.0)
    got = _weighted_classification(np.vstack([w, no_positive, no_negative]), y, proba,
                                   np.array([0, 1]), positive)
    hit = y == positive
    for k in range(3):
        assert got["roc_auc"][k] == pytest.approx(
            skm.roc_auc_score(hit, proba[:, positive], sample_weight=w[k]), rel=1e-12)
        assert got["average_precision"][k] == pytest.approx(
            skm.average_precision_score(hit, proba[:, positive], sample_weight=w[k]),
            rel=1e-12)
    assert np.isnan(got["roc_auc"][3]) and np.isnan(got["average_precision"][3])
    assert np.isnan(got["roc_auc"][4])
    assert got["average_precision"][4] == pytest.approx(1.0)


@pytest.mark.parametrize(("n_classes", "expected"), [
    (2, {"accuracy": (0.712096739072, 0.807911296083),
         "balanced_accuracy": (0.688202614379, 0.829444444444),
         "f1": (0.408163265306, 0.571478521479),
         "average_precision": (0.599022938121, 0.810707270977),
         "roc_auc": (0.837503267974, 0.932953159041),
         "log_loss": (0.403466663467, 0.473633168952)}),
    (3, {"accuracy": (0.708578811915, 0.804846843048),
         "balanced_accuracy": (0.711824519027, 0.809286592084),
         "f1": (0.709956197918, 0.809325872469),
         "average_precision": (0.824728453465, 0.895924891625),
         "roc_auc": (0.91148653194, 0.94821924666),
         "log_loss": (0.596948798394, 0.660031963945)}),
])
def test_the_faster_bootstrap_draws_and_scores_as_before(n_classes, expected):
    """Computing the resampled metrics in integer counts, from one ranking per class shared by
    roc_auc and average_precision, left every interval where the earlier code put it on the
    same rows and seed (tied scores too)."""
    y, proba = _dirichlet_rows(300, n_classes, ties=True)
    got = metric_intervals(_Fixed(proba, np.arange(n_classes)), None, y, "classification",
                           seed=1)
    assert got.keys() == expected.keys()
    for name, bounds in expected.items():
        assert got[name] == pytest.approx(bounds, rel=1e-10), name


def test_the_positive_class_leaves_the_other_metrics_intervals_bit_identical():
    """A binary split was resampled in the order of the positive class's probability, so
    choosing the other class as positive (metrics.positive_label) drew other resamples and
    moved the intervals of balanced_accuracy, roc_auc and log_loss, which do not depend on it
    (same model, rows and seed). The rows are now resampled in one order whichever class is
    positive."""
    X, y = make_classification(400, 5, n_informative=3, weights=[0.8], random_state=0)
    y = np.array(["no", "yes"])[y]
    model = LogisticRegression().fit(X[:200], y[:200])
    yes = metric_intervals(model, X[200:], y[200:], "classification", seed=0, positive="yes")
    no = metric_intervals(model, X[200:], y[200:], "classification", seed=0, positive="no")
    for name in ("accuracy", "balanced_accuracy", "roc_auc", "log_loss"):
        assert yes[name] == no[name], name
    assert yes["f1"] != no["f1"]
