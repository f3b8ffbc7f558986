"""MLflow adapter: store resolution, parent/fold runs, batched curves, dataset inputs, lineage
tags, model logging, the registry alias gate and loading a registered model safely
(:func:`load_registered_model`). Nothing below this layer imports MLflow."""

from gdlab.tracking.batching import (
    curve_metrics,
    log_metrics,
    log_params,
    log_tags,
    scalar_metrics,
)
from gdlab.tracking.cv import cv_summary_metrics, log_fold_runs, log_training
from gdlab.tracking.dataset import log_dataset, log_prepared_split
from gdlab.tracking.lineage import child_tags, lineage_tags
from gdlab.tracking.model import log_sklearn_model
from gdlab.tracking.registered import RefusedModel, load_registered_model
from gdlab.tracking.registry import RegistryDecision, register_and_gate
from gdlab.tracking.runs import (
    FAILURE_KIND_TAG,
    FAILURE_TAG,
    RunInterrupted,
    ensure_experiment,
    pipeline_run,
)
from gdlab.tracking.safety import TrackingUnavailable, UntrustedModelSource, check_own_model_uri
from gdlab.tracking.session import RunHandle, Session, open_session
from gdlab.tracking.uri import project_root, redact_uri, resolve_tracking_uri

__all__ = [
    "FAILURE_KIND_TAG",
    "FAILURE_TAG",
    "RefusedModel",
    "RegistryDecision",
    "RunHandle",
    "RunInterrupted",
    "Session",
    "TrackingUnavailable",
    "UntrustedModelSource",
    "check_own_model_uri",
    "child_tags",
    "curve_metrics",
    "cv_summary_metrics",
    "ensure_experiment",
    "lineage_tags",
    "load_registered_model",
    "log_dataset",
    "log_fold_runs",
    "log_metrics",
    "log_params",
    "log_prepared_split",
    "log_sklearn_model",
    "log_tags",
    "log_training",
    "open_session",
    "pipeline_run",
    "project_root",
    "redact_uri",
    "register_and_gate",
    "resolve_tracking_uri",
    "scalar_metrics",
]
