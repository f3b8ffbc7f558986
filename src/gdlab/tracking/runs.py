"""MLflow experiment and run lifecycle: one parent run per pipeline execution.

``pipeline_run`` starts (or resumes, in a later stage) the parent run and ends it FINISHED,
FAILED (reason in the ``gdlab.failure`` tag) or KILLED (on SIGINT/SIGTERM, after which the
process exits non-zero). Without a handler a killed process would leave the run RUNNING. A
failed or killed parent ends the nested runs it left RUNNING with the same status.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import mlflow
from mlflow.entities import RunStatus
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from gdlab.tracking.uri import configure_client_env, default_artifact_location, redact_text

FAILURE_TAG = "gdlab.failure"
FAILURE_KIND_TAG = "gdlab.failure_kind"
"""``divergence`` (the loss blew up), ``interrupted`` (SIGINT/SIGTERM), ``error``, or ``lost``
(the process died without ending the run: see :mod:`gdlab.tracking.orphans`)."""
_MAX_TAG = 5000


class RunInterrupted(KeyboardInterrupt):
    """Raised by the signal handler inside a tracked run; carries the signal number."""

    def __init__(self, signum: int):
        super().__init__(f"interrupted by signal {signal.Signals(signum).name}")
        self.signum = signum


_SQLITE_TUNED = False


def _tune_sqlite() -> None:
    """Every SQLite connection this process opens runs in WAL mode with ``synchronous=NORMAL``.

    MLflow's SQLite store commits once per call; in the default rollback-journal mode each
    commit syncs the file several times (measured 20 ms per ``create_run``/``log_batch``
    here, 2-4x more than in WAL). WAL also lets readers (the UI, a parallel stage) proceed
    while a stage writes. A committed call survives a crash of the process; only an
    operating-system crash can lose the last few commits. The mode is stored in the file, so
    any SQLite client (the MLflow UI included) reads it normally; it adds ``mlflow.db-wal``
    and ``mlflow.db-shm`` beside ``mlflow.db`` while the store is open."""
    global _SQLITE_TUNED
    if _SQLITE_TUNED:
        return
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    @event.listens_for(Engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        if type(dbapi_connection).__module__.startswith("sqlite3"):
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
            finally:
                cursor.close()

    _SQLITE_TUNED = True


def _check_sqlite_file(uri: str) -> None:
    """Read the schema of an existing SQLite store once: a damaged file (``database disk
    image is malformed``, ``file is not a database``) raises ``sqlite3.DatabaseError`` now,
    where MLflow would retry opening it for ~100 s, a warning each time."""
    import sqlite3

    from gdlab.tracking.safety import _sqlite_path

    path = _sqlite_path(uri)
    if path is None or not path.is_file():
        return
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()


def connect(uri: str) -> MlflowClient:
    """Point MLflow at ``uri`` (fail-fast HTTP settings for servers; WAL mode for a SQLite
    file, see :func:`_tune_sqlite`) and return a client."""
    configure_client_env(uri)
    if uri.startswith("sqlite:"):
        _tune_sqlite()
        _check_sqlite_file(uri)
    mlflow.set_tracking_uri(uri)
    return MlflowClient(tracking_uri=uri)


def ensure_experiment(client: MlflowClient, name: str, root: str | Path | None = None) -> str:
    """Id of experiment ``name``, created (artifacts under ``<root>/mlruns`` for a local
    database store) or restored if needed. Safe when two processes race to create it."""
    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        location = default_artifact_location(client.tracking_uri, root)
        try:
            return client.create_experiment(name, artifact_location=location)
        except MlflowException:
            experiment = client.get_experiment_by_name(name)
            if experiment is None:
                raise
    if experiment.lifecycle_stage == "deleted":
        client.restore_experiment(experiment.experiment_id)
    return experiment.experiment_id


def _failure_reason(exc: BaseException, uri: str | None) -> str:
    text = redact_text(f"{type(exc).__name__}: {exc}", uri)
    return text if len(text) <= _MAX_TAG else text[: _MAX_TAG - 3] + "..."


@contextmanager
def ending_on_signals() -> Iterator[None]:
    """Inside the block (main thread only), SIGINT and SIGTERM raise :class:`RunInterrupted`."""

    def handler(signum: int, _frame: Any) -> None:
        raise RunInterrupted(signum)

    previous = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            previous[sig] = signal.signal(sig, handler)
        except ValueError:  # not the main thread: leave signals alone
            pass
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@contextmanager
def pipeline_run(
    *,
    experiment_id: str | None = None,
    run_id: str | None = None,
    run_name: str | None = None,
    tags: Mapping[str, Any] | None = None,
    uri: str | None = None,
) -> Iterator[mlflow.ActiveRun]:
    """Start a new parent run in ``experiment_id`` or resume ``run_id``; end it with the right
    status. A resumed run that ends well loses the failure tags an earlier failed attempt
    left. ``uri`` is only used to redact it from the failure reason. When the block raises,
    the nested runs still RUNNING (e.g. fold runs made before training that the stage had not
    finished yet) end first, with the parent's status and failure tags.

    The run is tagged with this process (``gdlab.process``); a new run first ends the runs of
    the experiment left RUNNING by a process that died (:func:`~gdlab.tracking.orphans.
    end_orphans`)."""
    from gdlab.tracking.orphans import PROCESS_TAG, end_orphans, process_id

    holder = {PROCESS_TAG: process_id()}
    if run_id is None and experiment_id is not None:
        end_orphans(MlflowClient(), experiment_id)
    run = mlflow.start_run(
        run_id=run_id,
        experiment_id=None if run_id else experiment_id,
        run_name=None if run_id else run_name,
        tags={k: str(v) for k, v in {**(tags or {}), **holder}.items() if v is not None},
    )
    run_id = run.info.run_id
    try:
        with ending_on_signals():
            yield run
    except RunInterrupted as exc:
        _end_stopped(run, exc, "interrupted", uri)
        raise SystemExit(128 + exc.signum) from exc
    except KeyboardInterrupt as exc:
        _end_stopped(run, exc, None, uri)
        raise
    except SystemExit as exc:
        if exc.code in (None, 0):
            mlflow.end_run()
        else:
            _end_failed(run, exc, uri)
        raise
    except BaseException as exc:
        _end_failed(run, exc, uri)
        raise
    else:
        stale = [t for t in (FAILURE_TAG, FAILURE_KIND_TAG) if t in run.data.tags]
        for tag in stale:  # an earlier attempt of this stage failed; this one did not
            MlflowClient().delete_tag(run_id, tag)
        mlflow.end_run()


def _tag_failure(run_id: str, exc: BaseException, kind: str, uri: str | None) -> bool:
    """Tag the failure's reason and kind on ``run_id``; False when the store did not answer."""
    try:
        MlflowClient().set_tag(run_id, FAILURE_TAG, _failure_reason(exc, uri))
        MlflowClient().set_tag(run_id, FAILURE_KIND_TAG, kind)
    except Exception:  # the store itself may be what failed; the status still gets set
        return False
    return True


