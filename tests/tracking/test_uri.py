"""Store resolution anchored at the project root, and secret redaction."""

import os

from gdlab.tracking.uri import (
    configure_client_env,
    default_artifact_location,
    project_root,
    redact_text,
    redact_uri,
    resolve_tracking_uri,
)


def test_project_root_from_markers_and_dvc_root(tmp_path, monkeypatch):
    (tmp_path / ".git").mkdir()
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    assert project_root(nested) == tmp_path.resolve()
    monkeypatch.setenv("DVC_ROOT", str(tmp_path / "elsewhere"))
    assert project_root(nested) == (tmp_path / "elsewhere").resolve()


def test_default_uri_is_sqlite_at_root(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert resolve_tracking_uri(None, tmp_path) == f"sqlite:///{tmp_path.resolve()}/mlflow.db"
    assert resolve_tracking_uri("sqlite:///x/m.db", tmp_path) == (
        f"sqlite:///{tmp_path.resolve()}/x/m.db"
    )
    assert resolve_tracking_uri("sqlite:////abs/m.db", tmp_path) == "sqlite:////abs/m.db"
    assert resolve_tracking_uri("http://h:5000", tmp_path) == "http://h:5000"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://env:5000")
    assert resolve_tracking_uri(None, tmp_path) == "http://env:5000"
    assert resolve_tracking_uri("http://params:1", tmp_path) == "http://params:1"


def test_artifact_location_for_local_database(tmp_path):
    loc = default_artifact_location("sqlite:///x.db", tmp_path)
    assert loc == (tmp_path.resolve() / "mlruns").as_uri()
    assert default_artifact_location("http://h:5000", tmp_path) is None


def test_redaction():
    assert redact_uri("postgresql://bob:s3cret@db:5432/ml") == "postgresql://bob:***@db:5432/ml"
    assert redact_uri("https://u:p%40ss@h/x?token=abc&a=1") == "https://u:***@h/x?token=***&a=1"
    assert redact_uri("sqlite:////tmp/mlflow.db") == "sqlite:////tmp/mlflow.db"
    uri = "http://me:pw@host:5000"
    assert redact_text(f"cannot reach {uri}", uri) == "cannot reach http://me:***@host:5000"


def test_http_client_fails_fast(monkeypatch):
    for key in ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "MLFLOW_HTTP_REQUEST_TIMEOUT"):
        monkeypatch.delenv(key, raising=False)
    configure_client_env("sqlite:///x.db")
    assert "MLFLOW_HTTP_REQUEST_MAX_RETRIES" not in os.environ
    configure_client_env("http://127.0.0.1:9")
    assert int(os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"]) <= 1
    assert int(os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"]) <= 10
