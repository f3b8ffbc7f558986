"""Safety at the MLflow edge: an unreachable store fails fast and clearly, secrets in the
tracking URI never reach a log, and models are only loaded from the pipeline's own store.

- :func:`connect_or_explain` turns whatever MLflow, requests or SQLAlchemy raise while
  connecting into one :class:`TrackingUnavailable` naming ``tracking.uri`` (redacted).
- :func:`install_redaction` makes uncaught tracebacks and log records print the URI with its
  password replaced by ``***`` (MLflow's own errors quote the full request URL).
- :func:`store_lock` serialises the first opening of a local SQLite store (table creation).
- :func:`check_own_model_uri` refuses a model URI that does not point at a model logged by the
  pipeline's own run in its own store (``models/run.json`` could have been edited).
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from gdlab.tracking.uri import redact_text, redact_uri

T = TypeVar("T")


class TrackingUnavailable(RuntimeError):
    """The MLflow tracking store cannot be reached or used (message safe to print)."""


class UntrustedModelSource(ValueError):
    """A model URI that is not a model logged by this pipeline's run in its own store."""


def _first_line(text: str, limit: int = 400) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _cause(exc: BaseException, uri: str) -> str:
    """``exc`` as ``Type: first line of its message``, the URI's secrets redacted."""
    return redact_text(_first_line(f"{type(exc).__name__}: {exc}"), uri)


def connect_or_explain(uri: str, action: Callable[[], T]) -> T:
    """Run ``action`` (connect, find the experiment); any failure becomes TrackingUnavailable
    with the redacted URI and the first line of the cause."""
    try:
        return action()
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:
        raise unreachable(uri, exc) from None


def unreachable(uri: str, exc: BaseException) -> TrackingUnavailable:
    """The one-line TrackingUnavailable for the store at ``uri`` failing with ``exc``: the
    redacted URI, the first line of the cause and what to do. For a SQLite store, the SQLite
    error in ``exc``'s chain decides what to do (:func:`~gdlab.tracking.store_errors.
    sqlite_problem`): a lock or a full disk never advises moving the store away."""
    from gdlab.tracking.store_errors import sqlite_problem

    path = _sqlite_path(uri)
    if path is not None:  # SQLite's own error says what happened: locked, disk full, damaged
        problem = sqlite_problem(redact_uri(uri), path, exc)
        if problem is not None:
            return TrackingUnavailable(f"tracking.uri: {problem}")
    cause = _cause(exc, uri)
    where = "server" if uri.startswith(("http://", "https://")) else "store"
    todo = (
        "start it, fix tracking.uri / MLFLOW_TRACKING_URI, or leave both unset to use the "
        "project's sqlite:///mlflow.db"
    )
    if path is not None and path.is_file():  # the file is there but SQLite cannot use it
        todo = (
            f"if {path.name} is damaged, restore it from a backup or move it (with its "
            f"-wal and -shm files) away to start a new store (README: Starting over)"
        )
    return TrackingUnavailable(
        f"tracking.uri: cannot reach the MLflow tracking {where} {redact_uri(uri)} "
        f"({cause}); {todo}"
    )


class _RedactingFilter(logging.Filter):
    def __init__(self, uri: str):
        super().__init__()
        self.uri = uri

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact_text(message, self.uri)
        if clean != message:
            record.msg, record.args = clean, None
        return True


_installed: set[str] = set()


