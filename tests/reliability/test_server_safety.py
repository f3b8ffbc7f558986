"""``make server`` (``python -m gdlab.server``) keeps secrets out of the process list and the
server off the network: a store URL with a password is refused (it would sit in the
``mlflow server`` command line, visible to ``ps``), and so is a host that is not a loopback
address unless ``--allow-remote`` / ``GDLAB_SERVER_ALLOW_REMOTE=1`` asks for it."""

from __future__ import annotations

import pytest

from gdlab import server

SECRET = "pa/ss:w%40rd"

STORES_WITH_PASSWORD = [
    f"postgresql://mlflow:{SECRET}@db:5432/mlflow",
    "postgresql://mlflow:pa/ss@db/mlflow",  # SQLAlchemy reads the password 'pa/ss'
    "mysql+pymysql://mlflow:p%40ss@db/mlflow",
    "postgresql://mlflow@db/mlflow?password=pass",
]


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for name in ("GDLAB_SERVER_STORE", "GDLAB_SERVER_HOST", "GDLAB_SERVER_ALLOW_REMOTE"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("store", STORES_WITH_PASSWORD)
def test_store_url_with_a_password_is_refused(store, tmp_path, capsys):
    with pytest.raises(ValueError, match="PGPASSWORD or a ~/.pgpass file"):
        server.server_command(server.parse(["--backend-store-uri", store]), root=tmp_path)
    assert server.main(["--dry-run", "--backend-store-uri", store]) == 2
    captured = capsys.readouterr()
    assert "holds a password" in captured.err and "(ps)" in captured.err
    for secret in (SECRET, "pa/ss", "p%40ss", "=pass"):
        assert secret not in captured.err + captured.out


def test_store_url_from_the_environment_is_checked_too(tmp_path, monkeypatch):
    monkeypatch.setenv(server.STORE_ENV, "postgresql://mlflow:pa/ss@db/mlflow")
    with pytest.raises(ValueError, match="holds a password"):
        server.server_command(server.parse([]), root=tmp_path)
    monkeypatch.setenv(server.STORE_ENV, "postgresql://mlflow@db/mlflow")  # PGPASSWORD: fine
    command = server.server_command(server.parse([]), root=tmp_path)
    assert command[command.index("--backend-store-uri") + 1] == "postgresql://mlflow@db/mlflow"


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"])
def test_loopback_hosts_are_accepted(host, tmp_path):
    command = server.server_command(server.parse(["--host", host]), root=tmp_path)
    assert command[command.index("--host") + 1] == host


@pytest.mark.parametrize("host", ["10.0.0.5", "::", "tracking.example", "192.168.1.2"])
def test_other_hosts_need_an_explicit_opt_in(host, tmp_path, monkeypatch, capsys):
    with pytest.raises(ValueError, match="--allow-remote / set GDLAB_SERVER_ALLOW_REMOTE=1"):
        server.server_command(server.parse(["--host", host]), root=tmp_path)
    assert server.main(["--dry-run", "--host", host]) == 2
    assert "not a loopback address" in capsys.readouterr().err

    monkeypatch.setenv(server.HOST_ENV, host)  # the environment's host is checked as well
    with pytest.raises(ValueError, match="not a loopback address"):
        server.server_command(server.parse([]), root=tmp_path)

    command = server.server_command(server.parse(["--allow-remote"]), root=tmp_path)
    assert command[command.index("--host") + 1] == host
    monkeypatch.setenv("GDLAB_SERVER_ALLOW_REMOTE", "1")
    command = server.server_command(server.parse([]), root=tmp_path)
    assert command[command.index("--host") + 1] == host
    monkeypatch.setenv("GDLAB_SERVER_ALLOW_REMOTE", "0")
    with pytest.raises(ValueError, match="not a loopback address"):
        server.server_command(server.parse([]), root=tmp_path)
