"""GDClassifier's class_weight, with scikit-learn's semantics (LogisticRegression,
SGDClassifier): per-class weights multiplied into sample_weight."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.utils.class_weight import compute_sample_weight

from gdlab import GDClassifier


def _imbalanced(seed=0, n=300, d=4, k=2):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    logits = X @ rng.standard_normal((d, k)) + rng.standard_normal((n, k))
    logits[:, 0] += 2.5  # class 0 dominates
    return X, np.array(["no", "yes", "maybe"])[:k][logits.argmax(axis=1)]


def test_balanced_reaches_logistic_regressions_balanced_solution():
    X, y = _imbalanced()
    assert (y == "yes").mean() < 0.3
    alpha = 0.01
    est = GDClassifier(class_weight="balanced", optimizer="nesterov", learning_rate=0.5,
                       alpha=alpha, max_epochs=1500, tol=None).fit(X, y)
    ref = LogisticRegression(class_weight="balanced", C=1.0 / (alpha * len(y)), tol=1e-12,
                             max_iter=10000).fit(X, y)
    got = np.r_[est.coef_.ravel(), est.intercept_]
    want = np.r_[ref.coef_.ravel(), ref.intercept_]
    assert np.linalg.norm(got - want) / np.linalg.norm(want) < 1e-6
    # unweighted, the solution is another one
    plain = LogisticRegression(C=1.0 / (alpha * len(y)), tol=1e-12, max_iter=10000).fit(X, y)
    assert np.linalg.norm(plain.intercept_ - ref.intercept_) > 0.1


@pytest.mark.parametrize("class_weight", ["balanced", {"yes": 3.0}, {"no": 0.5, "maybe": 2}])
@pytest.mark.parametrize("batch_size", [None, 16])
def test_class_weight_is_multiplied_into_sample_weight(class_weight, batch_size):
    X, y = _imbalanced(k=3)
    sw = np.random.default_rng(1).uniform(0.1, 2.0, len(y))
    params = {"max_epochs": 5, "tol": None, "batch_size": batch_size, "random_state": 0}
    got = GDClassifier(class_weight=class_weight, **params).fit(X, y, sample_weight=sw)
    want = GDClassifier(**params).fit(X, y, sample_weight=sw * compute_sample_weight(
        class_weight, y))
    for p, q in zip(got.params_, want.params_, strict=True):
        np.testing.assert_allclose(p, q, rtol=1e-12, atol=1e-15)


def test_partial_fit_takes_a_dict_and_refuses_balanced_as_sgd_classifier_does():
    X, y = _imbalanced()
    classes = np.unique(y)
    with pytest.raises(ValueError, match="class_weight 'balanced' is not supported for "
                                         "partial_fit") as ours:
        GDClassifier(class_weight="balanced").partial_fit(X, y, classes=classes)
    with pytest.raises(ValueError, match="not supported for partial_fit"):
        SGDClassifier(class_weight="balanced").partial_fit(X, y, classes=classes)
    assert "compute_class_weight('balanced', classes=classes, y=y)" in str(ours.value)
    weights = {"yes": 4.0}
    got = GDClassifier(class_weight=weights, random_state=0)
    want = GDClassifier(random_state=0)
    for chunk in (slice(0, 150), slice(150, 300)):
        got.partial_fit(X[chunk], y[chunk], classes=classes)
        want.partial_fit(X[chunk], y[chunk], classes=classes,
                         sample_weight=compute_sample_weight(weights, y[chunk]))
    np.testing.assert_array_equal(got.coef_, want.coef_)


def test_fit_view_applies_the_class_weights_of_its_rows():
    X, y = _imbalanced(k=3)
    rows = np.arange(0, 300, 2)
    params = {"class_weight": "balanced", "max_epochs": 5, "tol": None, "random_state": 0}
    view = GDClassifier(**params)._fit_view(X, y, rows)
    dense = GDClassifier(**params).fit(X[rows], y[rows])
    for p, q in zip(view.params_, dense.params_, strict=True):
        np.testing.assert_allclose(p, q, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("class_weight, said", [
    ("auto", "class_weight must be None, 'balanced' or a dict"),
    ({"yes": -1.0}, r"class_weight\['yes'\] must be a finite number >= 0"),
    ({"yes": np.nan}, r"class_weight\['yes'\] must be a finite number >= 0"),
    ({"no": 0, "yes": 0}, "sample_weight times class_weight must not sum to zero"),
])
def test_bad_class_weights_are_refused(class_weight, said):
    X, y = _imbalanced()
    with pytest.raises(ValueError, match=said):
        GDClassifier(class_weight=class_weight).fit(X, y)


def test_balanced_lifts_the_minority_class_recall():
    X, y = _imbalanced(seed=3)
    plain = GDClassifier(random_state=0, tol=None, max_epochs=100).fit(X, y)
    balanced = GDClassifier(class_weight="balanced", random_state=0, tol=None,
                            max_epochs=100).fit(X, y)
    recall = [(m.predict(X)[y == "yes"] == "yes").mean() for m in (plain, balanced)]
    assert recall[1] > recall[0]
