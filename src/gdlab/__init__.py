"""gdlab: a lab for prototyping gradient-descent algorithms.

``GDRegressor`` and ``GDClassifier`` are scikit-learn estimators on a numpy
gradient-descent engine (:mod:`gdlab.core`) whose optimisers follow torch.optim.

The names below are imported on first use (:mod:`gdlab.lazy`): ``import gdlab.config`` (the
validate stage, a disabled stage) does not import scikit-learn, scipy or the engine with them.
"""

from typing import TYPE_CHECKING

import gdlab.running_code  # noqa: F401  reads gdlab's code now: what this process runs
from gdlab.lazy import lazy_exports

if TYPE_CHECKING:  # the real imports, for type checkers and IDEs
    from gdlab.core.diagnostics import check_grad, lr_range_test
    from gdlab.core.loop import DivergenceError
    from gdlab.estimators import BatchSizeWarning, GDClassifier, GDRegressor, ScheduleReachWarning

__version__ = "0.1.0"
__all__ = [
    "BatchSizeWarning", "DivergenceError", "check_grad", "GDClassifier", "GDRegressor",
    "lr_range_test", "ScheduleReachWarning", "__version__",
]

__getattr__, __dir__ = lazy_exports(__name__, {
    "BatchSizeWarning": "gdlab.estimators",
    "check_grad": "gdlab.core.diagnostics",
    "DivergenceError": "gdlab.core.loop",
    "GDClassifier": "gdlab.estimators",
    "GDRegressor": "gdlab.estimators",
    "ScheduleReachWarning": "gdlab.estimators",
    "lr_range_test": "gdlab.core.diagnostics",
})
