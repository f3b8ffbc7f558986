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


# (URI, redacted): the password as the client reads it (SQLAlchemy for databases: it runs to
# the '@' and may hold '/' or ':'; urlsplit for http) never shows
REDACTED = [
    ("postgresql://u:pa/ss@db/mlflow", "postgresql://u:***@db/mlflow"),
    ("postgresql://u:pa:ss@db:5432/mlflow", "postgresql://u:***@db:5432/mlflow"),
    ("postgresql+psycopg://u:p%40s%2Fs%3A@db/ml", "postgresql+psycopg://u:***@db/ml"),
    ("postgresql://u:p@ss@db:5432/ml", "postgresql://u:***@db:5432/ml"),
    ("mysql+pymysql://u:pa/ss@db/ml", "mysql+pymysql://u:***@db/ml"),
    ("postgresql://u@db/ml?password=pa/ss", "postgresql://u@db/ml?password=***"),
    ("http://u:pa/ss@h:5000/x", "http://u:***@h:5000/x"),
    ("https://u:p%2Fss@h/x", "https://u:***@h/x"),
    ("https://u:p@ss@h/x", "https://u:***@h/x"),
    ("https://u:pa:ss@h", "https://u:***@h"),
]


def test_redaction_reads_passwords_as_their_clients_do():
    for uri, shown in REDACTED:
        assert redact_uri(uri) == shown, uri
        for secret in ("pa/ss", "pa:ss", "p@ss", "p%40s%2Fs%3A", "p%2Fss", "ss@"):
            assert secret not in redact_uri(uri), uri
        assert redact_text(f"cannot reach {uri}: refused", uri) == f"cannot reach {shown}: refused"


def test_urls_without_a_password_are_left_alone():
    for uri in (
        "postgresql://mlflow@db:5432/mlflow",
        "mysql+pymysql://u@db/ml?charset=utf8mb4",
        "sqlite:///rel/mlflow.db",
        "sqlite:////abs/mlflow.db",
        "sqlite://",
        "http://127.0.0.1:5000",
        "http://[::1]:5000/x",
        "databricks://profile",
    ):
        assert redact_uri(uri) == uri
