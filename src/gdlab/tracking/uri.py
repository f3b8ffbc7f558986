"""Where MLflow records go: the project root, the tracking URI, and redaction of secrets.

The default store is ``sqlite:///<project root>/mlflow.db``. The project root is ``DVC_ROOT``
when DVC sets it (``dvc exp run --temp/--queue`` execute in a copy under ``.dvc/tmp/exps`` but
point ``DVC_ROOT`` at the real repository), else the nearest parent with ``.dvc`` or ``.git``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

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


_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<user>[^:/@]*):(?P<pw>[^@/]*)@")


def redact_uri(uri: str | None) -> str:
    """``uri`` with any password (``user:secret@host``) and credential-looking query values
    (password, token, key, secret) replaced by ``***``."""
    if not uri:
        return ""
    text = _USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:***@", str(uri))
    try:
        parts = urlsplit(text)
    except ValueError:
        return text
    if not parts.query:
        return text
    redacted = []
    for item in parts.query.split("&"):
        key, sep, value = item.partition("=")
        secret = any(word in key.lower() for word in ("pass", "token", "secret", "key"))
        redacted.append(f"{key}{sep}***" if sep and secret else item)
    return urlunsplit(parts._replace(query="&".join(redacted)))


def redact_text(text: str, uri: str | None) -> str:
    """``text`` with the raw ``uri`` (if it carries a secret) replaced by its redacted form."""
    if uri and redact_uri(uri) != uri:
        text = text.replace(uri, redact_uri(uri))
    return text
