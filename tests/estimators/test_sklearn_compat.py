"""scikit-learn's own estimator checks, with no expected-failure exemptions."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from gdlab import GDClassifier, GDRegressor

ESTIMATORS = [
    GDRegressor(),
    GDClassifier(),
    GDRegressor(model="mlp"),
    GDClassifier(model="mlp"),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_check(estimator, check):
    check(estimator)
