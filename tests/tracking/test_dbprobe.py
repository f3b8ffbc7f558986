"""The one quick connection to a database server before MLflow or Optuna open it
(gdlab.dbprobe): a server that accepts but never answers is given up after the timeout, a
SQLite file or an HTTP server is not probed."""

from __future__ import annotations

import socket
import time

import pytest

from gdlab.dbprobe import needs_probe, probe_database


def test_a_server_that_accepts_but_never_answers_is_given_up_after_the_timeout():
    # the kernel completes the TCP handshake for a listening socket nobody accepts on: the
    # client then waits for the server's greeting, as long as the OS lets it without a timeout
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        start = time.monotonic()
        with pytest.raises(Exception, match="timeout"):
            probe_database(f"postgresql://u:pw@127.0.0.1:{port}/db", timeout=2)
        # without a timeout the client waits for a greeting that never comes (indefinitely):
        # 60 s tells that apart from the 2 s bound however loaded the machine is
        assert time.monotonic() - start < 60


@pytest.mark.parametrize(
    ("uri", "key", "value"),
    [
        ("postgresql://u:pw@db/mlflow", "connect_timeout", 3),
        ("postgresql+pg8000://u:pw@db/mlflow", "timeout", 3.5),
        ("mysql+pymysql://u:pw@db/mlflow", "connect_timeout", 3),
    ],
)
def test_the_connect_timeout_is_handed_to_the_driver(monkeypatch, uri, key, value):
    import sqlalchemy

    seen = {}

    def no_engine(url, **kwargs):
        seen.update(kwargs["connect_args"])
        raise RuntimeError("no server here")

    monkeypatch.setattr(sqlalchemy, "create_engine", no_engine)
    with pytest.raises(RuntimeError, match="no server here"):
        probe_database(uri, timeout=3.5)
    assert seen == {key: value}  # a connect_timeout in whole seconds (libpq reads an int)


@pytest.mark.parametrize(
    ("uri", "probed"),
    [
        ("postgresql://u@db:5432/mlflow", True),
        ("postgresql+psycopg2://u:pw@db/mlflow", True),
        ("mysql+pymysql://u@db/mlflow", True),
        ("sqlite:////tmp/mlflow.db", False),
        ("sqlite:///mlflow.db", False),
        ("http://127.0.0.1:5000", False),
        ("/tmp/.optuna/gdlab.journal", False),
    ],
)
def test_only_database_servers_are_probed(uri, probed):
    assert needs_probe(uri) is probed


def test_a_sqlite_store_is_not_opened(tmp_path):
    probe_database(f"sqlite:///{tmp_path / 'missing' / 'mlflow.db'}")  # no error, no file
    assert not (tmp_path / "missing").exists()
