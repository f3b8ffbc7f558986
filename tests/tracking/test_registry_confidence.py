"""The registry gate moves ``champion`` only for a gain beyond the noise of the test rows both
models were scored on (``register.min_confidence``, a paired bootstrap): a challenger better by
a hair stays challenger, the reason saying why; one that is clearly better is promoted; without
a threshold any gain promotes, as before; a greater-is-better metric counts gains upwards.

The models are logistic regressions whose coefficients are set by hand, so the truth is known:
the rows' labels are drawn from the ``truth`` model's probabilities."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss

from gdlab.config.sections import RegisterConfig
from gdlab.data.fingerprint import fingerprint
from gdlab.tracking import log_sklearn_model, pipeline_run, register_and_gate
from gdlab.tracking.champion import TestSet
from gdlab.tracking.registry import UNSEEN_ROWS

N = 300
CONFIDENCE = RegisterConfig().min_confidence  # params.yaml's default


def _rows(seed, n=N):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 2)), columns=["a", "b"])
    p = 1 / (1 + np.exp(-1.5 * X["a"].to_numpy()))
    return X, np.where(rng.random(n) < p, "yes", "no")


TEST = _rows(1)
TRAIN = _rows(2)  # rows a champion "trained on" (none is a test row)


def _logistic(coef_a: float) -> LogisticRegression:
    """P(yes) = sigmoid(coef_a * a): 1.5 is the truth, 0 always says 0.5."""
    model = LogisticRegression().fit(*TRAIN)
    model.coef_ = np.array([[coef_a, 0.0]])
    model.intercept_ = np.array([0.0])
    return model


def _loss(model) -> float:
    return float(log_loss(TEST[1], model.predict_proba(TEST[0]), labels=model.classes_))


def _register(session, name, model, value, digest, metric="log_loss", train=None,
              positive="yes", **gate):
    X, y = TEST
    rows = None if train is None else fingerprint(train[0], np.asarray(train[1]))
    with pipeline_run(experiment_id=session.experiment_id) as run:
        info = log_sklearn_model(model, X.head(3), include_code=False, verify=False,
                                 training_rows=rows)
    return register_and_gate(
        session.client, model_name=name, model_uri=info.model_uri, run_id=run.info.run_id,
        metric=metric, value=value, task="classification", tags={"gdlab.data_digest": digest},
        test_set=TestSet(X, np.asarray(y), "classification", digest, positive=positive), **gate,
    )


def _hair():
    """The truth and a model a hair from it towards the test rows' own best fit: lower test
    log loss, by far less than those rows can tell."""
    X, y = TEST
    fitted = LogisticRegression(C=1e6, fit_intercept=False).fit(X[["a"]], y).coef_[0, 0]
    truth, hair = _logistic(1.5), _logistic(1.5 + 0.05 * (fitted - 1.5))
    assert _loss(hair) < _loss(truth)
    return truth, hair


def _normal_confidence(champion, challenger) -> float:
    """The normal approximation of the paired test on per-row log-loss differences."""
    X, y = TEST
    rows = lambda m: -np.log(m.predict_proba(X)[np.arange(len(y)),  # noqa: E731
                                                np.searchsorted(m.classes_, y)])
    d = rows(champion) - rows(challenger)
    return float(norm.cdf(d.mean() / (d.std(ddof=1) / np.sqrt(len(d)))))


def _alias(session, name, alias):
    return str(session.client.get_model_version_by_alias(name, alias).version)


def test_a_challenger_better_by_a_hair_stays_challenger_and_the_reason_says_why(session):
    truth, hair = _hair()
    name = "noise-hair"
    _register(session, name, truth, _loss(truth), "same", min_confidence=CONFIDENCE, seed=42)
    decision = _register(session, name, hair, _loss(hair), "same",
                         min_confidence=CONFIDENCE, seed=42)
    assert not decision.promoted and decision.champion == "1"
    assert _alias(session, name, "champion") == "1" and _alias(session, name, "challenger") == "2"
    test = decision.paired_test
    assert test["rows"] == N and test["seed"] == 42 and test["gain"] > 0
    assert test["low"] < 0 < test["high"]
    assert 0.5 < test["confidence"] < CONFIDENCE
    assert test["confidence"] == pytest.approx(_normal_confidence(truth, hair), abs=0.05)
    assert decision.min_confidence == CONFIDENCE
    assert decision.reason.startswith(
        f"test_log_loss {_loss(hair):.6g} does not clearly beat {_loss(truth):.6g}; better by ")
    assert (f"with confidence {test['confidence']:.3g} < register.min_confidence 0.95 "
            f"(paired bootstrap, 1000 resamples of the {N} test rows both were scored on): "
            "within the noise of the test rows, not promoted") in decision.reason
    tags = session.client.get_model_version(name, "2").tags
    assert tags["gdlab.promotion_reason"] == decision.reason
    # the same models, params and seed: the same decision, word for word
    again = _register(session, name, hair, _loss(hair), "same", min_confidence=CONFIDENCE,
                      seed=42)
    assert (again.reason, again.paired_test) == (decision.reason, test)


def test_without_min_confidence_any_gain_promotes_as_before(session):
    truth, hair = _hair()
    name = "noise-any"
    _register(session, name, truth, _loss(truth), "same", min_confidence=None)
    decision = _register(session, name, hair, _loss(hair), "same", min_confidence=None)
    assert decision.promoted and _alias(session, name, "champion") == "2"
    assert decision.reason == f"test_log_loss {_loss(hair):.6g} beats {_loss(truth):.6g}"
    assert decision.paired_test is None and decision.min_confidence is None
    zero = _register(session, "noise-zero", truth, _loss(truth), "same", min_confidence=0)
    assert zero.promoted and zero.paired_test is None


def test_a_clearly_better_challenger_is_promoted_on_the_rows_neither_trained_on(session):
    """The truth against a model that always says 0.5, tested on other prepared data (so both
    are scored again, on the test rows the champion did not train on)."""
    name = "noise-clear"
    half, truth = _logistic(0.0), _logistic(1.5)
    _register(session, name, half, _loss(half), "old", train=TRAIN, min_confidence=CONFIDENCE)
    decision = _register(session, name, truth, _loss(truth), "new", train=TRAIN,
                         min_confidence=CONFIDENCE, seed=7)
    assert decision.promoted and _alias(session, name, "champion") == "2"
    assert decision.champion_evaluation == UNSEEN_ROWS and decision.compared_rows == N
    test = decision.paired_test
    assert test["gain"] == pytest.approx(_loss(half) - _loss(truth))
    assert test["confidence"] > 0.999
    assert _normal_confidence(half, truth) > 0.999  # the textbook test agrees
    assert 0 < test["low"] < test["gain"] < test["high"]
    assert f"beats champion v1's {_loss(half):.6g} on the {N} test rows" in decision.reason
    assert f">= register.min_confidence 0.95 (paired bootstrap, 1000 resamples of the {N} " \
        "test rows both were scored on)" in decision.reason


@pytest.mark.parametrize(
    "metric", ["roc_auc", "accuracy", "average_precision", "balanced_accuracy"])
def test_a_greater_is_better_metric_counts_gains_upwards(session, metric):
    """Higher roc_auc / accuracy / average_precision / balanced_accuracy is better: the truth
    replaces a model that always says 0.5 (roc_auc 0.5; accuracy that of always 'no';
    balanced accuracy 0.5; average precision the rate of 'yes'), and the 0.5 model does not
    replace the truth. average_precision is of the test set's positive class, 'yes'."""
    from sklearn import metrics as skm

    X, y = TEST
    half, truth = _logistic(0.0), _logistic(1.5)

    def value(model):
        proba = model.predict_proba(X)
        pred = model.classes_[proba.argmax(axis=1)]
        return float({
            "accuracy": lambda: skm.accuracy_score(y, pred),
            "balanced_accuracy": lambda: skm.balanced_accuracy_score(y, pred),
            "average_precision": lambda: skm.average_precision_score(y == "yes", proba[:, 1]),
            "roc_auc": lambda: skm.roc_auc_score(y == "yes", proba[:, 1]),
        }[metric]())

    assert value(truth) > value(half)
    up = f"noise-up-{metric}"
    _register(session, up, half, value(half), "same", metric, min_confidence=CONFIDENCE)
    better = _register(session, up, truth, value(truth), "same", metric,
                       min_confidence=CONFIDENCE)
    assert better.promoted and better.paired_test["gain"] == pytest.approx(
        value(truth) - value(half))
    assert better.paired_test["confidence"] > 0.999
    down = f"noise-down-{metric}"
    _register(session, down, truth, value(truth), "same", metric, min_confidence=CONFIDENCE)
    worse = _register(session, down, half, value(half), "same", metric,
                      min_confidence=CONFIDENCE)
    assert not worse.promoted and _alias(session, down, "champion") == "1"
    assert worse.paired_test["gain"] < 0 and worse.paired_test["confidence"] < 0.001
    assert worse.reason.startswith(f"test_{metric} {value(half):.6g} does not beat ")


