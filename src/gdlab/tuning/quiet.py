"""Optuna's log without the traceback of a trial stopped by Ctrl-C or a kill signal.

Optuna logs a trial ended by an exception as a warning with its traceback, then "Trial N failed
with value None". For an interrupt (``KeyboardInterrupt`` and :class:`RunInterrupted`, raised
in every process of the search on Ctrl-C) those ~30 lines per running trial are noise: the
stage says it was interrupted and that a rerun resumes. A trial that fails on an error keeps
its traceback.
"""

from __future__ import annotations

import logging
import re

_FAILED = re.compile(r"^Trial (\d+) failed with")


class InterruptFilter(logging.Filter):
    """Drops Optuna's records of trials stopped by an interrupt (both of its lines)."""

    def __init__(self) -> None:
        super().__init__("")
        self.interrupted: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        found = _FAILED.match(record.getMessage())
        if found is None:
            return True
        kind = record.exc_info[0] if record.exc_info else None
        if kind is not None and issubclass(kind, KeyboardInterrupt):
            self.interrupted.add(found.group(1))
            return False
        if kind is None and found.group(1) in self.interrupted:  # "... with value None."
            self.interrupted.discard(found.group(1))
            return False
        return True


def quiet_interrupted_trials() -> None:
    """Install :class:`InterruptFilter` on Optuna's study logger (once per process)."""
    logger = logging.getLogger("optuna.study._optimize")
    if not any(isinstance(f, InterruptFilter) for f in logger.filters):
        logger.addFilter(InterruptFilter())