def _end_failed(run: mlflow.ActiveRun, exc: BaseException, uri: str | None) -> None:
    from gdlab.core.loop import DivergenceError

    kind = "divergence" if isinstance(exc, DivergenceError) else "error"
    _end_stopped(run, exc, kind, uri, status=RunStatus.to_string(RunStatus.FAILED))


def _end_stopped(
    run: mlflow.ActiveRun,
    exc: BaseException,
    kind: str | None,
    uri: str | None,
    *,
    status: str | None = None,
) -> None:
    """End the parent run that ``exc`` stopped (``status``: :func:`~gdlab.tracking.children.
    stopped_status` by default), its reason tagged when ``kind`` is given, and first the nested
    runs it left RUNNING (fold runs made before training and not yet finished, a trial or
    variant run being logged) with the same status and tags."""
    from gdlab.tracking.children import end_running_children, stopped_status

    run_id = run.info.run_id
    status = status or stopped_status(exc)
    tags = {}
    if kind is not None:
        tags = {FAILURE_TAG: _failure_reason(exc, uri), FAILURE_KIND_TAG: kind}
    try:
        answered = _tag_failure(run_id, exc, kind, uri) if kind is not None else True
        if answered:  # a store that did not answer would cost its timeouts again here
            with contextlib.suppress(Exception):
                end_running_children(
                    MlflowClient(), run.info.experiment_id, run_id, status, tags
                )
    finally:
        # the run leaves the active stack first; a store that fails to take the status must
        # not replace ``exc`` (nor turn an interrupt's exit 130/143 into an MLflow
        # traceback): the next stage's orphan pass ends the run (its process is gone)
        with contextlib.suppress(Exception):
            mlflow.end_run(status=status)
