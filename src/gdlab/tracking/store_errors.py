"""What an error of a SQLite tracking store (``mlflow.db``) means and what to do about it.

MLflow wraps SQLite's error in SQLAlchemy's and that in its own ``MlflowException``, whose
first line may be unrelated (``raised as a result of Query-invoked autoflush ...``). The SQLite
error in that chain says what happened: :func:`sqlite_problem` names it (the database is
locked by another process, a write the disk refused, a read-only or damaged file) with what
to do, so that a lock or a full disk is never answered with "move the store away".

MLflow also logs every such error at ERROR level with two chained tracebacks before raising
it. :func:`held_store_errors` holds those records back while a stage runs: the stage prints
its one line instead, and records it did not explain are logged when the block ends.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCKED = "locked"
DISK_FULL = "disk full"
WRITE_FAILED = "write failed"
READ_ONLY = "read-only"
CANNOT_OPEN = "cannot open"
DAMAGED = "damaged"

_BY_CODE = {  # SQLite's primary result code (the low byte of an extended one) -> kind
    sqlite3.SQLITE_BUSY: LOCKED,
    sqlite3.SQLITE_LOCKED: LOCKED,
    sqlite3.SQLITE_FULL: DISK_FULL,
    sqlite3.SQLITE_IOERR: WRITE_FAILED,
    sqlite3.SQLITE_READONLY: READ_ONLY,
    sqlite3.SQLITE_CANTOPEN: CANNOT_OPEN,
    sqlite3.SQLITE_CORRUPT: DAMAGED,
    sqlite3.SQLITE_NOTADB: DAMAGED,
}
_BY_TEXT = (  # errors that lost their code (pickled, re-raised as text)
    ("database is locked", LOCKED),
    ("database table is locked", LOCKED),
    ("database or disk is full", DISK_FULL),
    ("disk i/o error", WRITE_FAILED),
    ("readonly database", READ_ONLY),
    ("unable to open database file", CANNOT_OPEN),
    ("disk image is malformed", DAMAGED),
    ("file is not a database", DAMAGED),
)
_STORE_LOGGER = "mlflow.store.db.utils"


def sqlite_error(exc: BaseException) -> sqlite3.Error | None:
    """The ``sqlite3`` error in ``exc``'s chain (causes, contexts, SQLAlchemy's ``orig``)."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        link = todo.pop(0)
        if link is None or id(link) in seen:
            continue
        seen.add(id(link))
        if isinstance(link, sqlite3.Error):
            return link
        orig = getattr(link, "orig", None)
        todo += [orig if isinstance(orig, BaseException) else None,
                 link.__cause__, link.__context__]
    return None


def problem_kind(error: sqlite3.Error) -> str | None:
    """``LOCKED``, ``DISK_FULL``, ``WRITE_FAILED``, ``READ_ONLY``, ``CANNOT_OPEN``,
    ``DAMAGED``, or ``None`` for another SQLite error."""
    code = getattr(error, "sqlite_errorcode", None)
    if isinstance(code, int) and (code & 0xFF) in _BY_CODE:
        return _BY_CODE[code & 0xFF]
    text = str(error).lower()
    return next((kind for needle, kind in _BY_TEXT if needle in text), None)


def describe(error: sqlite3.Error) -> str:
    """``sqlite3.OperationalError: disk I/O error (SQLITE_IOERR_WRITE)``."""
    first = str(error).strip().splitlines()[0] if str(error).strip() else ""
    name = getattr(error, "sqlite_errorname", None)
    extra = f" ({name})" if name and name not in first else ""
    return f"sqlite3.{type(error).__name__}: {first}{extra}"


def sqlite_problem(store: str, path: Path, exc: BaseException) -> str | None:
    """The one line (after ``tracking.uri: ``) for the SQLite store ``store`` (its redacted
    URI) at ``path`` failing with ``exc``, when a SQLite error in its chain says what
    happened; ``None`` otherwise."""
    error = sqlite_error(exc)
    if error is None:
        return None
    kind = problem_kind(error)
    cause = describe(error)
    name, where = path.name, path.parent
    if kind == LOCKED:
        return (
            f"the MLflow tracking store {store} is locked by another process ({cause}): "
            "`make ui`, `make server`, `mlflow models serve`, another stage or a sqlite3 shell "
            f"holds a write on {name}; run the stage again when it is free ({name} is not "
            "damaged: keep it)"
        )
    if kind == DISK_FULL:
        return (
            f"the MLflow tracking store {store} could not be written: the disk is full "
            f"({cause}); free space on {where} and run the stage again"
        )
    if kind == WRITE_FAILED:
        return (
            f"the MLflow tracking store {store} could not be written ({cause}): the disk is "
            "full, a file size limit (`ulimit -f`) was reached or the disk failed; free space "
            f"on {where} (or lift the limit) and run the stage again"
        )
    if kind == READ_ONLY:
        return (
            f"the MLflow tracking store {store} is read-only ({cause}); make {name}, its -wal "
            f"and -shm files and {where} writable and run the stage again"
        )
    if kind == CANNOT_OPEN:
        return (
            f"cannot open the MLflow tracking store {store} ({cause}); check that {where} "
            f"exists and that it and {name} are readable and writable"
        )
    if not path.is_file():
        return None
    todo = f"{name} is damaged:" if kind == DAMAGED else f"if {name} is damaged,"
    return (
        f"cannot reach the MLflow tracking store {store} ({cause}); {todo} restore it from "
        f"a backup or move it (with its -wal and -shm files) away to start a new store "
        "(README: Starting over)"
    )


class _Holding(logging.Filter):
    """Holds back the records MLflow's store logs for a database error it then raises."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def filter(self, record: logging.LogRecord) -> bool:
        raised = record.exc_info[1] if record.exc_info else None
        if raised is not None and type(raised).__module__.startswith("sqlalchemy"):
            self.records.append(record)
            return False
        return True


@contextmanager
def held_store_errors() -> Iterator[list[logging.LogRecord]]:
    """Inside the block, MLflow's ERROR records for a database error of its store (logged
    with the SQLAlchemy error's tracebacks just before it raises it as ``MlflowException``)
    are held in the list yielded. The caller empties the list when it has explained the error
    in its own line; what is left is logged when the block ends. Other records pass."""
    logger = logging.getLogger(_STORE_LOGGER)
    holding = _Holding()
    logger.addFilter(holding)
    try:
        yield holding.records
    finally:
        logger.removeFilter(holding)
        for record in holding.records:
            logger.handle(record)
