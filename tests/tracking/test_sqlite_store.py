"""The project's SQLite store runs in WAL mode with synchronous=NORMAL (fewer syncs per commit,
readers not blocked by a writing stage), and stays readable by any SQLite client."""

import sqlite3

from gdlab.tracking.runs import connect, ensure_experiment


def test_sqlite_store_is_in_wal_mode_and_readable_by_a_plain_client(tmp_path):
    path = tmp_path / "mlflow.db"
    client = connect(f"sqlite:///{path}")
    experiment = ensure_experiment(client, "wal", tmp_path)
    run = client.create_run(experiment)
    client.log_metric(run.info.run_id, "loss", 0.5, step=0)
    client.set_terminated(run.info.run_id)

    with sqlite3.connect(path) as plain:  # a client that knows nothing of gdlab
        assert plain.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        rows = plain.execute("SELECT key, value FROM metrics").fetchall()
    assert rows == [("loss", 0.5)]
    # a fresh MLflow connection sees every committed call
    again = connect(f"sqlite:///{path}").get_run(run.info.run_id)
    assert again.info.status == "FINISHED" and again.data.metrics == {"loss": 0.5}


def test_a_damaged_store_fails_at_once_naming_it_and_what_to_do(tmp_path, monkeypatch, capsys):
    """A truncated mlflow.db (a full disk, a copy cut short): one line naming the store and
    the way out, within seconds (MLflow alone retries opening it for ~100 s)."""
    import time

    import pytest

    from gdlab.tracking import TrackingUnavailable, open_session
    from gdlab.tracking.safety import stage_exit

    path = tmp_path / "mlflow.db"
    with sqlite3.connect(path) as db:  # a schema of several pages (MLflow's has ~40 tables;
        # made without MLflow, which keeps an opened store for the process)
        for k in range(200):
            db.execute(f"CREATE TABLE t{k} (id INTEGER PRIMARY KEY, name TEXT, value REAL)")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    (tmp_path / ".dvc").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)

    start = time.monotonic()
    with pytest.raises(TrackingUnavailable) as failed:
        open_session(None, "damaged")
    # MLflow alone retries for ~100 s; 60 s is out of reach of a slow CI's honest failure
    assert time.monotonic() - start < 60
    message = str(failed.value)
    assert f"sqlite:///{path}" in message and "malformed" in message
    assert "restore it from a backup" in message and "Starting over" in message

    def main():
        open_session(None, "damaged")
        return 0

    assert stage_exit("train", main) == 1
    err = capsys.readouterr().err
    assert "train: tracking.uri: cannot reach" in err and "Traceback" not in err, err
