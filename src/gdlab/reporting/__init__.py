"""DVC-facing outputs: metrics JSON, per-fold loss curves for ``dvc plots``, figures.

The names are imported on first use (:mod:`gdlab.lazy`): a disabled stage writing its
notice through :mod:`gdlab.reporting.files` does not import matplotlib or the experiment code.
"""

from typing import TYPE_CHECKING

from gdlab.lazy import lazy_exports

if TYPE_CHECKING:  # the real imports, for type checkers and IDEs
    from gdlab.reporting.figures import loss_curves_figure
    from gdlab.reporting.files import finite, read_json, write_json
    from gdlab.reporting.metrics import cv_document, cv_line, cv_summary, metrics_document
    from gdlab.reporting.plots import write_fold_curves

__all__ = [
    "cv_document",
    "cv_line",
    "cv_summary",
    "finite",
    "loss_curves_figure",
    "metrics_document",
    "read_json",
    "write_fold_curves",
    "write_json",
]

__getattr__, __dir__ = lazy_exports(__name__, {
    "loss_curves_figure": "gdlab.reporting.figures",
    "finite": "gdlab.reporting.files",
    "read_json": "gdlab.reporting.files",
    "write_json": "gdlab.reporting.files",
    "cv_document": "gdlab.reporting.metrics",
    "cv_line": "gdlab.reporting.metrics",
    "cv_summary": "gdlab.reporting.metrics",
    "metrics_document": "gdlab.reporting.metrics",
    "write_fold_curves": "gdlab.reporting.plots",
})
