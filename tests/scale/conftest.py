"""Fixtures of the scale-out tests: free ports, a temporary PostgreSQL cluster, an MLflow
server on it (see services.py). PostgreSQL tests skip only when the server binaries are
absent; under CI (``CI`` set) that is a failure, since ``.ci/run`` installs them."""

from __future__ import annotations

import os

import pytest

from .services import free_tcp_port, postgres_bindir, start_mlflow_server, start_postgres


@pytest.fixture
def free_port() -> int:
    return free_tcp_port()


@pytest.fixture(scope="session")
def postgres():
    bindir = postgres_bindir()
    if bindir is None:
        message = (
            "PostgreSQL server binaries (initdb, pg_ctl) not found; install Debian's "
            "postgresql package (.ci/run does)"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    pg = start_postgres(bindir)
    try:
        yield pg
    finally:
        pg.stop()


@pytest.fixture(scope="session")
def mlflow_server(postgres, tmp_path_factory):
    postgres.create_database("mlflow")
    base = tmp_path_factory.mktemp("mlflow-server")
    server = start_mlflow_server(postgres.url("mlflow"), base / "artifacts", base / "server.log")
    try:
        yield server
    finally:
        server.stop()
