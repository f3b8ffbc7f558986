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
