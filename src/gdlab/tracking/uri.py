"""Where MLflow records go: the project root, the tracking URI, and redaction of secrets
(:func:`redact_uri` and :func:`redact_text`, from :mod:`gdlab.urls`).

The default store is ``sqlite:///<project root>/mlflow.db``. The project root is ``DVC_ROOT``
when DVC sets it (``dvc exp run --temp/--queue`` execute in a copy under ``.dvc/tmp/exps`` but
point ``DVC_ROOT`` at the real repository), else the nearest parent with ``.dvc`` or ``.git``.
"""

from __future__ import annotations

import os
from pathlib import Path

from gdlab.urls import redact_text, redact_uri

__all__ = [
    "configure_client_env",
    "default_artifact_location",
    "is_http",
    "project_root",
    "redact_text",
    "redact_uri",
    "resolve_tracking_uri",
]

STORE_FILE = "mlflow.db"
ARTIFACT_DIR = "mlruns"
_HTTP_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "10",
}


def project_root(start: str | Path | None = None) -> Path:
    """``DVC_ROOT`` if set, else the closest directory above ``start`` (default: cwd) holding
    ``.dvc`` or ``.git``, else ``start`` itself."""
    env_root = os.environ.get("DVC_ROOT")
    if env_root:
        return Path(env_root).resolve()
    here = Path(start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / ".dvc").is_dir() or (candidate / ".git").exists():
            return candidate
    return here


def resolve_tracking_uri(configured: str | None = None, root: str | Path | None = None) -> str:
    """The tracking URI to use: ``configured`` (params ``tracking.uri``), else the
    ``MLFLOW_TRACKING_URI`` environment variable, else the project's SQLite store. A relative
    ``sqlite:///`` path is anchored at the project root, not at the working directory."""
    root_path = Path(root) if root is not None else project_root()
    uri = configured or os.environ.get("MLFLOW_TRACKING_URI") or ""
    if not uri:
        return f"sqlite:///{(root_path / STORE_FILE).resolve()}"
    if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
        relative = uri[len("sqlite:///") :]
        if relative and relative != ":memory:" and not Path(relative).is_absolute():
            return f"sqlite:///{(root_path / relative).resolve()}"
    return uri


def default_artifact_location(uri: str, root: str | Path | None = None) -> str | None:
    """For a local database store, an absolute artifact directory next to it (MLflow would
    otherwise use ``./mlruns`` of whatever directory the first run happened in); ``None`` for
    servers, which choose their own artifact root."""
    if not uri.startswith(("sqlite:", "postgresql", "mysql", "mssql")):
        return None
    root_path = Path(root) if root is not None else project_root()
    return (root_path / ARTIFACT_DIR).resolve().as_uri()


def is_http(uri: str) -> bool:
    return uri.startswith(("http://", "https://"))


def configure_client_env(uri: str) -> None:
    """For an HTTP tracking server, make an unreachable server fail in seconds, not minutes
    (MLflow retries 7 times with a 120 s timeout by default). Values already set are kept."""
    if is_http(uri):
        for key, value in _HTTP_DEFAULTS.items():
            os.environ.setdefault(key, value)
