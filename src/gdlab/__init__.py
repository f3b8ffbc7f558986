"""gdlab: a lab for prototyping gradient-descent algorithms.

``GDRegressor`` and ``GDClassifier`` are scikit-learn estimators on a numpy
gradient-descent engine (:mod:`gdlab.core`) whose optimisers follow torch.optim.
"""

from gdlab.core.diagnostics import check_grad
from gdlab.core.loop import DivergenceError
from gdlab.estimators import BatchSizeWarning, GDClassifier, GDRegressor

__version__ = "0.1.0"
__all__ = [
    "BatchSizeWarning", "DivergenceError", "check_grad", "GDClassifier", "GDRegressor",
    "__version__",
]