def install_redaction(uri: str) -> None:
    """When ``uri`` carries a secret, redact it from uncaught tracebacks and from every log
    record of the handlers that exist now (root, mlflow, urllib3, ...), and stop MLflow's own
    "View run at <uri>" lines (``sys.stdout.write`` as each run ends against a server: the
    secret in clear on the terminal and in the DVC queue's log files)."""
    if redact_uri(uri) == uri or uri in _installed:
        return
    _installed.add(uri)
    os.environ["MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"] = "true"
    log_filter = _RedactingFilter(uri)
    loggers = [logging.getLogger()] + [
        logger
        for logger in logging.Logger.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    for logger in loggers:
        logger.addFilter(log_filter)
        for handler in logger.handlers:
            handler.addFilter(log_filter)

    def redacting_hook(kind: type[BaseException], value: BaseException, tb: Any) -> None:
        import traceback

        text = "".join(traceback.format_exception(kind, value, tb))
        sys.stderr.write(redact_text(text, uri))

    sys.excepthook = redacting_hook


def check_own_model_uri(client: Any, model_uri: str | None, *, run_id: str) -> str:
    """``model_uri`` if it names a model logged by run ``run_id`` in ``client``'s store: a
    LoggedModel ``models:/m-...`` whose source run is ``run_id``, or ``runs:/<run_id>/...``.
    Anything else (another run, a path, a URL, another registry's model) is refused."""
    from mlflow.exceptions import MlflowException

    if not model_uri:
        raise UntrustedModelSource("models/run.json names no model; run the train stage again")
    refused = (
        f"refusing to load model {redact_uri(model_uri)!r}: the pipeline only loads the model "
        f"logged by its own train run {run_id} in its own tracking store"
    )
    if model_uri.startswith("runs:/"):
        if model_uri[len("runs:/") :].split("/", 1)[0] != run_id:
            raise UntrustedModelSource(refused)
        return model_uri
    if model_uri.startswith("models:/m-"):
        model_id = model_uri[len("models:/") :].split("/", 1)[0]
        try:
            logged = client.get_logged_model(model_id)
        except MlflowException:
            raise UntrustedModelSource(f"{refused} (no such model in this store)") from None
        if logged.source_run_id != run_id:
            raise UntrustedModelSource(f"{refused} (it was logged by run {logged.source_run_id})")
        return model_uri
    raise UntrustedModelSource(refused)


def check_resumable(client: Any, run_id: str, handle: str = "models/run.json") -> None:
    """Refuse (:class:`UntrustedModelSource`) to resume train run ``run_id`` that ``handle``
    names when ``client``'s store does not hold it, or holds it deleted (the store was reset,
    or the run deleted in the UI, after train ran)."""
    from mlflow.exceptions import MlflowException

    try:
        run = client.get_run(run_id)
    except MlflowException:
        state, fix = "is not in this tracking store", ""
    else:
        if run.info.lifecycle_stage != "deleted":
            return
        state, fix = "is deleted", f"restore it (`mlflow runs restore --run-id {run_id}`) or "
    raise UntrustedModelSource(
        f"{handle} names train run {run_id}, which {state}; {fix}train again "
        "(`dvc repro -f -s train`, then `dvc repro`)"
    )


@contextmanager
def one_line_warnings(stage: str) -> Iterator[None]:
    """Inside the block, print warnings as ``<stage>: ConvergenceWarning: ...`` lines, without
    the file path and source line Python adds (noise in a stage's output)."""

    def formatted(message: Any, category: type[Warning], *_: Any, **__: Any) -> str:
        kind = "warning" if category is UserWarning else category.__name__
        return f"{stage}: {kind}: {message}\n"

    previous, warnings.formatwarning = warnings.formatwarning, formatted
    try:
        yield
    finally:
        warnings.formatwarning = previous


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    link: BaseException | None = exc
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        yield link
        link = link.__cause__ or link.__context__


def _raised_in_mlflow(exc: BaseException) -> bool:
    """Whether a frame of ``exc``'s traceback is MLflow's own code (its artifact stores)."""
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_globals.get("__name__", "").startswith("mlflow."):
            return True
        tb = tb.tb_next
    return False


def tracking_failure(exc: BaseException, uri: str | None = None) -> TrackingUnavailable | None:
    """The one-line :class:`TrackingUnavailable` for an error the tracking store raised in the
    middle of a stage (``uri``: MLflow's current tracking URI by default), else ``None``:

    - the server stopped answering, or the database could not be used: MLflow raises
      ``MlflowException`` from a requests / urllib3 / SQLAlchemy error;
    - the artifact location cannot be written (an ``OSError`` raised inside MLflow's artifact
      store: ``mlruns`` a file, read-only, the disk full);
    - the database refused a write on one of its keys (``IntegrityError``): the store was
      reached, but another process wrote the same record at the same moment.
    """
    import mlflow
    import requests
    import urllib3
    from mlflow.exceptions import MlflowException
    from sqlalchemy.exc import IntegrityError, SQLAlchemyError

    if isinstance(exc, TrackingUnavailable):
        return exc
    uri = uri if uri is not None else mlflow.get_tracking_uri()
    links = list(_chain(exc))
    store = (requests.RequestException, urllib3.exceptions.HTTPError, SQLAlchemyError)
    if isinstance(exc, MlflowException) and any(isinstance(e, IntegrityError) for e in links):
        cause = _cause(exc, uri)
        return TrackingUnavailable(
            f"tracking.uri: the MLflow tracking store {redact_uri(uri)} refused a write "
            f"({cause}): another process wrote the same record at the same moment; run the "
            "stage again"
        )
    if isinstance(exc, MlflowException) and any(isinstance(e, store) for e in links):
        return unreachable(uri, exc)
    for link in links:
        # not FileNotFoundError: a file the stage asked MLflow to log that does not exist is
        # the stage's bug (its traceback is kept), not an unwritable artifact location
        if (isinstance(link, OSError) and not isinstance(link, (*store, FileNotFoundError))
                and _raised_in_mlflow(link)):
            cause = _cause(link, uri)
            where = " (a local store's: mlruns/ next to its database)" if _sqlite_path(uri) else ""
            return TrackingUnavailable(
                f"tracking.uri: cannot write to the MLflow artifact location of the tracking "
                f"store {redact_uri(uri)} ({cause}); make that location{where} a writable "
                "directory, or point tracking.uri / MLFLOW_TRACKING_URI at another store"
            )
    return None


def stage_exit(stage: str, main: Callable[[], int]) -> int:
    """Run a stage's ``main``; a diverged training, an unreachable tracking store or Dask
    cluster prints one clear line (``<stage>: ...``) and exits 1 instead of a traceback; so
    does a tracking store lost mid-stage or an artifact location that cannot be written
    (:func:`tracking_failure`: a SQLite store locked by another process, or a write to it
    the disk refused, is named so, MLflow's own logged tracebacks of it left out), and so does
    an output file the file system refuses (:class:`~gdlab.atomic.OutputNotWritten`);
    warnings print as one line each (:func:`one_line_warnings`). The MLflow run has been
    ended FAILED by ``pipeline_run`` already.

    SIGINT/SIGTERM exit 128 + signal with one line naming the signal and the state it leaves
    (:func:`interrupted_line`): inside the stage's MLflow run ``pipeline_run`` has ended it
    KILLED; before or after it there is no run to end. A FINISHED run the stage reopened
    (evaluate, register: train's) is FINISHED again, and the line says it is intact
    (:func:`kept_text`); an error's line says so too."""
    from gdlab.atomic import OutputNotWritten
    from gdlab.core.loop import DivergenceError
    from gdlab.parallel import ParallelUnavailable
    from gdlab.tracking.runs import RunInterrupted, ending_on_signals
    from gdlab.tracking.store_errors import held_store_errors

    with one_line_warnings(stage), ending_on_signals(), held_store_errors() as store_logs:
        try:
            return main()
        except TrackingUnavailable as exc:
            store_logs.clear()  # MLflow's logged tracebacks of it: this line says it
            print(f"{stage}: {exc}{kept_text(exc)}", file=sys.stderr)
            return 1
        except (DivergenceError, UntrustedModelSource, ParallelUnavailable,
                OutputNotWritten) as exc:
            print(f"{stage}: {exc}{kept_text(exc)}", file=sys.stderr)
            return 1
        except Exception as exc:
            explained = tracking_failure(exc)
            if explained is None:
                if kept_text(exc):
                    exc.add_note(f"{stage}:{kept_text(exc)[1:]}")
                raise
            store_logs.clear()
            print(f"{stage}: {explained}{kept_text(exc)}", file=sys.stderr)
            return 1
        except RunInterrupted as exc:  # outside the stage's MLflow run
            print(interrupted_line(stage, exc.signum, in_run=False), file=sys.stderr)
            return 128 + exc.signum
        except SystemExit as exc:
            cause = exc.__cause__
            if isinstance(cause, RunInterrupted):  # pipeline_run ended or put back the run
                print(interrupted_line(stage, cause.signum, in_run=True, stopped=cause),
                      file=sys.stderr)
            raise


def kept_text(exc: BaseException) -> str:
    """What became of the finished run that ``exc`` stopped the stage in, when the stage had
    reopened one (``pipeline_run`` tags ``exc``), as ``; its MLflow run <id> is intact ...``;
    else ``""``."""
    run_id = getattr(exc, "reopened_run", None)
    if not run_id:
        return ""
    if getattr(exc, "kept_run", None):
        return f"; its MLflow run {run_id} is intact (FINISHED, as before this stage)"
    return (f"; its MLflow run {run_id} could not be put back FINISHED yet (the store did not "
            "answer): the next stage that opens a run does it")


def interrupted_line(stage: str, signum: int, *, in_run: bool,
                     stopped: BaseException | None = None) -> str:
    """``train: interrupted (SIGINT); its MLflow run ended KILLED, nothing registered; rerun
    `dvc repro` to continue``: only the register stage registers, so only it may have.
    ``stopped``: the interrupt, which says whether the run was a finished one the stage had
    reopened, put back as it was (:func:`kept_text`)."""
    from gdlab.interrupts import interrupted_text

    text = interrupted_text(stage, signum)
    if in_run:
        kept = kept_text(stopped) if stopped is not None else ""
        text += kept or "; its MLflow run ended KILLED"
        if stage != "register":
            text += ", nothing registered"
    return f"{text}; rerun `dvc repro` to continue"


def _sqlite_path(uri: str) -> Path | None:
    if not uri.startswith("sqlite:///"):
        return None
    path = uri[len("sqlite:///") :]
    return None if not path or path == ":memory:" else Path(path)


@contextmanager
def store_lock(uri: str) -> Iterator[None]:
    """For a local SQLite store: hold an exclusive lock on its directory while MLflow opens
    it. MLflow creates and migrates the tables on first use, and two processes doing that at
    once (two queued ``dvc exp`` workers on a fresh project) fail with "table ... already
    exists". Other stores need no lock."""
    path = _sqlite_path(uri)
    if path is None:
        yield
        return
    import fcntl

    directory = path.resolve().parent

    def opened() -> int:  # a directory that cannot be made (/proc/..., read-only) names the URI
        directory.mkdir(parents=True, exist_ok=True)
        return os.open(directory, os.O_RDONLY)

    fd = connect_or_explain(uri, opened)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock
