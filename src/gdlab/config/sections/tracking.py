"""``tracking:`` and ``register:`` — MLflow's store and the model registry gate."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Literal

from pydantic import Field, field_validator

from gdlab.config.base import Section
from gdlab.config.errors import Problem, did_you_mean, raise_problems
from gdlab.urls import has_credentials

if TYPE_CHECKING:
    from gdlab.config.schema import Params

METRICS: dict[str, dict[str, bool]] = {
    "regression": {"rmse": False, "mae": False, "r2": True},
    "classification": {"log_loss": False, "accuracy": True, "f1": True, "roc_auc": True,
                       "average_precision": True, "balanced_accuracy": True},
}
"""Selection metrics per task -> whether greater is better. The first is what ``auto`` picks."""
DEFAULT_METRIC = {task: next(iter(names)) for task, names in METRICS.items()}
"""The metric ``auto`` picks for each task (the first of :data:`METRICS`): rmse, log_loss."""

MODEL_NAME_ALLOWED = (
    "non-empty string that MLflow's model registry accepts: not blank, without '/' or ':', "
    "not '.' and not starting with '..'"
)

URI_SCHEMES = ("sqlite", "postgresql", "mysql", "mssql", "http", "https", "databricks")
"""Tracking stores accepted: databases and servers (the file store is deprecated in MLflow 3)."""
_SCHEME = re.compile(r"[a-z][a-z0-9.\-]+")
"""A URI scheme (RFC 3986, lower-cased, without the '+driver' part) of two letters or more."""


def refuse_credentials(uri: str | None, instead: str) -> None:
    """Raise a problem when ``uri`` holds a password (as its client would read it: ``/``, ``:``
    and percent-encoded characters included) or a token-like query parameter; ``instead``
    says where the credential goes."""
    if uri is not None and has_credentials(uri):
        raise_problems(
            [
                Problem(
                    "",
                    "holds a credential (a password or token in the URI); params.yaml is "
                    "committed and logged, so credentials never go in it",
                    instead,
                )
            ]
        )


class TrackingConfig(Section):
    """MLflow tracking."""

    uri: str | None = Field(
        None,
        min_length=1,
        description="MLflow tracking URI; null = sqlite:///<project root>/mlflow.db",
        json_schema_extra={"x-allowed": "null or a URI with scheme " + " | ".join(URI_SCHEMES)},
    )
    experiment: str = Field("gdlab", min_length=1, description="MLflow experiment name")

    @field_validator("uri")
    @classmethod
    def _database_or_server(cls, uri: str | None) -> str | None:
        refuse_credentials(
            uri,
            "the URI without credentials; set MLFLOW_TRACKING_USERNAME / "
            "MLFLOW_TRACKING_PASSWORD or MLFLOW_TRACKING_TOKEN in the environment",
        )
        if uri is not None:
            scheme = uri.split(":", 1)[0].split("+", 1)[0].lower() if ":" in uri else ""
            if uri == "databricks":  # MLflow's URI of the default Databricks profile
                scheme = uri
            if scheme not in URI_SCHEMES:
                raise_problems([_unknown_scheme(uri, scheme)])
        return uri


def _unknown_scheme(uri: str, scheme: str) -> Problem:
    """The problem of a tracking URI whose scheme is none of :data:`URI_SCHEMES`: a path or
    ``file:`` (the file store), else an unknown, perhaps misspelt scheme (with a suggestion)."""
    allowed = "null or a URI with scheme " + " | ".join(URI_SCHEMES)
    if scheme == "file" or not _SCHEME.fullmatch(scheme):  # 'mlruns', 'C:\\mlruns': paths
        return Problem(
            "",
            f"{uri!r} is not a database or server URI (MLflow's file store is "
            "deprecated and cannot hold the model registry)",
            allowed,
        )
    hint = did_you_mean(scheme, URI_SCHEMES)
    return Problem("", f"{uri!r}: unknown tracking URI scheme {scheme!r}{hint}", allowed)


class RegisterConfig(Section):
    """Model registry: register the refitted model when it beats the champion."""

    enabled: bool = Field(True, description="register the model at the end of the pipeline")
    model_name: str = Field(
        "gdlab-model",
        min_length=1,
        description="registered model name",
        json_schema_extra={"x-allowed": MODEL_NAME_ALLOWED},
    )
    metric: Literal[
        "auto", "rmse", "mae", "r2", "log_loss", "accuracy", "f1", "roc_auc", "average_precision",
        "balanced_accuracy",
    ] = Field(
        "auto", description="test metric that decides; auto = rmse (regression) / log_loss"
    )
    min_confidence: float | None = Field(
        0.95,
        ge=0,
        lt=1,
        description=(
            "promote only when a paired bootstrap of champion and new model on the shared test "
            "rows (seeded with seed) is this confident the new one is better; null or 0 = any "
            "improvement"
        ),
    )

    beat_baseline: bool = Field(
        True,
        description=(
            "promote only a model whose test metric beats a constant prediction's (class prior "
            "/ mean target, fitted on the training rows) on the same test rows; false = no such "
            "check"
        ),
    )

    @field_validator("model_name")
    @classmethod
    def _registry_name(cls, name: str) -> str:
        # MLflow's registry refuses these (mlflow.utils.validation._validate_model_name) only
        # when register runs, the last stage, after everything else has
        if not name.strip() or "/" in name or ":" in name or name == "." or name.startswith(".."):
            raise_problems(
                [Problem("", f"{name!r} is refused by MLflow's model registry",
                         MODEL_NAME_ALLOWED)]
            )
        if "'" in name and '"' in name:  # a search filter quotes a value with one or the other
            raise_problems(
                [Problem("", f"{name!r} holds both ' and \", which a registry search "
                         "cannot quote", "a name with only one kind of quote, or none")]
            )
        return name

    def resolved_metric(self, task: str) -> str:
        """The metric actually used for ``task`` (``auto`` resolved)."""
        return DEFAULT_METRIC[task] if self.metric == "auto" else self.metric

    def greater_is_better(self, task: str) -> bool:
        """Whether a larger value of the resolved metric is better."""
        return METRICS[task][self.resolved_metric(task)]

    def cross_checks(self, params: Params) -> list[Problem]:
        task = params.model.task
        if self.metric != "auto" and self.metric not in METRICS[task]:
            return [
                Problem(
                    "register.metric",
                    f"{self.metric} does not fit task {task}",
                    " | ".join(("auto", *METRICS[task])),
                )
            ]
        return []
