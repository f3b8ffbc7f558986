"""A stage's warnings are one line each: no file path, no source line; an interrupted stage
says so in one line."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

SCRIPT = """
import warnings
from sklearn.exceptions import ConvergenceWarning
from gdlab.tracking.safety import stage_exit

def main():
    warnings.warn("4 of 5 folds stopped at max_epochs", ConvergenceWarning)
    warnings.warn("batch_size covers a whole fold")
    return 0

raise SystemExit(stage_exit("train", main))
"""


def test_a_stage_prints_its_warnings_as_one_line_each():
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stderr == (
        "train: ConvergenceWarning: 4 of 5 folds stopped at max_epochs\n"
        "train: warning: batch_size covers a whole fold\n"
    )


def test_the_one_line_format_ends_with_the_stage():
    """Stages run in-process (tests, a notebook) left their format behind for everything
    after them."""
    import warnings

    from gdlab.tracking.safety import stage_exit

    before = warnings.formatwarning
    assert stage_exit("train", lambda: 0) == 0
    assert warnings.formatwarning is before


INTERRUPTED = textwrap.dedent(
    """
    import sys, time
    from gdlab.tracking import open_session, pipeline_run
    from gdlab.tracking.safety import stage_exit

    def main():
        s = open_session({uri!r}, "tests")
        if sys.argv[1] == "before":  # loading, before the stage's MLflow run starts
            print("ready", flush=True)
            time.sleep(60)
        with pipeline_run(experiment_id=s.experiment_id, run_name="stopped") as run:
            print(run.info.run_id, flush=True)
            time.sleep(60)
        return 0

    sys.exit(stage_exit(sys.argv[2], main))
    """
)


@pytest.mark.parametrize(("stage", "where", "sig"), [
    ("train", "in", signal.SIGINT), ("register", "in", signal.SIGTERM),
    ("train", "before", signal.SIGINT),
])
def test_an_interrupted_stage_says_so_in_one_line(session, tmp_path, sig, stage, where):
    """Ctrl-C or SIGTERM stopped a stage with exit 130/143 and not a word (or, before its
    MLflow run, a KeyboardInterrupt traceback): the output just stopped. One line now names
    the signal and what it leaves: the run ended KILLED (as the store shows), nothing
    registered outside the register stage, and how to go on."""
    script = INTERRUPTED.format(uri=session.uri)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, "-c", script, where, stage], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = proc.stdout.readline().strip()
    assert first, proc.communicate()[1]
    time.sleep(0.3)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + sig, err
    assert "Traceback" not in err, err
    name = signal.Signals(sig).name
    state = ""
    if where == "in":
        assert session.client.get_run(first).info.status == "KILLED"
        state = "; its MLflow run ended KILLED" + (", nothing registered"
                                                    if stage != "register" else "")
    assert err.splitlines()[-1] == (
        f"{stage}: interrupted ({name}){state}; rerun `dvc repro` to continue")


def test_a_sqlite_store_in_a_directory_that_cannot_be_made_names_tracking_uri(tmp_path):
    """``tracking.uri: sqlite:////proc/gdlab/mlflow.db``: the store's directory cannot be
    created; TrackingUnavailable (one line from stage_exit), not a FileNotFoundError."""
    from gdlab.tracking.safety import TrackingUnavailable, store_lock

    blocker = tmp_path / "file"
    blocker.write_text("")  # a file where the store's directory would be: mkdir cannot
    for uri in ("sqlite:////proc/gdlab/mlflow.db", f"sqlite:///{blocker}/sub/mlflow.db"):
        with pytest.raises(TrackingUnavailable, match=r"^tracking\.uri: cannot reach") as caught:
            with store_lock(uri):
                pass
        assert uri in str(caught.value)


def test_a_server_lost_mid_stage_is_one_line_with_the_password_redacted(monkeypatch):
    """What MLflow raises when the server went away during a stage (a real request to a
    closed port) becomes one 'tracking.uri: ...' line without the password."""
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    from gdlab.tracking.safety import tracking_failure
    from tests.reliability.harness import free_port

    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    uri = f"http://alice:s3cret@127.0.0.1:{free_port()}"
    with pytest.raises(MlflowException) as caught:
        MlflowClient(uri).set_tag("0" * 32, "k", "v")
    explained = tracking_failure(caught.value, uri)
    assert explained is not None
    text = str(explained)
    assert "\n" not in text and "s3cret" not in text
    assert text.startswith(f"tracking.uri: cannot reach the MLflow tracking server "
                           f"{uri.replace('s3cret', '***')} (MlflowException: ")
    assert tracking_failure(RuntimeError("disk on fire"), uri) is None


def test_a_missing_file_the_stage_asked_to_log_keeps_its_traceback(tmp_path):
    """An OSError raised inside MLflow was read as an unwritable artifact location; a figure
    the stage never wrote (FileNotFoundError of the source) is the stage's own bug."""
    import mlflow

    from gdlab.tracking.safety import tracking_failure

    uri = f"sqlite:///{tmp_path / 'm.db'}"
    mlflow.set_tracking_uri(uri)
    try:
        with mlflow.start_run():
            try:
                mlflow.log_artifact(str(tmp_path / "never_written.png"))
            except OSError as exc:
                raised = exc
        assert isinstance(raised, FileNotFoundError)
        assert tracking_failure(raised, uri) is None
    finally:
        mlflow.set_tracking_uri(None)


def test_a_write_the_database_refused_on_a_key_is_not_called_unreachable(tmp_path):
    """An IntegrityError under MLflow's exception (two processes inserted the same row) was
    reported as 'cannot reach the MLflow tracking store ... if mlflow.db is damaged, restore
    it', sending the user to repair a sound database; it says the store refused a write."""
    import sqlalchemy
    from mlflow.exceptions import MlflowException
    from sqlalchemy.exc import IntegrityError

    from gdlab.tracking.safety import tracking_failure

    db = tmp_path / "m.db"
    engine = sqlalchemy.create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text("create table datasets (name text primary key)"))
        conn.execute(sqlalchemy.text("insert into datasets values ('prepared-test')"))
    try:
        with engine.begin() as conn:
            conn.execute(sqlalchemy.text("insert into datasets values ('prepared-test')"))
    except IntegrityError as exc:
        try:
            raise MlflowException(f"{exc}") from exc  # as MLflow's store wraps it
        except MlflowException as wrapped:
            raised = wrapped
    text = str(tracking_failure(raised, f"sqlite:///{db}"))
    assert text.startswith(f"tracking.uri: the MLflow tracking store sqlite:///{db} refused a "
                           "write (MlflowException: (sqlite3.IntegrityError) UNIQUE constraint")
    assert text.endswith("another process wrote the same record at the same moment; run the "
                         "stage again")
    assert "cannot reach" not in text and "damaged" not in text and "\n" not in text


STORE_WRITE_FAILS = textwrap.dedent(
    """
    import resource, sqlite3, sys
    import mlflow
    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    from gdlab.tracking import open_session, pipeline_run
    from gdlab.tracking.safety import stage_exit

    def short_busy_timeout(conn, cursor, statement, parameters, context, executemany):
        if statement.lower().startswith("pragma busy_timeout"):  # MLflow waits 20 s
            statement = "PRAGMA busy_timeout = 50;"
        return statement, parameters

    event.listen(Engine, "before_cursor_execute", short_busy_timeout, retval=True)

    def main():
        s = open_session({uri!r}, "tests")
        with pipeline_run(experiment_id=s.experiment_id, run_name="store fails") as run:
            print(run.info.run_id, flush=True)
            if sys.argv[1] == "locked":  # another process holds a write on mlflow.db
                holder = sqlite3.connect({path!r}, isolation_level=None)
                holder.execute("BEGIN EXCLUSIVE")
            else:  # `ulimit -f`: the store's files cannot grow (SQLite: disk I/O error)
                resource.setrlimit(resource.RLIMIT_FSIZE, (4096, resource.RLIM_INFINITY))
            for step in range(200):
                mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
                mlflow.set_tag(f"t{{step}}", "x" * 4000)
        return 0

    sys.exit(stage_exit(sys.argv[2], main))
    """
)


