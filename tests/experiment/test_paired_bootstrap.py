"""The paired bootstrap of a challenger's gain over a champion agrees with the textbook paired
test on per-row differences (a normal approximation of their mean: for log loss and squared
error a mean over rows, for accuracy the sign test's discordant rows), points the right way for
a greater-is-better metric, and is seeded."""

import numpy as np
import pytest
from scipy.stats import norm

from gdlab.experiment.paired_bootstrap import paired_gain

CLASSES = np.array([0, 1])
N = 400


def _rows(seed=3):
    """Rows whose true probability of class 1 is ``p`` (a logistic in one feature)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=N)
    p = 1 / (1 + np.exp(-1.5 * x))
    return x, p, (rng.random(N) < p).astype(int)


def _proba(q):
    return np.c_[1 - q, q]


def _normal_confidence(gains_per_row):
    """P(the challenger is better) by the normal approximation of the mean per-row gain."""
    d = np.asarray(gains_per_row, dtype=float)
    return float(norm.cdf(d.mean() / (d.std(ddof=1) / np.sqrt(len(d)))))


def _classified(champion_q, challenger_q, y, metric):
    return paired_gain(y, _proba(champion_q), _proba(challenger_q), "classification", metric,
                       seed=0, champion_classes=CLASSES, challenger_classes=CLASSES,
                       n_resamples=4000)


@pytest.mark.parametrize("shrink", [0.97, 0.9, 0.85])
def test_log_loss_confidence_matches_the_normal_paired_test(shrink):
    """The true probabilities against the same shrunk towards 0.5 (a worse model by a margin
    the rows may or may not show): per-row log-loss differences, a normal approximation."""
    _, p, y = _rows()
    q = 0.5 + shrink * (p - 0.5)
    test = _classified(q, p, y, "log_loss")
    loss = lambda r: -np.log(np.where(y == 1, r, 1 - r))  # noqa: E731
    assert test.gain == pytest.approx(np.mean(loss(q) - loss(p)))
    assert test.confidence == pytest.approx(_normal_confidence(loss(q) - loss(p)), abs=0.03)
    assert 0.6 < test.confidence < 0.99  # neither certain nor hopeless: the check bites
    assert test.low < test.gain < test.high and test.rows == N and test.resamples == 4000


def test_accuracy_confidence_matches_the_sign_test_and_points_up():
    """Accuracy is better when greater: the true model against one whose threshold is off;
    the confidence is the normal approximation of the paired (McNemar / sign) test on the rows
    where exactly one of them is right."""
    x, p, y = _rows()
    off = 1 / (1 + np.exp(-(1.5 * x + 0.6)))
    test = _classified(off, p, y, "accuracy")
    right = lambda r: ((r > 0.5) == y).astype(float)  # noqa: E731
    diff = right(p) - right(off)
    assert test.gain == pytest.approx(diff.mean()) and test.gain > 0
    assert test.confidence == pytest.approx(_normal_confidence(diff), abs=0.03)
    reverse = _classified(p, off, y, "accuracy")  # the worse model as challenger
    assert reverse.gain == pytest.approx(-test.gain)
    assert reverse.confidence == pytest.approx(1 - test.confidence, abs=0.02)


def test_roc_auc_is_recomputed_and_points_up():
    """roc_auc (no per-row sum): a ranking by the truth beats a constant 0.5 (AUC 0.5) with
    near certainty, and the constant as challenger is not better."""
    _, p, y = _rows()
    half = np.full(N, 0.5)
    up = _classified(half, p, y, "roc_auc")
    assert up.gain > 0.25 and up.confidence > 0.999
    down = _classified(p, half, y, "roc_auc")
    assert down.gain == pytest.approx(-up.gain) and down.confidence < 0.001


def test_rmse_confidence_matches_the_paired_squared_errors():
    """rmse is lower when better: whether the challenger's rmse is lower is whether its mean
    squared error is, a mean of per-row squared-error differences."""
    rng = np.random.default_rng(5)
    truth = rng.normal(size=N)
    y = truth + rng.normal(size=N)
    champion, challenger = 0.9 * truth, truth
    test = paired_gain(y, champion, challenger, "regression", "rmse", seed=1, n_resamples=4000)
    rmse = lambda f: np.sqrt(np.mean((y - f) ** 2))  # noqa: E731
    assert test.gain == pytest.approx(rmse(champion) - rmse(challenger))
    expected = _normal_confidence((y - champion) ** 2 - (y - challenger) ** 2)
    assert 0.6 < expected < 0.99
    assert test.confidence == pytest.approx(expected, abs=0.03)


def test_identical_predictions_gain_nothing_and_the_seed_decides_the_resamples():
    _, p, y = _rows()
    same = _classified(p, p, y, "log_loss")
    assert same.gain == 0 and same.confidence == 0.5 and same.low == same.high == 0
    q = 0.5 + 0.95 * (p - 0.5)
    assert _classified(q, p, y, "log_loss") == _classified(q, p, y, "log_loss")
    other = paired_gain(y, _proba(q), _proba(p), "classification", "log_loss", seed=1,
                        champion_classes=CLASSES, challenger_classes=CLASSES, n_resamples=4000)
    assert other.confidence != _classified(q, p, y, "log_loss").confidence


def test_only_the_compared_metric_is_computed(monkeypatch):
    """register compares one metric, but every resample of both models computed all of them
    (two rankings of the rows per model for roc_auc and average_precision): 200 000 rows took
    8 s for a log_loss comparison. A log_loss comparison ranks no rows now, and its result is
    the one computed along with the other metrics."""
    import gdlab.experiment.paired_bootstrap as paired
    import gdlab.experiment.uncertainty as uncertainty

    _, p, y = _rows()
    q = 0.5 + 0.9 * (p - 0.5)
    every = paired.weighted_scores(y, _proba(q), "classification", CLASSES)
    one = paired.weighted_scores(y, _proba(q), "classification", CLASSES, names=["log_loss"])
    w = np.random.default_rng(0).integers(0, 3, (4, N)).astype(float)
    assert one(w).keys() == {"log_loss"}
    np.testing.assert_array_equal(one(w)["log_loss"], every(w)["log_loss"])

    def refused(*args, **kwargs):
        raise AssertionError("a log_loss comparison ranked the rows")

    monkeypatch.setattr(uncertainty._Ranking, "auc_and_average_precision", refused)
    assert _classified(q, p, y, "log_loss").confidence > 0.5


def test_classifier_resamples_keep_each_class_count(monkeypatch):
    """register's paired bootstrap resamples within each class, as evaluate's intervals do: a
    resample with no row of a rare class (3 of 400 here: about 1 in 20 resamples before)
    made its roc_auc undefined and its f1 a tie, and the two models' comparison rested on
    resamples of another class mix than the test rows'."""
    import gdlab.experiment.paired_bootstrap as paired

    rng = np.random.default_rng(5)
    y = np.zeros(N, dtype=int)
    y[rng.choice(N, 3, replace=False)] = 1
    q = np.where(y == 1, 0.7, 0.2) + rng.normal(scale=0.1, size=N).clip(-0.15, 0.15)
    seen: list[np.ndarray] = []
    real = paired.bootstrap

    def recording(n_rows, scored, **kwargs):
        def watched(w):
            seen.append(np.c_[w[:, y == 0].sum(axis=1), w[:, y == 1].sum(axis=1)])
            return scored(w)
        return real(n_rows, watched, **kwargs)

    monkeypatch.setattr(paired, "bootstrap", recording)
    gain = _classified(0.5 + 0.5 * (q - 0.5), q, y, "roc_auc")
    counts = np.concatenate(seen)
    assert len(counts) == gain.resamples == 4000
    np.testing.assert_array_equal(counts, np.tile([N - 3, 3], (4000, 1)))
    assert np.isfinite(gain.confidence)
