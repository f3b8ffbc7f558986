"""scikit-learn estimators backed by the gdlab engine."""

from gdlab.estimators.classifier import GDClassifier
from gdlab.estimators.regressor import GDRegressor

__all__ = ["GDClassifier", "GDRegressor"]
