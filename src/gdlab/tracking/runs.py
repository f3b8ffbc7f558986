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
def _on_stop_signals(handler: Any) -> Iterator[None]:
    """Inside the block (main thread only), SIGINT and SIGTERM go to ``handler``; the previous
    handlers come back after it."""
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
def ending_on_signals() -> Iterator[None]:
    """Inside the block (main thread only), SIGINT and SIGTERM raise :class:`RunInterrupted`."""

    def handler(signum: int, _frame: Any) -> None:
        raise RunInterrupted(signum)

    with _on_stop_signals(handler):
        yield


@contextmanager
def pipeline_run(
    *,
    experiment_id: str | None = None,
    run_id: str | None = None,
    run_name: str | None = None,
    tags: Mapping[str, Any] | None = None,
    uri: str | None = None,
    stage: str = "resume",
) -> Iterator[mlflow.ActiveRun]:
    """Start a new parent run in ``experiment_id`` or resume ``run_id``; end it with the right
    status. A resumed run that ends well loses the failure tags an earlier failed attempt
    left. ``uri`` is only used to redact it from the failure reason. When the block raises,
    the nested runs still RUNNING (e.g. fold runs made before training that the stage had not
    finished yet) end first, with the parent's status and failure tags.

    A resumed run that was FINISHED (train's run, reopened by ``stage``: evaluate, register)
    is put back FINISHED with its end time whatever stops the block, even an interrupt while
    it is being reopened, the outcome tagged ``gdlab.<stage>_interrupted`` / ``_failed``
    (:mod:`gdlab.tracking.reopen`); the exception then carries ``reopened_run`` (its id) and
    ``kept_run`` (its id once put back, None when the store did not answer: the next orphan
    sweep puts it back), and an interrupt exits as for any run.

    The run is tagged with this process (``gdlab.process``); a new run first ends the runs of
    the experiment left RUNNING by a process that died (:func:`~gdlab.tracking.orphans.
    end_orphans`)."""
    from gdlab.tracking.orphans import PROCESS_TAG, end_orphans, process_id
    from gdlab.tracking.reopen import mark_reopened, stale_outcomes

    holder = {PROCESS_TAG: process_id()}
    mark = None
    if run_id is None and experiment_id is not None:
        end_orphans(MlflowClient(), experiment_id)
    elif run_id is not None:  # before it is RUNNING: the orphan sweep can tell it was FINISHED
        mark = mark_reopened(MlflowClient(), run_id, stage, holder[PROCESS_TAG])
    try:
        run = mlflow.start_run(
            run_id=run_id,
            experiment_id=None if run_id else experiment_id,
            run_name=None if run_id else run_name,
            tags={k: str(v) for k, v in {**(tags or {}), **holder}.items() if v is not None},
        )
    except BaseException as exc:  # e.g. Ctrl-C once the store has made it RUNNING
        if mark is None or run_id is None:
            raise
        _stopped_reopened(run_id, mark, exc, uri, active=False)
        if isinstance(exc, RunInterrupted):  # as inside the run: stage_exit says it is intact
            raise SystemExit(128 + exc.signum) from exc
        raise
    run_id = run.info.run_id
    try:
        with ending_on_signals():
            yield run
    except BaseException as exc:
        if mark is not None:
            _stopped_reopened(run_id, mark, exc, uri, active=True)
        elif isinstance(exc, RunInterrupted):
            _end_stopped(run, exc, "interrupted", uri)
        elif isinstance(exc, KeyboardInterrupt):
            _end_stopped(run, exc, None, uri)
        elif isinstance(exc, SystemExit) and exc.code in (None, 0):
            mlflow.end_run()
        else:
            _end_failed(run, exc, uri)
        if isinstance(exc, RunInterrupted):
            raise SystemExit(128 + exc.signum) from exc
        raise
    else:
        stale = [t for t in (FAILURE_TAG, FAILURE_KIND_TAG) if t in run.data.tags]
        stale += stale_outcomes(run, stage) if mark is not None else []
        for tag in stale:  # an earlier attempt of this stage failed; this one did not
            MlflowClient().delete_tag(run_id, tag)
        mlflow.end_run()


def _stopped_reopened(
    run_id: str, mark: Any, exc: BaseException, uri: str | None, *, active: bool
) -> None:
    """Put back FINISHED (its end time as it was) the finished run that ``exc`` stopped
    ``mark.stage`` in, the outcome tagged; a clean ``SystemExit`` just ends it so. Signals
    wait meanwhile (a second Ctrl-C must not leave it half restored). When the store did not
    answer, the run stays RUNNING and the next orphan sweep puts it back."""
    from gdlab.tracking.reopen import put_back

    finished = RunStatus.to_string(RunStatus.FINISHED)
    clean = isinstance(exc, SystemExit) and exc.code in (None, 0)
    outcome = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
    reason = (
        f"{_failure_reason(exc, uri)}; the run was put back FINISHED with its end time as "
        f"{mark.stage} found it (what {mark.stage} logged before it stopped is kept); rerun "
        "`dvc repro` to continue"
    )
    current = mlflow.active_run()
    active = active or (current is not None and current.info.run_id == run_id)
    with _signals_deferred():
        if active:  # leaves the active stack first, whatever the store does
            with contextlib.suppress(Exception):
                mlflow.end_run(status=finished)
        if clean:
            if not active:
                with contextlib.suppress(Exception):
                    MlflowClient().set_terminated(run_id, finished, end_time=mark.end_time)
            return
        try:
            put_back(MlflowClient(), run_id, mark, outcome, reason)
            kept = True
        except Exception:  # the store may be what failed: the orphan sweep puts it back
            kept = False
    with contextlib.suppress(AttributeError):  # for stage_exit's line
        exc.reopened_run = run_id  # type: ignore[attr-defined]
        exc.kept_run = run_id if kept else None  # type: ignore[attr-defined]


@contextmanager
def _signals_deferred() -> Iterator[None]:
    """Inside the block (main thread only), SIGINT and SIGTERM are ignored: the process is
    already stopping and the block puts a run back as it was."""
    with _on_stop_signals(signal.SIG_IGN):
        yield


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