@pytest.mark.parametrize("case", ["locked", "write refused"])
def test_a_locked_or_unwritable_sqlite_store_says_so_without_mlflows_tracebacks(tmp_path, case):
    """A store locked by another process (`make ui`, a second stage) was reported as 'cannot
    reach ... (MlflowException: (raised as a result of Query-invoked autoflush ...)); if
    mlflow.db is damaged, restore it from a backup or move it ... away', after MLflow's own
    ERROR log with two chained tracebacks; a write the disk refused (`ulimit -f`) likewise.
    One line now says the store is locked (run again when it is free) or that the write
    failed (disk full, a size limit), from SQLite's own error, and never advises discarding
    the store."""
    path = tmp_path / "mlflow.db"
    (tmp_path / ".dvc").mkdir()
    script = STORE_WRITE_FAILS.format(uri=f"sqlite:///{path}", path=str(path))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    env.pop("MLFLOW_TRACKING_URI", None)
    stage = "register" if case == "locked" else "train"
    done = subprocess.run([sys.executable, "-c", script, case.split()[0], stage], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert done.stdout.strip(), done.stderr  # the run had started
    store = f"sqlite:///{path}"
    if case == "locked":
        expected = (
            f"{stage}: tracking.uri: the MLflow tracking store {store} is locked by another "
            "process (sqlite3.OperationalError: database is locked (SQLITE_BUSY)): `make ui`, "
            "`make server`, `mlflow models serve`, another stage or a sqlite3 shell holds a "
            "write on mlflow.db; run the stage again when it is free (mlflow.db is not "
            "damaged: keep it)")
    else:
        expected = (
            f"{stage}: tracking.uri: the MLflow tracking store {store} could not be written "
            "(sqlite3.OperationalError: disk I/O error (SQLITE_IOERR_WRITE)): the disk is "
            "full, a file size limit (`ulimit -f`) was reached or the disk failed; free space "
            f"on {tmp_path} (or lift the limit) and run the stage again")
    kept, rest = [], []  # MLflow's other logging (the new store's tables) is not hidden
    for line in done.stderr.splitlines():
        (kept if " INFO mlflow.store.db.utils: " in line else rest).append(line)
    assert kept and rest == [expected]  # no MLflow ERROR record, no traceback


def test_an_output_the_file_system_refuses_fails_the_stage_in_one_line(session, tmp_path):
    """`chattr +i reports` (or a read-only reports/, a full disk): writing reports/cv.json
    ended train in a 27-line traceback naming 'reports/.cv.302afe4678b2.tmp.json'. One line
    now names the output and the error; the run still ends FAILED with the reason tagged."""
    import contextlib
    import io

    from gdlab.reporting import write_json
    from gdlab.tracking import FAILURE_TAG, pipeline_run
    from gdlab.tracking.safety import stage_exit

    reports = tmp_path / "reports"
    reports.write_text("a file where the reports directory should be")
    ran = []

    def main():
        with pipeline_run(experiment_id=session.experiment_id, run_name="refused") as run:
            ran.append(run.info.run_id)
            write_json(reports / "cv.json", {"rmse": 1.0})
        return 0

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert stage_exit("train", main) == 1
    assert err.getvalue() == (
        f"train: cannot write {reports}: a file stands where a directory should "
        f"(FileExistsError: [Errno 17] File exists); move that file away and run the stage "
        "again\n")
    run = session.client.get_run(ran[0])
    assert run.info.status == "FAILED"
    assert run.data.tags[FAILURE_TAG].startswith("OutputNotWritten: cannot write ")
