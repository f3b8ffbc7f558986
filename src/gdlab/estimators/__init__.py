"""scikit-learn estimators backed by the gdlab engine."""

from gdlab.estimators.advice import ScheduleReachWarning
from gdlab.estimators.base import BatchSizeWarning
from gdlab.estimators.classifier import GDClassifier
from gdlab.estimators.regressor import GDRegressor

__all__ = ["BatchSizeWarning", "GDClassifier", "GDRegressor", "ScheduleReachWarning"]