def test_min_confidence_needs_the_test_set(session):
    with pytest.raises(ValueError, match="register.min_confidence needs the test set"):
        register_and_gate(session.client, model_name="noise-none", model_uri="models:/x",
                          run_id=None, metric="log_loss", value=0.3, min_confidence=0.95)


def test_a_recorded_f1_of_another_positive_class_is_scored_again(session):
    """A champion's recorded f1 of class 'no' (another metrics.positive_label, or a version
    registered when f1 was always of the last class in sorted order) was compared with the new
    version's f1 of 'yes' on the same prepared data: two different numbers. The champion is
    now scored again, on the new version's positive class."""
    from sklearn import metrics as skm

    X, y = TEST
    truth, hair = _hair()

    def f1(model, positive):
        return float(skm.f1_score(y, model.predict(X), pos_label=positive))

    assert abs(f1(truth, "no") - f1(truth, "yes")) > 1e-3
    name = "noise-positive"
    _register(session, name, truth, f1(truth, "no"), "same", "f1", positive="no",
              min_confidence=None)
    decision = _register(session, name, hair, f1(hair, "yes"), "same", "f1", positive="yes",
                         min_confidence=None)
    assert decision.previous_value == pytest.approx(f1(truth, "yes"), rel=1e-12)
    assert decision.champion_evaluation != "recorded"
    tags = session.client.get_model_version(name, "2").tags
    assert tags["gdlab.positive_label"] == "'yes'"
    # the same class recorded: the recorded value stands, as before
    _register(session, "noise-positive-same", truth, f1(truth, "yes"), "same", "f1",
              min_confidence=None)
    same = _register(session, "noise-positive-same", hair, f1(hair, "yes"), "same", "f1",
                     min_confidence=None)
    assert same.champion_evaluation == "recorded"
    assert same.previous_value == pytest.approx(f1(truth, "yes"), rel=1e-12)
