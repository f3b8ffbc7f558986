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
        assert time.monotonic() - start < 10


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
